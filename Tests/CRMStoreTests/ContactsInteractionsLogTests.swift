import CRMCore
import CRMStore
import Foundation
import Testing

@Suite("Store: contacts and affiliations")
struct ContactTests {
    func contact(_ clientID: Int64, _ name: String, phones: [String] = [], emails: [String] = [], position: String? = nil) -> Contact {
        Contact(
            id: 0, clientID: clientID, name: name, position: position, phones: phones, emails: emails, decisionMaker: false,
            createdAt: t0, updatedAt: t0)
    }

    @Test func insertGetAndList() async throws {
        try await withStore { store, _ in
            let (client, a, b) = try await store.write { tx in
                let cl = try tx.insert(newClient("Romashka"))
                let a = try tx.insertContact(self.contact(cl.id, "Анна", phones: ["+79160000001"], emails: ["anna@r.ru"], position: "CFO"))
                let b = try tx.insertContact(self.contact(cl.id, "Борис"))
                return (cl, a, b)
            }
            try store.read { tx throws in
                #expect(try tx.contact(id: a.id) == a)
                #expect(try tx.contact(id: a.id)?.phones == ["+79160000001"])
                #expect(try tx.contact(id: a.id)?.emails == ["anna@r.ru"])
                #expect(try tx.contact(id: 9999) == nil)
                #expect(try tx.contacts(clientID: client.id).items == [a, b])
                let first = try tx.contacts(clientID: client.id, limit: 1)
                #expect(first.items == [a])
                #expect(first.nextCursor == String(a.id))
                let second = try tx.contacts(clientID: client.id, afterID: cursorID(first.nextCursor), limit: 1)
                #expect(second.items == [b])
                #expect(second.nextCursor == nil)
                // Contact phones are not the client's own phones.
                #expect(try tx.phones(clientID: client.id, contactID: nil) == [])
                #expect(try tx.affiliations(contactID: a.id) == [Affiliation(clientID: client.id, position: "CFO", from: t0, to: nil)])
            }
        }
    }

    @Test func movingAContactClosesTheOldAffiliation() async throws {
        try await withStore { store, _ in
            let (from, to, k) = try await store.write { tx in
                let from = try tx.insert(newClient("Old Co"))
                let to = try tx.insert(newClient("New Co"))
                let k = try tx.insertContact(
                    self.contact(from.id, "Вера", phones: ["+79165550000"], emails: ["vera@old.co"], position: "Buyer"))
                return (from, to, k)
            }
            let moveAt = t0.addingTimeInterval(3600)
            var moved = k
            moved.clientID = to.id
            moved.position = "Head of purchasing"
            moved.updatedAt = moveAt
            try await store.write { [moved] tx in try tx.saveContact(moved, previousClientID: from.id, now: moveAt) }

            try store.read { tx throws in
                #expect(try tx.contact(id: k.id) == moved)
                #expect(
                    try tx.affiliations(contactID: k.id) == [
                        Affiliation(clientID: from.id, position: "Buyer", from: t0, to: moveAt),
                        Affiliation(clientID: to.id, position: "Head of purchasing", from: moveAt, to: nil),
                    ])
                #expect(try tx.contacts(clientID: from.id).items.isEmpty)
                #expect(try tx.contacts(clientID: to.id).items.map(\.id) == [k.id])
                // Phones and e-mails follow the contact to the new company.
                let holders = try tx.phoneHolders("+79165550000")
                #expect(holders.count == 1)
                #expect(holders.first?.clientID == to.id)
                #expect(holders.first?.contactID == k.id)
                #expect(try tx.emailHolders("vera@old.co").map(\.clientID) == [to.id])
            }

            // Saving without a move only updates the open affiliation's position.
            var renamed = moved
            renamed.position = "Director"
            let renameAt = moveAt.addingTimeInterval(60)
            try await store.write { [renamed] tx in try tx.saveContact(renamed, previousClientID: to.id, now: renameAt) }
            let history = try store.read { try $0.affiliations(contactID: k.id) }
            #expect(history.count == 2)
            #expect(history[0].position == "Buyer")
            #expect(history[1] == Affiliation(clientID: to.id, position: "Director", from: moveAt, to: nil))
        }
    }
}

@Suite("Store: interactions")
struct InteractionStoreTests {
    func interaction(_ clientID: Int64, at: Date, kind: InteractionKind = .call, resets: Bool = true) -> Interaction {
        Interaction(
            id: 0, clientID: clientID, contactID: nil, authorID: nil, authorLogin: "ivanov", kind: kind, direction: "out", occurredAt: at,
            topic: "Offer", result: "Called back", note: nil, resetsClock: resets, createdAt: t0)
    }

