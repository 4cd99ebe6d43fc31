import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation

/// The call-tracking phase (issue 19), `channels`, on a daemon of its own with a manual clock:
/// `clients` clients with phones (imported), 20 channels of 5 tracking numbers each with a month's
/// spend, and a PBX account. Measured:
/// 1. `call.incoming` from known callers (the caller found by phone, the call recorded, the pop
///    announced), 1 connection and `connections` connections;
/// 2. `call.incoming` from unknown callers (each opens a lead: a client created), the same;
/// 3. `report.channels` for the month with every call of 1 and 2 and a won deal per 50 leads, as
///    a head. The issue sets no target for these; the figures say what a PBX may send.
struct ChannelPhase: BenchPhase {
    let bench: Bench

    static let names: Set<String> = ["channels"]
    static let now = "2026-03-16T09:00:00Z"
    static let channels = 20

    func run() throws {
        // The lead phase opens leads as fast as it can: no per-account cap (channels.max_leads_per_minute).
        var env = Bench.crmdEnvironment
        env["CRMD_CHANNELS_MAX_LEADS_PER_MINUTE"] = "0"
        let d = try TestDaemon(environment: env, arguments: ["--clock", "manual", "--clock-start", Self.now])
        try d.start()
        defer { d.stop() }
        let c = try d.connect(readTimeout: 600)
        for (login, role) in [("chead", "head"), ("pbx", "operator"), ("cman", "manager")] {
            _ = try c.call("user.add", ["login": .string(login), "name": .string(login), "role": .string(role)])
        }
        log("channels: loading \(bench.clients) clients with phones ...")
        _ = try Bench.importClients(c, 0..<bench.clients) { k in
            ["name": .string("C client \(k)"), "owner": "cman", "phones": [.string(Bench.phone(k))]]
        }
        for ch in 0..<Self.channels {
            let phones = (0..<5).map { JSON.string(Self.tracking(ch, $0)) }
            _ = try c.call("channel.create", ["name": .string("Channel \(ch)"), "phones": .array(phones)])
            _ = try c.call("channel.spend", ["channel": .string("Channel \(ch)"), "period": "2026-03", "amount": 10_000_000])
        }
        let size = "\(bench.clients) clients"
        let clients = bench.clients
        for threads in [1, bench.connections] {
            let (rate, s) = try LoadGenerator.timedLoop(threads: threads, seconds: bench.seconds, open: { try Self.pbx(d) }) {
                conn, _, seed in
                seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                let k = Int((seed >> 33) % UInt64(max(1, clients)))
                let to = Self.tracking(Int((seed >> 20) % UInt64(Self.channels)), Int((seed >> 12) % 5))
                let params = "{\"from\":\"\(Bench.phone(k))\",\"to\":\"\(to)\"}"
                _ = try ManagementPhases.send(conn, RawCall.line(id: 1, method: "call.incoming", params: params))
            }
            report.add("call.incoming, known caller, \(threads) connection(s) (\(size))", rate, "calls/s")
            report.add("call.incoming, known caller, \(threads) connection(s): p99", s.percentile(0.99), "ms")
        }
        for threads in [1, bench.connections] {
            let (rate, s) = try LoadGenerator.timedLoop(threads: threads, seconds: bench.seconds, open: { try Self.pbx(d) }) {
                conn, _, seed in
                seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                // A number no client has (+7 8xx ...): each call opens a lead.
                let from = "+78\(String(format: "%09d", Int((seed >> 30) % 1_000_000_000)))"
                let to = Self.tracking(Int((seed >> 20) % UInt64(Self.channels)), 0)
                let params = "{\"from\":\"\(from)\",\"to\":\"\(to)\"}"
                _ = try ManagementPhases.send(conn, RawCall.line(id: 1, method: "call.incoming", params: params))
            }
            report.add("call.incoming, new lead, \(threads) connection(s) (\(size))", rate, "calls/s")
            report.add("call.incoming, new lead, \(threads) connection(s): p99", s.percentile(0.99), "ms")
        }
        try wonDeals(c)
        let line = RawCall.line(id: 1, method: "report.channels", params: "{\"period\":\"2026-03\"}")
        let head = try ManagementPhases.acting(d, "chead")
        var ms: [Double] = []
        var reply = 0
        for _ in 0..<max(3, bench.reportCalls) {
            let t = nowNS()
            reply = try ManagementPhases.send(head, line)
            ms.append(Double(nowNS() - t) / 1e6)
        }
        ms.sort()
        let calls = try c.call("report.channels", ["period": "2026-03"])["total"]?["calls"]?.intValue ?? 0
        report.add("report.channels, a month, \(calls) calls (\(size)): median (reply \(reply / 1024) KiB)", ms[ms.count / 2], "ms")
    }

    /// The PBX's connection (an operator).
    static func pbx(_ d: TestDaemon) throws -> Connection { try ManagementPhases.acting(d, "pbx") }

    /// Tracking number `n` of channel `ch`: +7 495 7cc nn 00.
    static func tracking(_ ch: Int, _ n: Int) -> String { "+74957\(String(format: "%02d", ch))\(String(format: "%02d", n))00" }

    /// One lead in 50 buys: assigned to the manager, a deal opened and won, so the report has
    /// buyers and revenue to sum.
    func wonDeals(_ c: Connection) throws {
        let leads = try c.call("client.list", ["status": "unassigned", "limit": 1000])["items"]?.arrayValue ?? []
        for (i, lead) in leads.enumerated() where i % 50 == 0 {
            guard let id = lead["id"] else { continue }
            _ = try c.call("client.assign", ["id": id, "owner": "cman"])
            let deal = try c.call("deal.create", ["client_id": id, "title": "Bench"])["id"] ?? .null
            _ = try c.call("deal.close", ["id": deal, "outcome": "won", "amount": 900_000])
        }
    }
}
