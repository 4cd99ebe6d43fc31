import ArgumentParser
import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import Synchronization

@main
struct CRMBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crm-bench",
        abstract: "Start crmd in a temporary folder, load clients, and measure throughput, latency, start-up and memory.",
        discussion: "Build with `swift build -c release` and run `.build/release/crm-bench`. Figures print as a table and as JSON.")

    @Option(help: "Clients to load.") var clients = 100_000
    @Option(help: "Seconds each throughput phase runs.") var seconds = 3.0
    @Option(help: "Concurrent connections for the multi-connection phases.") var connections = 16
    @Option(help: "Write the JSON figures to this file too.") var jsonOut: String?
    @Option(
        help: """
            Phases to run, comma-separated: ping, get, find, log, startup, zones, catchup, idle, echo, rawlog, stalled, \
            soak, hostile (default: all but soak and hostile). soak: --soak-requests interaction.log (a client.get after every fourth) on one \
            connection, then on --connections, with crmd's CPU per request, p99, RSS and the WAL per decile. ping also runs echo and log also runs rawlog: their ratios are part of those figures. stalled: \
            crmd's memory while a subscriber that never reads is sent --stalled-events events (about 30 s at 100,000 clients). \
            hostile (needs root): the connection and memory attacks of one non-admin uid (and an unknown uid), one after the \
            other at full size, with crmd's RSS, the host's MemAvailable drop and an admin's server.ping p99 during each.
            """)
    var phases: String?
    @Option(help: "Events the stalled phase makes in each of its two rounds.") var stalledEvents = 100_000
    @Option(help: "Clients due at the same instant in the zones phase.") var dueClients = 100_000
    @Option(help: "Seconds the idle phase watches crmd's CPU.") var idleSeconds = 60.0
    @Option(help: "Requests the soak phase sends on 1 connection, then again on --connections (cut into ten deciles).")
    var soakRequests = 1_000_000

    func run() throws {
        let bench = Bench(clients: clients, seconds: seconds, connections: connections)
        if let phases { bench.phases = Set(phases.split(separator: ",").map(String.init)) }
        bench.dueClients = min(dueClients, clients)
        bench.idleSeconds = idleSeconds
        bench.stalledEvents = stalledEvents
        bench.soakRequests = soakRequests
        try bench.run()
        let json = bench.report.json
        print("")
        print(bench.report.table())
        print("")
        print(JSONWriter.string(json))
        if let jsonOut { try JSONWriter.string(json).write(toFile: jsonOut, atomically: true, encoding: .utf8) }
    }
}

/// One measured figure with its target.
struct Figure {
    var name: String
    var value: Double
    var unit: String
    var target: String
    var met: Bool?
}

final class Report {
    var figures: [Figure] = []
    var info: [(String, String)] = []

    func add(_ name: String, _ value: Double, _ unit: String, target: String = "", met: Bool? = nil) {
        figures.append(Figure(name: name, value: value, unit: unit, target: target, met: met))
        let mark = met.map { $0 ? "ok" : "MISSED" } ?? ""
        FileHandle.standardError.write(
            Data("  \(name): \(format(value)) \(unit) \(target.isEmpty ? "" : "(target \(target)) ")\(mark)\n".utf8))
    }

    func format(_ v: Double) -> String {
        v >= 100 ? String(Int(v.rounded())) : String(format: "%.3f", v)
    }

    func table() -> String {
        var rows = [["figure", "value", "unit", "target", ""]]
        for f in figures { rows.append([f.name, format(f.value), f.unit, f.target, f.met.map { $0 ? "ok" : "MISSED" } ?? ""]) }
        var widths = [Int](repeating: 0, count: 5)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        var out = info.map { "\($0.0): \($0.1)" }.joined(separator: "\n") + "\n\n"
        for r in rows {
            out += r.enumerated().map { $0.element.padding(toLength: widths[$0.offset] + 2, withPad: " ", startingAt: 0) }.joined() + "\n"
        }
        return out
    }

    var json: JSON {
        var o = JSONObject()
        for (k, v) in info { o[k] = .string(v) }
        o["figures"] = .array(
            figures.map { f in
                [
                    "name": .string(f.name), "value": .double(f.value), "unit": .string(f.unit), "target": .string(f.target),
                    "met": f.met.map(JSON.bool) ?? .null,
                ]
            })
        return .object(o)
    }
}

