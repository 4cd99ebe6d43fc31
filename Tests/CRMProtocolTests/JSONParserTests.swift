import CRMProtocol
import Foundation
import Testing

/// The parse error for `text`, or `nil` if it parsed.
func parseError(_ text: String, maxDepth: Int = JSONParser.defaultMaxDepth) -> JSONParseError? {
    do {
        _ = try JSONParser.parse(text, maxDepth: maxDepth)
        return nil
    } catch {
        return error
    }
}

/// The parse error for raw bytes, or `nil` if they parsed.
func parseError(bytes: [UInt8]) -> JSONParseError? {
    do {
        _ = try JSONParser.parse(bytes)
        return nil
    } catch {
        return error
    }
}

@Suite("JSONParser: values")
struct JSONParserValueTests {
    @Test func scalars() throws {
        #expect(try JSONParser.parse("null") == .null)
        #expect(try JSONParser.parse("true") == .bool(true))
        #expect(try JSONParser.parse("false") == .bool(false))
        #expect(try JSONParser.parse("0") == .int(0))
        #expect(try JSONParser.parse("-0") == .int(0))
        #expect(try JSONParser.parse("42") == .int(42))
        #expect(try JSONParser.parse("-17") == .int(-17))
        #expect(try JSONParser.parse("3.25") == .double(3.25))
        #expect(try JSONParser.parse("-0.5") == .double(-0.5))
        #expect(try JSONParser.parse("1e3") == .double(1000))
        #expect(try JSONParser.parse("1E-2") == .double(0.01))
        #expect(try JSONParser.parse("2.5e+2") == .double(250))
        #expect(try JSONParser.parse("1.0") == .double(1.0))
        #expect(try JSONParser.parse("\"hello\"") == .string("hello"))
        #expect(try JSONParser.parse("\"\"") == .string(""))
    }

