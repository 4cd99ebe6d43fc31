import CRMCore
import CRMProtocol
import CRMStore
import CRMText
import Foundation

/// What holds a client back from the exchange: `client.freeze` (its owner asks to stop the clock),
/// `client.freeze_decide` (a head approves or refuses) and `client.lock` (a head locks a key
/// account). docs/rules.md, "What holds a client".
struct HoldHandlers: HandlerGroup {
    let context: ServerContext

    /// The longest reason or note, in bytes.
    static let maxTextBytes = 1_000

    /// The client object with its `freeze` and `locked`.
    func clientWithHolds(_ tx: Tx, _ c: Client, now: Date) throws -> JSON {
        guard case .object(var o) = wire.client(c, now: now, full: true) else { return .null }
        (o["freeze"], o["locked"]) = try engine.holdFields(tx, clientID: c.id, now: now)
        return .object(o)
    }

    /// A freeze request's `freeze` data for events and audit.
    func freezeJSON(_ f: StoredFreeze, now: Date) -> JSON {
        [
            "freeze_id": .int(f.id), "status": .string(f.status(at: now).rawValue), "until": wire.time(f.until),
            "reason": .string(f.reason),
            "requested_by": .string(f.requestedBy), "from": wire.time(f.from), "decided_by": .string(f.decidedBy),
            "note": .string(f.note),
        ]
    }

    func bounded(_ r: inout ParamReader, _ key: String, _ text: String?) {
        if let text, text.utf8.count > Self.maxTextBytes { r.problem(key, "must be at most \(Self.maxTextBytes) bytes") }
    }

    func clientFreeze(_ call: Call) throws {
        let actor = call.actor
        let (id, until, reason) = try call.decode { r -> (Int64, Date?, String) in
            let id = r.int("id")
            let until = r.optionalTimestamp("until")
            if until == nil, !r.has("until") { r.problem("until", "is required: the RFC 3339 instant the freeze ends") }
            let reason = r.string("reason")
            bounded(&r, "reason", reason)
            return (id, until, reason)
        }
        guard let until else { throw RPCError.invalidParams([FieldProblem(field: "until", problem: "is required")]) }
        let holds = engine.holdRules
        write(call) { [self] tx, now in
            let c = try loadClient(tx, id)
            guard c.status == .assigned, let owner = c.ownerID else {
                throw DomainError(
                    .conflict,
                    "Client \(c.id) '\(c.name)' is not assigned (it is \(c.status.rawValue)); only an owned client's clock can be frozen.",
                    details: [("client_id", .int(c.id)), ("status", .string(c.status.rawValue))])
            }
            guard Access.canRelease(actor, ownerID: owner) else { throw forbiddenOnClient(c, actor, "freeze") }
            if let f = try tx.latestFreeze(clientID: c.id), [.requested, .approved].contains(f.status(at: now)) {
                let message: Phrase =
                    f.status(at: now) == .requested
                    ? "Client \(c.id) '\(c.name)' already has a freeze waiting for a head's decision, until \(local(f.until))."
                    : "Client \(c.id) '\(c.name)' already has a freeze running until \(local(f.until))."
                throw DomainError(
                    .conflict, message, details: [("client_id", .int(c.id)), ("freeze_id", .int(f.id)), ("until", .date(f.until))])
            }
            switch holds.freezeRefusal(until: until, now: now, frozen: try tx.openFreezeCount(ownerID: owner, now: now)) {
            case .notInFuture?:
                throw DomainError.invalid("until", "must be after now (\(local(now)))")
            case .tooLong(let latest)?:
                throw DomainError.invalid(
                    "until",
                    "must be at most \(holds.settings.freezeMax) from now (exchange.freeze_max): \(local(latest)) at the latest")
            case .tooMany(let n, let limit)?:
                let login = users.user(id: owner)?.login ?? "the owner"
                throw DomainError(
                    .limitReached,
                    "\(login) already has \(n, "client", "clients") frozen or waiting for a decision, the limit (exchange.max_frozen_per_manager).",
                    details: [("limit", .int(Int64(limit))), ("kind", .string("frozen_per_manager"))])
            case nil: break
            }
            let f = try tx.insertFreeze(clientID: c.id, until: until, reason: reason, by: actor.login, now: now)
            let data = freezeJSON(f, now: now)
            try audit(tx, actor, "client", c.id, "freeze_request", before: nil, after: data, at: now)
            var e: JSONObject = ["client_id": .int(c.id), "name": .string(c.name), "owner": .int(owner), "owner_login": wire.login(owner)]
            if case .object(let d) = data { for m in d.members where e[m.key] == nil { e[m.key] = m.value } }
            try event(tx, "client.freeze_requested", clientID: c.id, ownerID: owner, .object(e), at: now)
            return try clientWithHolds(tx, c, now: now)
        }
    }

