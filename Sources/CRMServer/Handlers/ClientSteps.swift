import CRMCore
import CRMProtocol
import CRMStore
import CRMText
import Foundation

/// A client's editable fields as decoded from params.
struct ClientFieldsInput: Sendable {
    var name: Patch<String> = .unchanged
    var kind: ClientKind? = nil
    var phones: Patch<[String]> = .unchanged
    var emails: Patch<[String]> = .unchanged
    var segment: Patch<String> = .unchanged
    var source: Patch<String> = .unchanged
    var abc: Patch<String> = .unchanged
    var fields: JSONObject? = nil
    /// Opted out of mailings (personal data: who may edit phones may record the wish).
    var optOut: Bool? = nil
    /// The tax id (ИНН, digits only) and registration reason code (КПП); identity, as the name is.
    var inn: Patch<String> = .unchanged
    var kpp: Patch<String> = .unchanged
    /// Create even when a client with a similar name exists (`client.create`, `client.import`).
    var force = false

    var touchesPersonalData: Bool {
        name.isChange || kind != nil || phones.isChange || emails.isChange || optOut != nil || inn.isChange || kpp.isChange
    }
    var touchesBusinessData: Bool { segment.isChange || source.isChange || abc.isChange || fields != nil }
}

/// Who a client goes to: a user id or a login.
enum UserRef: Sendable {
    case id(Int64)
    case login(String)
}

/// What handlers of clients, contacts, interactions, users and the exchange share: decoding
/// client fields, loading a client, and the ownership changes every one of them makes.
extension HandlerGroup {
    // MARK: decoding helpers

    func phones(_ r: inout ParamReader, _ key: String, _ list: [String]) -> [String] {
        var out: [String] = []
        for (i, raw) in list.enumerated() {
            guard
                let p = Phone.normalize(
                    raw, defaultCountryCode: settings.domain.defaultCountryCode, nationalLength: settings.domain.nationalNumberLength)
            else {
                r.problem(
                    "\(key)[\(i)]",
                    "'\(raw.prefix(40))' is not a phone number (one number of 5 to 15 digits, optionally with +, spaces, dashes, brackets, and an extension such as 'доб. 12', 'ext 12', 'x12' or '#12' of at most 6 digits)"
                )
                continue
            }
            if !out.contains(p) { out.append(p) }
        }
        return out
    }

    func emails(_ r: inout ParamReader, _ key: String, _ list: [String]) -> [String] {
        var out: [String] = []
        for (i, raw) in list.enumerated() {
            guard let e = Email.normalize(raw) else {
                r.problem("\(key)[\(i)]", "'\(raw.prefix(60))' is not an e-mail address like name@example.com")
                continue
            }
            if !out.contains(e) { out.append(e) }
        }
        return out
    }

    func userRef(_ r: inout ParamReader, _ key: String) -> UserRef?? {
        guard let v = r.optionalValue(key) else { return nil }
        switch v {
        case .null: return .some(nil)
        case .int(let i): return .some(.id(i))
        case .string(let s) where !s.isEmpty: return .some(.login(s))
        default:
            r.problem(key, "must be a user id or login, not \(v.kindDescription)")
            return nil
        }
    }

    func decodeClientFields(_ r: inout ParamReader, creating: Bool) -> ClientFieldsInput {
        var f = ClientFieldsInput()
        if creating {
            f.name = .set(r.string("name"))
        } else {
            f.name = r.patchString("name")
            if case .clear = f.name { r.problem("name", "cannot be cleared") }
            if case .set(let n) = f.name {
                let t = n.trimmingCharacters(in: .whitespacesAndNewlines)
                if t.isEmpty { r.problem("name", "must not be empty") }
                f.name = .set(t)
            }
        }
        // The longest legal names (a state university's full name) are under 300 characters.
        if case .set(let n) = f.name, n.count > Client.maxNameLength {
            r.problem("name", "must be at most \(Client.maxNameLength) characters")
        }
        f.kind = r.optionalEnum("kind", ClientKind.allCases.map(\.rawValue)).flatMap(ClientKind.init(rawValue:))
        switch r.patchStringArray("phones") {
        case .set(let l): f.phones = .set(phones(&r, "phones", l))
        case .clear: f.phones = .set([])
        case .unchanged: break
        }
        switch r.patchStringArray("emails") {
        case .set(let l): f.emails = .set(emails(&r, "emails", l))
        case .clear: f.emails = .set([])
        case .unchanged: break
        }
        f.segment = r.patchString("segment")
        f.source = r.patchString("source")
        // The ABC class is computed from won revenue (docs/rules.md, "ABC/XYZ classes"): a hand
        // value would be a class the figures do not back, silently replaced by the next run.
        if r.has("abc") || r.has("xyz") {
            r.problem(
                r.has("abc") ? "abc" : "xyz",
                "is computed by crmd from won revenue each month (classes.* settings) and cannot be set by hand; a head or admin runs abc.compute to recompute it now"
            )
        }
        f.optOut = r.optionalBool("opt_out")
        f.inn = taxID(&r, "inn", TaxID.innProblem)
        f.kpp = taxID(&r, "kpp", TaxID.kppProblem)
        if creating { f.force = r.optionalBool("force") ?? false }
        if r.has("fields") {
            if let o = r.optionalObject("fields") {
                for m in o.members {
                    switch m.value {
                    case .object, .array: r.problem("fields.\(m.key)", "must be a string, number, boolean or null")
                    default: break
                    }
                }
                f.fields = o
            }
        }
        return f
    }

