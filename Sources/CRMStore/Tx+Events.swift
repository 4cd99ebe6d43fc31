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

/// One recorded event of the durable log.
public struct StoredEvent: Sendable, Equatable {
    public var seq: Int64
    public var at: Date
    public var topic: String
    public var clientID: Int64?
    public var ownerID: Int64?
    /// The owner a client left, for a change of hands (they see the event too).
    public var previousOwnerID: Int64? = nil
    /// The event's data as JSON text.
    public var data: String
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

    /// The method and stored response (JSON text) of a request already processed for this actor.
    public func processedRequest(actor: String, requestID: String) throws -> (method: String, response: String)? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT method, response FROM requests WHERE actor = ? AND request_id = ?"),
            arguments: [actor, requestID]
        ).map { (method: $0[0], response: $0[1]) }
    }

    /// Remembers a request's response, so a retry returns it and writes nothing.
    public func rememberResponse(actor: String, requestID: String, method: String, response: String, at: Date) throws {
        try exec(
            "INSERT INTO requests(actor, request_id, method, response, at) VALUES (?, ?, ?, ?, ?)",
            [actor, requestID, method, response, ms(at)])
    }

    /// Appends an event to the durable log and returns its seq.
    @discardableResult
    public func appendEvent(
        topic: String, clientID: Int64?, ownerID: Int64?, previousOwnerID: Int64? = nil, data: String, at: Date
    ) throws -> Int64 {
        let stored = ms(at)
        let seq: Int64
        if let buffer {
            seq = try nextBufferedSeq(buffer)
            buffer.events.append(
                .init(
                    seq: seq, at: stored, topic: topic, clientID: clientID, ownerID: ownerID, previousOwnerID: previousOwnerID, data: data))
        } else {
            try prepared("INSERT INTO events(at, topic, client_id, owner_id, previous_owner_id, data) VALUES (?, ?, ?, ?, ?, ?)").run(
                stored, topic, clientID, ownerID, previousOwnerID, data)
            seq = lastID
        }
        appended?.events.append(
            StoredEvent(
                seq: seq, at: date(stored), topic: topic, clientID: clientID, ownerID: ownerID, previousOwnerID: previousOwnerID, data: data
            ))
        return seq
    }

    /// Events after `seq`, oldest first.
    public func events(after seq: Int64, limit: Int) throws -> [StoredEvent] {
        try rows(
            "SELECT seq, at, topic, client_id, owner_id, data, previous_owner_id FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
            [seq, limit]
        ).map {
            StoredEvent(
                seq: $0[0], at: date($0[1] as Int64), topic: $0[2], clientID: $0[3], ownerID: $0[4], previousOwnerID: $0[6], data: $0[5])
        }
    }

    /// Events after `seq` that concern `ownerID` or the exchange, oldest first: the SQL side of a
    /// manager's visibility, so a manager's subscription never reads other managers' events.
    public func events(after seq: Int64, visibleTo ownerID: Int64, limit: Int) throws -> [StoredEvent] {
        try rows(
            """
            SELECT seq, at, topic, client_id, owner_id, data, previous_owner_id FROM events
            WHERE seq > ? AND (owner_id = ? OR previous_owner_id = ? OR topic IN ('client.released', 'client.claimed'))
            ORDER BY seq LIMIT ?
            """, [seq, ownerID, ownerID, limit]
        ).map {
            StoredEvent(
                seq: $0[0], at: date($0[1] as Int64), topic: $0[2], clientID: $0[3], ownerID: $0[4], previousOwnerID: $0[6], data: $0[5])
        }
    }

    /// The newest seq, 0 when the log is empty.
    public func lastSeq() throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT coalesce(max(seq), 0) FROM events") ?? 0
    }

    /// A cheap fingerprint of the clients' zone counts: the last event seq (every change of zone,
    /// owner or status records one) and the newest client id (creations). Two index lookups.
    public func zoneCountsVersion() throws -> [Int64] {
        [try lastSeq(), try Int64.fetchOne(db, sql: "SELECT coalesce(max(id), 0) FROM clients") ?? 0]
    }
}
