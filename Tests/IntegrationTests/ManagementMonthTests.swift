import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import Testing

/// Issue 18's "Done when": a month of a department's work on a manual clock against the real
/// crmd — plans set, calls and meetings logged, clients brought in and claimed, deals won and
/// lost, invoices paid in part and in full — and plan.progress, report.plan and
/// report.commission equal to the figures this test counts by itself as it goes.
@Suite("A month of plans, sales, invoices and commission")
struct ManagementMonthTests {
    /// Friday 27 February 2026, 09:00 in Moscow (UTC+3 all year).
    static let start = "2026-02-27T06:00:00Z"

    /// What the test expects per manager, counted independently of crmd.
    struct Facts {
        var calls = 0, meetings = 0, newClients = 0, dealsWon = 0, revenueWon: Int64 = 0, revenuePaid: Int64 = 0, claims = 0
        var wonDeals: [Int64: Int64] = [:]  // deal id -> final amount (won in March)
        var paidDeals: [Int64: Int64] = [:]  // deal id -> paid in March

        func value(_ metric: String) -> Int64? {
            switch metric {
            case "calls": return Int64(calls)
            case "meetings": return Int64(meetings)
            case "new_clients": return Int64(newClients)
            case "deals_won": return Int64(dealsWon)
            case "revenue_won": return revenueWon
            case "revenue_paid": return revenuePaid
            case "claims": return Int64(claims)
            default: return nil
            }
        }
    }

