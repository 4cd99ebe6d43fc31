import CRMCore
import CRMProtocol
import Foundation
import Testing

@testable import CRMServer

/// `deal.move` and `deal.list` in process.
@Suite("Deal handlers in-process: move and list")
struct DealHandlerMoveTests {
    typealias T = SalesTeam

    @Test("a manager moves one stage forward; skipping and going back are 1008 with from, to and next; a head may do both")
    func stageOrder() async throws {
        let s = try await SalesTeam()
        let d = try await s.deal(try await s.client("Order LLC"))
        let skip = await s.move(d, "Proposal under review")
        #expect(errorCode(skip) == ErrorCode.stageOrder)
        #expect(failure(skip)?.data?["reason"] == "stage_order")
        #expect(failure(skip)?.data?["from"] == "New deal")
        #expect(failure(skip)?.data?["to"] == "Proposal under review")
        #expect(failure(skip)?.data?["next"] == "Proposal sent")
        #expect(try await s.move(d, "Proposal sent").get()["stage"] == "Proposal sent")
        let back = await s.move(d, "New deal")
        #expect(errorCode(back) == ErrorCode.stageOrder)
        #expect(failure(back)?.message.description.contains("head") == true)
        // Unknown stages and outcomes are not stages; the same stage is a conflict.
        #expect(errorFields(await s.move(d, "Negotiation")) == ["stage"])
        #expect(errorCode(await s.move(d, "Won")) == ErrorCode.validationFailed)
        #expect(errorCode(await s.move(d, "Proposal sent")) == ErrorCode.conflict)
        // Not another manager's, an operator's, an accountant's or a director's to move.
        for uid in [T.petrov, T.operator_, T.accountant, T.director] {
            #expect(errorCode(await s.move(d, "Proposal under review", by: uid)) == ErrorCode.forbidden, "\(uid)")
        }
        // A head skips forward and goes back.
        #expect(try await s.move(d, "Contract discussion", by: T.head).get()["stage"] == "Contract discussion")
        #expect(try await s.move(d, "New deal", by: T.head).get()["stage"] == "New deal")
        #expect(try await s.get(d)["stage"] == "New deal")
    }

    @Test("a pipeline with allow_skip lets a manager skip forward, never back")
    func allowSkip() async throws {
        let s = try await SalesTeam { $0.domain.deals.pipelines[0].allowSkip = true }
        let d = try await s.deal(try await s.client("Skip LLC"))
        #expect(try await s.move(d, "Contract discussion").get()["stage"] == "Contract discussion")
        #expect(errorCode(await s.move(d, "Proposal sent")) == ErrorCode.stageOrder)
    }

    @Test("every move is recorded with its instant and author; the stage's probability and cadence follow")
    func movesRecorded() async throws {
        let s = try await SalesTeam()
        let d = try await s.deal(try await s.client("Moves LLC"))
        try await s.advance("PT3H")
        let m1 = try await s.move(d, "Proposal sent").get()
        #expect(m1["stage_entered_at"] == "2026-01-12T12:00:00Z")
        #expect(m1["last_contact_at"] == "2026-01-12T12:00:00Z")
        #expect(m1["probability"] == 30)
        #expect(m1["next_contact_due"] == "2026-01-15T12:00:00Z")
        try await s.advance("P1D")
        _ = try await s.move(d, "Contract discussion", by: T.head).get()
        let full = try await s.get(d)
        let moves = try #require(full["moves"]?.arrayValue)
        #expect(moves.map { $0["from"] } == [.null, "New deal", "Proposal sent"])
        #expect(moves.map { $0["to"] } == ["New deal", "Proposal sent", "Contract discussion"])
        #expect(moves.map { $0["at"] } == [.string(T.start), "2026-01-12T12:00:00Z", "2026-01-13T12:00:00Z"])
        #expect(moves.map { $0["by_login"] } == ["ivanov", "ivanov", "sidorova"])
        #expect(full["next_contact_due"] == "2026-01-14T12:00:00Z")
        // Each step is a contact of kind deal on the client.
        let kinds = try #require(full["interactions"]?.arrayValue).map { $0["kind"] }
        #expect(kinds == ["deal", "deal", "deal"])
        #expect(try s.events("deal.moved").count == 2)
    }

