/// A sentence a person reads, kept as its English template and its arguments until it is shown,
/// so it can be said in the reader's language (gettext-style: the English template is the key
/// into ``Catalog``). A string literal, with or without interpolations, is a `Phrase`:
/// `"No \(entity) with id \(id)."` is the template `No {0} with id {1}.` with two arguments.
///
/// Template syntax: `{0}` is argument 0; `{0|day|days}` is the word for argument 0's number in
/// the language's plural forms (English: one|other; Russian: one|few|many, `{0|день|дня|дней}`);
/// `{{` and `}}` are literal braces.
public struct Phrase: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringInterpolation {
    /// One interpolated value.
    public enum Arg: Sendable, Hashable {
        /// Text shown as it is (a name, a login, a value the user sent).
        case text(String)
        /// A number: shown in digits, and it chooses plural forms.
        case int(Int64)
        /// A phrase of its own, said in the same language.
        case phrase(Phrase)
    }

    /// The English template, the key into the catalogs.
    public var template: String
    public var args: [Arg]
    /// False for text that is not ours to translate (a system error's words, a peer's text).
    public var translatable: Bool

    public init(template: String, args: [Arg] = [], translatable: Bool = true) {
        self.template = template
        self.args = args
        self.translatable = translatable
    }

    /// A phrase written as a literal: `Phrase("Client \(id) of the import")`.
    public init(_ phrase: Phrase) { self = phrase }

    /// Text shown as it is in every language.
    public static func verbatim(_ text: String) -> Phrase {
        Phrase(template: Self.escape(text), translatable: false)
    }

    /// Phrases one after another with `separator` between them, each said in the reader's language.
    public static func list(_ parts: [Phrase], separator: String) -> Phrase {
        Phrase(
            template: parts.indices.map { "{\($0)}" }.joined(separator: escape(separator)), args: parts.map { .phrase($0) },
            translatable: false)
    }

    /// A template chosen at run time (an entity's name, a role): the catalog must list it.
    public static func key(_ template: String) -> Phrase { Phrase(template: Self.escape(template)) }

    public init(stringLiteral value: String) { self.init(template: Self.escape(value)) }

    public init(stringInterpolation: StringInterpolation) {
        self.init(template: stringInterpolation.template, args: stringInterpolation.args)
    }

    /// The English text.
    public var description: String { rendered(.en) }

    /// The text in `lang`, from ``Catalog`` (the English template when it has no entry).
    public func rendered(_ lang: Lang) -> String {
        let chosen = translatable && lang != .en ? Catalog.for(lang).translation(of: template) ?? template : template
        return Template.fill(chosen, args: args, lang: lang)
    }

    static func escape(_ s: String) -> String {
        guard s.contains("{") || s.contains("}") else { return s }
        return s.replacingBraces()
    }

    public struct StringInterpolation: StringInterpolationProtocol {
        var template = ""
        var args: [Arg] = []

        public init(literalCapacity: Int, interpolationCount: Int) {
            template.reserveCapacity(literalCapacity + 4 * interpolationCount)
            args.reserveCapacity(interpolationCount)
        }

        public mutating func appendLiteral(_ literal: String) { template += Phrase.escape(literal) }

        mutating func add(_ arg: Arg) {
            template += "{\(args.count)}"
            args.append(arg)
        }

        public mutating func appendInterpolation(_ phrase: Phrase) { add(.phrase(phrase)) }
        public mutating func appendInterpolation(_ text: String) { add(.text(text)) }
        public mutating func appendInterpolation(_ text: Substring) { add(.text(String(text))) }
        public mutating func appendInterpolation<T: BinaryInteger>(_ n: T) { add(.int(Int64(clamping: n))) }
        public mutating func appendInterpolation<T>(_ value: T) { add(.text(String(describing: value))) }

        /// A count with its noun: `\(n, "day", "days")` is `{k} {k|day|days}` ("1 day", "3 days").
        public mutating func appendInterpolation<T: BinaryInteger>(_ n: T, _ one: String, _ other: String) {
            let k = args.count
            args.append(.int(Int64(clamping: n)))
            template += "{\(k)} {\(k)|\(one)|\(other)}"
        }
    }
}

