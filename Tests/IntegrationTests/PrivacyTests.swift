import CRMClient
import CRMCore
import CRMProtocol
import CRMTestSupport
import Foundation
import Testing

/// docs/reliability.md, "Rights": no leaks between managers, an audit entry for every write, and
/// text stored literally. All over the real socket, on a real crmd.
@Suite("Privacy, audit and literal text")
struct PrivacyTests {
    /// Rows of a query on crmd's database through the sqlite3 shell (crmd may be running: WAL).
    func sql(_ d: TestDaemon, _ query: String) throws -> [[String]] {
        let r = try runProcess("/usr/bin/env", ["sqlite3", "-batch", "-noheader", "-separator", "|", d.databasePath, query])
        #expect(r.status == 0, "\(r.err)")
        return r.out.split(separator: "\n").map { $0.split(separator: "|", omittingEmptySubsequences: false).map(String.init) }
    }

    /// Calls and returns the whole reply as text (result or error), for searching.
    func text(_ c: Connection, _ method: String, _ params: JSON = [:]) -> String {
        do {
            return JSONWriter.string(try c.call(method, params))
        } catch {
            return "\(error)"
        }
    }

    @Test("manager B never sees manager A's phones, e-mails, notes or history through any method, list, report or event")
    func noLeakBetweenManagers() throws {
        try withDaemon { d in
            let root = try d.connect()
            try seedTeam(root)
            let a = try d.connect()
            _ = try a.call("session.act_as", ["login": "ivanov"])
            let client = try a.call(
                "client.create",
                ["name": "Ivanov Secret Ltd", "phones": ["+7 999 000-11-22"], "emails": ["secret.a@ivanov.example"], "segment": "retail"])
            let id = client["id"]!
            let contact = try a.call(
                "contact.create",
                ["client_id": id, "name": "Hidden Person", "phones": ["+7 999 000-33-44"], "emails": ["contact.a@ivanov.example"]])
            _ = try a.call("interaction.log", ["client_id": id, "kind": "note", "note": "SECRET-NOTE-A"])
            _ = try a.call("client.update", ["id": id, "fields": ["secret": "SECRET-FIELD-A"]])
            // A second client of A's goes to the exchange, with its history.
            let gone = try a.call(
                "client.create", ["name": "Ivanov Released Ltd", "phones": ["+7 999 000-55-66"], "emails": ["gone.a@ivanov.example"]])
            _ = try a.call("interaction.log", ["client_id": gone["id"]!, "kind": "note", "note": "SECRET-NOTE-GONE"])
            _ = try a.call("client.release", ["id": gone["id"]!, "reason": "moving on"])

            // A's sale on the first client: a deal won, an invoice, a plan (issue 18's reports).
            let month = Period.containing(Date(), kind: .month, in: TimeZone(identifier: "Europe/Moscow")!).description
            // A's client called a tracked number first (issue 19): its sale counts for the channel.
            _ = try root.call("channel.create", ["name": "Context ads", "phones": ["+7 495 100-00-01"]])
            _ = try root.call("call.incoming", ["from": "+7 999 000-11-22", "to": "+7 495 100-00-01"])
            let deal = try a.call("deal.create", ["client_id": id, "title": "SECRET-DEAL-A", "amount": 100_000, "source": "website"])["id"]!
            _ = try a.call("deal.close", ["id": deal, "outcome": "won"])
            _ = try root.call(
                "invoice.create", ["deal_id": deal, "number": "SECRET-INV-A", "amount": 100_000, "due_date": "2030-01-01"])
            _ = try root.call("plan.set", ["user": "ivanov", "period": .string(month), "targets": ["calls": 5, "deals_won": 1]])

            let secrets = [
                "SECRET-DEAL-A", "SECRET-INV-A", "9990001122", "secret.a@ivanov.example", "9990003344", "contact.a@ivanov.example",
                "Hidden Person", "SECRET-NOTE-A",
                "SECRET-FIELD-A", "9990005566", "gone.a@ivanov.example", "SECRET-NOTE-GONE",
            ]
            let b = try d.connect()
            _ = try b.call("session.act_as", ["login": "sidorov"])
            var seen: [(String, String)] = []
            func sweep(_ method: String, _ params: JSON = [:]) {
                var reply = text(b, method, params)
                if method == "client.find_by_phone", case .object(var o)? = try? JSONParser.parse(reply) {
                    o["phone"] = nil  // the caller's own query, normalized
                    reply = JSONWriter.string(.object(o))
                }
                seen.append(("\(method) \(JSONWriter.string(params))", reply))
            }
            sweep("client.get", ["id": id])
            sweep("client.get", ["id": gone["id"]!])
            sweep("client.list")
            sweep("client.list", ["owner": "ivanov"])
            sweep("client.list", ["status": "assigned"])
            sweep("client.list", ["query": "Ivanov"])
            sweep("client.list", ["query": "+79990001122"])
            sweep("client.list", ["query": "8 999 000 33 44"])
            sweep("client.list", ["segment": "retail"])
            // The ABC/XYZ filters (issue 19) run only over B's own cards.
            _ = try root.call("abc.compute")
            sweep("client.list", ["abc": "A"])
            sweep("client.list", ["xyz": "Z", "status": "assigned"])
            sweep("client.find_by_phone", ["phone": "+7 999 000-11-22"])
            sweep("client.find_by_phone", ["phone": "+7 999 000-33-44"])
            sweep("client.history", ["id": id])
            sweep("client.history", ["id": gone["id"]!])
            sweep("client.explain", ["id": id])
            sweep("interaction.list", ["client_id": id])
            sweep("interaction.list", ["client_id": gone["id"]!])
            sweep("contact.list", ["client_id": id])
            sweep("contact.get", ["id": contact["id"]!])
            sweep("exchange.list")
            sweep("exchange.preview", ["days": 366])
            sweep("report.zones")
            // Every issue-18 report and list, as B: only B's own rows, never A's client names.
            let reports: [(String, JSON)] = [
                ("report.commission", ["period": .string(month), "lines": true]), ("report.funnel", ["period": .string(month)]),
                ("report.sales", ["period": .string(month)]), ("report.sales", ["period": .string(month), "by": "segment"]),
                ("report.sales", ["period": .string(month), "by": "source"]), ("report.activity", ["period": .string(month)]),
                ("report.completeness", [:]), ("report.plan", ["period": .string(month)]), ("plan.list", [:]),
                ("plan.progress", ["period": .string(month)]), ("invoice.list", [:]), ("report.channels", ["period": .string(month)]),
                ("channel.list", [:]),
            ]
            for (method, params) in reports {
                sweep(method, params)
                #expect(!seen.last!.1.contains("Ivanov Secret Ltd"), "\(method) names A's client: \(seen.last!.1.prefix(600))")
                #expect(!seen.last!.1.contains("ivanov"), "\(method) shows A's row: \(seen.last!.1.prefix(600))")
                // A's sale through the channel is A's: B's channel report does not count it.
                #expect(!seen.last!.1.contains("\"revenue\":100000"), "\(method) counts A's sale: \(seen.last!.1.prefix(600))")
            }
            // Segments (issue 19): shared ones over A's clients, made by the admin. B's members,
            // statistics and mailing lists of them hold none of A's; the admin's do (the sweep
            // reaches A's clients).
            let dynamic = try root.call(
                "segment.create", ["name": "Privacy retail", "kind": "dynamic", "filter": ["segment": "retail"]])["id"]!
            let listed = try root.call(
                "segment.create", ["name": "Privacy list", "kind": "static", "client_ids": [id, gone["id"]!]])["id"]!
            #expect(text(root, "segment.members", ["id": dynamic]).contains("Ivanov Secret Ltd"))
            #expect(text(root, "segment.mailing", ["id": listed, "channel": "sms"]).contains("9990001122"))
            for segment in [dynamic, listed] {
                for (method, extra) in [
                    ("segment.get", nil), ("segment.members", nil), ("segment.stats", nil), ("segment.mailing", "sms"),
                    ("segment.mailing", "email"),
                ] {
                    var params: JSONObject = ["id": segment]
                    if let extra { params["channel"] = .string(extra) }
                    sweep(method, .object(params))
                    #expect(!seen.last!.1.contains("Ivanov"), "\(method) names A's client: \(seen.last!.1.prefix(600))")
                    #expect(seen.last!.1.contains("\"clients\":0") || method != "segment.stats", "\(seen.last!.1.prefix(600))")
                }
            }
            sweep("segment.list")
            sweep("alert.list")
            sweep("user.list")
            sweep("server.status")
            // Events: a replay of the whole log as B, then live, until an event B surely sees: a
            // client B creates on another connection after everything else.
            _ = try b.call("subscribe", ["since": 0])
            let b2 = try d.connect()
            _ = try b2.call("session.act_as", ["login": "sidorov"])
            let marker = try b2.call("client.create", ["name": "Sidorov marker"])["id"]!
            var events = ""
            var eventCount = 0
            while let line = try b.readJSON() {
                events += JSONWriter.string(line)
                eventCount += 1
                if line["params"]?["topic"] == "client.created", line["params"]?["data"]?["client_id"] == marker { break }
            }
            #expect(eventCount >= 2 && events.contains("client.released"))  // the release of A's client, and B's marker
            seen.append(("events", events))
            for (what, reply) in seen {
                for secret in secrets {
                    #expect(!reply.contains(secret), "\(what) leaks '\(secret)': \(reply.prefix(600))")
                }
            }
            // And the sweep did reach A's clients: the restricted card and the exchange item are there.
            #expect(seen[0].1.contains("Ivanov Secret Ltd") && seen[0].1.contains("\"restricted\":true"), "\(seen[0].1)")
            #expect(seen.first { $0.0.hasPrefix("exchange.list") }!.1.contains("Ivanov Released Ltd"))
            // A still sees everything of their own.
            #expect(text(a, "client.get", ["id": id]).contains("9990001122"))
        }
    }

