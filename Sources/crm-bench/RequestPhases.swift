import CRMClient
import CRMTestSupport
import Foundation

// The request phases on the loaded daemon: server.ping, client.get, client.find_by_phone and
// interaction.log under load, then a restart's start-up time and crmd's memory.

extension Bench {
    func pingPhase() throws {
        log("server.ping ...")
        let ping = RawCall.line(id: 1, method: "server.ping", params: "{}")
        let (rate, s) = try closedLoop(threads: connections, seconds: seconds) { c, _, _ in try RawCall.run(c, ping) }
        report.add("server.ping, \(connections) connections", rate, "req/s", target: ">= 80000", met: rate >= 80_000)
        crmdPing = rate
        report.add("server.ping p99", s.percentile(0.99), "ms")
    }

    func getPhase() throws {
        log("client.get ...")
        let lo = clientIDs.lowerBound
        let span = UInt64(clientIDs.count)
        let (rate, s) = try closedLoop(threads: connections, seconds: seconds) { c, _, seed in
            let id = lo + Int64(Bench.next(&seed) % span)
            try RawCall.run(c, RawCall.line(id: 1, method: "client.get", params: "{\"id\":\(id)}"))
        }
        report.add("client.get, \(connections) connections", rate, "req/s", target: ">= 40000", met: rate >= 40_000)
        report.add("client.get p50", s.percentile(0.50), "ms")
        report.add("client.get p99", s.percentile(0.99), "ms", target: "<= 1", met: s.percentile(0.99) <= 1)
    }

    func findPhase() throws {
        log("client.find_by_phone ...")
        let n = UInt64(clients)
        let (rate1, s1) = try closedLoop(threads: 1, seconds: seconds) { c, _, seed in
            let k = Int(Bench.next(&seed) % n)
            let spelled = "8 (9\(String(Bench.phone(k).dropFirst(3))))"
            try RawCall.run(c, RawCall.line(id: 1, method: "client.find_by_phone", params: "{\"phone\":\"\(spelled)\"}"))
        }
        report.add("client.find_by_phone, 1 connection", rate1, "req/s")
        report.add("client.find_by_phone p99, 1 connection", s1.percentile(0.99), "ms", target: "<= 1", met: s1.percentile(0.99) <= 1)
        let (rate, s) = try closedLoop(threads: connections, seconds: seconds) { c, _, seed in
            let k = Int(Bench.next(&seed) % n)
            try RawCall.run(c, RawCall.line(id: 1, method: "client.find_by_phone", params: "{\"phone\":\"\(Bench.phone(k))\"}"))
        }
        report.add("client.find_by_phone, \(connections) connections", rate, "req/s")
        report.add("client.find_by_phone p99, \(connections) connections", s.percentile(0.99), "ms")
    }

    func logPhase() throws {
        log("interaction.log (durable) ...")
        let ids = clientIDs
        let body: @Sendable (Connection, Int, inout UInt64) throws -> Void = { c, _, seed in
            try Bench.logNote(c, on: ids, seed: &seed, note: "bench")
        }
        let before = try daemon.connect().call("server.status")["store"]
        let (rate, s) = try closedLoop(threads: connections, seconds: seconds, body)
        let after = try daemon.connect().call("server.status")["store"]
        let commits = Double((after?["commits"]?.intValue ?? 0) - (before?["commits"]?.intValue ?? 0))
        let writes = Double((after?["writes"]?.intValue ?? 0) - (before?["writes"]?.intValue ?? 0))
        report.add("interaction.log durable, \(connections) connections", rate, "req/s", target: ">= 8000", met: rate >= 8000)
        crmdLog = rate
        report.add("interaction.log p99, \(connections) connections", s.percentile(0.99), "ms")
        report.add("group commit: writes per commit", commits > 0 ? writes / commits : 0, "writes")
        let (rate1, s1) = try closedLoop(threads: 1, seconds: seconds, body)
        report.add("interaction.log durable, 1 connection", rate1, "req/s", target: ">= 2000", met: rate1 >= 2000)
        crmdLog1 = rate1
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
        report.add("start to first answer (\(clients) clients)", ms, "ms", target: "<= 500", met: ms <= 500)
        var conns: [Connection] = []
        for _ in 0..<100 {
            let c = try daemon.connect()
            _ = try c.call("server.ping")
            conns.append(c)
        }
        // Touch the data the way a working day does: reads across the whole table.
        let c = conns[0]
        for k in stride(from: 0, to: clients, by: max(1, clients / 2000)) {
            _ = try c.call("client.find_by_phone", ["phone": .string(Self.phone(k))])
        }
        let rss = Self.rssMiB(pid: daemon.pid ?? 0)
        report.add("crmd RSS, 100 open connections (\(clients) clients)", rss, "MiB", target: "<= 150", met: rss <= 150)
        withExtendedLifetime(conns) {}
    }
}
