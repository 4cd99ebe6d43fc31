import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import Testing

/// The scheduler on a manual clock: the daily zone counts behind report.zones, the catch-up after
/// downtime, and a batch large enough to be planned on every core.
@Suite("The scheduler on a manual clock")
struct ExchangeSchedulerTests: ManualClockSuite {
    @Test("report.zones gives the counts now and a daily series per manager")
    func reportSeries() throws {
        let d = try daemon()
        defer { d.stop() }
        let c = try d.connect()
        try seedTeam(c)
        _ = try c.call("client.create", ["name": "A", "owner": "ivanov"])
        _ = try c.call("client.create", ["name": "B", "owner": "ivanov"])
        _ = try c.call("client.create", ["name": "C", "owner": "sidorov"])
        _ = try c.call("clock.advance", ["by": "P1D"])
        _ = try c.call("clock.set", ["to": "2026-02-13T09:00:00Z"])  // all yellow
        let r = try c.call("report.zones", ["from": "2026-01-12T00:00:00Z"])
        let ivanovNow = r["managers"]?.arrayValue?.first { $0["owner_login"] == "ivanov" }
        #expect(ivanovNow?["yellow"] == 2)
        let series = r["series"]?.arrayValue ?? []
        #expect(series.map { $0["day"]?.stringValue ?? "" } == ["2026-01-13", "2026-02-13"])
        let lastDay = series.last?["managers"]?.arrayValue?.first { $0["owner_login"] == "ivanov" }
        #expect(lastDay?["yellow"] == 2)
        #expect(lastDay?["green"] == 0)
        let firstDay = series.first?["managers"]?.arrayValue?.first { $0["owner_login"] == "sidorov" }
        #expect(firstDay?["green"] == 1)
    }

    @Test("after downtime, every missed transition is applied in order before serving, with one newest reminder")
    func catchUp() throws {
        let d = try TestDaemon(arguments: ["--clock", "manual", "--clock-start", ExchangeTests.start])
        try d.start()
        let c = try d.connect()
        try seedTeam(c)
        let id = try c.call("client.create", ["name": "Sleeper", "owner": "ivanov"])["id"]!
        d.stop()
        d.arguments = ["--clock", "manual", "--clock-start", "2026-07-01T09:00:00Z"]  // 11 days before release
        try d.start()
        defer { d.stop() }
        let c2 = try d.connect()
        let s = try c2.call("subscribe", ["since": 0, "topics": ["zone.changed"]])
        #expect(s["seq"]?.intValue ?? 0 >= 3)
        let evs = try events(c2, 2)
        #expect(evs.map { $0["data"]?["to"]?.stringValue ?? "" } == ["yellow", "red"])
        #expect(evs.map { $0["at"]?.stringValue ?? "" } == ["2026-02-12T09:00:00Z", "2026-06-12T09:00:00Z"])
        #expect(try c2.call("client.get", ["id": id])["zone"] == "red")
        _ = try c2.call("session.act_as", ["login": "ivanov"])
        let reminders = (try c2.call("alert.list")["items"]?.arrayValue ?? []).filter { $0["kind"] == "days_to_release" }
        #expect(reminders.count == 1, "one newest reminder, not a burst: \(reminders)")
        // The newest mark passed was 14 days before the release; delivered now, it counts 11.
        #expect(reminders.first?["due_at"] == "2026-06-28T09:00:00Z")
        #expect(reminders.first?["days_left"] == 11)

        // A year later: released during the catch-up (a batch written with foreign keys
        // unenforced), and every reference it wrote resolves.
        d.stop()
        d.arguments = ["--clock", "manual", "--clock-start", "2027-07-01T09:00:00Z"]
        try d.start()
        #expect(try d.connect().call("client.get", ["id": id])["status"] == "exchange")
        d.stop()
        let check = try runProcess(TestDaemon.binaryPath(), ["--check", "--database", d.databasePath])
        #expect(check.status == 0, "\(check.out) \(check.err)")
    }

    @Test("a batch large enough to be planned on every core: one event and one reminder per client, in order, each its own")
    func parallelPlannedBatch() throws {
        let d = try daemon()
        defer { d.stop() }
        let c = try d.connect()
        try seedTeam(c)
        // 1,200 clients turning yellow at one instant: planned in parts (256 or more clients a
        // part), stored in the batch's order.
        let n = 1_200
        let items: [JSON] = (0..<n).map { i in ["name": .string("Batch \(i)"), "owner": i % 2 == 0 ? "ivanov" : "sidorov"] }
        let ids = try c.call("client.import", ["clients": .array(items)])["ids"]?.arrayValue?.compactMap(\.intValue) ?? []
        #expect(ids.count == n)
        // Zone changes to an admin; each reminder only to its addressee (RULES: an alert event
        // reaches its addressee alone), so each manager subscribes for their own.
        let watcher = try d.connect()
        _ = try watcher.call("subscribe", ["topics": ["zone.changed"]])
        var managers: [Connection] = []
        for login in ["ivanov", "sidorov"] {
            let m = try d.connect()
            _ = try m.call("session.act_as", ["login": .string(login)])
            _ = try m.call("subscribe", ["topics": ["alert"]])
            managers.append(m)
        }
        _ = try c.call("clock.advance", ["by": "P1M"])
        let zones = try events(watcher, n)
        #expect(zones.map { $0["data"]?["client_id"]?.intValue ?? 0 } == ids)
        #expect(zones.allSatisfy { $0["topic"] == "zone.changed" && $0["data"]?["from"] == "green" && $0["data"]?["to"] == "yellow" })
        for (i, e) in zones.enumerated() {
            #expect(e["data"]?["name"] == .string("Batch \(i)"))
            #expect(e["data"]?["owner_login"] == (i % 2 == 0 ? "ivanov" : "sidorov"))
        }
        var seqs = zones.compactMap { $0["seq"]?.intValue }
        let zoneSeq = Dictionary(uniqueKeysWithValues: zones.map { ($0["data"]?["client_id"]?.intValue ?? 0, $0["seq"]?.intValue ?? 0) })
        // Each manager's reminders, one per client of theirs, in the batch's order, each after
        // the client's own zone change.
        for (k, m) in managers.enumerated() {
            let alerts = try events(m, n / 2)
            let mine = ids.enumerated().filter { $0.offset % 2 == k }.map(\.element)
            #expect(alerts.map { $0["data"]?["client_id"]?.intValue ?? 0 } == mine)
            #expect(alerts.allSatisfy { $0["topic"] == "alert" && $0["data"]?["kind"] == "zone_yellow" })
            for a in alerts {
                #expect((a["seq"]?.intValue ?? 0) > (zoneSeq[a["data"]?["client_id"]?.intValue ?? 0] ?? .max))
            }
            seqs += alerts.compactMap { $0["seq"]?.intValue }
        }
        #expect(seqs.count == 2 * n && Set(seqs).count == seqs.count)
    }
}
