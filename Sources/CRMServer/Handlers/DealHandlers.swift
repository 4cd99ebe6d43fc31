import CRMCore
import CRMProtocol
import CRMStore
import CRMText
import Foundation

/// A deal's editable fields as decoded from params.
struct DealFieldsInput: Sendable {
    var title: String? = nil
    var amount: Patch<Int64> = .unchanged
    var currency: String? = nil
    var probability: Patch<Int64> = .unchanged
    var source: Patch<String> = .unchanged
    var expectedClose: Patch<String> = .unchanged
    var owner: UserRef? = nil
}

/// `deal.*`: potential sales through ordered stages (RULES §7, seed 002). A deal's start, each
/// move and its close count as a contact of the client (seed 000); every change is audited and
/// evented; the cadence of the deal's stage is watched by the scheduler.
struct DealHandlers: HandlerGroup {
    let context: ServerContext

    /// Largest amount in minor units: 10^13 (a hundred billion roubles); sums of them on the board
    /// saturate rather than overflow.
    static let maxAmount: Int64 = 10_000_000_000_000

    /// ISO 4217 codes a deal may carry (an unknown code would open a board line of its own).
    static let currencies = Set(Locale.commonISOCurrencyCodes.map { $0.uppercased() })

    func decodeFields(_ r: inout ParamReader, creating: Bool) -> DealFieldsInput {
        var f = DealFieldsInput()
        if creating {
            f.title = r.string("title")
        } else if r.has("title") {
            f.title = r.string("title")
        }
        if let t = f.title, t.count > 200 { r.problem("title", "must be at most 200 characters") }
        f.amount = intPatch(&r, "amount", 0...Self.maxAmount, "a sum in minor units (kopecks) from 0 to 10^13")
        if let c = r.optionalString("currency") {
            let u = c.uppercased()
            if u.count == 3, Self.currencies.contains(u) {
                f.currency = u
            } else {
                r.problem("currency", "must be an ISO 4217 code like RUB, not '\(c.prefix(20))'")
            }
        }
        f.probability = intPatch(&r, "probability", 0...100, "a percentage from 0 to 100 (null: the stage's default)")
        f.source = r.patchString("source")
        if case .set(let s) = f.source, s.count > 100 { r.problem("source", "must be at most 100 characters") }
        f.expectedClose = r.patchString("expected_close")
        if case .set(let s) = f.expectedClose, !Self.isDay(s) { r.problem("expected_close", "must be a date like 2026-12-31") }
        if let ref = userRef(&r, "owner") {
            if let ref { f.owner = ref } else { r.problem("owner", "cannot be cleared: a deal always has an owner") }
        }
        return f
    }

    func intPatch(_ r: inout ParamReader, _ key: String, _ range: ClosedRange<Int64>, _ what: String) -> Patch<Int64> {
        guard let v = r.optionalValue(key) else { return .unchanged }
        if v.isNull { return .clear }
        guard let i = v.intValue, range.contains(i) else {
            r.problem(key, "must be \(what)")
            return .unchanged
        }
        return .set(i)
    }

    static func isDay(_ s: String) -> Bool {
        guard s.count == 10, case .instant(let d) = RFC3339.read(s + "T00:00:00Z") else { return false }
        return String(RFC3339.format(milliseconds: d).prefix(10)) == s
    }

    /// What a step changes, as the audit's `before`: the stage, the status, the amount and whether
    /// the deal was overdue.
    func stepImage(_ d: Deal) -> JSON {
        [
            "stage": .string(d.stage), "status": .string(d.status.rawValue), "amount": .int(d.amount), "overdue": .bool(d.overdue),
            "next_contact_due": wire.time(d.nextContactDue),
        ]
    }

    /// A deal enters its stage anew (a move, a reopening): that is a contact, and the stage's
    /// cadence counts from it.
    func restartStage(_ d: inout Deal, now: Date) {
        d.stageEnteredAt = now
        d.lastContactAt = max(d.lastContactAt, now)
        d.overdueStage = 0
        d.updatedAt = now
        dealRules.rearm(&d, now: now)
    }

    func loadDeal(_ tx: Tx, _ id: Int64) throws -> Deal {
        guard let d = try tx.deal(id: id) else { throw DomainError.notFound("deal", id) }
        return d
    }