    @Test func containers() throws {
        #expect(try JSONParser.parse("[]") == .array([]))
        #expect(try JSONParser.parse("{}") == .object(JSONObject()))
        #expect(try JSONParser.parse("[1,\"a\",null,true,[false],{}]") == [1, "a", nil, true, [false], [:]])
        let v = try JSONParser.parse(#"{"jsonrpc":"2.0","id":7,"method":"client.get","params":{"id":12,"tags":["a","b"]}}"#)
        #expect(v["jsonrpc"] == "2.0")
        #expect(v["id"] == .int(7))
        #expect(v["params"]?["id"]?.intValue == 12)
        #expect(v["params"]?["tags"] == ["a", "b"])
        #expect(v.objectValue?.keys == ["jsonrpc", "id", "method", "params"])
    }

    @Test func whitespaceAroundAndInside() throws {
        #expect(try JSONParser.parse(" \t\r\n[ 1 , { \"a\" : 2 } ]\n ") == [1, ["a": 2]])
    }

    @Test func objectKeepsKeyOrderAndDuplicates() throws {
        let v = try JSONParser.parse(#"{"z":1,"a":2,"m":3,"a":4}"#)
        let o = try #require(v.objectValue)
        #expect(o.keys == ["z", "a", "m", "a"])
        #expect(o["a"] == .int(4))  // the last one wins on lookup
        #expect(o.count == 4)
    }

    @Test func int64LimitsAndHugeIntegers() throws {
        #expect(try JSONParser.parse("9223372036854775807") == .int(Int64.max))
        #expect(try JSONParser.parse("-9223372036854775808") == .int(Int64.min))
        #expect(try JSONParser.parse("9223372036854775808") == .double(9_223_372_036_854_775_808.0))
        #expect(try JSONParser.parse("-9223372036854775809") == .double(-9_223_372_036_854_775_809.0))
        let big = try JSONParser.parse("123456789012345678901234567890")
        guard case .double(let d) = big else {
            Issue.record("expected a double, got \(big)")
            return
        }
        #expect(d == 1.2345678901234568e29)
    }

    @Test func hugeExponentsAreOutOfRange() {
        for text in ["1e999", "-1e999", "1E400", "[1, 2e5000]", String(repeating: "9", count: 400)] {
            let e = parseError(text)
            #expect(e?.message == "number out of range", "\(text)")
        }
        // The offset points at the number, not past it.
        #expect(parseError("[1, 2e5000]")?.offset == 4)
        // Tiny numbers underflow to zero, which is finite.
        #expect(parseError("1e-999") == nil)
    }

    @Test func invalidNumbers() {
        for text in [
            "01", "-01", "00", "1.", ".5", "+1", "1e", "1e+", "-", "--1", "0x10", "NaN", "Infinity", "-Infinity", "1.5.2", "1e5e5",
        ] {
            #expect(parseError(text) != nil, "\(text)")
        }
        #expect(parseError("01")?.message == "invalid number: leading zero")
        #expect(parseError("-007")?.message == "invalid number: leading zero")
        #expect(parseError("[0, 012]")?.message == "invalid number: leading zero")
    }

    @Test func bytesStringDataAndBufferAgree() throws {
        let text = #"{"name":"ООО Ромашка","n":[1,2.5,-3]}"#
        let fromString = try JSONParser.parse(text)
        let fromBytes = try JSONParser.parse(Array(text.utf8))
        let fromData = try JSONParser.parse(Data(text.utf8))
        let fromSlice = try JSONParser.parse(Array(("xx" + text).utf8).dropFirst(2))
        let fromBuffer = try Array(text.utf8).withUnsafeBytes { buf in try JSONParser.parse(buffer: buf) }
        #expect(fromString == fromBytes)
        #expect(fromString == fromData)
        #expect(fromString == fromSlice)
        #expect(fromString == fromBuffer)
        #expect(fromString["name"] == "ООО Ромашка")
    }
}

@Suite("JSONParser: strings")
struct JSONParserStringTests {
    @Test func simpleEscapes() throws {
        #expect(try JSONParser.parse(#""a\"b\\c\/d\be\ff\ng\rh\ti""#) == .string("a\"b\\c/d\u{08}e\u{0C}f\ng\rh\ti"))
    }

    @Test func unicodeEscapes() throws {
        #expect(try JSONParser.parse(#""\u0041""#) == "A")
        #expect(try JSONParser.parse(#""\u00e9\u00E9""#) == "éé")
        #expect(try JSONParser.parse(#""\u0416\u043e\u0440\u0430""#) == "Жора")
        #expect(try JSONParser.parse(#""\u20ac""#) == "€")
        #expect(try JSONParser.parse(#""\u0000""#) == .string("\u{0}"))
        #expect(try JSONParser.parse(#""x\u0022y""#) == "x\"y")
    }

    @Test func surrogatePairs() throws {
        #expect(try JSONParser.parse(#""\ud83d\ude00""#) == "😀")
        #expect(try JSONParser.parse(#""\uD83D\uDE00""#) == "😀")
        #expect(try JSONParser.parse(#""a\ud834\udd1eb""#) == "a𝄞b")
        #expect(try JSONParser.parse(#""\udbff\udfff""#) == .string("\u{10FFFF}"))
    }

    @Test func loneSurrogatesAreRejected() {
        #expect(parseError(#""\ud83d""#)?.message == "lone high surrogate in \\u escape")
        #expect(parseError(#""\ud83dx""#)?.message == "lone high surrogate in \\u escape")
        #expect(parseError(#""\ud83d\n""#)?.message == "lone high surrogate in \\u escape")
        #expect(parseError(#""\ude00""#)?.message == "lone low surrogate in \\u escape")
        #expect(parseError(#""\ud83d\u0041""#)?.message == "invalid low surrogate in \\u escape")
        #expect(parseError(#""\ud83d\ud83d""#)?.message == "invalid low surrogate in \\u escape")
    }

    @Test func badEscapes() {
        #expect(parseError(#""\x41""#)?.message == "invalid escape '\\x' in string")
        #expect(parseError(#""\u12""#) != nil)
        #expect(parseError(#""\u12G4""#)?.message == "invalid hex digit in \\u escape")
        #expect(parseError(#""\'""#) != nil)
        #expect(parseError(#""\"#) != nil)
        #expect(parseError("\"abc") != nil)
        #expect(parseError("\"abc\\") != nil)
    }

    @Test func rawControlCharactersAreRejected() {
        for c in UInt8(0)..<0x20 {
            let e = parseError(bytes: [0x22, 0x61, c, 0x62, 0x22])
            #expect(e?.message == "control character in string (must be escaped)", "byte \(c)")
            #expect(e?.offset == 2)
        }
        // Also after a non-ASCII character (the slow path).
        #expect(parseError(bytes: Array("\"ж".utf8) + [0x0A, 0x22]) != nil)
        // DEL is not a control character for JSON.
        #expect(parseError(bytes: [0x22, 0x7F, 0x22]) == nil)
    }

    @Test func rawUTF8IsAccepted() throws {
        #expect(try JSONParser.parse(bytes: "\"Привет, мир\"") == "Привет, мир")
        #expect(try JSONParser.parse(bytes: "\"emoji 😀 and 𝄞\"") == "emoji 😀 and 𝄞")
        #expect(try JSONParser.parse(bytes: "\"mixed ж\\n€\\u0041\"") == "mixed ж\n€A")
        #expect(try JSONParser.parse(bytes: "{\"ключ\":\"значение\"}") == ["ключ": "значение"])
    }

    @Test func invalidUTF8IsRejected() {
        let cases: [[UInt8]] = [
            [0xFF],  // never valid
            [0xFE],
            [0x80],  // lone continuation byte
            [0xC0, 0xAF],  // overlong '/'
            [0xC1, 0xBF],  // overlong
            [0xE0, 0x80, 0xAF],  // overlong 3-byte
            [0xF0, 0x80, 0x80, 0xAF],  // overlong 4-byte
            [0xED, 0xA0, 0x80],  // UTF-16 surrogate encoded in UTF-8
            [0xF4, 0x90, 0x80, 0x80],  // above U+10FFFF
            [0xF5, 0x80, 0x80, 0x80],
            [0xC3],  // truncated before the closing quote
            [0xE2, 0x82],  // truncated
            [0xC3, 0x41],  // bad continuation
            [0xE2, 0x28, 0xA1],
        ]
        for bad in cases {
            let e = parseError(bytes: [0x22, 0x61] + bad + [0x22])
            #expect(e != nil, "\(bad)")
            #expect(e?.message.hasPrefix("invalid UTF-8") == true, "\(bad): \(e?.message ?? "")")
        }
        // Truncated at the very end of input.
        #expect(parseError(bytes: [0x22, 0xE2, 0x82]) != nil)
        // Invalid bytes outside a string are unexpected characters.
        #expect(parseError(bytes: [0xFF])?.message.hasPrefix("unexpected character") == true)
    }
}

@Suite("JSONParser: structure and limits")
struct JSONParserStructureTests {
    @Test func emptyInput() {
        #expect(parseError("")?.message == "empty input: expected a JSON value")
        #expect(parseError("")?.offset == 0)
        #expect(parseError("   \n\t ")?.message == "empty input: expected a JSON value")
        #expect(parseError(bytes: [])?.message == "empty input: expected a JSON value")
    }

    @Test func trailingGarbageIsRejected() {
        for text in ["1 2", "{} {}", "[1]]", "truex", "nullnull", "\"a\"b", "{\"a\":1}x", "[] ,", "0 0"] {
            #expect(parseError(text)?.message == "unexpected data after the JSON value", "\(text)")
        }
        #expect(parseError("{\"a\":1} x")?.offset == 8)
    }

    @Test func malformedStructures() {
        let cases = [
            "[", "]", "{", "}", "[1,]", "[,1]", "[1 2]", "{a:1}", "{\"a\" 1}", "{\"a\":1,}", "{\"a\":}", "{,}", "{\"a\":1", "[1,2",
            "{1:2}", "tru", "nul", "fals", "True", "'a'", "[\"a\":1]", "{\"a\",1}",
        ]
        for text in cases {
            #expect(parseError(text) != nil, "\(text)")
        }
        #expect(parseError("[1,2")?.message == "unexpected end of input inside an array")
        #expect(parseError("[1,2")?.offset == 4)
        #expect(parseError("{\"a\":1")?.message == "unexpected end of input inside an object")
        #expect(parseError("{a:1}")?.message == "expected a string key in object")
        #expect(parseError("[1 2]")?.message == "expected ',' or ']' in array")
    }

    @Test func errorDescriptionNamesTheByte() {
        #expect(parseError("[1, -x]")?.description == "invalid number at byte 5")
        #expect(parseError("[1, -x]")?.offset == 5)
    }

    @Test func nestingUpToTheLimitIsAccepted() throws {
        let depth = JSONParser.defaultMaxDepth
        #expect(depth == 64)
        let text = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        var v = try JSONParser.parse(text)
        var levels = 0
        while case .array(let items) = v {
            levels += 1
            guard let first = items.first else { break }
            v = first
        }
        #expect(levels == depth)
        let objects = String(repeating: "{\"a\":", count: depth) + "1" + String(repeating: "}", count: depth)
        #expect(parseError(objects) == nil)
    }

    @Test func nestingBeyondTheLimitIsAnErrorNotACrash() {
        let depth = JSONParser.defaultMaxDepth + 1
        let arrays = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        #expect(parseError(arrays)?.message == "nesting deeper than 64 levels")
        let objects = String(repeating: "{\"a\":", count: depth) + "1" + String(repeating: "}", count: depth)
        #expect(parseError(objects)?.message == "nesting deeper than 64 levels")
        let mixed = String(repeating: "[{\"k\":", count: 40) + "0" + String(repeating: "}]", count: 40)
        #expect(parseError(mixed)?.message == "nesting deeper than 64 levels")
    }

    @Test func customDepthLimit() {
        #expect(parseError("[[1]]", maxDepth: 1) != nil)
        #expect(parseError("[[1]]", maxDepth: 2) == nil)
        #expect(parseError("1", maxDepth: 0) == nil)
        #expect(parseError("[]", maxDepth: 0) != nil)
    }

    @Test func hundredThousandOpenBracketsFailFast() {
        let clock = ContinuousClock()
        let start = clock.now
        let open = String(repeating: "[", count: 100_000)
        #expect(parseError(open)?.message == "nesting deeper than 64 levels")
        let balanced = open + String(repeating: "]", count: 100_000)
        #expect(parseError(balanced)?.message == "nesting deeper than 64 levels")
        let objects = String(repeating: "{\"a\":", count: 100_000)
        #expect(parseError(objects)?.message == "nesting deeper than 64 levels")
        // It stops at the limit instead of walking (or recursing through) the whole input.
        #expect(clock.now - start < .seconds(2))
    }
}

@Suite("JSON value helpers")
struct JSONValueTests {
    @Test func accessors() {
        #expect(JSON.int(5).intValue == 5)
        #expect(JSON.double(5.0).intValue == 5)
        #expect(JSON.double(5.5).intValue == nil)
        #expect(JSON.double(1e30).intValue == nil)
        #expect(JSON.string("5").intValue == nil)
        #expect(JSON.string("x").stringValue == "x")
        #expect(JSON.int(1).stringValue == nil)
        #expect(JSON.bool(true).boolValue == true)
        #expect(JSON.null.isNull)
        #expect(!JSON.int(0).isNull)
        #expect(JSON.array([1]).arrayValue == [1])
        #expect(JSON.int(1)["x"] == nil)
        #expect(JSON.string(nil as String?) == .null)
        #expect(JSON.int(nil as Int64?) == .null)
        #expect(JSON.int(3 as Int) == .int(3))
    }

    @Test func kindDescriptions() {
        #expect(JSON.null.kindDescription == "null")
        #expect(JSON.bool(true).kindDescription == "a boolean")
        #expect(JSON.int(1).kindDescription == "an integer")
        #expect(JSON.double(1.5).kindDescription == "a number")
        #expect(JSON.string("").kindDescription == "a string")
        #expect(JSON.array([]).kindDescription == "an array")
        #expect(JSON.object(JSONObject()).kindDescription == "an object")
    }

    @Test func objectMutation() {
        var o: JSONObject = ["a": 1, "b": 2]
        o["c"] = 3
        o["a"] = 10
        #expect(o.keys == ["a", "b", "c"])
        #expect(o["a"] == 10)
        o["b"] = nil
        #expect(o.keys == ["a", "c"])
        #expect(o != ["c": 3, "a": 10])  // order matters
        #expect(o == ["a": 10, "c": 3])
    }
}

extension JSONParser {
    /// Parses the UTF-8 bytes of `text` through the byte API.
    static func parse(bytes text: String) throws(JSONParseError) -> JSON { try parse(Array(text.utf8)) }
}
