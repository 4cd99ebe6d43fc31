public import Foundation
import GRDB

extension Tx {
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

    /// `report.zones` in one pass over the clients, summed in memory (no GROUP BY, which would
    /// visit the table in owner order, a random read per client: 0.9 s at 1,000,000 clients): per
    /// owner the clients in each applied zone, and the totals the way ``zoneCounts(now:)`` counts them.
    public func zoneReportTally(now: Date) throws -> (owners: [Int64: ZoneTally], totals: ZoneCounts) {
        var owners: [Int64: ZoneTally] = [:]
        var totals = ZoneCounts()
        let n = ms(now)
        try scan("SELECT status, owner_id, zone, yellow_at, red_at FROM clients") { s in
            totals.total += 1
            switch s.string(0) {
            case "assigned":
                let yellowAt = s.optionalInt64(3)
                let redAt = s.optionalInt64(4)
                if let y = yellowAt, y > n {
                    totals.green += 1
                } else if let y = yellowAt, let r = redAt, y <= n, r > n {
                    totals.yellow += 1
                } else if let r = redAt, r <= n {
                    totals.red += 1
                }
                guard let owner = s.optionalInt64(1) else { return }
                switch s.optionalString(2) {
                case "green": owners[owner, default: ZoneTally()].green += 1
                case "yellow": owners[owner, default: ZoneTally()].yellow += 1
                case "red": owners[owner, default: ZoneTally()].red += 1
                default: if owners[owner] == nil { owners[owner] = ZoneTally() }
                }
            case "exchange": totals.exchange += 1
            case "unassigned": totals.unassigned += 1
            default: break
            }
        }
        return (owners, totals)
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
}
