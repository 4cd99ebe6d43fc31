import CRMCore
import CRMProtocol
import CRMStore
import CRMText
import Foundation

/// What a contact with a client does to its clocks: the zone clock (RULES §3) and the cadence of
/// the owner's open deals (RULES §6). Shared by `interaction.log`, the deal methods (a deal's
/// start, moves and close count as contacts, seed 000) and `task.done`.
extension HandlerGroup {
    /// Whether a contact of a resetting kind by `actor` at `at` counts for the zone clock, and
    /// whether it moves R (a contact dated before the current cycle began moves nothing).
    func contactEffect(_ c: Client, _ actor: Actor, resetting: Bool, at: Date) -> (counts: Bool, resets: Bool) {
        let counts = c.status == .assigned && resetting && Access.contactsForOwner(actor, ownerID: c.ownerID)
        return (counts, counts && at >= (c.clockStart ?? .distantFuture))
    }

    /// Applies a counted contact at `at` to the client's zone clock: the newest contact is shown
    /// on the card, and a contact past the cycle's start begins a new cycle (one `zone.changed`
    /// from the zone the manager saw to the one R now gives, stamped now). Returns the client as
    /// stored.
    func applyContact(_ tx: Tx, _ c: Client, counts: Bool, at: Date, now: Date) throws -> Client {
        var client = c
        guard counts, at > (c.lastInteractionAt ?? .distantPast) else { return client }
        client.lastInteractionAt = at
        if at > (c.clockStart ?? .distantFuture) {
            let previous = engine.startCycle(&client, now: now, frozen: try engine.runningFreeze(tx, clientID: c.id, now: now))
            try tx.supersedeAlerts(clientID: c.id)
            if let previous, let zone = client.appliedZone, previous != zone {
                try event(
                    tx, "zone.changed", clientID: c.id, ownerID: c.ownerID,
                    text: engine.zoneEventData(client, from: previous, to: zone, at: now),
                    at: now)
            }
        }
        try tx.saveClientClock(client, now: now)
        return client
    }

    /// Brings the client's open deals whose owner `actor` speaks for back into cadence with a
    /// contact at `at` (only `dealID` when given): their last contact moves, their overdue
    /// reminders not yet delivered are dropped.
    /// With `forOwner`, the contact is that owner's whoever recorded it (a deal's step).
    func touchDeals(
        _ tx: Tx, clientID: Int64, actor: Actor, at: Date, only dealID: Int64? = nil, forOwner: Int64? = nil, now: Date
    ) throws {
        let rules = dealRules
        for var d in try tx.openDeals(clientID: clientID) where dealID == nil || d.id == dealID {
            let speaksForOwner = forOwner.map { $0 == d.ownerID } ?? Access.contactsForOwner(actor, ownerID: d.ownerID)
            guard speaksForOwner, at > d.lastContactAt else { continue }
            let wasOverdue = d.overdue
            d.lastContactAt = at
            // Back in cadence only if the new due instant is ahead; a contact so old that the
            // deal is still past its cadence leaves it overdue, not announced again.
            rules.rearm(&d, now: now)
            try tx.saveDealCadence(d)
            if wasOverdue && !d.overdue { try tx.supersedeWorkAlerts(dealID: d.id) }
        }
    }

    /// Records a deal's start, move or close as an interaction of kind `deal` on its client (seed
    /// 000: the "Sale" business process counts), resetting the zone clock. Its topic names the
    /// deal by id and stage, never by title: the client's history is read by its lead manager,
    /// who may not see a deal another owner holds on it.
    /// Returns the client as stored.
    @discardableResult
    func recordDealContact(_ tx: Tx, _ c: Client, deal: Deal, actor: Actor, topic: String, now: Date) throws -> Client {
        // Issue 17: a deal's start and moves count as interactions of the client's lead manager,
        // whoever records them (an operator opening a deal for an incoming request included).
        let counts = c.status == .assigned
        let effect = (counts: counts, resets: counts && now >= (c.clockStart ?? .distantFuture))
        // The same step is a contact with the client for the owner's other open deals on it.
        try touchDeals(tx, clientID: c.id, actor: actor, at: now, forOwner: deal.ownerID, now: now)
        _ = try tx.insertInteraction(
            Interaction(
                id: 0, clientID: c.id, contactID: nil, authorID: actor.userID, authorLogin: actor.login, kind: .deal, direction: nil,
                occurredAt: now, topic: topic, result: nil, note: nil, resetsClock: effect.resets, createdAt: now, dealID: deal.id))
        return try applyContact(tx, c, counts: effect.counts, at: now, now: now)
    }

