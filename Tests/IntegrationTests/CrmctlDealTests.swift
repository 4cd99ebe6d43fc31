import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import Testing

/// The real crmctl binary against the real crmd on a manual clock: deals through the stages,
/// an attachment there and back, the pipeline board in a narrow terminal, and the day's list.
@Suite("crmctl deal, task, pipeline and today")
struct CrmctlDealTests {
    static let start = "2026-12-07T07:00:00Z"

    struct Run {
        var status: Int32
        var out: String
        var err: String
    }

    /// Runs crmctl on `d`'s socket, without colors, in a terminal `columns` wide when given.
    func crmctl(_ d: TestDaemon, _ args: [String], columns: Int? = nil) throws -> Run {
        var env = ["NO_COLOR": "1", "COLUMNS": ""]
        if let columns { env["COLUMNS"] = String(columns) }
        let r = try runProcess(TestDaemon.binaryPath(named: "crmctl"), args + ["--socket", d.socketPath], environment: env)
        return Run(status: r.status, out: r.out, err: r.err)
    }

    /// The --json output of a crmctl run that must succeed.
    func json(_ r: Run) throws -> JSON {
        try #require(r.status == 0, "crmctl failed (\(r.status)): \(r.err)")
        return try JSONParser.parse(r.out)
    }

    /// A crmd on a manual clock with a head, two managers and a client of ivanov's.
    func withStory<T>(_ body: (TestDaemon, Connection, Int64) throws -> T) throws -> T {
        let d = try TestDaemon(arguments: ["--clock", "manual", "--clock-start", Self.start])
        try d.start()
        defer { d.stop() }
        let admin = try d.connect()
        try seedTeam(admin)
        let client = try admin.call("client.create", ["name": "Romashka LLC", "owner": "ivanov"])["id"]!.intValue!
        return try body(d, admin, client)
    }

