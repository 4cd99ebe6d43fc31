import CRMCore
import CRMProtocol
import Foundation

/// Reads a dynamic segment's filter from JSON (docs/protocol.md, "Segment filters"), recording a
/// problem for each bad part under its path (`filter.any[1].zone`), within the bounds of
/// ``SegmentLimits``.
struct SegmentFilterReader {
    var problems: [(field: String, problem: String)] = []
    var conditions = 0

    static let keys =
        ["all", "any", "not"] + SegmentColumn.all.map(\.name) + [
            "name_contains", "zone", "owner", "last_interaction_before", "last_interaction_after", "has_open_deal", "won", "fields.<name>",
        ]

    mutating func problem(_ path: String, _ text: String) { problems.append((path, text)) }

    /// The filter `json` at `path`, `depth` levels down.
    mutating func read(_ json: JSON, path: String = "filter", depth: Int = 1) -> SegmentFilter? {
        guard depth <= SegmentLimits.filterDepth else {
            problem(path, "nests too deep: at most \(SegmentLimits.filterDepth) levels of all/any/not")
            return nil
        }
        guard case .object(let o) = json else {
            problem(path, "must be an object of conditions like {\"segment\": \"wholesale\", \"zone\": [\"green\"]}")
            return nil
        }
        guard o.count > 0 else {
            problem(path, "must hold at least one condition (\(Self.keys.joined(separator: ", ")))")
            return nil
        }
        var parts: [SegmentFilter] = []
        for (key, value) in o.members {
            conditions += 1
            if conditions > SegmentLimits.filterConditions {
                problem(path, "holds too many conditions: at most \(SegmentLimits.filterConditions) in a filter")
                return nil
            }
            if let f = condition(key, value, path: "\(path).\(key.prefix(64))", depth: depth) { parts.append(f) }
        }
        return parts.count == 1 ? parts[0] : .all(parts)
    }

    mutating func condition(_ key: String, _ value: JSON, path: String, depth: Int) -> SegmentFilter? {
        switch key {
        case "all", "any":
            guard let list = value.arrayValue, !list.isEmpty else {
                problem(path, "must be a non-empty array of filters")
                return nil
            }
            var parts: [SegmentFilter] = []
            for (i, item) in list.enumerated() {
                if let f = read(item, path: "\(path)[\(i)]", depth: depth + 1) { parts.append(f) }
            }
            return key == "all" ? .all(parts) : .any(parts)
        case "not": return read(value, path: path, depth: depth + 1).map(SegmentFilter.not)
        case "name_contains":
            guard let s = text(value, path), !s.isEmpty else { return nil }
            return .nameContains(s)
        case "zone":
            let names = texts(value, path, nullable: false, allowed: Zone.allCases.map(\.rawValue))
            return names.map { .zone($0.compactMap { $0.flatMap(Zone.init(rawValue:)) }) }
        case "owner": return owners(value, path).map(SegmentFilter.owner)
        case "last_interaction_before": return instant(value, path).map { .lastInteraction(before: $0, after: nil) }
        case "last_interaction_after": return instant(value, path).map { .lastInteraction(before: nil, after: $0) }
        case "has_open_deal":
            guard let b = value.boolValue else {
                problem(path, "must be true or false")
                return nil
            }
            return .hasOpenDeal(b)
        case "won": return won(value, path)
        default:
            if let col = SegmentColumn.named(key) {
                return texts(value, path, nullable: col.nullable, allowed: col.allowed).map { .column(col, $0) }
            }
            if key.hasPrefix("fields.") { return field(String(key.dropFirst(7)), value, path) }
            problem(path, "is not a condition; use one of \(Self.keys.joined(separator: ", "))")
            return nil
        }
    }

    /// A string within ``SegmentLimits/textLength``.
    mutating func text(_ value: JSON, _ path: String) -> String? {
        guard let s = value.stringValue else {
            problem(path, "must be a string, not \(value.kindDescription)")
            return nil
        }
        guard s.count <= SegmentLimits.textLength else {
            problem(path, "must be at most \(SegmentLimits.textLength) characters")
            return nil
        }
        return s
    }

