import CRMSync
import Foundation
import GRDB
import GRDBSQLite

/// Prepared statements of the scheduler's hot path, on the writer connection, driven through
/// SQLite's C interface.
///
/// GRDB's convenient path boxes every argument (`StatementArguments`), hashes the SQL text to find
/// its cached statement, and decodes rows through generic `Row` accessors: about a third of the
/// scheduler's CPU when it applies 100,000 zone changes. These statements bind and read typed
/// values directly. They run inside GRDB's transactions and savepoints like any other statement,
/// and their errors are GRDB `DatabaseError`s, so failures are reported the same way. Only the
/// writer connection uses them (writes are serialized there), and ``finalizeAll()`` runs before
/// the pool closes.
final class RawStatements: Sendable {
    private struct State: @unchecked Sendable {
        /// The writer connection the statements were prepared on.
        var connection: OpaquePointer?
        var statements: [String: OpaquePointer] = [:]
    }
    private let state = Locked(State())

    /// The statement for `sql` on `db`'s connection, prepared once. Statements of another
    /// connection (the pool reopened it) are finalized first.
    func statement(_ sql: String, db: Database) throws -> RawStatement {
        guard let conn = db.sqliteConnection else { throw DatabaseError(resultCode: .SQLITE_MISUSE, message: "connection closed") }
        if let s = state.withLock({ $0.connection == conn ? $0.statements[sql] : nil }) { return RawStatement(handle: s, db: conn) }
        var handle: OpaquePointer? = nil
        let code = sqlite3_prepare_v3(conn, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &handle, nil)
        guard code == SQLITE_OK, let handle else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(conn)), sql: sql)
        }
        let stale: [OpaquePointer] = state.withLock { st in
            var stale: [OpaquePointer] = []
            if st.connection != conn {
                stale = Array(st.statements.values)
                st.statements = [:]
                st.connection = conn
            }
            st.statements[sql] = handle
            return stale
        }
        for s in stale { sqlite3_finalize(s) }
        return RawStatement(handle: handle, db: conn)
    }

    /// Finalizes every statement (before the connection closes).
    func finalizeAll() {
        let all = state.withLock { st in
            defer { st.statements = [:] }
            return Array(st.statements.values)
        }
        for s in all { sqlite3_finalize(s) }
    }
}

/// A value a ``RawStatement`` binds to a parameter.
protocol RawBindable {
    func bind(to statement: OpaquePointer, at index: Int32)
}

extension Int64: RawBindable {
    func bind(to statement: OpaquePointer, at index: Int32) { sqlite3_bind_int64(statement, index, self) }
}

extension Int: RawBindable {
    func bind(to statement: OpaquePointer, at index: Int32) { sqlite3_bind_int64(statement, index, Int64(self)) }
}

extension Bool: RawBindable {
    func bind(to statement: OpaquePointer, at index: Int32) { sqlite3_bind_int64(statement, index, self ? 1 : 0) }
}

extension String: RawBindable {
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    func bind(to statement: OpaquePointer, at index: Int32) {
        var text = self
        text.withUTF8 { b in _ = sqlite3_bind_text(statement, index, b.baseAddress, Int32(b.count), Self.transient) }
    }
}

extension Optional: RawBindable where Wrapped: RawBindable {
    func bind(to statement: OpaquePointer, at index: Int32) {
        if let value = self { value.bind(to: statement, at: index) } else { sqlite3_bind_null(statement, index) }
    }
}

/// One prepared statement: bind parameters in order, step, read columns by 0-based index.
struct RawStatement {
    let handle: OpaquePointer
    let db: OpaquePointer

    /// Binds `values` to the statement's parameters 1, 2, 3… in order. A parameter pack, so
    /// each value binds through its own type with no boxing.
    func bind<each V: RawBindable>(_ values: repeat each V) {
        bind(from: 1, repeat each values)
    }

    /// Binds `values` to the parameters `first`, `first + 1`… (one row of a many-row insert).
    func bind<each V: RawBindable>(from first: Int32, _ values: repeat each V) {
        var index = first
        for value in repeat each values {
            value.bind(to: handle, at: index)
            index += 1
        }
    }

    /// Binds `values` (see ``bind(_:)``) and runs a statement that returns no rows.
    func run<each V: RawBindable>(_ values: repeat each V) throws {
        bind(repeat each values)
        try run()
    }

    /// Binds `values` (see ``bind(_:)``) and says whether the query returns a row, then resets.
    func exists<each V: RawBindable>(_ values: repeat each V) throws -> Bool {
        bind(repeat each values)
        defer { sqlite3_reset(handle) }
        return try step()
    }

    /// Steps once: true when a row is ready. Resets and throws on an error.
    func step() throws -> Bool {
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let code:
            let message = String(cString: sqlite3_errmsg(db))
            sqlite3_reset(handle)
            throw DatabaseError(
                resultCode: ResultCode(rawValue: code), message: message, sql: sqlite3_sql(handle).map { String(cString: $0) })
        }
    }

    /// Runs a statement that returns no rows, then resets it.
    func run() throws {
        while try step() {}
        sqlite3_reset(handle)
    }

    /// Resets after reading rows.
    func reset() { sqlite3_reset(handle) }

    func int64(_ col: Int32) -> Int64 { sqlite3_column_int64(handle, col) }
    func optionalInt64(_ col: Int32) -> Int64? {
        sqlite3_column_type(handle, col) == SQLITE_NULL ? nil : sqlite3_column_int64(handle, col)
    }
    func string(_ col: Int32) -> String {
        guard let p = sqlite3_column_text(handle, col) else { return "" }
        let n = Int(sqlite3_column_bytes(handle, col))
        return String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)
    }
    func optionalString(_ col: Int32) -> String? {
        sqlite3_column_type(handle, col) == SQLITE_NULL ? nil : string(col)
    }
}

extension Tx {
    /// Steps through the rows of a one-off statement on this transaction's connection (read or
    /// write), calling `row` for each: for whole-table passes where GRDB's row decoding would
    /// cost more than the scan.
    func scan<each V: RawBindable>(_ sql: String, _ values: repeat each V, row: (RawStatement) throws -> Void) throws {
        guard let conn = db.sqliteConnection else { throw DatabaseError(resultCode: .SQLITE_MISUSE, message: "connection closed") }
        var handle: OpaquePointer? = nil
        let code = sqlite3_prepare_v2(conn, sql, -1, &handle, nil)
        guard code == SQLITE_OK, let handle else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(conn)), sql: sql)
        }
        defer { sqlite3_finalize(handle) }
        let s = RawStatement(handle: handle, db: conn)
        s.bind(repeat each values)
        while try s.step() { try row(s) }
    }
}
