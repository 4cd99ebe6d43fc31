import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import Testing

/// The real crmctl against the real crmd: a 10,000-row Windows-1251 file with known bad rows and
/// duplicates gets an exact dry-run report; the real run imports exactly the good rows; a killed
/// import run again leaves no duplicates; an export reads back in.
@Suite("crmctl import and export")
struct ImportCSVTests {
    /// The file the test writes, with what each row should come to.
    struct Sample {
        var text = "Название;Тип;Телефон;Email;Менеджер;Сегмент;Контактное лицо;Должность;Телефон контакта;ИНН\r\n"
        /// line → the column and a piece of the reason.
        var bad: [Int: (String?, String)] = [:]
        /// line → the line it repeats (in the file) or 0 (a client already in crmd).
        var dup: [Int: Int] = [:]
        var good = 0
        var goodContacts = 0
        /// Phones the base already has (rows that repeat them are duplicates of crmd's clients).
        var basePhones: [String] = []
    }

    /// A valid 10-digit ИНН of row `i` ("77" and the row, then the check digit): the column is
    /// imported and checked.
    static func inn(_ i: Int) -> String {
        let digits = Array("77" + String(format: "%07d", i)).map { Int(String($0))! }
        let check = zip([2, 4, 10, 3, 5, 9, 4, 6, 8], digits).reduce(0) { $0 + $1.0 * $1.1 } % 11 % 10
        return digits.map(String.init).joined() + String(check)
    }

    static func sample(rows: Int) -> Sample {
        var s = Sample()
        var line = 2
        var goodLines: [Int: Int] = [:]  // row → line, rows that will be imported
        for i in 0..<rows {
            var name = i % 10 == 3 ? "\"ООО «Ромашка; партнёры \(i)»\"" : "ООО «Клиент \(i)»"
            var phone = "8 (900) \(String(format: "%03d-%02d-%02d", i / 10000, i / 100 % 100, i % 100))"
            var email = "client\(i)@example.ru"
            var owner = i % 2 == 0 ? "ivanov" : "sidorov"
            var position = "Директор"
            var extra = ""
            let myLine = line
            if i == 3000 { position = "\"Директор\nпо продажам\"" }
            if i % 97 == 13 {
                phone = "12-34"
                s.bad[myLine] = ("Телефон", "is not a phone number")
            } else if i % 101 == 7 {
                email = "not-an-email"
                s.bad[myLine] = ("Email", "is not an e-mail address")
            } else if i % 211 == 50 {
                name = " "
                s.bad[myLine] = ("Название", "must not be empty")
            } else if i % 307 == 100 {
                owner = "nobody"
                s.bad[myLine] = ("Менеджер", "No user 'nobody'")
            } else if i == 5000 {
                extra = ";лишнее"
                s.bad[myLine] = (nil, "has 11 cells, the header 10")
            } else if i % 199 == 150, let earlier = goodLines[i - 150] {
                // The same phone as an earlier good row, spelt another way, and its own e-mail.
                let j = i - 150
                phone = "+7 900 \(String(format: "%03d %02d %02d", j / 10000, j / 100 % 100, j % 100))"
                s.dup[myLine] = earlier
            } else if i % 500 == 250 {
                s.basePhones.append(phone)
                s.dup[myLine] = 0
            }
            if s.bad[myLine] == nil, s.dup[myLine] == nil {
                goodLines[i] = myLine
                s.good += 1
                s.goodContacts += 1
            }
            let contactPhone = "+7 950 \(String(format: "%03d-%04d", i / 10000, i % 10000))"
            s.text += "\(name);компания;\(phone);\(email);\(owner);опт;Иван Петров \(i);\(position);\(contactPhone);\(inn(i))\(extra)\r\n"
            line += i == 3000 ? 2 : 1
        }
        return s
    }

    func crmctl(_ d: TestDaemon, _ state: URL, _ args: [String]) throws -> (status: Int32, out: String, err: String) {
        try runProcess(
            TestDaemon.binaryPath(named: "crmctl"), args + ["--socket", d.socketPath],
            environment: ["NO_COLOR": "1", "XDG_STATE_HOME": state.path])
    }

    func count(_ c: Connection, _ method: String = "client.list", _ params: JSONObject = [:]) throws -> Int {
        var total = 0
        var p = params
        p["limit"] = 1000
        while true {
            let page = try c.call(method, .object(p))
            total += page["items"]?.arrayValue?.count ?? 0
            guard let next = page["next_cursor"]?.stringValue else { return total }
            p["cursor"] = .string(next)
        }
    }

