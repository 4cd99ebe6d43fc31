import ArgumentParser
import CRMProtocol
import Foundation

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: tr("Reports for managers, heads and directors."),
        subcommands: [
            Zones.self, Plan.self, Activity.self, Commission.self, Funnel.self, Sales.self, Completeness.self, Channels.self, Exchange.self,
        ],
        defaultSubcommand: Zones.self)

    struct Zones: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: tr("Clients per zone per manager now, claims and releases in a period, and the zones over time."),
            discussion: tr(
                """
                The period defaults to the 30 days before --to (default now). The bars are scaled to the \
                terminal width (COLUMNS, or 80); below them each manager's zones day by day (one stacked bar \
                a day with --daily, else a sparkline per zone). Managers see only their own line. --csv \
                prints the daily series.
                """))
        @OptionGroup var global: GlobalOptions
        @OptionGroup var csv: CSVOption
        @Option(help: .tr("Period start (01.12.2026, 01.12, today; RFC 3339 or YYYY-MM-DD in UTC).")) var from: String?
        @Option(help: .tr("Period end (a day such as 31.12 or YYYY-MM-DD is included; or an instant; default now).")) var to: String?
        @Flag(help: .tr("Over time: one stacked bar per manager per day instead of sparklines.")) var daily = false

        func run() throws {
            var p: JSONObject = [:]
            if let from { p["from"] = .string(periodInstant(from, endOfDay: false)) }
            if let to { p["to"] = .string(periodInstant(to, endOfDay: true)) }
            try global.run("report.zones", p, csv: csv, table: zonesSeriesCSV) { r in
                printZonesReport(r)
                printZonesOverTime(r, daily: daily)
            }
        }
    }
}

private let zoneNames = ["green", "yellow", "red"]

private func printZonesReport(_ r: JSON) {
    let managers = r["managers"]?.arrayValue ?? []
    print(tr("zones at \(str(r["now"])); claims and releases from \(str(r["from"])) to \(str(r["to"]))"))
    let rows = managers.map { m -> (name: String, counts: [Int], m: JSON) in
        (login(m["owner_login"], tr("user #\(str(m["owner"]))")), zoneNames.map { Int(m[$0]?.intValue ?? 0) }, m)
    }
    if rows.isEmpty {
        print(tr("no managers with clients or exchange activity"))
    } else {
        var t = Table(["manager", "green", "yellow", "red", "total", "claims", "releases"])
        for row in rows {
            var releases = num(row.m["releases"])
            if let manual = row.m["manual_releases"]?.intValue, manual > 0 { releases += " " + tr("(\(manual) manual)") }
            t.add(
                [row.name] + zip(zoneNames, row.counts).map { Style.zone($0.0, String($0.1)) }
                    + [String(row.counts.reduce(0, +)), num(row.m["claims"]), releases])
        }
        print()
        t.print()
        print()
        printZoneBars(rows.map { ($0.name, $0.counts) })
    }
    if let tot = r["totals"] {
        let (g, y, red) = (
            Style.zone("green", num(tot["green"])), Style.zone("yellow", num(tot["yellow"])), Style.zone("red", num(tot["red"]))
        )
        print()
        print(
            tr(
                "all clients: \(g) green, \(y) yellow, \(red) red, \(num(tot["exchange"])) on the exchange, \(num(tot["unassigned"])) unassigned"
            ))
    }
}

/// The terminal width: COLUMNS, or 80.
private func terminalColumns() -> Int {
    if let c = ProcessInfo.processInfo.environment["COLUMNS"].flatMap({ Int($0) }), c > 0 { return c }
    return 80
}

/// One horizontal bar per manager, green/yellow/red segments, all on one scale.
private func printZoneBars(_ rows: [(name: String, counts: [Int])]) {
    let labelWidth = rows.map { $0.name.count }.max() ?? 0
    let maxTotal = rows.map { $0.counts.reduce(0, +) }.max() ?? 0
    let numberWidth = String(maxTotal).count
    let barWidth = max(10, terminalColumns() - labelWidth - numberWidth - 4)
    for row in rows {
        let total = row.counts.reduce(0, +)
        let length = total == 0 ? 0 : max(1, Int((Double(total) * Double(barWidth) / Double(maxTotal)).rounded()))
        let segments = splitBar(row.counts, length: length)
        var bar = ""
        for (zone, n) in zip(zoneNames, segments) where n > 0 {
            bar +=
                Style.enabled
                ? Style.zone(zone, String(repeating: "█", count: n)) : String(repeating: zone.prefix(1).uppercased(), count: n)
        }
        let label = row.name.padding(toLength: labelWidth, withPad: " ", startingAt: 0)
        print("\(label)  \(bar)\(String(repeating: " ", count: barWidth - length))  \(total)")
    }
    if Style.enabled {
        print(zoneNames.map { Style.zone($0, "█") + " " + zoneName($0) }.joined(separator: "  "))
    } else {
        print(tr("G green  Y yellow  R red"))
    }
}

/// Splits `length` characters among `counts` in proportion (largest remainder), giving every
/// non-zero count at least one character when there is room.
func splitBar(_ counts: [Int], length: Int) -> [Int] {
    let total = counts.reduce(0, +)
    guard total > 0, length > 0 else { return counts.map { _ in 0 } }
    let exact = counts.map { Double($0) * Double(length) / Double(total) }
    var parts = exact.map { Int($0.rounded(.down)) }
    let order = exact.indices.sorted { exact[$0] - Double(parts[$0]) > exact[$1] - Double(parts[$1]) }
    for i in order.prefix(length - parts.reduce(0, +)) { parts[i] += 1 }
    for i in counts.indices where counts[i] > 0 && parts[i] == 0 {
        if let donor = parts.indices.filter({ parts[$0] > 1 }).max(by: { parts[$0] < parts[$1] }) {
            parts[donor] -= 1
            parts[i] = 1
        }
    }
    return parts
}
