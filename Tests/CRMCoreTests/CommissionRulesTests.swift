import CRMCore
import Testing

@Suite("Commission rules: rate precedence, half-up rounding, order statistics")
struct CommissionRulesTests {
    @Test("A segment's rate beats the pipeline's, which beats the user's, which beats the default")
    func precedence() {
        var s = CommissionSettings()
        s.defaultBP = 50
        s.pipelines = ["Sales": 300]
        s.segments = ["Wholesale": 150]
        #expect(Commission.rate(segment: "Wholesale", pipeline: "Sales", userBP: 200, settings: s) == (150, .segment))
        #expect(Commission.rate(segment: "Retail", pipeline: "Sales", userBP: 200, settings: s) == (300, .pipeline))
        #expect(Commission.rate(segment: nil, pipeline: "Service", userBP: 200, settings: s) == (200, .user))
        #expect(Commission.rate(segment: "Retail", pipeline: "Service", userBP: nil, settings: s) == (50, .default))
        // A user's rate of 0 is a rate (it is set), not "no rate".
        #expect(Commission.rate(segment: nil, pipeline: "Service", userBP: 0, settings: s) == (0, .user))
    }

    @Test("Dmitry sold 1 million, his 2 % is 20,000")
    func dmitry() {
        #expect(Commission.amount(base: 100_000_000, bp: 200) == 2_000_000)
    }

    @Test("Half a kopeck rounds up, less rounds down")
    func rounding() {
        #expect(Commission.amount(base: 125, bp: 200) == 3)  // 2.5
        #expect(Commission.amount(base: 124, bp: 200) == 2)  // 2.48
        #expect(Commission.amount(base: 175, bp: 200) == 4)  // 3.5
        #expect(Commission.amount(base: 1, bp: 4_999) == 0)  // 0.4999
        #expect(Commission.amount(base: 1, bp: 5_000) == 1)  // 0.5
        #expect(Commission.amount(base: 0, bp: 10_000) == 0)
        #expect(Commission.amount(base: 10_000_000_000_000, bp: 10_000) == 10_000_000_000_000)
    }

    @Test("An amount that cannot fit, a negative base or a rate out of range gives nil")
    func bounds() {
        #expect(Commission.amount(base: Int64.max / 2, bp: 10_000) == nil)
        #expect(Commission.amount(base: -1, bp: 100) == nil)
        #expect(Commission.amount(base: 100, bp: 10_001) == nil)
    }

    @Test("Median and p90 by nearest rank")
    func stats() {
        #expect(Stats.median([]) == nil)
        #expect(Stats.p90([]) == nil)
        #expect(Stats.median([5]) == 5)
        #expect(Stats.median([1, 3]) == 2)
        #expect(Stats.median([1, 2, 10]) == 2)
        #expect(Stats.p90([7]) == 7)
        #expect(Stats.p90(Array(1...10)) == 9)
        #expect(Stats.p90(Array(1...11)) == 10)  // rank ⌈9.9⌉ = 10
        #expect(Stats.p90(Array(1...20)) == 18)
        #expect(Stats.percent(1, of: 3) == 33)
        #expect(Stats.percent(1, of: 0) == 0)
    }
}
