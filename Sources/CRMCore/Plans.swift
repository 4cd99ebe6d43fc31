public import Foundation

/// A plan: targets for one user or one team over one period (docs/rules.md, "Plans").
public struct Plan: Sendable, Equatable {
    public var id: Int64
    /// The user the plan is for, or nil for a team's plan.
    public var userID: Int64?
    /// The team the plan is for (users.team), or nil for a user's plan.
    public var team: String?
    public var period: Period
    public var startsAt: Date
    public var endsAt: Date
    /// The targets set; a metric absent has no target.
    public var targets: [PlanMetric: Int64]
    public var setBy: String
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: Int64, userID: Int64?, team: String?, period: Period, startsAt: Date, endsAt: Date, targets: [PlanMetric: Int64],
        setBy: String, createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.userID = userID
        self.team = team
        self.period = period
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.targets = targets
        self.setBy = setBy
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// The metrics with a target, in the wire's order.
    public var metrics: [PlanMetric] { PlanMetric.allCases.filter { targets[$0] != nil } }
}

extension PlanMetric {
    /// The metric an interaction of `kind` (wire name) counts toward: calls and meetings.
    public static func counting(_ kind: String) -> PlanMetric? {
        switch kind {
        case "call": return .calls
        case "meeting": return .meetings
        default: return nil
        }
    }

    /// Whether the metric is a sum of money (minor units, department currency).
    public var isMoney: Bool { self == .revenueWon || self == .revenuePaid }

    /// The largest target: a count up to a million, a sum up to 10^15 minor units.
    public var maxTarget: Int64 { isMoney ? 1_000_000_000_000_000 : 1_000_000 }

    /// Percent of the target reached, rounded down; 100 for a target of 0.
    public static func percent(fact: Int64, target: Int64) -> Int64 {
        guard target > 0 else { return 100 }
        let (p, overflow) = fact.multipliedReportingOverflow(by: 100)
        return overflow ? fact / target * 100 : p / target
    }
}

extension Period {
    /// Whether a plan may be set for this period at `now`: it ends after two years ago and starts
    /// before two years from now (a typo such as 2062-01 is refused).
    public func isPlannable(now: Date, in timeZone: TimeZone) -> Bool {
        let (start, end) = interval(in: timeZone)
        let twoYears: TimeInterval = 2 * 366 * 86_400
        return end > now.addingTimeInterval(-twoYears) && start < now.addingTimeInterval(twoYears)
    }
}

/// Who may do what with plans and the activity reports (the rights table's rows for plan.* and
/// report.plan, report.activity).
public enum PlanAccess {
    /// Sets plans: heads and admins.
    public static func canSet(_ actor: Actor) -> Bool { actor.role == .admin || actor.role == .head }

    /// Reads plans and runs report.plan and report.activity: admins, directors, heads, and
    /// managers (their own plans, their team's, their own report row).
    public static func canSee(_ actor: Actor) -> Bool {
        switch actor.role {
        case .admin, .director, .head, .manager: return true
        case .operator, .accountant: return false
        }
    }
}
