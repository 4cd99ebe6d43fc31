public import Foundation

/// Where a freeze of a client's clock stands (`client.freeze`, `client.freeze_decide`).
public enum FreezeStatus: String, Sendable, CaseIterable {
    /// Asked for by the owner; the clock still runs until a head approves.
    case requested
    /// Approved: the clock stands still from the approval until `until`.
    case approved
    /// Refused by a head; the clock never stopped.
    case refused
    /// Approved and over (`until` passed): the frozen time moved the release later.
    case ended
}

/// A stretch of time a client's clock stood still (an approved freeze, from its approval to its
/// `until`). Time inside it does not count towards yellow, red or the release.
public struct FrozenSpan: Sendable, Equatable {
    public var from: Date
    public var until: Date

    public init(from: Date, until: Date) {
        self.from = from
        self.until = until
    }
}

/// The rule that keeps an assigned client from the exchange, in the order they win when several
/// apply (docs/rules.md, "What holds a client"): a head's lock, an approved freeze, a deal won
/// recently, an open deal at or past the exempting stage. The zone thresholds (by segment, by ABC
/// class, the default) only say when a client no rule holds is released.
public enum HoldRule: Sendable, Equatable {
    /// A key account a head locked (`client.lock`): never released.
    case locked
    /// An approved freeze: the clock stands still until `until`.
    case frozen(until: Date, reason: String)
    /// A deal won at `wonAt`, within `exchange.exempt_won_within`: held until `until`.
    case wonDeal(dealID: Int64, wonAt: Date, until: Date)
    /// An open deal at or past `deals.exempt_from_stage`: held while it stays open there.
    case openDeal(dealID: Int64, stage: String)

    /// The rule's name on the wire (`client.explain`'s `held_by.rule`).
    public var name: String {
        switch self {
        case .locked: return "lock"
        case .frozen: return "freeze"
        case .wonDeal: return "won_deal"
        case .openDeal: return "open_deal"
        }
    }

    /// When the rule stops holding by itself (the scheduler looks at the client again then), or
    /// `nil` when only a person's step (unlock, a deal closed or moved) ends it.
    public var endsAt: Date? {
        switch self {
        case .locked, .openDeal: return nil
        case .frozen(let until, _): return until
        case .wonDeal(_, _, let until): return until
        }
    }
}

/// What is known about one client that may hold it: read by the caller (the live engine from the
/// store, a simulation from history) and judged by ``HoldRules``.
public struct HoldFacts: Sendable, Equatable {
    /// A head locked it.
    public var locked: Bool
    /// Its freeze, if one was ever asked for (the latest).
    public var freezeStatus: FreezeStatus?
    public var freezeUntil: Date?
    public var freezeReason: String?
    /// Its most recently won deal, if any.
    public var lastWon: (id: Int64, at: Date)?
    /// An open deal at or past the exempting stage, if any.
    public var openDealAtStage: (id: Int64, stage: String)?

    public init(
        locked: Bool = false, freezeStatus: FreezeStatus? = nil, freezeUntil: Date? = nil, freezeReason: String? = nil,
        lastWon: (id: Int64, at: Date)? = nil, openDealAtStage: (id: Int64, stage: String)? = nil
    ) {
        self.locked = locked
        self.freezeStatus = freezeStatus
        self.freezeUntil = freezeUntil
        self.freezeReason = freezeReason
        self.lastWon = lastWon
        self.openDealAtStage = openDealAtStage
    }

    public static func == (a: HoldFacts, b: HoldFacts) -> Bool {
        a.locked == b.locked && a.freezeStatus == b.freezeStatus && a.freezeUntil == b.freezeUntil && a.freezeReason == b.freezeReason
            && a.lastWon?.id == b.lastWon?.id && a.lastWon?.at == b.lastWon?.at && a.openDealAtStage?.id == b.openDealAtStage?.id
            && a.openDealAtStage?.stage == b.openDealAtStage?.stage
    }
}

/// Why a freeze is refused before a head sees it, with the figures its error names.
public enum FreezeRefusal: Sendable, Equatable {
    /// `until` is not after now.
    case notInFuture
    /// `until` is later than `exchange.freeze_max` after now; `latest` is the last allowed instant.
    case tooLong(latest: Date)
    /// The manager already has `frozen` clients frozen or waiting for a decision, the cap.
    case tooMany(frozen: Int, limit: Int)
}

