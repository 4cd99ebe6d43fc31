public import CRMCore
public import Foundation
import GRDB

/// Which clients a segment holds, as a condition on `clients c` with its bound values: a dynamic
/// segment's filter compiled, or a static segment's members; narrowed to one owner for a manager.
/// Every value a peer chose is a bound parameter; the SQL text holds only names crmd wrote.
public struct SegmentScope: Sendable {
    /// The condition on `c` (a `clients` row), ready for `WHERE`.
    var sql: String
    var args: [(any DatabaseValueConvertible & Sendable)?]

    /// The members of the static segment `id`.
    public static func members(of id: Int64) -> SegmentScope {
        SegmentScope(sql: "c.id IN (SELECT client_id FROM segment_members WHERE segment_id = ?)", args: [id])
    }

    /// A dynamic segment's filter at `now` (relative instants resolved in `calendar`); `currency`
    /// is the one `won.amount_gte` adds up.
    public static func filter(_ f: SegmentFilter, now: Date, calendar: Calendar, currency: String) -> SegmentScope {
        var b = SegmentSQLBuilder(now: now, calendar: calendar, currency: currency)
        let sql = b.compile(f)
        return SegmentScope(sql: sql, args: b.args)
    }

    /// This scope narrowed to the clients `ownerID` leads (a manager's view).
    public func owned(by ownerID: Int64?) -> SegmentScope {
        guard let ownerID else { return self }
        return SegmentScope(sql: "(\(sql)) AND c.owner_id = ?", args: args + [ownerID])
    }

    /// `value` as a LIKE pattern matching it anywhere, with `\` escaping (`ESCAPE '\'`).
    public static func containsPattern(_ value: String) -> String {
        let escaped = value.lowercased().replacingOccurrences(of: "\\", with: "\\\\")
            .replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
        return "%" + escaped + "%"
    }
}

/// Compiles a ``SegmentFilter`` to SQL over `clients c`, collecting the bound values in order.
struct SegmentSQLBuilder {
    let now: Date
    let calendar: Calendar
    let currency: String
    var args: [(any DatabaseValueConvertible & Sendable)?] = []

    init(now: Date, calendar: Calendar, currency: String) {
        self.now = now
        self.calendar = calendar
        self.currency = currency
    }

    mutating func bind(_ v: (any DatabaseValueConvertible & Sendable)?) -> String {
        args.append(v)
        return "?"
    }

    func instant(_ i: SegmentInstant) -> Int64 {
        ms(i.resolve(now: now, calendar: calendar))
    }

    mutating func compile(_ f: SegmentFilter) -> String {
        switch f {
        case .all(let l): return join(l, " AND ", empty: "1")
        case .any(let l): return join(l, " OR ", empty: "0")
        case .not(let inner): return "NOT " + compile(inner)
        case .column(let col, let values): return list("c.\(col.name)", values.map { $0.map(SegmentValue.text) ?? .null })
        case .nameContains(let s): return "c.name_fold LIKE \(bind(SegmentScope.containsPattern(s))) ESCAPE '\\'"
        case .field(let name, let values):
            // The path is bound too: `$."name"` (names hold no quote or backslash; the reader checks).
            return list("json_extract(c.fields, \(bind("$.\"\(name)\"")))", values)
        case .zone(let zones):
            let n = ms(now)
            var parts: [String] = []
            for z in zones {
                switch z {
                case .green: parts.append("c.yellow_at > \(bind(n))")
                case .yellow: parts.append("(c.yellow_at <= \(bind(n)) AND c.red_at > \(bind(n)))")
                case .red: parts.append("c.red_at <= \(bind(n))")
                }
            }
            return "(c.status = 'assigned' AND (" + parts.joined(separator: " OR ") + "))"
        case .owner(let owners):
            var parts: [String] = []
            for o in owners {
                switch o {
                case .id(let id): parts.append("c.owner_id = \(bind(id))")
                case .login(let l): parts.append("c.owner_id = (SELECT id FROM users WHERE login = \(bind(l)))")
                case .none: parts.append("c.owner_id IS NULL")
                }
            }
            return "(" + parts.joined(separator: " OR ") + ")"
        case .lastInteraction(let before, let after):
            var parts: [String] = []
            if let before { parts.append("(c.last_interaction_at IS NULL OR c.last_interaction_at < \(bind(instant(before))))") }
            if let after { parts.append("c.last_interaction_at >= \(bind(instant(after)))") }
            return parts.isEmpty ? "1" : "(" + parts.joined(separator: " AND ") + ")"
        case .hasOpenDeal(let yes):
            return (yes ? "" : "NOT ") + "EXISTS (SELECT 1 FROM deals d WHERE d.client_id = c.id AND d.status = 'open')"
        case .won(let from, let to, let amount):
            var span = ""
            if let from { span += " AND d.closed_at >= \(bind(instant(from)))" }
            if let to { span += " AND d.closed_at < \(bind(instant(to)))" }
            guard let amount else {
                return "EXISTS (SELECT 1 FROM deals d WHERE d.client_id = c.id AND d.closed_at IS NOT NULL AND d.status = 'won'\(span))"
            }
            let cur = bind(currency)
            return
                "(SELECT coalesce(sum(d.amount), 0) FROM deals d WHERE d.client_id = c.id AND d.closed_at IS NOT NULL AND d.status = 'won'\(span) AND d.currency = \(cur)) >= \(bind(amount))"
        }
    }

    mutating func join(_ list: [SegmentFilter], _ op: String, empty: String) -> String {
        guard !list.isEmpty else { return empty }
        var parts: [String] = []
        for f in list { parts.append(compile(f)) }
        return "(" + parts.joined(separator: op) + ")"
    }

    /// `expr` equal to one of `values` (null: empty).
    mutating func list(_ expr: String, _ values: [SegmentValue]) -> String {
        var parts: [String] = []
        var some: [String] = []
        for v in values {
            switch v {
            case .null: parts.append("\(expr) IS NULL")
            case .text(let s): some.append(bind(s))
            case .int(let i): some.append(bind(i))
            case .double(let d): some.append(bind(d))
            case .bool(let b): some.append(bind(b ? 1 : 0))
            }
        }
        if !some.isEmpty { parts.insert("\(expr) IN (\(some.joined(separator: ", ")))", at: 0) }
        return parts.isEmpty ? "0" : "(" + parts.joined(separator: " OR ") + ")"
    }
}
