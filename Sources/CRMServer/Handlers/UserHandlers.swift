import CRMCore
import CRMProtocol
import CRMStore
import CRMText
import Foundation

/// `user.*`: users, their roles and uids (admins only).
struct UserHandlers: HandlerGroup {
    let context: ServerContext

    nonisolated(unsafe) static let loginPattern = #/^[a-z_][a-z0-9_.-]{0,31}$/#

    func requireUserAdmin(_ actor: Actor) throws {
        guard Access.canManageUsers(actor) else {
            throw DomainError.forbidden("Only an admin may add or change users; you are \(actor.login) (\(actor.role.rawValue)).")
        }
    }

    func roleValue(_ r: inout ParamReader, _ key: String, required: Bool) -> Role? {
        let names = Role.allCases.map(\.rawValue)
        if required { return Role(rawValue: r.enumValue(key, names)) }
        return r.optionalEnum(key, names).flatMap(Role.init(rawValue:))
    }

    func reloadUsers() {
        if let all = try? store.read({ try $0.allUsers() }) { users.reload(all) }
    }

    func userAdd(_ call: Call) throws {
        try requireUserAdmin(call.actor)
        var ext: Patch<String> = .unchanged
        var phone: Patch<String> = .unchanged
        let domain = settings.domain
        let (login, name, role, uidParam, commission, team, email) = try call.decode { r in
            ext = Self.extensionPatch(&r)
            phone = Self.phonePatch(&r, domain)
            let login = r.string("login")
            let name = r.string("name")
            let role = roleValue(&r, "role", required: true)
            let uid = r.optionalInt("uid")
            let commission = Self.commissionPatch(&r).value
            let team = Self.teamPatch(&r).value
            let email = Self.emailPatch(&r).value
            if !login.isEmpty, (try? Self.loginPattern.wholeMatch(in: login)) == nil {
                r.problem("login", "must be 1-32 characters: lower-case letters, digits, '_', '.', '-', starting with a letter or '_'")
            }
            if let uid, uid < 0 || uid > Int64(UInt32.max - 1) { r.problem("uid", "must be a Unix uid from 0 to 4294967294") }
            return (login, name, role ?? .manager, uid, commission, team, email)
        }
        let uid = uidParam.map { UInt32($0) } ?? systemUID(login: login)
        let actor = call.actor
        let extPatch = ext
        let phonePatch = phone
        write(call, after: { [self] _ in reloadUsers() }) { [self] tx, now in
            if let existing = try tx.user(login: login) {
                throw DomainError(
                    .conflict, "A user with login '\(login)' already exists (id \(existing.id)).", details: [("user_id", .int(existing.id))]
                )
            }
            if let uid, let existing = try tx.user(uid: uid) {
                throw DomainError(
                    .conflict, "uid \(uid) already belongs to user '\(existing.login)'.", fields: [("uid", "is taken")],
                    details: [("user_id", .int(existing.id)), ("login", .string(existing.login))])
            }
            var u = try tx.insertUser(
                login: login, name: name, role: role, uid: uid, commissionBP: commission.map { Int($0) }, team: team, now: now)
            if let email {
                try checkEmailFree(tx, email, for: u.id)
                u.email = email
                try tx.saveUser(u)
            }
            let json = try applyPhone(
                tx, phonePatch, userID: u.id, to: applyExtension(tx, extPatch, userID: u.id, to: wire.user(u, detailed: true)))
            try audit(tx, actor, "user", u.id, "create", before: nil, after: json, at: now)
            return json
        }
    }

    /// `commission_bp`: the user's own rate in basis points, 0-10000 (200 = 2 %), or null to clear.
    static func commissionPatch(_ r: inout ParamReader) -> Patch<Int64> {
        guard r.has("commission_bp") else { return .unchanged }
        guard let v = r.optionalInt("commission_bp") else { return .clear }
        guard (0...Int64(CommissionSettings.maxBP)).contains(v) else {
            r.problem("commission_bp", "must be a rate in basis points from 0 to 10000 (200 = 2 %), or null")
            return .unchanged
        }
        return .set(v)
    }

    /// `email`: the user's own address, by which incoming mail names them, or null to clear.
    static func emailPatch(_ r: inout ParamReader) -> Patch<String> {
        guard r.has("email") else { return .unchanged }
        guard let v = r.optionalString("email") else { return .clear }
        guard let e = Email.normalize(v) else {
            r.problem("email", "'\(v.prefix(60))' is not an e-mail address like ivanov@example.com")
            return .unchanged
        }
        return .set(e)
    }

    /// Refuses an address another user already has.
    func checkEmailFree(_ tx: Tx, _ email: String, for userID: Int64) throws {
        if let other = try tx.user(email: email), other.id != userID {
            throw DomainError(
                .conflict, "The address \(email) already belongs to user '\(other.login)'.", fields: [("email", "is taken")],
                details: [("user_id", .int(other.id)), ("login", .string(other.login))])
        }
    }