    /// Gives the client's open deals to its new lead manager (an assignment or a claim).
    func handDeals(_ tx: Tx, clientID: Int64, to owner: User, now: Date) throws {
        for d in try tx.openDeals(clientID: clientID) where d.ownerID != owner.id {
            try giveDeal(tx, d, to: owner, reason: "the client changed hands", now: now)
        }
    }

    /// Gives an open deal to `owner` without a request of its own (its client changed hands, its
    /// owner was deactivated): pending reminders to the old owner dropped, an overdue deal
    /// announced again to the new one, audited as crmd's and evented as `deal.updated` naming both
    /// owners.
    func giveDeal(_ tx: Tx, _ deal: Deal, to owner: User, reason: String, now: Date) throws {
        var d = deal
        let old = d.ownerID
        d.ownerID = owner.id
        d.updatedAt = now
        try tx.saveDeal(d)
        try tx.supersedeWorkAlerts(dealID: d.id)
        try reannounce(tx, d, now: now)
        let system = Actor.builtinAdmin(uid: context.identity.daemonUID, login: "crmd")
        try audit(
            tx, system, "deal", d.id, "owner", before: ["owner": .int(old)], after: ["owner": .int(owner.id), "reason": .string(reason)],
            at: now)
        try event(
            tx, "deal.updated", clientID: d.clientID, ownerID: owner.id, previousOwnerID: old,
            dealEvent(d, by: nil, extra: ["from": .int(old), "from_login": wire.login(old), "reason": .string(reason)]), at: now)
    }

    /// The data of a deal event: the deal's key facts and who acted (nil: crmd itself).
    func dealEvent(_ d: Deal, by actor: Actor?, extra: JSONObject = [:]) -> JSON {
        var o: JSONObject = [
            "deal_id": .int(d.id), "client_id": .int(d.clientID), "title": .string(d.title), "owner": .int(d.ownerID),
            "owner_login": wire.login(d.ownerID), "pipeline": .string(d.pipeline), "stage": .string(d.stage),
            "status": .string(d.status.rawValue), "amount": .int(d.amount), "currency": .string(d.currency), "by": .string(actor?.login),
        ]
        for (k, v) in extra.members { o[k] = v }
        return .object(o)
    }

    /// An overdue deal that changed owner (already saved so) is announced overdue again, to its
    /// new owner: `deal.overdue` and their reminder, as the scheduler does; the heads are not
    /// copied again if they were.
    func reannounce(_ tx: Tx, _ deal: Deal, now: Date) throws {
        guard deal.overdue, deal.nextContactDue != nil else { return }
        var d = deal
        let copied = d.overdueStage >= 2
        d.overdueStage = 0
        let heads = copied ? [] : try tx.allUsers().filter(Access.getsRedZoneCopies)
        _ = try context.work.dealDue(tx, d, clientName: try tx.clientHeader(id: d.clientID)?.name, now: now, heads: heads)
        if copied {
            d.overdueStage = 2
            d.dueAt = nil
            try tx.saveDealOverdue(d)
        }
    }

    /// The interactions `actor` may read of a client whose card they see: those linked to a deal
    /// they may not see (another owner's deal on their client) are left out, comments included.
    func readable(_ tx: Tx, _ items: [Interaction], by actor: Actor) throws -> [Interaction] {
        guard !Access.canSeeDeal(actor, ownerID: nil) else { return items }
        var seen: [Int64: Bool] = [:]
        return try items.filter { i in
            guard let dealID = i.dealID else { return true }
            if let known = seen[dealID] { return known }
            let ok = Access.canSeeDeal(actor, ownerID: try tx.deal(id: dealID)?.ownerID)
            seen[dealID] = ok
            return ok
        }
    }

