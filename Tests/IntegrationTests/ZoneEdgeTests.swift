import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import Testing

/// Zone and reminder edge cases on a manual clock (issue 14 §4): backdated interactions, gaps,
/// reminders near a weekend release, catch-up at night, and what a release says it left.
@Suite("Zone and reminder edge cases")
struct ZoneEdgeTests {
    static let start = "2026-01-12T09:00:00Z"  // a Monday, 12:00 in Moscow; release on Sunday 12 July

    func daemon(start: String = ZoneEdgeTests.start) throws -> TestDaemon {
        let d = try TestDaemon(arguments: ["--clock", "manual", "--clock-start", start])
        try d.start()
        return d
    }

    /// Every event of `topics` in the log so far, as an admin sees them: replayed from seq 0 up
    /// to a new unassigned client created as a barrier (the stream is in seq order; no sleep).
    func allEvents(_ d: TestDaemon, _ topics: [String]) throws -> [JSON] {
        let c = try d.connect()
        _ = try c.call("subscribe", ["since": 0])
        let barrier = try d.connect().call("client.create", ["name": .string("Barrier \(UUID().uuidString)")])["id"]!
        var out: [JSON] = []
        while let line = try c.readJSON() {
            guard line["method"] == "event", let ev = line["params"] else { continue }
            if ev["topic"] == "client.created", ev["data"]?["client_id"] == barrier { break }
            if let topic = ev["topic"]?.stringValue, topics.contains(topic) { out.append(ev) }
        }
        return out
    }

    func alerts(_ d: TestDaemon, of login: String) throws -> [JSON] {
        let c = try d.connect()
        _ = try c.call("session.act_as", ["login": .string(login)])
        return try c.call("alert.list")["items"]?.arrayValue ?? []
    }

    @Test("a call dated before the cycle began moves nothing: resets_clock false, no zone event, no second reminder")
    func backdatedBeforeTheCycle() throws {
        let d = try daemon()
        defer { d.stop() }
        let admin = try d.connect()
        try seedTeam(admin)
        let id = try admin.call("client.create", ["name": "Old Call Ltd", "owner": "ivanov"])["id"]!
        _ = try admin.call("clock.advance", ["by": "P1M1D"])  // yellow since 12 February
        let ivanov = try d.connect()
        _ = try ivanov.call("session.act_as", ["login": "ivanov"])
        let logged = try ivanov.call(
            "interaction.log",
            ["client_id": id, "kind": "call", "result": "found an old note", "occurred_at": "2026-01-05T09:00:00Z"])
        #expect(logged["interaction"]?["resets_clock"] == false)
        #expect(logged["client"]?["zone"] == "yellow")
        #expect(logged["client"]?["release_at"] == "2026-07-12T09:00:00Z")
        _ = try admin.call("clock.advance", ["by": "P1D"])
        let zones = try allEvents(d, ["zone.changed"])
        #expect(zones.map { "\($0["data"]?["from"]?.stringValue ?? "")→\($0["data"]?["to"]?.stringValue ?? "")" } == ["green→yellow"])
        #expect(zones.map { $0["at"]?.stringValue ?? "" } == ["2026-02-12T09:00:00Z"])
        #expect(try alerts(d, of: "ivanov").filter { $0["kind"] == "zone_yellow" }.count == 1)
    }

    @Test("a backdated call that leaves a red client yellow is one event red → yellow, stamped now")
    func redToYellowInOneStep() throws {
        let d = try daemon()
        defer { d.stop() }
        let admin = try d.connect()
        try seedTeam(admin)
        let id = try admin.call("client.create", ["name": "Late Notes Ltd", "owner": "ivanov"])["id"]!
        _ = try admin.call("clock.set", ["to": "2026-06-15T09:00:00Z"])  // red since 12 June
        let before = try allEvents(d, ["zone.changed"]).count
        let alertsBefore = try alerts(d, of: "ivanov").count
        let ivanov = try d.connect()
        _ = try ivanov.call("session.act_as", ["login": "ivanov"])
        let logged = try ivanov.call(
            "interaction.log", ["client_id": id, "kind": "call", "result": "we did talk", "occurred_at": "2026-03-01T09:00:00Z"])
        #expect(logged["interaction"]?["resets_clock"] == true)
        #expect(logged["client"]?["zone"] == "yellow")
        #expect(logged["client"]?["release_at"] == "2026-09-01T09:00:00Z")
        _ = try admin.call("clock.advance", ["by": "PT1H"])
        let after = Array(try allEvents(d, ["zone.changed"]).dropFirst(before))
        #expect(after.map { "\($0["data"]?["from"]?.stringValue ?? "")→\($0["data"]?["to"]?.stringValue ?? "")" } == ["red→yellow"])
        #expect(after.map { $0["at"]?.stringValue ?? "" } == ["2026-06-15T09:00:00Z"])
        #expect(try alerts(d, of: "ivanov").count == alertsBefore)
        #expect(try admin.call("client.get", ["id": id])["zone"] == "yellow")
    }

    @Test("after a gap the owner gets one reminder, the newest, in words true at delivery")
    func gapGivesOneTrueReminder() throws {
        let d = try daemon()
        defer { d.stop() }
        let admin = try d.connect()
        try seedTeam(admin)
        let id = try admin.call("client.create", ["name": "Gap Ltd", "owner": "ivanov"])["id"]!
        _ = try admin.call("clock.set", ["to": "2026-07-10T09:00:00Z"])  // Friday; release on Sunday 12 July
        let got = try alerts(d, of: "ivanov")
        #expect(got.count == 1, "one reminder, not \(got.map { $0["message"]?.stringValue ?? "" })")
        let a = try #require(got.first)
        #expect(a["client_id"] == id)
        #expect(a["kind"] == "days_to_release")
        #expect(a["zone"] == "red")
        #expect(a["due_at"] == "2026-07-09T09:00:00Z")  // the 3-day mark
        #expect(a["days_left"] == 2)
        #expect(a["message"]?.stringValue?.contains("is red: 2 days until it goes to the exchange") == true)
        // The head's red copy is the same single reminder.
        #expect(try alerts(d, of: "petrova").map { $0["kind"]?.stringValue ?? "" } == ["red_copy"])
    }

