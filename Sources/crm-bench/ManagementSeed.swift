import ArgumentParser
import Foundation
import GRDB

/// A year of a department's history for the management phase (issue 18), written straight into
/// crmd's database while crmd is stopped: the clients and managers came in through the protocol;
/// this adds what a year of work leaves behind and the protocol cannot backdate (deals won and lost
/// over the year with their moves, invoices and payments, `interactions` interactions, claims,
/// contacts, the daily zone series, each manager's rate and team, the lead manager each client was
/// created with).
///
/// One pass per table with prepared statements, a transaction per `chunk` rows, no journal,
/// foreign keys off (the rows are consistent by construction) and `synchronous = OFF` (a seed that
/// fails is run again). The indexes stay as migration v7 made them (dropping and rebuilding them would time a
/// bulk load no department makes): rows go in by time, as a department's ids grow (interactions,
/// claims, deals by their opening), so the instant indexes are appended to and the rest fit the
/// 1 GiB page cache. Memory: the clients' ids and owners (16 bytes a client) and the page cache. No ANALYZE: crmd's own databases have no
/// statistics, so the planner sees what it sees in production.
///
/// Nothing seeded is due at the seed's `now`: open deals are due a cadence after a contact in the
/// last six hours, invoices carry no pending reminder, clients keep the clocks `client.import`
/// gave them. crmd started again at `now` has nothing to catch up.
struct ManagementSeed {
    let path: String
    /// The instant crmd's manual clock stands at (ms).
    let now: Int64
    /// The department's zone offset (ms): local days and midnights for due dates and payments.
    let offset: Int64
    let interactions: Int
    let deals: Int
    let log: (String) -> Void

    static let day: Int64 = 86_400_000
    static let year: Int64 = 365 * day
    /// The default pipeline (config/crmd.yaml): stage names and their cadences in days.
    static let pipeline = "Sales"
    static let stages: [(name: String, cadenceDays: Int64)] = [
        ("New deal", 2), ("Proposal sent", 3), ("Proposal under review", 2), ("Handling objections", 1), ("Contract discussion", 1),
    ]
    static let lostReasons = ["Price", "Competitor", "No budget", "No decision", "No answer", "Other"]
    static let chunk = 1_000_000

    struct Seeded {
        var deals = 0
        var won = 0
        var moves = 0
        var invoices = 0
        var payments = 0
        var interactions = 0
        var claims = 0
        var contacts = 0
    }

    var yearStart: Int64 { now - Self.year }

