import CRMCore
import CRMProtocol
import CRMStore
import Foundation
import Testing

@testable import CRMServer

/// `segment.mailing` and `segment.stats` in process: opt-outs, deduplication, mobiles only for
/// SMS, paging, the audit of every export, and statistics per currency.
@Suite("Segment mailing lists and statistics in-process")
struct SegmentMailingTests {
    typealias T = SalesTeam

    /// Every page of a mailing list, `limit` at a time, as `uid`.
    static func all(_ s: SalesTeam, _ id: JSON, _ channel: String, limit: Int64, uid: UInt32) async throws -> [String] {
        var out: [String] = []
        var cursor: JSON = .null
        repeat {
            var p: JSONObject = ["id": id, "channel": .string(channel), "limit": .int(limit)]
            if !cursor.isNull { p["cursor"] = cursor }
            let r = try await s.ok("segment.mailing", p, uid: uid)
            out += (r["items"]?.arrayValue ?? []).compactMap(\.stringValue)
            #expect(r["count"]?.intValue == Int64(r["items"]?.arrayValue?.count ?? -1))
            cursor = r["next_cursor"] ?? .null
        } while !cursor.isNull
        return out
    }

    @Test("a mailing list: clients' and contacts' addresses once each, mobiles only for SMS, opt-outs left out everywhere, audited")
    func mailing() async throws {
        let s = try await SalesTeam()
        let a = try await s.ok(
            "client.create",
            [
                "name": "A", "segment": "wholesale", "phones": ["8 916 111-11-11", "+7 495 123-45-67"],
                "emails": ["a@a.example", "shared@x.example"],
            ], uid: T.ivanov)
        // A contact repeating the company's mobile and e-mail: each comes out once.
        _ = try await s.ok(
            "contact.create",
            [
                "client_id": a["id"]!, "name": "Anna", "phones": ["+79161111111", "+79162222222"],
                "emails": ["anna@a.example", "shared@x.example"],
            ],
            uid: T.ivanov)
        // An opted-out contact: their number goes, and so does the client's own copy of it.
        let b = try await s.ok(
            "client.create", ["name": "B", "segment": "wholesale", "phones": ["+79163333333"], "emails": ["b@b.example"]], uid: T.petrov)
        _ = try await s.ok(
            "contact.create",
            [
                "client_id": b["id"]!, "name": "Boris", "phones": ["+79163333333", "+79164444444"], "emails": ["boris@b.example"],
                "opt_out": true,
            ],
            uid: T.petrov)
        // An opted-out client: none of its addresses nor its contacts'.
        let c = try await s.ok(
            "client.create", ["name": "C", "segment": "wholesale", "phones": ["+79165555555"], "emails": ["c@c.example"]], uid: T.petrov)
        _ = try await s.ok("contact.create", ["client_id": c["id"]!, "name": "Cyril", "phones": ["+79166666666"]], uid: T.petrov)
        let card = try await s.ok("client.update", ["id": c["id"]!, "opt_out": true], uid: T.petrov)
        #expect(card["opt_out"] == true)
        _ = try await s.ok("client.create", ["name": "Retail", "segment": "retail", "phones": ["+79167777777"]], uid: T.ivanov)

        let seg = try await s.ok(
            "segment.create", ["name": "Wholesale", "kind": "dynamic", "filter": ["segment": "wholesale"]], uid: T.head)
        let sms = try await Self.all(s, seg["id"]!, "sms", limit: 2, uid: T.head)
        #expect(sms == ["+79161111111", "+79162222222"])
        let email = try await Self.all(s, seg["id"]!, "email", limit: 1, uid: T.head)
        #expect(email == ["a@a.example", "anna@a.example", "b@b.example", "shared@x.example"])
        // A manager: only their own clients' addresses.
        #expect(try await Self.all(s, seg["id"]!, "email", limit: 100, uid: T.petrov) == ["b@b.example"])
        // Taking the opt-out back brings the addresses back.
        _ = try await s.ok("client.update", ["id": c["id"]!, "opt_out": false], uid: T.petrov)
        #expect(try await Self.all(s, seg["id"]!, "sms", limit: 100, uid: T.head).count == 4)
        // Every page audited: who, which segment, channel, how many.
        let audit = try s.crm.store.read { tx in
            try tx.auditHistory(entity: "segment", id: seg["id"]!.intValue!, afterID: nil, limit: 100).items.filter {
                $0.action == "mailing"
            }
        }
        // sms 1 page, e-mail 4 pages of one, petrov 1, sms again 1
        #expect(audit.count == 7)
        let first = try #require(audit.first { $0.actorLogin == "petrov" })
        #expect(first.after?.contains("\"channel\":\"email\"") == true)
        #expect(first.after?.contains("\"count\":1") == true)
        // Who may export.
        for uid in [T.director, T.operator_, T.accountant] {
            guard case .failure(let e) = await s.call("segment.mailing", ["id": seg["id"]!, "channel": "sms"], uid: uid) else {
                Issue.record("uid \(uid) exported a mailing list")
                continue
            }
            #expect(e.code == 1002)
        }
        let bad = await s.call("segment.mailing", ["id": seg["id"]!, "channel": "fax", "limit": 20_000], uid: T.head)
        #expect(SegmentTests.problems(bad).count == 2)
    }

