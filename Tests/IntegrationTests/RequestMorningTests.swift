import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import Testing

/// Issue 22, requests nobody was there for: opened on a Friday night before the 8 March holiday,
/// left `new` over the weekend and the holiday Monday, routed oldest first when working hours
/// begin on Tuesday at 09:00, on a manual clock against the real crmd.
@Suite("Inbound requests: routed when working hours begin")
struct RequestMorningTests {
    static let calendar = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("config/calendar/ru-2026.txt")

    /// Every request by id.
    func requests(_ admin: Connection) throws -> [Int64: JSON] {
        var out: [Int64: JSON] = [:]
        for q in try admin.call("request.list", [:])["items"]?.arrayValue ?? [] { out[q["id"]?.intValue ?? 0] = q }
        return out
    }

    func statuses(_ admin: Connection) throws -> [Int64: String] {
        try requests(admin).mapValues { $0["status"]?.stringValue ?? "" }
    }

    @Test("a Friday night's and a weekend's requests wait, then at Tuesday 09:00 (Monday a holiday) go oldest first, least loaded")
    func routedAtTheOpening() throws {
        let d = try TestDaemon(
            environment: ["CRMD_CALENDAR_FILES": Self.calendar.path],
            arguments: ["--clock", "manual", "--clock-start", "2026-03-06T17:00:00Z"])  // Friday 20:00 in Moscow
        try d.start()
        defer { d.stop() }
        let admin = try d.connect()
        let (_, ivanov, sidorov) = try seedTeam(admin)
        _ = try admin.call("user.add", ["login": "form", "name": "Web form", "role": "operator"])
        let form = try d.connect()
        _ = try form.call("session.act_as", ["login": "form"])
        let events = try d.connect()
        _ = try events.call("subscribe", ["topics": ["request.routed"]])

        // Friday night, Saturday, Sunday: nobody at work, every request stays new.
        var ids: [Int64] = []
        for (i, at) in ["2026-03-06T17:00:00Z", "2026-03-06T20:30:00Z", "2026-03-07T09:00:00Z", "2026-03-08T12:00:00Z"].enumerated() {
            _ = try admin.call("clock.set", ["to": .string(at)])
            let q = try form.call("request.create", ["name": .string("Клиент \(i)"), "phone": .string("+7 905 000-00-0\(i)")])
            #expect(q["status"] == "new")
            #expect(q["assignee"] == .null)
            ids.append(q["id"]?.intValue ?? 0)
        }
        // Monday 9 March is the holiday for 8 March: still nobody at 09:00 or at noon.
        _ = try admin.call("clock.set", ["to": "2026-03-09T06:00:00Z"])
        _ = try admin.call("clock.set", ["to": "2026-03-09T09:00:00Z"])
        #expect(try statuses(admin).values.allSatisfy { $0 == "new" })
        // Tuesday 08:59: a minute before the opening, nothing moves.
        _ = try admin.call("clock.set", ["to": "2026-03-10T05:59:00Z"])
        #expect(try statuses(admin).values.allSatisfy { $0 == "new" })

        // 09:00: each routed at the opening, oldest first, to the least loaded manager then.
        _ = try admin.call("clock.set", ["to": "2026-03-10T06:00:00Z"])
        let byID = try requests(admin)
        let status: [String] = ids.map { byID[$0]?["status"]?.stringValue ?? "" }
        #expect(status == ["routed", "routed", "routed", "routed"])
        let assignees: [Int64] = ids.map { byID[$0]?["assignee"]?.intValue ?? 0 }
        #expect(assignees == [ivanov, sidorov, ivanov, sidorov])
        let due: [String] = ids.map { byID[$0]?["due_at"]?.stringValue ?? "" }
        #expect(due == Array(repeating: "2026-03-10T07:00:00Z", count: 4))
        // The events say so, in that order, at 09:00.
        var seen: [Int64] = []
        while seen.count < 4, let line = try events.readJSON() {
            guard line["method"] == "event", let e = line["params"], e["topic"] == "request.routed" else { continue }
            #expect(e["at"] == "2026-03-10T06:00:00Z")
            seen.append(e["data"]?["id"]?.intValue ?? 0)
        }
        #expect(seen == ids)
    }

    @Test("with every manager away, requests wait through working hours and go when the first one is back")
    func routedWhenAnAbsenceEnds() throws {
        let d = try TestDaemon(arguments: ["--clock", "manual", "--clock-start", "2026-03-10T07:00:00Z"])  // Tuesday 10:00
        try d.start()
        defer { d.stop() }
        let admin = try d.connect()
        let (_, ivanov, _) = try seedTeam(admin)
        _ = try admin.call(
            "user.update", ["login": "ivanov", "absent_from": "2026-03-10T00:00:00Z", "absent_until": "2026-03-10T09:00:00Z"])
        _ = try admin.call(
            "user.update", ["login": "sidorov", "absent_from": "2026-03-10T00:00:00Z", "absent_until": "2026-03-20T00:00:00Z"])
        let q = try admin.call("request.create", ["name": "Анна", "phone": "+7 906 000-00-01"])
        #expect(q["status"] == "new")
        _ = try admin.call("clock.set", ["to": "2026-03-10T08:59:00Z"])
        #expect(try statuses(admin)[q["id"]?.intValue ?? 0] == "new")
        _ = try admin.call("clock.set", ["to": "2026-03-10T09:00:00Z"])
        let after = try #require(try admin.call("request.list", [:])["items"]?.arrayValue?.first)
        #expect(after["status"] == "routed")
        #expect(after["assignee"] == .int(ivanov))
    }
}
