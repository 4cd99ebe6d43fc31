public import CRMCore
public import Foundation
import GRDB

extension Tx {
    /// The highest client id (0 for none): the simulation walks ids up to it in ranges.
    public func maxClientID() throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT coalesce(max(id), 0) FROM clients") ?? 0
    }

    /// The recorded ownership history of the clients with ids in `ids`, each client's steps in
    /// time order (up to `to`): owners from the events `client.created`, `client.assigned` and
    /// `client.claimed`; releases from the release records; resetting contacts from the
    /// interactions.
    public func ownershipHistory(ids: ClosedRange<Int64>, to: Date) throws -> [Int64: [HistoryStep]] {
        var out: [Int64: [HistoryStep]] = [:]
        let a = ids.lowerBound
        let b = ids.upperBound
        let end = ms(to)
        for row in try rows(
            """
            SELECT client_id, owner_id, at FROM events
            WHERE client_id BETWEEN ? AND ? AND topic IN ('client.created', 'client.assigned', 'client.claimed') AND at < ?
            """, [a, b, end])
        {
            // An assignment to nobody takes the owner away, as a person's release does.
            let at = date(row[2] as Int64)
            out[row[0], default: []].append((row[1] as Int64?).map { .owner($0, at: at) } ?? .release(at: at, manual: true))
        }
        for row in try rows("SELECT client_id, at, manual FROM releases WHERE client_id BETWEEN ? AND ? AND at < ?", [a, b, end]) {
            out[row[0], default: []].append(.release(at: date(row[1] as Int64), manual: (row[2] as Int64) != 0))
        }
        // By client (interactions_client), never by instant: `+` keeps the planner off interactions_occurred.
        for row in try rows(
            "SELECT client_id, occurred_at FROM interactions WHERE client_id BETWEEN ? AND ? AND resets_clock = 1 AND +occurred_at < ?",
            [a, b, end])
        {
            out[row[0], default: []].append(.reset(at: date(row[1] as Int64)))
        }
        for (id, steps) in out {
            out[id] = HistoryStep.inOrder(steps)
        }
        return out
    }

    /// The scheduler's releases (not a person's) in `[from, to)`: client, owner it left, instant.
    public func automaticReleases(from: Date, to: Date) throws -> [(clientID: Int64, ownerID: Int64?, at: Date)] {
        try rows(
            "SELECT client_id, user_id, at FROM releases WHERE manual = 0 AND at >= ? AND at < ? ORDER BY at, client_id",
            [ms(from), ms(to)]
        ).map { (clientID: $0[0], ownerID: $0[1], at: date($0[2] as Int64)) }
    }
}
