public import CRMText
public import Foundation

/// A change to one field in an update: leave it, set it, or clear it (JSON `null`).
public enum Patch<Value: Sendable & Equatable>: Sendable, Equatable {
    case unchanged
    case set(Value)
    case clear

    /// `true` unless `.unchanged`.
    public var isChange: Bool {
        if case .unchanged = self { return false }
        return true
    }

    /// The value set, if any (nil when unchanged or cleared).
    public var value: Value? {
        if case .set(let v) = self { return v }
        return nil
    }

    /// `current` after this change.
    public func applied(to current: Value?) -> Value? {
        switch self {
        case .unchanged: return current
        case .set(let v): return v
        case .clear: return nil
        }
    }
}

/// Reads named params out of a request, collecting every problem so the `-32602` reply lists
/// all bad fields at once. Unknown fields are problems too: a typo should not be silently ignored.
public struct ParamReader {
    let object: JSONObject
    /// Problems found so far.
    public private(set) var problems: [FieldProblem] = []
    var known: Set<String> = []

    /// A reader over a request's params (anything but an object is one problem).
    public init(_ params: JSON) {
        if case .object(let o) = params {
            object = o
        } else {
            object = JSONObject()
            problems.append(FieldProblem(field: "params", problem: "must be an object"))
        }
    }

    /// Records a problem found by a caller's own check.
    /// `text` is said in the reader's language in the message; `data` keeps its English.
    public mutating func problem(_ field: String, _ text: Phrase) {
        problems.append(FieldProblem(field: field, problem: text))
    }

    mutating func value(_ key: String) -> JSON? {
        known.insert(key)
        guard let v = object[key] else { return nil }
        return v
    }

    /// The raw value of `key`, if present (null included).
    public mutating func optionalValue(_ key: String) -> JSON? { value(key) }

    /// `true` if the params carry `key` (even as null).
    public mutating func has(_ key: String) -> Bool {
        known.insert(key)
        return object[key] != nil
    }

    mutating func typed<T>(_ key: String, _ expected: String, required: Bool, _ convert: (JSON) -> T?) -> T? {
        guard let v = value(key), !v.isNull else {
            if required { problem(key, "is required (\(Phrase.key(expected)))") }
            return nil
        }
        guard let t = convert(v) else {
            problem(key, "must be \(Phrase.key(expected)), not \(Phrase.key(v.kindDescription))")
            return nil
        }
        if let s = t as? String, s.utf8.contains(0) {
            problem(key, Self.nulProblem)
            return nil
        }
        return t
    }

    /// Text may hold any character but U+0000: SQLite (through GRDB) would store it cut at the NUL,
    /// so it is refused rather than silently truncated.
    static let nulProblem: Phrase = "must not contain the NUL character (U+0000)"

    /// A required integer.
    public mutating func int(_ key: String) -> Int64 { typed(key, "an integer", required: true, \.intValue) ?? 0 }
    /// An optional integer.
    public mutating func optionalInt(_ key: String) -> Int64? { typed(key, "an integer", required: false, \.intValue) }
    /// A required non-empty string (whitespace trimmed).
    public mutating func string(_ key: String) -> String {
        guard let s = typed(key, "a string", required: true, \.stringValue) else { return "" }
        let t = s.trimmingCharacters(in: .whitespacesAndNewlines)
        if t.isEmpty { problem(key, "must not be empty") }
        return t
    }
    /// An optional string, kept as given.
    public mutating func optionalString(_ key: String) -> String? { typed(key, "a string", required: false, \.stringValue) }
    /// An optional boolean.
    public mutating func optionalBool(_ key: String) -> Bool? { typed(key, "a boolean", required: false, \.boolValue) }
    /// An optional object.
    public mutating func optionalObject(_ key: String) -> JSONObject? { typed(key, "an object", required: false, \.objectValue) }

    /// An optional array of strings.
    public mutating func optionalStringArray(_ key: String) -> [String]? {
        guard let items = typed(key, "an array of strings", required: false, \.arrayValue) else { return nil }
        var out: [String] = []
        for (i, item) in items.enumerated() {
            if let s = item.stringValue {
                if s.utf8.contains(0) { problem("\(key)[\(i)]", Self.nulProblem) } else { out.append(s) }
            } else {
                problem("\(key)[\(i)]", "must be a string, not \(Phrase.key(item.kindDescription))")
            }
        }
        return out
    }

