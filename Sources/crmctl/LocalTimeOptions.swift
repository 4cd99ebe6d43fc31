import ArgumentParser
import CRMClient
import CRMProtocol
import Foundation

/// The department's time zone and crmd's clock as crmctl learned them from `whoami`: tables show
/// instants as `20.11.2026 10:00` there, and typed dates (`--at "20.11 10:00"`, `--at today 15:00`)
/// are read there and sent as RFC 3339.
enum Display {
    /// Set once, before any output, by `GlobalOptions.learnLocalTime` (crmctl is single-threaded).
    nonisolated(unsafe) static var local = LocalTime(timeZone: .current)
    /// crmd's now (its manual clock in tests), for "today" and for "in 3 days".
    nonisolated(unsafe) static var now = Date()
    nonisolated(unsafe) static var learned = false
    /// The command's global options, noted when they are parsed, so that a typed date read
    /// before the command connects can still ask crmd for its zone.
    nonisolated(unsafe) static var options: GlobalOptions?

    /// A period bound (`--from`, `--to`, `--due-before`) typed in the department's forms: a day
    /// alone from its local start (or, with `endOfDay`, to its end), an instant as typed; RFC 3339
    /// as it is. A typed form crmctl does not know ends the command with the accepted forms.
    static func periodBound(_ typed: String, endOfDay: Bool) -> String {
        if RFC3339.parse(typed) != nil { return typed }
        do {
            try options?.learned()
            return RFC3339.format(try local.parsePeriodBound(typed, now: now, endOfDay: endOfDay))
        } catch let e as LocalTime.ParseError {
            failure("\(e)", 64)
        } catch let e as ExitCode {
            Foundation.exit(e.rawValue)  // the session said why on stderr
        } catch {
            failure("\(error)", 69)
        }
    }

    /// The time zone and now of a `whoami` reply, once.
    static func learn(from who: JSON) {
        guard !learned else { return }
        if let name = who["time_zone"]?.stringValue, let zone = TimeZone(identifier: name) {
            local = LocalTime(timeZone: zone)
        }
        if let t = who["now"]?.stringValue.flatMap(RFC3339.parse) { now = t }
        learned = true
    }

    /// Russian words when the locale says so (LC_ALL, LC_MESSAGES, then LANG).
    static let russian: Bool = {
        let env = ProcessInfo.processInfo.environment
        let locale = [env["LC_ALL"], env["LC_MESSAGES"], env["LANG"]].compactMap { $0 }.first { !$0.isEmpty } ?? ""
        return locale.lowercased().hasPrefix("ru")
    }()

    /// A wire instant as `20.11.2026 10:00` in the department's zone; other text unchanged.
    static func instant(_ wire: String) -> String {
        guard let d = RFC3339.parse(wire) else { return wire }
        return local.format(d)
    }

    /// A wire instant with how far it is from now: `20.11.2026 10:00 (3 days ago)`.
    static func relative(_ v: JSON?, none: String = "-") -> String {
        guard let s = v?.stringValue, let d = RFC3339.parse(s) else { return none }
        return local.formatRelative(d, now: now, russian: russian)
    }
}

extension GlobalOptions {
    func validate() throws { Display.options = self }

    /// Asks crmd (once) for its time zone and now.
    func learnLocalTime(_ c: Connection) throws {
        guard !Display.learned else { return }
        Display.learn(from: try c.call("whoami"))
    }

    fileprivate func learned() throws {
        guard !Display.learned else { return }
        try session { c in try learnLocalTime(c) }
    }

    /// A typed instant (`--at`, `--due`) as RFC 3339 for the wire; a clear usage error otherwise.
    func instant(_ typed: String, option: String) throws -> String {
        try learned()
        do {
            return RFC3339.format(try Display.local.parseInstant(typed, now: Display.now))
        } catch {
            throw ValidationError("--\(option): \(error)")
        }
    }

    /// crmd's now as RFC 3339 (the default of `--at`).
    func nowOnServer() throws -> String {
        try learned()
        return RFC3339.format(Display.now)
    }

    /// A typed day (`--due` of an invoice, `--expected-close`) as the wire's YYYY-MM-DD.
    func day(_ typed: String, option: String) throws -> String {
        if typed.count == 10, typed.split(separator: "-").count == 3, typed.allSatisfy({ $0 == "-" || ($0.isASCII && $0.isNumber) }) {
            return typed  // the wire's own form: crmd checks it
        }
        try learned()
        do {
            return try Display.local.parseDay(typed, now: Display.now)
        } catch {
            throw ValidationError("--\(option): \(error)")
        }
    }
}
