import CRMMail
import Foundation
import Testing

@Suite("Reading incoming mail as Russian mailers write it")
struct MailParsingTests {
    func parse(_ text: String, body: [UInt8] = []) throws -> MailMessage {
        try MailMessage(parsing: Array(text.replacingOccurrences(of: "\n", with: "\r\n").utf8) + body)
    }

    @Test("A UTF-8 subject in B words split inside a letter, a Q-encoded name, Cc and a group, a Moscow date")
    func encodedWordsAndAddresses() throws {
        // «Счёт на оплату №15» in UTF-8, cut in the middle of "ё"'s two bytes across two words.
        let bytes = Array("Счёт на оплату №15".utf8)
        let cut = 3  // "С" is two bytes, "ч" two: byte 3 is inside "ч"
        let w1 = Data(bytes[..<cut]).base64EncodedString()
        let w2 = Data(bytes[cut...]).base64EncodedString()
        let m = try parse(
            """
            From: =?utf-8?Q?=D0=98=D0=B2=D0=B0=D0=BD_=D0=9F=D0=B5=D1=82=D1=80=D0=BE=D0=B2?= <Ivan.Petrov@Romashka.RU>
            To: "Отдел продаж" <sales@crm.example>, team: anna@crm.example, boris@crm.example;
            Cc: petr@crm.example (Пётр)
            Subject: =?UTF-8?B?\(w1)?=
             =?UTF-8?B?\(w2)?=
            Date: Mon, 7 Dec 2026 10:15:00 +0300 (MSK)
            Message-ID: <abc.123@romashka.ru>

            Добрый день!
            """)
        #expect(m.subject == "Счёт на оплату №15")
        #expect(m.from == [MailAddress(name: "Иван Петров", address: "ivan.petrov@romashka.ru")])
        #expect(m.to.map(\.address) == ["sales@crm.example", "anna@crm.example", "boris@crm.example"])
        #expect(m.to.first?.name == "Отдел продаж")
        #expect(m.cc == [MailAddress(name: "Пётр", address: "petr@crm.example")])
        #expect(m.messageID == "abc.123@romashka.ru")
        #expect(m.date == Date(timeIntervalSince1970: 1_796_627_700))  // 2026-12-07T07:15:00Z
        #expect(m.text == "Добрый день!")
        #expect(!m.isBulk)
    }

    @Test("A KOI8-R body in quoted-printable and a Windows-1251 one in base64 read as Russian")
    func cyrillicCharsets() throws {
        let koi = Array("Привет, это КОИ-8".data(using: String.Encoding(rawValue: 0x8000_0A02))!)
        let qp = koi.map { $0 < 128 && $0 != UInt8(ascii: "=") ? String(UnicodeScalar($0)) : String(format: "=%02X", $0) }.joined()
        let m = try parse(
            """
            From: a@b.ru
            Subject: =?koi8-r?B?\(Data(Array("Заказ".data(using: String.Encoding(rawValue: 0x8000_0A02))!)).base64EncodedString())?=
            Content-Type: text/plain; charset="KOI8-R"
            Content-Transfer-Encoding: quoted-printable

            \(qp)
            """)
        #expect(m.subject == "Заказ")
        #expect(m.text == "Привет, это КОИ-8")
        let cp = "Цена 1000 руб.".data(using: .windowsCP1251)!.base64EncodedString()
        let w = try parse(
            """
            From: a@b.ru
            Content-Type: text/plain; charset=windows-1251
            Content-Transfer-Encoding: base64

            \(cp)
            """)
        #expect(w.text == "Цена 1000 руб.")
    }

