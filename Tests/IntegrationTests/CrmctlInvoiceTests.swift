import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import Testing

/// The real crmctl binary against the real crmd on a manual clock: invoices issued, paid in part
/// and in full, listed as a table, JSON and CSV; the overdue reminder across restarts of crmd.
@Suite("crmctl invoice add, pay and list")
struct CrmctlInvoiceTests {
    /// Monday 10:00 in Moscow.
    static let start = "2026-12-07T07:00:00Z"

    /// crmctl runs and their --json output, as the deal tests make them.
    let cli = CrmctlDealTests()

    func crmctl(_ d: TestDaemon, _ args: [String]) throws -> CrmctlDealTests.Run { try cli.crmctl(d, args) }

    func json(_ r: CrmctlDealTests.Run) throws -> JSON { try cli.json(r) }

    /// A crmd with a head, two managers, an accountant and an open deal of ivanov's.
    func withDeal<T>(_ body: (TestDaemon, Connection, Int64) throws -> T) throws -> T {
        let d = try TestDaemon(arguments: ["--clock", "manual", "--clock-start", Self.start])
        try d.start()
        defer { d.stop() }
        let admin = try d.connect()
        try seedTeam(admin)
        _ = try admin.call("user.add", ["login": "buh", "name": "Accountant", "role": "accountant", "uid": 50_010])
        let client = try admin.call("client.create", ["name": "Romashka LLC", "owner": "ivanov"])["id"]!
        let deal = try admin.call("deal.create", ["client_id": client, "title": "Annual supply", "amount": 300_000])["id"]!.intValue!
        return try body(d, admin, deal)
    }

    @Test("invoice add, pay (partial, refused overpayment, full) and list as a table, JSON and CSV")
    func addPayList() throws {
        try withDeal { d, admin, deal in
            let made = try json(
                crmctl(d, ["invoice", "add", String(deal), "R-17", "1 500,00", "--due", "2026-12-10", "--json", "--as", "ivanov"]))
            #expect(made["amount"]?.intValue == 150_000)
            #expect(made["status"]?.stringValue == "unpaid")
            #expect(made["owner_login"]?.stringValue == "ivanov")
            let id = try #require(made["id"]?.intValue)
            let second = try crmctl(d, ["invoice", "add", String(deal), "R-18", "1000", "--due", "2026-12-31", "--as", "ivanov"])
            #expect(second.status == 0, "\(second.err)")
            #expect(second.out.contains("created invoice #") && second.out.contains("R-18"), "\(second.out)")
            #expect(second.out.contains("1 000.00 RUB"), "\(second.out)")

            let part = try json(crmctl(d, ["invoice", "pay", String(id), "500", "--on", "2026-12-05", "--json", "--as", "buh"]))
            #expect(part["status"]?.stringValue == "partial")
            #expect(part["paid"]?.intValue == 50_000)
            #expect(part["payments"]?.arrayValue?.first?["paid_on"]?.stringValue == "2026-12-05")

            let over = try crmctl(d, ["invoice", "pay", String(id), "2000", "--as", "buh"])
            #expect(over.status == 1)
            #expect(over.err.contains("error 1003") && over.err.contains("1000.00 RUB remains"), "\(over.err)")
            let head = try crmctl(d, ["invoice", "pay", String(id), "1", "--as", "petrova"])
            #expect(head.status == 1)
            #expect(head.err.contains("error 1002"), "\(head.err)")

            let table = try crmctl(d, ["invoice", "list", "--as", "ivanov"])
            #expect(table.status == 0, "\(table.err)")
            let lines = table.out.split(separator: "\n").map(String.init)
            #expect(lines.first?.hasPrefix("ID") == true && lines.first?.contains("REMAINING") == true, "\(table.out)")
            #expect(lines.count == 3, "\(table.out)")
            #expect(lines[1].contains("R-17") && lines[1].contains("1 500.00 RUB") && lines[1].contains("partial"), "\(table.out)")
            #expect(lines[2].contains("R-18") && lines[2].contains("unpaid"), "\(table.out)")

            let csv = try crmctl(d, ["invoice", "list", "--unpaid", "--csv"])
            #expect(csv.status == 0, "\(csv.err)")
            let rows = csv.out.split(separator: "\r\n").map(String.init)
            #expect(rows.first == "id,number,deal_id,client_id,owner,currency,amount,paid,remaining,due_date,status,overdue", "\(csv.out)")
            #expect(rows.count == 3, "\(csv.out)")
            #expect(rows.dropFirst().first?.hasSuffix("RUB,1500.00,500.00,1000.00,2026-12-10,partial,no") == true, "\(csv.out)")

            let full = try json(crmctl(d, ["invoice", "pay", String(id), "1000", "--json", "--as", "buh"]))
            #expect(full["status"]?.stringValue == "paid")
            let unpaid = try json(crmctl(d, ["invoice", "list", "--unpaid", "--deal", String(deal), "--json"]))
            #expect(unpaid["items"]?.arrayValue?.map { $0["number"]?.stringValue } == ["R-18"])
            // crmd agrees: the deal's card lists both, one paid.
            let card = try admin.call("deal.get", ["id": .int(deal)])
            #expect(card["invoices"]?.arrayValue?.map { $0["status"]?.stringValue } == ["paid", "unpaid"])
        }
    }

    @Test("the overdue reminder survives restarts: due while crmd was down, it comes once at the next start, not again")
    func overdueAcrossRestarts() throws {
        try withDeal { d, admin, deal in
            let made = try json(crmctl(d, ["invoice", "add", String(deal), "L-1", "700", "--due", "2026-12-08", "--json"]))
            let id = try #require(made["id"]?.intValue)
            _ = try admin.call("invoice.pay", ["id": .int(id), "amount": 20_000])
            _ = d.stop()
            // Back on Thursday noon in Moscow: the reminder was due Wednesday 09:00.
            d.arguments = ["--clock", "manual", "--clock-start", "2026-12-10T09:00:00Z"]
            try d.start()
            let overdue = try json(crmctl(d, ["invoice", "list", "--overdue", "--json"]))
            #expect(overdue["items"]?.arrayValue?.map { $0["number"]?.stringValue } == ["L-1"])
            func reminders() throws -> [JSON] {
                let c = try DealTest.connect(d, as: "ivanov")
                return try c.call("alert.list", ["limit": 100])["items"]?.arrayValue?.filter { $0["kind"] == "invoice_overdue" } ?? []
            }
            let first = try reminders()
            #expect(first.count == 1)
            #expect(first.first?["message"]?.stringValue?.contains("500.00 RUB of 700.00 RUB") == true, "\(first)")
            _ = d.stop()
            d.arguments = ["--clock", "manual", "--clock-start", "2027-01-20T09:00:00Z"]
            try d.start()
            _ = try d.connect().call("clock.advance", ["by": "P30D"])
            #expect(try reminders().count == 1)
        }
    }
}