    /// `team`: 1-64 characters (trimmed), or null to take the user out of any team.
    static func teamPatch(_ r: inout ParamReader) -> Patch<String> {
        guard r.has("team") else { return .unchanged }
        guard let v = r.optionalString("team") else { return .clear }
        let t = v.trimmingCharacters(in: .whitespaces)
        guard (1...64).contains(t.count) else {
            r.problem("team", "must be 1 to 64 characters, or null for no team")
            return .unchanged
        }
        return .set(t)
    }

    func userList(_ call: Call) throws {
        let (includeInactive, limit, cursor) = try call.decode { r in (r.optionalBool("include_inactive") ?? false, r.limit(), r.idCursor())
        }
        let detailed = Access.canSeeUserDetails(call.actor)
        try read(call) { tx, _ in
            let after = cursor ?? 0
            var list = try tx.allUsers().filter { ($0.active || (includeInactive && detailed)) && $0.id > after }
            let more = list.count > limit
            if more { list.removeLast(list.count - limit) }
            return [
                "items": .array(list.map { wire.user($0, detailed: detailed) }),
                "next_cursor": more ? .string(String(list.last!.id)) : .null,
            ]
        }
    }

    /// `lang`: `ru` or `en`, or null to follow the client's locale and the server's language.
    static func langPatch(_ r: inout ParamReader) -> Patch<Lang> {
        guard r.has("lang") else { return .unchanged }
        guard let v = r.optionalEnum("lang", Lang.allCases.map(\.rawValue)) else { return .clear }
        return Lang(rawValue: v).map { .set($0) } ?? .unchanged
    }

    func userUpdate(_ call: Call) throws {
        // A user may set their own language and nothing else; the rest is for admins.
        var ext: Patch<String> = .unchanged
        var phone: Patch<String> = .unchanged
        let domain = settings.domain
        let (login, name, role, uid, commission, team, email, lang, routing) = try call.decode { r in
            ext = Self.extensionPatch(&r)
            phone = Self.phonePatch(&r, domain)
            let login = r.string("login")
            let routing = Self.routingPatch(&r)
            let lang = Self.langPatch(&r)
            let name = r.patchString("name")
            let commission = Self.commissionPatch(&r)
            let team = Self.teamPatch(&r)
            let email = Self.emailPatch(&r)
            let role = roleValue(&r, "role", required: false)
            var uid: Patch<Int64> = .unchanged
            if r.has("uid") {
                if let v = r.optionalInt("uid") {
                    if v < 0 || v > Int64(UInt32.max - 1) { r.problem("uid", "must be a Unix uid from 0 to 4294967294") }
                    uid = .set(v)
                } else if r.problems.isEmpty {
                    uid = .clear
                }
            }
            if case .set(let n) = name, n.trimmingCharacters(in: .whitespaces).isEmpty { r.problem("name", "must not be empty") }
            if case .clear = name { r.problem("name", "cannot be cleared") }
            return (login, name, role, uid, commission, team, email, lang, routing)
        }
        let onlyOwnLang =
            login == call.actor.user?.login && !name.isChange && role == nil && !uid.isChange && !commission.isChange
            && !team.isChange && !email.isChange && routing.absence == nil && routing.competence == nil && !ext.isChange
            && !phone.isChange
        if !onlyOwnLang { try requireUserAdmin(call.actor) }
        let actor = call.actor
        let extPatch = ext
        let phonePatch = phone
        write(call, after: { [self] _ in reloadUsers() }) { [self] tx, now in
            guard var u = try tx.user(login: login) else { throw DomainError.notFound("user", named: login) }
            let before = wire.user(u, detailed: true)
            if case .set(let n) = name { u.name = n.trimmingCharacters(in: .whitespaces) }
            if let role { u.role = role }
            switch uid {
            case .set(let v):
                if let other = try tx.user(uid: UInt32(v)), other.id != u.id {
                    throw DomainError(.conflict, "uid \(v) already belongs to user '\(other.login)'.", fields: [("uid", "is taken")])
                }
                u.uid = UInt32(v)
            case .clear: u.uid = nil
            case .unchanged: break
            }
            u.commissionBP = commission.applied(to: u.commissionBP.map { Int64($0) }).map { Int($0) }
            u.team = team.applied(to: u.team)
            if case .set(let e) = email { try checkEmailFree(tx, e, for: u.id) }
            u.email = email.applied(to: u.email)
            u.lang = lang.applied(to: u.lang)
            u.updatedAt = now
            try tx.saveUser(u)
            try tx.setUserRouting(id: u.id, absence: routing.absence, competence: routing.competence)
            let card = try applyPhone(
                tx, phonePatch, userID: u.id, to: applyExtension(tx, extPatch, userID: u.id, to: wire.user(u, detailed: true)))
            let after = try withRouting(tx, card, u.id)
            try audit(tx, actor, "user", u.id, "update", before: before, after: after, at: now)
            return after
        }
    }

