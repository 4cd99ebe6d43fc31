import CRMCore
import CRMStore
import Foundation
import Testing

/// Ranked search on a real SQLite file (docs/rules.md, "Phones, search and duplicates").
@Suite("Store: ranked search")
struct SearchTests {
    func search(_ store: Store, _ text: String, owner: Int64? = nil, after: Int64? = nil, limit: Int = 100) throws -> Page<Client> {
        var f = ClientFilter(ownerID: owner, now: t0, afterID: after, limit: limit)
        f.search = SearchQuery(text)
        return try store.read { try $0.listClients(f) }
    }

    func names(_ store: Store, _ text: String, owner: Int64? = nil) throws -> [String] {
        try search(store, text, owner: owner).items.map(\.name)
    }

    @Test func foldingRankingContactsAndTails() async throws {
        try await withStore { store, _ in
            let m1 = try await store.write { tx in
                let m1 = try tx.insertUser(login: "ivanov", name: "Иван", role: .manager, uid: nil, now: t0)
                // Inserted so that id order is not rank order.
                _ = try tx.insert(newClient("Цветочный магазин Ромашка", phones: ["+74957654321"]))
                _ = try tx.insert(newClient("Ромашка Плюс", owner: m1.id))
                _ = try tx.insert(newClient("ООО «Ромашка»", owner: m1.id, phones: ["+74951234567;ext=12"]))
                _ = try tx.insert(newClient("Василёк", phones: ["+79161112233"]))
                let k = try tx.insert(newClient("ЗАО Лютик"))
                _ = try tx.insertContact(
                    Contact(
                        id: 0, clientID: k.id, name: "Петров Семён Ильич", position: "директор", phones: ["+79035556677"], emails: [],
                        decisionMaker: true, createdAt: t0, updatedAt: t0))
                return m1
            }
            // ё ≡ е, case, quotes and legal forms in any place.
            #expect(try names(store, "Василек") == ["Василёк"])
            #expect(try names(store, "ВАСИЛЁК") == ["Василёк"])
            #expect(try names(store, "Ромашка ООО").first == "ООО «Ромашка»")
            #expect(try names(store, "\"Ромашка\"").first == "ООО «Ромашка»")
            #expect(try names(store, "ПАО 'ромашка'").first == "ООО «Ромашка»")
            // Ranked: exact, then prefix, then a word of the name.
            #expect(try names(store, "ромашка") == ["ООО «Ромашка»", "Ромашка Плюс", "Цветочный магазин Ромашка"])
            // Words in any order, and beginnings of words.
            #expect(try names(store, "плюс ромашка") == ["Ромашка Плюс"])
            #expect(try names(store, "магаз ромаш") == ["Цветочный магазин Ромашка"])
            // A contact's name finds its client.
            #expect(try names(store, "Семен Петров") == ["ЗАО Лютик"])
            #expect(try names(store, "петров") == ["ЗАО Лютик"])
            // Numbers: the whole number, the main number of one with an extension, the last 7 digits, a 5-digit tail.
            #expect(try names(store, "8 916 111-22-33") == ["Василёк"])
            #expect(try names(store, "+7 495 123-45-67") == ["ООО «Ромашка»"])
            #expect(try names(store, "123-45-67") == ["ООО «Ромашка»"])
            #expect(try names(store, "54321") == ["Цветочный магазин Ромашка"])
            #expect(try names(store, "5556677") == ["ЗАО Лютик"])
            #expect(try names(store, "4567").isEmpty)  // under 5 digits: no tail search
            // The other conditions still hold.
            #expect(try names(store, "ромашка", owner: m1.id) == ["ООО «Ромашка»", "Ромашка Плюс"])
            #expect(try names(store, "нет такого").isEmpty)
        }
    }

    @Test func pagesFollowTheRanking() async throws {
        try await withStore { store, _ in
            try await store.write { tx in
                for i in (1...7).reversed() { _ = try tx.insert(newClient("Альфа \(i)")) }
                _ = try tx.insert(newClient("Альфа"))
            }
            let first = try search(store, "альфа", limit: 3)
            #expect(first.items.map(\.name) == ["Альфа", "Альфа 1", "Альфа 2"])
            let cursor = try #require(first.nextCursor)
            let second = try search(store, "альфа", after: Int64(cursor), limit: 10)
            #expect(second.items.map(\.name) == ["Альфа 3", "Альфа 4", "Альфа 5", "Альфа 6", "Альфа 7"])
            #expect(second.nextCursor == nil)
        }
    }

    @Test func renamesAndContactsKeepTheirWordsCurrent() async throws {
        try await withStore { store, _ in
            try await store.write { tx in
                var c = try tx.insert(newClient("Старое Имя"))
                c.name = "Новое Название"
                try tx.saveClient(c, schedule: nil)
            }
            #expect(try names(store, "старое").isEmpty)
            #expect(try names(store, "названи") == ["Новое Название"])
        }
    }
}

@Suite("Search keys and tax ids")
struct SearchKeyTests {
    @Test func queryFolding() {
        let q = SearchQuery("ООО «Ромашка» Плюс")
        #expect(q.key == "ромашка плюс")
        #expect(q.words == ["ромашка", "плюс"])
        #expect(SearchQuery("+7 (495) 123-45-67").phone == "+74951234567")
        #expect(SearchQuery("123-45-67").reversedDigits == "7654321")
        #expect(SearchQuery("1234").reversedDigits == nil)
        #expect(SearchQuery("Ромашка 12345").reversedDigits == nil)
    }
}
