import CRMCore
import CRMProtocol
import CRMStore
import Foundation

/// `invoice.*`: invoices issued on deals and the payments an accountant records against them
/// (issue 18, seed 002 item 8). Amounts are minor units in the deal's currency; dates are local
/// days in the department's zone. A payment is credited to the deal's owner at the time it is
/// recorded (plans' `revenue_paid`, commission on the paid basis); an invoice not paid in full by
/// its due date reminds the owner through the alert engine (``WorkEngine/invoiceDue``).
struct InvoiceHandlers: HandlerGroup {
    let context: ServerContext

    var timeZone: TimeZone { rules.thresholds.timeZone }

    /// A `YYYY-MM-DD` param as a local date (nil, with a problem, when missing or malformed).
    func dayParam(_ r: inout ParamReader, _ key: String, required: Bool) -> LocalDate? {
        guard let text = r.optionalString(key) else {
            if required { r.problem(key, "is required (a date like 2026-12-31)") }
            return nil
        }
        guard let d = LocalDate(text) else {
            r.problem(key, "must be a date like 2026-12-31, not '\(text.prefix(20))'")
            return nil
        }
        return d
    }

    /// A positive amount in minor units, at most 10^13.
    func amountParam(_ r: inout ParamReader, _ key: String) -> Int64 {
        let a = r.int(key)
        if !r.problems.contains(where: { $0.field == key }), !(1...InvoiceRules.maxAmount).contains(a) {
            r.problem(key, "must be a sum in minor units (kopecks) from 1 to 10^13")
        }
        return a
    }

    func loadInvoice(_ tx: Tx, _ id: Int64) throws -> InvoiceLine {
        guard let i = try tx.invoice(id: id) else { throw DomainError.notFound("invoice", id) }
        return i
    }

    func invoiceCreate(_ call: Call) throws {
        let actor = call.actor
        let (dealID, number, amount, due) = try call.decode { r -> (Int64, String, Int64, LocalDate?) in
            let dealID = r.int("deal_id")
            let number = r.string("number")
            if !number.isEmpty, let p = InvoiceRules.numberProblem(number) { r.problem("number", .verbatim(p)) }
            return (dealID, number, amountParam(&r, "amount"), dayParam(&r, "due_date", required: true))
        }
        guard let due else { throw DomainError.invalid("due_date", "must be a date like 2026-12-31") }
        let maxPerDeal = settings.domain.deals.maxInvoicesPerDeal
        let zone = timeZone
        write(call) { [self] tx, now in
            if let p = InvoiceRules.dueDateProblem(due, today: wire.today(now)) { throw DomainError.invalid("due_date", p) }
            guard let d = try tx.deal(id: dealID) else { throw DomainError.notFound("deal", dealID) }
            guard InvoiceRules.canCreate(actor, dealOwnerID: d.ownerID) else {
                let owner = d.ownerID.flatMap { users.user(id: $0)?.login } ?? "nobody"
                throw DomainError(
                    .forbidden,
                    "You (\(actor.login), \(actor.role.rawValue)) may not invoice deal \(d.id): it is \(owner)'s. Its owner, a head or an accountant may.",
                    details: [("deal_id", .int(d.id)), ("owner", .string(owner))])
            }
            guard d.status != .lost else {
                throw DomainError(
                    .conflict,
                    "Deal \(d.id) is lost (\(d.lostReason ?? "no reason")); nothing is invoiced on a lost deal. A head may reopen it (deal.reopen) first.",
                    details: [("deal_id", .int(d.id)), ("status", .string(d.status.rawValue))])
            }
            if let taken = try tx.invoiceID(number: number) {
                throw DomainError(
                    .conflict, "Invoice number '\(number)' is taken by invoice \(taken); invoice numbers are unique, use another.",
                    fields: [("number", "is taken")], details: [("invoice_id", .int(taken))])
            }
            let count = try tx.invoiceCount(dealID: d.id)
            if count >= maxPerDeal {
                throw DomainError(
                    .limitReached, "Deal \(d.id) has \(count) invoices, the most invoices.max_per_deal allows.",
                    details: [("kind", .string("invoices_per_deal")), ("limit", .int(Int64(maxPerDeal)))])
            }
            let invoice = try tx.insertInvoice(
                Invoice(
                    id: 0, dealID: d.id, number: number, amount: amount, currency: d.currency, paid: 0, status: .unpaid,
                    dueOn: due.description, overdueAt: InvoiceRules.overdueAt(due, in: zone),
                    remindAt: InvoiceRules.remindAt(due, in: zone),
                    creatorLogin: actor.login, createdAt: now, updatedAt: now))
            let line = InvoiceLine(invoice: invoice, ownerID: d.ownerID, clientID: d.clientID, dealTitle: d.title, clientName: nil)
            let json = wire.invoice(line, payments: [], now: now)
            try audit(tx, actor, "invoice", invoice.id, "create", before: nil, after: json, at: now)
            try event(tx, "invoice.created", clientID: d.clientID, ownerID: d.ownerID, json, at: now)
            return json
        }
    }

