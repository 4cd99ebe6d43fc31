import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import Testing

/// Seed 002 items 6–7 on the real crmd and crmctl: wholesale clients buy for 100,000 closed in a
/// day, retail ones for 1,000 in 30 days; each segment's statistics reproduce the averages,
/// counts and win rates worked out here from the deals the test plays, and a segment becomes an
/// SMS list with `crmctl export mailing`.
@Suite("Segments: seed 002's wholesale and retail on the real binary")
struct SegmentSeed002Tests {
    static let start = "2026-10-01T07:00:00Z"

    func crmctl(_ d: TestDaemon, _ args: [String]) throws -> (status: Int32, out: String, err: String) {
        let r = try runProcess(
            TestDaemon.binaryPath(named: "crmctl"), args + ["--socket", d.socketPath], environment: ["NO_COLOR": "1", "COLUMNS": ""])
        return (r.status, r.out, r.err)
    }

    /// A story of one segment: the won amounts (major units) and how many deals were lost.
    struct Story {
        var label: String
        var owner: String
        var won: [Int64]
        var lost: Int
        var days: Int

        var clients: Int { won.count + lost }
        var averageMinor: Int64 { won.reduce(0, +) * 100 / Int64(won.count) }
        var winRate: Double { (Double(won.count) * 1000 / Double(clients)).rounded() / 10 }
    }

    /// A JSON number as a Double (crmd writes 75.0 as 75).
    static func number(_ j: JSON?) -> Double? {
        switch j {
        case .int(let i)?: return Double(i)
        case .double(let d)?: return d
        default: return nil
        }
    }

