import CRMCore
import CRMProtocol
import CRMStore
import Foundation

/// `report.sales` (won, lost with reasons, paid, average deal and duration per slice) and
/// `report.completeness` (how full the client cards are, per manager).
extension SalesReportHandlers {
    /// One slice of the sales report.
    struct SalesTally {
        var won = 0, lost = 0
        var wonAmount: Int64 = 0, paid: Int64 = 0, durationMS: Int64 = 0
        var reasons: [String: Int] = [:]
    }

    func reportSales(_ call: Call) throws {
        let actor = call.actor
        try requireMoneyReports(actor)
        let zone = rules.thresholds.timeZone
        let (span, by, userParam) = try call.decode { r in
            (
                Self.span(&r, timeZone: zone), r.optionalEnum("by", ["manager", "team", "source", "segment", "pipeline"]),
                r.optionalValue("user")
            )
        }
        let user = try oneUser(userParam, actor: actor)
        let currency = settings.domain.deals.currency
        // Each owner's name looked up once, not once per deal.
        var names: [Int64: String] = [:]
        let slice: (Int64?, String?, String, String?) -> String = { [users] owner, source, pipeline, segment in
            switch by ?? "manager" {
            case "manager", "team":
                guard let owner else { return by == "team" ? "(no team)" : "(none)" }
                if let n = names[owner] { return n }
                let u = users.user(id: owner)
                let n = by == "team" ? (u?.team ?? "(no team)") : (u?.login ?? "user #\(owner)")
                names[owner] = n
                return n
            case "source": return source ?? "(none)"
            case "segment": return segment ?? "(none)"
            default: return pipeline
            }
        }
        try read(call) { [self] tx, _ in
            let owner = narrowedOwner(actor, user)
            var tallies: [String: SalesTally] = [:]
            var owners: [String: Int64] = [:]
            var other: [String: (count: Int, amount: Int64)] = [:]
            try tx.closedDeals(from: span.from, to: span.to, currency: currency, ownerID: owner, slicedBy: by ?? "manager") { d in
                if let code = d.currency {
                    if d.won { other[code, default: (0, 0)].count += 1 }
                    if d.won { other[code, default: (0, 0)].amount &+= d.amount ?? 0 }
                    return
                }
                let key = slice(d.ownerID, d.source, d.pipeline, d.segment)
                if (by ?? "manager") == "manager", let o = d.ownerID { owners[key] = o }
                if d.won {
                    tallies[key, default: SalesTally()].won += 1
                    tallies[key, default: SalesTally()].wonAmount &+= d.amount ?? 0
                    tallies[key, default: SalesTally()].durationMS &+= max(0, d.durationMS)
                } else {
                    tallies[key, default: SalesTally()].lost += 1
                    tallies[key, default: SalesTally()].reasons[d.lostReason ?? "(none)", default: 0] += 1
                }
            }
            for p in try tx.periodPayments(from: span.from, to: span.to, currency: currency, ownerID: owner, withSegment: by == "segment") {
                let key = slice(p.ownerID, p.source, p.pipeline, p.segment)
                if (by ?? "manager") == "manager", let o = p.ownerID { owners[key] = o }
                tallies[key, default: SalesTally()].paid &+= p.amount
            }
            var total = SalesTally()
            var items: [JSON] = []
            for key in tallies.keys.sorted() {
                let t = tallies[key] ?? SalesTally()
                var o = salesRow(t)
                o["slice"] = .string(key)
                if (by ?? "manager") == "manager" { o["owner"] = owners[key].map { .int($0) } ?? .null }
                items.append(.object(o))
                total.won += t.won
                total.lost += t.lost
                total.wonAmount &+= t.wonAmount
                total.paid &+= t.paid
                total.durationMS &+= t.durationMS
                for (r, n) in t.reasons { total.reasons[r, default: 0] += n }
            }
            return [
                "from": wire.time(span.from), "to": wire.time(span.to), "by": .string(by ?? "manager"), "currency": .string(currency),
                "items": .array(items), "total": .object(salesRow(total)),
                "other_currencies": .array(
                    other.keys.sorted().map { c in
                        ["currency": .string(c), "won": .int(Int64(other[c]?.count ?? 0)), "won_amount": .int(other[c]?.amount ?? 0)]
                    }),
            ]
        }
    }

    /// A sales slice as shown: counts, sums with texts, win rate, averages.
    func salesRow(_ t: SalesTally) -> JSONObject {
        let average: Int64? = t.won == 0 ? nil : t.wonAmount / Int64(t.won)
        let days: JSON = t.won == 0 ? .null : .double((Double(t.durationMS) / Double(t.won) / 86_400_000 * 10).rounded() / 10)
        return [
            "won": .int(Int64(t.won)), "won_amount": .int(t.wonAmount), "won_amount_text": wire.amountText(t.wonAmount),
            "lost": .int(Int64(t.lost)),
            "lost_reasons": .object(JSONObject(t.reasons.sorted { $0.key < $1.key }.map { ($0.key, .int(Int64($0.value))) })),
            "win_rate_percent": .int(Int64(Stats.percent(t.won, of: t.won + t.lost))), "paid": .int(t.paid),
            "paid_text": wire.amountText(t.paid), "average_won": average.map { .int($0) } ?? .null,
            "average_won_text": wire.amountText(average), "average_days": days,
        ]
    }

    func reportCompleteness(_ call: Call) throws {
        let actor = call.actor
        try requireWorkReports(actor)
        _ = try call.decode { r in r.optionalEnum("by", ["manager"]) }
        try read(call) { [self] tx, _ in
            let own = Access.seesOnlyOwnClients(actor)
            let tally = try tx.completenessTally(ownerID: own ? (actor.userID ?? -1) : nil)
            func row(_ t: CompletenessTally) -> JSONObject {
                var o: JSONObject = ["clients": .int(Int64(t.clients))]
                for (name, n) in [
                    ("minimal", t.minimal), ("decision_maker", t.decisionMaker), ("segment", t.segment), ("source", t.source),
                ] {
                    o[name] = .int(Int64(n))
                    o[name + "_percent"] = .int(Int64(Stats.percent(n, of: t.clients)))
                }
                return o
            }
            let items: [JSON] = tally.perOwner.keys.sorted().map { id in
                var o = row(tally.perOwner[id] ?? CompletenessTally())
                o["owner"] = .int(id)
                o["owner_login"] = wire.login(id)
                return .object(o)
            }
            return ["items": .array(items), "total": own ? .null : .object(row(tally.all))]
        }
    }
}
