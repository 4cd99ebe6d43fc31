import CRMCore
import CRMProtocol
import CRMStore
import Foundation

/// Domain → wire mapping, in one place, so every method shows an entity the same way.
struct Wire {
    let live: LiveSettings
    let users: UserDirectory
    var rules: ZoneRules { live.current.rules }

    func time(_ d: Date?) -> JSON { d.map { .string(RFC3339.format($0)) } ?? .null }

    func user(_ u: User, detailed: Bool) -> JSON {
        var o: JSONObject = ["id": .int(u.id), "login": .string(u.login), "name": .string(u.name), "role": .string(u.role.rawValue)]
        if detailed {
            o["uid"] = u.uid.map { .int(Int64($0)) } ?? .null
            o["active"] = .bool(u.active)
            o["created_at"] = time(u.createdAt)
            o["updated_at"] = time(u.updatedAt)
            o["commission_bp"] = u.commissionBP.map { .int(Int64($0)) } ?? .null
            o["team"] = .string(u.team)
            o["email"] = .string(u.email)
        }
        o["lang"] = .string(u.lang?.rawValue)
        return .object(o)
    }

    func login(_ id: Int64?) -> JSON {
        guard let id else { return .null }
        return .string(users.user(id: id)?.login)
    }

    /// The zone instants of an assigned client: as stored, else derived from R.
    func schedule(_ c: Client) -> ZoneSchedule? {
        guard c.status == .assigned else { return nil }
        return c.schedule ?? c.clockStart.map(rules.schedule(from:))
    }

    /// The client's zone now (`nil` unless assigned). A client past its release instant stays
    /// red until the scheduler releases it.
    func zone(_ c: Client, now: Date) -> Zone? {
        guard let s = schedule(c) else { return nil }
        return s.zone(at: now) ?? .red
    }

    /// A full client card, or the restricted view (name, owner, zone) for someone who may not
    /// see the rest.
    func client(_ c: Client, now: Date, full: Bool) -> JSON {
        let z = zone(c, now: now)
        if !full {
            return [
                "id": .int(c.id), "name": .string(c.name), "owner": .int(c.ownerID), "owner_login": login(c.ownerID),
                "status": .string(c.status.rawValue), "zone": .string(z?.rawValue), "restricted": true,
            ]
        }
        let schedule = schedule(c)
        let fields = (try? JSONParser.parse(c.fieldsJSON)) ?? .object(JSONObject())
        var o: JSONObject = [
            "id": .int(c.id), "name": .string(c.name), "kind": .string(c.kind.rawValue),
            "phones": .array(c.phones.map(JSON.string)), "emails": .array(c.emails.map(JSON.string)),
            "owner": .int(c.ownerID), "owner_login": login(c.ownerID), "status": .string(c.status.rawValue),
            "zone": .string(z?.rawValue), "last_interaction_at": time(c.lastInteractionAt), "assigned_at": time(c.assignedAt),
            "release_at": time(schedule?.releaseAt),
            "days_to_release": schedule.map { .int(Int64(rules.daysToRelease(now: now, releaseAt: $0.releaseAt))) } ?? .null,
            "segment": .string(c.segment), "source": .string(c.source), "abc": .string(c.abc), "xyz": .string(c.xyz), "fields": fields,
            "created_at": time(c.createdAt), "updated_at": time(c.updatedAt), "opt_out": .bool(c.optOut),
            "inn": .string(c.inn), "kpp": .string(c.kpp),
        ]
        if c.status == .exchange || c.releasedAt != nil {
            o["released_at"] = time(c.releasedAt)
            o["released_from"] = .int(c.releasedFrom)
            o["release_reason"] = .string(c.releaseReason)
        }
        return .object(o)
    }

    func contact(_ c: Contact) -> JSON {
        [
            "id": .int(c.id), "client_id": .int(c.clientID), "name": .string(c.name), "position": .string(c.position),
            "phones": .array(c.phones.map(JSON.string)), "emails": .array(c.emails.map(JSON.string)),
            "decision_maker": .bool(c.decisionMaker), "created_at": time(c.createdAt), "updated_at": time(c.updatedAt),
            "opt_out": .bool(c.optOut),
        ]
    }

    func affiliation(_ a: Affiliation) -> JSON {
        ["client_id": .int(a.clientID), "position": .string(a.position), "from": time(a.from), "to": time(a.to)]
    }

    func interaction(_ i: Interaction) -> JSON {
        [
            "id": .int(i.id), "client_id": .int(i.clientID), "contact_id": .int(i.contactID), "kind": .string(i.kind.rawValue),
            "direction": .string(i.direction), "occurred_at": time(i.occurredAt), "author": .int(i.authorID),
            "author_login": .string(i.authorLogin), "topic": .string(i.topic), "result": .string(i.result), "note": .string(i.note),
            "resets_clock": .bool(i.resetsClock), "created_at": time(i.createdAt), "deal_id": .int(i.dealID),
            "captured": .string(i.captured),
        ]
    }

    func audit(_ a: AuditEntry) -> JSON {
        [
            "id": .int(a.id), "at": time(a.at), "actor": .int(a.actorID), "actor_login": .string(a.actorLogin),
            "acting_admin": .string(a.actingAdmin), "entity": .string(a.entity), "entity_id": .int(a.entityID),
            "action": .string(a.action),
            "before": a.before.flatMap { try? JSONParser.parse($0) } ?? .null,
            "after": a.after.flatMap { try? JSONParser.parse($0) } ?? .null,
        ]
    }

    func page<T>(_ p: Page<T>, _ map: (T) -> JSON) -> JSON {
        ["items": .array(p.items.map(map)), "next_cursor": .string(p.nextCursor)]
    }
}

extension DomainError {
    /// The wire error for a broken rule: the one place domain failures map to codes.
    var rpc: RPCError {
        let code: Int
        switch kind {
        case .notFound: code = ErrorCode.notFound
        case .forbidden: code = ErrorCode.forbidden
        case .conflict: code = ErrorCode.conflict
        case .claimBanned: code = ErrorCode.claimBanned
        case .validationFailed: code = ErrorCode.validationFailed
        case .notAUser: code = ErrorCode.notAUser
        case .limitReached: code = ErrorCode.limitReached
        case .stageOrder: code = ErrorCode.stageOrder
        case .invalidParams: code = ErrorCode.invalidParams
        }
        var data: JSONObject = ["reason": .string(ErrorCode.name(of: code))]
        if !fields.isEmpty {
            data["fields"] = .array(fields.map { ["field": .string($0.field), "problem": .string($0.problem)] })
        }
        for d in details {
            switch d.value {
            case .string(let s): data[d.key] = .string(s)
            case .int(let i): data[d.key] = .int(i)
            case .date(let t): data[d.key] = .string(RFC3339.format(t))
            case .null: data[d.key] = .null
            }
        }
        return RPCError(code: code, message: message, data: .object(data))
    }
}