/// Latency samples in nanoseconds.
struct Samples {
    var ns: [UInt64] = []
    mutating func merge(_ other: [UInt64]) { ns += other }
    func percentile(_ p: Double) -> Double {
        guard !ns.isEmpty else { return 0 }
        let sorted = ns.sorted()
        let idx = min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)
        return Double(sorted[max(0, idx)]) / 1_000_000
    }
}

@inline(__always) func nowNS() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

/// A cheap request for the load loops: the line is encoded by hand and the reply is only checked
/// for an error member, so the load generator (which shares the machine's cores with crmd) costs
/// as little as possible, like the C echo client the targets were set against.
struct RawCall {
    static let errorMarker = Array("\"error\":".utf8)

    static func line(id: Int, method: String, params: String) -> [UInt8] {
        Array("{\"jsonrpc\":\"2.0\",\"id\":\(id),\"method\":\"\(method)\",\"params\":\(params)}\n".utf8)
    }

    static func run(_ c: Connection, _ line: [UInt8]) throws {
        try c.send(raw: line)
        guard let reply = try c.readLine() else { throw ClientError.connectionClosed("no reply") }
        if contains(reply, errorMarker) {
            throw ValidationError("crmd answered with an error: \(String(decoding: reply.prefix(300), as: UTF8.self))")
        }
    }

    static func contains(_ hay: [UInt8], _ needle: [UInt8]) -> Bool {
        guard hay.count >= needle.count else { return false }
        var i = 0
        while i <= hay.count - needle.count {
            if hay[i] == needle[0], Array(hay[i..<(i + needle.count)]) == needle { return true }
            i += 1
        }
        return false
    }
}

final class Bench {
    let clients: Int
    let seconds: Double
    let connections: Int
    let report = Report()
    var daemon: TestDaemon!
    var clientIDs: ClosedRange<Int64> = 1...1
    var phases: Set<String> = ["ping", "get", "find", "log", "startup", "zones", "catchup", "idle", "echo", "rawlog", "stalled"]
    var dueClients = 100_000
    var idleSeconds = 60.0
    var stalledEvents = 100_000
    var soakRequests = 1_000_000
    /// crmd's figures the raw phases divide by (same process, same run).
    var crmdPing: Double?
    var crmdLog: Double?
    var crmdLog1: Double?

    init(clients: Int, seconds: Double, connections: Int) {
        self.clients = clients
        self.seconds = seconds
        self.connections = connections
    }

    func log(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }

    /// crmd logs every event at info; at warning the figures measure serving, not logging
    /// (docs/performance.md).
    static let crmdEnvironment = ["CRMD_LOG_LEVEL": "warning"]

    func run() throws {
        report.info = [
            ("machine", machineDescription()), ("clients", String(clients)), ("connections", String(connections)),
            ("seconds_per_phase", String(seconds)), ("crmd", TestDaemon.binaryPath()),
            ("crmd_log_level", Self.crmdEnvironment["CRMD_LOG_LEVEL"] ?? "info"),
        ]
        // The raw equivalents go with crmd's figures they divide.
        if phases.contains("ping") { phases.insert("echo") }
        if phases.contains("log") { phases.insert("rawlog") }
        if !phases.isDisjoint(with: ["ping", "get", "find", "log", "startup", "rawlog", "stalled", "soak", "hostile"]) {
            // The hostile phase's attacker runs as other uids: the socket must be open to them.
            daemon = try TestDaemon(environment: Self.crmdEnvironment, world: phases.contains("hostile"))
            try daemon.start()
            try load()
            if phases.contains("ping") { try pingPhase() }
            if phases.contains("get") { try getPhase() }
            if phases.contains("find") { try findPhase() }
            if phases.contains("log") { try logPhase() }
            if phases.contains("startup") { try startupAndMemory() }
            // After the others on this daemon: it adds a million interactions.
            if phases.contains("soak") { try soakPhase() }
            // After everything else on this daemon: it adds clients and leaves crmd's memory as
            // the attacks left it.
            if phases.contains("hostile") { try hostilePhase() }
            daemon.stop()
        }
        // With crmd stopped: nothing else runs on the cores or writes to the file.
        if phases.contains("echo") { try echoPhase() }
        if phases.contains("rawlog") { try rawLogPhase() }
        // On the same loaded database, after everything that measures it: this phase adds clients.
        if phases.contains("stalled") {
            try daemon.start()
            defer { daemon.stop() }
            try stalledPhase()
        }
        if !phases.isDisjoint(with: ["zones", "catchup", "idle"]) { try zonePhases() }
    }