    func run() throws -> Seeded {
        var config = Configuration()
        config.foreignKeysEnabled = false
        config.label = "crm-bench.mgmt-seed"
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = OFF")
            try db.execute(sql: "PRAGMA cache_size = -1048576")
            try db.execute(sql: "PRAGMA temp_store = MEMORY")
        }
        let q = try DatabaseQueue(path: path, configuration: config)
        let (clients, owners, logins) = try q.read { db in
            var ids: [Int64] = []
            var own: [Int64] = []
            for r in try Row.fetchAll(db, sql: "SELECT id, coalesce(owner_id, 0) FROM clients ORDER BY id") {
                ids.append(r[0])
                own.append(r[1])
            }
            let l = try Row.fetchAll(db, sql: "SELECT id, login FROM users").reduce(into: [Int64: String]()) { $0[$1[0]] = $1[1] }
            return (ids, own, l)
        }
        guard !clients.isEmpty else { throw ValidationError("mgmt seed: crmd's database holds no clients") }
        let managers = try q.read { db in try Int64.fetchAll(db, sql: "SELECT id FROM users WHERE role = 'manager' ORDER BY id") }
        guard !managers.isEmpty else { throw ValidationError("mgmt seed: crmd's database holds no managers") }
        var seeded = Seeded()
        var rng = Rng(seed: 0x5EED_0018)
        let people = People(clients: clients, owners: owners, logins: logins, managers: managers)
        try q.writeWithoutTransaction { db in
            // No journal while seeding (crmd is stopped; a seed that fails is started again): a
            // commit writes its pages once, not to the WAL and again at the checkpoint. WAL again
            // at the end, as crmd's store keeps it.
            try db.execute(sql: "PRAGMA journal_mode = OFF")
            try seedPeople(db, people)
            try seedDeals(db, people, &rng, &seeded)
            try seedInteractions(db, people, &rng, &seeded)
            try seedClaimsAndContacts(db, people, &rng, &seeded)
            try seedZoneSeries(db, people, &rng)
            let mode = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
            guard mode == "wal" else { throw ValidationError("mgmt seed: the database is left in journal mode \(mode ?? "?"), not wal") }
        }
        return seeded
    }

    /// The clients with their owners (by index) and the users' logins.
    struct People {
        let clients: [Int64]
        let owners: [Int64]
        let logins: [Int64: String]
        let managers: [Int64]
        func login(_ id: Int64) -> String { logins[id] ?? "admin" }
    }

    /// Runs `body(i)` for i in 0..<count, a transaction per `chunk`, logging the rate.
    func chunked(_ db: Database, _ what: String, _ count: Int, _ body: (Int) throws -> Void) throws {
        var i = 0
        let t0 = nowNS()
        while i < count {
            let end = min(count, i + Self.chunk)
            try db.inTransaction {
                for k in i..<end { try body(k) }
                return .commit
            }
            i = end
            let s = Double(nowNS() - t0) / 1e9
            log("  mgmt seed: \(what) \(i)/\(count), \(Int(Double(i) / max(s, 1e-9)))/s")
        }
    }

    /// Each manager's rate (1.5 %–3 %) and one of ten teams; every client's lead manager is its
    /// owner, created at an instant of the last two years (half of them inside the measured year).
    func seedPeople(_ db: Database, _ p: People) throws {
        try db.inTransaction {
            try db.execute(
                sql: "UPDATE users SET commission_bp = 150 + (id % 4) * 50, team = 'team' || (id % 10) WHERE role = 'manager'")
            try db.execute(
                sql: """
                    UPDATE clients SET origin_owner_id = owner_id, created_at = ? - 1 - ((id * 2654435761) % ?)
                    WHERE owner_id IS NOT NULL
                    """, arguments: [now, 2 * Self.year])
            return .commit
        }
        log("  mgmt seed: rates, teams and lead managers set")
    }

    /// `deals` deals, two a client in turn, opened in id order over the year and the 90 days
    /// before it and closed 1–90 days later: about 36 % won, 45 % lost, 19 % open (one in ten
    /// never closes, and those not due to close before `now`). Each has its moves (opened at the
    /// first stage, one step a stage, then the close). Of the won, 60 % are invoiced two
    /// weeks' terms: a third of those paid in two parts, 40 % at once, 20 % half paid, 10 %
    /// unpaid; only payments before `now` are recorded.
    func seedDeals(_ db: Database, _ p: People, _ rng: inout Rng, _ seeded: inout Seeded) throws {
        let insertDeal = try db.makeStatement(
            sql: """
                INSERT INTO deals(client_id, owner_id, creator_login, title, amount, currency, probability, source, pipeline, stage, status,
                  lost_reason, expected_close, opened_at, closed_at, stage_entered_at, last_contact_at, next_contact_due, overdue_stage,
                  due_at, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, 'RUB', NULL, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, 0, ?, ?, ?)
                """)
        let insertMove = try db.makeStatement(
            sql: "INSERT INTO deal_moves(deal_id, from_stage, to_stage, status, at, by_login) VALUES (?, ?, ?, ?, ?, ?)")
        let insertInvoice = try db.makeStatement(
            sql: """
                INSERT INTO invoices(deal_id, number, amount, currency, paid, status, due_on, overdue_at, remind_at, creator_login,
                  created_at, updated_at) VALUES (?, ?, ?, 'RUB', ?, ?, ?, ?, NULL, 'macc', ?, ?)
                """)
        let insertPayment = try db.makeStatement(
            sql: """
                INSERT INTO payments(invoice_id, deal_id, owner_id, amount, currency, paid_on, paid_at, by_login, created_at)
                VALUES (?, ?, ?, ?, 'RUB', ?, ?, 'macc', ?)
                """)
        let sources: [String?] = ["site", "cold", "referral", nil]
        try chunked(db, "deals", deals) { j in
            let ci = j % p.clients.count
            let owner = p.owners[ci]
            let login = p.login(owner)
            // Opened in id order over the year and the 90 days before it (a department's ids grow
            // with time, and the instant indexes are appended to), closing 1-90 days later.
            let openedAt = min(
                now - 1, yearStart - 90 * Self.day + Int64(j) * (Self.year + 90 * Self.day) / Int64(deals) + Int64(rng.next() % 3_600_000))
            let closesAt = openedAt + Self.day * Int64(1 + rng.next() % 90)
            let h = rng.next() % 1000
            let status = h < 100 || closesAt >= now ? "open" : (h < 500 ? "won" : "lost")
            let stage = Int(status == "won" ? 2 + rng.next() % 3 : rng.next() % 5)
            let amount = Int64(rng.next() % 1000 + 1) * 100_000
            let closedAt: Int64? = status == "open" ? nil : closesAt
            let end = max(openedAt, closedAt ?? now - 6 * 3_600_000)
            let steps = (0...stage).map { openedAt + (end - openedAt) * Int64($0) / Int64(stage + 1) }
            let lastContact = closedAt ?? max(steps[stage], now - Int64(rng.next() % (6 * 3_600_000)))
            let due: Int64? = closedAt == nil ? lastContact + Self.stages[stage].cadenceDays * Self.day : nil
            try insertDeal.execute(arguments: [
                p.clients[ci], owner == 0 ? nil : owner, login, "Deal \(j)", amount, sources[j % 4], Self.pipeline, Self.stages[stage].name,
                status, status == "lost" ? Self.lostReasons[j % Self.lostReasons.count] : nil, openedAt, closedAt, steps[stage],
                lastContact, due, due, openedAt, closedAt ?? steps[stage],
            ])
            let id = db.lastInsertedRowID
            seeded.deals += 1
            for (i, at) in steps.enumerated() {
                try insertMove.execute(arguments: [id, i == 0 ? nil : Self.stages[i - 1].name, Self.stages[i].name, "open", at, login])
            }
            seeded.moves += steps.count
            guard let closedAt else { return }
            try insertMove.execute(arguments: [id, Self.stages[stage].name, Self.stages[stage].name, status, closedAt, login])
            seeded.moves += 1
            guard status == "won" else { return }
            seeded.won += 1
            let terms = rng.next() % 10
            guard terms < 6 else { return }
            // Paid 40 % after 5 days and the rest after 20; in full after 10; half after 10; never.
            let plan: [(Int64, Int64)] =
                switch rng.next() % 10 {
                case 0..<3: [(5, amount * 2 / 5), (20, amount - amount * 2 / 5)]
                case 3..<7: [(10, amount)]
                case 7..<9: [(10, amount / 2)]
                default: []
                }
            let paidPlan = plan.filter { closedAt + $0.0 * Self.day < now }
            let paid = paidPlan.reduce(0) { $0 + $1.1 }
            let dueDay = localMidnight(closedAt + 14 * Self.day)
            try insertInvoice.execute(arguments: [
                id, "INV-\(id)", amount, paid, paid == 0 ? "unpaid" : (paid < amount ? "partial" : "paid"), localDay(dueDay),
                dueDay + Self.day, closedAt, closedAt,
            ])
            let invoice = db.lastInsertedRowID
            seeded.invoices += 1
            for (days, sum) in paidPlan {
                let at = closedAt + days * Self.day
                try insertPayment.execute(arguments: [invoice, id, owner == 0 ? nil : owner, sum, localDay(at), localMidnight(at), at])
                seeded.payments += 1
            }
        }
    }

    /// `interactions` interactions in time order over the year, each by the owner of a client
    /// picked at random: 45 % calls, 10 % meetings, 25 % e-mails, 15 % notes, 5 % messages.
    func seedInteractions(_ db: Database, _ p: People, _ rng: inout Rng, _ seeded: inout Seeded) throws {
        let insert = try db.makeStatement(
            sql: """
                INSERT INTO interactions(client_id, contact_id, author_id, author_login, kind, direction, occurred_at, topic, result,
                  note, resets_clock, created_at, deal_id) VALUES (?, NULL, ?, ?, ?, ?, ?, NULL, ?, NULL, ?, ?, NULL)
                """)
        let n = Int64(max(1, interactions))
        try chunked(db, "interactions", interactions) { k in
            let ci = Int(rng.next() % UInt64(p.clients.count))
            let owner = p.owners[ci]
            let at = min(now - 1, yearStart + Int64(k) * Self.year / n + Int64(rng.next() % 60_000))
            let r = rng.next() % 100
            let kind = r < 45 ? "call" : (r < 55 ? "meeting" : (r < 80 ? "email" : (r < 95 ? "note" : "message")))
            let direction: String? = kind == "meeting" || kind == "note" ? nil : (r % 2 == 0 ? "out" : "in")
            try insert.execute(arguments: [
                p.clients[ci], owner == 0 ? nil : owner, p.login(owner), kind, direction, at, kind == "call" ? "bench" : nil,
                kind == "note" ? 0 : 1, at,
            ])
            seeded.interactions += 1
        }
    }

    /// A claim from the exchange for one client in twenty, by a random manager at an instant of the
    /// year (in time order); a contact on two clients in five, half of them decision makers.
    func seedClaimsAndContacts(_ db: Database, _ p: People, _ rng: inout Rng, _ seeded: inout Seeded) throws {
        let claim = try db.makeStatement(sql: "INSERT INTO claims(client_id, user_id, at) VALUES (?, ?, ?)")
        let claims = p.clients.count / 20
        try chunked(db, "claims", claims) { k in
            let at = yearStart + Int64(k) * Self.year / Int64(max(1, claims))
            try claim.execute(arguments: [
                p.clients[Int(rng.next() % UInt64(p.clients.count))], p.managers[Int(rng.next() % UInt64(p.managers.count))], at,
            ])
            seeded.claims += 1
        }
        let contact = try db.makeStatement(
            sql: "INSERT INTO contacts(client_id, name, position, decision_maker, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)")
        try chunked(db, "contacts", p.clients.count) { ci in
            guard ci % 5 < 2 else { return }
            let dm = ci % 5 == 0
            try contact.execute(arguments: [p.clients[ci], "Contact \(ci)", dm ? "Director" : nil, dm ? 1 : 0, now, now])
            seeded.contacts += 1
        }
    }

    /// The daily zone snapshot of every manager for the year (report.zones' series), where the
    /// scheduler has not written one.
    func seedZoneSeries(_ db: Database, _ p: People, _ rng: inout Rng) throws {
        let insert = try db.makeStatement(
            sql: "INSERT OR IGNORE INTO zone_daily(day, user_id, green, yellow, red, exchange) VALUES (?, ?, ?, ?, ?, ?)")
        let perManager = Int64(p.clients.count / p.managers.count)
        try db.inTransaction {
            for d in 0..<366 {
                let day = localDay(now - Int64(d) * Self.day)
                for m in p.managers {
                    let yellow = Int64(rng.next() % UInt64(max(1, perManager / 5)))
                    let red = Int64(rng.next() % UInt64(max(1, perManager / 10)))
                    try insert.execute(arguments: [day, m, max(0, perManager - yellow - red), yellow, red, Int64(rng.next() % 50)])
                }
            }
            return .commit
        }
        log("  mgmt seed: zone series for 366 days")
    }

    /// The local midnight (ms) starting the day of `ms` in the department's zone.
    func localMidnight(_ ms: Int64) -> Int64 {
        let local = ms + offset
        return local - ((local % Self.day) + Self.day) % Self.day - offset
    }

    /// The local date "YYYY-MM-DD" of `ms` (civil from days, proleptic Gregorian).
    func localDay(_ ms: Int64) -> String {
        let days = Int64((Double(ms + offset) / Double(Self.day)).rounded(.down))
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        return String(format: "%04lld-%02lld-%02lld", y, m, d)
    }
}

/// A small deterministic generator (xorshift64*): the same seed gives the same history.
struct Rng {
    var state: UInt64
    init(seed: UInt64) { state = seed | 1 }
    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }
}
