import CRMCore
import Foundation
import Testing

@Suite("Zone rules: schedule from R and the zone at an instant")
struct ZoneScheduleTests {
    let rules = ZoneRules(.default)

    @Test func defaultThresholdsAreOneFiveSixMonthsInMoscow() {
        let t = ZoneThresholds.default
        #expect(t.yellowAfter == ISODuration(months: 1))
        #expect(t.redAfter == ISODuration(months: 5))
        #expect(t.releaseAfter == ISODuration(months: 6))
        #expect(t.timeZone.identifier == "Europe/Moscow")
        #expect(t.timeZone.secondsFromGMT(for: instant("2026-07-01T00:00:00Z")) == 3 * 3600)
        #expect(t.timeZone.secondsFromGMT(for: instant("2026-01-01T00:00:00Z")) == 3 * 3600)
        #expect(rules.validate() == nil)
    }

    @Test func scheduleFromR() {
        let r = instant("2026-01-15T10:00:00+03:00")
        let s = rules.schedule(from: r)
        #expect(s.start == r)
        #expect(s.yellowAt == instant("2026-02-15T10:00:00+03:00"))
        #expect(s.redAt == instant("2026-06-15T10:00:00+03:00"))
        #expect(s.releaseAt == instant("2026-07-15T10:00:00+03:00"))
    }

    @Test func zoneAtExactBoundaries() {
        let s = rules.schedule(from: instant("2026-01-15T10:00:00+03:00"))
        let ms = 0.001
        #expect(s.zone(at: s.start) == .green)
        #expect(s.zone(at: s.start.addingTimeInterval(-86_400)) == .green)
        #expect(s.zone(at: s.yellowAt.addingTimeInterval(-ms)) == .green)
        #expect(s.zone(at: s.yellowAt) == .yellow)
        #expect(s.zone(at: s.redAt.addingTimeInterval(-ms)) == .yellow)
        #expect(s.zone(at: s.redAt) == .red)
        #expect(s.zone(at: s.releaseAt.addingTimeInterval(-ms)) == .red)
        #expect(s.zone(at: s.releaseAt) == nil)
        #expect(s.zone(at: s.releaseAt.addingTimeInterval(365 * 86_400)) == nil)
    }

    @Test func nextChange() {
        let s = rules.schedule(from: instant("2026-01-15T10:00:00+03:00"))
        #expect(s.nextChange(after: s.start) == s.yellowAt)
        #expect(s.nextChange(after: s.yellowAt.addingTimeInterval(-1)) == s.yellowAt)
        // Strictly after: at the yellow instant itself the next change is red.
        #expect(s.nextChange(after: s.yellowAt) == s.redAt)
        #expect(s.nextChange(after: s.redAt) == s.releaseAt)
        #expect(s.nextChange(after: s.releaseAt) == nil)
    }

    @Test func zoneOrderIsGreenYellowRed() {
        #expect(Zone.green < Zone.yellow)
        #expect(Zone.yellow < Zone.red)
        #expect(!(Zone.red < Zone.green))
        #expect(Zone.allCases.sorted() == [.green, .yellow, .red])
    }

    @Test func jan31PlusOneMonthIsEndOfFebruary() {
        // 2026 is not a leap year.
        let s = rules.schedule(from: instant("2026-01-31T10:00:00+03:00"))
        #expect(s.yellowAt == instant("2026-02-28T10:00:00+03:00"))
        #expect(s.redAt == instant("2026-06-30T10:00:00+03:00"))
        #expect(s.releaseAt == instant("2026-07-31T10:00:00+03:00"))
        // 2028 is a leap year.
        let leap = rules.schedule(from: instant("2028-01-31T10:00:00+03:00"))
        #expect(leap.yellowAt == instant("2028-02-29T10:00:00+03:00"))
    }

    @Test func monthArithmeticUsesTheConfiguredZoneNotUTC() {
        // 2026-01-30T22:30Z is already Jan 31, 01:30 in Moscow: + P1M is Feb 28, 01:30 Moscow time.
        let r = instant("2026-01-30T22:30:00Z")
        let inMoscow = ZoneRules(.default).schedule(from: r)
        #expect(inMoscow.yellowAt == instant("2026-02-28T01:30:00+03:00"))
        #expect(inMoscow.yellowAt == instant("2026-02-27T22:30:00Z"))
        // In UTC the same instant is Jan 30, + P1M is Feb 28 (clamped) 22:30Z: a different instant.
        let inUTC = ZoneRules(thresholds(in: utc)).schedule(from: r)
        #expect(inUTC.yellowAt == instant("2026-02-28T22:30:00Z"))
        #expect(inMoscow.yellowAt != inUTC.yellowAt)
    }

