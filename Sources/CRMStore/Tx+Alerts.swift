public import Foundation
import GRDB

/// One stored alert.
public struct StoredAlert: Sendable, Equatable {
    public var id: Int64
    public var userID: Int64
    public var clientID: Int64?
    public var kind: String
    public var daysLeft: Int?
    public var zone: String?
    public var message: String
    public var dueAt: Date
    public var deliverAt: Date
    public var deliveredAt: Date?
    public var ackedAt: Date?
    public var superseded: Bool
    public var commandStatus: String?
    public var commandAttempts: Int
    public var commandError: String?
    public var createdAt: Date
    /// The deal a cadence reminder is about (its client is named in the message).
    public var dealID: Int64?
    /// The task a due reminder is about.
    public var taskID: Int64?
    /// The invoice an overdue reminder is about.
    public var invoiceID: Int64?

    public init(
        id: Int64, userID: Int64, clientID: Int64?, kind: String, daysLeft: Int?, zone: String?, message: String, dueAt: Date,
        deliverAt: Date, deliveredAt: Date?, ackedAt: Date?, superseded: Bool, commandStatus: String?, commandAttempts: Int,
        commandError: String?, createdAt: Date, dealID: Int64? = nil, taskID: Int64? = nil, invoiceID: Int64? = nil
    ) {
        self.dealID = dealID
        self.taskID = taskID
        self.invoiceID = invoiceID
        self.id = id
        self.userID = userID
        self.clientID = clientID
        self.kind = kind
        self.daysLeft = daysLeft
        self.zone = zone
        self.message = message
        self.dueAt = dueAt
        self.deliverAt = deliverAt
        self.deliveredAt = deliveredAt
        self.ackedAt = ackedAt
        self.superseded = superseded
        self.commandStatus = commandStatus
        self.commandAttempts = commandAttempts
        self.commandError = commandError
        self.createdAt = createdAt
    }
}

extension Tx {
    static let alertColumns = """
        id, user_id, client_id, kind, days_left, zone, message, due_at, deliver_at, delivered_at, acked_at, superseded, \
        command_status, command_attempts, command_error, created_at, deal_id, task_id, invoice_id
        """

    func alert(from r: Row) -> StoredAlert {
        StoredAlert(
            id: r[0], userID: r[1], clientID: r[2], kind: r[3], daysLeft: r[4], zone: r[5], message: r[6], dueAt: date(r[7] as Int64),
            deliverAt: date(r[8] as Int64), deliveredAt: dateOpt(r[9] as Int64?), ackedAt: dateOpt(r[10] as Int64?), superseded: r[11],
            commandStatus: r[12], commandAttempts: r[13], commandError: r[14], createdAt: date(r[15] as Int64), dealID: r[16],
            taskID: r[17],
            invoiceID: r[18]
        )
    }

    /// Stores an alert for delivery at `deliverAt`; older undelivered alerts of the same kind
    /// family for the same client and user are superseded (only the newest reminder matters).
    /// With `deliveredAt` the alert is stored as delivered (its delivery instant has come, and
    /// the caller records its `alert` event in the same transaction); `command` then queues it
    /// for the delivery command.
    @discardableResult
    public func insertAlert(
        userID: Int64, clientID: Int64?, kind: String, daysLeft: Int?, zone: String?, message: String, dueAt: Date, deliverAt: Date,
        now: Date, deliveredAt: Date? = nil, command: Bool = false
    ) throws -> Int64 {
        // Looked up before updating: an UPDATE that clears the very condition of the partial
        // index it searches collects the row ids in a temporary table first, a cost paid even
        // when (as almost always) nothing is pending.
        if let clientID,
            try prepared("SELECT 1 FROM alerts WHERE client_id = ? AND user_id = ? AND delivered_at IS NULL AND superseded = 0 LIMIT 1")
                .exists(clientID, userID)
        {
            try prepared(
                "UPDATE alerts SET superseded = 1 WHERE client_id = ? AND user_id = ? AND delivered_at IS NULL AND superseded = 0"
            ).run(clientID, userID)
        }
        let queued = deliveredAt != nil && command
        if let buffer {
            if let clientID { supersedeBuffered(buffer, clientID: clientID, userID: userID) }
            let id = try nextBufferedAlertID(buffer)
            buffer.alerts.append(
                .init(
                    id: id, userID: userID, clientID: clientID, kind: kind, daysLeft: daysLeft, zone: zone, message: message,
                    dueAt: ms(dueAt), deliverAt: ms(deliverAt), createdAt: ms(now), deliveredAt: msOpt(deliveredAt),
                    commandStatus: queued ? "pending" : nil, commandNextAt: queued ? msOpt(deliveredAt) : nil, superseded: false))
            if deliveredAt == nil, let clientID { buffer.pending[.init(clientID: clientID, userID: userID)] = buffer.alerts.count - 1 }
            return id
        }
        try prepared(
            """
            INSERT INTO alerts(user_id, client_id, kind, days_left, zone, message, due_at, deliver_at, created_at, delivered_at,
              command_status, command_next_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """
        ).run(
            userID, clientID, kind, daysLeft, zone, message, ms(dueAt), ms(deliverAt), ms(now), msOpt(deliveredAt),
            queued ? "pending" : nil, queued ? msOpt(deliveredAt) : nil)
        return lastID
    }

