import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import Synchronization

/// The stalled-subscriber phase, on the loaded database restarted after the raw phases.
struct StalledPhase: BenchPhase {
    let bench: Bench

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
    func run() throws {
        log("stalled subscriber: \(bench.stalledEvents) events per round, three rounds ...")
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
                let rss = ProcStats.rssMiB(pid: pid)
                let t = nowNS()
                let ok = (try? RawCall.run(pinger, ping)) != nil
                let ms = ok ? Double(nowNS() - t) / 1e6 : .infinity
                sampled.withLock { $0 = (max($0.rss, rss), max($0.ping, ms)) }
                usleep(20_000)
            }
        }
        func lastSeq() throws -> Int64 { try c.call("server.status")["store"]?["last_seq"]?.intValue ?? 0 }
        var made = bench.clients
        func round() throws -> (start: Double, growth: Double, ping: Double, events: Int64, seconds: Double) {
            let start = ProcStats.rssMiB(pid: pid)
            sampled.withLock { $0 = (start, 0) }
            let (seq, t) = (try lastSeq(), nowNS())
            try Bench.importClients(c, made..<(made + bench.stalledEvents)) {
                ["name": .string("Stalled \($0)"), "owner": .string("m\($0 % 10)")]
            }
            made += bench.stalledEvents
            let seconds = Double(nowNS() - t) / 1e9
            let events = try lastSeq() - seq
            usleep(100_000)
            let (peak, worst) = sampled.withLock { $0 }
            return (start, peak - start, worst, events, seconds)
        }
        let before = ProcStats.rssMiB(pid: pid)
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
        Thread.detachNewThread { [daemon = daemon] in
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
        let after = ProcStats.rssMiB(pid: pid)
        sampling.store(false, ordering: .relaxed)
        sampler.wait()

        report.add("stalled: crmd RSS before (\(bench.clients) clients)", before, "MiB")
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
}
