public import Foundation

/// How far ahead crmd lets time and deadlines run, so that every instant it stores or derives
/// can be written on the wire (RFC 3339, years 0000-9999).
///
/// The clock may not show a time after ``latestNow`` (9000-01-01T00:00:00Z), and a setting that
/// counts a deadline ahead (`zones.*_after`, `exchange.cooldown`, `interactions.max_future`) may
/// not be longer than ``longestSetting`` (P100Y). The furthest instant crmd can then make is a
/// cooldown's end: an interaction dated up to `max_future` after the clock, a release up to
/// `release_after` after that, a cooldown up to `exchange.cooldown` after the release (and an alert
/// held for working hours a fortnight more) — before year 9301, well inside the wire range.
public enum InstantLimits {
    /// The latest time the clock may show: 9000-01-01T00:00:00Z.
    public static let latestNow = Date(timeIntervalSince1970: 221_845_392_000)
    /// ``latestNow`` as it is written on the wire.
    public static let latestNowText = "9000-01-01T00:00:00Z"
    /// Why the clock stops at ``latestNow``, for messages.
    public static let latestNowReason =
        "the latest the clock may show, so that release dates and cooldowns counted from it stay within years 0000-9999"
    /// The longest a setting may count a deadline ahead: P100Y.
    public static let longestSetting = ISODuration(years: 100)

    private static let utc: Calendar = {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = TimeZone(identifier: "UTC") ?? TimeZone(secondsFromGMT: 0)!
        return c
    }()

    /// Whether `duration` is at most ``longestSetting`` (counted from ``latestNow`` in UTC, so
    /// P1200M and P36524D fit, P36525D does not).
    public static func fits(_ duration: ISODuration) -> Bool {
        duration.added(to: latestNow, in: utc) <= longestSetting.added(to: latestNow, in: utc)
    }

    /// The problem with a setting counting a deadline `duration` ahead, or nil when it fits.
    public static func problem(_ duration: ISODuration) -> String? {
        // A settings file's problem, said in English to whoever edits it.
        guard !fits(duration) else { return nil }
        return
            "'\(duration)' must be at most \(longestSetting) (crmd counts deadlines at most 100 years ahead, so every date stays within years 0000-9999)"
    }
}
