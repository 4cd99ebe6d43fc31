public import Foundation
import GRDB

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
}