    func machineDescription() -> String {
        let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("model name") }?.split(separator: ":").last?.trimmingCharacters(in: .whitespaces)
        return
            "\(ProcessInfo.processInfo.activeProcessorCount) cores, \(cpu ?? "unknown cpu"), \(ProcessInfo.processInfo.physicalMemory >> 30) GiB"
    }

    // MARK: phases

    func load() throws {
        log("loading \(clients) clients ...")
        let c = try daemon.connect()
        for i in 0..<10 {
            _ = try c.call(
                "user.add", ["login": .string("m\(i)"), "name": .string("Manager \(i)"), "role": "manager", "uid": .int(Int64(60_000 + i))])
        }
        let start = nowNS()
        let ids = try Self.importClients(c, 0..<clients) {
            ["name": .string("Client \($0)"), "phones": [.string(Self.phone($0))], "owner": .string("m\($0 % 10)")]
        }
        let secs = Double(nowNS() - start) / 1e9
        clientIDs = ids ?? 1...1
        report.add("load clients (client.import, 10k per call)", Double(clients) / secs, "clients/s")
    }

    /// Imports the clients `item(k)` for every k of `range`, 10,000 per `client.import`; returns
    /// the range of their ids.
    @discardableResult
    static func importClients(_ c: Connection, _ range: Range<Int>, _ item: (Int) -> JSON) throws -> ClosedRange<Int64>? {
        var first: Int64? = nil
        var last: Int64? = nil
        var k = range.lowerBound
        while k < range.upperBound {
            let n = min(10_000, range.upperBound - k)
            let r = try c.call("client.import", ["clients": .array((k..<(k + n)).map(item))])
            let ids = r["ids"]?.arrayValue?.compactMap(\.intValue) ?? []
            first = first ?? ids.first
            last = ids.last ?? last
            k += n
        }
        guard let first, let last else { return nil }
        return first...last
    }

    static func phone(_ k: Int) -> String {
        let n = 9_000_000_000 + k
        return "+7\(n)"
    }

    /// Runs `work` on `threads` connections to crmd for `seconds`; returns requests/s and latencies.
    func closedLoop(threads: Int, seconds: Double, _ work: @escaping @Sendable (Connection, Int, inout UInt64) throws -> Void) throws -> (
        Double, Samples
    ) {
        let daemon = self.daemon!
        return try timedLoop(threads: threads, seconds: seconds, open: { try daemon.connect() }, work)
    }

    /// Runs `work` on `threads` threads for `seconds`, each with its own `open()` (a connection);
    /// returns operations/s and latencies.
    func timedLoop<State>(
        threads: Int, seconds: Double, open: @escaping @Sendable () throws -> State,
        _ work: @escaping @Sendable (State, Int, inout UInt64) throws -> Void
    ) throws -> (Double, Samples) {
        let deadline = nowNS() + UInt64(seconds * 1e9)
        let counts = Mutex<[Int]>([Int](repeating: 0, count: threads))
        let lat = Mutex<[[UInt64]]>([[UInt64]](repeating: [], count: threads))
        let failure = Mutex<String?>(nil)
        let group = DispatchGroup()
        let go = DispatchSemaphore(value: 0)
        let readyCount = Atomic<Int>(0)
        for t in 0..<threads {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                do {
                    let conn = try open()
                    readyCount.wrappingAdd(1, ordering: .relaxed)
                    go.wait()
                    var n = 0
                    var samples: [UInt64] = []
                    samples.reserveCapacity(200_000)
                    var seed = UInt64(t + 1) &* 0x9E37_79B9_7F4A_7C15
                    while nowNS() < deadline {
                        let t0 = nowNS()
                        try work(conn, n, &seed)
                        samples.append(nowNS() - t0)
                        n += 1
                    }
                    counts.withLock { $0[t] = n }
                    lat.withLock { $0[t] = samples }
                } catch {
                    failure.withLock { $0 = "\(error)" }
                    go.signal()
                }
            }
        }
        while readyCount.load(ordering: .relaxed) < threads && failure.withLock({ $0 }) == nil { usleep(1000) }
        let start = nowNS()
        for _ in 0..<threads { go.signal() }
        group.wait()
        if let f = failure.withLock({ $0 }) { throw ValidationError("benchmark client failed: \(f)") }
        let elapsed = Double(nowNS() - start) / 1e9
        let total = counts.withLock { $0.reduce(0, +) }
        var s = Samples()
        for l in lat.withLock({ $0 }) { s.merge(l) }
        return (Double(total) / elapsed, s)
    }

    /// Logs a note on a random client of `ids` (the durable write of the log and soak phases);
    /// returns the client's id.
    @discardableResult
    static func logNote(_ c: Connection, on ids: ClosedRange<Int64>, seed: inout UInt64, note: String) throws -> Int64 {
        let id = ids.lowerBound + Int64(next(&seed) % UInt64(ids.count))
        try RawCall.run(
            c, RawCall.line(id: 1, method: "interaction.log", params: "{\"client_id\":\(id),\"kind\":\"note\",\"note\":\"\(note)\"}"))
        return id
    }

    static func next(_ seed: inout UInt64) -> UInt64 {
        seed ^= seed << 13
        seed ^= seed >> 7
        seed ^= seed << 17
        return seed
    }

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

    /// The scheduler under load, on a manual clock: `dueClients` of `clients` turn yellow at one
    /// instant; 100 managers subscribed receive their events; then a year of downtime is caught
    /// up at start-up; then crmd idles.
    func zonePhases() throws {
        let t0 = "2026-01-05T09:00:00Z"  // a Monday, inside working hours in Moscow
        let z = try TestDaemon(environment: Self.crmdEnvironment, arguments: ["--clock", "manual", "--clock-start", t0])
        try z.start()
        defer { z.stop() }
        let c = try z.connect()
        log("zones: loading \(clients) clients for 100 managers (\(dueClients) due at one instant) ...")
        for i in 0..<100 { _ = try c.call("user.add", ["login": .string("z\(i)"), "name": .string("Z\(i)"), "role": "manager"]) }
        let item = { (k: Int) -> JSON in ["name": .string("Z client \(k)"), "owner": .string("z\(k % 100)")] }
        try Self.importClients(c, 0..<dueClients, item)
        _ = try c.call("clock.advance", ["by": "P1D"])
        try Self.importClients(c, dueClients..<clients, item)
        // 100 managers subscribe to their zone changes.
        var subs: [Connection] = []
        for i in 0..<100 {
            let s = try z.connect()
            _ = try s.call("session.act_as", ["login": .string("z\(i)")])
            _ = try s.call("subscribe", ["topics": ["zone.changed"]])
            subs.append(s)
        }
        let expected = dueClients / 100
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
        if phases.contains("zones") {
            log("zones: moving the clock a month: \(dueClients) clients turn yellow ...")
            let t = nowNS()
            _ = try c.call("clock.set", ["to": "2026-02-05T09:00:00Z"])
            let applied = Double(nowNS() - t) / 1e9
            report.add(
                "zones: \(dueClients) of \(clients) clients due at one instant, applied and recorded", applied, "s", target: "<= 2",
                met: applied <= 2)
            done.wait()
            let delivered = Double((finishTimes.withLock { $0.max() } ?? start) - t) / 1e9
            let got = received.withLock { $0.reduce(0, +) }
            report.add(
                "zones: their events delivered to 100 subscribers (\(got) notifications)", delivered, "s", target: "<= 3",
                met: delivered <= 3 && got == expected * 100)
        }
        for s in subs { s.finishSending() }
        if phases.contains("catchup") {
            z.stop()
            z.arguments = ["--clock", "manual", "--clock-start", "2027-02-05T09:00:00Z"]
            log("catch-up after a year of downtime at \(clients) clients ...")
            let t = nowNS()
            try z.start(timeout: 600)
            let secs = Double(nowNS() - t) / 1e9
            report.add("catch-up after a year of downtime (\(clients) clients) to ready", secs, "s", target: "<= 30", met: secs <= 30)
            let st = try z.connect().call("server.status")
            report.info.append(("after catch-up", JSONWriter.string(st["clients"] ?? .null)))
        }
        if phases.contains("idle") {
            log("idle CPU for \(idleSeconds) s ...")
            let pid = z.pid ?? 0
            let before = cpuSeconds(pid: pid)
            Thread.sleep(forTimeInterval: idleSeconds)
            let used = cpuSeconds(pid: pid) - before
            let pct = used / idleSeconds * 100
            report.add("idle crmd CPU over \(Int(idleSeconds)) s (\(clients) clients)", pct, "% of a core", target: "< 1", met: pct < 1)
        }
    }

    /// A subscriber that never reads: what crmd holds for it must stay bounded by
    /// `subscriptions.max_queue_bytes` (its socket's write-buffer high-water mark, 4 MiB by
    /// default), whatever the volume of events, until `subscriptions.stall_timeout` closes it.
    /// On the loaded daemon, three rounds each import `stalledEvents` new clients (one
    /// `client.created` event each): the first warms SQLite's caches and the allocator for this
    /// work; the second, also with no subscriber, is the control; the third runs while an admin
    /// connection subscribed to every topic never reads. crmd's RSS is sampled from /proc every
    /// 20 ms, with a `server.ping` on another connection; a round's growth is its peak over its
    /// start, and what the subscriber costs is the third round's growth over the second's. Then,
    /// once crmd says it closes the subscriber, its socket is read to the end: it must end with
    /// `subscription.closed`.
    func stalledPhase() throws {
        log("stalled subscriber: \(stalledEvents) events per round, three rounds ...")
        let pid = daemon.pid ?? 0
        let c = try daemon.connect()
        let pinger = try daemon.connect()
        let ping = RawCall.line(id: 1, method: "server.ping", params: "{}")
        // (peak RSS MiB, worst ping ms) since the last reset.
        let sampled = Mutex<(rss: Double, ping: Double)>((0, 0))
        let sampling = Atomic<Bool>(true)
        let sampler = DispatchGroup()
        sampler.enter()
        Thread.detachNewThread {
            defer { sampler.leave() }
            while sampling.load(ordering: .relaxed) {
                let rss = Self.rssMiB(pid: pid)
                let t = nowNS()
                let ok = (try? RawCall.run(pinger, ping)) != nil
                let ms = ok ? Double(nowNS() - t) / 1e6 : .infinity
                sampled.withLock { $0 = (max($0.rss, rss), max($0.ping, ms)) }
                usleep(20_000)
            }
        }
        func lastSeq() throws -> Int64 { try c.call("server.status")["store"]?["last_seq"]?.intValue ?? 0 }
        var made = clients
        func round() throws -> (start: Double, growth: Double, ping: Double, events: Int64, seconds: Double) {
            let start = Self.rssMiB(pid: pid)
            sampled.withLock { $0 = (start, 0) }
            let (seq, t) = (try lastSeq(), nowNS())
            try Self.importClients(c, made..<(made + stalledEvents)) {
                ["name": .string("Stalled \($0)"), "owner": .string("m\($0 % 10)")]
            }
            made += stalledEvents
            let seconds = Double(nowNS() - t) / 1e9
            let events = try lastSeq() - seq
            usleep(100_000)
            let (peak, worst) = sampled.withLock { $0 }
            return (start, peak - start, worst, events, seconds)
        }
        let before = Self.rssMiB(pid: pid)
        _ = try round()
        let quiet = try round()
        let subscriber = try daemon.connect()
        _ = try subscriber.call("subscribe", ["topics": ["*"]])
        let subscribed = nowNS()
        // crmd logs the close when the stall limit passes (during the round or after it); the
        // final notice waits behind what the subscriber has not read, for 5 s, so it is read then.
        // Reading before that would make it writable again, so with too few events to fill its
        // buffers (crmd never closes it) it is not read at all.
        let closed = Mutex<(after: Double, lines: Int, bytes: Int, notice: JSON?)?>(nil)
        let giveUp = Atomic<Bool>(false)
        let reader = DispatchGroup()
        reader.enter()
        Thread.detachNewThread { [daemon = daemon!] in
            defer { reader.leave() }
            while !daemon.currentStderr().contains("closing a subscriber") {
                if giveUp.load(ordering: .relaxed) { return }
                usleep(20_000)
            }
            let after = Double(nowNS() - subscribed) / 1e9
            var (lines, bytes) = (0, 0)
            var notice: JSON? = nil
            while let line = try? subscriber.readLine() {
                if RawCall.contains(line, Array("\"subscription.closed\"".utf8)) {
                    notice = try? JSONParser.parse(line)
                } else {
                    lines += 1
                    bytes += line.count + 1
                }
            }
            closed.withLock { $0 = (after, lines, bytes, notice) }
        }
        let stalled = try round()
        // The stall limit (10 s by default) runs from when its buffers filled, during the round.
        if reader.wait(timeout: .now() + 30) == .timedOut {
            giveUp.store(true, ordering: .relaxed)
            reader.wait()
            log("crmd did not close the subscriber: too few events to fill its buffers? (raise --stalled-events)")
        }
        let (closedAfter, heldLines, heldBytes, notice) = closed.withLock { $0 } ?? (0, 0, 0, nil)
        usleep(500_000)
        let after = Self.rssMiB(pid: pid)
        sampling.store(false, ordering: .relaxed)
        sampler.wait()

        report.add("stalled: crmd RSS before (\(clients) clients)", before, "MiB")
        report.add(
            "stalled: RSS growth, \(quiet.events) events in \(Int(quiet.seconds)) s, no subscriber (after a warm-up round)", quiet.growth,
            "MiB")
        report.add("stalled: crmd RSS when the subscriber stopped reading (after two rounds)", stalled.start, "MiB")
        report.add(
            "stalled: RSS growth, \(stalled.events) events in \(Int(stalled.seconds)) s, a subscriber that never reads", stalled.growth,
            "MiB")
        // What crmd holds for the subscriber: its write buffer up to the 4 MiB high-water mark,
        // plus the page of notifications being written when the mark is crossed, in buffers of up
        // to twice their bytes; the in-memory event window has a fixed size and is already full.
        // 16 MiB is that with room for the allocator.
        let growth = stalled.growth - quiet.growth
        report.add("stalled: RSS growth the subscriber caused (difference)", growth, "MiB", target: "<= 16", met: growth <= 16)
        report.add("stalled: worst server.ping while it stalled", stalled.ping, "ms")
        report.add("stalled: notifications it had waiting when closed (\(heldLines))", Double(heldBytes) / 1_048_576, "MiB")
        let reason = notice?["params"]?["reason"]?.stringValue ?? "none"
        report.add(
            "stalled: closed with subscription.closed (reason \(reason)) after", closedAfter, "s", target: "too_slow",
            met: reason == "too_slow")
        report.add("stalled: crmd RSS after it was closed", after, "MiB")
    }

    /// User + system CPU seconds of a process, from /proc.
    func cpuSeconds(pid: Int32) -> Double {
        guard let s = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = s.lastIndex(of: ")")
        else { return 0 }
        let fields = s[s.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let u = Double(fields[11]), let k = Double(fields[12]) else { return 0 }
        return (u + k) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    static func rssMiB(pid: Int32) -> Double { procMiB("/proc/\(pid)/status", "VmRSS:") }

    /// The host's MemAvailable in MiB (/proc/meminfo).
    static func memAvailableMiB() -> Double { procMiB("/proc/meminfo", "MemAvailable:") }

    /// A `key: N kB` line of a /proc file, in MiB (-1 when it cannot be read).
    static func procMiB(_ file: String, _ key: String) -> Double {
        guard let s = try? String(contentsOfFile: file, encoding: .utf8),
            let line = s.split(separator: "\n").first(where: { $0.hasPrefix(key) }),
            let kb = line.split(separator: " ").dropFirst().first.flatMap({ Double($0) })
        else { return -1 }
        return kb / 1024
    }
}