    /// A small deterministic generator, so the month is the same on every run.
    struct Dice {
        var state: UInt64 = 0x5EED_18
        mutating func roll(_ n: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(n))
        }
    }

    /// Local (Moscow) day `d` of March 2026 at `hh:mm`, as an RFC 3339 instant in UTC.
    static func march(_ d: Int, _ hh: Int = 9, _ mm: Int = 0) -> String {
        let utcHour = hh - 3
        if utcHour < 0 { return String(format: "2026-03-%02dT%02d:%02d:00Z", d - 1, utcHour + 24, mm) }
        return String(format: "2026-03-%02dT%02d:%02d:00Z", d, utcHour, mm)
    }

    /// Commission of one deal line: half up, in minor units.
    static func commission(_ base: Int64, _ bp: Int64) -> Int64 { (base * bp + 5_000) / 10_000 }

    @Test("plan.progress, report.plan and report.commission (won and paid bases) equal the month counted by hand")
    func month() throws {
        let d = try TestDaemon(arguments: ["--clock", "manual", "--clock-start", Self.start])
        try d.start()
        defer { d.stop() }
        let root = try d.connect()
        _ = try seedTeam(root)
        _ = try root.call("user.add", ["login": "buh", "name": "Accountant", "role": "accountant", "uid": 50_004])
        _ = try root.call("user.update", ["login": "ivanov", "commission_bp": 200, "team": "north"])
        _ = try root.call("user.update", ["login": "sidorov", "commission_bp": 250, "team": "north"])
        let iv = try DealTest.connect(d, as: "ivanov")
        let sd = try DealTest.connect(d, as: "sidorov")
        let head = try DealTest.connect(d, as: "petrova")
        let buh = try DealTest.connect(d, as: "buh")
        func set(_ to: String) throws { _ = try root.call("clock.set", ["to": .string(to)]) }
        var facts: [String: Facts] = ["ivanov": Facts(), "sidorov": Facts()]
        let conn = ["ivanov": iv, "sidorov": sd]

        // February: clients and a call just before the month: none of it counts for March.
        var own: [String: JSON] = [:]
        var contact: [String: JSON] = [:]
        for login in ["ivanov", "sidorov"] {
            own[login] = try conn[login]!.call("client.create", ["name": .string("\(login) base client")])["id"]!
            contact[login] = try conn[login]!.call("contact.create", ["client_id": own[login]!, "name": "Buyer"])["id"]!
        }
        let released = try iv.call("client.create", ["name": "Will be released"])["id"]!
        try set("2026-02-28T20:59:59Z")  // 23:59:59 on 28 February in Moscow
        _ = try iv.call("interaction.log", ["client_id": own["ivanov"]!, "kind": "call", "result": "no answer"])

        // The head sets the month's plans (and one for the team) on the last evening of February.
        let targets: [String: JSON] = [
            "ivanov": [
                "calls": 60, "meetings": 10, "new_clients": 5, "deals_won": 3, "revenue_won": 200_000_000,
                "revenue_paid": 100_000_000, "claims": 1,
            ],
            "sidorov": ["calls": 40, "meetings": 8, "new_clients": 3, "deals_won": 2, "revenue_won": 150_000_000, "claims": 1],
        ]
        for (login, t) in targets {
            _ = try head.call("plan.set", ["user": .string(login), "period": "2026-03", "targets": t])
        }
        _ = try head.call("plan.set", ["team": "north", "period": "2026-03", "targets": ["calls": 100, "deals_won": 5]])
        // A manager may not set a plan, even their own.
        #expect(
            DealTest.rpcError { try iv.call("plan.set", ["user": "ivanov", "period": "2026-03", "targets": ["calls": 1]]) }?.code == 1002)

        // A wallboard follows ivanov's progress.
        let board = try DealTest.connect(d, as: "ivanov")
        _ = try board.call("subscribe", ["topics": ["plan.progress"]])

        // Every day of March: calls, meetings and e-mails on the managers' own clients.
        var dice = Dice()
        for day in 1...31 {
            try set(Self.march(day, 9, 30))
            for login in ["ivanov", "sidorov"] {
                let c = conn[login]!
                for _ in 0..<dice.roll(4) {
                    _ = try c.call("interaction.log", ["client_id": own[login]!, "kind": "call", "result": "talked"])
                    facts[login]!.calls += 1
                }
                if dice.roll(3) == 0 {
                    _ = try c.call(
                        "interaction.log",
                        [
                            "client_id": own[login]!, "kind": "meeting", "contact_id": contact[login]!, "topic": "terms",
                            "result": "agreed", "occurred_at": .string(Self.march(day, 9, 30)),
                        ])
                    facts[login]!.meetings += 1
                }
                if dice.roll(2) == 0 {
                    _ = try c.call("interaction.log", ["client_id": own[login]!, "kind": "email", "note": "email"])
                }
            }
            // New clients: ivanov every sixth day, sidorov every tenth.
            if day % 6 == 0 {
                _ = try iv.call("client.create", ["name": .string("Ivanov new \(day)")])
                facts["ivanov"]!.newClients += 1
            }
            if day % 10 == 0 {
                _ = try sd.call("client.create", ["name": .string("Sidorov new \(day)")])
                facts["sidorov"]!.newClients += 1
            }
            if day == 15 {
                // Brought in by an admin for ivanov: his new client too.
                _ = try root.call("client.create", ["name": "Given to Ivanov", "owner": "ivanov"])
                facts["ivanov"]!.newClients += 1
                // Created unassigned and handed over later: nobody's new client.
                let later = try root.call("client.create", ["name": "Assigned later"])["id"]!
                _ = try root.call("client.assign", ["id": later, "owner": "ivanov"])
            }
            if day == 5 { _ = try iv.call("client.release", ["id": released, "reason": "no time for it"]) }
            if day == 6 {
                _ = try sd.call("exchange.claim", ["id": released])
                facts["sidorov"]!.claims += 1
            }
        }
        // The wallboard heard the calls: the last calls event carries ivanov's count so far.
        let heard = try DealTest.next(board, 3)
        #expect(heard.allSatisfy { $0["topic"] == "plan.progress" && $0["data"]?["user_login"] == "ivanov" })
        #expect(heard.first?["data"]?["metric"] != nil)

        // Deals: ivanov wins three (one at 23:59:59 on 31 March) and loses one; a fourth win falls
        // at 00:00 on 1 April. sidorov wins one million at 2.5 %.
        try set(Self.march(31, 12))
        func deal(_ c: Connection, _ client: JSON, _ title: String) throws -> Int64 {
            try c.call("deal.create", ["client_id": client, "title": .string(title), "amount": 1])["id"]!.intValue!
        }
        func win(_ c: Connection, _ id: Int64, _ amount: Int64, _ login: String?) throws {
            _ = try c.call("deal.close", ["id": .int(id), "outcome": "won", "amount": .int(amount)])
            guard let login else { return }
            facts[login]!.dealsWon += 1
            facts[login]!.revenueWon += amount
            facts[login]!.wonDeals[id] = amount
        }
        let a = try deal(iv, own["ivanov"]!, "A")
        let b = try deal(iv, own["ivanov"]!, "B")
        let c3 = try deal(iv, own["ivanov"]!, "C")
        let lost = try deal(iv, own["ivanov"]!, "Lost")
        let april = try deal(iv, own["ivanov"]!, "April")
        let dm = try deal(sd, own["sidorov"]!, "Dmitry's million")
        try win(iv, a, 50_000_000, "ivanov")
        try win(iv, b, 100_000_000, "ivanov")
        _ = try iv.call("deal.close", ["id": .int(lost), "outcome": "lost", "reason": "Price"])
        try win(sd, dm, 100_000_000, "sidorov")
        // Invoices (issued by the accountant and by the manager), paid in part and in full.
        func invoice(_ c: Connection, _ dealID: Int64, _ number: String, _ amount: Int64, due: String) throws -> JSON {
            try c.call(
                "invoice.create", ["deal_id": .int(dealID), "number": .string(number), "amount": .int(amount), "due_date": .string(due)])[
                    "id"]!
        }
        let invA = try invoice(buh, a, "2026-031", 50_000_000, due: "2026-03-31")
        let invB = try invoice(iv, b, "2026-032", 100_000_000, due: "2026-03-31")
        let invD = try invoice(buh, dm, "2026-033", 100_000_000, due: "2026-04-10")
        #expect(DealTest.rpcError { try iv.call("invoice.pay", ["id": invA, "amount": 1, "paid_on": "2026-03-31"]) }?.code == 1002)
        func pay(_ inv: JSON, _ amount: Int64, on: String, deal: Int64, _ login: String?) throws -> JSON {
            let r = try buh.call("invoice.pay", ["id": inv, "amount": .int(amount), "paid_on": .string(on)])
            if let login {
                facts[login]!.revenuePaid += amount
                facts[login]!.paidDeals[deal, default: 0] += amount
            }
            return r
        }
        #expect(try pay(invA, 20_000_000, on: "2026-03-10", deal: a, "ivanov")["status"] == "partial")
        #expect(try pay(invA, 30_000_000, on: "2026-03-31", deal: a, "ivanov")["status"] == "paid")
        #expect(try pay(invB, 40_000_000, on: "2026-03-31", deal: b, "ivanov")["status"] == "partial")
        let over = DealTest.rpcError { try buh.call("invoice.pay", ["id": invB, "amount": 60_000_001, "paid_on": "2026-03-31"]) }
        #expect(over?.data?["reason"] == "overpayment", "\(String(describing: over))")
        try set("2026-03-31T20:59:59Z")  // 23:59:59 on 31 March
        try win(iv, c3, 70_000_000, "ivanov")
        try set("2026-03-31T21:00:00Z")  // 00:00 on 1 April: April's
        try win(iv, april, 99_000_000, nil)
        _ = try iv.call("interaction.log", ["client_id": own["ivanov"]!, "kind": "call", "result": "no answer"])
        try set("2026-04-02T09:00:00Z")
        _ = try pay(invD, 100_000_000, on: "2026-04-02", deal: dm, nil)  // April's payment

        // Progress as each manager and the head see it equals the month counted here.
        func progress(_ c: Connection, _ who: (key: String, value: String)) throws -> [String: Int64] {
            let r = try c.call("plan.progress", ["period": "2026-03", .init(who.key): .string(who.value)])
            var out: [String: Int64] = [:]
            for item in r["items"]?.arrayValue ?? [] { out[item["metric"]!.stringValue!] = item["fact"]!.intValue! }
            return out
        }
        for (login, t) in targets {
            let expected = Dictionary(
                uniqueKeysWithValues: (t.objectValue ?? [:]).keys.map { ($0, facts[login]!.value($0)!) })
            #expect(try progress(conn[login]!, ("user", login)) == expected, "\(login) as self")
            #expect(try progress(head, ("user", login)) == expected, "\(login) as the head")
        }
        let team = try progress(head, ("team", "north"))
        #expect(team["calls"] == Int64(facts["ivanov"]!.calls + facts["sidorov"]!.calls))
        #expect(team["deals_won"] == Int64(facts["ivanov"]!.dealsWon + facts["sidorov"]!.dealsWon))
        // A manager cannot read another's plan.
        #expect(DealTest.rpcError { try iv.call("plan.progress", ["user": "sidorov", "period": "2026-03"]) }?.code == 1002)

        // report.plan: every plan of March, target and fact per metric.
        let planReport = try head.call("report.plan", ["period": "2026-03"])
        for login in ["ivanov", "sidorov"] {
            let row = planReport["items"]?.arrayValue?.first { $0["user_login"]?.stringValue == login }
            let got = Dictionary(
                uniqueKeysWithValues: (row?["items"]?.arrayValue ?? []).map { ($0["metric"]!.stringValue!, $0["fact"]!.intValue!) })
            let expected = Dictionary(
                uniqueKeysWithValues: (targets[login]!.objectValue ?? [:]).keys.map { ($0, facts[login]!.value($0)!) })
            #expect(got == expected, "report.plan row of \(login)")
        }

        // Commission on the won basis (the default): each line traceable to its deal.
        let rates: [String: Int64] = ["ivanov": 200, "sidorov": 250]
        func checkCommission(_ report: JSON, paid: Bool) {
            for login in ["ivanov", "sidorov"] {
                let lines = paid ? facts[login]!.paidDeals : facts[login]!.wonDeals
                let row = report["items"]?.arrayValue?.first { $0["login"]?.stringValue == login }
                let base = lines.values.reduce(0, +)
                let commission = lines.values.map { Self.commission($0, rates[login]!) }.reduce(0, +)
                if lines.isEmpty {
                    #expect(row == nil || row?["commission"] == 0, "\(login): no \(paid ? "payments" : "wins")")
                    continue
                }
                #expect(row?["base"]?.intValue == base, "\(login) base (\(paid ? "paid" : "won"))")
                #expect(row?["commission"]?.intValue == commission, "\(login) commission (\(paid ? "paid" : "won"))")
                #expect(row?["rate_bp"]?.intValue == rates[login])
                let deals = Set((row?["deals"]?.arrayValue ?? []).compactMap(\.intValue))
                #expect(deals == Set(lines.keys), "\(login)'s deals")
            }
        }
        let won = try buh.call("report.commission", ["period": "2026-03"])
        checkCommission(won, paid: false)
        // "Dmitry sold 1 million, his 2 % is 20,000" — here 2.5 %: 25,000.00.
        #expect(won["items"]?.arrayValue?.first { $0["login"] == "sidorov" }?["commission"] == 2_500_000)
        // A manager sees only their own row.
        let mine = try iv.call("report.commission", ["period": "2026-03"])["items"]?.arrayValue ?? []
        #expect(mine.count == 1 && mine.first?["login"] == "ivanov")

        // The same month on the paid basis: crmd restarted with commission.basis = paid.
        d.stop()
        let paidDaemon = try TestDaemon(
            environment: ["CRMD_COMMISSION_BASIS": "paid"],
            arguments: ["--clock", "manual", "--clock-start", "2026-04-02T09:00:00Z"], databaseDirectory: d.directory)
        try paidDaemon.start()
        defer { paidDaemon.stop() }
        let paid = try DealTest.connect(paidDaemon, as: "buh").call("report.commission", ["period": "2026-03"])
        #expect(paid["basis"] == "paid")
        checkCommission(paid, paid: true)
    }
}
