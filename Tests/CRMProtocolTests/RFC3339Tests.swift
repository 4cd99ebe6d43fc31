import CRMProtocol
import Foundation
import Testing

@Suite("RFC 3339 timestamps")
struct RFC3339Tests {
    /// 2026-11-22T09:30:00Z
    let sample: Int64 = 1_795_339_800_000

    @Test func formatWithoutMillis() {
        #expect(RFC3339.format(milliseconds: sample) == "2026-11-22T09:30:00Z")
        #expect(RFC3339.format(Date(timeIntervalSince1970: 1_795_339_800)) == "2026-11-22T09:30:00Z")
        #expect(RFC3339.format(milliseconds: 0) == "1970-01-01T00:00:00Z")
        #expect(RFC3339.format(milliseconds: 1_835_481_599_000) == "2028-02-29T23:59:59Z")
    }

    @Test func formatWithMillis() {
        #expect(RFC3339.format(milliseconds: sample + 123) == "2026-11-22T09:30:00.123Z")
        #expect(RFC3339.format(milliseconds: sample + 5) == "2026-11-22T09:30:00.005Z")
        #expect(RFC3339.format(milliseconds: sample + 500) == "2026-11-22T09:30:00.500Z")
        #expect(RFC3339.format(Date(timeIntervalSince1970: 1_795_339_800.25)) == "2026-11-22T09:30:00.250Z")
        #expect(RFC3339.format(milliseconds: -1) == "1969-12-31T23:59:59.999Z")
        #expect(RFC3339.format(milliseconds: -86_400_000) == "1969-12-31T00:00:00Z")
    }

    @Test func formatDatesMadeFromWholeMilliseconds() {
        // These instants are not exact in a Double: truncating printed one millisecond less.
        #expect(RFC3339.format(Date(timeIntervalSince1970: 2_169_862_052.357)) == "2038-10-05T03:27:32.357Z")
        #expect(RFC3339.format(Date(timeIntervalSince1970: 546_584_961.448)) == "1987-04-28T05:09:21.448Z")
        #expect(RFC3339.format(Date(timeIntervalSince1970: 1_074_386_419.699)) == "2004-01-18T00:40:19.699Z")
        let parsed = RFC3339.parse("2038-10-05T03:27:32.357Z")
        #expect(parsed.map(RFC3339.format) == "2038-10-05T03:27:32.357Z")
    }

    @Test func parseUTC() {
        #expect(RFC3339.parseMilliseconds("2026-11-22T09:30:00Z") == sample)
        #expect(RFC3339.parseMilliseconds("2026-11-22t09:30:00z") == sample)
        #expect(RFC3339.parseMilliseconds("2026-11-22 09:30:00Z") == sample)
        #expect(RFC3339.parse("2026-11-22T09:30:00Z") == Date(timeIntervalSince1970: 1_795_339_800))
    }

    @Test func parseOffsets() {
        #expect(RFC3339.parseMilliseconds("2026-11-22T12:30:00+03:00") == sample)
        #expect(RFC3339.parseMilliseconds("2026-11-22T04:00:00-05:30") == sample)
        #expect(RFC3339.parseMilliseconds("2026-11-22T09:30:00+00:00") == sample)
        #expect(RFC3339.parseMilliseconds("2026-11-22T09:30:00-00:00") == sample)
        // Offsets move across the date line.
        #expect(RFC3339.parseMilliseconds("2026-11-23T00:30:00+15:00") == sample)
        #expect(RFC3339.parseMilliseconds("2026-11-21T23:30:00-10:00") == sample)
    }

    @Test func parseFractions() {
        #expect(RFC3339.parseMilliseconds("2026-11-22T09:30:00.5Z") == sample + 500)
        #expect(RFC3339.parseMilliseconds("2026-11-22T09:30:00.05Z") == sample + 50)
        #expect(RFC3339.parseMilliseconds("2026-11-22T09:30:00.123Z") == sample + 123)
        #expect(RFC3339.parseMilliseconds("2026-11-22T09:30:00.123999Z") == sample + 123)  // truncated to ms
        #expect(RFC3339.parseMilliseconds("2026-11-22T12:30:00.750+03:00") == sample + 750)
    }

