import Foundation

/// Phone and e-mail normalization, so any spelling of a number finds the same client.
public enum Phone {
    /// The longest text accepted as one phone: a business card's longest spelling with an
    /// extension and a label ("Тел.: +7 (495) 123-45-67, доб. 1234") is under 50 characters.
    public static let maxRawLength = 80
    /// The most digits an extension has (PBX extensions are 1 to 6 digits).
    public static let maxExtensionDigits = 6

    /// Normalizes a phone number to E.164 (`+79161234567`) when a country is known, with its
    /// extension kept as `;ext=12` (`+74951234567;ext=12`).
    ///
    /// Accepts spaces (also no-break and thin ones), dashes (also en and em dashes), dots,
    /// parentheses, a leading `+` or `00`, the Russian trunk prefix `8` (`8 916 123-45-67`), a
    /// leading label (`тел.`, `моб.`, `tel:` as a label), a `tel:` URI (`tel:+7-495-123-45-67;ext=12`)
    /// and an extension after the number: `доб. 12`, `доб 12`, `д. 12`, `вн. 12`, `ext. 12`,
    /// `ext 12`, `x12`, `#12`, `,12` (a dialler's pause), optionally after a comma or in
    /// brackets. A national number of `nationalLength` digits gets `defaultCountryCode`. Returns
    /// `nil` when the text holds no plausible number (fewer than 5 or more than 15 digits, an
    /// extension of more than 6 digits, other letters, or more than one number).
    public static func normalize(_ raw: String, defaultCountryCode: String = "7", nationalLength: Int = 10) -> String? {
        guard raw.utf8.count <= maxRawLength else { return nil }
        // The usual case, digits and separators only, without the scan for words.
        if let plain = normalizeMain(Substring(raw), defaultCountryCode: defaultCountryCode, nationalLength: nationalLength) {
            return plain
        }
        guard let (main, ext) = split(raw) else { return nil }
        guard let m = normalizeMain(main, defaultCountryCode: defaultCountryCode, nationalLength: nationalLength) else { return nil }
        return ext.map { m + ";ext=" + $0 } ?? m
    }

    /// The number without its extension: what a caller ID is (`+74951234567;ext=12` →
    /// `+74951234567`).
    public static func main(_ normalized: String) -> String {
        guard let i = normalized.firstIndex(of: ";") else { return normalized }
        return String(normalized[..<i])
    }

    /// The extension of a normalized number, if it has one.
    public static func ext(_ normalized: String) -> String? {
        guard let r = normalized.range(of: ";ext=") else { return nil }
        return String(normalized[r.upperBound...])
    }

    /// The digits of the main number, last first: the key that finds a number by its tail
    /// (`phones.tail`, docs/architecture.md, "Search").
    public static func reversedDigits(_ normalized: String) -> String {
        String(main(normalized).unicodeScalars.filter { $0.properties.numericType != nil && $0.isASCII }.reversed().map(Character.init))
    }

    /// Words that may label a number on a card or in a signature, ahead of it (lower case).
    static let labels = [
        "телефон", "тел", "моб", "мобильный", "сот", "раб", "т", "м", "phone", "tel", "mobile", "mob", "cell", "ph", "t", "m",
    ]
    /// Words that introduce an extension, longest first (lower case, without their dot).
    static let extensionMarks = ["добавочный", "внутренний", "внутр", "доб", "вн", "д", "ext", "x", "х"]

    private static func isSeparator(_ u: Unicode.Scalar) -> Bool {
        switch u {
        case " ", "-", ".", "(", ")", "\t", "\u{A0}", "\u{2009}", "\u{202F}", "\u{2010}", "\u{2011}", "\u{2012}", "\u{2013}",
            "\u{2014}", "\u{2212}":
            return true
        default: return false
        }
    }

