import CRMCore
import CRMProtocol
import Foundation
import Testing

@testable import CRMServer

/// `report.funnel`, `report.sales` and `report.completeness` in process, each against figures
/// worked out by hand from the story the test plays.
@Suite("Funnel, sales and completeness reports in-process")
struct SalesReportTests {
    typealias T = SalesTeam

    /// The row of `stage` (and `slice`) in a funnel.
    static func stage(_ r: JSON, _ stage: String, slice: String? = nil) -> JSON? {
        r["items"]?.arrayValue?.first { $0["stage"] == .string(stage) && (slice == nil || $0["slice"] == .string(slice)) }
    }

    @Test("Funnel: entries per stage in the period, what they did next, conversion, median and p90 of completed stays")
    func funnel() async throws {
        let s = try await SalesTeam()
        let d1 = try await s.deal(try await s.client("K1"), "D1")
        let d2 = try await s.deal(try await s.client("K2"), "D2")
        let d3 = try await s.deal(try await s.client("K3", by: T.petrov), "D3", by: T.petrov)
        let d4 = try await s.deal(try await s.client("K4", by: T.petrov), "D4", by: T.petrov)
        try await s.advance("P1D")
        _ = try await s.move(d1, "Proposal sent").get()
        _ = try await s.move(d4, "Proposal sent", by: T.petrov).get()
        try await s.advance("P1D")
        _ = try await s.ok("deal.close", ["id": d2["id"]!, "outcome": "lost", "reason": "Price"], uid: T.ivanov)
        try await s.advance("P1D")
        _ = try await s.move(d1, "Proposal under review").get()
        try await s.advance("P1D")
        _ = try await s.ok("deal.close", ["id": d1["id"]!, "outcome": "won", "amount": 1_000], uid: T.ivanov)
        _ = d3

        let day: Int64 = 86_400
        let r = try await s.ok("report.funnel", ["period": "2026-01"], uid: T.head)
        #expect(r["pipeline"] == "Sales")
        #expect(r["items"]?.arrayValue?.count == 5)
        let new = try #require(Self.stage(r, "New deal"))
        #expect(new["entered"] == 4)
        #expect(new["moved_on"] == 2)
        #expect(new["lost"] == 1)
        #expect(new["won"] == 0)
        #expect(new["still_in"] == 1)
        #expect(new["conversion_percent"] == 50)
        #expect(new["stays"] == 3)
        #expect(new["time_median_s"] == .int(day))  // 1, 1, 2 days
        #expect(new["time_p90_s"] == .int(2 * day))
        let sent = try #require(Self.stage(r, "Proposal sent"))
        #expect(sent["entered"] == 2)
        #expect(sent["moved_on"] == 1)
        #expect(sent["still_in"] == 1)
        #expect(sent["conversion_percent"] == 50)
        #expect(sent["time_median_s"] == .int(2 * day))
        let review = try #require(Self.stage(r, "Proposal under review"))
        #expect(review["entered"] == 1)
        #expect(review["won"] == 1)
        #expect(review["conversion_percent"] == 100)
        #expect(review["time_p90_s"] == .int(day))
        let last = try #require(Self.stage(r, "Contract discussion"))
        #expect(last["entered"] == 0)
        #expect(last["time_median_s"] == .null)

        // A period that starts after the deals were created sees only the later entries.
        let later = try await s.ok("report.funnel", ["from": "2026-01-13T00:00:00Z", "to": "2026-02-01T00:00:00Z"], uid: T.head)
        #expect(Self.stage(later, "New deal")?["entered"] == 0)
        #expect(Self.stage(later, "Proposal sent")?["entered"] == 2)
        // Past 45 days the report walks every step instead of seeking each entry's next: the same figures.
        let quarter = try await s.ok("report.funnel", ["period": "2026-Q1"], uid: T.head)
        #expect(quarter["items"] == r["items"])
        let laterWalk = try await s.ok("report.funnel", ["from": "2026-01-13T00:00:00Z", "to": "2026-03-01T00:00:00Z"], uid: T.head)
        #expect(laterWalk["items"] == later["items"])
        let byWalk = try await s.ok("report.funnel", ["period": "2026-Q1", "by": "manager"], uid: T.ivanov)
        #expect(Self.stage(byWalk, "New deal")?["lost"] == 1)
        #expect(Self.stage(byWalk, "New deal")?["entered"] == 2)

        // By manager, and a manager's own funnel holds only their deals.
        let by = try await s.ok("report.funnel", ["period": "2026-01", "by": "manager"], uid: T.director)
        #expect(Self.stage(by, "New deal", slice: "ivanov")?["entered"] == 2)
        #expect(Self.stage(by, "New deal", slice: "petrov")?["entered"] == 2)
        #expect(Self.stage(by, "New deal", slice: "petrov")?["owner"] == .int(s.ids["petrov"]!))
        let own = try await s.ok("report.funnel", ["period": "2026-01", "by": "manager"], uid: T.ivanov)
        #expect(Set(own["items"]?.arrayValue?.compactMap { $0["slice"]?.stringValue } ?? []) == ["ivanov"])
        #expect(Self.stage(own, "New deal")?["lost"] == 1)
        #expect(errorCode(await s.call("report.funnel", ["period": "2026-01", "owner": "petrov"], uid: T.ivanov)) != nil)
        let petrovs = try await s.ok("report.funnel", ["period": "2026-01", "owner": "petrov"], uid: T.head)
        #expect(Self.stage(petrovs, "New deal")?["entered"] == 2)
        // Rights: no funnel for accountants and operators; an unknown pipeline is a bad param.
        #expect(errorCode(await s.call("report.funnel", ["period": "2026-01"], uid: T.accountant)) != nil)
        #expect(errorCode(await s.call("report.funnel", ["period": "2026-01"], uid: T.operator_)) != nil)
        #expect(errorFields(await s.call("report.funnel", ["period": "2026-01", "pipeline": "Nope"], uid: T.head)) == ["pipeline"])
    }

