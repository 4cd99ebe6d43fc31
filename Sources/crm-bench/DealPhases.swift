import ArgumentParser
import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import GRDB
import Synchronization

/// The deal phases (issue 17), on a daemon of their own with a manual clock: `clients` clients
/// for 100 managers and a head, `deals` deals on them, then `deal.list` and `pipeline.board`
/// latency, `deal.move` against `interaction.log` in the same run, `overdueDeals` deals falling
/// overdue at one instant, and crmd's RSS throughout.
///
/// The clock: the first `overdueDeals` deals are opened at `start` on their own clients; the
/// clock moves a day; the rest are opened on the other clients. "New deal" has a cadence of two
/// days, so at `start` + 2 days exactly the first ones, and only they, fall overdue. The writes
/// measured in between (moves to the next two stages, notes on the other clients) keep off them.
struct DealPhases: BenchPhase {
    let bench: Bench

    static let names: Set<String> = ["deallist", "dealmove", "dealoverdue"]
    /// A Monday, inside working hours in Moscow (as the zones phase): the overdue reminders are
    /// delivered at once, with their `alert` events.
    static let start = "2026-01-05T09:00:00Z"
    static let overdueInstant = "2026-01-07T09:00:00Z"
    static let managers = 100

    func run() throws {
        let d = try TestDaemon(environment: Bench.crmdEnvironment, arguments: ["--clock", "manual", "--clock-start", Self.start])
        try d.start()
        defer { d.stop() }
        let rss = RSSWatch(pid: d.pid ?? 0)
        defer { rss.stop() }
        let clients = bench.clients
        let overdue = bench.overdueDeals
        let c = try d.connect()
        for i in 0..<Self.managers {
            _ = try c.call("user.add", ["login": .string("d\(i)"), "name": .string("D\(i)"), "role": "manager"])
        }
        _ = try c.call("user.add", ["login": "dhead", "name": "Head of sales", "role": "head"])
        log("deals: loading \(clients) clients for \(Self.managers) managers ...")
        var t = nowNS()
        guard
            let ids = try Bench.importClients(
                c, 0..<clients, { ["name": .string("D client \($0)"), "owner": .string("d\($0 % Self.managers)")] })
        else { throw ValidationError("no clients were imported") }
        report.add("deals: load clients (client.import, 10k per call)", Double(clients) / secs(since: t), "clients/s")
        // Clients [0, overdue) carry the deals that fall overdue; the rest carry everything else.
        let restClients = ids.lowerBound + Int64(overdue)...ids.upperBound
        log("deals: opening \(overdue) deals due at one instant, then \(bench.deals - overdue) more a day later ...")
        t = nowNS()
        try seed(d, 0..<overdue) { k in ids.lowerBound + Int64(k) }
        _ = try c.call("clock.advance", ["by": "P1D"])
        let span = Int64(restClients.count)
        try seed(d, overdue..<bench.deals) { k in restClients.lowerBound + Int64(k - overdue) % span }
        let seeded = secs(since: t)
        report.add(
            "deals: seed \(bench.deals) deals (deal.create, \(bench.seedConnections) connections)", Double(bench.deals) / seeded, "deals/s")
        report.add("deals: crmd RSS peak while seeding", rss.peak, "MiB")
        let db = try DatabaseQueue(path: d.databasePath, configuration: Self.readOnly)
        // The deals opened a day later: the moves take them in id order.
        let (count, firstRest, lastID) = try db.read { db in
            (
                try Int.fetchOne(db, sql: "SELECT count(*) FROM deals") ?? 0,
                try Int64.fetchOne(db, sql: "SELECT min(id) FROM deals WHERE opened_at > (SELECT min(opened_at) FROM deals)") ?? 0,
                try Int64.fetchOne(db, sql: "SELECT max(id) FROM deals") ?? 0
            )
        }
        guard count == bench.deals, lastID - firstRest + 1 == bench.deals - overdue else {
            throw ValidationError("crmd holds \(count) deals (ids \(firstRest)...\(lastID) opened a day later), not \(bench.deals)")
        }
        rss.reset()
        let size = "\(clients) clients, \(bench.deals) deals"
        if bench.phases.contains("deallist") { try reads(d, size) }
        if bench.phases.contains("dealmove") {
            try moves(d, size, deals: firstRest...lastID, logOn: restClients)
        }
        if bench.phases.contains("dealoverdue") { try overdueAtOnce(c, db, size, expected: overdue) }
        let peak = rss.peak
        report.add("deals: crmd RSS peak under the measured load (\(size))", peak, "MiB", target: "<= 200", met: peak <= 200)
    }

    /// Sends `line` and reads its reply, which must not be an error. crmd writes `"error":` (or
    /// `"result":`) right after the id, so only the reply's first bytes are looked at: `RawCall.run`
    /// scans the whole line, and a page of 100 deals is some 60 KB of it.
    static func run(_ c: Connection, _ line: [UInt8]) throws {
        try c.send(raw: line)
        guard let reply = try c.readLine() else { throw ClientError.connectionClosed("no reply") }
        if RawCall.contains(Array(reply.prefix(64)), RawCall.errorMarker) {
            throw ValidationError("crmd answered with an error: \(String(decoding: reply.prefix(300), as: UTF8.self))")
        }
    }

