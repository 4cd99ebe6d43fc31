import CRMCore
import CRMProtocol
import CRMStore
import Foundation
import Testing

@testable import CRMServer

/// report.activity in process on the manual clock (SalesTeam, 2026-01-12 09:00Z): counts per
/// manager and team, cold calls after a claim or a client taken from unassigned, and rights.
@Suite("report.activity")
struct ActivityReportTests {
    func log(_ t: SalesTeam, _ client: JSON, _ kind: String, by uid: UInt32 = SalesTeam.ivanov) async throws {
        _ = try await t.ok("interaction.log", ["client_id": client, "kind": .string(kind), "result": "ok", "note": "n"], uid: uid)
    }

    func row(_ r: JSON, _ login: String) -> JSON? { r["items"]?.arrayValue?.first { $0["login"]?.stringValue == login } }

    @Test("per manager: calls, emails, notes and cold calls (a claim, a client taken from unassigned, within the window)")
    func perManager() async throws {
        let t = try await SalesTeam { $0.coldCallWindowSeconds = 3 * 86_400 }
        let own = try await t.client("Own LLC")
        try await log(t, own, "call")  // warm: created by ivanov himself
        try await log(t, own, "email")
        try await log(t, own, "note")
        // From the exchange: claimed, then called twice inside the window and once after it.
        let free = try #require(try await t.ok("client.create", ["name": "Free LLC"])["id"])
        _ = try await t.ok("exchange.claim", ["id": free], uid: SalesTeam.ivanov)
        try await log(t, free, "call")
        try await t.advance("P1D")
        try await log(t, free, "call")
        // Unassigned and given back: a call before the taking is no cold call.
        _ = try await t.ok("client.assign", ["id": own, "owner": .null], uid: SalesTeam.head)
        _ = try await t.ok("client.assign", ["id": own, "owner": "ivanov"], uid: SalesTeam.head)
        try await t.advance("P3D")
        try await log(t, free, "call")
        // From unassigned: a head gives petrov a client nobody led; his call the next day is cold.
        let nobody = try #require(try await t.ok("client.create", ["name": "Nobody LLC"])["id"])
        _ = try await t.ok("client.assign", ["id": nobody, "owner": "petrov"], uid: SalesTeam.head)
        try await t.advance("P1D")
        try await log(t, nobody, "call", by: SalesTeam.petrov)
        // A client given from one manager to another is not cold.
        let moved = try await t.client("Moved LLC")
        _ = try await t.ok("client.assign", ["id": moved, "owner": "petrov"], uid: SalesTeam.head)
        try await log(t, moved, "call", by: SalesTeam.petrov)

        let r = try await t.ok("report.activity", ["period": "2026-01"], uid: SalesTeam.head)
        let iv = try #require(row(r, "ivanov"))
        #expect(iv["calls"] == 4)
        #expect(iv["emails"] == 1)
        #expect(iv["notes"] == 1)
        #expect(iv["cold_calls"] == 2)
        #expect(iv["total"] == 6)
        let pe = try #require(row(r, "petrov"))
        #expect(pe["calls"] == 2)
        #expect(pe["cold_calls"] == 1)
        #expect(r["totals"]?["calls"] == 6)
        #expect(r["totals"]?["cold_calls"] == 3)
        // A span that starts after the claim still counts the window's calls inside it.
        let late = try await t.ok(
            "report.activity", ["from": "2026-01-13T08:00:00Z", "to": "2026-02-01T00:00:00Z"], uid: SalesTeam.head)
        #expect(row(late, "ivanov")?["cold_calls"] == 1)
        // A manager sees their own row only.
        let mine = try await t.ok("report.activity", ["period": "2026-01"], uid: SalesTeam.petrov)
        #expect(mine["items"]?.arrayValue?.map { $0["login"] } == ["petrov"])
        let refused = await t.call("report.activity", ["period": "2026-01"], uid: SalesTeam.accountant)
        if case .failure(let e) = refused {
            #expect(e.code == ErrorCode.forbidden)
        } else {
            Issue.record("an accountant ran report.activity")
        }
    }

    @Test("by team: members' rows summed")
    func byTeam() async throws {
        let t = try await SalesTeam()
        try await t.northTeam()
        let a = try await t.client("A LLC")
        let b = try await t.client("B LLC", by: SalesTeam.petrov)
        try await log(t, a, "call")
        try await log(t, b, "email", by: SalesTeam.petrov)
        let r = try await t.ok("report.activity", ["period": "2026-01", "by": "team"], uid: SalesTeam.director)
        let north = try #require(r["items"]?.arrayValue?.first)
        #expect(north["team"] == "North")
        #expect(north["members"] == 2)
        #expect(north["calls"] == 1)
        #expect(north["emails"] == 1)
    }
}