    @Test func leapDay() {
        let r = instant("2028-02-29T12:00:00+03:00")
        let s = rules.schedule(from: r)
        #expect(s.yellowAt == instant("2028-03-29T12:00:00+03:00"))
        #expect(s.releaseAt == instant("2028-08-29T12:00:00+03:00"))
        let yearly = ZoneThresholds(
            yellowAfter: ISODuration(months: 1), redAfter: ISODuration(months: 6), releaseAfter: ISODuration(years: 1),
            timeZone: moscow)
        #expect(ZoneRules(yearly).schedule(from: r).releaseAt == instant("2029-02-28T12:00:00+03:00"))
        let twoMonths = ZoneThresholds(
            yellowAfter: ISODuration(months: 2), redAfter: ISODuration(months: 3), releaseAfter: ISODuration(months: 4),
            timeZone: moscow)
        #expect(ZoneRules(twoMonths).schedule(from: instant("2027-12-31T09:00:00+03:00")).yellowAt == instant("2028-02-29T09:00:00+03:00"))
    }

    @Test func springDSTInBerlinKeepsWallClockTime() {
        // Clocks go forward on 2026-03-29 (CET +01:00 -> CEST +02:00).
        let berlinRules = ZoneRules(thresholds(in: berlin))
        let r = instant("2026-03-10T10:00:00+01:00")
        let s = berlinRules.schedule(from: r)
        #expect(s.yellowAt == instant("2026-04-10T10:00:00+02:00"))
        #expect(s.yellowAt.timeIntervalSince(r) == 31 * 86_400 - 3600)
        #expect(s.releaseAt == instant("2026-09-10T10:00:00+02:00"))
    }

    @Test func autumnDSTInBerlinKeepsWallClockTime() {
        // Clocks go back on 2026-10-25 (CEST +02:00 -> CET +01:00).
        let berlinRules = ZoneRules(thresholds(in: berlin))
        let r = instant("2026-10-10T10:00:00+02:00")
        let s = berlinRules.schedule(from: r)
        #expect(s.yellowAt == instant("2026-11-10T10:00:00+01:00"))
        #expect(s.yellowAt.timeIntervalSince(r) == 31 * 86_400 + 3600)
    }

    @Test func daysFollowTheCalendarButHoursAreAbsoluteAcrossDST() {
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = berlin
        let before = instant("2026-03-28T12:00:00+01:00")
        // P1D keeps the wall clock: a 23-hour day.
        #expect(ISODuration(days: 1).added(to: before, in: cal) == instant("2026-03-29T12:00:00+02:00"))
        // PT24H is 24 real hours.
        #expect(ISODuration(hours: 24).added(to: before, in: cal) == instant("2026-03-29T13:00:00+02:00"))
        // Subtraction undoes addition on an ordinary day.
        let after = ISODuration(days: 1).added(to: before, in: cal)
        #expect(ISODuration(days: 1).subtracted(from: after, in: cal) == before)
        #expect(ISODuration(hours: 12).subtracted(from: before, in: cal) == instant("2026-03-28T00:00:00+01:00"))
    }

    @Test func validateRejectsThresholdsOutOfOrder() {
        let bad = ZoneThresholds(
            yellowAfter: ISODuration(months: 5), redAfter: ISODuration(months: 1), releaseAfter: ISODuration(months: 6),
            timeZone: moscow)
        #expect(ZoneRules(bad).validate() != nil)
        let equal = ZoneThresholds(
            yellowAfter: ISODuration(months: 1), redAfter: ISODuration(months: 6), releaseAfter: ISODuration(months: 6),
            timeZone: moscow)
        #expect(ZoneRules(equal).validate() != nil)
        let zero = ZoneThresholds(
            yellowAfter: ISODuration(), redAfter: ISODuration(months: 1), releaseAfter: ISODuration(months: 2), timeZone: moscow)
        #expect(ZoneRules(zero).validate() != nil)
        let short = ZoneThresholds(
            yellowAfter: ISODuration(days: 2), redAfter: ISODuration(days: 5), releaseAfter: ISODuration(weeks: 1), timeZone: moscow)
        #expect(ZoneRules(short).validate() == nil)
    }
}

@Suite("Zone rules: days to release")
struct DaysToReleaseTests {
    let rules = ZoneRules(.default)

    @Test func zeroOnTheReleaseDay() {
        let release = instant("2026-07-15T10:00:00+03:00")
        #expect(rules.daysToRelease(now: instant("2026-07-15T00:00:00+03:00"), releaseAt: release) == 0)
        #expect(rules.daysToRelease(now: instant("2026-07-15T09:59:59+03:00"), releaseAt: release) == 0)
        #expect(rules.daysToRelease(now: release, releaseAt: release) == 0)
    }

