public import Foundation

/// A plan or report period in the department's time zone: a month (`2026-12`), an ISO 8601 week
/// (`2026-W49`, Monday to Sunday, the week-numbering year) or a quarter (`2026-Q4`). Its bounds
/// are local midnights, so a month is what the people in the department call a month, DST days
/// included.
public struct Period: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        case week, month, quarter
    }

    public let kind: Kind
    /// The year (for a week, the ISO week-numbering year).
    public let year: Int
    /// The month (1-12), the ISO week (1-53) or the quarter (1-4).
    public let number: Int

    /// What a person types: `2026-12`, `2026-W49`, `2026-Q4`.
    public static let forms = "YYYY-MM (a month), YYYY-Www (an ISO week, e.g. 2026-W49) or YYYY-Qn (a quarter)"

    /// Parses `2026-12`, `2026-W49` or `2026-Q4`; nil for anything else (years 2000-2999, a week
    /// that the year does not have included).
    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 4, let y = Int(parts[0]), (2000...2999).contains(y) else { return nil }
        let rest = parts[1]
        let kind: Kind
        let digits: Substring
        switch rest.first {
        case "W", "w":
            kind = .week
            digits = rest.dropFirst()
        case "Q", "q":
            kind = .quarter
            digits = rest.dropFirst()
        default:
            kind = .month
            digits = rest
        }
        guard (1...2).contains(digits.count), digits.allSatisfy(\.isASCII), let n = Int(digits) else { return nil }
        switch kind {
        case .month: guard digits.count == 2, (1...12).contains(n) else { return nil }
        case .quarter: guard digits.count == 1, (1...4).contains(n) else { return nil }
        case .week: guard digits.count == 2, (1...Period.weeks(in: y)).contains(n) else { return nil }
        }
        self.init(kind: kind, year: y, number: n)
    }

    public init(kind: Kind, year: Int, number: Int) {
        self.kind = kind
        self.year = year
        self.number = number
    }

    /// The canonical text.
    public var description: String {
        switch kind {
        case .month: return String(format: "%04d-%02d", year, number)
        case .week: return String(format: "%04d-W%02d", year, number)
        case .quarter: return "\(year)-Q\(number)"
        }
    }

    /// `[start, end)` as instants: local midnight of the first day, local midnight after the last.
    public func interval(in timeZone: TimeZone) -> (start: Date, end: Date) {
        let cal = Period.calendar(timeZone)
        var c = DateComponents()
        switch kind {
        case .month:
            c.year = year
            c.month = number
            c.day = 1
            let start = cal.date(from: c)!
            return (start, cal.date(byAdding: .month, value: 1, to: start)!)
        case .quarter:
            c.year = year
            c.month = (number - 1) * 3 + 1
            c.day = 1
            let start = cal.date(from: c)!
            return (start, cal.date(byAdding: .month, value: 3, to: start)!)
        case .week:
            c.yearForWeekOfYear = year
            c.weekOfYear = number
            c.weekday = 2  // Monday
            let start = cal.date(from: c)!
            return (start, cal.date(byAdding: .day, value: 7, to: start)!)
        }
    }

    /// The period of `kind` that holds `date` in `timeZone`.
    public static func containing(_ date: Date, kind: Kind, in timeZone: TimeZone) -> Period {
        let cal = calendar(timeZone)
        switch kind {
        case .month:
            let c = cal.dateComponents([.year, .month], from: date)
            return Period(kind: .month, year: c.year!, number: c.month!)
        case .quarter:
            let c = cal.dateComponents([.year, .month], from: date)
            return Period(kind: .quarter, year: c.year!, number: (c.month! - 1) / 3 + 1)
        case .week:
            let c = cal.dateComponents([.yearForWeekOfYear, .weekOfYear], from: date)
            return Period(kind: .week, year: c.yearForWeekOfYear!, number: c.weekOfYear!)
        }
    }

    /// ISO weeks in a week-numbering year: 53 when December 28 falls in week 53.
    static func weeks(in year: Int) -> Int {
        let cal = calendar(TimeZone(identifier: "UTC")!)
        let dec28 = cal.date(from: DateComponents(year: year, month: 12, day: 28))!
        return cal.component(.weekOfYear, from: dec28)
    }

    static func calendar(_ timeZone: TimeZone) -> Calendar {
        var cal = Calendar(identifier: .iso8601)
        cal.timeZone = timeZone
        cal.firstWeekday = 2
        cal.minimumDaysInFirstWeek = 4
        return cal
    }
}

/// What a plan counts. Every metric is computed from what crmd holds when asked (see
/// docs/rules.md, "Plans"): nothing is typed in.
public enum PlanMetric: String, Sendable, CaseIterable {
    /// Calls the user logged (any direction), by the instant they happened.
    case calls
    /// Meetings the user logged.
    case meetings
    /// Clients created in the period with the user as their lead manager.
    case newClients = "new_clients"
    /// The user's deals closed as won in the period.
    case dealsWon = "deals_won"
    /// The final amounts of those deals (minor units).
    case revenueWon = "revenue_won"
    /// Payments dated in the period on invoices of deals the user owned when paid (minor units).
    case revenuePaid = "revenue_paid"
    /// Clients the user claimed from the exchange.
    case claims
}
