import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import Testing

/// Issue 22, mail in: real-looking letters handed to the real crmd (`mail.ingest`) by the mail
/// server's operator account and through `crmctl mail-in`, and what each does to the client.
@Suite("Mail in: letters logged as e-mails on the clients they name")
struct MailIngestTests {
    static let start = "2026-03-02T07:00:00Z"

    /// A letter with CRLF line ends, as an MTA delivers it.
    func letter(_ text: String, body: [UInt8] = []) -> [UInt8] {
        Array(text.replacingOccurrences(of: "\n", with: "\r\n").utf8) + body
    }

    func ingest(_ c: Connection, _ raw: [UInt8], mailbox: String? = nil) throws -> JSON {
        var p: JSONObject = ["message": .string(Data(raw).base64EncodedString())]
        if let mailbox { p["mailbox"] = .string(mailbox) }
        return try c.call("mail.ingest", .object(p))
    }

    func crmctl(_ d: TestDaemon, stdin: URL?, _ args: [String]) throws -> (status: Int32, out: String, err: String) {
        let bin = TestDaemon.binaryPath(named: "crmctl")
        let quoted = (args + ["--socket", d.socketPath]).map { "'\($0)'" }.joined(separator: " ")
        return try runProcess(
            "/bin/sh", ["-c", "exec '\(bin)' \(quoted) < '\(stdin?.path ?? "/dev/null")'"], environment: ["NO_COLOR": "1"])
    }

