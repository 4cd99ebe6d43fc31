import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import Testing

/// What holds a client back from the exchange, on the real crmd with a manual clock: a freeze
/// asked for and decided (across the release instant), a head's lock, a deal won recently, and
/// the caps on each (docs/rules.md, "What holds a client").
@Suite("Freezes, locks and exemptions on a manual clock")
struct HoldTests: ManualClockSuite {
    /// A connection acting as `login`.
    func act(_ d: TestDaemon, _ login: String) throws -> Connection {
        let c = try d.connect()
        _ = try c.call("session.act_as", ["login": .string(login)])
        return c
    }

    func code(_ body: () throws -> JSON) -> Int? { rpcErrorCode(body) }

    @Test("a freeze across the release instant: asked, approved, the zone holds, the release moves by the frozen time")
    func freezeAcrossTheRelease() throws {
        let d = try daemon()
        defer { d.stop() }
        let root = try d.connect()
        _ = try seedTeam(root)
        let ivanov = try act(d, "ivanov")
        let sidorov = try act(d, "sidorov")
        let head = try act(d, "petrova")
        let id = try root.call("client.create", ["name": "Seasonal", "owner": "ivanov"])["id"]!
        // Released at 2026-07-12T09:00Z without a freeze; 11 days before it the owner asks.
        _ = try root.call("clock.set", ["to": "2026-07-01T09:00:00Z"])
        #expect(code { try sidorov.call("client.freeze", ["id": id, "until": "2026-08-01T09:00:00Z", "reason": "not mine"]) } == 1002)
        #expect(code { try ivanov.call("client.freeze", ["id": id, "until": "2026-10-02T09:00:00Z", "reason": "too long"]) } != nil)
        #expect(code { try ivanov.call("client.freeze", ["id": id, "until": "2026-06-01T09:00:00Z", "reason": "past"]) } != nil)
        #expect(code { try ivanov.call("client.freeze", ["id": id, "until": "2026-08-01T09:00:00Z"]) } == -32602)
        let asked = try ivanov.call("client.freeze", ["id": id, "until": "2026-08-01T09:00:00Z", "reason": "summer season"])
        #expect(asked["freeze"]?["status"] == "requested")
        #expect(asked["freeze"]?["until"] == "2026-08-01T09:00:00Z")
        #expect(asked["locked"] == false)
        // Asked twice: refused while one waits; only a head decides.
        #expect(code { try ivanov.call("client.freeze", ["id": id, "until": "2026-07-20T09:00:00Z", "reason": "again"]) } == 1003)
        #expect(code { try ivanov.call("client.freeze_decide", ["id": id, "approve": true]) } == 1002)
        // Not approved yet: the clock runs.
        #expect(try root.call("client.explain", ["id": id])["held_by"] == nil)
        _ = try root.call("clock.set", ["to": "2026-07-02T09:00:00Z"])
        let approved = try head.call("client.freeze_decide", ["id": id, "approve": true, "note": "ok for the season"])
        #expect(approved["freeze"]?["status"] == "approved")
        // Frozen from 07-02 to 08-01, 30 days: the release moves from 07-12 to 08-11.
        #expect(approved["release_at"] == "2026-08-11T09:00:00Z")
        let explained = try ivanov.call("client.explain", ["id": id])
        #expect(explained["held_by"]?["rule"] == "freeze")
        #expect(explained["held_by"]?["until"] == "2026-08-01T09:00:00Z")
        #expect(explained["explanation"]?.stringValue?.contains("summer season") == true)
        // Said in the reader's language, with the instants in the department's time zone (Moscow).
        _ = try root.call("user.update", ["login": "ivanov", "lang": "ru"])
        let inRussian = try ivanov.call("client.explain", ["id": id])
        #expect(inRussian["explanation"]?.stringValue?.hasPrefix("Заморожен до 01.08.2026 12:00 (summer season)") == true, "\(inRussian)")
        #expect(inRussian["explanation"]?.stringValue?.contains("11.08.2026 12:00") == true)
        #expect(inRussian["what_resets"]?.stringValue?.contains("в зелёную зону") == true)
        #expect(inRussian["held_by"] == explained["held_by"], "data never changes with the language")
        // A refusal with an instant in it is said in Russian too, the instant local; its data stays.
        let other = try root.call("client.create", ["name": "Другой", "owner": "ivanov"])["id"]!
        do {
            _ = try ivanov.call("client.freeze", ["id": other, "until": "2026-12-01T09:00:00Z", "reason": "далеко"])
            Issue.record("a freeze past exchange.freeze_max was accepted")
        } catch let e as RPCError {
            #expect(e.message.description.hasPrefix("Поле until: должно быть не дальше"), "\(e.message)")
            #expect(e.message.description.contains("02.10.2026 12:00"), "\(e.message)")
        }
        _ = try root.call("user.update", ["login": "ivanov", "lang": "en"])
        // Past the release instant it would have had: still assigned, no reminders meanwhile.
        _ = try root.call("clock.set", ["to": "2026-07-20T09:00:00Z"])
        #expect(try root.call("client.get", ["id": id])["status"] == "assigned")
        let alerts = try ivanov.call("alert.list")["items"]?.arrayValue ?? []
        #expect(alerts.allSatisfy { ($0["due_at"]?.stringValue ?? "") < "2026-07-02" }, "reminders pause while frozen: \(alerts)")
        // The freeze over, the clock runs again: 10 days before the moved release, still held.
        _ = try root.call("clock.set", ["to": "2026-08-10T09:00:00Z"])
        let after = try root.call("client.get", ["id": id])
        #expect(after["status"] == "assigned")
        #expect(after["freeze"]?["status"] == "ended")
        #expect(try root.call("client.explain", ["id": id])["held_by"] == nil)
        _ = try root.call("clock.set", ["to": "2026-08-11T09:00:00Z"])
        #expect(try root.call("client.get", ["id": id])["status"] == "exchange")
        // Every step evented.
        _ = try root.call("subscribe", ["since": 0, "topics": ["client.freeze_requested", "client.frozen", "client.released"]])
        let evs = try events(root, 3)
        #expect(evs.map { $0["topic"]?.stringValue ?? "" } == ["client.freeze_requested", "client.frozen", "client.released"])
        #expect(evs.last?["at"] == "2026-08-11T09:00:00Z")
    }

