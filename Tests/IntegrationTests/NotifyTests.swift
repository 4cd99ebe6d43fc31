import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import Testing

/// Issue 22 part 4, telling the client: a taken request and a deal moved to a notify stage hand a
/// message rendered from the Russian templates to `notify.delivery_command` (here a script that
/// records its stdin); an opted-out client and one with no address get nothing, recorded as
/// skipped; a failing command is retried; a request closes with its deal or by `request.close`.
@Suite("Telling the client: the outbox, the templates, opt-outs, request close")
struct NotifyTests {
    /// A daemon on a Monday 10:00 in Moscow whose notify command appends each message to `out.jsonl`
    /// in its folder, and fails while a file `fail` is there.
    static func daemon(_ extra: [String: String] = [:]) throws -> (TestDaemon, URL) {
        let probe = try TestDaemon()
        let dir = probe.directory
        let out = dir.appendingPathComponent("out.jsonl")
        let env: [String: String] = [
            "CRMD_LANGUAGE": "ru",
            "CRMD_NOTIFY_DELIVERY_COMMAND": "test -e '\(dir.path)/fail' && exit 1; cat >> '\(out.path)'",
            "CRMD_NOTIFY_STAGES": "Proposal sent",
            "CRMD_NOTIFY_PHONE": "+7 495 123-45-67",
        ]
        probe.environment.merge(env.merging(extra, uniquingKeysWith: { $1 }), uniquingKeysWith: { $1 })
        probe.arguments = ["--clock", "manual", "--clock-start", "2026-03-02T07:00:00Z"]
        try probe.start()
        return (probe, out)
    }

    /// The messages the command received, one JSON object a line.
    static func sent(_ out: URL) throws -> [JSON] {
        guard let text = try? String(contentsOf: out, encoding: .utf8) else { return [] }
        return try text.split(separator: "\n").map { try JSONParser.parse(String($0)) }
    }

