import CRMCore
import CRMProtocol
import CRMStore
import Foundation
import Testing

@testable import CRMServer

/// ABC/XYZ classes in process on the manual clock: the monthly schedule at its exact instant,
/// catching up after a gap, `abc.compute`, the card's history, the list filters, the events and
/// `crmd --check`.
@Suite("ABC/XYZ classes in-process")
struct ClassHandlerTests {
    typealias T = SalesTeam

    /// Three clients of ivanov's with 800, 150 and 50 roubles won in January 2026, and one of
    /// petrov's whose 1,000 was won in dollars (not the department's currency).
    static func department(_ configure: (inout Settings) -> Void = { _ in }) async throws -> (SalesTeam, [JSON]) {
        let s = try await SalesTeam(configure)
        var clients: [JSON] = []
        for (name, amount) in [("Big", 80_000), ("Mid", 15_000), ("Small", 5_000)] as [(String, Int64)] {
            let c = try await s.client(name)
            _ = try await CommissionTests.won(s, c, "Order", amount)
            clients.append(c)
        }
        let dollars = try await s.client("Dollars", by: T.petrov)
        _ = try await CommissionTests.won(s, dollars, "Export", 100_000, by: T.petrov, ["currency": "USD"])
        clients.append(dollars)
        return (s, clients)
    }

    func card(_ s: SalesTeam, _ c: JSON) async throws -> JSON {
        try await s.ok("client.get", ["id": c], uid: T.head)
    }

    @Test("the schedule runs at 03:00 Moscow on the 1st, not a second before: 80/15/5 % → A, B, C; one month of 12 → Z")
    func scheduled() async throws {
        let (s, c) = try await Self.department()
        try await s.at("2026-01-31T23:59:59Z")  // 02:59:59 on 1 February in Moscow
        #expect(try await card(s, c[0])["abc"] == .null)
        #expect(try s.events("classes.computed").isEmpty)
        try await s.at("2026-02-01T00:00:00Z")  // 03:00 Moscow
        let big = try await card(s, c[0])
        #expect(big["abc"] == "A")
        #expect(big["xyz"] == "Z")
        let history = try #require(big["classes"]?.arrayValue)
        #expect(history.count == 1)
        #expect(history.first?["month"] == "2026-02")
        #expect(history.first?["revenue"] == 80_000)
        // All of the window's revenue in one of 12 months: CV = √11.
        #expect(history.first?["cv_percent"] == "331.66")
        #expect(try await card(s, c[1])["abc"] == "B")
        #expect(try await card(s, c[2])["abc"] == "C")
        // Dollars are not the department's currency: no class.
        #expect(try await card(s, c[3])["abc"] == .null)
        let changes = try s.events("client.class_changed")
        #expect(changes.count == 3)
        #expect(changes.allSatisfy { $0.ownerID == s.ids["ivanov"] })
        let summary = try #require(s.events("classes.computed").first)
        #expect(summary.ownerID == nil)
        let data = try JSONParser.parse(summary.data)
        #expect(data["counts"]?["A"] == 1)
        #expect(data["counts"]?["Z"] == 3)
        #expect(data["changed"] == 3)
        #expect(data["by"] == "crmd")
        let check = try Store.check(path: s.crm.dir.appendingPathComponent("crm.sqlite").path)
        #expect(check.problems == [])
        // Lists: the class on every client object, and filters by class.
        let list = try await s.ok("client.list", ["abc": "A"], uid: T.ivanov)
        #expect(list["items"]?.arrayValue?.map { $0["name"] } == ["Big"])
        #expect(list["items"]?.arrayValue?.first?["xyz"] == "Z")
        #expect(try await s.ok("client.list", ["abc": "B", "xyz": "Z"], uid: T.head)["items"]?.arrayValue?.count == 1)
        // petrov may not learn ivanov's classes through a filter.
        guard case .failure(let e) = await s.call("client.list", ["abc": "A", "owner": "ivanov"], uid: T.petrov) else {
            Issue.record("petrov filtered ivanov's clients by class")
            return
        }
        #expect(e.code == ErrorCode.forbidden)
    }

    @Test("after a gap crmd catches up the month on its first pass; a month later with no revenue the classes go, the history stays")
    func catchUp() async throws {
        let (s, c) = try await Self.department()
        try await s.at("2026-03-05T09:00:00Z")  // down over 1 February and 1 March: March is computed once
        let big = try await card(s, c[0])
        #expect(big["abc"] == "A")
        #expect(big["classes"]?.arrayValue?.map { $0["month"] } == ["2026-03"])
        #expect(try s.events("classes.computed").count == 1)
        // A year on, January 2026 has left the window: no revenue, no class.
        try await s.at("2027-02-01T00:00:00Z")
        let later = try await card(s, c[0])
        #expect(later["abc"] == .null)
        #expect(later["xyz"] == .null)
        // Only the months crmd was up for are computed: March 2026, then February 2027 (no row: no class).
        #expect(later["classes"]?.arrayValue?.map { $0["month"] } == ["2026-03"])
        let declassed = try s.events("client.class_changed").filter { (try? JSONParser.parse($0.data))?["abc"] == .null }
        #expect(declassed.count == 3)
        let check = try Store.check(path: s.crm.dir.appendingPathComponent("crm.sqlite").path)
        #expect(check.problems == [])
    }

    @Test("abc.compute: a head, an admin or a director computes now and sees counts, changes and time; others are refused")
    func onDemand() async throws {
        let (s, c) = try await Self.department()
        try await s.at("2026-02-10T09:00:00Z")
        // The schedule ran on the 1st; a second run of the month changes nothing.
        let again = try await s.ok("abc.compute", [:], uid: T.head)
        #expect(again["month"] == "2026-02")
        #expect(again["clients"] == 3)
        #expect(again["changed"] == 0)
        #expect(again["counts"]?["B"] == 1)
        #expect(again["took_ms"]?.intValue != nil)
        _ = try await s.ok("abc.compute", [:], uid: T.director)
        for uid in [T.ivanov, T.operator_, T.accountant] {
            guard case .failure(let e) = await s.call("abc.compute", [:], uid: uid) else {
                Issue.record("uid \(uid) computed the classes")
                continue
            }
            #expect(e.code == ErrorCode.forbidden)
        }
        // A hand value is refused with the reason.
        guard case .failure(let e) = await s.call("client.update", ["id": c[0], "abc": "C"], uid: T.head) else {
            Issue.record("abc was set by hand")
            return
        }
        #expect(e.message.description.contains("abc"))
        #expect(e.data?["fields"]?.arrayValue?.first?["problem"]?.stringValue?.contains("abc.compute") == true)
    }

    @Test("past classes.max_change_events changes, no event per client: only the summary, with change_events false")
    func eventCap() async throws {
        let (s, c) = try await Self.department { $0.domain.classes.maxChangeEvents = 2 }
        try await s.at("2026-02-01T00:00:00Z")
        #expect(try await card(s, c[0])["abc"] == "A")
        #expect(try s.events("client.class_changed").isEmpty)
        let summary = try JSONParser.parse(try #require(s.events("classes.computed").first).data)
        #expect(summary["changed"] == 3)
        #expect(summary["change_events"] == false)
    }
}
