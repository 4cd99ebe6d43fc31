public import CRMProtocol
public import Foundation

/// Instants and days as the department reads and types them, in its time zone (crmd's
/// `zones.time_zone`): `20.11.2026 10:00` out; `20.11.2026 10:00`, `20.11 10:00`, `today 15:00`,
/// `завтра 9:00`, `tomorrow`, `2026-11-20` or RFC 3339 in. The wire stays RFC 3339: this is the
/// one place crmctl turns one into the other.
public struct LocalTime: Sendable {
    public let timeZone: TimeZone
    private let calendar: Calendar

    public init(timeZone: TimeZone) {
        self.timeZone = timeZone
        var c = Calendar(identifier: .gregorian)
        c.timeZone = timeZone
        calendar = c
    }

    /// The forms an instant may be typed in, for error messages and help.
    public static let instantForms =
        "20.11.2026 10:00, 20.11 10:00 (this year), 10:00 (today), today 15:00, tomorrow 9:00, yesterday, now, "
        + "сегодня 15:00, завтра 9:00, вчера, 2026-11-20 10:00, or RFC 3339 (2026-11-20T10:00:00+03:00); "
        + "a day without a time means its 00:00"
    /// The forms a day may be typed in.
    public static let dayForms = "20.11.2026, 20.11 (this year), today, tomorrow, yesterday, сегодня, завтра, вчера, or 2026-11-20"

    /// Why typed text is not an instant or a day; the message names the accepted forms.
    public struct ParseError: Error, CustomStringConvertible, Equatable {
        public let text: String
        public let problem: String
        public var description: String { "'\(text)' \(problem)" }
    }

    // MARK: Output

