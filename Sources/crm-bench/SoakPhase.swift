import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation

// The soak phase (issue 14): one daemon through a long stream of ordinary requests, as a
// department works, watched per decile. A freshly started daemon hides decay; a figure that
// drifts from the first decile to the last is a bug, however good its average.

/// The soak phase, on the loaded daemon after the request phases.
struct SoakPhase: BenchPhase {
    let bench: Bench

    /// `soakRequests` requests (`interaction.log` on a random client, and a `client.get` of it
    /// after every fourth) on 1 connection, then the same on `connections`, each stream cut
    /// into ten deciles. Per decile: crmd's CPU per request (from /proc, user + system), p99, RSS
    /// and the write-ahead log. Targets: the last decile's CPU per request within 10 % of the
    /// first's, the log never past its bound, RSS flat after the first decile (within 10 %).
    func run() throws {
        for threads in [1, bench.connections] {
            log("soak: \(bench.soakRequests) requests on \(threads) connection(s), per decile ...")
            let ids = bench.clientIDs
            let work: @Sendable (Connection, Int, inout UInt64) throws -> Void = { c, n, seed in
                let id = try LoadGenerator.logNote(c, on: ids, seed: &seed, note: "soak")
                if n % 4 == 3 { try RawCall.run(c, RawCall.line(id: 2, method: "client.get", params: "{\"id\":\(id)}")) }
            }
            let pid = daemon.pid ?? 0
            let perDecile = max(1, bench.soakRequests / 10)
            var rows: [(cpu: Double, p99: Double, rate: Double, rss: Double, wal: Int, walFile: Double)] = []
            for decile in 1...10 {
                let cpu0 = ProcStats.cpuSeconds(pid: pid)
                let (elapsed, samples) = try LoadGenerator.countedLoop(daemon, threads: threads, total: perDecile, work)
                let cpu = (ProcStats.cpuSeconds(pid: pid) - cpu0) / Double(perDecile) * 1000
                let status = try daemon.connect().call("server.status")["store"]
                let wal = status?["wal_pages_max"]?.intValue.map(Int.init) ?? -1
                let walFile = ProcStats.fileMiB(daemon.databasePath + "-wal")
                let row = (cpu, samples.percentile(0.99), Double(perDecile) / elapsed, ProcStats.rssMiB(pid: pid), wal, walFile)
                rows.append(row)
                log(
                    String(
                        format:
                            "  decile %2d: %.3f ms crmd CPU/request, p99 %.2f ms, %.0f req/s, RSS %.1f MiB, WAL max %d pages (file %.1f MiB)",
                        decile, row.0, row.1, row.2, row.3, row.4, row.5))
            }
            let first = rows[0]
            let last = rows[rows.count - 1]
            let name = "soak, \(threads) connection\(threads == 1 ? "" : "s"), \(bench.soakRequests) requests"
            report.add("\(name): crmd CPU/request, first decile", first.cpu, "ms")
            let drift = first.cpu > 0 ? last.cpu / first.cpu : 0
            report.add("\(name): crmd CPU/request, last decile", last.cpu, "ms")
            report.add("\(name): CPU/request last / first", drift, "ratio", target: "<= 1.10", met: drift <= 1.10)
            report.add("\(name): p99, first decile", first.p99, "ms")
            report.add("\(name): p99, last decile", last.p99, "ms")
            report.add("\(name): req/s, first decile", first.rate, "req/s")
            report.add("\(name): req/s, last decile", last.rate, "req/s")
            let walMax = rows.map(\.wal).max() ?? -1
            let limit = try daemon.connect().call("server.status")["store"]?["wal_limit_pages"]?.intValue.map(Int.init) ?? 0
            report.add("\(name): WAL, largest", Double(walMax), "pages", target: "<= \(limit)", met: walMax <= limit)
            let rssGrowth = rows[1].rss > 0 ? last.rss / rows[1].rss : 0
            report.add("\(name): RSS, second decile", rows[1].rss, "MiB")
            report.add("\(name): RSS last / second decile", rssGrowth, "ratio", target: "<= 1.10", met: rssGrowth <= 1.10)
        }
    }
}
