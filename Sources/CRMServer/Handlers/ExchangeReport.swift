import CRMCore
import CRMProtocol
import CRMStore
import Foundation

/// `report.exchange` (issue 21; docs/rules.md, "The exchange report"): per manager, the clients
/// released from them and claimed by them in a span, how long the claimed ones had waited on the
/// exchange, and what came of a claim (a contact within 7 days, a deal within 90, its revenue)
/// next to the same figures for the clients they kept. Counted when asked from the releases,
/// claims, interactions and deals; nothing is kept as a counter.
extension ExchangeHandlers {
    /// Share in basis points, 0 of nothing.
    func shareBP(_ part: Int, of whole: Int) -> JSON { .int(whole == 0 ? 0 : Int64(part * 10_000 / whole)) }

    func outcomeFields(_ o: ExchangeOutcome, _ prefix: String, into item: inout JSONObject) {
        item[prefix] = .int(Int64(o.clients))
        item[prefix + "_contacted_7d"] = .int(Int64(o.contacted7d))
        item[prefix + "_contacted_7d_bp"] = shareBP(o.contacted7d, of: o.clients)
        item[prefix + "_deal_90d"] = .int(Int64(o.deal90d))
        item[prefix + "_deal_90d_bp"] = shareBP(o.deal90d, of: o.clients)
        item[prefix + "_revenue_90d"] = .int(o.revenue90d)
    }

    func reportExchange(_ call: Call) throws {
        let actor = call.actor
        guard PlanAccess.canSee(actor) else {
            throw DomainError.forbidden("Reports are for managers, heads, directors and admins.")
        }
        let zone = rules.thresholds.timeZone
        let span = try call.decode { r in ReportSpan.decode(&r, timeZone: zone) }
        guard let span else { throw DomainError.invalid("period", "is required (or from and to)") }
        let currency = dealRules.settings.currency
        try read(call) { [self] tx, now in
            let own = Access.seesOnlyOwnClients(actor)
            var items: [JSON] = []
            var totalClaimed = ExchangeOutcome()
            var totalKept = ExchangeOutcome()
            var totalReleased = 0
            var totalWaitMS: Int64 = 0
            var totalWaited = 0
            for u in try tx.allUsers() {
                if own && u.id != actor.userID { continue }
                let released = try tx.releaseCount(userID: u.id, from: span.from, to: span.to)
                let claims = try tx.claims(userID: u.id, from: span.from, to: span.to)
                guard released > 0 || !claims.isEmpty || (u.active && Access.canLeadClients(u)) else { continue }
                var claimed = ExchangeOutcome()
                var waitMS: Int64 = 0
                var waited = 0
                for c in claims {
                    try tx.addOutcome(&claimed, clientID: c.clientID, since: c.at, currency: currency)
                    if let r = c.releasedAt {
                        waitMS += Int64((c.at.timeIntervalSince(r) * 1000).rounded())
                        waited += 1
                    }
                }
                var kept = ExchangeOutcome()
                for id in try tx.keptClients(userID: u.id, before: span.from) {
                    try tx.addOutcome(&kept, clientID: id, since: span.from, currency: currency)
                }
                var item: JSONObject = [
                    "user": .int(u.id), "login": .string(u.login), "name": .string(u.name), "released": .int(Int64(released)),
                    "avg_days_on_exchange": waited == 0
                        ? .null : .double((Double(waitMS) / Double(waited) / 86_400_000 * 10).rounded() / 10),
                ]
                outcomeFields(claimed, "claimed", into: &item)
                outcomeFields(kept, "kept", into: &item)
                items.append(.object(item))
                totalReleased += released
                totalWaitMS += waitMS
                totalWaited += waited
                totalClaimed.add(claimed)
                totalKept.add(kept)
            }
            var totals: JSONObject = [
                "released": .int(Int64(totalReleased)),
                "avg_days_on_exchange": totalWaited == 0
                    ? .null : .double((Double(totalWaitMS) / Double(totalWaited) / 86_400_000 * 10).rounded() / 10),
            ]
            outcomeFields(totalClaimed, "claimed", into: &totals)
            outcomeFields(totalKept, "kept", into: &totals)
            return [
                "from": wire.time(span.from), "to": wire.time(span.to), "period": .string(span.period?.description), "now": wire.time(now),
                "currency": .string(currency), "scope": own ? "own" : "all", "items": .array(items), "totals": .object(totals),
            ]
        }
    }
}