    @Test("a last mark on Saturday before a Sunday release is delivered at once, not held past the release")
    func lastMarkBeforeAWeekendRelease() throws {
        let d = try daemon()
        defer { d.stop() }
        let admin = try d.connect()
        try seedTeam(admin)
        let id = try admin.call("client.create", ["name": "Weekend Exit Ltd", "owner": "ivanov"])["id"]!
        _ = try admin.call("clock.set", ["to": "2026-07-09T10:00:00Z"])  // Thursday: the 3-day mark, in hours
        #expect(try alerts(d, of: "ivanov").filter { $0["kind"] == "days_to_release" }.map { $0["days_left"] } == [3])
        _ = try admin.call("clock.set", ["to": "2026-07-11T10:00:00Z"])  // Saturday 13:00 Moscow
        let got = try alerts(d, of: "ivanov")
        let last = try #require(got.first { $0["due_at"] == "2026-07-11T09:00:00Z" }, "the 1-day mark: \(got)")
        #expect(last["client_id"] == id)
        #expect(last["days_left"] == 1)
        #expect(last["delivered_at"] == "2026-07-11T10:00:00Z")
        _ = try admin.call("clock.set", ["to": "2026-07-12T10:00:00Z"])
        #expect(try admin.call("client.get", ["id": id])["status"] == "exchange")
    }

    @Test("catch-up after downtime holds reminders to working hours, whether made in the catch-up or stored before")
    func catchUpAtNightWaitsForMorning() throws {
        let d = try daemon(start: "2026-01-12T20:00:00Z")  // Monday 23:00 Moscow
        let admin = try d.connect()
        try seedTeam(admin)
        let night = try admin.call("client.create", ["name": "Night Ltd", "owner": "ivanov"])["id"]!
        _ = try admin.call("clock.set", ["to": "2026-01-13T09:00:00Z"])
        let day = try admin.call("client.create", ["name": "Day Ltd", "owner": "ivanov"])["id"]!
        // Night Ltd turns yellow on Thursday 23:00 Moscow: stored for Friday 09:00.
        _ = try admin.call("clock.set", ["to": "2026-02-12T20:00:00Z"])
        #expect(try admin.call("server.status")["alerts"]?["next_delivery"] == "2026-02-13T06:00:00Z")
        d.stop()
        // Back on Sunday 01:00 Moscow: Day Ltd turned yellow on Friday at noon meanwhile.
        d.arguments = ["--clock", "manual", "--clock-start", "2026-02-14T22:00:00Z"]
        try d.start()
        defer { d.stop() }
        let c = try d.connect()
        #expect(try c.call("client.get", ["id": day])["zone"] == "yellow")
        #expect(try alerts(d, of: "ivanov").isEmpty)
        #expect(try c.call("server.status")["alerts"]?["next_delivery"] == "2026-02-16T06:00:00Z")
        _ = try c.call("clock.set", ["to": "2026-02-16T06:00:00Z"])  // Monday 09:00 Moscow
        let got = try alerts(d, of: "ivanov")
        #expect(Set(got.compactMap { $0["client_id"]?.intValue }) == Set([night, day].compactMap(\.intValue)))
        #expect(got.allSatisfy { $0["delivered_at"] == "2026-02-16T06:00:00Z" })
    }

    @Test("a release in a pass that crossed yellow and red too says it left red, in its event and its audit")
    func previousZoneIsTheLastOne() throws {
        let d = try daemon()
        defer { d.stop() }
        let admin = try d.connect()
        try seedTeam(admin)
        let id = try admin.call("client.create", ["name": "Long Silence Ltd", "owner": "ivanov"])["id"]!
        _ = try admin.call("clock.set", ["to": "2026-08-01T09:00:00Z"])
        let released = try #require(try allEvents(d, ["client.released"]).first)
        #expect(released["data"]?["previous_zone"] == "red")
        let history = try admin.call("client.history", ["id": id])["items"]?.arrayValue ?? []
        let audit = try #require(history.last)
        #expect(audit["action"] == "release")
        #expect(audit["before"]?["zone"] == "red")
    }

    @Test("--demo applies a transition within moments of its instant, not up to a real minute (a demo-month) late")
    func demoIsOnTime() throws {
        let d = try TestDaemon(arguments: ["--demo"])
        try d.start()
        defer { d.stop() }
        // The demo's clients cross a threshold every few demo days (a demo day is 2 real seconds).
        let c = try d.connect(readTimeout: 30)
        _ = try c.call("subscribe", ["topics": ["zone.changed", "client.released"]])
        var line = try c.readJSON()
        while let l = line, l["method"] != "event" { line = try c.readJSON() }
        let at = try #require(line?["params"]?["at"]?.stringValue.flatMap(RFC3339.parse))
        let now = try #require(try d.connect().call("server.status")["now"]?.stringValue.flatMap(RFC3339.parse))
        // Two demo days are four real seconds: room for a loaded machine, far below a demo-month.
        #expect(now.timeIntervalSince(at) < 2 * 86_400, "applied \(now.timeIntervalSince(at) / 86_400) demo days late")
    }
}