    @Test("Sales: won, lost with reasons, win rate, paid, average deal and duration per manager and team; other currencies apart")
    func sales() async throws {
        let s = try await SalesTeam()
        _ = try await s.ok("user.update", ["login": "ivanov", "team": "North"])
        let a = try await s.deal(try await s.client("A"), "A")
        let b = try await s.deal(try await s.client("B"), "B")
        let c = try await s.deal(try await s.client("C"), "C")
        let pc = try await s.client("P", by: T.petrov)
        let d = try await s.deal(pc, "D", by: T.petrov)
        let e = try await s.deal(pc, "E", by: T.petrov, ["currency": "USD"])
        try await s.advance("P2D")
        _ = try await s.ok("deal.close", ["id": b["id"]!, "outcome": "won", "amount": 50_001], uid: T.ivanov)
        _ = try await s.ok("deal.close", ["id": c["id"]!, "outcome": "lost", "reason": "Price"], uid: T.ivanov)
        _ = try await s.ok("deal.close", ["id": d["id"]!, "outcome": "lost", "reason": "Competitor"], uid: T.petrov)
        _ = try await s.ok("deal.close", ["id": e["id"]!, "outcome": "won", "amount": 7_000], uid: T.petrov)
        try await s.advance("P2D")
        _ = try await s.ok("deal.close", ["id": a["id"]!, "outcome": "won", "amount": 100_000], uid: T.ivanov)
        try await CommissionTests.pay(
            s, deal: a["id"]!.intValue!, owner: s.ids["ivanov"]!, amounts: [(30_000, "2026-01-16", "2026-01-15T21:00:00Z")])

        let r = try await s.ok("report.sales", ["period": "2026-01", "by": "manager"], uid: T.accountant)
        let items = r["items"]?.arrayValue ?? []
        #expect(items.map { $0["slice"] } == ["ivanov", "petrov"])
        let iv = items[0]
        #expect(iv["owner"] == .int(s.ids["ivanov"]!))
        #expect(iv["won"] == 2)
        #expect(iv["won_amount"] == 150_001)
        #expect(iv["lost"] == 1)
        #expect(iv["lost_reasons"] == ["Price": 1])
        #expect(iv["win_rate_percent"] == 66)
        #expect(iv["paid"] == 30_000)
        #expect(iv["average_won"] == 75_000)
        #expect(iv["average_days"] == .double(3))
        let pe = items[1]
        #expect(pe["won"] == 0)
        #expect(pe["lost_reasons"] == ["Competitor": 1])
        #expect(pe["average_won"] == .null)
        #expect(r["total"]?["won"] == 2)
        #expect(r["total"]?["lost"] == 2)
        #expect(r["total"]?["win_rate_percent"] == 50)
        #expect(r["total"]?["lost_reasons"] == ["Competitor": 1, "Price": 1])
        #expect(r["other_currencies"] == [["currency": "USD", "won": 1, "won_amount": 7_000]])

        let teams = try await s.ok("report.sales", ["period": "2026-01", "by": "team"], uid: T.head)
        #expect(teams["items"]?.arrayValue?.map { $0["slice"] } == ["(no team)", "North"])
        let own = try await s.ok("report.sales", ["period": "2026-01"], uid: T.petrov)
        #expect(own["items"]?.arrayValue?.map { $0["slice"] } == ["petrov"])
        #expect(own["total"]?["won"] == 0)
        #expect(errorCode(await s.call("report.sales", ["period": "2026-01"], uid: T.operator_)) != nil)
    }

