import CRMCore
import CRMProtocol
import CRMStore
import Foundation

/// Whose plan a request names: a user or a team.
enum PlanOwnerRef: Sendable {
    case user(UserRef)
    case team(String)
}

/// `plan.*` and `report.plan`: targets per user or team and period, and their progress counted
/// from what crmd holds when asked (docs/rules.md, "Plans").
struct PlanHandlers: HandlerGroup {
    let context: ServerContext

    var timeZone: TimeZone { rules.thresholds.timeZone }

    /// Reads `user` or `team` (at most one; `required`: exactly one).
    func decodeOwner(_ r: inout ParamReader, required: Bool) -> PlanOwnerRef? {
        let user = userRef(&r, "user")
        let team = r.optionalString("team")
        if let team, team.isEmpty || team.count > 64 { r.problem("team", "must be 1 to 64 characters") }
        switch (user, team) {
        case (.some(.some(let u)), nil): return .user(u)
        case (nil, .some(let t)): return .team(t)
        case (.some(.none), _): r.problem("user", "must be a user id or login")
        case (.some, .some): r.problem("team", "give either user or team, not both")
        case (nil, nil): if required { r.problem("user", "is required (a login or id), or give team") }
        }
        return nil
    }

    func decodePeriod(_ r: inout ParamReader, required: Bool) -> Period? {
        guard let text = required ? r.string("period") : r.optionalString("period") else { return nil }
        guard let p = Period(text) else {
            r.problem("period", "must be \(Period.forms), not '\(text.prefix(20))'")
            return nil
        }
        return p
    }

    /// The user or team a request names; nil for neither (the caller then means themselves).
    func resolve(_ tx: Tx, _ ref: PlanOwnerRef?) throws -> (userID: Int64?, team: String?)? {
        switch ref {
        case .user(let u)?: return (try resolveUser(tx, u, field: "user", inactive: true).id, nil)
        case .team(let t)?: return (nil, t)
        case nil: return nil
        }
    }

    /// Refuses operators and accountants plans and their reports.
    func checkPlans(_ actor: Actor) throws {
        guard PlanAccess.canSee(actor) else {
            throw DomainError.forbidden("Plans and their reports are for managers, heads, directors and admins.")
        }
    }

    /// Refuses a manager someone else's plan (their own and their team's are theirs to see).
    func checkSees(_ tx: Tx, _ actor: Actor, userID: Int64?, team: String?) throws {
        guard Access.seesOnlyOwnClients(actor) else { return }
        if let userID, userID == actor.userID { return }
        if let team, let me = actor.userID, try tx.team(ofUser: me) == team { return }
        throw DomainError.forbidden("A manager sees only their own plans and their team's; leave out user or name yourself.")
    }

    func planSet(_ call: Call) throws {
        let actor = call.actor
        guard PlanAccess.canSet(actor) else {
            throw DomainError.forbidden("Only a head of sales or an admin sets plans; ask your head.")
        }
        let (owner, period, targets) = try call.decode { r -> (PlanOwnerRef?, Period?, [PlanMetric: Int64?]) in
            let owner = decodeOwner(&r, required: true)
            let period = decodePeriod(&r, required: true)
            var targets: [PlanMetric: Int64?] = [:]
            if let t = r.optionalObject("targets") {
                for (k, v) in t.members {
                    guard let m = PlanMetric(rawValue: k) else {
                        r.problem(
                            "targets.\(k.prefix(40))", "is not a metric (\(PlanMetric.allCases.map(\.rawValue).joined(separator: ", ")))")
                        continue
                    }
                    if v.isNull {
                        targets[m] = .some(nil)
                    } else if let i = v.intValue, (0...m.maxTarget).contains(i) {
                        targets[m] = i
                    } else {
                        r.problem(
                            "targets.\(k)", "must be a whole number from 0 to \(m.maxTarget)\(m.isMoney ? " (minor units)" : "") or null")
                    }
                }
            } else if !r.has("targets") {
                r.problem("targets", "is required: an object like {\"calls\": 60, \"revenue_won\": 200000000}")
            }
            return (owner, period, targets)
        }
        guard let owner, let period else { throw DomainError.invalid("params", "user or team and period are required") }
        let zone = timeZone
        write(call) { [self] tx, now in
            guard period.isPlannable(now: now, in: zone) else {
                throw DomainError.invalid("period", "\(period) is more than two years away; plans are for periods near now")
            }
            var userID: Int64? = nil
            var team: String? = nil
            switch owner {
            case .user(let ref):
                let u = try resolveUser(tx, ref, field: "user", inactive: true)
                guard u.active else { throw DomainError.invalid("user", "'\(u.login)' is deactivated; plans are for active users") }
                guard Access.canLeadClients(u) else {
                    throw DomainError.invalid("user", "'\(u.login)' is a \(u.role.rawValue); plans are for managers and heads")
                }
                userID = u.id
            case .team(let t): team = t
            }
            let stored = try tx.plan(userID: userID, team: team, period: period.description)
            let (start, end) = period.interval(in: zone)
            var p =
                stored
                ?? Plan(
                    id: 0, userID: userID, team: team, period: period, startsAt: start, endsAt: end, targets: [:], setBy: actor.login,
                    createdAt: now, updatedAt: now)
            let before = stored.map { wire.plan($0, timeZone: zone) }
            for (m, v) in targets { p.targets[m] = v }
            guard !p.targets.isEmpty else {
                throw DomainError.invalid("targets", "a plan needs at least one target (calls, meetings, new_clients, ...)")
            }
            p.setBy = actor.login
            p.updatedAt = now
            p = try tx.savePlan(p)
            let json = wire.plan(p, timeZone: zone)
            try audit(tx, actor, "plan", p.id, stored == nil ? "create" : "update", before: before, after: json, at: now)
            return json
        }
    }