    func forbiddenOnDeal(_ d: Deal, _ actor: Actor, _ what: String) -> DomainError {
        let owner = d.ownerID.flatMap { users.user(id: $0)?.login } ?? "nobody"
        return DomainError(
            .forbidden,
            "You (\(actor.login), \(actor.role.rawValue)) may not \(Phrase.key(what)) deal \(d.id): it is \(owner)'s. Ask its owner or a head of sales.",
            details: [("deal_id", .int(d.id)), ("owner", .string(owner))])
    }

    /// The owner a deal goes to: the one asked for (heads and admins only), else the client's lead
    /// manager, else the caller if they may own deals.
    func dealOwner(_ tx: Tx, asked: UserRef?, client c: Client, actor: Actor) throws -> User {
        if let asked {
            let u = try resolveOwner(tx, asked)
            if u.id != c.ownerID && u.id != actor.userID && !Access.canOverrideDealOrder(actor) {
                throw DomainError.forbidden(
                    "You (\(actor.login), \(actor.role.rawValue)) may not give a deal to \(u.login); a deal goes to the client's lead manager."
                )
            }
            guard Access.canOwnDeals(u) else {
                throw DomainError.invalid("owner", "\(u.login) is a \(u.role.rawValue) (or inactive) and cannot own deals")
            }
            return u
        }
        if let id = c.ownerID, let u = try tx.user(id: id) {
            guard Access.canOwnDeals(u) else {
                throw DomainError(
                    .validationFailed, "Client \(c.id)'s lead manager \(u.login) is deactivated; assign the client first or name an owner.",
                    fields: [("owner", "is required: the lead manager is deactivated")])
            }
            return u
        }
        if let me = actor.user, Access.canOwnDeals(me) { return me }
        throw DomainError(
            .validationFailed, "Client \(c.id) has no lead manager to own the deal; assign the client first or name an owner.",
            fields: [("owner", "is required: the client has no lead manager")])
    }

    func dealCreate(_ call: Call) throws {
        let actor = call.actor
        let (clientID, pipelineName, f) = try call.decode { r in
            (r.int("client_id"), r.optionalString("pipeline"), decodeFields(&r, creating: true))
        }
        let deals = settings.domain.deals
        guard let pipeline = deals.pipeline(pipelineName) else {
            let names = deals.pipelines.map(\.name).joined(separator: ", ")
            throw DomainError.invalid("pipeline", "'\(pipelineName ?? "")' is not a pipeline (\(names))")
        }
        write(call) { [self] tx, now in
            let c = try loadClient(tx, clientID)
            guard Access.canCreateDeal(actor, clientOwnerID: c.ownerID) else { throw forbiddenOnClient(c, actor, "open deals on") }
            let owner = try dealOwner(tx, asked: f.owner, client: c, actor: actor)
            let open = try tx.openDeals(clientID: c.id).count
            if open >= deals.maxOpenDealsPerClient {
                throw DomainError(
                    .limitReached,
                    "Client \(c.id) has \(open) open deals, the most deals.max_open_per_client allows; close or win some first.",
                    details: [("kind", .string("open_deals_per_client")), ("limit", .int(Int64(deals.maxOpenDealsPerClient)))])
            }
            return try openDeal(tx, c, owner: owner, pipeline: pipeline, f, actor: actor, now: now)
        }
    }

    /// Opens a deal at the pipeline's first stage: stored, its move recorded, counted as a contact,
    /// audited and evented (`deal.create`, and `request.take`'s deal). Returns the deal's JSON.
    func openDeal(
        _ tx: Tx, _ c: Client, owner: User, pipeline: Pipeline, _ f: DealFieldsInput, actor: Actor, now: Date
    ) throws -> JSON {
        let deals = settings.domain.deals
        var d = Deal(
            id: 0, clientID: c.id, ownerID: owner.id, creatorLogin: actor.login, title: f.title ?? "", amount: f.amount.value,
            currency: f.currency ?? deals.currency, probability: f.probability.value.map(Int.init), source: f.source.value,
            pipeline: pipeline.name, stage: pipeline.stages[0].name, status: .open, lostReason: nil,
            expectedClose: f.expectedClose.value, openedAt: now, closedAt: nil, stageEnteredAt: now, lastContactAt: now,
            nextContactDue: nil, overdueStage: 0, dueAt: nil, createdAt: now, updatedAt: now)
        dealRules.rearm(&d, now: now)
        d = try tx.insertDeal(d)
        try tx.recordDealMove(dealID: d.id, from: nil, to: d.stage, status: .open, at: now, by: actor.login)
        try recordDealContact(tx, c, deal: d, actor: actor, topic: stored("Deal \(d.id) started at «\(d.stage)»"), now: now)
        let json = wire.deal(d, now: now)
        try audit(tx, actor, "deal", d.id, "create", before: nil, after: json, at: now)
        try event(tx, "deal.created", clientID: c.id, ownerID: d.ownerID, dealEvent(d, by: actor), at: now)
        return json
    }

