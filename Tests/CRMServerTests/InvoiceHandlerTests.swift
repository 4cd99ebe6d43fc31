import CRMCore
import CRMProtocol
import CRMStore
import Foundation
import Testing

@testable import CRMServer

extension SalesTeam {
    /// An invoice on `deal` issued by `uid` (default: the deal's owner ivanov).
    func invoice(
        _ deal: JSON, _ number: String, _ amount: Int64, due: String = "2026-01-31", by uid: UInt32 = SalesTeam.ivanov
    ) async throws -> JSON {
        try await ok(
            "invoice.create",
            ["deal_id": deal["id"] ?? .null, "number": .string(number), "amount": .int(amount), "due_date": .string(due)],
            uid: uid)
    }

    func pay(_ invoice: JSON, _ amount: Int64, on day: String? = nil, by uid: UInt32 = SalesTeam.accountant) async -> Result<JSON, RPCError>
    {
        var p: JSONObject = ["id": invoice["id"] ?? .null, "amount": .int(amount)]
        if let day { p["paid_on"] = .string(day) }
        return await call("invoice.pay", p, uid: uid)
    }

    /// The numbers `invoice.list` shows with `params` to `uid`, in its order.
    func invoiceNumbers(_ params: JSONObject = [:], uid: UInt32 = 0) async throws -> [String] {
        try await all("invoice.list", params, uid: uid).compactMap { $0["number"]?.stringValue }
    }
}

/// `invoice.create`, `invoice.pay` and `invoice.list` in process: each rule and right.
@Suite("Invoice handlers in-process: create, pay, list")
struct InvoiceHandlerTests {
    typealias T = SalesTeam

    @Test("a manager invoices their own deal: the deal's currency, owner and client; unpaid; shown on the deal's card")
    func create() async throws {
        let s = try await SalesTeam()
        let c = try await s.client("Romashka LLC")
        let d = try await s.deal(c, "Boxes", ["amount": 15_000_000])
        let i = try await s.invoice(d, "R-2026-001", 15_000_000, due: "2026-01-31")
        #expect(i["deal_id"] == d["id"])
        #expect(i["client_id"] == c)
        #expect(i["owner_login"] == "ivanov")
        #expect(i["owner"] == .int(s.ids["ivanov"]))
        #expect(i["number"] == "R-2026-001")
        #expect(i["amount"] == 15_000_000)
        #expect(i["amount_text"] == "150000.00")
        #expect(i["currency"] == "RUB")
        #expect(i["paid"] == 0)
        #expect(i["paid_text"] == "0.00")
        #expect(i["remaining"] == 15_000_000)
        #expect(i["status"] == "unpaid")
        #expect(i["due_date"] == "2026-01-31")
        #expect(i["overdue"] == false)
        #expect(i["payments"] == .array([]))
        #expect(i["created_at"] == .string(T.start))
        let events = try s.events("invoice.created")
        #expect(events.count == 1)
        #expect(events.first?.ownerID == s.ids["ivanov"])
        // The card lists it for those who may see invoices; an operator sees the deal without them.
        #expect(try await s.get(d, by: T.ivanov)["invoices"]?.arrayValue?.map { $0["number"] } == ["R-2026-001"])
        #expect(try await s.get(d, by: T.accountant)["invoices"]?.arrayValue?.count == 1)
        #expect(try await s.get(d, by: T.operator_)["invoices"] == nil)
    }

    @Test("who may invoice: the owner, heads, accountants, admins; not another manager, a director or an operator")
    func createRights() async throws {
        let s = try await SalesTeam()
        let d = try await s.deal(try await s.client("Rights LLC"))
        for (n, uid) in [(1, T.ivanov), (2, T.head), (3, T.accountant), (4, UInt32(0))] {
            _ = try await s.invoice(d, "OK-\(n)", 100, by: uid)
        }
        for uid in [T.petrov, T.director, T.operator_] {
            let r = await s.call(
                "invoice.create", ["deal_id": d["id"] ?? .null, "number": .string("NO-\(uid)"), "amount": 100, "due_date": "2026-01-31"],
                uid: uid)
            #expect(errorCode(r) == 1002, "\(uid)")
        }
    }

