import CRMCore
import CRMStore
import Foundation
import Testing

@Suite("Store: the ABC/XYZ write path (history many rows per statement, classes without RETURNING)")
struct ClassStoreTests {
    /// 150 clients: more than two statements of 64 history rows, the rest one by one.
    static let n = 150

    static func row(_ id: Int64, _ k: Int, revenue: Int64) -> ClassRow {
        ClassRow(
            clientID: id, abc: ABCClass.allCases[k % 3], xyz: XYZClass.allCases[(k / 3) % 3], revenue: revenue, cvBP: Int64(k) * 100)
    }

    func classes(_ store: Store) throws -> [Int64: String] {
        var found: [Int64: String] = [:]
        try store.read { tx in try tx.currentClasses { id, abc, xyz in found[id] = abc + (xyz ?? "-") } }
        return found
    }

    /// Stores a month with and without owners, stores it again with some figures changed (those
    /// rows must change, the others stay), then clears a few clients: the classes, the history and
    /// the owners returned are those of the row-by-row path.
    @Test func storesRewritesAndClears() async throws {
        try await withStore { store, _ in
            let (owner, ids) = try await store.write { tx -> (Int64, [Int64]) in
                let u = try tx.insertUser(login: "ivanov", name: "Ivanov", role: .manager, uid: nil, now: t0)
                // Every third client has no owner.
                let ids = try (0..<Self.n).map { i in try tx.insert(newClient("Client \(i)", owner: i % 3 == 0 ? nil : u.id)).id }
                return (u.id, ids)
            }
            let rows: [ClassRow] = ids.enumerated().map { k, id in Self.row(id, k, revenue: Int64(1_000 + k)) }
            // The first half with owners asked for (events on), the second without.
            let half = Self.n / 2
            let owners = try await store.write(.bulk) { tx -> [Int64?] in
                let o = try tx.storeClasses(month: "2026-12", Array(rows[..<half]), changed: Array(rows[..<half]), owners: true)
                let none = try tx.storeClasses(month: "2026-12", Array(rows[half...]), changed: Array(rows[half...]), owners: false)
                #expect(none.isEmpty)
                return o
            }
            #expect(owners == (0..<half).map { $0 % 3 == 0 ? nil : owner })
            var expected: [Int64: String] = Dictionary(uniqueKeysWithValues: rows.map { ($0.clientID, $0.abc.rawValue + $0.xyz.rawValue) })
            #expect(try classes(store) == expected)
            // The same month again: every fifth row has new figures and a new class.
            let again: [ClassRow] = rows.enumerated().map { k, r in k % 5 == 0 ? Self.row(r.clientID, k + 1, revenue: r.revenue * 2) : r }
            let changed: [ClassRow] = again.enumerated().filter { $0.offset % 5 == 0 }.map(\.element)
            _ = try await store.write(.bulk) { tx -> [Int64?] in
                try tx.storeClasses(month: "2026-12", again, changed: changed, owners: false)
            }
            for r in changed { expected[r.clientID] = r.abc.rawValue + r.xyz.rawValue }
            #expect(try classes(store) == expected)
            try store.read { tx in
                for (k, r) in again.enumerated() {
                    let h = try tx.classHistory(clientID: r.clientID, limit: 12)
                    #expect(h.map(\.month) == ["2026-12"])
                    #expect(h.first.map { [$0.abc, $0.xyz] } == [r.abc.rawValue, r.xyz.rawValue])
                    #expect(h.first.map { [$0.revenue, $0.cvBP] } == [r.revenue, r.cvBP])
                    if k % 5 == 0 { #expect(h.first?.revenue == Int64(2 * (1_000 + k))) }
                }
            }
            // Clearing: with owners and without.
            let cleared = try await store.write(.bulk) { tx -> ([Int64?], [Int64?]) in
                (
                    try tx.clearClasses(month: "2026-12", [ids[1], ids[3]], owners: true),
                    try tx.clearClasses(month: "2026-12", [ids[4]], owners: false)
                )
            }
            #expect(cleared.0 == [owner, nil])
            #expect(cleared.1.isEmpty)
            for id in [ids[1], ids[3], ids[4]] { expected[id] = nil }
            #expect(try classes(store) == expected)
            let gone = try store.read { tx in try tx.classHistory(clientID: ids[3], limit: 12) }
            #expect(gone.isEmpty)
        }
    }
}
