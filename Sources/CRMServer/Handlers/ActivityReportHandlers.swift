import CRMCore
import CRMProtocol
import CRMStore
import Foundation

/// `report.activity`: per manager (or team) the calls, meetings, emails, messages and notes they
/// logged in a span, and their cold calls (docs/rules.md, "Activity and cold calls"). Counted from
/// the interactions, claims and clients when asked; nothing is kept as a counter.
struct ActivityReportHandlers: HandlerGroup {
    let context: ServerContext

    func json(_ c: ActivityCounts) -> JSONObject {
        [
            "calls": .int(Int64(c.calls)), "meetings": .int(Int64(c.meetings)), "emails": .int(Int64(c.emails)),
            "messages": .int(Int64(c.messages)), "notes": .int(Int64(c.notes)), "cold_calls": .int(Int64(c.coldCalls)),
            "total": .int(Int64(c.total)),
        ]
    }

    func reportActivity(_ call: Call) throws {
        let actor = call.actor
        guard PlanAccess.canSee(actor) else {
            throw DomainError.forbidden("Reports are for managers, heads, directors and admins.")
        }
        let zone = rules.thresholds.timeZone
        let window = TimeInterval(context.live.current.settings.coldCallWindowSeconds)
        let (span, by) = try call.decode { r in
            (ReportSpan.decode(&r, timeZone: zone), r.optionalEnum("by", ["manager", "team"]) ?? "manager")
        }
        guard let span else { throw DomainError.invalid("period", "is required") }
        try read(call) { [self] tx, now in
            let own = Access.seesOnlyOwnClients(actor)
            var perUser: [(User, ActivityCounts)] = []
            for u in try tx.allUsers() {
                if own && u.id != actor.userID && by == "manager" { continue }
                var c = try tx.activity(userID: u.id, from: span.from, to: span.to)
                if c.calls > 0 { c.coldCalls = try tx.coldCalls(userID: u.id, from: span.from, to: span.to, window: window) }
                // Everyone who logged something, and every active manager and head (a zero row says something too).
                if c.total > 0 || (u.active && Access.canLeadClients(u)) { perUser.append((u, c)) }
            }
            var items: [JSON] = []
            var totals = ActivityCounts()
            if by == "team" {
                let teams = try tx.teams()
                let myTeam = try actor.userID.flatMap { try tx.team(ofUser: $0) }
                for name in teams.keys.sorted() {
                    if own && name != myTeam { continue }
                    let members = Set(teams[name] ?? [])
                    var c = ActivityCounts()
                    for (u, uc) in perUser where members.contains(u.id) { c += uc }
                    var o = json(c)
                    o["team"] = .string(name)
                    o["members"] = .int(Int64(members.count))
                    items.append(.object(o))
                    totals += c
                }
            } else {
                for (u, c) in perUser {
                    var o = json(c)
                    o["user"] = .int(u.id)
                    o["login"] = .string(u.login)
                    o["name"] = .string(u.name)
                    items.append(.object(o))
                    totals += c
                }
            }
            return [
                "from": wire.time(span.from), "to": wire.time(span.to), "period": .string(span.period?.description), "now": wire.time(now),
                "by": .string(by), "cold_call_window_seconds": .int(Int64(window)), "items": .array(items), "totals": .object(json(totals)),
            ]
        }
    }
}