    func invoicePay(_ call: Call) throws {
        let actor = call.actor
        let (id, amount, paidOn) = try call.decode { r in (r.int("id"), amountParam(&r, "amount"), dayParam(&r, "paid_on", required: false))
        }
        guard InvoiceRules.canPay(actor) else {
            throw DomainError.forbidden(
                "You (\(actor.login), \(actor.role.rawValue)) may not record payments; an accountant (or an admin) records them.")
        }
        let zone = timeZone
        write(call) { [self] tx, now in
            var line = try loadInvoice(tx, id)
            let before = line.invoice
            let today = wire.today(now)
            let day = paidOn ?? today
            if let p = InvoiceRules.paidOnProblem(day, today: today, issued: LocalDate.containing(before.createdAt, in: zone)) {
                throw DomainError.invalid("paid_on", p)
            }
            if let remaining = InvoiceRules.overpayment(before, paying: amount) {
                let left = wire.amountText(remaining).stringValue ?? ""
                throw DomainError(
                    .conflict,
                    remaining == 0
                        ? "Invoice \(before.number) (id \(before.id)) is paid in full; nothing more can be paid on it."
                        : "Paying \(wire.amountText(amount).stringValue ?? "") \(before.currency) on invoice \(before.number) (id \(before.id)) would overpay it: \(left) \(before.currency) remains. Record at most the remaining amount.",
                    details: [("reason", .string("overpayment")), ("remaining", .int(remaining)), ("invoice_id", .int(before.id))])
            }
            let count = try tx.paymentCount(invoiceID: before.id)
            if count >= InvoiceRules.maxPaymentsPerInvoice {
                throw DomainError(
                    .limitReached, "Invoice \(before.number) has \(count) payments, the most one invoice may take.",
                    details: [("kind", .string("payments_per_invoice")), ("limit", .int(Int64(InvoiceRules.maxPaymentsPerInvoice)))])
            }
            let paidAt = day.instant(in: zone)
            let payment = try tx.insertPayment(
                Payment(
                    id: 0, invoiceID: before.id, dealID: before.dealID, ownerID: line.ownerID, amount: amount, paidOn: day.description,
                    paidAt: paidAt, byLogin: actor.login, createdAt: now))
            var i = before
            i.paid += amount
            i.status = InvoiceStatus.of(amount: i.amount, paid: i.paid)
            i.updatedAt = now
            if i.status == .paid {
                // Paid before the reminder: nothing fires; after it, a reminder still waiting
                // for working hours is dropped.
                i.remindAt = nil
                try tx.supersedeWorkAlerts(invoiceID: i.id)
            }
            try tx.saveInvoicePaid(i)
            line.invoice = i
            let payments = try tx.payments(invoiceIDs: [i.id])[i.id] ?? [payment]
            let json = wire.invoice(line, payments: payments, now: now)
            let beforeJSON: JSON = ["paid": .int(before.paid), "status": .string(before.status.rawValue)]
            try audit(tx, actor, "invoice", i.id, "pay", before: beforeJSON, after: json, at: now)
            let data: JSON = [
                "invoice": json, "invoice_id": .int(i.id), "deal_id": .int(i.dealID), "payment_id": .int(payment.id),
                "amount": .int(amount),
                "paid_on": .string(payment.paidOn), "paid": .int(i.paid), "status": .string(i.status.rawValue), "by": .string(actor.login),
            ]
            try event(tx, "invoice.paid", clientID: line.clientID, ownerID: line.ownerID, data, at: now)
            try planFactsMoved(tx, userID: line.ownerID, metrics: [.revenuePaid], at: paidAt)
            return json
        }
    }

    func invoiceList(_ call: Call) throws {
        let actor = call.actor
        let (ownerRef, filter, limit, cursor) = try call.decode { r -> (UserRef??, InvoiceFilter, Int, String?) in
            var f = InvoiceFilter()
            switch r.optionalEnum("status", ["unpaid", "partial", "paid", "open"]) {
            case "open": f.open = true
            case let s?: f.status = InvoiceStatus(rawValue: s)
            case nil: break
            }
            f.overdue = r.optionalBool("overdue")
            f.dealID = r.optionalInt("deal_id")
            return (userRef(&r, "owner"), f, r.limit(), r.cursor())
        }
        guard InvoiceRules.seesAll(actor) || actor.role == .manager else {
            throw DomainError.forbidden(
                "You (\(actor.login), \(actor.role.rawValue)) may not list invoices; accountants, heads, directors and the deals' owners may."
            )
        }
        try read(call) { tx, now in
            var f = filter
            f.now = now
            if case .some(.some(let ref)) = ownerRef { f.ownerID = try resolveUser(tx, ref, field: "owner", inactive: true).id }
            if let dealID = f.dealID {
                guard let d = try tx.deal(id: dealID) else { throw DomainError.notFound("deal", dealID) }
                guard InvoiceRules.canSee(actor, dealOwnerID: d.ownerID) else {
                    throw DomainError(
                        .forbidden, "Deal \(d.id) is not yours; a manager sees the invoices of their own deals only.",
                        details: [("deal_id", .int(d.id))])
                }
            }
            // A manager lists their own deals' invoices only, whatever filter they pass.
            if !InvoiceRules.seesAll(actor) {
                if let asked = f.ownerID, asked != actor.userID {
                    throw DomainError.forbidden("A manager sees only their own deals' invoices; leave out owner or name yourself.")
                }
                f.ownerID = actor.userID ?? -1
            }
            let page = try tx.invoices(f, cursor: cursor, limit: limit)
            return ["items": .array(try wire.invoices(tx, page.items, now: now)), "next_cursor": .string(page.nextCursor)]
        }
    }
}
