import ArgumentParser
import CRMProtocol
import Foundation

/// A report's period: `--period 2026-12` (a month, `2026-W49` a week, `2026-Q4` a quarter, in
/// the department's zone) or `--from`/`--to` (RFC 3339, or a day `YYYY-MM-DD`: `--to` includes it).
struct ReportSpan: ParsableArguments {
    @Option(help: .tr("A month (2026-12), an ISO week (2026-W49) or a quarter (2026-Q4), in the department's time zone."))
    var period: String?
    @Option(help: .tr("Period start (01.12.2026, 01.12, today; RFC 3339 or YYYY-MM-DD in UTC), with --to.")) var from: String?
    @Option(help: .tr("Period end (a day such as 31.12 or YYYY-MM-DD is included; or an instant), with --from.")) var to: String?

    func validate() throws {
        if period != nil && (from != nil || to != nil) { throw ValidationError(tr("give --period or --from/--to, not both")) }
        if period == nil && (from == nil || to == nil) { throw ValidationError(tr("give --period (e.g. 2026-12) or both --from and --to")) }
    }

    var params: JSONObject {
        var p: JSONObject = [:]
        if let period { p["period"] = .string(period) }
        if let from { p["from"] = .string(periodInstant(from, endOfDay: false)) }
        if let to { p["to"] = .string(periodInstant(to, endOfDay: true)) }
        return p
    }
}

/// A rate in basis points as a percent: 200 -> "2%", 250 -> "2.5%", 1 -> "0.01%".
func percentText(bp: Int64) -> String {
    let whole = bp / 100
    let rest = bp % 100
    if rest == 0 { return "\(whole)%" }
    return rest % 10 == 0 ? "\(whole).\(rest / 10)%" : "\(whole).\(rest < 10 ? "0" : "")\(rest)%"
}

/// Minor units as a plain number for a spreadsheet: "12500.50".
func csvMoney(_ v: JSON?) -> String {
    guard let m = v?.intValue else { return "" }
    let a = m.magnitude
    return "\(m < 0 ? "-" : "")\(a / 100).\(a % 100 < 10 ? "0" : "")\(a % 100)"
}

/// A bar of `value` out of `max` in `width` cells (at least one for a non-zero value).
func bar(_ value: Int64, of max: Int64, width: Int) -> String {
    guard max > 0, value > 0, width > 0 else { return "" }
    let n = Swift.max(1, Int((Double(value) * Double(width) / Double(max)).rounded()))
    return String(repeating: "█", count: Swift.min(n, width))
}

extension ReportCommand {
    struct Commission: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: tr("Commission per manager for a period: deals counted, base, rate and commission."),
            discussion: tr(
                """
                The basis (won amounts or payments) and the rates are crmd's settings (commission.*) and \
                each user's rate (user update --commission). --lines lists every deal line with the rate \
                it earned and where the rate came from. Managers see only their own row.
                """))
        @OptionGroup var global: GlobalOptions
        @OptionGroup var span: ReportSpan
        @OptionGroup var csv: CSVOption
        @Option(help: .tr("One manager (login or id).")) var user: String?
        @Flag(help: .tr("Show each deal line.")) var lines = false

        func run() throws {
            var p = span.params
            if let user { p["user"] = userParam(user) }
            if lines { p["lines"] = true }  // a year's lines are large: asked for only when shown
            try global.run("report.commission", p, csv: csv, table: { commissionCSV($0, lines: lines) }) {
                printCommission($0, lines: lines)
            }
        }
    }

    struct Sales: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: tr(
                "Won and lost deals, win rate, payments, average deal and duration, per manager, team, source, segment or pipeline."),
            discussion:
                tr("Amounts in the department currency; won deals in other currencies are listed apart. Managers see only their own deals.")
        )
        @OptionGroup var global: GlobalOptions
        @OptionGroup var span: ReportSpan
        @OptionGroup var csv: CSVOption
        @Option(help: .tr("Slice by manager (default), team, source, segment or pipeline.")) var by: String?

        func run() throws {
            var p = span.params
            if let by { p["by"] = .string(by) }
            try global.run("report.sales", p, csv: csv, table: salesCSV, render: printSales)
        }
    }
}

private func commissionCSV(_ r: JSON, lines: Bool) -> CSVTable {
    let items = r["items"]?.arrayValue ?? []
    if lines {
        var t = CSVTable(["manager", "deal_id", "title", "client_id", "base", "rate_bp", "rate_source", "commission"])
        for i in items {
            for l in i["lines"]?.arrayValue ?? [] {
                t.add([
                    str(i["login"]), num(l["deal_id"]), str(l["title"]), num(l["client_id"]), csvMoney(l["base"]), num(l["rate_bp"]),
                    str(l["rate_source"]), csvMoney(l["commission"]),
                ])
            }
        }
        return t
    }
    var t = CSVTable(["manager", "deals", "base", "rate_bp", "commission"])
    for i in items {
        t.add([
            str(i["login"]), String(i["deals"]?.arrayValue?.count ?? 0), csvMoney(i["base"]), num(i["rate_bp"]), csvMoney(i["commission"]),
        ])
    }
    return t
}

