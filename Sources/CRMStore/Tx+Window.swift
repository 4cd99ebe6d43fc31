public import Foundation
import GRDB

/// The fair claim window's rows (issue 21): open windows and the requests made in them.
extension Tx {
    /// Opens the window of a client released at `releasedAt`, ending at `endsAt` (a new release
    /// replaces an old window and forgets its requests).
    public func openWindow(clientID: Int64, releasedAt: Date, endsAt: Date) throws {
        try exec("DELETE FROM exchange_requests WHERE client_id = ?", [clientID])
        try exec(
            "INSERT OR REPLACE INTO exchange_windows(client_id, released_at, ends_at) VALUES (?, ?, ?)",
            [clientID, ms(releasedAt), ms(endsAt)])
    }

    /// When the open window of a client ends, if it has one.
    public func windowEnd(clientID: Int64) throws -> Date? {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT ends_at FROM exchange_windows WHERE client_id = ?"), arguments: [clientID])
            .map { date($0) }
    }

    /// The ends of the open windows of `clientIDs` (a page of the exchange), by client.
    public func windowEnds(clientIDs: [Int64]) throws -> [Int64: Date] {
        guard !clientIDs.isEmpty else { return [:] }
        let marks = Array(repeating: "?", count: clientIDs.count).joined(separator: ",")
        var out: [Int64: Date] = [:]
        for row in try rows(
            "SELECT client_id, ends_at FROM exchange_windows WHERE client_id IN (\(marks))", StatementArguments(clientIDs))
        {
            out[row[0]] = date(row[1] as Int64)
        }
        return out
    }

    /// Records `userID`'s request for `clientID` at `at`; asking again keeps the first instant.
    /// Returns the instant on record.
    public func requestInWindow(clientID: Int64, userID: Int64, at: Date) throws -> Date {
        try exec("INSERT OR IGNORE INTO exchange_requests(client_id, user_id, at) VALUES (?, ?, ?)", [clientID, userID, ms(at)])
        return try Int64.fetchOne(
            db.cachedStatement(sql: "SELECT at FROM exchange_requests WHERE client_id = ? AND user_id = ?"),
            arguments: [clientID, userID]
        ).map { date($0) } ?? at
    }

    /// The requests for a client's window, earliest first.
    public func windowRequests(clientID: Int64) throws -> [(userID: Int64, at: Date)] {
        try rows("SELECT user_id, at FROM exchange_requests WHERE client_id = ? ORDER BY at, user_id", [clientID]).map {
            (userID: $0[0], at: date($0[1] as Int64))
        }
    }

    /// The earliest end of an open window (the scheduler wakes for it).
    public func earliestWindowEnd() throws -> Date? {
        try Int64.fetchOne(db, sql: "SELECT min(ends_at) FROM exchange_windows").map { date($0) }
    }

    /// Windows ending at or before `upTo`, earliest first.
    public func dueWindows(upTo: Date, limit: Int) throws -> [(clientID: Int64, endsAt: Date)] {
        try rows(
            "SELECT client_id, ends_at FROM exchange_windows WHERE ends_at <= ? ORDER BY ends_at, client_id LIMIT ?", [ms(upTo), limit]
        )
        .map { (clientID: $0[0], endsAt: date($0[1] as Int64)) }
    }

    /// Closes a client's window and forgets its requests.
    public func closeWindow(clientID: Int64) throws {
        try exec("DELETE FROM exchange_requests WHERE client_id = ?", [clientID])
        try exec("DELETE FROM exchange_windows WHERE client_id = ?", [clientID])
    }
}
