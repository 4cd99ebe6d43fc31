public import CRMCore
public import Foundation
import GRDB

/// One audit entry: who changed what, when, and the before/after images as JSON text.
public struct AuditEntry: Sendable, Equatable {
    public var id: Int64
    public var at: Date
    public var actorID: Int64?
    public var actorLogin: String
    public var actorUID: UInt32
    public var actingAdmin: String?
    public var entity: String
    public var entityID: Int64?
    public var action: String
    public var before: String?
    public var after: String?
}

extension Tx {
    /// Appends an audit entry for `actor`.
    public func audit(_ actor: Actor, entity: String, id: Int64?, action: String, before: String?, after: String?, at: Date) throws {
        if let buffer {
            buffer.audits.append(
                .init(
                    at: ms(at), actorID: actor.userID, actorLogin: actor.login, actorUID: Int64(actor.uid), actingAdmin: actor.actingAdmin,
                    entity: entity, entityID: id, action: action, before: before, after: after))
            return
        }
        try prepared(
            """
            INSERT INTO audit(at, actor_id, actor_login, actor_uid, acting_admin, entity, entity_id, action, before, after)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """
        ).run(ms(at), actor.userID, actor.login, Int64(actor.uid), actor.actingAdmin, entity, id, action, before, after)
    }

    /// A page of the audit history of one entity, oldest first.
    public func auditHistory(entity: String, id: Int64, afterID: Int64?, limit: Int) throws -> Page<AuditEntry> {
        let found = try rows(
            """
            SELECT id, at, actor_id, actor_login, actor_uid, acting_admin, entity, entity_id, action, before, after
            FROM audit WHERE entity = ? AND entity_id = ? AND id > ? ORDER BY id LIMIT ?
            """, [entity, id, afterID ?? 0, limit + 1])
        var items = found.map { r in
            AuditEntry(
                id: r[0], at: date(r[1] as Int64), actorID: r[2], actorLogin: r[3],
                actorUID: UInt32(truncatingIfNeeded: r[4] as Int64), actingAdmin: r[5], entity: r[6], entityID: r[7], action: r[8],
                before: r[9], after: r[10])
        }
        let more = items.count > limit
        if more { items.removeLast() }
        return Page(items: items, nextCursor: more ? items.last.map { String($0.id) } : nil)
    }

    /// Number of audit entries (tests and status).
    public func auditCount() throws -> Int { try Int.fetchOne(db, sql: "SELECT count(*) FROM audit") ?? 0 }
}
