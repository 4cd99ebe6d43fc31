import CRMCore
import Foundation
import GRDB

/// A read or write transaction's view of the store: named queries and writes, no raw SQL outside.
public struct Tx {
    /// The GRDB connection, kept inside the store module.
    let db: Database
    /// The events this write appended, handed to ``Store/onCommit(_:)`` once it commits (nil for
    /// reads and for writes outside group commit).
    let appended: AppendedEvents?
    /// The writer connection's raw statements (nil in reads).
    let raw: RawStatements?
    /// Inside ``buffered(_:)``: the events and alerts held back to be inserted many per statement.
    let buffer: BufferedRows?

    init(db: Database, appended: AppendedEvents? = nil, raw: RawStatements? = nil, buffer: BufferedRows? = nil) {
        self.db = db
        self.appended = appended
        self.raw = raw
        self.buffer = buffer
    }

    /// A raw prepared statement of the write path (see ``RawStatements``).
    func prepared(_ sql: String) throws -> RawStatement {
        guard let raw else {
            throw DatabaseError(resultCode: .SQLITE_MISUSE, message: "a write statement was used in a read transaction", sql: sql)
        }
        return try raw.statement(sql, db: db)
    }

    @inline(__always) func row(_ sql: String, _ args: StatementArguments = []) throws -> Row? {
        let st = try db.cachedStatement(sql: sql)
        return try Row.fetchOne(st, arguments: args)
    }

    @inline(__always) func rows(_ sql: String, _ args: StatementArguments = []) throws -> [Row] {
        let st = try db.cachedStatement(sql: sql)
        return try Row.fetchAll(st, arguments: args)
    }

    @inline(__always) func exec(_ sql: String, _ args: StatementArguments = []) throws {
        let st = try db.cachedStatement(sql: sql)
        try st.execute(arguments: args)
    }

    /// Rowid of the last insert.
    var lastID: Int64 { db.lastInsertedRowID }
}

/// Milliseconds since the epoch, the store's time unit. Rounded to the nearest: truncating would
/// turn a Date read back from `date(_:)` into one millisecond less for some instants.
@inline(__always) func ms(_ d: Date) -> Int64 { Int64((d.timeIntervalSince1970 * 1000).rounded()) }
@inline(__always) func msOpt(_ d: Date?) -> Int64? { d.map { ms($0) } }
@inline(__always) func date(_ v: Int64) -> Date { Date(timeIntervalSince1970: Double(v) / 1000) }
@inline(__always) func dateOpt(_ v: Int64?) -> Date? { v.map { date($0) } }

/// One page of a list.
public struct Page<Item> {
    public var items: [Item]
    /// Pass as `cursor` to get the next page; `nil` on the last page.
    public var nextCursor: String?

    public init(items: [Item], nextCursor: String?) {
        self.items = items
        self.nextCursor = nextCursor
    }
}

extension Page: Sendable where Item: Sendable {}

/// Converts an id-cursor to the id to continue after.
public func cursorID(_ cursor: String?) -> Int64? {
    guard let c = cursor else { return nil }
    return Int64(c)
}

/// The events one write appended, in seq order, kept until its transaction commits.
final class AppendedEvents {
    var events: [StoredEvent] = []
}
