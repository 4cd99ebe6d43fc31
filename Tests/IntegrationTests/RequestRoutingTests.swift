import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import Testing

/// Issue 22, inbound requests: opened by the web form's operator account, routed to the client's
/// owner or the least loaded manager, re-routed when the SLA passes (heads alerted), taken into
/// a client and a deal; and a stranger's letter to the department address opens one.
@Suite("Inbound requests: routing, SLA re-routing, take")
struct RequestRoutingTests {
    @Test("owner match, least loaded, manager's own list, SLA re-route with the head's alert, take, absence, mail")
    func requests() throws {
        let d = try TestDaemon(
            environment: ["CRMD_REQUESTS_MAIL_ADDRESSES": "sales@crm.example"],
            arguments: ["--clock", "manual", "--clock-start", "2026-03-02T07:00:00Z"])  // Monday 10:00 in Moscow
        try d.start()
        defer { d.stop() }
        let admin = try d.connect()
        let (_, ivanov, sidorov) = try seedTeam(admin)
        _ = try admin.call("user.add", ["login": "form", "name": "Web form", "role": "operator"])
        let client = try admin.call("client.create", ["name": "ООО Ромашка", "owner": "ivanov", "phones": ["+7 901 000-00-01"]])["id"]!
        let form = try d.connect()
        _ = try form.call("session.act_as", ["login": "form"])

        // A known phone goes to the client's owner.
        let known = try form.call("request.create", ["name": "Анна", "phone": "8 (901) 000-00-01", "text": "Нужен счёт"])
        #expect(known["status"] == "routed")
        #expect(known["assignee"] == .int(ivanov))
        #expect(known["client_id"] == client)
        #expect(known["due_at"] == "2026-03-02T08:00:00Z")
        // A stranger goes to the least loaded manager (ivanov has a request waiting).
        let fresh = try form.call("request.create", ["name": "Пётр", "phone": "+7 902 111-22-33", "source": "site"])
        #expect(fresh["assignee"] == .int(sidorov))
        #expect(fresh["client_id"] == .null)
        #expect(rpcErrorCode { try form.call("request.create", ["text": "no way to answer"]) } == -32602)

        let iv = try d.connect()
        _ = try iv.call("session.act_as", ["login": "ivanov"])
        let mine = try iv.call("request.list", [:])["items"]?.arrayValue ?? []
        #expect(mine.map { $0["id"] } == [known["id"]])
        #expect(rpcErrorCode { try iv.call("request.take", ["id": fresh["id"]!]) } == 1002)

        // Both let the hour pass: at 08:00 exactly each request goes to the other, and the head is told.
        _ = try admin.call("clock.advance", ["by": "PT59M"])
        #expect(try admin.call("request.list", ["status": "routed", "assignee": "sidorov"])["items"]?.arrayValue?.count == 1)
        _ = try admin.call("clock.advance", ["by": "PT1M"])
        let moved = try admin.call("request.list", ["assignee": "ivanov", "status": "routed"])["items"]?.arrayValue ?? []
        #expect(moved.map { $0["id"] } == [fresh["id"]])
        #expect(try admin.call("request.list", ["assignee": "sidorov"])["items"]?.arrayValue?.map { $0["id"] } == [known["id"]])
        let rerouted = try #require(moved.first { $0["id"] == fresh["id"] })
        #expect(rerouted["reroutes"] == 1)
        #expect(rerouted["due_at"] == "2026-03-02T09:00:00Z")
        let head = try d.connect()
        _ = try head.call("session.act_as", ["login": "petrova"])
        let alerts = try head.call("alert.list", [:])["items"]?.arrayValue ?? []
        #expect(alerts.contains { $0["kind"] == "request_sla" })

        // Taken: a new client and a deal at the first stage, both ivanov's.
        let taken = try iv.call("request.take", ["id": fresh["id"]!])
        #expect(taken["status"] == "taken")
        let deal = try iv.call("deal.get", ["id": taken["deal_id"]!])
        #expect(deal["client_id"] == taken["client_id"])
        #expect(deal["owner"] == .int(ivanov) || deal["owner_id"] == .int(ivanov))
        #expect(rpcErrorCode { try iv.call("request.take", ["id": fresh["id"]!]) } == 1003)

        // Ivanov away: the next stranger goes to sidorov though he is the busier one (a request waiting).
        let away = try admin.call(
            "user.update",
            ["login": "ivanov", "absent_from": "2026-03-02T00:00:00Z", "absent_until": "2026-03-09T00:00:00Z", "competence": ["Moscow"]])
        #expect(away["absent_until"] == "2026-03-09T00:00:00Z")
        #expect(away["competence"] == ["Moscow"])
        #expect(rpcErrorCode { try admin.call("user.update", ["login": "ivanov", "competence": ["a,b"]]) } == -32602)
        let third = try form.call("request.create", ["email": "olga@example.com"])
        #expect(third["assignee"] == .int(sidorov))

        // A stranger's letter to the department address opens a request from the mail.
        let letter = """
            From: Ольга <olga2@example.org>\r
            To: sales@crm.example\r
            Subject: Price list\r
            Message-ID: <req.1@example.org>\r
            \r
            Please send prices.\r

            """
        let r = try form.call("mail.ingest", ["message": .string(Data(letter.utf8).base64EncodedString())])
        #expect(r["skipped"] == "unknown_sender")
        let opened = try #require(r["request"]?.intValue)
        let fromMail = try admin.call("request.list", ["status": "routed"])["items"]?.arrayValue?.first { $0["id"] == .int(opened) }
        #expect(fromMail?["source"] == "mail")
        #expect(fromMail?["email"] == "olga2@example.org")
    }
}

