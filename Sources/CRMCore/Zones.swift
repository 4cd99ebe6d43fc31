public import Foundation

/// The colored zone of an assigned client (RULES §4).
public enum Zone: String, Sendable, CaseIterable, Comparable {
    case green, yellow, red

    public static func < (a: Zone, b: Zone) -> Bool {
        let order: [Zone] = [.green, .yellow, .red]
        return order.firstIndex(of: a)! < order.firstIndex(of: b)!
    }
}

/// The zone thresholds, measured from R (the later of the last resetting interaction and the
/// assignment), in a time zone.
public struct ZoneThresholds: Sendable, Equatable {
    /// Green ends, yellow begins (default P1M).
    public var yellowAfter: ISODuration
    /// Yellow ends, red begins (default P5M).
    public var redAfter: ISODuration
    /// The client is released to the exchange (default P6M).
    public var releaseAfter: ISODuration
    /// The time zone calendar arithmetic and "days" use (default Europe/Moscow).
    public var timeZone: TimeZone

    public init(yellowAfter: ISODuration, redAfter: ISODuration, releaseAfter: ISODuration, timeZone: TimeZone) {
        self.yellowAfter = yellowAfter
        self.redAfter = redAfter
        self.releaseAfter = releaseAfter
        self.timeZone = timeZone
    }

    /// P1M / P5M / P6M in Europe/Moscow.
    public static let `default` = ZoneThresholds(
        yellowAfter: ISODuration(months: 1), redAfter: ISODuration(months: 5), releaseAfter: ISODuration(months: 6),
        timeZone: TimeZone(identifier: "Europe/Moscow") ?? TimeZone(secondsFromGMT: 3 * 3600)!)
}

/// The instants at which an assigned client changes zone, all derived from R.
public struct ZoneSchedule: Sendable, Equatable {
    /// R: when the clock started.
    public var start: Date
    public var yellowAt: Date
    public var redAt: Date
    public var releaseAt: Date

    public init(start: Date, yellowAt: Date, redAt: Date, releaseAt: Date) {
        self.start = start
        self.yellowAt = yellowAt
        self.redAt = redAt
        self.releaseAt = releaseAt
    }

    /// The zone at `now`, or `nil` when the client is due for release.
    public func zone(at now: Date) -> Zone? {
        if now < yellowAt { return .green }
        if now < redAt { return .yellow }
        if now < releaseAt { return .red }
        return nil
    }

    /// The next instant after `now` at which anything changes, or `nil` when nothing is left.
    public func nextChange(after now: Date) -> Date? {
        [yellowAt, redAt, releaseAt].first { $0 > now }
    }
}

/// Pure zone rules: the schedule from R, the zone at an instant, and days left before release.
public struct ZoneRules: Sendable {
    public let thresholds: ZoneThresholds
    let calendar: Calendar

    public init(_ thresholds: ZoneThresholds) {
        self.thresholds = thresholds
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = thresholds.timeZone
        self.calendar = cal
    }

    /// The schedule of a clock started at `start`.
    public func schedule(from start: Date) -> ZoneSchedule {
        ZoneSchedule(
            start: start,
            yellowAt: thresholds.yellowAfter.added(to: start, in: calendar),
            redAt: thresholds.redAfter.added(to: start, in: calendar),
            releaseAt: thresholds.releaseAfter.added(to: start, in: calendar))
    }

    /// Whole calendar days from the day of `now` to the day of `releaseAt`, in the configured time
    /// zone (0 on the release day itself; never negative).
    public func daysToRelease(now: Date, releaseAt: Date) -> Int {
        max(0, Int(localDayNumber(releaseAt) - localDayNumber(now)))
    }

    /// The number of the calendar day `date` falls on in the configured time zone (days since
    /// 1970-01-01 local). Two instants' day numbers differ by the calendar days between them, DST
    /// days included, without the cost of `Calendar` on the hot path of every client card.
    public func localDayNumber(_ date: Date) -> Int64 {
        let local = date.timeIntervalSince1970 + Double(thresholds.timeZone.secondsFromGMT(for: date))
        return Int64((local / 86_400).rounded(.down))
    }

    /// Checks that the thresholds are in order (yellow < red < release) for a sample start, and
    /// that the release is at most ``InstantLimits/longestSetting`` ahead.
    public func validate() -> String? {
        let sample = Date(timeIntervalSince1970: 1_767_225_600)  // 2026-01-01
        let s = schedule(from: sample)
        if !(sample < s.yellowAt && s.yellowAt < s.redAt && s.redAt < s.releaseAt) {
            return "zone thresholds must grow: yellow_after < red_after < release_after"
        }
        // The others are shorter, so this one bounds them all.
        if let problem = InstantLimits.problem(thresholds.releaseAfter) { return "release_after \(problem)" }
        return nil
    }
}
