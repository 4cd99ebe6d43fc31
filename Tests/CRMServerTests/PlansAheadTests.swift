import CRMCore
import CRMStore
import Foundation
import Testing

@testable import CRMServer

@Suite("Scheduler: the next batch planned ahead")
struct PlansAheadTests {
    /// A zone engine on default settings: planning reads no store.
    func withEngine(_ body: (ZoneEngine) throws -> Void) throws {
        let settings = Settings(socketPath: "/nonexistent/s.sock", databasePath: "/nonexistent/crm.sqlite")
        try body(ZoneEngine(live: LiveSettings(settings), users: UserDirectory(), daemonUID: 0))
    }

    /// `n` assigned clients whose clock started at `start`, due now (`nextDueAt` at `start`).
    func clients(_ n: Int, start: Date, rules: ZoneRules) -> [Client] {
        (1...n).map { i in
            var c = Client(
                id: Int64(i), name: "Client \(i)", kind: .company, phones: [], emails: [], ownerID: 7, status: .assigned, segment: nil,
                source: nil, abc: nil, fieldsJSON: "{}", lastInteractionAt: nil, assignedAt: start, releasedAt: nil, releasedFrom: nil,
                releaseReason: nil, createdAt: start, updatedAt: start)
            c.schedule = rules.schedule(from: start)
            c.appliedZone = .green
            c.nextDueAt = c.schedule?.yellowAt
            return c
        }
    }

    @Test("the same batch at the same instant takes the plans made ahead: the same writes as planned now")
    func sameBatch() throws {
        try withEngine { engine in
            let start = Date(timeIntervalSince1970: 1_767_600_000)
            let due = clients(300, start: start, rules: engine.rules)
            let now = due[0].schedule!.redAt.addingTimeInterval(1)
            let ahead = PlansAhead(due, upTo: now, heads: [], engine: engine)
            let plans = try #require(ahead.plans(for: due, upTo: now, heads: [], engine: engine))
            let direct = engine.planDue(due, upTo: now, heads: [])
            #expect(plans.map(\.client) == direct.map(\.client))
            #expect(plans.map(\.writes.count) == direct.map(\.writes.count))
            // Green to yellow to red, with reminders: more than one write each.
            #expect(plans.allSatisfy { $0.writes.count > 1 && $0.client.appliedZone == .red })
        }
    }

    @Test("a client changed in between, another instant or other heads: planned again, not taken")
    func changedBatch() throws {
        try withEngine { engine in
            let start = Date(timeIntervalSince1970: 1_767_600_000)
            let due = clients(10, start: start, rules: engine.rules)
            let now = due[0].schedule!.yellowAt
            let ahead = PlansAhead(due, upTo: now, heads: [], engine: engine)
            var moved = due
            // A logged call reset client 5's clock after the plans were made.
            moved[4].lastInteractionAt = now
            moved[4].updatedAt = now
            #expect(ahead.plans(for: moved, upTo: now, heads: [], engine: engine) == nil)
            #expect(ahead.plans(for: Array(due.dropLast()), upTo: now, heads: [], engine: engine) == nil)
            #expect(ahead.plans(for: due, upTo: now.addingTimeInterval(1), heads: [], engine: engine) == nil)
            let head = User(
                id: 3, login: "petrova", name: "Anna Petrova", role: .head, uid: nil, active: true, createdAt: start, updatedAt: start)
            #expect(ahead.plans(for: due, upTo: now, heads: [head], engine: engine) == nil)
            #expect(ahead.plans(for: due, upTo: now, heads: [], engine: engine) != nil)
        }
    }
}