/// The settings of freezes and exemptions (`exchange.freeze_max`, `exchange.max_frozen_per_manager`,
/// `exchange.max_locked_per_manager`, `exchange.exempt_won_within`).
public struct HoldSettings: Sendable, Equatable {
    /// The longest freeze a manager may ask for (default P3M).
    public var freezeMax = ISODuration(months: 3)
    /// Clients of one manager frozen or waiting for a decision at once (0: no cap).
    public var maxFrozenPerManager = 10
    /// Clients of one manager a head may lock (0: no cap).
    public var maxLockedPerManager = 10
    /// How long a won deal holds its client (nil: off).
    public var exemptWonWithin: ISODuration? = nil

    public init() {}
}

/// The pure rules of freezes and exemptions (docs/rules.md, "What holds a client"): which rule
/// holds a client at an instant, how frozen time moves a clock's instants, and what a freeze
/// request may ask. The live zone engine and a replay of history use the same functions.
public struct HoldRules: Sendable {
    public var settings: HoldSettings
    /// The department's calendar and time zone.
    public var zones: ZoneRules

    public init(_ settings: HoldSettings, zones: ZoneRules) {
        self.settings = settings
        self.zones = zones
    }

    /// The rule that holds a client with `facts` at `now`, or `nil` when none does. The first
    /// that applies wins: lock, freeze (approved, `until` after now), won deal (within
    /// `exchange.exempt_won_within` of now), open deal at the exempting stage.
    public func holding(_ facts: HoldFacts, at now: Date) -> HoldRule? {
        if facts.locked { return .locked }
        if facts.freezeStatus == .approved, let until = facts.freezeUntil, until > now {
            return .frozen(until: until, reason: facts.freezeReason ?? "")
        }
        if let within = settings.exemptWonWithin, let won = facts.lastWon {
            let until = zones.add(within, to: won.at)
            if until > now { return .wonDeal(dealID: won.id, wonAt: won.at, until: until) }
        }
        if let d = facts.openDealAtStage { return .openDeal(dealID: d.id, stage: d.stage) }
        return nil
    }

    /// Why a freeze until `until`, asked at `now` by a manager with `frozen` clients frozen or
    /// waiting, is refused; `nil` if it may go to a head.
    public func freezeRefusal(until: Date, now: Date, frozen: Int) -> FreezeRefusal? {
        if until <= now { return .notInFuture }
        let latest = zones.add(settings.freezeMax, to: now)
        if until > latest { return .tooLong(latest: latest) }
        let cap = settings.maxFrozenPerManager
        if cap > 0, frozen >= cap { return .tooMany(frozen: frozen, limit: cap) }
        return nil
    }

    /// `schedule` with the clock stood still over `span`: every instant after the span's start
    /// (or the clock's start, if later) moves later by the frozen time; instants already passed
    /// stay. A span that ends before the clock started changes nothing.
    public static func frozen(_ schedule: ZoneSchedule, over span: FrozenSpan) -> ZoneSchedule {
        let from = max(span.from, schedule.start)
        guard span.until > from else { return schedule }
        let shift = span.until.timeIntervalSince(from)
        func moved(_ d: Date) -> Date { d > from ? d.addingTimeInterval(shift) : d }
        return ZoneSchedule(
            start: schedule.start, yellowAt: moved(schedule.yellowAt), redAt: moved(schedule.redAt), releaseAt: moved(schedule.releaseAt))
    }

    /// `schedule` with `span` taken out, if there is one.
    public static func frozen(_ schedule: ZoneSchedule, over span: FrozenSpan?) -> ZoneSchedule {
        span.map { frozen(schedule, over: $0) } ?? schedule
    }

    /// The schedule of a clock started at `start` under `rules`, with every frozen span (in any
    /// order) taken out: the release instant a replay of history needs.
    public static func schedule(from start: Date, rules: ZoneRules, frozen spans: [FrozenSpan]) -> ZoneSchedule {
        spans.sorted { $0.from < $1.from }.reduce(rules.schedule(from: start)) { frozen($0, over: $1) }
    }
}
