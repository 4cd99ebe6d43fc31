import CRMCore
import CRMProtocol
import Foundation
import Testing

@testable import CRMServer

/// `pipeline.board`'s tallies are kept by SQL triggers (Migrations v6) beside the deals: here
/// they are checked against a count made from `deal.list` after every kind of change, so they
/// cannot drift unseen.
@Suite("Deal handlers in-process: the board")
struct DealHandlerBoardTests {
    typealias T = SalesTeam

    struct Tally: Equatable, CustomStringConvertible {
        var count = 0
        var amount: Int64 = 0
        var overdue = 0
        var description: String { "\(count)/\(amount)/\(overdue)" }
    }

    /// The tallies per stage and per owner login as `deal.list` gives them (open deals only).
    func fromList(_ s: SalesTeam, owner: String? = nil) async throws -> (stages: [String: Tally], owners: [String: Tally]) {
        var p: JSONObject = ["status": "open", "limit": 3]
        if let owner { p["owner"] = .string(owner) }
        var stages: [String: Tally] = [:]
        var owners: [String: Tally] = [:]
        for d in try await s.all("deal.list", p) {
            let stage = try #require(d["stage"]?.stringValue)
            let login = d["owner_login"]?.stringValue ?? "-"
            stages[stage, default: Tally()].add(d)
            owners[login, default: Tally()].add(d)
        }
        return (stages, owners)
    }

    /// The same from `pipeline.board` (stages with no deals dropped).
    func fromBoard(_ s: SalesTeam, owner: String? = nil, uid: UInt32 = 0) async throws -> (stages: [String: Tally], owners: [String: Tally])
    {
        var p: JSONObject = [:]
        if let owner { p["owner"] = .string(owner) }
        let board = try await s.ok("pipeline.board", p, uid: uid)
        var stages: [String: Tally] = [:]
        for st in board["stages"]?.arrayValue ?? [] {
            let t = Tally(
                count: Int(st["count"]?.intValue ?? -1), amount: st["amount"]?.intValue ?? -1, overdue: Int(st["overdue"]?.intValue ?? -1))
            // Weighted by the stage's probability, as shown.
            #expect(st["weighted"]?.intValue == t.amount * (st["probability"]?.intValue ?? 0) / 100)
            if t != Tally() { stages[st["name"]?.stringValue ?? "?"] = t }
        }
        var owners: [String: Tally] = [:]
        for o in board["owners"]?.arrayValue ?? [] {
            owners[o["owner_login"]?.stringValue ?? "-"] = Tally(
                count: Int(o["count"]?.intValue ?? -1), amount: o["amount"]?.intValue ?? -1, overdue: Int(o["overdue"]?.intValue ?? -1))
        }
        return (stages, owners)
    }

    /// The board agrees with the list, for everyone and for each owner.
    func agree(_ s: SalesTeam, _ step: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let list = try await fromList(s)
        let board = try await fromBoard(s)
        #expect(board.stages == list.stages, "\(step): stages", sourceLocation: sourceLocation)
        #expect(board.owners == list.owners, "\(step): owners", sourceLocation: sourceLocation)
        for login in ["ivanov", "petrov", "sidorova"] {
            let mine = try await fromList(s, owner: login)
            #expect(try await fromBoard(s, owner: login).stages == mine.stages, "\(step): \(login)", sourceLocation: sourceLocation)
        }
        // A manager's own board is theirs whatever they ask.
        let own = try await fromList(s, owner: "ivanov")
        #expect(try await fromBoard(s, uid: T.ivanov).stages == own.stages, "\(step): ivanov's own", sourceLocation: sourceLocation)
    }

