import GRDB

/// The WHERE clause of a list with optional filters: a condition and its values per filter set.
struct SQLFilter {
    private var conditions: [String] = []
    private var args: [(any DatabaseValueConvertible)?] = []

    /// Adds `sql` with its values.
    mutating func add(_ sql: String, _ values: (any DatabaseValueConvertible)?...) {
        conditions.append(sql)
        args += values
    }

    /// Adds `sql` (one `?`) with `value` if it is set.
    mutating func add(_ sql: String, ifSet value: (any DatabaseValueConvertible)?) {
        if let value { add(sql, value) }
    }

    var clause: String { conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ") }
    var arguments: [(any DatabaseValueConvertible)?] { args }
}

extension Tx {
    /// One page of `select … FROM table` rows passing `filter`, in `order`, with the cursor of the
    /// last item shown when more follow.
    func page<T>(
        _ select: String, _ filter: SQLFilter, order: String, limit: Int, _ map: (Row) -> T, cursor: (T) -> String
    ) throws -> Page<T> {
        let found = try rows("\(select) \(filter.clause) ORDER BY \(order) LIMIT ?", StatementArguments(filter.arguments + [limit + 1]))
            .map(map)
        let more = found.count > limit
        let items = more ? Array(found.prefix(limit)) : found
        return Page(items: items, nextCursor: more ? items.last.map(cursor) : nil)
    }
}