    @Test("statistics: clients and zones, average deal and days, win rate and revenue of the span; other currencies apart")
    func stats() async throws {
        let s = try await SalesTeam()
        let seg = try await s.ok("segment.create", ["name": "Big", "kind": "dynamic", "filter": ["segment": "big"]], uid: T.head)
        var deals: [JSON] = []
        for i in 0..<3 {
            let c = try await s.ok("client.create", ["name": .string("Big \(i)"), "segment": "big"], uid: T.ivanov)
            deals.append(try await s.deal(c["id"]!, "Deal \(i)"))
        }
        let usd = try await s.deal(
            try await s.ok("client.create", ["name": "Big USD", "segment": "big"], uid: T.ivanov)["id"]!, "USD", by: T.ivanov,
            ["currency": "USD"])
        try await s.advance("P2D")
        _ = try await s.ok("deal.close", ["id": deals[0]["id"]!, "outcome": "won", "amount": 10_000], uid: T.ivanov)
        _ = try await s.ok("deal.close", ["id": deals[1]["id"]!, "outcome": "won", "amount": 20_001], uid: T.ivanov)
        _ = try await s.ok("deal.close", ["id": deals[2]["id"]!, "outcome": "lost", "reason": "Price"], uid: T.ivanov)
        _ = try await s.ok("deal.close", ["id": usd["id"]!, "outcome": "won", "amount": 500], uid: T.ivanov)
        let r = try await s.ok("segment.stats", ["id": seg["id"]!, "period": "2026-01"], uid: T.head)
        #expect(r["clients"] == 4)
        #expect(r["zones"]?["green"]?["clients"] == 4)
        #expect(r["zones"]?["green"]?["percent"] == 100.0)
        #expect(r["won"] == 3)
        #expect(r["lost"] == 1)
        #expect(r["win_rate"] == 75.0)
        #expect(r["avg_deal_amount"] == 15_000)  // (10,000 + 20,001) / 2, in whole minor units
        #expect(r["avg_deal_days"] == 2.0)
        #expect(r["revenue"] == 30_001)
        let other = try #require(r["other_currencies"]?.arrayValue?.first)
        #expect(other["currency"] == "USD")
        #expect(other["revenue"] == 500)
        // Outside the span: no deals, the clients still count.
        let feb = try await s.ok("segment.stats", ["id": seg["id"]!, "period": "2026-02"], uid: T.head)
        #expect(feb["won"] == 0)
        #expect(feb["avg_deal_amount"] == .null)
        #expect(feb["clients"] == 4)
        // Another manager sees none of it.
        let p = try await s.ok("segment.stats", ["id": seg["id"]!, "period": "2026-01"], uid: T.petrov)
        #expect(p["clients"] == 0)
        #expect(p["won"] == 0)
    }
}
