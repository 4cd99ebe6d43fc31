import Foundation

/// A message's header section: fields in order, unfolded, values as text (RFC 5322 §2.2).
public struct MailHeaders: Sendable, Equatable {
    public struct Field: Sendable, Equatable {
        public var name: String
        /// The unfolded value, not yet RFC 2047-decoded (addresses must be split first).
        public var value: String
    }

    public var fields: [Field]

    /// The first field with this name (case-insensitive).
    public func first(_ name: String) -> String? {
        fields.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

    /// Every field with this name, in order.
    public func all(_ name: String) -> [String] {
        fields.filter { $0.name.caseInsensitiveCompare(name) == .orderedSame }.map(\.value)
    }

    /// Splits an entity into its header fields and the body after the first empty line. A line
    /// that is neither a field nor a continuation ends the headers there (as a lenient reader
    /// must, for a message that starts straight with text).
    static func split(_ bytes: ArraySlice<UInt8>, limits: MailLimits) throws(MailError) -> (MailHeaders, ArraySlice<UInt8>) {
        var fields: [Field] = []
        var i = bytes.startIndex
        var headerBytes = 0
        while i < bytes.endIndex {
            let lineEnd = bytes[i...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.endIndex
            var line = bytes[i..<lineEnd]
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            let next = lineEnd < bytes.endIndex ? lineEnd + 1 : lineEnd
            if line.isEmpty { return (MailHeaders(fields: fields), bytes[next...]) }
            headerBytes += line.count
            if headerBytes > limits.maxHeaderBytes { throw .headersTooLarge(limits.maxHeaderBytes) }
            if line.first == UInt8(ascii: " ") || line.first == UInt8(ascii: "\t") {
                if !fields.isEmpty {
                    fields[fields.count - 1].value += " " + text(line).trimmingCharacters(in: .whitespaces)
                }
            } else if let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex,
                line[line.startIndex..<colon].allSatisfy({ $0 > 32 && $0 < 127 })
            {
                if fields.count >= limits.maxHeaderFields { throw .tooManyHeaderFields(limits.maxHeaderFields) }
                let name = text(line[line.startIndex..<colon])
                let value = text(line[(colon + 1)...]).trimmingCharacters(in: .whitespaces)
                fields.append(Field(name: name, value: value))
            } else {
                return (MailHeaders(fields: fields), bytes[i...])
            }
            i = next
        }
        return (MailHeaders(fields: fields), bytes[bytes.endIndex...])
    }

    /// Header bytes as text: UTF-8 where valid (RFC 6532), else Windows-1251, the charset a
    /// Russian mailer that ignores RFC 2047 writes raw.
    static func text(_ b: ArraySlice<UInt8>) -> String {
        if let s = String(validating: b, as: UTF8.self) { return s }
        return MailCharset.decode(b, charset: "windows-1251")
    }
}

/// RFC 2047 encoded words (`=?utf-8?B?...?=`, `=?koi8-r?Q?...?=`) in unstructured text.
public enum EncodedWords {
    /// The text with every encoded word decoded; whitespace between adjacent encoded words is
    /// dropped, and adjacent words in one charset are joined before decoding, so a UTF-8 letter
    /// split across two words survives.
    public static func decode(_ s: String) -> String {
        guard s.contains("=?") else { return s }
        var out = ""
        var pendingBytes: [UInt8] = []
        var pendingCharset: String?
        var gap = ""  // whitespace after an encoded word, kept only if plain text follows
        func flush() {
            if let cs = pendingCharset { out += MailCharset.decode(pendingBytes, charset: cs) }
            pendingBytes = []
            pendingCharset = nil
        }
        var rest = Substring(s)
        while !rest.isEmpty {
            if rest.hasPrefix("=?"), let (charset, bytes, after) = word(rest) {
                if pendingCharset != nil, pendingCharset?.lowercased() != charset.lowercased() { flush() }
                pendingCharset = charset
                pendingBytes += bytes
                gap = ""
                rest = after
                continue
            }
            let c = rest.removeFirst()
            if pendingCharset != nil, c == " " || c == "\t" {
                gap.append(c)
                continue
            }
            flush()
            out += gap
            gap = ""
            out.append(c)
        }
        flush()
        return out + gap
    }

    /// One encoded word at the start of `s`: its charset, decoded bytes and what follows.
    static func word(_ s: Substring) -> (String, [UInt8], Substring)? {
        let parts = s.dropFirst(2).split(separator: "?", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 4, parts[3].hasPrefix("="), !parts[0].isEmpty, parts[2].count <= 4096,
            !parts[2].contains(" ")
        else { return nil }
        let bytes: [UInt8]
        switch parts[1].uppercased() {
        case "B": bytes = TransferEncoding.base64(Array(parts[2].utf8))
        case "Q": bytes = TransferEncoding.quotedPrintable(Array(parts[2].utf8), underscoreIsSpace: true)
        default: return nil
        }
        return (String(parts[0]), bytes, parts[3].dropFirst())
    }
}