    @Test("segment.stats reproduces wholesale (100,000 in 1 day) and retail (1,000 in 30 days); crmctl exports the SMS list")
    func wholesaleAndRetail() throws {
        let d = try TestDaemon(arguments: ["--clock", "manual", "--clock-start", Self.start])
        try d.start()
        defer { d.stop() }
        let admin = try d.connect()
        try seedTeam(admin)
        let wholesale = Story(label: "wholesale", owner: "ivanov", won: [90_000, 100_000, 110_000], lost: 1, days: 1)
        let retail = Story(label: "retail", owner: "sidorov", won: [800, 1_000, 1_200, 1_000], lost: 1, days: 30)
        var deals: [String: [JSON]] = [:]
        var phone = 1_000_000
        for story in [wholesale, retail] {
            let manager = try DealTest.connect(d, as: story.owner)
            for i in 0..<story.clients {
                phone += 1
                let c = try manager.call(
                    "client.create",
                    ["name": .string("\(story.label) \(i)"), "segment": .string(story.label), "phones": [.string("+7916\(phone)")]])["id"]!
                deals[story.label, default: []].append(
                    try manager.call("deal.create", ["client_id": c, "title": .string("Order \(i)")])["id"]!)
            }
        }
        // A wholesale client who opted out stays a client of the segment but leaves the SMS list.
        let optedOut = try admin.call("client.list", ["segment": "wholesale"])["items"]!.arrayValue![0]["id"]!
        _ = try admin.call("client.update", ["id": optedOut, "opt_out": true])
        for story in [wholesale, retail].sorted(by: { $0.days < $1.days }) {
            _ = try admin.call(
                "clock.set", ["to": .string(RFC3339.format(RFC3339.parse(Self.start)!.addingTimeInterval(Double(story.days) * 86_400)))])
            let manager = try DealTest.connect(d, as: story.owner)
            for (i, deal) in (deals[story.label] ?? []).enumerated() {
                if i < story.won.count {
                    _ = try manager.call("deal.close", ["id": deal, "outcome": "won", "amount": .int(story.won[i] * 100)])
                } else {
                    _ = try manager.call("deal.close", ["id": deal, "outcome": "lost", "reason": "Price"])
                }
            }
        }

        for story in [wholesale, retail] {
            let name = story.label.capitalized
            let made = try crmctl(
                d, ["segment", "create", name, "--filter", "{\"segment\":\"\(story.label)\"}", "--json", "--as", "petrova"])
            #expect(made.status == 0, "\(made.err)")
            let stats = try crmctl(
                d,
                ["segment", "stats", name, "--from", "2026-09-30T21:00:00Z", "--to", "2026-11-30T21:00:00Z", "--json", "--as", "petrova"])
            #expect(stats.status == 0, "\(stats.err)")
            let r = try JSONParser.parse(stats.out)
            #expect(r["clients"] == .int(Int64(story.clients)), "\(story.label)")
            #expect(r["won"] == .int(Int64(story.won.count)), "\(story.label)")
            #expect(r["lost"] == .int(Int64(story.lost)), "\(story.label)")
            #expect(r["avg_deal_amount"] == .int(story.averageMinor), "\(story.label): \(stats.out)")
            #expect(Self.number(r["avg_deal_days"]) == Double(story.days), "\(story.label): \(stats.out)")
            #expect(Self.number(r["win_rate"]) == story.winRate, "\(story.label): \(stats.out)")
            #expect(r["revenue"] == .int(story.won.reduce(0, +) * 100), "\(story.label)")
            #expect(r["zones"]?["green"]?["clients"] == .int(Int64(story.clients)), "\(story.label)")
        }
        // The table and the CSV a person reads.
        let table = try crmctl(d, ["segment", "stats", "Wholesale", "--period", "2026-10", "--as", "petrova"])
        #expect(table.out.contains("won / lost       3 / 1  win rate 75.0%"), "\(table.out)")
        #expect(table.out.contains("average deal     100000.00 RUB, 1.0 days"), "\(table.out)")
        let csv = try crmctl(d, ["segment", "stats", "Retail", "--period", "2026-10", "--csv", "--as", "petrova"])
        #expect(csv.out.contains("Retail,5,5,0,0,0,0,4,1,80.0,1000.00,30.0,4000.00,RUB"), "\(csv.out)")

        // The SMS list of the wholesale segment, to a file: three numbers (one client opted out).
        let dir = try temporaryFolder("crmd-mailing")
        let file = dir.appendingPathComponent("wholesale.csv").path
        let export = try crmctl(d, ["export", "mailing", "Wholesale", "--sms", "--out", file, "--page-size", "2", "--as", "petrova"])
        #expect(export.status == 0, "\(export.err)")
        #expect(export.err.contains("3 phones written"), "\(export.err)")
        // Two pages (--page-size 2), each row on its own CRLF-ended line.
        let text = try String(contentsOfFile: file, encoding: .utf8)
        #expect(text == "phone\r\n+79161000002\r\n+79161000003\r\n+79161000004\r\n", "\(text)")
        // A manager's export holds only their own clients' numbers.
        let own = try crmctl(d, ["export", "mailing", "Wholesale", "--sms", "--as", "sidorov"])
        #expect(own.status == 0 && own.out.trimmingCharacters(in: .whitespacesAndNewlines) == "phone", "[\(own.out)] \(own.err)")
        let history = try admin.call("client.history", ["id": optedOut])
        #expect(JSONWriter.string(history).contains("opt_out"))

        // A static segment through crmctl: create, add, members, delete.
        let ids = try admin.call("client.list", ["segment": "retail"])["items"]!.arrayValue!.compactMap { $0["id"]?.intValue }
        let vip = try crmctl(d, ["segment", "create", "VIP", "--static", "--client", String(ids[0]), "--as", "petrova"])
        #expect(vip.status == 0, "\(vip.err)")
        let add = try crmctl(d, ["segment", "update", "VIP", "--add", String(ids[1]), "--name", "VIP retail", "--as", "petrova"])
        #expect(add.out.contains("added   ") || add.out.contains("added    1"), "\(add.out) \(add.err)")
        let members = try crmctl(d, ["segment", "members", "VIP retail", "--as", "petrova"])
        #expect(members.out.contains("retail 0") && members.out.contains("retail 1"), "\(members.out)")
        let list = try crmctl(d, ["segment", "list", "--as", "sidorov"])
        #expect(list.out.contains("VIP retail") && list.out.contains("Wholesale"), "\(list.out)")
        let deleted = try crmctl(d, ["segment", "delete", "VIP retail", "--as", "petrova"])
        #expect(deleted.status == 0 && deleted.out.contains("deleted"), "\(deleted.err)")
    }
}
