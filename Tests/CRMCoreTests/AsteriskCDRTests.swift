import CRMCore
import Foundation
import Testing

@Suite("Asterisk Master.csv records and working minutes")
struct AsteriskCDRTests {
    let moscow = TimeZone(identifier: "Europe/Moscow")!

    /// Splits a real Master.csv line the simple way (no commas inside the quoted cells used here).
    func cells(_ line: String) -> [String] {
        line.split(separator: ",", omittingEmptySubsequences: false).map {
            var s = String($0)
            if s.hasPrefix("\""), s.hasSuffix("\""), s.count >= 2 { s = String(s.dropFirst().dropLast()) }
            return s.replacingOccurrences(of: "\"\"", with: "\"")
        }
    }

    @Test func anAnsweredInboundCall() throws {
        let line =
            #""","79161234567","200","from-trunk","""Ivan Petrov"" <79161234567>","SIP/trunk-00000012","SIP/200-00000013","Dial","SIP/200","2026-12-04 14:05:10","2026-12-04 14:05:18","2026-12-04 14:09:40",270,262,"ANSWERED","DOCUMENTATION","1764846310.18","""#
        let r = try CDRRecord(cells: cells(line), timeZone: moscow)
        #expect(r.src == "79161234567")
        #expect(r.dst == "200")
        #expect(r.callerName == "Ivan Petrov")
        #expect(r.start == instant("2026-12-04T14:05:10+03:00"))
        #expect(r.answer == instant("2026-12-04T14:05:18+03:00"))
        #expect(r.duration == 270 && r.billsec == 262)
        #expect(r.disposition == .answered && r.answered)
        #expect(r.uniqueID == "1764846310.18" && r.key == "1764846310.18")
        #expect(r.userField == "")
    }

    @Test func missedBusyAndFailedCalls() throws {
        let noAnswer =
            #""","74951112233","200","from-trunk","""ООО Ромашка"" <74951112233>","SIP/trunk-00000020","SIP/200-00000021","Dial","SIP/200","2026-12-04 18:50:00","","2026-12-04 18:50:30",30,0,"NO ANSWER","DOCUMENTATION","1764863400.32""#
        let r = try CDRRecord(cells: cells(noAnswer), timeZone: moscow)
        #expect(r.answer == nil)
        #expect(r.disposition == .noAnswer && !r.answered)
        #expect(r.callerName == "ООО Ромашка")
        #expect(r.disposition.wireName == "no_answer")
        let busy =
            #""","200","84951112233","from-internal","""Anna"" <200>","SIP/200-00000030","SIP/trunk-00000031","Dial","SIP/trunk/84951112233","2026-12-04 15:00:00","","2026-12-04 15:00:02",2,0,"BUSY","DOCUMENTATION""#
        let b = try CDRRecord(cells: cells(busy), timeZone: moscow)
        #expect(b.disposition == .busy && b.uniqueID == nil)
        #expect(b.key.hasPrefix("cdr:"))
        let failed =
            #""","","200","from-trunk","""anonymous"" <>","SIP/trunk-00000040","","Dial","SIP/200","2026-12-04 16:00:00","","2026-12-04 16:00:00",0,0,"FAILED","DOCUMENTATION","1764853200.40","""#
        let f = try CDRRecord(cells: cells(failed), timeZone: moscow)
        #expect(f.disposition == .failed && f.src.isEmpty && f.callerName == "anonymous")
        #expect(CDRRecord.callerNumber("200") == "200")
        #expect(CDRRecord.callerName("200") == nil)
    }