    /// An optional array of integers.
    public mutating func optionalIntArray(_ key: String) -> [Int64]? {
        guard let items = typed(key, "an array of integers", required: false, \.arrayValue) else { return nil }
        var out: [Int64] = []
        for (i, item) in items.enumerated() {
            if let v = item.intValue {
                out.append(v)
            } else {
                problem("\(key)[\(i)]", "must be an integer, not \(Phrase.key(item.kindDescription))")
            }
        }
        return out
    }

    /// An optional RFC 3339 timestamp, on the wire range (years 0000-9999 once its offset is applied).
    public mutating func optionalTimestamp(_ key: String) -> Date? {
        guard let s = typed(key, "an RFC 3339 timestamp string", required: false, \.stringValue) else { return nil }
        switch RFC3339.read(s) {
        case .instant(let ms):
            return RFC3339.date(milliseconds: ms)
        case .outOfRange:
            problem(key, "must be an RFC 3339 timestamp \(RFC3339.rangeText) (in UTC, once its offset is applied), not '\(s.prefix(40))'")
        case .malformed:
            problem(key, "must be an RFC 3339 timestamp like 2026-11-22T09:30:00Z, not '\(s.prefix(40))'")
        }
        return nil
    }

    /// An optional string that must be one of `allowed`.
    public mutating func optionalEnum(_ key: String, _ allowed: [String]) -> String? {
        guard let s = optionalString(key) else { return nil }
        guard allowed.contains(s) else {
            problem(key, "must be one of \(allowed.joined(separator: ", ")), not '\(s.prefix(40))'")
            return nil
        }
        return s
    }

    /// A required string that must be one of `allowed`.
    public mutating func enumValue(_ key: String, _ allowed: [String]) -> String {
        if !has(key) || object[key] == .null {
            problem(key, "is required (one of \(allowed.joined(separator: ", ")))")
            return allowed[0]
        }
        return optionalEnum(key, allowed) ?? allowed[0]
    }

    /// An update to a string field: absent leaves it, `null` clears it.
    public mutating func patchString(_ key: String) -> Patch<String> {
        guard let v = value(key) else { return .unchanged }
        if v.isNull { return .clear }
        guard let s = v.stringValue else {
            problem(key, "must be a string or null, not \(Phrase.key(v.kindDescription))")
            return .unchanged
        }
        if s.utf8.contains(0) {
            problem(key, Self.nulProblem)
            return .unchanged
        }
        return .set(s)
    }

    /// An update to a list of strings: absent leaves it, `null` or `[]` empties it.
    public mutating func patchStringArray(_ key: String) -> Patch<[String]> {
        guard has(key) else { return .unchanged }
        if object[key] == .null { return .clear }
        return optionalStringArray(key).map(Patch.set) ?? .unchanged
    }

    /// A list `cursor`: the `next_cursor` of the previous page, passed back unchanged.
    public mutating func cursor() -> String? {
        guard let c = optionalString("cursor") else { return nil }
        let parts = c.split(separator: ":", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), parts.allSatisfy({ Int64($0) != nil }) else {
            problem("cursor", "is not a cursor crmd gave out; pass next_cursor from the previous page unchanged")
            return nil
        }
        return c
    }

    /// A `cursor` for lists paged by id (a single whole number).
    public mutating func idCursor() -> Int64? {
        guard let c = optionalString("cursor") else { return nil }
        guard let id = Int64(c), id >= 0 else {
            problem("cursor", "is not a cursor crmd gave out; pass next_cursor from the previous page unchanged")
            return nil
        }
        return id
    }

    /// A list `limit` (default 100, at most 1000).
    public mutating func limit() -> Int {
        guard let l = optionalInt("limit") else { return 100 }
        if l < 1 || l > 1000 { problem("limit", "must be between 1 and 1000"); return 100 }
        return Int(l)
    }

    /// Every problem, including fields nobody asked for (an import's item keeps them as phrases).
    public var allProblems: [FieldProblem] {
        var all = problems
        for key in object.keys where !known.contains(key) {
            all.append(FieldProblem(field: key, problem: "is not a param of this method"))
        }
        return all
    }

    /// Throws `-32602` listing every problem, including fields nobody asked for.
    public func finish() throws(RPCError) {
        let all = allProblems
        if !all.isEmpty { throw RPCError.invalidParams(all) }
    }
}
