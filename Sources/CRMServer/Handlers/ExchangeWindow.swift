import CRMCore
import CRMProtocol
import CRMStore
import CRMText
import Foundation

/// The fair claim window (issue 21; docs/rules.md, "The fair claim window"): `exchange.request`,
/// the refusals claims and requests share, and the resolution the scheduler runs when a window
/// ends.
extension ExchangeHandlers {
    /// Why a claim (or a request) is refused under the exchange's rules, as a person reads it.
    func refusalError(_ refusal: ClaimRefusal, _ c: Client) -> DomainError {
        switch refusal {
        case .cooldown(let until):
            return DomainError(
                .claimBanned,
                "You released client \(c.id) '\(c.name)' (or it was released from you); you may claim it again from \(local(until)).",
                details: [("client_id", .int(c.id)), ("until", .date(until))])
        case .claimsPerDay(let n, let limit):
            return DomainError(
                .limitReached,
                "You have claimed \(n, "client", "clients") today, the limit (exchange.max_claims_per_day); try tomorrow.",
                details: [("limit", .int(Int64(limit))), ("kind", .string("claims_per_day"))])
        case .clientsPerManager(let n, let limit):
            return DomainError(
                .limitReached, "You already lead \(n, "client", "clients"), the limit (exchange.max_clients_per_manager).",
                details: [("limit", .int(Int64(limit))), ("kind", .string("clients_per_manager"))])
        }
    }

    /// Refuses a claim or a request of a client someone has taken (`1003` naming them).
    func ensureOnExchange(_ c: Client) throws {
        guard c.status == .exchange || c.status == .unassigned else {
            let owner = c.ownerID.flatMap { users.user(id: $0)?.login } ?? "someone"
            throw DomainError(
                .conflict, "Client \(c.id) '\(c.name)' is no longer on the exchange: \(owner) has it.",
                details: [("client_id", .int(c.id)), ("owner_login", .string(owner))])
        }
    }

    /// `exchange.claim` on a client whose window is open (or ended a moment ago and is being
    /// decided): points to `exchange.request`.
    func windowOpenError(_ c: Client, endsAt: Date, now: Date) -> DomainError {
        let message: Phrase =
            endsAt > now
            ? "Client \(c.id) '\(c.name)' is in its fair claim window until \(local(endsAt)): request it with exchange.request (crmctl exchange request \(c.id)); one requester gets it when the window ends, and claims are first come first served after that."
            : "Client \(c.id) '\(c.name)': its fair claim window ended at \(local(endsAt)) and is being decided; try again in a moment."
        return DomainError(
            .conflict, message,
            details: [("client_id", .int(c.id)), ("window_ends_at", .date(endsAt)), ("use", .string("exchange.request"))])
    }

    func exchangeRequest(_ call: Call) throws {
        let actor = call.actor
        let id = try call.decode { r in r.int("id") }
        guard Access.canClaim(actor), let me = actor.user else {
            throw DomainError.forbidden(
                "Only managers and heads request clients from the exchange (you are \(actor.login), \(actor.role.rawValue)).")
        }
        let exchange = ExchangeRules(settings.domain, zones: rules)
        write(call) { [self] tx, now in
            let c = try loadClient(tx, id)
            try ensureOnExchange(c)
            guard let end = try tx.windowEnd(clientID: c.id), end > now else {
                throw DomainError(
                    .conflict,
                    "Client \(c.id) '\(c.name)' has no open claim window: claim it with exchange.claim (crmctl claim \(c.id)), first come first served.",
                    details: [("client_id", .int(c.id)), ("use", .string("exchange.claim"))])
            }
            // The rules of a claim apply to a request: a manager who could not claim it may not ask.
            let refusal = try exchange.claimRefusal(
                now: now, cooldownUntil: tx.banUntil(clientID: c.id, userID: me.id, now: now),
                claimsToday: tx.claimCount(userID: me.id, since: exchange.dayStart(of: now)), owned: tx.ownedCount(userID: me.id))
            if let refusal { throw refusalError(refusal, c) }
            let at = try tx.requestInWindow(clientID: c.id, userID: me.id, at: now)
            let result: JSON = [
                "client_id": .int(c.id), "window_ends_at": wire.time(end), "requested_at": wire.time(at),
            ]
            if at == now {
                try audit(tx, actor, "client", c.id, "request", before: nil, after: result, at: now)
                try event(
                    tx, "exchange.requested", clientID: c.id, ownerID: me.id,
                    ["client_id": .int(c.id), "by": .string(me.login), "window_ends_at": wire.time(end)], at: now)
            }
            return result
        }
    }

