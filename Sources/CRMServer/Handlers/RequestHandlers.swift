import CRMCore
import CRMProtocol
import CRMStore
import CRMText
import Foundation

/// What opens a request: the fields a web form, a missed call or an unknown sender's letter carry.
struct RequestDraft: Sendable {
    var name: String?
    var phone: String?
    var email: String?
    var source: String
    var topic: String?
    var text: String?
}

/// `request.*`: inbound requests routed to a manager by `requests.routing`, re-routed when not
/// taken within `requests.sla` (docs/rules.md, "Requests").
struct RequestHandlers: HandlerGroup {
    let context: ServerContext

    /// Most requests one `request.list` returns.
    static let maxPage = 500

    func requestCreate(_ call: Call) throws {
        let actor = call.actor
        guard Access.canCreateRequest(actor) else {
            throw DomainError.forbidden(
                "\(actor.role.withArticle) may not open requests; the web form runs `crmctl request add` as an operator account.")
        }
        let domain = settings.domain
        let draft = try call.decode { r -> RequestDraft in
            func bounded(_ key: String, _ limit: Int) -> String? {
                guard let v = r.optionalString(key)?.trimmedWhitespace, !v.isEmpty else { return nil }
                if v.count > limit { r.problem(key, "must be at most \(limit) characters") }
                return v
            }
            let name = bounded("name", Routing.nameLength)
            let rawPhone = bounded("phone", 64)
            let rawEmail = bounded("email", 254)
            let source = bounded("source", Routing.sourceLength) ?? "form"
            let topic = bounded("topic", Routing.tagLength)
            let text = bounded("text", Routing.textLength)
            var phone: String? = nil
            if let p = rawPhone {
                phone = Phone.normalize(p, defaultCountryCode: domain.defaultCountryCode, nationalLength: domain.nationalNumberLength)
                if phone == nil { r.problem("phone", "'\(p.prefix(40))' is not a phone number like +7 912 345-67-89") }
            }
            var email: String? = nil
            if let e = rawEmail {
                email = Email.normalize(e)
                if email == nil { r.problem("email", "'\(e.prefix(60))' is not an e-mail address like ivan@example.com") }
            }
            if name == nil, rawPhone == nil, rawEmail == nil {
                r.problem("name", "a request needs a name, a phone or an e-mail to answer")
            }
            return RequestDraft(name: name, phone: phone, email: email, source: source, topic: topic, text: text)
        }
        write(call) { [self] tx, now in try open(tx, draft, actor: actor, now: now) }
    }

    /// Opens a request (from `request.create`, an unknown sender's letter or a missed call): a
    /// request whose phone or e-mail is a client's goes to that client's owner; else the routing
    /// rule picks a manager; with nobody available it stays `new`. Audited and evented.
    /// `unmatched`: the caller has already found no client holding the draft's phone and e-mail
    /// (a missed call's caller ID, an unknown sender), so they are not looked up again.
    func open(_ tx: Tx, _ draft: RequestDraft, actor: Actor, now: Date, unmatched: Bool = false) throws -> JSON {
        var q = InboundRequest(
            name: draft.name, phone: draft.phone, email: draft.email, source: draft.source, topic: draft.topic, text: draft.text,
            createdAt: now, creatorLogin: actor.login)
        var holder: (clientID: Int64, contactID: Int64?)? = nil
        if !unmatched, let p = draft.phone { holder = try tx.callerHolders(p).first }
        if !unmatched, holder == nil, let e = draft.email { holder = try tx.emailHolders(e).first }
        var owner: User? = nil
        if let holder, let c = try tx.clientHeader(id: holder.clientID) {
            q.clientID = c.id
            if c.status == .assigned, let o = c.ownerID, let u = try tx.user(id: o), u.active { owner = u }
        }
        q = try tx.insertInboundRequest(q)
        let json = wire.inboundRequest(q)
        try audit(tx, actor, "request", q.id, "create", before: nil, after: json, at: now)
        try event(tx, "request.created", clientID: q.clientID, ownerID: owner?.id, json, at: now)
        if let owner {
            try route(tx, &q, to: owner.id, now: now)
        } else {
            try route(tx, &q, excluding: nil, now: now)
        }
        return wire.inboundRequest(q)
    }