    @Test("request taken and deal moved: the Russian template reaches the command; opt-out and no address skipped; retries")
    func tellingTheClient() throws {
        let (d, out) = try Self.daemon()
        defer { d.stop() }
        let admin = try d.connect()
        let (_, ivanov, _) = try seedTeam(admin)
        _ = try admin.call("user.add", ["login": "form", "name": "Web form", "role": "operator"])
        _ = try admin.call("user.update", ["login": "ivanov", "extension": "200"])
        let form = try d.connect()
        _ = try form.call("session.act_as", ["login": "form"])
        let iv = try d.connect()
        _ = try iv.call("session.act_as", ["login": "ivanov"])

        // Taken: the request's e-mail gets the request_taken template in Russian.
        let q = try form.call("request.create", ["name": "Анна Смирнова", "email": "anna@example.com", "phone": "+7 903 555-00-11"])
        #expect(q["assignee"] == .int(ivanov))
        let taken = try iv.call("request.take", ["id": q["id"]!])
        _ = try admin.call("clock.advance", ["by": "PT1S"])
        var got = try Self.sent(out)
        try #require(got.count == 1, "crmd: \(d.currentStderr())")
        let first = got[0]
        #expect(first["template"] == "request_taken")
        #expect(first["channel"] == "email")
        #expect(first["to"] == "anna@example.com")
        #expect(first["subject"] == .string("Ваша заявка №\(q["id"]!.intValue!) принята"))
        let text = first["text"]?.stringValue ?? ""
        #expect(text.contains("Здравствуйте, Анна Смирнова!"))
        #expect(text.contains("Ivan Ivanov, телефон +7 495 123-45-67 доб. 200"), "\(text)")
        #expect(first["client_id"] == taken["client_id"])
        #expect(first["deal_id"] == taken["deal_id"])
        #expect(first["request_id"] == q["id"])

        // A move to a stage not in notify.stages says nothing; to "Proposal sent" it does.
        _ = try iv.call("deal.update", ["id": taken["deal_id"]!, "title": "Поставка бумаги"])
        _ = try iv.call("deal.move", ["id": taken["deal_id"]!, "stage": "Proposal sent"])
        _ = try admin.call("clock.advance", ["by": "PT1S"])
        got = try Self.sent(out)
        try #require(got.count == 2)
        #expect(got[1]["template"] == "deal_stage")
        #expect(got[1]["subject"] == "Поставка бумаги: Proposal sent")
        #expect(got[1]["text"]?.stringValue?.contains("перешёл на этап «Proposal sent»") == true)

        // An opted-out client gets nothing, recorded as skipped with the reason.
        _ = try admin.call(
            "client.create", ["name": "ООО Тишина", "owner": "ivanov", "phones": ["+7 901 000-00-02"], "opt_out": true])
        let quiet = try form.call("request.create", ["name": "Тишина", "phone": "8 901 000-00-02"])
        _ = try iv.call("request.take", ["id": quiet["id"]!])
        // A landline is no address for an SMS: skipped, "no_address".
        let landline = try form.call("request.create", ["name": "Офис", "phone": "+7 495 700-00-00"])
        _ = try iv.call("request.take", ["id": landline["id"]!])
        _ = try admin.call("clock.advance", ["by": "PT1S"])
        #expect(try Self.sent(out).count == 2)
        let skipped = try admin.call("notification.list", ["status": "skipped"])["items"]?.arrayValue ?? []
        #expect(skipped.map { $0["request_id"] } == [landline["id"]!, quiet["id"]!])
        #expect(skipped.map { $0["reason"] } == ["no_address", "opt_out"])
        #expect(skipped.allSatisfy { $0["channel"] == .null })

        // A failing command: the message waits, visible with its error, and goes on a later attempt.
        FileManager.default.createFile(atPath: d.directory.appendingPathComponent("fail").path, contents: nil)
        let sms = try form.call("request.create", ["name": "Олег", "phone": "+7 916 123-45-67"])
        _ = try iv.call("request.take", ["id": sms["id"]!])
        _ = try admin.call("clock.advance", ["by": "PT1S"])
        let waiting = try #require(try admin.call("notification.list", ["request_id": sms["id"]!])["items"]?.arrayValue?.first)
        #expect(waiting["status"] == "pending")
        #expect(waiting["attempts"] == 1)
        #expect(waiting["last_error"] == "exit status 1")
        #expect(waiting["channel"] == "sms")
        #expect(waiting["to"] == "+79161234567")
        let status = try admin.call("server.status")["notify"]
        #expect(status?["pending"] == 1)
        #expect(status?["failing"] == 1)
        try FileManager.default.removeItem(at: d.directory.appendingPathComponent("fail"))
        _ = try admin.call("clock.advance", ["by": "PT10S"])
        got = try Self.sent(out)
        #expect(got.count == 3)
        #expect(got.last?["to"] == "+79161234567")
        let done = try #require(try admin.call("notification.list", ["request_id": sms["id"]!])["items"]?.arrayValue?.first)
        #expect(done["status"] == "sent")
        #expect(done["attempts"] == 2)

        // A manager lists their own clients' messages only.
        let sd = try d.connect()
        _ = try sd.call("session.act_as", ["login": "sidorov"])
        #expect(try sd.call("notification.list", [:])["items"]?.arrayValue?.isEmpty == true)
        #expect(try iv.call("notification.list", [:])["items"]?.arrayValue?.count == 5)
    }