    @Test("Completeness: the minimal data set, a decision maker, segment and source per manager and for the department")
    func completeness() async throws {
        let s = try await SalesTeam()
        let k1 = try await s.ok(
            "client.create", ["name": "K1", "phones": ["+7 901 000-00-01"], "segment": "Retail", "source": "web"], uid: T.ivanov)["id"]!
        _ = try await s.ok("contact.create", ["client_id": k1, "name": "Boss", "decision_maker": true], uid: T.ivanov)
        _ = try await s.ok("client.create", ["name": "K2", "emails": ["k2@example.com"], "segment": "Retail"], uid: T.ivanov)
        let k3 = try await s.client("K3")
        _ = try await s.ok("contact.create", ["client_id": k3, "name": "Clerk", "phones": ["+7 901 000-00-03"]], uid: T.ivanov)
        _ = try await s.client("K4 Secret", by: T.petrov)
        let k5 = try await s.ok("client.create", ["name": "K5", "phones": ["+7 901 000-00-05"]])["id"]!
        _ = try await s.ok("contact.create", ["client_id": k5, "name": "Owner", "decision_maker": true])

        let r = try await s.ok("report.completeness", ["by": "manager"], uid: T.head)
        let items = r["items"]?.arrayValue ?? []
        #expect(items.map { $0["owner_login"] } == ["ivanov", "petrov"])
        let iv = items[0]
        #expect(iv["clients"] == 3)
        #expect(iv["minimal"] == 2)
        #expect(iv["minimal_percent"] == 66)
        #expect(iv["decision_maker"] == 1)
        #expect(iv["segment"] == 2)
        #expect(iv["source"] == 1)
        #expect(items[1]["clients"] == 1)
        #expect(items[1]["minimal"] == 0)
        let total = try #require(r["total"])
        #expect(total["clients"] == 5)
        #expect(total["minimal"] == 3)
        #expect(total["decision_maker"] == 2)
        #expect(total["decision_maker_percent"] == 40)
        let own = try await s.ok("report.completeness", [:], uid: T.ivanov)
        #expect(own["items"]?.arrayValue?.map { $0["owner_login"] } == ["ivanov"])
        #expect(own["total"] == .null)
        #expect(!JSONWriter.string(own).contains("Secret"))
        #expect(errorCode(await s.call("report.completeness", [:], uid: T.accountant)) != nil)
    }
}
