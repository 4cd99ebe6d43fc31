import CRMClient
import CRMProtocol
import CRMSync
import CRMTestSupport
import Foundation
import Testing

/// What the suites on a manual clock (ExchangeTests and the Exchange*Tests beside it) share: a
/// daemon started on one, and a barrier on its event stream.
protocol ManualClockSuite {}

extension ManualClockSuite {
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
}

/// Zones and the exchange on a manual clock: a client's whole story over the socket, claims, the
/// cooldown, a change of hands and a reset.
@Suite("Colored clients on a manual clock")
struct ExchangeTests: ManualClockSuite {
    static let start = "2026-01-12T09:00:00Z"  // a Monday, 12:00 in Moscow: inside working hours

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
                #expect(e.message.description.contains("Ромашка"))
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
        // Another manager may create it (it is a duplicate for the team to sort out, not a dodge:
        // the similar-name warning, passed with force), and after the cooldown so may ivanov.
        _ = try admin.call("session.act_as", ["login": "sidorov"])
        #expect(rpcErrorCode { try admin.call("client.create", ["name": "Ромашка"]) } == 1003)
        _ = try admin.call("client.create", ["name": "Ромашка", "force": true])
        _ = try admin.call("session.act_as", ["login": "ivanov"])
        _ = try d.connect().call("clock.set", ["to": "2026-07-12T09:00:01Z"])
        #expect(try admin.call("client.create", ["name": "Ромашка", "force": true])["owner_login"] == "ivanov")
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
}