    /// Checks an interaction a person logs on `c` (`interaction.log`, or `task.done`'s `log`):
    /// its kind's minimal data set and time window, and that its contact is one of the client's.
    /// Fields are named with `prefix` (`log.` inside `task.done`).
    func checkDraft(_ tx: Tx, _ c: Client, _ draft: InteractionDraft, prefix: String = "", now: Date) throws {
        let problems = InteractionRules.problems(draft, now: now, settings: settings.domain).map { ("\(prefix)\($0.0)", $0.1) }
        if !problems.isEmpty {
            let list = Phrase.list(problems.map { "\($0.0) \(Phrase.key($0.1))" }, separator: "; ")
            throw DomainError(.validationFailed, "The \(Phrase.key(draft.kind.rawValue)) cannot be logged: \(list).", fields: problems)
        }
        if let contactID = draft.contactID {
            guard let k = try tx.contact(id: contactID), k.clientID == c.id else {
                throw DomainError.invalid("\(prefix)contact_id", "\(contactID) is not a contact of client \(c.id)")
            }
        }
    }

    /// Stores a checked interaction by `actor` on `c` (about `dealID`, if any) with what it moves:
    /// the zone clock (RULES §3), the cadence of the owner's deals on the client (a resetting kind),
    /// or of the deal it names (any kind), its audit entry and `interaction.logged`. Returns it, the
    /// client as stored and its wire form. `auditedAs` (an import) names who is audited instead of
    /// the author, and the action.
    func storeInteraction(
        _ tx: Tx, _ c: Client, _ draft: InteractionDraft, dealID: Int64?, actor: Actor, auditedAs: (Actor, String)? = nil,
        captured: String? = nil, now: Date
    ) throws -> (interaction: Interaction, client: Client, json: JSON) {
        let occurredAt = draft.occurredAt ?? now
        // The owner's own contact (or a head/admin's on the owner's behalf) resets the clock,
        // unless it is dated before the current cycle began: such a contact moves nothing.
        let resetting = settings.domain.resettingKinds.contains(draft.kind)
        let effect = contactEffect(c, actor, resetting: resetting, at: occurredAt)
        let saved = try tx.insertInteraction(
            Interaction(
                id: 0, clientID: c.id, contactID: draft.contactID, authorID: actor.userID, authorLogin: actor.login, kind: draft.kind,
                direction: draft.direction, occurredAt: occurredAt, topic: draft.topic, result: draft.result, note: draft.note,
                resetsClock: effect.resets, createdAt: now, dealID: dealID, captured: captured))
        let client = try applyContact(tx, c, counts: effect.counts, at: occurredAt, now: now)
        // The same contact keeps the owner's deals on this client in cadence (RULES §6); an
        // interaction on a deal (a comment included) is a contact for that deal, whatever its kind.
        if resetting || dealID != nil {
            try touchDeals(tx, clientID: c.id, actor: actor, at: occurredAt, only: resetting ? nil : dealID, now: now)
        }
        let json = wire.interaction(saved)
        if let metric = PlanMetric.counting(draft.kind.rawValue) {
            try planFactsMoved(tx, userID: actor.userID, metrics: [metric], at: occurredAt)
        }
        try audit(tx, auditedAs?.0 ?? actor, "interaction", saved.id, auditedAs?.1 ?? "create", before: nil, after: json, at: now)
        try event(
            tx, "interaction.logged", clientID: c.id, ownerID: c.ownerID,
            [
                "client_id": .int(c.id), "interaction_id": .int(saved.id), "kind": .string(draft.kind.rawValue),
                "occurred_at": wire.time(occurredAt), "author_login": .string(actor.login),
            ], at: now)
        return (saved, client, json)
    }
}
