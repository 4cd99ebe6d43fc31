import CRMCore
import CRMProtocol
import CRMStore
import CRMText
import Foundation

/// One contact of an imported client.
struct ContactInput: Sendable {
    var name: String
    var position: String?
    var phones: [String]
    var emails: [String]
    var decisionMaker: Bool
}

/// Why an item of `client.import` is not written: a field's problem, or a phone or e-mail that
/// is already another item's (`inImport`) or a client's or contact's in the base.
/// `problem` goes out twice: in English (`problem`, for programs) and said in the reader's
/// language (`message`).
struct Rejection: Sendable {
    var field: String
    var problem: Phrase
    var inImport: Int? = nil
    var client: Int64? = nil
    var contact: Int64? = nil

    func json(index: Int, lang: Lang) -> JSON {
        var o: JSONObject = [
            "index": .int(Int64(index)), "field": .string(field), "problem": .string(problem.description),
            "message": .string(problem.rendered(lang)),
        ]
        if let inImport {
            o["duplicate_of"] = ["index": .int(Int64(inImport))]
        } else if let client {
            o["duplicate_of"] = ["client_id": .int(client), "contact_id": contact.map { .int($0) } ?? .null]
        }
        return .object(o)
    }
}

/// One decoded item of `client.import`: the card, its owner, its contacts, every normalized phone
/// and e-mail with the field it came from (`phones[1]`, `contacts[0].emails[0]`), and the
/// problems found without the database.
struct ImportItem: Sendable {
    var fields: ClientFieldsInput
    var owner: UserRef??
    var contacts: [ContactInput]
    var keys: [(field: String, value: String)]
    var rejections: [Rejection]
}

extension ImportHandlers {
    func decodeItem(_ json: JSON, domain: DomainSettings) -> ImportItem {
        var r = ParamReader(json)
        let fields = decodeClientFields(&r, creating: true)
        let owner = userRef(&r, "owner")
        func list(_ p: Patch<[String]>) -> [String] { if case .set(let v) = p { v } else { [] } }
        var keys = decodedKeys(json, prefix: "", phones: list(fields.phones), emails: list(fields.emails), domain: domain)
        var contacts: [ContactInput] = []
        var problems: [FieldProblem] = []
        if let list = r.optionalValue("contacts") {
            if let arr = list.arrayValue {
                if arr.count > Self.maxContacts { r.problem("contacts", "must hold at most \(Self.maxContacts) contacts") }
                for (k, cj) in arr.prefix(Self.maxContacts).enumerated() {
                    var cr = ParamReader(cj)
                    let c = ContactInput(
                        name: cr.string("name"), position: cr.optionalString("position"),
                        phones: phones(&cr, "phones", cr.optionalStringArray("phones") ?? []),
                        emails: emails(&cr, "emails", cr.optionalStringArray("emails") ?? []),
                        decisionMaker: cr.optionalBool("decision_maker") ?? false)
                    problems += cr.allProblems.map {
                        FieldProblem(field: "contacts[\(k)].\($0.field)", problem: $0.said)
                    }
                    contacts.append(c)
                    keys += decodedKeys(cj, prefix: "contacts[\(k)].", phones: c.phones, emails: c.emails, domain: domain)
                }
            } else {
                r.problem("contacts", "must be an array of contact objects")
            }
        }
        problems = r.allProblems + problems
        var seen = Set<String>()
        keys = keys.filter { seen.insert($0.value).inserted }
        return ImportItem(
            fields: fields, owner: owner, contacts: contacts, keys: keys,
            rejections: problems.map { Rejection(field: $0.field, problem: $0.said) })
    }

    /// ``rawKeys(_:prefix:domain:)`` from what the decoder already normalized, when every value
    /// normalized and none repeats (the same count as sent: `phones[i]` is the i-th); else from
    /// the raw values again. Normalizing an e-mail was 8 % of an import's CPU.
    func decodedKeys(
        _ json: JSON, prefix: String, phones: [String], emails: [String], domain: DomainSettings
    ) -> [(field: String, value: String)] {
        guard phones.count == json["phones"]?.arrayValue?.count ?? 0, emails.count == json["emails"]?.arrayValue?.count ?? 0 else {
            return rawKeys(json, prefix: prefix, domain: domain)
        }
        return phones.enumerated().map { ("\(prefix)phones[\($0)]", $1) } + emails.enumerated().map { ("\(prefix)emails[\($0)]", $1) }
    }

