import CRMCore
import CRMProtocol
import CRMStore
import Foundation

/// `interaction.log` and `interaction.list`: calls, meetings, e-mails, notes; a resetting one restarts the clock.
struct InteractionHandlers: HandlerGroup {
    let context: ServerContext

    func interactionLog(_ call: Call) throws {
        let actor = call.actor
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
            try checkDraft(tx, c, draft, now: now)
            if let dealID {
                // A deal the caller may not see is answered as no deal at all: its existence is not told.
                guard let d = try tx.deal(id: dealID), d.clientID == c.id, Access.canSeeDeal(actor, ownerID: d.ownerID) else {
                    throw DomainError.invalid("deal_id", "\(dealID) is not a deal of client \(c.id)")
                }
            }
            let (_, client, ij) = try storeInteraction(tx, c, draft, dealID: dealID, actor: actor, now: now)
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
