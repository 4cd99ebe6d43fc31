import ArgumentParser
import CRMClient
import CRMTestSupport
import Foundation
import Synchronization

// The load generator: requests encoded by hand, loops that keep many connections busy for a
// while, and the latencies they measure.

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

/// The loops that keep many connections (or threads) busy, and the random choices they make.
enum LoadGenerator {
    /// Runs `work` on `threads` connections to crmd for `seconds`; returns requests/s and latencies.
    static func closedLoop(
        _ daemon: TestDaemon, threads: Int, seconds: Double, _ work: @escaping @Sendable (Connection, Int, inout UInt64) throws -> Void
    ) throws -> (Double, Samples) {
        try timedLoop(threads: threads, seconds: seconds, open: { try daemon.connect() }, work)
    }

    /// Runs `work` on `threads` threads for `seconds`, each with its own `open()` (a connection);
    /// returns operations/s and latencies.
    static func timedLoop<State>(
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

    /// Runs `work` on `threads` connections until `total` operations have been done between them;
    /// returns the seconds it took and the latencies.
    static func countedLoop(
        _ daemon: TestDaemon, threads: Int, total: Int, _ work: @escaping @Sendable (Connection, Int, inout UInt64) throws -> Void
    ) throws -> (Double, Samples) {
        let taken = Atomic<Int>(0)
        let lat = Mutex<[[UInt64]]>([[UInt64]](repeating: [], count: threads))
        let failure = Mutex<String?>(nil)
        let group = DispatchGroup()
        let conns = try (0..<threads).map { _ in try daemon.connect() }
        let start = nowNS()
        for t in 0..<threads {
            group.enter()
            let conn = conns[t]
            Thread.detachNewThread {
                defer { group.leave() }
                var samples: [UInt64] = []
                var seed = UInt64(t + 1) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(nowNS())
                do {
                    while true {
                        let n = taken.wrappingAdd(1, ordering: .relaxed).oldValue
                        if n >= total { break }
                        let t0 = nowNS()
                        try work(conn, n, &seed)
                        samples.append(nowNS() - t0)
                    }
                } catch {
                    failure.withLock { $0 = "\(error)" }
                    taken.store(total, ordering: .relaxed)
                }
                lat.withLock { $0[t] = samples }
            }
        }
        group.wait()
        let elapsed = Double(nowNS() - start) / 1e9
        if let f = failure.withLock({ $0 }) { throw ValidationError("benchmark client failed: \(f)") }
        var s = Samples()
        for l in lat.withLock({ $0 }) { s.merge(l) }
        withExtendedLifetime(conns) {}
        return (elapsed, s)
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
}