    func clientFreezeDecide(_ call: Call) throws {
        let actor = call.actor
        let (id, approve, note) = try call.decode { r -> (Int64, Bool, String?) in
            let id = r.int("id")
            let approve = r.optionalBool("approve")
            if approve == nil { r.problem("approve", "is required: true to approve the freeze, false to refuse it") }
            let note = r.optionalString("note")
            bounded(&r, "note", note)
            return (id, approve ?? false, note)
        }
        guard Access.canAssign(actor) else {
            throw DomainError.forbidden("Only heads and admins decide on freezes (you are \(actor.login), \(actor.role.rawValue)).")
        }
        write(call) { [self] tx, now in
            var c = try loadClient(tx, id)
            guard let f = try tx.latestFreeze(clientID: c.id), f.status(at: now) == .requested else {
                throw DomainError(
                    .conflict, "Client \(c.id) '\(c.name)' has no freeze waiting for a decision.", details: [("client_id", .int(c.id))])
            }
            guard f.until > now else {
                throw DomainError(
                    .conflict,
                    "The freeze asked for client \(c.id) '\(c.name)' was to end at \(local(f.until)), which has passed; the owner may ask again.",
                    details: [("client_id", .int(c.id)), ("until", .date(f.until))])
            }
            let before = freezeJSON(f, now: now)
            let d = try tx.decideFreeze(f, approve: approve, by: actor.login, note: note, now: now)
            if approve, c.status == .assigned, let schedule = c.schedule, let span = d.span {
                // The clock stands still from now to `until`: every instant still ahead moves
                // later by the frozen time, and reminders not yet delivered are dropped (the marks
                // move with the release).
                let frozen = engine.calendarMoved(HoldRules.frozen(schedule, over: span))
                c.schedule = frozen
                if let state = c.clockState { c.nextDueAt = rules.nextDue(frozen, state, policy: settings.domain.reminders) }
                try tx.saveClientClock(c, now: now)
                try tx.supersedeAlerts(clientID: c.id)
            }
            let after = freezeJSON(d, now: now)
            try audit(tx, actor, "client", c.id, approve ? "freeze_approve" : "freeze_refuse", before: before, after: after, at: now)
            var e: JSONObject = [
                "client_id": .int(c.id), "name": .string(c.name), "owner": .int(c.ownerID), "owner_login": wire.login(c.ownerID),
                "release_at": wire.time(c.schedule?.releaseAt),
            ]
            if case .object(let a) = after { for m in a.members where e[m.key] == nil { e[m.key] = m.value } }
            try event(tx, approve ? "client.frozen" : "client.freeze_refused", clientID: c.id, ownerID: c.ownerID, .object(e), at: now)
            return try clientWithHolds(tx, c, now: now)
        }
    }

    func clientLock(_ call: Call) throws {
        let actor = call.actor
        let (id, locked) = try call.decode { r -> (Int64, Bool) in
            let id = r.int("id")
            let locked = r.optionalBool("locked")
            if locked == nil { r.problem("locked", "is required: true to lock the client as a key account, false to unlock it") }
            return (id, locked ?? false)
        }
        guard Access.canAssign(actor) else {
            throw DomainError.forbidden("Only heads and admins lock key accounts (you are \(actor.login), \(actor.role.rawValue)).")
        }
        let cap = settings.domain.holds.maxLockedPerManager
        write(call) { [self] tx, now in
            let c = try loadClient(tx, id)
            let was = try tx.lock(clientID: c.id)
            if locked, was == nil {
                guard c.status == .assigned, let owner = c.ownerID else {
                    throw DomainError(
                        .conflict,
                        "Client \(c.id) '\(c.name)' is not assigned (it is \(c.status.rawValue)); only an owned client can be locked.",
                        details: [("client_id", .int(c.id)), ("status", .string(c.status.rawValue))])
                }
                let n = try tx.lockedCount(ownerID: owner)
                if cap > 0, n >= cap {
                    let login = users.user(id: owner)?.login ?? "the owner"
                    throw DomainError(
                        .limitReached,
                        "\(login) already has \(n, "locked client", "locked clients"), the limit (exchange.max_locked_per_manager); unlock one first.",
                        details: [("limit", .int(Int64(cap))), ("kind", .string("locked_per_manager"))])
                }
            }
            if try tx.setLock(clientID: c.id, locked: locked, by: actor.login, now: now) {
                // An unlocked client past its release goes to the exchange at once, unless another
                // rule holds it.
                if !locked { try tx.rearmHeldClients(clientID: c.id, now: now) }
                try audit(
                    tx, actor, "client", c.id, locked ? "lock" : "unlock", before: ["locked": .bool(was != nil)],
                    after: ["locked": .bool(locked)], at: now)
                try event(
                    tx, "client.locked", clientID: c.id, ownerID: c.ownerID,
                    [
                        "client_id": .int(c.id), "name": .string(c.name), "owner": .int(c.ownerID), "owner_login": wire.login(c.ownerID),
                        "locked": .bool(locked), "by": .string(actor.login),
                    ], at: now)
            }
            return try clientWithHolds(tx, c, now: now)
        }
    }
}