    @Test("a 10,000-row Windows-1251 file: an exact dry-run report, then exactly the good rows imported, a rerun writes nothing")
    func dryRunThenImport() throws {
        let dir = try temporaryFolder("import")
        defer { try? FileManager.default.removeItem(at: dir) }
        let s = Self.sample(rows: 10_000)
        let file = dir.appendingPathComponent("clients.csv")
        try #require(s.text.data(using: .windowsCP1251) != nil)
        try s.text.data(using: .windowsCP1251)!.write(to: file)
        try withDaemon { d in
            let admin = try d.connect()
            try seedTeam(admin)
            for (k, p) in s.basePhones.enumerated() {
                _ = try admin.call("client.create", ["name": .string("Уже есть \(k)"), "phones": [.string(p)]])
            }

            let dry = try crmctl(d, dir, ["import", "clients", file.path, "--dry-run"])
            #expect(dry.status == 65, "\(dry.err)")
            #expect(dry.err.contains("cp1251"), "\(dry.err)")
            var reported: [Int: String] = [:]
            for l in dry.out.split(separator: "\n") where l.hasPrefix("line ") {
                let n = Int(l.dropFirst(5).prefix { $0.isNumber })!
                #expect(reported[n] == nil, "line \(n) reported twice")
                reported[n] = String(l)
            }
            #expect(Set(reported.keys) == Set(s.bad.keys).union(s.dup.keys))
            for (line, (column, why)) in s.bad {
                let text = reported[line] ?? ""
                #expect(text.contains(why), "\(line): \(text)")
                if let column { #expect(text.contains("«\(column)»"), "\(line): \(text)") }
            }
            for (line, of) in s.dup {
                let text = reported[line] ?? ""
                #expect(text.contains(of == 0 ? "already belongs to client" : "is also on line \(of)"), "\(line): \(text)")
            }
            let dupBase = s.dup.values.filter { $0 == 0 }.count
            let summary =
                "10000 rows: \(s.good) would be imported, \(s.bad.count) bad, \(s.dup.count) duplicates (\(dupBase) of clients in crmd, \(s.dup.count - dupBase) of earlier rows in the file)."
            #expect(dry.out.contains(summary), "\(dry.out.suffix(300))")
            #expect(try count(admin) == s.basePhones.count, "a dry run writes nothing")

            let real = try crmctl(d, dir, ["import", "clients", file.path, "--batch", "700"])
            #expect(real.status == 65, "\(real.err)")
            #expect(real.out.contains(summary.replacingOccurrences(of: "would be imported", with: "imported")), "\(real.out.suffix(300))")
            #expect(try count(admin) == s.basePhones.count + s.good)
            let card = try admin.call("client.find_by_phone", ["phone": "+7 950 000-3000"])
            #expect(card["contact"]?["position"] == "Директор\nпо продажам", "\(card)")
            #expect(card["client"]?["name"] == "ООО «Ромашка; партнёры 3000»" || card["client"]?["name"] == "ООО «Клиент 3000»", "\(card)")

            let again = try crmctl(d, dir, ["import", "clients", file.path, "--batch", "700"])
            #expect(again.err.contains("Resuming"), "\(again.err)")
            #expect(again.out.contains(summary.replacingOccurrences(of: "would be imported", with: "imported")), "\(again.out.suffix(300))")
            #expect(try count(admin) == s.basePhones.count + s.good)

            // The export reads back in: every row a duplicate of a client in crmd.
            let out = dir.appendingPathComponent("export.csv")
            let export = try crmctl(d, dir, ["export", "clients", "--out", out.path])
            #expect(export.status == 0, "\(export.err)")
            let data = try Data(contentsOf: out)
            #expect(data.starts(with: [0xEF, 0xBB, 0xBF]))
            #expect(String(decoding: data, as: UTF8.self).contains("Название;Тип;Телефон;Email;Менеджер"))
            let back = try crmctl(d, dir, ["import", "clients", out.path, "--dry-run"])
            let n = s.basePhones.count + s.good
            #expect(
                back.out.contains("\(n) rows: 0 would be imported, 0 bad, \(n) duplicates (\(n) of clients in crmd"),
                "\(back.out.suffix(300))")
        }
    }

    @Test("crmctl killed in the middle of an import, run again: every good row once, no duplicates")
    func killedAndResumed() throws {
        let dir = try temporaryFolder("import-kill")
        defer { try? FileManager.default.removeItem(at: dir) }
        let s = Self.sample(rows: 4000)
        let file = dir.appendingPathComponent("clients.csv")
        try Data(s.text.utf8).write(to: file)
        try withDaemon { d in
            let admin = try d.connect()
            try seedTeam(admin)
            for (k, p) in s.basePhones.enumerated() {
                _ = try admin.call("client.create", ["name": .string("Уже есть \(k)"), "phones": [.string(p)]])
            }
            for round in 0..<3 {
                let p = Process()
                p.executableURL = URL(fileURLWithPath: TestDaemon.binaryPath(named: "crmctl"))
                p.arguments = ["import", "clients", file.path, "--batch", "20", "--socket", d.socketPath]
                p.environment = ProcessInfo.processInfo.environment.merging(["XDG_STATE_HOME": dir.path]) { $1 }
                p.standardOutput = FileHandle.nullDevice
                p.standardError = FileHandle.nullDevice
                try p.run()
                usleep(UInt32(150_000 + 100_000 * round))
                kill(p.processIdentifier, SIGKILL)
                p.waitUntilExit()
            }
            // An operator imports only clients without owners: the batch is refused naming the line.
            _ = try admin.call("user.add", ["login": "smirnova", "name": "Мария Смирнова", "role": "operator", "uid": 50_010])
            let op = try crmctl(d, dir, ["import", "clients", file.path, "--dry-run", "--as", "smirnova"])
            #expect(op.status == 1)
            #expect(op.err.contains("An operator imports clients without owners (line 2 names an owner)"), "\(op.err)")
            let partial = try count(admin)
            #expect(partial < s.basePhones.count + s.good, "killed before the end")
            let rest = try crmctl(d, dir, ["import", "clients", file.path, "--batch", "20"])
            #expect(rest.status == 65, "\(rest.err)")
            #expect(try count(admin) == s.basePhones.count + s.good)
            // The report of a resumed run is the same as one run's: replayed batches and the done
            // batches' keys make every row count once and in the same class.
            let dupBase = s.dup.values.filter { $0 == 0 }.count
            #expect(
                rest.out.contains(
                    "4000 rows: \(s.good) imported, \(s.bad.count) bad, \(s.dup.count) duplicates (\(dupBase) of clients in crmd, \(s.dup.count - dupBase) of earlier rows in the file)."
                ), "\(rest.out.suffix(400))")
        }
    }
}
