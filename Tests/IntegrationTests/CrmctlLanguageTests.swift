import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import Testing

/// crmctl's own sentences and phones in the language crmctl chose (LANG=ru_RU.UTF-8 or LANG=C),
/// run as a process against the real crmd; `--json` keeps the stored form.
@Suite("crmctl speaks Russian and English")
struct CrmctlLanguageTests {
    func crmctl(_ d: TestDaemon, _ args: [String], lang: String) throws -> (status: Int32, out: String, err: String) {
        let r = try runProcess(
            TestDaemon.binaryPath(named: "crmctl"), args + ["--socket", d.socketPath],
            environment: ["NO_COLOR": "1", "COLUMNS": "", "LANG": lang, "LC_ALL": "", "LC_MESSAGES": ""])
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
}
