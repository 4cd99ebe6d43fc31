import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import Testing

/// `report.exchange` (issue 21) on a small known history, on the real crmd with a manual clock.
@Suite("The exchange report")
struct ExchangeReportTests: ManualClockSuite {
    @Test("released, claimed, days on the exchange, and what came of claims against kept clients")
    func knownHistory() throws {
        let d = try daemon(start: "2026-01-12T09:00:00Z")
        defer { d.stop() }
        let admin = try d.connect()
        try seedTeam(admin)
        let a = try admin.call("client.create", ["name": "Released A", "owner": "ivanov"])["id"]!
        let b = try admin.call("client.create", ["name": "Released B", "owner": "ivanov"])["id"]!
        let k = try admin.call("client.create", ["name": "Kept K", "owner": "sidorov"])["id"]!
        _ = try admin.call("clock.advance", ["by": "PT1H"])
        // The period starts now: A and B are released in it, K was led before it.
        _ = try admin.call("client.release", ["id": a, "reason": "quiet"])
        _ = try admin.call("client.release", ["id": b, "reason": "quiet"])
        let sidorov = try d.connect()
        _ = try sidorov.call("session.act_as", ["login": "sidorov"])
        _ = try sidorov.call("interaction.log", ["client_id": k, "kind": "call", "result": "still buying"])
        _ = try admin.call("clock.advance", ["by": "P2D"])
        _ = try sidorov.call("exchange.claim", ["id": a])  // after 2 days on the exchange
        _ = try admin.call("clock.advance", ["by": "P1D"])
        _ = try sidorov.call("interaction.log", ["client_id": a, "kind": "call", "result": "interested"])
        let deal = try sidorov.call("deal.create", ["client_id": a, "title": "Shelves", "amount": 100_000])["id"]!
        _ = try sidorov.call("deal.close", ["id": deal, "outcome": "won"])
        _ = try admin.call("clock.advance", ["by": "P3D"])
        _ = try sidorov.call("exchange.claim", ["id": b])  // after 6 days
        let span: JSON = ["from": "2026-01-12T10:00:00Z", "to": "2026-02-01T00:00:00Z"]
        let r = try admin.call("report.exchange", span)
        let rows = Dictionary(uniqueKeysWithValues: (r["items"]?.arrayValue ?? []).map { ($0["login"]!.stringValue!, $0) })
        let s = try #require(rows["sidorov"])
        #expect(s["released"] == 0)
        #expect(s["claimed"] == 2)
        #expect(s["avg_days_on_exchange"] == 4)  // (2 + 6) / 2 days
        #expect(s["claimed_contacted_7d"] == 1)
        #expect(s["claimed_contacted_7d_bp"] == 5_000)
        #expect(s["claimed_deal_90d"] == 1)
        #expect(s["claimed_revenue_90d"] == 100_000)
        #expect(s["kept"] == 1)
        #expect(s["kept_contacted_7d"] == 1)
        #expect(s["kept_deal_90d"] == 0)
        #expect(s["kept_revenue_90d"] == 0)
        let i = try #require(rows["ivanov"])
        #expect(i["released"] == 2)
        #expect(i["claimed"] == 0)
        #expect(i["kept"] == 0)
        #expect(r["totals"]?["released"] == 2)
        #expect(r["totals"]?["claimed"] == 2)
        // A manager sees their own row only.
        let mine = try sidorov.call("report.exchange", span)
        #expect(mine["items"]?.arrayValue?.map { $0["login"] } == ["sidorov"])
        #expect(mine["scope"] == "own")
    }
}
