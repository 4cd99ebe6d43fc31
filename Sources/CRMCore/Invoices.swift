public import CRMText
public import Foundation

/// A calendar day as people in the department write it (`2026-12-31`), with no time and no zone:
/// an invoice's due date, a payment's date. Its instants (midnight, 09:00) are taken in the
/// department's time zone when asked.
public struct LocalDate: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int

    /// Parses exactly `YYYY-MM-DD` (years 1900-9999, a day the month has); nil for anything else.
    public init?(_ text: String) {
        let u = Array(text.utf8)
        guard u.count == 10, u[4] == UInt8(ascii: "-"), u[7] == UInt8(ascii: "-") else { return nil }
        func number(_ r: Range<Int>) -> Int? {
            var n = 0
            for i in r {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(u[i]) else { return nil }
                n = n * 10 + Int(u[i] - UInt8(ascii: "0"))
            }
            return n
        }
        guard let y = number(0..<4), let m = number(5..<7), let d = number(8..<10), y >= 1900 else { return nil }
        // A day the month does not have comes back from the calendar as another day.
        let day = LocalDate(year: y, month: m, day: d)
        guard LocalDate(dayNumber: day.dayNumber) == day else { return nil }
        self = day
    }

    init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// The Gregorian calendar in UTC, where a day is 86 400 s from midnight to midnight.
    private static let utc: Calendar = {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = TimeZone(identifier: "UTC") ?? TimeZone(secondsFromGMT: 0)!
        return c
    }()

    /// The day `dayNumber` days after 1970-01-01.
    public init(dayNumber: Int) {
        let c = Self.utc.dateComponents([.year, .month, .day], from: Date(timeIntervalSince1970: Double(dayNumber) * 86_400))
        self.init(year: c.year ?? 1970, month: c.month ?? 1, day: c.day ?? 1)
    }

    /// Days since 1970-01-01 (negative before it).
    public var dayNumber: Int {
        let start = Self.utc.date(from: DateComponents(year: year, month: month, day: day)) ?? Date(timeIntervalSince1970: 0)
        return Int((start.timeIntervalSince1970 / 86_400).rounded(.down))
    }

    public func adding(days: Int) -> LocalDate { LocalDate(dayNumber: dayNumber + days) }

    /// The local day of `date` in `timeZone`.
    public static func containing(_ date: Date, in timeZone: TimeZone) -> LocalDate {
        let local = date.timeIntervalSince1970 + Double(timeZone.secondsFromGMT(for: date))
        return LocalDate(dayNumber: Int((local / 86_400).rounded(.down)))
    }

    /// The instant of `hour`:00 on this day in `timeZone` (hour 0: the local midnight that starts it).
    public func instant(hour: Int = 0, in timeZone: TimeZone) -> Date {
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = timeZone
        let c = DateComponents(year: year, month: month, day: day, hour: hour)
        return cal.date(from: c) ?? Date(timeIntervalSince1970: Double(dayNumber) * 86_400 + Double(hour) * 3600)
    }

    public var description: String {
        func pad(_ n: Int, _ width: Int) -> String {
            let s = String(n)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }

    public static func < (a: LocalDate, b: LocalDate) -> Bool { (a.year, a.month, a.day) < (b.year, b.month, b.day) }
}

/// Where an invoice stands: nothing paid, part paid, paid in full.
public enum InvoiceStatus: String, Sendable, CaseIterable {
    case unpaid, partial, paid

    /// The status of an invoice of `amount` with `paid` received.
    public static func of(amount: Int64, paid: Int64) -> InvoiceStatus {
        paid <= 0 ? .unpaid : (paid >= amount ? .paid : .partial)
    }
}

/// An invoice issued on a deal (issue 18): its number, amount and due date, and what has been paid.
public struct Invoice: Sendable, Equatable, Identifiable {
    public var id: Int64
    public var dealID: Int64
    public var number: String
    /// In minor units, in `currency` (the deal's).
    public var amount: Int64
    public var currency: String
    public var paid: Int64
    public var status: InvoiceStatus
    /// The due date, `YYYY-MM-DD` (a local day).
    public var dueOn: String
    /// The instant it falls overdue: local midnight after the due date.
    public var overdueAt: Date
    /// When the scheduler is to remind the deal's owner (09:00 local the day after the due date);
    /// nil once reminded or paid.
    public var remindAt: Date?
    public var creatorLogin: String
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: Int64, dealID: Int64, number: String, amount: Int64, currency: String, paid: Int64, status: InvoiceStatus, dueOn: String,
        overdueAt: Date, remindAt: Date?, creatorLogin: String, createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.dealID = dealID
        self.number = number
        self.amount = amount
        self.currency = currency
        self.paid = paid
        self.status = status
        self.dueOn = dueOn
        self.overdueAt = overdueAt
        self.remindAt = remindAt
        self.creatorLogin = creatorLogin
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    public var remaining: Int64 { amount - paid }

    /// Not paid in full and the due date is over: today (local) is after it.
    public func isOverdue(today: LocalDate) -> Bool {
        guard status != .paid, let due = LocalDate(dueOn) else { return false }
        return today > due
    }
}

