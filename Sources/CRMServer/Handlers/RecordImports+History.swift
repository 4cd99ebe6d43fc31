import CRMCore
import CRMProtocol
import CRMStore
import CRMText
import Foundation

/// One item of `interaction.import`.
struct InteractionImportItem: Sendable {
    var client: ClientRef
    var draft: InteractionDraft
    var author: String
}

/// One item of `deal.import`.
struct DealImportItem: Sendable {
    var client: ClientRef
    var fields: DealFieldsInput
    var pipeline: String?
    var stage: String?
    var status: DealStatus
    var openedAt: Date?
    var closedAt: Date?
    var lostReason: String?
}

extension RecordImports {
    /// `interaction.import {interactions: [{client_id | client, kind, occurred_at, author, topic?,
    /// result?, note?, direction?}], ...}`: past calls, meetings, e-mails, messages and notes, each
    /// stored as `interaction.log` by its author with that `occurred_at` would store it (the zone
    /// follows the owner's latest contact), audited as the importer's `import`. Admins and heads.
    func interactionImport(_ call: Call) throws {
        let actor = call.actor
        guard Self.mayImportHistory(actor) else { throw DomainError.forbidden("Only admins and heads may import interactions.") }
        let kind = RecordImportKind<InteractionImportItem>(
            list: "interactions",
            decode: { [self] r in
                let ref = clientRef(&r)
                let kind = InteractionKind(rawValue: r.enumValue("kind", InteractionKind.loggable.map(\.rawValue))) ?? .note
                let at = r.optionalTimestamp("occurred_at")
                if at == nil, !r.has("occurred_at") { r.problem("occurred_at", "is required (when it happened, RFC 3339)") }
                let draft = InteractionDraft(
                    kind: kind, occurredAt: at, contactID: r.optionalInt("contact_id"), topic: r.optionalString("topic"),
                    result: r.optionalString("result"),
                    note: r.optionalString("note"), direction: r.optionalEnum("direction", ["in", "out"]))
                return InteractionImportItem(client: ref, draft: draft, author: r.string("author"))
            },
            check: { [self] tx, item, now in
                let c = try findClient(tx, item.client)
                let author = try named("author") { try resolveUser(tx, .login(item.author), field: "author", inactive: true) }
                let at = item.draft.occurredAt ?? now
                if at > now {
                    return ([], [ImportProblem(field: "occurred_at", problem: "is in the future; an import brings past interactions")])
                }
                // A spreadsheet names no contact ids: an imported meeting needs none.
                do { try checkDraft(tx, c, item.draft, now: now) } catch let e as DomainError {
                    let problems = e.fields.indices.filter { e.fields[$0].field != "contact_id" || item.draft.contactID != nil }
                    if !problems.isEmpty {
                        return ([], problems.map { ImportProblem(field: e.fields[$0].field, problem: e.problemSaid($0)) })
                    }
                }
                let key = ImportKey(
                    field: "occurred_at", value: "\(c.id)/\(item.draft.kind.rawValue)/\(RFC3339.format(at))/\(author.login)")
                if let id = try tx.interactionID(clientID: c.id, kind: item.draft.kind.rawValue, at: at, authorLogin: author.login) {
                    return (
                        [key],
                        [
                            ImportProblem(
                                field: "occurred_at", problem: "\(key.value) is already interaction \(id) of client \(c.id) '\(c.name)'",
                                key: key.value,
                                duplicateOf: ["client_id": .int(c.id), "interaction_id": .int(id)])
                        ]
                    )
                }
                return ([key], [])
            },
            store: { [self] tx, item, now in
                let c = try loadClient(tx, try findClient(tx, item.client).id)
                let u = try resolveUser(tx, .login(item.author), field: "author", inactive: true)
                let author = Actor(user: u, role: u.role, login: u.login, uid: 0)
                return try storeInteraction(tx, c, item.draft, dealID: nil, actor: author, auditedAs: (actor, "import"), now: now)
                    .interaction.id
            })
        try run(call, kind)
    }

    /// `deal.import {deals: [{client_id | client, title, amount?, currency?, pipeline?, stage?,
    /// status?, opened_at?, closed_at?, lost_reason?, owner?, probability?, source?,
    /// expected_close?}], ...}`: open and closed deals; the stage history starts at the imported
    /// stage. Admins and heads.
    func dealImport(_ call: Call) throws {
        let actor = call.actor
        guard Self.mayImportHistory(actor) else { throw DomainError.forbidden("Only admins and heads may import deals.") }
        let deals = settings.domain.deals
        let fieldsOf = DealHandlers(context: context)
        let kind = RecordImportKind<DealImportItem>(
            list: "deals",
            decode: { [self] r in
                let ref = clientRef(&r)
                let f = fieldsOf.decodeFields(&r, creating: true)
                let status = DealStatus(rawValue: r.optionalEnum("status", ["open", "won", "lost"]) ?? "open") ?? .open
                let item = DealImportItem(
                    client: ref, fields: f, pipeline: r.optionalString("pipeline"), stage: r.optionalString("stage"), status: status,
                    openedAt: r.optionalTimestamp("opened_at"), closedAt: r.optionalTimestamp("closed_at"),
                    lostReason: r.optionalString("lost_reason"))
                if status == .open, item.closedAt != nil { r.problem("closed_at", "is for won and lost deals") }
                if status != .open, item.closedAt == nil { r.problem("closed_at", "is required for a \(status.rawValue) deal") }
                if status == .lost, !deals.lostReasons.contains(item.lostReason ?? "") {
                    r.problem("lost_reason", "must be one of: \(deals.lostReasons.joined(separator: ", "))")
                }
                if status != .lost, item.lostReason != nil { r.problem("lost_reason", "is for lost deals only") }
                return item
            },
            check: { [self] tx, item, now in
                try checkDeal(tx, item, actor: actor, now: now)
            },
            store: { [self] tx, item, now in
                try storeDeal(tx, item, actor: actor, now: now)
            })
        try run(call, kind)
    }

