/// A language's translations of the English templates, read from the catalog file a translator
/// edits (`Sources/CRMText/locale/<lang>.po`, embedded in the binaries at build time by SwiftPM's
/// `embedInCode`, so an installed crmd or crmctl needs no resource folder).
///
/// The format is a subset of gettext's PO: `msgid "English template"` then `msgstr "translation"`,
/// each string in double quotes with `\"`, `\\`, `\n` escapes and continued on following lines
/// that hold only a quoted string; `#` lines are comments. An empty `msgstr` is no translation.
public struct Catalog: Sendable {
    public let entries: [String: String]

    public init(entries: [String: String]) { self.entries = entries }

    /// The translation of an English template, if the catalog has one.
    public func translation(of template: String) -> String? { entries[template] }

    /// The catalog of `lang` (English: empty, its templates are the text).
    public static func `for`(_ lang: Lang) -> Catalog {
        switch lang {
        case .ru: return ru
        case .en: return en
        }
    }

    static let ru: Catalog = (try? Catalog(po: String(decoding: PackageResources.ru_po, as: UTF8.self))) ?? Catalog(entries: [:])
    static let en = Catalog(entries: [:])

    /// The Russian catalog's text, as built in (for tests and the catalog check).
    public static var ruSource: String { String(decoding: PackageResources.ru_po, as: UTF8.self) }

    /// A catalog file that cannot be read: where and why.
    public struct FormatError: Error, CustomStringConvertible {
        public var line: Int
        public var problem: String
        public var description: String { "line \(line): \(problem)" }
    }

    /// Parses PO text; a duplicate msgid, a msgid without msgstr or a bad line is an error.
    public init(po text: String) throws(FormatError) {
        var entries: [String: String] = [:]
        /// Which string a continuation line extends: false the msgid, true the msgstr.
        var current: Bool? = nil
        var pair: (String?, String?) = (nil, nil)
        var idLine = 0
        func finish(_ line: Int) throws(FormatError) {
            guard let i = pair.0 else { return }
            guard let s = pair.1 else { throw FormatError(line: idLine, problem: "msgid \"\(i)\" has no msgstr") }
            guard entries[i] == nil else { throw FormatError(line: idLine, problem: "msgid \"\(i)\" appears twice") }
            if !s.isEmpty { entries[i] = s }
            pair = (nil, nil)
        }
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingSpaces()
            if line.isEmpty || line.hasPrefix("#") {
                current = nil
                continue
            }
            if line.hasPrefix("msgid ") {
                try finish(n + 1)
                pair.0 = try Self.unquote(line.dropFirst(6), line: n + 1)
                idLine = n + 1
                current = false
            } else if line.hasPrefix("msgstr ") {
                guard pair.0 != nil, pair.1 == nil else { throw FormatError(line: n + 1, problem: "msgstr without its msgid") }
                pair.1 = try Self.unquote(line.dropFirst(7), line: n + 1)
                current = true
            } else if line.hasPrefix("\""), let inStr = current {
                let more = try Self.unquote(line, line: n + 1)
                if inStr { pair.1 = (pair.1 ?? "") + more } else { pair.0 = (pair.0 ?? "") + more }
            } else {
                throw FormatError(line: n + 1, problem: "expected msgid, msgstr, a quoted string or a # comment")
            }
        }
        try finish(0)
        self.entries = entries
    }

    static func unquote(_ s: Substring, line: Int) throws(FormatError) -> String {
        let t = s.trimmingSpaces()
        guard t.count >= 2, t.hasPrefix("\""), t.hasSuffix("\"") else {
            throw FormatError(line: line, problem: "a string must be in double quotes")
        }
        var out = ""
        var escaped = false
        for c in t.dropFirst().dropLast() {
            if escaped {
                switch c {
                case "n": out.append("\n")
                case "t": out.append("\t")
                default: out.append(c)
                }
                escaped = false
            } else if c == "\\" {
                escaped = true
            } else {
                out.append(c)
            }
        }
        return out
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" || f == "\r" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s = s.dropLast() }
        return s
    }
}
