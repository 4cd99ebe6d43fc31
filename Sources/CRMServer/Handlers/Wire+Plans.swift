import CRMCore
import CRMProtocol
import CRMStore
import Foundation

/// The span a report covers: `from`, `to` (RFC 3339, `[from, to)`) or a `period`.
struct ReportSpan: Sendable {
    var from: Date
    var to: Date
    /// The period asked for, if one was.
    var period: Period?

    /// The longest span a report covers (docs/rules.md): a year and a leap day.
    static let maxSeconds: TimeInterval = 366 * 86_400

    /// Reads `from` + `to` or `period` (with `defaultPeriod` when neither is given and it is set).
    static func decode(_ r: inout ParamReader, timeZone: TimeZone, defaultPeriod: Period? = nil) -> ReportSpan? {
        let from = r.optionalTimestamp("from")
        let to = r.optionalTimestamp("to")
        let text = r.optionalString("period")
        if let text {
            guard from == nil, to == nil else {
                r.problem("period", "give either period or from and to, not both")
                return nil
            }
            guard let p = Period(text) else {
                r.problem("period", "must be \(Period.forms), not '\(text.prefix(20))'")
                return nil
            }
            let (s, e) = p.interval(in: timeZone)
            return ReportSpan(from: s, to: e, period: p)
        }
        guard let from, let to else {
            if from == nil, to == nil, let p = defaultPeriod {
                let (s, e) = p.interval(in: timeZone)
                return ReportSpan(from: s, to: e, period: p)
            }
            r.problem(from == nil ? "from" : "to", "is required (or give a period such as 2026-12, 2026-W49, 2026-Q4)")
            return nil
        }
        guard from < to else {
            r.problem("to", "must be after from")
            return nil
        }
        guard to.timeIntervalSince(from) <= maxSeconds else {
            r.problem("to", "the span may be at most 366 days; ask for a year at a time")
            return nil
        }
        return ReportSpan(from: from, to: to, period: nil)
    }
}

extension Wire {
    /// A plan as every method shows it.
    func plan(_ p: Plan, timeZone: TimeZone) -> JSON {
        var targets = JSONObject()
        for m in p.metrics { targets[m.rawValue] = .int(p.targets[m]) }
        var o: JSONObject = [
            "id": .int(p.id), "period": .string(p.period.description), "kind": .string(p.period.kind.rawValue),
            "starts_at": time(p.startsAt), "ends_at": time(p.endsAt), "targets": .object(targets), "set_by": .string(p.setBy),
            "created_at": time(p.createdAt), "updated_at": time(p.updatedAt),
        ]
        owner(of: p, into: &o)
        return .object(o)
    }

    /// `user` and `user_login`, or `team`.
    func owner(of p: Plan, into o: inout JSONObject) {
        if let u = p.userID {
            o["user"] = .int(u)
            o["user_login"] = login(u)
        } else {
            o["team"] = .string(p.team)
        }
    }

    /// One metric of a plan against its fact: money carries its text too.
    func planItem(_ m: PlanMetric, target: Int64, fact: Int64) -> JSON {
        var o: JSONObject = [
            "metric": .string(m.rawValue), "target": .int(target), "fact": .int(fact),
            "percent": .int(PlanMetric.percent(fact: fact, target: target)),
        ]
        if m.isMoney {
            o["target_text"] = amountText(target)
            o["fact_text"] = amountText(fact)
        }
        return .object(o)
    }
}

extension HandlerGroup {
    /// A plan's facts for `metrics` over `[from, to)`: the user's, or the sum over the team's
    /// active members now.
    func planFacts(_ tx: Tx, _ p: Plan, _ metrics: Set<PlanMetric>, from: Date, to: Date) throws -> [PlanMetric: Int64] {
        let currency = settings.domain.deals.currency
        let members = try p.userID.map { [$0] } ?? tx.teamMembers(p.team ?? "")
        var sum: [PlanMetric: Int64] = [:]
        for m in metrics { sum[m] = 0 }
        for u in members {
            for (m, v) in try tx.planFacts(metrics, userID: u, from: from, to: to, currency: currency) {
                sum[m] = (sum[m] ?? 0).addingReportingOverflow(v).overflow ? .max : (sum[m] ?? 0) + v
            }
        }
        return sum
    }

    /// The plan's items: one per metric with a target, facts over the plan's period.
    func planItems(_ tx: Tx, _ p: Plan) throws -> [JSON] {
        let facts = try planFacts(tx, p, Set(p.metrics), from: p.startsAt, to: p.endsAt)
        return p.metrics.map { wire.planItem($0, target: p.targets[$0] ?? 0, fact: facts[$0] ?? 0) }
    }
}