    /// An ИНН or КПП: spaces dropped, checked by `problem`; null or "" clears it.
    func taxID(_ r: inout ParamReader, _ key: String, _ problem: (String) -> String?) -> Patch<String> {
        switch r.patchString(key) {
        case .set(let raw):
            let v = String(raw.filter { !$0.isWhitespace }.prefix(40))
            if v.isEmpty { return .clear }
            if let p = problem(v) {
                r.problem(key, "'\(v)' \(p)")
                return .unchanged
            }
            return .set(v)
        case .clear: return .clear
        case .unchanged: return .unchanged
        }
    }

    // MARK: shared checks inside a transaction

    /// Fails with `conflict` naming the client that has this ИНН, and its owner.
    func ensureINNFree(_ tx: Tx, _ inn: String?, for clientID: Int64?) throws {
        guard let inn, let other = try tx.client(inn: inn), other.id != clientID else { return }
        let ownerLogin = other.ownerID.flatMap { users.user(id: $0)?.login }
        throw DomainError(
            .conflict,
            "The ИНН \(inn) already belongs to client '\(other.name)' (id \(other.id)), \(ownerLogin.map { "owned by \($0)" } ?? "with no owner"). Open that client instead of creating a duplicate.",
            fields: [("inn", "\(inn) is taken")],
            details: [
                ("value", .string(inn)), ("client_id", .int(other.id)), ("client_name", .string(other.name)),
                ("owner", other.ownerID.map { .int($0) } ?? .null), ("owner_login", ownerLogin.map { .string($0) } ?? .null),
            ])
    }

    /// The existing client whose name folds to the same key as `name` (``CompanyName/key(_:)``),
    /// if any: what `client.create` warns of.
    func similarClient(_ tx: Tx, name: String) throws -> Client? {
        guard let key = SearchQuery.storedKey(ofName: name) else { return nil }
        return try tx.clients(withKey: key, limit: 1).first
    }

    /// The `1003` `similar_name` warning: names the existing client and its owner, and says how
    /// to create anyway.
    func similarNameError(_ other: Client, name: String) -> DomainError {
        let ownerLogin = other.ownerID.flatMap { users.user(id: $0)?.login }
        return DomainError(
            .conflict,
            "A client with a similar name already exists: '\(other.name)' (id \(other.id)), \(ownerLogin.map { "owned by \($0)" } ?? "with no owner"). Open that client, or create '\(name)' anyway with force: true.",
            details: [
                ("reason", .string("similar_name")), ("client_id", .int(other.id)), ("client_name", .string(other.name)),
                ("owner", other.ownerID.map { .int($0) } ?? .null), ("owner_login", ownerLogin.map { .string($0) } ?? .null),
            ])
    }

    func resolveOwner(_ tx: Tx, _ ref: UserRef) throws -> User {
        let u = try resolveUser(tx, ref, field: "owner")
        guard Access.canLeadClients(u) else {
            throw DomainError.invalid("owner", "'\(u.login)' has the role \(u.role.rawValue); only managers and heads lead clients")
        }
        return u
    }

    /// The active user `ref` names, whatever their role (`field` names the param in errors).
    /// A deactivated user is refused unless `inactive` (a list filtered by them, a day read back).
    func resolveUser(_ tx: Tx, _ ref: UserRef, field: String, inactive: Bool = false) throws -> User {
        let u: User?
        switch ref {
        case .id(let id): u = try tx.user(id: id)
        case .login(let l): u = try tx.user(login: l)
        }
        guard let u else {
            switch ref {
            case .id(let id): throw DomainError.notFound("user", id)
            case .login(let l): throw DomainError.notFound("user", named: l)
            }
        }
        guard u.active || inactive else { throw DomainError.invalid(field, "'\(u.login)' is deactivated") }
        return u
    }

    /// Fails with `conflict` naming the existing client and owner when a phone or e-mail is taken
    /// by another client (or a contact of another client).
    func ensureFree(_ tx: Tx, phones: [String], emails: [String], for clientID: Int64?) throws {
        for p in phones {
            if let holder = try tx.phoneHolders(p).first(where: { $0.clientID != clientID }) {
                throw try duplicate(tx, field: "phones", value: p, holder.clientID)
            }
        }
        for e in emails {
            if let holder = try tx.emailHolders(e).first(where: { $0.clientID != clientID }) {
                throw try duplicate(tx, field: "emails", value: e, holder.clientID)
            }
        }
    }