    @Test func badLinesNameTheColumn() {
        let good = cells(
            #""","79161234567","200","from-trunk","","SIP/a","SIP/b","Dial","","2026-12-04 14:05:10","","2026-12-04 14:05:40",30,0,"NO ANSWER","DOCUMENTATION""#
        )
        var short = good
        short.removeLast(3)
        #expect(throws: CDRLineError.self) { try CDRRecord(cells: short, timeZone: moscow) }
        // Each bad cell: the column it names.
        for (index, value, field) in [(9, "04.12.2026 14:05", "start"), (14, "HUNG UP", "disposition"), (13, "31", "billsec")] {
            var bad = good
            bad[index] = value
            do {
                _ = try CDRRecord(cells: bad, timeZone: moscow)
                Issue.record("'\(value)' was accepted as \(field)")
            } catch { #expect(error.field == field) }
        }
    }

    @Test func workingMinutesAcrossAFridayEvening() {
        let hours = WorkingHours(timeZone: moscow)
        // Friday 18:50 + 30 working minutes: 10 on Friday, 20 on Monday.
        #expect(hours.adding(minutes: 30, to: instant("2026-12-04T18:50:00+03:00"), holidays: nil) == instant("2026-12-07T09:20:00+03:00"))
        // Inside the day: plain minutes.
        #expect(hours.adding(minutes: 30, to: instant("2026-12-04T10:00:00+03:00"), holidays: nil) == instant("2026-12-04T10:30:00+03:00"))
        // Saturday: from Monday's opening.
        #expect(hours.adding(minutes: 30, to: instant("2026-12-05T12:00:00+03:00"), holidays: nil) == instant("2026-12-07T09:30:00+03:00"))
        // Exactly to the close stays on the day.
        #expect(hours.adding(minutes: 10, to: instant("2026-12-04T18:50:00+03:00"), holidays: nil) == instant("2026-12-04T19:00:00+03:00"))
        // A full working day and a bit carries to the next.
        #expect(
            hours.adding(minutes: 600 + 5, to: instant("2026-12-03T09:00:00+03:00"), holidays: nil) == instant("2026-12-04T09:05:00+03:00"))
    }

    @Test func nextOpeningAcrossAWeekendAndTheNewYearHolidays() throws {
        let hours = WorkingHours(timeZone: moscow)
        // Friday evening and all Saturday: Monday 09:00.
        #expect(hours.nextOpening(after: instant("2026-12-04T19:30:00+03:00"), holidays: nil) == instant("2026-12-07T09:00:00+03:00"))
        #expect(hours.nextOpening(after: instant("2026-12-05T12:00:00+03:00"), holidays: nil) == instant("2026-12-07T09:00:00+03:00"))
        // Before the opening: that morning's; inside the day, or at the opening itself: the next day's.
        #expect(hours.nextOpening(after: instant("2026-12-08T06:00:00+03:00"), holidays: nil) == instant("2026-12-08T09:00:00+03:00"))
        #expect(hours.nextOpening(after: instant("2026-12-08T09:00:00+03:00"), holidays: nil) == instant("2026-12-09T09:00:00+03:00"))
        #expect(hours.nextOpening(after: instant("2026-12-11T18:59:00+03:00"), holidays: nil) == instant("2026-12-14T09:00:00+03:00"))
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("config/calendar")
        let a = try String(contentsOf: dir.appendingPathComponent("ru-2026.txt"), encoding: .utf8)
        let b = try String(contentsOf: dir.appendingPathComponent("ru-2027.txt"), encoding: .utf8)
        let cal = try WorkCalendar(parsing: a + "\n" + b)
        #expect(hours.nextOpening(after: instant("2026-12-31T20:00:00+03:00"), holidays: cal) == instant("2027-01-11T09:00:00+03:00"))
        #expect(WorkingHours(days: [], timeZone: moscow).nextOpening(after: instant("2026-12-08T06:00:00+03:00"), holidays: nil) == nil)
    }

    @Test func workingMinutesAcrossTheNewYearHolidays() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("config/calendar")
        let a = try String(contentsOf: dir.appendingPathComponent("ru-2026.txt"), encoding: .utf8)
        let b = try String(contentsOf: dir.appendingPathComponent("ru-2027.txt"), encoding: .utf8)
        let cal = try WorkCalendar(parsing: a + "\n" + b)
        let hours = WorkingHours(timeZone: moscow)
        #expect(
            hours.adding(minutes: 30, to: instant("2026-12-30T18:45:00+03:00"), holidays: cal) == instant("2027-01-11T09:15:00+03:00"))
        #expect(hours.adding(minutes: 30, to: instant("2027-01-03T12:00:00+03:00"), holidays: cal) == instant("2027-01-11T09:30:00+03:00"))
    }
}