    func checkDeal(_ tx: Tx, _ item: DealImportItem, actor: Actor, now: Date) throws -> (keys: [ImportKey], problems: [ImportProblem]) {
        let deals = settings.domain.deals
        let c = try findClient(tx, item.client)
        func problem(_ field: String, _ text: Phrase) -> ([ImportKey], [ImportProblem]) {
            ([], [ImportProblem(field: field, problem: text)])
        }
        guard let p = deals.pipeline(item.pipeline) else {
            return problem(
                "pipeline", "'\(item.pipeline ?? "")' is not a pipeline (\(deals.pipelines.map(\.name).joined(separator: ", ")))")
        }
        if let s = item.stage, p.stage(s) == nil {
            return problem("stage", "'\(s)' is not a stage of \(p.name) (\(p.stages.map(\.name).joined(separator: ", ")))")
        }
        if let at = item.closedAt, at > now { return problem("closed_at", "is in the future") }
        if let at = item.openedAt, at > min(now, item.closedAt ?? now) {
            return problem("opened_at", "is after the deal closed (or in the future)")
        }
        _ = try named("owner") { try DealHandlers(context: context).dealOwner(tx, asked: item.fields.owner, client: c, actor: actor) }
        if item.status == .open, try tx.openDeals(clientID: c.id).count >= deals.maxOpenDealsPerClient {
            return problem("status", "client \(c.id) has the most open deals deals.max_open_per_client allows")
        }
        let title = item.fields.title ?? ""
        let amount = item.fields.amount.value
        let key = ImportKey(field: "title", value: "\(c.id)/\(item.status.rawValue)/\(amount.map(String.init) ?? "-")/\(title)")
        if let id = try tx.dealID(clientID: c.id, title: title, amount: amount, status: item.status.rawValue) {
            return (
                [key],
                [
                    ImportProblem(
                        field: "title", problem: "\(key.value) is already deal \(id) of client \(c.id) '\(c.name)'", key: key.value,
                        duplicateOf: ["client_id": .int(c.id), "deal_id": .int(id)])
                ]
            )
        }
        return ([key], [])
    }

    /// Stores a checked deal: its step history begins at the imported stage (and, closed, ends
    /// there at `closed_at`); a won deal counts for its owner's plan in the month it was won.
    func storeDeal(_ tx: Tx, _ item: DealImportItem, actor: Actor, now: Date) throws -> Int64 {
        let deals = settings.domain.deals
        let c = try findClient(tx, item.client)
        let handlers = DealHandlers(context: context)
        let owner = try handlers.dealOwner(tx, asked: item.fields.owner, client: c, actor: actor)
        let pipeline = deals.pipeline(item.pipeline)!
        let f = item.fields
        let opened = item.openedAt ?? item.closedAt ?? now
        var d = Deal(
            id: 0, clientID: c.id, ownerID: owner.id, creatorLogin: actor.login, title: f.title ?? "", amount: f.amount.value,
            currency: f.currency ?? deals.currency, probability: f.probability.value.map(Int.init), source: f.source.value,
            pipeline: pipeline.name, stage: item.stage ?? pipeline.stages[0].name, status: item.status, lostReason: item.lostReason,
            expectedClose: f.expectedClose.value, openedAt: opened, closedAt: item.closedAt, stageEnteredAt: opened,
            lastContactAt: item.closedAt ?? now, nextContactDue: nil, overdueStage: 0, dueAt: nil, createdAt: now, updatedAt: now)
        dealRules.rearm(&d, now: now)
        d = try tx.insertDeal(d)
        try tx.recordDealMove(dealID: d.id, from: nil, to: d.stage, status: .open, at: opened, by: actor.login)
        if let closed = d.closedAt {
            try tx.recordDealMove(dealID: d.id, from: d.stage, to: d.stage, status: d.status, at: closed, by: actor.login)
            if d.status == .won { try planFactsMoved(tx, userID: d.ownerID, metrics: [.dealsWon, .revenueWon], at: closed) }
        }
        try audit(tx, actor, "deal", d.id, "import", before: nil, after: wire.deal(d, now: now), at: now)
        try event(tx, "deal.created", clientID: c.id, ownerID: d.ownerID, dealEvent(d, by: actor, extra: ["imported": true]), at: now)
        return d.id
    }
}
