import CRMCore
import CRMProtocol
import CRMStore
import Foundation

extension Wire {
    /// Today in the department's time zone (`zones.time_zone`): the day due dates and payment
    /// dates are compared with.
    func today(_ now: Date) -> LocalDate { LocalDate.containing(now, in: rules.thresholds.timeZone) }

    /// An invoice as every method shows it, with its payments (oldest first); `overdue` as of `now`.
    func invoice(_ line: InvoiceLine, payments: [Payment], now: Date) -> JSON {
        let i = line.invoice
        return [
            "id": .int(i.id), "deal_id": .int(i.dealID), "client_id": .int(line.clientID), "owner": .int(line.ownerID),
            "owner_login": login(line.ownerID), "number": .string(i.number), "amount": .int(i.amount), "amount_text": amountText(i.amount),
            "currency": .string(i.currency), "paid": .int(i.paid), "paid_text": amountText(i.paid), "remaining": .int(i.remaining),
            "remaining_text": amountText(i.remaining), "status": .string(i.status.rawValue), "due_date": .string(i.dueOn),
            "overdue": .bool(i.isOverdue(today: today(now))), "overdue_at": time(i.overdueAt), "creator_login": .string(i.creatorLogin),
            "payments": .array(payments.map(payment)), "created_at": time(i.createdAt), "updated_at": time(i.updatedAt),
        ]
    }

    func payment(_ p: Payment) -> JSON {
        [
            "id": .int(p.id), "amount": .int(p.amount), "amount_text": amountText(p.amount), "paid_on": .string(p.paidOn),
            "owner": .int(p.ownerID), "by": .string(p.byLogin), "at": time(p.createdAt),
        ]
    }

    /// Invoices with their payments (one query for the payments of them all).
    func invoices(_ tx: Tx, _ lines: [InvoiceLine], now: Date) throws -> [JSON] {
        let payments = try tx.payments(invoiceIDs: lines.map(\.invoice.id))
        return lines.map { invoice($0, payments: payments[$0.invoice.id] ?? [], now: now) }
    }
}