    /// Routes a request by the rule (`excluding`: who missed it), or leaves it `new` when nobody
    /// is available. Returns whether it was routed.
    @discardableResult
    func route(_ tx: Tx, _ q: inout InboundRequest, excluding: Int64?, now: Date) throws -> Bool {
        let domain = settings.domain
        guard Routing.working(at: now, hours: domain.workingHours, holidays: domain.holidays),
            let to = Routing.pick(
                domain.requests.routing, try tx.routingCandidates(), topic: q.topic, at: now, excluding: excluding,
                last: try tx.lastRoutedAssignee())
        else {
            q.status = .new
            q.assigneeID = nil
            q.dueAt = nil
            try tx.updateInboundRequest(q)
            return false
        }
        try route(tx, &q, to: to, now: now)
        return true
    }

    /// Routes a request to `userID`, due `requests.sla` from now, with a `request.routed` event.
    func route(_ tx: Tx, _ q: inout InboundRequest, to userID: Int64, now: Date) throws {
        q.status = .routed
        q.assigneeID = userID
        q.dueAt = now.addingTimeInterval(Double(settings.domain.requests.slaSeconds))
        try tx.updateInboundRequest(q)
        try event(tx, "request.routed", clientID: q.clientID, ownerID: userID, wire.inboundRequest(q), at: now)
    }

    func requestList(_ call: Call) throws {
        let actor = call.actor
        guard Access.canListRequests(actor) else { throw DomainError.forbidden("\(actor.role.withArticle) may not list requests.") }
        let (status, assigneeRef, before, limit) = try call.decode { r in
            let raw = r.optionalString("status")
            let status = raw.flatMap(InboundRequest.Status.init(rawValue:))
            if let raw, status == nil { r.problem("status", "'\(raw.prefix(20))' must be new, routed, taken or closed") }
            let ref = userRef(&r, "assignee")
            var before: Int64? = nil
            if let raw = r.optionalString("cursor") {
                before = Int64(raw)
                if before == nil { r.problem("cursor", "is not a cursor crmd gave out; pass next_cursor from the previous page unchanged") }
            }
            let limit = r.optionalInt("limit") ?? 100
            if !(1...Int64(Self.maxPage)).contains(limit) { r.problem("limit", "must be from 1 to \(Self.maxPage)") }
            return (status, ref, before, Int(limit))
        }
        try read(call) { [self] tx, _ in
            var assignee: Int64? = nil
            if case .some(.some(let ref)) = assigneeRef { assignee = try resolveUser(tx, ref, field: "assignee", inactive: true).id }
            if !Access.seesAllRequests(actor) {
                guard let me = actor.user?.id, assignee == nil || assignee == me else {
                    throw DomainError.forbidden("A manager sees only the requests assigned to them.")
                }
                assignee = me
            }
            let items = try tx.inboundRequests(status: status, assigneeID: assignee, before: before, limit: limit)
            return [
                "items": .array(items.map(wire.inboundRequest)),
                "next_cursor": items.count == limit ? .string(String(items.last!.id)) : .null,
            ]
        }
    }

