public import Foundation
import GRDB

/// One author's logged interactions in a span, by kind (report.activity).
public struct ActivityCounts: Sendable, Equatable {
    public var calls = 0
    public var meetings = 0
    public var emails = 0
    public var messages = 0
    public var notes = 0
    public var coldCalls = 0

    public init() {}

    /// Every logged interaction (deal steps are crmd's, not the manager's).
    public var total: Int { calls + meetings + emails + messages + notes }

    public static func += (a: inout ActivityCounts, b: ActivityCounts) {
        a.calls += b.calls
        a.meetings += b.meetings
        a.emails += b.emails
        a.messages += b.messages
        a.notes += b.notes
        a.coldCalls += b.coldCalls
    }
}

extension Tx {
    /// The user's interactions in `[from, to)` by kind: one covering range of interactions_author
    /// (author_id, kind, occurred_at) per kind, no table rows read. Cold calls are counted by
    /// ``coldCalls(userID:from:to:window:)``.
    public func activity(userID: Int64, from: Date, to: Date) throws -> ActivityCounts {
        var c = ActivityCounts()
        let statement = try db.cachedStatement(
            sql: """
                SELECT count(*) FROM interactions INDEXED BY interactions_author
                WHERE author_id = ? AND kind = ? AND occurred_at >= ? AND occurred_at < ?
                """)
        func count(_ kind: String) throws -> Int {
            try Int.fetchOne(statement, arguments: [userID, kind, ms(from), ms(to)]) ?? 0
        }
        c.calls = try count("call")
        c.meetings = try count("meeting")
        c.emails = try count("email")
        c.messages = try count("message")
        c.notes = try count("note")
        return c
    }

    /// The instants the user took clients in `[from, to)`: claims from the exchange (claims_user)
    /// and clients taken from unassigned (clients_picked), as (client id, instant).
    public func takenClients(userID: Int64, from: Date, to: Date) throws -> [(clientID: Int64, at: Date)] {
        try rows(
            """
            SELECT client_id, at FROM claims INDEXED BY claims_user WHERE user_id = ?1 AND at >= ?2 AND at < ?3
            UNION ALL
            SELECT id, picked_at FROM clients INDEXED BY clients_picked WHERE picked_by = ?1 AND picked_at >= ?2 AND picked_at < ?3
            """, [userID, ms(from), ms(to)]
        ).map { (clientID: $0[0], at: date($0[1] as Int64)) }
    }

    /// The user's calls in `[from, to)` made within `window` after they took the client (from the
    /// exchange or from unassigned): the windows of one client are merged so no call counts twice;
    /// each window's calls are a range of interactions_client (client_id, occurred_at).
    public func coldCalls(userID: Int64, from: Date, to: Date, window: TimeInterval) throws -> Int {
        var spans: [Int64: [(Int64, Int64)]] = [:]
        let a = ms(from)
        let b = ms(to)
        let w = Int64(window * 1000)
        for t in try takenClients(userID: userID, from: from.addingTimeInterval(-window), to: to) {
            let s = max(ms(t.at), a)
            let e = min(ms(t.at) + w, b)
            if s < e { spans[t.clientID, default: []].append((s, e)) }
        }
        var total = 0
        let st = try db.cachedStatement(
            sql: """
                SELECT count(*) FROM interactions INDEXED BY interactions_client
                WHERE client_id = ? AND occurred_at >= ? AND occurred_at < ? AND author_id = ? AND kind = 'call'
                """)
        for (client, list) in spans {
            var merged: [(Int64, Int64)] = []
            for span in list.sorted(by: { $0.0 < $1.0 }) {
                if let last = merged.last, span.0 <= last.1 {
                    merged[merged.count - 1].1 = max(last.1, span.1)
                } else {
                    merged.append(span)
                }
            }
            for (s, e) in merged { total += try Int.fetchOne(st, arguments: [client, s, e, userID]) ?? 0 }
        }
        return total
    }
}
