/// A deal attachment's file name: what `deal.attach` accepts, and what a name a letter carries
/// is made into before it is stored (issue 22, docs/rules.md "Mail in").
public enum AttachmentName {
    /// The longest name, in characters.
    public static let maxLength = 255
    /// The name given when nothing of the sender's is left.
    public static let fallback = "attachment"

    /// Whether `name` is a plain file name: 1-255 characters, no `/`, no NUL, not `.` or `..`.
    public static func isValid(_ name: String) -> Bool {
        !name.isEmpty && name.count <= maxLength && !name.contains("/") && !name.contains("\0") && name != "." && name != ".."
    }

    /// A sender's file name (already decoded from RFC 2231 or encoded words) made safe to store
    /// and to save: only its last path component (`/` or `\`), without control and
    /// direction-override characters (U+202E could show `exe.pdf` as `fdp.exe`), without leading
    /// dots (no hidden file) and without spaces or dots at either end; cut to 255 characters
    /// keeping its extension; `attachment` when nothing is left.
    public static func sanitized(_ raw: String) -> String {
        let last = raw.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? ""
        var scalars = String.UnicodeScalarView()
        for u in last.unicodeScalars {
            switch u.properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .unassigned, .privateUse: continue
            default: scalars.append(u)
            }
        }
        var name = Substring(String(scalars))
        while let f = name.first, f == "." || f.isWhitespace { name = name.dropFirst() }
        while let l = name.last, l == "." || l.isWhitespace { name = name.dropLast() }
        var out = String(name)
        if out.count > maxLength {
            let dot = out.lastIndex(of: ".")
            let ext = dot.map { String(out[$0...]) } ?? ""
            if ext.count > 1, ext.count <= 16 {
                out = String(out.prefix(maxLength - ext.count)) + ext
            } else {
                out = String(out.prefix(maxLength))
            }
        }
        return isValid(out) ? out : fallback
    }
}
