import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import Testing

/// The real crmctl and crmd on a manual clock: a head sets a plan with crmctl, a wallboard
/// subscribed to plan.progress sees the manager's calls move it, and crmctl shows the bars,
/// the plan-vs-fact report and the activity report as CSV.
@Suite("crmctl plan and report plan/activity")
struct CrmctlPlanTests {
    static let start = "2026-12-07T07:00:00Z"

    func crmctl(_ d: TestDaemon, _ args: [String]) throws -> (status: Int32, out: String, err: String) {
        let r = try runProcess(
            TestDaemon.binaryPath(named: "crmctl"), args + ["--socket", d.socketPath], environment: ["NO_COLOR": "1", "COLUMNS": ""])
        return (r.status, r.out, r.err)
    }

    @Test("plan set / show with bars, the plan.progress event on a subscription, report plan and report activity --csv")
    func planThroughCrmctl() throws {
        let d = try TestDaemon(arguments: ["--clock", "manual", "--clock-start", Self.start])
        try d.start()
        defer { d.stop() }
        let admin = try d.connect()
        _ = try seedTeam(admin)
        let client = try admin.call("client.create", ["name": "Romashka LLC", "owner": "ivanov"])["id"]!

        let set = try crmctl(
            d, ["plan", "set", "ivanov", "2026-12", "--calls", "4", "--revenue-won", "1 000,00", "--json", "--as", "petrova"])
        #expect(set.status == 0, "\(set.err)")
        let plan = try JSONParser.parse(set.out)
        #expect(plan["targets"]?["calls"] == 4)
        #expect(plan["targets"]?["revenue_won"] == 100_000)
        // A manager may not set plans: crmd's 1002 on stderr.
        let refused = try crmctl(d, ["plan", "set", "ivanov", "2026-12", "--calls", "100", "--as", "ivanov"])
        #expect(refused.status != 0)
        #expect(refused.err.contains("1002"), "\(refused.err)")

        let board = try DealTest.connect(d, as: "petrova")
        _ = try board.call("subscribe", ["topics": ["plan.progress"]])
        let ivanov = try DealTest.connect(d, as: "ivanov")
        for _ in 0..<2 { _ = try ivanov.call("interaction.log", ["client_id": client, "kind": "call", "result": "talked"]) }
        let events = try DealTest.next(board, 2)
        #expect(events.map { $0["data"]?["fact"] } == [1, 2])
        #expect(events.last?["topic"] == "plan.progress")
        #expect(events.last?["data"]?["user_login"] == "ivanov")

        let show = try crmctl(d, ["plan", "show", "ivanov", "--period", "2026-12", "--as", "petrova"])
        #expect(show.status == 0, "\(show.err)")
        let lines = show.out.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") }
        #expect(lines.contains("calls 2 of 4 [#####-----] 50 %"), "\(show.out)")
        #expect(lines.contains("revenue won 0.00 of 1 000.00 [----------] 0 %"), "\(show.out)")

        let report = try crmctl(d, ["report", "plan", "--period", "2026-12", "--csv", "--as", "petrova"])
        #expect(report.status == 0, "\(report.err)")
        #expect(report.out.contains("ivanov,2026-12,calls,4,2,50"), "\(report.out)")
        #expect(report.out.contains("ivanov,2026-12,revenue_won,1000.00,0.00,0"), "\(report.out)")

        let activity = try crmctl(d, ["report", "activity", "--period", "2026-12", "--csv", "--as", "petrova"])
        #expect(activity.status == 0, "\(activity.err)")
        #expect(activity.out.contains("ivanov,2,0,0,0,0,0,2"), "\(activity.out)")
        let table = try crmctl(d, ["report", "activity", "--period", "2026-12", "--as", "petrova"])
        #expect(table.out.contains("ivanov"), "\(table.out)")
    }
}
