import CRMCore
import Foundation
import Testing

/// The exchange's rules on a claim in `zone`: P6M cooldown, `perDay` claims a day, `owned` clients.
func exchangeRules(in zone: TimeZone = moscow, perDay: Int = 0, owned: Int = 0) -> ExchangeRules {
    ExchangeRules(
        cooldown: ISODuration(months: 6), maxClaimsPerDay: perDay, maxClientsPerManager: owned, zones: ZoneRules(thresholds(in: zone)))
}

/// The claims of `claims` that count for a claim at `now`: those since the start of its day, as
/// the store counts them (`at >= since`).
func claimsToday(_ rules: ExchangeRules, _ claims: [Date], at now: Date) -> Int {
    let since = rules.dayStart(of: now)
    return claims.filter { $0 >= since }.count
}

@Suite("Exchange rules: cooldown, claims per day, clients per manager")
struct ExchangeRulesTests {
    let ms = 0.001

    @Test func fromTheSettings() {
        var s = DomainSettings(zones: thresholds(in: berlin))
        s.exchangeCooldown = ISODuration(months: 3)
        s.maxClaimsPerDay = 4
        s.maxClientsPerManager = 50
        let r = ExchangeRules(s, zones: ZoneRules(s.zones))
        #expect(r.cooldown == ISODuration(months: 3))
        #expect(r.maxClaimsPerDay == 4)
        #expect(r.maxClientsPerManager == 50)
        #expect(r.zones.thresholds.timeZone == berlin)
        #expect(r.limitsClaimsPerDay && r.limitsClientsPerManager)
        // The defaults: P6M, no limits.
        let d = ExchangeRules(DomainSettings(), zones: ZoneRules(.default))
        #expect(d.cooldown == ISODuration(months: 6))
        #expect(!d.limitsClaimsPerDay && !d.limitsClientsPerManager)
    }

    // MARK: the cooldown

