import ArgumentParser
import CRMProtocol
import Foundation

extension ReportCommand {
    struct Exchange: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: tr("Per manager: clients released and claimed, days on the exchange, and what came of claims."),
            discussion: tr(
                """
                For the clients a manager claimed in the period: the share contacted within 7 days of the \
                claim, the share with a deal opened within 90 days, and the revenue of deals won within 90 \
                days; next to the same figures for the clients they kept (led since before the period and \
                still led, counted from its start). See docs/rules.md, "The exchange report". Managers see \
                their own row only.
                """))
        @OptionGroup var global: GlobalOptions
        @OptionGroup var span: ReportSpan
        @OptionGroup var csv: CSVOption

        func run() throws {
            try global.run("report.exchange", span.params, csv: csv, table: exchangeCSV, render: printExchangeReport)
        }
    }
}

private let exchangeColumns = [
    "released", "claimed", "avg_days_on_exchange", "claimed_contacted_7d", "claimed_contacted_7d_bp", "claimed_deal_90d",
    "claimed_deal_90d_bp", "claimed_revenue_90d", "kept", "kept_contacted_7d", "kept_contacted_7d_bp", "kept_deal_90d", "kept_deal_90d_bp",
    "kept_revenue_90d",
]

/// Days with their decimal (the average days on the exchange), "-" for none.
private func days(_ v: JSON?) -> String {
    switch v {
    case .int(let i)?: return String(i)
    case .double(let d)?: return String(d)
    default: return "-"
    }
}

private func exchangeCSV(_ r: JSON) -> CSVTable {
    var t = CSVTable(["user", "login"] + exchangeColumns)
    for i in (r["items"]?.arrayValue ?? []) + [r["totals"] ?? .null] {
        t.add(
            [num(i["user"]), i["login"]?.stringValue ?? "total"]
                + exchangeColumns.map {
                    $0.hasSuffix("revenue_90d") ? csvMoney(i[$0]) : $0 == "avg_days_on_exchange" ? days(i[$0]) : num(i[$0])
                })
    }
    return t
}

private func printExchangeReport(_ r: JSON) {
    print(
        tr("the exchange from \(str(r["from"])) to \(str(r["to"])) (\(str(r["currency"])))")
            + (r["scope"] == "own" ? tr(", your row only") : ""))
    let items = r["items"]?.arrayValue ?? []
    guard !items.isEmpty else {
        print(tr("no managers"))
        return
    }
    func share(_ v: JSON?) -> String { v?.intValue.map { percentText(bp: $0) } ?? "-" }
    func money(_ v: JSON?) -> String { v?.intValue.map { moneyText($0) } ?? "-" }
    var t = Table([
        "manager", "released", "claimed", "days on exch.", "claimed: contact 7d", "deal 90d", "revenue", "kept", "kept: contact 7d",
        "deal 90d",
        "revenue",
    ])
    for i in items + [r["totals"] ?? .null] {
        t.add([
            i["login"]?.stringValue ?? tr("total"), num(i["released"]), num(i["claimed"]),
            days(i["avg_days_on_exchange"]), share(i["claimed_contacted_7d_bp"]),
            share(i["claimed_deal_90d_bp"]), money(i["claimed_revenue_90d"]), num(i["kept"]), share(i["kept_contacted_7d_bp"]),
            share(i["kept_deal_90d_bp"]), money(i["kept_revenue_90d"]),
        ])
    }
    t.print()
}
