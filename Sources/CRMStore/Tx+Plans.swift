public import CRMCore
public import Foundation
import GRDB

/// What `plan.list` filters on (every field optional).
public struct PlanFilter: Sendable {
    public var userID: Int64?
    public var team: String?
    public var period: String?

    public init() {}
}

extension Tx {
    static let planColumns = """
        id, user_id, team, period, starts_at, ends_at, calls, meetings, new_clients, deals_won, revenue_won, revenue_paid, claims, \
        set_by, created_at, updated_at
        """
    /// The target columns in ``planColumns`` order, from index 6.
    static let planTargetOrder: [PlanMetric] = [.calls, .meetings, .newClients, .dealsWon, .revenueWon, .revenuePaid, .claims]

    func plan(from r: Row) -> Plan {
        var targets: [PlanMetric: Int64] = [:]
        for (i, m) in Self.planTargetOrder.enumerated() {
            if let v = r[6 + i] as Int64? { targets[m] = v }
        }
        return Plan(
            id: r[0], userID: r[1], team: r[2], period: Period(r[3] as String) ?? Period(kind: .month, year: 2000, number: 1),
            startsAt: date(r[4] as Int64), endsAt: date(r[5] as Int64), targets: targets, setBy: r[13], createdAt: date(r[14] as Int64),
            updatedAt: date(r[15] as Int64))
    }

    public func plan(id: Int64) throws -> Plan? {
        try row("SELECT \(Self.planColumns) FROM plans WHERE id = ?", [id]).map(plan(from:))
    }

    /// The plan of a user (or, with `team`, of a team) for a period (canonical text).
    public func plan(userID: Int64?, team: String?, period: String) throws -> Plan? {
        if let userID {
            return try row("SELECT \(Self.planColumns) FROM plans WHERE user_id = ? AND period = ?", [userID, period]).map(plan(from:))
        }
        return try row("SELECT \(Self.planColumns) FROM plans WHERE team = ? AND period = ?", [team, period]).map(plan(from:))
    }

