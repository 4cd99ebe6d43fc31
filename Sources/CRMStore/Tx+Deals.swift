public import CRMCore
public import Foundation
import GRDB

/// One recorded step of a deal: a move between stages, a close or a reopening.
public struct DealMove: Sendable, Equatable {
    public var fromStage: String?
    public var toStage: String
    /// The deal's status after the step (`open`, `won`, `lost`).
    public var status: String
    public var at: Date
    public var byLogin: String
}

/// One line of the board: open deals at a stage of one owner.
public struct DealTally: Sendable, Equatable {
    public var pipeline: String
    public var stage: String
    public var ownerID: Int64?
    public var currency: String
    public var count: Int
    public var amount: Int64
    public var overdue: Int
}

/// What `deal.list` filters on (every field optional).
public struct DealFilter: Sendable {
    public var ownerID: Int64?
    public var clientID: Int64?
    public var pipeline: String?
    public var stage: String?
    public var status: DealStatus?
    public var overdue: Bool?
    /// Opened (open deals) or closed (won, lost) at or after / before these instants.
    public var from: Date?
    public var to: Date?

    public init() {}
}

extension Tx {
    static let dealColumns = """
        id, client_id, owner_id, creator_login, title, amount, currency, probability, source, pipeline, stage, status, lost_reason, \
        expected_close, opened_at, closed_at, stage_entered_at, last_contact_at, next_contact_due, overdue_stage, due_at, created_at, \
        updated_at
        """

    func deal(from r: Row) -> Deal {
        Deal(
            id: r[0], clientID: r[1], ownerID: r[2], creatorLogin: r[3], title: r[4], amount: r[5], currency: r[6], probability: r[7],
            source: r[8], pipeline: r[9], stage: r[10], status: DealStatus(rawValue: r[11]) ?? .open, lostReason: r[12],
            expectedClose: r[13], openedAt: date(r[14] as Int64), closedAt: dateOpt(r[15] as Int64?),
            stageEnteredAt: date(r[16] as Int64), lastContactAt: date(r[17] as Int64), nextContactDue: dateOpt(r[18] as Int64?),
            overdueStage: r[19], dueAt: dateOpt(r[20] as Int64?), createdAt: date(r[21] as Int64), updatedAt: date(r[22] as Int64))
    }

    func dealArguments(_ d: Deal) -> [(any DatabaseValueConvertible)?] {
        [
            d.clientID, d.ownerID, d.creatorLogin, d.title, d.amount, d.currency, d.probability, d.source, d.pipeline, d.stage,
            d.status.rawValue, d.lostReason, d.expectedClose, ms(d.openedAt), msOpt(d.closedAt), ms(d.stageEnteredAt),
            ms(d.lastContactAt), msOpt(d.nextContactDue), d.overdueStage, msOpt(d.dueAt), ms(d.createdAt), ms(d.updatedAt),
        ]
    }

