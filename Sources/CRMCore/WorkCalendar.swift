public import Foundation

/// A problem in a holiday calendar file, with the line a person should fix.
public struct CalendarFileError: Error, Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var problem: String

    public init(line: Int, problem: String) {
        self.line = line
        self.problem = problem
    }

    public var description: String { "line \(line): \(problem)" }
}

/// The department's working days: Monday to Friday, less the non-working days a calendar file
/// lists (holidays and days off moved onto weekdays), plus the weekend days it lists as working
/// (a Saturday worked in exchange). The Russian production calendar for 2026 and 2027 ships in
/// config/calendar/; a person updates the file when the government publishes its decree.
///
/// The file has one day a line: `YYYY-MM-DD off` or `YYYY-MM-DD work`, with anything after the
/// word as a note; `#` starts a comment; blank lines are skipped.
public struct WorkCalendar: Sendable, Equatable {
    /// Weekdays listed as non-working (day numbers since 1970-01-01).
    public private(set) var offDays: Set<Int> = []
    /// Weekend days listed as working.
    public private(set) var workDays: Set<Int> = []

    /// The longest run of non-working days searched past (a year): a calendar that lists more is
    /// refused when read.
    public static let longestRun = 366

    /// The most lines a calendar file may have (a day a line: decades of calendars).
    public static let maxLines = 20_000

    /// A calendar with no holidays: Monday to Friday work.
    public init() {}

    /// Reads a calendar file's text; the error names the first bad line.
    public init(parsing text: String) throws(CalendarFileError) {
        var n = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            n += 1
            if n > Self.maxLines { throw CalendarFileError(line: n, problem: "more than \(Self.maxLines) lines") }
            let line = raw.prefix { $0 != "#" }.trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let date = LocalDate(String(words[0])) else {
                throw CalendarFileError(line: n, problem: "'\(words[0])' is not a date YYYY-MM-DD")
            }
            guard words.count >= 2, let kind = ["off", "work"].first(where: { $0 == words[1].lowercased() }) else {
                throw CalendarFileError(line: n, problem: "after the date write 'off' (a day off) or 'work' (a working day)")
            }
            let day = date.dayNumber
            if offDays.contains(day) || workDays.contains(day) {
                throw CalendarFileError(line: n, problem: "\(date) is listed twice")
            }
            if kind == "off" { offDays.insert(day) } else { workDays.insert(day) }
        }
        // A run of days off longer than a year is a mistake (and would make the search unbounded).
        var run = 0
        for day in offDays.sorted() {
            run = offDays.contains(day - 1) ? run + 1 : 1
            if run > Self.longestRun / 2 {
                throw CalendarFileError(
                    line: 0, problem: "more than \(Self.longestRun / 2) days off in a row from \(LocalDate(dayNumber: day))")
            }
        }
    }

    /// The ISO weekday (1 Monday ... 7 Sunday) of a day number (1970-01-01 was a Thursday).
    public static func weekday(_ day: Int) -> Int {
        let r = (day + 3) % 7
        return (r < 0 ? r + 7 : r) + 1
    }

    /// Whether people work on day `day` (days since 1970-01-01).
    public func isWorkingDay(_ day: Int) -> Bool {
        if offDays.contains(day) { return false }
        if workDays.contains(day) { return true }
        return Self.weekday(day) <= 5
    }

    /// The first working day on or after `day`.
    public func workingDay(onOrAfter day: Int) -> Int {
        var d = day
        // Bounded: the parser refuses runs longer than half a year, and weekends are two days.
        for _ in 0..<Self.longestRun where !isWorkingDay(d) { d += 1 }
        return d
    }

    /// The working day `n` working days after `day` (n ≥ 0; from a non-working day, counting
    /// starts at the next working day, which is day 0).
    public func adding(workingDays n: Int, to day: Int) -> Int {
        var d = workingDay(onOrAfter: day)
        for _ in 0..<max(0, n) { d = workingDay(onOrAfter: d + 1) }
        return d
    }

    /// `date` moved off a non-working day: the same instant if its local day (in `timeZone`) is a
    /// working day, else the start of the next working day at `hour` local time.
    public func movedToWorkingDay(_ date: Date, hour: Int, in timeZone: TimeZone) -> Date {
        let day = LocalDate.containing(date, in: timeZone).dayNumber
        guard !isWorkingDay(day) else { return date }
        return LocalDate(dayNumber: workingDay(onOrAfter: day)).instant(hour: hour, in: timeZone)
    }
}

extension WorkingHours {
    /// When a reminder due at `at` reaches people: ``nextDeliveryInstant(at:)``, moved past the
    /// days `holidays` lists as non-working (to the start of working hours on the next working
    /// day). Without a calendar, the working hours alone decide.
    public func nextDeliveryInstant(at: Date, holidays: WorkCalendar?) -> Date {
        var t = nextDeliveryInstant(at: at)
        guard let holidays else { return t }
        // Bounded: the calendar refuses runs of days off longer than half a year.
        for _ in 0..<WorkCalendar.longestRun {
            let day = LocalDate.containing(t, in: timeZone).dayNumber
            if holidays.isWorkingDay(day) { return t }
            t = nextDeliveryInstant(at: LocalDate(dayNumber: holidays.workingDay(onOrAfter: day + 1)).instant(in: timeZone))
        }
        return t
    }
}

extension WorkCalendar {
    /// `schedule` with its release moved off a non-working day (`calendar.move_releases`): to
    /// `hour` local time on the next working day. Yellow and red stay; the reminder marks, counted
    /// back from the release, move with it.
    public func releaseMoved(_ schedule: ZoneSchedule, hour: Int, in timeZone: TimeZone) -> ZoneSchedule {
        var s = schedule
        s.releaseAt = movedToWorkingDay(schedule.releaseAt, hour: hour, in: timeZone)
        return s
    }
}

extension WorkCalendar {
    /// `duration` after `start` with its days counted as working days (`calendar.working_days`):
    /// a duration of whole days or weeks (a week is 5 working days) ends at the same local time on
    /// the working day that many working days after `start`'s day (counting from the next working
    /// day when `start` falls on a day off). A duration with months, years or a time part stays
    /// calendar time.
    public func adding(_ duration: ISODuration, to start: Date, rules: ZoneRules) -> Date {
        let d = duration
        guard d.years == 0, d.months == 0, d.hours == 0, d.minutes == 0, d.seconds == 0 else { return rules.add(d, to: start) }
        let zone = rules.thresholds.timeZone
        let day = LocalDate.containing(start, in: zone)
        let timeOfDay = start.timeIntervalSince(day.instant(in: zone))
        let target = LocalDate(dayNumber: adding(workingDays: d.weeks * 5 + d.days, to: day.dayNumber))
        return target.instant(in: zone).addingTimeInterval(timeOfDay)
    }

    /// The schedule of a clock started at `start` with the thresholds' days counted as working
    /// days (see ``adding(_:to:rules:)``).
    public func schedule(from start: Date, rules: ZoneRules) -> ZoneSchedule {
        let t = rules.thresholds
        return ZoneSchedule(
            start: start, yellowAt: adding(t.yellowAfter, to: start, rules: rules), redAt: adding(t.redAfter, to: start, rules: rules),
            releaseAt: adding(t.releaseAfter, to: start, rules: rules))
    }
}
