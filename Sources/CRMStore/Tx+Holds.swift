public import CRMCore
public import Foundation
import GRDB

/// A freeze as stored: asked for by the owner, decided by a head.
public struct StoredFreeze: Sendable, Equatable {
    public var id: Int64
    public var clientID: Int64
    public var status: FreezeStatus
    public var until: Date
    public var reason: String
    public var requestedBy: String
    public var requestedAt: Date
    /// When the clock stopped (the approval).
    public var from: Date?
    public var decidedBy: String?
    public var decidedAt: Date?
    public var note: String?

    /// The status as of `now`: an approved freeze whose `until` passed has ended.
    public func status(at now: Date) -> FreezeStatus { status == .approved && until <= now ? .ended : status }

    /// The span the clock stood still, if it was approved.
    public var span: FrozenSpan? { from.map { FrozenSpan(from: $0, until: until) } }
}

extension Tx {
    static let freezeColumns = "id, client_id, status, until_at, reason, requested_by, requested_at, from_at, decided_by, decided_at, note"

    func freeze(from r: Row) -> StoredFreeze {
        StoredFreeze(
            id: r[0], clientID: r[1], status: FreezeStatus(rawValue: r[2]) ?? .refused, until: date(r[3]), reason: r[4], requestedBy: r[5],
            requestedAt: date(r[6]), from: dateOpt(r[7]), decidedBy: r[8], decidedAt: dateOpt(r[9]), note: r[10])
    }

    /// The client's latest freeze (asked for, decided or over), if any.
    public func latestFreeze(clientID: Int64) throws -> StoredFreeze? {
        try row("SELECT \(Self.freezeColumns) FROM freezes WHERE client_id = ? ORDER BY id DESC LIMIT 1", [clientID]).map(freeze(from:))
    }

    /// The spans the client's clock stood still (approved freezes), oldest first.
    public func frozenSpans(clientID: Int64) throws -> [FrozenSpan] {
        try rows(
            "SELECT from_at, until_at FROM freezes WHERE client_id = ? AND status = 'approved' AND from_at IS NOT NULL ORDER BY id",
            [clientID]
        ).map { FrozenSpan(from: date($0[0]), until: date($0[1])) }
    }

    /// Records a freeze asked for; returns it.
    public func insertFreeze(clientID: Int64, until: Date, reason: String, by login: String, now: Date) throws -> StoredFreeze {
        try exec(
            "INSERT INTO freezes(client_id, status, until_at, reason, requested_by, requested_at) VALUES (?, 'requested', ?, ?, ?, ?)",
            [clientID, ms(until), reason, login, ms(now)])
        return StoredFreeze(
            id: lastID, clientID: clientID, status: .requested, until: until, reason: reason, requestedBy: login, requestedAt: now)
    }

    /// Records a head's decision on freeze `f` (approved: the clock stops at `now`).
    public func decideFreeze(_ f: StoredFreeze, approve: Bool, by login: String, note: String?, now: Date) throws -> StoredFreeze {
        var d = f
        d.status = approve ? .approved : .refused
        d.from = approve ? now : nil
        d.decidedBy = login
        d.decidedAt = now
        d.note = note
        try exec(
            "UPDATE freezes SET status = ?, from_at = ?, decided_by = ?, decided_at = ?, note = ? WHERE id = ?",
            [d.status.rawValue, msOpt(d.from), login, ms(now), note, f.id])
        return d
    }

    /// Clients of `ownerID` with a freeze waiting for a decision or running at `now`.
    public func openFreezeCount(ownerID: Int64, now: Date) throws -> Int {
        try row(
            """
            SELECT count(DISTINCT f.client_id) FROM freezes f JOIN clients c ON c.id = f.client_id
            WHERE c.owner_id = ? AND (f.status = 'requested' OR (f.status = 'approved' AND f.until_at > ?))
            """, [ownerID, ms(now)])?[0] ?? 0
    }

    /// Who locked the client and when, if it is locked.
    public func lock(clientID: Int64) throws -> (by: String, at: Date)? {
        try row("SELECT locked_by, locked_at FROM client_locks WHERE client_id = ?", [clientID]).map { ($0[0], date($0[1])) }
    }

    /// Locks or unlocks a client; returns whether anything changed.
    @discardableResult
    public func setLock(clientID: Int64, locked: Bool, by login: String, now: Date) throws -> Bool {
        if locked {
            try exec("INSERT OR IGNORE INTO client_locks(client_id, locked_by, locked_at) VALUES (?, ?, ?)", [clientID, login, ms(now)])
        } else {
            try exec("DELETE FROM client_locks WHERE client_id = ?", [clientID])
        }
        return db.changesCount > 0
    }

    /// Locked clients `ownerID` leads.
    public func lockedCount(ownerID: Int64) throws -> Int {
        try row("SELECT count(*) FROM client_locks l JOIN clients c ON c.id = l.client_id WHERE c.owner_id = ?", [ownerID])?[0] ?? 0
    }

    /// The client's most recently won deal: its id and when it was won.
    public func lastWonDeal(clientID: Int64) throws -> (id: Int64, at: Date)? {
        try row(
            "SELECT id, closed_at FROM deals WHERE client_id = ? AND status = 'won' AND closed_at IS NOT NULL ORDER BY closed_at DESC, id DESC LIMIT 1",
            [clientID]
        ).map { ($0[0], date($0[1])) }
    }

    /// Holds an assigned client past its release instant back from the exchange: red, looked at
    /// again by the scheduler at `recheckAt` (nil: only when a person's step re-arms it).
    public func holdClient(id: Int64, recheckAt: Date?, now: Date) throws {
        try exec("UPDATE clients SET zone = 'red', next_due_at = ?, updated_at = ? WHERE id = ?", [msOpt(recheckAt), ms(now), id])
    }
}

extension Tx {
    /// A page of assigned clients by id with their clock's start (R), owner, segment and ABC
    /// class: what `exchange.preview` needs to replay proposed thresholds by segment and class.
    public func assignedClocksWithClass(
        afterID: Int64, limit: Int
    ) throws -> [(id: Int64, ownerID: Int64?, start: Date, segment: String?, abc: String?)] {
        try rows(
            """
            SELECT id, owner_id, max(coalesce(last_interaction_at, 0), coalesce(assigned_at, 0)), segment, abc FROM clients
            WHERE status = 'assigned' AND id > ? ORDER BY id LIMIT ?
            """, [afterID, limit]
        ).map { (id: $0[0], ownerID: $0[1], start: date($0[2] as Int64), segment: $0[3], abc: $0[4]) }
    }
}
