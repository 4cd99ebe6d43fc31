public import Foundation
import GRDB

/// One message to a client in the outbox (`notifications`, v20).
public struct StoredNotification: Sendable, Equatable {
    public enum Status: String, Sendable, CaseIterable {
        /// Waiting for the delivery command (or for its next attempt).
        case pending
        /// The command took it (exit status 0).
        case sent
        /// Never sent: the client opted out, or has no address (`reason`).
        case skipped
    }

    public var id: Int64 = 0
    public var template: String
    public var clientID: Int64
    public var dealID: Int64?
    public var requestID: Int64?
    /// The manager on whose behalf it went (the taker, the deal's owner).
    public var managerID: Int64?
    /// `email` or `sms`; nil when skipped.
    public var channel: String?
    public var recipient: String?
    public var subject: String
    public var text: String
    public var status: Status
    public var reason: String?
    public var attempts: Int = 0
    public var lastError: String?
    public var nextAt: Date?
    public var createdAt: Date
    public var sentAt: Date?

    public init(
        template: String, clientID: Int64, dealID: Int64?, requestID: Int64?, managerID: Int64?, channel: String?, recipient: String?,
        subject: String, text: String, status: Status, reason: String?, nextAt: Date?, createdAt: Date
    ) {
        self.template = template
        self.clientID = clientID
        self.dealID = dealID
        self.requestID = requestID
        self.managerID = managerID
        self.channel = channel
        self.recipient = recipient
        self.subject = subject
        self.text = text
        self.status = status
        self.reason = reason
        self.nextAt = nextAt
        self.createdAt = createdAt
    }
}

/// What `notification.list` narrows to.
public struct NotificationFilter: Sendable {
    public var clientID: Int64?
    public var dealID: Int64?
    public var requestID: Int64?
    public var status: StoredNotification.Status?
    /// Only clients this manager owns now.
    public var ownerID: Int64?
    public init() {}
}

extension Tx {
    static let notificationColumns = """
        n.id, n.template, n.client_id, n.deal_id, n.request_id, n.manager_id, n.channel, n.recipient, n.subject, n.text, n.status, \
        n.reason, n.attempts, n.last_error, n.next_at, n.created_at, n.sent_at
        """

    func notification(from r: Row) -> StoredNotification {
        var n = StoredNotification(
            template: r[1], clientID: r[2], dealID: r[3], requestID: r[4], managerID: r[5], channel: r[6], recipient: r[7],
            subject: r[8], text: r[9], status: StoredNotification.Status(rawValue: r[10]) ?? .pending, reason: r[11],
            nextAt: dateOpt(r[14]), createdAt: date(r[15] as Int64))
        n.id = r[0]
        n.attempts = r[12]
        n.lastError = r[13]
        n.sentAt = dateOpt(r[16])
        return n
    }

    /// Stores a message in the outbox; returns its id.
    @discardableResult
    public func insertNotification(_ n: StoredNotification) throws -> Int64 {
        try exec(
            """
            INSERT INTO notifications(template, client_id, deal_id, request_id, manager_id, channel, recipient, subject, text, status,
              reason, attempts, last_error, next_at, created_at, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                n.template, n.clientID, n.dealID, n.requestID, n.managerID, n.channel, n.recipient, n.subject, n.text, n.status.rawValue,
                n.reason, n.attempts, n.lastError, msOpt(n.nextAt), ms(n.createdAt), msOpt(n.sentAt),
            ])
        return lastID
    }

    /// Messages whose (next) attempt has come, oldest first.
    public func notificationsToSend(upTo instant: Date, limit: Int) throws -> [StoredNotification] {
        try rows(
            """
            SELECT \(Self.notificationColumns) FROM notifications n WHERE n.status = 'pending' AND n.next_at <= ?
            ORDER BY n.next_at, n.id LIMIT ?
            """, [ms(instant), limit]
        ).map(notification(from:))
    }

    /// The next instant a message waits for the command.
    public func earliestNotificationAttempt() throws -> Date? {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT min(next_at) FROM notifications WHERE status = 'pending'")).map { date($0) }
    }

    /// Records a command's outcome: sent, or failed with the next attempt's instant.
    public func notificationOutcome(id: Int64, ok: Bool, error: String?, at: Date, nextAttempt: Date?) throws {
        try exec(
            """
            UPDATE notifications SET status = ?, attempts = attempts + 1, last_error = ?, next_at = ?, sent_at = ?
            WHERE id = ? AND status = 'pending'
            """, [ok ? "sent" : "pending", error, msOpt(nextAttempt), ok ? ms(at) : nil, id])
    }

    /// Messages waiting, and those of them whose last attempt failed.
    public func notificationBacklog() throws -> (pending: Int, failing: Int) {
        guard
            let r = try row(
                "SELECT count(*), coalesce(sum(last_error IS NOT NULL), 0) FROM notifications WHERE status = 'pending'")
        else { return (0, 0) }
        return (r[0], r[1])
    }

    /// A page of messages, newest first.
    public func notifications(_ f: NotificationFilter, beforeID: Int64?, limit: Int) throws -> Page<StoredNotification> {
        var sql = "SELECT \(Self.notificationColumns) FROM notifications n"
        var args: [(any DatabaseValueConvertible)?] = []
        if let owner = f.ownerID {
            sql += " JOIN clients c ON c.id = n.client_id AND c.owner_id = ?"
            args.append(owner)
        }
        sql += " WHERE n.id < ?"
        args.append(beforeID ?? Int64.max)
        for (column, value) in [("n.client_id", f.clientID), ("n.deal_id", f.dealID), ("n.request_id", f.requestID)] {
            if let value {
                sql += " AND \(column) = ?"
                args.append(value)
            }
        }
        if let s = f.status {
            sql += " AND n.status = ?"
            args.append(s.rawValue)
        }
        sql += " ORDER BY n.id DESC LIMIT ?"
        args.append(limit + 1)
        var items = try rows(sql, StatementArguments(args)).map(notification(from:))
        let more = items.count > limit
        if more { items.removeLast() }
        return Page(items: items, nextCursor: more ? items.last.map { String($0.id) } : nil)
    }
}
