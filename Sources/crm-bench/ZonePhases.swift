import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import Synchronization

/// The zones, catch-up and idle phases, on a daemon of their own with a manual clock.
struct ZonePhases: BenchPhase {
    let bench: Bench

    /// The scheduler under load, on a manual clock: `dueClients` of `clients` turn yellow at one
    /// instant; 100 managers subscribed receive their events; then a year of downtime is caught
    /// up at start-up; then crmd idles.
    func run() throws {
        let t0 = "2026-01-05T09:00:00Z"  // a Monday, inside working hours in Moscow
        let z = try TestDaemon(environment: Bench.crmdEnvironment, arguments: ["--clock", "manual", "--clock-start", t0])
        try z.start()
        defer { z.stop() }
        let c = try z.connect()
        log("zones: loading \(bench.clients) clients for 100 managers (\(bench.dueClients) due at one instant) ...")
        for i in 0..<100 { _ = try c.call("user.add", ["login": .string("z\(i)"), "name": .string("Z\(i)"), "role": "manager"]) }
        let item = { (k: Int) -> JSON in ["name": .string("Z client \(k)"), "owner": .string("z\(k % 100)")] }
        try Bench.importClients(c, 0..<bench.dueClients, item)
        _ = try c.call("clock.advance", ["by": "P1D"])
        try Bench.importClients(c, bench.dueClients..<bench.clients, item)
        // 100 managers subscribe to their zone changes.
        var subs: [Connection] = []
        for i in 0..<100 {
            let s = try z.connect()
            _ = try s.call("session.act_as", ["login": .string("z\(i)")])
            _ = try s.call("subscribe", ["topics": ["zone.changed"]])
            subs.append(s)
        }
        let expected = bench.dueClients / 100
        let received = Mutex<[Int]>([Int](repeating: 0, count: 100))
        let done = DispatchGroup()
        let start = nowNS()
        let finishTimes = Mutex<[UInt64]>([])
        for (i, s) in subs.enumerated() {
            done.enter()
            Thread.detachNewThread {
                defer { done.leave() }
                var n = 0
                while n < expected, let line = try? s.readLine() {
                    if RawCall.contains(line, Array("\"zone.changed\"".utf8)) { n += 1 }
                }
                received.withLock { $0[i] = n }
                finishTimes.withLock { $0.append(nowNS()) }
            }
        }
        if bench.phases.contains("zones") {
            log("zones: moving the clock a month: \(bench.dueClients) clients turn yellow ...")
            let t = nowNS()
            _ = try c.call("clock.set", ["to": "2026-02-05T09:00:00Z"])
            let applied = Double(nowNS() - t) / 1e9
            report.add(
                "zones: \(bench.dueClients) of \(bench.clients) clients due at one instant, applied and recorded", applied, "s",
                target: "<= 2",
                met: applied <= 2)
            done.wait()
            let delivered = Double((finishTimes.withLock { $0.max() } ?? start) - t) / 1e9
            let got = received.withLock { $0.reduce(0, +) }
            report.add(
                "zones: their events delivered to 100 subscribers (\(got) notifications)", delivered, "s", target: "<= 3",
                met: delivered <= 3 && got == expected * 100)
        }
        for s in subs { s.finishSending() }
        if bench.phases.contains("catchup") {
            z.stop()
            z.arguments = ["--clock", "manual", "--clock-start", "2027-02-05T09:00:00Z"]
            log("catch-up after a year of downtime at \(bench.clients) clients ...")
            let t = nowNS()
            try z.start(timeout: 600)
            let secs = Double(nowNS() - t) / 1e9
            report.add("catch-up after a year of downtime (\(bench.clients) clients) to ready", secs, "s", target: "<= 30", met: secs <= 30)
            let st = try z.connect().call("server.status")
            report.info.append(("after catch-up", JSONWriter.string(st["clients"] ?? .null)))
        }
        if bench.phases.contains("idle") {
            log("idle CPU for \(bench.idleSeconds) s ...")
            let pid = z.pid ?? 0
            let before = ProcStats.cpuSeconds(pid: pid)
            Thread.sleep(forTimeInterval: bench.idleSeconds)
            let used = ProcStats.cpuSeconds(pid: pid) - before
            let pct = used / bench.idleSeconds * 100
            report.add(
                "idle crmd CPU over \(Int(bench.idleSeconds)) s (\(bench.clients) clients)", pct, "% of a core", target: "< 1", met: pct < 1
            )
        }
    }
}
