import CRMCSV
import CRMProtocol
import Foundation
import Testing

@Suite("CSV reading and mapping for crmctl import")
struct CSVImportTests {
    func file(_ bytes: [UInt8]) throws -> String {
        let path = NSTemporaryDirectory() + "csv-\(UUID().uuidString).csv"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func records(_ r: CSVRecordReader) throws -> [CSVRecord] {
        var out: [CSVRecord] = []
        while let rec = try r.next() { out.append(rec) }
        return out
    }

    @Test("Windows-1251 found by itself, ';' found from the header, quotes with ';', \"\" and a line break, line numbers of the file")
    func cp1251() throws {
        let text =
            "Название;Телефон\r\n\"ООО «Ёлка; и Ко»\";8 (916) 123-45-67\r\n\"Ёж \"\"Колючий\"\"\nвторая строка\";+7 495 1\r\nИП Щукин;\r\n"
        let path = try file([UInt8](text.data(using: .windowsCP1251)!))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try CSVRecordReader(path: path, encoding: nil, delimiter: nil)
        #expect(r.encoding == .cp1251)
        #expect(r.delimiter == UInt8(ascii: ";"))
        let recs = try records(r)
        #expect(recs.map(\.line) == [1, 2, 3, 5])
        #expect(recs[0].cells == ["Название", "Телефон"])
        #expect(recs[1].cells == ["ООО «Ёлка; и Ко»", "8 (916) 123-45-67"])
        #expect(recs[2].cells == ["Ёж \"Колючий\"\nвторая строка", "+7 495 1"])
        #expect(recs[3].cells == ["ИП Щукин", ""])
    }

    @Test("UTF-8 with a BOM, ',' and LF; a file cut inside a Cyrillic letter is still UTF-8")
    func utf8() throws {
        let path = try file([0xEF, 0xBB, 0xBF] + Array("Name,Phone,Email\nАльфа,1,a@b.ru\nБета,2,\n".utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try CSVRecordReader(path: path, encoding: nil, delimiter: nil)
        #expect(r.encoding == .utf8)
        #expect(r.delimiter == UInt8(ascii: ","))
        let recs = try records(r)
        #expect(recs.map(\.cells) == [["Name", "Phone", "Email"], ["Альфа", "1", "a@b.ru"], ["Бета", "2", ""]])
        let cut = Array("Ромашка".utf8).dropLast()
        #expect(CSVEncoding.detect(Array(cut)) == .utf8)
        #expect(CSVEncoding.detect([UInt8]("Ромашка".data(using: .windowsCP1251)!)) == .cp1251)
    }

    @Test("Windows-1251 both ways for every letter a Russian file has (Foundation's codec)")
    func cp1251Letters() {
        let letters = "АБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯабвгдеёжзийклмнопрстуфхцчшщъыьэюя№«»—–"
        let bytes = CSVEncoding.cp1251.encode(letters)
        #expect(bytes.count == letters.count)
        #expect(CSVEncoding.cp1251.decode([UInt8](bytes)[...]) == letters)
        #expect(CSVEncoding.cp1251.encode("日本") == Data("??".utf8))
    }

    @Test("Russian and English headers map by name; --map overrides and skips; a file without a name column is refused")
    func mapping() throws {
        let m = try ImportMapping(
            header: [
                "\u{FEFF}Наименование", "Телефон", "Телефон 2", "E-mail", "Ответственный", "Сегмент", "Контактное лицо", "ИНН", "Заметки",
            ],
            overrides: ["ИНН=fields.inn", "Сегмент=-"])
        #expect(m.fields == [.name, .phones, .phones, .emails, .owner, .ignored, .contactName, .custom("inn"), .ignored])
        #expect(m.ignoredColumns == ["Сегмент", "Заметки"])
        let (item, origin) = m.item(["ООО «Лютик»", "8 916 1, +7 495 2", "8 800 3", "", "ivanov", "опт", "Анна", "7701", "x"])
        #expect(item["name"] == "ООО «Лютик»")
        #expect(item["phones"] == ["8 916 1", "+7 495 2", "8 800 3"])
        #expect(item["emails"] == nil)
        #expect(item["segment"] == nil)
        #expect(item["fields"] == ["inn": "7701"])
        #expect(item["contacts"] == [["name": "Анна"]])
        #expect(m.column(of: "phones[2]", origin) == "Телефон 2")
        #expect(m.column(of: "phones[1]", origin) == "Телефон")
        #expect(m.column(of: "contacts[0].name", origin) == "Контактное лицо")
        #expect(m.column(of: "owner", origin) == "Ответственный")
        #expect(throws: ImportFailure.self) { try ImportMapping(header: ["Телефон", "Email"], overrides: []) }
        #expect(throws: ImportFailure.self) { try ImportMapping(header: ["Name"], overrides: ["Нет=name"]) }
        #expect(throws: ImportFailure.self) { try ImportMapping(header: ["Name"], overrides: ["Name=nonsense"]) }
    }

    @Test("An unclosed quote is an error naming its line, not the whole file read as one cell")
    func unclosedQuote() throws {
        let path = try file(Array("Name\n\"open\n".utf8) + [UInt8](repeating: 0x61, count: 1 << 20))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try CSVRecordReader(path: path, encoding: nil, delimiter: nil)
        _ = try r.next()
        #expect(throws: ImportFailure.self) { _ = try r.next() }
    }

    @Test("The export's rows: quoted only when needed, quotes doubled, CRLF; read back by the import's reader")
    func rowWriter() throws {
        var w = CSVRowWriter(delimiter: UInt8(ascii: ";"))
        w.write(row: ["ID", "Название", "Телефон"])
        w.write(row: ["1", "ООО «Ёлка; и Ко»", "+79161234567, +74951112233"])
        w.write(row: ["2", "Ёж \"Колючий\"\nвторая", ""])
        #expect(
            String(decoding: w.bytes, as: UTF8.self).hasPrefix(
                "ID;Название;Телефон\r\n1;\"ООО «Ёлка; и Ко»\";+79161234567, +74951112233\r\n"))
        let path = try file(w.bytes)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let recs = try records(try CSVRecordReader(path: path, encoding: nil, delimiter: nil))
        #expect(
            recs.map(\.cells) == [
                ["ID", "Название", "Телефон"], ["1", "ООО «Ёлка; и Ко»", "+79161234567, +74951112233"],
                ["2", "Ёж \"Колючий\"\nвторая", ""],
            ])
        #expect(recs.map(\.line) == [1, 2, 3])
    }
}

@Suite("CSV: phones with extensions, ИНН and КПП")
struct CSVPhoneAndTaxIDTests {
    @Test func phoneCellsKeepExtensions() {
        #expect(ImportMapping.splitPhones("+74951234567;ext=12, +79161234567") == ["+74951234567;ext=12", "+79161234567"])
        #expect(
            ImportMapping.splitPhones("8 (495) 123-45-67, доб. 12; 8 916 123-45-67") == ["8 (495) 123-45-67, доб. 12", "8 916 123-45-67"])
        #expect(ImportMapping.splitPhones("+7 495 123-45-67\n+7 916 123-45-67") == ["+7 495 123-45-67", "+7 916 123-45-67"])
        #expect(ImportMapping.splitPhones(" ; ,") == [])
    }

    @Test func innAndKppHeadersMapByThemselves() throws {
        let m = try ImportMapping(header: ["Наименование", "ИНН", "КПП", "Телефон"], overrides: [])
        #expect(m.fields == [.name, .inn, .kpp, .phones])
        let (item, _) = m.item(["ООО «Ромашка»", "7707083893", "773601001", "+74951234567;ext=12, 8 916 123-45-67"])
        #expect(item["inn"] == "7707083893")
        #expect(item["kpp"] == "773601001")
        #expect(item["phones"] == ["+74951234567;ext=12", "8 916 123-45-67"])
    }
}
