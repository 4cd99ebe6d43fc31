import CRMClient
import CRMProtocol
import CRMSync
import CRMTestSupport
import Foundation
import Testing

/// Zones, the exchange, alerts and subscriptions on a manual clock: the whole story over the socket.
@Suite("Colored clients on a manual clock")
struct ExchangeTests {
    static let start = "2026-01-12T09:00:00Z"  // a Monday, 12:00 in Moscow: inside working hours

    func daemon(_ env: [String: String] = [:], start: String = ExchangeTests.start) throws -> TestDaemon {
        let d = try TestDaemon(environment: env, arguments: ["--clock", "manual", "--clock-start", start])
        try d.start()
        return d
    }

    /// Reads notifications until `count` events arrived (a barrier on the stream, not a sleep).
    func events(_ c: Connection, _ count: Int) throws -> [JSON] {
        var out: [JSON] = []
        while out.count < count, let line = try c.readJSON() {
            if line["method"] == "event" { out.append(line["params"]!) }
        }
        return out
    }

    @Test("the manager a client is taken from hears client.assigned; the next events go to the new owner only")
    func previousOwnerHearsTheAssignment() throws {
        let d = try daemon()
        defer { d.stop() }
        let admin = try d.connect()
        try seedTeam(admin)
        let id = try admin.call("client.create", ["name": "Moving LLC", "owner": "ivanov"])["id"]!
        let ivanov = try d.connect()
        _ = try ivanov.call("session.act_as", ["login": "ivanov"])
        _ = try ivanov.call("subscribe", ["topics": ["client.assigned", "zone.changed"]])
        let sidorov = try d.connect()
        _ = try sidorov.call("session.act_as", ["login": "sidorov"])
        _ = try sidorov.call("subscribe", ["topics": ["client.assigned", "zone.changed"]])
        _ = try admin.call("client.assign", ["id": id, "owner": "sidorov"])
        // A month later the client turns yellow: that is sidorov's business alone.
        _ = try admin.call("clock.advance", ["by": "P1M1D"])
        let toSidorov = try events(sidorov, 2)
        #expect(toSidorov.map { $0["topic"] } == ["client.assigned", "zone.changed"])
        let toIvanov = try events(ivanov, 1)
        #expect(toIvanov.first?["topic"] == "client.assigned")
        #expect(toIvanov.first?["data"]?["from_login"] == "ivanov")
        #expect(toIvanov.first?["data"]?["to_login"] == "sidorov")
        // Nothing more reaches ivanov: a ping's reply is the next line on his connection.
        try ivanov.send(["jsonrpc": "2.0", "id": 99, "method": "server.ping"])
        #expect(try ivanov.readJSON()?["id"] == 99)
    }

