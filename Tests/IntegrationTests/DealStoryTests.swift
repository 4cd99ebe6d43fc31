import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import Testing

/// Issue 17's "Done when": a manager's deal from start to won on a manual clock, against the real
/// crmd over its socket; the catch-up after downtime; and a reload that would strand deals.
@Suite("A deal's story on a manual clock")
struct DealStoryTests {
    static let start = "2026-12-07T07:00:00Z"  // a Monday, 10:00 in Moscow
    static let dealTopics: JSON = ["deal.created", "deal.updated", "deal.moved", "deal.closed", "deal.reopened", "deal.overdue"]

    /// The board's stages holding open deals, as "stage:count:overdue".
    func board(_ c: Connection) throws -> [String] {
        try c.call("pipeline.board")["stages"]?.arrayValue?.filter { $0["count"] != 0 }.map {
            "\($0["name"]?.stringValue ?? "?"):\($0["count"]?.intValue ?? -1):\($0["overdue"]?.intValue ?? -1)"
        } ?? ["no board"]
    }

    @Test("created, moved, overdue at the exact instant, reminded in working hours, back by a comment, won: zones reset and today right")
    func story() throws {
        let d = try TestDaemon(arguments: ["--clock", "manual", "--clock-start", Self.start])
        try d.start()
        defer { d.stop() }
        let root = try d.connect()
        try seedTeam(root)
        let iv = try DealTest.connect(d, as: "ivanov")
        let head = try DealTest.connect(d, as: "petrova")
        func set(_ to: String) throws { _ = try root.call("clock.set", ["to": .string(to)]) }
        func ids(_ key: String) throws -> [JSON] { DealTest.ids(try iv.call("today")[key]) }
        func alerts(_ c: Connection) throws -> [JSON] { try c.call("alert.list")["items"]?.arrayValue ?? [] }
        let clientID = try root.call("client.create", ["name": "Story Ltd", "owner": "ivanov"])["id"]!
        func card() throws -> JSON { try iv.call("client.get", ["id": clientID]) }
        // A subscriber to deal events from the start, that will drop off and come back with `since`.
        var dealSub: Connection? = try DealTest.connect(d, as: "ivanov")
        _ = try dealSub!.call("subscribe", ["topics": Self.dealTopics, "since": 0])

        // Monday 23:00 in Moscow: the deal starts, and counts as a contact (seed 000).
        try set("2026-12-07T20:00:00Z")
        #expect(try card()["last_interaction_at"] == .null)
        #expect(try card()["release_at"] == "2027-06-07T07:00:00Z")
        let created = try iv.call(
            "deal.create",
            ["client_id": clientID, "title": "Story deal", "amount": 150_000_000, "source": "website", "expected_close": "2026-12-31"])
        let id = created["id"]!
        func deal() throws -> JSON { try iv.call("deal.get", ["id": id]) }
        #expect(created["stage"] == "New deal" && created["probability"] == 10 && created["owner_login"] == "ivanov")
        #expect(created["status"] == "open" && created["overdue"] == false && created["amount_text"] == "1500000.00")
        #expect(created["next_contact_due"] == "2026-12-09T20:00:00Z" && created["opened_at"] == "2026-12-07T20:00:00Z")
        var c = try card()
        #expect(c["last_interaction_at"] == "2026-12-07T20:00:00Z" && c["release_at"] == "2027-06-07T20:00:00Z")
        let started = c["interactions"]?.arrayValue?.first { $0["kind"] == "deal" }
        #expect(started?["deal_id"] == id && started?["resets_clock"] == true && started?["author_login"] == "ivanov")
        #expect(DealTest.ids(c["deals"]) == [id])
        var day = try iv.call("today")
        #expect(day["date"] == "2026-12-07" && day["user"] == "ivanov")
        for key in ["tasks_overdue", "tasks_today", "deals_overdue", "deals_due_today", "clients_near_release"] {
            #expect(DealTest.ids(day[key]) == [], "today's \(key) on the first evening")
        }

        // Moves: one stage at a time for the manager; a head may go back and skip.
        let skip = DealTest.rpcError { try iv.call("deal.move", ["id": id, "stage": "Proposal under review"]) }
        #expect(skip?.code == 1008 && skip?.data?["next"] == "Proposal sent", "\(String(describing: skip))")
        let moved = try iv.call("deal.move", ["id": id, "stage": "Proposal sent"])
        #expect(moved["probability"] == 30 && moved["next_contact_due"] == "2026-12-10T20:00:00Z")
        #expect(DealTest.rpcError { try iv.call("deal.move", ["id": id, "stage": "New deal"]) }?.code == 1008)
        _ = try head.call("deal.move", ["id": id, "stage": "New deal"])
        let skipped = try head.call("deal.move", ["id": id, "stage": "Handling objections"])
        #expect(skipped["next_contact_due"] == "2026-12-08T20:00:00Z" && skipped["stage_entered_at"] == "2026-12-07T20:00:00Z")
        let moves = try deal()["moves"]?.arrayValue ?? []
        #expect(
            moves.map { "\($0["from"]?.stringValue ?? "-")→\($0["to"]?.stringValue ?? "?") \($0["by_login"]?.stringValue ?? "?")" } == [
                "-→New deal ivanov", "New deal→Proposal sent ivanov", "Proposal sent→New deal petrova",
                "New deal→Handling objections petrova",
            ])
        #expect(moves.allSatisfy { $0["at"] == "2026-12-07T20:00:00Z" })
        #expect(try board(head) == ["Handling objections:1:0"] && board(iv) == ["Handling objections:1:0"])
        // The first deal events, read by the subscriber that then drops off.
        let firstSeen = try DealTest.next(dealSub!, 3)
        #expect(firstSeen.map { $0["topic"] } == ["deal.created", "deal.moved", "deal.moved"])
        dealSub = nil

