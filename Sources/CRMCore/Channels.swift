public import Foundation

/// A marketing channel: a name, the tracking phone numbers that name it when dialled, and the
/// spend entered per period (docs/rules.md, "Channels and call tracking").
public struct Channel: Sendable, Equatable {
    public var id: Int64
    public var name: String
    /// Normalized tracking numbers (E.164 where the country is known), each in one channel only.
    public var phones: [String]
    /// The channel's own gross margin in basis points (10000 = 100 %), overriding
    /// `channels.margin_bp` when set.
    public var marginBP: Int?
    /// An archived channel takes no new numbers and leaves the report unless it had figures.
    public var archived: Bool
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: Int64, name: String, phones: [String], marginBP: Int?, archived: Bool, createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.name = name
        self.phones = phones
        self.marginBP = marginBP
        self.archived = archived
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// Bounds every caller is held to (docs/protocol.md, `channel.create`).
    public enum Limits {
        /// Channels in all, archived ones included.
        public static let channels = 500
        /// Tracking numbers of one channel.
        public static let phonesPerChannel = 100
        /// Characters of a channel's name.
        public static let nameLength = 100
        /// The largest spend of one period, in minor units (a trillion roubles).
        public static let maxSpend: Int64 = 100_000_000_000_000
        /// Bytes of a caller ID as the PBX sends it (`anonymous`, `+7 916 ...`).
        public static let callerIDBytes = 64
    }
}

/// The spend of one channel in one period, entered by hand.
public struct ChannelSpend: Sendable, Equatable {
    public var channelID: Int64
    public var period: Period
    public var startsAt: Date
    public var endsAt: Date
    /// Minor units.
    public var amount: Int64
    public var currency: String
    public var setBy: String
    public var updatedAt: Date

    public init(
        channelID: Int64, period: Period, startsAt: Date, endsAt: Date, amount: Int64, currency: String, setBy: String, updatedAt: Date
    ) {
        self.channelID = channelID
        self.period = period
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.amount = amount
        self.currency = currency
        self.setBy = setBy
        self.updatedAt = updatedAt
    }

    /// The part of the spend that falls in `[from, to)`, in proportion to time, rounded to the
    /// nearest minor unit: a month's spend counts whole in that month's report, a quarter of it in
    /// a week's (docs/rules.md).
    public func share(from: Date, to: Date) -> Int64 {
        let start = max(from, startsAt)
        let end = min(to, endsAt)
        guard end > start else { return 0 }
        if start == startsAt && end == endsAt { return amount }
        let whole = endsAt.timeIntervalSince(startsAt)
        guard whole > 0 else { return 0 }
        return Int64((Double(amount) * end.timeIntervalSince(start) / whole).rounded())
    }
}

/// One channel's figures over a span, as report.channels gives them (docs/rules.md defines each).
public struct ChannelFigures: Sendable, Equatable {
    public var spend: Int64 = 0
    /// Incoming calls to the channel's numbers.
    public var calls: Int64 = 0
    /// Distinct identified callers among those calls.
    public var leads: Int64 = 0
    /// Callers with no card before their call: leads crmd opened.
    public var newLeads: Int64 = 0
    /// Distinct clients of the channel with a won deal closed in the span.
    public var buyers: Int64 = 0
    /// Won deals of the channel's clients closed in the span.
    public var deals: Int64 = 0
    /// Their final amounts (minor units, the department's currency).
    public var revenue: Int64 = 0

    public init() {}

    /// Revenue × margin.
    public func grossProfit(marginBP: Int) -> Int64 {
        Int64((Double(revenue) * Double(marginBP) / 10_000).rounded())
    }

    /// Gross profit less the spend: what the channel earned after paying for itself.
    public func profit(marginBP: Int) -> Int64 { grossProfit(marginBP: marginBP) - spend }

    /// Profit over spend in basis points (2000 = 20 %); nil without spend.
    public func roiBP(marginBP: Int) -> Int64? {
        guard spend > 0 else { return nil }
        return Int64((Double(profit(marginBP: marginBP)) * 10_000 / Double(spend)).rounded())
    }

    /// Spend per lead (minor units); nil without leads.
    public var costPerLead: Int64? { leads > 0 ? Int64((Double(spend) / Double(leads)).rounded()) : nil }

    /// Spend per buyer (minor units); nil without buyers.
    public var costPerBuyer: Int64? { buyers > 0 ? Int64((Double(spend) / Double(buyers)).rounded()) : nil }

    /// Revenue per won deal (minor units); nil without deals.
    public var averageDeal: Int64? { deals > 0 ? Int64((Double(revenue) / Double(deals)).rounded()) : nil }
}

extension Access {
    /// May create, change and archive channels and enter their spend: heads and admins.
    public static func canManageChannels(_ actor: Actor) -> Bool { actor.role == .admin || actor.role == .head }

    /// May report an incoming call (`call.incoming`): the PBX's account (an operator), operators,
    /// heads and admins. Managers and the rest may not: a call opens leads, and a hostile local
    /// uid must not be able to fill the base with them.
    public static func canReportCalls(_ actor: Actor) -> Bool {
        actor.role == .admin || actor.role == .head || actor.role == .operator
    }

    /// May read report.channels: everyone but operators; a manager's figures count only their
    /// own clients and deals (and leave out profit and ROI, which the spend of the whole
    /// channel would make meaningless).
    public static func canSeeChannelReport(_ actor: Actor) -> Bool { actor.role != .operator }

    /// Whether `actor` sees the `call.incoming` event of a client owned by `ownerID`: its owner,
    /// heads, directors and admins (as every event), and operators, who answer the line.
    public static func seesCallPop(_ actor: Actor, ownerID: Int64?) -> Bool {
        switch actor.role {
        case .admin, .head, .director, .operator: return true
        case .manager: return ownerID != nil && ownerID == actor.userID
        case .accountant: return false
        }
    }
}