    @Test func pagingNewestFirstWithCursor() async throws {
        try await withStore { store, _ in
            let hour = 3600.0
            // Two share an occurred_at: the newer id comes first.
            let times = [0.0, 5, 2, 5, 1, 3, 4, 2].map { t0.addingTimeInterval($0 * hour) }
            let (client, inserted) = try await store.write { tx in
                let cl = try tx.insert(newClient("Talkative"))
                let other = try tx.insert(newClient("Other"))
                var ins: [Interaction] = []
                for t in times { ins.append(try tx.insertInteraction(self.interaction(cl.id, at: t))) }
                _ = try tx.insertInteraction(self.interaction(other.id, at: t0.addingTimeInterval(100 * hour)))
                return (cl, ins)
            }
            let expected = inserted.sorted { ($0.occurredAt, $0.id) > ($1.occurredAt, $1.id) }

            var seen: [Interaction] = []
            var cursor: String? = nil
            var pages = 0
            repeat {
                let page = try store.read { try $0.interactions(clientID: client.id, cursor: cursor, limit: 3) }
                #expect(page.items.count <= 3)
                seen += page.items
                cursor = page.nextCursor
                pages += 1
            } while cursor != nil && pages < 10
            #expect(pages == 3)
            #expect(seen == expected)
            #expect(seen.map(\.id) == expected.map(\.id))
            #expect(Set(seen.map(\.id)).count == times.count)

            let all = try store.read { try $0.interactions(clientID: client.id, cursor: nil, limit: 100) }
            #expect(all.items == expected)
            #expect(all.nextCursor == nil)
            // An exact fit has no next page.
            #expect(try store.read { try $0.interactions(clientID: client.id, cursor: nil, limit: times.count) }.nextCursor == nil)
        }
    }

    @Test func latestResettingInteraction() async throws {
        try await withStore { store, _ in
            let c = try await store.write { tx in try tx.insert(newClient("C")) }
            #expect(try store.read { try $0.lastResettingInteraction(clientID: c.id)?.occurredAt } == nil)
            try await store.write { tx in
                _ = try tx.insertInteraction(self.interaction(c.id, at: t0))
                _ = try tx.insertInteraction(self.interaction(c.id, at: t0.addingTimeInterval(7200)))
                _ = try tx.insertInteraction(self.interaction(c.id, at: t0.addingTimeInterval(9000), kind: .note, resets: false))
            }
            #expect(try store.read { try $0.lastResettingInteraction(clientID: c.id)?.occurredAt } == t0.addingTimeInterval(7200))
        }
    }
}

