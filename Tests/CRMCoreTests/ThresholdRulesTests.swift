import CRMCore
import Foundation
import Testing

@Suite("Thresholds by segment and ABC class: the most specific rule wins")
struct ThresholdRulesTests {
    var rules: ThresholdRules {
        var r = ThresholdRules(base: .default)
        r.set(
            segment: "Wholesale",
            ThresholdOverride(yellowAfter: ISODuration(days: 10), redAfter: ISODuration(days: 20), releaseAfter: ISODuration(months: 1)))
        r.set(abcClass: "c", ThresholdOverride(releaseAfter: ISODuration(months: 12)))
        return r
    }

    @Test func theOrder() {
        let w = rules.thresholds(segment: "wholesale", abc: "C")
        #expect(w.source == .segment("wholesale"))
        #expect(w.thresholds.releaseAfter == ISODuration(months: 1))
        let c = rules.thresholds(segment: "retail", abc: "C")
        #expect(c.source == .abcClass("C"))
        #expect(c.thresholds.releaseAfter == ISODuration(months: 12))
        #expect(c.thresholds.yellowAfter == ISODuration(months: 1), "left out: the default's")
        let d = rules.thresholds(segment: nil, abc: "A")
        #expect(d.source == .default)
        #expect(d.thresholds == .default)
    }

    @Test func thresholdsThatDoNotGrowAreNamed() {
        var r = rules
        #expect(r.problem() == nil)
        r.set(abcClass: "B", ThresholdOverride(releaseAfter: ISODuration(months: 2)))  // red after P5M > release
        #expect(r.problem()?.key == "zones.by_class.B")
    }
}
