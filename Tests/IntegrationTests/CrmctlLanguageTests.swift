import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import Testing

/// crmctl's own sentences and phones in the language crmctl chose (LANG=ru_RU.UTF-8 or LANG=C),
/// run as a process against the real crmd; `--json` keeps the stored form.
@Suite("crmctl speaks Russian and English")
struct CrmctlLanguageTests {
    func crmctl(_ d: TestDaemon, _ args: [String], lang: String, env: [String: String] = [:]) throws -> (
        status: Int32, out: String, err: String
    ) {
        let r = try runProcess(
            TestDaemon.binaryPath(named: "crmctl"), args + ["--socket", d.socketPath],
            environment: ["NO_COLOR": "1", "COLUMNS": "", "LANG": lang, "LC_ALL": "", "LC_MESSAGES": ""].merging(env) { $1 })
        return (r.status, r.out, r.err)
    }

    @Test("a created-client sentence and a phone with its extension, in ru and in C; --json stays raw")
    func sentencesAndPhones() throws {
        let d = try TestDaemon()
        try d.start()
        defer { d.stop() }
        try seedTeam(try d.connect())
        let ru = try crmctl(
            d, ["client", "add", "Ромашка", "--phone", "8 (495) 123-45-67 доб. 12", "--as", "ivanov"], lang: "ru_RU.UTF-8")
        #expect(ru.status == 0, "\(ru.err)")
        #expect(ru.out.hasPrefix("создан клиент №1 Ромашка, владелец ivanov"), "\(ru.out)")
        let en = try crmctl(d, ["client", "add", "Vasilek", "--as", "ivanov"], lang: "C")
        #expect(en.out.hasPrefix("created client #2 Vasilek, owner ivanov"), "\(en.out)")

        let listRu = try crmctl(d, ["client", "list", "--as", "ivanov"], lang: "ru_RU.UTF-8")
        #expect(listRu.out.contains("+7 495 123-45-67 доб. 12"), "\(listRu.out)")
        let listEn = try crmctl(d, ["client", "list", "--as", "ivanov"], lang: "C")
        #expect(listEn.out.contains("+7 495 123-45-67 ext. 12"), "\(listEn.out)")
        let card = try crmctl(d, ["client", "show", "1", "--as", "ivanov"], lang: "ru_RU.UTF-8")
        #expect(card.out.contains("телефоны     +7 495 123-45-67 доб. 12"), "\(card.out)")
        let json = try crmctl(d, ["client", "list", "--as", "ivanov", "--json"], lang: "ru_RU.UTF-8")
        #expect(json.out.contains("\"+74951234567;ext=12\""), "\(json.out)")

        // A handler's own field problem, said in -32602's message in the reader's language.
        let bad = try crmctl(d, ["rpc", "alert.ack", #"{"ids":[]}"#, "--as", "ivanov"], lang: "ru_RU.UTF-8")
        #expect(bad.status != 0 && bad.err.contains("ids: должен содержать от 1 до 1000 номеров"), "\(bad.err)")
        let badEn = try crmctl(d, ["rpc", "alert.ack", #"{"ids":[]}"#, "--as", "ivanov"], lang: "C")
        #expect(badEn.err.contains("ids: must hold 1 to 1000 ids"), "\(badEn.err)")

        let refused = try crmctl(d, ["task", "list", "--all", "--assignee", "ivanov"], lang: "ru_RU.UTF-8")
        #expect(refused.status != 0 && refused.err.contains("укажите --all или --assignee, но не оба"), "\(refused.err)")
    }

    @Test("crmctl's help in ru and in C")
    func help() throws {
        let path = TestDaemon.binaryPath(named: "crmctl")
        let env = ["NO_COLOR": "1", "COLUMNS": "", "LC_ALL": "", "LC_MESSAGES": ""]
        let ru = try runProcess(path, ["client", "--help"], environment: env.merging(["LANG": "ru_RU.UTF-8"]) { $1 })
        #expect(ru.out.contains("Создать, показать"), "\(ru.out)")
        let en = try runProcess(path, ["client", "--help"], environment: env.merging(["LANG": "C"]) { $1 })
        #expect(en.out.contains("Create, show, list, find and assign clients."), "\(en.out)")
        let addRu = try runProcess(path, ["client", "add", "--help"], environment: env.merging(["LANG": "ru_RU.UTF-8"]) { $1 })
        #expect(addRu.out.contains("Создать клиента."), "\(addRu.out)")
        #expect(addRu.out.contains("Телефон в любом написании (можно повторять)."), "\(addRu.out)")
        #expect(addRu.out.contains("Вывести исходный результат в JSON вместо таблицы."), "\(addRu.out)")
        let addEn = try runProcess(path, ["client", "add", "--help"], environment: env.merging(["LANG": "C"]) { $1 })
        #expect(addEn.out.contains("A phone in any spelling (repeat for more)."), "\(addEn.out)")
    }

    @Test("a report table, a segment and a deal card in ru and in C (the server's en), and in C when the server speaks ru")
    func reportSegmentDealCard() throws {
        let d = try TestDaemon()
        try d.start()
        defer { d.stop() }
        try seedTeam(try d.connect())
        #expect(try crmctl(d, ["client", "add", "Ромашка", "--as", "ivanov"], lang: "C").status == 0)

        let zonesRu = try crmctl(d, ["report", "zones", "--as", "petrova"], lang: "ru_RU.UTF-8")
        #expect(zonesRu.status == 0, "\(zonesRu.err)")
        #expect(zonesRu.out.hasPrefix("зоны на "), "\(zonesRu.out)")
        #expect(zonesRu.out.contains("МЕНЕДЖЕР  ЗЕЛЁНЫЕ"), "\(zonesRu.out)")
        #expect(zonesRu.out.contains("G зелёная  Y жёлтая  R красная"), "\(zonesRu.out)")
        #expect(zonesRu.out.contains("все клиенты: в зелёной 1, в жёлтой 0, в красной 0, на бирже 0, без владельца 0"), "\(zonesRu.out)")
        let zonesEn = try crmctl(d, ["report", "zones", "--as", "petrova"], lang: "C")
        #expect(zonesEn.out.hasPrefix("zones at "), "\(zonesEn.out)")
        #expect(zonesEn.out.contains("MANAGER  GREEN"), "\(zonesEn.out)")
        #expect(zonesEn.out.contains("all clients: 1 green, 0 yellow, 0 red, 0 on the exchange, 0 unassigned"), "\(zonesEn.out)")

        let segRu = try crmctl(d, ["segment", "create", "Опт", "--static", "--client", "1", "--as", "ivanov"], lang: "ru_RU.UTF-8")
        #expect(segRu.status == 0, "\(segRu.err)")
        #expect(segRu.out.hasPrefix("сегмент №1 Опт (статический, личный: ivanov)"), "\(segRu.out)")
        #expect(segRu.out.contains("\nучастники 1\n"), "\(segRu.out)")
        let segEn = try crmctl(d, ["segment", "show", "1", "--as", "ivanov"], lang: "C")
        #expect(segEn.out.hasPrefix("segment #1 Опт (static, personal: ivanov)"), "\(segEn.out)")
        let segJSON = try crmctl(d, ["segment", "show", "1", "--as", "ivanov", "--json"], lang: "ru_RU.UTF-8")
        #expect(segJSON.out.contains("\"kind\":\"static\""), "\(segJSON.out)")

        let deal = try crmctl(d, ["deal", "add", "1", "Поставка", "--amount", "12 500,50", "--as", "ivanov"], lang: "C")
        #expect(deal.status == 0, "\(deal.err)")
        let cardRu = try crmctl(d, ["deal", "show", "1", "--as", "ivanov"], lang: "ru_RU.UTF-8")
        #expect(cardRu.out.hasPrefix("сделка №1 Поставка\n"), "\(cardRu.out)")
        #expect(cardRu.out.contains("клиент       Ромашка (#1)"), "\(cardRu.out)")
        #expect(cardRu.out.contains("вероятность"), "\(cardRu.out)")
        #expect(cardRu.out.contains("\nэтапы\n") && cardRu.out.contains("открыта на этапе"), "\(cardRu.out)")
        #expect(cardRu.out.contains("нет (добавить: crmctl deal attach 1 ФАЙЛ)"), "\(cardRu.out)")
        let cardEn = try crmctl(d, ["deal", "show", "1", "--as", "ivanov"], lang: "C")
        #expect(cardEn.out.hasPrefix("deal #1 Поставка\n"), "\(cardEn.out)")
        #expect(cardEn.out.contains("client       Ромашка (#1)") && cardEn.out.contains("probability"), "\(cardEn.out)")
        #expect(cardEn.out.contains("none (add one: crmctl deal attach 1 FILE)"), "\(cardEn.out)")

        // A client card: its kind and zone are said, the values stay in --json.
        let clientRu = try crmctl(d, ["client", "show", "1", "--as", "ivanov"], lang: "ru_RU.UTF-8")
        #expect(clientRu.out.hasPrefix("#1 Ромашка (компания)"), "\(clientRu.out)")
        #expect(clientRu.out.contains("зона зелёная"), "\(clientRu.out)")
        let clientEn = try crmctl(d, ["client", "show", "1", "--as", "ivanov"], lang: "C")
        #expect(clientEn.out.hasPrefix("#1 Ромашка (company)") && clientEn.out.contains("zone green"), "\(clientEn.out)")

        // LANG=C names no language: the server's setting decides.
        let ru = try TestDaemon(environment: ["CRMD_LANGUAGE": "ru"])
        try ru.start()
        defer { ru.stop() }
        try seedTeam(try ru.connect())
        let zonesC = try crmctl(ru, ["report", "zones", "--as", "petrova"], lang: "C")
        #expect(zonesC.out.hasPrefix("зоны на "), "\(zonesC.out)")
    }

    @Test("explain, pipeline, task list, alerts and exchange list in ru and in C")
    func dayToDayCommands() throws {
        let d = try TestDaemon()
        try d.start()
        defer { d.stop() }
        try seedTeam(try d.connect())
        let me = ["--as", "ivanov"]
        #expect(try crmctl(d, ["client", "add", "Ромашка"] + me, lang: "C").status == 0)
        #expect(try crmctl(d, ["deal", "add", "1", "Поставка", "--amount", "1000"] + me, lang: "C").status == 0)
        let task = try crmctl(d, ["task", "add", "Позвонить", "--due", "tomorrow 9:00", "--client", "1"] + me, lang: "ru_RU.UTF-8")
        #expect(task.status == 0 && task.out.hasPrefix("добавлена задача №1 «Позвонить» для ivanov, срок "), "\(task.out)\(task.err)")
        #expect(task.out.contains(" по клиенту №1"), "\(task.out)")

        let explainRu = try crmctl(d, ["explain", "1"] + me, lang: "ru_RU.UTF-8")
        #expect(explainRu.status == 0, "\(explainRu.err)")
        #expect(explainRu.out.contains("\nотсчёт с ") && explainRu.out.contains("\nнапоминания "), "\(explainRu.out)")
        #expect(explainRu.out.contains("\nследующая смена ") && explainRu.out.contains("\nосвобождение "), "\(explainRu.out)")
        let explainEn = try crmctl(d, ["explain", "1"] + me, lang: "C")
        #expect(explainEn.out.contains("\nclock started ") && explainEn.out.contains("\nreminders "), "\(explainEn.out)")

        let boardRu = try crmctl(d, ["pipeline"] + me, lang: "ru_RU.UTF-8")
        #expect(boardRu.status == 0 && boardRu.out.contains(": 1 открытая сделка, "), "\(boardRu.out)\(boardRu.err)")
        #expect(boardRu.out.contains("1 сделка"), "\(boardRu.out)")
        let boardEn = try crmctl(d, ["pipeline"] + me, lang: "C")
        #expect(boardEn.out.contains(": 1 open deal, ") && boardEn.out.contains("1 deal"), "\(boardEn.out)")

        let tasksRu = try crmctl(d, ["task", "list"] + me, lang: "ru_RU.UTF-8")
        #expect(tasksRu.status == 0 && tasksRu.out.contains("открыта"), "\(tasksRu.out)")
        let tasksEn = try crmctl(d, ["task", "list"] + me, lang: "C")
        #expect(tasksEn.out.contains(" open"), "\(tasksEn.out)")
        let doneRu = try crmctl(d, ["task", "list", "--done"] + me, lang: "ru_RU.UTF-8")
        #expect(doneRu.out.contains("Выполненных задач нет."), "\(doneRu.out)\(doneRu.err)")

        let alertsRu = try crmctl(d, ["alerts"] + me, lang: "ru_RU.UTF-8")
        #expect(alertsRu.status == 0 && alertsRu.out.contains("Уведомлений нет."), "\(alertsRu.out)\(alertsRu.err)")
        let alertsEn = try crmctl(d, ["alerts"] + me, lang: "C")
        #expect(alertsEn.out.contains("No alerts."), "\(alertsEn.out)")

        #expect(try crmctl(d, ["release", "1", "--reason", "не наш профиль"] + me, lang: "C").status == 0)
        let exchangeRu = try crmctl(d, ["exchange", "--as", "sidorov"], lang: "ru_RU.UTF-8")
        #expect(exchangeRu.status == 0 && exchangeRu.out.contains("на бирже"), "\(exchangeRu.out)\(exchangeRu.err)")
        #expect(exchangeRu.out.contains("ПРИЧИНА") || exchangeRu.out.contains("причина"), "\(exchangeRu.out)")
        let exchangeEn = try crmctl(d, ["exchange", "--as", "sidorov"], lang: "C")
        #expect(exchangeEn.out.contains("exchange") && exchangeEn.out.contains("не наш профиль"), "\(exchangeEn.out)")
    }

    @Test("import --dry-run's summary in ru and in C; plural forms agree")
    func importSummary() throws {
        let d = try TestDaemon()
        try d.start()
        defer { d.stop() }
        try seedTeam(try d.connect())
        let dir = try temporaryFolder("import-lang")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("clients.csv")
        try Data("Название;Телефон\nРомашка;+7 495 123-45-67\nВасилек;12-34\n".utf8).write(to: file)
        let env = ["XDG_STATE_HOME": dir.path]
        let ru = try crmctl(d, ["import", "clients", file.path, "--dry-run"], lang: "ru_RU.UTF-8", env: env)
        #expect(ru.status == 65, "\(ru.err)")
        #expect(ru.err.contains("Пробный прогон (ничего не записывается)"), "\(ru.err)")
        #expect(ru.out.contains("строка 3, «Телефон»: «12-34» — не номер телефона"), "\(ru.out)")
        #expect(
            ru.out.contains("2 строки: было бы загружено 1, плохих 1, 0 дубликатов (0 — клиентов в crmd, 0 — строк выше в файле)."),
            "\(ru.out)")
        let en = try crmctl(d, ["import", "clients", file.path, "--dry-run"], lang: "C", env: env)
        #expect(en.err.contains("Dry run (nothing is written)"), "\(en.err)")
        #expect(en.out.contains("line 3, «Телефон»: '12-34' is not a phone number"), "\(en.out)")
        #expect(
            en.out.contains("2 rows: 1 would be imported, 1 bad, 0 duplicates (0 of clients in crmd, 0 of earlier rows in the file)."),
            "\(en.out)")
    }

    @Test("help of report and import: ArgumentParser's own words too; usage errors; English in C")
    func reportAndImportHelp() throws {
        let ru = try help(["report", "--help"], lang: "ru_RU.UTF-8")
        #expect(ru.hasPrefix("ОПИСАНИЕ: Отчёты"), "\(ru)")
        #expect(ru.contains("\nИСПОЛЬЗОВАНИЕ: crmctl report "), "\(ru)")
        #expect(ru.contains("\nПАРАМЕТРЫ:\n") && ru.contains("\nПОДКОМАНДЫ:\n"), "\(ru)")
        #expect(ru.contains("Показать справку."), "\(ru)")
        #expect(ru.contains("zones (по умолчанию)"), "\(ru)")
        #expect(ru.contains("Подробная справка: 'crmctl help report <подкоманда>'."), "\(ru)")
        for english in ["OVERVIEW:", "USAGE:", "OPTIONS:", "SUBCOMMANDS:", "Show help information.", "(default)", "See '"] {
            #expect(!ru.contains(english), "\(english) in\n\(ru)")
        }
        let zones = try help(["help", "report", "zones"], lang: "ru_RU.UTF-8")
        #expect(zones.contains("Динамика: по столбику"), "\(zones)")
        #expect(zones.contains("По умолчанию период"), "\(zones)")

        let imp = try help(["import", "clients", "--help"], lang: "ru_RU.UTF-8")
        #expect(imp.contains("\nАРГУМЕНТЫ:\n") && imp.contains("CSV-файл."), "\(imp)")
        #expect(imp.contains("Проверить каждую строку"), "\(imp)")
        #expect(imp.contains("Файл: UTF-8 (с BOM или без)"), "\(imp)")
        #expect(imp.contains("(по умолчанию: 1000)") || !imp.contains("(default: "), "\(imp)")
        let en = try help(["report", "--help"], lang: "C")
        #expect(en.hasPrefix("OVERVIEW: Reports for managers, heads and directors."), "\(en)")
        #expect(en.contains("SUBCOMMANDS:") && en.contains("See 'crmctl help report <subcommand>' for detailed help."), "\(en)")
        let impEn = try help(["import", "clients", "--help"], lang: "C")
        #expect(impEn.contains("Check every row and report") && impEn.contains("ARGUMENTS:"), "\(impEn)")

        // A usage error: the parser's diagnostic stays, its frame is said.
        let path = TestDaemon.binaryPath(named: "crmctl")
        let bad = try runProcess(path, ["request", "take"], environment: helpEnv("ru_RU.UTF-8"))
        #expect(bad.status == 64, "\(bad.status) \(bad.err)")
        #expect(bad.err.hasPrefix("Ошибка: Missing expected argument '<id>'"), "\(bad.err)")
        #expect(
            bad.err.contains("Использование: crmctl request take") && bad.err.contains("Подробнее: 'crmctl request take --help'."),
            "\(bad.err)")
        let badEn = try runProcess(path, ["request", "take"], environment: helpEnv("C"))
        #expect(
            badEn.err.hasPrefix("Error: Missing expected argument '<id>'") && badEn.err.contains("Usage: crmctl request take"),
            "\(badEn.err)")
        // What is not help (a completion script) is left as ArgumentParser made it.
        let script = try runProcess(path, ["--generate-completion-script", "bash"], environment: helpEnv("ru_RU.UTF-8"))
        let scriptEn = try runProcess(path, ["--generate-completion-script", "bash"], environment: helpEnv("C"))
        let same = script.out == scriptEn.out
        #expect(
            script.status == 0 && same, "status \(script.status), \(script.out.count) vs \(scriptEn.out.count) characters: \(script.err)")
    }

    func helpEnv(_ lang: String) -> [String: String] { ["NO_COLOR": "1", "COLUMNS": "", "LANG": lang, "LC_ALL": "", "LC_MESSAGES": ""] }

    func help(_ args: [String], lang: String) throws -> String {
        let r = try runProcess(TestDaemon.binaryPath(named: "crmctl"), args, environment: helpEnv(lang))
        #expect(r.status == 0, "\(r.err)")
        return r.out
    }
}