    @Test("green → yellow → red → released → claimed, with events and alerts at their instants")
    func wholeStory() throws {
        let d = try daemon()
        defer { d.stop() }
        let admin = try d.connect()
        try seedTeam(admin)
        let client = try admin.call("client.create", ["name": "Story Ltd", "owner": "ivanov"])
        let id = client["id"]!
        #expect(client["release_at"] == "2026-07-12T09:00:00Z")

        let watcher = try d.connect()
        let sub = try watcher.call("subscribe", ["topics": ["zone.changed", "client.released", "client.claimed"]])
        #expect(sub["subscription"] != nil)

        let a1 = try admin.call("clock.advance", ["by": "P1M"])
        #expect(a1["now"] == "2026-02-12T09:00:00Z")
        #expect(try admin.call("client.get", ["id": id])["zone"] == "yellow")
        _ = try admin.call("clock.advance", ["by": "P4M"])
        #expect(try admin.call("client.get", ["id": id])["zone"] == "red")
        _ = try admin.call("clock.advance", ["by": "P1M"])
        let released = try admin.call("client.get", ["id": id])
        #expect(released["status"] == "exchange")
        #expect(released["released_at"] == "2026-07-12T09:00:00Z")
        #expect(released["owner"] == .null)
        let history = try admin.call("client.history", ["id": id])["items"]?.arrayValue ?? []
        #expect(history.last?["action"] == "release")
        #expect(history.last?["actor_login"] == "crmd scheduler")
        #expect(history.last?["at"] == "2026-07-12T09:00:00Z")

        let seen = try events(watcher, 3)
        #expect(seen.map { $0["topic"]!.stringValue! } == ["zone.changed", "zone.changed", "client.released"])
        #expect(seen.map { $0["at"]!.stringValue! } == ["2026-02-12T09:00:00Z", "2026-06-12T09:00:00Z", "2026-07-12T09:00:00Z"])
        #expect(seen[0]["data"]?["from"] == "green")
        #expect(seen[0]["data"]?["to"] == "yellow")
        let seqs = seen.compactMap { $0["seq"]?.intValue }
        #expect(seqs == seqs.sorted())

        // The owner's alerts: entering yellow, then the newest days-to-release reminder.
        _ = try admin.call("session.act_as", ["login": "ivanov"])
        let alerts = try admin.call("alert.list")["items"]?.arrayValue ?? []
        let kinds = alerts.compactMap { $0["kind"]?.stringValue }
        #expect(kinds.contains("zone_yellow"))
        #expect(kinds.contains("days_to_release"))
        #expect(alerts.allSatisfy { $0["client_id"] == id })
        let ack = try admin.call("alert.ack", ["ids": .array(alerts.compactMap { $0["id"] })])
        #expect(ack["acked"] == .int(Int64(alerts.count)))
        #expect(try admin.call("alert.list", ["unacked": true])["items"]?.arrayValue?.isEmpty == true)

        // The manager it left may not claim it for six months.
        do {
            _ = try admin.call("exchange.claim", ["id": id])
            Issue.record("expected claim_banned")
        } catch let e as RPCError {
            #expect(e.code == 1004)
            #expect(e.data?["until"] == "2027-01-12T09:00:00Z")
        }
        _ = try admin.call("session.act_as", ["login": "sidorov"])
        let claimed = try admin.call("exchange.claim", ["id": id])
        #expect(claimed["owner_login"] == "sidorov")
        #expect(claimed["zone"] == "green")
        #expect(claimed["handover"]?["released_from_login"] == "ivanov")
        let claimEvent = try events(watcher, 1)
        #expect(claimEvent.first?["topic"] == "client.claimed")
        // A head's assignment bypasses the cooldown.
        _ = try admin.call("session.act_as", ["login": "petrova"])
        #expect(try admin.call("client.assign", ["id": id, "owner": "ivanov"])["owner_login"] == "ivanov")
    }

    @Test("the cooldown holds for the company, not the card: a new card or a rename to its name is refused with 1004")
    func cooldownCannotBeDodgedWithANewCard() throws {
        let d = try daemon()
        defer { d.stop() }
        let admin = try d.connect()
        try seedTeam(admin)
        let lost = try admin.call("client.create", ["name": "ООО «Ромашка»", "owner": "ivanov"])["id"]!
        _ = try admin.call("session.act_as", ["login": "ivanov"])
        _ = try admin.call("client.release", ["id": lost, "reason": "no answer"])
        // The same company under any spelling, with no phone or e-mail to give it away.
        for name in ["ООО «Ромашка»", "Ромашка", "ооо \"ромашка\"", "Ромашка, ООО", "OOO Ромашка"] {
            do {
                _ = try admin.call("client.create", ["name": .string(name)])
                Issue.record("'\(name)': expected claim_banned")
            } catch let e as RPCError {
                #expect(e.code == 1004, "'\(name)': \(e)")
                #expect(e.data?["client_id"] == lost)
                #expect(e.data?["until"] == "2026-07-12T09:00:00Z")
                #expect(e.message.contains("Ромашка"))
            }
        }
        // Another company is fine; renaming it into the lost one is not.
        let other = try admin.call("client.create", ["name": "Ромашка Плюс"])["id"]!
        do {
            _ = try admin.call("client.update", ["id": other, "name": "ООО Ромашка"])
            Issue.record("rename: expected claim_banned")
        } catch let e as RPCError {
            #expect(e.code == 1004)
        }
        // Another manager may create it (it is a duplicate for the team to sort out, not a dodge),
        // and after the cooldown so may ivanov.
        _ = try admin.call("session.act_as", ["login": "sidorov"])
        _ = try admin.call("client.create", ["name": "Ромашка"])
        _ = try admin.call("session.act_as", ["login": "ivanov"])
        _ = try d.connect().call("clock.set", ["to": "2026-07-12T09:00:01Z"])
        #expect(try admin.call("client.create", ["name": "Ромашка"])["owner_login"] == "ivanov")
    }

