import CRMCore
import CRMProtocol
import CRMStore
import Foundation

struct AlertHandlers: HandlerGroup {
    let context: ServerContext

    func alertList(_ call: Call) throws {
        let (unacked, limit, cursor) = try call.decode { r in (r.optionalBool("unacked") ?? false, r.limit(), r.idCursor()) }
        guard let me = call.actor.user else {
            call.reply(.success(["items": .array([]), "next_cursor": .null]))
            return
        }
        try read(call) { tx, _ in
            wire.page(try tx.alerts(userID: me.id, unackedOnly: unacked, beforeID: cursor, limit: limit), AlertText.json)
        }
    }

    func alertAck(_ call: Call) throws {
        let ids = try call.decode { r -> [Int64] in
            guard let ids = r.optionalIntArray("ids") else {
                r.problem("ids", "is required (an array of alert ids)")
                return []
            }
            if ids.isEmpty || ids.count > 1000 { r.problem("ids", "must hold 1 to 1000 ids") }
            return ids
        }
        guard let me = call.actor.user else {
            call.reply(.success(["acked": 0]))
            return
        }
        let actor = call.actor
        write(call) { tx, now in
            let n = try tx.ackAlerts(userID: me.id, ids: ids, at: now)
            if n > 0 { try audit(tx, actor, "alert", nil, "ack", before: nil, after: ["ids": .array(ids.map(JSON.int))], at: now) }
            return ["acked": .int(Int64(n))]
        }
    }

}

struct ReportHandlers: HandlerGroup {
    let context: ServerContext

    func reportZones(_ call: Call) throws {
        // The daily series includes today's snapshot once the scheduler has recorded it.
        try context.daySnapshot.after(call, logger: logger) { [self] in try reportZonesNow(call) }
    }

    private func reportZonesNow(_ call: Call) throws {
        let actor = call.actor
        guard Access.canSeeZoneReports(actor) else {
            throw DomainError.forbidden("Reports are for managers, heads, directors and admins.")
        }
        let (from, to) = try call.decode { r in (r.optionalTimestamp("from"), r.optionalTimestamp("to")) }
        try read(call) { tx, now in
            let periodTo = to ?? now
            // 30 days before the end, but not before the first instant on the wire.
            let periodFrom = from ?? max(RFC3339.earliest, periodTo.addingTimeInterval(-30 * 86_400))
            var rows: [Int64: JSONObject] = [:]
            for z in try tx.zonesByOwner() {
                guard let owner = z.ownerID else { continue }
                rows[owner] = [
                    "owner": .int(owner), "owner_login": wire.login(owner), "green": .int(z.green), "yellow": .int(z.yellow),
                    "red": .int(z.red),
                    "claims": 0, "releases": 0, "manual_releases": 0,
                ]
            }
            for a in try tx.exchangeActivity(from: periodFrom, to: periodTo) {
                var row =
                    rows[a.userID] ?? [
                        "owner": .int(a.userID), "owner_login": wire.login(a.userID), "green": 0, "yellow": 0, "red": 0,
                    ]
                row["claims"] = .int(a.claims)
                row["releases"] = .int(a.releases)
                row["manual_releases"] = .int(a.manual)
                rows[a.userID] = row
            }
            var list = rows.keys.sorted().compactMap { rows[$0] }
            if Access.seesOnlyOwnClients(actor) { list = list.filter { $0["owner"] == .int(actor.userID ?? -1) } }
            var days: [String: [JSON]] = [:]
            for s in try tx.zoneSeries(fromDay: engine.localDay(periodFrom), toDay: engine.localDay(periodTo)) {
                if Access.seesOnlyOwnClients(actor), s.userID != actor.userID { continue }
                days[s.day, default: []].append([
                    "owner": .int(s.userID), "owner_login": wire.login(s.userID), "green": .int(s.green), "yellow": .int(s.yellow),
                    "red": .int(s.red), "exchange": .int(s.exchange),
                ])
            }
            let series = days.keys.sorted().map { day -> JSON in ["day": .string(day), "managers": .array(days[day] ?? [])] }
            let counts = try tx.zoneCounts(now: now)
            return [
                "now": wire.time(now), "from": wire.time(periodFrom), "to": wire.time(periodTo),
                "totals": [
                    "green": .int(counts.green), "yellow": .int(counts.yellow), "red": .int(counts.red), "exchange": .int(counts.exchange),
                    "unassigned": .int(counts.unassigned),
                ],
                "managers": .array(list.map(JSON.object)),
                "series": .array(series),
            ]
        }
    }

}

struct ClockHandlers: HandlerGroup {
    let context: ServerContext
    /// Runs the scheduler and the deliverer to completion after the clock moves.
    let runner: EngineRunner?

    func clockMove(_ call: Call) throws {
        guard let manual = clock as? ManualClock else { throw RPCError.methodNotFound(call.method.rawValue) }
        guard Access.canMoveClock(call.actor) else { throw DomainError.forbidden("Only an admin may move the test clock.") }
        let target = try call.decode { r -> Date in
            let now = manual.now()
            if call.method == .clockAdvance {
                let by = r.string("by")
                guard let d = ISODuration(by) else {
                    r.problem("by", "must be an ISO 8601 duration like P30D or PT1H")
                    return now
                }
                let target = rules.add(d, to: now)
                if target > ManualClock.latest {
                    r.problem("by", "would move the clock from \(RFC3339.format(now)) past \(ManualClock.latestExplained)")
                }
                return target
            }
            let known = r.problems.count
            guard let to = r.optionalTimestamp("to") else {
                // Missing; a `to` that is there but wrong has its own problem already.
                if r.problems.count == known { r.problem("to", "is required (an RFC 3339 timestamp)") }
                return now
            }
            if to < now { r.problem("to", "is before the clock's now (\(RFC3339.format(now))); the clock never goes back") }
            if to > ManualClock.latest { r.problem("to", "is after \(ManualClock.latestExplained)") }
            return to
        }
        manual.set(target)
        let run = runner
        let reply = call.reply
        Task {
            do {
                let applied = try await run?.run() ?? 0
                reply(.success(["now": .string(RFC3339.format(target)), "events": .int(Int64(applied))]))
            } catch {
                reply(.failure(rpcError(error, method: call.method)))
            }
        }
    }
}