    @Test("multipart/alternative keeps the plain text; a PDF with an RFC 2231 Russian name is an attachment")
    func multipartWithAttachment() throws {
        let pdf: [UInt8] = Array("%PDF-1.4 test".utf8)
        let m = try parse(
            """
            From: a@b.ru
            Content-Type: multipart/mixed; boundary="outer"

            preamble
            --outer
            Content-Type: multipart/alternative; boundary=inner

            --inner
            Content-Type: text/plain; charset=utf-8
            Content-Transfer-Encoding: 8bit

            Высылаем счёт.
            --inner
            Content-Type: text/html; charset=utf-8

            <p>Высылаем <b>счёт</b>.</p>
            --inner--
            --outer
            Content-Type: application/pdf
            Content-Disposition: attachment; filename*=utf-8''%D0%A1%D1%87%D1%91%D1%82.pdf
            Content-Transfer-Encoding: base64

            \(Data(pdf).base64EncodedString())
            --outer--
            epilogue
            """)
        #expect(m.text == "Высылаем счёт.")
        #expect(m.attachments == [MailAttachment(filename: "Счёт.pdf", contentType: "application/pdf", data: pdf)])
    }

    @Test("An HTML-only message reads as its text; a forwarded chain brings the inner message's text")
    func htmlAndForwarded() throws {
        let h = try parse(
            """
            From: a@b.ru
            Content-Type: text/html; charset=utf-8

            <html><head><style>p{}</style></head><body><p>Строка&nbsp;1</p><br>Строка 2 &amp; 3</body></html>
            """)
        #expect(h.text == "Строка 1\n\nСтрока 2 & 3")
        let f = try parse(
            """
            From: boss@crm.example
            Subject: Fwd: заявка
            Content-Type: multipart/mixed; boundary=b1

            --b1
            Content-Type: text/plain

            Посмотри, пожалуйста.
            --b1
            Content-Type: message/rfc822

            From: Client <client@shop.ru>
            Subject: =?utf-8?B?0JfQsNGP0LLQutCw?=

            Хотим 100 штук.
            --b1--
            """)
        #expect(f.text.contains("Посмотри, пожалуйста."))
        #expect(f.text.contains("Client — Заявка"))
        #expect(f.text.hasSuffix("Хотим 100 штук."))
    }

    @Test("A newsletter is bulk; an auto-reply is bulk; a person's letter is not")
    func bulk() throws {
        #expect(try parse("From: news@shop.ru\nList-Unsubscribe: <mailto:u@shop.ru>\n\nАкция").isBulk)
        #expect(try parse("From: news@shop.ru\nPrecedence: bulk\n\nАкция").isBulk)
        #expect(try parse("From: x@shop.ru\nAuto-Submitted: auto-replied\n\nВ отпуске").isBulk)
        #expect(try !parse("From: x@shop.ru\nAuto-Submitted: no\n\nПривет").isBulk)
    }

    @Test("Bounds: too many parts, too deep, too many header fields, empty input are refused")
    func limits() throws {
        var limits = MailLimits()
        limits.maxParts = 3
        let many = "Content-Type: multipart/mixed; boundary=x\r\n\r\n" + String(repeating: "--x\r\n\r\na\r\n", count: 5) + "--x--\r\n"
        #expect(throws: MailError.tooManyParts(3)) { try MailMessage(parsing: Array(many.utf8), limits: limits) }
        var deep = "Content-Type: multipart/mixed; boundary=b0\r\n\r\n"
        for i in 1...15 { deep += "--b\(i - 1)\r\nContent-Type: multipart/mixed; boundary=b\(i)\r\n\r\n" }
        #expect(throws: MailError.tooDeep(10)) { try MailMessage(parsing: Array(deep.utf8)) }
        let fields = String(repeating: "X-A: 1\r\n", count: 1001) + "\r\nbody"
        #expect(throws: MailError.tooManyHeaderFields(1000)) { try MailMessage(parsing: Array(fields.utf8)) }
        #expect(throws: MailError.empty) { try MailMessage(parsing: Array(" \r\n".utf8)) }
    }

    @Test("Raw 8-bit Windows-1251 in a header, a message with no Message-ID, and garbage do not crash")
    func lenient() throws {
        let raw = Array("Subject: ".utf8) + Array("Привет".data(using: .windowsCP1251)!) + Array("\r\n\r\nx".utf8)
        let m = try MailMessage(parsing: raw)
        #expect(m.subject == "Привет")
        #expect(m.messageID == nil)
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let junk = (0..<Int.random(in: 1...400, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            _ = try? MailMessage(parsing: junk + Array("\r\nContent-Type: multipart/mixed; boundary=\r\n\r\n--\r\n".utf8))
        }
    }
}
