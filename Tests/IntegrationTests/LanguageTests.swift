import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import Testing

/// Messages in the reader's language on the real crmd: the user's `lang`, else the client's
/// locale, else the server's `language`; codes and data the same in every language.
@Suite("Languages")
struct LanguageTests: ManualClockSuite {
    /// The error a call fails with (the test fails if it succeeds).
    func failure(_ c: Connection, _ method: String, _ params: JSON) throws -> RPCError {
        do {
            let r = try c.call(method, params)
            Issue.record("\(method) succeeded: \(r)")
            return RPCError(code: 0, message: "")
        } catch let e as RPCError {
            return e
        }
    }

    func actingAs(_ d: TestDaemon, _ login: String) throws -> Connection {
        let c = try d.connect()
        _ = try c.call("session.act_as", ["login": .string(login)])
        return c
    }

    @Test("what crmd writes once for everyone (a deal's steps in the client's history) is in the department's language, whoever asked")
    func storedTextInTheDepartmentsLanguage() throws {
        try withDaemon(environment: ["CRMD_LANGUAGE": "ru"]) { d in
            let admin = try d.connect()
            try seedTeam(admin)
            // The caller reads English; the history is the department's, in Russian.
            _ = try admin.call("user.update", ["login": "ivanov", "lang": "en"])
            let ivanov = try actingAs(d, "ivanov")
            let client = try ivanov.call("client.create", ["name": "ООО Ромашка"])["id"]!
            let deal = try ivanov.call("deal.create", ["client_id": client, "title": "Мебель"])["id"]!
            _ = try ivanov.call("deal.move", ["id": deal, "stage": "Proposal sent"])
            _ = try ivanov.call("deal.close", ["id": deal, "outcome": "won", "amount": 100_000])
            let topics = (try ivanov.call("interaction.list", ["client_id": client])["items"]?.arrayValue ?? []).compactMap {
                $0["topic"]?.stringValue
            }
            let n = deal.intValue ?? 0
            #expect(
                topics == [
                    "Сделка №\(n) выиграна на этапе «Proposal sent»", "Сделка №\(n) переведена: «New deal» → «Proposal sent»",
                    "Сделка №\(n) начата на этапе «New deal»",
                ], "\(topics)")
        }
    }

    @Test("an import's rejected items: problem in English for programs, message in the connection's language")
    func importProblemsSaid() throws {
        try withDaemon(environment: ["CRMD_LANGUAGE": "en"]) { d in
            let admin = try d.connect()
            try seedTeam(admin)
            _ = try admin.call("client.create", ["name": "ООО Ромашка", "phones": ["+7 495 123-45-67"]])
            let ru = try actingAs(d, "petrova")
            #expect(try ru.call("whoami", ["lang": "ru"])["lang"] == "ru")
            let items: JSON = [
                "clients": [["name": "Лютик", "phones": ["12-34"]], ["name": "Василек", "phones": ["8 495 123 45 67"]]], "dry_run": true,
            ]
            let said = try ru.call("client.import", items)["rejected"]?.arrayValue ?? []
            #expect(said.count == 2, "\(said)")
            #expect(said.first?["problem"]?.stringValue?.hasPrefix("'12-34' is not a phone number") == true, "\(said)")
            #expect(said.first?["message"]?.stringValue?.hasPrefix("«12-34» — не номер телефона") == true, "\(said)")
            #expect(said.last?["message"] == "+74951234567 уже принадлежит клиенту 1 «ООО Ромашка»", "\(said)")
            let english = try admin.call("client.import", items)["rejected"]?.arrayValue ?? []
            #expect(english.map { $0["problem"] } == said.map { $0["problem"] })
            #expect(english.first?["message"] == english.first?["problem"], "\(english)")

            // The record imports say theirs too: a contact onto no client, one with a bad phone.
            let contacts: JSON = [
                "contacts": [["client_id": 99, "name": "Кто-то"], ["client_id": 1, "name": "Ольга", "phones": ["12-34"]]],
                "dry_run": true,
            ]
            let rows = try ru.call("contact.import", contacts)["rejected"]?.arrayValue ?? []
            #expect(rows.first?["problem"] == "names no client in crmd (import the clients first)", "\(rows)")
            #expect(rows.first?["message"] == "не называет ни одного клиента в crmd (сначала импортируйте клиентов)", "\(rows)")
            #expect(rows.last?["message"]?.stringValue?.hasPrefix("«12-34» — не номер телефона") == true, "\(rows)")
            let rowsEn = try admin.call("contact.import", contacts)["rejected"]?.arrayValue ?? []
            #expect(rowsEn.last?["message"]?.stringValue?.hasPrefix("'12-34' is not a phone number") == true, "\(rowsEn)")
        }
    }

    @Test("the same bad request: one code and data, a Russian, an English and the server's message")
    func sameErrorEveryLanguage() throws {
        try withDaemon(environment: ["CRMD_LANGUAGE": "ru"]) { d in
            let admin = try d.connect()
            try seedTeam(admin)
            #expect(try admin.call("user.update", ["login": "ivanov", "lang": "ru"])["lang"] == "ru")
            #expect(try admin.call("user.update", ["login": "sidorov", "lang": "en"])["lang"] == "en")
            let users = try admin.call("user.list")["items"]?.arrayValue ?? []
            #expect(users.first { $0["login"] == "petrova" }?["lang"] == .null)

            let ru = try failure(actingAs(d, "ivanov"), "client.get", ["id": 999_999])
            let en = try failure(actingAs(d, "sidorov"), "client.get", ["id": 999_999])
            let server = try failure(actingAs(d, "petrova"), "client.get", ["id": 999_999])
            #expect(ru.code == 1001 && en.code == 1001 && server.code == 1001)
            #expect(ru.data == en.data && en.data == server.data)
            #expect(en.data?["entity"] == "client")
            #expect(en.message.description == "No client with id 999999.")
            #expect(ru.message.description == "Не найдено: клиент с id 999999.")
            #expect(server.message.description == ru.message.description)

            // Bad params: the problems are said in Russian in the message, in English in data.
            let params = try failure(actingAs(d, "ivanov"), "client.get", ["id": "7", "extra": 1])
            #expect(
                params.message.description
                    == "Неверные параметры: id: должно быть: целое число, а не строка; extra: не параметр этого метода.",
                "\(params.message.description)")
            #expect(params.data?["fields"]?.arrayValue?.first?["problem"] == "must be an integer, not a string")

            // A client's locale counts when its user chose none, not over a user's own choice.
            let head = try actingAs(d, "petrova")
            #expect(try head.call("whoami", ["lang": "en"])["lang"] == "en")
            #expect(try failure(head, "client.get", ["id": 1])["message"] == "No client with id 1.")
            let ivanov = try actingAs(d, "ivanov")
            #expect(try ivanov.call("whoami", ["lang": "en"])["lang"] == "ru")

            // A user sets their own language, and no one else's.
            #expect(try ivanov.call("user.update", ["login": "ivanov", "lang": "en"])["lang"] == "en")
            #expect(try failure(ivanov, "client.get", ["id": 1])["message"] == "No client with id 1.")
            let other = try failure(ivanov, "user.update", ["login": "sidorov", "lang": "ru"])
            #expect(other.code == 1002)
            let more = try failure(ivanov, "user.update", ["login": "ivanov", "lang": "ru", "name": "Ivan"])
            #expect(more.code == 1002)
            let bad = try failure(admin, "user.update", ["login": "ivanov", "lang": "de"])
            #expect(bad.code == -32602)
            #expect(bad.data?["fields"]?.arrayValue?.first?["field"] == "lang")
        }
    }

    @Test("crmctl sends its locale: LANG=ru_RU.UTF-8 reads Russian, en_US English")
    func crmctlLocale() throws {
        try withDaemon { d in
            let crmctl = TestDaemon.binaryPath(named: "crmctl")
            func run(_ lang: String) throws -> String {
                let env = ["LANG": lang, "LC_ALL": "", "LC_MESSAGES": "", "HOME": NSTemporaryDirectory()]
                let r = try runProcess(crmctl, ["client", "show", "424242", "--socket", d.socketPath], environment: env)
                #expect(r.status == 1)
                #expect(r.err.contains("1001"), "\(r.err)")
                return r.err
            }
            let ru = try run("ru_RU.UTF-8")
            let en = try run("en_US.UTF-8")
            // C names no language: the server's (English in tests).
            let c = try run("C.UTF-8")
            #expect(ru.contains("Не найдено: клиент с id 424242."), "\(ru)")
            #expect(en.contains("No client with id 424242."), "\(en)")
            #expect(c.contains("No client with id 424242."), "\(c)")

            // Its help follows the locale.
            func help(_ lang: String) throws -> String {
                let env = ["LANG": lang, "LC_ALL": "", "LC_MESSAGES": "", "HOME": NSTemporaryDirectory(), "COLUMNS": "200"]
                return try runProcess(crmctl, ["--help"], environment: env).out
            }
            let ruHelp = try help("ru_RU.UTF-8")
            let enHelp = try help("en_US.UTF-8")
            #expect(ruHelp.contains("Работа с crmd") && ruHelp.contains("Проверить, что crmd отвечает."), "\(ruHelp)")
            #expect(enHelp.contains("Talk to crmd") && enHelp.contains("Check that crmd answers."), "\(enHelp)")

            // crmctl's own tables speak the connection's language.
            func users(_ lang: String) throws -> String {
                let env = ["LANG": lang, "LC_ALL": "", "LC_MESSAGES": "", "HOME": NSTemporaryDirectory(), "NO_COLOR": "1"]
                let r = try runProcess(crmctl, ["user", "list", "--socket", d.socketPath], environment: env)
                #expect(r.status == 0, "\(r.err)")
                return r.out.split(separator: "\n").first.map(String.init) ?? ""
            }
            let ruHeader = try users("ru_RU.UTF-8")
            let enHeader = try users("en_US.UTF-8")
            #expect(ruHeader.hasPrefix("ID") && ruHeader.contains("ЛОГИН") && ruHeader.contains("РОЛЬ"), "\(ruHeader)")
            #expect(enHeader.contains("LOGIN") && enHeader.contains("ROLE"), "\(enHeader)")
        }
    }

    @Test("an alert in Russian names the local release day; in English for an English reader")
    func alertTextsInTheReadersLanguage() throws {
        let d = try daemon(["CRMD_LANGUAGE": "ru"], start: "2026-01-12T09:00:00Z")
        defer { d.stop() }
        let admin = try d.connect()
        try seedTeam(admin)
        _ = try admin.call("user.update", ["login": "sidorov", "lang": "en"])
        _ = try admin.call("client.create", ["name": "Ромашка", "owner": "ivanov"])
        _ = try admin.call("client.create", ["name": "Daisy Ltd", "owner": "sidorov"])
        // Thursday 12 February, 12:00 Moscow: both yellow, delivered at once; release on Sunday
        // 12 July, 150 days on.
        _ = try admin.call("clock.advance", ["by": "P1M"])
        let ru = try actingAs(d, "ivanov").call("alert.list")["items"]?.arrayValue?.first?["message"]?.stringValue ?? ""
        #expect(
            ru
                == "Клиент «Ромашка» (id 1) перешёл в жёлтую зону: уйдёт на биржу через 150 дней, 12.07.2026. Запишите звонок или встречу либо начните сделку.",
            "\(ru)")
        let en = try actingAs(d, "sidorov").call("alert.list")["items"]?.arrayValue?.first?["message"]?.stringValue ?? ""
        #expect(
            en
                == "Client 'Daisy Ltd' (id 2) turned yellow: 150 days until it goes to the exchange (12.07.2026). Log a call or meeting, or start a deal.",
            "\(en)")
    }
}

extension RPCError {
    /// The wire form's members, as a peer reads them.
    subscript(_ key: String) -> JSON? { key == "message" ? .string(message.description) : nil }
}