    /// The main number's text and the extension's digits, or nil when the text is not one number.
    static func split(_ raw: String) -> (Substring, String?)? {
        var s = Substring(raw.lowercased())
        func skipSpaces() { while let f = s.unicodeScalars.first, f == " " || f == "\t" || f == "\u{A0}" { s = s.dropFirst() } }
        skipSpaces()
        if s.hasPrefix("tel:") {
            // RFC 3966: tel:+7-495-123-45-67;ext=12;phone-context=…
            let parts = s.dropFirst(4).split(separator: ";", omittingEmptySubsequences: false)
            guard let number = parts.first, !number.isEmpty else { return nil }
            var ext: String? = nil
            for p in parts.dropFirst() where p.hasPrefix("ext=") {
                let d = p.dropFirst(4)
                guard !d.isEmpty, d.count <= maxExtensionDigits, d.allSatisfy(\.isASCIIDigit) else { return nil }
                ext = String(d)
            }
            return (number, ext)
        }
        // A label: "тел.: ", "моб. ", "Tel: ".
        for label in labels where s.hasPrefix(label) {
            var rest = s.dropFirst(label.count)
            guard let next = rest.first, next == "." || next == ":" || next == " " || next == "+" || next == "(" || next.isASCIIDigit
            else { continue }
            while let f = rest.first, f == "." || f == ":" { rest = rest.dropFirst() }
            s = rest
            break
        }
        skipSpaces()
        // The number runs to the first character that is neither a digit, a separator nor a +.
        var end = s.startIndex
        while end < s.endIndex, let u = s[end].unicodeScalars.first, s[end].unicodeScalars.count == 1,
            u.properties.numericType != nil && u.isASCII || u == "+" || isSeparator(u)
        {
            end = s.index(after: end)
        }
        let number = s[..<end]
        var rest = s[end...]
        if rest.isEmpty { return (number, nil) }
        // What follows must be one extension: [,;] [(] mark [.:=] digits [)].
        while let f = rest.first, f == "," || f == ";" || f == " " || f == "(" || f == "\u{A0}" {
            rest = rest.dropFirst()
            if f == "," || f == ";", let n = rest.first, n.isASCIIDigit { break }  // "…67,12": a pause, then the extension
        }
        var marked = rest.first?.isASCIIDigit == true && rest.startIndex != s[end...].startIndex
        if !marked {
            if rest.hasPrefix("#") {
                rest = rest.dropFirst()
                marked = true
            } else if rest.hasPrefix("ext=") {
                rest = rest.dropFirst(4)
                marked = true
            } else {
                for mark in extensionMarks where rest.hasPrefix(mark) {
                    let after = rest.dropFirst(mark.count)
                    guard let n = after.first, n == "." || n == ":" || n == " " || n.isASCIIDigit else { continue }
                    rest = after
                    marked = true
                    break
                }
            }
        }
        guard marked else { return nil }
        while let f = rest.first, f == "." || f == ":" || f == " " || f == "\u{A0}" { rest = rest.dropFirst() }
        let digits = rest.prefix { $0.isASCIIDigit }
        var tail = rest.dropFirst(digits.count)
        while let f = tail.first, f == ")" || f == " " || f == "." { tail = tail.dropFirst() }
        guard !digits.isEmpty, digits.count <= maxExtensionDigits, tail.isEmpty else { return nil }
        return (number, String(digits))
    }

    /// The number without extension: digits, separators and a leading `+` only.
    static func normalizeMain(_ raw: Substring, defaultCountryCode: String, nationalLength: Int) -> String? {
        var digits: [UInt8] = []
        var plus = false
        var sawDigit = false
        for u in raw.unicodeScalars {
            switch u {
            case "0"..."9":
                digits.append(UInt8(u.value))
                sawDigit = true
            case "+":
                if sawDigit || plus { return nil }
                plus = true
            default:
                if isSeparator(u) { continue }
                return nil
            }
        }
        guard digits.count >= 5, digits.count <= 15 else { return nil }
        var d = String(decoding: digits, as: UTF8.self)
        if plus { return "+" + d }
        if d.hasPrefix("00") {
            d.removeFirst(2)
            return d.count >= 5 ? "+" + d : nil
        }
        if defaultCountryCode == "7", d.count == 11, d.hasPrefix("8") || d.hasPrefix("7") {
            return "+7" + d.dropFirst()
        }
        if d.count == nationalLength {
            return "+" + defaultCountryCode + d
        }
        if d.count == nationalLength + defaultCountryCode.count, d.hasPrefix(defaultCountryCode) {
            return "+" + d
        }
        // A short internal extension or a number whose country we cannot tell: keep the digits.
        return d
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}

/// E-mail normalization: trimmed, lower-cased, and checked for a plausible shape.
public enum Email {
    /// The normalized address, or `nil` if it is not `local@domain.tld`.
    public static func normalize(_ raw: String) -> String? {
        let t = raw.trimmedWhitespace.lowercased()
        let parts = t.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."),
            !parts[1].hasSuffix("."), t.count <= 254, !t.contains(where: { $0.isWhitespace })
        else { return nil }
        return t
    }
}

extension String {
    /// `trimmingCharacters(in: .whitespacesAndNewlines)`, without its copy when neither end is
    /// whitespace, the usual case: on Linux the call goes through NSString, and it was 5 % of an
    /// import's CPU (docs/performance.md, "Import and export").
    public var trimmedWhitespace: String {
        let set = CharacterSet.whitespacesAndNewlines
        guard let first = unicodeScalars.first, let last = unicodeScalars.last else { return self }
        return set.contains(first) || set.contains(last) ? trimmingCharacters(in: set) : self
    }
}
