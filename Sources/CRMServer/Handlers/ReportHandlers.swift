import CRMCore
import CRMProtocol
import CRMStore
import Foundation

/// `report.zones`: zones per manager now, exchange activity and the daily series.
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
            let tally = try tx.zoneReportTally(now: now)
            for (owner, z) in tally.owners {
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
            let counts = tally.totals
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
