public import CRMText
import GRDB

/// A storage failure put in words a person can act on, or `nil` if `error` is not from SQLite.
public func storageFailureMessage(_ error: any Error) -> Phrase? {
    if let e = error as? StoreOpenError { return .verbatim(e.description) }
    guard let e = error as? DatabaseError else { return nil }
    switch e.resultCode {
    case .SQLITE_FULL:
        return Phrase("The database disk is full: the change was not saved. Free disk space and retry; reads still work.")
    case .SQLITE_READONLY:
        return Phrase("The database is read-only: the change was not saved. Check the file's permissions and the disk.")
    case .SQLITE_IOERR:
        return Phrase("The disk failed to write the database (I/O error): the change was not saved. Check the disk and retry.")
    case .SQLITE_BUSY, .SQLITE_LOCKED:
        return Phrase("The database is busy: the change was not saved. Retry.")
    case .SQLITE_CORRUPT, .SQLITE_NOTADB:
        return Phrase("The database file is damaged: the change was not saved. Restore from a backup.")
    default:
        return Phrase("The database refused the change (\(e.resultCode)): it was not saved.")
    }
}
