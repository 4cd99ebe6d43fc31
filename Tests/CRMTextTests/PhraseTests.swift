import Testing

@testable import CRMText

@Suite struct PluralTests {
    @Test func russianFormsAgreeWithTheNumber() {
        // 1 день, 2 дня, 5 дней, 11 дней, 21 день, 22 дня: one, few, many.
        let cases: [(Int64, Int)] = [
            (0, 2), (1, 0), (2, 1), (3, 1), (4, 1), (5, 2), (10, 2), (11, 2), (12, 2), (13, 2), (14, 2), (15, 2), (20, 2),
            (21, 0), (22, 1), (24, 1), (25, 2), (100, 2), (101, 0), (111, 2), (112, 2), (122, 1), (1001, 0), (-1, 0), (-22, 1),
        ]
        for (n, form) in cases { #expect(Plural.form(n, .ru) == form, "\(n)") }
    }

    @Test func englishHasOneAndOther() {
        #expect(Plural.form(1, .en) == 0)
        for n: Int64 in [0, 2, 11, 21, 101] { #expect(Plural.form(n, .en) == 1, "\(n)") }
    }

    @Test func aCountWithItsNounsSaysTheRightWord() {
        func days(_ n: Int) -> Phrase { "in \(n, "day", "days")" }
        #expect(days(1).template == "in {0} {0|day|days}")
        #expect(days(1).rendered(.en) == "in 1 day")
        #expect(days(3).rendered(.en) == "in 3 days")
        let ru = Catalog(entries: ["in {0} {0|day|days}": "через {0} {0|день|дня|дней}"])
        let words = [1: "1 день", 2: "2 дня", 5: "5 дней", 11: "11 дней", 21: "21 день", 22: "22 дня"].sorted { $0.key < $1.key }
        for (n, text) in words {
            let p = days(n)
            #expect(Template.fill(ru.translation(of: p.template)!, args: p.args, lang: .ru) == "через " + text)
        }
    }
}

@Suite struct PhraseTests {
    @Test func interpolationKeepsTheTemplateAndTheArguments() {
        let entity = "client"
        let p: Phrase = "No \(entity) with id \(42)."
        #expect(p.template == "No {0} with id {1}.")
        #expect(p.args == [.text("client"), .int(42)])
        #expect(p.description == "No client with id 42.")
    }

    @Test func bracesInTextStayText() {
        let p: Phrase = "Send {\"by\":\"P30D\"} as \(1)."
        #expect(p.template == "Send {{\"by\":\"P30D\"}} as {0}.")
        #expect(p.rendered(.ru) == "Send {\"by\":\"P30D\"} as 1.")
        let v = Phrase.verbatim("{0} stays")
        #expect(v.rendered(.ru) == "{0} stays")
    }

    @Test func aNestedPhraseIsSaidInTheSameLanguage() {
        let inner: Phrase = "An accountant"
        let p: Phrase = "\(inner) may not do that."
        #expect(p.rendered(.en) == "An accountant may not do that.")
        #expect(p.rendered(.ru).hasPrefix("Бухгалтер"))
    }

    @Test func aListSaysEachPartInTheSameLanguage() {
        let p = Phrase.list(["An accountant", Phrase.verbatim("x {0}"), "\(2, "day", "days")"], separator: "; ")
        #expect(p.template == "{0}; {1}; {2}")
        #expect(p.rendered(.en) == "An accountant; x {0}; 2 days")
        #expect(p.rendered(.ru).hasPrefix("Бухгалтер; x {0}; 2 "))
    }

    @Test func localeNamesChooseALanguage() {
        #expect(Lang(locale: "ru_RU.UTF-8") == .ru)
        #expect(Lang(locale: "en_US.UTF-8") == .en)
        #expect(Lang(locale: "ru") == .ru)
        #expect(Lang(locale: "C.UTF-8") == nil)
        #expect(Lang(locale: "POSIX") == nil)
        #expect(Lang(locale: "de_DE") == nil)
        #expect(Lang.fromEnvironment(["LANG": "en_US.UTF-8", "LC_ALL": "ru_RU.UTF-8"]) == .ru)
        #expect(Lang.fromEnvironment(["LANG": "ru_RU.UTF-8", "LC_MESSAGES": "en_GB"]) == .en)
        #expect(Lang.fromEnvironment(["LANG": "ru_RU.UTF-8", "LC_ALL": ""]) == .ru)
        #expect(Lang.fromEnvironment([:]) == nil)
    }
}

@Suite struct CatalogTests {
    @Test func theRussianCatalogReads() throws {
        let c = try Catalog(po: Catalog.ruSource)
        #expect(c.entries.count > 50)
        #expect(Catalog.for(.ru).entries.count == c.entries.count)
    }

    /// Every translation uses each argument its template has, no other, and gives plurals
    /// Russian's three forms; every template in the catalog has its translation.
    @Test func everyTranslationKeepsItsPlaceholders() throws {
        let c = try Catalog(po: Catalog.ruSource)
        for (key, ru) in c.entries.sorted(by: { $0.key < $1.key }) {
            let want = Set(Template.placeholders(key).map(\.index))
            let got = Template.placeholders(ru)
            #expect(Set(got.map(\.index)) == want, "\(key) → \(ru)")
            for p in got where p.forms > 0 { #expect(p.forms == Plural.count(.ru), "\(ru): \(p.forms) forms") }
            for p in Template.placeholders(key) where p.forms > 0 { #expect(p.forms == Plural.count(.en), "\(key)") }
            #expect(!ru.isEmpty)
        }
    }

    @Test func aBadCatalogIsRefusedWithItsLine() {
        #expect(throws: Catalog.FormatError.self) { try Catalog(po: "msgid \"a\"\nmsgid \"b\"\nmsgstr \"c\"\n") }
        #expect(throws: Catalog.FormatError.self) { try Catalog(po: "msgid \"a\"\nmsgstr \"x\"\nmsgid \"a\"\nmsgstr \"y\"\n") }
        #expect(throws: Catalog.FormatError.self) { try Catalog(po: "msgid a\nmsgstr \"x\"\n") }
        let ok = try? Catalog(po: "# c\nmsgid \"\"\n\"long \"\n\"key\"\nmsgstr \"длинный \"\n\"ключ\"\n")
        #expect(ok?.translation(of: "long key") == "длинный ключ")
    }
}
