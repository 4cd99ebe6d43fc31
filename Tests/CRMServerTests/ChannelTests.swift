import CRMCore
import CRMProtocol
import CRMStore
import Foundation
import Testing

@testable import CRMServer

/// Channels, call tracking and report.channels in process (SalesTeam: Monday 2026-01-12 09:00Z).
@Suite("channel.*, call.incoming, report.channels")
struct ChannelTests {
    func code(_ r: Result<JSON, RPCError>) -> Int? {
        if case .failure(let e) = r { return e.code }
        return nil
    }

    /// The first row of a report.
    func first(_ r: JSON) -> JSON { r["items"]?.arrayValue?.first ?? .null }

    /// A team with the context channel on two numbers (one typed the Russian way).
    func team() async throws -> (SalesTeam, JSON) {
        let t = try await SalesTeam()
        let c = try await t.ok(
            "channel.create", ["name": "Контекст", "phones": ["8 (495) 100-00-01", "+7 495 100 00 02"]], uid: SalesTeam.head)
        return (t, c)
    }

    @Test("tracking numbers are normalized; a number, a name and the bounds are checked; only heads and admins manage")
    func create() async throws {
        let (t, c) = try await team()
        #expect(c["phones"] == ["+74951000001", "+74951000002"])
        #expect(c["archived"] == false)
        let taken = await t.call("channel.create", ["name": "Билборд", "phones": ["+7-495-100-00-01"]], uid: SalesTeam.head)
        #expect(code(taken) == ErrorCode.conflict)
        let sameName = await t.call("channel.create", ["name": "контекст"], uid: SalesTeam.head)
        #expect(code(sameName) == ErrorCode.conflict)
        let many = (0..<101).map { JSON.string("+7495200\(String(format: "%04d", $0))") }
        #expect(code(await t.call("channel.create", ["name": "Много", "phones": .array(many)], uid: SalesTeam.head)) != nil)
        #expect(code(await t.call("channel.create", ["name": .string(String(repeating: "я", count: 101))])) != nil)
        #expect(code(await t.call("channel.create", ["name": "Мой"], uid: SalesTeam.ivanov)) == ErrorCode.forbidden)
        #expect(code(await t.call("channel.create", ["name": "Мой"], uid: SalesTeam.operator_)) == ErrorCode.forbidden)
        // Everyone may read the list.
        let list = try await t.ok("channel.list", uid: SalesTeam.ivanov)
        #expect(list["items"]?.arrayValue?.count == 1)
    }

    @Test("update renames, moves a number between channels, archives; an archived channel takes no new numbers")
    func update() async throws {
        let (t, c) = try await team()
        let b = try await t.ok("channel.create", ["name": "Билборд"], uid: SalesTeam.head)
        // A number moves only once removed from its channel.
        #expect(code(await t.call("channel.update", ["channel": b["id"]!, "add_phones": ["+74951000002"]], uid: SalesTeam.head)) == 1003)
        _ = try await t.ok("channel.update", ["channel": "Контекст", "remove_phones": ["84951000002"]], uid: SalesTeam.head)
        let moved = try await t.ok("channel.update", ["channel": b["id"]!, "add_phones": ["+74951000002"]], uid: SalesTeam.head)
        #expect(moved["phones"] == ["+74951000002"])
        let renamed = try await t.ok(
            "channel.update", ["channel": c["id"]!, "name": "Яндекс.Директ", "archived": true, "margin_bp": 3500], uid: SalesTeam.head)
        #expect(renamed["name"] == "Яндекс.Директ")
        #expect(renamed["margin_bp"] == 3500)
        #expect(renamed["archived"] == true)
        #expect(code(await t.call("channel.update", ["channel": c["id"]!, "add_phones": ["+74951000009"]], uid: SalesTeam.head)) != nil)
        #expect(try await t.ok("channel.list")["items"]?.arrayValue?.count == 1)
        #expect(try await t.ok("channel.list", ["archived": true])["items"]?.arrayValue?.count == 2)
        #expect(code(await t.call("channel.update", ["channel": c["id"]!])) != nil)
    }

