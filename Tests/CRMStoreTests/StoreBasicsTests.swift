import CRMCore
import CRMStore
import Foundation
import Testing

@Suite("Store: opening, migrations, users, clients")
struct StoreBasicsTests {
    @Test func migratesAFreshFileAndReopens() throws {
        let tmp = try TempDB()
        defer { tmp.remove() }
        let store = try tmp.open()
        #expect(FileManager.default.fileExists(atPath: tmp.path))
        #expect(try store.integrityCheck() == "ok")
        let user = try store.writeNow { tx in try tx.insertUser(login: "ivanov", name: "Иван Иванов", role: .manager, uid: 1001, now: t0) }
        try store.close()

        // Reopening runs the (already applied) migrations again without harm and sees the data.
        for _ in 0..<2 {
            let again = try tmp.open()
            #expect(try again.read { try $0.user(login: "ivanov") } == user)
            #expect(try again.integrityCheck() == "ok")
            try again.close()
        }
    }

    @Test func rejectsAnInvalidSynchronousSetting() throws {
        let tmp = try TempDB()
        defer { tmp.remove() }
        #expect(throws: StoreOpenError.self) { try tmp.open(StoreOptions(synchronous: "SOMETIMES")) }
        let store = try tmp.open(StoreOptions(synchronous: "normal"))
        try store.close()
    }

    @Test func refusesAFileThatIsNotADatabase() throws {
        let tmp = try TempDB()
        defer { tmp.remove() }
        try Data(repeating: 0x42, count: 8192).write(to: URL(fileURLWithPath: tmp.path))
        #expect(throws: (any Error).self) { try tmp.open() }
    }