    @Test("refused: a duplicate number (naming the invoice), a lost deal, bad params, too many invoices on a deal")
    func createRefusals() async throws {
        let s = try await SalesTeam { $0.domain.deals.maxInvoicesPerDeal = 2 }
        let c = try await s.client("Refusals LLC")
        let d = try await s.deal(c)
        let first = try await s.invoice(d, "R-1", 100)
        let dup = await s.call(
            "invoice.create", ["deal_id": d["id"] ?? .null, "number": "R-1", "amount": 5, "due_date": "2026-01-31"], uid: T.ivanov)
        #expect(errorCode(dup) == 1003)
        #expect(failure(dup)?.data?["invoice_id"] == first["id"])
        #expect(failure(dup)?.message.description.contains("invoice \(first["id"]?.intValue ?? 0)") == true)
        _ = try await s.invoice(d, "R-2", 100)
        let third = await s.call(
            "invoice.create", ["deal_id": d["id"] ?? .null, "number": "R-3", "amount": 5, "due_date": "2026-01-31"], uid: T.ivanov)
        #expect(errorCode(third) == 1007)
        #expect(failure(third)?.data?["kind"] == "invoices_per_deal")
        let lost = try await s.deal(c, "Lost one")
        _ = try await s.ok("deal.close", ["id": lost["id"] ?? .null, "outcome": "lost", "reason": "Price"], uid: T.ivanov)
        let onLost = await s.call(
            "invoice.create", ["deal_id": lost["id"] ?? .null, "number": "L-1", "amount": 5, "due_date": "2026-01-31"], uid: T.ivanov)
        #expect(errorCode(onLost) == 1003)
        #expect(failure(onLost)?.message.description.contains("lost") == true)
        let bad = await s.call(
            "invoice.create",
            ["deal_id": d["id"] ?? .null, "number": .string(String(repeating: "x", count: 65)), "amount": 0, "due_date": "2026-02-30"],
            uid: T.ivanov)
        #expect(errorCode(bad) == -32602)
        #expect(Set(errorFields(bad)) == ["number", "amount", "due_date"])
        let far = await s.call(
            "invoice.create", ["deal_id": d["id"] ?? .null, "number": "F-1", "amount": 5, "due_date": "2046-01-31"], uid: T.ivanov)
        #expect(errorFields(far) == ["due_date"])
        let missing = await s.call(
            "invoice.create", ["deal_id": 999, "number": "M-1", "amount": 5, "due_date": "2026-01-31"], uid: T.ivanov)
        #expect(errorCode(missing) == 1001)
    }

