import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import Testing

/// Issue 22, mail in: the files a letter carries become attachments of the client's most recent
/// open deal, on the real crmd, within the bounds `deal.attach` has.
@Suite("Mail in: a letter's files stored as deal attachments")
struct MailAttachmentTests {
    func ingest(_ c: Connection, _ raw: [UInt8]) throws -> JSON {
        try c.call("mail.ingest", ["message": .string(Data(raw).base64EncodedString())])
    }

    /// Base64 in lines of 76, as mailers write it.
    func base64Lines(_ bytes: [UInt8]) -> String {
        let b = Data(bytes).base64EncodedString()
        return stride(from: 0, to: b.count, by: 76).map { i in
            String(b[b.index(b.startIndex, offsetBy: i)..<b.index(b.startIndex, offsetBy: min(i + 76, b.count))])
        }.joined(separator: "\r\n")
    }

    /// A multipart/mixed letter from `from` with a text part and `files` (headers, bytes).
    func letter(from: String, id: String, files: [(headers: String, bytes: [UInt8])]) -> [UInt8] {
        var s = """
            From: Анна <\(from)>
            To: ivanov@crm.example
            Subject: =?UTF-8?B?\(Data("Документы".utf8).base64EncodedString())?=
            Message-ID: <\(id)>
            MIME-Version: 1.0
            Content-Type: multipart/mixed; boundary="b1"

            --b1
            Content-Type: text/plain; charset=utf-8

            Высылаю предложение и реквизиты.

            """
        for f in files {
            s += "--b1\n\(f.headers)\nContent-Transfer-Encoding: base64\n\n\(base64Lines(f.bytes))\n"
        }
        s += "--b1--\n"
        return Array(s.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n").utf8)
    }

    @Test("files go to the newest open deal (names decoded and made safe); too large and nameless parts are skipped, the letter logged")
    func filesOnTheDeal() throws {
        let d = try TestDaemon(
            environment: ["CRMD_DEALS_MAX_ATTACHMENT_BYTES": "4096"],
            arguments: ["--clock", "manual", "--clock-start", "2026-03-02T07:00:00Z"])
        try d.start()
        defer { d.stop() }
        let admin = try d.connect()
        _ = try admin.call("user.add", ["login": "ivanov", "name": "Иван", "role": "manager", "email": "ivanov@crm.example"])
        _ = try admin.call("user.add", ["login": "mta", "name": "Exim", "role": "operator"])
        let client = try admin.call("client.create", ["name": "ООО Ромашка", "owner": "ivanov", "emails": ["info@romashka.ru"]])["id"]!
        let other = try admin.call("client.create", ["name": "ИП Лютик", "owner": "ivanov", "emails": ["liutik@mail.ru"]])["id"]!
        let older = try admin.call("deal.create", ["client_id": client, "title": "Старый заказ"])["id"]!
        let newest = try admin.call("deal.create", ["client_id": client, "title": "Принтеры"])["id"]!
        let mta = try d.connect()
        _ = try mta.call("session.act_as", ["login": "mta"])

        // A PDF-ish file named in encoded words (as Outlook and Thunderbird write it), a second
        // with an RFC 2231 name that tries a path and a direction override, one past the 4 KiB
        // bound, and a nameless inline image (an HTML letter's logo), which is no file.
        let pdf =
            Array("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n".utf8) + (0..<1500).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            + Array("\n%%EOF\n".utf8)
        let encodedName = "=?UTF-8?B?\(Data("Коммерческое предложение.pdf".utf8).base64EncodedString())?="
        let xls = (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let big = [UInt8](repeating: 0x41, count: 5000)
        let raw = letter(
            from: "info@romashka.ru", id: "files.1@romashka.ru",
            files: [
                (
                    "Content-Type: application/pdf; name=\"\(encodedName)\"\nContent-Disposition: attachment; filename=\"\(encodedName)\"",
                    pdf
                ),
                (
                    "Content-Type: application/vnd.ms-excel\nContent-Disposition: attachment; filename*=utf-8''..%2F..%2Fetc%2F%D0%A0%D0%B5%D0%BA%E2%80%AE%D0%B2%D0%B8%D0%B7%D0%B8%D1%82%D1%8B.xls",
                    xls
                ),
                ("Content-Type: application/zip\nContent-Disposition: attachment; filename=\"archive.zip\"", big),
                ("Content-Type: image/png\nContent-ID: <logo>", [0x89, 0x50, 0x4E, 0x47]),
            ])
        let r = try ingest(mta, raw)
        #expect(r["interactions"]?.arrayValue?.count == 1)
        let files = try #require(r["attachments"]?.arrayValue)
        #expect(files.count == 3)
        #expect(files[0]["name"] == "Коммерческое предложение.pdf")
        #expect(files[0]["bytes"] == .int(Int64(pdf.count)))
        #expect(files[0]["deal_id"] == newest)
        #expect(files[1]["name"] == "Реквизиты.xls")
        #expect(files[1]["bytes"] == .int(300))
        #expect(files[2]["name"] == "archive.zip")
        #expect(files[2]["skipped"] == "too_large")
        #expect(files[2]["id"] == nil)

        // On the newest open deal, complete, by the deal's owner, the bytes intact.
        let card = try admin.call("deal.get", ["id": newest])
        let stored = try #require(card["attachments"]?.arrayValue)
        #expect(stored.map { $0["name"] } == ["Коммерческое предложение.pdf", "Реквизиты.xls"])
        #expect(stored[0]["complete"] == .bool(true))
        #expect(stored[0]["content_type"] == "application/pdf")
        #expect(stored[0]["by_login"] == "ivanov")
        #expect(stored[0]["sha256"]?.stringValue?.count == 64)
        let back = try admin.call("deal.attachment_read", ["id": files[0]["id"]!])
        #expect(back["data"] == .string(Data(pdf).base64EncodedString()))
        #expect(back["eof"] == .bool(true))
        #expect(try admin.call("deal.get", ["id": older])["attachments"] == [])

        // Handed over again: the same answer, nothing stored twice.
        let again = try ingest(mta, raw)
        #expect(again["duplicate"] == .bool(true))
        #expect(again["attachments"] == r["attachments"])
        #expect(try admin.call("deal.get", ["id": newest])["attachments"]?.arrayValue?.count == 2)

        // A client with no open deal, and a stranger: the letter is logged (or opens nothing),
        // the files are listed as skipped.
        let noDeal = try ingest(
            mta, letter(from: "liutik@mail.ru", id: "files.2@mail.ru", files: [("Content-Type: application/pdf; name=a.pdf", pdf)]))
        #expect(noDeal["clients"] == [other])
        #expect(noDeal["attachments"] == [["name": "a.pdf", "skipped": "no_open_deal"]])
        let stranger = try ingest(
            mta, letter(from: "who@nowhere.ru", id: "files.3@nowhere.ru", files: [("Content-Type: application/pdf; name=b.pdf", pdf)]))
        #expect(stranger["skipped"] == "unknown_sender")
        #expect(stranger["attachments"] == [["name": "b.pdf", "skipped": "no_client"]])
    }
}