    static var readOnly: Configuration {
        var config = Configuration()
        config.readonly = true
        config.label = "crm-bench.deals"
        return config
    }

    func secs(since t: UInt64) -> Double { Double(nowNS() - t) / 1e9 }

    /// Opens deals `range` (deal k on client `client(k)`) through `deal.create` on
    /// `seedConnections` connections, 100,000 at a time with the rate of each.
    func seed(_ d: TestDaemon, _ range: Range<Int>, client: @escaping @Sendable (Int) -> Int64) throws {
        var k = range.lowerBound
        while k < range.upperBound {
            let base = k
            let n = min(100_000, range.upperBound - k)
            let (s, lat) = try LoadGenerator.countedLoop(d, threads: bench.seedConnections, total: n) { c, i, _ in
                let j = base + i
                let params = "{\"client_id\":\(client(j)),\"title\":\"Deal \(j)\",\"amount\":\((j % 1000 + 1) * 100_000)}"
                try Self.run(c, RawCall.line(id: 1, method: "deal.create", params: params))
            }
            k += n
            log(
                "  deals \(k)/\(bench.deals): \(Int(Double(n) / s)) deals/s, p99 \(String(format: "%.1f", lat.percentile(0.99))) ms"
            )
        }
    }

    /// `deal.list` of a manager's open deals (its first page, 100) and a head's `pipeline.board`,
    /// on 1 connection, then on `connections`.
    func reads(_ d: TestDaemon, _ size: String) throws {
        let calls: [(String, String, String, @Sendable (Int) -> String)] = [
            ("deal.list", "{\"status\":\"open\"}", "a manager's open deals (first page of 100)", { "d\($0 % Self.managers)" }),
            ("pipeline.board", "{}", "a head's board", { _ in "dhead" }),
        ]
        try checkReads(d)
        for (method, params, what, login) in calls {
            log("\(method) ...")
            let line = RawCall.line(id: 1, method: method, params: params)
            for threads in [1, bench.connections] {
                let (rate, s) = try LoadGenerator.timedLoop(threads: threads, seconds: bench.seconds, open: actingAs(d, login)) { c, _, _ in
                    try Self.run(c, line)
                }
                let p99 = s.percentile(0.99)
                let conns = "\(threads) connection\(threads == 1 ? "" : "s")"
                report.add("\(method) \(what), \(conns) (\(size))", rate, "req/s")
                report.add("\(method) p99, \(conns)", p99, "ms", target: "<= 5", met: p99 <= 5)
            }
        }
    }

    /// What the read phases time must be full answers: a manager's first page of 100 open deals,
    /// and a board that counts every deal (all open, at "New deal", before the moves).
    func checkReads(_ d: TestDaemon) throws {
        let manager = try actingAs(d, { _ in "d0" })()
        let page = try manager.call("deal.list", ["status": "open"])["items"]?.arrayValue?.count ?? 0
        let wanted = min(100, bench.deals / Self.managers)
        guard page == wanted else { throw ValidationError("d0's deal.list gave \(page) deals, not \(wanted)") }
        let head = try actingAs(d, { _ in "dhead" })()
        let stages = try head.call("pipeline.board")["stages"]?.arrayValue ?? []
        let counted = stages.compactMap { $0["count"]?.intValue }.reduce(0, +)
        guard counted == bench.deals else { throw ValidationError("the head's board counts \(counted) deals, not \(bench.deals)") }
    }

    /// Connections that act as `login(k)` for the k-th opened.
    func actingAs(_ d: TestDaemon, _ login: @escaping @Sendable (Int) -> String) -> @Sendable () throws -> Connection {
        let opened = Atomic<Int>(0)
        return {
            let c = try d.connect()
            _ = try c.call("session.act_as", ["login": .string(login(opened.wrappingAdd(1, ordering: .relaxed).oldValue))])
            return c
        }
    }