    @Test("exchange.preview, current and proposed, leaves out what the release step would hold: frozen time and a lock")
    func previewHonoursHolds() throws {
        let d = try daemon()
        defer { d.stop() }
        let root = try d.connect()
        _ = try seedTeam(root)
        let head = try act(d, "petrova")
        let ivanov = try act(d, "ivanov")
        // Three clients of one day: released at 2026-07-12T09:00Z unless something holds them.
        let frozen = try root.call("client.create", ["name": "Frozen", "owner": "ivanov"])["id"]!
        let locked = try root.call("client.create", ["name": "Locked", "owner": "ivanov"])["id"]!
        let plain = try root.call("client.create", ["name": "Plain", "owner": "ivanov"])["id"]!
        _ = try root.call("clock.set", ["to": "2026-07-02T09:00:00Z"])
        _ = try ivanov.call("client.freeze", ["id": frozen, "until": "2026-08-01T09:00:00Z", "reason": "season"])
        _ = try head.call("client.freeze_decide", ["id": frozen, "approve": true])
        _ = try head.call("client.lock", ["id": locked, "locked": true])
        func listed(_ r: JSON) -> [JSON] {
            (r["managers"]?.arrayValue ?? []).flatMap { $0["clients"]?.arrayValue ?? [] }.map { $0["client_id"]! }
        }
        // The next 15 days: only the plain client goes; the locked one is held at its release.
        let current = try head.call("exchange.preview", ["days": 15])
        #expect(listed(current) == [plain], "\(current)")
        #expect(current["total"] == 1)
        #expect(current["held"] == 1)
        // Proposed: released after P6M3D, on 07-15. The plain client goes; the frozen one, replayed
        // with its 30 frozen days, goes on 08-14, outside the window; the lock still holds.
        let later = try head.call("exchange.preview", ["days": 15, "thresholds": ["release_after": "P6M3D"]])
        #expect(listed(later) == [plain], "\(later)")
        #expect(later["total"] == 1)
        #expect(later["held"] == 1)
        // Proposed: after P6M10D, 07-22: nothing in the next 15 days.
        #expect(try head.call("exchange.preview", ["days": 15, "thresholds": ["release_after": "P6M10D"]])["total"] == 0)
        // Proposed: after P5M, 06-12, already past: the plain client would go now; the frozen one
        // is held by its running freeze, the locked one by its lock.
        let sooner = try head.call("exchange.preview", ["days": 15, "thresholds": ["red_after": "P4M", "release_after": "P5M"]])
        #expect(listed(sooner) == [plain], "\(sooner)")
        #expect(sooner["held"] == 2)
    }

