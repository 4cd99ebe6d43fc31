public import CRMText
public import Foundation

/// Telling the client (issue 22 part 4): which message, to which address, in which words.
/// docs/rules.md, "Telling the client".
public enum NotifyTemplateKind: String, Sendable, CaseIterable {
    /// A request of theirs was taken by a manager (`request.take`).
    case requestTaken = "request_taken"
    /// Their deal moved to a stage listed in `notify.stages` (`deal.move`).
    case dealStage = "deal_stage"
}

/// One template: the first line of its file is the subject, the rest the text; `{name}` is a
/// placeholder from ``NotifyTemplate/placeholders``.
public struct NotifyTemplate: Sendable, Equatable {
    public var subject: String
    public var body: String

    /// Every placeholder a template may use.
    public static let placeholders = ["client_name", "manager_name", "manager_phone", "deal_title", "stage", "request_id"]
    /// The most bytes a template file may have.
    public static let maxBytes = 16 * 1024

    /// A template's problem: the line (1-based) and what is wrong with it.
    public struct Problem: Error, Equatable, CustomStringConvertible {
        public var line: Int
        public var problem: String
        public var description: String { "line \(line): \(problem)" }
        public init(line: Int, problem: String) {
            self.line = line
            self.problem = problem
        }
    }

    /// Reads a template's text: the subject on the first line, then the text. Every `{…}` must be
    /// a known placeholder (`{{` and `}}` are literal braces).
    public init(parsing text: String) throws(Problem) {
        let normalized = text.replacingOccurrences(of: "\r\n", with: "\n")
        let lines = normalized.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for (i, line) in lines.enumerated() {
            if let bad = Self.problem(inLine: line) { throw Problem(line: i + 1, problem: bad) }
        }
        guard let first = lines.first?.trimmingCharacters(in: .whitespaces), !first.isEmpty else {
            throw Problem(line: 1, problem: "the first line is the subject and must not be empty")
        }
        subject = first
        body = lines.dropFirst().joined(separator: "\n").trimmingCharacters(in: .newlines)
    }

    public init(subject: String, body: String) {
        self.subject = subject
        self.body = body
    }

    /// What is wrong with the placeholders of one line, or nil.
    static func problem(inLine line: String) -> String? {
        var i = line.startIndex
        while i < line.endIndex {
            let c = line[i]
            let next = line.index(after: i)
            if c == "{" {
                if next < line.endIndex, line[next] == "{" {
                    i = line.index(after: next)
                    continue
                }
                guard let close = line[next...].firstIndex(of: "}") else { return "a '{' without its '}'" }
                let name = String(line[next..<close])
                guard placeholders.contains(name) else {
                    return "unknown placeholder {\(name.prefix(40))}; known: \(placeholders.map { "{\($0)}" }.joined(separator: ", "))"
                }
                i = line.index(after: close)
            } else if c == "}" {
                guard next < line.endIndex, line[next] == "}" else { return "a '}' without its '{' (write }} for a brace)" }
                i = line.index(after: next)
            } else {
                i = next
            }
        }
        return nil
    }

    /// The template with its placeholders filled in (a missing value reads as empty).
    public func render(_ values: [String: String]) -> (subject: String, text: String) {
        (Self.fill(subject, values), Self.fill(body, values))
    }

    static func fill(_ s: String, _ values: [String: String]) -> String {
        var out = ""
        var i = s.startIndex
        while i < s.endIndex {
            let c = s[i]
            let next = s.index(after: i)
            if c == "{", next < s.endIndex, s[next] == "{" {
                out.append("{")
                i = s.index(after: next)
            } else if c == "}", next < s.endIndex, s[next] == "}" {
                out.append("}")
                i = s.index(after: next)
            } else if c == "{", let close = s[next...].firstIndex(of: "}") {
                out += values[String(s[next..<close])] ?? ""
                i = s.index(after: close)
            } else {
                out.append(c)
                i = next
            }
        }
        return out
    }
}

/// The templates in force: one per kind and language.
public struct NotifyTemplates: Sendable, Equatable {
    public var byKey: [String: NotifyTemplate]

