import CRMCore
import CRMProtocol
import CRMStore
import Foundation

/// `contact.*`: people at a client, and their moves between companies.
struct ContactHandlers: HandlerGroup {
    let context: ServerContext

    func requirePersonalDataRight(_ c: Client, _ actor: Actor) throws {
        guard Access.canEditPersonalData(actor, ownerID: c.ownerID, personalDataRoles: settings.domain.personalDataRoles) else {
            throw forbiddenOnClient(c, actor, "edit the contacts of")
        }
    }

    func contactCreate(_ call: Call) throws {
        let actor = call.actor
        let (clientID, name, position, phoneList, emailList, dm, optOut) = try call.decode { r in
            (
                r.int("client_id"), r.string("name"), r.optionalString("position"),
                phones(&r, "phones", r.optionalStringArray("phones") ?? []),
                emails(&r, "emails", r.optionalStringArray("emails") ?? []), r.optionalBool("decision_maker") ?? false,
                r.optionalBool("opt_out") ?? false
            )
        }
        write(call) { [self] tx, now in
            let c = try loadClient(tx, clientID)
            try requirePersonalDataRight(c, actor)
            try ensureFree(tx, phones: phoneList, emails: emailList, for: c.id)
            var new = Contact(
                id: 0, clientID: c.id, name: name, position: position, phones: phoneList, emails: emailList, decisionMaker: dm,
                createdAt: now, updatedAt: now)
            new.optOut = optOut
            let k = try tx.insertContact(new)
            let json = wire.contact(k)
            try audit(tx, actor, "contact", k.id, "create", before: nil, after: json, at: now)
            try audit(tx, actor, "client", c.id, "contact_added", before: nil, after: json, at: now)
            return json
        }
    }

    func contactGet(_ call: Call) throws {
        let id = try call.decode { r in r.int("id") }
        let actor = call.actor
        try read(call) { tx, _ in
            guard let k = try tx.contact(id: id), let c = try tx.clientHeader(id: k.clientID) else {
                throw DomainError.notFound("contact", id)
            }
            guard Access.canSeeFullCard(actor, ownerID: c.ownerID) else { throw forbiddenOnClient(c, actor, "see the contacts of") }
            guard case .object(var o) = wire.contact(k) else { return .null }
            o["client_name"] = .string(c.name)
            o["affiliations"] = .array(try tx.affiliations(contactID: id).map(wire.affiliation))
            return .object(o)
        }
    }

    func contactUpdate(_ call: Call) throws {
        let actor = call.actor
        let (id, name, position, phoneList, emailList, dm, optOut) = try call.decode { r in
            let id = r.int("id")
            let name = r.patchString("name")
            if case .clear = name { r.problem("name", "cannot be cleared") }
            let position = r.patchString("position")
            var p: [String]? = nil
            if case .set(let l) = r.patchStringArray("phones") { p = phones(&r, "phones", l) } else if r.has("phones") { p = [] }
            var e: [String]? = nil
            if case .set(let l) = r.patchStringArray("emails") { e = emails(&r, "emails", l) } else if r.has("emails") { e = [] }
            return (id, name, position, p, e, r.optionalBool("decision_maker"), r.optionalBool("opt_out"))
        }
        write(call) { [self] tx, now in
            guard var k = try tx.contact(id: id) else { throw DomainError.notFound("contact", id) }
            let c = try loadClient(tx, k.clientID)
            try requirePersonalDataRight(c, actor)
            let before = wire.contact(k)
            if case .set(let n) = name { k.name = n }
            switch position {
            case .set(let p): k.position = p
            case .clear: k.position = nil
            case .unchanged: break
            }
            if let phoneList {
                try ensureFree(tx, phones: phoneList, emails: [], for: c.id)
                k.phones = phoneList
            }
            if let emailList {
                try ensureFree(tx, phones: [], emails: emailList, for: c.id)
                k.emails = emailList
            }
            if let dm { k.decisionMaker = dm }
            if let optOut { k.optOut = optOut }
            k.updatedAt = now
            try tx.saveContact(k, previousClientID: k.clientID, now: now)
            let after = wire.contact(k)
            try audit(tx, actor, "contact", k.id, "update", before: before, after: after, at: now)
            return after
        }
    }

    func contactList(_ call: Call) throws {
        let (clientID, limit, cursor) = try call.decode { r in (r.int("client_id"), r.limit(), r.idCursor()) }
        let actor = call.actor
        try read(call) { tx, _ in
            guard let c = try tx.clientHeader(id: clientID) else { throw DomainError.notFound("client", clientID) }
            guard Access.canSeeFullCard(actor, ownerID: c.ownerID) else { throw forbiddenOnClient(c, actor, "see the contacts of") }
            return wire.page(try tx.contacts(clientID: clientID, afterID: cursor, limit: limit), wire.contact)
        }
    }

    func contactMove(_ call: Call) throws {
        let actor = call.actor
        let (id, toClient, position) = try call.decode { r in (r.int("id"), r.int("client_id"), r.patchString("position")) }
        write(call) { [self] tx, now in
            guard var k = try tx.contact(id: id) else { throw DomainError.notFound("contact", id) }
            let from = try loadClient(tx, k.clientID)
            let to = try loadClient(tx, toClient)
            try requirePersonalDataRight(from, actor)
            try requirePersonalDataRight(to, actor)
            guard from.id != to.id else { throw DomainError.invalid("client_id", "is already this contact's company") }
            try ensureFree(tx, phones: k.phones, emails: k.emails, for: k.clientID)
            let before = wire.contact(k)
            k.clientID = to.id
            switch position {
            case .set(let p): k.position = p
            case .clear: k.position = nil
            case .unchanged: break
            }
            k.updatedAt = now
            try tx.saveContact(k, previousClientID: from.id, now: now)
            let after = wire.contact(k)
            try audit(tx, actor, "contact", k.id, "move", before: before, after: after, at: now)
            try audit(tx, actor, "client", from.id, "contact_left", before: before, after: nil, at: now)
            try audit(tx, actor, "client", to.id, "contact_joined", before: nil, after: after, at: now)
            guard case .object(var o) = after else { return after }
            o["affiliations"] = .array(try tx.affiliations(contactID: k.id).map(wire.affiliation))
            return .object(o)
        }
    }
}