    @Test("an interaction by the owner turns a red client green again")
    func reset() throws {
        let d = try daemon()
        defer { d.stop() }
        let c = try d.connect()
        try seedTeam(c)
        let id = try c.call("client.create", ["name": "Reset Co", "owner": "ivanov"])["id"]!
        _ = try c.call("clock.advance", ["by": "P5M"])
        #expect(try c.call("client.get", ["id": id])["zone"] == "red")
        _ = try c.call("session.act_as", ["login": "ivanov"])
        let logged = try c.call("interaction.log", ["client_id": id, "kind": "call", "result": "back in touch"])
        #expect(logged["client"]?["zone"] == "green")
        #expect(logged["client"]?["release_at"] == "2026-12-12T09:00:00Z")
        let explain = try c.call("client.explain", ["id": id])
        #expect(explain["clock_set_by"]?["kind"] == "interaction")
        #expect(explain["next_change"]?["becomes"] == "yellow")
    }

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

    @Test("a reminder due at night reaches its owner when working hours start; one due in hours at once, as alert.list shows it")
    func remindersInAndOutOfHours() throws {
        let d = try daemon(start: "2026-01-12T20:00:00Z")  // Monday 23:00 in Moscow
        defer { d.stop() }
        let admin = try d.connect()
        try seedTeam(admin)
        let night = try admin.call("client.create", ["name": "Night Ltd", "owner": "ivanov"])["id"]!
        let owner = try d.connect()
        _ = try owner.call("session.act_as", ["login": "ivanov"])
        _ = try owner.call("subscribe", ["topics": ["alert"]])

        let view = try d.connect()
        _ = try view.call("session.act_as", ["login": "ivanov"])
        func listed() throws -> [JSON] { try view.call("alert.list")["items"]?.arrayValue ?? [] }

        // Yellow on Thursday 23:00 Moscow: the reminder is stored for the morning, not listed yet.
        _ = try admin.call("clock.advance", ["by": "P1M"])
        #expect(try view.call("client.get", ["id": night])["zone"] == "yellow")
        #expect(try listed().isEmpty)
        #expect(try admin.call("server.status")["alerts"]?["next_delivery"] == "2026-02-13T06:00:00Z")

        // Friday 09:00 Moscow: delivered, and the event carries what alert.list shows.
        _ = try admin.call("clock.set", ["to": "2026-02-13T06:00:00Z"])
        let first = try events(owner, 1)
        let delivered = try listed()
        #expect(delivered.count == 1)
        #expect(delivered.first?["client_id"] == night)
        #expect(delivered.first?["delivered_at"] == "2026-02-13T06:00:00Z")
        #expect(first.first?["data"] == delivered.first)

        // A client turning yellow inside working hours: delivered in the same pass.
        let day = try admin.call("client.create", ["name": "Day Ltd", "owner": "ivanov"])["id"]!
        _ = try admin.call("clock.advance", ["by": "P1M"])  // Friday 13 March, 09:00 Moscow
        let second = try events(owner, 1)
        #expect(second.first?["data"]?["client_id"] == day)
        #expect(second.first?["data"]?["kind"] == "zone_yellow")
        let now = try listed().first { $0["client_id"] == day }
        #expect(now?["delivered_at"] == "2026-03-13T06:00:00Z")
        #expect(second.first?["data"] == now)
    }