    @Test("a contact during a freeze starts a new cycle that stands still until the freeze ends")
    func contactDuringAFreeze() throws {
        let d = try daemon()
        defer { d.stop() }
        let root = try d.connect()
        _ = try seedTeam(root)
        let id = try root.call("client.create", ["name": "Busy", "owner": "ivanov"])["id"]!
        _ = try root.call("clock.set", ["to": "2026-07-01T09:00:00Z"])
        _ = try act(d, "ivanov").call("client.freeze", ["id": id, "until": "2026-08-01T09:00:00Z", "reason": "project"])
        _ = try act(d, "petrova").call("client.freeze_decide", ["id": id, "approve": true])
        _ = try root.call("clock.set", ["to": "2026-07-10T09:00:00Z"])
        _ = try act(d, "ivanov").call("interaction.log", ["client_id": id, "kind": "call", "result": "talked"])
        // R = 07-10; P6M later is 2027-01-10, plus the 22 frozen days from 07-10 to 08-01.
        #expect(try root.call("client.get", ["id": id])["release_at"] == "2027-02-01T09:00:00Z")
    }

    @Test("refused freezes and the cap on frozen clients per manager")
    func refusedAndCapped() throws {
        let d = try daemon(["CRMD_EXCHANGE_MAX_FROZEN_PER_MANAGER": "1"])
        defer { d.stop() }
        let root = try d.connect()
        _ = try seedTeam(root)
        let ivanov = try act(d, "ivanov")
        let a = try root.call("client.create", ["name": "A", "owner": "ivanov"])["id"]!
        let b = try root.call("client.create", ["name": "B", "owner": "ivanov"])["id"]!
        _ = try ivanov.call("client.freeze", ["id": a, "until": "2026-02-12T09:00:00Z", "reason": "holidays"])
        #expect(code { try ivanov.call("client.freeze", ["id": b, "until": "2026-02-12T09:00:00Z", "reason": "holidays"]) } == 1007)
        let refused = try act(d, "petrova").call("client.freeze_decide", ["id": a, "approve": false, "note": "call them"])
        #expect(refused["freeze"]?["status"] == "refused")
        #expect(refused["release_at"] == "2026-07-12T09:00:00Z")
        #expect(code { try act(d, "petrova").call("client.freeze_decide", ["id": a, "approve": true]) } == 1003)
        // The refused one no longer counts.
        #expect(
            try ivanov.call("client.freeze", ["id": b, "until": "2026-02-12T09:00:00Z", "reason": "holidays"])["freeze"]?["status"]
                == "requested")
        _ = try root.call("subscribe", ["since": 0, "topics": ["client.freeze_refused"]])
        #expect(try events(root, 1).first?["data"]?["note"] == "call them")
    }

    @Test("a locked key account is never released, wins over a freeze, is capped per manager, and goes once unlocked")
    func locks() throws {
        let d = try daemon(["CRMD_EXCHANGE_MAX_LOCKED_PER_MANAGER": "1"])
        defer { d.stop() }
        let root = try d.connect()
        _ = try seedTeam(root)
        let head = try act(d, "petrova")
        let a = try root.call("client.create", ["name": "Key", "owner": "ivanov"])["id"]!
        let b = try root.call("client.create", ["name": "Other", "owner": "ivanov"])["id"]!
        #expect(code { try act(d, "ivanov").call("client.lock", ["id": a, "locked": true]) } == 1002)
        #expect(try head.call("client.lock", ["id": a, "locked": true])["locked"] == true)
        #expect(code { try head.call("client.lock", ["id": b, "locked": true]) } == 1007)
        _ = try act(d, "ivanov").call("client.freeze", ["id": a, "until": "2026-03-01T09:00:00Z", "reason": "both"])
        _ = try head.call("client.freeze_decide", ["id": a, "approve": true])
        #expect(try root.call("client.explain", ["id": a])["held_by"]?["rule"] == "lock")
        _ = try root.call("clock.set", ["to": "2026-09-01T09:00:00Z"])
        #expect(try root.call("client.get", ["id": a])["status"] == "assigned")
        #expect(try root.call("client.get", ["id": b])["status"] == "exchange")
        let explained = try root.call("client.explain", ["id": a])
        #expect(explained["held_by"]?["rule"] == "lock")
        #expect(explained["held_by"]?["by"] == "petrova")
        #expect(try head.call("client.lock", ["id": a, "locked": false])["locked"] == false)
        _ = try root.call("clock.advance", ["by": "PT1S"])
        #expect(try root.call("client.get", ["id": a])["status"] == "exchange")
        _ = try root.call("subscribe", ["since": 0, "topics": ["client.locked"]])
        #expect(try events(root, 2).map { $0["data"]?["locked"] } == [true, false])
    }

    @Test("a deal won within exchange.exempt_won_within holds the client until that period ends")
    func wonDeal() throws {
        // A deal's close is a contact: the release must be shorter than the exemption to show it.
        let d = try daemon([
            "CRMD_EXCHANGE_EXEMPT_WON_WITHIN": "P90D", "CRMD_ZONES_YELLOW_AFTER": "P15D", "CRMD_ZONES_RED_AFTER": "P1M",
            "CRMD_ZONES_RELEASE_AFTER": "P2M",
        ])
        defer { d.stop() }
        let root = try d.connect()
        _ = try seedTeam(root)
        let id = try root.call("client.create", ["name": "Buyer", "owner": "ivanov"])["id"]!
        let deal = try root.call("deal.create", ["client_id": id, "title": "Order"])["id"]!
        _ = try root.call("clock.set", ["to": "2026-02-01T09:00:00Z"])
        _ = try root.call("deal.close", ["id": deal, "outcome": "won", "amount": 100_000])
        #expect(try root.call("client.get", ["id": id])["release_at"] == "2026-04-01T09:00:00Z")
        _ = try root.call("clock.set", ["to": "2026-04-15T09:00:00Z"])
        #expect(try root.call("client.get", ["id": id])["status"] == "assigned")
        let explained = try root.call("client.explain", ["id": id])
        #expect(explained["held_by"]?["rule"] == "won_deal")
        #expect(explained["held_by"]?["deal_id"] == deal)
        #expect(explained["held_by"]?["until"] == "2026-05-02T09:00:00Z")
        _ = try root.call("clock.set", ["to": "2026-05-02T08:59:59Z"])
        #expect(try root.call("client.get", ["id": id])["status"] == "assigned")
        _ = try root.call("clock.set", ["to": "2026-05-02T09:00:00Z"])
        let released = try root.call("client.get", ["id": id])
        #expect(released["status"] == "exchange")
        #expect(released["released_at"] == "2026-05-02T09:00:00Z")
    }

    static let calendarDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("config/calendar")

    @Test("a reminder due on 31 December 2026 waits for the first working day of 2027, 11 January, with the holiday calendar")
    func newYearReminder() throws {
        let files = ["ru-2026.txt", "ru-2027.txt"].map { Self.calendarDir.appendingPathComponent($0).path }.joined(separator: ",")
        let d = try daemon(["CRMD_CALENDAR_FILES": files, "CRMD_ZONES_YELLOW_AFTER": "P30D"], start: "2026-12-01T09:00:00Z")
        defer { d.stop() }
        let root = try d.connect()
        _ = try seedTeam(root)
        let ivanov = try act(d, "ivanov")
        // Yellow at 2026-12-31T09:00Z (12:00 in Moscow, a Thursday inside working hours, but a
        // day off by the calendar).
        let id = try root.call("client.create", ["name": "Holiday", "owner": "ivanov"])["id"]!
        func yellowReminders() throws -> [JSON] {
            (try ivanov.call("alert.list")["items"]?.arrayValue ?? []).filter { $0["client_id"] == id && $0["kind"] == "zone_yellow" }
        }
        _ = try root.call("clock.set", ["to": "2026-12-31T10:00:00Z"])
        #expect(try root.call("client.get", ["id": id])["zone"] == "yellow")
        #expect(try yellowReminders().isEmpty, "not delivered on a day off")
        _ = try root.call("clock.set", ["to": "2027-01-10T12:00:00Z"])
        #expect(try yellowReminders().isEmpty, "nor on the last Sunday of the holidays")
        _ = try root.call("clock.set", ["to": "2027-01-11T06:00:00Z"])
        let delivered = try yellowReminders()
        #expect(delivered.count == 1)
        #expect(delivered.first?["due_at"] == "2026-12-31T09:00:00Z")
        #expect(delivered.first?["delivered_at"] == "2027-01-11T06:00:00Z")
    }

    @Test("a calendar file with a bad line stops crmd, naming the file and the line")
    func badCalendarFile() throws {
        let dir = try temporaryFolder("crmd-calendar")
        let file = dir.appendingPathComponent("bad.txt")
        try "2026-01-01 off\n2026-02-30 off\n".write(to: file, atomically: true, encoding: .utf8)
        let d = try TestDaemon(environment: ["CRMD_CALENDAR_FILES": file.path])
        let r = try d.runToExit(arguments: [])
        #expect(r.status != 0)
        #expect(r.stderr.contains("calendar.files") && r.stderr.contains("line 2"), "\(r.stderr)")
    }

    @Test("thresholds by segment: the segment's rule wins over the default; exchange.preview replays a proposed change without saving it")
    func thresholdsBySegment() throws {
        let d = try TestDaemon(arguments: ["--clock", "manual", "--clock-start", ExchangeTests.start])
        let config = try DealTest.writeConfig(
            d,
            """
            zones:
              by_segment:
                Wholesale: {yellow_after: P10D, red_after: P20D, release_after: P1M}
              by_class:
                C: {release_after: P12M}
            """)
        d.arguments += ["--config", config]
        try d.start()
        defer { d.stop() }
        let root = try d.connect()
        _ = try seedTeam(root)
        let wholesale = try root.call("client.create", ["name": "W", "owner": "ivanov", "segment": "wholesale"])
        let retail = try root.call("client.create", ["name": "R", "owner": "ivanov", "segment": "retail"])
        let plain = try root.call("client.create", ["name": "P", "owner": "sidorov"])
        #expect(wholesale["release_at"] == "2026-02-12T09:00:00Z")
        #expect(retail["release_at"] == "2026-07-12T09:00:00Z")
        #expect(plain["release_at"] == "2026-07-12T09:00:00Z")
        let explained = try root.call("client.explain", ["id": wholesale["id"]!])
        #expect(explained["thresholds"]?["from"]?["rule"] == "segment")
        #expect(explained["thresholds"]?["release_after"] == "P1M")
        #expect(try root.call("client.explain", ["id": retail["id"]!])["thresholds"]?["from"]?["rule"] == "default")
        // What a change would release in the next 32 days, per manager, before it is saved.
        let current = try root.call("exchange.preview", ["days": 32])
        #expect(current["total"] == 1)
        let proposed = try root.call(
            "exchange.preview",
            ["days": 32, "by_segment": ["Retail": ["yellow_after": "P5D", "red_after": "P10D", "release_after": "P20D"]]])
        #expect(proposed["thresholds"] == "proposed")
        #expect(proposed["total"] == 1, "the proposed rules replace the saved ones: wholesale falls back to P6M")
        let both = try root.call(
            "exchange.preview",
            [
                "days": 32,
                "by_segment": [
                    "Retail": ["yellow_after": "P5D", "red_after": "P10D", "release_after": "P20D"],
                    "wholesale": ["yellow_after": "P10D", "red_after": "P20D", "release_after": "P1M"],
                ],
            ])
        #expect(both["total"] == 2, "\(both)")
        #expect(both["managers"]?.arrayValue?.first { $0["owner_login"] == "ivanov" }?["count"] == 2)
        #expect(code { try root.call("exchange.preview", ["by_class": ["D": ["release_after": "P1M"]]]) } == -32602)
        #expect(code { try root.call("exchange.preview", ["by_segment": ["x": ["release_after": "P1D"]]]) } == -32602)
        // Nothing was saved.
        #expect(try root.call("client.get", ["id": retail["id"]!])["release_at"] == "2026-07-12T09:00:00Z")
    }

    @Test("with calendar.move_releases, a release due on 1 January 2027 moves to the first working day, 11 January")
    func newYearRelease() throws {
        let files = ["ru-2026.txt", "ru-2027.txt"].map { Self.calendarDir.appendingPathComponent($0).path }.joined(separator: ",")
        let d = try daemon(["CRMD_CALENDAR_FILES": files, "CRMD_CALENDAR_MOVE_RELEASES": "true"], start: "2026-07-01T09:00:00Z")
        defer { d.stop() }
        let root = try d.connect()
        _ = try seedTeam(root)
        let id = try root.call("client.create", ["name": "Over the holidays", "owner": "ivanov"])["id"]!
        // P6M from 2026-07-01T09:00Z is 2027-01-01T09:00Z, a holiday: moved to 09:00 in Moscow on 11 January.
        #expect(try root.call("client.get", ["id": id])["release_at"] == "2027-01-11T06:00:00Z")
        _ = try root.call("clock.set", ["to": "2027-01-10T20:00:00Z"])
        #expect(try root.call("client.get", ["id": id])["status"] == "assigned")
        _ = try root.call("clock.set", ["to": "2027-01-11T06:00:00Z"])
        let released = try root.call("client.get", ["id": id])
        #expect(released["status"] == "exchange")
        #expect(released["released_at"] == "2027-01-11T06:00:00Z")
    }

    @Test("crmctl client freeze, freeze-decide, lock and unlock, as the owner and a head")
    func throughCrmctl() throws {
        let d = try daemon(start: "2026-07-01T09:00:00Z")
        defer { d.stop() }
        let root = try d.connect()
        _ = try seedTeam(root)
        let id = try root.call("client.create", ["name": "Romashka", "owner": "ivanov"])["id"]!.intValue!
        func crmctl(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
            let r = try runProcess(
                TestDaemon.binaryPath(named: "crmctl"), ["client"] + args + ["--socket", d.socketPath], environment: ["NO_COLOR": "1"])
            return (r.status, r.out, r.err)
        }
        let asked = try crmctl(["freeze", "\(id)", "--until", "01.08.2026 12:00", "--reason", "summer season", "--as", "ivanov"])
        #expect(asked.status == 0, "\(asked.err)")
        #expect(asked.out.contains("freeze requested until 01.08.2026 12:00 (summer season)"), "\(asked.out)")
        #expect(asked.out.contains("release at 01.01.2027 12:00"), "\(asked.out)")
        let both = try crmctl(["freeze-decide", "\(id)", "--approve", "--refuse", "--as", "petrova"])
        #expect(both.status != 0 && both.err.contains("exactly one of --approve and --refuse"), "\(both.err)")
        let approved = try crmctl(["freeze-decide", "\(id)", "--approve", "--note", "ok", "--as", "petrova", "--json"])
        #expect(approved.status == 0, "\(approved.err)")
        // Created now (07-01), due 2027-01-01; frozen from now to 08-01, 31 days: due 2027-02-01.
        #expect(try JSONParser.parse(approved.out)["release_at"] == "2027-02-01T09:00:00Z", "\(approved.out)")
        let refused = try crmctl(["lock", "\(id)", "--as", "ivanov"])
        #expect(refused.status != 0 && refused.err.contains("1002"), "\(refused.err)")
        let locked = try crmctl(["lock", "\(id)", "--as", "petrova"])
        #expect(locked.status == 0 && locked.out.contains(", locked,"), "\(locked.out) \(locked.err)")
        let unlocked = try crmctl(["unlock", "\(id)", "--as", "petrova"])
        #expect(unlocked.status == 0 && unlocked.out.contains("not locked"), "\(unlocked.out) \(unlocked.err)")
        #expect(try root.call("client.get", ["id": .int(id)])["locked"] == false)
    }

    @Test("with calendar.working_days, thresholds of days count working days across the New Year holidays")
    func workingDayThresholds() throws {
        let files = ["ru-2026.txt", "ru-2027.txt"].map { Self.calendarDir.appendingPathComponent($0).path }.joined(separator: ",")
        let d = try daemon(
            [
                "CRMD_CALENDAR_FILES": files, "CRMD_CALENDAR_WORKING_DAYS": "true", "CRMD_ZONES_YELLOW_AFTER": "P10D",
                "CRMD_ZONES_RED_AFTER": "P20D", "CRMD_ZONES_RELEASE_AFTER": "P30D",
            ], start: "2026-12-25T09:00:00Z")
        defer { d.stop() }
        let root = try d.connect()
        _ = try seedTeam(root)
        let id = try root.call("client.create", ["name": "Counted", "owner": "ivanov"])["id"]!
        // 28, 29, 30 December, then 11-15 and 18-19 January: 10 working days.
        #expect(try root.call("client.explain", ["id": id])["next_change"]?["at"] == "2027-01-19T09:00:00Z")
        // 20 working days: to 2 February; 30: to 16 February.
        #expect(try root.call("client.get", ["id": id])["release_at"] == "2027-02-16T09:00:00Z")
        _ = try root.call("clock.set", ["to": "2027-01-19T08:59:59Z"])
        #expect(try root.call("client.get", ["id": id])["zone"] == "green")
        _ = try root.call("clock.set", ["to": "2027-01-19T09:00:00Z"])
        #expect(try root.call("client.get", ["id": id])["zone"] == "yellow")
    }
}
