import CRMCore
import Foundation
import Testing

/// ABC/XYZ arithmetic on hand-computed examples (docs/rules.md, "ABC/XYZ classes").
@Suite struct ClassRulesTests {
    func abc(_ r: [Int64], _ a: Int = 80, _ b: Int = 15) -> String {
        ClassRules.abc(r, aPercent: a, bPercent: b).map(\.rawValue).joined()
    }

    @Test("ABC: cumulative shares 50, 80, 90, 95, 100 % give A A B B, and the last 5 shares its twin's B")
    func cumulative() {
        // 50 → 50 % A; 30 → 80 % A (≤ 80 counts); 10 → 90 % B; 5 → 95 % B; the second 5 would be
        // 100 % C, but equal revenues share the first one's class.
        #expect(abc([50, 30, 10, 5, 5]) == "AABBB")
        #expect(abc([40, 30, 20, 10]) == "AABC")
        // Input order is kept: the classes come back index for index.
        #expect(abc([10, 40, 20, 30]) == "CABA")
    }

    @Test("ABC ties at a boundary: two clients of 20 after a 60 both reach 80 % and are both A")
    func tiesAtBoundary() {
        #expect(abc([60, 20, 20]) == "AAA")
        // 60 + 21 passes 80 %: B, not A; the 19 reaches 100 %: C.
        #expect(abc([60, 21, 19]) == "ABC")
    }

    @Test("ABC edge cases: one client is A, all equal are all A, the largest is A even above 80 %, none is none")
    func edges() {
        #expect(abc([1_000]) == "A")
        #expect(abc([7, 7, 7, 7]) == "AAAA")
        // 90 alone is 90 %: still A. 6 reaches 96 % (> 95): C, as does 4.
        #expect(abc([90, 6, 4]) == "ACC")
        #expect(abc([]) == "")
        // Other thresholds: 50/30/20.
        #expect(abc([40, 30, 20, 10], 50, 30) == "ABCC")
    }

    @Test("ABC: sums beyond Int64 do not overflow (10^13 kopecks per client, a million clients)")
    func largeSums() {
        let r = [Int64](repeating: 10_000_000_000_000, count: 1_000) + [1]
        let classes = ClassRules.abc(r, aPercent: 80, bPercent: 15)
        #expect(classes.prefix(1_000).allSatisfy { $0 == .a })
        #expect(classes.last == .c)
    }

    func xyz(_ m: [Int64]) -> String? {
        ClassRules.xyz(m, xPercent: 10, yPercent: 25).map { "\($0.0.rawValue) \($0.cvBP)" }
    }

    @Test("XYZ: CV = σ/μ over every month of the window; 10 % and 25 % are inclusive limits")
    func variation() {
        #expect(xyz([100, 100, 100]) == "X 0")
        // μ 10, σ 1: exactly 10 % → X.
        #expect(xyz([9, 11]) == "X 1000")
        // μ 10, σ 2: 20 % → Y.
        #expect(xyz([8, 12]) == "Y 2000")
        // μ 100, σ 25: exactly 25 % → Y; σ 26 → Z.
        #expect(xyz([75, 125]) == "Y 2500")
        #expect(xyz([74, 126]) == "Z 2600")
        // All of a year's revenue in one month: CV = √11 = 331.66 %.
        #expect(xyz([Int64](repeating: 0, count: 11) + [120]) == "Z 33166")
    }

    @Test("XYZ: no revenue in any month, or no months, is no class")
    func zeroMonths() {
        #expect(xyz([0, 0, 0]) == nil)
        #expect(xyz([]) == nil)
        // One month of window with revenue: no spread, X.
        #expect(xyz([5]) == "X 0")
    }

    @Test("the window is the 12 local months before the computed month; the schedule is its 1st at 03:00 local")
    func window() throws {
        let moscow = try #require(TimeZone(identifier: "Europe/Moscow"))
        let now = instant("2026-12-07T10:00:00+03:00")
        let month = ClassRules.month(of: now, in: moscow)
        #expect(month.description == "2026-12")
        let bounds = ClassRules.window(for: month, months: 12, in: moscow)
        #expect(bounds.count == 13)
        #expect(bounds.first == instant("2025-12-01T00:00:00+03:00"))
        #expect(bounds.last == instant("2026-12-01T00:00:00+03:00"))
        #expect(ClassRules.monthIndex(instant("2025-12-01T00:00:00+03:00"), bounds: bounds) == 0)
        #expect(ClassRules.monthIndex(instant("2026-11-30T23:59:59+03:00"), bounds: bounds) == 11)
        #expect(ClassRules.monthIndex(instant("2026-12-01T00:00:00+03:00"), bounds: bounds) == nil)
        #expect(ClassRules.monthIndex(instant("2025-11-30T23:59:59+03:00"), bounds: bounds) == nil)
        // A year's window across January.
        let jan = ClassRules.window(for: ClassRules.following(month), months: 1, in: moscow)
        #expect(jan == [instant("2026-12-01T00:00:00+03:00"), instant("2027-01-01T00:00:00+03:00")])
        var s = ClassSettings()
        #expect(ClassRules.scheduledRun(for: month, settings: s, in: moscow) == instant("2026-12-01T03:00:00+03:00"))
        s.runDay = 15
        s.runMinute = 22 * 60 + 30
        #expect(ClassRules.scheduledRun(for: month, settings: s, in: moscow) == instant("2026-12-15T22:30:00+03:00"))
        s.runDay = nil
        #expect(ClassRules.scheduledRun(for: month, settings: s, in: moscow) == nil)
    }
}