    /// `absent_from` / `absent_until` (instants; null clears; either one sets both) and
    /// `competence` (at most 20 tags of 40 characters; [] clears): what request routing reads.
    static func routingPatch(_ r: inout ParamReader) -> (absence: (from: Date?, until: Date?)??, competence: [String]?) {
        var absence: (from: Date?, until: Date?)?? = nil
        if r.has("absent_from") || r.has("absent_until") {
            let from = r.optionalTimestamp("absent_from")
            let until = r.optionalTimestamp("absent_until")
            if let from, let until, until <= from { r.problem("absent_until", "must be after absent_from") }
            absence = .some(from == nil && until == nil ? nil : (from, until))
        }
        var competence: [String]? = nil
        if let tags = r.optionalStringArray("competence") {
            let cleaned = tags.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            if cleaned.count > Routing.maxTags { r.problem("competence", "must list at most \(Routing.maxTags) tags") }
            if cleaned.contains(where: { $0.count > Routing.tagLength || $0.contains(",") }) {
                r.problem("competence", "tags must be at most \(Routing.tagLength) characters, without commas")
            }
            competence = cleaned
        }
        return (absence, competence)
    }

    /// A user's JSON with their absence and competence.
    func withRouting(_ tx: Tx, _ json: JSON, _ id: Int64) throws -> JSON {
        guard case .object(var o) = json else { return json }
        let r = try tx.userRouting(id: id)
        o["absent_from"] = wire.time(r.absentFrom)
        o["absent_until"] = wire.time(r.absentUntil)
        o["competence"] = .array(r.competence.map { .string($0) })
        return .object(o)
    }

    func userDeactivate(_ call: Call) throws {
        try requireUserAdmin(call.actor)
        let (login, reassignTo) = try call.decode { r in (r.string("login"), r.optionalString("reassign_to")) }
        let actor = call.actor
        write(call, after: { [self] _ in reloadUsers() }) { [self] tx, now in
            guard var u = try tx.user(login: login) else { throw DomainError.notFound("user", named: login) }
            var heir: User? = nil
            if let reassignTo {
                guard let h = try tx.user(login: reassignTo), h.active, h.id != u.id else {
                    throw DomainError.invalid("reassign_to", "must name another active user")
                }
                guard Access.canLeadClients(h) else {
                    throw DomainError.invalid("reassign_to", "must be a manager or head (clients need a lead manager)")
                }
                heir = h
            }
            if heir == nil {
                let owned = try tx.ownedCount(userID: u.id)
                if owned > 0 {
                    throw DomainError(
                        .conflict,
                        "\(u.login) still leads \(owned, "client", "clients"); say who takes them over with reassign_to (crmctl user deactivate \(u.login) --to LOGIN).",
                        details: [("owned_clients", .int(Int64(owned)))])
                }
            }
            let before = wire.user(u, detailed: true)
            u.active = false
            u.updatedAt = now
            try tx.saveUser(u)
            var moved = 0
            if let heir {
                var cursor: Int64? = nil
                while true {
                    let page = try tx.listClients(ClientFilter(ownerID: u.id, now: now, afterID: cursor, limit: 500))
                    for var c in page.items where c.status == .assigned {
                        let old = c.ownerID
                        try setOwner(tx, &c, to: heir, by: actor, now: now)
                        try audit(
                            tx, actor, "client", c.id, "assign", before: ["owner": .int(old)], after: ["owner": .int(heir.id)], at: now)
                        moved += 1
                    }
                    guard let next = page.nextCursor else { break }
                    cursor = Int64(next)
                }
                // Open deals the user held on others' clients go to the heir too.
                for d in try tx.openDeals(ownerID: u.id) {
                    try giveDeal(tx, d, to: heir, reason: "\(u.login) was deactivated", now: now)
                }
                // And their open tasks, announced to the heir (now, if already due).
                for var t in try tx.tasks(assigneeID: u.id, done: false, dueBefore: nil, cursor: nil, limit: 100_000).items {
                    t.assigneeID = heir.id
                    t.remindAt = max(t.dueAt, now)
                    t.updatedAt = now
                    try tx.saveTask(t)
                    try tx.supersedeWorkAlerts(taskID: t.id)
                    try event(
                        tx, "task.updated", clientID: t.clientID, ownerID: heir.id, previousOwnerID: u.id,
                        [
                            "task_id": .int(t.id), "title": .string(t.title), "assignee": .int(heir.id),
                            "assignee_login": .string(heir.login),
                            "from_login": .string(u.login), "due_at": wire.time(t.dueAt), "reason": .string("\(u.login) was deactivated"),
                        ], at: now)
                }
            }
            let after = wire.user(u, detailed: true)
            try audit(tx, actor, "user", u.id, "deactivate", before: before, after: after, at: now)
            return ["user": after, "clients_reassigned": .int(moved)]
        }
    }
}
