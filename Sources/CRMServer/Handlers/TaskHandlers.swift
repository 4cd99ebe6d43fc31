import CRMCore
import CRMProtocol
import CRMStore
import CRMText
import Foundation

/// `task.*`: to-dos with a due instant, for oneself or (heads, operators, admins) others,
/// optionally about a client or a deal. The scheduler announces a task when it falls due
/// (`task.due` and a reminder through the alert engine, in working hours); completing a call or
/// meeting task can log its interaction in the same request.
struct TaskHandlers: HandlerGroup {
    let context: ServerContext

    func forbiddenOnTask(_ t: TaskItem, _ actor: Actor, _ what: String) -> DomainError {
        let who = users.user(id: t.assigneeID)?.login ?? "someone else"
        return DomainError(
            .forbidden, "\(actor.role.withArticle) may not \(Phrase.key(what)) task \(t.id): it is \(who)'s.",
            details: [("task_id", .int(t.id))])
    }

    func loadTask(_ tx: Tx, _ id: Int64) throws -> TaskItem {
        guard let t = try tx.task(id: id) else { throw DomainError.notFound("task", id) }
        return t
    }

    /// Checks the client and deal a task is about: they exist, agree, and the actor may see them.
    func checkSubject(_ tx: Tx, clientID: Int64?, dealID: Int64?, actor: Actor) throws -> Int64? {
        var client = clientID
        if let dealID {
            guard let d = try tx.deal(id: dealID) else { throw DomainError.notFound("deal", dealID) }
            guard Access.canSeeDeal(actor, ownerID: d.ownerID) else {
                throw DomainError.forbidden("\(actor.role.withArticle) may not make tasks on deal \(dealID): it is not theirs.")
            }
            if let clientID, clientID != d.clientID {
                throw DomainError.invalid("client_id", "\(clientID) is not the client of deal \(dealID)")
            }
            client = d.clientID
        }
        if let client {
            let c = try loadClient(tx, client)
            guard Access.canSeeFullCard(actor, ownerID: c.ownerID) else { throw forbiddenOnClient(c, actor, "make tasks on") }
        }
        return client
    }

    func taskCreate(_ call: Call) throws {
        let actor = call.actor
        let p = try call.decode { r in
            (
                title: r.string("title"), note: r.optionalString("note"), kind: r.optionalEnum("kind", ["call", "meeting", "other"]),
                due: r.optionalTimestamp("due_at"), hasDue: r.has("due_at"), assignee: userRef(&r, "assignee"),
                clientID: r.optionalInt("client_id"), dealID: r.optionalInt("deal_id")
            )
        }
        if !p.hasDue || call.params["due_at"] == .null {
            throw RPCError.invalidParams([FieldProblem(field: "due_at", problem: "is required (an RFC 3339 instant)")])
        }
        if p.title.count > 200 { throw DomainError.invalid("title", "must be at most 200 characters") }
        write(call) { [self] tx, now in
            let assignee: User
            switch p.assignee {
            case .some(.some(let ref)): assignee = try resolveUser(tx, ref, field: "assignee")
            case .some(.none), .none:
                guard let me = actor.user else {
                    throw DomainError.invalid("assignee", "is required: a built-in admin has no user row to give a task to")
                }
                assignee = me
            }
            guard Access.canAssignTask(actor, to: assignee.id) else {
                throw DomainError.forbidden("\(actor.role.withArticle) may give tasks only to themselves, not to \(assignee.login).")
            }
            let clientID = try checkSubject(tx, clientID: p.clientID, dealID: p.dealID, actor: actor)
            let due = p.due ?? now
            let t = try tx.insertTask(
                TaskItem(
                    id: 0, title: p.title, note: p.note, kind: p.kind, assigneeID: assignee.id, creatorLogin: actor.login,
                    clientID: clientID,
                    dealID: p.dealID, dueAt: due, remindAt: due, doneAt: nil, doneBy: nil, interactionID: nil, createdAt: now,
                    updatedAt: now))
            let json = wire.task(t, now: now)
            try audit(tx, actor, "task", t.id, "create", before: nil, after: json, at: now)
            try event(tx, "task.created", clientID: clientID, ownerID: assignee.id, taskEvent(t, by: actor), at: now)
            return json
        }
    }

    func taskEvent(_ t: TaskItem, by actor: Actor?) -> JSON {
        [
            "task_id": .int(t.id), "title": .string(t.title), "assignee": .int(t.assigneeID), "assignee_login": wire.login(t.assigneeID),
            "client_id": .int(t.clientID), "deal_id": .int(t.dealID), "due_at": wire.time(t.dueAt), "done": .bool(t.doneAt != nil),
            "by": .string(actor?.login),
        ]
    }

    func taskList(_ call: Call) throws {
        let actor = call.actor
        let p = try call.decode { r in
            (
                assignee: userRef(&r, "assignee"), dueBefore: r.optionalTimestamp("due_before"), done: r.optionalBool("done"),
                dealID: r.optionalInt("deal_id"), clientID: r.optionalInt("client_id"), limit: r.limit(), cursor: r.cursor()
            )
        }
        try read(call) { tx, now in
            var assigneeID: Int64? = actor.userID
            switch p.assignee {
            case .some(.some(let ref)): assigneeID = try resolveUser(tx, ref, field: "assignee", inactive: true).id
            case .some(.none): assigneeID = nil  // everyone's
            case .none: break
            }
            if assigneeID != actor.userID && !Access.canSeeOthersDay(actor) {
                throw DomainError.forbidden("\(actor.role.withArticle) sees only their own tasks; leave out assignee.")
            }
            let page = try tx.tasks(
                assigneeID: assigneeID, done: p.done, dueBefore: p.dueBefore, dealID: p.dealID, clientID: p.clientID, cursor: p.cursor,
                limit: p.limit)
            return wire.page(page) { wire.task($0, now: now) }
        }
    }