    func dealGet(_ call: Call) throws {
        let id = try call.decode { r in r.int("id") }
        let actor = call.actor
        try read(call) { tx, now in
            let d = try loadDeal(tx, id)
            guard Access.canSeeDeal(actor, ownerID: d.ownerID) else { throw forbiddenOnDeal(d, actor, "see") }
            guard case .object(var o) = wire.deal(d, now: now) else { return .null }
            o["client_name"] = .string(try tx.clientHeader(id: d.clientID)?.name)
            o["moves"] = .array(try tx.dealMoves(dealID: d.id).map(wire.dealMove))
            o["interactions"] = .array(try tx.interactions(dealID: d.id, limit: 50).map(wire.interaction))
            o["tasks"] = .array(
                try tx.tasks(assigneeID: nil, done: nil, dueBefore: nil, dealID: d.id, cursor: nil, limit: 50).items.map {
                    wire.task($0, now: now)
                })
            o["attachments"] = .array(try tx.attachments(dealID: d.id).map(wire.attachment))
            // Its invoices, to those who may list them (not operators).
            if InvoiceRules.canSee(actor, dealOwnerID: d.ownerID) {
                o["invoices"] = .array(try wire.invoices(tx, try tx.invoices(dealID: d.id, limit: 1_000), now: now))
            }
            return .object(o)
        }
    }

    func dealList(_ call: Call) throws {
        let actor = call.actor
        let deals = settings.domain.deals
        let (ownerRef, filter, limit, cursor) = try call.decode { r -> (UserRef??, DealFilter, Int, Int64?) in
            var f = DealFilter()
            let owner = userRef(&r, "owner")
            f.clientID = r.optionalInt("client_id")
            f.pipeline = r.optionalString("pipeline")
            f.stage = r.optionalString("stage")
            f.status = r.optionalEnum("status", DealStatus.allCases.map(\.rawValue)).flatMap(DealStatus.init(rawValue:))
            f.overdue = r.optionalBool("overdue")
            f.from = r.optionalTimestamp("from")
            f.to = r.optionalTimestamp("to")
            if let p = f.pipeline, deals.pipeline(p) == nil { r.problem("pipeline", "'\(p.prefix(60))' is not a pipeline") }
            return (owner, f, r.limit(), r.idCursor())
        }
        try read(call) { tx, now in
            var f = filter
            switch ownerRef {
            case .some(.some(let ref)): f.ownerID = try resolveUser(tx, ref, field: "owner", inactive: true).id
            case .some(.none), .none: break
            }
            // A manager lists their own deals only, whatever filter they pass.
            if !Access.canSeeDeal(actor, ownerID: nil) {
                if let asked = f.ownerID, asked != actor.userID {
                    throw DomainError.forbidden("A manager sees only their own deals; leave out owner or name yourself.")
                }
                f.ownerID = actor.userID ?? -1
            }
            return wire.page(try tx.deals(f, after: cursor, limit: limit)) { wire.deal($0, now: now) }
        }
    }

