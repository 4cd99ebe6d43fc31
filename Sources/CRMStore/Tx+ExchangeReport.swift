public import Foundation
import GRDB

/// What happened to a set of clients after a reference instant (a claim, or the start of the
/// period for the clients their owners kept): `report.exchange` (docs/rules.md, "The exchange
/// report").
public struct ExchangeOutcome: Sendable, Equatable {
    /// The clients counted.
    public var clients = 0
    /// Of them, those with an interaction (any kind, by anyone) within 7 days of the instant.
    public var contacted7d = 0
    /// Those with a deal opened within 90 days of the instant.
    public var deal90d = 0
    /// The amounts of deals on them won (closed) within 90 days of the instant, in `currency`.
    public var revenue90d: Int64 = 0

    public init() {}

    /// Adds another set's figures (for totals).
    public mutating func add(_ o: ExchangeOutcome) {
        clients += o.clients
        contacted7d += o.contacted7d
        deal90d += o.deal90d
        revenue90d += o.revenue90d
    }
}

extension Tx {
    /// Releases from `userID` in `[from, to)`.
    public func releaseCount(userID: Int64, from: Date, to: Date) throws -> Int {
        try Int.fetchOne(
            db.cachedStatement(sql: "SELECT count(*) FROM releases WHERE user_id = ? AND at >= ? AND at < ?"),
            arguments: [userID, ms(from), ms(to)]) ?? 0
    }

    /// The claims `userID` made in `[from, to)` (from the exchange, by request or by claim), with
    /// the client's last release before each (nil for a client that was never released).
    public func claims(userID: Int64, from: Date, to: Date) throws -> [(clientID: Int64, at: Date, releasedAt: Date?)] {
        try rows(
            """
            SELECT c.client_id, c.at,
              (SELECT max(r.at) FROM releases r WHERE r.client_id = c.client_id AND r.at <= c.at)
            FROM claims c WHERE c.user_id = ? AND c.at >= ? AND c.at < ? ORDER BY c.at, c.id
            """, [userID, ms(from), ms(to)]
        ).map { (clientID: $0[0], at: date($0[1] as Int64), releasedAt: dateOpt($0[2] as Int64?)) }
    }

    /// The clients `userID` has led since before `before` and still leads: the ones they kept.
    public func keptClients(userID: Int64, before: Date) throws -> [Int64] {
        try Int64.fetchAll(
            db.cachedStatement(
                sql: "SELECT id FROM clients WHERE owner_id = ? AND status = 'assigned' AND assigned_at < ? ORDER BY id"),
            arguments: [userID, ms(before)])
    }

    /// Adds to `outcome` what happened to `clientID` after `since`: an interaction within 7 days,
    /// a deal opened within 90 days, and what its deals won within 90 days brought in `currency`.
    public func addOutcome(_ outcome: inout ExchangeOutcome, clientID: Int64, since: Date, currency: String) throws {
        let t = ms(since)
        let week = t + 7 * 86_400_000
        let quarter = t + 90 * 86_400_000
        outcome.clients += 1
        let contacted =
            try Bool.fetchOne(
                db.cachedStatement(
                    sql: "SELECT EXISTS(SELECT 1 FROM interactions WHERE client_id = ? AND occurred_at >= ? AND occurred_at < ?)"),
                arguments: [clientID, t, week]) ?? false
        if contacted { outcome.contacted7d += 1 }
        let row = try Row.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT count(*) FILTER (WHERE opened_at >= ?2 AND opened_at < ?3),
                      coalesce(sum(amount) FILTER (WHERE status = 'won' AND closed_at >= ?2 AND closed_at < ?3 AND currency = ?4), 0)
                    FROM deals WHERE client_id = ?1
                    """),
            arguments: [clientID, t, quarter, currency])
        if let row {
            if (row[0] as Int) > 0 { outcome.deal90d += 1 }
            outcome.revenue90d += row[1] as Int64
        }
    }
}
