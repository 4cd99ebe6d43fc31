import CRMCore
import Foundation
import Testing

@Suite struct PeriodTests {
    let moscow = TimeZone(identifier: "Europe/Moscow")!
    let berlin = TimeZone(identifier: "Europe/Berlin")!

    func utc(_ s: String) -> Date { ISO8601DateFormatter().date(from: s)! }

    @Test("months, ISO weeks and quarters parse, print back and bound at local midnights")
    func bounds() throws {
        let m = try #require(Period("2026-12"))
        #expect(m.description == "2026-12")
        #expect(m.interval(in: moscow).start == utc("2026-11-30T21:00:00Z"))
        #expect(m.interval(in: moscow).end == utc("2026-12-31T21:00:00Z"))
        let w = try #require(Period("2026-W49"))
        // ISO week 49 of 2026 runs Monday 30 November to Sunday 6 December.
        #expect(w.interval(in: moscow).start == utc("2026-11-29T21:00:00Z"))
        #expect(w.interval(in: moscow).end == utc("2026-12-06T21:00:00Z"))
        let q = try #require(Period("2026-Q4"))
        #expect(q.interval(in: moscow).start == utc("2026-09-30T21:00:00Z"))
        #expect(q.interval(in: moscow).end == utc("2026-12-31T21:00:00Z"))
        // A month across a DST change is its local days, not 30 × 24 h.
        let march = try #require(Period("2026-03")).interval(in: berlin)
        #expect(march.end.timeIntervalSince(march.start) == 31 * 86_400 - 3_600)
    }

    @Test("week-numbering years: 2026-W53 exists, 2027-W53 does not; 1 January 2027 is in 2026-W53")
    func weekYears() {
        #expect(Period("2026-W53") != nil)
        #expect(Period("2027-W53") == nil)
        #expect(Period.containing(utc("2027-01-01T12:00:00Z"), kind: .week, in: moscow).description == "2026-W53")
        #expect(Period.containing(utc("2026-12-31T21:30:00Z"), kind: .month, in: moscow).description == "2027-01")
        #expect(Period.containing(utc("2026-12-31T21:30:00Z"), kind: .quarter, in: moscow).description == "2027-Q1")
    }

    @Test(
        "anything else is refused",
        arguments: [
            "", "2026", "2026-13", "2026-00", "2026-1", "2026-Q5", "2026-Q0", "2026-W0", "26-12", "2026-12-01", "2026-W٤٩", "1999-01",
            "+2026-01",
        ])
    func refused(_ text: String) {
        #expect(Period(text) == nil)
    }
}