    @Test func leapYears() {
        #expect(RFC3339.parse("2028-02-29T00:00:00Z") != nil)
        #expect(RFC3339.parse("2000-02-29T00:00:00Z") != nil)
        #expect(RFC3339.parse("2026-02-29T00:00:00Z") == nil)
        #expect(RFC3339.parse("2100-02-29T00:00:00Z") == nil)
        #expect(RFC3339.parse("1900-02-29T00:00:00Z") == nil)
    }

    @Test func leapSecondIsReadAsTheSecondBefore() {
        #expect(RFC3339.parseMilliseconds("2016-12-31T23:59:60Z") == RFC3339.parseMilliseconds("2016-12-31T23:59:59Z"))
    }

    @Test(arguments: [
        "", "2026-02-30T00:00:00Z", "2026-04-31T00:00:00Z", "2026-13-01T00:00:00Z", "2026-00-10T00:00:00Z", "2026-01-00T00:00:00Z",
        "2026-01-32T00:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01T23:60:00Z", "2026-01-01T23:59:61Z", "2026-01-01T00:00:00",
        "2026-01-01", "2026-1-01T00:00:00Z", "26-01-01T00:00:00Z", "2026-01-01T00:00Z", "2026-01-01T00:00:00+0300",
        "2026-01-01T00:00:00+03", "2026-01-01T00:00:00+24:00", "2026-01-01T00:00:00+03:60", "2026-01-01T00:00:00Zjunk",
        "2026-01-01T00:00:00.Z", "2026-01-01T00:00:00,5Z", " 2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z ",
        "2026-01-01X00:00:00Z", "abcd-ef-ghTij:kl:mnZ", "2026-01-01T00:00:00UTC", "2026/01/01T00:00:00Z",
    ])
    func rejects(_ text: String) {
        #expect(RFC3339.parseMilliseconds(text) == nil)
        #expect(RFC3339.parse(text) == nil)
    }

    /// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z: the first and last instant a
    /// four-digit year can write.
    static let earliest: Int64 = -62_167_219_200_000
    static let latest: Int64 = 253_402_300_799_999

    @Test("the first and last instant of years 0000-9999 are read and written back, however they are written")
    func rangeBoundaries() {
        for text in ["0000-01-01T00:00:00Z", "0000-01-01T01:00:00+01:00", "0000-01-01T00:00:00.000-00:00"] {
            #expect(RFC3339.parseMilliseconds(text) == Self.earliest, "\(text)")
        }
        for text in ["9999-12-31T23:59:59.999Z", "9999-12-31T18:59:59.999-05:00", "9999-12-31T23:59:59.999999Z"] {
            #expect(RFC3339.parseMilliseconds(text) == Self.latest, "\(text)")
        }
        #expect(RFC3339.format(milliseconds: Self.earliest) == "0000-01-01T00:00:00Z")
        #expect(RFC3339.format(milliseconds: Self.latest) == "9999-12-31T23:59:59.999Z")
        #expect(RFC3339.parse("0000-01-01T00:00:00Z").map(RFC3339.format) == "0000-01-01T00:00:00Z")
        #expect(RFC3339.parse("9999-12-31T23:59:59.999Z").map(RFC3339.format) == "9999-12-31T23:59:59.999Z")
        // One millisecond beyond either end is refused.
        #expect(RFC3339.parseMilliseconds("9999-12-31T23:59:59.999-00:01") == nil)
        #expect(RFC3339.parseMilliseconds("0000-01-01T00:00:00.000+00:01") == nil)
    }

    @Test(
        "an offset that puts the instant outside years 0000-9999 is refused",
        arguments: [
            "9999-12-31T23:00:00-05:00",  // 10000-01-01T04:00:00Z
            "0000-01-01T00:30:00+01:00",  // -0001-12-31T23:30:00Z
            "9999-12-31T23:59:60-00:01",  // a leap second a minute past the end
            "0000-01-01T00:00:00+23:59",
            "9999-12-31T12:00:00-12:00",
        ])
    func refusesOffsetsThatLeaveTheRange(_ text: String) {
        #expect(RFC3339.parseMilliseconds(text) == nil)
        #expect(RFC3339.parse(text) == nil)
    }

