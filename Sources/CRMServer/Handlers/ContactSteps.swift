import CRMCore
import CRMProtocol
import CRMStore
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
            let previous = engine.startCycle(&client, now: now)
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
    func touchDeals(_ tx: Tx, clientID: Int64, actor: Actor, at: Date, only dealID: Int64? = nil, now: Date) throws {
        let rules = dealRules
        for var d in try tx.openDeals(clientID: clientID) where dealID == nil || d.id == dealID {
            guard Access.contactsForOwner(actor, ownerID: d.ownerID), at > d.lastContactAt else { continue }
            let wasOverdue = d.overdue
            d.lastContactAt = at
            d.overdueStage = 0
            rules.rearm(&d, now: now)
            try tx.saveDealCadence(d)
            if wasOverdue { try tx.supersedeWorkAlerts(dealID: d.id) }
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
        try touchDeals(tx, clientID: c.id, actor: actor, at: now, now: now)
        _ = try tx.insertInteraction(
            Interaction(
                id: 0, clientID: c.id, contactID: nil, authorID: actor.userID, authorLogin: actor.login, kind: .deal, direction: nil,
                occurredAt: now, topic: topic, result: nil, note: nil, resetsClock: effect.resets, createdAt: now, dealID: deal.id))
        return try applyContact(tx, c, counts: effect.counts, at: now, now: now)
    }

    /// Gives the client's open deals to its new lead manager (an assignment or a claim): each
    /// one's pending reminders to the old owner are dropped and `deal.updated` names both owners.
    func handDeals(_ tx: Tx, clientID: Int64, to owner: User, now: Date) throws {
        for var d in try tx.openDeals(clientID: clientID) where d.ownerID != owner.id {
            let old = d.ownerID
            d.ownerID = owner.id
            d.updatedAt = now
            reannounce(&d)
            try tx.saveDeal(d)
            try tx.supersedeWorkAlerts(dealID: d.id)
            try event(
                tx, "deal.updated", clientID: clientID, ownerID: owner.id, previousOwnerID: old,
                [
                    "deal_id": .int(d.id), "client_id": .int(clientID), "title": .string(d.title), "owner": .int(owner.id),
                    "owner_login": .string(owner.login), "from": .int(old), "from_login": wire.login(old), "stage": .string(d.stage),
                    "pipeline": .string(d.pipeline), "status": .string(d.status.rawValue), "reason": "the client changed hands",
                ], at: now)
        }
    }

    /// An overdue deal that changes owner is announced overdue again, to its new owner.
    func reannounce(_ d: inout Deal) {
        guard d.overdue, let due = d.nextContactDue else { return }
        d.overdueStage = 0
        d.dueAt = due
    }
}