extension String {
    fileprivate func replacingBraces() -> String {
        var out = ""
        out.reserveCapacity(utf8.count + 4)
        for c in self {
            out.append(c)
            if c == "{" || c == "}" { out.append(c) }
        }
        return out
    }
}

/// A language crmd speaks.
public enum Lang: String, Sendable, CaseIterable, Codable {
    case ru, en

    /// The language of a POSIX locale name (`ru_RU.UTF-8`, `en_US`, `ru`); nil for one crmd
    /// does not speak or that names none (`C`, `POSIX`, empty).
    public init?(locale: String) {
        let code = locale.prefix { $0.isLetter }.lowercased()
        guard let lang = Lang(rawValue: code) else { return nil }
        self = lang
    }

    /// The language a process's environment asks for: `LC_ALL`, else `LC_MESSAGES`, else `LANG`
    /// (the first that is set and not empty, as POSIX orders them); nil when it names none.
    public static func fromEnvironment(_ env: [String: String]) -> Lang? {
        for name in ["LC_ALL", "LC_MESSAGES", "LANG"] {
            if let v = env[name], !v.isEmpty { return Lang(locale: v) }
        }
        return nil
    }
}

/// Plural forms: which of a template's forms a number takes.
public enum Plural {
    /// The index of the form of `n` among `lang`'s forms: English one|other; Russian
    /// one (1, 21, 101)|few (2-4, 22-24)|many (0, 5-20, 25-30, 11-14, 111).
    public static func form(_ n: Int64, _ lang: Lang) -> Int {
        let a = n.magnitude
        switch lang {
        case .en: return a == 1 ? 0 : 1
        case .ru:
            let ten = a % 10
            let hundred = a % 100
            if ten == 1 && hundred != 11 { return 0 }
            if (2...4).contains(ten) && !(12...14).contains(hundred) { return 1 }
            return 2
        }
    }

    /// How many forms a template in `lang` gives a plural.
    public static func count(_ lang: Lang) -> Int { lang == .en ? 2 : 3 }
}

/// Filling a template's placeholders.
enum Template {
    static func fill(_ template: String, args: [Phrase.Arg], lang: Lang) -> String {
        guard template.contains("{") || template.contains("}") else { return template }
        var out = ""
        out.reserveCapacity(template.utf8.count + 16)
        var i = template.startIndex
        while i < template.endIndex {
            let c = template[i]
            let next = template.index(after: i)
            if (c == "{" || c == "}"), next < template.endIndex, template[next] == c {
                out.append(c)
                i = template.index(after: next)
                continue
            }
            guard c == "{", let close = template[next...].firstIndex(of: "}") else {
                out.append(c)
                i = next
                continue
            }
            let parts = template[next..<close].split(separator: "|", omittingEmptySubsequences: false)
            if let k = Int(parts[0]), k >= 0, k < args.count {
                if parts.count == 1 {
                    out += text(args[k], lang)
                } else {
                    let n: Int64 = if case .int(let v) = args[k] { v } else { 0 }
                    let forms = parts.dropFirst()
                    let f = min(Plural.form(n, lang), forms.count - 1)
                    out += forms[forms.startIndex + f]
                }
            } else {
                out += template[i...close]
            }
            i = template.index(after: close)
        }
        return out
    }

    static func text(_ arg: Phrase.Arg, _ lang: Lang) -> String {
        switch arg {
        case .text(let s): return s
        case .int(let n): return String(n)
        case .phrase(let p): return p.rendered(lang)
        }
    }

    /// The placeholders of a template: each argument index used, and the form counts of plurals.
    public static func placeholders(_ template: String) -> [(index: Int, forms: Int)] {
        var out: [(Int, Int)] = []
        var i = template.startIndex
        while i < template.endIndex {
            let c = template[i]
            let next = template.index(after: i)
            if (c == "{" || c == "}"), next < template.endIndex, template[next] == c {
                i = template.index(after: next)
                continue
            }
            if c == "{", let close = template[next...].firstIndex(of: "}") {
                let parts = template[next..<close].split(separator: "|", omittingEmptySubsequences: false)
                if let k = Int(parts[0]) { out.append((k, parts.count - 1)) }
                i = template.index(after: close)
                continue
            }
            i = next
        }
        return out
    }
}