    @Test(
        "incoming (KOI8-R, encoded subject) resets the owner's clock; a duplicate is logged once; outgoing by another manager does not reset; newsletters and strangers log nothing"
    )
    func letters() throws {
        let d = try TestDaemon(arguments: ["--clock", "manual", "--clock-start", Self.start])
        try d.start()
        defer { d.stop() }
        let admin = try d.connect()
        _ = try admin.call("user.add", ["login": "ivanov", "name": "Иван Иванов", "role": "manager", "email": "Ivanov@CRM.example"])
        _ = try admin.call("user.add", ["login": "petrov", "name": "Пётр Петров", "role": "manager"])
        _ = try admin.call("user.update", ["login": "petrov", "email": "petrov@crm.example"])
        _ = try admin.call("user.add", ["login": "mta", "name": "Exim", "role": "operator"])
        // The address is one user's only.
        #expect(rpcErrorCode { try admin.call("user.update", ["login": "petrov", "email": "ivanov@crm.example"]) } == 1003)
        let client = try admin.call("client.create", ["name": "ООО Ромашка", "owner": "ivanov", "emails": ["info@romashka.ru"]])
        let clientID = client["id"]!
        let anna = try admin.call("contact.create", ["client_id": clientID, "name": "Анна", "emails": ["anna@romashka.ru"]])
        _ = try admin.call("clock.advance", ["by": "P30D"])

        let mta = try d.connect()
        _ = try mta.call("session.act_as", ["login": "mta"])

        // 1. From the contact to the owner: KOI8-R quoted-printable body, a UTF-8 subject in B words.
        let koi = Array("Добрый день! Пришлите счёт.".data(using: String.Encoding(rawValue: 0x8000_0A02))!)
        let qp = koi.map { $0 < 128 && $0 != 61 ? String(UnicodeScalar($0)) : String(format: "=%02X", $0) }.joined()
        let subject = "=?UTF-8?B?\(Data("Заказ на апрель".utf8).base64EncodedString())?="
        let first = letter(
            """
            From: =?koi8-r?B?\(Data(Array("Анна".data(using: String.Encoding(rawValue: 0x8000_0A02))!)).base64EncodedString())?= <Anna@Romashka.ru>
            To: Иван <ivanov@crm.example>
            Subject: \(subject)
            Date: Tue, 31 Mar 2026 12:00:00 +0300
            Message-ID: <first.1@romashka.ru>
            Content-Type: text/plain; charset=koi8-r
            Content-Transfer-Encoding: quoted-printable

            \(qp)
            """)
        let r1 = try ingest(mta, first, mailbox: "sales@crm.example")
        #expect(r1["duplicate"] == .bool(false))
        #expect(r1["direction"] == "in")
        #expect(r1["message_id"] == "first.1@romashka.ru")
        #expect(r1["clients"] == [clientID])
        let ids = r1["interactions"]?.arrayValue ?? []
        #expect(ids.count == 1)
        let list = try admin.call("interaction.list", ["client_id": clientID])["items"]?.arrayValue ?? []
        let logged = try #require(list.first)
        #expect(logged["kind"] == "email")
        #expect(logged["direction"] == "in")
        #expect(logged["captured"] == "mail")
        #expect(logged["author_login"] == "ivanov")
        #expect(logged["contact_id"] == anna["id"])
        #expect(logged["topic"] == "Заказ на апрель")
        #expect(logged["note"] == "Добрый день! Пришлите счёт.")
        #expect(logged["occurred_at"] == "2026-03-31T09:00:00Z")
        #expect(logged["resets_clock"] == .bool(true))
        let card = try admin.call("client.get", ["id": clientID])
        #expect(card["last_interaction_at"] == "2026-03-31T09:00:00Z")

        // 2. Delivered again (an MTA retry): the same answer, nothing logged twice.
        let again = try ingest(mta, first)
        #expect(again["duplicate"] == .bool(true))
        #expect(again["interactions"]?.arrayValue == ids)
        #expect((try admin.call("interaction.list", ["client_id": clientID])["items"]?.arrayValue ?? []).count == 1)

        // 3. Petrov writes to the client: outgoing, his; not the owner, so the clock stays.
        let out = try ingest(
            mta,
            letter(
                """
                From: Пётр <petrov@crm.example>
                To: info@romashka.ru
                Subject: Re: Заказ
                Message-ID: <out.2@crm.example>

                Счёт во вложении.
                """))
        #expect(out["direction"] == "out")
        let outList = try admin.call("interaction.list", ["client_id": clientID])["items"]?.arrayValue ?? []
        #expect(outList.count == 2)
        #expect(outList.first?["author_login"] == "petrov")
        #expect(outList.first?["direction"] == "out")
        #expect(outList.first?["resets_clock"] == .bool(false))
        #expect(outList.first?["contact_id"] == .null)

        // 4. A newsletter and 5. a stranger: nothing logged; both remembered as handed over.
        let news = try ingest(
            mta,
            letter("From: news@shop.ru\nTo: ivanov@crm.example\nList-Unsubscribe: <mailto:u@shop.ru>\nMessage-ID: <n@shop.ru>\n\nАкция!"))
        #expect(news["skipped"] == "bulk")
        #expect(news["interactions"] == [])
        let stranger = try ingest(mta, letter("From: who@nowhere.ru\nTo: sales@crm.example\n\nХочу купить"))
        #expect(stranger["skipped"] == "unknown_sender")
        #expect(stranger["message_id"]?.stringValue?.hasPrefix("sha256:") == true)
        #expect(try ingest(mta, letter("From: who@nowhere.ru\nTo: sales@crm.example\n\nХочу купить"))["duplicate"] == .bool(true))

        // 6. The client writes to the department only: logged, but by no manager, so no reset.
        let general = try ingest(mta, letter("From: info@romashka.ru\nTo: sales@crm.example\nMessage-ID: <g@romashka.ru>\n\nВопрос"))
        #expect(general["direction"] == "in")
        let last = try #require((try admin.call("interaction.list", ["client_id": clientID])["items"]?.arrayValue ?? []).first)
        #expect(last["author_login"] == "mta")
        #expect(last["resets_clock"] == .bool(false))

        // Rights and bad input: a manager may not hand over mail; garbage is -32602, the connection goes on.
        let manager = try d.connect()
        _ = try manager.call("session.act_as", ["login": "ivanov"])
        #expect(rpcErrorCode { try ingest(manager, first) } == 1002)
        #expect(rpcErrorCode { try mta.call("mail.ingest", ["message": "%%%"]) } == -32602)
        #expect(rpcErrorCode { try mta.call("mail.ingest", ["message": .string(Data(" \r\n".utf8).base64EncodedString())]) } == 1005)
        #expect(try mta.call("server.ping")["pong"] == .bool(true))
    }