    /// Stores a reminder about a deal, a task or an invoice (kept apart from a client's zone
    /// reminders, which supersede one another): an older undelivered one about the same deal or
    /// task for the same user is superseded.
    @discardableResult
    public func insertWorkAlert(
        userID: Int64, dealID: Int64?, taskID: Int64?, invoiceID: Int64? = nil, kind: String, message: String, dueAt: Date,
        deliverAt: Date, now: Date, deliveredAt: Date? = nil, command: Bool = false, supersede: Bool = true
    ) throws -> Int64 {
        // Looked up first, as in ``insertAlert``: almost always nothing is pending.
        if supersede, let dealID,
            try prepared("SELECT 1 FROM alerts WHERE deal_id = ? AND user_id = ? AND delivered_at IS NULL AND superseded = 0 LIMIT 1")
                .exists(dealID, userID)
        {
            try prepared(
                "UPDATE alerts SET superseded = 1 WHERE deal_id = ? AND user_id = ? AND delivered_at IS NULL AND superseded = 0"
            ).run(dealID, userID)
        }
        if supersede, let taskID,
            try prepared("SELECT 1 FROM alerts WHERE task_id = ? AND user_id = ? AND delivered_at IS NULL AND superseded = 0 LIMIT 1")
                .exists(taskID, userID)
        {
            try prepared(
                "UPDATE alerts SET superseded = 1 WHERE task_id = ? AND user_id = ? AND delivered_at IS NULL AND superseded = 0"
            ).run(taskID, userID)
        }
        let queued = deliveredAt != nil && command
        if let buffer {
            let id = try nextBufferedAlertID(buffer)
            buffer.alerts.append(
                .init(
                    id: id, userID: userID, clientID: nil, kind: kind, daysLeft: nil, zone: nil, message: message,
                    dueAt: ms(dueAt), deliverAt: ms(deliverAt), createdAt: ms(now), deliveredAt: msOpt(deliveredAt),
                    commandStatus: queued ? "pending" : nil, commandNextAt: queued ? msOpt(deliveredAt) : nil, superseded: false,
                    dealID: dealID, taskID: taskID, invoiceID: invoiceID))
            return id
        }
        try prepared(
            """
            INSERT INTO alerts(user_id, kind, message, due_at, deliver_at, created_at, delivered_at, command_status, command_next_at,
              deal_id, task_id, invoice_id)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """
        ).run(
            userID, kind, message, ms(dueAt), ms(deliverAt), ms(now), msOpt(deliveredAt), queued ? "pending" : nil,
            queued ? msOpt(deliveredAt) : nil, dealID, taskID, invoiceID)
        return lastID
    }

    /// Drops undelivered reminders about a deal (it came back into cadence, or closed), a task
    /// (done, or moved) or an invoice (paid in full).
    public func supersedeWorkAlerts(dealID: Int64? = nil, taskID: Int64? = nil, invoiceID: Int64? = nil) throws {
        if let invoiceID,
            try prepared("SELECT 1 FROM alerts WHERE invoice_id = ? AND delivered_at IS NULL AND superseded = 0 LIMIT 1").exists(invoiceID)
        {
            try prepared("UPDATE alerts SET superseded = 1 WHERE invoice_id = ? AND delivered_at IS NULL AND superseded = 0").run(invoiceID)
        }
        if let dealID,
            try prepared("SELECT 1 FROM alerts WHERE deal_id = ? AND delivered_at IS NULL AND superseded = 0 LIMIT 1").exists(dealID)
        {
            try prepared("UPDATE alerts SET superseded = 1 WHERE deal_id = ? AND delivered_at IS NULL AND superseded = 0").run(dealID)
        }
        if let taskID,
            try prepared("SELECT 1 FROM alerts WHERE task_id = ? AND delivered_at IS NULL AND superseded = 0 LIMIT 1").exists(taskID)
        {
            try prepared("UPDATE alerts SET superseded = 1 WHERE task_id = ? AND delivered_at IS NULL AND superseded = 0").run(taskID)
        }
    }

