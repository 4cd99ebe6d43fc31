import ArgumentParser
import CRMProtocol
import Foundation

extension ReportCommand {
    struct Funnel: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: tr("Deals entering each stage in a period, what they did next, conversion bars and time in stage."),
            discussion: tr(
                """
                Conversion = deals that went on (a later stage or won) out of those that entered. Time in \
                stage: median and 90th percentile of completed stays. Managers see only their own deals.
                """))
        @OptionGroup var global: GlobalOptions
        @OptionGroup var span: ReportSpan
        @OptionGroup var csv: CSVOption
        @Option(help: .tr("The pipeline (default: the first).")) var pipeline: String?
        @Option(help: .tr("Slice by manager, source or segment.")) var by: String?
        @Option(help: .tr("One manager's deals (login or id).")) var owner: String?

        func run() throws {
            var p = span.params
            if let pipeline { p["pipeline"] = .string(pipeline) }
            if let by { p["by"] = .string(by) }
            if let owner { p["owner"] = userParam(owner) }
            try global.run("report.funnel", p, csv: csv, table: funnelCSV, render: printFunnel)
        }
    }

    struct Completeness: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: tr("How full the client cards are: the minimal data set, a decision maker, segment and source, per manager."),
            discussion: tr(
                """
                Minimal data set: a phone or an email (the client's or a contact's) and at least one contact \
                person. Managers see only their own clients.
                """))
        @OptionGroup var global: GlobalOptions
        @OptionGroup var csv: CSVOption

        func run() throws {
            try global.run("report.completeness", ["by": "manager"], csv: csv, table: completenessCSV, render: printCompleteness)
        }
    }
}

/// Seconds as a short duration: "45m", "5.5h", "3.2d".
func durationText(_ v: JSON?) -> String {
    guard let s = v?.intValue else { return "-" }
    if s < 3600 { return tr("\(s / 60)m") }
    if s < 86_400 { return tr("\(String(format: "%.1f", Double(s) / 3600))h") }
    return tr("\(String(format: "%.1f", Double(s) / 86_400))d")
}

private let funnelColumns = [
    "entered", "moved_on", "won", "lost", "moved_back", "still_in", "conversion_percent", "time_median_s", "time_p90_s",
]

private func funnelCSV(_ r: JSON) -> CSVTable {
    var t = CSVTable(["slice", "stage"] + funnelColumns)
    for i in r["items"]?.arrayValue ?? [] {
        t.add([str(i["slice"]), str(i["stage"])] + funnelColumns.map { i[$0].map { $0.isNull ? "" : num($0) } ?? "" })
    }
    return t
}

private func printFunnel(_ r: JSON) {
    print(tr("funnel of \(str(r["pipeline"])) from \(str(r["from"])) to \(str(r["to"]))"))
    let items = r["items"]?.arrayValue ?? []
    var slices: [String] = []
    for i in items where !slices.contains(str(i["slice"])) { slices.append(str(i["slice"])) }
    for slice in slices {
        if !(r["by"]?.isNull ?? true) { print("\n\(Language.header(str(r["by"]))): \(slice)") }
        var t = Table(["stage", "entered", "on", "won", "lost", "still", "conversion", "", "median", "p90"])
        for i in items where str(i["slice"]) == slice {
            let pct = i["conversion_percent"]?.intValue ?? 0
            t.add([
                str(i["stage"]), num(i["entered"]), num(i["moved_on"]), num(i["won"]), num(i["lost"]), num(i["still_in"]), "\(pct)%",
                bar(pct, of: 100, width: 20), durationText(i["time_median_s"]), durationText(i["time_p90_s"]),
            ])
        }
        print()
        t.print()
    }
}

private let completenessParts = ["minimal", "decision_maker", "segment", "source"]

private func completenessCSV(_ r: JSON) -> CSVTable {
    var t = CSVTable(["manager", "clients"] + completenessParts.flatMap { [$0, $0 + "_percent"] })
    var rows = r["items"]?.arrayValue ?? []
    if let total = r["total"], !total.isNull, var o = total.objectValue {
        o["owner_login"] = "all"
        rows.append(.object(o))
    }
    for i in rows {
        t.add([str(i["owner_login"]), num(i["clients"])] + completenessParts.flatMap { [num(i[$0]), num(i[$0 + "_percent"])] })
    }
    return t
}

private func printCompleteness(_ r: JSON) {
    var rows = r["items"]?.arrayValue ?? []
    if let total = r["total"], !total.isNull, var o = total.objectValue {
        o["owner_login"] = .string(tr("all clients"))
        rows.append(.object(o))
    }
    guard !rows.isEmpty else {
        print(tr("no clients"))
        return
    }
    var t = Table(["manager", "clients", "minimal data", "", "decision maker", "", "segment", "", "source", ""])
    for i in rows {
        t.add(
            [str(i["owner_login"]), num(i["clients"])]
                + completenessParts.flatMap { p -> [String] in
                    let pct = i[p + "_percent"]?.intValue ?? 0
                    let b = bar(pct, of: 100, width: 10)
                    return ["\(num(i[p])) \(pct)%", b + String(repeating: "·", count: 10 - b.count)]
                })
    }
    t.print()
}
