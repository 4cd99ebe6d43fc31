import CRMCore
import CRMStore
import Foundation
import Testing

@Suite("Store: events and alerts inserted many rows per statement")
struct BufferedRowsTests {
    /// Stores through `tx.buffered` what a scheduler batch stores — more events than one
    /// multi-row statement holds, reminders that supersede each other inside the batch and one
    /// that supersedes a stored reminder — and checks the rows are what the row-by-row path writes:
    /// seqs and ids continue the stored ones, in order, with the right reminders superseded.
    @Test func theSameRowsAsOneByOne() async throws {
        try await withStore { store, _ in
            let (userID, clientIDs, before) = try await store.write { tx in
                let u = try tx.insertUser(login: "ivanov", name: "Ivanov", role: .manager, uid: nil, now: t0)
                let ids = try (0..<3).map { i in try tx.insert(newClient("Client \(i)", owner: u.id)).id }
                // A stored, undelivered reminder for client 0: the batch supersedes it.
                let old = try tx.insertAlert(
                    userID: u.id, clientID: ids[0], kind: "days_to_release", daysLeft: 30, zone: "yellow", message: "old", dueAt: t0,
                    deliverAt: t0.addingTimeInterval(3600), now: t0)
                return (u.id, ids, (seq: try tx.lastSeq(), alert: old))
            }
            let n = 150  // two full statements of 64 and 22 one by one
            let (seqs, alertIDs) = try await store.write { tx in
                try tx.buffered { tx in
                    var seqs: [Int64] = []
                    for i in 0..<n {
                        seqs.append(
                            try tx.appendEvent(
                                topic: "zone.changed", clientID: clientIDs[i % 3], ownerID: userID, data: "{\"i\":\(i)}", at: t0))
                    }
                    let later = t0.addingTimeInterval(7200)
                    func remind(_ c: Int, _ days: Int, delivered: Bool = false) throws -> Int64 {
                        try tx.insertAlert(
                            userID: userID, clientID: clientIDs[c], kind: "days_to_release", daysLeft: days, zone: "yellow",
                            message: "\(days) days", dueAt: t0, deliverAt: later, now: t0, deliveredAt: delivered ? t0 : nil)
                    }
                    // Client 0: supersedes the stored one, then is superseded by the next.
                    let a = try remind(0, 14)
                    let b = try remind(0, 7)
                    // Client 1: delivered at once, then one pending, then the client is released.
                    let c = try remind(1, 3, delivered: true)
                    let d = try remind(1, 1)
                    try tx.supersedeAlerts(clientID: clientIDs[1])
                    // Client 2: one pending reminder that stays.
                    let e = try remind(2, 30)
                    return (seqs, [a, b, c, d, e])
                }
            }
            #expect(seqs == Array((before.seq + 1)...(before.seq + Int64(n))))
            #expect(alertIDs == Array((before.alert + 1)...(before.alert + 5)))
            try store.read { tx in
                let events = try tx.events(after: before.seq, limit: 1_000)
                #expect(events.map(\.seq) == seqs)
                #expect(events.map(\.data) == (0..<n).map { "{\"i\":\($0)}" })
                #expect(events.map(\.clientID) == (0..<n).map { clientIDs[$0 % 3] })
                let pending = try tx.alertsToDeliver(upTo: t0.addingTimeInterval(86_400), limit: 100)
                // Only the newest reminder of client 0 and client 2's are still to deliver.
                #expect(pending.map(\.id) == [alertIDs[1], alertIDs[4]])
                #expect(pending.map(\.message) == ["7 days", "30 days"])
                // The list shows what was delivered: the one stored as delivered, nothing superseded.
                let listed = try tx.alerts(userID: userID, unackedOnly: false, beforeID: nil, limit: 100).items
                #expect(listed.map(\.id) == [alertIDs[2]])
                #expect(listed.first?.deliveredAt != nil)
            }
            // Row-by-row writes after the batch continue the same sequences.
            let next = try await store.write { tx in
                (
                    try tx.appendEvent(topic: "zone.changed", clientID: clientIDs[0], ownerID: userID, data: "{}", at: t0),
                    try tx.insertAlert(
                        userID: userID, clientID: nil, kind: "note", daysLeft: nil, zone: nil, message: "m", dueAt: t0, deliverAt: t0,
                        now: t0)
                )
            }
            #expect(next.0 == seqs.last! + 1)
            #expect(next.1 == alertIDs.last! + 1)
        }
    }

    /// A release's rows held back (audit entry, release record, cooldown) land like the
    /// row-by-row ones, and a cooldown already on record is extended, not duplicated.
    @Test func releaseRowsAsOneByOne() async throws {
        try await withStore { store, _ in
            let (userID, clientIDs) = try await store.write { tx in
                let u = try tx.insertUser(login: "petrov", name: "Petrov", role: .manager, uid: nil, now: t0)
                let ids = try (0..<70).map { i in try tx.insert(newClient("Client \(i)", owner: u.id)).id }
                try tx.ban(clientID: ids[0], userID: u.id, until: t0.addingTimeInterval(60))
                return (u.id, ids)
            }
            let system = Actor.builtinAdmin(uid: 0, login: "crmd scheduler")
            let until = t0.addingTimeInterval(86_400)
            try await store.write(.bulk) { tx in
                try tx.buffered { tx in
                    for (i, id) in clientIDs.enumerated() {
                        try tx.ban(clientID: id, userID: userID, until: until)
                        try tx.recordRelease(clientID: id, userID: userID, at: t0, manual: false, reason: "silence \(i)")
                        try tx.audit(system, entity: "client", id: id, action: "release", before: "{\"i\":\(i)}", after: nil, at: t0)
                    }
                }
            }
            try store.read { tx in
                for (i, id) in clientIDs.enumerated() {
                    #expect(try tx.banUntil(clientID: id, userID: userID, now: t0) == until)
                    let history = try tx.auditHistory(entity: "client", id: id, afterID: nil, limit: 10).items
                    #expect(history.map(\.action) == ["create", "release"] || history.map(\.action) == ["release"])
                    #expect(history.last?.before == "{\"i\":\(i)}")
                    #expect(history.last?.actorLogin == "crmd scheduler")
                }
                let activity = try tx.exchangeActivity(from: t0, to: t0.addingTimeInterval(1))
                #expect(activity.count == 1)
                #expect(activity.first?.releases == clientIDs.count)
                #expect(activity.first?.manual == 0)
            }
        }
    }
}