    /// One value or a non-empty array of them (null: the column is empty, where `nullable`).
    mutating func list(_ value: JSON, _ path: String) -> [JSON]? {
        let items = value.arrayValue ?? [value]
        guard !items.isEmpty, items.count <= SegmentLimits.valuesPerCondition else {
            problem(path, "must be a value or an array of 1 to \(SegmentLimits.valuesPerCondition) values")
            return nil
        }
        return items
    }

    mutating func texts(_ value: JSON, _ path: String, nullable: Bool, allowed: [String]?) -> [String?]? {
        guard let items = list(value, path) else { return nil }
        var out: [String?] = []
        for (i, item) in items.enumerated() {
            let at = value.arrayValue == nil ? path : "\(path)[\(i)]"
            if item.isNull {
                if nullable { out.append(nil) } else { problem(at, "may not be null") }
                continue
            }
            guard let s = text(item, at) else { continue }
            if let allowed, !allowed.contains(s) {
                problem(at, "must be one of \(allowed.joined(separator: ", ")), not '\(s.prefix(20))'")
                continue
            }
            out.append(s)
        }
        return out.count == items.count ? out : nil
    }

    mutating func owners(_ value: JSON, _ path: String) -> [SegmentOwner]? {
        guard let items = list(value, path) else { return nil }
        var out: [SegmentOwner] = []
        for (i, item) in items.enumerated() {
            let at = value.arrayValue == nil ? path : "\(path)[\(i)]"
            switch item {
            case .null: out.append(.none)
            case .int(let id): out.append(.id(id))
            case .string(let l) where !l.isEmpty && l.count <= SegmentLimits.textLength: out.append(.login(l))
            default: problem(at, "must be a user login or id, or null for clients without an owner")
            }
        }
        return out.count == items.count ? out : nil
    }

    mutating func field(_ name: String, _ value: JSON, _ path: String) -> SegmentFilter? {
        guard !name.isEmpty, name.count <= 64, !name.contains("\""), !name.contains("\\"), !name.contains(".") else {
            problem(path, "must name a custom field: fields.<name>, 1 to 64 characters without quotes, backslashes or dots")
            return nil
        }
        guard let items = list(value, path) else { return nil }
        var out: [SegmentValue] = []
        for (i, item) in items.enumerated() {
            let at = value.arrayValue == nil ? path : "\(path)[\(i)]"
            switch item {
            case .null: out.append(.null)
            case .bool(let b): out.append(.bool(b))
            case .int(let n): out.append(.int(n))
            case .double(let d): out.append(.double(d))
            case .string: if let s = text(item, at) { out.append(.text(s)) }
            default: problem(at, "must be a string, number, boolean or null")
            }
        }
        return out.count == items.count ? .field(name, out) : nil
    }

    /// An RFC 3339 instant, or an ISO 8601 duration meaning that long before the evaluation.
    mutating func instant(_ value: JSON, _ path: String) -> SegmentInstant? {
        if let s = value.stringValue {
            if case .instant(let ms) = RFC3339.read(s) { return .at(RFC3339.date(milliseconds: ms)) }
            if s.hasPrefix("P"), let d = ISODuration(s), !d.isZero { return .ago(d) }
        }
        problem(path, "must be an RFC 3339 instant (2026-01-31T00:00:00Z) or a duration before now (P30D, P3M)")
        return nil
    }

    mutating func won(_ value: JSON, _ path: String) -> SegmentFilter? {
        if value.boolValue == true { return .won(from: nil, to: nil, amountAtLeast: nil) }
        guard case .object(let o) = value else {
            problem(path, "must be true or an object {from?, to?, amount_gte?}")
            return nil
        }
        var from: SegmentInstant? = nil
        var to: SegmentInstant? = nil
        var amount: Int64? = nil
        for (k, v) in o.members {
            switch k {
            case "from": from = instant(v, "\(path).from")
            case "to": to = instant(v, "\(path).to")
            case "amount_gte":
                guard let n = v.intValue, n >= 0 else {
                    problem("\(path).amount_gte", "must be a whole number of minor units, 0 or more")
                    continue
                }
                amount = n
            default: problem("\(path).\(k.prefix(40))", "is not part of won (from, to, amount_gte)")
            }
        }
        return .won(from: from, to: to, amountAtLeast: amount)
    }
}
