import CRMCore
import CRMProtocol
import Foundation
import Testing

@testable import CRMServer

/// Server bugs found while testing issue 17, each a minimal repro that failed until it was fixed.
@Suite("Deal and task handlers in-process: the cases issue 17's first tests found")
struct DealHandlerFixedTests {
    typealias T = SalesTeam

    @Test("a head may give a task to anyone (rights table), an operator, accountant or director included")
    func taskForUserWhoLeadsNoClients() async throws {
        let s = try await SalesTeam()
        let r = await s.call(
            "task.create", ["title": "Call the client back", "due_at": "2026-01-12T15:00:00Z", "assignee": "olga"], uid: T.head)
        #expect(errorCode(r) == nil, "\(failure(r)?.message.description ?? "")")
        // The operator's own task is there, but a head may not list it nor see the operator's day.
        _ = try await s.ok("task.create", ["title": "own", "due_at": "2026-01-12T15:00:00Z"], uid: T.operator_)
        let list = await s.call("task.list", ["assignee": "olga"], uid: T.head)
        #expect(errorCode(list) == nil, "\(failure(list)?.message.description ?? "")")
        let day = await s.call("today", ["user": "buh"], uid: T.head)
        #expect(errorCode(day) == nil, "\(failure(day)?.message.description ?? "")")
    }

    @Test("deal.attach_write refuses a chunk of 512 KiB + 1 byte: data is at most 512 KiB once decoded")
    func chunkOneByteOverLimit() async throws {
        let s = try await SalesTeam()
        let d = try await s.deal(try await s.client("Chunk LLC"))
        let chunk = (512 << 10) + 1
        let a = try await s.ok(
            "deal.attach",
            [
                "deal_id": d["id"] ?? .null, "name": "big.bin", "size": .int(chunk + 10),
                "sha256": .string(String(repeating: "0", count: 64)),
            ],
            uid: T.ivanov)
        let data = Data(repeating: 7, count: chunk)
        let r = await s.call(
            "deal.attach_write", ["id": a["id"] ?? .null, "offset": 0, "data": .string(data.base64EncodedString())], uid: T.ivanov)
        // Today: taken, received 524289.
        #expect(errorFields(r) == ["data"], "a \(chunk)-byte chunk was taken: \((try? r.get())?["received"] ?? .null)")
    }

    @Test("deals.exempt_from_stage: a client with an open deal at that stage is held back from release")
    func exemptFromStageHolds() async throws {
        let s = try await SalesTeam { $0.domain.deals.exemptFromStage = "Proposal sent" }
        let c = try await s.client("Held LLC")
        _ = try await s.move(try await s.deal(c), "Proposal sent").get()
        // Six months and a day without a contact: the deal at "Proposal sent" is to hold it back.
        try await s.advance("P6M")
        try await s.advance("P1D")
        let card = try await s.ok("client.get", ["id": c])
        #expect(card["status"] == "assigned", "released though its deal is at the exempting stage")
        #expect(card["owner_login"] == "ivanov")
    }
}
