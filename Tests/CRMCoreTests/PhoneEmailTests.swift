import CRMCore
import Testing

@Suite("Phone normalization")
struct PhoneTests {
    @Test(arguments: [
        "8 (916) 123-45-67",
        "+7 916 123 45 67",
        "+7 (916) 123-45-67",
        "0079161234567",
        "9161234567",
        "79161234567",
        "89161234567",
        "916.123.45.67",
        "  8-916-123-45-67  ",
        "8\t916\t1234567",
    ])
    func russianSpellingsGiveOneNumber(_ raw: String) {
        #expect(Phone.normalize(raw) == "+79161234567")
    }

    @Test(arguments: [
        "8-916-ABC-45-67", "9161234567 ext", "8/916/1234567", "+7 916 123 45 6７",
    ])
    func lettersAndOtherSymbolsAreRejected(_ raw: String) {
        #expect(Phone.normalize(raw) == nil)
    }

    @Test func tooShortOrTooLong() {
        #expect(Phone.normalize("") == nil)
        #expect(Phone.normalize("   ") == nil)
        #expect(Phone.normalize("1234") == nil)
        #expect(Phone.normalize("+1234") == nil)
        #expect(Phone.normalize("1234567890123456") == nil)  // 16 digits
        #expect(Phone.normalize("+1234567890123456") == nil)
        #expect(Phone.normalize("00123") == nil)  // only 3 digits after the 00 prefix
        // 15 digits is the E.164 maximum and is kept.
        #expect(Phone.normalize("+123456789012345") == "+123456789012345")
    }

    @Test func misplacedPlusIsRejected() {
        #expect(Phone.normalize("7+9161234567") == nil)
        #expect(Phone.normalize("++79161234567") == nil)
        #expect(Phone.normalize("+7+9161234567") == nil)
    }

    @Test func internationalNumbersKeepTheirCountry() {
        #expect(Phone.normalize("+49 30 1234567") == "+49301234567")
        #expect(Phone.normalize("0049 30 1234567") == "+49301234567")
        #expect(Phone.normalize("+1 (212) 555-1234") == "+12125551234")
    }

    @Test func shortExtensionsKeepTheirDigits() {
        #expect(Phone.normalize("12-34-5") == "12345")
        #expect(Phone.normalize("123456") == "123456")
    }

    @Test func otherDefaultCountryCode() {
        #expect(Phone.normalize("(212) 555-1234", defaultCountryCode: "1") == "+12125551234")
        #expect(Phone.normalize("1 212 555 1234", defaultCountryCode: "1") == "+12125551234")
        #expect(Phone.normalize("+1 212 555 1234", defaultCountryCode: "1") == "+12125551234")
        // The Russian trunk prefix 8 means nothing for another country.
        #expect(Phone.normalize("8 916 123 45 67", defaultCountryCode: "1") == "89161234567")
        // A country with 9-digit national numbers.
        #expect(Phone.normalize("612 345 678", defaultCountryCode: "34", nationalLength: 9) == "+34612345678")
        #expect(Phone.normalize("34 612 345 678", defaultCountryCode: "34", nationalLength: 9) == "+34612345678")
        #expect(Phone.normalize("+7 916 123 45 67", defaultCountryCode: "34", nationalLength: 9) == "+79161234567")
    }

    @Test func normalizationIsIdempotent() {
        for raw in ["8 (916) 123-45-67", "+49 30 1234567", "(212) 555-1234", "12345"] {
            let once = Phone.normalize(raw)
            #expect(once != nil)
            #expect(Phone.normalize(once!) == once, "\(raw)")
        }
    }
}

@Suite("E-mail normalization")
struct EmailTests {
    @Test func trimsAndLowercases() {
        #expect(Email.normalize("  Ivan.Petrov@Example.COM \n") == "ivan.petrov@example.com")
        #expect(Email.normalize("a@b.ru") == "a@b.ru")
        #expect(Email.normalize("sales+crm@mail.example.org") == "sales+crm@mail.example.org")
        #expect(Email.normalize("Иван@Почта.РФ") == "иван@почта.рф")
    }

    @Test(arguments: [
        "", "   ", "ivan", "ivan@", "@example.com", "ivan@example", "ivan@@example.com", "ivan@exa@mple.com", "iv an@example.com",
        "ivan@.example.com", "ivan@example.com.", "ivan@ex ample.com",
    ])
    func rejectsImplausibleAddresses(_ raw: String) {
        #expect(Email.normalize(raw) == nil)
    }

    @Test func rejectsOverlongAddresses() {
        let local = String(repeating: "a", count: 250)
        #expect(Email.normalize(local + "@x.ru") == nil)
        let ok = String(repeating: "a", count: 240) + "@x.ru"
        #expect(Email.normalize(ok) == ok)
    }
}
