/// Why a line is not valid JSON: a message a person can act on and the byte offset.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong.
    public var message: String
    /// Byte offset in the input where the problem was found.
    public var offset: Int

    public var description: String { "\(message) at byte \(offset)" }
}

/// A strict RFC 8259 parser with a nesting limit.
///
/// It validates UTF-8 in strings, rejects trailing garbage, lone surrogates and control characters,
/// and never recurses deeper than `maxDepth`, so no input can exhaust the stack.
public struct JSONParser {
    /// The deepest nesting accepted. Protocol messages need a handful of levels.
    public static let defaultMaxDepth = 64

    /// Parses one JSON value that fills `bytes` (surrounding whitespace allowed).
    public static func parse(_ bytes: some Collection<UInt8>, maxDepth: Int = defaultMaxDepth) throws(JSONParseError) -> JSON {
        let array = Array(bytes)
        let result: Result<JSON, JSONParseError> = array.withUnsafeBufferPointer { buf in
            do throws(JSONParseError) {
                return .success(try parse(buffer: UnsafeRawBufferPointer(buf), maxDepth: maxDepth))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Parses one JSON value from a string.
    public static func parse(_ string: String, maxDepth: Int = defaultMaxDepth) throws(JSONParseError) -> JSON {
        var s = string
        let result: Result<JSON, JSONParseError> = s.withUTF8 { buf in
            do throws(JSONParseError) {
                return .success(try parse(buffer: UnsafeRawBufferPointer(buf), maxDepth: maxDepth))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Parses one JSON value from raw memory without copying it.
    public static func parse(buffer: UnsafeRawBufferPointer, maxDepth: Int = defaultMaxDepth) throws(JSONParseError) -> JSON {
        var p = Cursor(buf: buffer, pos: 0, maxDepth: maxDepth)
        p.skipWhitespace()
        if p.pos >= buffer.count { throw JSONParseError(message: "empty input: expected a JSON value", offset: 0) }
        let value = try p.parseValue(depth: 0)
        p.skipWhitespace()
        if p.pos < buffer.count {
            throw JSONParseError(message: "unexpected data after the JSON value", offset: p.pos)
        }
        return value
    }

    struct Cursor {
        let buf: UnsafeRawBufferPointer
        var pos: Int
        let maxDepth: Int

        @inline(__always) func peek() -> UInt8? { pos < buf.count ? buf[pos] : nil }

        mutating func skipWhitespace() {
            while pos < buf.count {
                switch buf[pos] {
                case 0x20, 0x09, 0x0A, 0x0D: pos += 1
                default: return
                }
            }
        }

        func fail(_ message: String) -> JSONParseError { JSONParseError(message: message, offset: pos) }

        mutating func parseValue(depth: Int) throws(JSONParseError) -> JSON {
            guard let c = peek() else { throw fail("unexpected end of input: expected a value") }
            switch c {
            case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
            case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
            case UInt8(ascii: "\""): return .string(try parseString())
            case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
            case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
            case UInt8(ascii: "n"): try expectLiteral("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
            default: throw fail("unexpected character '\(printable(c))': expected a value")
            }
        }

        func printable(_ c: UInt8) -> String {
            (0x20..<0x7F).contains(c) ? String(UnicodeScalar(c)) : "\\x" + String(c, radix: 16)
        }

        mutating func expectLiteral(_ word: StaticString) throws(JSONParseError) {
            let n = word.utf8CodeUnitCount
            guard pos + n <= buf.count else { throw fail("invalid literal: expected '\(word)'") }
            let p = word.utf8Start
            for i in 0..<n where buf[pos + i] != p[i] {
                throw fail("invalid literal: expected '\(word)'")
            }
            pos += n
        }

        mutating func parseObject(depth: Int) throws(JSONParseError) -> JSON {
            if depth > maxDepth { throw fail("nesting deeper than \(maxDepth) levels") }
            pos += 1
            var members: [(String, JSON)] = []
            skipWhitespace()
            if peek() == UInt8(ascii: "}") { pos += 1; return .object(JSONObject()) }
            while true {
                skipWhitespace()
                guard peek() == UInt8(ascii: "\"") else { throw fail("expected a string key in object") }
                let key = try parseString()
                skipWhitespace()
                guard peek() == UInt8(ascii: ":") else { throw fail("expected ':' after object key") }
                pos += 1
                skipWhitespace()
                let value = try parseValue(depth: depth)
                members.append((key, value))
                skipWhitespace()
                switch peek() {
                case UInt8(ascii: ","): pos += 1
                case UInt8(ascii: "}"): pos += 1; return .object(JSONObject(members))
                case nil: throw fail("unexpected end of input inside an object")
                default: throw fail("expected ',' or '}' in object")
                }
            }
        }

        mutating func parseArray(depth: Int) throws(JSONParseError) -> JSON {
            if depth > maxDepth { throw fail("nesting deeper than \(maxDepth) levels") }
            pos += 1
            var items: [JSON] = []
            skipWhitespace()
            if peek() == UInt8(ascii: "]") { pos += 1; return .array(items) }
            while true {
                skipWhitespace()
                items.append(try parseValue(depth: depth))
                skipWhitespace()
                switch peek() {
                case UInt8(ascii: ","): pos += 1
                case UInt8(ascii: "]"): pos += 1; return .array(items)
                case nil: throw fail("unexpected end of input inside an array")
                default: throw fail("expected ',' or ']' in array")
                }
            }
        }

        mutating func parseNumber() throws(JSONParseError) -> JSON {
            let start = pos
            var isInteger = true
            if peek() == UInt8(ascii: "-") { pos += 1 }
            guard let first = peek(), first >= 0x30, first <= 0x39 else { throw fail("invalid number") }
            if first == 0x30 {
                pos += 1
                if let d = peek(), d >= 0x30, d <= 0x39 { throw fail("invalid number: leading zero") }
            } else {
                while let d = peek(), d >= 0x30, d <= 0x39 { pos += 1 }
            }
            if peek() == UInt8(ascii: ".") {
                isInteger = false
                pos += 1
                guard let d = peek(), d >= 0x30, d <= 0x39 else { throw fail("invalid number: digit expected after '.'") }
                while let d = peek(), d >= 0x30, d <= 0x39 { pos += 1 }
            }
            if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
                isInteger = false
                pos += 1
                if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { pos += 1 }
                guard let d = peek(), d >= 0x30, d <= 0x39 else { throw fail("invalid number: digit expected in exponent") }
                while let d = peek(), d >= 0x30, d <= 0x39 { pos += 1 }
            }
            let text = String(decoding: UnsafeRawBufferPointer(rebasing: buf[start..<pos]), as: UTF8.self)
            if isInteger, let i = Int64(text) { return .int(i) }
            guard let d = Double(text), d.isFinite else {
                pos = start
                throw fail("number out of range")
            }
            return .double(d)
        }

        mutating func parseHex4() throws(JSONParseError) -> UInt32 {
            guard pos + 4 <= buf.count else { throw fail("truncated \\u escape") }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let c = buf[pos]
                let digit: UInt32
                switch c {
                case 0x30...0x39: digit = UInt32(c - 0x30)
                case 0x41...0x46: digit = UInt32(c - 0x41 + 10)
                case 0x61...0x66: digit = UInt32(c - 0x61 + 10)
                default: throw fail("invalid hex digit in \\u escape")
                }
                v = v << 4 | digit
                pos += 1
            }
            return v
        }

        mutating func parseString() throws(JSONParseError) -> String {
            pos += 1  // opening quote
            let start = pos
            // Fast path: no escapes, ASCII only.
            while pos < buf.count {
                let c = buf[pos]
                if c == UInt8(ascii: "\"") {
                    let s = String(decoding: UnsafeRawBufferPointer(rebasing: buf[start..<pos]), as: UTF8.self)
                    pos += 1
                    return s
                }
                if c == UInt8(ascii: "\\") || c >= 0x80 || c < 0x20 { break }
                pos += 1
            }
            var out: [UInt8] = Array(UnsafeRawBufferPointer(rebasing: buf[start..<pos]))
            while true {
                guard pos < buf.count else { throw fail("unterminated string") }
                let c = buf[pos]
                switch c {
                case UInt8(ascii: "\""):
                    pos += 1
                    return String(decoding: out, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    pos += 1
                    guard pos < buf.count else { throw fail("unterminated escape") }
                    let e = buf[pos]
                    pos += 1
                    switch e {
                    case UInt8(ascii: "\""): out.append(0x22)
                    case UInt8(ascii: "\\"): out.append(0x5C)
                    case UInt8(ascii: "/"): out.append(0x2F)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        var scalar = try parseHex4()
                        if (0xD800...0xDBFF).contains(scalar) {
                            guard pos + 6 <= buf.count, buf[pos] == UInt8(ascii: "\\"), buf[pos + 1] == UInt8(ascii: "u") else {
                                throw fail("lone high surrogate in \\u escape")
                            }
                            pos += 2
                            let low = try parseHex4()
                            guard (0xDC00...0xDFFF).contains(low) else { throw fail("invalid low surrogate in \\u escape") }
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        } else if (0xDC00...0xDFFF).contains(scalar) {
                            throw fail("lone low surrogate in \\u escape")
                        }
                        guard let u = Unicode.Scalar(scalar) else { throw fail("invalid \\u escape") }
                        out.append(contentsOf: Array(String(Character(u)).utf8))
                    default:
                        pos -= 1
                        throw fail("invalid escape '\\\(printable(e))' in string")
                    }
                case 0x00..<0x20:
                    throw fail("control character in string (must be escaped)")
                case 0x80...0xFF:
                    let n = try validateUTF8Sequence()
                    out.append(contentsOf: UnsafeRawBufferPointer(rebasing: buf[pos..<pos + n]))
                    pos += n
                default:
                    out.append(c)
                    pos += 1
                }
            }
        }

        /// Length of the valid UTF-8 sequence at `pos`, or an error for invalid UTF-8.
        func validateUTF8Sequence() throws(JSONParseError) -> Int {
            let c0 = buf[pos]
            let len: Int
            var lo: UInt8 = 0x80
            var hi: UInt8 = 0xBF
            switch c0 {
            case 0xC2...0xDF: len = 2
            case 0xE0: len = 3; lo = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: len = 3
            case 0xED: len = 3; hi = 0x9F
            case 0xF0: len = 4; lo = 0x90
            case 0xF1...0xF3: len = 4
            case 0xF4: len = 4; hi = 0x8F
            default: throw fail("invalid UTF-8 in string")
            }
            guard pos + len <= buf.count else { throw fail("invalid UTF-8 in string (truncated sequence)") }
            let c1 = buf[pos + 1]
            guard c1 >= lo, c1 <= hi else { throw fail("invalid UTF-8 in string") }
            for i in 2..<max(2, len) {
                let ci = buf[pos + i]
                guard ci >= 0x80, ci <= 0xBF else { throw fail("invalid UTF-8 in string") }
            }
            return len
        }
    }
}