        let ivSub = try DealTest.connect(d, as: "ivanov")
        _ = try ivSub.call("subscribe", ["topics": ["deal.overdue", "deal.closed", "task.due", "alert"]])
        let headSub = try DealTest.connect(d, as: "petrova")
        _ = try headSub.call("subscribe", ["topics": ["alert"]])

        // One second before the cadence runs out (Tuesday 22:59:59 in Moscow): due today, not overdue.
        try set("2026-12-08T19:59:59Z")
        #expect(try deal()["overdue"] == false)
        #expect(try ids("deals_due_today") == [id] && ids("deals_overdue") == [])
        #expect(try DealTest.replay(d, ["deal.overdue"]).isEmpty)
        // At the instant: deal.overdue stamped with it; the reminder waits for the working day.
        try set("2026-12-08T20:00:00Z")
        let overdue = try DealTest.next(ivSub)[0]
        #expect(overdue["topic"] == "deal.overdue" && overdue["at"] == "2026-12-08T20:00:00Z", "\(overdue)")
        #expect(overdue["data"]?["deal_id"] == id && overdue["data"]?["overdue_since"] == "2026-12-08T20:00:00Z")
        #expect(overdue["data"]?["cadence"] == "P1D" && overdue["data"]?["last_contact_at"] == "2026-12-07T20:00:00Z")
        #expect(try deal()["overdue"] == true && deal()["next_contact_due"] == overdue["at"])
        #expect(try ids("deals_overdue") == [id] && ids("deals_due_today") == [])
        #expect(DealTest.ids(try iv.call("deal.list", ["overdue": true])["items"]) == [id])
        #expect(try board(head) == ["Handling objections:1:1"])
        #expect(try alerts(iv).isEmpty)
        #expect(try root.call("server.status")["alerts"]?["next_delivery"] == "2026-12-09T06:00:00Z")
        try set("2026-12-09T05:59:59Z")
        #expect(try alerts(iv).isEmpty)
        // Wednesday 09:00 in Moscow: the owner's reminder arrives; alert.list shows what the event said.
        try set("2026-12-09T06:00:00Z")
        let reminder = try DealTest.next(ivSub)[0]
        #expect(reminder["topic"] == "alert" && reminder["data"]?["kind"] == "deal_overdue" && reminder["data"]?["deal_id"] == id)
        #expect(reminder["data"]?["due_at"] == "2026-12-08T20:00:00Z" && reminder["data"]?["delivered_at"] == "2026-12-09T06:00:00Z")
        #expect(try alerts(iv) == [reminder["data"]!])
        #expect(try iv.call("today")["alerts_unacked"] == 1)
        // The heads' copy: a grace (P1D) after it fell overdue, Wednesday 23:00, so delivered Thursday 09:00.
        try set("2026-12-09T20:00:00Z")
        #expect(try alerts(head).isEmpty)
        try set("2026-12-10T06:00:00Z")
        let copy = try DealTest.next(headSub)[0]
        #expect(copy["data"]?["kind"] == "deal_overdue_copy" && copy["data"]?["deal_id"] == id)
        #expect(copy["data"]?["due_at"] == "2026-12-09T20:00:00Z" && copy["data"]?["delivered_at"] == "2026-12-10T06:00:00Z")
        #expect(try alerts(iv).count == 1 && alerts(DealTest.connect(d, as: "sidorov")).isEmpty)

