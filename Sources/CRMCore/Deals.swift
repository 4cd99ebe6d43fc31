public import Foundation

/// Where a deal stands: in the talks, or closed with an outcome.
public enum DealStatus: String, Sendable, CaseIterable {
    case open, won, lost
}

/// A potential sale (seed 002): a client, an owner, an amount, and a stage of a pipeline.
public struct Deal: Sendable, Equatable, Identifiable {
    public var id: Int64
    public var clientID: Int64
    public var ownerID: Int64?
    public var creatorLogin: String
    public var title: String
    /// In minor units (kopecks for RUB).
    public var amount: Int64?
    public var currency: String
    /// Set on the deal (0-100), else nil and the stage's default applies.
    public var probability: Int?
    public var source: String?
    public var pipeline: String
    /// The current stage; for a closed deal, the stage it was closed from.
    public var stage: String
    public var status: DealStatus
    public var lostReason: String?
    /// `YYYY-MM-DD`.
    public var expectedClose: String?
    public var openedAt: Date
    public var closedAt: Date?
    public var stageEnteredAt: Date
    /// The owner's latest contact with the client (a resetting interaction, the start, a move).
    public var lastContactAt: Date
    /// When the stage's cadence runs out from the last contact (nil: no cadence, or closed).
    public var nextContactDue: Date?
    /// 0: in cadence; 1: overdue, the owner reminded; 2: overdue, the heads copied too.
    public var overdueStage: Int
    /// The scheduler's next instant for this deal (nil: nothing to do).
    public var dueAt: Date?
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: Int64, clientID: Int64, ownerID: Int64?, creatorLogin: String, title: String, amount: Int64?, currency: String,
        probability: Int?, source: String?, pipeline: String, stage: String, status: DealStatus, lostReason: String?,
        expectedClose: String?, openedAt: Date, closedAt: Date?, stageEnteredAt: Date, lastContactAt: Date, nextContactDue: Date?,
        overdueStage: Int, dueAt: Date?, createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.clientID = clientID
        self.ownerID = ownerID
        self.creatorLogin = creatorLogin
        self.title = title
        self.amount = amount
        self.currency = currency
        self.probability = probability
        self.source = source
        self.pipeline = pipeline
        self.stage = stage
        self.status = status
        self.lostReason = lostReason
        self.expectedClose = expectedClose
        self.openedAt = openedAt
        self.closedAt = closedAt
        self.stageEnteredAt = stageEnteredAt
        self.lastContactAt = lastContactAt
        self.nextContactDue = nextContactDue
        self.overdueStage = overdueStage
        self.dueAt = dueAt
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    public var overdue: Bool { overdueStage > 0 }

    /// Overdue at `now`: marked so, or open and past its cadence before the scheduler has marked it
    /// (an instant ago, or just given to a new owner).
    public func isOverdue(at now: Date) -> Bool {
        overdue || (status == .open && (nextContactDue ?? .distantFuture) <= now)
    }
}

/// A to-do with a due instant for one user, optionally about a client or a deal.
public struct TaskItem: Sendable, Equatable, Identifiable {
    public var id: Int64
    public var title: String
    public var note: String?
    /// `call`, `meeting` or nil: a call or meeting task may log its interaction when done.
    public var kind: String?
    public var assigneeID: Int64
    public var creatorLogin: String
    public var clientID: Int64?
    public var dealID: Int64?
    public var dueAt: Date
    /// When the scheduler is to announce it due (nil once announced, or done).
    public var remindAt: Date?
    public var doneAt: Date?
    public var doneBy: String?
    public var interactionID: Int64?
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: Int64, title: String, note: String?, kind: String?, assigneeID: Int64, creatorLogin: String, clientID: Int64?, dealID: Int64?,
        dueAt: Date, remindAt: Date?, doneAt: Date?, doneBy: String?, interactionID: Int64?, createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.title = title
        self.note = note
        self.kind = kind
        self.assigneeID = assigneeID
        self.creatorLogin = creatorLogin
        self.clientID = clientID
        self.dealID = dealID
        self.dueAt = dueAt
        self.remindAt = remindAt
        self.doneAt = doneAt
        self.doneBy = doneBy
        self.interactionID = interactionID
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// The rules of moving deals and of their contact cadence (RULES §7, seed 002). Pure: no clock,
/// no store.
public struct DealRules: Sendable {
    public let settings: DealSettings
    let calendar: Calendar

    public init(_ settings: DealSettings, timeZone: TimeZone) {
        self.settings = settings
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = timeZone
        calendar = cal
    }

