public import CRMCore
import Foundation
import GRDB

extension Tx {
    static let interactionColumns =
        "id, client_id, contact_id, author_id, author_login, kind, direction, occurred_at, topic, result, note, resets_clock, created_at, deal_id, captured"

    func interaction(from r: Row) -> Interaction {
        Interaction(
            id: r[0], clientID: r[1], contactID: r[2], authorID: r[3], authorLogin: r[4],
            kind: InteractionKind(rawValue: r[5]) ?? .note, direction: r[6], occurredAt: date(r[7] as Int64), topic: r[8],
            result: r[9], note: r[10], resetsClock: r[11], createdAt: date(r[12] as Int64), dealID: r[13], captured: r[14])
    }

    /// Stores an interaction; its id is assigned.
    public func insertInteraction(_ i: Interaction) throws -> Interaction {
        try exec(
            """
            INSERT INTO interactions(client_id, contact_id, author_id, author_login, kind, direction, occurred_at, topic, result,
              note, resets_clock, created_at, deal_id, captured) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                i.clientID, i.contactID, i.authorID, i.authorLogin, i.kind.rawValue, i.direction, ms(i.occurredAt), i.topic,
                i.result, i.note, i.resetsClock, ms(i.createdAt), i.dealID, i.captured,
            ])
        var saved = i
        saved.id = lastID
        return saved
    }

    /// A page of a client's interactions, newest first. The cursor is `occurred_at:id`.
    public func interactions(clientID: Int64, cursor: String?, limit: Int) throws -> Page<Interaction> {
        var before: (Int64, Int64) = (Int64.max, Int64.max)
        if let c = cursor {
            let parts = c.split(separator: ":")
            if parts.count == 2, let a = Int64(parts[0]), let b = Int64(parts[1]) { before = (a, b) }
        }
        let found = try rows(
            """
            SELECT \(Self.interactionColumns) FROM interactions
            WHERE client_id = ? AND (occurred_at < ? OR (occurred_at = ? AND id < ?))
            ORDER BY occurred_at DESC, id DESC LIMIT ?
            """, [clientID, before.0, before.0, before.1, limit + 1])
        var items = found.map(interaction(from:))
        let more = items.count > limit
        if more { items.removeLast() }
        let next = more ? items.last.map { "\(ms($0.occurredAt)):\($0.id)" } : nil
        return Page(items: items, nextCursor: next)
    }

    /// The latest interaction that reset the clock, with its author (for `client.explain`).
    public func lastResettingInteraction(clientID: Int64) throws -> Interaction? {
        try row(
            "SELECT \(Self.interactionColumns) FROM interactions WHERE client_id = ? AND resets_clock = 1 ORDER BY occurred_at DESC, id DESC LIMIT 1",
            [clientID]
        ).map(interaction(from:))
    }

    /// A page of a deal's interactions (its comments, calls, start and moves), newest first.
    public func interactions(dealID: Int64, limit: Int) throws -> [Interaction] {
        try rows(
            "SELECT \(Self.interactionColumns) FROM interactions WHERE deal_id = ? ORDER BY id DESC LIMIT ?", [dealID, limit]
        ).map(interaction(from:))
    }
}
