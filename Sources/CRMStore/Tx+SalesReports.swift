public import Foundation
import GRDB

/// A deal line that may earn commission: a won deal (basis won) or a deal's payments in the
/// period (basis paid), with what its rate depends on.
public struct CommissionSource: Sendable, Equatable {
    public var dealID: Int64
    public var title: String
    public var clientID: Int64
    /// Won: the deal's owner; paid: the owner credited with the payments.
    public var ownerID: Int64
    /// Won: the deal's final amount; paid: the sum of its payments in the period.
    public var base: Int64
    public var pipeline: String
    public var segment: String?
}

/// A deal closed in a report's period.
public struct ClosedDeal: Sendable {
    public var ownerID: Int64?
    public var source: String?
    public var pipeline: String
    /// The client's segment, source and pipeline (read only when a report slices by them).
    public var segment: String?
    public var won: Bool
    public var amount: Int64?
    /// Nil for the department currency; else the deal's currency.
    public var currency: String?
    public var lostReason: String?
    /// Milliseconds from opening to closing.
    public var durationMS: Int64
}

/// A payment in a report's period, with its deal's slices.
public struct PeriodPayment: Sendable {
    public var ownerID: Int64?
    public var source: String?
    public var pipeline: String
    public var segment: String?
    public var amount: Int64
}

/// A deal entering a stage in a report's period, and what it did next (if anything yet). Stages
/// are positions in the pipeline's stage list (names are mapped in SQL, so a million entries
/// cost no strings).
public struct StageEntry: Sendable {
    /// How a deal left a stage.
    public enum Step: Sendable { case moved, won, lost }

    public var dealID: Int64
    /// The position of the stage entered.
    public var stage: Int
    public var enteredAt: Int64
    public var ownerID: Int64?
    public var source: String?
    public var segment: String?
    /// The deal's next step after entering: the stage it went to (its position, or nil for a
    /// stage not in the list), how, and when.
    public var next: (stage: Int?, step: Step, at: Int64)?
}

/// Per manager (or the whole department): clients and how many have each part of a full card.
public struct CompletenessTally: Sendable, Equatable {
    public var clients = 0
    /// A phone or an email (the client's or a contact's) and at least one contact person.
    public var minimal = 0
    /// At least one contact marked as a decision maker.
    public var decisionMaker = 0
    public var segment = 0
    public var source = 0
    public init() {}
}

extension Tx {
    /// Won deals closed in `[from, to)` in `currency` with an owner (index `deals_closed`, or
    /// `deals_owner_closed` for one owner), with the client's segment.
    public func wonDealsForCommission(
        from: Date, to: Date, currency: String, ownerID: Int64?, titles: Bool = true, segments: Bool = true
    ) throws -> [CommissionSource] {
        var out: [CommissionSource] = []
        // The whole department: the covering deals_closed (the planner would skip-scan
        // deals_owner_closed owner by owner); the title and the client's segment only if needed.
        let owner =
            ownerID.map { "INDEXED BY deals_owner_closed WHERE d.owner_id = \($0) AND" }
            ?? "INDEXED BY deals_closed WHERE d.owner_id IS NOT NULL AND"
        let title = titles ? "d.title" : "''"
        let segment = segments ? "(SELECT segment FROM clients WHERE id = d.client_id)" : "NULL"
        try scan(
            """
            SELECT d.id, \(title), d.client_id, d.owner_id, coalesce(d.amount, 0), d.pipeline, \(segment)
            FROM deals d \(owner) d.closed_at >= ? AND d.closed_at < ? AND d.status = 'won' AND d.currency = ?
            ORDER BY d.owner_id, d.id
            """, ms(from), ms(to), currency
        ) { s in out.append(commissionSource(s)) }
        return out
    }

    /// A commission query's row: deal, title, client, owner, base, pipeline, segment.
    private func commissionSource(_ s: RawStatement) -> CommissionSource {
        CommissionSource(
            dealID: s.int64(0), title: s.string(1), clientID: s.int64(2), ownerID: s.int64(3), base: s.int64(4), pipeline: s.string(5),
            segment: s.optionalString(6))
    }