    func requestTake(_ call: Call) throws {
        let actor = call.actor
        let id = try call.decode { r in r.int("id") }
        let deals = settings.domain.deals
        write(call) { [self] tx, now in
            var q = try load(tx, id)
            guard Access.canTakeRequest(actor, status: q.status, assigneeID: q.assigneeID), let me = actor.user else {
                throw DomainError.forbidden(
                    "Request \(q.id) is \(q.status.rawValue); only its assignee (or any manager while it is new) may take it.")
            }
            guard q.status == .new || q.status == .routed else {
                throw DomainError(
                    .conflict, "Request \(q.id) is already \(q.status.rawValue).", details: [("status", .string(q.status.rawValue))])
            }
            let clients = ClientHandlers(context: context)
            var client: Client
            if let cid = q.clientID {
                client = try loadClient(tx, cid)
                guard client.status == .assigned, client.ownerID == me.id else {
                    throw DomainError.forbidden(
                        "Request \(q.id) is about client \(cid), who is not yours: claim the client first (exchange.claim) or ask a head to assign it."
                    )
                }
            } else {
                var input = ClientFieldsInput()
                input.name = .set(q.name ?? q.email ?? q.phone ?? "Request \(q.id)")
                input.phones = .set(q.phone.map { [$0] } ?? [])
                input.emails = .set(q.email.map { [$0] } ?? [])
                input.source = .set(q.source)
                let json = try clients.createClient(tx, actor: actor, input: input, ownerRef: nil, rules: rules, now: now, action: "create")
                guard let cid = json["id"]?.intValue else { throw DomainError.invalid("id", "the client was not created") }
                client = try loadClient(tx, cid)
            }
            guard let pipeline = deals.pipeline(nil) else { throw DomainError.invalid("pipeline", "no pipeline is configured") }
            var fields = DealFieldsInput()
            fields.title = String((q.text ?? q.topic ?? "Request \(q.id)").prefix(200))
            fields.source = .set(q.source)
            let deal = try DealHandlers(context: context).openDeal(
                tx, client, owner: me, pipeline: pipeline, fields, actor: actor, now: now)
            let json = try step(tx, &q, actor: actor, action: "take", event: "request.taken", now: now) { q in
                q.status = .taken
                q.assigneeID = me.id
                q.clientID = client.id
                q.dealID = deal["id"]?.intValue
                q.takenAt = now
                q.dueAt = nil
            }
            try NotifyHandlers(context: context).queue(
                tx,
                .init(
                    kind: .requestTaken, client: client, manager: me, dealID: q.dealID, dealTitle: fields.title,
                    stage: pipeline.stages[0].name, request: q), now: now)
            return json
        }
    }

    func requestClose(_ call: Call) throws {
        let actor = call.actor
        let (id, reason) = try call.decode { r -> (Int64, String) in
            let id = r.int("id")
            let reason = r.string("reason").trimmedWhitespace
            if reason.isEmpty { r.problem("reason", "must say why the request is closed (spam, a wrong number, ...)") }
            if reason.count > Self.maxReason { r.problem("reason", "must be at most \(Self.maxReason) characters") }
            return (id, reason)
        }
        write(call) { [self] tx, now in
            var q = try load(tx, id)
            guard Access.canCloseRequest(actor, assigneeID: q.assigneeID) else {
                throw DomainError.forbidden("Only a head of sales, an admin or the request's assignee may close request \(q.id).")
            }
            guard q.status == .new || q.status == .routed else {
                throw DomainError(
                    .conflict,
                    "Request \(q.id) is \(q.status.rawValue); a taken request closes with its deal (deal.close).",
                    details: [("status", .string(q.status.rawValue))])
            }
            return try close(tx, &q, reason: reason, actor: actor, now: now)
        }
    }

    /// Longest reason `request.close` takes.
    static let maxReason = 500

    /// Closes a request: its status, instant and reason, audited, with a `request.closed` event.
    func close(_ tx: Tx, _ q: inout InboundRequest, reason: String, actor: Actor, now: Date) throws -> JSON {
        try step(tx, &q, actor: actor, action: "close", event: "request.closed", now: now) { q in
            q.status = .closed
            q.dueAt = nil
            q.closedAt = now
            q.closeReason = reason
        }
    }

    /// A request's step: `change` applied and stored, audited with the images before and after,
    /// and its event to the assignee (and heads). Returns the request as shown.
    func step(
        _ tx: Tx, _ q: inout InboundRequest, actor: Actor, action: String, event topic: String, now: Date,
        _ change: (inout InboundRequest) -> Void
    ) throws -> JSON {
        let before = wire.inboundRequest(q)
        change(&q)
        try tx.updateInboundRequest(q)
        let json = wire.inboundRequest(q)
        try audit(tx, actor, "request", q.id, action, before: before, after: json, at: now)
        try event(tx, topic, clientID: q.clientID, ownerID: q.assigneeID, json, at: now)
        return json
    }

    /// Closes the taken request a deal was opened for, when the deal closes (won or lost).
    func closeWithDeal(_ tx: Tx, _ d: Deal, actor: Actor, now: Date) throws {
        guard var q = try tx.takenInboundRequest(dealID: d.id) else { return }
        let reason = d.status == .won ? "deal \(d.id) won" : "deal \(d.id) lost: \(d.lostReason ?? "")"
        _ = try close(tx, &q, reason: reason, actor: actor, now: now)
    }