    /// The normalized phones and e-mails of an object (a client or a contact) with their fields;
    /// values that do not normalize are the decoder's problems, not keys.
    func rawKeys(_ json: JSON, prefix: String, domain: DomainSettings) -> [(field: String, value: String)] {
        var out: [(field: String, value: String)] = []
        for (i, v) in (json["phones"]?.arrayValue ?? []).enumerated() {
            if let s = v.stringValue,
                let p = Phone.normalize(s, defaultCountryCode: domain.defaultCountryCode, nationalLength: domain.nationalNumberLength)
            {
                out.append(("\(prefix)phones[\(i)]", p))
            }
        }
        for (i, v) in (json["emails"]?.arrayValue ?? []).enumerated() {
            if let s = v.stringValue, let e = Email.normalize(s) { out.append(("\(prefix)emails[\(i)]", e)) }
        }
        return out
    }

    /// Strict mode, before the database is asked: a phone or e-mail of an item that an earlier
    /// item without problems already has fails the call (`-32602`), naming both.
    func markDuplicatesInImport(_ items: inout [ImportItem]) {
        var seen: [String: Int] = [:]
        for i in items.indices where items[i].rejections.isEmpty {
            for k in items[i].keys {
                if let j = seen[k.value] {
                    items[i].rejections.append(Rejection(field: k.field, problem: "\(k.value) is also in clients[\(j)]", inImport: j))
                }
            }
            if items[i].rejections.isEmpty { for k in items[i].keys { seen[k.value] = i } }
        }
    }

    /// Every item's rejections once the database is asked too: an owner that is no leader, a phone,
    /// e-mail or ИНН that a client or contact in the base already has, or that an earlier accepted
    /// item has (the first good item wins), or a name that folds to a client's in the base (unless
    /// the item says `force`). Items with none are absent.
    func check(_ tx: Tx, _ items: [ImportItem]) throws -> [Int: [Rejection]] {
        var out: [Int: [Rejection]] = [:]
        var seen: [String: Int] = [:]
        var seenINN: [String: Int] = [:]
        // Who holds each phone and e-mail of the batch: two queries per 500 values, not two per value.
        let asked = items.filter(\.rejections.isEmpty).flatMap { $0.keys.map(\.value) }
        var holders = try tx.firstHolders(asked.filter { !$0.contains("@") }, emails: false)
        holders.merge(try tx.firstHolders(asked.filter { $0.contains("@") }, emails: true)) { a, _ in a }
        for (i, item) in items.enumerated() {
            var rej = item.rejections
            if rej.isEmpty {
                if case .some(.some(let ref)) = item.owner {
                    do { _ = try resolveOwner(tx, ref) } catch let e as DomainError {
                        rej.append(Rejection(field: "owner", problem: e.message))
                    }
                }
                for k in item.keys {
                    if let j = seen[k.value] {
                        rej.append(Rejection(field: k.field, problem: "\(k.value) is also in clients[\(j)]", inImport: j))
                        continue
                    }
                    guard let h = holders[k.value] else { continue }
                    let name = try tx.clientHeader(id: h.clientID)?.name ?? "?"
                    rej.append(
                        Rejection(
                            field: k.field, problem: "\(k.value) already belongs to client \(h.clientID) '\(name)'", client: h.clientID,
                            contact: h.contactID))
                }
                // Only for items nothing else refused: one reason per duplicate is enough.
                if rej.isEmpty { rej += try identityRejections(tx, item, seenINN: seenINN) }
            }
            if rej.isEmpty {
                for k in item.keys { seen[k.value] = i }
                if case .set(let inn) = item.fields.inn { seenINN[inn] = i }
            } else {
                out[i] = rej
            }
        }
        return out
    }

    /// An ИНН taken in the base or by an earlier item, and a name that folds to a client's in the
    /// base (`similar_name`, unless the item has `force: true`).
    func identityRejections(_ tx: Tx, _ item: ImportItem, seenINN: [String: Int]) throws -> [Rejection] {
        var rej: [Rejection] = []
        if case .set(let inn) = item.fields.inn {
            if let j = seenINN[inn] {
                rej.append(Rejection(field: "inn", problem: "\(inn) is also in clients[\(j)]", inImport: j))
            } else if let other = try tx.client(inn: inn) {
                rej.append(
                    Rejection(field: "inn", problem: "\(inn) already belongs to client \(other.id) '\(other.name)'", client: other.id))
            }
        }
        if !item.fields.force, case .set(let name) = item.fields.name, let other = try similarClient(tx, name: name) {
            let owner: Phrase
            if let login = other.ownerID.flatMap({ users.user(id: $0)?.login }) {
                owner = Phrase("owned by \(login)")
            } else {
                owner = Phrase("with no owner")
            }
            rej.append(
                Rejection(
                    field: "name",
                    problem:
                        "similar_name: client \(other.id) '\(other.name)' (\(owner)) has a similar name; add \"force\": true to the item to import it anyway",
                    client: other.id))
        }
        return rej
    }
}
