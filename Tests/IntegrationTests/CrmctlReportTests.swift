import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import Testing

/// crmctl's report commands against a real crmd on a manual clock: a rate set with
/// `user update --commission`, a deal won, and the commission, funnel, sales, completeness and
/// zones reports as tables, --json and --csv.
@Suite("crmctl report commission, funnel, sales, completeness and zones")
struct CrmctlReportTests {
    static let start = "2026-12-07T07:00:00Z"

    func crmctl(_ d: TestDaemon, _ args: [String]) throws -> (status: Int32, out: String, err: String) {
        let r = try runProcess(
            TestDaemon.binaryPath(named: "crmctl"), args + ["--socket", d.socketPath], environment: ["NO_COLOR": "1", "COLUMNS": "100"])
        return (r.status, r.out, r.err)
    }

    func ok(_ d: TestDaemon, _ args: [String]) throws -> String {
        let r = try crmctl(d, args)
        try #require(r.status == 0, "crmctl \(args.joined(separator: " ")) failed (\(r.status)): \(r.err)")
        return r.out
    }

    @Test("Dmitry's 2 % of a million through crmctl, a manager's own row, and every report readable, --json and --csv")
    func reports() throws {
        let d = try TestDaemon(arguments: ["--clock", "manual", "--clock-start", Self.start])
        try d.start()
        defer { d.stop() }
        let admin = try d.connect()
        try seedTeam(admin)
        #expect(try ok(d, ["user", "update", "ivanov", "--commission", "2%", "--team", "North"]).contains("commission 2%, team North"))
        let client = try admin.call("client.create", ["name": "Romashka LLC", "owner": "ivanov", "phones": ["+7 901 111-22-33"]])["id"]!
        let deal = try admin.call("deal.create", ["client_id": client, "title": "Million order"])["id"]!
        _ = try admin.call("deal.move", ["id": deal, "stage": "Proposal sent"])
        _ = try admin.call("deal.close", ["id": deal, "outcome": "won", "amount": 100_000_000])
        let other = try admin.call("client.create", ["name": "Secret Client", "owner": "sidorov"])["id"]!
        let lost = try admin.call("deal.create", ["client_id": other, "title": "Secret deal"])["id"]!
        _ = try admin.call("deal.close", ["id": lost, "outcome": "lost", "reason": "Price"])

        let table = try ok(d, ["report", "commission", "--period", "2026-12", "--as", "petrova"])
        #expect(table.contains("basis won (RUB)"))
        let row = try #require(table.split(separator: "\n").first { $0.hasPrefix("ivanov") })
        #expect(row.contains("1 000 000.00") && row.contains("2%") && row.contains("20 000.00"))
        let lines = try ok(d, ["report", "commission", "--period", "2026-12", "--lines", "--as", "petrova"])
        #expect(lines.contains("Million order") && lines.contains("user"))
        let json = try JSONParser.parse(try ok(d, ["report", "commission", "--from", "2026-12-01", "--to", "2026-12-31", "--json"]))
        #expect(json["items"]?.arrayValue?.first?["commission"] == 2_000_000)
        let csv = try ok(d, ["report", "commission", "--period", "2026-12", "--csv"])
        #expect(csv.contains("manager,deals,base,rate_bp,commission\r\n"))
        #expect(csv.hasSuffix("\r\nivanov,1,1000000.00,200,20000.00") || csv.contains("\r\nivanov,1,1000000.00,200,20000.00\r\n"))
        // sidorov's own report: his row only, nothing of ivanov's.
        let own = try ok(d, ["report", "sales", "--period", "2026-12", "--as", "sidorov"])
        #expect(own.contains("sidorov") && !own.contains("ivanov"))
        let ownCommission = try ok(d, ["report", "commission", "--period", "2026-12", "--lines", "--as", "sidorov"])
        #expect(!ownCommission.contains("Million") && !ownCommission.contains("ivanov"))

        let funnel = try ok(d, ["report", "funnel", "--period", "2026-12"])
        let newDeal = try #require(funnel.split(separator: "\n").first { $0.hasPrefix("New deal") })
        #expect(newDeal.contains("50%") && newDeal.contains("██████████"))  // 1 of 2 went on
        let funnelCSV = try ok(d, ["report", "funnel", "--period", "2026-12", "--csv"])
        #expect(funnelCSV.contains(",New deal,2,1,0,1,0,0,50,0,0\r\n"))

        let sales = try ok(d, ["report", "sales", "--period", "2026-12", "--by", "team", "--csv"])
        #expect(sales.contains("North,1,1000000.00,0,,100,0.00,1000000.00,0\r\n"))
        #expect(sales.contains("(no team),0,0.00,1,Price 1,0,0.00,,\r\n"))

        let completeness = try ok(d, ["report", "completeness"])
        #expect(completeness.contains("ivanov") && completeness.contains("all clients"))
        #expect(try ok(d, ["report", "completeness", "--csv"]).contains("all,2,0,0,"))

        // Two days on: the scheduler recorded two daily zone snapshots.
        _ = try admin.call("clock.advance", ["by": "P1D"])
        _ = try admin.call("clock.advance", ["by": "P1D"])
        let zones = try ok(d, ["report", "zones"])
        #expect(zones.contains("zones over time"))
        let daily = try ok(d, ["report", "zones", "--daily"])
        #expect(daily.contains("2026-12-08") && daily.contains("2026-12-09"))
        #expect(try ok(d, ["report", "zones", "--csv"]).contains("day,manager,green,yellow,red,exchange\r\n"))
        #expect(try crmctl(d, ["report", "sales"]).status != 0)  // no period
    }
}