    @Test("a reminder due on Saturday and delivered on Monday counts the days left on Monday")
    func weekendReminderRecounts() throws {
        let d = try daemon(start: "2026-01-14T09:00:00Z")  // Wednesday; yellow on Saturday 14 February
        defer { d.stop() }
        let admin = try d.connect()
        try seedTeam(admin)
        let id = try admin.call("client.create", ["name": "Weekend Ltd", "owner": "ivanov"])["id"]!
        let owner = try d.connect()
        _ = try owner.call("session.act_as", ["login": "ivanov"])
        _ = try owner.call("subscribe", ["topics": ["alert"]])
        _ = try admin.call("clock.set", ["to": "2026-02-14T09:00:00Z"])
        #expect(try owner.call("alert.list")["items"]?.arrayValue?.isEmpty == true)
        _ = try admin.call("clock.set", ["to": "2026-02-16T06:00:00Z"])  // Monday 09:00 Moscow
        let alert = try #require(try events(owner, 1).first?["data"])
        #expect(alert["client_id"] == id)
        #expect(alert["due_at"] == "2026-02-14T09:00:00Z")
        #expect(alert["days_left"] == 148)  // 150 on Saturday; release on 14 July
        #expect(alert["message"]?.stringValue?.contains(": 148 days until it goes to the exchange") == true)
        let listed = try owner.call("alert.list")["items"]?.arrayValue?.first
        #expect(listed == alert)
    }

    @Test("100 managers claim one client at once: exactly one wins, the others get 1003")
    func concurrentClaims() throws {
        let d = try daemon()
        defer { d.stop() }
        let admin = try d.connect()
        for i in 0..<100 {
            _ = try admin.call(
                "user.add", ["login": .string("m\(i)"), "name": .string("M\(i)"), "role": "manager", "uid": .int(Int64(70_000 + i))])
        }
        let id = try admin.call("client.create", ["name": "Prize"])["id"]!
        let codes = Locked<[Int]>([])
        let winners = Locked<[String]>([])
        let group = DispatchGroup()
        let gate = DispatchSemaphore(value: 0)
        for i in 0..<100 {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                guard let c = try? d.connect(), (try? c.call("session.act_as", ["login": .string("m\(i)")])) != nil else {
                    codes.withLock { $0.append(-1) }
                    return
                }
                gate.wait()
                do {
                    _ = try c.call("exchange.claim", ["id": id])
                    winners.withLock { $0.append("m\(i)") }
                } catch let e as RPCError {
                    codes.withLock { $0.append(e.code) }
                } catch {
                    codes.withLock { $0.append(-2) }
                }
            }
        }
        for _ in 0..<100 { gate.signal() }
        group.wait()
        #expect(winners.withLock { $0.count } == 1)
        #expect(codes.withLock { $0 }.allSatisfy { $0 == 1003 })
        #expect(codes.withLock { $0.count } == 99)
        #expect(try admin.call("client.get", ["id": id])["owner_login"] == .string(winners.withLock { $0.first }))
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

    @Test("subscriptions replay with no gap and no duplicate across a reconnect and a restart")
    func replay() throws {
        let d = try TestDaemon(arguments: ["--clock", "manual", "--clock-start", ExchangeTests.start])
        try d.start()
        let c = try d.connect()
        try seedTeam(c)
        for i in 0..<5 { _ = try c.call("client.create", ["name": .string("R\(i)"), "owner": "ivanov"]) }
        let s1 = try d.connect()
        _ = try s1.call("subscribe", ["since": 0])
        let first = try events(s1, 3)
        let lastSeen = first.last!["seq"]!.intValue!
        _ = try c.call("clock.advance", ["by": "P1M"])  // 5 zone changes and alerts
        d.stop()
        try d.start()
        defer { d.stop() }
        let s2 = try d.connect()
        let info = try s2.call("subscribe", ["since": .int(lastSeen)])
        let total = info["seq"]!.intValue!
        var seqs = first.compactMap { $0["seq"]?.intValue }
        // Root sees everything except other users' alerts; read until the last visible seq.
        let all = try d.connect().call("server.status")["store"]?["last_seq"]?.intValue ?? 0
        #expect(all == total)
        let admin = try d.connect()
        _ = admin
        var more = try events(s2, 6)  // 1 remaining create + 5 zone changes at least
        seqs += more.compactMap { $0["seq"]?.intValue }
        more.removeAll()
        #expect(seqs == seqs.sorted())
        #expect(Set(seqs).count == seqs.count, "no duplicate")
        #expect(seqs.first == 1)
    }

