import CRMCore
import CRMStore
import Foundation
import Testing

@Suite("Store: listing clients")
struct ListClientsTests {
    let day = 86_400.0

    /// The fixture: two managers and clients in every status and zone, at `t0`.
    struct Fixture: Sendable {
        var m1: User
        var m2: User
        var romashka: Client  // m1, green
        var vasilkov: Client  // m2, yellow
        var acme: Client  // m1, red
        var latinRomashka: Client  // unassigned
        var released: Client  // exchange, from m1
        var percent: Client  // m2, green, name with % and _
    }

    func fixture(_ store: Store) async throws -> Fixture {
        let day = self.day
        return try await store.write { tx in
            let m1 = try tx.insertUser(login: "ivanov", name: "Иван", role: .manager, uid: nil, now: t0)
            let m2 = try tx.insertUser(login: "petrov", name: "Пётр", role: .manager, uid: nil, now: t0)
            return Fixture(
                m1: m1, m2: m2,
                romashka: try tx.insert(
                    newClient("ООО Ромашка", owner: m1.id, phones: ["+74951112233"], assignedAt: t0, segment: "retail")),
                vasilkov: try tx.insert(
                    newClient(
                        "ИП Васильков", owner: m2.id, phones: ["+79161112233"], assignedAt: t0.addingTimeInterval(-60 * day),
                        segment: "retail")
                ),
                acme: try tx.insert(
                    newClient("Acme Corp", owner: m1.id, assignedAt: t0.addingTimeInterval(-160 * day), segment: "wholesale")),
                latinRomashka: try tx.insert(newClient("Romashka Trading")),
                released: try tx.insert(newClient("Ушедший клиент", status: .exchange, releasedFrom: m1.id)),
                percent: try tx.insert(newClient("100% Sale_Shop", owner: m2.id, assignedAt: t0))
            )
        }
    }

    func names(_ store: Store, _ f: ClientFilter) throws -> [String] {
        try store.read { try $0.listClients(f) }.items.map(\.name)
    }

    @Test func byOwnerAndStatus() async throws {
        try await withStore { store, _ in
            let fx = try await fixture(store)
            #expect(try names(store, ClientFilter(ownerID: fx.m1.id, now: t0)) == ["ООО Ромашка", "Acme Corp"])
            #expect(try names(store, ClientFilter(ownerID: fx.m2.id, now: t0)) == ["ИП Васильков", "100% Sale_Shop"])
            #expect(try names(store, ClientFilter(status: .unassigned, now: t0)) == ["Romashka Trading"])
            #expect(try names(store, ClientFilter(status: .exchange, now: t0)) == ["Ушедший клиент"])
            #expect(try names(store, ClientFilter(status: .assigned, now: t0)).count == 4)
            #expect(try names(store, ClientFilter(ownerID: fx.m2.id, status: .exchange, now: t0)) == [])
            #expect(try names(store, ClientFilter(segment: "retail", now: t0)) == ["ООО Ромашка", "ИП Васильков"])
            #expect(try names(store, ClientFilter(now: t0)).count == 6)
            let released = try #require(try store.read { try $0.client(id: fx.released.id) })
            #expect(released.releasedFrom == fx.m1.id)
            #expect(released.ownerID == nil)
            #expect(released.schedule == nil)
        }
    }

    @Test func byZoneAtAGivenNow() async throws {
        try await withStore { store, _ in
            let fx = try await fixture(store)
            #expect(try names(store, ClientFilter(zone: .green, now: t0)) == ["ООО Ромашка", "100% Sale_Shop"])
            #expect(try names(store, ClientFilter(zone: .yellow, now: t0)) == ["ИП Васильков"])
            #expect(try names(store, ClientFilter(zone: .red, now: t0)) == ["Acme Corp"])
            #expect(try names(store, ClientFilter(ownerID: fx.m1.id, zone: .green, now: t0)) == ["ООО Ромашка"])

            // The same clients two months later: Ромашка and the shop turned yellow.
            let later = t0.addingTimeInterval(61 * day)
            #expect(try names(store, ClientFilter(zone: .green, now: later)) == [])
            #expect(try names(store, ClientFilter(zone: .yellow, now: later)) == ["ООО Ромашка", "ИП Васильков", "100% Sale_Shop"])

            // Exactly at the yellow instant a client is yellow, one millisecond before it is green,
            // matching ZoneSchedule.zone(at:).
            let yellowAt = try #require(fx.romashka.schedule?.yellowAt)
            #expect(fx.romashka.schedule?.zone(at: yellowAt) == .yellow)
            #expect(try names(store, ClientFilter(ownerID: fx.m1.id, zone: .yellow, now: yellowAt)) == ["ООО Ромашка"])
            #expect(try names(store, ClientFilter(ownerID: fx.m1.id, zone: .green, now: yellowAt)) == [])
            let justBefore = yellowAt.addingTimeInterval(-0.001)
            #expect(try names(store, ClientFilter(ownerID: fx.m1.id, zone: .green, now: justBefore)) == ["ООО Ромашка"])
            let redAt = try #require(fx.vasilkov.schedule?.redAt)
            #expect(try names(store, ClientFilter(ownerID: fx.m2.id, zone: .red, now: redAt)) == ["ИП Васильков"])
        }
    }

