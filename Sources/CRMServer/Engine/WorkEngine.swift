import CRMCore
import CRMProtocol
import CRMStore
import CRMText
import Foundation

/// The deal cadence and the tasks' due instants, applied by the scheduler beside the zones: a
/// deal whose stage's cadence ran out since the owner's last contact falls overdue at that exact
/// instant (`deal.overdue`, a reminder to the owner, a copy to the heads after
/// `deals.overdue_head_grace`); a task is announced when it falls due (`task.due`, a reminder to
/// its assignee); an invoice not paid by its due date reminds the deal's owner the next morning
/// (`invoice.overdue`). Reminders go through the alert engine: stored, then delivered in working hours.
struct WorkEngine: Sendable {
    let live: LiveSettings
    let users: UserDirectory
    /// The settings a pass runs with, taken once (nil: the ones in force at each read).
    var pinned: LiveSettings.Snapshot? = nil

    var current: LiveSettings.Snapshot { pinned ?? live.current }
    var settings: Settings { current.settings }
    var dealRules: DealRules { current.dealRules }
    var workingHours: WorkingHours { current.workingHours }

    /// Applies the deal and task work due up to `now`, at most `limit` of each. Returns how many
    /// rows were due (of the larger kind) and the events recorded.
    func applyDue(_ tx: Tx, upTo now: Date, limit: Int) throws -> (due: Int, events: Int) {
        let heads = try tx.allUsers().filter(Access.getsRedZoneCopies)
        // One settings snapshot for the whole batch, not a lock per deal.
        let engine = WorkEngine(live: live, users: users, pinned: live.current)
        var events = 0
        let deals = try tx.dueDeals(upTo: now, limit: limit)
        for (d, name) in deals { events += try engine.dealDue(tx, d, clientName: name, now: now, heads: heads) }
        let tasks = try tx.dueTasks(upTo: now, limit: limit)
        for t in tasks { events += try engine.taskDue(tx, t, now: now) }
        let invoices = try tx.dueInvoices(upTo: now, limit: limit)
        for i in invoices { events += try engine.invoiceDue(tx, i, now: now) }
        return (max(deals.count, tasks.count, invoices.count), events)
    }

    func dealDue(_ tx: Tx, _ deal: Deal, clientName name: String?, now: Date, heads: [User]) throws -> Int {
        var d = deal
        var events = 0
        guard d.status == .open, let due = d.nextContactDue else {
            d.dueAt = nil
            try tx.saveDealOverdue(d)
            return 0
        }
        let clientName = name ?? "client \(d.clientID)"
        if d.overdueStage == 0 {
            guard due <= now else {
                d.dueAt = due
                try tx.saveDealOverdue(d)
                return 0
            }
            d.overdueStage = 1
            let cadence = dealRules.settings.pipeline(d.pipeline)?.stage(d.stage)?.cadence?.description ?? "?"
            var data = JSONObjectWriter(capacity: 256)
            data.add("deal_id", d.id)
            data.add("client_id", d.clientID)
            data.add("title", d.title)
            data.add("owner", d.ownerID)
            data.add("owner_login", d.ownerID.flatMap { users.user(id: $0)?.login })
            data.add("pipeline", d.pipeline)
            data.add("stage", d.stage)
            data.add("cadence", cadence)
            data.add("last_contact_at", RFC3339.format(d.lastContactAt))
            data.add("overdue_since", RFC3339.format(due))
            try event(tx, "deal.overdue", clientID: d.clientID, ownerID: d.ownerID, text: data.string(), at: due)
            events += 1
            if let owner = d.ownerID {
                let message = Phrase(
                    "Deal '\(d.title)' (id \(d.id)) with \(clientName) is overdue: no contact since \(local(d.lastContactAt)); at '\(d.stage)' the client is to be contacted every \(cadence). Call or meet them and log it."
                )
                events += try remind(
                    tx, userID: owner, dealID: d.id, taskID: nil, kind: "deal_overdue", message: message, due: due, now: now)
            }
            d.dueAt = heads.isEmpty ? nil : dealRules.headCopyAt(d)
        }
        if d.overdueStage == 1, let copyAt = d.dueAt, copyAt <= now {
            let owner = d.ownerID.flatMap { users.user(id: $0)?.login } ?? "nobody"
            let message = Phrase(
                "Deal '\(d.title)' (id \(d.id)) of \(owner) with \(clientName) has gone without contact since \(local(d.lastContactAt)) (stage '\(d.stage)')."
            )
            for head in heads where head.id != d.ownerID {
                events += try remind(
                    tx, userID: head.id, dealID: d.id, taskID: nil, kind: "deal_overdue_copy", message: message, due: copyAt, now: now)
            }
            d.overdueStage = 2
            d.dueAt = nil
        }
        try tx.saveDealOverdue(d)
        return events
    }