    func planGet(_ call: Call) throws {
        let actor = call.actor
        try checkPlans(actor)
        let (id, owner, period) = try call.decode { r -> (Int64?, PlanOwnerRef?, Period?) in
            let id = r.optionalInt("id")
            let owner = decodeOwner(&r, required: false)
            let period = decodePeriod(&r, required: false)
            if id == nil && period == nil { r.problem("id", "is required, or give user (or team) and period") }
            if id != nil && (owner != nil || period != nil) { r.problem("id", "give either id or user/team and period") }
            return (id, owner, period)
        }
        try read(call) { [self] tx, _ in
            let plan: Plan?
            if let id {
                plan = try tx.plan(id: id)
                guard let plan else { throw DomainError.notFound("plan", id) }
                try checkSees(tx, actor, userID: plan.userID, team: plan.team)
            } else {
                let who = try resolve(tx, owner) ?? (actor.userID, nil)
                try checkSees(tx, actor, userID: who.userID, team: who.team)
                plan = try tx.plan(userID: who.userID, team: who.team, period: period?.description ?? "")
            }
            guard let plan else {
                throw DomainError(.notFound, "No plan for \(period?.description ?? "that period"); a head sets one with plan.set.")
            }
            guard case .object(var o) = wire.plan(plan, timeZone: timeZone) else { return .null }
            o["items"] = .array(try planItems(tx, plan))
            return .object(o)
        }
    }

    func planList(_ call: Call) throws {
        let actor = call.actor
        try checkPlans(actor)
        let (owner, period, limit, cursor) = try call.decode { r in
            (decodeOwner(&r, required: false), decodePeriod(&r, required: false), r.limit(), r.idCursor())
        }
        try read(call) { [self] tx, _ in
            var f = PlanFilter()
            f.period = period?.description
            if let who = try resolve(tx, owner) {
                try checkSees(tx, actor, userID: who.userID, team: who.team)
                f.userID = who.userID
                f.team = who.team
            } else if Access.seesOnlyOwnClients(actor) {
                f.userID = actor.userID ?? -1
            }
            return wire.page(try tx.plans(f, after: cursor, limit: limit)) { wire.plan($0, timeZone: timeZone) }
        }
    }

    func planProgress(_ call: Call) throws {
        let actor = call.actor
        try checkPlans(actor)
        let zone = timeZone
        let (owner, period) = try call.decode { r in (decodeOwner(&r, required: false), decodePeriod(&r, required: false)) }
        try read(call) { [self] tx, now in
            let period = period ?? Period.containing(now, kind: .month, in: zone)
            let who = try resolve(tx, owner) ?? (actor.userID, nil)
            guard who.userID != nil || who.team != nil else {
                throw DomainError.invalid("user", "is required: you (\(actor.login)) have no plans of your own; name a user or team")
            }
            try checkSees(tx, actor, userID: who.userID, team: who.team)
            let (from, to) = period.interval(in: zone)
            let plan = try tx.plan(userID: who.userID, team: who.team, period: period.description)
            var o: JSONObject = [
                "period": .string(period.description), "plan_id": .int(plan?.id), "from": wire.time(from), "to": wire.time(to),
                "now": wire.time(now), "items": .array(try plan.map { try planItems(tx, $0) } ?? []),
            ]
            if let u = who.userID {
                o["user"] = .int(u)
                o["user_login"] = wire.login(u)
            } else {
                o["team"] = .string(who.team)
            }
            return .object(o)
        }
    }

    func reportPlan(_ call: Call) throws {
        let actor = call.actor
        try checkPlans(actor)
        let zone = timeZone
        let (span, owner) = try call.decode { r in
            (ReportSpan.decode(&r, timeZone: zone), decodeOwner(&r, required: false))
        }
        guard let span else { throw DomainError.invalid("period", "is required") }
        try read(call) { [self] tx, now in
            let who = try resolve(tx, owner)
            if let who { try checkSees(tx, actor, userID: who.userID, team: who.team) }
            var rows: [JSON] = []
            for p in try tx.plans(overlapping: span.from, span.to, limit: 10_000) {
                if let who, p.userID != who.userID || p.team != who.team { continue }
                // A manager's report shows their own row only.
                if Access.seesOnlyOwnClients(actor), p.userID == nil || p.userID != actor.userID { continue }
                guard case .object(var o) = wire.plan(p, timeZone: zone) else { continue }
                o["items"] = .array(try planItems(tx, p))
                rows.append(.object(o))
            }
            return [
                "from": wire.time(span.from), "to": wire.time(span.to), "period": .string(span.period?.description), "now": wire.time(now),
                "items": .array(rows),
            ]
        }
    }
}