    /// `deal.move` and `interaction.log` (durable, as root, on `connections`) in turns: log, move,
    /// move, log, so that a drift of the machine's speed weighs on both alike. Each move takes the
    /// next deal of `deals` one stage on ("Proposal sent", then "Proposal under review": cadences
    /// of 3 and 2 days from now, past the overdue instant); each call goes on a client of
    /// `logOn`, which carries none of the deals due at the overdue instant.
    func moves(_ d: TestDaemon, _ size: String, deals: ClosedRange<Int64>, logOn: ClosedRange<Int64>) throws {
        let next = Atomic<Int>(0)
        let n = deals.count
        let stages = ["Proposal sent", "Proposal under review"]
        let move: @Sendable (Connection, Int, inout UInt64) throws -> Void = { c, _, _ in
            let k = next.wrappingAdd(1, ordering: .relaxed).oldValue
            guard k < n * stages.count else {
                throw ValidationError("every deal has been moved twice: raise --deals or lower --seconds")
            }
            let params = "{\"id\":\(deals.lowerBound + Int64(k % n)),\"stage\":\"\(stages[k / n])\"}"
            try Self.run(c, RawCall.line(id: 1, method: "deal.move", params: params))
        }
        // A logged call, the interaction a department logs all day: like a move it resets the
        // client's clock and is a contact for the client's deals (a note does neither).
        let note: @Sendable (Connection, Int, inout UInt64) throws -> Void = { c, _, seed in
            let id = logOn.lowerBound + Int64(LoadGenerator.next(&seed) % UInt64(logOn.count))
            let params = "{\"client_id\":\(id),\"kind\":\"call\",\"direction\":\"out\",\"result\":\"bench\"}"
            try Self.run(c, RawCall.line(id: 1, method: "interaction.log", params: params))
        }
        var rates: [String: [Double]] = [:]
        var samples: [String: Samples] = [:]
        var cpu: [String: Double] = [:]
        for method in ["interaction.log", "deal.move", "deal.move", "interaction.log"] {
            log("\(method) (durable) ...")
            let before = ProcStats.cpuSeconds(pid: d.pid ?? 0)
            let (rate, s) = try LoadGenerator.closedLoop(
                d, threads: bench.connections, seconds: bench.seconds, method == "deal.move" ? move : note)
            cpu[method, default: 0] += ProcStats.cpuSeconds(pid: d.pid ?? 0) - before
            rates[method, default: []].append(rate)
            samples[method, default: Samples()].merge(s.ns)
        }
        let conns = "\(bench.connections) connections"
        let mean = { (m: String) in (rates[m] ?? []).reduce(0, +) / Double(max(1, rates[m]?.count ?? 0)) }
        let (logRate, moveRate) = (mean("interaction.log"), mean("deal.move"))
        report.add("interaction.log (a call) durable, \(conns) (\(size))", logRate, "req/s")
        report.add("interaction.log p99, \(conns)", samples["interaction.log"]?.percentile(0.99) ?? 0, "ms")
        let perRequest = { (m: String) in 1000 * (cpu[m] ?? 0) / Double(max(1, samples[m]?.ns.count ?? 0)) }
        report.add("interaction.log: crmd CPU per request", perRequest("interaction.log"), "ms")
        report.add("deal.move durable, \(conns) (\(size))", moveRate, "req/s")
        report.add("deal.move p99, \(conns)", samples["deal.move"]?.percentile(0.99) ?? 0, "ms")
        report.add("deal.move: crmd CPU per request", perRequest("deal.move"), "ms")
        let ratio = logRate > 0 ? moveRate / logRate : 0
        report.add("deal.move / interaction.log, \(conns)", ratio, "", target: ">= 1", met: ratio >= 1)
    }

    /// Moves the clock to the instant the first `expected` deals fall overdue and times the reply;
    /// then checks, in the database, that each got its `deal.overdue` event and is marked overdue.
    func overdueAtOnce(_ c: Connection, _ db: DatabaseQueue, _ size: String, expected: Int) throws {
        log("deals: moving the clock to \(Self.overdueInstant): \(expected) deals fall overdue ...")
        let t = nowNS()
        let reply = try c.call("clock.set", ["to": .string(Self.overdueInstant)])
        let applied = secs(since: t)
        let (events, marked) = try db.read { db in
            (
                try Int.fetchOne(db, sql: "SELECT count(*) FROM events WHERE topic = 'deal.overdue'") ?? 0,
                try Int.fetchOne(db, sql: "SELECT count(*) FROM deals WHERE overdue_stage > 0") ?? 0
            )
        }
        report.info.append(("deals overdue: clock.set reply", JSONWriter.string(reply)))
        report.add(
            "deals: \(expected) of \(size) falling overdue at one instant, applied and recorded", applied, "s", target: "<= 2",
            met: applied <= 2 && events == expected && marked == expected)
        report.add("deals: deal.overdue events recorded (of \(expected))", Double(events), "events", met: events == expected)
        report.add("deals: deals marked overdue (of \(expected))", Double(marked), "deals", met: marked == expected)
    }
}

/// crmd's RSS read every 50 ms on a thread of its own; `peak` is the largest since the start or
/// the last `reset()`.
final class RSSWatch: Sendable {
    private let peakMiB = Mutex<Double>(0)
    private let stopped = Atomic<Bool>(false)
    private let done = DispatchSemaphore(value: 0)

    private let pid: Int32

    init(pid: Int32) {
        self.pid = pid
        Thread.detachNewThread { [self] in
            while !stopped.load(ordering: .relaxed) {
                sample()
                usleep(50_000)
            }
            done.signal()
        }
    }

    private func sample() {
        let v = ProcStats.rssMiB(pid: pid)
        peakMiB.withLock { $0 = max($0, v) }
    }

    /// The peak, counting crmd's RSS now (a phase may be shorter than a period).
    var peak: Double {
        sample()
        return peakMiB.withLock { $0 }
    }

    /// Starts over from crmd's RSS now.
    func reset() {
        peakMiB.withLock { $0 = 0 }
        sample()
    }

    func stop() {
        guard !stopped.exchange(true, ordering: .relaxed) else { return }
        done.wait()
    }
}
