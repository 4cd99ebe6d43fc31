import CRMCore
import Foundation

extension Settings {
    /// The `classes.*` settings (also from `CRMD_CLASSES_*`): `window_months` (1-36),
    /// `abc_shares` (`80,15,5`: three whole percents adding up to 100), `xyz_limits` (`10,25`: the
    /// X and Y limits of the coefficient of variation in percent, X below Y), `run_day` (1-28, or
    /// `off` for no schedule), `run_at` (a local time like `03:00`), `max_change_events`
    /// (0-1,000,000). `text` reads one key, nil when it is not set.
    mutating func applyClasses(_ text: (String) -> String?) throws {
        func numbers(_ key: String, count: Int, example: String) throws -> [Int]? {
            guard let t = text(key) else { return nil }
            let parts = t.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).split(separator: ",").map {
                Int($0.trimmingCharacters(in: .whitespaces))
            }
            guard parts.count == count, parts.allSatisfy({ $0.map { (0...100).contains($0) } ?? false }) else {
                throw SettingsError(key: key, problem: "'\(t)' must be \(count) whole percents separated by commas, like \(example)")
            }
            return parts.compactMap { $0 }
        }
        var c = domain.classes
        if let t = text("classes.window_months") {
            guard let v = Int(t), (1...ClassSettings.maxWindowMonths).contains(v) else {
                throw SettingsError(key: "classes.window_months", problem: "'\(t)' is not a number of months from 1 to 36")
            }
            c.windowMonths = v
        }
        if let s = try numbers("classes.abc_shares", count: 3, example: "80,15,5") {
            guard s.reduce(0, +) == 100, s[0] > 0 else {
                throw SettingsError(
                    key: "classes.abc_shares", problem: "'\(s.map(String.init).joined(separator: ","))' must add up to 100, with A above 0")
            }
            (c.aPercent, c.bPercent) = (s[0], s[1])
        }
        if let l = try numbers("classes.xyz_limits", count: 2, example: "10,25") {
            guard l[0] < l[1] else {
                throw SettingsError(key: "classes.xyz_limits", problem: "the X limit (\(l[0])) must be below the Y limit (\(l[1]))")
            }
            (c.xPercent, c.yPercent) = (l[0], l[1])
        }
        if let t = text("classes.run_day") {
            if ["off", "none", "never"].contains(t.lowercased()) {
                c.runDay = nil
            } else {
                guard let v = Int(t), (1...28).contains(v) else {
                    throw SettingsError(key: "classes.run_day", problem: "'\(t)' must be a day of the month from 1 to 28, or off")
                }
                c.runDay = v
            }
        }
        if let t = text("classes.run_at") {
            let hm = t.split(separator: ":")
            guard hm.count == 2, hm[0].count <= 2, hm[1].count == 2, let h = Int(hm[0]), let m = Int(hm[1]), (0...23).contains(h),
                (0...59).contains(m)
            else { throw SettingsError(key: "classes.run_at", problem: "'\(t)' is not a local time like 03:00") }
            c.runMinute = h * 60 + m
        }
        if let t = text("classes.max_change_events") {
            guard let v = Int(t), (0...1_000_000).contains(v) else {
                throw SettingsError(key: "classes.max_change_events", problem: "'\(t)' is not a whole number from 0 to 1000000")
            }
            c.maxChangeEvents = v
        }
        domain.classes = c
    }
}
