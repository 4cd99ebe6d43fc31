public import Foundation

/// Bounds on what one message may make the parser do; a message past them is refused whole.
public struct MailLimits: Sendable {
    public var maxHeaderBytes = 256 * 1024
    public var maxHeaderFields = 1000
    public var maxParts = 256
    public var maxDepth = 10

    public init() {}
}

public enum MailError: Error, Sendable, Equatable, CustomStringConvertible {
    case empty
    case headersTooLarge(Int)
    case tooManyHeaderFields(Int)
    case tooManyParts(Int)
    case tooDeep(Int)

    public var description: String {
        switch self {
        case .empty: "The message is empty."
        case .headersTooLarge(let n): "The message's headers are longer than \(n) bytes."
        case .tooManyHeaderFields(let n): "The message has more than \(n) header fields."
        case .tooManyParts(let n): "The message has more than \(n) MIME parts."
        case .tooDeep(let n): "The message nests MIME parts deeper than \(n) levels."
        }
    }
}

/// A file attached to a message.
public struct MailAttachment: Sendable, Equatable {
    public var filename: String
    /// `type/subtype`, lowercased.
    public var contentType: String
    public var data: [UInt8]
    /// Whether the sender attached it as a file (a file name, or `Content-Disposition:
    /// attachment`); false for a nameless inline part such as a logo in an HTML letter, whose
    /// name here is made up (`part-3.png`).
    public var isFile: Bool

    public init(filename: String, contentType: String, data: [UInt8], isFile: Bool = true) {
        self.filename = filename
        self.contentType = contentType
        self.data = data
        self.isFile = isFile
    }
}

/// One RFC 5322 message, read leniently the way mail arrives: headers decoded (RFC 2047), the
/// text of its plain-text parts (HTML stripped when there is none) in any charset a Russian
/// mailer uses, and its attachments; forwarded messages (`message/rfc822`) contribute their
/// text and attachments.
public struct MailMessage: Sendable {
    public var headers: MailHeaders
    /// Message-ID without its angle brackets, nil when the message has none.
    public var messageID: String?
    public var from: [MailAddress]
    public var to: [MailAddress]
    public var cc: [MailAddress]
    public var replyTo: [MailAddress]
    public var subject: String
    public var date: Date?
    public var text: String
    public var attachments: [MailAttachment]
    /// A list or machine mail (List-Id, List-Unsubscribe, Precedence bulk/list/junk,
    /// Auto-Submitted): a newsletter opens no request.
    public var isBulk: Bool

    public init(parsing raw: [UInt8], limits: MailLimits = MailLimits()) throws(MailError) {
        guard raw.contains(where: { $0 > 32 }) else { throw .empty }
        let (headers, body) = try MailHeaders.split(raw[...], limits: limits)
        self.headers = headers
        let id = headers.first("Message-ID").map { $0.trimmingSpaces }
        messageID = id.map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "<> ")) }.flatMap { $0.isEmpty ? nil : $0 }
        from = headers.all("From").flatMap(MailAddress.list)
        to = headers.all("To").flatMap(MailAddress.list)
        cc = headers.all("Cc").flatMap(MailAddress.list)
        replyTo = headers.all("Reply-To").flatMap(MailAddress.list)
        subject = EncodedWords.decode(headers.first("Subject") ?? "")
        date = headers.first("Date").flatMap(MailDate.parse)
        let precedence = headers.first("Precedence")?.lowercased().trimmingSpaces ?? ""
        let auto = headers.first("Auto-Submitted")?.lowercased().trimmingSpaces ?? "no"
        isBulk =
            headers.first("List-Id") != nil || headers.first("List-Unsubscribe") != nil
            || ["bulk", "list", "junk"].contains(precedence) || !auto.hasPrefix("no")
        var walk = Walk(limits: limits)
        try walk.entity(headers, body, depth: 0)
        let texts = walk.plain.isEmpty ? walk.html.map(HTMLText.plain) : walk.plain
        text =
            texts.map { $0.replacingOccurrences(of: "\r\n", with: "\n").trimmingCharacters(in: .whitespacesAndNewlines) }
            .filter { !$0.isEmpty }.joined(separator: "\n\n")
        attachments = walk.attachments
    }

    /// The walk over a message's MIME tree, collecting texts and attachments.
    struct Walk {
        let limits: MailLimits
        var plain: [String] = []
        var html: [String] = []
        var attachments: [MailAttachment] = []
        var parts = 0

        mutating func entity(_ headers: MailHeaders, _ body: ArraySlice<UInt8>, depth: Int) throws(MailError) {
            parts += 1
            if parts > limits.maxParts { throw .tooManyParts(limits.maxParts) }
            if depth > limits.maxDepth { throw .tooDeep(limits.maxDepth) }
            let type = ParameterizedValue(headers.first("Content-Type") ?? "text/plain")
            let disposition = ParameterizedValue(headers.first("Content-Disposition") ?? "")
            if type.value.hasPrefix("multipart/"), let boundary = type.parameters["boundary"], !boundary.isEmpty {
                for part in Multipart.parts(body, boundary: boundary) {
                    let (h, b) = try MailHeaders.split(part, limits: limits)
                    try entity(h, b, depth: depth + 1)
                }
                return
            }
            let data = TransferEncoding.decode(body, encoding: headers.first("Content-Transfer-Encoding"))
            if type.value == "message/rfc822" && disposition.value != "attachment" {
                let (h, b) = try MailHeaders.split(data[...], limits: limits)
                let from = h.all("From").flatMap(MailAddress.list).first
                let subject = EncodedWords.decode(h.first("Subject") ?? "")
                plain.append("---------- \(from.map { $0.name ?? $0.address } ?? "") — \(subject)")
                try entity(h, b, depth: depth + 1)
                return
            }
            let filename = disposition.parameters["filename"] ?? type.parameters["name"]
            if disposition.value == "attachment" || filename != nil || !type.value.hasPrefix("text/") {
                let name = filename ?? "part-\(parts).\(type.value.split(separator: "/").last ?? "bin")"
                let isFile = disposition.value == "attachment" || filename != nil
                attachments.append(MailAttachment(filename: name, contentType: type.value, data: data, isFile: isFile))
                return
            }
            let text = MailCharset.decode(data, charset: type.parameters["charset"])
            if type.value == "text/html" { html.append(text) } else { plain.append(text) }
        }
    }
}