    @Test("a request closes with its deal, or by request.close with a reason (heads, admins, its assignee)")
    func closing() throws {
        let (d, _) = try Self.daemon()
        defer { d.stop() }
        let admin = try d.connect()
        let (_, ivanov, _) = try seedTeam(admin)
        let iv = try d.connect()
        _ = try iv.call("session.act_as", ["login": "ivanov"])
        let sd = try d.connect()
        _ = try sd.call("session.act_as", ["login": "sidorov"])

        let q = try admin.call("request.create", ["name": "Анна", "email": "anna@example.com"])
        let taken = try iv.call("request.take", ["id": q["id"]!])
        #expect(rpcErrorCode { try iv.call("request.close", ["id": q["id"]!, "reason": "spam"]) } == 1003)
        _ = try iv.call("deal.close", ["id": taken["deal_id"]!, "outcome": "lost", "reason": "Price"])
        let closed = try #require(try admin.call("request.list", ["status": "closed"])["items"]?.arrayValue?.first)
        #expect(closed["id"] == q["id"])
        #expect(closed["close_reason"] == .string("deal \(taken["deal_id"]!.intValue!) lost: Price"))
        #expect(closed["closed_at"] == "2026-03-02T07:00:00Z")

        // Spam: not the assignee's colleague, but the assignee or a head may close it.
        let spam = try admin.call("request.create", ["name": "Бот", "text": "Купите наши ссылки"])
        let (mine, other) = spam["assignee"] == .int(ivanov) ? (iv, sd) : (sd, iv)
        #expect(rpcErrorCode { try other.call("request.close", ["id": spam["id"]!, "reason": "spam"]) } == 1002)
        #expect(rpcErrorCode { try mine.call("request.close", ["id": spam["id"]!]) } == -32602)
        let shut = try mine.call("request.close", ["id": spam["id"]!, "reason": "спам"])
        #expect(shut["status"] == "closed")
        #expect(shut["close_reason"] == "спам")
        #expect(rpcErrorCode { try admin.call("request.close", ["id": spam["id"]!, "reason": "again"]) } == 1003)
        let another = try admin.call("request.create", ["name": "Ошибка"])
        #expect(try admin.call("request.close", ["id": another["id"]!, "reason": "wrong number"])["status"] == "closed")
    }

    @Test("templates from files: one replaces the built-in; an unknown placeholder or a link stops crmd naming the file")
    func templateFiles() throws {
        let d = try TestDaemon()
        let folder = d.directory.appendingPathComponent("templates")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let bad = folder.appendingPathComponent("deal_stage.ru.txt")
        try "Тема {deal_title}\nЗдравствуйте!\nЭтап: {stage_name}\n".write(to: bad, atomically: true, encoding: .utf8)
        var r = try d.runToExit(arguments: ["--check-config"], environment: ["CRMD_NOTIFY_TEMPLATES": folder.path])
        #expect(r.status != 0)
        #expect(r.stderr.contains("\(bad.path) line 3: unknown placeholder {stage_name}"), "\(r.stderr)")
        try FileManager.default.removeItem(at: bad)
        try FileManager.default.createSymbolicLink(atPath: bad.path, withDestinationPath: "/etc/passwd")
        r = try d.runToExit(arguments: ["--check-config"], environment: ["CRMD_NOTIFY_TEMPLATES": folder.path])
        #expect(r.status != 0)
        #expect(r.stderr.contains("symbolic link"), "\(r.stderr)")
        try FileManager.default.removeItem(at: bad)
        try "Заявка {request_id}: {client_name}\n{manager_name}\n".write(
            to: folder.appendingPathComponent("request_taken.ru.txt"), atomically: true, encoding: .utf8)

        let (daemon, out) = try Self.daemon(["CRMD_NOTIFY_TEMPLATES": folder.path])
        defer { daemon.stop() }
        let admin = try daemon.connect()
        _ = try seedTeam(admin)
        let iv = try daemon.connect()
        _ = try iv.call("session.act_as", ["login": "ivanov"])
        let q = try admin.call("request.create", ["name": "Анна", "email": "anna@example.com"])
        _ = try iv.call("request.take", ["id": q["id"]!])
        _ = try admin.call("clock.advance", ["by": "PT1S"])
        let got = try #require(try Self.sent(out).first)
        #expect(got["subject"] == .string("Заявка \(q["id"]!.intValue!): Анна"))
        #expect(got["text"] == "Ivan Ivanov")
    }
}
