import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import Testing

/// Call tracking end to end on the real binaries: a head sets up the channel and its spend with
/// crmctl, a script plays the PBX (Asterisk's and FreeSWITCH's dialplans from config/pbx/, run
/// as the PBX's own uid through the real crmctl), `crmctl watch` shows the screen pop, and
/// `crmctl report channels` gives seed 003's figures.
@Suite("crmctl channel, call incoming from a PBX, report channels")
struct CrmctlChannelTests {
    static let start = "2026-03-02T07:00:00Z"
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let pbxUID = 50_010

    func crmctl(_ d: TestDaemon, _ args: [String]) throws -> (status: Int32, out: String, err: String) {
        let r = try runProcess(
            TestDaemon.binaryPath(named: "crmctl"), args + ["--socket", d.socketPath], environment: ["NO_COLOR": "1", "COLUMNS": "100"])
        return (r.status, r.out, r.err)
    }

    /// Runs scripts/pbx-play.py as the PBX's uid with `calls` ("CALLERID EXTEN" lines) on stdin.
    func playPBX(_ d: TestDaemon, _ pbx: String, _ dialplan: String, _ calls: [String]) throws -> (status: Int32, err: String) {
        let dir = try temporaryFolder("pbx")
        defer { try? FileManager.default.removeItem(at: dir) }
        chmod(dir.path, 0o755)
        let input = dir.appendingPathComponent("calls.txt")
        try (calls.joined(separator: "\n") + "\n").write(to: input, atomically: true, encoding: .utf8)
        chmod(input.path, 0o644)
        let bin = URL(fileURLWithPath: TestDaemon.binaryPath(named: "crmctl")).deletingLastPathComponent().path
        let script = Self.root.appendingPathComponent("scripts/pbx-play.py").path
        let conf = Self.root.appendingPathComponent("config/pbx/\(dialplan)").path
        let r = try runProcess(
            "/bin/sh",
            [
                "-c",
                "exec /usr/bin/setpriv --reuid=\(Self.pbxUID) --regid=\(Self.pbxUID) --clear-groups python3 \"$0\" \"$1\" \"$2\" < \"$3\"",
                script, pbx, conf, input.path,
            ],
            environment: ["PATH": "\(bin):/usr/bin:/bin", "CRMD_SOCKET": d.socketPath, "HOME": "/tmp"])
        return (r.status, r.err)
    }