    /// Per (credited owner, deal): the sum of the payments dated in `[from, to)` on deals in
    /// `currency` (index `payments_paid`, or `payments_owner` for one owner).
    public func paidDealsForCommission(from: Date, to: Date, currency: String, ownerID: Int64?) throws -> [CommissionSource] {
        var out: [CommissionSource] = []
        let owner = ownerID.map { "AND p.owner_id = \($0)" } ?? "AND p.owner_id IS NOT NULL"
        try scan(
            """
            SELECT p.deal_id, d.title, d.client_id, p.owner_id, sum(p.amount), d.pipeline, c.segment
            FROM payments p JOIN deals d ON d.id = p.deal_id JOIN clients c ON c.id = d.client_id
            WHERE p.paid_at >= ? AND p.paid_at < ? AND d.currency = ? \(owner)
            GROUP BY p.owner_id, p.deal_id ORDER BY p.owner_id, p.deal_id
            """, ms(from), ms(to), currency
        ) { s in out.append(commissionSource(s)) }
        return out
    }

    /// Calls `body` for every deal closed (won or lost) in `[from, to)` (index `deals_closed`;
    /// `deals_owner` for one owner). Source, pipeline and the client's segment are read only for
    /// the slice asked (`slicedBy`); `currency` comes back nil for the department's.
    public func closedDeals(
        from: Date, to: Date, currency: String, ownerID: Int64?, slicedBy: String, _ body: (ClosedDeal) -> Void
    ) throws {
        let owner = ownerID.map { "AND d.owner_id = \($0)" } ?? ""
        // Strings only where needed: a year is over a million rows.
        let segment = slicedBy == "segment" ? "(SELECT segment FROM clients WHERE id = d.client_id)" : "NULL"
        let source = slicedBy == "source" ? "d.source" : "NULL"
        let pipeline = slicedBy == "pipeline" ? "d.pipeline" : "''"
        try scan(
            """
            SELECT d.owner_id, \(source), \(pipeline), \(segment), d.status = 'won', d.amount,
              CASE WHEN d.currency = ? THEN NULL ELSE d.currency END, d.lost_reason, d.closed_at - d.opened_at
            FROM deals d WHERE d.closed_at >= ? AND d.closed_at < ? AND d.status IN ('won', 'lost') \(owner)
            """, currency, ms(from), ms(to)
        ) { s in
            body(
                ClosedDeal(
                    ownerID: s.optionalInt64(0), source: s.optionalString(1), pipeline: s.string(2), segment: s.optionalString(3),
                    won: s.int64(4) != 0, amount: s.optionalInt64(5), currency: s.optionalString(6), lostReason: s.optionalString(7),
                    durationMS: s.int64(8)))
        }
    }

    /// Payments dated in `[from, to)` on deals in `currency` (index `payments_paid`, or
    /// `payments_owner` for one owner), with their deal's slices.
    public func periodPayments(from: Date, to: Date, currency: String, ownerID: Int64?, withSegment: Bool) throws -> [PeriodPayment] {
        var out: [PeriodPayment] = []
        let owner = ownerID.map { "AND p.owner_id = \($0)" } ?? ""
        let segment = withSegment ? "(SELECT segment FROM clients WHERE id = d.client_id)" : "NULL"
        try scan(
            """
            SELECT p.owner_id, d.source, d.pipeline, \(segment), p.amount
            FROM payments p JOIN deals d ON d.id = p.deal_id
            WHERE p.paid_at >= ? AND p.paid_at < ? AND d.currency = ? \(owner)
            """, ms(from), ms(to), currency
        ) { s in
            out.append(
                PeriodPayment(
                    ownerID: s.optionalInt64(0), source: s.optionalString(1), pipeline: s.string(2), segment: s.optionalString(3),
                    amount: s.int64(4)))
        }
        return out
    }

