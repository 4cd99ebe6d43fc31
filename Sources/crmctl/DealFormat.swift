import ArgumentParser
import CRMProtocol
import Foundation

// Money, widths and small helpers shared by the deal, task, pipeline and today commands.

/// Reads an amount as people type money ("12500.50", "12 500,50", "1,250,000.00") into minor
/// units (kopecks, cents). Two decimals at most; a lone separator before three digits
/// ("12,500") is refused as ambiguous rather than guessed.
func parseMoney(_ typed: String) throws -> Int64 {
    let grouping: Set<Character> = [" ", "\u{00A0}", "\u{202F}", "'", "_"]
    let s = String(typed.trimmingCharacters(in: .whitespaces).filter { !grouping.contains($0) })
    func refuse(_ why: String) -> ValidationError { ValidationError(tr("amount '\(typed)' \(why)")) }
    if s.hasPrefix("-") { throw refuse(tr("cannot be negative")) }
    guard !s.isEmpty, s.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "." || $0 == ",") }) else {
        throw refuse(tr("is not a sum of money; write it like 12500.50 or 12 500,50"))
    }
    var whole = s
    var fraction = ""
    let dots = s.filter { $0 == "." }.count
    let commas = s.filter { $0 == "," }.count
    if dots > 0 && commas > 0 {
        // The separator written last is the decimal one; the other groups thousands.
        let decimal: Character = s.lastIndex(of: ".")! > s.lastIndex(of: ",")! ? "." : ","
        let parts = s.split(separator: decimal, omittingEmptySubsequences: false)
        guard parts.count == 2 else { throw refuse(tr("has more than one decimal separator")) }
        whole = parts[0].filter { $0 != "." && $0 != "," }
        fraction = String(parts[1])
        if parts[1].contains(where: { !$0.isNumber }) { throw refuse(tr("has a thousands separator after the decimal one")) }
    } else if dots + commas > 1 {
        // 1,250,000 or 1.250.000: thousands only, in groups of three.
        let groups = s.split(separator: dots > 0 ? "." : ",", omittingEmptySubsequences: false)
        guard groups.dropFirst().allSatisfy({ $0.count == 3 }), !groups[0].isEmpty else {
            throw refuse(tr("has thousands separators out of place; write it like 1 250 000.00"))
        }
        whole = s.filter { $0.isNumber }
    } else if let sep = s.firstIndex(where: { $0 == "." || $0 == "," }) {
        whole = String(s[..<sep])
        let after = String(s[s.index(after: sep)...])
        switch after.count {
        case 0...2: fraction = after
        case 3: throw refuse(tr("is ambiguous: write \(whole)\(after) for thousands, or \(whole).\(after.prefix(2)) for decimals"))
        default: throw refuse(tr("has \(after.count) digits after the decimal separator; at most 2"))
        }
    }
    if whole.isEmpty { whole = "0" }
    guard fraction.count <= 2 else { throw refuse(tr("has more than 2 digits after the decimal separator")) }
    guard let units = Int64(whole), units <= 10_000_000_000_000 else { throw refuse(tr("is too large (at most 10^13)")) }
    let minor = Int64(fraction.padding(toLength: 2, withPad: "0", startingAt: 0)) ?? 0
    return units * 100 + minor
}

/// Minor units as people read them: "12 500.50" (with "12 500" when `decimals` is false).
func moneyText(_ minor: Int64, decimals: Bool = true) -> String {
    let v = minor.magnitude
    var digits = String(v / 100)
    var grouped = ""
    while digits.count > 3 {
        grouped = " " + digits.suffix(3) + grouped
        digits = String(digits.dropLast(3))
    }
    grouped = digits + grouped
    let cents = v % 100
    return (minor < 0 ? "-" : "") + grouped + (decimals ? ".\(cents < 10 ? "0" : "")\(cents)" : "")
}

/// A short amount for narrow columns: "950", "12.5k", "1.25M", "3.4B".
func compactMoney(_ minor: Int64) -> String {
    let v = Double(minor) / 100
    let steps: [(Double, String)] = [(1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")]
    for (size, suffix) in steps where v >= size {
        let x = v / size
        var text = x < 10 ? String(format: "%.2f", x) : x < 100 ? String(format: "%.1f", x) : String(format: "%.0f", x)
        while text.contains("."), text.hasSuffix("0") || text.hasSuffix(".") { text.removeLast() }
        return text + suffix
    }
    return String(format: "%.0f", v)
}

/// A deal's amount with its currency, or "-".
func dealAmount(_ d: JSON) -> String {
    guard let a = d["amount"]?.intValue else { return "-" }
    return "\(moneyText(a)) \(str(d["currency"]))"
}

/// The terminal's width: COLUMNS when set, else the terminal's own (TIOCGWINSZ on stdout, then
/// stderr), else 80.
func terminalWidth() -> Int {
    if let c = ProcessInfo.processInfo.environment["COLUMNS"].flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) }), c > 0 {
        return c
    }
    for fd: Int32 in [1, 2] {
        var size = winsize()
        if ioctl(fd, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
    }
    return 80
}

