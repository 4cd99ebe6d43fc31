import CRMCore
import CRMProtocol
import CRMStore
import Foundation

/// `report.funnel`: per stage of a pipeline, the deals that entered it in the period and what
/// they did next, up to now.
extension SalesReportHandlers {
    /// What the deals that entered one stage did next.
    struct StageTally {
        var entered = 0, movedOn = 0, movedBack = 0, won = 0, lost = 0, still = 0
        /// Completed stays (entered, then moved or closed), in milliseconds.
        var stays: [Int64] = []
    }

    /// Adds one entry to its stage's tally.
    static func count(_ e: StageEntry, into t: inout StageTally) {
        t.entered += 1
        guard let n = e.next else {
            t.still += 1
            return
        }
        t.stays.append(max(0, n.at - e.enteredAt))
        switch n.step {
        case .won: t.won += 1
        case .lost: t.lost += 1
        case .moved:
            if let to = n.stage, to < e.stage { t.movedBack += 1 } else { t.movedOn += 1 }
        }
    }

    func reportFunnel(_ call: Call) throws {
        let actor = call.actor
        try requireWorkReports(actor)
        let zone = rules.thresholds.timeZone
        let pipelines = dealRules.settings.pipelines
        let (span, pipelineName, by, userParam) = try call.decode { r in
            let span = Self.span(&r, timeZone: zone)
            let pipeline = r.optionalString("pipeline")
            if let pipeline, !pipelines.contains(where: { $0.name == pipeline }) {
                r.problem("pipeline", "must be one of \(pipelines.map(\.name).joined(separator: ", "))")
            }
            return (span, pipeline, r.optionalEnum("by", ["manager", "source", "segment"]), r.optionalValue("owner"))
        }
        let user = try oneUser(userParam, actor: actor)
        guard let pipeline = pipelines.first(where: { $0.name == pipelineName }) ?? pipelines.first else {
            throw DomainError.invalid("pipeline", "names no pipeline: crmd has none configured")
        }
        let stages = pipeline.stages.map(\.name)
        try read(call) { [self] tx, _ in
            // One row of tallies per slice, found by owner id or by name (no strings per entry
            // for the manager slice).
            var tallies: [[StageTally]] = []
            var slices: [(key: String, owner: Int64?)] = []
            var byOwner: [Int64: Int] = [:]
            var byName: [String: Int] = [:]
            func slot(_ key: String, owner: Int64?) -> Int {
                slices.append((key, owner))
                tallies.append(Array(repeating: StageTally(), count: stages.count))
                return slices.count - 1
            }
            if by == nil { _ = slot("", owner: nil) }
            // Up to 45 days: a seek per entry; longer: one walk of every step (see Tx+SalesReports).
            let walk = span.to.timeIntervalSince(span.from) > 45 * 86_400
            let entries = walk ? tx.stageEntriesByWalk : tx.stageEntries
            try entries(span.from, span.to, pipeline.name, stages, narrowedOwner(actor, user), by) { e in
                guard e.stage < stages.count else { return }
                let i: Int
                switch by {
                case "manager":
                    let o = e.ownerID ?? 0
                    if let known = byOwner[o] {
                        i = known
                    } else {
                        i = slot(e.ownerID.map { users.user(id: $0)?.login ?? "user #\($0)" } ?? "(none)", owner: e.ownerID)
                        byOwner[o] = i
                    }
                case "source", "segment":
                    let key = (by == "source" ? e.source : e.segment) ?? "(none)"
                    if let known = byName[key] {
                        i = known
                    } else {
                        i = slot(key, owner: nil)
                        byName[key] = i
                    }
                default: i = 0
                }
                Self.count(e, into: &tallies[i][e.stage])
            }
            var items: [JSON] = []
            for i in slices.indices.sorted(by: { slices[$0].key < slices[$1].key }) {
                for (n, stage) in stages.enumerated() {
                    var t = tallies[i][n]
                    t.stays.sort()
                    var o: JSONObject = [
                        "stage": .string(stage), "entered": .int(Int64(t.entered)), "moved_on": .int(Int64(t.movedOn)),
                        "moved_back": .int(Int64(t.movedBack)), "won": .int(Int64(t.won)), "lost": .int(Int64(t.lost)),
                        "still_in": .int(Int64(t.still)),
                        "conversion_percent": .int(Int64(Stats.percent(t.movedOn + t.won, of: t.entered))),
                        "stays": .int(Int64(t.stays.count)),
                        "time_median_s": Stats.median(t.stays).map { .int($0 / 1000) } ?? .null,
                        "time_p90_s": Stats.p90(t.stays).map { .int($0 / 1000) } ?? .null,
                    ]
                    if by != nil { o["slice"] = .string(slices[i].key) }
                    if by == "manager" { o["owner"] = slices[i].owner.map { .int($0) } ?? .null }
                    items.append(.object(o))
                }
            }
            return [
                "from": wire.time(span.from), "to": wire.time(span.to), "pipeline": .string(pipeline.name),
                "by": by.map { .string($0) } ?? .null, "stages": .array(stages.map { .string($0) }), "items": .array(items),
            ]
        }
    }
}