    public static func key(_ kind: NotifyTemplateKind, _ lang: Lang) -> String { "\(kind.rawValue).\(lang.rawValue)" }

    public func template(_ kind: NotifyTemplateKind, _ lang: Lang) -> NotifyTemplate {
        byKey[Self.key(kind, lang)] ?? byKey[Self.key(kind, .ru)] ?? Self.builtIn.byKey[Self.key(kind, .ru)]!
    }

    /// The set built into the binary (Russian, with English beside it); files in `notify.templates`
    /// replace them one by one.
    public static let builtInText: [String: String] = [
        "request_taken.ru": """
        Ваша заявка №{request_id} принята
        Здравствуйте, {client_name}!

        Ваша заявка №{request_id} принята в работу. Ваш менеджер — {manager_name}, телефон {manager_phone}.
        Мы свяжемся с вами в ближайшее время.
        """,
        "deal_stage.ru": """
        {deal_title}: {stage}
        Здравствуйте, {client_name}!

        Ваш заказ «{deal_title}» перешёл на этап «{stage}».
        Ваш менеджер — {manager_name}, телефон {manager_phone}.
        """,
        "request_taken.en": """
        Your request no. {request_id} is being handled
        Hello, {client_name}!

        Your request no. {request_id} has been taken up. Your manager is {manager_name}, phone {manager_phone}.
        We will be in touch shortly.
        """,
        "deal_stage.en": """
        {deal_title}: {stage}
        Hello, {client_name}!

        Your order "{deal_title}" has moved to the stage "{stage}".
        Your manager is {manager_name}, phone {manager_phone}.
        """,
    ]

    public static let builtIn: NotifyTemplates = {
        var t: [String: NotifyTemplate] = [:]
        // The built-in texts are checked by a unit test; a bad one would fail it, not crmd.
        for (k, v) in builtInText { t[k] = try? NotifyTemplate(parsing: v) }
        return NotifyTemplates(byKey: t)
    }()

    public init(byKey: [String: NotifyTemplate]) { self.byKey = byKey }
}

/// The `notify.*` settings but the command (which the server holds beside the alerts' one).
public struct NotifySettings: Sendable, Equatable {
    /// Stages whose entry (`deal.move`) tells the client (`notify.stages`; default none).
    public var stages: Set<String> = []
    /// The department's phone for `{manager_phone}` (`notify.phone`), the manager's extension after it.
    public var phone: String? = nil
    public var templates = NotifyTemplates.builtIn
    public init() {}
}

/// Where a message goes, or why it goes nowhere.
public enum NotifyAddress: Sendable, Equatable {
    case email(String)
    case sms(String)
    case skipped(reason: String)

    /// An address of the client's, or the reason it gets nothing: `opt_out` when the client or
    /// the contact whose address it would be asked not to be mailed; else e-mail before SMS, and
    /// SMS only to a mobile number; `no_address` when none is left.
    public static func choose(
        clientOptOut: Bool, candidates: [(emails: [String], phones: [String], optOut: Bool)]
    ) -> NotifyAddress {
        if clientOptOut { return .skipped(reason: "opt_out") }
        let open = candidates.filter { !$0.optOut }
        if let e = open.lazy.flatMap(\.emails).first { return .email(e) }
        if let p = open.lazy.flatMap(\.phones).first(where: { isMobile($0) }) {
            return .sms(p)
        }
        if !candidates.isEmpty, open.isEmpty { return .skipped(reason: "opt_out") }
        return .skipped(reason: "no_address")
    }

    /// Whether an SMS can reach a stored number (`+74951234567`): no extension, and in Russia
    /// (`+7`) a mobile number (`+79…`). Other countries' numbers are taken as they are: crmd
    /// cannot tell their mobiles apart.
    public static func isMobile(_ phone: String) -> Bool {
        guard phone.hasPrefix("+"), !phone.contains(";") else { return false }
        if phone.hasPrefix("+7") { return phone.hasPrefix("+79") }
        return true
    }
}
