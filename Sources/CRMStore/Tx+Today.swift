public import CRMCore
public import Foundation
import GRDB

extension Tx {
    /// A manager's assigned clients whose release falls before `before`, soonest first.
    public func clientsNearRelease(ownerID: Int64, before: Date, limit: Int) throws -> [Client] {
        try rows(
            """
            SELECT \(Self.clientColumns) FROM clients
            WHERE owner_id = ? AND status = 'assigned' AND release_at < ? ORDER BY release_at, id LIMIT ?
            """, [ownerID, ms(before), limit]
        ).map { client(from: $0, phones: [], emails: []) }
    }

    /// An owner's open deals that are overdue, or fall due before `before`, soonest first.
    public func dealsNeedingContact(ownerID: Int64, before: Date, limit: Int) throws -> [Deal] {
        try rows(
            """
            SELECT \(Self.dealColumns) FROM deals
            WHERE owner_id = ? AND status = 'open' AND next_contact_due IS NOT NULL AND next_contact_due < ?
            ORDER BY next_contact_due, id LIMIT ?
            """, [ownerID, ms(before), limit]
        ).map(deal(from:))
    }

    /// How many delivered alerts a user has not acknowledged.
    public func unackedAlertCount(userID: Int64) throws -> Int {
        try Int.fetchOne(
            db.cachedStatement(sql: "SELECT count(*) FROM alerts WHERE user_id = ? AND delivered_at IS NOT NULL AND acked_at IS NULL"),
            arguments: [userID]) ?? 0
    }
}
