import ArgumentParser
import CRMProtocol
import Foundation

extension ReportCommand {
    struct Plan: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: tr("Plan against fact: every plan of the period, each target with its fact and a bar."),
            discussion: tr("Example: crmctl report plan --period 2026-12. Managers see only their own plans."))
        @OptionGroup var global: GlobalOptions
        @OptionGroup var csv: CSVOption
        @OptionGroup var span: ReportSpan
        @Option(help: .tr("Only this user's plans (login or id).")) var user: String?
        @Option(help: .tr("Only this team's plan.")) var team: String?

        func run() throws {
            var p = span.params
            if let user { p["user"] = userParam(user) }
            if let team { p["team"] = .string(team) }
            try global.run(
                "report.plan", p, csv: csv,
                table: { r in
                    var t = CSVTable(["plan", "for", "period", "metric", "target", "fact", "percent"])
                    for pl in r["items"]?.arrayValue ?? [] {
                        for row in planCSV(pl["items"]?.arrayValue ?? [], prefix: [str(pl["id"]), planOwner(pl), str(pl["period"])]).rows {
                            t.add(row)
                        }
                    }
                    return t
                }
            ) { r in
                print(tr("plans overlapping \(str(r["from"])) to \(str(r["to"])), as of \(str(r["now"]))"))
                let plans = r["items"]?.arrayValue ?? []
                if plans.isEmpty { print(tr("no plans")) }
                for pl in plans {
                    print()
                    print(tr("\(planOwner(pl)), \(str(pl["period"])) (plan #\(str(pl["id"])))"))
                    printProgress(pl["items"]?.arrayValue ?? [], indent: "  ")
                }
            }
        }
    }

    struct Activity: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: tr("Calls, meetings, emails and cold calls per manager (or team), with bars."),
            discussion: tr(
                """
                A cold call is a call within reports.cold_call_window (P14D) after its author took the client from the \
                exchange or from unassigned. Example: crmctl report activity --period 2026-12 --by team
                """))
        @OptionGroup var global: GlobalOptions
        @OptionGroup var csv: CSVOption
        @OptionGroup var span: ReportSpan
        @Option(help: .tr("manager (default) or team.")) var by: String?

        static let columns = ["calls", "meetings", "emails", "messages", "notes", "cold_calls", "total"]

        func run() throws {
            var p = span.params
            if let by { p["by"] = .string(by) }
            func name(_ i: JSON) -> String {
                i["team"]?.stringValue.map { tr("team \($0)") } ?? login(i["login"], tr("user #\(str(i["user"]))"))
            }
            try global.run(
                "report.activity", p, csv: csv,
                table: { r in
                    var t = CSVTable([r["by"]?.stringValue ?? "manager"] + Self.columns)
                    for i in r["items"]?.arrayValue ?? [] { t.add([name(i)] + Self.columns.map { num(i[$0]) }) }
                    if let tot = r["totals"] { t.add(["total"] + Self.columns.map { num(tot[$0]) }) }
                    return t
                }
            ) { r in
                let days = (r["cold_call_window_seconds"]?.intValue ?? 0) / 86_400
                print(
                    tr(
                        "activity from \(str(r["from"])) to \(str(r["to"])); cold = a call within \(days, "day", "days") of taking the client"
                    ))
                let items = r["items"]?.arrayValue ?? []
                if items.isEmpty {
                    print(tr("no managers"))
                    return
                }
                var t = Table([str(r["by"])] + Self.columns.map { $0.replacingOccurrences(of: "_", with: " ") } + [""])
                let most = max(1, items.map { $0["total"]?.intValue ?? 0 }.max() ?? 1)
                for i in items {
                    let total = i["total"]?.intValue ?? 0
                    let bar = String(repeating: "#", count: Int((Double(total) * 20 / Double(most)).rounded()))
                    t.add([name(i)] + Self.columns.map { num(i[$0]) } + [bar])
                }
                if let tot = r["totals"] { t.add([tr("total")] + Self.columns.map { num(tot[$0]) } + [""]) }
                t.print()
            }
        }
    }
}
