import CRMCore
import CRMProtocol
import CRMStore
import Foundation

/// `client.*` but the exchange's: create, get, update, list, find by phone, assign, history (import: `ImportHandlers`).
struct ClientHandlers: HandlerGroup {
    let context: ServerContext

    func clientCreate(_ call: Call) throws {
        let actor = call.actor
        guard Access.canCreateClient(actor) else { throw DomainError.forbidden("\(actor.role.withArticle) may not create clients.") }
        let (input, ownerRef) = try call.decode { r in (decodeClientFields(&r, creating: true), userRef(&r, "owner")) }
        let rules = self.rules
        write(call) { [self] tx, now in
            try createClient(
                tx, actor: actor, input: input, ownerRef: ownerRef, rules: rules, now: now, action: "create", similarCheck: true)
        }
    }

    /// `keysChecked`: the caller already refused phones and e-mails that are taken, in this
    /// transaction (`client.import`'s check of the whole batch). `similarCheck`: a name that folds
    /// to an existing client's is refused (`similar_name`) unless `input.force`; a forced create is
    /// audited with the client it was forced over.
    func createClient(
        _ tx: Tx, actor: Actor, input: ClientFieldsInput, ownerRef: UserRef??, rules: ZoneRules, now: Date, action: String,
        keysChecked: Bool = false, similarCheck: Bool = false
    ) throws -> JSON {
        var owner: User? = nil
        switch ownerRef {
        case .some(.some(let ref)): owner = try resolveOwner(tx, ref)
        case .some(.none): owner = nil
        case .none: owner = Access.ownsWhatTheyCreate(actor) ? actor.user : nil
        }
        guard Access.canCreateOwned(by: owner?.id, actor: actor) else {
            throw DomainError.forbidden("A manager may create clients only for themselves or with no owner.")
        }
        let exchange = ExchangeRules(settings.domain, zones: rules)
        if Access.isBoundByExchangeOnCards(actor), let owner,
            case .clientsPerManager(_, let limit)? = try exchange.ownedLimitRefusal(owned: tx.ownedCount(userID: owner.id))
        {
            throw DomainError(
                .limitReached, "You already lead \(limit, "client", "clients"), the limit (exchange.max_clients_per_manager).",
                details: [("limit", .int(Int64(limit))), ("kind", .string("clients_per_manager"))])
        }
        var phones: [String] = []
        if case .set(let p) = input.phones { phones = p }
        var emails: [String] = []
        if case .set(let e) = input.emails { emails = e }
        if !keysChecked { try ensureFree(tx, phones: phones, emails: emails, for: nil) }
        var name = ""
        if case .set(let n) = input.name { name = n }
        try ensureNotBanned(tx, name: name, actor: actor, owner: owner, now: now)
        func value(_ p: Patch<String>) -> String? { if case .set(let v) = p { return v } else { return nil } }
        try ensureINNFree(tx, value(input.inn), for: nil)
        var similar: Client? = nil
        if similarCheck, let other = try similarClient(tx, name: name) {
            guard input.force else { throw similarNameError(other, name: name) }
            similar = other
        }
        var c = Client(
            id: 0, name: name, kind: input.kind ?? .company, phones: phones, emails: emails, ownerID: owner?.id,
            status: owner == nil ? .unassigned : .assigned, segment: value(input.segment), source: value(input.source),
            abc: value(input.abc), fieldsJSON: JSONWriter.string(.object(input.fields ?? JSONObject())), lastInteractionAt: nil,
            assignedAt: owner == nil ? nil : now, releasedAt: nil, releasedFrom: nil, releaseReason: nil, createdAt: now,
            updatedAt: now)
        c.optOut = input.optOut ?? false
        c.inn = value(input.inn)
        c.kpp = value(input.kpp)
        engine.startCycle(&c, now: now)
        c = try tx.insertClient(c, schedule: c.schedule)
        try planFactsMoved(tx, userID: c.ownerID, metrics: [.newClients], at: now)
        let json = wire.client(c, now: now, full: true)
        var audited = json
        if let similar, case .object(var o) = json {
            o["forced_over"] = [
                "reason": "similar_name", "client_id": .int(similar.id), "client_name": .string(similar.name),
                "owner_login": wire.login(similar.ownerID),
            ]
            audited = .object(o)
        }
        try audit(tx, actor, "client", c.id, action, before: nil, after: audited, at: now)
        try event(tx, "client.created", clientID: c.id, ownerID: c.ownerID, ["client_id": .int(c.id), "owner": .int(c.ownerID)], at: now)
        return json
    }

