import CRMCore
import Foundation
import Testing

@Suite("Hold rules: lock, freeze, won deal, open deal; frozen time")
struct HoldRulesTests {
    let zones = ZoneRules(.default)
    var rules: HoldRules {
        var s = HoldSettings()
        s.exemptWonWithin = ISODuration(days: 90)
        s.maxFrozenPerManager = 2
        return HoldRules(s, zones: zones)
    }
    let now = instant("2026-03-01T10:00:00+03:00")

    @Test func theOrderOfTheRules() {
        let until = instant("2026-04-01T00:00:00+03:00")
        let all = HoldFacts(
            locked: true, freezeStatus: .approved, freezeUntil: until, freezeReason: "season",
            lastWon: (7, instant("2026-02-01T12:00:00+03:00")),
            openDealAtStage: (8, "contract"))
        #expect(rules.holding(all, at: now) == .locked)
        var f = all
        f.locked = false
        #expect(rules.holding(f, at: now) == .frozen(until: until, reason: "season"))
        f.freezeStatus = .requested  // not yet approved: the clock runs
        #expect(rules.holding(f, at: now)?.name == "won_deal")
        #expect(rules.holding(f, at: now)?.endsAt == instant("2026-05-02T12:00:00+03:00"))
        f.lastWon = (7, instant("2025-11-01T12:00:00+03:00"))  // more than 90 days ago
        #expect(rules.holding(f, at: now) == .openDeal(dealID: 8, stage: "contract"))
        f.openDealAtStage = nil
        #expect(rules.holding(f, at: now) == nil)
        // A freeze whose end passed holds nothing.
        var ended = HoldFacts(freezeStatus: .approved, freezeUntil: now, freezeReason: "x")
        #expect(rules.holding(ended, at: now) == nil)
        ended.freezeUntil = now.addingTimeInterval(1)
        #expect(rules.holding(ended, at: now)?.name == "freeze")
        // With the won-deal exemption off, a won deal holds nothing.
        let off = HoldRules(HoldSettings(), zones: zones)
        #expect(off.holding(HoldFacts(lastWon: (1, now)), at: now) == nil)
    }

    @Test func whatAFreezeMayAsk() {
        #expect(rules.freezeRefusal(until: now, now: now, frozen: 0) == .notInFuture)
        let latest = instant("2026-06-01T10:00:00+03:00")  // P3M
        #expect(rules.freezeRefusal(until: latest, now: now, frozen: 0) == nil)
        #expect(rules.freezeRefusal(until: latest.addingTimeInterval(1), now: now, frozen: 0) == .tooLong(latest: latest))
        #expect(rules.freezeRefusal(until: latest, now: now, frozen: 1) == nil)
        #expect(rules.freezeRefusal(until: latest, now: now, frozen: 2) == .tooMany(frozen: 2, limit: 2))
    }

    @Test func frozenTimeMovesTheInstantsStillAhead() {
        let start = instant("2026-01-01T10:00:00+03:00")
        let s = zones.schedule(from: start)  // yellow 02-01, red 06-01, release 07-01
        // Frozen for 30 days from 2026-03-01 (yellow already passed): red and release move 30 days.
        let span = FrozenSpan(from: now, until: now.addingTimeInterval(30 * 86_400))
        let f = HoldRules.frozen(s, over: span)
        #expect(f.start == s.start && f.yellowAt == s.yellowAt)
        #expect(f.redAt == s.redAt.addingTimeInterval(30 * 86_400))
        #expect(f.releaseAt == s.releaseAt.addingTimeInterval(30 * 86_400))
        // A freeze across the release instant: the release moves by the whole freeze.
        let across = FrozenSpan(from: instant("2026-06-20T10:00:00+03:00"), until: instant("2026-07-20T10:00:00+03:00"))
        #expect(HoldRules.frozen(s, over: across).releaseAt == instant("2026-07-31T10:00:00+03:00"))
        // A span that ended before the clock started changes nothing; one that began before it
        // counts only from the start.
        let before = FrozenSpan(from: instant("2025-11-01T00:00:00+03:00"), until: instant("2025-12-01T00:00:00+03:00"))
        #expect(HoldRules.frozen(s, over: before) == s)
        let straddling = FrozenSpan(from: instant("2025-12-01T10:00:00+03:00"), until: instant("2026-01-11T10:00:00+03:00"))
        #expect(HoldRules.frozen(s, over: straddling).yellowAt == s.yellowAt.addingTimeInterval(10 * 86_400))
        // Two spans in any order: both taken out.
        let two = HoldRules.schedule(from: start, rules: zones, frozen: [across, span])
        #expect(two.releaseAt == s.releaseAt.addingTimeInterval(30 * 86_400).addingTimeInterval(30 * 86_400))
    }
}
