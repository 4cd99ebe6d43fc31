public import CRMProtocol
import Foundation

/// Where a CSV column goes in a `client.import` item.
public enum ImportField: Equatable, Sendable {
    case name, kind, phones, emails, owner, segment, source, abc
    /// The tax id (ИНН) and registration reason code (КПП).
    case inn, kpp
    case contactName, contactPosition, contactPhones, contactEmails
    /// A custom field (`fields.KEY`).
    case custom(String)
    /// Not imported.
    case ignored

    /// The names `--map COLUMN=FIELD` takes.
    public static let byFieldName: [String: ImportField] = [
        "name": .name, "kind": .kind, "phones": .phones, "phone": .phones, "emails": .emails, "email": .emails, "owner": .owner,
        "segment": .segment, "source": .source, "abc": .abc, "contact.name": .contactName, "contact.position": .contactPosition,
        "contact.phones": .contactPhones, "contact.phone": .contactPhones, "contact.emails": .contactEmails,
        "contact.email": .contactEmails, "inn": .inn, "kpp": .kpp, "-": .ignored,
    ]

    public static func parse(_ text: String) -> ImportField? {
        if text.hasPrefix("fields."), text.count > 7 { return .custom(String(text.dropFirst(7))) }
        return byFieldName[text.lowercased()]
    }

    /// Header names understood without `--map` (compared lowercased, trimmed, «ё» as «е», a
    /// trailing number dropped: «Телефон 2» is a phone column too).
    public static let byHeader: [String: ImportField] = {
        var m: [String: ImportField] = [:]
        func add(_ f: ImportField, _ names: [String]) { for n in names { m[n] = f } }
        add(.name, ["название", "наименование", "компания", "клиент", "организация", "фио", "name", "company", "client", "organization"])
        add(.kind, ["тип", "тип клиента", "вид", "kind", "type"])
        add(.phones, ["телефон", "телефоны", "тел.", "тел", "мобильный", "мобильный телефон", "phone", "phones", "mobile", "tel"])
        add(.emails, ["email", "e-mail", "эл. почта", "электронная почта", "почта", "emails", "mail"])
        add(.owner, ["менеджер", "ответственный", "ответственный менеджер", "owner", "manager"])
        add(.segment, ["сегмент", "segment"])
        add(.source, ["источник", "канал", "source", "channel"])
        add(.abc, ["abc", "класс", "класс abc", "группа abc"])
        add(.inn, ["инн", "инн клиента", "инн организации", "inn", "tax id", "taxpayer id"])
        add(.kpp, ["кпп", "kpp"])
        add(.contactName, ["контактное лицо", "контакт", "фио контакта", "contact", "contact name", "contact person"])
        add(.contactPosition, ["должность", "должность контакта", "position", "title", "contact position"])
        add(.contactPhones, ["телефон контакта", "контактный телефон", "contact phone", "contact phones"])
        add(.contactEmails, ["email контакта", "e-mail контакта", "почта контакта", "contact email", "contact e-mail"])
        return m
    }()

    public static func key(_ header: String) -> String {
        var h = header.trimmingCharacters(in: .whitespacesAndNewlines).lowercased().replacingOccurrences(of: "ё", with: "е")
        h = h.replacingOccurrences(of: "*", with: "").replacingOccurrences(of: ":", with: "")
        while let last = h.last, last.isNumber || last == " " { h.removeLast() }
        return h.trimmingCharacters(in: .whitespaces)
    }

    /// What the server calls the field in its problems (`phones`, `contacts[0].name`...).
    public var wireName: String {
        switch self {
        case .name: "name"
        case .kind: "kind"
        case .phones: "phones"
        case .emails: "emails"
        case .owner: "owner"
        case .segment: "segment"
        case .source: "source"
        case .abc: "abc"
        case .inn: "inn"
        case .kpp: "kpp"
        case .contactName: "contacts[0].name"
        case .contactPosition: "contacts[0].position"
        case .contactPhones: "contacts[0].phones"
        case .contactEmails: "contacts[0].emails"
        case .custom(let k): "fields.\(k)"
        case .ignored: "-"
        }
    }
}

/// The header of a file mapped to fields, and how one record becomes a `client.import` item.
public struct ImportMapping: Sendable {
    public var header: [String]
    public var fields: [ImportField]

    /// Maps `header` by name, then applies `--map COLUMN=FIELD` overrides. Unknown columns are
    /// ignored (and listed by the caller); a file without a name column is refused.
    public init(header: [String], overrides: [String]) throws {
        var h = header
        if let first = h.first, first.hasPrefix("\u{FEFF}") { h[0] = String(first.dropFirst()) }
        self.header = h
        fields = h.map { ImportField.byHeader[ImportField.key($0)] ?? .ignored }
        for o in overrides {
            guard let eq = o.lastIndex(of: "=") else { throw ImportFailure("--map \(o): write COLUMN=FIELD, e.g. «Компания»=name") }
            let column = String(o[..<eq])
            guard let field = ImportField.parse(String(o[o.index(after: eq)...])) else {
                throw ImportFailure(
                    "--map \(o): unknown field; use name, kind, phones, emails, owner, segment, source, abc, inn, kpp, contact.name, contact.position, contact.phones, contact.emails, fields.KEY or -"
                )
            }
            let matches = h.indices.filter { h[$0] == column || ImportField.key(h[$0]) == ImportField.key(column) }
            guard !matches.isEmpty else {
                throw ImportFailure("--map \(o): the file has no column '\(column)' (it has: \(h.joined(separator: ", ")))")
            }
            for i in matches { fields[i] = field }
        }
        guard fields.contains(.name) else {
            throw ImportFailure(
                "no column for the client's name (looked for «Название», «Наименование», «Компания», «Клиент», «ФИО», Name, Company); map one with --map COLUMN=name"
            )
        }
    }

