import CRMCore
import CRMStore
import Foundation

extension HandlerGroup {
    /// A fact that plans count was recorded in `tx` for `userID` (a call, a won deal, a payment,
    /// ...): records a `plan.progress` event for every active plan of the user (and their team)
    /// with a target in one of `metrics`. Every write that moves a plan counter calls this in the
    /// same transaction. (Being built.)
    func planFactsMoved(_ tx: Tx, userID: Int64?, metrics: Set<PlanMetric>, at: Date) throws {}
}
