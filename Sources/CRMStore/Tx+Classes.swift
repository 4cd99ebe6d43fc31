public import CRMCore
public import Foundation
import GRDB

/// One client's classes for a month, as the computation stores them.
public struct ClassRow: Sendable, Equatable {
    public var clientID: Int64
    public var abc: ABCClass
    public var xyz: XYZClass
    /// Won revenue over the window, in minor units of the department's currency.
    public var revenue: Int64
    public var cvBP: Int64

    public init(clientID: Int64, abc: ABCClass, xyz: XYZClass, revenue: Int64, cvBP: Int64) {
        self.clientID = clientID
        self.abc = abc
        self.xyz = xyz
        self.revenue = revenue
        self.cvBP = cvBP
    }
}

/// A row of a client's class history (`client_classes`).
public struct ClassHistoryRow: Sendable, Equatable {
    public var month: String
    public var abc: String
    public var xyz: String
    public var revenue: Int64
    public var cvBP: Int64
}

/// One computed month (`class_runs`).
public struct ClassRun: Sendable, Equatable {
    public var month: String
    public var startedAt: Date
    public var finishedAt: Date
    public var byLogin: String
    public var windowFrom: Date
    public var windowTo: Date
    public var currency: String
    public var clients: Int
    /// `{"A":…,"B":…,"C":…,"X":…,"Y":…,"Z":…}`.
    public var countsJSON: String
    public var changed: Int
    public var tookMS: Int64

    public init(
        month: String, startedAt: Date, finishedAt: Date, byLogin: String, windowFrom: Date, windowTo: Date, currency: String,
        clients: Int, countsJSON: String, changed: Int, tookMS: Int64
    ) {
        self.month = month
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.byLogin = byLogin
        self.windowFrom = windowFrom
        self.windowTo = windowTo
        self.currency = currency
        self.clients = clients
        self.countsJSON = countsJSON
        self.changed = changed
        self.tookMS = tookMS
    }
}

extension Tx {
    /// Every won deal closed in [from, to) in `currency`: (client, closed at in ms, amount).
    /// Reads the covering index `deals_closed` in closed_at order, no table rows.
    public func wonRevenue(from: Date, to: Date, currency: String, _ row: (Int64, Int64, Int64) -> Void) throws {
        try scan(
            """
            SELECT client_id, closed_at, amount FROM deals INDEXED BY deals_closed
            WHERE closed_at >= ? AND closed_at < ? AND status = 'won' AND currency = ? AND amount > 0
            """, ms(from), ms(to), currency
        ) { s in row(s.int64(0), s.int64(1), s.int64(2)) }
    }

    /// Every client with a class now: (id, abc, xyz), from the partial index `clients_class`.
    public func currentClasses(_ row: (Int64, String, String?) -> Void) throws {
        try scan("SELECT id, abc, xyz FROM clients INDEXED BY clients_class WHERE abc IS NOT NULL") { s in
            row(s.int64(0), s.string(1), s.optionalString(2))
        }
    }

    /// Stores `rows` as `month`'s history and sets the classes of those in `changed`; returns
    /// the owner of each changed client (nil: unowned), in `changed` order, when `owners` asks
    /// for them (an event per change), else nothing.
    ///
    /// The history goes in many rows per statement, and a row the month already holds with the
    /// same figures is left as it is (a second computation of a month rewrites no page).
    /// Without `owners` the classes are set with a plain UPDATE: `RETURNING` costs SQLite an
    /// ephemeral table per statement, about as much again as the update itself.
    public func storeClasses(month: String, _ rows: [ClassRow], changed: [ClassRow], owners: Bool) throws -> [Int64?] {
        try insertMany(
            rows, table: "client_classes", columns: "client_id, month, abc, xyz, revenue, cv_bp", count: 6,
            suffix: """
                 ON CONFLICT(client_id, month) DO UPDATE SET abc = excluded.abc, xyz = excluded.xyz, revenue = excluded.revenue,
                  cv_bp = excluded.cv_bp
                 WHERE abc IS NOT excluded.abc OR xyz IS NOT excluded.xyz OR revenue IS NOT excluded.revenue OR cv_bp IS NOT excluded.cv_bp
                """
        ) { s, first, r in s.bind(from: first, r.clientID, month, r.abc.rawValue, r.xyz.rawValue, r.revenue, r.cvBP) }
        if owners { return try changed.map { r in try setClass(r.clientID, abc: r.abc.rawValue, xyz: r.xyz.rawValue) } }
        let update = try prepared("UPDATE clients SET abc = ?, xyz = ? WHERE id = ?")
        for r in changed { try update.run(r.abc.rawValue, r.xyz.rawValue, r.clientID) }
        return []
    }

    /// Clears the classes of clients with no revenue in the window now; returns their owners
    /// when `owners` asks for them (else nothing). Their history row of `month` goes too (a
    /// second computation of the month may clear a class the first one set).
    public func clearClasses(month: String, _ ids: [Int64], owners: Bool) throws -> [Int64?] {
        let history = try prepared("DELETE FROM client_classes WHERE client_id = ? AND month = ?")
        for id in ids { try history.run(id, month) }
        if owners { return try ids.map { id in try setClass(id, abc: nil, xyz: nil) } }
        let update = try prepared("UPDATE clients SET abc = NULL, xyz = NULL WHERE id = ?")
        for id in ids { try update.run(id) }
        return []
    }

    private func setClass(_ id: Int64, abc: String?, xyz: String?) throws -> Int64? {
        let s = try prepared("UPDATE clients SET abc = ?, xyz = ? WHERE id = ? RETURNING owner_id")
        s.bind(abc, xyz, id)
        defer { s.reset() }
        return try s.step() ? s.optionalInt64(0) : nil
    }

    /// Records a finished computation (a second one of the same month replaces the first).
    public func recordClassRun(_ r: ClassRun) throws {
        try exec(
            """
            INSERT OR REPLACE INTO class_runs(month, started_at, finished_at, by_login, window_from, window_to, currency, clients,
              counts, changed, took_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                r.month, ms(r.startedAt), ms(r.finishedAt), r.byLogin, ms(r.windowFrom), ms(r.windowTo), r.currency, r.clients,
                r.countsJSON, r.changed, r.tookMS,
            ])
    }

    /// Whether `month` has been computed.
    public func hasClassRun(month: String) throws -> Bool {
        try row("SELECT 1 FROM class_runs WHERE month = ?", [month]) != nil
    }

    /// A client's class history, newest month first, at most `limit` months.
    public func classHistory(clientID: Int64, limit: Int) throws -> [ClassHistoryRow] {
        try rows(
            "SELECT month, abc, xyz, revenue, cv_bp FROM client_classes WHERE client_id = ? ORDER BY month DESC LIMIT ?",
            [clientID, limit]
        ).map { ClassHistoryRow(month: $0[0], abc: $0[1], xyz: $0[2], revenue: $0[3], cvBP: $0[4]) }
    }
}

extension Store {
    /// Clients whose stored classes differ from their history row of the latest computed month
    /// (a client without a class has no row of that month). Nothing before the first computation:
    /// the classes set by hand before crmd computed them stay until the first run replaces them.
    static let classMismatchSQL = """
        SELECT count(*) FROM clients c
        LEFT JOIN client_classes h ON h.client_id = c.id AND h.month = (SELECT max(month) FROM class_runs)
        WHERE EXISTS (SELECT 1 FROM class_runs) AND (c.abc IS NOT h.abc OR c.xyz IS NOT h.xyz)
        """
}
