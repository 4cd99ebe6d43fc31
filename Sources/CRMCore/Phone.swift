import Foundation

/// Phone and e-mail normalization, so any spelling of a number finds the same client.
public enum Phone {
    /// Normalizes a phone number to E.164 (`+79161234567`) when a country is known.
    ///
    /// Accepts spaces, dashes, dots, parentheses, a leading `+` or `00`, and the Russian trunk
    /// prefix `8` (`8 916 123-45-67`). A national number of `nationalLength` digits gets
    /// `defaultCountryCode`. Returns `nil` when the text holds no plausible number (fewer than 5
    /// or more than 15 digits, or letters).
    public static func normalize(_ raw: String, defaultCountryCode: String = "7", nationalLength: Int = 10) -> String? {
        var digits: [UInt8] = []
        var plus = false
        var sawDigit = false
        for c in raw.utf8 {
            switch c {
            case 0x30...0x39:
                digits.append(c)
                sawDigit = true
            case UInt8(ascii: "+"):
                if sawDigit || plus { return nil }
                plus = true
            case UInt8(ascii: " "), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "("), UInt8(ascii: ")"), 0x09:
                continue
            default:
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