/// A payment received against an invoice.
public struct Payment: Sendable, Equatable, Identifiable {
    public var id: Int64
    public var invoiceID: Int64
    public var dealID: Int64
    /// The deal's owner when the payment was recorded: the manager it is credited to.
    public var ownerID: Int64?
    public var amount: Int64
    /// The day it was paid, `YYYY-MM-DD`.
    public var paidOn: String
    /// Local midnight of `paidOn` (what period queries compare).
    public var paidAt: Date
    public var byLogin: String
    public var createdAt: Date

    public init(
        id: Int64, invoiceID: Int64, dealID: Int64, ownerID: Int64?, amount: Int64, paidOn: String, paidAt: Date, byLogin: String,
        createdAt: Date
    ) {
        self.id = id
        self.invoiceID = invoiceID
        self.dealID = dealID
        self.ownerID = ownerID
        self.amount = amount
        self.paidOn = paidOn
        self.paidAt = paidAt
        self.byLogin = byLogin
        self.createdAt = createdAt
    }
}

/// The rules of invoices and payments (docs/rules.md, "Invoices and payments"), free of storage.
public enum InvoiceRules {
    public static let maxNumberLength = 64
    /// The largest invoice or payment, in minor units: 10^13, as a deal's amount.
    public static let maxAmount: Int64 = 10_000_000_000_000
    /// Payments one invoice may take (partial payments are few; the bound keeps an invoice's
    /// wire form and its events small).
    public static let maxPaymentsPerInvoice = 100
    /// A due date is at most this many days before or after today: ten years.
    public static let dueDateSpanDays = 3_653
    /// A payment may be dated at most this many days before the day its invoice was issued.
    public static let paymentBackdateDays = 366
    /// The local hour of the day after the due date when the owner is reminded.
    public static let reminderHour = 9

    /// The problem with an invoice number, or nil.
    public static func numberProblem(_ n: String) -> String? {
        if n.isEmpty { return "must not be empty" }
        if n.count > maxNumberLength { return "must be at most \(maxNumberLength) characters" }
        if n.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) { return "must not contain control characters" }
        if n.first?.isWhitespace == true || n.last?.isWhitespace == true { return "must not begin or end with a space" }
        return nil
    }

    /// The problem with a due date as of `today`, or nil.
    public static func dueDateProblem(_ due: LocalDate, today: LocalDate) -> Phrase? {
        abs(due.dayNumber - today.dayNumber) > dueDateSpanDays
            ? "must be within ten years of today (\(today.adding(days: -dueDateSpanDays).description) to \(today.adding(days: dueDateSpanDays).description))"
            : nil
    }

    /// The problem with a payment's date, or nil: not after today, not more than
    /// ``paymentBackdateDays`` before the invoice was issued.
    public static func paidOnProblem(_ day: LocalDate, today: LocalDate, issued: LocalDate) -> Phrase? {
        if day > today { return Phrase("is in the future (today is \(today.description)); record a payment once it is received") }
        let earliest = issued.adding(days: -paymentBackdateDays)
        if day < earliest {
            return Phrase(
                "is more than a year before the invoice was issued (\(issued.description)); the earliest is \(earliest.description)")
        }
        return nil
    }

    /// The remaining amount when paying `amount` would pay more than the invoice asks; nil when it fits.
    public static func overpayment(_ invoice: Invoice, paying amount: Int64) -> Int64? {
        amount > invoice.remaining ? invoice.remaining : nil
    }

    /// When an invoice due on `due` falls overdue: local midnight after it.
    public static func overdueAt(_ due: LocalDate, in timeZone: TimeZone) -> Date {
        due.adding(days: 1).instant(in: timeZone)
    }

    /// When the deal's owner is reminded of an unpaid invoice due on `due`: 09:00 local the day after.
    public static func remindAt(_ due: LocalDate, in timeZone: TimeZone) -> Date {
        due.adding(days: 1).instant(hour: reminderHour, in: timeZone)
    }

    /// May issue invoices on a deal owned by `dealOwnerID`: admins, heads and accountants any
    /// deal, a manager their own.
    public static func canCreate(_ actor: Actor, dealOwnerID: Int64?) -> Bool {
        switch actor.role {
        case .admin, .head, .accountant: return true
        case .manager: return dealOwnerID != nil && dealOwnerID == actor.userID
        case .director, .operator: return false
        }
    }

    /// May record payments: accountants and admins.
    public static func canPay(_ actor: Actor) -> Bool { actor.role == .admin || actor.role == .accountant }

    /// May see every invoice: admins, directors, heads and accountants.
    public static func seesAll(_ actor: Actor) -> Bool {
        switch actor.role {
        case .admin, .director, .head, .accountant: return true
        case .manager, .operator: return false
        }
    }

    /// May see the invoices of a deal owned by `dealOwnerID`: those who see all, a manager their own deals'.
    public static func canSee(_ actor: Actor, dealOwnerID: Int64?) -> Bool {
        seesAll(actor) || (actor.role == .manager && dealOwnerID != nil && dealOwnerID == actor.userID)
    }
}
