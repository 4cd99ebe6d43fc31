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
    /// The client's segment (read only when a report slices by segment).
    public var segment: String?
    public var won: Bool
    public var amount: Int64?
    public var currency: String
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

/// A deal entering a stage in a report's period, and what it did next (if anything yet).
public struct StageEntry: Sendable {
    public var dealID: Int64
    public var stage: String
    public var enteredAt: Int64
    public var ownerID: Int64?
    public var source: String?
    public var segment: String?
    /// The deal's next step after entering: the stage it went to, its status then and when.
    public var next: (stage: String, status: String, at: Int64)?
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
    public func wonDealsForCommission(from: Date, to: Date, currency: String, ownerID: Int64?) throws -> [CommissionSource] {
        var out: [CommissionSource] = []
        let owner = ownerID.map { "AND d.owner_id = \($0)" } ?? "AND d.owner_id IS NOT NULL"
        try scan(
            """
            SELECT d.id, d.title, d.client_id, d.owner_id, coalesce(d.amount, 0), d.pipeline, c.segment
            FROM deals d JOIN clients c ON c.id = d.client_id
            WHERE d.closed_at >= ? AND d.closed_at < ? AND d.status = 'won' AND d.currency = ? \(owner)
            ORDER BY d.owner_id, d.id
            """, ms(from), ms(to), currency
        ) { s in
            out.append(
                CommissionSource(
                    dealID: s.int64(0), title: s.string(1), clientID: s.int64(2), ownerID: s.int64(3), base: s.int64(4),
                    pipeline: s.string(5), segment: s.optionalString(6)))
        }
        return out
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
        ) { s in
            out.append(
                CommissionSource(
                    dealID: s.int64(0), title: s.string(1), clientID: s.int64(2), ownerID: s.int64(3), base: s.int64(4),
                    pipeline: s.string(5), segment: s.optionalString(6)))
        }
        return out
    }

    /// Calls `body` for every deal closed (won or lost) in `[from, to)` (index `deals_closed`;
    /// `deals_owner` for one owner). The client's segment is read only `withSegment`.
    public func closedDeals(from: Date, to: Date, ownerID: Int64?, withSegment: Bool, _ body: (ClosedDeal) -> Void) throws {
        let owner = ownerID.map { "AND d.owner_id = \($0)" } ?? ""
        let segment = withSegment ? "(SELECT segment FROM clients WHERE id = d.client_id)" : "NULL"
        try scan(
            """
            SELECT d.owner_id, d.source, d.pipeline, \(segment), d.status, d.amount, d.currency, d.lost_reason,
              d.closed_at - d.opened_at
            FROM deals d WHERE d.closed_at >= ? AND d.closed_at < ? AND d.status IN ('won', 'lost') \(owner)
            """, ms(from), ms(to)
        ) { s in
            body(
                ClosedDeal(
                    ownerID: s.optionalInt64(0), source: s.optionalString(1), pipeline: s.string(2), segment: s.optionalString(3),
                    won: s.string(4) == "won", amount: s.optionalInt64(5), currency: s.string(6), lostReason: s.optionalString(7),
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

    /// Calls `body` for every entry into a stage of `pipeline` in `[from, to)`: a deal's creation
    /// (its first stage) or an open move to another stage (a reopening is not an entry), with
    /// the deal's next step found through `deal_moves_deal(deal_id, id)`. The entries are found
    /// through `deal_moves_at(at)`.
    public func stageEntries(
        from: Date, to: Date, pipeline: String, ownerID: Int64?, withSegment: Bool, _ body: (StageEntry) -> Void
    ) throws {
        let owner = ownerID.map { "AND d.owner_id = \($0)" } ?? ""
        let segment = withSegment ? "(SELECT segment FROM clients WHERE id = d.client_id)" : "NULL"
        try scan(
            """
            SELECT m.deal_id, m.to_stage, m.at, d.owner_id, d.source, \(segment), n.to_stage, n.status, n.at
            FROM deal_moves m INDEXED BY deal_moves_at
            JOIN deals d ON d.id = m.deal_id
            LEFT JOIN deal_moves n ON n.id = (SELECT x.id FROM deal_moves x WHERE x.deal_id = m.deal_id AND x.id > m.id ORDER BY x.id LIMIT 1)
            WHERE m.at >= ? AND m.at < ? AND m.status = 'open' AND (m.from_stage IS NULL OR m.from_stage != m.to_stage)
              AND d.pipeline = ? \(owner)
            """, ms(from), ms(to), pipeline
        ) { s in
            let next = s.optionalString(6).map { (stage: $0, status: s.string(7), at: s.int64(8)) }
            body(
                StageEntry(
                    dealID: s.int64(0), stage: s.string(1), enteredAt: s.int64(2), ownerID: s.optionalInt64(3),
                    source: s.optionalString(4), segment: s.optionalString(5), next: next))
        }
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
        var per: [Int64: CompletenessTally] = [:]
        var all = CompletenessTally()
        let owner = ownerID.map { "WHERE owner_id = \($0) AND status = 'assigned'" } ?? ""
        try scan(
            """
            SELECT id, owner_id, status = 'assigned', coalesce(segment, '') != '', coalesce(source, '') != '' FROM clients \(owner)
            """
        ) { s in
            let id = s.int64(0)
            let f = id <= maxID ? flags[Int(id)] : 0
            func add(_ t: inout CompletenessTally) {
                t.clients += 1
                if f & reach != 0 && f & person != 0 { t.minimal += 1 }
                if f & decider != 0 { t.decisionMaker += 1 }
                if s.int64(3) != 0 { t.segment += 1 }
                if s.int64(4) != 0 { t.source += 1 }
            }
            add(&all)
            if s.int64(2) != 0, let o = s.optionalInt64(1) { add(&per[o, default: CompletenessTally()]) }
        }
        return (per, all)
    }
}
