import CRMCore
import CRMProtocol
import CRMStore
import Foundation

/// One item of `contact.import`.
struct ContactImportItem: Sendable {
    var client: ClientRef
    var contact: ContactInput
}

extension RecordImports {
    /// `contact.import {contacts: [{client_id | client, name, position?, phones?, emails?,
    /// decision_maker?}], dry_run?, skip_invalid?, return_keys?}`: contact persons onto existing
    /// clients. A phone or e-mail that a client or contact in crmd (or an earlier item) has makes
    /// the item a duplicate. Admins and heads onto any client, operators onto clients without an
    /// owner (as they import clients).
    func contactImport(_ call: Call) throws {
        let actor = call.actor
        guard Access.canImport(actor) else {
            throw DomainError.forbidden("Only admins, heads and operators (onto clients without owners) may import contacts.")
        }
        let kind = RecordImportKind<ContactImportItem>(
            list: "contacts",
            decode: { [self] r in
                let ref = clientRef(&r)
                let c = ContactInput(
                    name: r.string("name"), position: r.optionalString("position"),
                    phones: phones(&r, "phones", r.optionalStringArray("phones") ?? []),
                    emails: emails(&r, "emails", r.optionalStringArray("emails") ?? []),
                    decisionMaker: r.optionalBool("decision_maker") ?? false)
                return ContactImportItem(client: ref, contact: c)
            },
            check: { [self] tx, item, _ in
                let c = try findClient(tx, item.client)
                if actor.role == .operator, c.ownerID != nil {
                    return (
                        [],
                        [
                            ImportProblem(
                                field: "client_id",
                                problem: "client \(c.id) has an owner; an operator adds contacts to clients without owners")
                        ]
                    )
                }
                var problems: [ImportProblem] = []
                let values =
                    item.contact.phones.enumerated().map { ("phones[\($0.offset)]", $0.element) }
                    + item.contact.emails.enumerated().map { ("emails[\($0.offset)]", $0.element) }
                for (field, v) in values {
                    let holders = v.contains("@") ? try tx.emailHolders(v) : try tx.phoneHolders(v)
                    guard let h = holders.first else { continue }
                    let name = try tx.clientHeader(id: h.clientID)?.name ?? "?"
                    problems.append(
                        ImportProblem(
                            field: field, problem: "\(v) already belongs to client \(h.clientID) '\(name)'", key: v,
                            duplicateOf: ["client_id": .int(h.clientID), "contact_id": h.contactID.map { .int($0) } ?? .null]))
                }
                return (values.map { ImportKey(field: $0.0, value: $0.1) }, problems)
            },
            store: { [self] tx, item, now in
                let c = try findClient(tx, item.client)
                let k = item.contact
                let saved = try tx.insertContact(
                    Contact(
                        id: 0, clientID: c.id, name: k.name, position: k.position, phones: k.phones, emails: k.emails,
                        decisionMaker: k.decisionMaker, createdAt: now, updatedAt: now))
                let json = wire.contact(saved)
                try audit(tx, actor, "contact", saved.id, "import", before: nil, after: json, at: now)
                try audit(tx, actor, "client", c.id, "contact_added", before: nil, after: json, at: now)
                return saved.id
            })
        try run(call, kind)
    }
}
