import ArgumentParser
import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import Synchronization

/// The ABC/XYZ phase (issue 19), `abc`, on a daemon of its own with a manual clock at
/// ``ManagementPhases/now`` and no schedule (`classes.run_day: off`): `clients` clients loaded and
/// a year of `deals` deals seeded as the management phase does it (``ManagementSeed``, with one
/// interaction: they play no part), then `abc.compute` timed (<= 10 s) twice, the first run
/// classing the whole base, the second finding nothing changed, while `loadConnections`
/// connections call `client.get` on random clients in a closed loop; their p50 and p99 during
/// each run (p99 <= 5 ms), and the same load without a run for comparison.
struct ClassPhase: BenchPhase {
    let bench: Bench

    static let names: Set<String> = ["abc"]
    /// Connections calling client.get during the run (a department's requests, not a flood: a
    /// closed loop on more connections than cores measures the queue, not crmd).
    static let loadConnections = 4

    func run() throws {
        var env = Bench.crmdEnvironment
        env["CRMD_CLASSES_RUN_DAY"] = "off"
        // To measure what an event per change costs: CRMD_CLASSES_MAX_CHANGE_EVENTS=1000000 crm-bench --phases abc.
        if let cap = ProcessInfo.processInfo.environment["CRMD_CLASSES_MAX_CHANGE_EVENTS"] { env["CRMD_CLASSES_MAX_CHANGE_EVENTS"] = cap }
        let d = try TestDaemon(environment: env, arguments: ["--clock", "manual", "--clock-start", ManagementPhases.now])
        try d.start()
        defer { d.stop() }
        let mgmt = ManagementPhases(bench: bench)
        try mgmt.load(d)
        d.stop()
        log("abc: seeding a year of \(bench.deals) deals (crmd stopped) ...")
        guard case .instant(let nowMS) = RFC3339.read(ManagementPhases.now) else { throw ValidationError("abc: bad instant") }
        let offset = Int64(ManagementPhases.zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(nowMS) / 1000))) * 1000
        let seeded = try ManagementSeed(path: d.databasePath, now: nowMS, offset: offset, interactions: 1, deals: bench.deals, log: log)
            .run()
        report.info.append(("abc seeded", "\(seeded.deals) deals (\(seeded.won) won) over a year, \(bench.clients) clients"))
        try d.start(timeout: 600)
        let size = "\(bench.clients) clients, \(bench.deals) deals"
        let ids = Int64(1)...Int64(bench.clients)
        let quiet = try gets(d, ids, during: { Thread.sleep(forTimeInterval: bench.seconds) })
        report.add("abc: client.get p99 with no computation (\(Self.loadConnections) connections)", quiet.percentile(0.99), "ms")
        for round in ["first (classes the base)", "second (nothing changed)"] {
            mgmt.attempt("abc.compute, \(round) (\(size))", target: "<= 10 s") {
                let c = try d.connect(readTimeout: 600)
                var result = JSON.null
                var seconds = 0.0
                let samples = try gets(d, ids) {
                    let t = nowNS()
                    result = try c.call("abc.compute")
                    seconds = Double(nowNS() - t) / 1e9
                }
                report.add("abc.compute, \(round) (\(size))", seconds, "s", target: "<= 10 s", met: seconds <= 10)
                report.add("abc: client.get p50 during the run", samples.percentile(0.5), "ms")
                report.add(
                    "abc: client.get p99 during the run (\(samples.ns.count) calls)", samples.percentile(0.99), "ms", target: "<= 5 ms",
                    met: samples.percentile(0.99) <= 5)
                report.info.append(("abc.compute \(round)", JSONWriter.string(result)))
            }
        }
    }

    /// Calls client.get on random clients of `ids` on ``loadConnections`` connections while
    /// `body` runs; returns their latencies.
    func gets(_ d: TestDaemon, _ ids: ClosedRange<Int64>, during body: () throws -> Void) throws -> Samples {
        let done = Atomic<Bool>(false)
        let lat = Mutex<[UInt64]>([])
        let failure = Mutex<String?>(nil)
        let group = DispatchGroup()
        let conns = try (0..<Self.loadConnections).map { _ in try d.connect() }
        for t in conns.indices {
            group.enter()
            let conn = conns[t]
            Thread.detachNewThread {
                defer { group.leave() }
                var samples: [UInt64] = []
                var seed = UInt64(t + 1) &* 0x9E37_79B9_7F4A_7C15
                do {
                    while !done.load(ordering: .relaxed) {
                        let id = ids.lowerBound + Int64(LoadGenerator.next(&seed) % UInt64(ids.count))
                        let t0 = nowNS()
                        try RawCall.run(conn, RawCall.line(id: 1, method: "client.get", params: "{\"id\":\(id)}"))
                        samples.append(nowNS() - t0)
                    }
                } catch {
                    failure.withLock { $0 = "\(error)" }
                }
                lat.withLock { $0 += samples }
            }
        }
        defer {
            done.store(true, ordering: .relaxed)
            group.wait()
        }
        try body()
        done.store(true, ordering: .relaxed)
        group.wait()
        if let f = failure.withLock({ $0 }) { throw ValidationError("abc: client.get failed: \(f)") }
        withExtendedLifetime(conns) {}
        return Samples(ns: lat.withLock { $0 })
    }
}
