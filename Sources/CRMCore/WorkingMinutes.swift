public import Foundation

extension WorkingHours {
    /// The instant `minutes` working minutes after `start`: time counts only inside working hours
    /// on working days (less the days `holidays` lists as non-working). A start outside working
    /// hours counts from the next opening, so a call missed on Friday at 18:50 with a 30-minute
    /// call-back and 09:00–19:00 hours is due on Monday at 09:20 (docs/rules.md, "Calls from the
    /// PBX"). Without working days or with empty hours, plain minutes are added.
    public func adding(minutes: Int, to start: Date, holidays: WorkCalendar?) -> Date {
        let total = Double(max(0, minutes)) * 60
        guard !days.isEmpty, startMinute < endMinute else { return start.addingTimeInterval(total) }
        var t = nextDeliveryInstant(at: start, holidays: holidays)
        var left = total
        // Bounded: each round uses up one working day; a year of them is more than any setting allows.
        for _ in 0..<WorkCalendar.longestRun {
            let day = LocalDate.containing(t, in: timeZone)
            let close = day.instant(hour: endMinute / 60, in: timeZone).addingTimeInterval(Double(endMinute % 60) * 60)
            let room = close.timeIntervalSince(t)
            if left <= room { return t.addingTimeInterval(left) }
            left -= max(0, room)
            t = nextDeliveryInstant(at: close, holidays: holidays)
        }
        return t.addingTimeInterval(left)
    }
}

extension WorkingHours {
    /// The next instant working hours begin strictly after `now` (the next working day's opening,
    /// less the days `holidays` lists as non-working): when requests left unrouted overnight, over
    /// a weekend or a holiday are routed (docs/rules.md, "Requests"). Inside working hours it is
    /// the opening after today's close. Nil without working days or with empty hours.
    public func nextOpening(after now: Date, holidays: WorkCalendar?) -> Date? {
        guard !days.isEmpty, startMinute < endMinute else { return nil }
        let t = nextDeliveryInstant(at: now, holidays: holidays)
        if t > now { return t }
        let day = LocalDate.containing(now, in: timeZone)
        let close = day.instant(hour: endMinute / 60, in: timeZone).addingTimeInterval(Double(endMinute % 60) * 60)
        let next = nextDeliveryInstant(at: close, holidays: holidays)
        return next > now ? next : nil
    }
}
