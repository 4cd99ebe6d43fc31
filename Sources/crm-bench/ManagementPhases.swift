import ArgumentParser
import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import GRDB

/// The management phase (issue 18), `mgmt`, on a daemon of its own with a manual clock standing at
/// `now`: 100 managers, a head, a director and an accountant; `clients` clients imported through
/// the protocol; then, with crmd stopped, a year of history written into its database
/// (``ManagementSeed``: `deals` deals won, lost and open with their moves, invoices and payments,
/// `interactions` interactions, claims, contacts, the zone series). Measured on it:
/// 1. `plan.progress` of one manager with all seven targets, 1 connection (p99 <= 2 ms);
/// 2. every report over the whole department, as the director, for a month and for a year
///    (<= 500 ms and <= 3 s a call);
/// 3. `interaction.log` with a plan for every manager against none (crmd's CPU per request with
///    plans <= 1.10 times without), in ``ManagementPhases/logCost(_:_:)``.
/// A method that answers with an error prints a failure line (MISSED) and the phase goes on.
struct ManagementPhases: BenchPhase {
    let bench: Bench

    static let names: Set<String> = ["mgmt"]
    /// A Tuesday, 12:00 in Moscow (the default zones.time_zone, UTC+3 all year): half of December
    /// is in the current plan period.
    static let now = "2026-12-15T09:00:00Z"
    static let zone = TimeZone(identifier: "Europe/Moscow") ?? .gmt
    static let managers = 100
    static let planPeriod = "2026-12"
    /// November 2026, local midnights in Moscow, and the year up to `now` (365 days).
    static let spans: [(name: String, from: String, to: String, targetMS: Double)] = [
        ("month 2026-11", "2026-10-31T21:00:00Z", "2026-11-30T21:00:00Z", 500),
        ("year to 2026-12-15", "2025-12-15T09:00:00Z", now, 3000),
    ]
    static let reports = [
        "report.commission", "report.funnel", "report.sales", "report.activity", "report.completeness", "report.plan", "report.zones",
    ]

