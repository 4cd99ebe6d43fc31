import CRMCore
public import Foundation
import GRDB

/// Duplicate checks of `interaction.import` and `deal.import`.
extension Tx {
    /// An interaction of `clientID` of `kind` at `at` by `authorLogin` (index interactions_client).
    public func interactionID(clientID: Int64, kind: String, at: Date, authorLogin: String) throws -> Int64? {
        try row(
            "SELECT id FROM interactions WHERE client_id = ? AND occurred_at = ? AND kind = ? AND author_login = ? LIMIT 1",
            [clientID, ms(at), kind, authorLogin]
        ).map { $0[0] }
    }

    /// A deal of `clientID` with this title, amount and status (index deals_client).
    public func dealID(clientID: Int64, title: String, amount: Int64?, status: String) throws -> Int64? {
        try row(
            "SELECT id FROM deals WHERE client_id = ? AND status = ? AND title = ? AND amount IS ? LIMIT 1",
            [clientID, status, title, amount]
        ).map { $0[0] }
    }
}
