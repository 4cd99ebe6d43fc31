import ArgumentParser
import CRMProtocol
import Foundation

struct InvoiceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "invoice", abstract: tr("Invoices on deals and the payments received against them."),
        discussion: tr(
            """
            Amounts are typed as money (12500.50, "12 500,50") and sent in minor units; dates are days, \
            YYYY-MM-DD, in crmd's time zone. An accountant records payments (partial ones too; more than \
            the remaining amount is refused). An invoice not paid by its due date reminds the deal's owner \
            at 09:00 the next day.
            """),
        subcommands: [Add.self, Pay.self, List.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: tr("Issue an invoice on a deal."),
            discussion: tr("Example: \("crmctl invoice add 7 R-2026-017 150000 --due 2026-12-31")"))
        @OptionGroup var global: GlobalOptions
        @Argument(help: .tr("The deal's id.")) var dealID: Int
        @Argument(help: .tr("The invoice number (unique in crmd, at most 64 characters).")) var number: String
        @Argument(help: .tr("The sum as money, e.g. 150000 or '150 000,00'.")) var amount: String
        @Option(help: .tr("The due date: 20.12.2026, 20.12, tomorrow, завтра or 2026-12-20.")) var due: String
        @Option(help: .tr("A retry key: repeating the command with it never issues a second invoice.")) var requestID: String?

        func run() throws {
            var p: JSONObject = [
                "deal_id": .int(dealID), "number": .string(number), "amount": .int(try parseMoney(amount)),
                "due_date": .string(try global.day(due, option: "due")),
            ]
            if let requestID { p["request_id"] = .string(requestID) }
            try global.run("invoice.create", p) { i in
                print(
                    "created invoice #\(str(i["id"])) \(str(i["number"])) on deal #\(str(i["deal_id"])) for \(invoiceMoney(i, "amount")), due \(str(i["due_date"]))"
                )
            }
        }
    }

    struct Pay: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: tr("Record a payment received against an invoice (accountants)."),
            discussion: tr("Example: \("crmctl invoice pay 3 50000 --on 2026-12-05")"))
        @OptionGroup var global: GlobalOptions
        @Argument(help: .tr("The invoice's id.")) var id: Int
        @Argument(help: .tr("The sum received, as money.")) var amount: String
        @Option(help: .tr("The day it was paid: 05.12.2026, 05.12, today, вчера or 2026-12-05 (default: today).")) var on: String?
        @Option(help: .tr("A retry key: repeating the command with it never records the payment twice.")) var requestID: String?

        func run() throws {
            var p: JSONObject = ["id": .int(id), "amount": .int(try parseMoney(amount))]
            if let on { p["paid_on"] = .string(try global.day(on, option: "on")) }
            if let requestID { p["request_id"] = .string(requestID) }
            try global.run("invoice.pay", p) { i in
                print(
                    "invoice #\(str(i["id"])) \(str(i["number"])): \(invoiceMoney(i, "paid")) of \(invoiceMoney(i, "amount")) paid, \(statusCell(i))"
                )
                if (i["remaining"]?.intValue ?? 0) > 0 { print(tr("  remaining \(invoiceMoney(i, "remaining"))")) }
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: tr("List invoices by due date (a manager sees their own deals')."),
            discussion: tr("Example: \("crmctl invoice list --unpaid --overdue")"))
        @OptionGroup var global: GlobalOptions
        @OptionGroup var csv: CSVOption
        @Flag(help: .tr("Only invoices not paid in full.")) var unpaid = false
        @Flag(help: .tr("Only overdue invoices.")) var overdue = false
        @Option(help: .tr("Only this status: unpaid, partial or paid.")) var status: String?
        @Option(help: .tr("Only this deal's invoices.")) var deal: Int?
        @Option(help: .tr("Only invoices of this owner's deals (login or id).")) var owner: String?
        @Option(help: .tr("At most this many (1 to 1000; default 100).")) var limit: Int?
        @Option(help: .tr("Continue after this cursor (from the previous page).")) var cursor: String?

        func run() throws {
            var p: JSONObject = [:]
            if unpaid && status != nil { throw ValidationError(tr("--unpaid and --status exclude each other")) }
            if unpaid { p["status"] = "open" }
            if let status { p["status"] = .string(status) }
            if overdue { p["overdue"] = true }
            if let deal { p["deal_id"] = .int(deal) }
            if let owner { p["owner"] = userParam(owner) }
            if let limit { p["limit"] = .int(limit) }
            if let cursor { p["cursor"] = .string(cursor) }
            try global.run("invoice.list", p, csv: csv, table: invoiceCSV) { r in
                let items = r["items"]?.arrayValue ?? []
                if items.isEmpty && cursor == nil {
                    print(tr("No invoices."))
                } else {
                    printInvoiceTable(items)
                }
                if let next = r["next_cursor"]?.stringValue { print(Style.dim("more: --cursor \(next)")) }
            }
        }
    }
}

/// An invoice's amount field with its currency: "150 000.00 RUB".
func invoiceMoney(_ i: JSON, _ key: String) -> String {
    guard let a = i[key]?.intValue else { return "-" }
    return "\(moneyText(a)) \(str(i["currency"]))"
}

/// The status, in red when overdue, green when paid.
private func statusCell(_ i: JSON) -> String {
    let status = str(i["status"])
    if i["overdue"]?.boolValue == true { return Style.zone("red", "\(status), overdue") }
    return status == "paid" ? Style.zone("green", status) : status
}

func printInvoiceTable(_ items: [JSON]) {
    var t = Table(["id", "number", "deal", "owner", "amount", "paid", "remaining", "due", "status"])
    for i in items {
        t.add([
            str(i["id"]), clip(str(i["number"]), 30), str(i["deal_id"]), login(i["owner_login"]), invoiceMoney(i, "amount"),
            moneyText(i["paid"]?.intValue ?? 0), moneyText(i["remaining"]?.intValue ?? 0), str(i["due_date"]), statusCell(i),
        ])
    }
    t.print()
}

/// The list as CSV: amounts in major units with a dot.
private func invoiceCSV(_ r: JSON) -> CSVTable {
    var t = CSVTable([
        "id", "number", "deal_id", "client_id", "owner", "currency", "amount", "paid", "remaining", "due_date", "status", "overdue",
    ])
    for i in r["items"]?.arrayValue ?? [] {
        t.add([
            str(i["id"]), str(i["number"]), str(i["deal_id"]), str(i["client_id"]), login(i["owner_login"], ""), str(i["currency"]),
            str(i["amount_text"]), str(i["paid_text"]), str(i["remaining_text"]), str(i["due_date"]), str(i["status"]),
            i["overdue"]?.boolValue == true ? "yes" : "no",
        ])
    }
    return t
}
