import CRMCore
import CRMStore
import Foundation

extension HandlerGroup {
    /// A fact that plans count was recorded in `tx` for `userID` (a call, a won deal, a payment,
    /// ...) at the instant `at` it counts at: records a `plan.progress` event for every plan of the
    /// user, and of the user's team, whose period holds `at` and that has a target in one of
    /// `metrics`, with the fact counted from the store as it stands in this transaction. Every
    /// write that moves a plan counter calls this in the same transaction. Without such a plan it
    /// costs one query on two small indexes (plans_user, plans_team).
    func planFactsMoved(_ tx: Tx, userID: Int64?, metrics: Set<PlanMetric>, at: Date) throws {
        guard let userID else { return }
        let plans = try tx.activePlans(userID: userID, at: at)
        guard !plans.isEmpty else { return }
        let now = clock.now()
        for p in plans {
            let moved = metrics.filter { p.targets[$0] != nil }
            guard !moved.isEmpty else { continue }
            let facts = try planFacts(tx, p, moved, from: p.startsAt, to: p.endsAt)
            for m in p.metrics where moved.contains(m) {
                guard case .object(var o) = wire.planItem(m, target: p.targets[m] ?? 0, fact: facts[m] ?? 0) else { continue }
                o["plan_id"] = .int(p.id)
                o["period"] = .string(p.period.description)
                wire.owner(of: p, into: &o)
                // A team's plan has no owner: heads, directors and admins see it.
                try event(tx, "plan.progress", clientID: nil, ownerID: p.userID, .object(o), at: now)
            }
        }
    }
}
