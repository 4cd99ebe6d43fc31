public import Foundation

/// Where an assigned client stands on its clock: the zone last applied and how many reminder
/// marks of the current cycle have been handled.
public struct ClockState: Sendable, Equatable {
    public var zone: Zone
    /// Number of reminder marks already handled (index into ``ReminderPolicy/marks``).
    public var stage: Int

    public init(zone: Zone, stage: Int) {
        self.zone = zone
        self.stage = stage
    }

    /// A fresh cycle: green, no reminder sent.
    public static let fresh = ClockState(zone: .green, stage: 0)
}

/// When days-to-release reminders fall due (RULES §6).
public struct ReminderPolicy: Sendable, Equatable {
    /// Days before release, largest first (default 30, 14, 7, 3, 1).
    public var marks: [Int]
    /// Remind the owner when the client turns yellow.
    public var onYellow: Bool

    public init(marks: [Int] = [30, 14, 7, 3, 1], onYellow: Bool = true) {
        self.marks = marks.sorted(by: >)
        self.onYellow = onYellow
    }
}

/// One thing that happens to a client's clock at an instant.
public enum TimelineStep: Sendable, Equatable {
    /// The client moved from one zone to the next.
    case zone(from: Zone, to: Zone, at: Date)
    /// The client is released to the exchange.
    case release(at: Date)
    /// A days-to-release reminder mark was reached (`daysLeft` is the mark).
    case reminder(daysLeft: Int, at: Date)

    /// The instant of the step.
    public var at: Date {
        switch self {
        case .zone(_, _, let at), .release(let at), .reminder(_, let at): return at
        }
    }
}

extension ZoneRules {
    /// The instant of a reminder mark: `days` calendar days before the release instant.
    public func markInstant(_ schedule: ZoneSchedule, daysBefore days: Int) -> Date {
        ISODuration(days: days).subtracted(from: schedule.releaseAt, in: calendar)
    }

    /// The next instant anything is due for a client in `state`, or `nil` if nothing is left.
    public func nextDue(_ schedule: ZoneSchedule, _ state: ClockState, policy: ReminderPolicy) -> Date {
        let boundary = Self.boundary(schedule, state.zone)
        guard state.stage < policy.marks.count else { return boundary }
        return min(boundary, markInstant(schedule, daysBefore: policy.marks[state.stage]))
    }

    /// Where a clock started at `schedule.start` stands at `now`, when it starts then (a new
    /// cycle, possibly from a backdated contact): the zone at `now`, and every mark before `now`
    /// counted as handled, unsent (the contact that started the cycle is newer news than they).
    /// A clock already past its release stays red with its release due at once.
    public func state(_ schedule: ZoneSchedule, at now: Date, policy: ReminderPolicy) -> ClockState {
        guard let zone = schedule.zone(at: now) else { return ClockState(zone: .red, stage: policy.marks.count) }
        let stage = policy.marks.prefix { markInstant(schedule, daysBefore: $0) < now }.count
        return ClockState(zone: zone, stage: stage)
    }

    static func boundary(_ schedule: ZoneSchedule, _ zone: Zone) -> Date {
        switch zone {
        case .green: return schedule.yellowAt
        case .yellow: return schedule.redAt
        case .red: return schedule.releaseAt
        }
    }

    /// `duration` after `date` in the configured calendar and time zone.
    public func add(_ duration: ISODuration, to date: Date) -> Date {
        duration.added(to: date, in: calendar)
    }