    /// Stores a plan: a new one (id 0) gets its id, a stored one is rewritten.
    public func savePlan(_ p: Plan) throws -> Plan {
        let targets: [(any DatabaseValueConvertible)?] = Self.planTargetOrder.map { p.targets[$0] }
        let head: [(any DatabaseValueConvertible)?] = [p.userID, p.team, p.period.description, ms(p.startsAt), ms(p.endsAt)]
        let tail: [(any DatabaseValueConvertible)?] = [p.setBy, ms(p.createdAt), ms(p.updatedAt)]
        if p.id == 0 {
            try exec(
                """
                INSERT INTO plans(user_id, team, period, starts_at, ends_at, calls, meetings, new_clients, deals_won, revenue_won,
                  revenue_paid, claims, set_by, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, StatementArguments(head + targets + tail))
            var saved = p
            saved.id = lastID
            return saved
        }
        try exec(
            """
            UPDATE plans SET user_id = ?, team = ?, period = ?, starts_at = ?, ends_at = ?, calls = ?, meetings = ?, new_clients = ?,
              deals_won = ?, revenue_won = ?, revenue_paid = ?, claims = ?, set_by = ?, created_at = ?, updated_at = ?
            WHERE id = ?
            """, StatementArguments(head + targets + tail + [p.id]))
        return p
    }

    /// A page of plans matching `f`, by id. The cursor is the last id shown.
    public func plans(_ f: PlanFilter, after cursor: Int64?, limit: Int) throws -> Page<Plan> {
        var w = SQLFilter()
        w.add("user_id = ?", ifSet: f.userID)
        w.add("team = ?", ifSet: f.team)
        w.add("period = ?", ifSet: f.period)
        w.add("id > ?", ifSet: cursor)
        return try page("SELECT \(Self.planColumns) FROM plans", w, order: "id", limit: limit, plan(from:)) { String($0.id) }
    }

    /// Every plan whose period overlaps `[from, to)` (plans_active), by id; at most `limit`.
    public func plans(overlapping from: Date, _ to: Date, limit: Int) throws -> [Plan] {
        try rows(
            "SELECT \(Self.planColumns) FROM plans WHERE ends_at > ? AND starts_at < ? ORDER BY id LIMIT ?", [ms(from), ms(to), limit]
        ).map(plan(from:))
    }

    /// The plans whose period holds `instant`, of the user and of the user's team (plans_user,
    /// plans_team): the write path of every counted fact asks this, so it is two index probes.
    public func activePlans(userID: Int64, at instant: Date) throws -> [Plan] {
        try rows(
            """
            SELECT \(Self.planColumns) FROM plans WHERE user_id = ?1 AND starts_at <= ?2 AND ends_at > ?2
            UNION ALL
            SELECT \(Self.planColumns) FROM plans WHERE team = (SELECT team FROM users WHERE id = ?1) AND starts_at <= ?2 AND ends_at > ?2
            """, [userID, ms(instant)]
        ).map(plan(from:))
    }

    /// The user's team (users.team), nil if none.
    public func team(ofUser id: Int64) throws -> String? {
        try String.fetchOne(db.cachedStatement(sql: "SELECT team FROM users WHERE id = ?"), arguments: [id])
    }

    /// Puts a user in a team (nil: none).
    public func setTeam(userID: Int64, team: String?) throws {
        try exec("UPDATE users SET team = ? WHERE id = ?", [team, userID])
    }

    /// The active users in `team` now, by id.
    public func teamMembers(_ team: String) throws -> [Int64] {
        try Int64.fetchAll(db.cachedStatement(sql: "SELECT id FROM users WHERE team = ? AND active = 1 ORDER BY id"), arguments: [team])
    }

    /// Every team named by a user, with its active members.
    public func teams() throws -> [String: [Int64]] {
        var out: [String: [Int64]] = [:]
        for r in try rows("SELECT team, id FROM users WHERE team IS NOT NULL AND active = 1 ORDER BY id") {
            out[r[0], default: []].append(r[1])
        }
        return out
    }

    /// One user's facts for `metrics` in `[from, to)` (docs/rules.md "Plans"). Each is a COUNT or
    /// SUM over one index range: interactions_author, clients_origin, deals_owner_closed,
    /// payments_owner, claims_user (docs/architecture.md).
    public func planFacts(_ metrics: Set<PlanMetric>, userID: Int64, from: Date, to: Date, currency: String) throws -> [PlanMetric: Int64] {
        var out: [PlanMetric: Int64] = [:]
        let a = ms(from)
        let b = ms(to)
        func one(_ sql: String, _ args: StatementArguments) throws -> Int64 {
            try Int64.fetchOne(db.cachedStatement(sql: sql), arguments: args) ?? 0
        }
        for m in metrics {
            switch m {
            case .calls, .meetings:
                out[m] = try interactionCount(userID: userID, kind: m == .calls ? "call" : "meeting", from: a, to: b)
            case .newClients:
                out[m] = try one(PlanFactSQL.newClients, [userID, a, b])
            case .dealsWon:
                out[m] = try one(PlanFactSQL.dealsWon, [userID, a, b])
            case .revenueWon:
                out[m] = try one(PlanFactSQL.revenueWon, [userID, a, b, currency])
            case .revenuePaid:
                out[m] = try one(PlanFactSQL.revenuePaid, [userID, a, b, currency])
            case .claims:
                out[m] = try one(PlanFactSQL.claims, [userID, a, b])
            }
        }
        return out
    }

}

extension Tx {
    /// The user's calls (or meetings) with `occurred_at` in `[from, to)` (milliseconds): the whole
    /// UTC hours inside from `interaction_hours` (at most 24 rows a day, kept by a trigger in the
    /// same transaction as the interaction), the parts of an hour at either end from
    /// `interactions_author`. A period's bounds are local midnights, whole hours in every zone
    /// with a whole-hour offset, so those ends are usually empty. The cost does not grow with the
    /// number of calls in the period: a call's `plan.progress` event pays it on the write path.
    func interactionCount(userID: Int64, kind: String, from: Int64, to: Int64) throws -> Int64 {
        let hour: Int64 = 3_600_000
        let firstWhole = from >= 0 ? (from + hour - 1) / hour : from / hour  // ceil
        let endWhole = to >= 0 ? to / hour : (to - hour + 1) / hour  // floor
        func exact(_ a: Int64, _ b: Int64) throws -> Int64 {
            guard a < b else { return 0 }
            return try Int64.fetchOne(db.cachedStatement(sql: PlanFactSQL.interactions), arguments: [userID, kind, a, b]) ?? 0
        }
        guard firstWhole < endWhole else { return try exact(from, to) }
        let whole =
            try Int64.fetchOne(db.cachedStatement(sql: PlanFactSQL.interactionHours), arguments: [userID, kind, firstWhole, endWhole]) ?? 0
        return whole + (try exact(from, firstWhole * hour)) + (try exact(endWhole * hour, to))
    }
}

/// The fact queries of ``Tx/planFacts(_:userID:from:to:currency:)``, one per metric (public for
/// the EXPLAIN QUERY PLAN test).
public enum PlanFactSQL {
    public static let interactions = """
        SELECT count(*) FROM interactions INDEXED BY interactions_author
        WHERE author_id = ? AND kind = ? AND occurred_at >= ? AND occurred_at < ?
        """
    public static let interactionHours = """
        SELECT coalesce(sum(n), 0) FROM interaction_hours WHERE author_id = ? AND kind = ? AND hour >= ? AND hour < ?
        """
    public static let newClients = """
        SELECT count(*) FROM clients INDEXED BY clients_origin WHERE origin_owner_id = ? AND created_at >= ? AND created_at < ?
        """
    public static let dealsWon = """
        SELECT count(*) FROM deals INDEXED BY deals_owner_closed
        WHERE owner_id = ? AND status = 'won' AND closed_at >= ? AND closed_at < ?
        """
    public static let revenueWon = """
        SELECT coalesce(sum(amount), 0) FROM deals INDEXED BY deals_owner_closed
        WHERE owner_id = ? AND status = 'won' AND closed_at >= ? AND closed_at < ? AND currency = ?
        """
    public static let revenuePaid = """
        SELECT coalesce(sum(amount), 0) FROM payments INDEXED BY payments_owner
        WHERE owner_id = ? AND paid_at >= ? AND paid_at < ? AND currency = ?
        """
    public static let claims = "SELECT count(*) FROM claims INDEXED BY claims_user WHERE user_id = ? AND at >= ? AND at < ?"
    public static let all = [interactions, newClients, dealsWon, revenueWon, revenuePaid, claims]
}

extension Tx {
    /// The query plan SQLite chooses for `sql` (its detail lines), for tests and docs.
    public func explain(_ sql: String) throws -> [String] {
        try rows("EXPLAIN QUERY PLAN " + sql, StatementArguments(Array(repeating: 0 as Int64, count: sql.filter { $0 == "?" }.count)))
            .map { $0[3] as String }
    }
}
