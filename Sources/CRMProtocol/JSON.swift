/// A JSON value, as it travels on the wire.
///
/// crmd parses and writes JSON itself instead of going through `Codable`: the protocol needs
/// precise errors (which field, which byte), hard limits on depth and size, and speed on a hot
/// path where every request is one small object. Objects keep their keys in order, so output is
/// deterministic and golden tests can compare bytes.
public enum JSON: Sendable, Equatable {
    case null
    case bool(Bool)
    /// An integer that fits in 64 bits.
    case int(Int64)
    /// Any other number (fractional, exponent, or too large for `Int64`).
    case double(Double)
    case string(String)
    case array([JSON])
    case object(JSONObject)

    /// The value's kind as a word for error messages ("a string", "an integer", ...).
    public var kindDescription: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .int: return "an integer"
        case .double: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    /// The string payload, if this is a string.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The integer payload, if this is an integer (a double with no fraction counts too).
    public var intValue: Int64? {
        switch self {
        case .int(let i): return i
        case .double(let d):
            if d.rounded() == d, let i = Int64(exactly: d) { return i }
            return nil
        default: return nil
        }
    }

    /// The boolean payload, if this is a boolean.
    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// The elements, if this is an array.
    public var arrayValue: [JSON]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// The object, if this is an object.
    public var objectValue: JSONObject? {
        if case .object(let o) = self { return o }
        return nil
    }

    /// Member lookup on objects; `nil` for anything else or a missing key.
    public subscript(key: String) -> JSON? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    /// `true` only for `.null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }
}

/// An ordered JSON object. Lookups are linear: protocol objects have a handful of keys.
public struct JSONObject: Sendable, Equatable, ExpressibleByDictionaryLiteral {
    /// The members in the order they were written or added.
    public private(set) var members: [(key: String, value: JSON)]

    /// An empty object.
    public init() { members = [] }

    /// An object with these members, in this order.
    public init(_ members: [(String, JSON)]) {
        self.members = members.map { (key: $0.0, value: $0.1) }
    }

    public init(dictionaryLiteral elements: (String, JSON)...) {
        self.init(elements)
    }

    /// The value for `key` (the last one written, if a key repeats), or `nil`.
    public subscript(key: String) -> JSON? {
        get {
            var i = members.count - 1
            while i >= 0 {
                if members[i].key == key { return members[i].value }
                i -= 1
            }
            return nil
        }
        set {
            if let idx = members.lastIndex(where: { $0.key == key }) {
                if let newValue { members[idx].value = newValue } else { members.remove(at: idx) }
            } else if let newValue {
                members.append((key: key, value: newValue))
            }
        }
    }

    /// The keys in order.
    public var keys: [String] { members.map(\.key) }

    /// Number of members.
    public var count: Int { members.count }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.members.count == rhs.members.count else { return false }
        for (a, b) in zip(lhs.members, rhs.members) where a.key != b.key || a.value != b.value {
            return false
        }
        return true
    }
}

extension JSON: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral,
    ExpressibleByFloatLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSON...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSON)...) { self = .object(JSONObject(elements)) }
    public init(nilLiteral: ()) { self = .null }
    public init(floatLiteral value: Double) { self = .double(value) }
}

extension JSON {
    /// A string, or `null` when `nil`.
    public static func string(_ s: String?) -> JSON { s.map(JSON.string) ?? .null }
    /// An integer, or `null` when `nil`.
    public static func int(_ i: Int64?) -> JSON { i.map(JSON.int) ?? .null }
    /// An integer from `Int`.
    public static func int(_ i: Int) -> JSON { .int(Int64(i)) }
}
