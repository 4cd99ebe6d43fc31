import CRMCore
import CRMProtocol
import Foundation
import Testing

@testable import CRMServer

/// `task.*` in process: who gives tasks to whom, who lists and completes them, the due
/// announcement through the scheduler and the interaction a call task logs when done.
@Suite("Task handlers in-process")
struct TaskHandlerTests {
    typealias T = SalesTeam

    func task(_ s: SalesTeam, _ title: String, due: String, by uid: UInt32, _ extra: JSONObject = [:]) async -> Result<JSON, RPCError> {
        var p: JSONObject = ["title": .string(title), "due_at": .string(due)]
        for k in extra.keys { p[k] = extra[k] }
        return await s.call("task.create", p, uid: uid)
    }

    func titles(_ s: SalesTeam, _ p: JSONObject = [:], uid: UInt32) async throws -> [String] {
        try await s.all("task.list", p, uid: uid).compactMap { $0["title"]?.stringValue }
    }

    @Test("everyone gives tasks to themselves; heads, operators and admins to others; managers, accountants and directors not")
    func createRights() async throws {
        let s = try await SalesTeam()
        let due = "2026-01-12T15:00:00Z"
        for (uid, login) in [
            (T.ivanov, "ivanov"), (T.head, "sidorova"), (T.operator_, "olga"), (T.accountant, "buh"), (T.director, "boss"),
        ] {
            let t = try await task(s, "own", due: due, by: uid).get()
            #expect(t["assignee_login"] == .string(login))
            #expect(t["creator_login"] == .string(login))
            #expect(t["done"] == false)
        }
        for uid in [T.ivanov, T.accountant, T.director] {
            #expect(errorCode(await task(s, "x", due: due, by: uid, ["assignee": "petrov"])) == ErrorCode.forbidden, "\(uid)")
        }
        for uid in [T.head, T.operator_, 0] {
            let t = try await task(s, "given", due: due, by: uid, ["assignee": "petrov"]).get()
            #expect(t["assignee_login"] == "petrov")
        }
        // Root has no row: it must name the assignee.
        #expect(errorFields(await task(s, "x", due: due, by: 0)) == ["assignee"])
        #expect(errorFields(await s.call("task.create", ["title": "x"], uid: T.ivanov)) == ["due_at"])
        #expect(errorFields(await task(s, "x", due: due, by: T.ivanov, ["kind": "visit"])) == ["kind"])
        #expect(errorCode(await task(s, "x", due: due, by: T.head, ["assignee": "nobody"])) == ErrorCode.notFound)
    }

