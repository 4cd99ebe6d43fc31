public import CRMCore
public import Foundation
import GRDB

/// An invoice with what its deal says about it now: the owner, the client (and, for the
/// scheduler's reminder, the deal's title and the client's name).
public struct InvoiceLine: Sendable, Equatable {
    public var invoice: Invoice
    public var ownerID: Int64?
    public var clientID: Int64
    public var dealTitle: String
    public var clientName: String?

    public init(invoice: Invoice, ownerID: Int64?, clientID: Int64, dealTitle: String, clientName: String?) {
        self.invoice = invoice
        self.ownerID = ownerID
        self.clientID = clientID
        self.dealTitle = dealTitle
        self.clientName = clientName
    }
}

/// What `invoice.list` filters on (every field optional).
public struct InvoiceFilter: Sendable {
    public var status: InvoiceStatus?
    /// Not paid in full (unpaid or partial).
    public var open = false
    /// Overdue (true) or not (false) as of `now`.
    public var overdue: Bool?
    public var now = Date()
    public var dealID: Int64?
    /// The deal's owner now.
    public var ownerID: Int64?

    public init() {}
}

extension Tx {
    static let invoiceColumns = """
        i.id, i.deal_id, i.number, i.amount, i.currency, i.paid, i.status, i.due_on, i.overdue_at, i.remind_at, i.creator_login, \
        i.created_at, i.updated_at, d.owner_id, d.client_id, d.title
        """
    static let invoiceFrom = "FROM invoices i JOIN deals d ON d.id = i.deal_id"

    func invoiceLine(from r: Row) -> InvoiceLine {
        let i = Invoice(
            id: r[0], dealID: r[1], number: r[2], amount: r[3], currency: r[4], paid: r[5],
            status: InvoiceStatus(rawValue: r[6]) ?? .unpaid, dueOn: r[7], overdueAt: date(r[8] as Int64),
            remindAt: dateOpt(r[9] as Int64?), creatorLogin: r[10], createdAt: date(r[11] as Int64), updatedAt: date(r[12] as Int64))
        return InvoiceLine(invoice: i, ownerID: r[13], clientID: r[14], dealTitle: r[15], clientName: nil)
    }