    @Test("read tells a timestamp outside the range from one that is no timestamp at all")
    func readTellsWhyItRefuses() {
        #expect(RFC3339.read("2026-11-22T12:30:00+03:00") == .instant(sample))
        #expect(RFC3339.read("9999-12-31T23:00:00-05:00") == .outOfRange(253_402_315_200_000))
        #expect(RFC3339.read("0000-01-01T00:30:00+01:00") == .outOfRange(Self.earliest - 1_800_000))
        #expect(RFC3339.read("10000-01-01T00:00:00Z") == .malformed)
        #expect(RFC3339.read("yesterday") == .malformed)
    }

    @Test("an instant outside years 0000-9999 is written in expanded ISO 8601 form, never clamped to a wrong date")
    func formatOutsideTheRange() {
        #expect(RFC3339.format(milliseconds: Self.latest + 1) == "+10000-01-01T00:00:00Z")
        #expect(RFC3339.format(milliseconds: 253_402_315_200_000) == "+10000-01-01T04:00:00Z")
        #expect(RFC3339.format(milliseconds: Self.earliest - 1) == "-00001-12-31T23:59:59.999Z")
        #expect(RFC3339.format(milliseconds: Self.earliest - 1_800_000) == "-00001-12-31T23:30:00Z")
        // Year -1 is not a leap year (0000 is).
        #expect(RFC3339.format(milliseconds: Self.earliest - 365 * 86_400_000) == "-00001-01-01T00:00:00Z")
        #expect(RFC3339.format(milliseconds: 3_833_727_840_000_000) == "+123456-01-01T00:00:00Z")
        #expect(RFC3339.format(milliseconds: -3_958_062_278_400_000) == "-123456-01-01T00:00:00Z")
        #expect(RFC3339.format(Date(timeIntervalSince1970: 253_402_315_200)) == "+10000-01-01T04:00:00Z")
    }

    @Test("the extremes of Int64 milliseconds and of Date are written without a trap")
    func formatExtremes() {
        #expect(RFC3339.format(milliseconds: .max) == "+292278994-08-17T07:12:55.807Z")
        #expect(RFC3339.format(milliseconds: .min) == "-292275055-05-16T16:47:04.192Z")
        for seconds in [1e300, -1e300, .infinity, -.infinity, .nan] {
            let text = RFC3339.format(Date(timeIntervalSince1970: seconds))
            #expect(!text.isEmpty && RFC3339.parse(text) == nil, "\(seconds): \(text)")
        }
    }

    @Test func roundTripMilliseconds() {
        let values: [Int64] = [
            0, 1, 999, 1000, -1, -999, -1000, sample, sample + 1, sample + 999, 951_782_400_000, 1_835_395_199_999,
            253_402_300_799_999,  // 9999-12-31T23:59:59.999Z
        ]
        for ms in values {
            #expect(RFC3339.parseMilliseconds(RFC3339.format(milliseconds: ms)) == ms, "\(ms)")
        }
    }

    @Test func roundTripManyInstantsAgainstFoundation() {
        let reference = ISO8601DateFormatter()
        reference.timeZone = TimeZone(identifier: "UTC")
        reference.formatOptions = [.withInternetDateTime]
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<3000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            // Any millisecond between 1970 and 2100.
            let ms = Int64(state >> 11) % 4_102_444_800_000
            let text = RFC3339.format(milliseconds: ms)
            #expect(RFC3339.parseMilliseconds(text) == ms, "\(ms) -> \(text)")
            let seconds = ms - ms % 1000
            #expect(RFC3339.format(milliseconds: seconds) == reference.string(from: Date(timeIntervalSince1970: Double(seconds) / 1000)))
            let date = Date(timeIntervalSince1970: Double(ms) / 1000)
            #expect(RFC3339.parse(RFC3339.format(date)) == date)
        }
    }
}
