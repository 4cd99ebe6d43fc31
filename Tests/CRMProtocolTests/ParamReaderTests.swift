import CRMProtocol
import Foundation
import Testing

/// The `-32602` error `finish()` throws, or `nil` when the params were fine.
func finishError(_ r: ParamReader) -> RPCError? {
    do {
        try r.finish()
        return nil
    } catch {
        return error
    }
}

/// The `(field, problem)` pairs of an invalid-params error's data.
func fieldProblems(_ e: RPCError?) -> [[String]] {
    (e?.data?["fields"]?.arrayValue ?? []).map { [$0["field"]?.stringValue ?? "?", $0["problem"]?.stringValue ?? "?"] }
}

@Suite("ParamReader")
struct ParamReaderTests {
    @Test("U+0000 in any text is refused (the database would cut the text there); other control characters are kept")
    func refusesNUL() {
        var r = ParamReader([
            "name": "a\u{0}b", "note": "x\u{0}", "phones": ["ok", "1\u{0}2"], "segment": "\u{0}", "topic": "\u{1}\u{1F}\u{7F}",
        ])
        _ = r.string("name")
        #expect(r.optionalString("note") == nil)
        #expect(r.optionalStringArray("phones") == ["ok"])
        if case .set = r.patchString("segment") { Issue.record("a NUL segment was accepted") }
        #expect(r.optionalString("topic") == "\u{1}\u{1F}\u{7F}")
        #expect(
            fieldProblems(finishError(r)).map(\.[0]).sorted() == ["name", "note", "phones[1]", "segment"])
    }

    @Test func readsGoodParams() throws {
        var r = ParamReader(
            [
                "id": 12, "name": "  ООО Ромашка  ", "note": " kept ", "flag": true, "tags": ["a", "b"], "ids": [1, 2],
                "at": "2026-11-22T12:30:00+03:00", "kind": "person", "fields": ["x": 1], "limit": 50,
            ])
        #expect(r.int("id") == 12)
        #expect(r.string("name") == "ООО Ромашка")
        #expect(r.optionalString("note") == " kept ")
        #expect(r.optionalBool("flag") == true)
        #expect(r.optionalStringArray("tags") == ["a", "b"])
        #expect(r.optionalIntArray("ids") == [1, 2])
        #expect(r.optionalTimestamp("at") == RFC3339.parse("2026-11-22T09:30:00Z"))
        #expect(r.enumValue("kind", ["company", "person"]) == "person")
        #expect(r.optionalObject("fields") == ["x": 1])
        #expect(r.limit() == 50)
        #expect(r.problems.isEmpty)
        #expect(finishError(r) == nil)
    }

    @Test func absentOptionalsAreNilWithoutProblems() {
        var r = ParamReader(.object(JSONObject()))
        #expect(r.optionalInt("a") == nil)
        #expect(r.optionalString("b") == nil)
        #expect(r.optionalBool("c") == nil)
        #expect(r.optionalStringArray("d") == nil)
        #expect(r.optionalTimestamp("e") == nil)
        #expect(r.optionalEnum("f", ["x"]) == nil)
        #expect(r.limit() == 100)
        #expect(finishError(r) == nil)
    }

    @Test func nullCountsAsAbsentForOptionals() {
        var r = ParamReader(["a": nil, "b": nil])
        #expect(r.optionalInt("a") == nil)
        #expect(r.optionalString("b") == nil)
        #expect(finishError(r) == nil)
    }

    @Test func collectsEveryProblemAtOnce() throws {
        var r = ParamReader(
            [
                "id": "12", "name": 5, "limit": 5000, "tags": ["a", 2, nil], "at": "yesterday", "kind": "robot", "extra": 1,
                "typo_name": "x",
            ])
        _ = r.int("id")
        _ = r.string("name")
        _ = r.limit()
        _ = r.optionalStringArray("tags")
        _ = r.optionalTimestamp("at")
        _ = r.enumValue("kind", ["company", "person"])
        _ = r.string("missing")
        _ = r.int("count")
        let e = try #require(finishError(r))
        #expect(e.code == -32602)
        #expect(e.code == ErrorCode.invalidParams)
        #expect(
            fieldProblems(e) == [
                ["id", "must be an integer, not a string"],
                ["name", "must be a string, not an integer"],
                ["limit", "must be between 1 and 1000"],
                ["tags[1]", "must be a string, not an integer"],
                ["tags[2]", "must be a string, not null"],
                ["at", "must be an RFC 3339 timestamp like 2026-11-22T09:30:00Z, not 'yesterday'"],
                ["kind", "must be one of company, person, not 'robot'"],
                ["missing", "is required (a string)"],
                ["count", "is required (an integer)"],
                ["extra", "is not a param of this method"],
                ["typo_name", "is not a param of this method"],
            ])
        #expect(
            e.message.description
                == "Invalid params: id: must be an integer, not a string; name: must be a string, not an integer; limit: must be between 1 and 1000 (and 8 more)."
        )
    }

    @Test("a timestamp whose offset puts it outside years 0000-9999 is refused, naming the range")
    func timestampOutsideTheRange() throws {
        var r = ParamReader(["at": "9999-12-31T23:00:00-05:00", "from": "0000-01-01T00:30:00+01:00", "to": "9999-12-31T23:59:59Z"])
        #expect(r.optionalTimestamp("at") == nil)
        #expect(r.optionalTimestamp("from") == nil)
        #expect(r.optionalTimestamp("to") == RFC3339.parse("9999-12-31T23:59:59Z"))
        let e = try #require(finishError(r))
        #expect(e.code == -32602)
        let range = "from 0000-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z (in UTC, once its offset is applied)"
        #expect(
            fieldProblems(e) == [
                ["at", "must be an RFC 3339 timestamp \(range), not '9999-12-31T23:00:00-05:00'"],
                ["from", "must be an RFC 3339 timestamp \(range), not '0000-01-01T00:30:00+01:00'"],
            ])
    }

    @Test func unknownFieldsAloneFail() {
        var r = ParamReader(["id": 1, "nmae": "typo"])
        _ = r.int("id")
        #expect(fieldProblems(finishError(r)) == [["nmae", "is not a param of this method"]])
    }

    @Test func hasMarksAFieldAsKnown() {
        var r = ParamReader(["x": nil])
        let hasX = r.has("x")
        let hasY = r.has("y")
        #expect(hasX)
        #expect(!hasY)
        #expect(finishError(r) == nil)
        var v = ParamReader(["raw": [1, 2]])
        #expect(v.optionalValue("raw") == [1, 2])
        #expect(v.optionalValue("none") == nil)
        #expect(finishError(v) == nil)
    }

    @Test func paramsMustBeAnObject() {
        for params: JSON in [[1, 2], "x", 5, true] {
            let r = ParamReader(params)
            #expect(fieldProblems(finishError(r)) == [["params", "must be an object"]], "\(params)")
        }
    }

    @Test func requiredStringMustNotBeBlank() {
        var r = ParamReader(["name": "   "])
        #expect(r.string("name") == "")
        #expect(fieldProblems(finishError(r)) == [["name", "must not be empty"]])
    }

    @Test func requiredNullIsMissing() {
        var r = ParamReader(["id": nil])
        _ = r.int("id")
        #expect(fieldProblems(finishError(r)) == [["id", "is required (an integer)"]])
    }

    @Test func integersFromWholeDoublesOnly() {
        var r = ParamReader(["a": 3.0, "b": 3.5])
        #expect(r.optionalInt("a") == 3)
        #expect(r.optionalInt("b") == nil)
        #expect(fieldProblems(finishError(r)) == [["b", "must be an integer, not a number"]])
    }

    @Test func limitBounds() {
        for (value, expected, ok) in [(1, 1, true), (1000, 1000, true), (0, 100, false), (1001, 100, false), (-5, 100, false)] {
            var r = ParamReader(["limit": .int(Int64(value))])
            #expect(r.limit() == expected)
            #expect((finishError(r) == nil) == ok, "\(value)")
        }
    }

    @Test func enumRequired() {
        var r = ParamReader(.object(JSONObject()))
        #expect(r.enumValue("kind", ["call", "meeting"]) == "call")
        #expect(fieldProblems(finishError(r)) == [["kind", "is required (one of call, meeting)"]])
    }

    @Test func patchStringSemantics() {
        var r = ParamReader(["set": "new", "clear": nil, "empty": "", "bad": 5])
        #expect(r.patchString("absent") == .unchanged)
        #expect(r.patchString("set") == .set("new"))
        #expect(r.patchString("clear") == .clear)
        #expect(r.patchString("empty") == .set(""))
        #expect(r.patchString("bad") == .unchanged)
        #expect(fieldProblems(finishError(r)) == [["bad", "must be a string or null, not an integer"]])
        #expect(!Patch<String>.unchanged.isChange)
        #expect(Patch<String>.clear.isChange)
        #expect(Patch.set("x").isChange)
    }

    @Test func patchStringArraySemantics() {
        var r = ParamReader(["set": ["+79161234567"], "clear": nil, "empty": [], "bad": "x", "badItem": ["a", 1]])
        #expect(r.patchStringArray("absent") == .unchanged)
        #expect(r.patchStringArray("set") == .set(["+79161234567"]))
        #expect(r.patchStringArray("clear") == .clear)
        #expect(r.patchStringArray("empty") == .set([]))
        #expect(r.patchStringArray("bad") == .unchanged)
        _ = r.patchStringArray("badItem")
        #expect(
            fieldProblems(finishError(r)) == [
                ["bad", "must be an array of strings, not a string"], ["badItem[1]", "must be a string, not an integer"],
            ])
    }

    @Test func callerProblemsAreReported() {
        var r = ParamReader(["phone": "abc"])
        _ = r.optionalString("phone")
        r.problem("phone", "is not a phone number")
        #expect(fieldProblems(finishError(r)) == [["phone", "is not a phone number"]])
    }

    @Test func cursorIsPassedBackUnchanged() {
        for good in ["42", "1790000000000:15"] {
            var r = ParamReader(["cursor": .string(good)])
            #expect(r.cursor() == good)
            #expect(finishError(r) == nil, "\(good)")
        }
        var absent = ParamReader(.object(JSONObject()))
        #expect(absent.cursor() == nil)
        #expect(finishError(absent) == nil)
        for bad in ["", "abc", "1:2:3", ":5", "5:", "12345678901234567890"] {
            var r = ParamReader(["cursor": .string(bad)])
            #expect(r.cursor() == nil)
            #expect(fieldProblems(finishError(r)).map(\.first) == ["cursor"], "\(bad)")
        }
        // Interaction cursors carry an instant, which may be before 1970.
        var early = ParamReader(["cursor": "-3600000:1"])
        #expect(early.cursor() == "-3600000:1")
        #expect(finishError(early) == nil)
        // Id cursors are one non-negative whole number that fits in 64 bits.
        for bad in ["-1", "5:1", "9999999999999999999", "x"] {
            var r = ParamReader(["cursor": .string(bad)])
            #expect(r.idCursor() == nil)
            #expect(fieldProblems(finishError(r)).map(\.first) == ["cursor"], "\(bad)")
        }
        var good = ParamReader(["cursor": "42"])
        #expect(good.idCursor() == 42)
        var wrongType = ParamReader(["cursor": 5])
        #expect(wrongType.cursor() == nil)
        #expect(fieldProblems(finishError(wrongType)) == [["cursor", "must be a string, not an integer"]])
    }
}