extension RequestRoutingTests {
    @Test("crmctl request add, list and take: a request opened from the command line, routed and taken")
    func crmctlRequests() throws {
        let d = try TestDaemon(arguments: ["--clock", "manual", "--clock-start", "2026-03-02T07:00:00Z"])
        try d.start()
        defer { d.stop() }
        let admin = try d.connect()
        _ = try seedTeam(admin)
        let bin = TestDaemon.binaryPath(named: "crmctl")
        let add = try runProcess(
            bin, ["request", "add", "--name", "Анна; rm -rf /", "--phone", "+7 903 555-00-11", "--quiet", "--socket", d.socketPath],
            environment: ["NO_COLOR": "1"])
        #expect(add.status == 0, "\(add.err)")
        let id = add.out.trimmingCharacters(in: .whitespacesAndNewlines)
        let list = try runProcess(bin, ["request", "list", "--status", "routed", "--socket", d.socketPath], environment: ["NO_COLOR": "1"])
        #expect(list.out.contains("request #\(id) routed, Анна; rm -rf /, +79035550011"), "\(list.out) \(list.err)")
        let q = try admin.call("request.list", [:])["items"]?.arrayValue?.first
        let assignee = try #require(q?["assignee"]?.intValue)
        let login = assignee == 2 ? "ivanov" : "sidorov"
        let take = try runProcess(
            bin, ["request", "take", id, "--as", login, "--socket", d.socketPath], environment: ["NO_COLOR": "1"])
        #expect(take.out.contains("taken"), "\(take.out) \(take.err)")
    }
}

extension RequestRoutingTests {
    @Test("examples/request-form/request-form.cgi: a POSTed form becomes a routed request; quotes and semicolons stay text")
    func requestFormCGI() throws {
        let d = try TestDaemon(arguments: ["--clock", "manual", "--clock-start", "2026-03-02T07:00:00Z"])
        try d.start()
        defer { d.stop() }
        let admin = try d.connect()
        _ = try seedTeam(admin)
        let body = "name=Anna+%27%3B+touch+%2Ftmp%2Fpwned%3B+%27&phone=%2B7+904+000-11-22&text=--socket%3D%2Fnonexistent"
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cgi-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("body")
        try Data(body.utf8).write(to: input)
        let cgi = ExamplesTests.example("request-form/request-form.cgi")
        let r = try runProcess(
            "/bin/sh", ["-c", "exec python3 '\(cgi)' < '\(input.path)'"],
            environment: [
                "REQUEST_METHOD": "POST", "CONTENT_LENGTH": String(body.utf8.count), "CRMD_SOCKET": d.socketPath,
                "CRMCTL": TestDaemon.binaryPath(named: "crmctl"),
            ])
        #expect(r.out.hasPrefix("Status: 303 See Other"), "\(r.out) \(r.err)")
        let q = try #require(try admin.call("request.list", [:])["items"]?.arrayValue?.first)
        #expect(q["name"] == "Anna '; touch /tmp/pwned; '")
        #expect(q["phone"] == "+79040001122")
        // A field that looks like an option stays the field's value (the CGI passes --text=VALUE).
        #expect(q["text"] == "--socket=/nonexistent")
        #expect(q["status"] == "routed")
        let get = try runProcess("/bin/sh", ["-c", "exec python3 '\(cgi)' < /dev/null"], environment: ["REQUEST_METHOD": "GET"])
        #expect(get.out.hasPrefix("Status: 405"))
    }
}