    func requestAssign(_ call: Call) throws {
        let actor = call.actor
        guard Access.canAssignRequest(actor) else { throw DomainError.forbidden("Only a head of sales or an admin may assign requests.") }
        let (id, ref) = try call.decode { r -> (Int64, UserRef?) in
            let id = r.int("id")
            let ref = userRef(&r, "to")
            if ref == nil || ref! == nil { r.problem("to", "must name the manager (login or id)") }
            return (id, ref ?? nil)
        }
        write(call) { [self] tx, now in
            var q = try load(tx, id)
            guard let ref else { throw DomainError.invalid("to", "must name the manager (login or id)") }
            let u = try resolveUser(tx, ref, field: "to")
            guard u.role == .manager else { throw DomainError.invalid("to", "'\(u.login)' is not a manager") }
            guard q.status == .new || q.status == .routed else {
                throw DomainError(
                    .conflict, "Request \(q.id) is already \(q.status.rawValue).", details: [("status", .string(q.status.rawValue))])
            }
            let before = wire.inboundRequest(q)
            try route(tx, &q, to: u.id, now: now)
            let json = wire.inboundRequest(q)
            try audit(tx, actor, "request", q.id, "assign", before: before, after: json, at: now)
            return json
        }
    }

    func load(_ tx: Tx, _ id: Int64) throws -> InboundRequest {
        guard let q = try tx.inboundRequest(id: id) else { throw DomainError.notFound("request", id) }
        return q
    }

    /// Re-routes routed requests not taken by their `due_at` (at most `limit`), and alerts the
    /// heads at that instant. Returns how many were handled and the events written.
    func rerouteOverdue(_ tx: Tx, upTo now: Date, limit: Int) throws -> (requests: Int, events: Int) {
        let due = try tx.overdueInboundRequests(at: now, limit: limit)
        let heads = try tx.allUsers().filter { $0.role == .head && $0.active }
        var events = 0
        for var q in due {
            let missed = q.assigneeID
            let dueAt = q.dueAt ?? now
            q.reroutes += 1
            if try route(tx, &q, excluding: missed, now: now) { events += 1 }
            let who = try missed.flatMap { try tx.user(id: $0)?.login } ?? "?"
            let phrase = Phrase(
                "Request \(q.id) (\(q.name ?? q.phone ?? q.email ?? "")) was not taken by \(who) in time; it is now \(q.status.rawValue).")
            for h in heads {
                let message = phrase.rendered(h.lang ?? settings.domain.language)
                let alertID = try tx.insertWorkAlert(
                    userID: h.id, dealID: nil, taskID: nil, kind: "request_sla", message: message, dueAt: dueAt, deliverAt: now,
                    now: now, deliveredAt: now, supersede: false)
                let stored = StoredAlert(
                    id: alertID, userID: h.id, clientID: nil, kind: "request_sla", daysLeft: nil, zone: nil, message: message,
                    dueAt: dueAt, deliverAt: now, deliveredAt: now, ackedAt: nil, superseded: false, commandStatus: nil,
                    commandAttempts: 0, commandError: nil, createdAt: now, dealID: nil, taskID: nil, invoiceID: nil)
                try event(tx, "alert", clientID: nil, ownerID: h.id, text: AlertText.text(stored), at: now)
                events += 1
            }
        }
        return (due.count, events)
    }
}

extension Wire {
    /// A request as the wire shows it.
    func inboundRequest(_ q: InboundRequest) -> JSON {
        [
            "id": .int(q.id), "status": .string(q.status.rawValue), "name": .string(q.name), "phone": .string(q.phone),
            "email": .string(q.email), "source": .string(q.source), "topic": .string(q.topic), "text": .string(q.text),
            "assignee": q.assigneeID.map { .int($0) } ?? .null, "client_id": q.clientID.map { .int($0) } ?? .null,
            "deal_id": q.dealID.map { .int($0) } ?? .null, "due_at": time(q.dueAt), "created_at": time(q.createdAt),
            "taken_at": time(q.takenAt), "reroutes": .int(Int64(q.reroutes)), "closed_at": time(q.closedAt),
            "close_reason": .string(q.closeReason),
        ]
    }
}
