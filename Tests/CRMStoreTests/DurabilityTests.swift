import CRMCore
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
