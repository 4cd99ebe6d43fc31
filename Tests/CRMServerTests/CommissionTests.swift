import CRMCore
import CRMProtocol
import Foundation
import Testing

@testable import CRMServer
@testable import CRMStore

/// `report.commission` in process: the rate rules, both bases, own rows, and the user's rate and
/// team set by `user.update`.
@Suite("report.commission in-process")
struct CommissionTests {
    typealias T = SalesTeam

    /// A deal of `uid`'s on `client`, closed as won with `amount`; its id.
    static func won(_ s: SalesTeam, _ client: JSON, _ title: String, _ amount: Int64, by uid: UInt32 = T.ivanov, _ extra: JSONObject = [:])
        async throws -> Int64
    {
        let d = try await s.deal(client, title, by: uid, extra)
        _ = try await s.ok("deal.close", ["id": d["id"] ?? .null, "outcome": "won", "amount": .int(amount)], uid: uid)
        return try #require(d["id"]?.intValue)
    }

    /// The item of `login` in a commission report.
    static func item(_ r: JSON, _ login: String) -> JSON? {
        r["items"]?.arrayValue?.first { $0["login"] == .string(login) }
    }

    @Test("Dmitry sold 1 million, his 2 % is 20,000: a won deal of 100,000,000 kopecks at 200 bp earns 2,000,000")
    func dmitry() async throws {
        let s = try await SalesTeam()
        let u = try await s.ok("user.update", ["login": "ivanov", "commission_bp": 200])
        #expect(u["commission_bp"] == 200)
        let c = try await s.client("Romashka LLC")
        let id = try await Self.won(s, c, "Big order", 100_000_000)
        let r = try await s.ok("report.commission", ["period": "2026-01", "lines": true], uid: T.head)
        #expect(r["basis"] == "won")
        #expect(r["currency"] == "RUB")
        #expect(r["from"] == "2025-12-31T21:00:00Z")
        let item = try #require(Self.item(r, "ivanov"))
        #expect(item["base"] == 100_000_000)
        #expect(item["rate_bp"] == 200)
        #expect(item["commission"] == 2_000_000)
        #expect(item["commission_text"] == "20000.00")
        #expect(item["deals"] == [.int(id)])
        let line = try #require(item["lines"]?.arrayValue?.first)
        #expect(line["deal_id"] == .int(id))
        #expect(line["title"] == "Big order")
        #expect(line["rate_source"] == "user")
        #expect(line["commission"] == 2_000_000)
        #expect(r["total"]?["commission"] == 2_000_000)
        let short = try await s.ok("report.commission", ["period": "2026-01"], uid: T.head)
        #expect(Self.item(short, "ivanov")?["lines"] == .null)
        #expect(Self.item(short, "ivanov")?["commission"] == 2_000_000)
        // Next month holds nothing: a sale counts in the period it was won.
        let feb = try await s.ok("report.commission", ["period": "2026-02", "lines": true], uid: T.head)
        #expect(feb["items"] == [])
        #expect(feb["total"]?["commission"] == 0)
    }