    @Test("seed 003 through the PBX hook and crmctl: 90,000 spend, 54 calls, 12 buyers at 9,000: 108,000 revenue, 18,000 profit")
    func seed003() throws {
        let d = try TestDaemon(arguments: ["--clock", "manual", "--clock-start", Self.start], world: true)
        try d.start()
        defer { d.stop() }
        let admin = try d.connect()
        _ = try seedTeam(admin)
        _ = try admin.call("user.add", ["login": "pbx", "name": "Asterisk", "role": "operator", "uid": .int(Int64(Self.pbxUID))])

        let add = try crmctl(d, ["channel", "add", "Контекстная реклама", "--phone", "8 (495) 100-00-01", "--as", "petrova"])
        #expect(add.status == 0, "\(add.err)")
        #expect(add.out.contains("+7 495 100-00-01"), "\(add.out)")
        let spend: Int64 = 90_000_00
        let set = try crmctl(d, ["channel", "spend", "Контекстная реклама", "2026-03", "90 000", "--as", "petrova"])
        #expect(set.status == 0, "\(set.err)")
        // A manager may not enter spend: crmd's 1002 on stderr.
        let refused = try crmctl(d, ["channel", "spend", "Контекстная реклама", "2026-03", "1", "--as", "ivanov"])
        #expect(refused.status != 0 && refused.err.contains("1002"), "\(refused.err)")

        // 54 callers: 50 through Asterisk's dialplan, 4 through FreeSWITCH's, each from its own
        // number, dialling the tracking number as the trunk delivers it. A made-up caller ID that
        // tries the shell (through both dialplans, which strip it before the shell) and a
        // withheld one go to the main line (untracked).
        let callers = (0..<54).map { String(format: "+7916300%04d", $0) }
        let hostile = "\"$(touch${IFS}/tmp/crmd-pbx-pwned)\""
        try? FileManager.default.removeItem(atPath: "/tmp/crmd-pbx-pwned")
        let asterisk = try playPBX(
            d, "asterisk", "asterisk-extensions.conf", callers.prefix(50).map { "\($0) 74951000001" } + ["\(hostile) 74950000000"])
        #expect(asterisk.status == 0, "\(asterisk.err)")
        let freeswitch = try playPBX(
            d, "freeswitch", "freeswitch-dialplan.xml",
            callers.suffix(4).map { "\($0) 74951000001" } + ["\(hostile) 74950000000", "- 74950000000"])
        #expect(freeswitch.status == 0, "\(freeswitch.err)")
        #expect(!FileManager.default.fileExists(atPath: "/tmp/crmd-pbx-pwned"))

        // Each call opened an unassigned lead with the channel as its source; the pop shows it.
        // (KILL: the test runner's children may inherit a mask that holds SIGTERM back.)
        let pop = try runProcess(
            "/usr/bin/timeout",
            [
                "-s", "KILL", "3", TestDaemon.binaryPath(named: "crmctl"), "watch", "--from-start", "--topics", "call.incoming", "--socket",
                d.socketPath,
            ],
            environment: ["NO_COLOR": "1", "HOME": NSTemporaryDirectory()])
        #expect(pop.out.contains("☎ INCOMING CALL from +79163000000 to +74951000001 via 'Контекстная реклама'"), "\(pop.out)")
        #expect(pop.out.contains("NEW LEAD #"), "\(pop.out)")
        #expect(pop.out.contains("☎ INCOMING CALL from a withheld number to +74950000000"), "\(pop.out)")

        // Twelve callers buy, at 9,000 on average.
        let average: Int64 = 9_000_00
        let buyers = 12
        let ivanov = try DealTest.connect(d, as: "ivanov")
        for (i, phone) in callers.prefix(buyers).enumerated() {
            let found = try admin.call("client.find_by_phone", ["phone": .string(phone)])
            let id = found["client"]!["id"]!
            #expect(found["client"]?["source"] == "Контекстная реклама")
            _ = try admin.call("client.assign", ["id": id, "owner": "ivanov"])
            let deal = try ivanov.call("deal.create", ["client_id": id, "title": .string("Заказ \(i)")])["id"]!
            _ = try ivanov.call("deal.close", ["id": deal, "outcome": "won", "amount": .int(average + (i % 2 == 0 ? 50_000 : -50_000))])
        }

        // The seed's arithmetic, independently: revenue = buyers × average; its 18,000 profit is
        // revenue less spend, so the margin is (profit + spend) / revenue.
        let revenue = Int64(buyers) * average
        let profit: Int64 = 18_000_00
        let marginBP = (profit + spend) * 10_000 / revenue
        let r = try crmctl(d, ["report", "channels", "--period", "2026-03", "--json", "--as", "petrova"])
        #expect(r.status == 0, "\(r.err)")
        let report = try JSONParser.parse(r.out)
        let row = report["items"]?.arrayValue?.first ?? .null
        #expect(row["spend"] == .int(spend))
        #expect(row["calls"] == 54)
        #expect(row["leads"] == 54)
        #expect(row["new_leads"] == 54)
        #expect(row["buyers"] == .int(Int64(buyers)))
        #expect(row["revenue"] == .int(revenue))
        #expect(row["margin_bp"] == .int(marginBP))
        #expect(row["profit"] == .int(profit))
        #expect(row["roi_bp"] == .int(profit * 10_000 / spend))
        #expect(report["untracked"]?["calls"] == 3)

        let table = try crmctl(d, ["report", "channels", "--period", "2026-03", "--as", "petrova"])
        #expect(table.status == 0, "\(table.err)")
        let squeezed = table.out.split(separator: "\n").map { $0.split(separator: " ").joined(separator: " ") }
        #expect(squeezed.contains("Контекстная реклама 90 000.00 54 54 12 108 000.00 18 000.00 1 666.67 20%"), "\(table.out)")
        #expect(table.out.contains("█"), "\(table.out)")
        let csv = try crmctl(d, ["report", "channels", "--period", "2026-03", "--csv", "--as", "petrova"])
        #expect(
            csv.out.contains(",Контекстная реклама,90000.00,54,54,54,12,12,108000.00,9000.00,10000,108000.00,18000.00,1666.67,2000"),
            "\(csv.out)")

        // A manager sees their own clients' figures and no other manager's names.
        let mine = try crmctl(d, ["report", "channels", "--period", "2026-03", "--json", "--as", "sidorov"])
        #expect(mine.status == 0, "\(mine.err)")
        #expect(try JSONParser.parse(mine.out)["items"]?.arrayValue?.first?["revenue"] == 0)

        // The buyer calls again: now the pop reaches ivanov, their owner, with the card's owner.
        let pops = try DealTest.connect(d, as: "ivanov")
        _ = try pops.call("subscribe", ["topics": ["call.incoming"]])
        let again = try playPBX(d, "asterisk", "asterisk-extensions.conf", ["\(callers[0]) 74951000001"])
        #expect(again.status == 0, "\(again.err)")
        let owned = try DealTest.next(pops, 1).first
        #expect(owned?["data"]?["owner_login"] == "ivanov")
        #expect(owned?["data"]?["lead_created"] == false)
        #expect(owned?["data"]?["zone"] == "green")
    }
}
