import CRMCore
import Foundation
import Testing

@Suite("Work calendar: the holiday file and working days")
struct WorkCalendarTests {
    static let configDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("config/calendar")

    func day(_ s: String) -> Int { LocalDate(s)!.dayNumber }

    func shipped() throws -> WorkCalendar {
        let a = try String(contentsOf: Self.configDir.appendingPathComponent("ru-2026.txt"), encoding: .utf8)
        let b = try String(contentsOf: Self.configDir.appendingPathComponent("ru-2027.txt"), encoding: .utf8)
        return try WorkCalendar(parsing: a + "\n" + b)
    }

    @Test func weekdays() {
        #expect(WorkCalendar.weekday(0) == 4)  // 1970-01-01, a Thursday
        #expect(WorkCalendar.weekday(day("2026-12-31")) == 4)
        #expect(WorkCalendar.weekday(day("2027-01-11")) == 1)
        #expect(WorkCalendar.weekday(-1) == 3)
    }

    @Test func theNewYearHolidays() throws {
        let cal = try shipped()
        #expect(cal.isWorkingDay(day("2026-12-30")))
        for d in ["2026-12-31", "2027-01-01", "2027-01-04", "2027-01-08", "2027-01-09", "2027-01-10"] { #expect(!cal.isWorkingDay(day(d))) }
        #expect(cal.workingDay(onOrAfter: day("2026-12-31")) == day("2027-01-11"))
        #expect(cal.adding(workingDays: 1, to: day("2026-12-30")) == day("2027-01-11"))
        #expect(cal.adding(workingDays: 2, to: day("2026-12-29")) == day("2027-01-11"))
        // 2026's own: 1-11 January, a Saturday worked in 2027.
        #expect(cal.workingDay(onOrAfter: day("2026-01-01")) == day("2026-01-12"))
        #expect(cal.isWorkingDay(day("2027-11-13")))
        let moscow = TimeZone(identifier: "Europe/Moscow")!
        let eve = instant("2026-12-31T15:00:00+03:00")
        #expect(cal.movedToWorkingDay(eve, hour: 9, in: moscow) == instant("2027-01-11T09:00:00+03:00"))
        let working = instant("2026-12-30T15:00:00+03:00")
        #expect(cal.movedToWorkingDay(working, hour: 9, in: moscow) == working)
    }

    @Test func badFilesNameTheLine() {
        #expect(throws: CalendarFileError(line: 2, problem: "'2026-13-01' is not a date YYYY-MM-DD")) {
            try WorkCalendar(parsing: "# c\n2026-13-01 off\n")
        }
        #expect(throws: CalendarFileError(line: 1, problem: "after the date write 'off' (a day off) or 'work' (a working day)")) {
            try WorkCalendar(parsing: "2026-01-01 holiday")
        }
        #expect(throws: CalendarFileError(line: 2, problem: "2026-01-01 is listed twice")) {
            try WorkCalendar(parsing: "2026-01-01 off\n2026-01-01 work")
        }
        let long = (0..<200).map { LocalDate(dayNumber: day("2026-01-01") + $0).description + " off" }.joined(separator: "\n")
        #expect(throws: CalendarFileError.self) { try WorkCalendar(parsing: long) }
        // Comments, blank lines and notes are fine.
        #expect((try? WorkCalendar(parsing: "\n# x\n2026-01-01 off New Year # and more\n\t\n"))?.offDays.count == 1)
    }

    @Test func thresholdsInWorkingDays() throws {
        let cal = try shipped()
        var t = ZoneThresholds.default
        t.yellowAfter = ISODuration(days: 10)
        t.redAfter = ISODuration(weeks: 4)
        let rules = ZoneRules(t)
        // From Friday 25 December 2026: 28, 29, 30 December, then 11-19 January (the holidays skipped).
        let start = instant("2026-12-25T12:00:00+03:00")
        let s = cal.schedule(from: start, rules: rules)
        #expect(s.yellowAt == instant("2027-01-19T12:00:00+03:00"))
        #expect(s.redAt == instant("2027-02-02T12:00:00+03:00"))  // 20 working days
        #expect(s.releaseAt == rules.schedule(from: start).releaseAt, "months stay calendar time")
        // From a day off, counting starts at the next working day (day 0).
        #expect(
            cal.adding(ISODuration(days: 1), to: instant("2027-01-03T12:00:00+03:00"), rules: rules) == instant("2027-01-12T12:00:00+03:00")
        )
    }
}
