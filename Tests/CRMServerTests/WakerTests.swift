import Foundation
import Testing

@testable import CRMServer

/// The scheduler's and the deliverer's wake-up: a wake, a timeout, and what a long day of early
/// wakes leaves behind (counted in operations, not time).
@Suite("Waker")
struct WakerTests {
    /// This process's resident memory, from /proc.
    static func rssBytes() -> Int {
        guard let s = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let pages = s.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// One wait with `timeout`, ended by a wake once it is parked.
    static func wokenEarly(_ w: Waker, timeout: Duration) async {
        async let waited: Void = w.wait(timeout: timeout)
        while !w.isWaiting { await Task.yield() }
        w.wake()
        await waited
    }

    @Test("a wake before the wait is kept for it; a timeout ends a wait nobody wakes; a wake ends one early")
    func basics() async {
        let w = Waker()
        w.wake()
        let t0 = ContinuousClock.now
        await w.wait(timeout: .seconds(30))
        #expect(ContinuousClock.now - t0 < .seconds(5))
        let t1 = ContinuousClock.now
        await w.wait(timeout: .milliseconds(100))
        #expect(ContinuousClock.now - t1 >= .milliseconds(100))
        let t2 = ContinuousClock.now
        await Self.wokenEarly(w, timeout: .seconds(30))
        #expect(ContinuousClock.now - t2 < .seconds(5))
        // The 30 s deadline of the wait just ended does not cut a later one short.
        let t3 = ContinuousClock.now
        await w.wait(timeout: .milliseconds(200))
        #expect(ContinuousClock.now - t3 >= .milliseconds(200))
    }

    @Test("100,000 waits of a minute each ended early by a wake leave nothing behind")
    func earlyWakesLeaveNothing() async {
        let w = Waker()
        for _ in 0..<2_000 { await Self.wokenEarly(w, timeout: .seconds(60)) }
        let before = Self.rssBytes()
        for _ in 0..<100_000 { await Self.wokenEarly(w, timeout: .seconds(60)) }
        let grown = Self.rssBytes() - before
        // A sleeping task per wait (what this replaced) held about 1 KiB each until its deadline.
        #expect(grown < 16 << 20, "RSS grew by \(grown >> 20) MiB over 100,000 early wakes")
    }
}
