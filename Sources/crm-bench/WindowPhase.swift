import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import Synchronization

/// The fair claim window phase (issue 21), `window`, on a daemon of its own with a manual clock
/// and `exchange.claim_window_ends: 10:00`: `windowClients` clients (1,000) released at one
/// instant; 100 managers, each on a connection of its own, request a tenth of them (every client
/// is asked for by 10 managers) in the window: request p99 (<= 50 ms); then the clock is moved to
/// the window's end: the resolution time (<= 1 s, the `clock.set` reply comes after the pass);
/// then every client is checked to have exactly one owner, one of its requesters, and the claims
/// counted by `report.exchange` to be one per client.
///
/// `simulate`: `clients` clients created at one instant and, a year later on the manual clock,
/// every one released by the scheduler six months in (a year of recorded history: a creation and
/// a release each); then `exchange.simulate` over that year with the current thresholds (it must
/// find every release) and with shorter ones, timed, while 4 connections call `client.get`
/// (p99 <= 5 ms meanwhile; the 60 s target is for 1,000,000 clients).
struct WindowPhase: BenchPhase {
    let bench: Bench

    static let names: Set<String> = ["window", "simulate"]
    static let start = "2026-01-12T09:00:00Z"  // Monday 12:00 Moscow: the window ends Tuesday 10:00
    static let end = "2026-01-13T07:00:00Z"
    static let managers = 100

    func run() throws {
        if bench.phases.contains("window") { try window() }
        if bench.phases.contains("simulate") { try simulate() }
    }

    func simulate() throws {
        let t0 = "2025-01-13T09:00:00Z"
        let d = try TestDaemon(environment: Bench.crmdEnvironment, arguments: ["--clock", "manual", "--clock-start", t0])
        try d.start()
        defer { d.stop() }
        let c = try d.connect(readTimeout: 1_800)
        let n = bench.clients
        log("simulate: \(n) clients of 100 managers, then a year on the manual clock (all released at six months) ...")
        for i in 0..<100 { _ = try c.call("user.add", ["login": .string("s\(i)"), "name": .string("S\(i)"), "role": "manager"]) }
        guard let ids = try Bench.importClients(c, 0..<n, { ["name": .string("S client \($0)"), "owner": .string("s\($0 % 100)")] }) else {
            return
        }
        _ = try c.call("clock.set", ["to": "2026-01-13T09:00:00Z"])
        let span: JSONObject = ["from": .string(t0), "to": "2026-01-13T09:00:00Z"]
        for (label, thresholds) in [
            ("current thresholds", JSON.null), ("release after P3M", ["red_after": "P2M", "release_after": "P3M"]),
        ] {
            var p = span
            if thresholds != .null { p["thresholds"] = thresholds }
            var result = JSON.null
            var seconds = 0.0
            let samples = try ClassPhase(bench: bench).gets(d, ids) {
                let t = nowNS()
                result = try c.call("exchange.simulate", .object(p))
                seconds = Double(nowNS() - t) / 1e9
            }
            let found = result["total"]?.intValue ?? -1
            report.add(
                "simulate: exchange.simulate over a year, \(label) (\(n) clients, \(found) releases of \(result["actual_total"]?.intValue ?? -1))",
                seconds, "s", target: "<= 60 s at 1M", met: found == Int64(n) && seconds <= 60)
            report.add(
                "simulate: client.get p99 meanwhile (\(samples.ns.count) calls)", samples.percentile(0.99), "ms", target: "<= 5 ms",
                met: samples.percentile(0.99) <= 5)
        }
    }

    func window() throws {
        var env = Bench.crmdEnvironment
        env["CRMD_EXCHANGE_CLAIM_WINDOW_ENDS"] = "10:00"
        let d = try TestDaemon(environment: env, arguments: ["--clock", "manual", "--clock-start", Self.start])
        try d.start()
        defer { d.stop() }
        let n = bench.windowClients
        let c = try d.connect(readTimeout: 600)
        log("window: \(n) clients of 10 owners released at one instant, \(Self.managers) managers requesting ...")
        for i in 0..<10 { _ = try c.call("user.add", ["login": .string("wo\(i)"), "name": .string("Owner \(i)"), "role": "manager"]) }
        for i in 0..<Self.managers { _ = try c.call("user.add", ["login": .string("w\(i)"), "name": .string("W\(i)"), "role": "manager"]) }
        guard let ids = try Bench.importClients(c, 0..<n, { ["name": .string("W client \($0)"), "owner": .string("wo\($0 % 10)")] }) else {
            return
        }
        let clients = Array(ids)
        // Released at one instant (the manual clock stands still).
        for id in clients { _ = try c.call("client.release", ["id": .int(id), "reason": "bench"]) }
        // Manager m asks for the clients k with (k + m) % 10 == 0.
        let lat = Mutex<[UInt64]>([])
        let failure = Mutex<String?>(nil)
        let group = DispatchGroup()
        let conns = try (0..<Self.managers).map { m -> Connection in
            let conn = try d.connect(readTimeout: 600)
            _ = try conn.call("session.act_as", ["login": .string("w\(m)")])
            return conn
        }
        let t0 = nowNS()
        for (m, conn) in conns.enumerated() {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                var samples: [UInt64] = []
                do {
                    for (k, id) in clients.enumerated() where (k + m) % 10 == 0 {
                        let t = nowNS()
                        try RawCall.run(conn, RawCall.line(id: 1, method: "exchange.request", params: "{\"id\":\(id)}"))
                        samples.append(nowNS() - t)
                    }
                } catch {
                    failure.withLock { $0 = "\(error)" }
                }
                lat.withLock { $0 += samples }
            }
        }
        group.wait()
        let wall = Double(nowNS() - t0) / 1e9
        if let f = failure.withLock({ $0 }) { report.info.append(("window: a request failed", f)) }
        let samples = Samples(ns: lat.withLock { $0 })
        report.add(
            "window: exchange.request p99 (\(samples.ns.count) requests, \(Self.managers) connections, \(String(format: "%.1f", wall)) s)",
            samples.percentile(0.99), "ms", target: "<= 50 ms", met: samples.percentile(0.99) <= 50)
        let t = nowNS()
        _ = try c.call("clock.set", ["to": .string(Self.end)])
        let resolved = Double(nowNS() - t) / 1e9
        report.add("window: \(n) windows resolved at their end (clock.set reply)", resolved, "s", target: "<= 1 s", met: resolved <= 1)
        // Exactly one owner per client, one of its requesters; one claim per client.
        var wrong = 0
        for (k, id) in clients.enumerated() {
            let card = try c.call("client.get", ["id": .int(id)])
            let owner = card["owner_login"]?.stringValue ?? ""
            let m = Int(owner.dropFirst()) ?? -1
            if card["status"] != "assigned" || !owner.hasPrefix("w") || owner.hasPrefix("wo") || (k + m) % 10 != 0 { wrong += 1 }
        }
        let claims = try c.call("report.exchange", ["from": .string(Self.start), "to": "2026-02-01T00:00:00Z"])["totals"]?["claimed"]?
            .intValue
        report.add(
            "window: clients with exactly one owner among their requesters (claims counted: \(claims ?? -1))", Double(n - wrong), "clients",
            target: "= \(n)", met: wrong == 0 && claims == Int64(n))
    }
}