    @Test("Segment beats pipeline beats the user's rate beats the default; lines add up half up per line")
    func precedence() async throws {
        let s = try await SalesTeam { st in
            st.domain.commission.defaultBP = 50
            st.domain.commission.segments = ["Wholesale": 150]
        }
        _ = try await s.ok("user.update", ["login": "ivanov", "commission_bp": 250])
        let wholesale = try await s.ok("client.create", ["name": "Opt", "segment": "Wholesale"], uid: T.ivanov)["id"]!
        let retail = try await s.ok("client.create", ["name": "Roznica", "segment": "Retail"], uid: T.ivanov)["id"]!
        let a = try await Self.won(s, wholesale, "A", 1_000_001)  // 150 bp: 15000.015 -> 15000
        let b = try await Self.won(s, retail, "B", 333)  // 250 bp: 8.325 -> 8
        let pc = try await s.client("Petrov's", by: T.petrov)
        let p = try await Self.won(s, pc, "P", 1_001, by: T.petrov)  // default 50 bp: 5.005 -> 5
        let r = try await s.ok("report.commission", ["period": "2026-01", "lines": true], uid: T.accountant)
        let iv = try #require(Self.item(r, "ivanov"))
        let lines = iv["lines"]?.arrayValue ?? []
        #expect(lines.map { $0["deal_id"] } == [.int(a), .int(b)])
        #expect(lines.map { $0["rate_source"] } == ["segment", "user"])
        #expect(lines.map { $0["rate_bp"] } == [150, 250])
        #expect(lines.map { $0["commission"] } == [15_000, 8])
        #expect(iv["commission"] == 15_008)
        #expect(iv["base"] == 1_000_334)
        #expect(iv["rate_bp"] == 250)
        let pe = try #require(Self.item(r, "petrov"))
        #expect(pe["lines"]?.arrayValue?.first?["rate_source"] == "default")
        #expect(pe["commission"] == 5)
        #expect(pe["deals"] == [.int(p)])
        #expect(r["total"]?["commission"] == 15_013)

        // A pipeline's rate beats the user's (but not the segment's).
        let s2 = try await SalesTeam { st in
            st.domain.commission.pipelines = ["Sales": 300]
            st.domain.commission.segments = ["Wholesale": 150]
        }
        _ = try await s2.ok("user.update", ["login": "ivanov", "commission_bp": 250])
        let c2 = try await s2.client("Any")
        _ = try await Self.won(s2, c2, "Z", 10_000)
        let r2 = try await s2.ok("report.commission", ["period": "2026-01", "lines": true], uid: T.director)
        #expect(Self.item(r2, "ivanov")?["lines"]?.arrayValue?.first?["rate_source"] == "pipeline")
        #expect(Self.item(r2, "ivanov")?["commission"] == 300)
    }

    @Test("A manager sees only their own row and lines; others by role; operators not at all")
    func ownRow() async throws {
        let s = try await SalesTeam()
        _ = try await Self.won(s, try await s.client("Mine"), "Mine deal", 1_000)
        _ = try await Self.won(s, try await s.client("Secret client", by: T.petrov), "Secret deal", 2_000, by: T.petrov)
        let mine = try await s.ok("report.commission", ["period": "2026-01", "lines": true], uid: T.ivanov)
        #expect(mine["items"]?.arrayValue?.map { $0["login"] } == ["ivanov"])
        #expect(!JSONWriter.string(mine).contains("Secret"))
        #expect(mine["total"]?["base"] == 1_000)
        // Naming another manager is refused; naming oneself is fine.
        #expect(errorCode(await s.call("report.commission", ["period": "2026-01", "user": "petrov"], uid: T.ivanov)) != nil)
        let self_ = try await s.ok("report.commission", ["period": "2026-01", "user": "ivanov"], uid: T.ivanov)
        #expect(self_["items"]?.arrayValue?.count == 1)
        for uid in [T.head, T.director, T.accountant, 0] {
            let all = try await s.ok("report.commission", ["period": "2026-01", "lines": true], uid: uid)
            #expect(all["items"]?.arrayValue?.map { $0["login"] } == ["ivanov", "petrov"])
        }
        let one = try await s.ok("report.commission", ["period": "2026-01", "user": "petrov"], uid: T.head)
        #expect(one["items"]?.arrayValue?.map { $0["login"] } == ["petrov"])
        #expect(errorCode(await s.call("report.commission", ["period": "2026-01", "lines": true], uid: T.operator_)) != nil)
    }

    @Test("Basis paid: the payments dated in the period, credited to the owner when paid; other currencies and periods do not count")
    func paidBasis() async throws {
        let s = try await SalesTeam { st in st.domain.commission.basis = .paid }
        _ = try await s.ok("user.update", ["login": "ivanov", "commission_bp": 1_000])
        let c = try await s.client("Payer")
        let d = try await s.deal(c, "Paid in parts", ["amount": 90_000])
        let id = try #require(d["id"]?.intValue)
        let usd = try #require(try await s.deal(c, "Dollars", ["amount": 5_000, "currency": "USD"])["id"]?.intValue)
        let ivanov = try #require(s.ids["ivanov"])
        try await Self.pay(
            s, deal: id, owner: ivanov,
            amounts: [
                (30_000, "2026-01-15", "2026-01-14T21:00:00Z"), (25_005, "2026-01-31", "2026-01-30T21:00:00Z"),
                (35_000, "2026-02-01", "2026-01-31T21:00:00Z"),
            ])
        try await Self.pay(s, deal: usd, owner: ivanov, amounts: [(5_000, "2026-01-20", "2026-01-19T21:00:00Z")], currency: "USD")
        let r = try await s.ok("report.commission", ["period": "2026-01", "lines": true], uid: T.accountant)
        #expect(r["basis"] == "paid")
        let item = try #require(Self.item(r, "ivanov"))
        #expect(item["deals"] == [.int(id)])
        #expect(item["base"] == 55_005)
        #expect(item["commission"] == 5_501)  // 5500.5 -> 5501
        let feb = try await s.ok("report.commission", ["period": "2026-02", "lines": true], uid: T.accountant)
        #expect(Self.item(feb, "ivanov")?["base"] == 35_000)
    }

