public import Foundation

/// RFC 3339 timestamps, the wire format of every instant: written in UTC with `Z`, read with any
/// offset. Hand-written because the formatter is on the hot path of every client object.
public enum RFC3339 {
    /// `2026-11-22T09:30:00Z`, with `.mmm` only when the instant has milliseconds.
    public static func format(_ date: Date) -> String {
        // Nearest, not down: a Date made from whole milliseconds is stored as a Double that may sit
        // a hair below them, and truncating would print one millisecond less (1987, 2038...).
        format(milliseconds: Int64((date.timeIntervalSince1970 * 1000).rounded()))
    }

    /// Formats milliseconds since the Unix epoch.
    public static func format(milliseconds ms: Int64) -> String {
        let totalSeconds = ms >= 0 ? ms / 1000 : (ms - 999) / 1000
        let millis = ms - totalSeconds * 1000
        let days = totalSeconds >= 0 ? totalSeconds / 86_400 : (totalSeconds - 86_399) / 86_400
        let secs = totalSeconds - days * 86_400
        let (y, m, d) = civil(fromDays: days)
        var out: [UInt8] = []
        out.reserveCapacity(24)
        func two(_ v: Int64) { out.append(UInt8(v / 10) + 0x30); out.append(UInt8(v % 10) + 0x30) }
        let year = max(0, min(9999, y))
        out.append(UInt8(year / 1000) + 0x30)
        out.append(UInt8(year / 100 % 10) + 0x30)
        two(year % 100)
        out.append(UInt8(ascii: "-")); two(m)
        out.append(UInt8(ascii: "-")); two(d)
        out.append(UInt8(ascii: "T")); two(secs / 3600)
        out.append(UInt8(ascii: ":")); two(secs / 60 % 60)
        out.append(UInt8(ascii: ":")); two(secs % 60)
        if millis != 0 {
            out.append(UInt8(ascii: "."))
            out.append(UInt8(millis / 100) + 0x30)
            two(millis % 100)
        }
        out.append(UInt8(ascii: "Z"))
        return String(decoding: out, as: UTF8.self)
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`; `nil` if it is not such a timestamp.
    public static func parse(_ text: String) -> Date? {
        parseMilliseconds(text).map { Date(timeIntervalSince1970: Double($0) / 1000) }
    }

    /// Parses to milliseconds since the Unix epoch.
    public static func parseMilliseconds(_ text: String) -> Int64? {
        let b = Array(text.utf8)
        var i = 0
        func digits(_ n: Int) -> Int64? {
            guard i + n <= b.count else { return nil }
            var v: Int64 = 0
            for k in 0..<n {
                let c = b[i + k]
                guard c >= 0x30, c <= 0x39 else { return nil }
                v = v * 10 + Int64(c - 0x30)
            }
            i += n
            return v
        }
        func expect(_ chars: [UInt8]) -> Bool {
            guard i < b.count, chars.contains(b[i]) else { return false }
            i += 1
            return true
        }
        guard let y = digits(4), expect([0x2D]), let mo = digits(2), expect([0x2D]), let d = digits(2),
            expect([UInt8(ascii: "T"), UInt8(ascii: "t"), UInt8(ascii: " ")]),
            let h = digits(2), expect([0x3A]), let mi = digits(2), expect([0x3A]), let s = digits(2)
        else { return nil }
        guard (1...12).contains(mo), d >= 1, d <= daysInMonth(y, mo), h <= 23, mi <= 59, s <= 60 else { return nil }
        var millis: Int64 = 0
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            var scale: Int64 = 100
            var any = false
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 {
                millis += Int64(b[i] - 0x30) * scale
                scale /= 10
                i += 1
                any = true
            }
            guard any else { return nil }
        }
        var offsetSeconds: Int64 = 0
        guard i < b.count else { return nil }
        if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
            i += 1
        } else if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
            let sign: Int64 = b[i] == UInt8(ascii: "+") ? 1 : -1
            i += 1
            guard let oh = digits(2), expect([0x3A]), let om = digits(2), oh <= 23, om <= 59 else { return nil }
            offsetSeconds = sign * (oh * 3600 + om * 60)
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        let days = daysFromCivil(y, mo, d)
        let secs = days * 86_400 + h * 3600 + mi * 60 + min(s, 59) - offsetSeconds
        return secs * 1000 + millis
    }

    static func daysInMonth(_ y: Int64, _ m: Int64) -> Int64 {
        switch m {
        case 2: return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
    static func daysFromCivil(_ y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }
}
