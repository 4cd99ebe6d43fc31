import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import Synchronization

// The hostile phase (issue 15): what one local uid that can reach the socket costs crmd, the host
// and the admins, attack by attack, at the sizes the defaults allow one uid and past them. The
// attacker is a python3 child run as that uid under setpriv (as in HostileTests); crm-bench's own
// admin connection pings crmd every 10 ms meanwhile, and crmd's RSS and the host's MemAvailable
// are read from /proc every 20 ms. Targets: an admin's server.ping p99 ≤ 50 ms during every
// attack; crmd's RSS ≤ 256 MiB and the host's memory drop ≤ 512 MiB whatever one non-admin uid does.

/// The hostile phase, last on the loaded daemon.
struct HostilePhase: BenchPhase {
    let bench: Bench

    /// One attack: who runs it, the script's mode and arguments, how long its connections are held
    /// once it is set up, and what crm-bench does meanwhile (returns a note for the report).
    struct Attack {
        var name: String
        var uid: Int
        var arguments: [String]
        var hold: Double
        var during: (() throws -> String)? = nil
    }

    /// Runs every attack in turn on the loaded daemon, each released before the next. Needs root
    /// (to run the attacker as other uids) and a daemon whose socket other uids may open.
    func run() throws {
        guard getuid() == 0 else {
            log("hostile: skipped, crm-bench is not root (it runs the attacker as other uids with setpriv)")
            return
        }
        let started = nowNS()
        let control = try daemon.connect(readTimeout: 60)
        func connections() -> Int64 { (try? control.call("server.status")["connections"]?.intValue) ?? -1 }
        // The control connection is open; the monitor's pinger adds one during each attack.
        let baseline = connections()
        let attacker = 60_000  // m0, a manager loaded by load()
        let attacks: [Attack] = [
            Attack(name: "connections (m0 opens 1,000)", uid: attacker, arguments: ["connections", "1000"], hold: 3),
            Attack(name: "connections (unknown uid opens 2,000)", uid: 59_999, arguments: ["connections", "2000"], hold: 2),
            Attack(
                name: "unfinished lines (128 × 1 MiB − 1)", uid: attacker, arguments: ["lines", "128", String((1 << 20) - 1)], hold: 3),
            Attack(
                name: "subscriptions (128 × 16 to *)", uid: attacker, arguments: ["subs", "128", "17"], hold: 12,
                during: { [daemon = daemon] in
                    // Events m0 may see: clients created for m0, as an admin, on its own
                    // connection; held past subscriptions.stall_timeout (10 s) after.
                    let admin = try daemon.connect(readTimeout: 120)
                    let t = nowNS()
                    try Bench.importClients(admin, 0..<20_000) { ["name": .string("Hostile \($0)"), "owner": "m0"] }
                    return String(format: "20,000 clients imported for m0 meanwhile in %.1f s", Double(nowNS() - t) / 1e9)
                }),
            Attack(name: "slow bytes (128 × 1 byte/s)", uid: attacker, arguments: ["slow", "128", "10"], hold: 0),
            // Last: crmd keeps some of what it takes (121 MiB after it against 90 before), which
            // would be the next attack's start.
            Attack(name: "batches (128 × 100 client.list of 1,000)", uid: attacker, arguments: ["batches", "128", "5", "30"], hold: 2),
        ]
        for attack in attacks {
            // Each attack starts from crmd with only crm-bench's connection open.
            let settle = nowNS() + 30_000_000_000
            while connections() > baseline && nowNS() < settle { usleep(100_000) }
            let left = connections()
            if left > baseline { log("hostile: \(left - baseline) connection(s) of the last attack still open after 30 s") }
            guard try runAttack(attack) else { break }
        }
        report.add("hostile: the phase took", Double(nowNS() - started) / 1e9, "s")
    }

