public import Foundation

/// Text in the charsets Russian mail arrives in. Foundation on Linux knows KOI8-R, KOI8-U,
/// ISO-8859-5 and CP866 only by their CoreFoundation numbers, so they are named here.
public enum MailCharset {
    /// The bytes as text in the named charset (an RFC 2047 `*language` suffix is ignored).
    /// An unknown charset, or bytes that are not valid in the named one, read as UTF-8 if they
    /// are valid UTF-8 and as Latin-1 otherwise, so no message is refused for its charset.
    public static func decode(_ bytes: some Collection<UInt8>, charset: String?) -> String {
        let data = Data(bytes)
        if let encoding = encoding(named: charset), let s = String(data: data, encoding: encoding) {
            return s
        }
        if let s = String(data: data, encoding: .utf8) { return s }
        return String(data: data, encoding: .isoLatin1) ?? String(decoding: data, as: UTF8.self)
    }

    /// The Foundation encoding for a MIME charset name, if it is one crmd reads.
    public static func encoding(named charset: String?) -> String.Encoding? {
        guard var name = charset?.lowercased().trimmingCharacters(in: .whitespaces), !name.isEmpty else { return .utf8 }
        if let star = name.firstIndex(of: "*") { name = String(name[..<star]) }
        switch name {
        case "utf-8", "utf8", "us-ascii", "ascii", "unicode-1-1-utf-8": return .utf8
        case "windows-1251", "cp1251", "x-cp1251", "win-1251", "cp-1251": return .windowsCP1251
        case "windows-1252", "cp1252": return .windowsCP1252
        case "iso-8859-1", "latin1", "iso8859-1", "l1": return .isoLatin1
        // CoreFoundation's kCFStringEncodingKOI8_R, _KOI8_U, _ISOLatinCyrillic and _DOSRussian,
        // with the high bit that marks a CF encoding inside String.Encoding.
        case "koi8-r", "koi8r", "cskoi8r": return String.Encoding(rawValue: 0x8000_0A02)
        case "koi8-u", "koi8u": return String.Encoding(rawValue: 0x8000_0A08)
        case "iso-8859-5", "iso8859-5", "cyrillic": return String.Encoding(rawValue: 0x8000_0205)
        case "cp866", "ibm866", "866": return String.Encoding(rawValue: 0x8000_0413)
        default: return nil
        }
    }
}
