import Foundation
import GRDB

/// Events, alerts and the rows of releases (audit, release record, cooldown) a write holds back
/// and inserts many rows per statement when it ends.
///
/// A single-row insert pays SQLite's per-statement work (opening the table's and indexes'
/// cursors, the statement journal, the autoincrement bookkeeping) for one row; the scheduler
/// inserts hundreds of thousands of events and reminders in a pass, and 64 rows per statement
/// take about half the time per row. Ids are assigned as the rows are buffered (the write runs on
/// the single writer, so the next seq and alert id are known), so callers get them at once as
/// before; rows reach the database in the same order, inside the same transaction.
final class BufferedRows {
    struct Event {
        var seq: Int64, at: Int64, topic: String, clientID: Int64?, ownerID: Int64?, previousOwnerID: Int64?, data: String
    }

    struct Alert {
        var id: Int64, userID: Int64, clientID: Int64?, kind: String, daysLeft: Int?, zone: String?, message: String
        var dueAt: Int64, deliverAt: Int64, createdAt: Int64, deliveredAt: Int64?, commandStatus: String?, commandNextAt: Int64?
        var superseded: Bool
        var dealID: Int64? = nil
        var taskID: Int64? = nil
        var invoiceID: Int64? = nil
    }

    struct Audit {
        var at: Int64, actorID: Int64?, actorLogin: String, actorUID: Int64, actingAdmin: String?, entity: String
        var entityID: Int64?, action: String, before: String?, after: String?
    }

    struct Release {
        var clientID: Int64, userID: Int64?, at: Int64, manual: Bool, reason: String?
    }

    struct Ban {
        var clientID: Int64, userID: Int64, until: Int64
    }

    struct Holder: Hashable {
        var clientID: Int64, userID: Int64
    }

    var events: [Event] = []
    var alerts: [Alert] = []
    var audits: [Audit] = []
    var releases: [Release] = []
    var bans: [Ban] = []
    var nextSeq: Int64?
    var nextAlertID: Int64?
    /// Buffered alerts not yet delivered or superseded, by client and addressee.
    var pending: [Holder: Int] = [:]

    /// Rows per multi-row statement: 64 events are 448 parameters, 64 alerts 896 (SQLite allows
    /// 32,766).
    static let rowsPerStatement = 64
}

extension Tx {
    /// Runs `body` with events, alerts and release rows held back, then inserts them many rows per
    /// statement (see ``BufferedRows``). For long writes of many events (the scheduler's batches).
    public func buffered<T>(_ body: (Tx) throws -> T) throws -> T {
        let tx = Tx(db: db, appended: appended, raw: raw, buffer: BufferedRows())
        let result = try body(tx)
        try tx.flushBuffered()
        return result
    }

    func nextBufferedSeq(_ b: BufferedRows) throws -> Int64 {
        let seq: Int64
        if let next = b.nextSeq {
            seq = next
        } else {
            // AUTOINCREMENT: above both the largest seq ever used and the largest present.
            seq =
                1
                + (try Int64.fetchOne(
                    db,
                    sql: """
                        SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0),
                          coalesce((SELECT max(seq) FROM events), 0))
                        """) ?? 0)
        }
        b.nextSeq = seq + 1
        return seq
    }

    func nextBufferedAlertID(_ b: BufferedRows) throws -> Int64 {
        let id = try b.nextAlertID ?? (1 + (try Int64.fetchOne(db, sql: "SELECT coalesce(max(id), 0) FROM alerts") ?? 0))
        b.nextAlertID = id + 1
        return id
    }

    /// Marks buffered pending alerts superseded: those of `clientID` for `userID`, or for anyone.
    func supersedeBuffered(_ b: BufferedRows, clientID: Int64, userID: Int64?) {
        if let userID {
            if let i = b.pending.removeValue(forKey: .init(clientID: clientID, userID: userID)) { b.alerts[i].superseded = true }
            return
        }
        for (holder, i) in b.pending where holder.clientID == clientID {
            b.alerts[i].superseded = true
            b.pending[holder] = nil
        }
    }

    func flushBuffered() throws {
        guard let b = buffer else { return }
        try insertMany(
            b.events, table: "events", columns: "seq, at, topic, client_id, owner_id, previous_owner_id, data", count: 7
        ) { s, first, e in
            s.bind(from: first, e.seq, e.at, e.topic, e.clientID, e.ownerID, e.previousOwnerID, e.data)
        }
        try insertMany(
            b.alerts, table: "alerts",
            columns:
                "id, user_id, client_id, kind, days_left, zone, message, due_at, deliver_at, created_at, delivered_at, command_status, command_next_at, superseded, deal_id, task_id, invoice_id",
            count: 17
        ) { s, first, a in
            s.bind(
                from: first, a.id, a.userID, a.clientID, a.kind, a.daysLeft, a.zone, a.message, a.dueAt, a.deliverAt, a.createdAt,
                a.deliveredAt, a.commandStatus, a.commandNextAt, a.superseded, a.dealID, a.taskID, a.invoiceID)
        }
        try insertMany(
            b.audits, table: "audit",
            columns: "at, actor_id, actor_login, actor_uid, acting_admin, entity, entity_id, action, before, after",
            count: 10
        ) { s, first, a in
            s.bind(
                from: first, a.at, a.actorID, a.actorLogin, a.actorUID, a.actingAdmin, a.entity, a.entityID, a.action, a.before, a.after)
        }
        try insertMany(b.releases, table: "releases", columns: "client_id, user_id, at, manual, reason", count: 5) { s, first, r in
            s.bind(from: first, r.clientID, r.userID, r.at, r.manual ? 1 : 0, r.reason)
        }
        try insertMany(
            b.bans, table: "exchange_bans", columns: "client_id, user_id, until", count: 3,
            suffix: " ON CONFLICT(client_id, user_id) DO UPDATE SET until = excluded.until"
        ) { s, first, ban in
            s.bind(from: first, ban.clientID, ban.userID, ban.until)
        }
        b.events = []
        b.alerts = []
        b.audits = []
        b.releases = []
        b.bans = []
        b.pending = [:]
    }

    /// Inserts `rows` in statements of ``BufferedRows/rowsPerStatement`` rows, the rest one by one.
    func insertMany<Row>(
        _ rows: [Row], table: String, columns: String, count: Int, suffix: String = "", bind: (RawStatement, Int32, Row) -> Void
    ) throws {
        guard !rows.isEmpty else { return }
        let one = "(" + Array(repeating: "?", count: count).joined(separator: ", ") + ")"
        func sql(_ n: Int) -> String {
            "INSERT INTO \(table)(\(columns)) VALUES " + Array(repeating: one, count: n).joined(separator: ", ") + suffix
        }
        let k = BufferedRows.rowsPerStatement
        var i = 0
        if rows.count >= k {
            let many = try prepared(sql(k))
            while i + k <= rows.count {
                for j in 0..<k { bind(many, Int32(j * count + 1), rows[i + j]) }
                try many.run()
                i += k
            }
        }
        if i < rows.count {
            let single = try prepared(sql(1))
            while i < rows.count {
                bind(single, 1, rows[i])
                try single.run()
                i += 1
            }
        }
    }
}
