import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import Testing

/// crmctl import sends batch n+1 while crmd commits batch n (pipelining), and crmd's pages of
/// `client.list` carry each client's phones and e-mails read for the whole page at once: what the
/// import and export speed of issue 19 rests on, checked on the real binaries.
@Suite("crmctl import and export: pipelined batches, pages")
struct ImportPipelineTests {
    /// `rows` clients with a phone, an e-mail and a contact with a phone, plus `extra` lines.
    static func file(rows: Int, extra: String = "") -> String {
        var text = "Название;Телефон;Email;Контактное лицо;Телефон контакта\n"
        for i in 0..<rows {
            text +=
                "ООО «Клиент \(i)»;+7 900 \(String(format: "%07d", i));client\(i)@example.ru;Контакт \(i);+7 950 \(String(format: "%07d", i))\n"
        }
        return text + extra
    }

    @Test("every row already in crmd: 900 KiB batches and replies of a megabyte cross on one connection, no hang")
    func largeRepliesWhilePipelined() throws {
        let dir = try temporaryFolder("import-pipe")
        defer { try? FileManager.default.removeItem(at: dir) }
        let first = dir.appendingPathComponent("first.csv")
        let again = dir.appendingPathComponent("again.csv")
        try Data(Self.file(rows: 8000).utf8).write(to: first)
        try Data(Self.file(rows: 8000, extra: "ООО «Новый»;+7 901 0000000;;;\n").utf8).write(to: again)
        try withDaemon { d in
            let admin = try d.connect()
            try seedTeam(admin)
            func crmctl(_ file: URL) throws -> (status: Int32, out: String, err: String) {
                // A hang (both sides blocked writing) ends after 120 s as status 124.
                try runProcess(
                    "/usr/bin/timeout",
                    [
                        "120", TestDaemon.binaryPath(named: "crmctl"), "import", "clients", file.path, "--batch", "10000", "--socket",
                        d.socketPath,
                    ],
                    environment: ["NO_COLOR": "1", "XDG_STATE_HOME": dir.path])
            }
            let one = try crmctl(first)
            #expect(one.status == 0, "\(one.err)")
            #expect(one.out.contains("8000 rows: 8000 imported, 0 bad, 0 duplicates"), "\(one.out.suffix(300))")
            // Each reply rejects ~3,000 rows three times (phone, e-mail, contact's phone): over a
            // megabyte, written by crmd while crmctl is still sending the next batch.
            let two = try crmctl(again)
            #expect(two.status == 65, "\(two.err)")
            #expect(
                two.out.contains("8001 rows: 1 imported, 0 bad, 8000 duplicates (8000 of clients in crmd, 0 of earlier rows in the file)."),
                "\(two.out.suffix(300))")
            #expect(try admin.call("client.find_by_phone", ["phone": "+79010000000"])["client"]?["name"] == "ООО «Новый»")
        }
    }

    @Test("a page of client.list carries each client's own phones and e-mails in their order, not its contacts'")
    func pagePhonesAndEmails() throws {
        try withDaemon { d in
            let admin = try d.connect()
            _ = try admin.call(
                "client.create", ["name": "A", "phones": ["+79000000002", "+79000000001"], "emails": ["b@x.ru", "a@x.ru"]])
            let b = try admin.call("client.create", ["name": "B"])["id"]!
            _ = try admin.call("contact.create", ["client_id": b, "name": "Контакт", "phones": ["+79000000003"]])
            _ = try admin.call("client.create", ["name": "C", "emails": ["c@x.ru"]])
            _ = try admin.call("client.update", ["id": 1, "phones": ["+79000000005", "+79000000004", "+79000000002"]])
            let items = try admin.call("client.list", ["limit": 2])["items"]!.arrayValue!
            #expect(items.map { $0["phones"]! } == [["+79000000005", "+79000000004", "+79000000002"], []])
            #expect(items.map { $0["emails"]! } == [["b@x.ru", "a@x.ru"], []])
            let rest = try admin.call("client.list", ["limit": 2, "cursor": "2"])["items"]!.arrayValue!
            #expect(rest.map { $0["phones"]! } == [[]])
            #expect(rest.map { $0["emails"]! } == [["c@x.ru"]])
        }
    }
}
