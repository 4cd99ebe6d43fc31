import CRMFiles
import Foundation
import GRDB

/// A consistent copy of the database, made by ``Store/makeBackup(into:)``.
public struct BackupCopy: Sendable {
    /// The copy's file.
    public var path: String
    /// Its size in bytes.
    public var bytes: Int64
    /// The newest event log seq in the copy: every change up to it is in the copy, none after.
    public var lastSeq: Int64
    /// What `PRAGMA integrity_check` said about the copy: `["ok"]` when healthy.
    public var integrity: [String]
    /// Seconds spent copying, and checking the copy.
    public var copySeconds: Double
    public var checkSeconds: Double
}

/// Why a backup copy could not be made, in words a person can act on.
public struct BackupError: Error, CustomStringConvertible, Sendable {
    /// `disk_full`, `io_error`, `cannot_create`, `damaged` or `storage`.
    public var reason: String
    public var description: String
}

extension Store {
    /// Writes a consistent snapshot of the database to the new file `path` (created here with
    /// mode 0600; it must not exist) with `VACUUM INTO`, then runs `PRAGMA integrity_check` on the
    /// copy. The copy runs on a read-only connection of its own, inside one read transaction of
    /// the WAL: writers go on committing meanwhile, and the copy holds exactly the commits before
    /// it started. On failure the partial copy is removed.
    public func makeBackup(into path: String) throws(BackupError) -> BackupCopy {
        let dir = (path as NSString).deletingLastPathComponent
        if let live = LiveDatabase.member(path, of: self.path) {
            throw BackupError(
                reason: "cannot_create", description: "Refusing to write the backup copy over \(live), a file of the live database.")
        }
        let fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            let err = errno
            throw BackupError(
                reason: err == ENOSPC ? "disk_full" : "cannot_create",
                description: "Cannot create the backup copy in \(dir): \(String(cString: strerror(err))).")
        }
        Glibc.close(fd)
        do {
            let started = Date()
            var config = Configuration()
            config.readonly = true
            config.busyMode = .timeout(5)
            config.label = "crmd.backup"
            let source = try DatabaseQueue(path: self.path, configuration: config)
            // VACUUM INTO needs no open transaction on its connection; it opens its own read
            // transaction, so the copy is one snapshot.
            try source.inDatabase { db in try db.execute(sql: "VACUUM INTO ?", arguments: [path]) }
            try source.close()
            let copied = Date()
            let copy = try DatabaseQueue(path: path, configuration: config)
            let (problems, lastSeq) = try copy.inDatabase { db in
                let problems = try String.fetchAll(db, sql: "PRAGMA integrity_check")
                let seq = try Int64.fetchOne(db, sql: "SELECT coalesce(max(seq), 0) FROM events") ?? 0
                return (problems, seq)
            }
            try copy.close()
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value ?? 0
            return BackupCopy(
                path: path, bytes: size, lastSeq: lastSeq, integrity: problems, copySeconds: copied.timeIntervalSince(started),
                checkSeconds: Date().timeIntervalSince(copied))
        } catch {
            unlink(path)
            throw Self.backupError(error, directory: dir)
        }
    }

    static func backupError(_ error: any Error, directory dir: String) -> BackupError {
        guard let e = error as? DatabaseError else {
            return BackupError(reason: "storage", description: "The backup copy could not be made: \(error).")
        }
        let detail = e.message ?? "\(e.resultCode)"
        switch e.resultCode {
        case .SQLITE_FULL:
            return BackupError(
                reason: "disk_full",
                description:
                    "The disk holding the database is full: there is no room in \(dir) for the backup copy, which needs about as much space as the database. Free disk space there and retry; crmd goes on serving."
            )
        case .SQLITE_IOERR:
            return BackupError(
                reason: "io_error", description: "The disk failed while the backup copy was written in \(dir) (\(detail)). Check the disk.")
        case .SQLITE_CANTOPEN, .SQLITE_READONLY, .SQLITE_PERM:
            return BackupError(reason: "cannot_create", description: "Cannot write the backup copy in \(dir) (\(detail)).")
        case .SQLITE_CORRUPT, .SQLITE_NOTADB:
            return BackupError(
                reason: "damaged",
                description: "The database is damaged: SQLite could not read it to the end while copying (\(detail)). Run `crmd --check`.")
        default:
            return BackupError(reason: "storage", description: "The backup copy could not be made: \(detail).")
        }
    }
}
