import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import Testing

/// Subscriptions on a manual clock: a replay across a reconnect and a restart, and a subscriber
/// that never reads.
@Suite("Subscriptions on a manual clock")
struct ExchangeSubscriptionTests: ManualClockSuite {
    @Test("subscriptions replay with no gap and no duplicate across a reconnect and a restart")
    func replay() throws {
        let d = try TestDaemon(arguments: ["--clock", "manual", "--clock-start", ExchangeTests.start])
        try d.start()
        let c = try d.connect()
        try seedTeam(c)
        for i in 0..<5 { _ = try c.call("client.create", ["name": .string("R\(i)"), "owner": "ivanov"]) }
        let s1 = try d.connect()
        _ = try s1.call("subscribe", ["since": 0])
        let first = try events(s1, 3)
        let lastSeen = first.last!["seq"]!.intValue!
        _ = try c.call("clock.advance", ["by": "P1M"])  // 5 zone changes and alerts
        d.stop()
        try d.start()
        defer { d.stop() }
        let s2 = try d.connect()
        let info = try s2.call("subscribe", ["since": .int(lastSeen)])
        let total = info["seq"]!.intValue!
        var seqs = first.compactMap { $0["seq"]?.intValue }
        // Root sees everything except other users' alerts; read until the last visible seq.
        let all = try d.connect().call("server.status")["store"]?["last_seq"]?.intValue ?? 0
        #expect(all == total)
        let admin = try d.connect()
        _ = admin
        var more = try events(s2, 6)  // 1 remaining create + 5 zone changes at least
        seqs += more.compactMap { $0["seq"]?.intValue }
        more.removeAll()
        #expect(seqs == seqs.sorted())
        #expect(Set(seqs).count == seqs.count, "no duplicate")
        #expect(seqs.first == 1)
    }

    @Test("a subscriber that never reads is closed after the stall limit and slows nobody")
    func stalledSubscriber() throws {
        let d = try daemon(["CRMD_SUBSCRIPTIONS_STALL_TIMEOUT": "PT2S", "CRMD_SUBSCRIPTIONS_MAX_QUEUE_BYTES": "16384"])
        defer { d.stop() }
        let c = try d.connect()
        try seedTeam(c)
        let lazy = try d.connect()
        _ = try lazy.call("subscribe", ["topics": ["*"]])
        // Enough events to fill the lazy subscriber's socket and its queue.
        var items: [JSON] = []
        for i in 0..<3000 { items.append(["name": .string("Bulk \(i) " + String(repeating: "x", count: 100)), "owner": "ivanov"]) }
        _ = try c.call("client.import", ["clients": .array(items)])
        let other = try d.connect()
        let t0 = Date()
        for _ in 0..<200 { _ = try other.call("server.ping") }
        #expect(Date().timeIntervalSince(t0) < 2 * testSlowdown, "others are not slowed")
        // Now read: events, then the final notice, then the end of the stream.
        var closedNotice: JSON? = nil
        Thread.sleep(forTimeInterval: 3)  // let the stall limit pass (the point of this test is time)
        while let line = try? lazy.readJSON() {
            if line["method"] == "subscription.closed" { closedNotice = line }
        }
        #expect(closedNotice?["params"]?["reason"] == "too_slow")
    }
}