    func clientGet(_ call: Call) throws {
        let id = try call.decode { r in r.int("id") }
        let actor = call.actor
        try read(call) { tx, now in
            guard let c = try tx.client(id: id) else { throw DomainError.notFound("client", id) }
            guard Access.canSeeFullCard(actor, ownerID: c.ownerID) else { return wire.client(c, now: now, full: false) }
            guard case .object(var o) = wire.client(c, now: now, full: true) else { return .null }
            o["contacts"] = .array(try tx.contacts(clientID: id, limit: 200).items.map(wire.contact))
            o["interactions"] = .array(
                try readable(tx, try tx.interactions(clientID: id, cursor: nil, limit: 20).items, by: actor).map(wire.interaction))
            o["deals"] = .array(
                try tx.deals(clientID: id, limit: 50).filter { Access.canSeeDeal(actor, ownerID: $0.ownerID) }.map {
                    wire.deal($0, now: now)
                })
            o["classes"] = ClassHandlers.history(try tx.classHistory(clientID: id, limit: 12), wire: wire)
            (o["freeze"], o["locked"]) = try engine.holdFields(tx, clientID: id, now: now)
            return .object(o)
        }
    }

    func clientUpdate(_ call: Call) throws {
        let (id, input) = try call.decode { r in
            let id = r.int("id")
            let input = decodeClientFields(&r, creating: false)
            if r.problems.isEmpty, !input.touchesPersonalData, !input.touchesBusinessData {
                r.problem("params", "must change something: name, kind, phones, emails, opt_out, inn, kpp, segment, source, abc or fields")
            }
            return (id, input)
        }
        let actor = call.actor
        let personalRoles = settings.domain.personalDataRoles
        write(call) { [self] tx, now in
            var c = try loadClient(tx, id)
            if input.touchesPersonalData, !Access.canEditPersonalData(actor, ownerID: c.ownerID, personalDataRoles: personalRoles) {
                throw forbiddenOnClient(c, actor, "edit the name, kind, phones, e-mails or opt-out of")
            }
            if input.touchesBusinessData, !Access.canEditBusinessData(actor, ownerID: c.ownerID) {
                throw forbiddenOnClient(c, actor, "edit the segment, source, ABC class or custom fields of")
            }
            let before = wire.client(c, now: now, full: true)
            var phonesChanged = false
            var emailsChanged = false
            if case .set(let n) = input.name {
                if n != c.name {
                    try ensureNotBanned(tx, name: n, actor: actor, owner: c.ownerID.flatMap { users.user(id: $0) }, now: now, except: c.id)
                }
                c.name = n
            }
            if let k = input.kind { c.kind = k }
            if let o = input.optOut { c.optOut = o }
            switch input.inn {
            case .set(let v):
                try ensureINNFree(tx, v, for: c.id)
                c.inn = v
            case .clear: c.inn = nil
            case .unchanged: break
            }
            switch input.kpp {
            case .set(let v): c.kpp = v
            case .clear: c.kpp = nil
            case .unchanged: break
            }
            if case .set(let p) = input.phones, p != c.phones {
                try ensureFree(tx, phones: p, emails: [], for: c.id)
                c.phones = p
                phonesChanged = true
            }
            if case .set(let e) = input.emails, e != c.emails {
                try ensureFree(tx, phones: [], emails: e, for: c.id)
                c.emails = e
                emailsChanged = true
            }
            func apply(_ p: Patch<String>, _ v: inout String?) {
                switch p {
                case .set(let s): v = s
                case .clear: v = nil
                case .unchanged: break
                }
            }
            apply(input.segment, &c.segment)
            apply(input.source, &c.source)
            apply(input.abc, &c.abc)
            if let f = input.fields {
                var merged = ((try? JSONParser.parse(c.fieldsJSON))?.objectValue) ?? JSONObject()
                for m in f.members { merged[m.key] = m.value.isNull ? nil : m.value }
                c.fieldsJSON = JSONWriter.string(.object(merged))
            }
            c.updatedAt = now
            try tx.saveClient(
                c, schedule: wire.schedule(c), phonesChanged: phonesChanged,
                emailsChanged: emailsChanged)
            let after = wire.client(c, now: now, full: true)
            try audit(tx, actor, "client", c.id, "update", before: before, after: after, at: now)
            try event(tx, "client.updated", clientID: c.id, ownerID: c.ownerID, ["client_id": .int(c.id)], at: now)
            return after
        }
    }