    /// Stores a new deal; its id is assigned.
    public func insertDeal(_ d: Deal) throws -> Deal {
        try exec(
            """
            INSERT INTO deals(client_id, owner_id, creator_login, title, amount, currency, probability, source, pipeline, stage, status,
              lost_reason, expected_close, opened_at, closed_at, stage_entered_at, last_contact_at, next_contact_due, overdue_stage,
              due_at, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, StatementArguments(dealArguments(d)))
        var saved = d
        saved.id = lastID
        return saved
    }

    /// Writes every field of a stored deal.
    public func saveDeal(_ d: Deal) throws {
        try exec(
            """
            UPDATE deals SET client_id = ?, owner_id = ?, creator_login = ?, title = ?, amount = ?, currency = ?, probability = ?,
              source = ?, pipeline = ?, stage = ?, status = ?, lost_reason = ?, expected_close = ?, opened_at = ?, closed_at = ?,
              stage_entered_at = ?, last_contact_at = ?, next_contact_due = ?, overdue_stage = ?, due_at = ?, created_at = ?,
              updated_at = ?
            WHERE id = ?
            """, StatementArguments(dealArguments(d) + [d.id]))
    }

    /// Writes a step of a deal (a move, a close, a reopening): the columns a step changes only,
    /// so the indexes on the others (owner, client) are left alone.
    public func saveDealStep(_ d: Deal) throws {
        try prepared(
            """
            UPDATE deals SET stage = ?, status = ?, amount = ?, lost_reason = ?, closed_at = ?, stage_entered_at = ?, last_contact_at = ?,
              next_contact_due = ?, overdue_stage = ?, due_at = ?, updated_at = ?
            WHERE id = ?
            """
        ).run(
            d.stage, d.status.rawValue, d.amount, d.lostReason, msOpt(d.closedAt), ms(d.stageEnteredAt), ms(d.lastContactAt),
            msOpt(d.nextContactDue), d.overdueStage, msOpt(d.dueAt), ms(d.updatedAt), d.id)
    }

    /// Writes what the scheduler changes on a deal: its overdue stage and next instant.
    public func saveDealOverdue(_ d: Deal) throws {
        try prepared("UPDATE deals SET overdue_stage = ?, due_at = ? WHERE id = ?").run(d.overdueStage, msOpt(d.dueAt), d.id)
    }

    /// Writes what the cadence changes: the overdue stage and the scheduler's next instant.
    public func saveDealCadence(_ d: Deal) throws {
        try prepared("UPDATE deals SET overdue_stage = ?, due_at = ?, next_contact_due = ?, last_contact_at = ? WHERE id = ?").run(
            d.overdueStage, msOpt(d.dueAt), msOpt(d.nextContactDue), ms(d.lastContactAt), d.id)
    }

    public func deal(id: Int64) throws -> Deal? {
        try row("SELECT \(Self.dealColumns) FROM deals WHERE id = ?", [id]).map(deal(from:))
    }

    /// A client's open deals (the ones a contact with the client may bring back into cadence).
    public func openDeals(clientID: Int64) throws -> [Deal] {
        try rows("SELECT \(Self.dealColumns) FROM deals WHERE client_id = ? AND status = 'open' ORDER BY id", [clientID]).map(
            deal(from:))
    }

    /// An owner's open deals.
    public func openDeals(ownerID: Int64) throws -> [Deal] {
        try rows("SELECT \(Self.dealColumns) FROM deals WHERE owner_id = ? AND status = 'open' ORDER BY id", [ownerID]).map(deal(from:))
    }

    /// A client's deals, newest first (for its card).
    public func deals(clientID: Int64, limit: Int) throws -> [Deal] {
        try rows("SELECT \(Self.dealColumns) FROM deals WHERE client_id = ? ORDER BY id DESC LIMIT ?", [clientID, limit]).map(
            deal(from:))
    }

    /// A page of deals matching `filter`, by id. The cursor is the last id shown.
    public func deals(_ f: DealFilter, after cursor: Int64?, limit: Int) throws -> Page<Deal> {
        var w = SQLFilter()
        w.add("owner_id = ?", ifSet: f.ownerID)
        w.add("client_id = ?", ifSet: f.clientID)
        w.add("pipeline = ?", ifSet: f.pipeline)
        w.add("stage = ?", ifSet: f.stage)
        w.add("status = ?", ifSet: f.status?.rawValue)
        if let v = f.overdue { w.add(v ? "overdue_stage > 0" : "overdue_stage = 0") }
        // The period: when an open deal opened, when a closed one closed.
        let instant = f.status == nil ? "coalesce(closed_at, opened_at)" : (f.status == .open ? "opened_at" : "closed_at")
        w.add("\(instant) >= ?", ifSet: msOpt(f.from))
        w.add("\(instant) < ?", ifSet: msOpt(f.to))
        w.add("id > ?", ifSet: cursor)
        return try page("SELECT \(Self.dealColumns) FROM deals", w, order: "id", limit: limit, deal(from:)) { String($0.id) }
    }

    /// Records a step of a deal.
    public func recordDealMove(dealID: Int64, from: String?, to: String, status: DealStatus, at: Date, by login: String) throws {
        try prepared("INSERT INTO deal_moves(deal_id, from_stage, to_stage, status, at, by_login) VALUES (?, ?, ?, ?, ?, ?)").run(
            dealID, from, to, status.rawValue, ms(at), login)
    }

    /// A deal's steps, oldest first.
    public func dealMoves(dealID: Int64) throws -> [DealMove] {
        try rows("SELECT from_stage, to_stage, status, at, by_login FROM deal_moves WHERE deal_id = ? ORDER BY id", [dealID]).map {
            DealMove(fromStage: $0[0], toStage: $0[1], status: $0[2], at: date($0[3] as Int64), byLogin: $0[4])
        }
    }

    /// Open deals whose cadence work is due at or before `instant`, soonest first, with their
    /// client's name (for the reminder's words). Read on the writer with typed column reads: the
    /// scheduler reads up to a batch of them at a time, and GRDB's row decoding was a tenth of an
    /// overdue pass.
    public func dueDeals(upTo instant: Date, limit: Int) throws -> [(deal: Deal, clientName: String?)] {
        let columns = Self.dealColumns.split(separator: ",").map { "d." + $0.trimmingCharacters(in: .whitespaces) }.joined(
            separator: ", ")
        let s = try prepared(
            """
            SELECT \(columns), c.name FROM deals d LEFT JOIN clients c ON c.id = d.client_id
            WHERE d.due_at IS NOT NULL AND d.due_at <= ? ORDER BY d.due_at, d.id LIMIT ?
            """)
        s.bind(ms(instant), limit)
        defer { s.reset() }
        var out: [(deal: Deal, clientName: String?)] = []
        out.reserveCapacity(min(limit, 8192))
        while try s.step() {
            let d = Deal(
                id: s.int64(0), clientID: s.int64(1), ownerID: s.optionalInt64(2), creatorLogin: s.string(3), title: s.string(4),
                amount: s.optionalInt64(5), currency: s.string(6), probability: s.optionalInt64(7).map(Int.init),
                source: s.optionalString(8), pipeline: s.string(9), stage: s.string(10),
                status: DealStatus(rawValue: s.string(11)) ?? .open, lostReason: s.optionalString(12), expectedClose: s.optionalString(13),
                openedAt: date(s.int64(14)), closedAt: s.optionalInt64(15).map(date), stageEnteredAt: date(s.int64(16)),
                lastContactAt: date(s.int64(17)), nextContactDue: s.optionalInt64(18).map(date), overdueStage: Int(s.int64(19)),
                dueAt: s.optionalInt64(20).map(date), createdAt: date(s.int64(21)), updatedAt: date(s.int64(22)))
            out.append((d, s.optionalString(23)))
        }
        return out
    }

    /// The board's tallies of open deals (one owner's, or everyone's).
    public func dealTallies(ownerID: Int64?) throws -> [DealTally] {
        var w = SQLFilter()
        w.add("open_count > 0")
        w.add("owner_id = ?", ifSet: ownerID)
        return try rows(
            "SELECT pipeline, stage, owner_id, currency, open_count, open_amount, overdue_count FROM deal_tally \(w.clause)",
            StatementArguments(w.arguments)
        ).map {
            let owner: Int64 = $0[2]
            // SQLite turns an integer sum that overflows into a real: held at Int64's bounds here.
            let sum: Double = $0[5]
            let amount: Int64 = sum >= 9.2e18 ? .max : (sum <= -9.2e18 ? .min : Int64(sum))
            return DealTally(
                pipeline: $0[0], stage: $0[1], ownerID: owner == 0 ? nil : owner, currency: $0[3], count: $0[4], amount: amount,
                overdue: $0[6])
        }
    }

    /// Open deals per (pipeline, stage), for a reload that removes stages.
    public func openDealsPerStage() throws -> [(pipeline: String, stage: String, ids: [Int64])] {
        try rows(
            "SELECT pipeline, stage, group_concat(id) FROM (SELECT pipeline, stage, id FROM deals WHERE status = 'open' ORDER BY id) GROUP BY pipeline, stage"
        ).map { r in
            let ids = (r[2] as String? ?? "").split(separator: ",").compactMap { Int64($0) }
            return (r[0], r[1], ids)
        }
    }

    /// Whether the client has an open deal at one of `stages` (pipeline, stage).
    public func hasOpenDeal(clientID: Int64, atAnyOf stages: [(pipeline: String, stage: String)]) throws -> Bool {
        guard !stages.isEmpty else { return false }
        for d in try openDeals(clientID: clientID) where stages.contains(where: { $0.pipeline == d.pipeline && $0.stage == d.stage }) {
            return true
        }
        return false
    }

    /// Holds an assigned client past its release instant back from the exchange (an open deal at
    /// an exempting stage): red, with no next instant for the scheduler.
    public func holdClient(id: Int64, now: Date) throws {
        try prepared("UPDATE clients SET zone = 'red', next_due_at = NULL, updated_at = ? WHERE id = ?").run(ms(now), id)
    }

    /// Re-arms held clients (one, or all): the scheduler looks at them again at `now` and releases
    /// those no deal holds any more. A held client is assigned, past its release instant, with no
    /// next instant.
    @discardableResult
    public func rearmHeldClients(clientID: Int64? = nil, now: Date) throws -> Int {
        let held = "status = 'assigned' AND next_due_at IS NULL AND release_at IS NOT NULL AND release_at <= ?"
        if let clientID {
            try exec("UPDATE clients SET next_due_at = ? WHERE id = ? AND \(held)", [ms(now), clientID, ms(now)])
        } else {
            try exec("UPDATE clients SET next_due_at = ? WHERE \(held)", [ms(now), ms(now)])
        }
        return db.changesCount
    }
}