/// RFC 5322 dates, with the obsolete forms mail still carries (no weekday, two-digit years,
/// zone names, a trailing comment).
enum MailDate {
    static func parse(_ raw: String) -> Date? {
        var s = MailAddress.withoutComments(raw).trimmingSpaces
        if let comma = s.firstIndex(of: ",") { s = s[s.index(after: comma)...].trimmingSpaces }
        let f = s.split(separator: " ", omittingEmptySubsequences: true)
        guard f.count >= 4, let day = Int(f[0]) else { return nil }
        let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
        guard let m = months.firstIndex(of: f[1].prefix(3).lowercased()), var year = Int(f[2]) else { return nil }
        if year < 50 { year += 2000 } else if year < 1000 { year += 1900 }
        let hms = f[3].split(separator: ":").map { Int($0) }
        guard hms.count >= 2, hms.allSatisfy({ $0 != nil }) else { return nil }
        var offset = 0
        if f.count >= 5 {
            let z = f[4]
            if let sign = z.first, sign == "+" || sign == "-", z.count == 5, let v = Int(z.dropFirst()) {
                offset = (v / 100 * 3600 + v % 100 * 60) * (sign == "-" ? -1 : 1)
            } else {
                let names = ["ut": 0, "utc": 0, "gmt": 0, "msk": 3 * 3600, "est": -5 * 3600, "edt": -4 * 3600]
                offset = names[z.lowercased()] ?? 0
            }
        }
        var c = DateComponents()
        c.year = year
        c.month = m + 1
        c.day = day
        c.hour = hms[0]
        c.minute = hms[1]
        c.second = hms.count > 2 ? hms[2] : 0
        c.timeZone = TimeZone(secondsFromGMT: offset)
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = TimeZone(secondsFromGMT: offset) ?? .gmt
        return cal.date(from: c)
    }
}

/// The readable text of an HTML part, for a message with no plain-text one.
enum HTMLText {
    static func plain(_ html: String) -> String {
        var s = html
        for tag in ["script", "style", "head"] {
            while let open = s.range(of: "<\(tag)", options: .caseInsensitive),
                let close = s.range(of: "</\(tag)>", options: .caseInsensitive, range: open.upperBound..<s.endIndex)
            {
                s.removeSubrange(open.lowerBound..<close.upperBound)
            }
        }
        var out = ""
        var tag = ""
        var inTag = false
        for c in s {
            if c == "<" {
                inTag = true
                tag = ""
            } else if c == ">" && inTag {
                inTag = false
                let t = tag.lowercased()
                if t.hasPrefix("br") || t.hasPrefix("/p") || t.hasPrefix("/div") || t.hasPrefix("/tr") || t.hasPrefix("/li") {
                    out.append("\n")
                }
            } else if inTag {
                if tag.count < 16 { tag.append(c) }
            } else {
                out.append(c)
            }
        }
        let entities = ["&nbsp;": " ", "&lt;": "<", "&gt;": ">", "&quot;": "\"", "&#39;": "'", "&laquo;": "«", "&raquo;": "»"]
        for (e, v) in entities { out = out.replacingOccurrences(of: e, with: v) }
        out = out.replacingOccurrences(of: "&amp;", with: "&")
        return out.split(separator: "\n", omittingEmptySubsequences: false).map { $0.trimmingSpaces }.joined(separator: "\n")
            .replacingOccurrences(of: "\n\n\n", with: "\n\n")
    }
}
