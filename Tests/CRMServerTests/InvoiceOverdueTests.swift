import CRMCore
import CRMProtocol
import CRMStore
import Foundation
import Testing

@testable import CRMServer

/// The overdue reminder in process: an invoice not paid in full by its due date reminds the deal's
/// owner at 09:00 local the day after, once, through the alert engine (working hours included);
/// a paid invoice never does.
@Suite("Invoice handlers in-process: the overdue reminder")
struct InvoiceOverdueTests {
    typealias T = SalesTeam

    func reminders(_ s: SalesTeam, _ uid: UInt32 = T.ivanov) async throws -> [JSON] {
        try await s.alerts(uid).filter { $0["kind"] == "invoice_overdue" }
    }

    @Test("overdue from local midnight; reminded at 09:00 the day after, not a millisecond before; once across a long jump")
    func exactInstantOnce() async throws {
        let s = try await SalesTeam()
        let d = try await s.deal(try await s.client("Late LLC"), "Pallets")
        let i = try await s.invoice(d, "O-7", 100_000, due: "2026-01-14")
        _ = try await s.pay(i, 30_000).get()
        // Midnight in Moscow ends the 14th: overdue from then, the reminder waits for the morning.
        try await s.at("2026-01-14T20:59:59.999Z")
        #expect(try await s.all("invoice.list", ["overdue": true]).isEmpty)
        try await s.at("2026-01-14T21:00:00Z")
        #expect(try await s.invoiceNumbers(["overdue": true]) == ["O-7"])
        #expect(try await s.get(d)["invoices"]?.arrayValue?.first?["overdue"] == true)
        try await s.at("2026-01-15T05:59:59.999Z")
        #expect(try s.events("invoice.overdue").isEmpty)
        #expect(try await reminders(s).isEmpty)
        // 09:00 on Thursday in Moscow, inside working hours: delivered at once.
        try await s.at("2026-01-15T06:00:00Z")
        let events = try s.events("invoice.overdue")
        #expect(events.map(\.at) == [try at("2026-01-15T06:00:00Z")])
        #expect(events.first?.ownerID == s.ids["ivanov"])
        let data = try JSONParser.parse(try #require(events.first?.data))
        #expect(data["invoice_id"] == i["id"])
        #expect(data["remaining"] == 70_000)
        let got = try await reminders(s)
        #expect(got.count == 1)
        #expect(got.first?["invoice_id"] == i["id"])
        let message = try #require(got.first?["message"]?.stringValue)
        #expect(message.contains("O-7"))
        #expect(message.contains("Late LLC"))
        #expect(message.contains("700.00 RUB"))
        // A month on: nothing more, for anyone.
        try await s.advance("P30D")
        #expect(try s.events("invoice.overdue").count == 1)
        #expect(try await reminders(s).count == 1)
        for uid in [T.petrov, T.head, T.accountant, T.director] { #expect(try await reminders(s, uid).isEmpty, "\(uid)") }
    }

    @Test("a jump past many due dates applies each reminder once, at its own instant; paid ones never")
    func catchUp() async throws {
        let s = try await SalesTeam()
        let d = try await s.deal(try await s.client("Jump LLC"))
        let paid = try await s.invoice(d, "J-0", 500, due: "2026-01-13")
        _ = try await s.pay(paid, 500).get()
        for n in 1...3 { _ = try await s.invoice(d, "J-\(n)", 500, due: "2026-01-1\(n + 3)") }
        try await s.advance("P30D")
        try await s.advance("P30D")
        let events = try s.events("invoice.overdue")
        #expect(events.map(\.at) == [try at("2026-01-15T06:00:00Z"), try at("2026-01-16T06:00:00Z"), try at("2026-01-17T06:00:00Z")])
        #expect(try await reminders(s).count == 3)
        #expect(try await reminders(s).allSatisfy { $0["message"]?.stringValue?.contains("J-0") == false })
    }

    @Test("paid before the reminder: nothing fires; paid in full while the reminder waits for Monday: it is dropped")
    func paidInTime() async throws {
        let s = try await SalesTeam()
        let d = try await s.deal(try await s.client("Weekend LLC"))
        let early = try await s.invoice(d, "W-0", 1_000, due: "2026-01-14")
        let x = try await s.invoice(d, "W-1", 1_000, due: "2026-01-16")
        _ = try await s.invoice(d, "W-2", 1_000, due: "2026-01-16")
        // Paid on the morning after its due date, before 09:00.
        try await s.at("2026-01-15T05:00:00Z")
        _ = try await s.pay(early, 1_000).get()
        // Saturday 12:00 in Moscow: W-1 and W-2 are overdue since 09:00, their reminders wait for Monday.
        try await s.at("2026-01-17T09:00:00Z")
        #expect(try s.events("invoice.overdue").count == 2)
        #expect(try await reminders(s).isEmpty)
        #expect(try s.pendingAlerts().filter { $0.kind == "invoice_overdue" }.count == 2)
        _ = try await s.pay(x, 1_000).get()
        #expect(try s.pendingAlerts().filter { $0.kind == "invoice_overdue" }.count == 1)
        // Monday 09:00 in Moscow: W-2's reminder only.
        try await s.at("2026-01-19T06:00:00Z")
        let got = try await reminders(s)
        #expect(got.count == 1)
        #expect(got.first?["message"]?.stringValue?.contains("W-2") == true)
        #expect(try s.events("invoice.overdue").count == 2)
    }
}