    func clientList(_ call: Call) throws {
        let actor = call.actor
        let ((ownerRef, zone, status, segment, query, limit, cursor), (abc, xyz)) = try call.decode { r in
            (
                (
                    userRef(&r, "owner"), r.optionalEnum("zone", Zone.allCases.map(\.rawValue)).flatMap(Zone.init(rawValue:)),
                    r.optionalEnum("status", ClientStatus.allCases.map(\.rawValue)).flatMap(ClientStatus.init(rawValue:)),
                    r.optionalString("segment"), r.optionalString("query"), r.limit(), r.idCursor()
                ),
                (r.optionalEnum("abc", ABCClass.allCases.map(\.rawValue)), r.optionalEnum("xyz", XYZClass.allCases.map(\.rawValue)))
            )
        }
        try read(call) { tx, now in
            var filter = ClientFilter(status: status, zone: zone, segment: segment, now: now, afterID: cursor, limit: limit)
            (filter.abc, filter.xyz) = (abc, xyz)
            switch ownerRef {
            case .some(.some(let ref)):
                switch ref {
                case .id(let i): filter.ownerID = i
                case .login(let l):
                    guard let u = try tx.user(login: l) else { throw DomainError.notFound("user", named: l) }
                    filter.ownerID = u.id
                }
            case .some(.none), .none:
                // A manager's list is their own clients unless they search (to spot duplicates).
                if Access.seesOnlyOwnClients(actor), query == nil, status == nil { filter.ownerID = actor.userID ?? -1 }
            }
            // A segment is hidden on a restricted card, so filtering by it may only run over cards
            // the caller sees in full: else `owner: ivanov, segment: vip` told a manager whether
            // ivanov has a client in a segment the cards hide (issue 15 §8).
            if segment != nil || abc != nil || xyz != nil, !Access.canSeeFullCard(actor, ownerID: filter.ownerID) {
                if filter.ownerID != nil {
                    throw DomainError.forbidden(
                        "\(actor.role.withArticle) sees the segment and the ABC/XYZ class only of their own clients; filter by them without owner, or with your own login."
                    )
                }
                filter.ownerID = actor.userID ?? -1
            }
            if let q = query?.trimmingCharacters(in: .whitespaces), !q.isEmpty {
                guard q.count <= SearchQuery.maxLength else {
                    throw DomainError.invalid("query", "must be at most \(SearchQuery.maxLength) characters")
                }
                let search = SearchQuery(
                    q, defaultCountryCode: settings.domain.defaultCountryCode, nationalLength: settings.domain.nationalNumberLength)
                if search.key == nil, search.phone == nil, search.reversedDigits == nil {
                    // Nothing but a legal form or punctuation ("ООО", "%"): the names that hold it.
                    filter.nameQuery = q
                } else {
                    filter.search = search
                }
            }
            let page = try tx.listClients(filter)
            return wire.page(page) { c in wire.client(c, now: now, full: Access.canSeeFullCard(actor, ownerID: c.ownerID)) }
        }
    }

    func clientFindByPhone(_ call: Call) throws {
        let raw = try call.decode { r in r.string("phone") }
        let actor = call.actor
        guard
            let phone = Phone.normalize(
                raw, defaultCountryCode: settings.domain.defaultCountryCode, nationalLength: settings.domain.nationalNumberLength)
        else {
            throw RPCError.invalidParams([FieldProblem(field: "phone", problem: "'\(raw.prefix(40))' is not a phone number")])
        }
        try read(call) { tx, now in
            guard let holder = try tx.callerHolders(phone).first, let c = try tx.client(id: holder.clientID) else {
                throw DomainError(.notFound, "No client or contact has the phone \(phone).", details: [("phone", .string(phone))])
            }
            let full = Access.canSeeFullCard(actor, ownerID: c.ownerID)
            var contact: JSON = .null
            if full, let cid = holder.contactID, let k = try tx.contact(id: cid) { contact = wire.contact(k) }
            return ["phone": .string(phone), "client": wire.client(c, now: now, full: full), "contact": contact]
        }
    }

    func clientAssign(_ call: Call) throws {
        let actor = call.actor
        guard Access.canAssign(actor) else { throw DomainError.forbidden("Only a head of sales or an admin may assign clients.") }
        let (id, ownerRef) = try call.decode { r in
            let id = r.int("id")
            let ref = userRef(&r, "owner")
            if ref == nil { r.problem("owner", "is required (a user id or login, or null to unassign)") }
            return (id, ref)
        }
        write(call) { [self] tx, now in
            var c = try loadClient(tx, id)
            var owner: User? = nil
            if case .some(.some(let ref)) = ownerRef { owner = try resolveOwner(tx, ref) }
            let before = wire.client(c, now: now, full: true)
            try setOwner(tx, &c, to: owner, by: actor, now: now)
            let after = wire.client(c, now: now, full: true)
            try audit(tx, actor, "client", c.id, "assign", before: before, after: after, at: now)
            return after
        }
    }

    func clientHistory(_ call: Call) throws {
        let (id, limit, cursor) = try call.decode { r in (r.int("id"), r.limit(), r.idCursor()) }
        let actor = call.actor
        try read(call) { tx, _ in
            guard let c = try tx.clientHeader(id: id) else { throw DomainError.notFound("client", id) }
            guard Access.canSeeFullCard(actor, ownerID: c.ownerID) else { throw forbiddenOnClient(c, actor, "see the history of") }
            return wire.page(try tx.auditHistory(entity: "client", id: id, afterID: cursor, limit: limit), wire.audit)
        }
    }
}
