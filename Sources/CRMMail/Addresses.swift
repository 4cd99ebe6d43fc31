/// A mailbox from From, To, Cc or Reply-To.
public struct MailAddress: Sendable, Equatable {
    /// The display name, RFC 2047-decoded and unquoted (nil when none).
    public var name: String?
    /// The address, lowercased: mailboxes are matched case-insensitively in practice.
    public var address: String

    public init(name: String?, address: String) {
        self.name = name
        self.address = address
    }

    /// The mailboxes of an address-list header (RFC 5322 §3.4): display names in quotes or
    /// encoded words, comments, groups (`team: a@x, b@y;`). Pieces without an `@` are skipped.
    public static func list(_ value: String) -> [MailAddress] {
        var out: [MailAddress] = []
        var piece = ""
        var inQuote = false
        var escaped = false
        var comment = 0
        var inAngle = false
        func take() {
            if let a = mailbox(piece) { out.append(a) }
            piece = ""
        }
        for c in value {
            if escaped {
                piece.append(c)
                escaped = false
                continue
            }
            switch c {
            case "\\" where inQuote || comment > 0:
                escaped = true
                piece.append(c)
            case "\"" where comment == 0:
                inQuote.toggle()
                piece.append(c)
            case "(" where !inQuote:
                comment += 1
                piece.append(c)
            case ")" where !inQuote && comment > 0:
                comment -= 1
                piece.append(c)
            case "<" where !inQuote && comment == 0:
                inAngle = true
                piece.append(c)
            case ">" where !inQuote && comment == 0:
                inAngle = false
                piece.append(c)
            case "," where !inQuote && comment == 0 && !inAngle, ";" where !inQuote && comment == 0 && !inAngle:
                take()
            case ":" where !inQuote && comment == 0 && !inAngle:
                piece = ""  // a group's name
            default:
                piece.append(c)
            }
        }
        take()
        return out
    }

    static func mailbox(_ raw: String) -> MailAddress? {
        let s = raw.trimmingSpaces
        if let lt = s.lastIndex(of: "<"), let gt = s[lt...].firstIndex(of: ">") {
            let addr = s[s.index(after: lt)..<gt].trimmingSpaces
            guard addr.contains("@") else { return nil }
            let name = unquote(withoutComments(String(s[..<lt])).trimmingSpaces)
            return MailAddress(name: name.isEmpty ? nil : EncodedWords.decode(name), address: addr.lowercased())
        }
        // A bare addr-spec, perhaps with the name in a comment: `ivan@x.ru (Иван)`.
        let addr = withoutComments(s).trimmingSpaces
        guard addr.contains("@"), !addr.contains(" ") else { return nil }
        var name: String?
        if let open = s.firstIndex(of: "("), let close = s.lastIndex(of: ")"), open < close {
            let inside = s[s.index(after: open)..<close].trimmingSpaces
            if !inside.isEmpty { name = EncodedWords.decode(inside) }
        }
        return MailAddress(name: name, address: addr.lowercased())
    }

    static func withoutComments(_ s: String) -> String {
        var out = ""
        var depth = 0
        var inQuote = false
        for c in s {
            if c == "\"" && depth == 0 { inQuote.toggle() }
            if !inQuote && c == "(" {
                depth += 1
                continue
            }
            if !inQuote && c == ")" && depth > 0 {
                depth -= 1
                continue
            }
            if depth == 0 { out.append(c) }
        }
        return out
    }

    static func unquote(_ s: String) -> String {
        guard s.count >= 2, s.first == "\"", s.last == "\"" else { return s }
        var out = ""
        var escaped = false
        for c in s.dropFirst().dropLast() {
            if escaped {
                out.append(c)
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

extension StringProtocol {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}