    /// Calls `body` for every entry into one of `stages` of `pipeline` in `[from, to)`: a deal's
    /// creation (its first stage) or an open move to another stage (a reopening is not an
    /// entry). The entries come from the covering index `deal_moves_at(at, deal_id, status,
    /// to_stage, from_stage)`, the deal by rowid, and the deal's next step from one seek in the
    /// covering index `deal_moves_steps(deal_id, id, at, status, to_stage)`, packed into one
    /// integer (`at << 8 | step << 6 | stage`) so no second lookup is needed.
    public func stageEntries(
        from: Date, to: Date, pipeline: String, stages: [String], ownerID: Int64?, slicedBy: String?, _ body: (StageEntry) -> Void
    ) throws {
        let (owner, source, segment) = Self.entrySQL(ownerID: ownerID, slicedBy: slicedBy)
        func position(_ column: String, unknown: Int) -> String { Self.stagePosition(column, stages, unknown: unknown) }
        try scan(
            """
            SELECT m.deal_id, \(position("m.to_stage", unknown: -1)), m.at, d.owner_id, \(source), \(segment),
              (SELECT (x.at << 8) | (CASE x.status WHEN 'won' THEN 64 WHEN 'lost' THEN 128 ELSE 0 END) | \(position("x.to_stage", unknown: 63))
               FROM deal_moves x INDEXED BY deal_moves_steps WHERE x.deal_id = m.deal_id AND x.id > m.id ORDER BY x.id LIMIT 1)
            FROM deal_moves m INDEXED BY deal_moves_at
            JOIN deals d ON d.id = m.deal_id
            WHERE m.at >= ? AND m.at < ? AND m.status = 'open' AND (m.from_stage IS NULL OR m.from_stage != m.to_stage)
              AND d.pipeline = ? \(owner)
            """, ms(from), ms(to), pipeline
        ) { s in
            let stage = Int(s.int64(1))
            guard stage >= 0 else { return }
            let next = s.optionalInt64(6).map { packed -> (stage: Int?, step: StageEntry.Step, at: Int64) in
                let position = Int(packed & 63)
                let step: StageEntry.Step = packed & 64 != 0 ? .won : packed & 128 != 0 ? .lost : .moved
                return (position == 63 ? nil : position, step, packed >> 8)
            }
            body(
                StageEntry(
                    dealID: s.int64(0), stage: stage, enteredAt: s.int64(2), ownerID: s.optionalInt64(3), source: s.optionalString(4),
                    segment: s.optionalString(5), next: next))
        }
    }

    /// The owner filter and the source and segment columns of the stage-entry queries: strings
    /// only for the slice asked for (reading a source per step cost more than the query).
    static func entrySQL(ownerID: Int64?, slicedBy: String?) -> (owner: String, source: String, segment: String) {
        (
            ownerID.map { "AND d.owner_id = \($0)" } ?? "", slicedBy == "source" ? "d.source" : "NULL",
            slicedBy == "segment" ? "(SELECT segment FROM clients WHERE id = d.client_id)" : "NULL"
        )
    }

    /// SQL mapping a stage name in `column` to its position in `stages` (the first 62), else `unknown`.
    static func stagePosition(_ column: String, _ stages: [String], unknown: Int) -> String {
        let whens = stages.prefix(62).enumerated().map {
            "WHEN '\($0.element.replacingOccurrences(of: "'", with: "''"))' THEN \($0.offset)"
        }
        return "(CASE \(column) \(whens.joined(separator: " ")) ELSE \(unknown) END)"
    }

