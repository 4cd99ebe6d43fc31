import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import Testing

/// The real crmd and crmctl on a manual clock: deals won in January, the clock moved past 1
/// February 03:00 Moscow, the scheduled ABC/XYZ computation announces each manager's class
/// changes to them only, crmctl shows the classes and history, `crmctl abc run` recomputes, and
/// `crmd --check` finds the stored classes equal to the month's history.
@Suite("crmctl abc and the monthly classes")
struct CrmctlClassTests {
    static let start = "2026-01-12T09:00:00Z"

    func crmctl(_ d: TestDaemon, _ args: [String]) throws -> (status: Int32, out: String, err: String) {
        let r = try runProcess(
            TestDaemon.binaryPath(named: "crmctl"), args + ["--socket", d.socketPath], environment: ["NO_COLOR": "1", "COLUMNS": ""])
        return (r.status, r.out, r.err)
    }

    @Test("scheduled run on the 1st, events to the owner only, crmctl client show/list, abc run, crmd --check")
    func monthlyClasses() throws {
        let d = try TestDaemon(arguments: ["--clock", "manual", "--clock-start", Self.start])
        try d.start()
        defer { d.stop() }
        let admin = try d.connect()
        _ = try seedTeam(admin)
        var ids: [Int64] = []
        for (name, owner, amount) in [("Big", "ivanov", 80_000), ("Mid", "ivanov", 15_000), ("Small", "sidorov", 5_000)]
            as [(String, String, Int64)]
        {
            let client = try admin.call("client.create", ["name": .string(name), "owner": .string(owner)])["id"]!
            let deal = try admin.call("deal.create", ["client_id": client, "title": "Order"])["id"]!
            _ = try admin.call("deal.close", ["id": deal, "outcome": "won", "amount": .int(amount)])
            ids.append(client.intValue!)
        }
        let ivanov = try DealTest.connect(d, as: "ivanov")
        _ = try ivanov.call("subscribe", ["topics": ["client.class_changed"]])
        let sidorov = try DealTest.connect(d, as: "sidorov")
        _ = try sidorov.call("subscribe", ["topics": ["client.class_changed"]])
        // To 1 February 09:00 UTC: the 03:00 Moscow computation ran on the way.
        _ = try admin.call("clock.advance", ["by": "P20D"])
        let mine = try DealTest.next(ivanov, 2)
        #expect(mine.map { $0["data"]?["client_id"] } == [.int(ids[0]), .int(ids[1])])
        #expect(mine.map { $0["data"]?["abc"] } == ["A", "B"])
        #expect(mine.first?["data"]?["abc_from"] == .null)
        let theirs = try DealTest.next(sidorov, 1)
        #expect(theirs.first?["data"]?["client_id"] == .int(ids[2]))
        #expect(theirs.first?["data"]?["abc"] == "C")

        let show = try crmctl(d, ["client", "show", String(ids[0]), "--as", "ivanov"])
        #expect(show.status == 0, "\(show.err)")
        #expect(show.out.contains("class        AZ"), "\(show.out)")
        let squeezed = show.out.split(separator: "\n").map { $0.split(separator: " ").joined(separator: " ") }
        #expect(squeezed.contains("2026-02 A Z 800.00 331.66"), "\(show.out)")
        let list = try crmctl(d, ["client", "list", "--abc", "a", "--as", "ivanov"])
        #expect(list.status == 0, "\(list.err)")
        #expect(list.out.contains("Big") && !list.out.contains("Mid"), "\(list.out)")

        let run = try crmctl(d, ["abc", "run", "--as", "petrova"])
        #expect(run.status == 0, "\(run.err)")
        #expect(run.out.contains("classes of 2026-02"), "\(run.out)")
        #expect(run.out.contains("3 clients classed, 0 changed"), "\(run.out)")
        let refused = try crmctl(d, ["abc", "run", "--as", "ivanov"])
        #expect(refused.status != 0)
        #expect(refused.err.contains("1002"), "\(refused.err)")

        let check = try runProcess(
            TestDaemon.binaryPath(), ["--check", "--database", d.databasePath], environment: ["HOME": NSTemporaryDirectory()],
            inherit: false)
        #expect(check.status == 0, "\(check.out)\(check.err)")
    }
}
