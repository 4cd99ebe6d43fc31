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
        let index = Dictionary(stages.enumerated().map { ($0.element, $0.offset) }, uniquingKeysWith: { a, _ in a })
        try read(call) { [self] tx, _ in
            var groups: [String: [String: StageTally]] = [:]
            var owners: [String: Int64] = [:]
            try tx.stageEntries(
                from: span.from, to: span.to, pipeline: pipeline.name, ownerID: narrowedOwner(actor, user), withSegment: by == "segment"
            ) { e in
                guard let at = index[e.stage] else { return }  // a stage the settings no longer have
                let key: String
                switch by {
                case "manager":
                    key = e.ownerID.flatMap { users.user(id: $0)?.login } ?? (e.ownerID.map { "user #\($0)" } ?? "(none)")
                    if let o = e.ownerID { owners[key] = o }
                case "source": key = e.source ?? "(none)"
                case "segment": key = e.segment ?? "(none)"
                default: key = ""
                }
                var t = groups[key, default: [:]][e.stage, default: StageTally()]
                t.entered += 1
                if let n = e.next {
                    t.stays.append(max(0, n.at - e.enteredAt))
                    switch n.status {
                    case "won": t.won += 1
                    case "lost": t.lost += 1
                    default:
                        if let to = index[n.stage], to < at { t.movedBack += 1 } else { t.movedOn += 1 }
                    }
                } else {
                    t.still += 1
                }
                groups[key, default: [:]][e.stage] = t
            }
            if by == nil && groups.isEmpty { groups[""] = [:] }
            var items: [JSON] = []
            for key in groups.keys.sorted() {
                for stage in stages {
                    var t = groups[key]?[stage] ?? StageTally()
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
                    if by != nil { o["slice"] = .string(key) }
                    if by == "manager" { o["owner"] = owners[key].map { .int($0) } ?? .null }
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