    /// Stores a new invoice; its id is assigned.
    public func insertInvoice(_ i: Invoice) throws -> Invoice {
        try exec(
            """
            INSERT INTO invoices(deal_id, number, amount, currency, paid, status, due_on, overdue_at, remind_at, creator_login, created_at,
              updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                i.dealID, i.number, i.amount, i.currency, i.paid, i.status.rawValue, i.dueOn, ms(i.overdueAt), msOpt(i.remindAt),
                i.creatorLogin, ms(i.createdAt), ms(i.updatedAt),
            ])
        var saved = i
        saved.id = lastID
        return saved
    }

    /// Writes what a payment changes on an invoice: paid, status, the reminder instant.
    public func saveInvoicePaid(_ i: Invoice) throws {
        try exec(
            "UPDATE invoices SET paid = ?, status = ?, remind_at = ?, updated_at = ? WHERE id = ?",
            [i.paid, i.status.rawValue, msOpt(i.remindAt), ms(i.updatedAt), i.id])
    }

    /// The scheduler is done with an invoice's reminder.
    public func invoiceReminded(id: Int64) throws {
        try prepared("UPDATE invoices SET remind_at = NULL WHERE id = ?").run(id)
    }

    public func invoice(id: Int64) throws -> InvoiceLine? {
        try row("SELECT \(Self.invoiceColumns) \(Self.invoiceFrom) WHERE i.id = ?", [id]).map(invoiceLine(from:))
    }

    /// The invoice with `number` (numbers are unique across crmd).
    public func invoiceID(number: String) throws -> Int64? {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT id FROM invoices WHERE number = ?"), arguments: [number])
    }

    /// How many invoices a deal has.
    public func invoiceCount(dealID: Int64) throws -> Int {
        try Int.fetchOne(db.cachedStatement(sql: "SELECT count(*) FROM invoices WHERE deal_id = ?"), arguments: [dealID]) ?? 0
    }

    /// A deal's invoices, oldest first (at most `limit`).
    public func invoices(dealID: Int64, limit: Int) throws -> [InvoiceLine] {
        try rows("SELECT \(Self.invoiceColumns) \(Self.invoiceFrom) WHERE i.deal_id = ? ORDER BY i.id LIMIT ?", [dealID, limit]).map(
            invoiceLine(from:))
    }

    /// A page of invoices matching `f`, by due date then id. The cursor is `overdue_at:id` (the
    /// overdue instant orders as the due date does).
    public func invoices(_ f: InvoiceFilter, cursor: String?, limit: Int) throws -> Page<InvoiceLine> {
        var w = SQLFilter()
        w.add("i.status = ?", ifSet: f.status?.rawValue)
        if f.open || f.overdue == true { w.add("i.status != 'paid'") }
        if let o = f.overdue { w.add(o ? "i.overdue_at <= ?" : "(i.status = 'paid' OR i.overdue_at > ?)", ms(f.now)) }
        w.add("i.deal_id = ?", ifSet: f.dealID)
        w.add("d.owner_id = ?", ifSet: f.ownerID)
        if let c = cursor {
            let parts = c.split(separator: ":")
            if parts.count == 2, let a = Int64(parts[0]), let b = Int64(parts[1]) { w.add("(i.overdue_at, i.id) > (?, ?)", a, b) }
        }
        return try page(
            "SELECT \(Self.invoiceColumns) \(Self.invoiceFrom)", w, order: "i.overdue_at, i.id", limit: limit, invoiceLine(from:)
        ) {
            "\(ms($0.invoice.overdueAt)):\($0.invoice.id)"
        }
    }

    /// Invoices whose reminder is due at or before `instant`, soonest first, with their deal and
    /// client (for the reminder's words). Index `invoices_remind`.
    public func dueInvoices(upTo instant: Date, limit: Int) throws -> [InvoiceLine] {
        try rows(
            """
            SELECT \(Self.invoiceColumns), c.name \(Self.invoiceFrom) LEFT JOIN clients c ON c.id = d.client_id
            WHERE i.remind_at IS NOT NULL AND i.remind_at <= ? ORDER BY i.remind_at, i.id LIMIT ?
            """, [ms(instant), limit]
        ).map { r in
            var line = invoiceLine(from: r)
            line.clientName = r[16]
            return line
        }
    }

    /// Stores a payment; its id is assigned.
    public func insertPayment(_ p: Payment) throws -> Payment {
        try exec(
            """
            INSERT INTO payments(invoice_id, deal_id, owner_id, amount, currency, paid_on, paid_at, by_login, created_at)
            VALUES (?1, ?2, ?3, ?4, (SELECT currency FROM invoices WHERE id = ?1), ?5, ?6, ?7, ?8)
            """, [p.invoiceID, p.dealID, p.ownerID, p.amount, p.paidOn, ms(p.paidAt), p.byLogin, ms(p.createdAt)])
        var saved = p
        saved.id = lastID
        return saved
    }

    /// The payments of these invoices, oldest first, by invoice. Index `payments_invoice`.
    public func payments(invoiceIDs: [Int64]) throws -> [Int64: [Payment]] {
        guard !invoiceIDs.isEmpty else { return [:] }
        var out: [Int64: [Payment]] = [:]
        // At most 1000 invoices a page: one statement, well under SQLite's parameter limit.
        let marks = Array(repeating: "?", count: invoiceIDs.count).joined(separator: ", ")
        for r in try Row.fetchAll(
            db,
            sql: """
                SELECT id, invoice_id, deal_id, owner_id, amount, paid_on, paid_at, by_login, created_at FROM payments
                WHERE invoice_id IN (\(marks)) ORDER BY invoice_id, id
                """, arguments: StatementArguments(invoiceIDs))
        {
            let p = Payment(
                id: r[0], invoiceID: r[1], dealID: r[2], ownerID: r[3], amount: r[4], paidOn: r[5], paidAt: date(r[6] as Int64),
                byLogin: r[7], createdAt: date(r[8] as Int64))
            out[p.invoiceID, default: []].append(p)
        }
        return out
    }

    /// How many payments an invoice has.
    public func paymentCount(invoiceID: Int64) throws -> Int {
        try Int.fetchOne(db.cachedStatement(sql: "SELECT count(*) FROM payments WHERE invoice_id = ?"), arguments: [invoiceID]) ?? 0
    }
}
