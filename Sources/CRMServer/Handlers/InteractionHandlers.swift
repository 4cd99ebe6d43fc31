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
        let (clientID, draft) = try call.decode { r in
            let clientID = r.int("client_id")
            let kind = InteractionKind(rawValue: r.enumValue("kind", InteractionKind.allCases.map(\.rawValue))) ?? .note
            let draft = InteractionDraft(
                kind: kind, occurredAt: r.optionalTimestamp("occurred_at"), contactID: r.optionalInt("contact_id"),
                topic: r.optionalString("topic"), result: r.optionalString("result"), note: r.optionalString("note"),
                direction: r.optionalEnum("direction", ["in", "out"]))
            return (clientID, draft)
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
            let occurredAt = draft.occurredAt ?? now
            // RULES §3: the owner's own contact (or a head/admin's on the owner's behalf) resets the
            // clock, unless it is dated before the current cycle began (before the newest
            // resetting contact or the assignment): such a contact moves nothing.
            let byOwnerSide = Access.contactsForOwner(actor, ownerID: c.ownerID)
            let counts = c.status == .assigned && settings.resettingKinds.contains(draft.kind) && byOwnerSide
            let cycleStart = c.clockStart ?? .distantFuture
            let resets = counts && occurredAt >= cycleStart
            let saved = try tx.insertInteraction(
                Interaction(
                    id: 0, clientID: c.id, contactID: draft.contactID, authorID: actor.userID, authorLogin: actor.login, kind: draft.kind,
                    direction: draft.direction, occurredAt: occurredAt, topic: draft.topic, result: draft.result, note: draft.note,
                    resetsClock: resets, createdAt: now))
            var client = c
            if counts, occurredAt > (c.lastInteractionAt ?? .distantPast) {
                // The newest contact, shown on the card; R moves only if it is past the cycle's start.
                client.lastInteractionAt = occurredAt
                if occurredAt > cycleStart {
                    // One change, from the zone the manager saw to the zone R now gives, stamped now.
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
            return wire.page(try tx.interactions(clientID: clientID, cursor: cursor, limit: limit), wire.interaction)
        }
    }
}
