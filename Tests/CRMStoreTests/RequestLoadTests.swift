import CRMCore
import CRMStore
import Foundation
import Testing

/// Each manager's routed requests, kept by v22's triggers, against a count of the table after
/// every kind of change a request goes through.
@Suite("Store: routed requests per manager")
struct RequestLoadTests {
    /// The load routing reads, by manager id, against `count(*)` of the routed rows.
    func loads(_ tx: Tx) throws -> (kept: [Int64: Int], counted: [Int64: Int]) {
        var kept: [Int64: Int] = [:]
        for c in try tx.routingCandidates() where c.load != 0 { kept[c.id] = c.load }
        var counted: [Int64: Int] = [:]
        for (id, n) in try tx.routedCounts() { counted[id] = n }
        return (kept, counted)
    }

    @Test("routed, re-routed, taken, closed and new again: the kept load equals the count after each step")
    func loadFollowsEveryChange() async throws {
        try await withStore { store, _ in
            try await store.write { tx in
                let a = try tx.insertUser(login: "a", name: "A", role: .manager, uid: nil, now: t0).id
                let b = try tx.insertUser(login: "b", name: "B", role: .manager, uid: nil, now: t0).id
                func check(_ expected: [Int64: Int], _ step: String) throws {
                    let (kept, counted) = try loads(tx)
                    #expect(kept == counted, "\(step): kept \(kept), counted \(counted)")
                    #expect(kept == expected, "\(step)")
                }
                func draft(_ status: InboundRequest.Status, _ to: Int64?) -> InboundRequest {
                    InboundRequest(
                        name: "x", phone: nil, email: nil, source: "site", topic: nil, text: nil, status: status, assigneeID: to,
                        createdAt: t0, creatorLogin: "op")
                }
                var q1 = try tx.insertInboundRequest(draft(.routed, a))
                var q2 = try tx.insertInboundRequest(draft(.routed, a))
                var q3 = try tx.insertInboundRequest(draft(.new, nil))
                try check([a: 2], "inserted")
                q1.assigneeID = b  // re-routed after its SLA
                try tx.updateInboundRequest(q1)
                try check([a: 1, b: 1], "re-routed")
                q2.status = .taken
                try tx.updateInboundRequest(q2)
                try check([b: 1], "taken")
                q3.status = .routed
                q3.assigneeID = b
                try tx.updateInboundRequest(q3)
                try check([b: 2], "routed in the morning")
                q3.status = .closed
                try tx.updateInboundRequest(q3)
                q1.status = .new  // nobody available: back to new
                q1.assigneeID = nil
                try tx.updateInboundRequest(q1)
                try check([:], "closed and back to new")
                try tx.updateInboundRequest(q1)  // the same row saved again changes nothing
                try check([:], "saved again")
            }
        }
    }
}