    @Test("deal add, move, next and won through crmctl, checked in its --json output and in crmd")
    func dealThroughStages() throws {
        try withStory { d, admin, client in
            let made = try json(
                crmctl(
                    d,
                    [
                        "deal", "add", String(client), "Annual supply", "--amount", "12 500,50", "--source", "website", "--json", "--as",
                        "ivanov",
                    ]))
            #expect(made["amount"]?.intValue == 1_250_050)
            #expect(made["stage"]?.stringValue == "New deal")
            #expect(made["owner_login"]?.stringValue == "ivanov")
            #expect(made["status"]?.stringValue == "open")
            let id = try #require(made["id"]?.intValue)

            let moved = try json(crmctl(d, ["deal", "move", String(id), "proposal s", "--json", "--as", "ivanov"]))
            #expect(moved["stage"]?.stringValue == "Proposal sent")
            let next = try json(crmctl(d, ["deal", "next", String(id), "--json", "--as", "ivanov"]))
            #expect(next["stage"]?.stringValue == "Proposal under review")

            // A manager may not skip a stage: crmd's 1008, reported on stderr with a non-zero exit.
            let skip = try crmctl(d, ["deal", "move", String(id), "Contract discussion", "--as", "ivanov"])
            #expect(skip.status == 1)
            #expect(skip.err.contains("error 1008"), "\(skip.err)")

            let won = try json(crmctl(d, ["deal", "won", String(id), "--amount", "12000", "--json", "--as", "ivanov"]))
            #expect(won["status"]?.stringValue == "won")
            #expect(won["amount"]?.intValue == 1_200_000)

            // crmd agrees: four steps recorded (opened, two moves, won).
            let stored = try admin.call("deal.get", ["id": .int(id)])
            #expect(stored["status"]?.stringValue == "won")
            #expect(
                stored["moves"]?.arrayValue?.map { str($0["to"]) } == [
                    "New deal", "Proposal sent", "Proposal under review", "Proposal under review",
                ])

            let card = try crmctl(d, ["deal", "show", String(id), "--as", "ivanov"])
            #expect(card.status == 0)
            #expect(card.out.contains("Proposal sent → Proposal under review"), "\(card.out)")
            #expect(card.out.contains("12 000.00 RUB"), "\(card.out)")
        }
    }

    @Test("deal attach and get-attachment bring a 1.3 MB file back byte for byte, private, never over an existing file")
    func attachmentRoundTrip() throws {
        try withStory { d, admin, client in
            let id = try admin.call("deal.create", ["client_id": .int(client), "title": "Printers"])["id"]!.intValue!
            let dir = try temporaryFolder("crmctl-attach")
            defer { try? FileManager.default.removeItem(at: dir) }
            var bytes = [UInt8](repeating: 0, count: 1_363_149)  // three chunks of at most 512 KiB
            var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
            for i in bytes.indices {
                seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                bytes[i] = UInt8(truncatingIfNeeded: seed >> 33)
            }
            let original = Data(bytes)
            let file = dir.appendingPathComponent("proposal.pdf").path
            try original.write(to: URL(fileURLWithPath: file))

            let attached = try json(crmctl(d, ["deal", "attach", String(id), file, "--json", "--as", "ivanov"]))
            #expect(attached["complete"]?.boolValue == true)
            #expect(attached["size"]?.intValue == Int64(original.count))
            #expect(attached["content_type"]?.stringValue == "application/pdf")
            let aid = try #require(attached["id"]?.intValue)

            let copy = dir.appendingPathComponent("copy.pdf").path
            let got = try crmctl(d, ["deal", "get-attachment", String(aid), "-o", copy, "--as", "ivanov"])
            #expect(got.status == 0, "\(got.err)")
            #expect(FileManager.default.contents(atPath: copy) == original)
            var st = stat()
            #expect(stat(copy, &st) == 0 && st.st_mode & 0o777 == 0o600)

            // Not over an existing file without --force; a symbolic link is not followed either way.
            let again = try crmctl(d, ["deal", "get-attachment", String(aid), "-o", copy, "--as", "ivanov"])
            #expect(again.status == 73 && again.err.contains("--force"), "\(again.err)")
            let link = dir.appendingPathComponent("link.pdf").path
            try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: file)
            let viaLink = try crmctl(d, ["deal", "attach", String(id), link, "--as", "ivanov"])
            #expect(viaLink.status == 66 && viaLink.err.contains("symbolic link"), "\(viaLink.err)")
        }
    }

    @Test("the pipeline board is never wider than COLUMNS, and uses a wide terminal")
    func boardFitsTheTerminal() throws {
        try withStory { d, admin, client in
            let other = try admin.call("client.create", ["name": "Vasilek JSC", "owner": "sidorov"])["id"]!.intValue!
            for (c, title, amount) in [(client, "Paper", 1_250_050), (client, "Service", 35_000_000), (other, "Printers", 125_000_000_000)]
            {
                let made = try admin.call("deal.create", ["client_id": .int(c), "title": .string(title), "amount": .int(amount)])
                if title == "Service" { _ = try admin.call("deal.move", ["id": made["id"]!, "stage": "Proposal sent"]) }
            }
            _ = try admin.call("clock.advance", ["by": "P2D"])  // New deal's cadence is two days: overdue
            for width in [20, 40, 60, 100, 160] {
                let board = try crmctl(d, ["pipeline", "--as", "petrova"], columns: width)
                #expect(board.status == 0, "\(board.err)")
                for line in board.out.split(separator: "\n") {
                    #expect(line.count <= width, "COLUMNS=\(width): \(line.count) characters: \(line)")
                }
                #expect(board.out.contains("ivanov") && board.out.contains("sidorov"), "the per-owner lines at \(width):\n\(board.out)")
            }
            let narrow = try crmctl(d, ["pipeline", "--as", "petrova"], columns: 60)
            #expect(narrow.out.contains("2 overdue"), "\(narrow.out)")
            let wide = try crmctl(d, ["pipeline", "--as", "petrova"], columns: 160)
            let stageRow = wide.out.split(separator: "\n").first { $0.hasPrefix("New deal") }
            #expect(stageRow?.contains("Contract discussion") == true, "every stage name whole on one line at 160:\n\(wide.out)")
        }
    }

    @Test("today lists a task under today's tasks, then as overdue once the clock passes its due time")
    func todayListsOverdueTask() throws {
        try withStory { d, admin, client in
            let task = try json(
                crmctl(
                    d,
                    [
                        "task", "add", "Call about the discount", "--due", "2026-12-07T09:00:00Z", "--client", String(client), "--kind",
                        "call", "--json", "--as", "ivanov",
                    ]))
            let tid = try #require(task["id"]?.intValue)

            let before = try crmctl(d, ["today", "--as", "ivanov"])
            #expect(before.status == 0, "\(before.err)")
            #expect(before.out.contains("Overdue tasks: none."), "\(before.out)")
            #expect(before.out.contains("Tasks due later today (1)"), "\(before.out)")

            _ = try admin.call("clock.advance", ["by": "PT3H"])
            let after = try crmctl(d, ["today", "--as", "ivanov"])
            #expect(after.out.contains("Overdue tasks (1)"), "\(after.out)")
            let overdueSection = after.out.components(separatedBy: "Tasks due later today")[0]
            #expect(overdueSection.contains("Call about the discount") && overdueSection.contains("overdue"), "\(after.out)")
            #expect(after.out.contains("Tasks due later today: none."), "\(after.out)")
            let day = try json(crmctl(d, ["today", "--json", "--as", "ivanov"]))
            #expect(day["tasks_overdue"]?.arrayValue?.map { $0["id"]?.intValue } == [tid])

            // Done with a result: the call is logged, and the day is clear.
            let done = try json(crmctl(d, ["task", "done", String(tid), "--result", "agreed", "--json", "--as", "ivanov"]))
            #expect(done["interaction"]?["kind"]?.stringValue == "call")
            #expect(try crmctl(d, ["today", "--as", "ivanov"]).out.contains("Overdue tasks: none."))
        }
    }
}

private func str(_ v: JSON?) -> String { v?.stringValue ?? "" }
