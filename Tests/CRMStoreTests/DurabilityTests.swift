import CRMCore
import CRMSync
import Foundation
import GRDB
import Testing

@testable import CRMStore

/// The writer connection commits with the configured `synchronous`. GRDB's `DatabasePool` sets
/// `synchronous = NORMAL` on its writer after `prepareDatabase` runs (its WAL set-up), under which
/// a WAL commit is not synced: crmd acknowledged writes before any fsync until 2026-12-06. These
/// read the pragma on the very connection the group committer writes with.
@Suite("Store: durability settings")
struct StoreDurabilityTests {
    @Test(arguments: ["FULL", "EXTRA", "NORMAL"])
    func theCommittingConnectionRunsWithTheConfiguredSynchronous(_ level: String) async throws {
        let tmp = try TempDB()
        defer { tmp.remove() }
        let store = try tmp.open(StoreOptions(synchronous: level))
        let names = ["OFF", "NORMAL", "FULL", "EXTRA"]
        let grouped = try await store.write { tx in try Int.fetchOne(tx.db, sql: "PRAGMA synchronous") ?? -1 }
        let alone = try await store.write(.bulk) { tx in try Int.fetchOne(tx.db, sql: "PRAGMA synchronous") ?? -1 }
        let now = try store.writeNow { tx in try Int.fetchOne(tx.db, sql: "PRAGMA synchronous") ?? -1 }
        #expect(names[grouped] == level)
        #expect(names[alone] == level)
        #expect(names[now] == level)
        #expect(store.writerSynchronous == level)
        try store.close()
    }
}

/// The commit hook costs the same at the thousandth commit as at the first. It was a bare closure
/// in a generic `Locked` read with `withLock { $0 }`: the `inout` through the generic wrapped the
/// stored closure in two more reabstraction thunks at every read, so each commit called through
/// a chain two frames deeper than the last (issue 14: CPU per request grew without bound). The
/// depth of the call stack inside the hook is counted, not timed.
@Suite("Store: hooks do not grow")
struct HookGrowthTests {
    @Test func theCommitHookIsCalledAtTheSameStackDepthEveryCommit() async throws {
        let tmp = try TempDB()
        defer { tmp.remove() }
        let store = try tmp.open(StoreOptions(synchronous: "OFF"))
        let depths = Locked<[Int]>([])
        store.onCommit { _ in
            let depth = Thread.callStackReturnAddresses.count
            depths.withLock { $0.append(depth) }
        }
        for i in 0..<1_000 {
            _ = try await store.write { tx in
                try tx.appendEvent(topic: "test.event", clientID: nil, ownerID: nil, data: #"{"n":\#(i)}"#, at: t0)
            }
        }
        let seen = depths.withLock { $0 }
        #expect(seen.count == 1_000)
        #expect(seen.first == seen.last, "stack depth in the hook: \(seen.first ?? 0) at the first commit, \(seen.last ?? 0) at the last")
        try store.close()
    }
}
