import CRMCore
import CRMProtocol
import CRMStore
import Foundation

/// `pipeline.list`, `pipeline.board` and `today`: the shape of the pipelines, the board of open
/// deals per stage (a head sees who lets deals rot), and a user's day in one list.
struct PipelineHandlers: HandlerGroup {
    let context: ServerContext

    func pipelineList(_ call: Call) throws {
        try call.decode { _ in () }
        let deals = settings.domain.deals
        call.reply(
            .success([
                "items": .array(
                    deals.pipelines.map { p in
                        ["name": .string(p.name), "allow_skip": .bool(p.allowSkip), "stages": .array(p.stages.map(wire.stage))]
                    }),
                "outcomes": ["won", "lost"], "lost_reasons": .array(deals.lostReasons.map(JSON.string)),
                "currency": .string(deals.currency), "exempt_from_stage": .string(deals.exemptFromStage),
                "overdue_head_grace": .string(deals.overdueHeadGrace?.description),
            ]))
    }

    func pipelineBoard(_ call: Call) throws {
        let actor = call.actor
        let deals = settings.domain.deals
        let (name, ownerRef) = try call.decode { r in (r.optionalString("pipeline"), userRef(&r, "owner")) }
        guard let pipeline = deals.pipeline(name) else {
            throw DomainError.invalid(
                "pipeline", "'\(name ?? "")' is not a pipeline (\(deals.pipelines.map(\.name).joined(separator: ", ")))")
        }
        try read(call) { tx, _ in
            var ownerID: Int64? = nil
            if case .some(.some(let ref)) = ownerRef { ownerID = try resolveUser(tx, ref, field: "owner", inactive: true).id }
            if !Access.canSeeDeal(actor, ownerID: nil) {
                if let asked = ownerID, asked != actor.userID { throw DomainError.forbidden("A manager sees only their own board.") }
                ownerID = actor.userID ?? -1
            }
            let tallies = try tx.dealTallies(ownerID: ownerID).filter { $0.pipeline == pipeline.name }
            let stages: [JSON] = pipeline.stages.map { s in
                let at = tallies.filter { $0.stage == s.name }
                // Sums in the department's currency; deals in others are summed apart, never mixed.
                let amount = at.filter { $0.currency == deals.currency }.reduce(Int64(0)) { $0.saturatingAdd($1.amount) }
                var others: [String: Int64] = [:]
                for t in at where t.currency != deals.currency { others[t.currency] = (others[t.currency] ?? 0).saturatingAdd(t.amount) }
                return [
                    "other_currencies": .array(
                        others.sorted { $0.key < $1.key }.map { ["currency": .string($0.key), "amount": .int($0.value)] }),
                    "name": .string(s.name), "probability": .int(s.probability), "cadence": .string(s.cadence?.description),
                    "count": .int(at.reduce(0) { $0 + $1.count }), "amount": .int(amount), "amount_text": wire.amountText(amount),
                    "weighted": .int(Self.weighted(amount, s.probability)),
                    "overdue": .int(at.reduce(0) { $0 + $1.overdue }),
                ]
            }
            // Per owner: who carries what, and who lets deals go past their cadence.
            var perOwner: [Int64: (count: Int, amount: Int64, overdue: Int)] = [:]
            for t in tallies {
                let k = t.ownerID ?? 0
                var v = perOwner[k] ?? (0, 0, 0)
                v.count += t.count
                if t.currency == deals.currency { v.amount = v.amount.saturatingAdd(t.amount) }
                v.overdue += t.overdue
                perOwner[k] = v
            }
            let owners: [JSON] = perOwner.sorted { ($0.value.overdue, $0.value.count, $1.key) > ($1.value.overdue, $1.value.count, $0.key) }
                .map {
                    [
                        "owner": $0.key == 0 ? .null : .int($0.key), "owner_login": wire.login($0.key == 0 ? nil : $0.key),
                        "count": .int($0.value.count), "amount": .int($0.value.amount), "amount_text": wire.amountText($0.value.amount),
                        "overdue": .int($0.value.overdue),
                    ]
                }
            return [
                "pipeline": .string(pipeline.name), "currency": .string(deals.currency), "stages": .array(stages), "owners": .array(owners),
            ]
        }
    }

