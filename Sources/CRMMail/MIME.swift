/// A structured header value with parameters: `text/plain; charset="koi8-r"`,
/// `attachment; filename*=utf-8''%D0%A1%D1%87%D1%91%D1%82.pdf` (RFC 2045, RFC 2231).
struct ParameterizedValue: Equatable {
    /// The value before the first `;`, lowercased (`text/plain`, `attachment`).
    var value: String
    /// Parameters by lowercased name, decoded (RFC 2231 continuations and charsets joined).
    var parameters: [String: String]

    init(_ raw: String) {
        var pieces: [String] = []
        var piece = ""
        var inQuote = false
        var escaped = false
        for c in raw {
            if escaped {
                piece.append(c)
                escaped = false
            } else if c == "\\" && inQuote {
                escaped = true
            } else if c == "\"" {
                inQuote.toggle()
            } else if c == ";" && !inQuote {
                pieces.append(piece)
                piece = ""
            } else {
                piece.append(c)
            }
        }
        pieces.append(piece)
        value = pieces.first.map { MailAddress.withoutComments($0).trimmingSpaces.lowercased() } ?? ""
        var plain: [String: String] = [:]
        var extended: [String: [(index: Int, value: String, encoded: Bool)]] = [:]
        for p in pieces.dropFirst() {
            guard let eq = p.firstIndex(of: "=") else { continue }
            var name = p[..<eq].trimmingSpaces.lowercased()
            let v = p[p.index(after: eq)...].trimmingSpaces
            guard !name.isEmpty, plain.count + extended.count < 64 else { continue }
            // name*0*=..., name*1=..., name*=charset''...
            let encoded = name.hasSuffix("*")
            if encoded { name.removeLast() }
            if let star = name.firstIndex(of: "*") {
                let index = Int(name[name.index(after: star)...]) ?? 0
                extended[String(name[..<star]), default: []].append((index, v, encoded))
            } else if encoded {
                extended[name, default: []].append((0, v, true))
            } else {
                plain[name] = v
            }
        }
        for (name, parts) in extended {
            var bytes: [UInt8] = []
            var charset: String?
            for (n, part) in parts.sorted(by: { $0.index < $1.index }).enumerated() {
                var v = Substring(part.value)
                if part.encoded && n == 0, let q1 = v.firstIndex(of: "'"),
                    let q2 = v[v.index(after: q1)...].firstIndex(of: "'")
                {
                    charset = String(v[..<q1])
                    v = v[v.index(after: q2)...]
                }
                bytes += part.encoded ? Self.percentDecoded(v) : Array(v.utf8)
            }
            plain[name] = MailCharset.decode(bytes, charset: charset ?? "utf-8")
        }
        parameters = plain.mapValues { EncodedWords.decode($0) }
    }

    static func percentDecoded(_ s: Substring) -> [UInt8] {
        let b = Array(s.utf8)
        var out: [UInt8] = []
        var i = 0
        while i < b.count {
            if b[i] == UInt8(ascii: "%"), i + 2 < b.count, let h = TransferEncoding.hex(b[i + 1]),
                let l = TransferEncoding.hex(b[i + 2])
            {
                out.append(h << 4 | l)
                i += 3
            } else {
                out.append(b[i])
                i += 1
            }
        }
        return out
    }
}

/// The parts of a multipart body between `--boundary` lines, up to the closing `--boundary--`.
enum Multipart {
    static func parts(_ body: ArraySlice<UInt8>, boundary: String) -> [ArraySlice<UInt8>] {
        let delimiter = Array("--\(boundary)".utf8)
        var parts: [ArraySlice<UInt8>] = []
        var partStart: Int?
        var i = body.startIndex
        while i < body.endIndex {
            let lineEnd = body[i...].firstIndex(of: UInt8(ascii: "\n")) ?? body.endIndex
            var line = body[i..<lineEnd]
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            let next = lineEnd < body.endIndex ? lineEnd + 1 : lineEnd
            if line.starts(with: delimiter) {
                let tail = line.dropFirst(delimiter.count)
                let closing = tail.starts(with: [UInt8(ascii: "-"), UInt8(ascii: "-")])
                if closing || tail.allSatisfy({ $0 == 32 || $0 == 9 }) {
                    if let s = partStart {
                        // The line break before the delimiter belongs to the delimiter.
                        var end = i
                        if end > s, body[end - 1] == UInt8(ascii: "\n") { end -= 1 }
                        if end > s, body[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                        parts.append(body[s..<end])
                    }
                    if closing { return parts }
                    partStart = next
                }
            }
            i = next
        }
        if let s = partStart { parts.append(body[s..<body.endIndex]) }  // no closing delimiter
        return parts
    }
}