    @Test func nameQueryIsCaseInsensitiveIncludingCyrillic() async throws {
        try await withStore { store, _ in
            _ = try await fixture(store)
            #expect(try names(store, ClientFilter(nameQuery: "ромашка", now: t0)) == ["ООО Ромашка"])
            #expect(try names(store, ClientFilter(nameQuery: "РОМАШКА", now: t0)) == ["ООО Ромашка"])
            #expect(try names(store, ClientFilter(nameQuery: "оОо", now: t0)) == ["ООО Ромашка"])
            #expect(try names(store, ClientFilter(nameQuery: "romashka", now: t0)) == ["Romashka Trading"])
            #expect(try names(store, ClientFilter(nameQuery: "ACME", now: t0)) == ["Acme Corp"])
            #expect(try names(store, ClientFilter(nameQuery: "ш", now: t0)) == ["ООО Ромашка", "Ушедший клиент"])
            #expect(try names(store, ClientFilter(nameQuery: "нет такого", now: t0)) == [])
        }
    }

    @Test func likeWildcardsInTheQueryAreLiteral() async throws {
        try await withStore { store, _ in
            _ = try await fixture(store)
            #expect(try names(store, ClientFilter(nameQuery: "%", now: t0)) == ["100% Sale_Shop"])
            #expect(try names(store, ClientFilter(nameQuery: "_", now: t0)) == ["100% Sale_Shop"])
            #expect(try names(store, ClientFilter(nameQuery: "0% s", now: t0)) == ["100% Sale_Shop"])
            #expect(try names(store, ClientFilter(nameQuery: "acme_corp", now: t0)) == [])  // "_" is not "any character"
            #expect(try names(store, ClientFilter(nameQuery: "acme%", now: t0)) == [])  // nor is "%" "anything"
            #expect(try names(store, ClientFilter(nameQuery: "\\", now: t0)) == [])
        }
    }

    @Test func byPhoneAndNameOrPhone() async throws {
        try await withStore { store, _ in
            let fx = try await fixture(store)
            #expect(try names(store, ClientFilter(phone: "+79161112233", now: t0)) == ["ИП Васильков"])
            #expect(try names(store, ClientFilter(phone: "+70000000000", now: t0)) == [])
            // A query matches by name or by phone.
            #expect(try names(store, ClientFilter(nameQuery: "acme", phone: "+79161112233", now: t0)) == ["ИП Васильков", "Acme Corp"])
            // Other filters still apply on top.
            #expect(try names(store, ClientFilter(ownerID: fx.m1.id, nameQuery: "acme", phone: "+79161112233", now: t0)) == ["Acme Corp"])
            // Listed clients carry their phones.
            let listed = try store.read { try $0.listClients(ClientFilter(phone: "+74951112233", now: t0)) }.items
            #expect(listed.first?.phones == ["+74951112233"])
            #expect(listed.first == fx.romashka)
        }
    }

    @Test func pagingByID() async throws {
        try await withStore { store, _ in
            _ = try await fixture(store)
            var all: [String] = []
            var cursor: String? = nil
            var pages = 0
            repeat {
                let page = try store.read { try $0.listClients(ClientFilter(now: t0, afterID: cursorID(cursor), limit: 4)) }
                all += page.items.map(\.name)
                cursor = page.nextCursor
                pages += 1
            } while cursor != nil && pages < 10
            #expect(pages == 2)
            let unpaged = try names(store, ClientFilter(now: t0, limit: 100))
            #expect(all == unpaged)
            #expect(all.count == 6)
            #expect(try store.read { try $0.listClients(ClientFilter(now: t0, limit: 6)) }.nextCursor == nil)
            #expect(cursorID("abc") == nil)
            #expect(cursorID(nil) == nil)
            #expect(cursorID("42") == 42)
        }
    }
}
