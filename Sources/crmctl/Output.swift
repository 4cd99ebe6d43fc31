import CRMProtocol
import Foundation

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

/// A plain text table with aligned columns. Cells may carry color codes; widths ignore them.
struct Table {
    var headers: [String]
    var rows: [[String]] = []

    init(_ headers: [String]) { self.headers = headers }

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

/// A client's zone cell: colored zone with days left, or its status.
func zoneCell(_ c: JSON) -> String {
    if let z = c["zone"]?.stringValue {
        if let d = c["days_to_release"]?.intValue {
            return Style.zone(z, "\(z) \(d)d")
        }
        return Style.zone(z, z)
    }
    return str(c["status"])
}

/// Prints a client card.
func printClient(_ c: JSON) {
    if c["restricted"] == .bool(true) {
        print("#\(str(c["id"])) \(str(c["name"]))")
        print("owner        \(str(c["owner_login"]))  zone \(zoneCell(c))")
        print(Style.dim("(another manager's client: only name, owner and zone are shown)"))
        return
    }
    print("#\(str(c["id"])) \(str(c["name"])) (\(str(c["kind"])))")
    print("owner        \(c["owner_login"]?.stringValue ?? "-")  status \(str(c["status"]))  zone \(zoneCell(c))")
    if let r = c["release_at"]?.stringValue { print("release at   \(r)") }
    let phones = c["phones"]?.arrayValue?.compactMap(\.stringValue) ?? []
    let emails = c["emails"]?.arrayValue?.compactMap(\.stringValue) ?? []
    if !phones.isEmpty { print("phones       \(phones.joined(separator: ", "))") }
    if !emails.isEmpty { print("emails       \(emails.joined(separator: ", "))") }
    for (label, key) in [("segment", "segment"), ("source", "source"), ("abc", "abc")] {
        if let v = c[key]?.stringValue { print(label.padding(toLength: 13, withPad: " ", startingAt: 0) + v) }
    }
    if let f = c["fields"]?.objectValue, f.count > 0 {
        for m in f.members { print("  \(m.key): \(str(m.value))") }
    }
    if let l = c["last_interaction_at"]?.stringValue { print("last contact \(l)") }
    if let contacts = c["contacts"]?.arrayValue, !contacts.isEmpty {
        print("\ncontacts")
        var t = Table(["id", "name", "position", "phones", "dm"])
        for k in contacts {
            t.add([
                str(k["id"]), str(k["name"]), str(k["position"]),
                (k["phones"]?.arrayValue?.compactMap(\.stringValue) ?? []).joined(separator: ", "),
                k["decision_maker"] == .bool(true) ? "yes" : "",
            ])
        }
        t.print()
    }
    if let list = c["interactions"]?.arrayValue, !list.isEmpty {
        print("\nrecent interactions")
        printInteractions(list)
    }
}

func printInteractions(_ list: [JSON]) {
    var t = Table(["id", "when", "kind", "by", "topic", "result"])
    for i in list {
        var kind = str(i["kind"])
        if let d = i["direction"]?.stringValue { kind += " \(d)" }
        t.add([str(i["id"]), str(i["occurred_at"]), kind, str(i["author_login"]), str(i["topic"]), str(i["result"])])
    }
    t.print()
}

func printClientList(_ r: JSON) {
    var t = Table(["id", "name", "owner", "zone", "phones"])
    for c in r["items"]?.arrayValue ?? [] {
        t.add([
            str(c["id"]), str(c["name"]), c["owner_login"]?.stringValue ?? "-", zoneCell(c),
            (c["phones"]?.arrayValue?.compactMap(\.stringValue) ?? []).joined(separator: ", "),
        ])
    }
    t.print()
    if let next = r["next_cursor"]?.stringValue { print(Style.dim("more: --cursor \(next)")) }
}

/// A table of contacts: id, name, position, phones, e-mails, decision maker.
func printContacts(_ list: [JSON]) {
    var t = Table(["id", "name", "position", "phones", "emails", "dm"])
    for k in list {
        t.add([
            str(k["id"]), str(k["name"]), str(k["position"]),
            (k["phones"]?.arrayValue?.compactMap(\.stringValue) ?? []).joined(separator: ", "),
            (k["emails"]?.arrayValue?.compactMap(\.stringValue) ?? []).joined(separator: ", "),
            k["decision_maker"] == .bool(true) ? "yes" : "",
        ])
    }
    t.print()
}