    @Test("a subscriber that never reads is closed after the stall limit and slows nobody")
    func stalledSubscriber() throws {
        let d = try daemon(["CRMD_SUBSCRIPTIONS_STALL_TIMEOUT": "PT2S", "CRMD_SUBSCRIPTIONS_MAX_QUEUE_BYTES": "16384"])
        defer { d.stop() }
        let c = try d.connect()
        try seedTeam(c)
        let lazy = try d.connect()
        _ = try lazy.call("subscribe", ["topics": ["*"]])
        // Enough events to fill the lazy subscriber's socket and its queue.
        var items: [JSON] = []
        for i in 0..<3000 { items.append(["name": .string("Bulk \(i) " + String(repeating: "x", count: 100)), "owner": "ivanov"]) }
        _ = try c.call("client.import", ["clients": .array(items)])
        let other = try d.connect()
        let t0 = Date()
        for _ in 0..<200 { _ = try other.call("server.ping") }
        #expect(Date().timeIntervalSince(t0) < 2 * testSlowdown, "others are not slowed")
        // Now read: events, then the final notice, then the end of the stream.
        var closedNotice: JSON? = nil
        Thread.sleep(forTimeInterval: 3)  // let the stall limit pass (the point of this test is time)
        while let line = try? lazy.readJSON() {
            if line["method"] == "subscription.closed" { closedNotice = line }
        }
        #expect(closedNotice?["params"]?["reason"] == "too_slow")
    }
}

@Suite("Alert delivery command")
struct DeliveryCommandTests {
    @Test("a failing delivery command is retried with back-off and the alert is not lost")
    func retries() throws {
        let dir = try temporaryFolder("crmd-deliver")
        defer { try? FileManager.default.removeItem(at: dir) }
        let script = try deliveryScript(
            in: dir,
            """
            #!/bin/sh
            n=$(cat "\(dir.path)/count" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "\(dir.path)/count"
            if [ "$n" -le 2 ]; then exit 3; fi
            cat >> "\(dir.path)/delivered.jsonl"
            """)
        let d = try TestDaemon(
            environment: ["CRMD_ALERTS_DELIVERY_COMMAND": script.path],
            arguments: ["--clock", "manual", "--clock-start", ExchangeTests.start])
        try d.start()
        defer { d.stop() }
        let c = try d.connect()
        try seedTeam(c)
        _ = try c.call("client.create", ["name": "Gateway Test", "owner": "ivanov"])
        _ = try c.call("clock.advance", ["by": "P1M"])  // the yellow alert: first attempt fails
        #expect(try c.call("server.status")["alerts"]?["command_pending"] == 1)
        _ = try c.call("clock.advance", ["by": "PT10S"])  // second attempt fails
        #expect(try c.call("server.status")["alerts"]?["command_failing"] == 1)
        _ = try c.call("clock.advance", ["by": "PT1M"])  // third succeeds
        let status = try c.call("server.status")["alerts"]
        #expect(status?["command_pending"] == 0)
        let delivered = try String(contentsOf: dir.appendingPathComponent("delivered.jsonl"), encoding: .utf8)
        let alert = try JSONParser.parse(delivered.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(alert["kind"] == "zone_yellow")
        #expect(alert["message"]?.stringValue?.contains("Gateway Test") == true)
        #expect(
            try String(contentsOf: dir.appendingPathComponent("count"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
                == "3")
    }
}
