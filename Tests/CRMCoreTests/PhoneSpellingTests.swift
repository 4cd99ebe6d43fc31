import CRMCore
import Testing

/// Numbers as they are written on Russian business cards, in e-mail signatures and on
/// websites, and what crmd stores for each (issue 20 §3). `nil`: refused, with the reason.
@Suite("Phone spellings from cards and signatures")
struct PhoneSpellingTests {
    static let table: [(raw: String, stored: String?)] = [
        // Moscow landlines, every punctuation.
        ("8 (495) 123-45-67", "+74951234567"),
        ("+7 (495) 123-45-67", "+74951234567"),
        ("+7(495)123-45-67", "+74951234567"),
        ("+7 495 123 45 67", "+74951234567"),
        ("+7-495-123-45-67", "+74951234567"),
        ("8.495.123.45.67", "+74951234567"),
        ("8(495)1234567", "+74951234567"),
        ("(495) 123-45-67", "+74951234567"),
        ("495 123-45-67", "+74951234567"),
        ("+7\u{A0}495\u{A0}123-45-67", "+74951234567"),  // no-break spaces from a signature
        ("+7 495 123\u{2013}45\u{2013}67", "+74951234567"),  // en dashes from a word processor
        ("+7 (495) 123\u{2011}45\u{2011}67", "+74951234567"),  // no-break hyphens
        ("Тел.: +7 (495) 123-45-67", "+74951234567"),
        ("тел. 8 495 123-45-67", "+74951234567"),
        ("Tel: +7 495 1234567", "+74951234567"),
        ("т. (495) 123-45-67", "+74951234567"),
        // Extensions.
        ("+7 (495) 123-45-67 доб. 12", "+74951234567;ext=12"),
        ("+7 495 123-45-67 доб 12", "+74951234567;ext=12"),
        ("8 (495) 123-45-67, доб. 1234", "+74951234567;ext=1234"),
        ("8 (495) 123-45-67 (доб. 12)", "+74951234567;ext=12"),
        ("+7 495 123-45-67 д. 12", "+74951234567;ext=12"),
        ("+7 495 123-45-67 вн. 305", "+74951234567;ext=305"),
        ("+7 495 123-45-67 добавочный 305", "+74951234567;ext=305"),
        ("Тел. +7 (495) 123-45-67, ДОБ. 12", "+74951234567;ext=12"),
        ("+7 495 123-45-67 ext. 12", "+74951234567;ext=12"),
        ("+7 495 123-45-67 ext 12", "+74951234567;ext=12"),
        ("+7 495 123-45-67 EXT 12", "+74951234567;ext=12"),
        ("+7 495 123-45-67 x12", "+74951234567;ext=12"),
        ("+7 495 123-45-67 x 12", "+74951234567;ext=12"),
        ("+7 495 123-45-67 #12", "+74951234567;ext=12"),
        ("+74951234567,12", "+74951234567;ext=12"),
        ("+74951234567;ext=12", "+74951234567;ext=12"),  // the stored form reads back as itself
        // tel: URIs (RFC 3966), from websites and vCards.
        ("tel:+7-495-123-45-67;ext=12", "+74951234567;ext=12"),
        ("tel:+74951234567", "+74951234567"),
        ("tel:+7(495)123-45-67", "+74951234567"),
        ("TEL:+7.495.123.45.67", "+74951234567"),
        ("tel:+7-495-123-45-67;ext=12;phone-context=example.ru", "+74951234567;ext=12"),
        // Toll-free and mobiles.
        ("8-800-555-35-35", "+78005553535"),
        ("8 800 555 35 35", "+78005553535"),
        ("+7 800 555-35-35", "+78005553535"),
        ("8 916 123-45-67", "+79161234567"),
        ("8 (916) 123 45 67", "+79161234567"),
        ("+7 916 1234567", "+79161234567"),
        ("+7-916-123-4567", "+79161234567"),
        ("8-916-123-45-67", "+79161234567"),
        ("моб. +7 916 123-45-67", "+79161234567"),
        ("Моб.: 8 916 123 45 67", "+79161234567"),
        ("89161234567", "+79161234567"),
        ("9161234567", "+79161234567"),
        // Other cities and countries.
        ("+7 (812) 234-56-78", "+78122345678"),
        ("8 (3452) 12-34-56", "+73452123456"),
        ("+375 17 123-45-67", "+375171234567"),
        ("+49 30 1234567 ext. 5", "+49301234567;ext=5"),
        // Refused: what a person should fix.
        ("8 (495) 123-45-67, 8 916 123-45-67", nil),  // two numbers in one field
        ("+7 495 123-45-67 доб.", nil),  // an extension mark without digits
        ("+7 495 123-45-67 доб. 1234567", nil),  // an extension of 7 digits
        ("+7 495 123-45-67 факс", nil),  // a word that is not an extension
        ("8-916-ABC-45-67", nil),
        ("123", nil),  // too short
        ("+7 495 123-45-67-89-01-23", nil),  // 16 digits
        ("tel:", nil),
        ("tel:+74951234567;ext=", nil),
        ("tel:+74951234567;ext=12a", nil),
        ("доб. 12", nil),  // an extension without a number
        ("+7 495 12З-45-67", nil),  // a Cyrillic З typed for 3
        (String(repeating: "1", count: 81), nil),
    ]

    @Test func theTableHasAtLeastFiftyRealSpellings() {
        #expect(Self.table.count >= 50)
    }

    @Test(arguments: table.indices)
    func eachSpelling(_ i: Int) {
        let (raw, stored) = Self.table[i]
        #expect(Phone.normalize(raw) == stored, "\(raw)")
    }

    @Test(arguments: table.indices)
    func storedFormIsStable(_ i: Int) {
        guard let stored = Self.table[i].stored else { return }
        #expect(Phone.normalize(stored) == stored)
    }

    @Test func mainNumberAndExtension() {
        #expect(Phone.main("+74951234567;ext=12") == "+74951234567")
        #expect(Phone.ext("+74951234567;ext=12") == "12")
        #expect(Phone.main("+74951234567") == "+74951234567")
        #expect(Phone.ext("+74951234567") == nil)
        #expect(Phone.reversedDigits("+74951234567;ext=12") == "76543215947")
    }
}
