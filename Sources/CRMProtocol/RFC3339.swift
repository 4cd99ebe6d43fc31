public import Foundation

/// RFC 3339 timestamps, the wire format of every instant: written in UTC with `Z`, read with any
/// offset. Hand-written because the formatter is on the hot path of every client object.
///
/// The wire range is what a four-digit year can write, 0000-01-01T00:00:00Z to
/// 9999-12-31T23:59:59.999Z: a timestamp whose instant (after its offset) lies outside it is
/// refused. An instant outside it that still reaches ``format(milliseconds:)`` is written in the
/// ISO 8601 expanded form (`+10000-01-01T04:00:00Z`, `-00001-12-31T23:30:00Z`), never clamped to a
/// wrong date.
public enum RFC3339 {
    /// 0000-01-01T00:00:00Z in milliseconds since the Unix epoch: the first instant on the wire.
    public static let earliestMilliseconds: Int64 = -62_167_219_200_000
    /// 9999-12-31T23:59:59.999Z in milliseconds since the Unix epoch: the last instant on the wire.
    public static let latestMilliseconds: Int64 = 253_402_300_799_999
    /// The first instant on the wire, 0000-01-01T00:00:00Z.
    public static let earliest = date(milliseconds: earliestMilliseconds)
    /// The last instant on the wire, 9999-12-31T23:59:59.999Z.
    public static let latest = date(milliseconds: latestMilliseconds)
    /// The wire range in words, for messages: "from 0000-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z".
    public static let rangeText = "from 0000-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z"

    /// What a text is as a timestamp.
    public enum Reading: Sendable, Equatable {
        /// An instant on the wire, in milliseconds since the Unix epoch.
        case instant(Int64)
        /// A well-formed timestamp whose instant, after its offset, lies outside years 0000-9999
        /// (its milliseconds since the Unix epoch).
        case outOfRange(Int64)
        /// Not an RFC 3339 timestamp.
        case malformed
    }

    /// The `Date` of milliseconds since the Unix epoch.
    public static func date(milliseconds ms: Int64) -> Date { Date(timeIntervalSince1970: Double(ms) / 1000) }

    /// `2026-11-22T09:30:00Z`, with `.mmm` only when the instant has milliseconds.
    public static func format(_ date: Date) -> String {
        // Nearest, not down: a Date made from whole milliseconds is stored as a Double that may sit
        // a hair below them, and truncating would print one millisecond less (1987, 2038...).
        let ms = (date.timeIntervalSince1970 * 1000).rounded()
        // Past ±292 million years (or NaN) there is no date to write; crmd never makes such an
        // instant, and a trap or a made-up date would be worse than saying so.
        guard let whole = Int64(exactly: ms) else { return "(not an instant: \(date.timeIntervalSince1970) s from 1970-01-01T00:00:00Z)" }
        return format(milliseconds: whole)
    }

    /// Formats milliseconds since the Unix epoch; outside years 0000-9999 in the ISO 8601
    /// expanded form, a sign and at least five digits of year (`+10000-01-01T04:00:00Z`).
    public static func format(milliseconds ms: Int64) -> String {
        // Floor division without `ms - 999`, which overflows near Int64.min.
        let (q, r) = ms.quotientAndRemainder(dividingBy: 1000)
        let totalSeconds = r < 0 ? q - 1 : q
        let millis = r < 0 ? r + 1000 : r
        let (dq, dr) = totalSeconds.quotientAndRemainder(dividingBy: 86_400)
        let days = dr < 0 ? dq - 1 : dq
        let secs = dr < 0 ? dr + 86_400 : dr
        let (y, m, d) = civil(fromDays: days)
        var out: [UInt8] = []
        out.reserveCapacity(24)
        func two(_ v: Int64) { out.append(UInt8(v / 10) + 0x30); out.append(UInt8(v % 10) + 0x30) }
        if (0...9999).contains(y) {
            out.append(UInt8(y / 1000) + 0x30)
            out.append(UInt8(y / 100 % 10) + 0x30)
            two(y % 100)
        } else {
            out.append(UInt8(ascii: y < 0 ? "-" : "+"))
            let digits = Array(String(y.magnitude).utf8)
            out += [UInt8](repeating: 0x30, count: max(0, 5 - digits.count)) + digits
        }
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

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`; `nil` if it is not such a timestamp
    /// or its instant lies outside the wire range (see ``read(_:)`` to tell the two apart).
    public static func parse(_ text: String) -> Date? {
        parseMilliseconds(text).map { date(milliseconds: $0) }
    }

    /// Parses to milliseconds since the Unix epoch; `nil` as ``parse(_:)``.
    public static func parseMilliseconds(_ text: String) -> Int64? {
        if case .instant(let ms) = read(text) { return ms }
        return nil
    }

    /// Reads a timestamp: an instant on the wire, one outside years 0000-9999 once its offset is
    /// applied (`9999-12-31T23:00:00-05:00` is 10000-01-01T04:00:00Z), or not a timestamp.
    public static func read(_ text: String) -> Reading {
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
        else { return .malformed }
        guard (1...12).contains(mo), d >= 1, d <= daysInMonth(y, mo), h <= 23, mi <= 59, s <= 60 else { return .malformed }
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
            guard any else { return .malformed }
        }
        var offsetSeconds: Int64 = 0
        guard i < b.count else { return .malformed }
        if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
            i += 1
        } else if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
            let sign: Int64 = b[i] == UInt8(ascii: "+") ? 1 : -1
            i += 1
            guard let oh = digits(2), expect([0x3A]), let om = digits(2), oh <= 23, om <= 59 else { return .malformed }
            offsetSeconds = sign * (oh * 3600 + om * 60)
        } else {
            return .malformed
        }
        guard i == b.count else { return .malformed }
        let days = daysFromCivil(y, mo, d)
        let secs = days * 86_400 + h * 3600 + mi * 60 + min(s, 59) - offsetSeconds
        let ms = secs * 1000 + millis
        return (earliestMilliseconds...latestMilliseconds).contains(ms) ? .instant(ms) : .outOfRange(ms)
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
