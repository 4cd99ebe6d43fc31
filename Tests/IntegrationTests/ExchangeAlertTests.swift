import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import Testing

/// Reminders on a manual clock: when they reach their owner, and what they say then.
@Suite("Reminders on a manual clock")
struct ExchangeAlertTests: ManualClockSuite {
    @Test("a reminder due at night reaches its owner when working hours start; one due in hours at once, as alert.list shows it")
    func remindersInAndOutOfHours() throws {
        let d = try daemon(start: "2026-01-12T20:00:00Z")  // Monday 23:00 in Moscow
        defer { d.stop() }
        let admin = try d.connect()
        try seedTeam(admin)
        let night = try admin.call("client.create", ["name": "Night Ltd", "owner": "ivanov"])["id"]!
        let owner = try d.connect()
        _ = try owner.call("session.act_as", ["login": "ivanov"])
        _ = try owner.call("subscribe", ["topics": ["alert"]])

        let view = try d.connect()
        _ = try view.call("session.act_as", ["login": "ivanov"])
        func listed() throws -> [JSON] { try view.call("alert.list")["items"]?.arrayValue ?? [] }

        // Yellow on Thursday 23:00 Moscow: the reminder is stored for the morning, not listed yet.
        _ = try admin.call("clock.advance", ["by": "P1M"])
        #expect(try view.call("client.get", ["id": night])["zone"] == "yellow")
        #expect(try listed().isEmpty)
        #expect(try admin.call("server.status")["alerts"]?["next_delivery"] == "2026-02-13T06:00:00Z")

        // Friday 09:00 Moscow: delivered, and the event carries what alert.list shows.
        _ = try admin.call("clock.set", ["to": "2026-02-13T06:00:00Z"])
        let first = try events(owner, 1)
        let delivered = try listed()
        #expect(delivered.count == 1)
        #expect(delivered.first?["client_id"] == night)
        #expect(delivered.first?["delivered_at"] == "2026-02-13T06:00:00Z")
        #expect(first.first?["data"] == delivered.first)

        // A client turning yellow inside working hours: delivered in the same pass.
        let day = try admin.call("client.create", ["name": "Day Ltd", "owner": "ivanov"])["id"]!
        _ = try admin.call("clock.advance", ["by": "P1M"])  // Friday 13 March, 09:00 Moscow
        let second = try events(owner, 1)
        #expect(second.first?["data"]?["client_id"] == day)
        #expect(second.first?["data"]?["kind"] == "zone_yellow")
        let now = try listed().first { $0["client_id"] == day }
        #expect(now?["delivered_at"] == "2026-03-13T06:00:00Z")
        #expect(second.first?["data"] == now)
    }

    @Test("a reminder due on Saturday and delivered on Monday counts the days left on Monday")
    func weekendReminderRecounts() throws {
        let d = try daemon(start: "2026-01-14T09:00:00Z")  // Wednesday; yellow on Saturday 14 February
        defer { d.stop() }
        let admin = try d.connect()
        try seedTeam(admin)
        let id = try admin.call("client.create", ["name": "Weekend Ltd", "owner": "ivanov"])["id"]!
        let owner = try d.connect()
        _ = try owner.call("session.act_as", ["login": "ivanov"])
        _ = try owner.call("subscribe", ["topics": ["alert"]])
        _ = try admin.call("clock.set", ["to": "2026-02-14T09:00:00Z"])
        #expect(try owner.call("alert.list")["items"]?.arrayValue?.isEmpty == true)
        _ = try admin.call("clock.set", ["to": "2026-02-16T06:00:00Z"])  // Monday 09:00 Moscow
        let alert = try #require(try events(owner, 1).first?["data"])
        #expect(alert["client_id"] == id)
        #expect(alert["due_at"] == "2026-02-14T09:00:00Z")
        #expect(alert["days_left"] == 148)  // 150 on Saturday; release on 14 July
        #expect(alert["message"]?.stringValue?.contains(": 148 days until it goes to the exchange") == true)
        let listed = try owner.call("alert.list")["items"]?.arrayValue?.first
        #expect(listed == alert)
    }
}

@Suite("Alert delivery command")
struct DeliveryCommandTests {
    @Test("a failing delivery command is retried with back-off and the alert is not lost")
    func retries() throws {
        let dir = try temporaryFolder("crmd-deliver")
        defer { try? FileManager.default.removeItem(at: dir) }
        let script = try deliveryScript(
            in: dir,
            """
            #!/bin/sh
            n=$(cat "\(dir.path)/count" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "\(dir.path)/count"
            if [ "$n" -le 2 ]; then exit 3; fi
            cat >> "\(dir.path)/delivered.jsonl"
            """)
        let d = try TestDaemon(
            environment: ["CRMD_ALERTS_DELIVERY_COMMAND": script.path],
            arguments: ["--clock", "manual", "--clock-start", ExchangeTests.start])
        try d.start()
        defer { d.stop() }
        let c = try d.connect()
        try seedTeam(c)
        _ = try c.call("client.create", ["name": "Gateway Test", "owner": "ivanov"])
        _ = try c.call("clock.advance", ["by": "P1M"])  // the yellow alert: first attempt fails
        #expect(try c.call("server.status")["alerts"]?["command_pending"] == 1)
        _ = try c.call("clock.advance", ["by": "PT10S"])  // second attempt fails
        #expect(try c.call("server.status")["alerts"]?["command_failing"] == 1)
        _ = try c.call("clock.advance", ["by": "PT1M"])  // third succeeds
        let status = try c.call("server.status")["alerts"]
        #expect(status?["command_pending"] == 0)
        let delivered = try String(contentsOf: dir.appendingPathComponent("delivered.jsonl"), encoding: .utf8)
        let alert = try JSONParser.parse(delivered.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(alert["kind"] == "zone_yellow")
        #expect(alert["message"]?.stringValue?.contains("Gateway Test") == true)
        #expect(
            try String(contentsOf: dir.appendingPathComponent("count"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
                == "3")
    }
}
