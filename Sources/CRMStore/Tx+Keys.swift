import Foundation
import GRDB

/// Phones and e-mails of many clients in one query: the import's duplicate check and the pages
/// of `client.list` (which asked twice per client before, 2,000 statements for a page of 1,000).
extension Tx {
    /// Values per `IN (…)` list: 500 parameters, well under SQLite's 32,766.
    static let keysPerStatement = 500

    /// The first holder of each of `values` (normalized phones; e-mails when `emails`), the one
    /// ``phoneHolders(_:)`` and ``emailHolders(_:)`` name first: a client's own before a contact's,
    /// then the oldest. Values nobody holds are absent. One query per 500 values (`phones_phone`,
    /// `emails_email`).
    public func firstHolders(_ values: [String], emails: Bool) throws -> [String: (clientID: Int64, contactID: Int64?)] {
        let (table, column) = emails ? ("emails", "email") : ("phones", "phone")
        var out: [String: (clientID: Int64, contactID: Int64?)] = [:]
        try chunked(Array(Set(values))) { chunk, marks in
            let st = try db.makeStatement(
                sql:
                    "SELECT \(column), client_id, contact_id FROM \(table) WHERE \(column) IN (\(marks)) ORDER BY contact_id IS NOT NULL, rowid"
            )
            for r in try Row.fetchAll(st, arguments: StatementArguments(chunk)) {
                let v: String = r[0]
                if out[v] == nil { out[v] = (clientID: r[1], contactID: r[2]) }
            }
        }
        return out
    }

    /// The clients' own phones and e-mails (not their contacts'), each list in position order;
    /// clients with none are absent. Two queries per 500 clients (`phones_holder`, `emails_holder`).
    func ownKeys(of ids: [Int64]) throws -> (phones: [Int64: [String]], emails: [Int64: [String]]) {
        var phones: [Int64: [String]] = [:]
        var emails: [Int64: [String]] = [:]
        try chunked(ids) { chunk, marks in
            let args = StatementArguments(chunk)
            for (table, column) in [("phones", "phone"), ("emails", "email")] {
                let st = try db.makeStatement(
                    sql:
                        "SELECT client_id, \(column) FROM \(table) WHERE client_id IN (\(marks)) AND contact_id IS NULL ORDER BY client_id, position"
                )
                for r in try Row.fetchAll(st, arguments: args) {
                    let id: Int64 = r[0]
                    let v: String = r[1]
                    if table == "phones" { phones[id, default: []].append(v) } else { emails[id, default: []].append(v) }
                }
            }
        }
        return (phones, emails)
    }

    /// Runs `body` on slices of at most ``keysPerStatement`` values with their `?, ?, …` list.
    private func chunked<V: DatabaseValueConvertible>(_ values: [V], _ body: ([V], String) throws -> Void) throws {
        var i = 0
        while i < values.count {
            let chunk = Array(values[i..<min(i + Self.keysPerStatement, values.count)])
            i += chunk.count
            try body(chunk, Array(repeating: "?", count: chunk.count).joined(separator: ", "))
        }
    }
}