@Suite("Store: audit, request ids, events")
struct LogTests {
    @Test func auditEntries() async throws {
        try await withStore { store, _ in
            let u = try store.writeNow { try $0.insertUser(login: "petrova", name: "P", role: .head, uid: 1002, now: t0) }
            let actor = Actor(user: u, role: .manager, login: "petrova", uid: 1002, actingAdmin: "root")
            try await store.write { tx in
                try tx.audit(actor, entity: "client", id: 5, action: "create", before: nil, after: #"{"name":"A"}"#, at: t0)
                try tx.audit(actor, entity: "client", id: 5, action: "update", before: #"{"name":"A"}"#, after: #"{"name":"B"}"#, at: t0)
                try tx.audit(builtinAdmin, entity: "client", id: 6, action: "create", before: nil, after: "{}", at: t0)
                try tx.audit(builtinAdmin, entity: "user", id: 5, action: "create", before: nil, after: "{}", at: t0)
            }
            try store.read { tx throws in
                #expect(try tx.auditCount() == 4)
                let page = try tx.auditHistory(entity: "client", id: 5, afterID: nil, limit: 10)
                #expect(page.items.map(\.action) == ["create", "update"])
                #expect(page.nextCursor == nil)
                let first = try #require(page.items.first)
                #expect(first.actorID == u.id)
                #expect(first.actorLogin == "petrova")
                #expect(first.actorUID == 1002)
                #expect(first.actingAdmin == "root")
                #expect(first.entity == "client")
                #expect(first.entityID == 5)
                #expect(first.before == nil)
                #expect(first.after == #"{"name":"A"}"#)
                #expect(first.at == t0)
                let one = try tx.auditHistory(entity: "client", id: 5, afterID: nil, limit: 1)
                #expect(one.items.map(\.action) == ["create"])
                let rest = try tx.auditHistory(entity: "client", id: 5, afterID: cursorID(one.nextCursor), limit: 1)
                #expect(rest.items.map(\.action) == ["update"])
                #expect(rest.nextCursor == nil)
                let root = try tx.auditHistory(entity: "client", id: 6, afterID: nil, limit: 10).items
                #expect(root.count == 1)
                #expect(root.first?.actorID == nil)
                #expect(root.first?.actorLogin == "root")
            }
        }
    }

    @Test func processedAndRememberedRequests() async throws {
        try await withStore { store, _ in
            #expect(try store.read { try $0.processedRequest(actor: "ivanov", requestID: "r1") } == nil)
            try await store.write { tx in
                try tx.rememberResponse(actor: "ivanov", requestID: "r1", method: "client.create", response: #"{"id":1}"#, at: t0)
            }
            try store.read { tx throws in
                let first = try #require(try tx.processedRequest(actor: "ivanov", requestID: "r1"))
                #expect(first.method == "client.create")
                #expect(first.response == #"{"id":1}"#)
                // Request ids are per actor.
                #expect(try tx.processedRequest(actor: "petrova", requestID: "r1") == nil)
                #expect(try tx.processedRequest(actor: "ivanov", requestID: "r2") == nil)
            }
            // The same actor and request id cannot be remembered twice.
            await #expect(throws: (any Error).self) {
                try await store.write { tx in
                    try tx.rememberResponse(actor: "ivanov", requestID: "r1", method: "client.create", response: "{}", at: t0)
                }
            }
            try await store.write { tx in
                try tx.rememberResponse(actor: "petrova", requestID: "r1", method: "interaction.log", response: "{}", at: t0)
            }
            try store.read { tx throws in
                #expect(try tx.processedRequest(actor: "ivanov", requestID: "r1")?.response == #"{"id":1}"#)
                #expect(try tx.processedRequest(actor: "petrova", requestID: "r1")?.method == "interaction.log")
            }
        }
    }

    @Test func eventSeqGrowsStrictlyAndSurvivesReopen() async throws {
        let tmp = try TempDB()
        defer { tmp.remove() }
        var store = try tmp.open()
        #expect(try store.read { try $0.lastSeq() } == 0)
        var seqs: [Int64] = []
        for i in 0..<5 {
            let s = try await store.write { tx in
                try tx.appendEvent(topic: "zone.changed", clientID: Int64(i), ownerID: 3, data: #"{"n":\#(i)}"#, at: t0)
            }
            seqs.append(s)
        }
        let batch = try await store.write { tx in
            [
                try tx.appendEvent(topic: "client.released", clientID: 1, ownerID: nil, data: "{}", at: t0),
                try tx.appendEvent(topic: "client.claimed", clientID: 1, ownerID: 4, data: "{}", at: t0),
            ]
        }
        seqs += batch
        #expect(seqs == Array(1...7))
        #expect(zip(seqs, seqs.dropFirst()).allSatisfy { $0 < $1 })
        #expect(try store.read { try $0.lastSeq() } == 7)
        let after5 = try store.read { try $0.events(after: 5, limit: 100) }
        #expect(after5.map(\.seq) == [6, 7])
        #expect(after5.map(\.topic) == ["client.released", "client.claimed"])
        #expect(after5.last?.ownerID == 4)
        #expect(after5.first?.ownerID == nil)
        #expect(try store.read { try $0.events(after: 0, limit: 2) }.map(\.data) == [#"{"n":0}"#, #"{"n":1}"#])
        try store.close()

        store = try tmp.open()
        #expect(try store.read { try $0.lastSeq() } == 7)
        let next = try await store.write { tx in try tx.appendEvent(topic: "alert", clientID: nil, ownerID: nil, data: "{}", at: t0) }
        #expect(next == 8)
        try store.close()
    }

    @Test func aRolledBackEventLeavesNoGapInSeq() async throws {
        try await withStore { store, _ in
            _ = try await store.write { tx in try tx.appendEvent(topic: "a", clientID: nil, ownerID: nil, data: "{}", at: t0) }
            await #expect(throws: Deliberate.self) {
                try await store.write { tx -> Int64 in
                    _ = try tx.appendEvent(topic: "lost", clientID: nil, ownerID: nil, data: "{}", at: t0)
                    throw Deliberate(tag: "rollback")
                }
            }
            let s = try await store.write { tx in try tx.appendEvent(topic: "b", clientID: nil, ownerID: nil, data: "{}", at: t0) }
            let all = try store.read { try $0.events(after: 0, limit: 10) }
            #expect(all.map(\.topic) == ["a", "b"])
            #expect(all.last?.seq == s)
            #expect(s == all[0].seq + 1)
        }
    }
}
