import Foundation

/// One stage of a pipeline: where a deal is in the talks (seed 002).
public struct Stage: Sendable, Equatable {
    public var name: String
    /// The probability (0-100 %) a deal at this stage gets unless one is set on the deal.
    public var probability: Int
    /// How often the client must be contacted while a deal is at this stage (nil: no cadence).
    public var cadence: ISODuration?

    public init(name: String, probability: Int, cadence: ISODuration?) {
        self.name = name
        self.probability = probability
        self.cadence = cadence
    }
}

/// An ordered list of stages a deal moves through; won and lost are outcomes, not stages.
public struct Pipeline: Sendable, Equatable {
    public var name: String
    public var stages: [Stage]
    /// Whether a deal may move forward more than one stage at a time.
    public var allowSkip: Bool

    public init(name: String, stages: [Stage], allowSkip: Bool = false) {
        self.name = name
        self.stages = stages
        self.allowSkip = allowSkip
    }

    /// The position of the stage named `name`, if this pipeline has it.
    public func index(of name: String) -> Int? { stages.firstIndex { $0.name == name } }

    public func stage(_ name: String) -> Stage? { index(of: name).map { stages[$0] } }

    /// The default pipeline of seed 002.
    public static let sales = Pipeline(
        name: "Sales",
        stages: [
            Stage(name: "New deal", probability: 10, cadence: ISODuration(days: 2)),
            Stage(name: "Proposal sent", probability: 30, cadence: ISODuration(days: 3)),
            Stage(name: "Proposal under review", probability: 50, cadence: ISODuration(days: 2)),
            Stage(name: "Handling objections", probability: 60, cadence: ISODuration(days: 1)),
            Stage(name: "Contract discussion", probability: 80, cadence: ISODuration(days: 1)),
        ])
}

/// What the deal rules depend on (`deals.*` and `pipelines` in the settings).
public struct DealSettings: Sendable, Equatable {
    /// The pipelines; the first is the default for a new deal.
    public var pipelines: [Pipeline] = [.sales]
    /// Reasons a deal may be lost with (`deal.close` outcome `lost`).
    public var lostReasons = ["Price", "Competitor", "No budget", "No decision", "No answer", "Other"]
    /// The currency of a deal that names none (ISO 4217).
    public var currency = "RUB"
    /// A head gets a copy of a deal's overdue reminder this long after it fell overdue (nil: never).
    public var overdueHeadGrace: ISODuration? = ISODuration(days: 1)
    /// With a stage name: an open deal at or past that stage (in its pipeline) holds its client
    /// back from release to the exchange. Nil (the default): deals hold nothing back.
    public var exemptFromStage: String? = nil
    /// The largest attachment a deal may carry, in bytes.
    public var maxAttachmentBytes = 20 << 20
    /// The most attachments one deal may carry.
    public var maxAttachmentsPerDeal = 100
    /// The most bytes one user's uploads may declare in all (unfinished ones count).
    public var maxAttachmentBytesPerUser: Int64 = 2 << 30
    /// The most open deals one client may have at once.
    public var maxOpenDealsPerClient = 100
    /// The most invoices one deal may carry (`invoices.max_per_deal`).
    public var maxInvoicesPerDeal = 100

    public init() {}

    public func pipeline(_ name: String?) -> Pipeline? {
        guard let name else { return pipelines.first }
        return pipelines.first { $0.name == name }
    }

    /// The problem with these settings, if any, naming the key.
    public func validate() -> (key: String, problem: String)? {
        if pipelines.isEmpty { return ("deals.pipelines", "must list at least one pipeline") }
        var names = Set<String>()
        for p in pipelines {
            if p.name.trimmingCharacters(in: .whitespaces).isEmpty { return ("deals.pipelines", "a pipeline has no name") }
            if !names.insert(p.name).inserted { return ("deals.pipelines", "the pipeline '\(p.name)' is listed twice") }
            if p.stages.isEmpty || p.stages.count > 20 {
                return ("deals.pipelines", "the pipeline '\(p.name)' must have 1 to 20 stages, not \(p.stages.count)")
            }
            var stageNames = Set<String>()
            for s in p.stages {
                if s.name.trimmingCharacters(in: .whitespaces).isEmpty { return ("deals.pipelines", "a stage of '\(p.name)' has no name") }
                if ["won", "lost"].contains(s.name.lowercased()) {
                    return ("deals.pipelines", "'\(s.name)' in '\(p.name)' is an outcome (deal.close), not a stage; remove it")
                }
                if !stageNames.insert(s.name).inserted {
                    return ("deals.pipelines", "the stage '\(s.name)' is listed twice in '\(p.name)'")
                }
                if !(0...100).contains(s.probability) {
                    return ("deals.pipelines", "the probability of '\(s.name)' in '\(p.name)' must be 0 to 100, not \(s.probability)")
                }
                if let c = s.cadence {
                    if c.isZero {
                        return ("deals.pipelines", "the cadence of '\(s.name)' in '\(p.name)' must be longer than zero (or none)")
                    }
                    if let problem = InstantLimits.problem(c) { return ("deals.pipelines", "the cadence of '\(s.name)': \(problem)") }
                }
            }
        }
        if lostReasons.isEmpty { return ("deals.lost_reasons", "must list at least one reason") }
        if currency.count != 3 || !currency.allSatisfy({ $0.isASCII && $0.isUppercase }) {
            return ("deals.currency", "'\(currency)' is not an ISO 4217 code like RUB")
        }
        if let stage = exemptFromStage, !pipelines.contains(where: { $0.index(of: stage) != nil }) {
            return ("deals.exempt_from_stage", "'\(stage)' is a stage of no pipeline")
        }
        return nil
    }
}
