public import CRMProtocol
public import Foundation

/// How a header maps a file's rows to the items of an import method; `ImportMapping` (clients)
/// and `RecordMapping` (contacts, interactions, deals) are both one.
public protocol RowMapping: Sendable {
    var header: [String] { get }
    var ignoredColumns: [String] { get }
    /// The item for a row's cells, and the column behind each field path the server may name.
    func item(_ cells: [String]) -> (JSON, [String: Int])
    func column(of field: String, _ origin: [String: Int]) -> String?
}

extension ImportMapping: RowMapping {}

/// What a cell becomes in an item.
public enum CellForm: Sendable {
    /// Sent as written.
    case text
    /// Split into a list (phones, e-mails).
    case list
    /// A number (an id, a percentage).
    case integer
    /// Roubles with kopecks («1 500,50») as minor units (150050).
    case money
    /// A local date and time («01.03.2026 14:30», «2026-03-01 14:30», «2026-03-01») as RFC 3339.
    case instant
    /// Да/нет, yes/no, 1/0.
    case flag
    /// A word translated by a table (Russian and English words for the server's values).
    case word([String: String])
}

/// One field of an import: its name in the item (and in `--map`), the header names that mean it
/// (compared as `ImportField.key` makes them) and what its cells become.
public struct RecordColumn: Sendable {
    public let field: String
    public let headers: [String]
    public let form: CellForm
}

/// The columns of `crmctl import contacts|interactions|deals`, and how a row becomes an item.
public struct RecordMapping: RowMapping {
    public let header: [String]
    public let columns: [RecordColumn]
    /// For each column of the file, the index into `columns` (nil: not imported).
    public var fields: [Int?]

    public init(kind: String, header: [String], overrides: [String]) throws {
        guard let columns = Self.kinds[kind] else { throw ImportFailure("unknown import kind \(kind)") }
        var h = header
        if let first = h.first, first.hasPrefix("\u{FEFF}") { h[0] = String(first.dropFirst()) }
        self.header = h
        self.columns = columns
        fields = h.map { name in columns.firstIndex { $0.headers.contains(ImportField.key(name)) } }
        for o in overrides {
            guard let eq = o.lastIndex(of: "=") else { throw ImportFailure("--map \(o): write COLUMN=FIELD, e.g. «ИНН клиента»=client_id") }
            let column = String(o[..<eq])
            let name = String(o[o.index(after: eq)...])
            let target: Int?
            if name == "-" {
                target = nil
            } else if let i = columns.firstIndex(where: { $0.field == name }) {
                target = i
            } else {
                throw ImportFailure("--map \(o): unknown field; use \(columns.map(\.field).joined(separator: ", ")) or -")
            }
            let matches = h.indices.filter { h[$0] == column || ImportField.key(h[$0]) == ImportField.key(column) }
            guard !matches.isEmpty else {
                throw ImportFailure("--map \(o): the file has no column '\(column)' (it has: \(h.joined(separator: ", ")))")
            }
            for i in matches { fields[i] = target }
        }
        let mapped = Set(fields.compactMap { $0.map { columns[$0].field } })
        guard mapped.contains("client_id") || mapped.contains("client") else {
            throw ImportFailure(
                "no column naming the client (looked for «ID клиента», client_id, or «Клиент», «Телефон клиента», «Email клиента» holding its phone or e-mail); map one with --map COLUMN=client_id or COLUMN=client"
            )
        }
    }

    public var ignoredColumns: [String] { header.indices.filter { fields[$0] == nil }.map { header[$0] } }

    public func item(_ cells: [String]) -> (JSON, [String: Int]) {
        var o = JSONObject()
        var origin: [String: Int] = [:]
        for (i, f) in fields.enumerated() where i < cells.count {
            guard let f else { continue }
            let cell = cells[i].trimmingCharacters(in: .whitespacesAndNewlines)
            if cell.isEmpty { continue }
            let c = columns[f]
            origin[c.field] = i
            switch c.form {
            case .text: o[c.field] = .string(cell)
            case .list:
                var list = o[c.field]?.arrayValue ?? []
                for v in c.field.hasSuffix("phones") ? ImportMapping.splitPhones(cell) : ImportMapping.split(cell) {
                    origin["\(c.field)[\(list.count)]"] = i
                    list.append(.string(v))
                }
                o[c.field] = .array(list)
            case .integer: o[c.field] = Int64(cell).map { .int($0) } ?? .string(cell)
            case .money: o[c.field] = Self.money(cell).map { .int($0) } ?? .string(cell)
            case .instant: o[c.field] = .string(Self.instant(cell) ?? cell)
            case .flag: o[c.field] = .bool(["да", "yes", "1", "true", "✓", "+", "y", "д"].contains(cell.lowercased()))
            case .word(let table): o[c.field] = .string(table[cell.lowercased()] ?? cell)
            }
        }
        return (.object(o), origin)
    }

    public func column(of field: String, _ origin: [String: Int]) -> String? {
        if let i = origin[field] { return header[i] }
        var base = field
        if base.hasSuffix("]"), let b = base.lastIndex(of: "[") { base = String(base[..<b]) }
        if let i = origin[base] ?? fields.firstIndex(where: { $0.map { columns[$0].field } == base }) { return header[i] }
        return nil
    }

    /// «1 500,50», «1500.5», «1500 ₽» → 150050 kopecks; nil when it is no sum.
    public static func money(_ cell: String) -> Int64? {
        var s = cell.filter { !$0.isWhitespace && $0 != "₽" && $0 != "'" }
        if s.lowercased().hasSuffix("руб.") { s.removeLast(4) } else if s.lowercased().hasSuffix("р.") { s.removeLast(2) }
        s = s.replacingOccurrences(of: ",", with: ".")
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let whole = Int64(parts[0]), whole >= 0, whole < 100_000_000_000 else { return nil }
        var kopecks: Int64 = 0
        if parts.count == 2 {
            let k = parts[1]
            guard (1...2).contains(k.count), let v = Int64(k) else { return nil }
            kopecks = k.count == 1 ? v * 10 : v
        }
        return whole * 100 + kopecks
    }

    /// A local date and time (the machine's time zone, or `TZ`) as RFC 3339; RFC 3339 as it is;
    /// nil when it is neither.
    public static func instant(_ cell: String, zone: TimeZone = .current) -> String? {
        if RFC3339.parse(cell) != nil { return cell }
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = zone
        for format in [
            "dd.MM.yyyy HH:mm:ss", "dd.MM.yyyy HH:mm", "dd.MM.yyyy", "yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd HH:mm", "yyyy-MM-dd'T'HH:mm:ss",
            "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd", "dd/MM/yyyy HH:mm", "dd/MM/yyyy",
        ] {
            f.dateFormat = format
            if let d = f.date(from: cell) { return RFC3339.format(d) }
        }
        return nil
    }
}
