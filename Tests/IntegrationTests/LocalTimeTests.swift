import CRMClient
import CRMProtocol
import Foundation
import Testing

/// crmctl's one reader of typed dates and times (CRMClient's LocalTime), in Moscow, on
/// Monday 07.12.2026 14:30 local (11:30 UTC): every accepted form, and the refusals.
@Suite("Typed dates and times (crmctl --at)")
struct LocalTimeTests {
    static let moscow = LocalTime(timeZone: TimeZone(identifier: "Europe/Moscow")!)
    static let now = RFC3339.parse("2026-12-07T11:30:00Z")!

    static let instants: [(String, String)] = [
        ("20.11.2026 10:00", "2026-11-20T07:00:00Z"),
        ("20.11 10:00", "2026-11-20T07:00:00Z"),
        ("5.1 9:05", "2026-01-05T06:05:00Z"),
        ("05.01.2027 09:05", "2027-01-05T06:05:00Z"),
        ("20.11.2026", "2026-11-19T21:00:00Z"),
        ("10:00", "2026-12-07T07:00:00Z"),
        ("today 15:00", "2026-12-07T12:00:00Z"),
        ("Today 15:00", "2026-12-07T12:00:00Z"),
        ("сегодня 15:00", "2026-12-07T12:00:00Z"),
        ("tomorrow", "2026-12-07T21:00:00Z"),
        ("завтра 9:00", "2026-12-08T06:00:00Z"),
        ("yesterday 18:45", "2026-12-06T15:45:00Z"),
        ("вчера", "2026-12-05T21:00:00Z"),
        ("now", "2026-12-07T11:30:00Z"),
        ("сейчас", "2026-12-07T11:30:00Z"),
        ("2026-11-20 10:00", "2026-11-20T07:00:00Z"),
        ("2026-11-20", "2026-11-19T21:00:00Z"),
        ("2026-11-20T10:00:00+03:00", "2026-11-20T07:00:00Z"),
        ("2026-11-20T07:00:00Z", "2026-11-20T07:00:00Z"),
        ("  20.11 10:00  ", "2026-11-20T07:00:00Z"),
        ("29.02.2028 12:00", "2028-02-29T09:00:00Z"),
    ]

    static let refused: [(String, String)] = [
        ("", "accepted:"),
        ("30.02.2026 10:00", "is not a day of the calendar"),
        ("31.04 10:00", "is not a day of the calendar"),
        ("13.13.2026", "is not a day of the calendar"),
        ("20.11.26 10:00", "four-digit year"),
        ("20.11 25:00", "no time of day"),
        ("20.11 10:61", "no time of day"),
        ("20.11 10", "no time of day"),
        ("11/20/2026", "accepted:"),
        ("next week", "accepted:"),
        ("20.11 10:00 extra", "accepted:"),
        ("послезавтра", "accepted:"),
        ("2026-11-20T25:00:00Z", "accepted:"),
    ]

    @Test("each accepted form", arguments: instants)
    func accepted(_ typed: String, _ wire: String) throws {
        #expect(RFC3339.format(try Self.moscow.parseInstant(typed, now: Self.now)) == wire)
    }

    @Test("each refusal names the problem and the accepted forms", arguments: refused)
    func refusal(_ typed: String, _ problem: String) {
        #expect {
            _ = try Self.moscow.parseInstant(typed, now: Self.now)
        } throws: { error in
            let text = "\(error)"
            return text.contains(problem) && text.contains("20.11.2026 10:00") && text.contains("RFC 3339")
        }
    }

    @Test("days: the same forms without a time, as the wire's YYYY-MM-DD")
    func days() throws {
        let table = [
            ("20.11.2026", "2026-11-20"), ("20.11", "2026-11-20"), ("1.2", "2026-02-01"), ("today", "2026-12-07"),
            ("завтра", "2026-12-08"), ("yesterday", "2026-12-06"), ("2027-01-31", "2027-01-31"),
        ]
        for (typed, wire) in table { #expect(try Self.moscow.parseDay(typed, now: Self.now) == wire, "\(typed)") }
        #expect(throws: LocalTime.ParseError.self) { try Self.moscow.parseDay("31.11", now: Self.now) }
        #expect(throws: LocalTime.ParseError.self) { try Self.moscow.parseDay("20.11 10:00", now: Self.now) }
    }

    @Test("output: local date and time, and days in words with Russian plurals")
    func output() {
        #expect(Self.moscow.format(RFC3339.parse("2026-11-20T07:00:00Z")!) == "20.11.2026 10:00")
        // 21:30 UTC on the 7th is already the 8th in Moscow.
        #expect(Self.moscow.format(RFC3339.parse("2026-12-07T21:30:00Z")!) == "08.12.2026 00:30")
        #expect(Self.moscow.formatDay(RFC3339.parse("2026-12-07T21:30:00Z")!) == "08.12.2026")
        #expect(LocalTime.formatDay(wire: "2026-11-20") == "20.11.2026")
        let in3 = RFC3339.parse("2026-12-10T06:00:00Z")!
        #expect(Self.moscow.formatRelative(in3, now: Self.now, russian: false) == "10.12.2026 09:00 (in 3 days)")
        #expect(Self.moscow.formatRelative(in3, now: Self.now, russian: true) == "10.12.2026 09:00 (через 3 дня)")
        let words = [
            (0, "сегодня"), (1, "завтра"), (-1, "вчера"), (2, "через 2 дня"), (5, "через 5 дней"), (-3, "3 дня назад"),
            (11, "через 11 дней"), (21, "через 21 день"), (-22, "22 дня назад"), (112, "через 112 дней"), (101, "через 101 день"),
        ]
        for (n, text) in words { #expect(relativeDays(n, russian: true) == text) }
        #expect(relativeDays(-3, russian: false) == "3 days ago")
        #expect(relativeDays(2, russian: false) == "in 2 days")
    }
}
