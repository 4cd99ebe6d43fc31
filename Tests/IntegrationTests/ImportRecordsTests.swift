import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import Testing

/// The real crmctl against the real crmd: `crmctl import contacts|interactions|deals` on files
/// with bad rows and duplicates give an exact report, import exactly the good rows, and a rerun
/// writes nothing.
@Suite("crmctl import contacts, interactions, deals")
struct ImportRecordsTests {
    func crmctl(_ d: TestDaemon, _ state: URL, _ args: [String]) throws -> (status: Int32, out: String, err: String) {
        try runProcess(
            TestDaemon.binaryPath(named: "crmctl"), args + ["--socket", d.socketPath],
            environment: ["NO_COLOR": "1", "XDG_STATE_HOME": state.path, "TZ": "UTC"])
    }

    /// The report's lines (`line N…`), in order.
    func report(_ out: String) -> [String] { out.split(separator: "\n").filter { $0.hasPrefix("line ") }.map(String.init) }

    /// Dry run (exact report, nothing written), real run (the good rows), rerun and --restart
    /// (nothing written). Returns the real run's output.
    func importTwice(
        _ d: TestDaemon, _ dir: URL, _ kind: String, _ file: URL, expect: [String], summary: String, count: () throws -> Int
    ) throws {
        let before = try count()
        let dry = try crmctl(d, dir, ["import", kind, file.path, "--dry-run"])
        #expect(dry.status == 65, "\(dry.err)")
        #expect(report(dry.out) == expect, "\(dry.out)")
        #expect(dry.out.contains(summary), "\(dry.out)")
        #expect(try count() == before, "a dry run writes nothing")
        let real = try crmctl(d, dir, ["import", kind, file.path, "--batch", "2"])
        #expect(real.status == 65, "\(real.err)")
        #expect(report(real.out) == expect, "\(real.out)")
        #expect(real.out.contains(summary.replacingOccurrences(of: "would be imported", with: "imported")), "\(real.out)")
        let after = try count()
        let again = try crmctl(d, dir, ["import", kind, file.path, "--batch", "2"])
        #expect(again.err.contains("Resuming"), "\(again.err)")
        #expect(try count() == after, "a rerun writes nothing")
        let restart = try crmctl(d, dir, ["import", kind, file.path, "--restart"])
        #expect(restart.status == 65)
        #expect(restart.out.contains(": 0 imported"), "\(restart.out)")
        #expect(try count() == after, "a rerun from the start finds every row a duplicate")
    }