        // Thursday 10:00: the owner's comment on the deal brings it back into cadence.
        try set("2026-12-10T07:00:00Z")
        let comment = try iv.call(
            "interaction.log", ["client_id": clientID, "deal_id": id, "kind": "note", "note": "Talked the objections through"])
        let back = try deal()
        #expect(back["overdue"] == false, "a comment on the deal by its owner brings it back into cadence: \(back)")
        #expect(back["last_contact_at"] == "2026-12-10T07:00:00Z" && back["next_contact_due"] == "2026-12-11T07:00:00Z")
        #expect(DealTest.ids(back["interactions"]).contains(comment["interaction"]?["id"] ?? .null))
        #expect(try ids("deals_overdue") == [] && board(head) == ["Handling objections:1:0"])
        _ = try iv.call("deal.update", ["id": id, "probability": 70])
        // A call task on the deal, due at 15:00.
        let task = try iv.call(
            "task.create", ["title": "Call about the contract", "kind": "call", "due_at": "2026-12-10T12:00:00Z", "deal_id": id])
        let taskID = task["id"]!
        #expect(task["client_id"] == clientID && task["overdue"] == false)
        #expect(try ids("tasks_today") == [taskID] && ids("tasks_overdue") == [])
        try set("2026-12-10T11:59:59Z")
        #expect(try ids("tasks_today") == [taskID] && ids("tasks_overdue") == [])
        #expect(try DealTest.replay(d, ["task.due"]).isEmpty)
        try set("2026-12-10T12:00:00Z")
        let due = try DealTest.next(ivSub, 2)
        #expect(due.map { $0["topic"] } == ["task.due", "alert"])
        #expect(due.first?["at"] == "2026-12-10T12:00:00Z" && due.first?["data"]?["task_id"] == taskID)
        #expect(due.last?["data"]?["kind"] == "task_due" && due.last?["data"]?["delivered_at"] == "2026-12-10T12:00:00Z")
        #expect(try ids("tasks_overdue") == [taskID] && ids("tasks_today") == [])
        // Done, logging the call: the zone clock and the deal's cadence both restart.
        let done = try iv.call("task.done", ["id": taskID, "log": ["result": "Agreed on the terms", "direction": "out"]])
        #expect(done["done"] == true && done["interaction"]?["kind"] == "call" && done["interaction"]?["deal_id"] == id)
        #expect(done["interaction"]?["resets_clock"] == true)
        c = try card()
        #expect(c["last_interaction_at"] == "2026-12-10T12:00:00Z" && c["release_at"] == "2027-06-10T12:00:00Z")
        #expect(try deal()["last_contact_at"] == "2026-12-10T12:00:00Z" && deal()["next_contact_due"] == "2026-12-11T12:00:00Z")
        #expect(try ids("tasks_overdue") == [] && ids("tasks_today") == [])

        // Won at 16:00: the zone resets again, deal.closed, the board empties.
        try set("2026-12-10T13:00:00Z")
        _ = try iv.call("deal.move", ["id": id, "stage": "Contract discussion"])
        #expect(try board(head) == ["Contract discussion:1:0"] && board(iv) == ["Contract discussion:1:0"])
        let won = try iv.call("deal.close", ["id": id, "outcome": "won", "amount": 145_000_000])
        #expect(won["status"] == "won" && won["amount"] == 145_000_000 && won["closed_at"] == "2026-12-10T13:00:00Z")
        #expect(won["overdue"] == false && won["next_contact_due"] == .null)
        let closed = try DealTest.next(ivSub)[0]
        #expect(closed["topic"] == "deal.closed" && closed["data"]?["outcome"] == "won" && closed["at"] == "2026-12-10T13:00:00Z")
        c = try card()
        #expect(c["last_interaction_at"] == "2026-12-10T13:00:00Z" && c["release_at"] == "2027-06-10T13:00:00Z")
        #expect(c["interactions"]?.arrayValue?.first?["kind"] == "deal")
        #expect(try board(head) == [] && board(iv) == [])
        day = try iv.call("today")
        #expect(DealTest.ids(day["deals_overdue"]) == [] && DealTest.ids(day["deals_due_today"]) == [])
        #expect(DealTest.ids(try iv.call("deal.list", ["status": "won"])["items"]) == [id])
        // A won deal has no cadence: nothing more falls overdue.
        try set("2026-12-14T07:00:00Z")
        #expect(try DealTest.replay(d, ["deal.overdue"]).count == 1)