    /// Drops undelivered reminders for a client (its clock was reset or it changed hands).
    public func supersedeAlerts(clientID: Int64) throws {
        if let buffer { supersedeBuffered(buffer, clientID: clientID, userID: nil) }
        // Looked up first, as in ``insertAlert``.
        guard try prepared("SELECT 1 FROM alerts WHERE client_id = ? AND delivered_at IS NULL AND superseded = 0 LIMIT 1").exists(clientID)
        else { return }
        try prepared("UPDATE alerts SET superseded = 1 WHERE client_id = ? AND delivered_at IS NULL AND superseded = 0").run(clientID)
    }

    /// Alerts whose delivery time has come.
    public func alertsToDeliver(upTo instant: Date, limit: Int) throws -> [StoredAlert] {
        try rows(
            "SELECT \(Self.alertColumns) FROM alerts WHERE delivered_at IS NULL AND superseded = 0 AND deliver_at <= ? ORDER BY deliver_at, id LIMIT ?",
            [ms(instant), limit]
        ).map(alert(from:))
    }

    /// The next instant an alert is due for delivery.
    public func earliestAlertDelivery() throws -> Date? {
        try Int64.fetchOne(
            db.cachedStatement(sql: "SELECT min(deliver_at) FROM alerts WHERE delivered_at IS NULL AND superseded = 0")
        ).map { date($0) }
    }

    /// Holds an undelivered alert until `instant` (its hour came while crmd was down, and working
    /// hours are over by now).
    public func postponeAlert(alertID: Int64, to instant: Date) throws {
        try exec("UPDATE alerts SET deliver_at = ? WHERE id = ?", [ms(instant), alertID])
    }

    /// Marks an alert delivered with its days left and words as of delivery; `command` says
    /// whether a delivery command must also run.
    public func markDelivered(alertID: Int64, at: Date, command: Bool, daysLeft: Int?, message: String) throws {
        try exec(
            "UPDATE alerts SET delivered_at = ?, command_status = ?, command_next_at = ?, days_left = ?, message = ? WHERE id = ?",
            [ms(at), command ? "pending" : nil, command ? ms(at) : nil, daysLeft, message, alertID])
    }

    /// Alerts waiting for the delivery command.
    public func alertsForCommand(upTo instant: Date, limit: Int) throws -> [StoredAlert] {
        try rows(
            "SELECT \(Self.alertColumns) FROM alerts WHERE command_status = 'pending' AND command_next_at <= ? ORDER BY command_next_at, id LIMIT ?",
            [ms(instant), limit]
        ).map(alert(from:))
    }

    /// The next instant the delivery command has work.
    public func earliestCommandAttempt() throws -> Date? {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT min(command_next_at) FROM alerts WHERE command_status = 'pending'")).map {
            date($0)
        }
    }

    /// Records a delivery-command outcome: done, or failed with the next attempt time.
    public func commandOutcome(alertID: Int64, ok: Bool, error: String?, nextAttempt: Date?) throws {
        try exec(
            """
            UPDATE alerts SET command_status = ?, command_attempts = command_attempts + 1, command_error = ?, command_next_at = ?
            WHERE id = ?
            """, [ok ? "done" : "pending", error, msOpt(nextAttempt), alertID])
    }

    /// Delivery-command figures: pending, failed attempts so far.
    public func commandBacklog() throws -> (pending: Int, failing: Int) {
        guard
            let r = try row(
                "SELECT count(*), coalesce(sum(command_error IS NOT NULL), 0) FROM alerts WHERE command_status = 'pending'")
        else { return (0, 0) }
        return (r[0], r[1])
    }

    /// A page of a user's alerts, newest first.
    public func alerts(userID: Int64, unackedOnly: Bool, beforeID: Int64?, limit: Int) throws -> Page<StoredAlert> {
        let found = try rows(
            """
            SELECT \(Self.alertColumns) FROM alerts
            WHERE user_id = ? AND delivered_at IS NOT NULL AND (? = 0 OR acked_at IS NULL) AND id < ?
            ORDER BY id DESC LIMIT ?
            """, [userID, unackedOnly, beforeID ?? Int64.max, limit + 1])
        var items = found.map(alert(from:))
        let more = items.count > limit
        if more { items.removeLast() }
        return Page(items: items, nextCursor: more ? items.last.map { String($0.id) } : nil)
    }

    /// Acknowledges a user's delivered alerts; returns how many changed.
    public func ackAlerts(userID: Int64, ids: [Int64], at: Date) throws -> Int {
        var n = 0
        for id in ids {
            try exec(
                "UPDATE alerts SET acked_at = ? WHERE id = ? AND user_id = ? AND acked_at IS NULL AND delivered_at IS NOT NULL",
                [ms(at), id, userID])
            n += db.changesCount
        }
        return n
    }
}