    @Test func cooldownEndsExactlySixCalendarMonthsAfterTheRelease() {
        let r = exchangeRules()
        let released = instant("2026-01-12T12:00:00+03:00")
        let until = r.cooldownUntil(releasedAt: released)
        #expect(until == instant("2026-07-12T12:00:00+03:00"))
        #expect(r.claimRefusal(now: released, cooldownUntil: until, claimsToday: 0, owned: 0) == .cooldown(until: until))
        #expect(
            r.claimRefusal(now: until.addingTimeInterval(-ms), cooldownUntil: until, claimsToday: 0, owned: 0) == .cooldown(until: until))
        // From the very instant on, the manager may claim it back.
        #expect(r.claimRefusal(now: until, cooldownUntil: until, claimsToday: 0, owned: 0) == nil)
        #expect(r.claimRefusal(now: until.addingTimeInterval(ms), cooldownUntil: until, claimsToday: 0, owned: 0) == nil)
    }

    @Test func cooldownFollowsTheCalendar() {
        let r = exchangeRules()
        // Aug 31 + P6M is the end of February.
        #expect(r.cooldownUntil(releasedAt: instant("2026-08-31T10:00:00+03:00")) == instant("2027-02-28T10:00:00+03:00"))
        // Counted on the department's calendar: 23:30 UTC on Jan 31 is Feb 1 in Moscow.
        #expect(r.cooldownUntil(releasedAt: instant("2026-01-31T23:30:00Z")) == instant("2026-08-01T02:30:00+03:00"))
        // Across a clock change the wall-clock time is kept: in Berlin, 10:00 in winter is 10:00 in
        // summer, an hour less than six months of seconds would say.
        let b = exchangeRules(in: berlin)
        #expect(b.cooldownUntil(releasedAt: instant("2026-01-15T10:00:00+01:00")) == instant("2026-07-15T10:00:00+02:00"))
    }

    @Test func noCooldownRecordedOrOneOverRefusesNothing() {
        let r = exchangeRules()
        let now = instant("2026-07-12T12:00:00+03:00")
        #expect(r.claimRefusal(now: now, cooldownUntil: nil, claimsToday: 0, owned: 0) == nil)
        #expect(r.claimRefusal(now: now, cooldownUntil: now.addingTimeInterval(-86_400), claimsToday: 0, owned: 0) == nil)
    }

    // MARK: claims per day

    @Test func claimsPerDayAtTheLimit() {
        let r = exchangeRules(perDay: 2)
        let now = instant("2026-03-10T15:00:00+03:00")
        #expect(r.claimRefusal(now: now, cooldownUntil: nil, claimsToday: 0, owned: 0) == nil)
        #expect(r.claimRefusal(now: now, cooldownUntil: nil, claimsToday: 1, owned: 0) == nil)
        #expect(r.claimRefusal(now: now, cooldownUntil: nil, claimsToday: 2, owned: 0) == .claimsPerDay(claimed: 2, limit: 2))
        #expect(r.claimRefusal(now: now, cooldownUntil: nil, claimsToday: 5, owned: 0) == .claimsPerDay(claimed: 5, limit: 2))
        // Off (0): any number.
        #expect(exchangeRules(perDay: 0).claimRefusal(now: now, cooldownUntil: nil, claimsToday: 1_000, owned: 0) == nil)
    }

    @Test func theDayIsMoscowsNotUTCs() {
        let r = exchangeRules(perDay: 2)
        // Midnight in Moscow is 21:00 UTC, every day of the year (no daylight saving time).
        #expect(r.dayStart(of: instant("2026-03-10T23:59:59+03:00")) == instant("2026-03-10T00:00:00+03:00"))
        #expect(r.dayStart(of: instant("2026-03-11T00:00:00+03:00")) == instant("2026-03-10T21:00:00Z"))
        #expect(r.dayStart(of: instant("2026-07-01T02:00:00Z")) == instant("2026-06-30T21:00:00Z"))
        #expect(r.dayStart(of: instant("2026-03-29T12:00:00+03:00")) == instant("2026-03-29T00:00:00+03:00"))
        #expect(r.dayStart(of: instant("2026-10-25T12:00:00+03:00")) == instant("2026-10-25T00:00:00+03:00"))
        // Two claims late in the evening fill the day; the first instant of the next frees it.
        let claims = [instant("2026-03-10T22:00:00+03:00"), instant("2026-03-10T23:59:59+03:00")]
        let lastMoment = instant("2026-03-10T23:59:59+03:00").addingTimeInterval(0.999)
        #expect(claimsToday(r, claims, at: lastMoment) == 2)
        #expect(
            r.claimRefusal(now: lastMoment, cooldownUntil: nil, claimsToday: claimsToday(r, claims, at: lastMoment), owned: 0)
                == .claimsPerDay(claimed: 2, limit: 2))
        let midnight = instant("2026-03-11T00:00:00+03:00")
        #expect(claimsToday(r, claims, at: midnight) == 0)
        #expect(r.claimRefusal(now: midnight, cooldownUntil: nil, claimsToday: claimsToday(r, claims, at: midnight), owned: 0) == nil)
        // A claim at 21:30 UTC is already the next Moscow day: it counts then, not before.
        let late = instant("2026-03-10T21:30:00Z")
        #expect(claimsToday(r, claims + [late], at: instant("2026-03-11T08:00:00+03:00")) == 1)
    }

    @Test func theDayInAZoneWithDaylightSavingTime() {
        let r = exchangeRules(in: berlin, perDay: 1)
        // Winter: midnight is 23:00 UTC; summer: 22:00 UTC.
        #expect(r.dayStart(of: instant("2026-01-20T15:00:00+01:00")) == instant("2026-01-19T23:00:00Z"))
        #expect(r.dayStart(of: instant("2026-07-20T15:00:00+02:00")) == instant("2026-07-19T22:00:00Z"))
        // The day after clocks went forward, and the day after they went back: local midnight.
        #expect(r.dayStart(of: instant("2026-03-30T00:00:00+02:00")) == instant("2026-03-30T00:00:00+02:00"))
        #expect(r.dayStart(of: instant("2026-10-26T00:00:00+01:00")) == instant("2026-10-26T00:00:00+01:00"))
        // Across midnight in summer: a claim at 23:59 Berlin time is yesterday's at 00:00.
        let claims = [instant("2026-07-19T23:59:00+02:00")]
        #expect(claimsToday(r, claims, at: instant("2026-07-19T23:59:30+02:00")) == 1)
        #expect(claimsToday(r, claims, at: instant("2026-07-20T00:00:00+02:00")) == 0)
        // In winter: 22:30 UTC is still the same Berlin day, 23:00 UTC the next.
        let winter = [instant("2026-01-19T22:30:00Z")]
        #expect(claimsToday(r, winter, at: instant("2026-01-19T22:59:59Z")) == 1)
        #expect(claimsToday(r, winter, at: instant("2026-01-19T23:00:00Z")) == 0)
    }

    /// Pinned as crmd counts it: on the day of a clock change, the day's start is found with the
    /// offset in force at `now`, not at midnight, so it is off by the change.
    @Test func onAClockChangeDayTheStartIsTakenWithTheOffsetOfNow() {
        let r = exchangeRules(in: berlin, perDay: 1)
        // Mar 29, 2026: 02:00 CET became 03:00 CEST. Before the change the offset is still +01:00
        // and the day starts at local midnight; after it, an hour early (23:00 on Mar 28).
        #expect(r.dayStart(of: instant("2026-03-29T01:30:00+01:00")) == instant("2026-03-29T00:00:00+01:00"))
        #expect(r.dayStart(of: instant("2026-03-29T12:00:00+02:00")) == instant("2026-03-28T23:00:00+01:00"))
        // Oct 25, 2026: 03:00 CEST became 02:00 CET; after the change the day starts an hour late.
        #expect(r.dayStart(of: instant("2026-10-25T01:30:00+02:00")) == instant("2026-10-25T00:00:00+02:00"))
        #expect(r.dayStart(of: instant("2026-10-25T12:00:00+01:00")) == instant("2026-10-25T01:00:00+02:00"))
    }

    // MARK: clients per manager

    @Test func clientsPerManagerAtTheLimit() {
        let r = exchangeRules(owned: 3)
        let now = instant("2026-03-10T15:00:00+03:00")
        #expect(r.claimRefusal(now: now, cooldownUntil: nil, claimsToday: 0, owned: 2) == nil)
        #expect(r.claimRefusal(now: now, cooldownUntil: nil, claimsToday: 0, owned: 3) == .clientsPerManager(owned: 3, limit: 3))
        #expect(r.claimRefusal(now: now, cooldownUntil: nil, claimsToday: 0, owned: 4) == .clientsPerManager(owned: 4, limit: 3))
        #expect(r.ownedLimitRefusal(owned: 2) == nil)
        #expect(r.ownedLimitRefusal(owned: 3) == .clientsPerManager(owned: 3, limit: 3))
        // Off (0): any number.
        #expect(exchangeRules(owned: 0).ownedLimitRefusal(owned: 100_000) == nil)
        #expect(exchangeRules(owned: 0).claimRefusal(now: now, cooldownUntil: nil, claimsToday: 0, owned: 100_000) == nil)
    }

    // MARK: order

    @Test func theFirstRuleThatRefusesWins() {
        let r = exchangeRules(perDay: 1, owned: 1)
        let now = instant("2026-03-10T15:00:00+03:00")
        let until = now.addingTimeInterval(86_400)
        #expect(r.claimRefusal(now: now, cooldownUntil: until, claimsToday: 1, owned: 1) == .cooldown(until: until))
        #expect(r.claimRefusal(now: now, cooldownUntil: nil, claimsToday: 1, owned: 1) == .claimsPerDay(claimed: 1, limit: 1))
        #expect(r.claimRefusal(now: now, cooldownUntil: nil, claimsToday: 0, owned: 1) == .clientsPerManager(owned: 1, limit: 1))
        #expect(r.claimRefusal(now: now, cooldownUntil: now, claimsToday: 0, owned: 0) == nil)
    }

    @Test("a figure is read only when its rule is on and no rule before it refused")
    func figuresReadOnlyWhenNeeded() {
        let now = instant("2026-03-10T15:00:00+03:00")
        var read: [String] = []
        func figure(_ name: String, _ n: Int) -> Int {
            read.append(name)
            return n
        }
        let both = exchangeRules(perDay: 1, owned: 1)
        let until = now.addingTimeInterval(60)
        #expect(
            both.claimRefusal(now: now, cooldownUntil: until, claimsToday: figure("claims", 0), owned: figure("owned", 0))
                == .cooldown(until: until))
        #expect(read == [])
        #expect(
            both.claimRefusal(now: now, cooldownUntil: nil, claimsToday: figure("claims", 1), owned: figure("owned", 0))
                == .claimsPerDay(claimed: 1, limit: 1))
        #expect(read == ["claims"])
        read = []
        let off = exchangeRules()
        #expect(off.claimRefusal(now: now, cooldownUntil: nil, claimsToday: figure("claims", 9), owned: figure("owned", 9)) == nil)
        #expect(read == [])
    }
}