        // Months later the client nears release: listed within 14 days of it.
        try set("2027-05-20T07:00:00Z")
        #expect(try ids("clients_near_release") == [])
        try set("2027-05-31T07:00:00Z")
        let near = try iv.call("today")["clients_near_release"]?.arrayValue ?? []
        #expect(DealTest.ids(.array(near)) == [clientID])
        #expect(near.first?["release_at"] == "2027-06-10T13:00:00Z")
        #expect((10...11).contains(near.first?["days_to_release"]?.intValue ?? -1), "\(near)")

        // The subscriber comes back with `since`: every deal event, none twice, none missing.
        let again = try DealTest.connect(d, as: "ivanov")
        _ = try again.call("subscribe", ["topics": Self.dealTopics, "since": firstSeen.last!["seq"]!])
        let barrier = try iv.call("deal.create", ["client_id": clientID, "title": "Barrier"])["id"]!
        var rest: [JSON] = []
        while let e = try DealTest.next(again).first {
            rest.append(e)
            if e["topic"] == "deal.created", e["data"]?["deal_id"] == barrier { break }
        }
        let all = try DealTest.replay(d, ["deal."])
        #expect((firstSeen + rest).map { $0["seq"] } == all.map { $0["seq"] })
        let topics = Set(all.compactMap { $0["topic"]?.stringValue })
        #expect(topics == ["deal.created", "deal.moved", "deal.overdue", "deal.updated", "deal.closed"])
    }

    @Test("crmd down while a deal falls overdue: the catch-up at start records deal.overdue and task.due at their true instants")
    func downtimeCatchUp() throws {
        let d = try TestDaemon(arguments: ["--clock", "manual", "--clock-start", Self.start])
        try d.start()
        defer { d.stop() }
        let root = try d.connect()
        try seedTeam(root)
        let clientID = try root.call("client.create", ["name": "Downtime Ltd", "owner": "ivanov"])["id"]!
        let iv = try DealTest.connect(d, as: "ivanov")
        let deal = try iv.call("deal.create", ["client_id": clientID, "title": "Downtime deal"])
        #expect(deal["next_contact_due"] == "2026-12-09T07:00:00Z")
        let task = try iv.call("task.create", ["title": "Send the proposal", "due_at": "2026-12-08T10:00:00Z", "deal_id": deal["id"]!])
        d.stop()
        // Back on Friday 10:00 in Moscow: overdue since Wednesday, the heads' copy due Thursday.
        d.arguments = ["--clock", "manual", "--clock-start", "2026-12-11T07:00:00Z"]
        try d.start()
        let events = try DealTest.replay(d, ["deal.overdue", "task.due"])
        #expect(events.compactMap { $0["topic"]?.stringValue }.sorted() == ["deal.overdue", "task.due"], "\(events)")
        let overdue = events.first { $0["topic"] == "deal.overdue" }
        #expect(overdue?["at"] == "2026-12-09T07:00:00Z" && overdue?["data"]?["deal_id"] == deal["id"])
        #expect(overdue?["data"]?["overdue_since"] == "2026-12-09T07:00:00Z")
        let taskDue = events.first { $0["topic"] == "task.due" }
        #expect(taskDue?["at"] == "2026-12-08T10:00:00Z" && taskDue?["data"]?["task_id"] == task["id"])
        let iv2 = try DealTest.connect(d, as: "ivanov")
        #expect(try iv2.call("deal.get", ["id": deal["id"]!])["overdue"] == true)
        let mine = try iv2.call("alert.list")["items"]?.arrayValue ?? []
        let reminder = mine.first { $0["kind"] == "deal_overdue" }
        #expect(reminder?["due_at"] == "2026-12-09T07:00:00Z" && reminder?["delivered_at"] == "2026-12-11T07:00:00Z")
        #expect(mine.first { $0["kind"] == "task_due" }?["due_at"] == "2026-12-08T10:00:00Z")
        let copies = try DealTest.connect(d, as: "petrova").call("alert.list")["items"]?.arrayValue ?? []
        #expect(copies.map { $0["kind"] } == ["deal_overdue_copy"] && copies.first?["due_at"] == "2026-12-10T07:00:00Z")
        #expect(DealTest.ids(try iv2.call("today")["deals_overdue"]) == [deal["id"]!])
        // Another restart records nothing twice.
        d.stop()
        try d.start()
        #expect(try DealTest.replay(d, ["deal.overdue", "task.due"]).count == 2)
    }

    @Test("a reload (SIGHUP) that removes a stage holding open deals is refused naming them; one that adds a stage applies")
    func stageReload() throws {
        let d = try TestDaemon(arguments: ["--clock", "manual", "--clock-start", Self.start])
        let notify = try NotifyListener(path: d.directory.appendingPathComponent("notify.sock").path)
        let three = [("New deal", "P2D"), ("Demo", "P3D"), ("Contract discussion", "P1D")]
        let config = try DealTest.writeConfig(d, DealTest.pipelineConfig(three))
        d.environment["NOTIFY_SOCKET"] = notify.path
        d.arguments += ["--config", config]
        try d.start()
        defer { d.stop() }
        #expect(notify.wait(forLine: "READY=1") != nil)
        let root = try d.connect()
        try seedTeam(root)
        let clientID = try root.call("client.create", ["name": "Reload Ltd", "owner": "ivanov"])["id"]!
        let iv = try DealTest.connect(d, as: "ivanov")
        func stages() throws -> [String] {
            try root.call("pipeline.list")["items"]?.arrayValue?.first?["stages"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
        }
        #expect(try stages() == three.map(\.0))
        var ids: [JSON] = []
        for i in 0..<3 { ids.append(try iv.call("deal.create", ["client_id": clientID, "title": .string("Reload \(i)")])["id"]!) }
        for id in ids.prefix(2) { _ = try iv.call("deal.move", ["id": id, "stage": "Demo"]) }
        let demo = "(\(ids[0].intValue!), \(ids[1].intValue!))"

        // Without Demo: refused, naming the two deals in it; the stages in force stay.
        try DealTest.writeConfig(d, DealTest.pipelineConfig([three[0], three[2]]))
        let mark = notify.messages.count
        kill(d.pid!, SIGHUP)
        let failed = try #require(notify.wait(forLine: "READY=1", after: mark))
        #expect(failed.message.value("STATUS")?.contains("reload failed") == true, "\(failed.message.text)")
        #expect(DealTest.waitForLog(d, "settings not reloaded"))
        let log = d.currentStderr()
        #expect(log.contains("'Demo'") && log.contains(demo), "\(log.suffix(800))")
        #expect(try stages() == three.map(\.0))
        #expect(try iv.call("deal.move", ["id": ids[0], "stage": "Contract discussion"])["stage"] == "Contract discussion")

        // A stage added between Demo and Contract discussion: applied, and deals move into it.
        let four = [three[0], three[1], ("Negotiation", "P2D"), three[2]]
        try DealTest.writeConfig(d, DealTest.pipelineConfig(four))
        let mark2 = notify.messages.count
        kill(d.pid!, SIGHUP)
        let reloaded = try #require(notify.wait(forLine: "READY=1", after: mark2))
        #expect(reloaded.message.value("STATUS")?.contains("settings reloaded") == true, "\(reloaded.message.text)")
        #expect(try stages() == four.map(\.0))
        let next = try iv.call("deal.move", ["id": ids[1], "stage": "Negotiation"])
        #expect(next["stage"] == "Negotiation" && next["next_contact_due"] == "2026-12-09T07:00:00Z")
        #expect(DealTest.rpcError { try iv.call("deal.move", ["id": ids[2], "stage": "Negotiation"]) }?.code == 1008)

        // The same removal at start: crmd does not start, and says which deal holds it.
        d.stop()
        try DealTest.writeConfig(d, DealTest.pipelineConfig([three[0], three[1], three[2]]))
        do {
            try d.start()
            Issue.record("crmd started with a stage removed under an open deal")
        } catch {
            // Its message reaches the test through a pipe: wait for it.
            #expect(DealTest.waitForLog(d, "'Negotiation'"), "\(error)")
            #expect(d.currentStderr().contains("in it (\(ids[1].intValue!))"), "\(d.currentStderr().suffix(800))")
        }
    }
}