    @Test("crmctl mail-in: one letter on stdin as an MTA alias pipes it; a Maildir twice logs each letter once")
    func crmctlMailIn() throws {
        let d = try TestDaemon(arguments: ["--clock", "manual", "--clock-start", Self.start])
        try d.start()
        defer { d.stop() }
        let admin = try d.connect()
        _ = try admin.call("user.add", ["login": "ivanov", "name": "Иван", "role": "manager", "email": "ivanov@crm.example"])
        let c = try admin.call("client.create", ["name": "Василёк", "owner": "ivanov", "emails": ["buyer@vasilek.ru"]])
        let dir = try temporaryFolder("maildir")
        defer { try? FileManager.default.removeItem(at: dir) }
        let one = dir.appendingPathComponent("one.eml")
        try Data(letter("From: buyer@vasilek.ru\nTo: ivanov@crm.example\nMessage-ID: <m0@vasilek.ru>\nSubject: Привет\n\nТекст")).write(
            to: one)
        let piped = try crmctl(d, stdin: one, ["mail-in"])
        #expect(piped.status == 0, "\(piped.err)")
        #expect(piped.out.contains("m0@vasilek.ru: logged as incoming on #\(c["id"]!.intValue!)"), "\(piped.out)")
        // Unreadable input is 65 (the MTA bounces it), not a retry.
        let empty = dir.appendingPathComponent("empty.eml")
        try Data(" \r\n".utf8).write(to: empty)
        #expect(try crmctl(d, stdin: empty, ["mail-in"]).status == 65)

        let maildir = dir.appendingPathComponent("Maildir")
        for sub in ["new", "cur", "tmp"] {
            try FileManager.default.createDirectory(at: maildir.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
        for i in 1...3 {
            try Data(letter("From: buyer@vasilek.ru\nTo: ivanov@crm.example\nMessage-ID: <m\(i)@vasilek.ru>\n\nПисьмо \(i)"))
                .write(to: maildir.appendingPathComponent(i == 3 ? "cur/\(i).eml" : "new/\(i).eml"))
        }
        let firstRun = try crmctl(d, stdin: nil, ["mail-in", "--maildir", maildir.path])
        #expect(firstRun.status == 0, "\(firstRun.err)")
        #expect(firstRun.out.contains("3 messages: 3 logged, 0 handed over before"), "\(firstRun.out)")
        let secondRun = try crmctl(d, stdin: nil, ["mail-in", "--maildir", maildir.path])
        #expect(secondRun.out.contains("3 messages: 0 logged, 3 handed over before"), "\(secondRun.out)")
        #expect((try admin.call("interaction.list", ["client_id": c["id"]!])["items"]?.arrayValue ?? []).count == 4)
        // Many letters on 8 connections at once, each Message-ID in two files: each logged once,
        // whichever connection hands it over first.
        let busy = dir.appendingPathComponent("Busy")
        try FileManager.default.createDirectory(at: busy.appendingPathComponent("new"), withIntermediateDirectories: true)
        for i in 0..<40 {
            try Data(letter("From: buyer@vasilek.ru\nTo: ivanov@crm.example\nMessage-ID: <b\(i % 20)@vasilek.ru>\n\nПисьмо \(i)"))
                .write(to: busy.appendingPathComponent("new/\(i).eml"))
        }
        let parallel = try crmctl(d, stdin: nil, ["mail-in", "--maildir", busy.path, "--parallel", "8", "--quiet"])
        #expect(parallel.status == 0, "\(parallel.err)")
        #expect(parallel.out.contains("40 messages: 20 logged, 20 handed over before"), "\(parallel.out)")
        #expect((try admin.call("interaction.list", ["client_id": c["id"]!, "limit": 100])["items"]?.arrayValue ?? []).count == 24)
        #expect(try crmctl(d, stdin: nil, ["mail-in", "--maildir", busy.path, "--parallel", "17"]).status != 0)
        // crmd gone: 75, so the MTA keeps the letter and retries.
        d.stop()
        #expect(try crmctl(d, stdin: one, ["mail-in"]).status == 75)
    }
}