    @Test("the board's tallies equal a count of deal.list after create, move, close, reopen, owner and amount changes, overdue")
    func talliesCannotDrift() async throws {
        let s = try await SalesTeam()
        let a = try await s.client("A LLC")
        let b = try await s.client("B LLC", by: T.petrov)
        let d1 = try await s.deal(a, "d1", ["amount": 100])
        let d2 = try await s.deal(a, "d2", ["amount": 200])
        let d3 = try await s.deal(b, "d3", by: T.petrov)
        let d4 = try await s.deal(a, "d4", by: T.operator_, ["amount": 50])
        try await agree(s, "created")
        let board = try await s.ok("pipeline.board")
        #expect(board["stages"]?.arrayValue?.first?["count"] == 4)
        #expect(board["stages"]?.arrayValue?.first?["amount"] == 350)
        _ = try await s.move(d1, "Proposal sent").get()
        _ = try await s.move(d2, "Handling objections", by: T.head).get()
        try await agree(s, "moved forward")
        _ = try await s.move(d2, "New deal", by: T.head).get()
        try await agree(s, "moved back")
        _ = try await s.ok("deal.close", ["id": d4["id"] ?? .null, "outcome": "won", "amount": 75], uid: T.ivanov)
        _ = try await s.ok("deal.close", ["id": d3["id"] ?? .null, "outcome": "lost", "reason": "Price"], uid: T.petrov)
        try await agree(s, "closed")
        _ = try await s.ok("deal.reopen", ["id": d3["id"] ?? .null], uid: T.head)
        try await agree(s, "reopened")
        _ = try await s.ok("deal.update", ["id": d1["id"] ?? .null, "owner": "petrov"], uid: T.head)
        try await agree(s, "owner changed")
        _ = try await s.ok("deal.update", ["id": d2["id"] ?? .null, "amount": 999], uid: T.ivanov)
        _ = try await s.ok("deal.update", ["id": d1["id"] ?? .null, "amount": nil], uid: T.petrov)
        try await agree(s, "amounts changed")
        // d2 (New deal since 09:00) falls overdue at 09:00 two days on, d3 too; d1 (Proposal sent) a day later.
        try await s.at("2026-01-14T09:00:00Z")
        #expect(try await fromList(s).stages["New deal"]?.overdue == 2)
        try await agree(s, "overdue")
        try await s.at("2026-01-15T09:30:00Z")
        try await agree(s, "overdue, heads copied")
        _ = try await s.ok("deal.update", ["id": d2["id"] ?? .null, "amount": 1000], uid: T.ivanov)
        try await agree(s, "an overdue deal's amount changed")
        _ = try await s.ok("deal.update", ["id": d3["id"] ?? .null, "owner": "ivanov"], uid: T.head)
        try await agree(s, "an overdue deal changed hands")
        // The owner's call brings ivanov's deals on A back into cadence.
        _ = try await s.ok(
            "interaction.log", ["client_id": a, "kind": "call", "direction": "out", "result": "agreed"], uid: T.ivanov)
        try await agree(s, "contact")
        _ = try await s.move(d3, "Proposal sent", by: T.ivanov).get()
        try await agree(s, "an overdue deal moved")
        try await s.at("2026-01-20T09:00:00Z")
        _ = try await s.ok("deal.close", ["id": d3["id"] ?? .null, "outcome": "won"], uid: T.ivanov)
        _ = try await s.ok("deal.reopen", ["id": d3["id"] ?? .null], uid: T.head)
        try await agree(s, "an overdue deal closed and reopened")
        #expect(try await fromList(s).stages.values.reduce(0) { $0 + $1.overdue } > 0)
    }

    @Test("a manager's board: their own; another's is 1002; the head sees who lets deals rot first")
    func boardRights() async throws {
        let s = try await SalesTeam()
        let a = try await s.client("A LLC")
        let b = try await s.client("B LLC", by: T.petrov)
        _ = try await s.deal(a, "d1", ["amount": 100])
        _ = try await s.deal(b, "d2", by: T.petrov, ["amount": 300])
        _ = try await s.deal(b, "d3", by: T.petrov, ["amount": 300])
        try await s.advance("PT1H")
        _ = try await s.deal(a, "d4", ["amount": 100])
        #expect(errorCode(await s.call("pipeline.board", ["owner": "petrov"], uid: T.ivanov)) == ErrorCode.forbidden)
        #expect(try await fromBoard(s, uid: T.ivanov).owners == ["ivanov": Tally(count: 2, amount: 200, overdue: 0)])
        #expect(errorCode(await s.call("pipeline.board", ["pipeline": "Retail"])) == ErrorCode.validationFailed)
        // 09:00 two days on: petrov's two are overdue; ivanov's d1 is not, because starting d4 an
        // hour later was a contact with client A for d1 too (its cadence runs to 10:00).
        try await s.at("2026-01-14T09:30:00Z")
        let owners = try #require(try await s.ok("pipeline.board", [:], uid: T.head)["owners"]?.arrayValue)
        #expect(owners.map { $0["owner_login"] } == ["petrov", "ivanov"])
        #expect(owners.map { $0["overdue"] } == [2, 0])
        for uid in [T.accountant, T.director, T.operator_] {
            #expect(try await fromBoard(s, uid: uid).stages["New deal"]?.count == 4, "\(uid)")
        }
    }
}

extension DealHandlerBoardTests.Tally {
    mutating func add(_ d: JSON) {
        count += 1
        amount += d["amount"]?.intValue ?? 0
        if d["overdue"] == true { overdue += 1 }
    }
}
