import CRMProtocol
import Testing

@Suite("JSONWriter")
struct JSONWriterTests {
    func w(_ v: JSON) -> String { JSONWriter.string(v) }

    @Test func scalars() {
        #expect(w(.null) == "null")
        #expect(w(.bool(true)) == "true")
        #expect(w(.bool(false)) == "false")
        #expect(w(.int(0)) == "0")
        #expect(w(.int(7)) == "7")
        #expect(w(.int(-42)) == "-42")
        #expect(w(.int(1_234_567_890_123)) == "1234567890123")
        #expect(w(.int(Int64.max)) == "9223372036854775807")
        #expect(w(.int(Int64.min)) == "-9223372036854775808")
        #expect(w(.string("")) == "\"\"")
    }

    @Test func doubles() {
        #expect(w(.double(1.5)) == "1.5")
        #expect(w(.double(-0.25)) == "-0.25")
        #expect(w(.double(2.0)) == "2")
        #expect(w(.double(-3.0)) == "-3")
        #expect(w(.double(1e20)) == "1e+20")
        #expect(w(.double(.nan)) == "null")
        #expect(w(.double(.infinity)) == "null")
        #expect(w(.double(-.infinity)) == "null")
    }

    @Test func escapesQuotesAndBackslashes() {
        #expect(w("say \"hi\"") == #""say \"hi\"""#)
        #expect(w("C:\\path\\file") == #""C:\\path\\file""#)
        #expect(w("\\\"") == #""\\\"""#)
        // The solidus needs no escape.
        #expect(w("a/b") == #""a/b""#)
    }

    @Test func escapesControlCharacters() {
        #expect(w("a\nb") == #""a\nb""#)
        #expect(w("a\rb") == #""a\rb""#)
        #expect(w("a\tb") == #""a\tb""#)
        #expect(w("\u{0}") == #""\u0000""#)
        #expect(w("\u{1}") == #""\u0001""#)
        #expect(w("\u{8}") == #""\u0008""#)
        #expect(w("\u{C}") == #""\u000c""#)
        #expect(w("\u{1B}[0m") == #""\u001b[0m""#)
        #expect(w("\u{1F}") == #""\u001f""#)
        // DEL and non-ASCII are written as raw UTF-8.
        #expect(w("\u{7F}") == "\"\u{7F}\"")
        #expect(w("Ромашка 😀") == "\"Ромашка 😀\"")
    }

    @Test func noRawControlByteEverReachesTheOutput() throws {
        var all = ""
        for c in 0..<0x20 { all.unicodeScalars.append(Unicode.Scalar(UInt8(c))) }
        let values: [JSON] = [
            .string(all), .string("line1\nline2\r\n"), ["k\n": .string("v\n\t")], [.string("\u{2028}\u{2029}\n")],
        ]
        for v in values {
            let bytes = JSONWriter.bytes(v)
            #expect(!bytes.contains { $0 < 0x20 }, "\(v)")
            #expect(!bytes.contains(0x0A))
            #expect(try JSONParser.parse(bytes) == v)
        }
    }

    @Test func keyOrderIsPreserved() {
        let o = JSONObject([("zeta", 1), ("alpha", 2), ("mid", 3)])
        #expect(w(.object(o)) == #"{"zeta":1,"alpha":2,"mid":3}"#)
        var built = JSONObject()
        built["b"] = 1
        built["a"] = 2
        #expect(w(.object(built)) == #"{"b":1,"a":2}"#)
    }

    @Test func keysAreEscapedToo() {
        #expect(w(["a\"b": 1, "c\nd": 2]) == #"{"a\"b":1,"c\nd":2}"#)
    }

    @Test func compactNesting() {
        let v: JSON = [1, [2, ["a": [], "b": [:]]], [:], nil, "x"]
        #expect(w(v) == #"[1,[2,{"a":[],"b":{}}],{},null,"x"]"#)
    }

    @Test func bytesStringAndAppendAgree() {
        let v: JSON = ["name": "ООО Ромашка", "n": [1, 2.5]]
        #expect(JSONWriter.bytes(v) == Array(JSONWriter.string(v).utf8))
        var out: [UInt8] = Array("prefix:".utf8)
        JSONWriter.write(v, into: &out)
        #expect(out == Array("prefix:".utf8) + JSONWriter.bytes(v))
    }

    static let roundTripValues: [JSON] = [
        .null, .bool(true), .bool(false), .int(0), .int(-1), .int(Int64.max), .int(Int64.min), .double(1.5), .double(-2.5e-10),
        .double(1e300), .double(.leastNonzeroMagnitude), .double(0.1), .double(123_456_789.125), .string(""), .string("plain"),
        .string("ООО «Ромашка», г. Москва"), .string("emoji 😀👍🏽👨‍👩‍👧 flag 🇷🇺"), .string("quote \" backslash \\ slash /"),
        .string("tabs\tand\nnewlines\r\n and \u{0}\u{1}\u{1F}\u{7F}"), .string("\u{10FFFF}\u{FFFD}\u{FEFF}"), .array([]),
        .object(JSONObject()), [1, "two", 3.5, nil, true, [false, [[]]]],
        [
            "jsonrpc": "2.0", "id": 7, "method": "client.create",
            "params": ["name": "ИП Иванов", "phones": ["+79161234567"], "fields": ["vip": true, "note": "звонить после 10"]],
        ],
        .object(JSONObject([("dup", 1), ("dup", 2), ("", "empty key"), ("ключ", "значение")])),
    ]

    @Test(arguments: roundTripValues)
    func roundTrip(_ v: JSON) throws {
        let bytes = JSONWriter.bytes(v)
        #expect(try JSONParser.parse(bytes) == v)
        // Writing is deterministic: the re-parsed value writes the same bytes.
        #expect(JSONWriter.bytes(try JSONParser.parse(bytes)) == bytes)
    }

    @Test func integralDoublesComeBackAsIntegers() throws {
        // A whole number is written without a fraction, so it reads back as an integer of the same value.
        #expect(try JSONParser.parse(JSONWriter.bytes(.double(2.0))) == .int(2))
        #expect(try JSONParser.parse(JSONWriter.bytes(.double(1e20))) == .double(1e20))
    }
}