    func dealUpdate(_ call: Call) throws {
        let actor = call.actor
        let (id, f) = try call.decode { r in (r.int("id"), decodeFields(&r, creating: false)) }
        if f.title == nil, !f.amount.isChange, f.currency == nil, !f.probability.isChange, !f.source.isChange, !f.expectedClose.isChange,
            f.owner == nil
        {
            throw RPCError.invalidParams([
                FieldProblem(
                    field: "params", problem: "name at least one of title, amount, currency, probability, source, expected_close, owner")
            ])
        }
        write(call) { [self] tx, now in
            var d = try loadDeal(tx, id)
            guard Access.canWorkDeal(actor, ownerID: d.ownerID) else { throw forbiddenOnDeal(d, actor, "change") }
            if d.status != .open && !Access.canOverrideDealOrder(actor) {
                throw DomainError(.conflict, "Deal \(d.id) is \(d.status.rawValue); only a head may change a closed deal.")
            }
            let before = wire.deal(d, now: now)
            let previousOwner = d.ownerID
            if let t = f.title { d.title = t }
            d.amount = f.amount.applied(to: d.amount)
            if let c = f.currency { d.currency = c }
            d.probability = f.probability.applied(to: d.probability.map(Int64.init)).map(Int.init)
            d.source = f.source.applied(to: d.source)
            d.expectedClose = f.expectedClose.applied(to: d.expectedClose)
            if let ref = f.owner {
                let c = try loadClient(tx, d.clientID)
                let u = try dealOwner(tx, asked: ref, client: c, actor: actor)
                if u.id != d.ownerID && !Access.canOverrideDealOrder(actor) {
                    throw DomainError.forbidden("Only a head of sales may give a deal to another owner.")
                }
                d.ownerID = u.id
            }
            d.updatedAt = now
            try tx.saveDeal(d)
            if previousOwner != d.ownerID {
                try tx.supersedeWorkAlerts(dealID: d.id)
                try reannounce(tx, d, now: now)
            }
            // A client this deal held back from the exchange is looked at again.
            try tx.rearmHeldClients(clientID: d.clientID, now: now)
            let json = wire.deal(d, now: now)
            try audit(tx, actor, "deal", d.id, "update", before: before, after: json, at: now)
            try event(
                tx, "deal.updated", clientID: d.clientID, ownerID: d.ownerID,
                previousOwnerID: previousOwner == d.ownerID ? nil : previousOwner,
                dealEvent(d, by: actor), at: now)
            return json
        }
    }

    func dealMove(_ call: Call) throws {
        let actor = call.actor
        let (id, stage) = try call.decode { r in (r.int("id"), r.string("stage")) }
        write(call) { [self] tx, now in
            var d = try loadDeal(tx, id)
            guard Access.canWorkDeal(actor, ownerID: d.ownerID) else { throw forbiddenOnDeal(d, actor, "move") }
            if let refusal = dealRules.moveRefusal(d, to: stage, mayGoBack: Access.canOverrideDealOrder(actor)) { throw refusal }
            let before = stepImage(d)
            let from = d.stage
            d.stage = stage
            restartStage(&d, now: now)
            let json = try recordStep(
                tx, d, from: from, before: before, actor: actor, topic: stored("Deal \(d.id) moved: «\(from)» → «\(stage)»"),
                action: "move",
                event: "deal.moved", extra: ["from": .string(from), "to": .string(stage)], now: now)
            if settings.domain.notify.stages.contains(stage) {
                try NotifyHandlers(context: context).queue(
                    tx,
                    .init(
                        kind: .dealStage, client: try loadClient(tx, d.clientID), manager: d.ownerID.flatMap { users.user(id: $0) },
                        dealID: d.id, dealTitle: d.title, stage: stage, request: try tx.takenInboundRequest(dealID: d.id)), now: now)
            }
            return json
        }
    }

