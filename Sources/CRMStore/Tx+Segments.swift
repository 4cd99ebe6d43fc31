public import CRMCore
public import Foundation
import GRDB

/// Saved segments and static members (docs/rules.md, "Segments and mailing lists").
extension Tx {
    static let segmentColumns = "id, name, kind, filter, owner_id, creator_login, created_at, updated_at"

    func segment(from r: Row) -> Segment {
        Segment(
            id: r[0], name: r[1], kind: Segment.Kind(rawValue: r[2]) ?? .dynamic, filterJSON: r[3], ownerID: r[4], creatorLogin: r[5],
            createdAt: date(r[6] as Int64), updatedAt: date(r[7] as Int64))
    }

    public func segment(id: Int64) throws -> Segment? {
        try row("SELECT \(Self.segmentColumns) FROM segments WHERE id = ?", [id]).map(segment(from:))
    }

    /// The segment named `name` (case-insensitively), if any.
    public func segment(named name: String) throws -> Segment? {
        try row("SELECT \(Self.segmentColumns) FROM segments WHERE name_fold = ?", [name.lowercased()]).map(segment(from:))
    }

    /// How many segments there are: the shared ones (`ownerID` nil) or one user's own.
    public func segmentCount(ownerID: Int64?) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT count(*) FROM segments WHERE owner_id IS ?", arguments: [ownerID]) ?? 0
    }

    /// A page of segments by id: every one, or (`visibleTo`) the shared ones and that user's own.
    public func segments(visibleTo userID: Int64?, afterID: Int64?, limit: Int) throws -> Page<Segment> {
        var f = SQLFilter()
        if let userID { f.add("(owner_id IS NULL OR owner_id = ?)", userID) }
        f.add("id > ?", afterID ?? 0)
        return try page("SELECT \(Self.segmentColumns) FROM segments", f, order: "id", limit: limit, segment(from:)) { String($0.id) }
    }

    /// Inserts or updates a segment (by id; 0 inserts); returns it with its id.
    public func saveSegment(_ s: Segment) throws -> Segment {
        if s.id == 0 {
            try exec(
                """
                INSERT INTO segments(name, name_fold, kind, filter, owner_id, creator_login, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [s.name, s.name.lowercased(), s.kind.rawValue, s.filterJSON, s.ownerID, s.creatorLogin, ms(s.createdAt), ms(s.updatedAt)])
            var saved = s
            saved.id = lastID
            return saved
        }
        try exec(
            "UPDATE segments SET name = ?, name_fold = ?, filter = ?, updated_at = ? WHERE id = ?",
            [s.name, s.name.lowercased(), s.filterJSON, ms(s.updatedAt), s.id])
        return s
    }

    public func deleteSegment(id: Int64) throws {
        try exec("DELETE FROM segment_members WHERE segment_id = ?", [id])
        try exec("DELETE FROM segments WHERE id = ?", [id])
    }

    /// Members of a static segment (all owners).
    public func segmentMemberCount(segmentID: Int64) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT count(*) FROM segment_members WHERE segment_id = ?", arguments: [segmentID]) ?? 0
    }

    /// Of `ids`, those with no client.
    public func missingClients(_ ids: [Int64]) throws -> [Int64] {
        var missing: [Int64] = []
        let stmt = try db.cachedStatement(sql: "SELECT 1 FROM clients WHERE id = ?")
        for id in ids where try Int.fetchOne(stmt, arguments: [id]) == nil { missing.append(id) }
        return missing
    }

    /// Of `ids`, those not led by `ownerID`.
    public func clientsNotOwned(_ ids: [Int64], by ownerID: Int64) throws -> [Int64] {
        var other: [Int64] = []
        let stmt = try db.cachedStatement(sql: "SELECT owner_id FROM clients WHERE id = ?")
        for id in ids where try Int64.fetchOne(stmt, arguments: [id]) != ownerID { other.append(id) }
        return other
    }

    /// Adds `add` and removes `remove` from a static segment; returns how many were added and
    /// removed (a client already in, or not in, counts for nothing).
    public func changeMembers(segmentID: Int64, add: [Int64], remove: [Int64], at: Date) throws -> (added: Int, removed: Int) {
        var added = 0
        var removed = 0
        for id in add {
            try exec("INSERT OR IGNORE INTO segment_members(segment_id, client_id, added_at) VALUES (?, ?, ?)", [segmentID, id, ms(at)])
            added += db.changesCount
        }
        for id in remove {
            try exec("DELETE FROM segment_members WHERE segment_id = ? AND client_id = ?", [segmentID, id])
            removed += db.changesCount
        }
        return (added, removed)
    }

    /// A page of the clients in `scope`, by id, with their phones and e-mails.
    public func segmentMembers(_ scope: SegmentScope, afterID: Int64?, limit: Int) throws -> Page<Client> {
        let found = try rows(
            "SELECT \(Self.clientColumns) FROM clients c WHERE (\(scope.sql)) AND c.id > ? ORDER BY c.id LIMIT ?",
            StatementArguments(scope.args + [afterID ?? 0, limit + 1]))
        let more = found.count > limit
        let items = try found.prefix(limit).map { r -> Client in
            let id: Int64 = r[0]
            return client(from: r, phones: try phones(clientID: id, contactID: nil), emails: try emails(clientID: id, contactID: nil))
        }
        return Page(items: items, nextCursor: more ? items.last.map { String($0.id) } : nil)
    }
}
