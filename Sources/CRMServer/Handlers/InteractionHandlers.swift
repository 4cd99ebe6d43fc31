import CRMCore
import CRMProtocol
import CRMStore
import Foundation

/// `interaction.log` and `interaction.list`: calls, meetings, e-mails, notes; a resetting one restarts the clock.
struct InteractionHandlers: HandlerGroup {
    let context: ServerContext

    func interactionLog(_ call: Call) throws {
        let actor = call.actor
        let settings = self.settings.domain
        let (clientID, dealID, draft) = try call.decode { r in
            let clientID = r.int("client_id")
            let dealID = r.optionalInt("deal_id")
            let kind = InteractionKind(rawValue: r.enumValue("kind", InteractionKind.loggable.map(\.rawValue))) ?? .note
            let draft = InteractionDraft(
                kind: kind, occurredAt: r.optionalTimestamp("occurred_at"), contactID: r.optionalInt("contact_id"),
                topic: r.optionalString("topic"), result: r.optionalString("result"), note: r.optionalString("note"),
                direction: r.optionalEnum("direction", ["in", "out"]))
            return (clientID, dealID, draft)
        }
        let rules = self.rules
        write(call) { [self] tx, now in
            guard let c = try tx.clientHeader(id: clientID) else { throw DomainError.notFound("client", clientID) }
            guard Access.canLogInteraction(actor, ownerID: c.ownerID) else {
                throw forbiddenOnClient(c, actor, "log interactions on")
            }
            let problems = InteractionRules.problems(draft, now: now, settings: settings)
            if !problems.isEmpty {
                let list = problems.map { "\($0.0) \($0.1)" }.joined(separator: "; ")
                throw DomainError(.validationFailed, "The \(draft.kind.rawValue) cannot be logged: \(list).", fields: problems)
            }
            if let contactID = draft.contactID {
                guard let k = try tx.contact(id: contactID), k.clientID == c.id else {
                    throw DomainError.invalid("contact_id", "\(contactID) is not a contact of client \(c.id)")
                }
            }
            if let dealID {
                // A deal the caller may not see is answered as no deal at all: its existence is not told.
                guard let d = try tx.deal(id: dealID), d.clientID == c.id, Access.canSeeDeal(actor, ownerID: d.ownerID) else {
                    throw DomainError.invalid("deal_id", "\(dealID) is not a deal of client \(c.id)")
                }
            }
            let occurredAt = draft.occurredAt ?? now
            // RULES §3: the owner's own contact (or a head/admin's on the owner's behalf) resets the
            // clock, unless it is dated before the current cycle began (before the newest
            // resetting contact or the assignment): such a contact moves nothing.
            let resetting = settings.resettingKinds.contains(draft.kind)
            let effect = contactEffect(c, actor, resetting: resetting, at: occurredAt)
            let saved = try tx.insertInteraction(
                Interaction(
                    id: 0, clientID: c.id, contactID: draft.contactID, authorID: actor.userID, authorLogin: actor.login, kind: draft.kind,
                    direction: draft.direction, occurredAt: occurredAt, topic: draft.topic, result: draft.result, note: draft.note,
                    resetsClock: effect.resets, createdAt: now, dealID: dealID))
            let client = try applyContact(tx, c, counts: effect.counts, at: occurredAt, now: now)
            // The same contact keeps the owner's deals on this client in cadence (RULES §6).
            // An interaction on a deal (a comment included) is a contact for that deal, whatever its kind.
            if resetting || dealID != nil {
                try touchDeals(tx, clientID: c.id, actor: actor, at: occurredAt, only: resetting ? nil : dealID, now: now)
            }
            let ij = wire.interaction(saved)
            try audit(tx, actor, "interaction", saved.id, "create", before: nil, after: ij, at: now)
            try event(
                tx, "interaction.logged", clientID: c.id, ownerID: c.ownerID,
                [
                    "client_id": .int(c.id), "interaction_id": .int(saved.id), "kind": .string(draft.kind.rawValue),
                    "occurred_at": wire.time(occurredAt), "author_login": .string(actor.login),
                ], at: now)
            let zone = wire.zone(client, now: now)
            let schedule = client.schedule
            return [
                "interaction": ij,
                "client": [
                    "id": .int(c.id), "status": .string(client.status.rawValue), "zone": .string(zone?.rawValue),
                    "last_interaction_at": wire.time(client.lastInteractionAt), "release_at": wire.time(schedule?.releaseAt),
                    "days_to_release": schedule.map { .int(Int64(rules.daysToRelease(now: now, releaseAt: $0.releaseAt))) } ?? .null,
                ],
            ]
        }
    }

    func interactionList(_ call: Call) throws {
        let (clientID, limit, cursor) = try call.decode { r in (r.int("client_id"), r.limit(), r.cursor()) }
        let actor = call.actor
        try read(call) { tx, _ in
            guard let c = try tx.clientHeader(id: clientID) else { throw DomainError.notFound("client", clientID) }
            guard Access.canSeeFullCard(actor, ownerID: c.ownerID) else { throw forbiddenOnClient(c, actor, "see the interactions of") }
            var page = try tx.interactions(clientID: clientID, cursor: cursor, limit: limit)
            page.items = try readable(tx, page.items, by: actor)
            return wire.page(page, wire.interaction)
        }
    }
}