    /// The probability a deal shows: its own, else its stage's default.
    public func probability(_ d: Deal) -> Int {
        if let p = d.probability { return p }
        return settings.pipeline(d.pipeline)?.stage(d.stage)?.probability ?? 0
    }

    /// Why `deal` may not move to `target`, or nil when it may. Forward one stage at a time
    /// (more where the pipeline allows skipping); back only with `mayGoBack` (a head).
    public func moveRefusal(_ d: Deal, to target: String, mayGoBack: Bool) -> DomainError? {
        guard d.status == .open else {
            return DomainError(
                .conflict, "Deal \(d.id) is \(d.status.rawValue); reopen it (deal.reopen, a head) before moving it.",
                details: [("deal_id", .int(d.id)), ("status", .string(d.status.rawValue))])
        }
        guard let p = settings.pipeline(d.pipeline) else {
            return DomainError(.conflict, "Deal \(d.id)'s pipeline '\(d.pipeline)' is no longer configured; ask an admin.")
        }
        guard let to = p.index(of: target) else {
            let names = p.stages.map(\.name).joined(separator: ", ")
            return DomainError(
                .validationFailed, "'\(target)' is not a stage of \(p.name) (\(names)); to close a deal use deal.close.",
                fields: [("stage", "is not a stage of \(p.name)")])
        }
        let from = p.index(of: d.stage) ?? -1
        if to == from {
            return DomainError(
                .conflict, "Deal \(d.id) is already at '\(target)'.", details: [("deal_id", .int(d.id)), ("stage", .string(target))])
        }
        let details: [(String, DomainError.Detail)] = [
            ("deal_id", .int(d.id)), ("from", .string(d.stage)), ("to", .string(target)),
            ("next", from + 1 < p.stages.count ? .string(p.stages[from + 1].name) : .null),
        ]
        if to < from && !mayGoBack {
            return DomainError(
                .stageOrder, "Only a head may move a deal back: '\(d.stage)' to '\(target)'. Ask your head of sales.", details: details)
        }
        if to > from + 1 && !p.allowSkip && !mayGoBack {
            return DomainError(
                .stageOrder,
                "Deal \(d.id) moves one stage at a time: from '\(d.stage)' the next is '\(p.stages[from + 1].name)', not '\(target)'.",
                details: details)
        }
        return nil
    }

    /// When a deal at `stage` of `pipeline` whose last contact was `lastContact` falls overdue
    /// (nil: the stage has no cadence, or is unknown).
    public func nextContactDue(pipeline: String, stage: String, lastContact: Date) -> Date? {
        guard let cadence = settings.pipeline(pipeline)?.stage(stage)?.cadence else { return nil }
        return cadence.added(to: lastContact, in: calendar)
    }

    /// Sets the deal's cadence fields from its stage and last contact: the instant it falls
    /// overdue, whether it is overdue at `now` (already reminded stays reminded), and the
    /// scheduler's next instant.
    public func rearm(_ d: inout Deal, now: Date) {
        guard d.status == .open else {
            d.nextContactDue = nil
            d.overdueStage = 0
            d.dueAt = nil
            return
        }
        d.nextContactDue = nextContactDue(pipeline: d.pipeline, stage: d.stage, lastContact: d.lastContactAt)
        guard let due = d.nextContactDue else {
            d.overdueStage = 0
            d.dueAt = nil
            return
        }
        if due > now {
            d.overdueStage = 0
            d.dueAt = due
        } else if d.overdueStage == 0 {
            // Overdue already (a backdated contact, a stage with a shorter cadence): the
            // scheduler records it at its true instant at once.
            d.dueAt = due
        }
    }

    /// When the heads get their copy of an overdue deal's reminder (nil: never).
    public func headCopyAt(_ d: Deal) -> Date? {
        guard let due = d.nextContactDue, let grace = settings.overdueHeadGrace else { return nil }
        return grace.added(to: due, in: calendar)
    }

    /// Whether an open deal at `stage` of `pipeline` holds its client back from release
    /// (`deals.exempt_from_stage`).
    public func exempts(pipeline: String, stage: String) -> Bool {
        guard let from = settings.exemptFromStage, let p = settings.pipeline(pipeline), let at = p.index(of: stage),
            let limit = p.index(of: from)
        else { return false }
        return at >= limit
    }

    /// The stages of every pipeline that hold a client back, as (pipeline, stage) pairs.
    public var exemptingStages: [(pipeline: String, stage: String)] {
        settings.pipelines.flatMap { p in p.stages.map(\.name).filter { exempts(pipeline: p.name, stage: $0) }.map { (p.name, $0) } }
    }
}
