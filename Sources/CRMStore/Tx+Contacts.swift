public import CRMCore
public import Foundation
import GRDB

extension Tx {
    static let contactColumns = "id, client_id, name, position, decision_maker, created_at, updated_at, opt_out"

    func contact(from r: Row) throws -> Contact {
        let id: Int64 = r[0]
        let clientID: Int64 = r[1]
        var c = Contact(
            id: id, clientID: clientID, name: r[2], position: r[3],
            phones: try phones(clientID: clientID, contactID: id), emails: try emails(clientID: clientID, contactID: id),
            decisionMaker: r[4], createdAt: date(r[5] as Int64), updatedAt: date(r[6] as Int64))
        c.optOut = r[7]
        return c
    }

    /// The contact with this id.
    public func contact(id: Int64) throws -> Contact? {
        try row("SELECT \(Self.contactColumns) FROM contacts WHERE id = ?", [id]).map(contact(from:))
    }

    /// A page of a company's current contacts.
    public func contacts(clientID: Int64, afterID: Int64? = nil, limit: Int = 1000) throws -> Page<Contact> {
        let found = try rows(
            "SELECT \(Self.contactColumns) FROM contacts WHERE client_id = ? AND id > ? ORDER BY id LIMIT ?",
            [clientID, afterID ?? 0, limit + 1])
        var items = try found.map(contact(from:))
        let more = items.count > limit
        if more { items.removeLast() }
        return Page(items: items, nextCursor: more ? items.last.map { String($0.id) } : nil)
    }

    /// Adds a contact and opens its first affiliation.
    public func insertContact(_ c: Contact) throws -> Contact {
        try exec(
            "INSERT INTO contacts(client_id, name, position, decision_maker, created_at, updated_at, opt_out) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [c.clientID, c.name, c.position, c.decisionMaker, ms(c.createdAt), ms(c.updatedAt), c.optOut])
        var saved = c
        saved.id = lastID
        try replacePhones(clientID: c.clientID, contactID: saved.id, c.phones, fresh: true)
        try replaceEmails(clientID: c.clientID, contactID: saved.id, c.emails, fresh: true)
        try replaceSearchWords(clientID: c.clientID, contactID: saved.id, name: c.name, fresh: true)
        try exec(
            "INSERT INTO affiliations(contact_id, client_id, position, from_at) VALUES (?, ?, ?, ?)",
            [saved.id, c.clientID, c.position, ms(c.createdAt)])
        return saved
    }

    /// Saves a contact. When its company changed, the old affiliation is closed at `now` and a
    /// new one opened, and its phones and e-mails follow it.
    public func saveContact(_ c: Contact, previousClientID: Int64, now: Date) throws {
        try exec(
            "UPDATE contacts SET client_id = ?, name = ?, position = ?, decision_maker = ?, updated_at = ?, opt_out = ? WHERE id = ?",
            [c.clientID, c.name, c.position, c.decisionMaker, ms(c.updatedAt), c.optOut, c.id])
        try replacePhones(clientID: c.clientID, contactID: c.id, c.phones)
        try replaceEmails(clientID: c.clientID, contactID: c.id, c.emails)
        try replaceSearchWords(clientID: c.clientID, contactID: c.id, name: c.name)
        if previousClientID != c.clientID {
            try exec("UPDATE affiliations SET to_at = ? WHERE contact_id = ? AND to_at IS NULL", [ms(now), c.id])
            try exec(
                "INSERT INTO affiliations(contact_id, client_id, position, from_at) VALUES (?, ?, ?, ?)",
                [c.id, c.clientID, c.position, ms(now)])
        } else {
            try exec("UPDATE affiliations SET position = ? WHERE contact_id = ? AND to_at IS NULL", [c.position, c.id])
        }
    }

    /// Every affiliation of a contact, oldest first.
    public func affiliations(contactID: Int64) throws -> [Affiliation] {
        try rows("SELECT client_id, position, from_at, to_at FROM affiliations WHERE contact_id = ? ORDER BY id", [contactID])
            .map { Affiliation(clientID: $0[0], position: $0[1], from: date($0[2] as Int64), to: dateOpt($0[3] as Int64?)) }
    }
}