    func dealClose(_ call: Call) throws {
        let actor = call.actor
        let reasons = settings.domain.deals.lostReasons
        let (id, outcome, amount, reason) = try call.decode { r -> (Int64, String, Int64?, String?) in
            let id = r.int("id")
            let outcome = r.enumValue("outcome", ["won", "lost"])
            let amount = intPatch(&r, "amount", 0...Self.maxAmount, "the final sum in minor units from 0 to 10^13").value
            let reason = r.optionalString("reason")
            if outcome == "lost" {
                if let reason {
                    if !reasons.contains(reason) { r.problem("reason", "must be one of: \(reasons.joined(separator: ", "))") }
                } else {
                    r.problem("reason", "is required for a lost deal (one of: \(reasons.joined(separator: ", ")))")
                }
            } else if reason != nil {
                r.problem("reason", "is for lost deals only")
            }
            if outcome == "lost" && amount != nil { r.problem("amount", "is for won deals only (the final sum)") }
            return (id, outcome, amount, reason)
        }
        write(call) { [self] tx, now in
            var d = try loadDeal(tx, id)
            guard Access.canWorkDeal(actor, ownerID: d.ownerID) else { throw forbiddenOnDeal(d, actor, "close") }
            guard d.status == .open else {
                throw DomainError(
                    .conflict, "Deal \(d.id) is already \(d.status.rawValue); a head may reopen it (deal.reopen).",
                    details: [("deal_id", .int(d.id)), ("status", .string(d.status.rawValue))])
            }
            let before = stepImage(d)
            d.status = outcome == "won" ? .won : .lost
            if let amount { d.amount = amount }
            d.lostReason = reason
            d.closedAt = now
            d.lastContactAt = max(d.lastContactAt, now)
            d.updatedAt = now
            dealRules.rearm(&d, now: now)
            if d.status == .won { try planFactsMoved(tx, userID: d.ownerID, metrics: [.dealsWon, .revenueWon], at: now) }
            let json = try recordStep(
                tx, d, from: d.stage, before: before, actor: actor,
                topic: stored(d.status == .won ? Phrase("Deal \(d.id) won at «\(d.stage)»") : Phrase("Deal \(d.id) lost at «\(d.stage)»")),
                action: "close",
                event: "deal.closed", extra: ["outcome": .string(outcome), "reason": .string(reason)], now: now)
            try RequestHandlers(context: context).closeWithDeal(tx, d, actor: actor, now: now)
            return json
        }
    }

    func dealReopen(_ call: Call) throws {
        let actor = call.actor
        let id = try call.decode { r in r.int("id") }
        write(call) { [self] tx, now in
            var d = try loadDeal(tx, id)
            guard Access.canOverrideDealOrder(actor) else {
                throw DomainError.forbidden("Only a head of sales may reopen a closed deal; ask your head.")
            }
            guard d.status != .open else { throw DomainError(.conflict, "Deal \(d.id) is open already.") }
            guard dealRules.settings.pipeline(d.pipeline)?.stage(d.stage) != nil else {
                throw DomainError(
                    .conflict, "Deal \(d.id) closed at '\(d.stage)', which its pipeline no longer has; it cannot be reopened there.")
            }
            let before = wire.deal(d, now: now)
            let was = d.status
            d.status = .open
            d.closedAt = nil
            d.lostReason = nil
            restartStage(&d, now: now)
            try tx.saveDeal(d)
            try tx.recordDealMove(dealID: d.id, from: d.stage, to: d.stage, status: .open, at: now, by: actor.login)
            let json = wire.deal(d, now: now)
            try audit(tx, actor, "deal", d.id, "reopen", before: before, after: json, at: now)
            try event(
                tx, "deal.reopened", clientID: d.clientID, ownerID: d.ownerID,
                dealEvent(d, by: actor, extra: ["was": .string(was.rawValue)]),
                at: now)
            return json
        }
    }

    /// What a move and a close write after the deal changed: the deal, its reminders dropped, the
    /// step recorded, a client it held back looked at again, the step as a contact with the
    /// client, the audit entry and the event. Returns the deal as shown.
    func recordStep(
        _ tx: Tx, _ d: Deal, from: String, before: JSON, actor: Actor, topic: String, action: String, event eventTopic: String,
        extra: JSONObject, now: Date
    ) throws -> JSON {
        try tx.saveDealStep(d)
        // Reminders are pending only about an overdue deal.
        if before["overdue"] == .bool(true) { try tx.supersedeWorkAlerts(dealID: d.id) }
        try tx.recordDealMove(dealID: d.id, from: from, to: d.stage, status: d.status, at: now, by: actor.login)
        try tx.rearmHeldClients(clientID: d.clientID, now: now)
        guard let client = try tx.clientHeader(id: d.clientID) else { throw DomainError.notFound("client", d.clientID) }
        try recordDealContact(tx, client, deal: d, actor: actor, topic: topic, now: now)
        let json = wire.deal(d, now: now)
        try audit(tx, actor, "deal", d.id, action, before: before, after: json, at: now)
        try event(tx, eventTopic, clientID: d.clientID, ownerID: d.ownerID, dealEvent(d, by: actor, extra: extra), at: now)
        return json
    }
}