    @Test("a move resets the client's zone clock: a yellow client is green again, its last interaction the move's instant")
    func moveResetsZone() async throws {
        let s = try await SalesTeam()
        let c = try await s.client("Zone LLC")
        let d = try await s.deal(c)
        try await s.advance("P40D")
        #expect(try await s.ok("client.get", ["id": c])["zone"] == "yellow")
        _ = try await s.move(d, "Proposal sent").get()
        let card = try await s.ok("client.get", ["id": c])
        #expect(card["zone"] == "green")
        #expect(card["last_interaction_at"] == "2026-02-21T09:00:00Z")
        #expect(card["release_at"] == "2026-08-21T09:00:00Z")
        // A head's move counts for the owner too.
        try await s.advance("P40D")
        #expect(try await s.ok("client.get", ["id": c])["zone"] == "yellow")
        _ = try await s.move(d, "Proposal under review", by: T.head).get()
        #expect(try await s.ok("client.get", ["id": c])["zone"] == "green")
    }

    @Test("a new deal resets the zone too; closing counts as a contact")
    func createAndCloseResetZone() async throws {
        let s = try await SalesTeam()
        let c = try await s.client("Zone2 LLC")
        try await s.advance("P40D")
        #expect(try await s.ok("client.get", ["id": c])["zone"] == "yellow")
        let d = try await s.deal(c)
        #expect(try await s.ok("client.get", ["id": c])["zone"] == "green")
        try await s.advance("P40D")
        _ = try await s.ok("deal.close", ["id": d["id"] ?? .null, "outcome": "won"], uid: T.ivanov)
        let card = try await s.ok("client.get", ["id": c])
        #expect(card["zone"] == "green")
        #expect(card["last_interaction_at"] == "2026-04-02T09:00:00Z")
    }

