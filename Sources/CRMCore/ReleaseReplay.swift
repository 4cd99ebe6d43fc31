public import Foundation

/// One recorded step of a client's ownership history, as `exchange.simulate` replays it.
public enum HistoryStep: Sendable, Equatable {
    /// The client got an owner (created with one, assigned, claimed): the clock starts.
    case owner(Int64, at: Date)
    /// Released to the exchange; `manual` when a person released it.
    case release(at: Date, manual: Bool)
    /// An interaction that reset the owner's clock when it was logged.
    case reset(at: Date)

    public var at: Date {
        switch self {
        case .owner(_, let at), .release(let at, _), .reset(let at): return at
        }
    }

    /// Order of steps at the same instant: a new owner, then a release, then a contact.
    var rank: Int {
        switch self {
        case .owner: return 0
        case .release: return 1
        case .reset: return 2
        }
    }

    /// `steps` in time order (a new owner, a release, a contact at the same instant).
    public static func inOrder(_ steps: [HistoryStep]) -> [HistoryStep] {
        steps.sorted { $0.at != $1.at ? $0.at < $1.at : $0.rank < $1.rank }
    }
}

/// `exchange.simulate` (issue 21; docs/rules.md, "Simulating thresholds"): a client's recorded
/// history replayed under other zone rules. The release instant is the live engine's own
/// ``ZoneRules/schedule(from:)`` from R (the later of the owner's start and their last resetting
/// contact), so a change to the rules there changes the simulation the same way.
public enum ReleaseReplay {
    /// A release the replay finds: the owner it would leave and when.
    public struct Release: Sendable, Equatable {
        public let ownerID: Int64
        public let at: Date
    }

    /// The releases `steps` (one client's history in order, see ``HistoryStep/inOrder(_:)``) give
    /// under `rules` in `[from, to)`. A person's release happens as recorded; the scheduler's
    /// recorded releases are the rules' to decide, so they are replaced by the replay's own. After
    /// a release the client follows its recorded history again from its next owner.
    public static func releases(_ steps: [HistoryStep], rules: ZoneRules, from: Date, to: Date) -> [Release] {
        var out: [Release] = []
        var owner: Int64? = nil
        var start = Date.distantPast
        /// Releases the client if its release instant comes before `t`.
        func due(before t: Date) {
            guard let o = owner else { return }
            let at = rules.schedule(from: start).releaseAt
            guard at < t else { return }
            if at >= from { out.append(Release(ownerID: o, at: at)) }
            owner = nil
        }
        for step in steps {
            due(before: step.at)
            switch step {
            case .owner(let o, let at):
                owner = o
                start = at
            case .release(_, let manual):
                if manual { owner = nil }
            case .reset(let at):
                if owner != nil, at > start { start = at }
            }
        }
        due(before: to)
        return out
    }
}
