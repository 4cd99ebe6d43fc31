public import Foundation

/// An ISO 8601 duration (`P1M`, `P5M`, `P2D`, `PT12H`, `P1Y2M10DT2H30M`, `P2W`), applied with a
/// calendar so that months and days follow the calendar (Jan 31 + P1M = Feb 28 or 29).
public struct ISODuration: Sendable, Equatable, CustomStringConvertible {
    public var years = 0
    public var months = 0
    public var weeks = 0
    public var days = 0
    public var hours = 0
    public var minutes = 0
    public var seconds = 0

    public init(years: Int = 0, months: Int = 0, weeks: Int = 0, days: Int = 0, hours: Int = 0, minutes: Int = 0, seconds: Int = 0) {
        self.years = years
        self.months = months
        self.weeks = weeks
        self.days = days
        self.hours = hours
        self.minutes = minutes
        self.seconds = seconds
    }

    /// Parses `PnYnMnWnDTnHnMnS`; `nil` if the text is not such a duration or is empty (`P`).
    public init?(_ text: String) {
        var s = Substring(text.uppercased())
        guard s.first == "P" else { return nil }
        s.removeFirst()
        var inTime = false
        var number = ""
        var any = false
        var anyInTime = false
        // Designators must come in order (Y M W D T H M S), each at most once.
        var rank = 0
        for c in s {
            if c.isASCII, c.isNumber {
                number.append(c)
                continue
            }
            if c == "T" {
                guard !inTime, number.isEmpty else { return nil }
                inTime = true
                continue
            }
            guard let n = Int(number), n >= 0, n < 100_000 else { return nil }
            number = ""
            any = true
            let r: Int
            switch (c, inTime) {
            case ("Y", false): years = n; r = 1
            case ("M", false): months = n; r = 2
            case ("W", false): weeks = n; r = 3
            case ("D", false): days = n; r = 4
            case ("H", true): hours = n; r = 5
            case ("M", true): minutes = n; r = 6
            case ("S", true): seconds = n; r = 7
            default: return nil
            }
            guard r > rank else { return nil }
            rank = r
            if inTime { anyInTime = true }
        }
        guard number.isEmpty, any, !inTime || anyInTime else { return nil }
    }

    /// `true` when every part is zero.
    public var isZero: Bool { self == ISODuration() }

    /// The canonical text (`P1M`, `PT12H`).
    public var description: String {
        var out = "P"
        if years > 0 { out += "\(years)Y" }
        if months > 0 { out += "\(months)M" }
        if weeks > 0 { out += "\(weeks)W" }
        if days > 0 { out += "\(days)D" }
        if hours > 0 || minutes > 0 || seconds > 0 {
            out += "T"
            if hours > 0 { out += "\(hours)H" }
            if minutes > 0 { out += "\(minutes)M" }
            if seconds > 0 { out += "\(seconds)S" }
        }
        return out == "P" ? "PT0S" : out
    }

    /// `date` moved forward by this duration in `calendar` (its time zone decides days and DST).
    public func added(to date: Date, in calendar: Calendar) -> Date {
        if let fast = Self.shiftedByDays(date, years == 0 && months == 0 ? days + weeks * 7 : nil, in: calendar.timeZone) {
            let clockSeconds = hours * 3600 + minutes * 60 + seconds
            return fast.addingTimeInterval(TimeInterval(clockSeconds))
        }
        var c = DateComponents()
        c.year = years
        c.month = months
        c.day = days + weeks * 7
        var result = calendar.date(byAdding: c, to: date) ?? date
        let clockSeconds = hours * 3600 + minutes * 60 + seconds
        if clockSeconds > 0 { result = result.addingTimeInterval(TimeInterval(clockSeconds)) }
        return result
    }

    /// `date` moved back by this duration.
    public func subtracted(from date: Date, in calendar: Calendar) -> Date {
        if let fast = Self.shiftedByDays(date, years == 0 && months == 0 ? -(days + weeks * 7) : nil, in: calendar.timeZone) {
            let clockSeconds = hours * 3600 + minutes * 60 + seconds
            return fast.addingTimeInterval(-TimeInterval(clockSeconds))
        }
        var c = DateComponents()
        c.year = -years
        c.month = -months
        c.day = -(days + weeks * 7)
        var result = calendar.date(byAdding: c, to: date) ?? date
        let clockSeconds = hours * 3600 + minutes * 60 + seconds
        if clockSeconds > 0 { result = result.addingTimeInterval(-TimeInterval(clockSeconds)) }
        return result
    }

    /// `date` moved by whole calendar days, keeping its wall-clock time, without `Calendar` (the
    /// scheduler computes reminder marks for every due client): exact when the time zone's offset
    /// is the same at both ends, which is every day but the few around a DST change; those (and
    /// nil `days`) return nil and take the calendar's path.
    static func shiftedByDays(_ date: Date, _ days: Int?, in zone: TimeZone) -> Date? {
        guard let days else { return nil }
        if days == 0 { return date }
        let candidate = date.addingTimeInterval(TimeInterval(days) * 86_400)
        return zone.secondsFromGMT(for: candidate) == zone.secondsFromGMT(for: date) ? candidate : nil
    }
}
