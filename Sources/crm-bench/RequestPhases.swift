import CRMClient
import CRMTestSupport
import Foundation

// The request phases on the loaded daemon: server.ping, client.get, client.find_by_phone and
// interaction.log under load, then a restart's start-up time and crmd's memory.

/// The request phases, each run by ``Bench/run()`` when asked for. ``ping()`` and
/// ``interactionLog()`` leave crmd's rates on the bench, for the raw phases' ratios.
struct RequestPhases: BenchPhase {
    let bench: Bench

    func ping() throws {
        log("server.ping ...")
        let ping = RawCall.line(id: 1, method: "server.ping", params: "{}")
        let (rate, s) = try LoadGenerator.closedLoop(daemon, threads: bench.connections, seconds: bench.seconds) { c, _, _ in
            try RawCall.run(c, ping)
        }
        report.add("server.ping, \(bench.connections) connections", rate, "req/s", target: ">= 80000", met: rate >= 80_000)
        bench.crmdPing = rate
        report.add("server.ping p99", s.percentile(0.99), "ms")
    }

    func get() throws {
        log("client.get ...")
        let lo = bench.clientIDs.lowerBound
        let span = UInt64(bench.clientIDs.count)
        let (rate, s) = try LoadGenerator.closedLoop(daemon, threads: bench.connections, seconds: bench.seconds) { c, _, seed in
            let id = lo + Int64(LoadGenerator.next(&seed) % span)
            try RawCall.run(c, RawCall.line(id: 1, method: "client.get", params: "{\"id\":\(id)}"))
        }
        report.add("client.get, \(bench.connections) connections", rate, "req/s", target: ">= 40000", met: rate >= 40_000)
        report.add("client.get p50", s.percentile(0.50), "ms")
        report.add("client.get p99", s.percentile(0.99), "ms", target: "<= 1", met: s.percentile(0.99) <= 1)
    }

    func find() throws {
        log("client.find_by_phone ...")
        let n = UInt64(bench.clients)
        let (rate1, s1) = try LoadGenerator.closedLoop(daemon, threads: 1, seconds: bench.seconds) { c, _, seed in
            let k = Int(LoadGenerator.next(&seed) % n)
            let spelled = "8 (9\(String(Bench.phone(k).dropFirst(3))))"
            try RawCall.run(c, RawCall.line(id: 1, method: "client.find_by_phone", params: "{\"phone\":\"\(spelled)\"}"))
        }
        report.add("client.find_by_phone, 1 connection", rate1, "req/s")
        report.add("client.find_by_phone p99, 1 connection", s1.percentile(0.99), "ms", target: "<= 1", met: s1.percentile(0.99) <= 1)
        let (rate, s) = try LoadGenerator.closedLoop(daemon, threads: bench.connections, seconds: bench.seconds) { c, _, seed in
            let k = Int(LoadGenerator.next(&seed) % n)
            try RawCall.run(c, RawCall.line(id: 1, method: "client.find_by_phone", params: "{\"phone\":\"\(Bench.phone(k))\"}"))
        }
        report.add("client.find_by_phone, \(bench.connections) connections", rate, "req/s")
        report.add("client.find_by_phone p99, \(bench.connections) connections", s.percentile(0.99), "ms")
    }

    func interactionLog() throws {
        log("interaction.log (durable) ...")
        let ids = bench.clientIDs
        let body: @Sendable (Connection, Int, inout UInt64) throws -> Void = { c, _, seed in
            try LoadGenerator.logNote(c, on: ids, seed: &seed, note: "bench")
        }
        let before = try daemon.connect().call("server.status")["store"]
        let (rate, s) = try LoadGenerator.closedLoop(daemon, threads: bench.connections, seconds: bench.seconds, body)
        let after = try daemon.connect().call("server.status")["store"]
        let commits = Double((after?["commits"]?.intValue ?? 0) - (before?["commits"]?.intValue ?? 0))
        let writes = Double((after?["writes"]?.intValue ?? 0) - (before?["writes"]?.intValue ?? 0))
        report.add("interaction.log durable, \(bench.connections) connections", rate, "req/s", target: ">= 8000", met: rate >= 8000)
        bench.crmdLog = rate
        report.add("interaction.log p99, \(bench.connections) connections", s.percentile(0.99), "ms")
        report.add("group commit: writes per commit", commits > 0 ? writes / commits : 0, "writes")
        let (rate1, s1) = try LoadGenerator.closedLoop(daemon, threads: 1, seconds: bench.seconds, body)
        report.add("interaction.log durable, 1 connection", rate1, "req/s", target: ">= 2000", met: rate1 >= 2000)
        bench.crmdLog1 = rate1
        report.add("interaction.log p99, 1 connection", s1.percentile(0.99), "ms")
    }

    func startupAndMemory() throws {
        log("restart, start-up time and memory ...")
        daemon.stop()
        let t0 = nowNS()
        try daemon.start()
        var answered = false
        while !answered {
            if let c = try? daemon.connect(), (try? c.call("server.ping")) != nil { answered = true } else { usleep(500) }
        }
        let ms = Double(nowNS() - t0) / 1e6
        report.add("start to first answer (\(bench.clients) clients)", ms, "ms", target: "<= 500", met: ms <= 500)
        var conns: [Connection] = []
        for _ in 0..<100 {
            let c = try daemon.connect()
            _ = try c.call("server.ping")
            conns.append(c)
        }
        // Touch the data the way a working day does: reads across the whole table.
        let c = conns[0]
        for k in stride(from: 0, to: bench.clients, by: max(1, bench.clients / 2000)) {
            _ = try c.call("client.find_by_phone", ["phone": .string(Bench.phone(k))])
        }
        let rss = ProcStats.rssMiB(pid: daemon.pid ?? 0)
        report.add("crmd RSS, 100 open connections (\(bench.clients) clients)", rss, "MiB", target: "<= 150", met: rss <= 150)
        withExtendedLifetime(conns) {}
    }
}