    /// Every step due at or before `now`, in order, and the state after them. Stops at the
    /// release (a released client has no clock). Marks that fall before the client's clock
    /// started (a short cycle) are skipped silently. With `coalesceReminders`, only the newest
    /// reminder of the run is kept: after downtime a manager gets the current reminder, not a
    /// burst of stale ones.
    public func steps(
        _ schedule: ZoneSchedule, from state: ClockState, upTo now: Date, policy: ReminderPolicy, coalesceReminders: Bool
    ) -> (steps: [TimelineStep], state: ClockState, released: Bool) {
        var st = state
        var out: [TimelineStep] = []
        // Calendar arithmetic is the costly part: every mark's instant is computed once.
        let marks = policy.marks.map { markInstant(schedule, daysBefore: $0) }
        // Marks already in the past when the cycle began are not reminders of this cycle.
        while st.stage < marks.count, marks[st.stage] < schedule.start {
            st.stage += 1
        }
        while true {
            let boundary = Self.boundary(schedule, st.zone)
            let due = st.stage < marks.count ? min(boundary, marks[st.stage]) : boundary
            guard due <= now else { break }
            if st.stage < marks.count, marks[st.stage] == due, due < boundary {
                out.append(.reminder(daysLeft: policy.marks[st.stage], at: due))
                st.stage += 1
                continue
            }
            // A zone boundary (a mark on the same instant follows it).
            switch st.zone {
            case .green:
                out.append(.zone(from: .green, to: .yellow, at: due))
                st.zone = .yellow
            case .yellow:
                out.append(.zone(from: .yellow, to: .red, at: due))
                st.zone = .red
            case .red:
                out.append(.release(at: due))
                st.stage = policy.marks.count
                return (coalesce(out, coalesceReminders), st, true)
            }
        }
        return (coalesce(out, coalesceReminders), st, false)
    }

    private func coalesce(_ steps: [TimelineStep], _ on: Bool) -> [TimelineStep] {
        guard on else { return steps }
        guard let last = steps.lastIndex(where: { if case .reminder = $0 { return true } else { return false } }) else { return steps }
        return steps.enumerated().filter { i, s in
            if case .reminder = s { return i == last }
            return true
        }.map(\.element)
    }
}

/// Working hours for reminders to people (zone changes themselves happen at their instant).
public struct WorkingHours: Sendable, Equatable {
    /// Minutes after local midnight when the working day starts and ends.
    public var startMinute: Int
    public var endMinute: Int
    /// ISO weekdays that are working days (1 = Monday ... 7 = Sunday).
    public var days: Set<Int>
    public var timeZone: TimeZone {
        didSet { calendar.timeZone = timeZone }
    }
    private var calendar: Calendar

    public init(startMinute: Int = 9 * 60, endMinute: Int = 19 * 60, days: Set<Int> = [1, 2, 3, 4, 5], timeZone: TimeZone) {
        self.startMinute = startMinute
        self.endMinute = endMinute
        self.days = days
        self.timeZone = timeZone
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = timeZone
        self.calendar = cal
    }

    public static func == (a: WorkingHours, b: WorkingHours) -> Bool {
        a.startMinute == b.startMinute && a.endMinute == b.endMinute && a.days == b.days && a.timeZone == b.timeZone
    }

    /// `at` itself if it falls inside working hours, else the next working-day start.
    public func nextDeliveryInstant(at: Date) -> Date {
        guard !days.isEmpty, startMinute < endMinute else { return at }
        // Inside working hours (the common case for a scheduler pass by day): the local wall
        // clock decides, no calendar needed. 1970-01-01 was a Thursday (ISO weekday 4).
        let local = at.timeIntervalSince1970 + Double(timeZone.secondsFromGMT(for: at))
        let dayNumber = Int((local / 86_400).rounded(.down))
        let minute = Int(((local - Double(dayNumber) * 86_400) / 60).rounded(.down))
        let isoWeekday = ((dayNumber + 3) % 7 + 7) % 7 + 1
        if days.contains(isoWeekday), minute >= startMinute, minute < endMinute { return at }
        let cal = calendar
        var day = cal.startOfDay(for: at)
        for _ in 0..<15 {
            let weekday = cal.component(.weekday, from: day)  // 1 = Sunday
            let iso = weekday == 1 ? 7 : weekday - 1
            if days.contains(iso) {
                let open = cal.date(byAdding: .minute, value: startMinute, to: day) ?? day
                let close = cal.date(byAdding: .minute, value: endMinute, to: day) ?? day
                if at < open { return open }
                if at < close { return at }
            }
            day = cal.date(byAdding: .day, value: 1, to: day) ?? day.addingTimeInterval(86_400)
        }
        return at
    }
}
