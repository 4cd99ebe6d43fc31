import CRMCore
import Foundation
import Testing

@Suite("ISO 8601 durations")
struct ISODurationTests {
    @Test(arguments: [
        ("P1M", ISODuration(months: 1)),
        ("P5M", ISODuration(months: 5)),
        ("P6M", ISODuration(months: 6)),
        ("P2D", ISODuration(days: 2)),
        ("PT12H", ISODuration(hours: 12)),
        ("PT5M", ISODuration(minutes: 5)),
        ("PT30S", ISODuration(seconds: 30)),
        ("P2W", ISODuration(weeks: 2)),
        ("P1Y", ISODuration(years: 1)),
        ("P1Y2M10DT2H30M", ISODuration(years: 1, months: 2, days: 10, hours: 2, minutes: 30)),
        ("P1DT1H1M1S", ISODuration(days: 1, hours: 1, minutes: 1, seconds: 1)),
        ("P0D", ISODuration()),
    ])
    func parses(_ text: String, _ expected: ISODuration) {
        #expect(ISODuration(text) == expected)
    }

    @Test func monthAndMinuteAreTellApartByT() {
        #expect(ISODuration("P1M")?.months == 1)
        #expect(ISODuration("P1M")?.minutes == 0)
        #expect(ISODuration("PT1M")?.minutes == 1)
        #expect(ISODuration("PT1M")?.months == 0)
    }

    @Test(arguments: [
        "", "P", "1M", "PT", "P1H", "P1S", "PT1D", "PT1Y", "PT1W", "P1", "PT1", "P-1M", "P1.5M", "P 1M", "M1P", "P1X",
        "hello", "PTT1H", "P1MT1HT", "PP1M", "1 month", "P1M ", " P1M", "P100000M", "P١M", "P1MT", "P1M2M", "P1D1M", "PT1S1H", "P1M1Y",
    ])
    func rejects(_ text: String) {
        #expect(ISODuration(text) == nil)
    }

    @Test(arguments: ["P1M", "P5M", "P6M", "P2D", "PT12H", "P1Y2M10DT2H30M", "P2W", "PT1M", "PT1S", "P1DT12H"])
    func descriptionIsCanonicalText(_ text: String) throws {
        let d = try #require(ISODuration(text))
        #expect(d.description == text)
        #expect(ISODuration(d.description) == d)
    }

    @Test func descriptionRoundTripsBuiltValues() {
        let values = [
            ISODuration(years: 2), ISODuration(months: 11, days: 3), ISODuration(weeks: 1, days: 1),
            ISODuration(hours: 1, seconds: 5), ISODuration(minutes: 90),
            ISODuration(years: 1, months: 1, weeks: 1, days: 1, hours: 1, minutes: 1, seconds: 1),
        ]
        for v in values {
            #expect(ISODuration(v.description) == v, "\(v.description)")
        }
    }

    @Test func zero() {
        #expect(ISODuration().isZero)
        #expect(ISODuration().description == "PT0S")
        #expect(ISODuration("PT0S")?.isZero == true)
        #expect(!ISODuration(days: 1).isZero)
    }

    @Test func addedFollowsTheCalendar() {
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = moscow
        let jan31 = instant("2026-01-31T10:00:00+03:00")
        #expect(ISODuration(months: 1).added(to: jan31, in: cal) == instant("2026-02-28T10:00:00+03:00"))
        #expect(ISODuration(weeks: 2).added(to: jan31, in: cal) == instant("2026-02-14T10:00:00+03:00"))
        #expect(ISODuration(days: 2, hours: 12).added(to: jan31, in: cal) == instant("2026-02-02T22:00:00+03:00"))
        #expect(
            ISODuration(years: 1, months: 2, days: 10, hours: 2, minutes: 30).added(to: jan31, in: cal)
                == instant("2027-04-10T12:30:00+03:00"))
        #expect(
            ISODuration(months: 1).subtracted(from: instant("2026-03-31T10:00:00+03:00"), in: cal) == instant("2026-02-28T10:00:00+03:00"))
        #expect(ISODuration().added(to: jan31, in: cal) == jan31)
    }
}