    func duplicate(_ tx: Tx, field: String, value: String, _ clientID: Int64) throws -> DomainError {
        let other = try tx.clientHeader(id: clientID)
        let ownerLogin = other?.ownerID.flatMap { users.user(id: $0)?.login }
        let whose = ownerLogin.map { Phrase("owned by \($0)") } ?? Phrase("with no owner")
        let what = field == "phones" ? Phrase("phone") : Phrase("e-mail")
        return DomainError(
            .conflict,
            "The \(what) \(value) already belongs to client '\(other?.name ?? "?")' (id \(clientID)), \(whose). Open that client instead of creating a duplicate.",
            fields: [(field, "\(value) is taken")],
            details: [
                ("value", .string(value)), ("client_id", .int(clientID)), ("client_name", .string(other?.name ?? "")),
                ("owner", other?.ownerID.map { .int($0) } ?? .null), ("owner_login", ownerLogin.map { .string($0) } ?? .null),
            ])
    }

    func loadClient(_ tx: Tx, _ id: Int64) throws -> Client {
        guard let c = try tx.client(id: id) else { throw DomainError.notFound("client", id) }
        return c
    }

    func forbiddenOnClient(_ c: Client, _ actor: Actor, _ what: String) -> DomainError {
        let owner = c.ownerID.flatMap { users.user(id: $0)?.login }
        return DomainError(
            .forbidden,
            "You (\(actor.login), \(actor.role.rawValue)) may not \(Phrase.key(what)) client \(c.id) '\(c.name)'; \(owner.map { Phrase("it belongs to \($0)") } ?? Phrase("it has no owner")).",
            details: [("client_id", .int(c.id)), ("owner_login", owner.map { .string($0) } ?? .null)])
    }

    // MARK: methods

}

extension HandlerGroup {
    /// Gives a client to `owner` (or to nobody) with a fresh green clock and records
    /// `client.assigned`: a head's assignment and the hand-over of a departing manager's clients.
    /// Not bound by the exchange cooldown; the caller audits it.
    func setOwner(_ tx: Tx, _ c: inout Client, to owner: User?, by actor: Actor, now: Date) throws {
        let old = c.ownerID
        try takeOver(tx, &c, to: owner, now: now)
        try event(
            tx, "client.assigned", clientID: c.id, ownerID: c.ownerID, previousOwnerID: old == c.ownerID ? nil : old,
            [
                "client_id": .int(c.id), "from": .int(old), "from_login": wire.login(old), "to": .int(c.ownerID),
                "to_login": .string(owner?.login), "by": .string(actor.login),
            ], at: now)
    }

    /// The change of hands itself, shared by assignment and claims: new owner (or none), release
    /// fields cleared, a fresh clock cycle, stale reminders dropped, and `zone.changed` when the
    /// applied zone moved.
    func takeOver(_ tx: Tx, _ c: inout Client, to owner: User?, now: Date) throws {
        c.ownerID = owner?.id
        c.status = owner == nil ? .unassigned : .assigned
        c.assignedAt = owner == nil ? nil : now
        c.releasedAt = nil
        c.releasedFrom = nil
        c.releaseReason = nil
        c.updatedAt = now
        let previous = engine.startCycle(&c, now: now, frozen: try engine.runningFreeze(tx, clientID: c.id, now: now))
        try tx.saveClient(c, schedule: c.schedule, phonesChanged: false, emailsChanged: false)
        try tx.supersedeAlerts(clientID: c.id)
        // The sale goes with the client: its open deals follow the new lead manager.
        if let owner { try handDeals(tx, clientID: c.id, to: owner, now: now) }
        if let previous, previous != c.appliedZone {
            try event(
                tx, "zone.changed", clientID: c.id, ownerID: c.ownerID,
                text: engine.zoneEventData(c, from: previous, to: c.appliedZone, at: now),
                at: now)
        }
    }

}

extension HandlerGroup {
    /// Refuses a manager a card they would lead whose name is that of a company they may not take
    /// back yet (the cooldown holds for the company, not the card): a new card of their own, or a
    /// rename of one they lead. Names are compared by ``CompanyName/key(_:)``. Admins and heads
    /// who assign a client on purpose are not held to it (as with `client.assign`).
    func ensureNotBanned(_ tx: Tx, name: String, actor: Actor, owner: User?, now: Date, except clientID: Int64? = nil) throws {
        guard Access.isBoundByExchangeOnCards(actor), let manager = owner, manager.id == actor.user?.id, let key = CompanyName.key(name)
        else {
            return
        }
        for ban in try tx.bans(userID: manager.id, now: now) where ban.clientID != clientID && CompanyName.key(ban.name) == key {
            throw DomainError(
                .claimBanned,
                "'\(name)' is client \(ban.clientID) '\(ban.name)', which \(manager.login) released (or which was released from them); they may take it again from \(local(ban.until)), by claiming it on the exchange, not with a new card.",
                details: [("client_id", .int(ban.clientID)), ("until", .date(ban.until))])
        }
    }
}
