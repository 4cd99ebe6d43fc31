import CRMCore
import CRMProtocol
import CRMStore
import Foundation
import Testing

@testable import CRMServer

/// The findings of the review of issue 17's server code, each a repro that failed before its fix.
@Suite("Deal and task handlers in-process: the review's findings")
struct DealReviewTests {
    typealias T = SalesTeam

    @Test("the board's sums saturate and its weighted sum cannot overflow, whatever the amounts")
    func boardDoesNotOverflow() async throws {
        // The product first (amount × probability) trapped for a stage's sum past 9.2e16.
        #expect(PipelineHandlers.weighted(.max, 100) == .max / 100 * 100 + .max % 100)
        #expect(PipelineHandlers.weighted(.max, 80) == .max / 100 * 80 + (.max % 100) * 80 / 100)
        #expect(PipelineHandlers.weighted(12_345, 30) == 3_703)
        #expect(Int64.max.saturatingAdd(1) == .max)
        #expect(Int64.min.saturatingAdd(-1) == .min)
        #expect(Int64(5).saturatingAdd(6) == 11)
        // And through the board: two deals at the largest amount.
        let s = try await SalesTeam()
        let c = try await s.client("Big LLC")
        for _ in 0..<2 { _ = try await s.deal(c, "max", ["amount": 10_000_000_000_000]) }
        let first = try #require(try await s.ok("pipeline.board", [:], uid: T.head)["stages"]?.arrayValue?.first)
        #expect(first["amount"] == .int(20_000_000_000_000))
        #expect(first["weighted"] == .int(2_000_000_000_000))
    }

    @Test("a client has at most deals.max_open_per_client open deals (1007); closing one makes room")
    func openDealsPerClient() async throws {
        let s = try await SalesTeam { $0.domain.deals.maxOpenDealsPerClient = 2 }
        let c = try await s.client("Busy LLC")
        let d1 = try await s.deal(c, "one")
        _ = try await s.deal(c, "two")
        #expect(errorCode(await s.call("deal.create", ["client_id": c, "title": "three"], uid: T.ivanov)) == ErrorCode.limitReached)
        _ = try await s.ok("deal.close", ["id": d1["id"] ?? .null, "outcome": "lost", "reason": "Price"], uid: T.ivanov)
        _ = try await s.deal(c, "three")
    }

    @Test("a manager does not read the comments and steps of another owner's deal on their client")
    func commentsOfAnothersDealAreHidden() async throws {
        let s = try await SalesTeam()
        let c = try await s.client("Shared LLC")  // ivanov's client
        let d = try await s.ok("deal.create", ["client_id": c, "title": "Secret sale", "owner": "petrov"], uid: T.head)
        _ = try await s.ok("interaction.log", ["client_id": c, "deal_id": d["id"] ?? .null, "kind": "note", "note": "SECRET"], uid: T.head)
        _ = try await s.ok("interaction.log", ["client_id": c, "kind": "call", "result": "plain call"], uid: T.ivanov)
        let list = try await s.ok("interaction.list", ["client_id": c], uid: T.ivanov)["items"]?.arrayValue ?? []
        #expect(!list.isEmpty)
        #expect(list.allSatisfy { $0["deal_id"] == .null }, "\(list)")
        let card = try await s.ok("client.get", ["id": c], uid: T.ivanov)
        #expect(card["interactions"]?.arrayValue?.allSatisfy { $0["deal_id"] == .null } == true)
        // The head sees them all; a note onto the deal by ivanov is refused like one onto no deal.
        let all = try await s.ok("interaction.list", ["client_id": c], uid: T.head)["items"]?.arrayValue ?? []
        #expect(all.contains { $0["note"] == "SECRET" })
        let onto = await s.call(
            "interaction.log", ["client_id": c, "deal_id": d["id"] ?? .null, "kind": "note", "note": "x"], uid: T.ivanov)
        #expect(errorFields(onto) == ["deal_id"])
    }

    @Test("a contact dated before the deal fell overdue, yet still past its cadence, does not announce it again")
    func backdatedContactDoesNotReannounce() async throws {
        let s = try await SalesTeam()
        let c = try await s.client("Late LLC")
        let d = try await s.deal(c, "late")
        try await s.advance("P3D")
        #expect(try s.events("deal.overdue").count == 1)
        // Logged now, dated a day after the deal opened: its cadence (P2D) ran out a day ago.
        _ = try await s.ok(
            "interaction.log",
            ["client_id": c, "deal_id": d["id"] ?? .null, "kind": "note", "note": "x", "occurred_at": "2026-01-13T09:00:00Z"],
            uid: T.ivanov)
        try await s.advance("PT1S")
        #expect(try s.events("deal.overdue").count == 1)
        #expect(try await s.get(d)["overdue"] == true)
    }

    @Test("a task reassigned after it was announced is announced to its new assignee")
    func reassignedTaskIsAnnounced() async throws {
        let s = try await SalesTeam()
        let t = try await s.ok("task.create", ["title": "T", "due_at": "2026-01-12T10:00:00Z", "assignee": "ivanov"], uid: T.head)
        try await s.advance("PT2H")
        #expect(try s.events("task.due").count == 1)
        _ = try await s.ok("task.update", ["id": t["id"] ?? .null, "assignee": "petrov"], uid: T.head)
        try await s.advance("PT1S")
        let due = try s.events("task.due")
        #expect(due.count == 2)
        #expect(due.last?.ownerID == s.ids["petrov"])
    }

    @Test("a deactivated user's open tasks go to the heir; they can still be named in list filters")
    func deactivationHandsTasks() async throws {
        let s = try await SalesTeam()
        let t = try await s.ok("task.create", ["title": "T", "due_at": "2026-01-20T10:00:00Z", "assignee": "ivanov"], uid: T.head)
        _ = try await s.ok("user.deactivate", ["login": "ivanov", "reassign_to": "petrov"])
        let moved = try await s.ok("task.list", ["assignee": "petrov"], uid: T.head)["items"]?.arrayValue ?? []
        #expect(moved.map { $0["id"] } == [t["id"]])
        #expect(try await s.ok("task.list", ["assignee": "ivanov"], uid: T.head)["items"]?.arrayValue == [])
        #expect(try await s.ok("deal.list", ["owner": "ivanov"], uid: T.head)["items"]?.arrayValue == [])
    }

    @Test("a currency must be an ISO 4217 code crmd knows")
    func currencyIsKnown() async throws {
        let s = try await SalesTeam()
        let c = try await s.client("Money LLC")
        #expect(errorFields(await s.call("deal.create", ["client_id": c, "title": "x", "currency": "XQZ"], uid: T.ivanov)) == ["currency"])
        #expect(try await s.deal(c, "x", ["currency": "eur"])["currency"] == "EUR")
    }
}
