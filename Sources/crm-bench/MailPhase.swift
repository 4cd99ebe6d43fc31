import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation

/// The mail phase (issue 22), `mail`, on a daemon of its own with a manual clock at 10:00 on a
/// working Monday: 10 managers with their addresses, up to 10,000 clients with an e-mail each
/// (the first 1,000 with an open deal), then a Maildir of `--mail-messages` real-looking letters
/// handed over by the real `crmctl mail-in --maildir` (messages/s, wall time, peak RSS of crmd
/// and crmctl, sampled every 20 ms). The mix: letters from clients to their managers (UTF-8
/// subjects in encoded words, quoted-printable and base64 bodies, one in ten KOI8-R), managers'
/// letters to clients, strangers writing to the department address (each opens a request),
/// newsletters, one in ten with a small PDF (a Russian RFC 2231 name), one in a hundred a
/// duplicate Message-ID. Targets at 100,000: <= 60 s, RSS <= 200 MiB each.
struct MailPhase: BenchPhase {
    let bench: Bench

    static let names: Set<String> = ["mail"]
    static let now = "2026-03-02T07:00:00Z"
    static let managers = 10
    static let department = "sales@bench.example"

    var clients: Int { max(1, min(bench.clients, 10_000)) }

    func run() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("crm-bench-mail-\(getpid())")
        let maildir = dir.appendingPathComponent("Maildir")
        for sub in ["new", "cur", "tmp"] {
            try FileManager.default.createDirectory(at: maildir.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
        defer { try? FileManager.default.removeItem(at: dir) }
        log("mail: writing \(bench.mailMessages) messages to \(maildir.path) ...")
        let bytes = try writeMaildir(maildir, messages: bench.mailMessages)

        var env = Bench.crmdEnvironment
        env["CRMD_REQUESTS_MAIL_ADDRESSES"] = Self.department
        let d = try TestDaemon(environment: env, arguments: ["--clock", "manual", "--clock-start", Self.now])
        try d.start()
        defer { d.stop() }
        let admin = try d.connect(readTimeout: 600)
        for m in 0..<Self.managers {
            _ = try admin.call(
                "user.add",
                ["login": .string("mman\(m)"), "name": .string("Менеджер \(m)"), "role": "manager", "email": .string(Self.manager(m))])
        }
        log("mail: loading \(clients) clients with e-mails, deals for the first 1,000 ...")
        let ids = try Bench.importClients(admin, 0..<clients) { k in
            ["name": .string("ООО «Почта \(k)»"), "owner": .string("mman\(k % Self.managers)"), "emails": [.string(Self.client(k))]]
        }
        if let ids {
            for id in ids.prefix(1_000) { _ = try admin.call("deal.create", ["client_id": .int(id), "title": "Поставка"]) }
        }

        let crmctl = TestDaemon.binaryPath(named: "crmctl")
        log("mail: crmctl mail-in --maildir (\(bench.mailMessages) messages, \(Int(bytes / 1_048_576)) MiB) ...")
        let run = try ImportPhase(bench: bench).measure(
            crmctl, ["mail-in", "--maildir", maildir.path, "--quiet", "--socket", d.socketPath], ["XDG_STATE_HOME": dir.path], crmd: d.pid)
        let n = bench.mailMessages
        let size = "\(n) messages, \(clients) clients"
        let rate = Double(n) / run.seconds
        report.add("mail: crmctl mail-in --maildir, \(size)", rate, "messages/s")
        report.add(
            "mail: wall time, \(size) (target 60 s at 100,000)", run.seconds, "s",
            target: "<= \(String(format: "%.1f", 60 * Double(n) / 100_000))",
            met: run.seconds <= 60 * Double(n) / 100_000)
        report.add("mail: crmd peak RSS during mail-in", run.crmdPeak, "MiB", target: "<= 200", met: run.crmdPeak <= 200)
        report.add("mail: crmctl peak RSS during mail-in", run.toolPeak, "MiB", target: "<= 200", met: run.toolPeak <= 200)
        report.info.append(("mail: crmctl's summary", run.tail.trimmingCharacters(in: .whitespacesAndNewlines)))
        if run.status != 0 { report.info.append(("mail: crmctl exit status", "\(run.status)")) }
    }

    static func manager(_ m: Int) -> String { "mman\(m)@bench.example" }
    static func client(_ k: Int) -> String { "client\(k)@pochta.example" }

    /// Writes the letters, one file each in new/ (Maildir names), in chunks of directory entries.
    /// Returns the bytes written.
    func writeMaildir(_ maildir: URL, messages: Int) throws -> Double {
        let koi8 = String.Encoding(rawValue: 0x8000_0A02)
        let koiBody = Data(
            "Добрый день!\r\nПросим выставить счёт на поставку бумаги, 40 коробок.\r\nС уважением, отдел снабжения.\r\n".data(using: koi8)
                ?? Data())
        // Quoted-printable: ASCII as it is (line breaks too), everything else and '=' as =XX.
        let koiQP = koiBody.map { $0 < 128 && $0 != 61 ? String(UnicodeScalar($0)) : String(format: "=%02X", $0) }.joined()
        let utfBody = Data("Здравствуйте! Подтверждаем заказ, ждём счёт и договор. Спасибо.\r\n".utf8).base64EncodedString()
        let pdf = Data(Array("%PDF-1.4\n".utf8) + (0..<3_000).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) } + Array("\n%%EOF\n".utf8))
        let pdfBase64 = pdf.base64EncodedString()
        let pdfLines = stride(from: 0, to: pdfBase64.count, by: 76).map { String(pdfBase64.dropFirst($0).prefix(76)) }
            .joined(separator: "\r\n")
        let subjects = ["Заказ на апрель", "Счёт и договор", "Вопрос по доставке", "Re: Коммерческое предложение"].map {
            "=?UTF-8?B?\(Data($0.utf8).base64EncodedString())?="
        }
        let clients = self.clients
        var total = 0.0
        for i in 0..<messages {
            let k = (i &* 7_919) % clients
            let manager = Self.manager(k % Self.managers)
            let id = i % 100 == 99 ? "bench.\(i - 1)@pochta.example" : "bench.\(i)@pochta.example"
            let date = "Mon, 2 Mar 2026 0\(i % 10):\(String(format: "%02d", i % 60)):00 +0300"
            let subject = subjects[i % subjects.count]
            var head: String
            var body: String
            switch i % 20 {
            case 0, 1:  // a manager writes to the client
                head = "From: =?UTF-8?B?\(Data("Менеджер".utf8).base64EncodedString())?= <\(manager)>\r\nTo: \(Self.client(k))\r\n"
                body = "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n\(utfBody)\r\n"
            case 2, 3, 4:  // a stranger to the department address
                head = "From: Посетитель \(i) <visitor\(i)@mail.example>\r\nTo: \(Self.department)\r\n"
                body = "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n\(utfBody)\r\n"
            case 5:  // a newsletter
                head = "From: news@shop.example\r\nTo: \(manager)\r\nList-Unsubscribe: <mailto:u@shop.example>\r\nPrecedence: bulk\r\n"
                body = "Content-Type: text/plain; charset=utf-8\r\n\r\nАкция недели!\r\n"
            case 6, 7:  // KOI8-R quoted-printable from a client
                head = "From: \(Self.client(k))\r\nTo: \(manager)\r\n"
                body = "Content-Type: text/plain; charset=koi8-r\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\(koiQP)\r\n"
            default:  // a client writes to their manager
                head = "From: =?UTF-8?Q?=D0=90=D0=BD=D0=BD=D0=B0?= <\(Self.client(k))>\r\nTo: \(manager)\r\nCc: \(Self.department)\r\n"
                body = "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n\(utfBody)\r\n"
            }
            if i % 10 == 9 {
                body = """
                    Content-Type: multipart/mixed; boundary="b\(i)"\r
                    \r
                    --b\(i)\r
                    \(body)\r
                    --b\(i)\r
                    Content-Type: application/pdf\r
                    Content-Disposition: attachment; filename*=utf-8''%D0%A1%D1%87%D1%91%D1%82-\(i).pdf\r
                    Content-Transfer-Encoding: base64\r
                    \r
                    \(pdfLines)\r
                    --b\(i)--\r

                    """
            }
            let text = head + "Subject: \(subject)\r\nDate: \(date)\r\nMessage-ID: <\(id)>\r\nMIME-Version: 1.0\r\n" + body
            let data = Data(text.utf8)
            let name = maildir.appendingPathComponent("new/\(1_772_434_800 + i).M\(i)P1.bench")
            guard FileManager.default.createFile(atPath: name.path, contents: data, attributes: [.posixPermissions: 0o600]) else {
                throw CocoaError(.fileWriteUnknown)
            }
            total += Double(data.count)
        }
        return total
    }
}