    /// One attack; false when crmd no longer answers after it (the phase stops there).
    func runAttack(_ attack: Attack) throws -> Bool {
        let name = "hostile \(attack.name)"
        log("\(name) ...")
        let pid = daemon.pid ?? 0
        let logBefore = daemon.currentStderr().count
        let rssBefore = ProcStats.rssMiB(pid: pid)
        let memBefore = ProcStats.memAvailableMiB()
        let monitor = try AttackMonitor(daemon: daemon, pid: pid)
        let process = try AttackerProcess(socket: daemon.socketPath, uid: attack.uid, arguments: attack.arguments)
        let summary = process.summary(timeout: 90)
        var notes: [String] = []
        if let summary {
            notes.append(summary["line"]?.stringValue ?? JSONWriter.string(summary))
        } else {
            notes.append("the attacker printed no summary in 90 s: \(process.errors().suffix(300))")
        }
        notes.append(String(format: "attacker's own RSS %.0f MiB", process.rssMiB()))
        if let during = attack.during {
            do { notes.append(try during()) } catch { notes.append("crm-bench's own work failed: \(error)") }
        }
        // An admin gets a new connection while the attacker holds everything it got.
        let t = nowNS()
        if let c = try? daemon.connect(readTimeout: 10), (try? c.call("server.ping")) != nil {
            notes.append(String(format: "a new admin connection answered in %.1f ms", Double(nowNS() - t) / 1e6))
            if let n = try? c.call("server.status")["connections"]?.intValue { notes.append("crmd counted \(n) connections") }
        } else {
            notes.append("a new admin connection got no answer")
        }
        Thread.sleep(forTimeInterval: attack.hold)
        let seen = monitor.stop()
        process.release(timeout: 20)
        usleep(500_000)
        let rssAfter = ProcStats.rssMiB(pid: pid)
        let answers: Bool
        if let c = try? daemon.connect(readTimeout: 10), (try? c.call("server.ping")) != nil { answers = true } else { answers = false }

        var pings = Samples()
        pings.merge(seen.pings)
        let p99 = pings.percentile(0.99)
        let worst = pings.percentile(1)
        let drop = memBefore - seen.memMin
        report.add("\(name): crmd RSS before", rssBefore, "MiB")
        report.add("\(name): crmd RSS peak", seen.rssPeak, "MiB", target: "<= 256", met: seen.rssPeak <= 256)
        report.add("\(name): crmd RSS growth (peak − before)", seen.rssPeak - rssBefore, "MiB")
        report.add("\(name): host MemAvailable drop", drop, "MiB", target: "<= 512", met: drop <= 512)
        report.add(
            "\(name): admin server.ping p99 (\(seen.pings.count) pings, \(seen.failedPings) failed)", p99, "ms", target: "<= 50",
            met: p99 <= 50 && seen.failedPings == 0)
        report.add("\(name): admin server.ping max", worst, "ms")
        report.add("\(name): crmd RSS after release", rssAfter, "MiB")
        notes.append(answers ? "after release crmd answered a new admin connection" : "after release crmd did NOT answer")
        let logged = Self.crmdLogSummary(String(daemon.currentStderr().dropFirst(logBefore)))
        if !logged.isEmpty { notes.append("crmd logged: \(logged)") }
        let text = notes.joined(separator: "; ")
        log("  \(name): \(text)")
        report.info.append((name, text))
        if !answers {
            report.add("\(name): crmd answers after release", 0, "", target: "yes", met: false)
            log(
                "hostile: crmd does not answer after '\(attack.name)'; the phase stops. crmd's stderr ends: \(daemon.currentStderr().suffix(600))"
            )
        }
        return answers
    }

    /// What crmd wrote to stderr during an attack, shortened: each distinct message (the level
    /// and text before its metadata, numbers as N) with its count, the first four kinds.
    static func crmdLogSummary(_ text: String) -> String {
        let lines = text.split(separator: "\n")
        guard !lines.isEmpty else { return "" }
        var counts: [(String, Int)] = []
        for line in lines {
            // "TIME LEVEL crmd: message key=value ...": the level and message, numbers as N.
            let words = line.split(separator: " ").dropFirst().prefix { !$0.contains("=") }
            let key = words.map { $0.allSatisfy { $0.isNumber || $0 == "." } ? "N" : String($0) }.joined(separator: " ")
            if let i = counts.firstIndex(where: { $0.0 == key }) { counts[i].1 += 1 } else { counts.append((key, 1)) }
        }
        let shown = counts.prefix(4).map { "\($0.1) × \($0.0)" }.joined(separator: " | ")
        return counts.count > 4 ? shown + " | \(counts.count - 4) other kinds" : shown
    }
}

/// During one attack: crmd's RSS and the host's MemAvailable from /proc every 20 ms on one thread,
/// and a `server.ping` every 10 ms on another, on an admin connection (crm-bench's, root) opened
/// before the attack. A ping that fails counts with the time it took (up to its 10 s read timeout),
/// and the pinger connects again.
final class AttackMonitor: Sendable {
    struct Seen {
        var rssPeak = 0.0
        var memMin = Double.infinity
        var pings: [UInt64] = []
        var failedPings = 0
    }

    private let seen = Mutex<Seen>(Seen())
    private let running = Atomic<Bool>(true)
    private let done = DispatchGroup()

    init(daemon: TestDaemon, pid: Int32) throws {
        let first = try daemon.connect(readTimeout: 10)
        _ = try first.call("server.ping")
        done.enter()
        done.enter()
        Thread.detachNewThread { [self] in
            defer { done.leave() }
            while running.load(ordering: .relaxed) {
                let rss = ProcStats.rssMiB(pid: pid)
                let mem = ProcStats.memAvailableMiB()
                seen.withLock {
                    $0.rssPeak = max($0.rssPeak, rss)
                    if mem >= 0 { $0.memMin = min($0.memMin, mem) }
                }
                usleep(20_000)
            }
        }
        Thread.detachNewThread { [self] in
            defer { done.leave() }
            let ping = RawCall.line(id: 1, method: "server.ping", params: "{}")
            var pinger: Connection? = first
            while running.load(ordering: .relaxed) {
                let t0 = nowNS()
                if pinger == nil { pinger = try? daemon.connect(readTimeout: 10) }
                let ok = pinger.map { (try? RawCall.run($0, ping)) != nil } ?? false
                let took = nowNS() - t0
                seen.withLock {
                    $0.pings.append(took)
                    if !ok { $0.failedPings += 1 }
                }
                if !ok { pinger = nil }
                let next = t0 + 10_000_000
                let now = nowNS()
                if now < next { usleep(UInt32((next - now) / 1000)) }
            }
        }
    }

    /// Stops both threads and returns what they saw.
    func stop() -> Seen {
        running.store(false, ordering: .relaxed)
        done.wait()
        return seen.withLock { $0 }
    }
}
