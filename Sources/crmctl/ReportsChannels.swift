import ArgumentParser
import CRMProtocol
import Foundation

extension ReportCommand {
    struct Channels: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: tr("Per marketing channel: spend, calls, leads, buyers, revenue, profit, cost per lead and ROI."),
            discussion: tr(
                """
                Calls are those the PBX reported to the channel's tracking numbers; leads the distinct callers; \
                buyers the distinct clients who came through the channel with a deal won in the period; profit \
                is revenue × margin less the spend, and ROI that profit over the spend (docs/rules.md, \
                "Channels and call tracking"). The bars compare revenue with spend. Managers see their own \
                clients' figures only, without profit and ROI.
                """))
        @OptionGroup var global: GlobalOptions
        @OptionGroup var span: ReportSpan
        @OptionGroup var csv: CSVOption

        func run() throws {
            try global.run("report.channels", span.params, csv: csv, table: channelsCSV, render: printChannels)
        }
    }
}

private let channelColumns = [
    "spend", "calls", "leads", "new_leads", "buyers", "deals", "revenue", "average_deal", "margin_bp", "gross_profit", "profit",
    "cost_per_lead", "roi_bp",
]
private let moneyColumns: Set<String> = ["spend", "revenue", "average_deal", "gross_profit", "profit", "cost_per_lead"]

private func channelsCSV(_ r: JSON) -> CSVTable {
    var t = CSVTable(["channel_id", "channel"] + channelColumns)
    for i in (r["items"]?.arrayValue ?? []) + [r["total"] ?? .null] {
        t.add(
            [num(i["channel"]), i["name"]?.stringValue ?? "total"]
                + channelColumns.map { moneyColumns.contains($0) ? csvMoney(i[$0]) : num(i[$0]) })
    }
    return t
}

private func printChannels(_ r: JSON) {
    let own = r["scope"]?.stringValue == "own"
    let margin = percentText(bp: r["margin_bp"]?.intValue ?? 0)
    print(
        tr("channels from \(str(r["from"])) to \(str(r["to"])) (\(str(r["currency"])), margin \(margin))")
            + (own ? tr(", your clients only") : ""))
    let items = r["items"]?.arrayValue ?? []
    guard !items.isEmpty else {
        print(tr("no channels; a head adds one: crmctl channel add NAME --phone NUMBER"))
        return
    }
    func money(_ v: JSON?) -> String { v?.intValue.map { moneyText($0) } ?? "-" }
    var t = Table(["channel", "spend", "calls", "leads", "buyers", "revenue", "profit", "per lead", "roi"])
    for i in items + [r["total"] ?? .null] {
        t.add([
            clip(i["name"]?.stringValue ?? tr("total"), 30), money(i["spend"]), num(i["calls"]), num(i["leads"]), num(i["buyers"]),
            money(i["revenue"]), money(i["profit"]), money(i["cost_per_lead"]), i["roi_bp"]?.intValue.map { percentText(bp: $0) } ?? "-",
        ])
    }
    print()
    t.print()
    // Revenue against spend, scaled to the larger of all.
    let top = items.reduce(Int64(0)) { max($0, $1["revenue"]?.intValue ?? 0, $1["spend"]?.intValue ?? 0) }
    guard top > 0 else { return }
    let names = items.map { clip(str($0["name"]), 24) }
    let nameWidth = names.map(\.count).max() ?? 0
    let width = max(10, min(60, terminalWidth() - nameWidth - 30))
    let labels = [Language.header("spend"), Language.header("revenue")]
    let labelWidth = labels.map(\.count).max() ?? 0
    let padded = labels.map { $0.padding(toLength: labelWidth, withPad: " ", startingAt: 0) }
    let (spendLabel, revenueLabel) = (padded[0], padded[1])
    print()
    for (i, name) in zip(items, names) {
        let pad = name.padding(toLength: nameWidth, withPad: " ", startingAt: 0)
        let spend = i["spend"]?.intValue ?? 0
        let revenue = i["revenue"]?.intValue ?? 0
        print("\(pad)  \(spendLabel) \(bar(spend, of: top, width: width)) \(moneyText(spend))")
        print("\(String(repeating: " ", count: nameWidth))  \(revenueLabel) \(bar(revenue, of: top, width: width)) \(moneyText(revenue))")
    }
    if let n = r["other_currency_deals"]?.intValue, n > 0 {
        print()
        print(tr("\(n, "won deal", "won deals") in other currencies not counted"))
    }
    if let u = r["untracked"], let calls = u["calls"]?.intValue, calls > 0 {
        print()
        print(tr("\(calls, "call", "calls") to untracked numbers (\(num(u["new_leads"])) new leads)"))
    }
}
