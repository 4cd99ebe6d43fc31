import CRMCore
import Foundation

/// An instant from an RFC 3339 text with an explicit offset (`2026-01-31T10:00:00+03:00`).
func instant(_ text: String) -> Date {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime]
    guard let d = f.date(from: text) else { fatalError("bad test timestamp \(text)") }
    return d
}

let moscow = TimeZone(identifier: "Europe/Moscow")!
let berlin = TimeZone(identifier: "Europe/Berlin")!
let utc = TimeZone(identifier: "UTC")!

/// The default P1M / P5M / P6M thresholds in another time zone.
func thresholds(in zone: TimeZone) -> ZoneThresholds {
    var t = ZoneThresholds.default
    t.timeZone = zone
    return t
}