    @Test func users() async throws {
        try await withStore { store, _ in
            let (a, b) = try await store.write { tx in
                (
                    try tx.insertUser(login: "ivanov", name: "Иван Иванов", role: .manager, uid: 1001, now: t0),
                    try tx.insertUser(login: "petrova", name: "Ольга Петрова", role: .head, uid: nil, now: t0)
                )
            }
            #expect(a.id != b.id)
            try store.read { tx throws in
                #expect(try tx.user(id: a.id) == a)
                #expect(try tx.user(login: "petrova") == b)
                #expect(try tx.user(uid: 1001) == a)
                #expect(try tx.user(uid: 4242) == nil)
                #expect(try tx.user(login: "nobody") == nil)
                #expect(try tx.allUsers() == [a, b])
            }
            // Logins and uids are unique.
            await #expect(throws: (any Error).self) {
                try await store.write { tx in try tx.insertUser(login: "ivanov", name: "X", role: .manager, uid: nil, now: t0) }
            }
            await #expect(throws: (any Error).self) {
                try await store.write { tx in try tx.insertUser(login: "other", name: "X", role: .manager, uid: 1001, now: t0) }
            }
            var changed = a
            changed.role = .head
            changed.active = false
            changed.uid = nil
            changed.name = "Иван И."
            changed.updatedAt = t0.addingTimeInterval(60)
            try await store.write { [changed] tx in try tx.saveUser(changed) }
            #expect(try store.read { try $0.user(id: a.id) } == changed)
            #expect(try store.read { try $0.user(uid: 1001) } == nil)
        }
    }

    @Test func insertAndGetClientWithPhonesAndEmails() async throws {
        try await withStore { store, _ in
            let owner = try store.writeNow { try $0.insertUser(login: "ivanov", name: "Иван", role: .manager, uid: nil, now: t0) }
            var c = newClient(
                "ООО Ромашка", owner: owner.id, phones: ["+79161234567", "+74951234567"], emails: ["info@romashka.ru", "ceo@romashka.ru"])
            c.fieldsJSON = #"{"inn":"7701234567"}"#
            c.segment = "wholesale"
            c.abc = "A"
            let saved = try await store.write { [c] tx in try tx.insert(c) }
            #expect(saved.id > 0)
            let expectedSchedule = zoneRules.schedule(from: t0)
            #expect(saved.schedule == expectedSchedule)

            let got = try #require(try store.read { try $0.client(id: saved.id) })
            #expect(got == saved)
            #expect(got.phones == ["+79161234567", "+74951234567"])
            #expect(got.emails == ["info@romashka.ru", "ceo@romashka.ru"])
            #expect(got.fieldsJSON == #"{"inn":"7701234567"}"#)
            #expect(got.schedule?.releaseAt == expectedSchedule.releaseAt)
            #expect(got.clockStart == t0)

            let header = try #require(try store.read { try $0.clientHeader(id: saved.id) })
            #expect(header.phones.isEmpty)
            #expect(header.name == "ООО Ромашка")
            #expect(try store.read { try $0.client(id: saved.id + 1000) } == nil)
            #expect(try store.read { try $0.clientCount() } == 1)
        }
    }

    @Test func saveClientReplacesPhonesAndKeepsOrder() async throws {
        try await withStore { store, _ in
            let saved = try await store.write { tx in
                try tx.insert(newClient("Acme", phones: ["+71111111111", "+72222222222"], emails: ["a@acme.com"]))
            }
            var c = saved
            c.phones = ["+73333333333", "+71111111111"]
            c.emails = []
            c.name = "Acme Corp"
            c.updatedAt = t0.addingTimeInterval(10)
            try await store.write { [c] tx in try tx.saveClient(c, schedule: nil) }
            let got = try #require(try store.read { try $0.client(id: c.id) })
            #expect(got.phones == ["+73333333333", "+71111111111"])
            #expect(got.emails == [])
            #expect(got.name == "Acme Corp")
            #expect(try store.read { try $0.phoneHolders("+72222222222") }.isEmpty)

            // phonesChanged: false leaves the stored phones alone even if the value differs.
            var d = got
            d.phones = ["+79999999999"]
            try await store.write { [d] tx in try tx.saveClient(d, schedule: nil, phonesChanged: false, emailsChanged: false) }
            #expect(try store.read { try $0.client(id: c.id) }?.phones == ["+73333333333", "+71111111111"])
        }
    }

    @Test func instantsSurviveRepeatedSavesToTheMillisecond() async throws {
        // Instants whose Double is a hair below the whole millisecond (1987, 2004, 2038): a save
        // that truncated would move them one millisecond earlier on every round trip.
        let instants = [546_584_961.448, 1_074_386_419.699, 2_169_862_052.357, 1_790_000_000.001].map {
            Date(timeIntervalSince1970: $0)
        }
        try await withStore { store, _ in
            let owner = try store.writeNow { try $0.insertUser(login: "m", name: "M", role: .manager, uid: nil, now: t0) }
            for at in instants {
                var c = try await store.write { tx in try tx.insert(newClient("At \(at)", owner: owner.id, assignedAt: at, at: at)) }
                for _ in 0..<3 {
                    let id = c.id
                    let got = try #require(try store.read { tx in try tx.client(id: id) })
                    #expect(got == c)
                    #expect(got.assignedAt == at)
                    #expect(got.createdAt == at)
                    c = got
                    try await store.write { [c] tx in try tx.saveClient(c, schedule: c.schedule) }
                }
            }
        }
    }

    @Test func saveClientClockMovesTheSchedule() async throws {
        try await withStore { store, _ in
            let owner = try store.writeNow { try $0.insertUser(login: "m", name: "M", role: .manager, uid: nil, now: t0) }
            let c = try await store.write { tx in try tx.insert(newClient("Clocked", owner: owner.id)) }
            let later = t0.addingTimeInterval(10 * 86_400)
            let schedule = zoneRules.schedule(from: later)
            var moved = c
            moved.lastInteractionAt = later
            moved.schedule = schedule
            moved.appliedZone = .green
            moved.nextDueAt = schedule.yellowAt
            try await store.write { [moved] tx in try tx.saveClientClock(moved, now: later) }
            let got = try #require(try store.read { try $0.client(id: c.id) })
            #expect(got.lastInteractionAt == later)
            #expect(got.clockStart == later)
            #expect(got.schedule == schedule)
            #expect(got.updatedAt == later)
            #expect(got.appliedZone == .green)
            #expect(got.nextDueAt == schedule.yellowAt)
            #expect(try store.read { try $0.earliestDue() } == schedule.yellowAt)
        }
    }

    @Test func phoneHoldersFindClientsAndContacts() async throws {
        try await withStore { store, _ in
            let (client, contact) = try await store.write { tx in
                let cl = try tx.insert(newClient("Romashka", phones: ["+79161234567"]))
                let k = try tx.insertContact(
                    Contact(
                        id: 0, clientID: cl.id, name: "Пётр", position: "CEO", phones: ["+79160000001", "+79161234567"], emails: [],
                        decisionMaker: true, createdAt: t0, updatedAt: t0))
                return (cl, k)
            }
            try store.read { tx throws in
                let both = try tx.phoneHolders("+79161234567")
                #expect(both.count == 2)
                // The client itself comes first, then the contact.
                #expect(both.first?.clientID == client.id)
                #expect(both.first?.contactID == nil)
                #expect(both.last?.clientID == client.id)
                #expect(both.last?.contactID == contact.id)
                let onlyContact = try tx.phoneHolders("+79160000001")
                #expect(onlyContact.map(\.contactID) == [contact.id])
                #expect(try tx.phoneHolders("+70000000000").isEmpty)
            }
        }
    }

    @Test func emailHolders() async throws {
        try await withStore { store, _ in
            let c = try await store.write { tx in try tx.insert(newClient("Mail Co", emails: ["info@mail.co"])) }
            #expect(try store.read { try $0.emailHolders("info@mail.co") }.map(\.clientID) == [c.id])
            await #expect(throws: (any Error).self) {
                try await store.write { tx in try tx.insert(newClient("Copycat", emails: ["info@mail.co"])) }
            }
        }
    }

    @Test func duplicateClientPhoneIsRejectedByTheIndex() async throws {
        try await withStore { store, _ in
            let first = try await store.write { tx in try tx.insert(newClient("First", phones: ["+79161234567"])) }
            await #expect(throws: (any Error).self) {
                try await store.write { tx in try tx.insert(newClient("Second", phones: ["+79161234567"])) }
            }
            // The failed write left nothing behind, not even the client row.
            try store.read { tx throws in
                #expect(try tx.clientCount() == 1)
                #expect(try tx.phoneHolders("+79161234567").map(\.clientID) == [first.id])
            }
            // The same phone twice on one client is a duplicate too.
            await #expect(throws: (any Error).self) {
                try await store.write { tx in try tx.insert(newClient("Twice", phones: ["+74950000000", "+74950000000"])) }
            }
            // A contact may share a client's phone (the index only covers client phones).
            try await store.write { tx in
                _ = try tx.insertContact(
                    Contact(
                        id: 0, clientID: first.id, name: "K", position: nil, phones: ["+79161234567"], emails: [], decisionMaker: false,
                        createdAt: t0, updatedAt: t0))
            }
            // A failure names a storage problem in words.
            do {
                _ = try await store.write { tx in try tx.insert(newClient("Third", phones: ["+79161234567"])) }
                Issue.record("a duplicate phone was stored")
            } catch {
                #expect(storageFailureMessage(error) != nil)
            }
        }
    }

    @Test func zoneCounts() async throws {
        try await withStore { store, _ in
            let m = try store.writeNow { try $0.insertUser(login: "m", name: "M", role: .manager, uid: nil, now: t0) }
            let day = 86_400.0
            try await store.write { tx in
                _ = try tx.insert(newClient("g1", owner: m.id, assignedAt: t0))
                _ = try tx.insert(newClient("g2", owner: m.id, assignedAt: t0.addingTimeInterval(-10 * day)))
                _ = try tx.insert(newClient("y", owner: m.id, assignedAt: t0.addingTimeInterval(-60 * day)))
                _ = try tx.insert(newClient("r", owner: m.id, assignedAt: t0.addingTimeInterval(-160 * day)))
                _ = try tx.insert(newClient("x", status: .exchange, releasedFrom: m.id))
                _ = try tx.insert(newClient("u1"))
                _ = try tx.insert(newClient("u2"))
            }
            var expected = ZoneCounts()
            expected.total = 7
            expected.green = 2
            expected.yellow = 1
            expected.red = 1
            expected.exchange = 1
            expected.unassigned = 2
            #expect(try store.read { try $0.zoneCounts(now: t0) } == expected)
            #expect(try store.read { try $0.zoneCounts(now: t0.addingTimeInterval(-400 * day)) }.green == 4)
        }
    }
}