    /// ivanov: d1 (A, open), d2 (B, Proposal sent), d4 (D, won), d5 (D, lost); petrov: d3 (C).
    func fiveDeals(_ s: SalesTeam) async throws -> (d: JSON, ids: [JSON]) {
        let a = try await s.client("A LLC")
        let b = try await s.client("B LLC")
        let c = try await s.client("C LLC", by: T.petrov)
        let dClient = try await s.client("D LLC")
        let d1 = try await s.deal(a, "d1", ["amount": 100])
        try await s.advance("PT1H")
        let d2 = try await s.deal(b, "d2")
        _ = try await s.move(d2, "Proposal sent").get()
        try await s.advance("PT1H")
        let d3 = try await s.deal(c, "d3", by: T.petrov)
        try await s.advance("PT1H")
        let d4 = try await s.deal(dClient, "d4")
        _ = try await s.ok("deal.close", ["id": d4["id"] ?? .null, "outcome": "won"], uid: T.ivanov)
        let d5 = try await s.deal(dClient, "d5")
        _ = try await s.ok("deal.close", ["id": d5["id"] ?? .null, "outcome": "lost", "reason": "Price"], uid: T.ivanov)
        return (dClient, try [d1, d2, d3, d4, d5].map { try #require($0["id"]) })
    }

    @Test("deal.list filters: owner, stage, status, client, overdue, period")
    func listFilters() async throws {
        let s = try await SalesTeam()
        let (d, id) = try await fiveDeals(s)
        func ids(_ p: JSONObject, uid: UInt32 = 0) async throws -> [JSON] {
            try await s.all("deal.list", p, uid: uid).compactMap { $0["id"] }
        }
        #expect(try await ids([:]) == id)
        #expect(try await ids(["owner": "ivanov"]) == [id[0], id[1], id[3], id[4]])
        #expect(try await ids(["owner": .int(s.ids["petrov"])]) == [id[2]])
        #expect(try await ids(["stage": "Proposal sent"]) == [id[1]])
        #expect(try await ids(["stage": "New deal", "status": "open"]) == [id[0], id[2]])
        #expect(try await ids(["status": "open"]) == [id[0], id[1], id[2]])
        #expect(try await ids(["status": "won"]) == [id[3]])
        #expect(try await ids(["status": "lost"]) == [id[4]])
        #expect(try await ids(["client_id": d]) == [id[3], id[4]])
        #expect(try await ids(["pipeline": "Sales", "owner": "petrov"]) == [id[2]])
        #expect(errorCode(await s.call("deal.list", ["status": "closed"])) == ErrorCode.invalidParams)
        #expect(errorCode(await s.call("deal.list", ["pipeline": "Retail"])) == ErrorCode.invalidParams)
        // The period: opened (open deals) or closed (closed ones) in [from, to).
        #expect(try await ids(["status": "open", "from": "2026-01-12T10:00:00Z", "to": "2026-01-12T11:00:00Z"]) == [id[1]])
        #expect(try await ids(["from": "2026-01-12T12:00:00Z"]) == [id[3], id[4]])
        #expect(try await ids(["to": "2026-01-12T10:00:00Z"]) == [id[0]])
        // Overdue: d1 falls due at 09:00 two days on, d3 at 11:00, d2 (P3D from 10:00) later.
        #expect(try await ids(["overdue": true]).isEmpty)
        try await s.at("2026-01-14T10:00:00Z")
        #expect(try await ids(["overdue": true]) == [id[0]])
        #expect(try await ids(["overdue": false, "status": "open"]) == [id[1], id[2]])
        // A manager lists their own only, and may not ask for another's.
        #expect(try await ids([:], uid: T.ivanov) == [id[0], id[1], id[3], id[4]])
        #expect(try await ids(["owner": "ivanov"], uid: T.ivanov) == [id[0], id[1], id[3], id[4]])
        #expect(errorCode(await s.call("deal.list", ["owner": "petrov"], uid: T.ivanov)) == ErrorCode.forbidden)
        #expect(try await ids(["client_id": d], uid: T.petrov).isEmpty)
        // Accountants read every deal (they will record payments).
        #expect(try await ids([:], uid: T.accountant) == id)
    }

    @Test("deal.list pages by id: every deal once, and a cursor stays good while deals are added and closed")
    func paging() async throws {
        let s = try await SalesTeam()
        let c = try await s.client("Paging LLC")
        for i in 1...7 { _ = try await s.deal(c, "deal \(i)") }
        let everything = try await s.ok("deal.list", ["limit": 100])["items"]?.arrayValue?.compactMap { $0["id"] } ?? []
        #expect(everything.count == 7)
        let paged = try await s.all("deal.list", ["limit": 2]).compactMap { $0["id"] }
        #expect(paged == everything)
        let first = try await s.ok("deal.list", ["limit": 3])
        let cursor = try #require(first["next_cursor"])
        #expect(!cursor.isNull)
        // Changes behind the cursor, and a new deal after it.
        _ = try await s.ok("deal.close", ["id": everything[0], "outcome": "won"], uid: T.ivanov)
        _ = try await s.move(first["items"]?.arrayValue?[1] ?? .null, "Proposal sent").get()
        let eighth = try #require(try await s.deal(c, "deal 8")["id"])
        let rest = try await s.all("deal.list", ["limit": 3, "cursor": cursor]).compactMap { $0["id"] }
        #expect(rest == Array(everything[3...]) + [eighth])
        let last = try await s.ok("deal.list", ["limit": 8])
        #expect(last["next_cursor"] == .null)
    }
}
