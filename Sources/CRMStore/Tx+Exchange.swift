public import CRMCore
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

    public init(
        id: Int64, userID: Int64, clientID: Int64?, kind: String, daysLeft: Int?, zone: String?, message: String, dueAt: Date,
        deliverAt: Date, deliveredAt: Date?, ackedAt: Date?, superseded: Bool, commandStatus: String?, commandAttempts: Int,
        commandError: String?, createdAt: Date
    ) {
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
    // MARK: exchange

    /// Forbids `userID` from claiming `clientID` until `until`.
    public func ban(clientID: Int64, userID: Int64, until: Date) throws {
        if let buffer {
            buffer.bans.append(.init(clientID: clientID, userID: userID, until: ms(until)))
            return
        }
        try prepared(
            "INSERT INTO exchange_bans(client_id, user_id, until) VALUES (?, ?, ?) ON CONFLICT(client_id, user_id) DO UPDATE SET until = excluded.until"
        ).run(clientID, userID, ms(until))
    }

    /// Until when `userID` may not claim `clientID`, if a ban is in force at `now`.
    public func banUntil(clientID: Int64, userID: Int64, now: Date) throws -> Date? {
        try Int64.fetchOne(
            db.cachedStatement(sql: "SELECT until FROM exchange_bans WHERE client_id = ? AND user_id = ? AND until > ?"),
            arguments: [clientID, userID, ms(now)]
        ).map { date($0) }
    }

    /// The clients `userID` may not claim at `now` (their cooldown is in force), with their names
    /// and until when: a manager's bans are few, so the caller compares names itself.
    public func bans(userID: Int64, now: Date) throws -> [(clientID: Int64, name: String, until: Date)] {
        try Row.fetchAll(
            db.cachedStatement(
                sql:
                    "SELECT b.client_id, c.name, b.until FROM exchange_bans b JOIN clients c ON c.id = b.client_id WHERE b.user_id = ? AND b.until > ?"
            ),
            arguments: [userID, ms(now)]
        ).map { row in (row[0], row[1], date(row[2])) }
    }

    /// Records a claim (for limits and reports).
    public func recordClaim(clientID: Int64, userID: Int64, at: Date) throws {
        try exec("INSERT INTO claims(client_id, user_id, at) VALUES (?, ?, ?)", [clientID, userID, ms(at)])
    }

    /// Claims by a user since an instant.
    public func claimCount(userID: Int64, since: Date) throws -> Int {
        try Int.fetchOne(
            db.cachedStatement(sql: "SELECT count(*) FROM claims WHERE user_id = ? AND at >= ?"), arguments: [userID, ms(since)]) ?? 0
    }

    /// Records a release (for reports).
    public func recordRelease(clientID: Int64, userID: Int64?, at: Date, manual: Bool, reason: String?) throws {
        if let buffer {
            buffer.releases.append(.init(clientID: clientID, userID: userID, at: ms(at), manual: manual, reason: reason))
            return
        }
        try prepared("INSERT INTO releases(client_id, user_id, at, manual, reason) VALUES (?, ?, ?, ?, ?)").run(
            clientID, userID, ms(at), manual ? 1 : 0, reason)
    }

    /// Clients a user owns.
    public func ownedCount(userID: Int64) throws -> Int {
        try Int.fetchOne(
            db.cachedStatement(sql: "SELECT count(*) FROM clients WHERE owner_id = ? AND status = 'assigned'"), arguments: [userID]) ?? 0
    }

    /// Claims and releases per user in `[from, to)`: (user id, claims, releases, manual releases).
    public func exchangeActivity(from: Date, to: Date) throws -> [(userID: Int64, claims: Int, releases: Int, manual: Int)] {
        try rows(
            """
            SELECT user_id, sum(c), sum(r), sum(m) FROM (
              SELECT user_id, 1 AS c, 0 AS r, 0 AS m FROM claims WHERE at >= ? AND at <= ?
              UNION ALL
              SELECT user_id, 0, 1, manual FROM releases WHERE at >= ? AND at <= ? AND user_id IS NOT NULL)
            GROUP BY user_id ORDER BY user_id
            """, [ms(from), ms(to), ms(from), ms(to)]
        ).map { (userID: $0[0], claims: $0[1], releases: $0[2], manual: $0[3]) }
    }

    /// Clients whose release falls in `[from, to)`, by release instant (for the preview).
    public func releasesDue(from: Date, to: Date, limit: Int) throws -> [Client] {
        try rows(
            "SELECT \(Self.clientColumns) FROM clients WHERE status = 'assigned' AND release_at >= ? AND release_at < ? ORDER BY release_at, id LIMIT ?",
            [ms(from), ms(to), limit]
        ).map { client(from: $0, phones: [], emails: []) }
    }

    /// All assigned clients' owner and clock start, for a what-if preview of new thresholds.
    public func assignedClocks(afterID: Int64, limit: Int) throws -> [(id: Int64, ownerID: Int64?, start: Date)] {
        try rows(
            """
            SELECT id, owner_id, max(coalesce(last_interaction_at, 0), coalesce(assigned_at, 0)) FROM clients
            WHERE status = 'assigned' AND id > ? ORDER BY id LIMIT ?
            """, [afterID, limit]
        ).map { (id: $0[0], ownerID: $0[1], start: date($0[2] as Int64)) }
    }

    /// Per owner: clients in each applied zone, and on the exchange.
    public func zonesByOwner() throws -> [(ownerID: Int64?, green: Int, yellow: Int, red: Int)] {
        try rows(
            """
            SELECT owner_id, sum(zone = 'green'), sum(zone = 'yellow'), sum(zone = 'red')
            FROM clients WHERE status = 'assigned' GROUP BY owner_id ORDER BY owner_id
            """
        ).map { (ownerID: $0[0], green: $0[1], yellow: $0[2], red: $0[3]) }
    }

    /// Per-manager counts of assigned clients in each zone and of clients released from them.
    public struct ZoneTally: Sendable, Equatable {
        public var green = 0, yellow = 0, red = 0, exchange = 0
        public init() {}
    }

    /// Whether the zone counts of `day` are recorded.
    public func hasZoneSnapshot(day: String) throws -> Bool {
        try Int.fetchOne(db.cachedStatement(sql: "SELECT count(*) FROM zone_daily WHERE day = ?"), arguments: [day]) != 0
    }

    /// Counts every client per manager in one pass over the table, summed in memory: SQLite's
    /// GROUP BY would sort a million rows first (over a second at 1,000,000 clients). Runs on a
    /// read snapshot, so writers are not held up.
    public func zoneTally() throws -> [Int64: ZoneTally] {
        var tally: [Int64: ZoneTally] = [:]
        try scan("SELECT status, owner_id, zone, released_from FROM clients WHERE status IN ('assigned', 'exchange')") { s in
            if s.string(0) == "assigned" {
                guard let owner = s.optionalInt64(1) else { return }
                switch s.optionalString(2) {
                case "green": tally[owner, default: ZoneTally()].green += 1
                case "yellow": tally[owner, default: ZoneTally()].yellow += 1
                case "red": tally[owner, default: ZoneTally()].red += 1
                default: if tally[owner] == nil { tally[owner] = ZoneTally() }
                }
            } else if let from = s.optionalInt64(3) {
                tally[from, default: ZoneTally()].exchange += 1
            }
        }
        return tally
    }

    /// Records the per-manager zone counts of `day` once (the first scheduler pass of each local
    /// day). Returns false if the day was already recorded.
    @discardableResult
    public func recordZoneSnapshot(day: String, _ tally: [Int64: ZoneTally]) throws -> Bool {
        guard try !hasZoneSnapshot(day: day) else { return false }
        for (user, t) in tally.sorted(by: { $0.key < $1.key }) {
            try exec(
                "INSERT INTO zone_daily(day, user_id, green, yellow, red, exchange) VALUES (?, ?, ?, ?, ?, ?)",
                [day, user, t.green, t.yellow, t.red, t.exchange])
        }
        return true
    }

    /// The daily snapshots between two local days (inclusive), by day then manager.
    public func zoneSeries(fromDay: String, toDay: String) throws -> [(
        day: String, userID: Int64, green: Int, yellow: Int, red: Int, exchange: Int
    )] {
        try rows(
            "SELECT day, user_id, green, yellow, red, exchange FROM zone_daily WHERE day >= ? AND day <= ? ORDER BY day, user_id",
            [fromDay, toDay]
        ).map { (day: $0[0], userID: $0[1], green: $0[2], yellow: $0[3], red: $0[4], exchange: $0[5]) }
    }

    /// The latest interaction that reset the clock, with its author (for `client.explain`).
    public func lastResettingInteraction(clientID: Int64) throws -> Interaction? {
        try row(
            "SELECT \(Self.interactionColumns) FROM interactions WHERE client_id = ? AND resets_clock = 1 ORDER BY occurred_at DESC, id DESC LIMIT 1",
            [clientID]
        ).map(interaction(from:))
    }

    // MARK: alerts

    static let alertColumns = """
        id, user_id, client_id, kind, days_left, zone, message, due_at, deliver_at, delivered_at, acked_at, superseded, \
        command_status, command_attempts, command_error, created_at
        """

    func alert(from r: Row) -> StoredAlert {
        StoredAlert(
            id: r[0], userID: r[1], clientID: r[2], kind: r[3], daysLeft: r[4], zone: r[5], message: r[6], dueAt: date(r[7] as Int64),
            deliverAt: date(r[8] as Int64), deliveredAt: dateOpt(r[9] as Int64?), ackedAt: dateOpt(r[10] as Int64?), superseded: r[11],
            commandStatus: r[12], commandAttempts: r[13], commandError: r[14], createdAt: date(r[15] as Int64))
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