    func run() throws {
        let d = try TestDaemon(environment: Bench.crmdEnvironment, arguments: ["--clock", "manual", "--clock-start", Self.now])
        try d.start()
        defer { d.stop() }
        let size = "\(bench.clients) clients, \(bench.deals) deals, \(bench.interactions) interactions"
        try load(d)
        d.stop()
        log("mgmt: seeding a year: \(bench.deals) deals, \(bench.interactions) interactions (crmd stopped) ...")
        let t = nowNS()
        guard case .instant(let nowMS) = RFC3339.read(Self.now) else { throw ValidationError("mgmt: bad instant \(Self.now)") }
        let offset = Int64(Self.zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(nowMS) / 1000))) * 1000
        let seeded = try ManagementSeed(
            path: d.databasePath, now: nowMS, offset: offset, interactions: bench.interactions, deals: bench.deals, log: log
        ).run()
        let secs = Double(nowNS() - t) / 1e9
        report.add("mgmt: seed a year (\(size)), raw SQLite", secs, "s")
        report.info.append(
            (
                "mgmt seeded",
                "\(seeded.deals) deals (\(seeded.won) won), \(seeded.moves) moves, \(seeded.invoices) invoices, \(seeded.payments) payments, "
                    + "\(seeded.interactions) interactions, \(seeded.claims) claims, \(seeded.contacts) contacts; "
                    + "database \(Int(ProcStats.fileMiB(d.databasePath))) MiB"
            ))
        try d.start(timeout: 600)
        attempt("plan.progress, one manager, 1 connection (\(size))", target: "p99 <= 2 ms") { try progress(d) }
        for span in Self.spans {
            for method in Self.reports {
                attempt("\(method), \(span.name), whole department (\(size))", target: "<= \(Int(span.targetMS)) ms") {
                    try reportCalls(d, method, span)
                }
            }
        }
        attempt("interaction.log with plans / without (\(size))", target: "<= 1.10") { try logCost(d, size) }
    }

    /// The users, and the clients through `client.import`: owned by the managers in turn, seven
    /// in ten with a segment, six in ten with a source, half with a phone.
    func load(_ d: TestDaemon) throws {
        let c = try d.connect()
        for i in 0..<Self.managers {
            _ = try c.call("user.add", ["login": .string("m\(i)"), "name": .string("Manager \(i)"), "role": "manager"])
        }
        for (login, role) in [("mhead", "head"), ("mdir", "director"), ("macc", "accountant")] {
            _ = try c.call("user.add", ["login": .string(login), "name": .string(login), "role": .string(role)])
        }
        log("mgmt: loading \(bench.clients) clients for \(Self.managers) managers ...")
        let t = nowNS()
        let segments = ["retail", "wholesale", "horeca"]
        let sources = ["site", "cold", "referral", "exhibition"]
        try Bench.importClients(c, 0..<bench.clients) { k in
            var o: JSONObject = ["name": .string("M client \(k)"), "owner": .string("m\(k % Self.managers)")]
            if k % 10 < 7 { o["segment"] = .string(segments[k % 3]) }
            if k % 10 < 6 { o["source"] = .string(sources[k % 4]) }
            if k % 2 == 0 { o["phones"] = [.string(Bench.phone(k))] }
            return .object(o)
        }
        report.add("mgmt: load clients (client.import, 10k per call)", Double(bench.clients) / (Double(nowNS() - t) / 1e9), "clients/s")
    }

    /// Runs `body`; if it throws, prints and records a failure line instead of ending the run.
    func attempt(_ what: String, target: String, _ body: () throws -> Void) {
        do {
            try body()
        } catch {
            let message = Self.describe(error)
            report.add("\(what): FAILED: \(message.prefix(160))", 0, "", target: target, met: false)
        }
    }

    static func describe(_ error: any Error) -> String {
        if let e = error as? RPCError { return "error \(e.code): \(e.message)" }
        return "\(error)"
    }

    /// A connection acting as `login`.
    static func acting(_ d: TestDaemon, _ login: String) throws -> Connection {
        let c = try d.connect(readTimeout: 600)
        _ = try c.call("session.act_as", ["login": .string(login)])
        return c
    }

    /// Sends `line`, reads the whole reply and fails on an error reply; returns the reply's bytes.
    static func send(_ c: Connection, _ line: [UInt8]) throws -> Int {
        try c.send(raw: line)
        guard let reply = try c.readLine() else { throw ClientError.connectionClosed("no reply") }
        if RawCall.contains(Array(reply.prefix(64)), RawCall.errorMarker) {
            if let e = (try? JSONParser.parse(reply))?["error"].flatMap(RPCError.init(json:)) { throw e }
            throw ValidationError("crmd answered with an error: \(String(decoding: reply.prefix(400), as: UTF8.self))")
        }
        return reply.count
    }

    /// The head sets m0 a plan for the current month with all seven targets; m0 asks for its
    /// progress on 1 connection for `seconds`. The reply is checked first: seven items.
    func progress(_ d: TestDaemon) throws {
        let head = try Self.acting(d, "mhead")
        _ = try head.call("plan.set", ["user": "m0", "period": .string(Self.planPeriod), "targets": Self.allTargets])
        let m0 = try Self.acting(d, "m0")
        let first = try m0.call("plan.progress", ["period": .string(Self.planPeriod)])
        let items = first["items"]?.arrayValue ?? []
        guard items.count == PlanTargets.metrics.count else {
            throw ValidationError("m0's plan.progress gave \(items.count) items, not 7: \(JSONWriter.string(first).prefix(300))")
        }
        report.info.append(("mgmt: m0's plan.progress", JSONWriter.string(first)))
        log("plan.progress ...")
        let line = RawCall.line(id: 1, method: "plan.progress", params: "{\"period\":\"\(Self.planPeriod)\"}")
        let (rate, s) = try LoadGenerator.timedLoop(threads: 1, seconds: bench.seconds, open: { try Self.acting(d, "m0") }) { c, _, _ in
            _ = try Self.send(c, line)
        }
        let p99 = s.percentile(0.99)
        report.add("plan.progress (seven targets, a manager's own), 1 connection", rate, "req/s")
        report.add("plan.progress p50, 1 connection", s.percentile(0.5), "ms")
        report.add("plan.progress p99, 1 connection", p99, "ms", target: "<= 2", met: p99 <= 2)
    }

    /// Targets for all seven metrics of a month (the figures do not matter to the cost).
    static var allTargets: JSON { PlanTargets.all }

    /// `reportCalls` calls of `method` over `span` as the director, one after the other; the
    /// median and the slowest against the target. The whole reply is read (not parsed).
    func reportCalls(_ d: TestDaemon, _ method: String, _ span: (name: String, from: String, to: String, targetMS: Double)) throws {
        let c = try Self.acting(d, "mdir")
        // report.completeness is of the base as it stands now: it takes no period.
        let params = method == "report.completeness" ? "{}" : "{\"from\":\"\(span.from)\",\"to\":\"\(span.to)\"}"
        let line = RawCall.line(id: 1, method: method, params: params)
        log("\(method), \(span.name) ...")
        var ms: [Double] = []
        var bytes = 0
        for _ in 0..<bench.reportCalls {
            let t = nowNS()
            bytes = try Self.send(c, line)
            ms.append(Double(nowNS() - t) / 1e6)
        }
        ms.sort()
        let median = ms[ms.count / 2]
        let slowest = ms.last ?? 0
        let target = "<= \(Int(span.targetMS))"
        report.add(
            "\(method), \(span.name), director: median of \(ms.count) (reply \(bytes / 1024) KiB)", median, "ms", target: target,
            met: median <= span.targetMS)
        report.add("\(method), \(span.name), director: slowest", slowest, "ms", target: target, met: slowest <= span.targetMS)
    }
}

/// The seven plan metrics and a month's targets for them (PlanMetric's wire names).
enum PlanTargets {
    static let metrics = ["calls", "meetings", "new_clients", "deals_won", "revenue_won", "revenue_paid", "claims"]
    static let all: JSON = [
        "calls": 400, "meetings": 40, "new_clients": 20, "deals_won": 10, "revenue_won": 500_000_000, "revenue_paid": 400_000_000,
        "claims": 5,
    ]
    /// What the logging comparison sets every manager: the metrics a logged call or meeting moves.
    static let activity: JSON = ["calls": 400, "meetings": 40]
}
