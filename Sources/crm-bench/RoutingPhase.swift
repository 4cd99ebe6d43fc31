import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation

/// The routing phase (issue 22), `route`, on a daemon of its own with a manual clock at 10:00 on
/// a working Monday: `clients` clients with phones over 20 managers (imported), a web-form
/// operator account, then `request.create` from the form one at a time: every other request from
/// a known client's phone (routed to its owner), the rest from new numbers (routed by
/// `least_loaded`). Target: 5 ms p99 at 1,000,000 clients.
struct RoutingPhase: BenchPhase {
    let bench: Bench

    static let names: Set<String> = ["route"]
    static let now = "2026-03-02T07:00:00Z"
    static let managers = 20
    static let requests = 2_000

    func run() throws {
        let d = try TestDaemon(environment: Bench.crmdEnvironment, arguments: ["--clock", "manual", "--clock-start", Self.now])
        try d.start()
        defer { d.stop() }
        let c = try d.connect(readTimeout: 600)
        _ = try c.call("user.add", ["login": "rform", "name": "Web form", "role": "operator"])
        for m in 0..<Self.managers {
            _ = try c.call("user.add", ["login": .string("rman\(m)"), "name": .string("Manager \(m)"), "role": "manager"])
        }
        log("route: loading \(bench.clients) clients with phones ...")
        _ = try Bench.importClients(c, 0..<bench.clients) { k in
            ["name": .string("R client \(k)"), "owner": .string("rman\(k % Self.managers)"), "phones": [.string(Bench.phone(k))]]
        }
        let form = try ManagementPhases.acting(d, "rform")
        var samples = Samples()
        let clients = max(1, bench.clients)
        for i in 0..<Self.requests {
            let phone = i % 2 == 0 ? Bench.phone((i * 7_919) % clients) : "+78\(String(format: "%09d", i))"
            let line = RawCall.line(id: 1, method: "request.create", params: "{\"name\":\"Bench \(i)\",\"phone\":\"\(phone)\"}")
            let t = nowNS()
            _ = try ManagementPhases.send(form, line)
            samples.ns.append(nowNS() - t)
        }
        let size = "\(bench.clients) clients, \(Self.managers) managers"
        report.add("request.create, routed (\(size)): p50", samples.percentile(0.5), "ms")
        report.add("request.create, routed (\(size)): p99 (target 5 ms at 1M)", samples.percentile(0.99), "ms")
    }
}