    /// `amount` × `percent` / 100 without overflowing for any amount (the product first would
    /// trap past 9.2e16 at 100 %, and a manager decides how many deals there are).
    static func weighted(_ amount: Int64, _ percent: Int) -> Int64 {
        amount / 100 * Int64(percent) + amount % 100 * Int64(percent) / 100
    }

    func today(_ call: Call) throws {
        let actor = call.actor
        let userRefParam = try call.decode { r in userRef(&r, "user") }
        try read(call) { tx, now in
            var user = actor.user
            if case .some(.some(let ref)) = userRefParam {
                let u = try resolveUser(tx, ref, field: "user", inactive: true)
                if u.id != actor.userID && !Access.canSeeOthersDay(actor) {
                    throw DomainError.forbidden("\(actor.role.withArticle) sees only their own day; leave out user.")
                }
                user = u
            }
            guard let user else {
                throw DomainError.invalid("user", "is required: a built-in admin has no day of their own; name a user")
            }
            let calendar = Calendar.gregorian(in: settings.domain.zones.timeZone)
            let dayStart = calendar.startOfDay(for: now)
            // The next local midnight, a calendar day on (23 or 25 hours on a clock change).
            let tomorrow = calendar.date(byAdding: .day, value: 1, to: dayStart) ?? dayStart.addingTimeInterval(86_400)
            // Overdue and today's apart, so a long overdue list does not hide today's.
            // Due at this very instant counts as overdue (as a task's `overdue` says).
            let justAfter = now.addingTimeInterval(0.001)
            let overdueTasks = try tx.tasks(assigneeID: user.id, done: false, dueBefore: justAfter, cursor: nil, limit: 200).items
            let todayTasks = try tx.tasks(
                assigneeID: user.id, done: false, dueFrom: justAfter, dueBefore: tomorrow, cursor: nil, limit: 200
            ).items
            let deals = try tx.dealsNeedingContact(ownerID: user.id, before: tomorrow, limit: 200)
            // Clients within the last reminder mark (default 14 days) of release, or red.
            let horizon = ISODuration(days: 14).added(to: dayStart, in: calendar)
            let clients = try tx.clientsNearRelease(ownerID: user.id, before: max(horizon, tomorrow), limit: 200)
            return [
                "user": .string(user.login), "date": .string(engine.localDay(now)), "now": wire.time(now),
                "tasks_overdue": .array(overdueTasks.map { wire.task($0, now: now) }),
                "tasks_today": .array(todayTasks.map { wire.task($0, now: now) }),
                "deals_overdue": .array(deals.filter { $0.isOverdue(at: now) }.map { wire.deal($0, now: now) }),
                "deals_due_today": .array(deals.filter { !$0.isOverdue(at: now) }.map { wire.deal($0, now: now) }),
                "clients_near_release": .array(
                    clients.map { c in
                        let s = wire.schedule(c)
                        return [
                            "id": .int(c.id), "name": .string(c.name), "zone": .string(wire.zone(c, now: now)?.rawValue),
                            "release_at": wire.time(s?.releaseAt),
                            "days_to_release": s.map { .int(Int64(rules.daysToRelease(now: now, releaseAt: $0.releaseAt))) } ?? .null,
                        ]
                    }),
                "alerts_unacked": .int(try tx.unackedAlertCount(userID: user.id)),
            ]
        }
    }
}

extension Calendar {
    /// The Gregorian calendar in `zone`.
    static func gregorian(in zone: TimeZone) -> Calendar {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = zone
        return c
    }
}

extension Int64 {
    /// The sum, held at the largest value instead of trapping (the board adds up what managers
    /// typed).
    func saturatingAdd(_ other: Int64) -> Int64 {
        let (v, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : v
    }
}