/// How many terminal cells `s` takes: color codes take none, combining marks none, East Asian
/// wide characters and emoji two.
func displayWidth(_ s: String) -> Int {
    var width = 0
    var inEscape = false
    for u in s.unicodeScalars {
        if inEscape {
            if u == "m" { inEscape = false }
            continue
        }
        if u == "\u{1B}" {
            inEscape = true
            continue
        }
        width += cellWidth(u)
    }
    return width
}

private func cellWidth(_ u: Unicode.Scalar) -> Int {
    let v = u.value
    if v < 0x20 || (0x7F..<0xA0).contains(v) { return 0 }
    switch u.properties.generalCategory {
    case .nonspacingMark, .enclosingMark, .format: return 0
    default: break
    }
    let wide: [ClosedRange<UInt32>] = [
        0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF, 0xAC00...0xD7A3,
        0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x1F300...0x1F64F, 0x1F900...0x1F9FF, 0x20000...0x3FFFD,
    ]
    return wide.contains { $0.contains(v) } ? 2 : 1
}

/// `s` cut to at most `width` cells, ending in "…" when cut (colors dropped then).
func clip(_ s: String, _ width: Int) -> String {
    guard width > 0 else { return "" }
    if displayWidth(s) <= width { return s }
    var plain = ""
    var inEscape = false
    for u in s.unicodeScalars {
        if inEscape {
            if u == "m" { inEscape = false }
        } else if u == "\u{1B}" {
            inEscape = true
        } else {
            plain.unicodeScalars.append(u)
        }
    }
    var out = ""
    var used = 0
    for ch in plain {
        let w = displayWidth(String(ch))
        if used + w > width - 1 { break }
        out.append(ch)
        used += w
    }
    return out + "…"
}

/// `s` padded with spaces to `width` cells (clipped first if longer).
func pad(_ s: String, _ width: Int) -> String {
    let c = clip(s, width)
    return c + String(repeating: " ", count: max(0, width - displayWidth(c)))
}

/// A table whose every line fits `width` cells.
func printFitted(_ t: Table, width: Int) {
    for line in t.render().split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
        print(clip(String(line), width))
    }
}

/// An ISO 8601 cadence as people read it: "P2D" → "2d", "PT12H" → "12h".
func cadenceText(_ iso: String?) -> String {
    guard let iso, iso.hasPrefix("P") else { return "none" }
    return iso.dropFirst().filter { $0 != "T" }.lowercased()
}

/// A user given as a login or an id, as the wire takes it.
func userParam(_ s: String) -> JSON { Int64(s).map(JSON.int) ?? .string(s) }

/// An instant for a period filter: RFC 3339 as given, or a day (UTC) `YYYY-MM-DD`: its start,
/// or with `endOfDay` the start of the next day (so `--to` includes the day named).
func periodInstant(_ s: String, endOfDay: Bool) -> String {
    let isDay = s.count == 10 && s.enumerated().allSatisfy { i, c in i == 4 || i == 7 ? c == "-" : c.isASCII && c.isNumber }
    guard isDay else { return Display.periodBound(s, endOfDay: endOfDay) }
    guard endOfDay else { return s + "T00:00:00Z" }
    var cal = Calendar(identifier: .gregorian)
    cal.timeZone = TimeZone(identifier: "UTC")!
    let f = DateFormatter()
    f.calendar = cal
    f.timeZone = cal.timeZone
    f.locale = Locale(identifier: "en_US_POSIX")
    f.dateFormat = "yyyy-MM-dd"
    guard let d = f.date(from: s), let next = cal.date(byAdding: .day, value: 1, to: d) else { return s + "T00:00:00Z" }
    return f.string(from: next) + "T00:00:00Z"
}

/// A failure crmctl itself finds (not crmd): a message on stderr and an exit status.
func failure(_ message: String, _ code: Int32 = 1) -> Never {
    FileHandle.standardError.write(Data("crmctl: \(message)\n".utf8))
    Foundation.exit(code)
}

extension GlobalOptions {
    /// Prints the result of a command that made several calls: raw with --json, else `render`.
    func output(_ result: JSON, render: (JSON) -> Void) {
        if json { print(JSONWriter.string(result)) } else { render(result) }
    }
}