    public var ignoredColumns: [String] { header.indices.filter { fields[$0] == .ignored }.map { header[$0] } }

    /// Splits a cell holding several phones or e-mails («+7 916 …, 8 495 …»).
    public static func split(_ cell: String) -> [String] {
        cell.split(whereSeparator: { $0 == "," || $0 == ";" || $0 == "\n" }).map { $0.trimmingCharacters(in: .whitespaces) }.filter {
            !$0.isEmpty
        }
    }

    /// Splits a cell holding several phones, keeping each number's extension with it: a piece
    /// with fewer than 5 digits cannot be a number of its own («доб. 12», the `ext=12` of the
    /// stored form `+74951234567;ext=12`), so it stays with the number before it.
    public static func splitPhones(_ cell: String) -> [String] {
        var out: [String] = []
        var piece = ""
        var separator: Character? = nil
        func finish() {
            let p = piece.trimmingCharacters(in: .whitespaces)
            piece = ""
            guard !p.isEmpty else { return }
            if let separator, !out.isEmpty, p.filter(\.isNumber).count < 5 {
                out[out.count - 1] += (separator == ";" ? ";" : ", ") + p
            } else {
                out.append(p)
            }
        }
        for ch in cell {
            if ch == "," || ch == ";" || ch == "\n" {
                finish()
                separator = ch
            } else {
                piece.append(ch)
            }
        }
        finish()
        return out
    }

    /// Russian and English words for the two kinds of client.
    public static func kind(_ cell: String) -> String {
        switch cell.lowercased().trimmingCharacters(in: .whitespaces) {
        case "физлицо", "физ. лицо", "физическое лицо", "частное лицо", "person", "individual", "фл": "person"
        case "юрлицо", "юр. лицо", "юридическое лицо", "компания", "организация", "company", "ооо", "ип", "юл": "company"
        default: cell
        }
    }

    /// The item for `cells`, and for each field path the server may name (`phones[2]`) the column
    /// it came from.
    public func item(_ cells: [String]) -> (JSON, [String: Int]) {
        var o = JSONObject()
        var origin: [String: Int] = [:]
        var phones: [JSON] = []
        var emails: [JSON] = []
        var contact = JSONObject()
        var cPhones: [JSON] = []
        var cEmails: [JSON] = []
        var custom = JSONObject()
        for (i, f) in fields.enumerated() where i < cells.count {
            let cell = cells[i].trimmingCharacters(in: .whitespacesAndNewlines)
            if cell.isEmpty { continue }
            origin[f.wireName] = i
            switch f {
            case .name: o["name"] = .string(cell)
            case .kind: o["kind"] = .string(Self.kind(cell))
            case .owner: o["owner"] = .string(cell)
            case .segment: o["segment"] = .string(cell)
            case .source: o["source"] = .string(cell)
            case .abc: o["abc"] = .string(cell.uppercased())
            case .inn: o["inn"] = .string(cell)
            case .kpp: o["kpp"] = .string(cell)
            case .phones: Self.add(cell, to: &phones, "phones", column: i, &origin)
            case .emails: Self.add(cell, to: &emails, "emails", column: i, &origin)
            case .contactName: contact["name"] = .string(cell)
            case .contactPosition: contact["position"] = .string(cell)
            case .contactPhones: Self.add(cell, to: &cPhones, "contacts[0].phones", column: i, &origin)
            case .contactEmails: Self.add(cell, to: &cEmails, "contacts[0].emails", column: i, &origin)
            case .custom(let k): custom[k] = .string(cell)
            case .ignored: break
            }
        }
        if o["name"] == nil { o["name"] = "" }
        if !phones.isEmpty { o["phones"] = .array(phones) }
        if !emails.isEmpty { o["emails"] = .array(emails) }
        if custom.count > 0 { o["fields"] = .object(custom) }
        if !cPhones.isEmpty { contact["phones"] = .array(cPhones) }
        if !cEmails.isEmpty { contact["emails"] = .array(cEmails) }
        if contact.count > 0 {
            if contact["name"] == nil { contact["name"] = "" }
            o["contacts"] = [.object(contact)]
        }
        return (.object(o), origin)
    }

    private static func add(_ cell: String, to list: inout [JSON], _ field: String, column: Int, _ origin: inout [String: Int]) {
        for v in field.hasSuffix("phones") ? splitPhones(cell) : split(cell) {
            origin["\(field)[\(list.count)]"] = column
            list.append(.string(v))
        }
    }

    /// The column a field path of the server's names: `phones[1]` → the column of that phone,
    /// `fields.inn` → the column mapped to it; nil when no column is behind it.
    public func column(of field: String, _ origin: [String: Int]) -> String? {
        if let i = origin[field] { return header[i] }
        var base = field
        if base.hasSuffix("]"), let b = base.lastIndex(of: "[") { base = String(base[..<b]) }
        if let i = origin[base] ?? fields.firstIndex(where: { $0.wireName == base }) { return header[i] }
        return nil
    }
}