    @Test("a task about a deal or a client: the actor must see it, and the deal's client is the task's")
    func subject() async throws {
        let s = try await SalesTeam()
        let a = try await s.client("A LLC")
        let b = try await s.client("B LLC")
        let d = try await s.deal(a)
        let t = try await task(s, "call back", due: "2026-01-12T15:00:00Z", by: T.ivanov, ["deal_id": d["id"] ?? .null]).get()
        #expect(t["client_id"] == a)
        #expect(t["deal_id"] == d["id"])
        let mismatch = await task(s, "x", due: "2026-01-12T15:00:00Z", by: T.ivanov, ["deal_id": d["id"] ?? .null, "client_id": b])
        #expect(errorFields(mismatch) == ["client_id"])
        #expect(
            errorCode(await task(s, "x", due: "2026-01-12T15:00:00Z", by: T.petrov, ["deal_id": d["id"] ?? .null])) == ErrorCode.forbidden)
        #expect(errorCode(await task(s, "x", due: "2026-01-12T15:00:00Z", by: T.petrov, ["client_id": a])) == ErrorCode.forbidden)
        // deal.get lists it; task.list filters on it.
        #expect(try await s.get(d)["tasks"]?.arrayValue?.map { $0["id"] } == [t["id"]])
        #expect(try await titles(s, ["deal_id": d["id"] ?? .null], uid: T.ivanov) == ["call back"])
        #expect(try await titles(s, ["client_id": b], uid: T.ivanov).isEmpty)
    }

    @Test("task.list: one's own by default, soonest first; others' only for heads, directors and admins")
    func list() async throws {
        let s = try await SalesTeam()
        _ = try await task(s, "later", due: "2026-01-13T10:00:00Z", by: T.ivanov).get()
        _ = try await task(s, "sooner", due: "2026-01-12T10:00:00Z", by: T.ivanov).get()
        _ = try await task(s, "from the head", due: "2026-01-12T11:00:00Z", by: T.head, ["assignee": "ivanov"]).get()
        _ = try await task(s, "petrov's", due: "2026-01-12T11:00:00Z", by: T.petrov).get()
        _ = try await task(s, "olga's for petrov", due: "2026-01-12T12:00:00Z", by: T.operator_, ["assignee": "petrov"]).get()
        #expect(try await titles(s, uid: T.ivanov) == ["sooner", "from the head", "later"])
        #expect(try await titles(s, ["assignee": "ivanov"], uid: T.ivanov) == ["sooner", "from the head", "later"])
        #expect(try await titles(s, ["limit": 1], uid: T.ivanov) == ["sooner", "from the head", "later"])
        for uid in [T.ivanov, T.operator_, T.accountant] {
            #expect(errorCode(await s.call("task.list", ["assignee": "petrov"], uid: uid)) == ErrorCode.forbidden, "\(uid)")
            #expect(errorCode(await s.call("task.list", ["assignee": nil], uid: uid)) == ErrorCode.forbidden, "\(uid)")
        }
        for uid in [T.head, T.director, 0] {
            #expect(try await titles(s, ["assignee": "petrov"], uid: uid) == ["petrov's", "olga's for petrov"], "\(uid)")
            #expect(try await titles(s, ["assignee": nil], uid: uid).count == 5, "\(uid)")
        }
        #expect(try await titles(s, ["due_before": "2026-01-12T11:00:00Z"], uid: T.ivanov) == ["sooner"])
        #expect(try await titles(s, ["done": true], uid: T.ivanov).isEmpty)
        // The operator who made petrov's task may see and change it, though it is not in their list.
        #expect(try await titles(s, uid: T.operator_).isEmpty)
    }

    @Test("task.update and task.done: the assignee, the author, heads; not another manager, nor a director on others'")
    func workRights() async throws {
        let s = try await SalesTeam()
        let t = try await task(s, "olga's for petrov", due: "2026-01-12T12:00:00Z", by: T.operator_, ["assignee": "petrov"]).get()
        let id = try #require(t["id"])
        for uid in [T.ivanov, T.director, T.accountant] {
            #expect(errorCode(await s.call("task.update", ["id": id, "title": "x"], uid: uid)) == ErrorCode.forbidden, "\(uid)")
            #expect(errorCode(await s.call("task.done", ["id": id], uid: uid)) == ErrorCode.forbidden, "\(uid)")
        }
        #expect(try await s.ok("task.update", ["id": id, "note": "ring twice"], uid: T.operator_)["note"] == "ring twice")
        #expect(try await s.ok("task.update", ["id": id, "title": "ring"], uid: T.head)["title"] == "ring")
        // A manager may not hand their task to another.
        #expect(errorCode(await s.call("task.update", ["id": id, "assignee": "ivanov"], uid: T.petrov)) == ErrorCode.forbidden)
        let done = try await s.ok("task.done", ["id": id], uid: T.petrov)
        #expect(done["done"] == true)
        #expect(done["done_by"] == "petrov")
        #expect(done["done_at"] == .string(T.start))
        let twice = await s.call("task.done", ["id": id], uid: T.petrov)
        #expect(errorCode(twice) == ErrorCode.conflict)
        #expect(try await titles(s, ["done": true], uid: T.petrov) == ["ring"])
        #expect(try await titles(s, ["done": false], uid: T.petrov).isEmpty)
    }

    @Test("a task is announced at its due instant; a new due_at announces it again; a done task is not announced")
    func dueAndRearm() async throws {
        let s = try await SalesTeam()
        let t = try await task(s, "call Romashka", due: "2026-01-12T10:00:00Z", by: T.ivanov).get()
        try await s.at("2026-01-12T09:59:59Z")
        #expect(try s.events("task.due").isEmpty)
        try await s.at("2026-01-12T10:00:00Z")
        #expect(try s.events("task.due").map(\.at) == [try at("2026-01-12T10:00:00Z")])
        let alerts = try await s.alerts(T.ivanov).filter { $0["kind"] == "task_due" }
        #expect(alerts.map { $0["task_id"] } == [t["id"]])
        // Moved to tomorrow: announced again then, not before.
        _ = try await s.ok("task.update", ["id": t["id"] ?? .null, "due_at": "2026-01-13T10:00:00Z"], uid: T.ivanov)
        try await s.at("2026-01-13T09:59:00Z")
        #expect(try s.events("task.due").count == 1)
        try await s.at("2026-01-13T10:30:00Z")
        #expect(try s.events("task.due").map(\.at) == [try at("2026-01-12T10:00:00Z"), try at("2026-01-13T10:00:00Z")])
        #expect(try await s.alerts(T.ivanov).filter { $0["kind"] == "task_due" }.count == 2)
        // Moved before it fell due: only the new instant counts.
        let u = try await task(s, "send contract", due: "2026-01-13T12:00:00Z", by: T.ivanov).get()
        _ = try await s.ok("task.update", ["id": u["id"] ?? .null, "due_at": "2026-01-13T14:00:00Z"], uid: T.ivanov)
        try await s.at("2026-01-13T13:00:00Z")
        #expect(try s.events("task.due").count == 2)
        try await s.at("2026-01-13T14:00:00Z")
        #expect(try s.events("task.due").last?.at == (try at("2026-01-13T14:00:00Z")))
        // Done before due: silent.
        let v = try await task(s, "done early", due: "2026-01-13T16:00:00Z", by: T.ivanov).get()
        _ = try await s.ok("task.done", ["id": v["id"] ?? .null], uid: T.ivanov)
        try await s.at("2026-01-13T17:00:00Z")
        #expect(try s.events("task.due").count == 3)
    }

    @Test("done with log on a call task: the call is logged in the same request, the zone and the deal's cadence reset")
    func doneWithLog() async throws {
        let s = try await SalesTeam()
        let c = try await s.client("Log LLC")
        let d = try await s.deal(c)
        try await s.advance("P40D")
        #expect(try await s.ok("client.get", ["id": c])["zone"] == "yellow")
        #expect(try await s.get(d)["overdue"] == true)
        let t = try await task(
            s, "call about prices", due: "2026-02-21T10:00:00Z", by: T.ivanov, ["kind": "call", "deal_id": d["id"] ?? .null]
        ).get()
        let other = try await task(s, "tidy up", due: "2026-02-21T10:00:00Z", by: T.ivanov, ["kind": "other", "client_id": c]).get()
        let notCall = await s.call("task.done", ["id": other["id"] ?? .null, "log": ["result": "x"]], uid: T.ivanov)
        #expect(errorFields(notCall) == ["log"])
        let missing = await s.call("task.done", ["id": t["id"] ?? .null, "log": ["direction": "out"]], uid: T.ivanov)
        #expect(errorCode(missing) == ErrorCode.validationFailed)
        #expect(errorFields(missing) == ["log.result"])
        #expect(
            errorCode(await s.call("task.done", ["id": t["id"] ?? .null, "log": ["mood": "good"]], uid: T.ivanov))
                == ErrorCode.invalidParams)
        // Nothing was logged or completed by the refused attempts.
        #expect(try await s.ok("task.list", ["done": true], uid: T.ivanov)["items"]?.arrayValue?.isEmpty == true)
        let done = try await s.ok(
            "task.done", ["id": t["id"] ?? .null, "log": ["result": "agreed on prices", "direction": "out"]], uid: T.ivanov)
        #expect(done["done"] == true)
        let logged = try #require(done["interaction"])
        #expect(logged["kind"] == "call")
        #expect(logged["topic"] == "call about prices")
        #expect(logged["deal_id"] == d["id"])
        #expect(logged["resets_clock"] == true)
        #expect(done["interaction_id"] == logged["id"])
        let card = try await s.ok("client.get", ["id": c])
        #expect(card["zone"] == "green")
        #expect(card["last_interaction_at"] == "2026-02-21T09:00:00Z")
        let back = try await s.get(d)
        #expect(back["overdue"] == false)
        #expect(back["last_contact_at"] == "2026-02-21T09:00:00Z")
        #expect(
            errorCode(await s.call("task.done", ["id": t["id"] ?? .null, "log": ["result": "again"]], uid: T.ivanov)) == ErrorCode.conflict)
    }

    @Test("today: the caller's overdue and today's tasks; another's day only for heads and directors")
    func today() async throws {
        let s = try await SalesTeam()
        _ = try await task(s, "overdue", due: "2026-01-12T08:00:00Z", by: T.ivanov).get()
        _ = try await task(s, "this evening", due: "2026-01-12T18:00:00Z", by: T.ivanov).get()
        _ = try await task(s, "tomorrow", due: "2026-01-13T10:00:00Z", by: T.ivanov).get()
        let day = try await s.ok("today", [:], uid: T.ivanov)
        #expect(day["user"] == "ivanov")
        #expect(day["date"] == "2026-01-12")
        #expect(day["tasks_overdue"]?.arrayValue?.map { $0["title"] } == ["overdue"])
        #expect(day["tasks_today"]?.arrayValue?.map { $0["title"] } == ["this evening"])
        #expect(errorCode(await s.call("today", ["user": "ivanov"], uid: T.petrov)) == ErrorCode.forbidden)
        for uid in [T.head, T.director, 0] {
            #expect(try await s.ok("today", ["user": "ivanov"], uid: uid)["tasks_today"]?.arrayValue?.count == 1, "\(uid)")
        }
        #expect(errorFields(await s.call("today")) == ["user"])
    }
}