    @Test func neverNegative() {
        let release = instant("2026-07-15T10:00:00+03:00")
        #expect(rules.daysToRelease(now: instant("2026-07-15T23:00:00+03:00"), releaseAt: release) == 0)
        #expect(rules.daysToRelease(now: instant("2026-08-20T12:00:00+03:00"), releaseAt: release) == 0)
    }

    @Test func wholeCalendarDaysNotTwentyFourHourBlocks() {
        // One hour apart, but across local midnight: 1 day.
        #expect(rules.daysToRelease(now: instant("2026-07-14T23:30:00+03:00"), releaseAt: instant("2026-07-15T00:30:00+03:00")) == 1)
        // 47 hours apart, but only one midnight between the days: 1 day.
        #expect(rules.daysToRelease(now: instant("2026-07-14T00:30:00+03:00"), releaseAt: instant("2026-07-15T23:30:00+03:00")) == 1)
        #expect(rules.daysToRelease(now: instant("2026-07-13T23:59:59+03:00"), releaseAt: instant("2026-07-15T00:00:00+03:00")) == 2)
    }

    @Test func daysAreCountedInTheConfiguredZone() {
        // 20:30Z and 21:30Z on July 14 are 23:30 and 00:30 (next day) in Moscow.
        let now = instant("2026-07-14T20:30:00Z")
        let release = instant("2026-07-14T21:30:00Z")
        #expect(ZoneRules(.default).daysToRelease(now: now, releaseAt: release) == 1)
        #expect(ZoneRules(thresholds(in: utc)).daysToRelease(now: now, releaseAt: release) == 0)
    }

    @Test func fullScheduleFromR() {
        let r = instant("2026-01-15T10:00:00+03:00")
        let s = rules.schedule(from: r)
        // Jan 15 -> Jul 15: 31 + 28 + 31 + 30 + 31 + 30 days.
        #expect(rules.daysToRelease(now: r, releaseAt: s.releaseAt) == 181)
        #expect(rules.daysToRelease(now: s.redAt, releaseAt: s.releaseAt) == 30)
        #expect(rules.daysToRelease(now: s.releaseAt.addingTimeInterval(-1), releaseAt: s.releaseAt) == 0)
    }

    @Test func acrossDSTInBerlin() {
        let b = ZoneRules(thresholds(in: berlin))
        // March 28 -> March 30 spans the 23-hour day of March 29.
        #expect(b.daysToRelease(now: instant("2026-03-28T12:00:00+01:00"), releaseAt: instant("2026-03-30T11:00:00+02:00")) == 2)
        #expect(b.daysToRelease(now: instant("2026-03-28T23:30:00+01:00"), releaseAt: instant("2026-03-29T00:30:00+01:00")) == 1)
        // October 25 is a 25-hour day.
        #expect(b.daysToRelease(now: instant("2026-10-24T12:00:00+02:00"), releaseAt: instant("2026-10-26T12:00:00+01:00")) == 2)
    }
}

@Suite("Client clock start (R)")
struct ClockStartTests {
    func client(status: ClientStatus, last: Date?, assigned: Date?) -> Client {
        let t = instant("2026-01-01T00:00:00Z")
        return Client(
            id: 1, name: "X", kind: .company, phones: [], emails: [], ownerID: status == .assigned ? 1 : nil, status: status,
            segment: nil, source: nil, abc: nil, fieldsJSON: "{}", lastInteractionAt: last, assignedAt: assigned, releasedAt: nil,
            releasedFrom: nil, releaseReason: nil, createdAt: t, updatedAt: t)
    }

    @Test func laterOfLastInteractionAndAssignment() {
        let a = instant("2026-02-01T10:00:00Z")
        let l = instant("2026-03-01T10:00:00Z")
        #expect(client(status: .assigned, last: l, assigned: a).clockStart == l)
        #expect(client(status: .assigned, last: a, assigned: l).clockStart == l)
        #expect(client(status: .assigned, last: nil, assigned: a).clockStart == a)
        #expect(client(status: .assigned, last: l, assigned: nil).clockStart == l)
        #expect(client(status: .assigned, last: nil, assigned: nil).clockStart == nil)
    }

    @Test func noClockUnlessAssigned() {
        let a = instant("2026-02-01T10:00:00Z")
        #expect(client(status: .exchange, last: a, assigned: a).clockStart == nil)
        #expect(client(status: .unassigned, last: a, assigned: a).clockStart == nil)
    }
}
