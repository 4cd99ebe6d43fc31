/// Serializes `JSON` to compact UTF-8 bytes (no spaces, no newlines: one value fits one line).
public enum JSONWriter {
    /// The compact UTF-8 encoding of `value`.
    public static func bytes(_ value: JSON) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(value, into: &out)
        return out
    }

    /// The compact encoding of `value` as a `String`.
    public static func string(_ value: JSON) -> String {
        String(decoding: bytes(value), as: UTF8.self)
    }

    /// Appends the compact encoding of `value` to `out`.
    public static func write(_ value: JSON, into out: inout [UInt8]) {
        switch value {
        case .null: out.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])
        case .bool(let b): out.append(contentsOf: b ? Array("true".utf8) : Array("false".utf8))
        case .int(let i): writeInt(i, into: &out)
        case .double(let d):
            if d.isFinite {
                if d.rounded() == d, abs(d) < 1e15 {
                    writeInt(Int64(d), into: &out)
                } else {
                    out.append(contentsOf: "\(d)".utf8)
                }
            } else {
                out.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])
            }
        case .string(let s): writeString(s, into: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            var first = true
            for item in items {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                write(item, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let obj):
            out.append(UInt8(ascii: "{"))
            var first = true
            for m in obj.members {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                writeString(m.key, into: &out)
                out.append(UInt8(ascii: ":"))
                write(m.value, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    static func writeInt(_ i: Int64, into out: inout [UInt8]) {
        if i == 0 { out.append(0x30); return }
        if i == Int64.min { out.append(contentsOf: "\(i)".utf8); return }
        var v = i
        if v < 0 { out.append(UInt8(ascii: "-")); v = -v }
        var digits:
            (
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8
            ) =
                (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        withUnsafeMutableBytes(of: &digits) { d in
            while v > 0 {
                d[n] = UInt8(v % 10) + 0x30
                v /= 10
                n += 1
            }
            while n > 0 {
                n -= 1
                out.append(d[n])
            }
        }
    }

    static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { buf in
            var runStart = 0
            for i in 0..<buf.count {
                let c = buf[i]
                if c >= 0x20 && c != 0x22 && c != 0x5C { continue }
                if runStart < i { out.append(contentsOf: UnsafeBufferPointer(rebasing: buf[runStart..<i])) }
                runStart = i + 1
                switch c {
                case 0x22: out.append(contentsOf: [0x5C, 0x22])
                case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
                case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
                case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
                case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
                default:
                    out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(c >> 4)], hex[Int(c & 0xF)]])
                }
            }
            if runStart < buf.count { out.append(contentsOf: UnsafeBufferPointer(rebasing: buf[runStart..<buf.count])) }
        }
        out.append(UInt8(ascii: "\""))
    }
}

/// Writes one JSON object member by member straight to bytes, for hot paths that would otherwise
/// build a `JSON` value only to serialize it (the events the scheduler records by the hundred
/// thousand). The output is what `JSONWriter` writes for the same members in the same order.
/// Keys are literals and are written as they are.
public struct JSONObjectWriter {
    private var out: [UInt8]
    private var first = true

    public init(capacity: Int = 256) {
        out = []
        out.reserveCapacity(capacity)
        out.append(UInt8(ascii: "{"))
    }

    private mutating func key(_ k: StaticString) {
        if !first { out.append(UInt8(ascii: ",")) }
        first = false
        out.append(UInt8(ascii: "\""))
        out.append(contentsOf: UnsafeBufferPointer(start: k.utf8Start, count: k.utf8CodeUnitCount))
        out.append(UInt8(ascii: "\""))
        out.append(UInt8(ascii: ":"))
    }

    private mutating func null() { out.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C]) }

    public mutating func add(_ k: StaticString, _ v: Int64?) {
        key(k)
        if let v { JSONWriter.writeInt(v, into: &out) } else { null() }
    }

    public mutating func add(_ k: StaticString, _ v: Int?) { add(k, v.map(Int64.init)) }

    public mutating func add(_ k: StaticString, _ v: String?) {
        key(k)
        if let v { JSONWriter.writeString(v, into: &out) } else { null() }
    }

    public mutating func add(_ k: StaticString, _ v: Bool) {
        key(k)
        JSONWriter.write(.bool(v), into: &out)
    }

    /// The object, closed.
    public consuming func string() -> String {
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }
}