    func taskUpdate(_ call: Call) throws {
        let actor = call.actor
        let p = try call.decode { r in
            (
                id: r.int("id"), title: r.has("title") ? r.string("title") : nil, note: r.patchString("note"),
                due: r.optionalTimestamp("due_at"), assignee: userRef(&r, "assignee")
            )
        }
        if case .some(.none) = p.assignee {
            throw RPCError.invalidParams([FieldProblem(field: "assignee", problem: "cannot be cleared: a task always has an assignee")])
        }
        if call.params["due_at"] == .null {
            throw RPCError.invalidParams([FieldProblem(field: "due_at", problem: "cannot be cleared: a task always has a due instant")])
        }
        if p.title == nil, !p.note.isChange, p.due == nil, p.assignee == nil {
            throw RPCError.invalidParams([
                FieldProblem(field: "params", problem: "name at least one of title, note, due_at, assignee to change")
            ])
        }
        write(call) { [self] tx, now in
            var t = try loadTask(tx, p.id)
            guard Access.canWorkTask(actor, assigneeID: t.assigneeID, creatorLogin: t.creatorLogin) else {
                throw forbiddenOnTask(t, actor, "change")
            }
            let before = wire.task(t, now: now)
            if let title = p.title { t.title = title }
            t.note = p.note.applied(to: t.note)
            if let due = p.due, due != t.dueAt {
                t.dueAt = due
                // A new due instant is announced again (unless the task is done).
                t.remindAt = t.doneAt == nil ? due : nil
                try tx.supersedeWorkAlerts(taskID: t.id)
            }
            if case .some(.some(let ref)) = p.assignee {
                let u = try resolveUser(tx, ref, field: "assignee")
                guard Access.canAssignTask(actor, to: u.id) else {
                    throw DomainError.forbidden("\(actor.role.withArticle) may not give a task to \(u.login).")
                }
                if u.id != t.assigneeID {
                    t.assigneeID = u.id
                    // Announced to the new assignee too: at its due instant, or now if that has passed.
                    t.remindAt = t.doneAt == nil ? (t.remindAt ?? max(t.dueAt, now)) : nil
                    try tx.supersedeWorkAlerts(taskID: t.id)
                }
            }
            t.updatedAt = now
            try tx.saveTask(t)
            let json = wire.task(t, now: now)
            try audit(tx, actor, "task", t.id, "update", before: before, after: json, at: now)
            try event(tx, "task.updated", clientID: t.clientID, ownerID: t.assigneeID, taskEvent(t, by: actor), at: now)
            return json
        }
    }

    func taskDone(_ call: Call) throws {
        let actor = call.actor
        let p = try call.decode { r in
            (id: r.int("id"), log: r.optionalObject("log"))
        }
        // `log`: the interaction the task's call or meeting was, logged in the same request.
        var logged: (result: String?, note: String?, topic: String?, contactID: Int64?, direction: String?)? = nil
        if let log = p.log {
            var r = ParamReader(.object(log))
            logged = (
                r.optionalString("result"), r.optionalString("note"), r.optionalString("topic"), r.optionalInt("contact_id"),
                r.optionalEnum("direction", ["in", "out"])
            )
            do { try r.finish() } catch { throw RPCError(code: error.code, message: "In log: \(error.message)", data: error.data) }
        }
        write(call) { [self, logged] tx, now in
            var t = try loadTask(tx, p.id)
            guard Access.canWorkTask(actor, assigneeID: t.assigneeID, creatorLogin: t.creatorLogin) else {
                throw forbiddenOnTask(t, actor, "complete")
            }
            guard t.doneAt == nil else { throw DomainError(.conflict, "Task \(t.id) is done already.") }
            var interaction: JSON = .null
            if let logged {
                guard let kind = t.kind.flatMap(InteractionKind.init(rawValue:)), kind == .call || kind == .meeting,
                    let clientID = t.clientID
                else {
                    throw DomainError.invalid("log", "is for call or meeting tasks on a client; log other contacts with interaction.log")
                }
                let c = try loadClient(tx, clientID)
                guard Access.canLogInteraction(actor, ownerID: c.ownerID) else { throw forbiddenOnClient(c, actor, "log interactions on") }
                let draft = InteractionDraft(
                    kind: kind, occurredAt: now, contactID: logged.contactID, topic: logged.topic ?? t.title, result: logged.result,
                    note: logged.note, direction: logged.direction)
                try checkDraft(tx, c, draft, prefix: "log.", now: now)
                let (saved, _, json) = try storeInteraction(tx, c, draft, dealID: t.dealID, actor: actor, now: now)
                interaction = json
                t.interactionID = saved.id
            }
            let before = wire.task(t, now: now)
            t.doneAt = now
            t.doneBy = actor.login
            t.remindAt = nil
            t.updatedAt = now
            try tx.saveTask(t)
            try tx.supersedeWorkAlerts(taskID: t.id)
            let json = wire.task(t, now: now)
            try audit(tx, actor, "task", t.id, "done", before: before, after: json, at: now)
            try event(tx, "task.done", clientID: t.clientID, ownerID: t.assigneeID, taskEvent(t, by: actor), at: now)
            guard case .object(var o) = json else { return json }
            o["interaction"] = interaction
            return .object(o)
        }
    }
}