    /// Records payments on a deal as invoice.pay would (an invoice and its payments rows).
    static func pay(
        _ s: SalesTeam, deal: Int64, owner: Int64, amounts: [(Int64, String, String)], currency: String = "RUB"
    ) async throws {
        let total = amounts.reduce(0) { $0 + $1.0 }
        let rows = try amounts.map { ($0.0, $0.1, ms(try at($0.2))) }
        try await s.crm.store.write { tx in
            try tx.exec(
                """
                INSERT INTO invoices(deal_id, number, amount, currency, paid, status, due_on, overdue_at, creator_login, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, 'paid', '2026-02-28', 0, 'buh', 0, 0)
                """, [deal, "INV-\(deal)", total, currency, total])
            let invoice = tx.lastID
            for (amount, day, paidAt) in rows {
                try tx.exec(
                    """
                    INSERT INTO payments(invoice_id, deal_id, owner_id, amount, paid_on, paid_at, by_login, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, 'buh', 0)
                    """, [invoice, deal, owner, amount, day, paidAt])
            }
        }
    }

    @Test("user.update and user.add take commission_bp (0-10000 or null) and team (1-64 characters or null); heads see them")
    func userFields() async throws {
        let s = try await SalesTeam()
        let u = try await s.ok("user.update", ["login": "petrov", "commission_bp": 175, "team": " North "])
        #expect(u["commission_bp"] == 175)
        #expect(u["team"] == "North")
        let cleared = try await s.ok("user.update", ["login": "petrov", "commission_bp": nil, "team": nil])
        #expect(cleared["commission_bp"] == .null)
        #expect(cleared["team"] == .null)
        let added = try await s.ok(
            "user.add", ["login": "new1", "name": "New", "role": "manager", "commission_bp": 300, "team": "South"])
        #expect(added["commission_bp"] == 300)
        #expect(added["team"] == "South")
        for bad: JSONObject in [
            ["commission_bp": 10_001], ["commission_bp": -1], ["team": ""], ["team": .string(String(repeating: "t", count: 65))],
        ] {
            var p: JSONObject = ["login": "petrov"]
            for k in bad.keys { p[k] = bad[k] }
            let r = await s.call("user.update", p)
            #expect(errorCode(r) == -32602)
            #expect(errorFields(r) == bad.keys)
        }
        let seenByHead = try await s.ok("user.list", [:], uid: T.head)["items"]?.arrayValue ?? []
        #expect(seenByHead.first { $0["login"] == "new1" }?["team"] == "South")
        let seenByManager = try await s.ok("user.list", [:], uid: T.ivanov)["items"]?.arrayValue ?? []
        #expect(seenByManager.first { $0["login"] == "new1" }?["commission_bp"] == nil)
        // A manager may not set their own rate.
        #expect(errorCode(await s.call("user.update", ["login": "ivanov", "commission_bp": 10_000], uid: T.ivanov)) != nil)
    }

    @Test("A span is a period or from and to, at most 366 days")
    func spans() async throws {
        let s = try await SalesTeam()
        for (p, field): (JSONObject, String) in [
            ([:], "from"), (["period": "2026-13"], "period"), (["period": "2026-01", "from": "2026-01-01T00:00:00Z"], "period"),
            (["from": "2026-01-01T00:00:00Z", "to": "2027-01-03T00:00:00Z"], "to"),
            (["from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"], "to"),
        ] {
            let r = await s.call("report.commission", p, uid: T.head)
            #expect(errorCode(r) == -32602, "\(p)")
            #expect(errorFields(r) == [field], "\(p)")
        }
        _ = try await s.ok("report.commission", ["from": "2026-01-01T00:00:00Z", "to": "2027-01-02T00:00:00Z"], uid: T.head)
        _ = try await s.ok("report.commission", ["period": "2026-Q1"], uid: T.head)
        _ = try await s.ok("report.commission", ["period": "2026-W03"], uid: T.head)
    }
}