    /// `20.11.2026 10:00` in the department's zone.
    public func format(_ d: Date) -> String {
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: d)
        return String(format: "%02d.%02d.%04d %02d:%02d", c.day ?? 0, c.month ?? 0, c.year ?? 0, c.hour ?? 0, c.minute ?? 0)
    }

    /// `20.11.2026`, the day `d` falls on in the department's zone.
    public func formatDay(_ d: Date) -> String {
        let c = calendar.dateComponents([.year, .month, .day], from: d)
        return String(format: "%02d.%02d.%04d", c.day ?? 0, c.month ?? 0, c.year ?? 0)
    }

    /// A wire day `2026-11-20` as `20.11.2026`; other text unchanged.
    public static func formatDay(wire: String) -> String {
        let p = wire.split(separator: "-")
        guard wire.count == 10, p.count == 3, p[0].count == 4, p[1].count == 2, p[2].count == 2 else { return wire }
        return "\(p[2]).\(p[1]).\(p[0])"
    }

    /// Whole calendar days from the day of `now` to the day of `d` (negative in the past).
    public func days(from now: Date, to d: Date) -> Int {
        calendar.dateComponents([.day], from: calendar.startOfDay(for: now), to: calendar.startOfDay(for: d)).day ?? 0
    }

    /// `20.11.2026 10:00 (in 3 days)`: the instant with how far it is from `now` in words.
    public func formatRelative(_ d: Date, now: Date, russian: Bool) -> String {
        "\(format(d)) (\(relativeDays(days(from: now, to: d), russian: russian)))"
    }

    // MARK: Input

    /// Reads an instant typed by a person; `now` supplies today and the current year.
    public func parseInstant(_ typed: String, now: Date) throws(ParseError) -> Date {
        let text = typed.trimmingCharacters(in: .whitespaces)
        if let d = RFC3339.parse(text) { return d }
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard !words.isEmpty, words.count <= 2 else { throw fail(typed, Self.instantForms) }
        if words.count == 1, ["now", "сейчас"].contains(words[0].lowercased()) { return now }
        var day: DateComponents
        var time = (hour: 0, minute: 0)
        if words.count == 1, let t = Self.time(words[0]) {
            day = calendar.dateComponents([.year, .month, .day], from: now)
            time = t
        } else {
            day = try self.day(words[0], now: now, forms: Self.instantForms, typed: typed)
            if words.count == 2 {
                guard let t = Self.time(words[1]) else {
                    throw fail(
                        typed,
                        "has no time of day crmctl understands in '\(words[1])' (use HH:MM, e.g. 9:00 or 15:30); accepted: \(Self.instantForms)"
                    )
                }
                time = t
            }
        }
        day.hour = time.hour
        day.minute = time.minute
        day.timeZone = timeZone
        guard let d = calendar.date(from: day) else { throw fail(typed, Self.instantForms) }
        return d
    }

    /// Reads a day typed by a person as the wire's `YYYY-MM-DD`.
    public func parseDay(_ typed: String, now: Date) throws(ParseError) -> String {
        let c = try day(typed.trimmingCharacters(in: .whitespaces), now: now, forms: Self.dayForms, typed: typed)
        return String(format: "%04d-%02d-%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0)
    }

    /// Reads a bound of a period: a day alone (`20.11`, `today`) is its start, or with `endOfDay`
    /// the start of the next day (so `--to 20.11` includes the 20th); anything else as
    /// ``parseInstant(_:now:)``.
    public func parsePeriodBound(_ typed: String, now: Date, endOfDay: Bool) throws(ParseError) -> Date {
        let text = typed.trimmingCharacters(in: .whitespaces)
        guard !text.contains(" "), RFC3339.parse(text) == nil, (try? day(text, now: now, forms: "", typed: typed)) != nil else {
            return try parseInstant(typed, now: now)
        }
        let start = try parseInstant(text, now: now)
        return endOfDay ? calendar.date(byAdding: .day, value: 1, to: start) ?? start : start
    }

    private func fail(_ typed: String, _ forms: String) -> ParseError {
        ParseError(text: typed, problem: "is not a date crmctl understands; accepted: \(forms)")
    }

    private func day(_ word: String, now: Date, forms: String, typed: String) throws(ParseError) -> DateComponents {
        let shifts = ["today": 0, "сегодня": 0, "tomorrow": 1, "завтра": 1, "yesterday": -1, "вчера": -1]
        if let shift = shifts[word.lowercased()] {
            let d = calendar.date(byAdding: .day, value: shift, to: now) ?? now
            return calendar.dateComponents([.year, .month, .day], from: d)
        }
        let y: Int
        let m: Int
        let dd: Int
        let dotted = word.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        let dashed = word.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        func number(_ s: String, _ lengths: ClosedRange<Int>) -> Int? {
            guard lengths.contains(s.count), s.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            return Int(s)
        }
        if (2...3).contains(dotted.count), let d0 = number(dotted[0], 1...2), let m0 = number(dotted[1], 1...2) {
            if dotted.count == 3 {
                guard let y0 = number(dotted[2], 4...4) else {
                    throw ParseError(text: typed, problem: "needs a four-digit year (20.11.2026) or none (20.11); accepted: \(forms)")
                }
                y = y0
            } else {
                y = calendar.component(.year, from: now)
            }
            (m, dd) = (m0, d0)
        } else if dashed.count == 3, let y0 = number(dashed[0], 4...4), let m0 = number(dashed[1], 2...2), let d0 = number(dashed[2], 2...2)
        {
            (y, m, dd) = (y0, m0, d0)
        } else {
            throw fail(typed, forms)
        }
        var c = DateComponents(year: y, month: m, day: dd)
        c.timeZone = timeZone
        guard (1...12).contains(m), let d = calendar.date(from: c),
            calendar.dateComponents([.year, .month, .day], from: d) == DateComponents(year: y, month: m, day: dd)
        else {
            throw ParseError(text: typed, problem: "is not a day of the calendar (day \(dd), month \(m), year \(y)); accepted: \(forms)")
        }
        return DateComponents(year: y, month: m, day: dd)
    }

    /// `9:00`, `09:00`, `15:30` as hour and minute.
    private static func time(_ s: String) -> (hour: Int, minute: Int)? {
        let p = s.split(separator: ":", omittingEmptySubsequences: false)
        guard p.count == 2, (1...2).contains(p[0].count), p[1].count == 2, p.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isNumber } }),
            let h = Int(p[0]), let m = Int(p[1]), (0...23).contains(h), (0...59).contains(m)
        else { return nil }
        return (h, m)
    }
}

/// How far a day is from today in words: "today", "in 3 days", "3 days ago" ("сегодня",
/// "через 3 дня", "3 дня назад"). The one place crmctl words relative time, so the catalog of
/// the language work can take it over whole.
public func relativeDays(_ days: Int, russian: Bool) -> String {
    let n = abs(days)
    if russian {
        switch days {
        case 0: return "сегодня"
        case 1: return "завтра"
        case -1: return "вчера"
        default:
            let word: String
            switch (n % 10, n % 100) {
            case (1, let h) where h != 11: word = "день"
            case (2...4, let h) where !(12...14).contains(h): word = "дня"
            default: word = "дней"
            }
            return days > 0 ? "через \(n) \(word)" : "\(n) \(word) назад"
        }
    }
    switch days {
    case 0: return "today"
    case 1: return "tomorrow"
    case -1: return "yesterday"
    default: return days > 0 ? "in \(n) days" : "\(n) days ago"
    }
}