    func taskDue(_ tx: Tx, _ t: TaskItem, now: Date) throws -> Int {
        try tx.taskAnnounced(id: t.id)
        guard t.doneAt == nil else { return 0 }
        var data = JSONObjectWriter(capacity: 192)
        data.add("task_id", t.id)
        data.add("title", t.title)
        data.add("assignee", t.assigneeID)
        data.add("assignee_login", users.user(id: t.assigneeID)?.login)
        data.add("client_id", t.clientID)
        data.add("deal_id", t.dealID)
        data.add("due_at", RFC3339.format(t.dueAt))
        try event(tx, "task.due", clientID: t.clientID, ownerID: t.assigneeID, text: data.string(), at: t.dueAt)
        let message: Phrase =
            t.clientID.flatMap({ id in (try? tx.clientHeader(id: id))??.name }).map {
                Phrase("Task '\(t.title)' (id \(t.id)) (\($0)) is due: \(local(t.dueAt)).")
            } ?? Phrase("Task '\(t.title)' (id \(t.id)) is due: \(local(t.dueAt)).")
        return 1
            + (try remind(tx, userID: t.assigneeID, dealID: nil, taskID: t.id, kind: "task_due", message: message, due: t.dueAt, now: now))
    }

    /// An invoice not paid in full reached its reminder instant (09:00 local the day after its due
    /// date): `invoice.overdue` and a reminder to the deal's owner, once (the instant is cleared).
    /// A payment in full clears the instant before it comes and drops a reminder still waiting
    /// for working hours.
    func invoiceDue(_ tx: Tx, _ line: InvoiceLine, now: Date) throws -> Int {
        let i = line.invoice
        try tx.invoiceReminded(id: i.id)
        guard i.status != .paid, let due = i.remindAt else { return 0 }
        let wire = Wire(live: live, users: users)
        let client = line.clientName ?? "client \(line.clientID)"
        var data = JSONObjectWriter(capacity: 320)
        data.add("invoice_id", i.id)
        data.add("number", i.number)
        data.add("deal_id", i.dealID)
        data.add("client_id", line.clientID)
        data.add("owner", line.ownerID)
        data.add("owner_login", line.ownerID.flatMap { users.user(id: $0)?.login })
        data.add("amount", i.amount)
        data.add("paid", i.paid)
        data.add("remaining", i.remaining)
        data.add("currency", i.currency)
        data.add("due_date", i.dueOn)
        data.add("overdue_since", RFC3339.format(i.overdueAt))
        try event(tx, "invoice.overdue", clientID: line.clientID, ownerID: line.ownerID, text: data.string(), at: due)
        guard let owner = line.ownerID else { return 1 }
        let remaining = wire.amountText(i.remaining).stringValue ?? ""
        let amount = wire.amountText(i.amount).stringValue ?? ""
        let message = Phrase(
            "Invoice \(i.number) (id \(i.id)) to \(client) on deal '\(line.dealTitle)' (id \(i.dealID)) is overdue: due \(LocalTime.day(i.dueOn)), \(remaining) \(i.currency) of \(amount) \(i.currency) still unpaid. Remind the client to pay."
        )
        return 1
            + (try remind(
                tx, userID: owner, dealID: nil, taskID: nil, invoiceID: i.id, kind: "invoice_overdue", message: message, due: due, now: now))
    }

    /// Stores a reminder due at `due` for delivery in working hours: at once (with its `alert`
    /// event) when the hour has come, else for the deliverer at the next working hour. Nothing is
    /// pending about the deal or task for this user then (a contact, a change or completion drops
    /// what was), so no older reminder is looked for.
    /// An instant as the department reads it (`zones.time_zone`).
    func local(_ d: Date) -> String { LocalTime.dateTime(d, settings.domain.zones.timeZone) }

    func remind(
        _ tx: Tx, userID: Int64, dealID: Int64?, taskID: Int64?, invoiceID: Int64? = nil, kind: String, message phrase: Phrase, due: Date,
        now: Date
    ) throws -> Int {
        let message = phrase.rendered(users.lang(of: userID, fallback: settings.domain.language))
        let deliverAt = workingHours.nextDeliveryInstant(at: max(due, now))
        let deliverNow = deliverAt <= now
        let command = deliverNow && settings.deliveryCommand != nil
        let id = try tx.insertWorkAlert(
            userID: userID, dealID: dealID, taskID: taskID, invoiceID: invoiceID, kind: kind, message: message, dueAt: due,
            deliverAt: deliverAt, now: now, deliveredAt: deliverNow ? now : nil, command: command, supersede: false)
        guard deliverNow else { return 0 }
        let stored = StoredAlert(
            id: id, userID: userID, clientID: nil, kind: kind, daysLeft: nil, zone: nil, message: message, dueAt: due, deliverAt: deliverAt,
            deliveredAt: now, ackedAt: nil, superseded: false, commandStatus: command ? "pending" : nil, commandAttempts: 0,
            commandError: nil,
            createdAt: now, dealID: dealID, taskID: taskID, invoiceID: invoiceID)
        try event(tx, "alert", clientID: nil, ownerID: userID, text: AlertText.text(stored), at: now)
        return 1
    }
}
