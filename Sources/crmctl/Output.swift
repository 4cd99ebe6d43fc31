import ArgumentParser
import CRMProtocol
import CRMText
import Foundation
import Synchronization

/// The language of crmctl's own text (table headers): the one crmd speaks on the connection (the
/// user's, else this locale's, else the server's), else this locale's, else English.
enum Language {
    private static let chosen = Mutex<Lang?>(nil)

    static var current: Lang {
        chosen.withLock { $0 } ?? Lang.fromEnvironment(ProcessInfo.processInfo.environment) ?? .en
    }

    static func set(_ lang: Lang) { chosen.withLock { $0 = lang } }

    /// A column's header in the current language (catalog key `th:` + the English header).
    static func header(_ name: String) -> String { word("th", name) }

    /// A word crmd sends as a value (a zone, a client's kind, an interaction's kind) as people
    /// read it in the current language: catalog key `kind:` + the value (listed under
    /// `#. dynamic`), else the value itself. Commands still take the value (`--zone green`).
    static func word(_ kind: String, _ value: String) -> String {
        guard !value.isEmpty else { return value }
        let said = Phrase.key(kind + ":" + value).rendered(current)
        return said.hasPrefix(kind + ":") ? value : said
    }
}

/// Terminal styling: colors only on a terminal and when NO_COLOR is unset.
enum Style {
    static let enabled: Bool = {
        let env = ProcessInfo.processInfo.environment
        if let nc = env["NO_COLOR"], !nc.isEmpty { return false }
        if env["TERM"] == "dumb" { return false }
        return isatty(1) == 1
    }()

    static func zone(_ zone: String, _ text: String) -> String {
        guard enabled else { return text }
        switch zone {
        case "green": return "\u{1B}[32m\(text)\u{1B}[0m"
        case "yellow": return "\u{1B}[33;1m\(text)\u{1B}[0m"
        case "red": return "\u{1B}[31;1m\(text)\u{1B}[0m"
        default: return text
        }
    }

    static func dim(_ text: String) -> String { enabled ? "\u{1B}[2m\(text)\u{1B}[0m" : text }
}

/// crmctl's own text in ``Language/current`` (for help: this process's locale, else English).
func tr(_ phrase: Phrase) -> String { phrase.rendered(Language.current) }

extension ArgumentHelp {
    /// An option's or argument's help in ``Language/current``: `@Option(help: .tr("…"))`.
    /// ArgumentParser reads help when it shows it, after the language of this process's locale
    /// is known (help is shown before crmctl connects, so LANG decides it).
    static func tr(_ phrase: Phrase) -> ArgumentHelp { ArgumentHelp(phrase.rendered(Language.current)) }
}

/// A plain text table with aligned columns. Cells may carry color codes; widths ignore them.
struct Table {
    var headers: [String]
    var rows: [[String]] = []

    /// Headers in English; shown in ``Language/current``.
    init(_ headers: [String]) { self.headers = headers.map(Language.header) }

    mutating func add(_ row: [String]) { rows.append(row) }

    static func visibleWidth(_ s: String) -> Int {
        var width = 0
        var inEscape = false
        for ch in s.unicodeScalars {
            if inEscape {
                if ch == "m" { inEscape = false }
                continue
            }
            if ch == "\u{1B}" {
                inEscape = true
                continue
            }
            width += 1
        }
        return width
    }

    func render() -> String {
        var widths = headers.map { $0.count }
        for r in rows {
            for (i, c) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], Self.visibleWidth(c)) }
        }
        func line(_ cells: [String]) -> String {
            var out = ""
            for (i, c) in cells.enumerated() {
                let pad = i == cells.count - 1 ? 0 : widths[i] - Self.visibleWidth(c) + 2
                out += c + String(repeating: " ", count: max(0, pad))
            }
            return out
        }
        var text = line(headers.map { $0.uppercased() }) + "\n"
        for r in rows { text += line(r) + "\n" }
        return text
    }

    func print() {
        Swift.print(render(), terminator: "")
    }
}

func num(_ v: JSON?) -> String {
    guard let i = v?.intValue else { return "-" }
    return String(i)
}

func str(_ v: JSON?) -> String {
    switch v {
    case .string(let s)?: return Display.instant(s)
    case .int(let i)?: return String(i)
    case .double(let d)?: return String(d)
    case .bool(let b)?: return b ? tr("yes") : tr("no")
    default: return ""
    }
}

/// A login, or a placeholder for none.
func login(_ v: JSON?, _ none: String = "-") -> String { v?.stringValue ?? none }

/// "1 client", "2 clients".
func plural(_ n: Int64, _ word: String) -> String { "\(n) \(word)\(n == 1 ? "" : "s")" }

/// A stored phone (`+74951234567;ext=12`, as crmd keeps it) as people read it: a Russian number
/// grouped `+7 495 123-45-67`, the extension said in ``Language/current`` (`ext. 12`, `доб. 12`).
/// Other numbers keep their digits as stored. `--json` output keeps the stored form.
func phoneText(_ stored: String) -> String {
    let parts = stored.split(separator: ";", maxSplits: 1).map(String.init)
    let main = groupedPhone(parts.first ?? stored)
    guard parts.count == 2, parts[1].hasPrefix("ext=") else { return main }
    let ext = String(parts[1].dropFirst(4))
    return tr("\(main) ext. \(ext)")
}

/// A JSON array of stored phones, as people read them, comma separated.
func phonesText(_ v: JSON?) -> String {
    (v?.arrayValue?.compactMap(\.stringValue) ?? []).map(phoneText).joined(separator: ", ")
}

/// A card's line: its label in ``Language/current``, padded to the card's value column.
func cardLine(_ label: String, _ value: String) -> String {
    label.padding(toLength: max(13, label.count + 1), withPad: " ", startingAt: 0) + value
}

/// A zone as people read it (`green`, `зелёная`).
func zoneName(_ zone: String) -> String { Language.word("zone", zone) }

/// A client's zone cell: colored zone with days left, or its status.
func zoneCell(_ c: JSON) -> String {
    if let z = c["zone"]?.stringValue {
        if let d = c["days_to_release"]?.intValue {
            return Style.zone(z, tr("\(zoneName(z)) \(d)d"))
        }
        return Style.zone(z, zoneName(z))
    }
    return Language.word("status", str(c["status"]))
}
