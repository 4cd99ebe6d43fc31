import ArgumentParser
import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import GRDB

extension ManagementPhases {
    /// `interaction.log` with plans active against without: the cost a plan adds to the write a
    /// department makes all day.
    ///
    /// The comparison: one database and one daemon binary, in rounds A (no plan in the database)
    /// and B (a calls-and-meetings plan for every manager for the current month, set through
    /// `plan.set`), in the order A B B A B A A B so that a drift of this shared machine's speed
    /// weighs on both alike. crmd is stopped between rounds and the `plans` table is emptied or
    /// given back its rows (saved after the `plan.set`s) with plain SQL: there is no `plan.delete`,
    /// and a restart also drops whatever crmd keeps of the plans in memory, so each round starts
    /// from the same state (a fresh process on a warm page cache). Each round logs for a second
    /// unmeasured (crmd's own page cache), then for `seconds` measured. The stream is the same in
    /// every round: one connection acting as m1, a durable call on one of m1's own clients picked by
    /// the same seeded sequence. The figure is crmd's CPU per request (user + system, /proc): on one
    /// connection a durable write waits for its fsync, which would hide the extra work in the
    /// request rate; the rates and latencies are printed beside it.
    func logCost(_ d: TestDaemon, _ size: String) throws {
        let ids = try ownClients(d, login: "m1")
        guard !ids.isEmpty else { throw ValidationError("m1 owns no clients") }
        let head = try Self.acting(d, "mhead")
        var planFailure: String?
        do {
            for i in 0..<Self.managers {
                _ = try head.call(
                    "plan.set", ["user": .string("m\(i)"), "period": .string(Self.planPeriod), "targets": PlanTargets.activity])
            }
        } catch {
            planFailure = Self.describe(error)
        }
        d.stop()
        let saved = try planRows(d)
        if planFailure == nil, saved.count < Self.managers {
            planFailure = "after \(Self.managers) plan.set calls the database holds \(saved.count) plans"
        }
        // Without plans that can be set, only the A half runs: its figures still print.
        let rounds = planFailure == nil ? [false, true, true, false, true, false, false, true] : [false, false]
        var runs: [Bool: (rate: [Double], samples: Samples, cpu: Double, perRound: [Double])] = [:]
        for withPlans in rounds {
            try setPlans(d, withPlans ? saved : [])
            try d.start(timeout: 600)
            let pid = d.pid ?? 0
            let open = { @Sendable in try Self.acting(d, "m1") }
            let work: @Sendable (Connection, Int, inout UInt64) throws -> Void = { c, _, seed in
                let id = ids[Int(LoadGenerator.next(&seed) % UInt64(ids.count))]
                let params = "{\"client_id\":\(id),\"kind\":\"call\",\"direction\":\"out\",\"result\":\"bench\"}"
                _ = try Self.send(c, RawCall.line(id: 1, method: "interaction.log", params: params))
            }
            log("interaction.log, \(withPlans ? "with plans" : "no plans") ...")
            _ = try LoadGenerator.timedLoop(threads: 1, seconds: 1, open: open, work)
            let cpu0 = ProcStats.cpuSeconds(pid: pid)
            let (rate, s) = try LoadGenerator.timedLoop(threads: 1, seconds: bench.seconds, open: open, work)
            let cpu = ProcStats.cpuSeconds(pid: pid) - cpu0
            d.stop()
            var r = runs[withPlans] ?? ([], Samples(), 0, [])
            r.rate.append(rate)
            r.samples.merge(s.ns)
            r.cpu += cpu
            r.perRound.append(1000 * cpu / Double(max(1, s.ns.count)))
            runs[withPlans] = r
        }
        // Leave the plans in place for whatever runs on this database next.
        try setPlans(d, saved)
        var cpuPerRequest: [Bool: Double] = [:]
        var meanMS: [Bool: Double] = [:]
        for (withPlans, r) in runs.sorted(by: { !$0.key && $1.key }) {
            let n = Double(max(1, r.samples.ns.count))
            let name = "interaction.log (a call on an own client) durable, 1 connection, \(withPlans ? "with plans" : "no plans")"
            cpuPerRequest[withPlans] = 1000 * r.cpu / n
            meanMS[withPlans] = Double(r.samples.ns.reduce(0, +)) / n / 1e6
            report.add("\(name) (\(size))", r.rate.reduce(0, +) / Double(max(1, r.rate.count)), "req/s")
            report.add("\(name): p99", r.samples.percentile(0.99), "ms")
            report.add("\(name): mean latency", meanMS[withPlans] ?? 0, "ms")
            report.add("\(name): crmd CPU per request", cpuPerRequest[withPlans] ?? 0, "ms")
            // The same work round to round: how far apart its rounds are is the noise the ratio
            // below has to be read against.
            if let lo = r.perRound.min(), let hi = r.perRound.max(), lo > 0 {
                report.add("\(name): CPU per request, slowest round / fastest (noise)", hi / lo, "ratio")
            }
        }
        if let planFailure { throw ValidationError("plans could not be set (plan.set): \(planFailure)") }
        guard let without = cpuPerRequest[false], let with = cpuPerRequest[true], without > 0 else {
            throw ValidationError("no CPU was measured")
        }
        let ratio = with / without
        report.add("interaction.log with plans / without: crmd CPU per request", ratio, "ratio", target: "<= 1.10", met: ratio <= 1.10)
        if let a = meanMS[false], let b = meanMS[true], a > 0 {
            report.add("interaction.log with plans / without: mean latency", b / a, "ratio")
        }
    }

    /// The ids of the clients `login` owns (crmd running).
    func ownClients(_ d: TestDaemon, login: String) throws -> [Int64] {
        let db = try DatabaseQueue(path: d.databasePath, configuration: DealPhases.readOnly)
        return try db.read { db in
            try Int64.fetchAll(
                db, sql: "SELECT id FROM clients WHERE owner_id = (SELECT id FROM users WHERE login = ?) ORDER BY id", arguments: [login])
        }
    }

    /// Every row of `plans`, all columns (crmd stopped).
    func planRows(_ d: TestDaemon) throws -> [[DatabaseValue]] {
        let db = try DatabaseQueue(path: d.databasePath)
        return try db.read { db in try Row.fetchAll(db, sql: "SELECT * FROM plans ORDER BY id").map { Array($0.databaseValues) } }
    }

    /// Makes `rows` the whole of `plans` (crmd stopped).
    func setPlans(_ d: TestDaemon, _ rows: [[DatabaseValue]]) throws {
        let db = try DatabaseQueue(path: d.databasePath)
        try db.write { db in
            try db.execute(sql: "DELETE FROM plans")
            for r in rows {
                let marks = Array(repeating: "?", count: r.count).joined(separator: ", ")
                try db.execute(
                    sql: "INSERT INTO plans VALUES (\(marks))",
                    arguments: StatementArguments(r.map { $0 as (any DatabaseValueConvertible)? }))
            }
        }
    }
}
