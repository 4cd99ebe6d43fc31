import CRMCore
import Configuration
import Foundation

extension Settings {
    /// The most bytes a holiday calendar file may have.
    static let maxCalendarFileBytes = 1 << 20

    /// The holiday calendar of `calendar.files` (a list of files, or one, separated by commas): a
    /// relative path is taken from the folder of the config file (else the working folder). None
    /// listed (or `off`): nil. A file that cannot be read or has a bad line stops crmd, naming
    /// the file and the line.
    /// A `calendar.*` switch (`move_releases`, `working_days`): true or false, default false.
    static func calendarSwitch(_ r: ConfigReader, _ key: String) throws -> Bool {
        guard let v = r.string(forKey: ConfigKey(key))?.trimmingCharacters(in: .whitespaces), !v.isEmpty else {
            return false
        }
        guard let b = ["true": true, "yes": true, "false": false, "no": false][v.lowercased()] else {
            throw SettingsError(key: key, problem: "'\(v)' must be true or false")
        }
        return b
    }

    static func holidayCalendar(_ r: ConfigReader, configFile: String?) throws -> WorkCalendar? {
        let key = "calendar.files"
        let raw: [String]
        if let a = r.stringArray(forKey: ConfigKey(key)) {
            raw = a
        } else if let t = r.string(forKey: ConfigKey(key)) {
            raw = t.split(separator: ",").map(String.init)
        } else {
            return nil
        }
        let files = raw.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if files.isEmpty || files.map({ $0.lowercased() }) == ["off"] { return nil }
        let base = configFile.map { URL(fileURLWithPath: $0).deletingLastPathComponent().path } ?? FileManager.default.currentDirectoryPath
        var text = ""
        for f in files {
            let path = f.hasPrefix("/") ? f : base + "/" + f
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
                let data = FileManager.default.contents(atPath: path)
            else {
                throw SettingsError(key: key, problem: "cannot read the calendar file \(path)")
            }
            if ((attributes[.size] as? Int) ?? data.count) > maxCalendarFileBytes || data.count > maxCalendarFileBytes {
                throw SettingsError(key: key, problem: "the calendar file \(path) is larger than \(maxCalendarFileBytes) bytes")
            }
            guard let t = String(data: data, encoding: .utf8) else {
                throw SettingsError(key: key, problem: "the calendar file \(path) is not UTF-8 text")
            }
            // Each file on its own, so the error names its line.
            do {
                _ = try WorkCalendar(parsing: t)
            } catch {
                throw SettingsError(key: key, problem: "\(path) \(error)")
            }
            text += t + "\n"
        }
        do {
            return try WorkCalendar(parsing: text)
        } catch {
            throw SettingsError(key: key, problem: "the calendar files together: \(error.problem)")
        }
    }
}