    @Test("a call finds the client, the contact, or opens an unassigned lead from the channel; the caller's zone is not reset")
    func incoming() async throws {
        let (t, c) = try await team()
        let known = try await t.ok("client.create", ["name": "ООО Ромашка", "phones": ["+79161110000"]], uid: SalesTeam.ivanov)
        let contact = try await t.ok(
            "contact.create", ["client_id": known["id"]!, "name": "Пётр", "phones": ["+79162220000"]], uid: SalesTeam.ivanov)
        try await t.advance("P3D")
        let r1 = try await t.ok("call.incoming", ["from": "8 916 111-00-00", "to": "84951000001"], uid: SalesTeam.operator_)
        #expect(r1["client"]?["id"] == known["id"])
        #expect(r1["lead_created"] == false)
        #expect(r1["channel"]?["id"] == c["id"])
        let r2 = try await t.ok("call.incoming", ["from": "+79162220000", "to": "+74951000002"], uid: SalesTeam.operator_)
        #expect(r2["contact"]?["id"] == contact["id"])
        #expect(r2["client"]?["id"] == known["id"])
        // The calls did not log a contact: the zone clock still counts from the creation.
        let card = try await t.ok("client.get", ["id": known["id"]!])
        #expect(card["last_interaction_at"] == .null)
        #expect(card["interactions"]?.arrayValue?.isEmpty == true)

        let r3 = try await t.ok("call.incoming", ["from": "(903) 555-12-34", "to": "+74951000001"], uid: SalesTeam.operator_)
        #expect(r3["lead_created"] == true)
        let lead = try await t.ok("client.get", ["id": r3["client"]!["id"]!])
        #expect(lead["name"] == "Звонок +79035551234")
        #expect(lead["source"] == "Контекст")
        #expect(lead["status"] == "unassigned")
        #expect(lead["phones"] == ["+79035551234"])
        // The same caller again is the lead, not a second one.
        let r4 = try await t.ok("call.incoming", ["from": "+79035551234", "to": "+74951000001"], uid: SalesTeam.operator_)
        #expect(r4["lead_created"] == false)
        #expect(r4["client"]?["id"] == lead["id"])
        // A withheld number and an untracked line still count as calls.
        let r5 = try await t.ok("call.incoming", ["from": "anonymous", "to": "+74951000001"], uid: SalesTeam.operator_)
        #expect(r5["client"] == .null)
        #expect(r5["lead_created"] == false)
        let r6 = try await t.ok("call.incoming", ["to": "+74959999999", "from": "+79161110000"], uid: SalesTeam.operator_)
        #expect(r6["channel"] == .null)
        #expect(code(await t.call("call.incoming", ["from": "+79161110000", "to": "not a number"], uid: SalesTeam.operator_)) != nil)
        #expect(code(await t.call("call.incoming", ["to": "+74951000001"], uid: SalesTeam.ivanov)) == ErrorCode.forbidden)

        // Every call is announced; the owner's calls carry the owner (managers see only their own).
        let pops = try t.events("call.incoming")
        #expect(pops.count == 6)
        #expect(pops[0].ownerID == t.ids["ivanov"])
        #expect(pops[2].ownerID == nil)
        #expect(pops[2].data.contains("\"lead_created\":true"))
        let olga = Actor(user: nil, role: .operator, login: "olga", uid: SalesTeam.operator_)
        #expect(Access.seesCallPop(olga, ownerID: nil))

        let report = try await t.ok("report.channels", ["period": "2026-01"])
        let row = try #require(report["items"]?.arrayValue?.first)
        #expect(row["calls"] == 5)
        #expect(row["leads"] == 2)  // ООО Ромашка and the lead; the withheld caller is no lead
        #expect(row["new_leads"] == 1)
        #expect(report["untracked"]?["calls"] == 1)

        // crmd --check recomputes each client's channel from its calls: consistent, and it sees a
        // client credited to a channel it never called.
        let path = t.crm.dir.appendingPathComponent("crm.sqlite").path
        #expect(try Store.check(path: path).problems == [])
        let tamper = Process()
        tamper.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        tamper.arguments = [path, "UPDATE clients SET channel_id = NULL WHERE name LIKE 'Звонок%'"]
        try tamper.run()
        tamper.waitUntilExit()
        #expect(
            try Store.check(path: path).problems == [
                "calls: 1 client(s) whose channel is not the one of their first call to a tracked number"
            ])
    }

    @Test("one account opens at most channels.max_leads_per_minute leads a minute; past it calls still count, without a lead")
    func leadFlood() async throws {
        let t = try await SalesTeam { $0.domain.maxLeadsPerMinute = 3 }
        _ = try await t.ok("channel.create", ["name": "Контекст", "phones": ["+74951000001"]], uid: SalesTeam.head)
        var opened: [Bool] = []
        for i in 0..<5 {
            let r = try await t.ok(
                "call.incoming", ["from": .string("+7916400000\(i)"), "to": "+74951000001"], uid: SalesTeam.operator_)
            opened.append(r["lead_created"] == true)
            if i >= 3 { #expect(r["lead_refused"] == "leads_per_minute") }
        }
        #expect(opened == [true, true, true, false, false])
        // Another account, and the same one a minute later, open leads again.
        #expect(
            try await t.ok("call.incoming", ["from": "+79164000009", "to": "+74951000001"], uid: SalesTeam.head)["lead_created"] == true)
        try await t.advance("PT61S")
        #expect(
            try await t.ok("call.incoming", ["from": "+79164000008", "to": "+74951000001"], uid: SalesTeam.operator_)["lead_created"]
                == true)
        let r = try await t.ok("report.channels", ["period": "2026-01"])
        #expect(first(r)["calls"] == 7)
        #expect(first(r)["new_leads"] == 5)
    }

    @Test("spend: set again replaces it (audited); periods of one channel may not overlap; the department's currency only")
    func spend() async throws {
        let (t, c) = try await team()
        let s1 = try await t.ok("channel.spend", ["channel": "Контекст", "period": "2026-01", "amount": 9_000_000], uid: SalesTeam.head)
        #expect(s1["replaced"] == .null)
        #expect(s1["currency"] == "RUB")
        let s2 = try await t.ok("channel.spend", ["channel": c["id"]!, "period": "2026-01", "amount": 8_000_000], uid: SalesTeam.head)
        #expect(s2["replaced"] == 9_000_000)
        let week = await t.call("channel.spend", ["channel": c["id"]!, "period": "2026-W03", "amount": 1], uid: SalesTeam.head)
        #expect(code(week) != nil)
        let usd = await t.call("channel.spend", ["channel": c["id"]!, "period": "2026-02", "amount": 1, "currency": "USD"])
        #expect(code(usd) != nil)
        #expect(code(await t.call("channel.spend", ["channel": c["id"]!, "period": "2026-02", "amount": -1])) != nil)
        #expect(
            code(await t.call("channel.spend", ["channel": c["id"]!, "period": "2026-02", "amount": 1], uid: SalesTeam.ivanov)) == 1002)
        let audit = try t.crm.store.read { try $0.auditHistory(entity: "channel", id: c["id"]!.intValue!, afterID: nil, limit: 10) }
        #expect(audit.items.filter { $0.action == "spend" }.count == 2)
        // A week's report gets the month's spend in proportion: 7 of January's 31 days.
        let r = try await t.ok("report.channels", ["period": "2026-W03"])
        #expect(first(r)["spend"] == .int(Int64((8_000_000.0 * 7 / 31).rounded())))
    }

    @Test("seed 003: 90,000 spend, 54 calls, 12 buyers at 9,000 on average: 108,000 revenue, 18,000 profit, ROI 20 %")
    func seed003() async throws {
        let (t, _) = try await team()
        let spend: Int64 = 90_000_00
        let calls = 54
        let buyers = 12
        let average: Int64 = 9_000_00
        _ = try await t.ok("channel.spend", ["channel": "Контекст", "period": "2026-01", "amount": .int(spend)], uid: SalesTeam.head)
        var leads: [JSON] = []
        for i in 0..<calls {
            let r = try await t.ok(
                "call.incoming", ["from": .string("+7916300\(String(format: "%04d", i))"), "to": "+74951000001"], uid: SalesTeam.operator_)
            leads.append(r["client"]!["id"]!)
        }
        // Twelve callers buy; amounts vary around the average (the seed gives only the average).
        for (i, id) in leads.prefix(buyers).enumerated() {
            _ = try await t.ok("client.assign", ["id": id, "owner": "ivanov"], uid: SalesTeam.head)
            let d = try await t.deal(id, "Заказ \(i)")
            let amount = average + (i % 2 == 0 ? 1_000_00 : -1_000_00)
            _ = try await t.ok("deal.close", ["id": d["id"]!, "outcome": "won", "amount": .int(amount)], uid: SalesTeam.ivanov)
        }
        // Expected figures from the seed's own arithmetic: revenue = buyers × average; the profit the
        // seed states (18,000) is revenue less spend, so the margin that gives it is 100 %.
        let revenue = Int64(buyers) * average
        let seedProfit: Int64 = 18_000_00
        let margin = (seedProfit + spend) * 10_000 / revenue
        #expect(revenue == 108_000_00)
        #expect(margin == 10_000)
        let r = try await t.ok("report.channels", ["period": "2026-01"], uid: SalesTeam.director)
        let row = first(r)
        #expect(row["spend"] == .int(spend))
        #expect(row["calls"] == .int(Int64(calls)))
        #expect(row["leads"] == .int(Int64(calls)))
        #expect(row["buyers"] == .int(Int64(buyers)))
        #expect(row["revenue"] == .int(revenue))
        #expect(row["average_deal"] == .int(average))
        #expect(row["margin_bp"] == .int(margin))
        #expect(row["gross_profit"] == .int(revenue * margin / 10_000))
        #expect(row["profit"] == .int(seedProfit))
        #expect(row["roi_bp"] == .int(seedProfit * 10_000 / spend))
        #expect(row["cost_per_lead"] == .int(Int64((Double(spend) / Double(calls)).rounded())))
        #expect(row["cost_per_buyer"] == .int(spend / Int64(buyers)))
        #expect(r["total"]?["profit"] == .int(seedProfit))

        // A manager's report counts their own deals, without profit or ROI; operators get none.
        let mine = try await t.ok("report.channels", ["period": "2026-01"], uid: SalesTeam.ivanov)
        #expect(mine["scope"] == "own")
        #expect(first(mine)["buyers"] == .int(Int64(buyers)))
        #expect(first(mine)["calls"] == 0)  // the leads had no owner when they called
        #expect(first(mine)["roi_bp"] == .null)
        let petrov = try await t.ok("report.channels", ["period": "2026-01"], uid: SalesTeam.petrov)
        #expect(first(petrov)["revenue"] == 0)
        #expect(code(await t.call("report.channels", ["period": "2026-01"], uid: SalesTeam.operator_)) == ErrorCode.forbidden)
    }
}