    @Test("manager B never sees manager A's deals, comments, files or tasks through any method, list, board, day or event (issue 17 §9)")
    func noDealLeakBetweenManagers() throws {
        let d = try TestDaemon(arguments: ["--clock", "manual", "--clock-start", "2026-01-12T09:00:00Z"])  // Monday, 12:00 Moscow
        try d.start()
        defer { d.stop() }
        let root = try d.connect()
        try seedTeam(root)
        let a = try d.connect()
        _ = try a.call("session.act_as", ["login": "ivanov"])
        let b = try d.connect()
        _ = try b.call("session.act_as", ["login": "sidorov"])
        let head = try d.connect()
        _ = try head.call("session.act_as", ["login": "petrova"])
        let aClient = try a.call("client.create", ["name": "Ivanov Deal Client Ltd"])["id"]!
        let deal = try a.call(
            "deal.create", ["client_id": aClient, "title": "SECRET-DEAL-A", "amount": 123_456_789, "source": "SECRET-SOURCE-A"])["id"]!
        _ = try a.call("interaction.log", ["client_id": aClient, "deal_id": deal, "kind": "note", "note": "SECRET-COMMENT-A"])
        let task = try a.call(
            "task.create",
            [
                "title": "SECRET-TASK-A", "note": "SECRET-TASK-NOTE-A", "kind": "call", "due_at": "2026-01-12T10:00:00Z", "deal_id": deal,
            ])["id"]!
        let file = try a.call(
            "deal.attach",
            ["deal_id": deal, "name": "SECRET-PROPOSAL-A.pdf", "size": 11, "sha256": .string(RightsTests.Fixture.fileSHA256)])["id"]!
        _ = try a.call("deal.attach_write", ["id": file, "offset": 0, "data": .string(RightsTests.Fixture.fileBase64)])
        _ = try a.call("deal.move", ["id": deal, "stage": "Proposal sent"])
        _ = try a.call("task.update", ["id": task, "note": "SECRET-TASK-NOTE-A2"])
        let won = try a.call("deal.create", ["client_id": aClient, "title": "SECRET-WON-A"])["id"]!
        _ = try a.call("deal.close", ["id": won, "outcome": "won", "amount": 55_500])
        _ = try head.call("deal.reopen", ["id": won])
        // A deal of A's on a client of B's (a head may give a deal to another owner): B sees his
        // client, not A's deal on it.
        let bClient = try b.call("client.create", ["name": "Sidorov Client Ltd"])["id"]!
        let cross = try head.call("deal.create", ["client_id": bClient, "title": "SECRET-CROSS-A", "owner": "ivanov"])["id"]!
        let bDeal = try b.call("deal.create", ["client_id": bClient, "title": "Sidorov own deal"])["id"]!
        _ = try root.call("clock.advance", ["by": "PT1H"])  // A's task falls due
        _ = try root.call("clock.advance", ["by": "P3D"])  // A's deals fall overdue
        let task2 = try a.call("task.create", ["title": "SECRET-TASK-A-DONE", "due_at": "2026-01-16T09:00:00Z"])["id"]!
        _ = try a.call("task.done", ["id": task2])
        #expect(try a.call("deal.get", ["id": deal])["overdue"] == true)

        let secrets = [
            "SECRET-DEAL-A", "SECRET-SOURCE-A", "SECRET-COMMENT-A", "SECRET-TASK", "SECRET-PROPOSAL-A", "SECRET-WON-A", "SECRET-CROSS-A",
            "123456789", "1234567.89", RightsTests.Fixture.fileBase64,
        ]
        var seen: [(String, String)] = []
        func sweep(_ method: String, _ params: JSON = [:]) {
            seen.append(("\(method) \(JSONWriter.string(params))", text(b, method, params)))
        }
        for id in [deal, won, cross] { sweep("deal.get", ["id": id]) }
        for params: JSON in [
            [:], ["status": "open"], ["status": "won"], ["client_id": aClient], ["client_id": bClient], ["owner": "ivanov"],
            ["overdue": true],
            ["stage": "Proposal sent"], ["stage": "New deal"],
        ] { sweep("deal.list", params) }
        for id in [aClient, bClient] {
            sweep("client.get", ["id": id])
            sweep("interaction.list", ["client_id": id])
            sweep("client.history", ["id": id])
        }
        sweep("pipeline.board")
        sweep("pipeline.board", ["owner": "ivanov"])
        sweep("today")
        sweep("today", ["user": "ivanov"])
        for params: JSON in [[:], ["assignee": "ivanov"], ["assignee": .null], ["deal_id": deal], ["client_id": aClient], ["done": true]] {
            sweep("task.list", params)
        }
        sweep("deal.attachment_read", ["id": file])
        sweep("alert.list")
        // Writes on A's deal and task are refused, and leave them as they were.
        let before = try a.call("deal.get", ["id": deal])
        for (method, params) in [
            ("deal.update", ["id": deal, "title": "B was here"]), ("deal.move", ["id": deal, "stage": "Proposal under review"]),
            ("deal.close", ["id": deal, "outcome": "lost", "reason": "Price"]),
            (
                "deal.attach",
                [
                    "deal_id": deal, "name": "b.pdf", "size": 1,
                    "sha256": .string(String(repeating: "0", count: 64)),
                ]
            ), ("deal.attach_write", ["id": file, "offset": 11, "data": "AA=="]),
            ("task.update", ["id": task, "title": "B was here"]), ("task.done", ["id": task]),
            ("task.create", ["title": "B on A's deal", "due_at": "2026-02-01T09:00:00Z", "deal_id": deal]),
        ] as [(String, JSON)] {
            #expect(rpcErrorCode { try b.call(method, params) } == 1002, "\(method) by B on A's")
        }
        #expect(try a.call("deal.get", ["id": deal]) == before)
        // Events: a replay of the whole log as B, until B's marker deal (created after everything else).
        _ = try b.call("subscribe", ["since": 0])
        let marker = try d.connect()
        _ = try marker.call("session.act_as", ["login": "sidorov"])
        let markerDeal = try marker.call("deal.create", ["client_id": bClient, "title": "Sidorov marker"])["id"]!
        var events: [JSON] = []
        while let line = try b.readJSON() {
            events.append(line)
            if line["params"]?["topic"] == "deal.created", line["params"]?["data"]?["deal_id"] == markerDeal { break }
        }
        let topics = Set(events.compactMap { $0["params"]?["topic"]?.stringValue })
        #expect(topics.isSuperset(of: ["deal.created"]), "B sees his own deal events: \(topics)")
        for e in events {
            let data = e["params"]?["data"]
            #expect(![deal, won, cross].contains(data?["deal_id"] ?? .null), "an event on A's deal reached B: \(JSONWriter.string(e))")
            #expect(![task, task2].contains(data?["task_id"] ?? .null), "an event on A's task reached B: \(JSONWriter.string(e))")
        }
        seen.append(("events", events.map(JSONWriter.string).joined()))
        for (what, reply) in seen {
            for secret in secrets {
                #expect(!reply.contains(secret), "\(what) leaks '\(secret)': \(reply.prefix(600))")
            }
        }
        // The sweep reached real data: B's own deal is listed to him, and A's deals to the head and A.
        #expect(seen.first { $0.0 == "deal.list {}" }?.1.contains("Sidorov own deal") == true)
        #expect(try b.call("deal.get", ["id": bDeal])["title"] == "Sidorov own deal")
        let headList = try head.call("deal.list")["items"]?.arrayValue?.compactMap { $0["id"] } ?? []
        #expect([deal, won, cross].allSatisfy(headList.contains), "\(headList)")
        #expect(text(a, "deal.get", ["id": deal]).contains("SECRET-COMMENT-A"))
        #expect(text(a, "today").contains("SECRET-DEAL-A"))
    }

