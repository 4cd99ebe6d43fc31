import CRMCore
import CRMProtocol
import CRMStore
import Foundation

/// `exchange.simulate` (issue 21; docs/rules.md, "Simulating thresholds"): proposed thresholds
/// run over the recorded history of a past period: what would have been released, when and from
/// whom, next to what the scheduler did release. Reads one snapshot (never the writer, so crmd
/// keeps serving and nothing is written); the reply is bounded by `limit`.
extension ExchangeHandlers {
    /// Clients replayed per read of their history.
    static let simulateChunk: Int64 = 20_000

    func exchangeSimulate(_ call: Call) throws {
        let actor = call.actor
        guard Access.canSeeZoneReports(actor), !Access.seesOnlyOwnClients(actor) else {
            throw DomainError.forbidden("Only heads, directors and admins simulate thresholds over the department's history.")
        }
        let zone = rules.thresholds.timeZone
        let now = clock.now()
        let (span, proposed, limit) = try call.decode { r -> (ReportSpan?, ZoneThresholds?, Int) in
            let span = ReportSpan.decode(&r, timeZone: zone)
            if let span, span.to > now { r.problem("to", "is after now (\(RFC3339.format(now))): simulate a past period") }
            let limit = Int(r.optionalInt("limit") ?? 100)
            if limit < 0 || limit > 1_000 { r.problem("limit", "must be from 0 to 1000 (releases listed; all are counted)") }
            return (span, proposedThresholds(&r), limit)
        }
        guard let span else { throw DomainError.invalid("period", "is required (or from and to)") }
        let thresholds = proposed ?? settings.domain.zones
        let what = ZoneRules(thresholds)
        try read(call) { [self] tx, _ in
            let started = DispatchTime.now().uptimeNanoseconds
            var listed: [JSON] = []
            var total = 0
            var byOwner: [Int64: Int] = [:]
            let last = try tx.maxClientID()
            var a: Int64 = 1
            while a <= last {
                let b = min(last, a + Self.simulateChunk - 1)
                let history = try tx.ownershipHistory(ids: a...b, to: span.to)
                for id in history.keys.sorted() {
                    for r in ReleaseReplay.releases(history[id]!, rules: what, from: span.from, to: span.to) {
                        total += 1
                        byOwner[r.ownerID, default: 0] += 1
                        if listed.count < limit {
                            listed.append([
                                "client_id": .int(id), "owner": .int(r.ownerID), "owner_login": wire.login(r.ownerID),
                                "at": wire.time(r.at),
                            ])
                        }
                    }
                }
                a = b + 1
            }
            var actualByOwner: [Int64: Int] = [:]
            let actual = try tx.automaticReleases(from: span.from, to: span.to)
            for r in actual { if let o = r.ownerID { actualByOwner[o, default: 0] += 1 } }
            let owners = Set(byOwner.keys).union(actualByOwner.keys).sorted()
            let managers = owners.map { o -> JSON in
                [
                    "owner": .int(o), "owner_login": wire.login(o), "simulated": .int(Int64(byOwner[o] ?? 0)),
                    "actual": .int(Int64(actualByOwner[o] ?? 0)),
                ]
            }
            return [
                "from": wire.time(span.from), "to": wire.time(span.to), "thresholds": proposed == nil ? "current" : "proposed",
                "yellow_after": .string(thresholds.yellowAfter.description), "red_after": .string(thresholds.redAfter.description),
                "release_after": .string(thresholds.releaseAfter.description), "total": .int(Int64(total)),
                "actual_total": .int(Int64(actual.count)), "managers": .array(managers), "releases": .array(listed),
                "truncated": .bool(total > listed.count),
                "took_ms": .int(Int64((DispatchTime.now().uptimeNanoseconds - started) / 1_000_000)),
            ]
        }
    }
}