    @Test("contacts, interactions and deals from CSV: exact reports, the good rows imported once")
    func importRecords() throws {
        let dir = try temporaryFolder("import-records")
        defer { try? FileManager.default.removeItem(at: dir) }
        try withDaemon { d in
            let admin = try d.connect()
            _ = try seedTeam(admin)
            func client(_ name: String, _ owner: String?, _ phone: String, _ email: String) throws -> Int64 {
                try admin.call(
                    "client.create",
                    ["name": .string(name), "owner": .string(owner), "phones": [.string(phone)], "emails": [.string(email)]])[
                        "id"]!.intValue!
            }
            let c1 = try client("ООО «Альфа»", "ivanov", "+7 900 111-11-11", "alfa@example.ru")
            let c2 = try client("ООО «Бета»", "sidorov", "+7 900 222-22-22", "beta@example.ru")
            let c3 = try client("ООО «Гамма»", nil, "+7 900 333-33-33", "gamma@example.ru")

            // Contacts, in Windows-1251 with ';'.
            let contacts = dir.appendingPathComponent("contacts.csv")
            try """
            Клиент;ФИО;Должность;Телефон;Email;ЛПР\r
            8 900 111 11 11;Анна Белова;Директор;+7 911 000-00-01;anna@alfa.ru;да\r
            beta@example.ru;Борис Орлов;Снабженец;8 911 000 00 02;;нет\r
            8 999 999 99 99;Вера Зуева;;+7 911 000-00-03;;\r
            +7 900 111-11-11;Анна Белова;;+7 (911) 000-00-01;;\r
            +7 900 111-11-11;Глеб Котов;;+7 900 222-22-22;;\r
            +7 900 333-33-33;Дина Лис;;12-34;;\r

            """.data(using: .windowsCP1251)!.write(to: contacts)
            try importTwice(
                d, dir, "contacts", contacts,
                expect: [
                    "line 4, «Клиент»: names no client in crmd (import the clients first)",
                    "line 5, «Телефон»: duplicate: +79110000001 is also on line 2",
                    "line 6, «Телефон»: duplicate: +79002222222 already belongs to client \(c2) 'ООО «Бета»'",
                    "line 7, «Телефон»: '12-34' is not a phone number (one number of 5 to 15 digits, optionally with +, spaces, dashes, brackets, and an extension such as 'доб. 12', 'ext 12', 'x12' or '#12' of at most 6 digits)",
                ],
                summary: "6 rows: 2 would be imported, 2 bad, 2 duplicates (1 of contacts in crmd, 1 of earlier rows in the file).",
                count: {
                    try admin.call("contact.list", ["client_id": .int(c1)])["items"]!.arrayValue!.count
                        + admin.call("contact.list", ["client_id": .int(c2)])["items"]!.arrayValue!.count
                })
            let anna = try admin.call("client.find_by_phone", ["phone": "8 911 000 00 01"])
            #expect(anna["contact"]?["name"] == "Анна Белова" && anna["contact"]?["decision_maker"] == true, "\(anna)")

            // Interactions, UTF-8 with ','.
            let history = dir.appendingPathComponent("history.csv")
            try """
            ID клиента,Тип,Дата,Автор,Тема,Результат,Комментарий
            \(c1),Звонок,01.03.2025 14:30,ivanov,Знакомство,Договорились о встрече,Первый звонок
            \(c1),Встреча,2025-03-05 11:00,ivanov,Презентация,Ждут КП,В офисе
            \(c1),звонок,2025-03-01T14:30:00Z,ivanov,Знакомство,Повтор,
            \(c2),Звонок,01.01.2099 10:00,sidorov,Будущее,Нет,
            \(c2),Полёт,01.02.2025,sidorov,Тема,Итог,
            999999,Заметка,01.02.2025,sidorov,Тема,Итог,Текст
            \(c3),Заметка,01.02.2025,nobody,Тема,Итог,Текст

            """.write(to: history, atomically: true, encoding: .utf8)
            try importTwice(
                d, dir, "interactions", history,
                expect: [
                    "line 4, «Дата»: duplicate: \(c1)/call/2025-03-01T14:30:00Z/ivanov is also on line 2",
                    "line 5, «Дата»: is in the future; an import brings past interactions",
                    "line 6, «Тип»: must be one of call, meeting, email, message, note, not 'Полёт'",
                    "line 7, «ID клиента»: names no client in crmd (import the clients first)",
                    "line 8, «Автор»: No user 'nobody'.",
                ],
                summary: "7 rows: 2 would be imported, 4 bad, 1 duplicate (0 of interactions in crmd, 1 of earlier rows in the file).",
                count: { try admin.call("interaction.list", ["client_id": .int(c1)])["items"]!.arrayValue!.count })
            // The owner's latest contact is the card's last interaction, as interaction.log with occurred_at.
            let card = try admin.call("client.get", ["id": .int(c1)])
            #expect(card["last_interaction_at"] == "2025-03-05T11:00:00Z", "\(card)")

            // Deals.
            let deals = dir.appendingPathComponent("deals.csv")
            try """
            Клиент;Название;Сумма;Статус;Этап;Дата закрытия;Причина отказа;Менеджер
            +7 900 111-11-11;Поставка 1;1 500,50;выиграна;;15.01.2025;;
            beta@example.ru;Поставка 2;20000;проиграна;;20.02.2025;Price;
            8 900 111 11 11;Поставка 1;1500,5;выиграна;;15.01.2025;;
            +7 900 333-33-33;Поставка 3;100;открыта;Нет такого;;;ivanov
            beta@example.ru;Поставка 4;100;проиграна;;20.02.2025;Дорого;
            +7 900 333-33-33;Поставка 5;5000;открыта;;;;ivanov

            """.write(to: deals, atomically: true, encoding: .utf8)
            let stages = try admin.call("deal.list", ["client_id": .int(c1)])
            #expect(stages["items"]?.arrayValue?.isEmpty == true)
            try importTwice(
                d, dir, "deals", deals,
                expect: [
                    "line 4, «Название»: duplicate: \(c1)/won/150050/Поставка 1 is also on line 2",
                    "line 5, «Этап»: 'Нет такого' is not a stage of Sales (\(try stageNames(admin)))",
                    "line 6, «Причина отказа»: must be one of: Price, Competitor, No budget, No decision, No answer, Other",
                ],
                summary: "6 rows: 3 would be imported, 2 bad, 1 duplicate (0 of deals in crmd, 1 of earlier rows in the file).",
                count: {
                    try [c1, c2, c3].map { try admin.call("deal.list", ["client_id": .int($0)])["items"]!.arrayValue!.count }.reduce(0, +)
                })
            let won = try admin.call("deal.list", ["client_id": .int(c1)])["items"]!.arrayValue![0]
            #expect(won["amount"] == 150_050 && won["status"] == "won" && won["closed_at"] == "2025-01-15T00:00:00Z", "\(won)")
            #expect(won["owner"] == "ivanov" || won["owner_login"] == "ivanov", "\(won)")

            // A manager imports nothing; an operator no history.
            let op = try crmctl(d, dir, ["import", "deals", deals.path, "--dry-run", "--as", "sidorov"])
            #expect(op.status == 1 && op.err.contains("Only admins and heads may import deals"), "\(op.err)")
        }
    }

    func stageNames(_ c: Connection) throws -> String {
        let p = try c.call("pipeline.list", [:])
        let first = p["items"]?.arrayValue?.first ?? p["pipelines"]?.arrayValue?.first ?? .null
        return (first["stages"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue ?? $0.stringValue }.joined(separator: ", ")
    }
}