    @Test("partial then full payment: status, paid sum, the payments, the owner credited, local midnight, the event")
    func pay() async throws {
        let s = try await SalesTeam()
        let d = try await s.deal(try await s.client("Pay LLC"))
        let i = try await s.invoice(d, "P-1", 100_000)
        let part = try await s.pay(i, 40_000, on: "2026-01-10").get()
        #expect(part["status"] == "partial")
        #expect(part["paid"] == 40_000)
        #expect(part["paid_text"] == "400.00")
        #expect(part["remaining"] == 60_000)
        let payments = try #require(part["payments"]?.arrayValue)
        #expect(payments.count == 1)
        #expect(payments.first?["paid_on"] == "2026-01-10")
        #expect(payments.first?["by"] == "buh")
        #expect(payments.first?["amount"] == 40_000)
        let full = try await s.pay(i, 60_000).get()
        #expect(full["status"] == "paid")
        #expect(full["remaining"] == 0)
        #expect(full["payments"]?.arrayValue?.map { $0["paid_on"] } == ["2026-01-10", "2026-01-12"])
        // Stored: credited to the deal's owner, dated at local midnight (Moscow, UTC+3).
        let id = try #require(i["id"]?.intValue)
        let stored = try s.crm.store.read { try $0.payments(invoiceIDs: [id]) }[id] ?? []
        #expect(stored.map(\.ownerID) == [s.ids["ivanov"], s.ids["ivanov"]])
        #expect(stored.map(\.paidAt) == [try at("2026-01-09T21:00:00Z"), try at("2026-01-11T21:00:00Z")])
        let events = try s.events("invoice.paid")
        #expect(events.count == 2)
        let last = try JSONParser.parse(try #require(events.last?.data))
        #expect(last["amount"] == 60_000)
        #expect(last["paid"] == 100_000)
        #expect(last["status"] == "paid")
        #expect(last["deal_id"] == d["id"])
        #expect(last["invoice"]?["number"] == "P-1")
        #expect(events.last?.ownerID == s.ids["ivanov"])
        // crmd --check recomputes every invoice from its payments: consistent.
        let check = try Store.check(path: s.crm.dir.appendingPathComponent("crm.sqlite").path)
        #expect(check.problems == [])
    }

    @Test("overpayment is refused with the remaining amount; a paid invoice takes nothing more")
    func overpayment() async throws {
        let s = try await SalesTeam()
        let d = try await s.deal(try await s.client("Over LLC"))
        let i = try await s.invoice(d, "O-1", 1_000)
        _ = try await s.pay(i, 300).get()
        let over = await s.pay(i, 701)
        #expect(errorCode(over) == 1003)
        #expect(failure(over)?.data?["reason"] == "overpayment")
        #expect(failure(over)?.data?["remaining"] == 700)
        _ = try await s.pay(i, 700).get()
        let more = await s.pay(i, 1)
        #expect(failure(more)?.data?["reason"] == "overpayment")
        #expect(failure(more)?.data?["remaining"] == 0)
        let list = try await s.all("invoice.list", ["deal_id": d["id"] ?? .null])
        #expect(list.first?["paid"] == 1_000)
        #expect(list.first?["payments"]?.arrayValue?.count == 2)
    }

    @Test("who may pay: accountants and admins; paid_on not in the future nor long before the invoice; request_id once")
    func payRules() async throws {
        let s = try await SalesTeam()
        let d = try await s.deal(try await s.client("Rules LLC"))
        let i = try await s.invoice(d, "PR-1", 1_000)
        for uid in [T.head, T.ivanov, T.director, T.operator_] {
            #expect(errorCode(await s.pay(i, 1, by: uid)) == 1002, "\(uid)")
        }
        _ = try await s.pay(i, 1, by: 0).get()
        #expect(errorFields(await s.pay(i, 1, on: "2026-01-13")) == ["paid_on"])
        // A year (366 days) before the day the invoice was issued at the earliest.
        #expect(errorFields(await s.pay(i, 1, on: "2025-01-10")) == ["paid_on"])
        _ = try await s.pay(i, 1, on: "2025-01-11").get()
        #expect(errorFields(await s.pay(i, 1, on: "12.01.2026")) == ["paid_on"])
        #expect(errorFields(await s.pay(i, 0)) == ["amount"])
        let p: JSONObject = ["id": i["id"] ?? .null, "amount": 10, "request_id": "pay-once"]
        let a = try await s.ok("invoice.pay", p, uid: T.accountant)
        let b = try await s.ok("invoice.pay", p, uid: T.accountant)
        #expect(a == b)
        #expect(a["paid"] == 12)
        #expect(errorCode(await s.call("invoice.pay", ["id": 999, "amount": 1], uid: T.accountant)) == 1001)
    }

    @Test("list: by due date; status, open, overdue, deal and owner filters; managers their own deals only; pages")
    func list() async throws {
        let s = try await SalesTeam()
        let mine = try await s.deal(try await s.client("Mine LLC"))
        let theirs = try await s.deal(try await s.client("Theirs LLC", by: T.petrov), by: T.petrov)
        let a = try await s.invoice(mine, "A", 1_000, due: "2026-01-20")
        _ = try await s.invoice(mine, "B", 1_000, due: "2026-01-13")
        let c = try await s.invoice(theirs, "C", 1_000, due: "2026-01-15", by: T.petrov)
        _ = try await s.invoice(theirs, "D", 1_000, due: "2026-02-15", by: T.petrov)
        _ = try await s.pay(a, 500).get()
        _ = try await s.pay(c, 1_000).get()
        #expect(try await s.invoiceNumbers() == ["B", "C", "A", "D"])
        #expect(try await s.invoiceNumbers(["limit": 1]) == ["B", "C", "A", "D"])
        #expect(try await s.invoiceNumbers(["status": "unpaid"]) == ["B", "D"])
        #expect(try await s.invoiceNumbers(["status": "partial"]) == ["A"])
        #expect(try await s.invoiceNumbers(["status": "paid"]) == ["C"])
        #expect(try await s.invoiceNumbers(["status": "open"]) == ["B", "A", "D"])
        #expect(try await s.invoiceNumbers(["deal_id": theirs["id"] ?? .null]) == ["C", "D"])
        #expect(try await s.invoiceNumbers(["owner": "petrov"]) == ["C", "D"])
        // 2026-01-16 in Moscow: B (due the 13th) is overdue; C, due the 15th, is paid.
        try await s.at("2026-01-16T10:00:00Z")
        #expect(try await s.invoiceNumbers(["overdue": true]) == ["B"])
        #expect(try await s.invoiceNumbers(["overdue": false]) == ["C", "A", "D"])
        #expect(try await s.all("invoice.list", ["overdue": true]).first?["overdue"] == true)
        // A manager: their own deals' invoices, whatever they ask.
        #expect(try await s.invoiceNumbers(uid: T.ivanov) == ["B", "A"])
        #expect(try await s.invoiceNumbers(["status": "open"], uid: T.petrov) == ["D"])
        #expect(errorCode(await s.call("invoice.list", ["deal_id": theirs["id"] ?? .null], uid: T.ivanov)) == 1002)
        #expect(errorCode(await s.call("invoice.list", ["owner": "petrov"], uid: T.ivanov)) == 1002)
        #expect(errorCode(await s.call("invoice.list", [:], uid: T.operator_)) == 1002)
        for uid in [T.head, T.director, T.accountant] { #expect(try await s.invoiceNumbers(uid: uid).count == 4) }
        #expect(errorFields(await s.call("invoice.list", ["status": "late"])) == ["status"])
    }
}
