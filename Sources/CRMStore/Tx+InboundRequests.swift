public import CRMCore
public import Foundation
import GRDB

extension Tx {
    static let inboundColumns =
        "id, name, phone, email, source, topic, text, status, assignee_id, client_id, deal_id, due_at, created_at, taken_at, reroutes, creator_login, closed_at, close_reason"

    func inboundRequest(from r: Row) -> InboundRequest {
        InboundRequest(
            id: r[0], name: r[1], phone: r[2], email: r[3], source: r[4], topic: r[5], text: r[6],
            status: InboundRequest.Status(rawValue: r[7]) ?? .new, assigneeID: r[8], clientID: r[9], dealID: r[10],
            dueAt: dateOpt(r[11]), createdAt: date(r[12] as Int64), takenAt: dateOpt(r[13]), reroutes: r[14], creatorLogin: r[15],
            closedAt: dateOpt(r[16]), closeReason: r[17])
    }

    /// Stores a new inbound request; returns it with its id.
    public func insertInboundRequest(_ q: InboundRequest) throws -> InboundRequest {
        try exec(
            """
            INSERT INTO inbound_requests(name, phone, email, source, topic, text, status, assignee_id, client_id, deal_id, due_at,
              created_at, taken_at, reroutes, creator_login) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                q.name, q.phone, q.email, q.source, q.topic, q.text, q.status.rawValue, q.assigneeID, q.clientID, q.dealID,
                msOpt(q.dueAt), ms(q.createdAt), msOpt(q.takenAt), q.reroutes, q.creatorLogin,
            ])
        var saved = q
        saved.id = lastID
        return saved
    }

    /// Writes back a request's status, assignee, client, deal, due instant and reroutes.
    public func updateInboundRequest(_ q: InboundRequest) throws {
        try exec(
            """
            UPDATE inbound_requests SET status = ?, assignee_id = ?, client_id = ?, deal_id = ?, due_at = ?, taken_at = ?,
              reroutes = ?, closed_at = ?, close_reason = ? WHERE id = ?
            """,
            [
                q.status.rawValue, q.assigneeID, q.clientID, q.dealID, msOpt(q.dueAt), msOpt(q.takenAt), q.reroutes, msOpt(q.closedAt),
                q.closeReason, q.id,
            ])
    }

    /// The taken request a deal was opened for, if any.
    public func takenInboundRequest(dealID: Int64) throws -> InboundRequest? {
        try row("SELECT \(Self.inboundColumns) FROM inbound_requests WHERE deal_id = ? AND status = 'taken' LIMIT 1", [dealID])
            .map(inboundRequest(from:))
    }

    public func inboundRequest(id: Int64) throws -> InboundRequest? {
        try row("SELECT \(Self.inboundColumns) FROM inbound_requests WHERE id = ?", [id]).map(inboundRequest(from:))
    }

    /// Requests by id descending, filtered by status and assignee, after `before` (an id), at most `limit`.
    public func inboundRequests(status: InboundRequest.Status?, assigneeID: Int64?, before: Int64?, limit: Int) throws
        -> [InboundRequest]
    {
        var sql = "SELECT \(Self.inboundColumns) FROM inbound_requests WHERE 1"
        var args: [(any DatabaseValueConvertible)?] = []
        if let status {
            sql += " AND status = ?"
            args.append(status.rawValue)
        }
        if let assigneeID {
            sql += " AND assignee_id = ?"
            args.append(assigneeID)
        }
        if let before {
            sql += " AND id < ?"
            args.append(before)
        }
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(limit)
        return try rows(sql, StatementArguments(args)).map(inboundRequest(from:))
    }

    /// Routed requests whose `due_at` is at or before `now`, earliest first, at most `limit`.
    public func overdueInboundRequests(at now: Date, limit: Int) throws -> [InboundRequest] {
        try rows(
            "SELECT \(Self.inboundColumns) FROM inbound_requests WHERE status = 'routed' AND due_at <= ? ORDER BY due_at LIMIT ?",
            [ms(now), limit]
        ).map(inboundRequest(from:))
    }

    /// The earliest `due_at` of a routed request (the scheduler's next wake-up for requests).
    public func earliestRequestDue() throws -> Date? {
        try Int64.fetchOne(
            db.cachedStatement(sql: "SELECT min(due_at) FROM inbound_requests WHERE status = 'routed'")
        ).map(date)
    }

    /// Requests left `new` (nobody was available when they came), oldest first, after id `after`,
    /// at most `limit` (the status index).
    public func waitingInboundRequests(after: Int64, limit: Int) throws -> [InboundRequest] {
        try rows(
            "SELECT \(Self.inboundColumns) FROM inbound_requests WHERE status = 'new' AND id > ? ORDER BY id LIMIT ?", [after, limit]
        ).map(inboundRequest(from:))
    }

    /// Whether any request is left `new` (an index lookup).
    public func anyWaitingInboundRequest() throws -> Bool {
        try Bool.fetchOne(
            db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM inbound_requests WHERE status = 'new')")) ?? false
    }

    /// The assignee of the request routed last (round robin's starting point).
    public func lastRoutedAssignee() throws -> Int64? {
        try Int64.fetchOne(
            db.cachedStatement(
                sql: "SELECT assignee_id FROM inbound_requests WHERE assignee_id IS NOT NULL ORDER BY id DESC LIMIT 1"))
    }

    /// Active managers with their absence, competence and load: the requests routed to them and
    /// not yet taken (an index lookup each; owned clients are not counted, which would read
    /// tens of thousands of index entries per manager on a base of a million).
    public func routingCandidates() throws -> [RoutingCandidate] {
        try rows(
            """
            SELECT u.id, u.active, u.absent_from, u.absent_until, u.competence, coalesce(l.routed, 0)
            FROM users u LEFT JOIN request_load l ON l.user_id = u.id WHERE u.role = 'manager' AND u.active
            """
        ).map { r in
            RoutingCandidate(
                id: r[0], active: r[1], absentFrom: dateOpt(r[2]), absentUntil: dateOpt(r[3]),
                competence: ((r[4] as String?) ?? "").split(separator: ",").map(String.init), load: r[5])
        }
    }

    /// Each manager's routed requests counted from the rows (what `request_load` keeps; for checks).
    public func routedCounts() throws -> [(Int64, Int)] {
        try rows("SELECT assignee_id, count(*) FROM inbound_requests WHERE status = 'routed' AND assignee_id IS NOT NULL GROUP BY 1")
            .map { ($0[0], $0[1]) }
    }

    /// Sets a user's absence and competence tags (nil leaves a part unchanged; `clearAbsence` clears it).
    public func setUserRouting(id: Int64, absence: (from: Date?, until: Date?)??, competence: [String]?) throws {
        if let absence {
            try exec(
                "UPDATE users SET absent_from = ?, absent_until = ? WHERE id = ?",
                [msOpt(absence?.from), msOpt(absence?.until), id])
        }
        if let competence {
            try exec(
                "UPDATE users SET competence = ? WHERE id = ?", [competence.isEmpty ? nil : competence.joined(separator: ","), id])
        }
    }

    /// A user's absence and competence.
    public func userRouting(id: Int64) throws -> (absentFrom: Date?, absentUntil: Date?, competence: [String]) {
        guard let r = try row("SELECT absent_from, absent_until, competence FROM users WHERE id = ?", [id]) else {
            return (nil, nil, [])
        }
        return (dateOpt(r[0]), dateOpt(r[1]), ((r[2] as String?) ?? "").split(separator: ",").map(String.init))
    }
}
