import CRMCore
import Foundation
import Testing

@Suite struct InvoiceRulesTests {
    let moscow = TimeZone(identifier: "Europe/Moscow")!
    let berlin = TimeZone(identifier: "Europe/Berlin")!

    func utc(_ s: String) -> Date { ISO8601DateFormatter().date(from: s)! }

    func invoice(amount: Int64, paid: Int64, due: String = "2026-12-31") -> Invoice {
        Invoice(
            id: 1, dealID: 1, number: "R-1", amount: amount, currency: "RUB", paid: paid, status: .of(amount: amount, paid: paid),
            dueOn: due, overdueAt: Date(), remindAt: nil, creatorLogin: "buh", createdAt: Date(), updatedAt: Date())
    }

    @Test("a day is exactly YYYY-MM-DD of a real date (years 1900-9999); it prints back the same")
    func parsing() {
        for good in ["2026-12-31", "2024-02-29", "2000-02-29", "1900-01-01", "9999-12-31"] {
            #expect(LocalDate(good)?.description == good, "\(good)")
        }
        for bad in [
            "2026-02-29", "1900-02-29", "2026-13-01", "2026-00-10", "2026-04-31", "26-12-31", "2026-1-31", "2026/12/31",
            "2026-12-31T00:00:00Z", "", "０２０２６-12-31", "+026-12-31", "0000-01-01",
        ] {
            #expect(LocalDate(bad) == nil, "\(bad)")
        }
    }

    @Test("day numbers go both ways across months, leap years and the epoch")
    func dayNumbers() {
        #expect(LocalDate("1970-01-01")?.dayNumber == 0)
        #expect(LocalDate("1969-12-31")?.dayNumber == -1)
        #expect(LocalDate("2026-12-31")?.adding(days: 1).description == "2027-01-01")
        #expect(LocalDate("2028-02-28")?.adding(days: 1).description == "2028-02-29")
        #expect(LocalDate("2026-03-01")?.adding(days: -1).description == "2026-02-28")
        // 1900 to 9999.
        for n in stride(from: -25_567, through: 2_932_896, by: 997) {
            #expect(LocalDate(dayNumber: n).dayNumber == n)
        }
    }

    @Test("today and instants are local: midnight and 09:00 in the department's zone, DST included")
    func localInstants() throws {
        // 23:30 UTC on 31 December is 1 January in Moscow.
        #expect(LocalDate.containing(utc("2026-12-31T23:30:00Z"), in: moscow).description == "2027-01-01")
        #expect(LocalDate.containing(utc("2026-12-31T20:59:59Z"), in: moscow).description == "2026-12-31")
        let due = try #require(LocalDate("2026-12-31"))
        #expect(InvoiceRules.overdueAt(due, in: moscow) == utc("2026-12-31T21:00:00Z"))
        #expect(InvoiceRules.remindAt(due, in: moscow) == utc("2027-01-01T06:00:00Z"))
        // Berlin changes to summer time on 29 March 2026: 09:00 on the 30th is 07:00Z.
        let march = try #require(LocalDate("2026-03-29"))
        #expect(InvoiceRules.remindAt(march, in: berlin) == utc("2026-03-30T07:00:00Z"))
        #expect(InvoiceRules.overdueAt(march, in: berlin) == utc("2026-03-29T22:00:00Z"))
    }

    @Test("status follows the paid sum; overdue is not paid and today after the due date")
    func statusAndOverdue() throws {
        #expect(InvoiceStatus.of(amount: 100, paid: 0) == .unpaid)
        #expect(InvoiceStatus.of(amount: 100, paid: 1) == .partial)
        #expect(InvoiceStatus.of(amount: 100, paid: 100) == .paid)
        let due = try #require(LocalDate("2026-12-31"))
        #expect(!invoice(amount: 100, paid: 0).isOverdue(today: due))
        #expect(invoice(amount: 100, paid: 0).isOverdue(today: due.adding(days: 1)))
        #expect(invoice(amount: 100, paid: 50).isOverdue(today: due.adding(days: 1)))
        #expect(!invoice(amount: 100, paid: 100).isOverdue(today: due.adding(days: 400)))
    }

    @Test("overpayment: more than the remaining amount is refused, naming what remains")
    func overpayment() {
        #expect(InvoiceRules.overpayment(invoice(amount: 100, paid: 30), paying: 70) == nil)
        #expect(InvoiceRules.overpayment(invoice(amount: 100, paid: 30), paying: 71) == 70)
        #expect(InvoiceRules.overpayment(invoice(amount: 100, paid: 100), paying: 1) == 0)
    }

    @Test("numbers, due dates and payment dates are bounded")
    func bounds() throws {
        #expect(InvoiceRules.numberProblem("R-2026-017") == nil)
        #expect(InvoiceRules.numberProblem(String(repeating: "9", count: 64)) == nil)
        #expect(InvoiceRules.numberProblem(String(repeating: "9", count: 65)) != nil)
        #expect(InvoiceRules.numberProblem("R\n1") != nil)
        #expect(InvoiceRules.numberProblem("") != nil)
        let today = try #require(LocalDate("2026-12-07"))
        #expect(InvoiceRules.dueDateProblem(today.adding(days: 3_653), today: today) == nil)
        #expect(InvoiceRules.dueDateProblem(today.adding(days: 3_654), today: today) != nil)
        #expect(InvoiceRules.dueDateProblem(today.adding(days: -3_654), today: today) != nil)
        let issued = try #require(LocalDate("2026-12-01"))
        #expect(InvoiceRules.paidOnProblem(today, today: today, issued: issued) == nil)
        #expect(InvoiceRules.paidOnProblem(today.adding(days: 1), today: today, issued: issued) != nil)
        #expect(InvoiceRules.paidOnProblem(issued.adding(days: -366), today: today, issued: issued) == nil)
        #expect(InvoiceRules.paidOnProblem(issued.adding(days: -367), today: today, issued: issued) != nil)
    }

    @Test("rights: admins, heads, accountants invoice any deal, managers their own; only accountants and admins pay")
    func rights() {
        func actor(_ role: Role, _ id: Int64 = 7) -> Actor {
            Actor(
                user: User(id: id, login: "u\(id)", name: "U", role: role, uid: nil, active: true, createdAt: Date(), updatedAt: Date()),
                role: role, login: "u\(id)", uid: 1)
        }
        for role in [Role.admin, .head, .accountant] { #expect(InvoiceRules.canCreate(actor(role), dealOwnerID: 99)) }
        #expect(InvoiceRules.canCreate(actor(.manager), dealOwnerID: 7))
        #expect(!InvoiceRules.canCreate(actor(.manager), dealOwnerID: 99))
        #expect(!InvoiceRules.canCreate(actor(.manager), dealOwnerID: nil))
        for role in [Role.director, .operator] { #expect(!InvoiceRules.canCreate(actor(role), dealOwnerID: 7)) }
        #expect(Role.allCases.filter { InvoiceRules.canPay(actor($0)) } == [.admin, .accountant])
        #expect(Role.allCases.filter { InvoiceRules.seesAll(actor($0)) } == [.admin, .director, .head, .accountant])
        #expect(InvoiceRules.canSee(actor(.manager), dealOwnerID: 7))
        #expect(!InvoiceRules.canSee(actor(.manager), dealOwnerID: 8))
        #expect(!InvoiceRules.canSee(actor(.operator), dealOwnerID: 7))
    }
}