    /// ``stageEntries(from:to:pipeline:stages:ownerID:slicedBy:_:)`` for a long span: one walk
    /// of every step in `deal_moves_steps(deal_id, id, at, status, to_stage, from_stage)` order
    /// (each deal's steps together, oldest first), the deal by rowid, each entry paired with the
    /// step after it in memory. A seek per entry costs more than this walk once the span holds
    /// more than about a tenth of all steps (a quarter or a year).
    public func stageEntriesByWalk(
        from: Date, to: Date, pipeline: String, stages: [String], ownerID: Int64?, slicedBy: String?, _ body: (StageEntry) -> Void
    ) throws {
        let (owner, source, segment) = Self.entrySQL(ownerID: ownerID, slicedBy: slicedBy)
        let position = Self.stagePosition("x.to_stage", stages, unknown: 63)
        let (lo, hi) = (ms(from), ms(to))
        var pending: StageEntry? = nil
        try scan(
            """
            SELECT x.deal_id, x.at, CASE x.status WHEN 'won' THEN 1 WHEN 'lost' THEN 2 ELSE 0 END, \(position),
              x.from_stage IS NULL OR x.from_stage != x.to_stage, d.owner_id, \(source), \(segment)
            FROM deal_moves x INDEXED BY deal_moves_steps JOIN deals d ON d.id = x.deal_id
            WHERE d.pipeline = ? \(owner)
            """, pipeline
        ) { s in
            let deal = s.int64(0)
            let at = s.int64(1)
            let status = s.int64(2)
            let stage = Int(s.int64(3))
            if var p = pending {
                if p.dealID == deal {
                    p.next = (stage == 63 ? nil : stage, status == 1 ? .won : status == 2 ? .lost : .moved, at)
                }
                body(p)
                pending = nil
            }
            guard status == 0, s.int64(4) != 0, at >= lo, at < hi, stage != 63 else { return }
            pending = StageEntry(
                dealID: deal, stage: stage, enteredAt: at, ownerID: s.optionalInt64(5), source: s.optionalString(6),
                segment: s.optionalString(7), next: nil)
        }
        if let p = pending { body(p) }
    }

    /// Card completeness in one pass over each table: flags per client id from phones, emails
    /// and contacts (a byte per client, not a subquery per client), then the clients. Per lead
    /// manager (assigned clients), and for the whole department (every client). With `ownerID`,
    /// only that manager's.
    public func completenessTally(ownerID: Int64?) throws -> (perOwner: [Int64: CompletenessTally], all: CompletenessTally) {
        let maxID = try Int64.fetchOne(db, sql: "SELECT max(id) FROM clients") ?? 0
        var flags = [UInt8](repeating: 0, count: Int(maxID) + 1)
        let reach: UInt8 = 1, person: UInt8 = 2, decider: UInt8 = 4
        func mark(_ id: Int64, _ f: UInt8) { if id >= 0 && id <= maxID { flags[Int(id)] |= f } }
        try scan("SELECT client_id FROM phones") { s in mark(s.int64(0), reach) }
        try scan("SELECT client_id FROM emails") { s in mark(s.int64(0), reach) }
        try scan("SELECT client_id, decision_maker FROM contacts") { s in mark(s.int64(0), s.int64(1) != 0 ? person | decider : person) }
        // Per owner in an array by user id (users are few; a dictionary per client cost a third).
        let maxUser = Int(try Int64.fetchOne(db, sql: "SELECT max(id) FROM users") ?? 0)
        var perUser = [CompletenessTally](repeating: CompletenessTally(), count: maxUser + 1)
        var all = CompletenessTally()
        let owner = ownerID.map { "WHERE owner_id = \($0) AND status = 'assigned'" } ?? ""
        try scan(
            """
            SELECT id, CASE WHEN status = 'assigned' THEN coalesce(owner_id, -1) ELSE -1 END,
              (segment IS NOT NULL AND segment != '') | ((source IS NOT NULL AND source != '') << 1) FROM clients \(owner)
            """
        ) { s in
            let id = s.int64(0)
            let f = id <= maxID ? flags[Int(id)] : 0
            let more = s.int64(2)
            let minimal = f & (reach | person) == reach | person ? 1 : 0
            let dm = f & decider != 0 ? 1 : 0
            let seg = Int(more & 1), src = Int(more >> 1)
            all.clients += 1
            all.minimal += minimal
            all.decisionMaker += dm
            all.segment += seg
            all.source += src
            let o = Int(s.int64(1))
            guard o >= 0, o <= maxUser else { return }
            perUser[o].clients += 1
            perUser[o].minimal += minimal
            perUser[o].decisionMaker += dm
            perUser[o].segment += seg
            perUser[o].source += src
        }
        var per: [Int64: CompletenessTally] = [:]
        for (id, t) in perUser.enumerated() where t.clients > 0 { per[Int64(id)] = t }
        return (per, all)
    }
}
