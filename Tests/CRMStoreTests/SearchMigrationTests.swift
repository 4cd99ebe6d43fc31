import CRMCore
import Foundation
import GRDB
import Testing

@testable import CRMStore

/// Migration v12 on a base written before it: every client, contact and phone is found by the new
/// search, and the ИНН is unique from then on.
@Suite("Store: migration v12 backfills the search")
struct SearchMigrationTests {
    @Test func existingRowsAreBackfilled() async throws {
        let tmp = try TempDB()
        defer { tmp.remove() }
        do {
            // A base as crmd left it at v11, with rows written by raw SQL as that version did.
            let q = try DatabaseQueue(path: tmp.path)
            try Migrations.migrator().migrate(q, upTo: "v11: a contact's phones and e-mails by contact")
            try await q.write { db in
                for (i, name) in ["ООО «Василёк»", "Цветочный магазин Ромашка", "ООО"].enumerated() {
                    try db.execute(
                        sql: """
                            INSERT INTO clients(id, name, name_fold, kind, status, created_at, updated_at)
                            VALUES (?, ?, ?, 'company', 'unassigned', 0, 0)
                            """, arguments: [i + 1, name, name.lowercased()])
                }
                try db.execute(
                    sql: "INSERT INTO contacts(id, client_id, name, created_at, updated_at) VALUES (1, 2, 'Семёнова Ольга', 0, 0)")
                try db.execute(sql: "INSERT INTO phones(phone, client_id, contact_id, position) VALUES ('+74951234567', 1, NULL, 0)")
                try db.execute(sql: "INSERT INTO phones(phone, client_id, contact_id, position) VALUES ('+79035556677', 2, 1, 0)")
            }
            try q.close()
        }
        let store = try tmp.open()
        func names(_ text: String) throws -> [String] {
            var f = ClientFilter(now: t0)
            f.search = SearchQuery(text)
            return try store.read { try $0.listClients(f) }.items.map(\.name)
        }
        #expect(try names("василек") == ["ООО «Василёк»"])
        #expect(try names("ромашка магазин") == ["Цветочный магазин Ромашка"])
        #expect(try names("семенова") == ["Цветочный магазин Ромашка"])
        #expect(try names("123-45-67") == ["ООО «Василёк»"])
        #expect(try names("5556677") == ["Цветочный магазин Ромашка"])
        // A name that is only a legal form has no key (and matches nothing by key).
        #expect(try store.read { try $0.clients(withKey: "ооо") }.isEmpty)
        try await store.write { tx in
            var c = try #require(try tx.client(id: 1))
            c.inn = "7707083893"
            try tx.saveClient(c, schedule: nil)
            var other = try #require(try tx.client(id: 2))
            other.inn = "7707083893"
            #expect(throws: (any Error).self) { try tx.saveClient(other, schedule: nil) }
        }
    }
}
