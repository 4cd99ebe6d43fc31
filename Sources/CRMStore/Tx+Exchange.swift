public import CRMCore
public import Foundation
import GRDB

extension Tx {
    /// Forbids `userID` from claiming `clientID` until `until`.
    public func ban(clientID: Int64, userID: Int64, until: Date) throws {
        if let buffer {
            buffer.bans.append(.init(clientID: clientID, userID: userID, until: ms(until)))
            return
        }
        try prepared(
            "INSERT INTO exchange_bans(client_id, user_id, until) VALUES (?, ?, ?) ON CONFLICT(client_id, user_id) DO UPDATE SET until = excluded.until"
        ).run(clientID, userID, ms(until))
    }

    /// Until when `userID` may not claim `clientID`, if a ban is in force at `now`.
    public func banUntil(clientID: Int64, userID: Int64, now: Date) throws -> Date? {
        try Int64.fetchOne(
            db.cachedStatement(sql: "SELECT until FROM exchange_bans WHERE client_id = ? AND user_id = ? AND until > ?"),
            arguments: [clientID, userID, ms(now)]
        ).map { date($0) }
    }

    /// The clients `userID` may not claim at `now` (their cooldown is in force), with their names
    /// and until when: a manager's bans are few, so the caller compares names itself.
    public func bans(userID: Int64, now: Date) throws -> [(clientID: Int64, name: String, until: Date)] {
        try Row.fetchAll(
            db.cachedStatement(
                sql:
                    "SELECT b.client_id, c.name, b.until FROM exchange_bans b JOIN clients c ON c.id = b.client_id WHERE b.user_id = ? AND b.until > ?"
            ),
            arguments: [userID, ms(now)]
        ).map { row in (row[0], row[1], date(row[2])) }
    }

    /// Records a claim (for limits and reports).
    public func recordClaim(clientID: Int64, userID: Int64, at: Date) throws {
        try exec("INSERT INTO claims(client_id, user_id, at) VALUES (?, ?, ?)", [clientID, userID, ms(at)])
    }

    /// Claims by a user since an instant.
    public func claimCount(userID: Int64, since: Date) throws -> Int {
        try Int.fetchOne(
            db.cachedStatement(sql: "SELECT count(*) FROM claims WHERE user_id = ? AND at >= ?"), arguments: [userID, ms(since)]) ?? 0
    }

    /// Records a release (for reports).
    public func recordRelease(clientID: Int64, userID: Int64?, at: Date, manual: Bool, reason: String?) throws {
        if let buffer {
            buffer.releases.append(.init(clientID: clientID, userID: userID, at: ms(at), manual: manual, reason: reason))
            return
        }
        try prepared("INSERT INTO releases(client_id, user_id, at, manual, reason) VALUES (?, ?, ?, ?, ?)").run(
            clientID, userID, ms(at), manual ? 1 : 0, reason)
    }

    /// Clients a user owns.
    public func ownedCount(userID: Int64) throws -> Int {
        try Int.fetchOne(
            db.cachedStatement(sql: "SELECT count(*) FROM clients WHERE owner_id = ? AND status = 'assigned'"), arguments: [userID]) ?? 0
    }

    /// Clients whose release falls in `[from, to)`, by release instant (for the preview).
    public func releasesDue(from: Date, to: Date, limit: Int) throws -> [Client] {
        try rows(
            "SELECT \(Self.clientColumns) FROM clients WHERE status = 'assigned' AND release_at >= ? AND release_at < ? ORDER BY release_at, id LIMIT ?",
            [ms(from), ms(to), limit]
        ).map { client(from: $0, phones: [], emails: []) }
    }

    /// All assigned clients' owner and clock start, for a what-if preview of new thresholds.
    public func assignedClocks(afterID: Int64, limit: Int) throws -> [(id: Int64, ownerID: Int64?, start: Date)] {
        try rows(
            """
            SELECT id, owner_id, max(coalesce(last_interaction_at, 0), coalesce(assigned_at, 0)) FROM clients
            WHERE status = 'assigned' AND id > ? ORDER BY id LIMIT ?
            """, [afterID, limit]
        ).map { (id: $0[0], ownerID: $0[1], start: date($0[2] as Int64)) }
    }
}