    /// Resolves the windows ended by `now`, at most `limit` of them, each at its own end instant.
    /// Returns how many windows were resolved and the events recorded.
    func resolveWindows(_ tx: Tx, upTo now: Date, limit: Int) throws -> (windows: Int, events: Int) {
        let due = try tx.dueWindows(upTo: now, limit: limit)
        var events = 0
        for w in due { events += try resolveWindow(tx, clientID: w.clientID, endsAt: w.endsAt) }
        return (due.count, events)
    }

    /// Decides one window at its end: the requesters the claim rules still allow, the winner by
    /// ``ClaimWindow/winner(_:seed:)`` (the seed drawn now and recorded in the audit), who then
    /// gets the client as by a claim at `endsAt`. With no eligible request the client stays on the
    /// exchange for `exchange.claim`.
    func resolveWindow(_ tx: Tx, clientID: Int64, endsAt: Date) throws -> Int {
        let requests = try tx.windowRequests(clientID: clientID)
        try tx.closeWindow(clientID: clientID)
        guard var c = try tx.client(id: clientID), c.status == .exchange, !requests.isEmpty else { return 0 }
        let exchange = ExchangeRules(settings.domain, zones: rules)
        var eligible: [ClaimWindow.Request] = []
        var refused: [JSON] = []
        for r in requests {
            guard let user = users.user(id: r.userID), user.active,
                Access.canClaim(Actor(user: user, role: user.role, login: user.login, uid: 0))
            else {
                refused.append(["user_id": .int(r.userID), "why": "no longer a manager or head"])
                continue
            }
            let owned = try tx.ownedCount(userID: user.id)
            let refusal = try exchange.claimRefusal(
                now: endsAt, cooldownUntil: tx.banUntil(clientID: c.id, userID: user.id, now: endsAt),
                claimsToday: tx.claimCount(userID: user.id, since: exchange.dayStart(of: endsAt)), owned: owned)
            if let refusal {
                refused.append([
                    "user_id": .int(user.id), "login": .string(user.login), "why": .string(refusalError(refusal, c).message.description),
                ])
                continue
            }
            eligible.append(ClaimWindow.Request(userID: user.id, at: r.at, active: owned))
        }
        // JSON numbers stay exact up to 2^53: the seed is drawn below it.
        let seed = UInt64.random(in: 0..<(1 << 53))
        guard let (won, decision) = ClaimWindow.winner(eligible, seed: seed), let me = users.user(id: won.userID) else { return 0 }
        let before = wire.client(c, now: endsAt, full: true)
        let from = c.releasedFrom
        try takeOver(tx, &c, to: me, now: endsAt)
        try tx.recordClaim(clientID: c.id, userID: me.id, at: endsAt)
        try planFactsMoved(tx, userID: me.id, metrics: [.claims], at: endsAt)
        guard case .object(var after) = wire.client(c, now: endsAt, full: true) else { return 0 }
        after["window"] = [
            "ends_at": wire.time(endsAt), "rule": .string(decision.rawValue), "draw_seed": .int(Int64(seed)),
            "winner": .int(me.id), "winner_login": .string(me.login),
            "requests": .array(
                eligible.map {
                    [
                        "user_id": .int($0.userID), "login": wire.login($0.userID), "at": wire.time($0.at),
                        "active_clients": .int(Int64($0.active)),
                    ]
                }),
            "refused": .array(refused),
        ]
        let system = Actor.builtinAdmin(uid: engine.daemonUID, login: "crmd scheduler")
        try audit(tx, system, "client", c.id, "claim", before: before, after: .object(after), at: endsAt)
        try event(
            tx, "client.claimed", clientID: c.id, ownerID: me.id,
            [
                "client_id": .int(c.id), "name": .string(c.name), "by": .string(me.login), "owner": .int(me.id),
                "owner_login": .string(me.login), "released_from": .int(from), "released_from_login": wire.login(from),
                "via": "window", "rule": .string(decision.rawValue), "requests": .int(Int64(eligible.count)),
            ],
            at: endsAt)
        return 1
    }
}
