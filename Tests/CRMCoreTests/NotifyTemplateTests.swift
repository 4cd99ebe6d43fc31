import CRMCore
import Testing

/// The templates and the choice of address of "Telling the client" (docs/rules.md).
@Suite("Notify templates and addresses")
struct NotifyTemplateTests {
    @Test("the built-in set is whole and valid in both languages")
    func builtIn() {
        #expect(
            NotifyTemplates.builtIn.byKey.keys.sorted() == ["deal_stage.en", "deal_stage.ru", "request_taken.en", "request_taken.ru"])
        let t = NotifyTemplates.builtIn.template(.requestTaken, .ru)
        let (subject, text) = t.render(["request_id": "7", "client_name": "Анна", "manager_name": "Иван", "manager_phone": "+7 495"])
        #expect(subject == "Ваша заявка №7 принята")
        #expect(text.hasPrefix("Здравствуйте, Анна!"))
    }

    @Test("an unknown placeholder, a lone brace or an empty subject is refused with its line; {{ }} are braces")
    func parsing() throws {
        #expect(throws: NotifyTemplate.Problem(line: 2, problem: Self.unknown("name"))) {
            try NotifyTemplate(parsing: "Тема\nЗдравствуйте, {name}!")
        }
        #expect(throws: NotifyTemplate.Problem(line: 1, problem: "a '{' without its '}'")) { try NotifyTemplate(parsing: "Тема {stage") }
        #expect(throws: NotifyTemplate.Problem(line: 1, problem: "the first line is the subject and must not be empty")) {
            try NotifyTemplate(parsing: "\ntext")
        }
        let t = try NotifyTemplate(parsing: "{{x}} {stage}\r\nbody }} {deal_title}\n")
        #expect(t.render(["stage": "S", "deal_title": "D"]) == ("{x} S", "body } D"))
    }

    static func unknown(_ name: String) -> String {
        "unknown placeholder {\(name)}; known: " + NotifyTemplate.placeholders.map { "{\($0)}" }.joined(separator: ", ")
    }

    @Test("opt-out first; e-mail before SMS; SMS only to a mobile; else no address")
    func addresses() {
        typealias C = (emails: [String], phones: [String], optOut: Bool)
        let landline: C = ([], ["+74951234567"], false)
        let mobile: C = ([], ["+79161234567;ext=1", "+79161234567"], false)
        #expect(NotifyAddress.choose(clientOptOut: true, candidates: [([], ["+79161234567"], false)]) == .skipped(reason: "opt_out"))
        #expect(NotifyAddress.choose(clientOptOut: false, candidates: [landline, mobile]) == .sms("+79161234567"))
        #expect(NotifyAddress.choose(clientOptOut: false, candidates: [mobile, (["a@b.ru"], [], false)]) == .email("a@b.ru"))
        #expect(NotifyAddress.choose(clientOptOut: false, candidates: [landline]) == .skipped(reason: "no_address"))
        #expect(NotifyAddress.choose(clientOptOut: false, candidates: [(["a@b.ru"], [], true)]) == .skipped(reason: "opt_out"))
        #expect(NotifyAddress.isMobile("+4915112345678"))
    }
}
