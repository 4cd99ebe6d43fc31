import CRMCore
import Foundation
import Testing

/// The scheduler's calendar shortcuts (whole days by offset, working hours by wall clock) agree
/// with Foundation's Calendar on thousands of instants around DST changes in several zones.
@Suite("Calendar shortcuts agree with Calendar")
struct FastCalendarTests {
    static let zones = ["Europe/Berlin", "America/New_York", "Europe/Moscow", "Australia/Lord_Howe", "Pacific/Chatham", "UTC"]

    /// Instants spread over 2025–2027, with extra weight on the hours around each zone's changes.
    func instants(_ zone: TimeZone) -> [Date] {
        var out: [Date] = []
        var rng = SystemRandomNumberGenerator()
        let from = 1_735_689_600.0  // 2025-01-01
        for _ in 0..<1_500 { out.append(Date(timeIntervalSince1970: from + Double.random(in: 0..<(3 * 365 * 86_400), using: &rng))) }
        var t = Date(timeIntervalSince1970: from)
        for _ in 0..<6 {
            guard let change = zone.nextDaylightSavingTimeTransition(after: t) else { break }
            for h in stride(from: -72.0, through: 72.0, by: 0.5) { out.append(change.addingTimeInterval(h * 3600 + 17)) }
            t = change.addingTimeInterval(86_400)
        }
        return out
    }

    @Test(arguments: zones)
    func wholeDays(_ name: String) throws {
        let zone = try #require(TimeZone(identifier: name))
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = zone
        for date in instants(zone) {
            for days in [1, 3, 7, 14, 30, 45] {
                let d = ISODuration(days: days)
                #expect(d.added(to: date, in: cal) == cal.date(byAdding: .day, value: days, to: date), "\(name) \(date) +\(days)d")
                #expect(d.subtracted(from: date, in: cal) == cal.date(byAdding: .day, value: -days, to: date), "\(name) \(date) -\(days)d")
            }
        }
    }

    @Test(arguments: zones)
    func workingHours(_ name: String) throws {
        let zone = try #require(TimeZone(identifier: name))
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = zone
        let hours = WorkingHours(startMinute: 9 * 60, endMinute: 19 * 60, days: [1, 2, 3, 4, 5], timeZone: zone)
        for date in instants(zone) {
            // Reference: inside hours on a working day means "now"; otherwise later.
            let weekday = cal.component(.weekday, from: date)
            let iso = weekday == 1 ? 7 : weekday - 1
            let parts = cal.dateComponents([.hour, .minute], from: date)
            let minute = parts.hour! * 60 + parts.minute!
            let inside = (1...5).contains(iso) && minute >= 9 * 60 && minute < 19 * 60
            let next = hours.nextDeliveryInstant(at: date)
            if inside {
                #expect(next == date, "\(name) \(date)")
            } else {
                #expect(next > date, "\(name) \(date)")
                let p = cal.dateComponents([.hour, .minute, .weekday], from: next)
                #expect(p.hour == 9 && p.minute == 0, "\(name) \(date) → \(next)")
            }
        }
    }
}