    @Test("a manager cannot probe another manager's segments through client.list filters (issue 15 §8)")
    func noSegmentProbe() throws {
        try withDaemon { d in
            let root = try d.connect()
            try seedTeam(root)
            _ = try root.call("client.create", ["name": "Sidorov VIP Co", "owner": "sidorov", "segment": "vip"])
            _ = try root.call("client.create", ["name": "Ivanov VIP Co", "owner": "ivanov", "segment": "vip"])
            let a = try d.connect()
            _ = try a.call("session.act_as", ["login": "ivanov"])
            // Naming the other manager with a segment: refused, not an empty or non-empty answer.
            do {
                _ = try a.call("client.list", ["owner": "sidorov", "segment": "vip"])
                Issue.record("the segment filter ran over sidorov's restricted cards")
            } catch let e as RPCError {
                #expect(e.code == 1002)
            }
            // Without an owner, or in a search: only his own cards are filtered by segment.
            for params: JSON in [["segment": "vip"], ["segment": "vip", "query": "VIP"], ["segment": "vip", "status": "assigned"]] {
                let names = try a.call("client.list", params)["items"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
                #expect(names == ["Ivanov VIP Co"], "\(JSONWriter.string(params)): \(names)")
            }
            // A head sees every segment.
            let names = try root.call("client.list", ["segment": "vip"])["items"]?.arrayValue?.count
            #expect(names == 2)
        }
    }

    @Test("every write leaves an audit entry naming the real user, and the admin behind session.act_as")
    func everyWriteIsAudited() throws {
        try withDaemon { d in
            let root = try d.connect()
            let rootLogin = try root.call("whoami")["user"]!["login"]!.stringValue!
            try seedTeam(root)
            _ = try root.call("user.add", ["login": "smirnova", "name": "Operator", "role": "operator"])
            func lastAuditID() throws -> Int64 { Int64(try sql(d, "SELECT coalesce(max(id), 0) FROM audit").first?.first ?? "0") ?? 0 }
            var checked = 0
            /// Runs one write acting as `login` and checks the audit entries it added.
            func write(_ login: String?, _ method: String, _ params: JSON) throws -> JSON {
                let c = try d.connect()
                if let login { _ = try c.call("session.act_as", ["login": .string(login)]) }
                let before = try lastAuditID()
                let result = try c.call(method, params)
                let rows = try sql(d, "SELECT actor_login, coalesce(acting_admin, '-') FROM audit WHERE id > \(before)")
                #expect(!rows.isEmpty, "\(method) left no audit entry")
                for r in rows {
                    #expect(r[0] == (login ?? rootLogin), "\(method): audit names \(r[0])")
                    #expect(r[1] == (login == nil ? "-" : rootLogin), "\(method): acting admin \(r[1])")
                }
                checked += 1
                return result
            }
            let c1 = try write("ivanov", "client.create", ["name": "Audited Ltd", "phones": ["+7 999 100-00-01"]])["id"]!
            let c2 = try write("ivanov", "client.create", ["name": "Audited Two"])["id"]!
            _ = try write("ivanov", "client.update", ["id": c1, "segment": "retail"])
            _ = try write("ivanov", "interaction.log", ["client_id": c1, "kind": "note", "note": "audited"])
            let k = try write("ivanov", "contact.create", ["client_id": c1, "name": "Audited Contact"])["id"]!
            _ = try write("ivanov", "contact.update", ["id": k, "position": "CFO"])
            _ = try write("ivanov", "contact.move", ["id": k, "client_id": c2])
            _ = try write("smirnova", "client.import", ["clients": [["name": "Imported Ltd"]]])
            _ = try write("petrova", "client.assign", ["id": c2, "owner": "sidorov"])
            _ = try write("ivanov", "client.release", ["id": c1, "reason": "audited release"])
            _ = try write("sidorov", "exchange.claim", ["id": c1])
            _ = try write(nil, "user.add", ["login": "temp", "name": "Temp", "role": "manager"])
            _ = try write(nil, "user.update", ["login": "temp", "name": "Temp Two"])
            _ = try write(nil, "user.deactivate", ["login": "temp"])
            _ = try write(nil, "session.act_as", ["login": "ivanov"])
            #expect(checked == 15)
            // session.act_as itself is audited as the real admin.
            let actAs = try sql(d, "SELECT actor_login FROM audit WHERE action = 'act_as'")
            #expect(!actAs.isEmpty && actAs.allSatisfy { $0[0] == rootLogin })
            // The protocol shows the same for the client's card.
            let hist = try root.call("client.history", ["id": c1])["items"]!.arrayValue!
            #expect(hist.map { $0["action"]!.stringValue! }.contains("claim"))
            #expect(hist.allSatisfy { $0["acting_admin"] == .string(rootLogin) })
        }
    }

    @Test("SQL, control characters, RTL marks and a ~1 MiB string are stored and returned byte for byte; U+0000 is refused")
    func literalText() throws {
        try withDaemon(environment: ["CRMD_PROTOCOL_MAX_LINE_BYTES": "2097152"]) { d in
            let root = try d.connect()
            try seedTeam(root)
            let sqlName = "Robert'); DROP TABLE clients;-- \" OR 1=1; --"
            let controls = String(String.UnicodeScalarView((1...0x1F).map { Unicode.Scalar($0)! } + [Unicode.Scalar(0x7F)!]))
            let marks = "\u{200F}\u{202E}\u{2066}\u{200E}\u{FEFF}"
            let note = "x" + controls + marks + sqlName + "y"
            let c = try root.call("client.create", ["name": .string(sqlName), "owner": "ivanov", "fields": ["k": .string(note)]])
            let id = c["id"]!
            #expect(c["name"] == .string(sqlName))
            let logged = try root.call("interaction.log", ["client_id": id, "kind": "note", "note": .string(note)])
            #expect(logged["interaction"]?["note"] == .string(note))
            // U+0000 is refused, never stored cut short (SQLite through GRDB would cut the text at it).
            let nul = rpcErrorCode { try root.call("interaction.log", ["client_id": id, "kind": "note", "note": "before\u{0}after"]) }
            #expect(nul == -32602)
            #expect(rpcErrorCode { try root.call("client.update", ["id": id, "segment": "a\u{0}b"]) } == -32602)
            #expect(rpcErrorCode { try root.call("client.update", ["id": id, "phones": ["+7 999 1\u{0}"]]) } == -32602)
            // 1 MB of UTF-8 with control characters and RTL overrides; escaped it is ~1.6 MB, so the line cap is 2 MiB here.
            let big = String(repeating: "Ж'\u{1}\u{202E};", count: 125_000) + "end"
            #expect(big.utf8.count > 1_000_000)
            let bigLogged = try root.call("interaction.log", ["client_id": id, "kind": "note", "note": .string(big)])
            #expect(bigLogged["interaction"]?["note"] == .string(big))
            d.stop()
            try d.start()
            let again = try d.connect()
            let card = try again.call("client.get", ["id": id])
            #expect(card["name"] == .string(sqlName))
            #expect(card["fields"]?["k"] == .string(note))
            let items = try again.call("interaction.list", ["client_id": id])["items"]!.arrayValue!
            let notes = Set(items.compactMap { $0["note"]?.stringValue })
            #expect(notes == [note, big])
            #expect(items.first { $0["note"]?.stringValue == big }?["note"]?.stringValue?.utf8.elementsEqual(big.utf8) == true)
            #expect(try again.call("client.list", ["query": "DROP TABLE"])["items"]?.arrayValue?.count == 1)
            #expect(try sql(d, "SELECT count(*) FROM clients").first?.first == "1")
        }
    }
}