private func printCommission(_ r: JSON, lines: Bool) {
    let currency = str(r["currency"])
    print(tr("commission from \(str(r["from"])) to \(str(r["to"])), basis \(str(r["basis"])) (\(currency))"))
    let items = r["items"]?.arrayValue ?? []
    guard !items.isEmpty else {
        print(tr("no deals counted in this period"))
        return
    }
    var t = Table(["manager", "deals", "base", "rate", "commission"])
    for i in items {
        t.add([
            login(i["login"], tr("user #\(num(i["user"]))")), String(i["deals"]?.arrayValue?.count ?? 0),
            moneyText(i["base"]?.intValue ?? 0),
            percentText(bp: i["rate_bp"]?.intValue ?? 0), moneyText(i["commission"]?.intValue ?? 0),
        ])
    }
    if items.count > 1 {
        t.add([
            tr("total"), String(items.reduce(0) { $0 + ($1["deals"]?.arrayValue?.count ?? 0) }),
            moneyText(r["total"]?["base"]?.intValue ?? 0),
            "",
            moneyText(r["total"]?["commission"]?.intValue ?? 0),
        ])
    }
    print()
    t.print()
    guard lines else { return }
    for i in items {
        print("\n\(login(i["login"])):")
        var lt = Table(["deal", "title", "base", "rate", "from", "commission"])
        for l in i["lines"]?.arrayValue ?? [] {
            lt.add([
                "#\(num(l["deal_id"]))", clip(str(l["title"]), 40), moneyText(l["base"]?.intValue ?? 0),
                percentText(bp: l["rate_bp"]?.intValue ?? 0),
                str(l["rate_source"]), moneyText(l["commission"]?.intValue ?? 0),
            ])
        }
        lt.print()
    }
}

private func salesCSV(_ r: JSON) -> CSVTable {
    var t = CSVTable(["slice", "won", "won_amount", "lost", "lost_reasons", "win_rate_percent", "paid", "average_won", "average_days"])
    for i in (r["items"]?.arrayValue ?? []) + [
        r["total"].map { row -> JSON in
            var o = row.objectValue ?? [:]; o["slice"] = "total"; return .object(o)
        } ?? .null
    ] where !i.isNull {
        t.add([
            str(i["slice"]), num(i["won"]), csvMoney(i["won_amount"]), num(i["lost"]), reasonsText(i["lost_reasons"]),
            num(i["win_rate_percent"]),
            csvMoney(i["paid"]), csvMoney(i["average_won"]), i["average_days"].map { $0.isNull ? "" : str($0) } ?? "",
        ])
    }
    return t
}

private func reasonsText(_ v: JSON?) -> String {
    (v?.objectValue?.members ?? []).map { "\($0.key) \(num($0.value))" }.joined(separator: "; ")
}

private func printSales(_ r: JSON) {
    print(tr("sales by \(Language.header(str(r["by"]))) from \(str(r["from"])) to \(str(r["to"])) (\(str(r["currency"])))"))
    let items = r["items"]?.arrayValue ?? []
    guard !items.isEmpty else {
        print(tr("no deals closed and no payments in this period"))
        return
    }
    let maxWon = items.compactMap { $0["won_amount"]?.intValue }.max() ?? 0
    var t = Table(["", "won", "won amount", "", "lost", "win", "paid", "avg deal", "avg days", "lost reasons"])
    for i in items + [r["total"] ?? .null] where !i.isNull {
        let isTotal = i["slice"] == nil
        t.add([
            isTotal ? tr("total") : str(i["slice"]), num(i["won"]), moneyText(i["won_amount"]?.intValue ?? 0),
            isTotal ? "" : bar(i["won_amount"]?.intValue ?? 0, of: maxWon, width: 12), num(i["lost"]), "\(num(i["win_rate_percent"]))%",
            moneyText(i["paid"]?.intValue ?? 0), i["average_won"]?.intValue.map { moneyText($0) } ?? "-",
            i["average_days"].flatMap { $0.isNull ? nil : str($0) } ?? "-", reasonsText(i["lost_reasons"]),
        ])
    }
    print()
    t.print()
    for o in r["other_currencies"]?.arrayValue ?? [] {
        let amount = moneyText(o["won_amount"]?.intValue ?? 0)
        print(tr("also won in \(str(o["currency"])): \(o["won"]?.intValue ?? 0, "deal", "deals"), \(amount) (not in the figures above)"))
    }
}
