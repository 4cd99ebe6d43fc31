import ArgumentParser
import CRMProtocol
import Foundation

struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan", abstract: tr("Plans per manager or team and period, and their progress counted live."),
        discussion: tr(
            """
            A period is a month (2026-12), an ISO week (2026-W49) or a quarter (2026-Q4) in the department's time zone. \
            Progress is counted from what crmd holds when asked: calls and meetings logged, new clients, deals won, \
            revenue won and paid, clients claimed from the exchange.
            """),
        subcommands: [Set.self, Show.self, List.self], defaultSubcommand: Show.self)

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: tr("Set a plan's targets (heads and admins); a target not given is left as it was."),
            discussion: tr("Example: \("crmctl plan set ivanov 2026-12 --calls 60 --meetings 10 --revenue-won 2000000.00")"))
        @OptionGroup var global: GlobalOptions
        @Argument(help: .tr("The manager (login or id); leave out with --team.")) var user: String?
        @Argument(help: .tr("The period: 2026-12, 2026-W49 or 2026-Q4.")) var period: String
        @Option(help: .tr("A team's plan instead of a user's (users.team).")) var team: String?
        @Option var calls: Int?
        @Option var meetings: Int?
        @Option(help: .tr("Clients created with the manager as lead manager.")) var newClients: Int?
        @Option var dealsWon: Int?
        @Option(help: .tr("Won deals' sum as money, e.g. 2000000.00 or '2 000 000'.")) var revenueWon: String?
        @Option(help: .tr("Payments' sum as money.")) var revenuePaid: String?
        @Option(help: .tr("Clients claimed from the exchange.")) var claims: Int?
        @Option(parsing: .upToNextOption, help: .tr("Remove these targets (metric names, e.g. calls revenue_won).")) var clear: [String] =
            []

        func validate() throws {
            if (user == nil) == (team == nil) { throw ValidationError(tr("name a user, or give --team, not both")) }
        }

        func run() throws {
            var targets = JSONObject()
            for (k, v) in [
                ("calls", calls), ("meetings", meetings), ("new_clients", newClients), ("deals_won", dealsWon), ("claims", claims),
            ] {
                if let v { targets[k] = .int(Int64(v)) }
            }
            if let revenueWon { targets["revenue_won"] = .int(try parseMoney(revenueWon)) }
            if let revenuePaid { targets["revenue_paid"] = .int(try parseMoney(revenuePaid)) }
            for m in clear { targets[m] = .null }
            var p: JSONObject = ["period": .string(period), "targets": .object(targets)]
            if let user { p["user"] = userParam(user) }
            if let team { p["team"] = .string(team) }
            try global.run("plan.set", p) { r in
                print(
                    tr("plan #\(str(r["id"])) of \(planOwner(r)) for \(str(r["period"])) (\(str(r["starts_at"])) to \(str(r["ends_at"])))"))
                for (k, v) in (r["targets"]?.objectValue?.members ?? []).sorted(by: { metricOrder($0.key) < metricOrder($1.key) }) {
                    let n = v.intValue ?? 0
                    print("  \(metricLabel(k)): \(isMoneyMetric(k) ? moneyText(n) : String(n))")
                }
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: tr("A plan's progress now, with bars (yours unless a user or --team is named)."),
            discussion: tr("Example: \("crmctl plan show ivanov --period 2026-12")"))
        @OptionGroup var global: GlobalOptions
        @OptionGroup var csv: CSVOption
        @Argument(help: .tr("The manager (login or id; default you).")) var user: String?
        @Option(help: .tr("A team's plan.")) var team: String?
        @Option(help: .tr("The period (default the current month).")) var period: String?

        func run() throws {
            var p: JSONObject = [:]
            if let user { p["user"] = userParam(user) }
            if let team { p["team"] = .string(team) }
            if let period { p["period"] = .string(period) }
            try global.run("plan.progress", p, csv: csv, table: { r in planCSV(r["items"]?.arrayValue ?? []) }) { r in
                print("\(planOwner(r)), \(str(r["period"])) (\(str(r["from"])) to \(str(r["to"]))), as of \(str(r["now"]))")
                let items = r["items"]?.arrayValue ?? []
                if items.isEmpty {
                    print(tr("no plan for this period; a head sets one: crmctl plan set USER PERIOD --calls 60 ..."))
                } else {
                    printProgress(items, indent: "  ")
                }
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: tr("List plans (managers: their own)."), discussion: tr("Example: \("crmctl plan list --period 2026-12")"))
        @OptionGroup var global: GlobalOptions
        @OptionGroup var csv: CSVOption
        @Option(help: .tr("Only this user's plans (login or id).")) var user: String?
        @Option(help: .tr("Only this team's plans.")) var team: String?
        @Option(help: .tr("Only plans of this period.")) var period: String?
        @Option(help: .tr("At most this many (1 to 1000; default 100).")) var limit: Int?
        @Option(help: .tr("Continue after this cursor (from the previous page).")) var cursor: String?

        func run() throws {
            var p: JSONObject = [:]
            if let user { p["user"] = userParam(user) }
            if let team { p["team"] = .string(team) }
            if let period { p["period"] = .string(period) }
            if let limit { p["limit"] = .int(Int64(limit)) }
            if let cursor { p["cursor"] = .string(cursor) }
            let columns = ["id", "for", "period", "targets", "set by"]
            func row(_ pl: JSON) -> [String] {
                let targets = (pl["targets"]?.objectValue?.members ?? []).sorted { metricOrder($0.key) < metricOrder($1.key) }.map {
                    "\($0.key) \(isMoneyMetric($0.key) ? moneyText($0.value.intValue ?? 0) : num($0.value))"
                }
                return [str(pl["id"]), planOwner(pl), str(pl["period"]), targets.joined(separator: ", "), str(pl["set_by"])]
            }
            try global.run(
                "plan.list", p, csv: csv,
                table: { r in
                    var t = CSVTable(columns)
                    for pl in r["items"]?.arrayValue ?? [] { t.add(row(pl)) }
                    return t
                }
            ) { r in
                let items = r["items"]?.arrayValue ?? []
                if items.isEmpty {
                    print(tr("no plans"))
                    return
                }
                var t = Table(columns)
                for pl in items { t.add(row(pl)) }
                t.print()
                if let next = r["next_cursor"]?.stringValue { print(tr("more: --cursor \(next)")) }
            }
        }
    }
}

private let metricNames = ["calls", "meetings", "new_clients", "deals_won", "revenue_won", "revenue_paid", "claims"]

func metricOrder(_ m: String) -> Int { metricNames.firstIndex(of: m) ?? metricNames.count }
func isMoneyMetric(_ m: String) -> Bool { m == "revenue_won" || m == "revenue_paid" }
func metricLabel(_ m: String) -> String {
    let said = Language.word("metric", m)
    return said == m ? m.replacingOccurrences(of: "_", with: " ") : said
}

/// "ivanov" or "team North".
func planOwner(_ r: JSON) -> String {
    if let t = r["team"]?.stringValue { return tr("team \(t)") }
    return login(r["user_login"], tr("user #\(str(r["user"]))"))
}

/// `[#####-----]`: `percent` of `width` characters filled (full past 100 %).
func progressBar(_ percent: Int64, width: Int = 10) -> String {
    let filled = max(0, min(width, Int((Double(percent) * Double(width) / 100).rounded(.down))))
    return "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "]"
}

/// One line per plan item: `calls          34 of 60          [#####-----]  56 %`.
func printProgress(_ items: [JSON], indent: String) {
    let lines = items.map { i -> (String, String, Int64) in
        let m = str(i["metric"])
        let money = isMoneyMetric(m)
        let fact = money ? moneyText(i["fact"]?.intValue ?? 0) : num(i["fact"])
        let target = money ? moneyText(i["target"]?.intValue ?? 0) : num(i["target"])
        return (metricLabel(m), tr("\(fact) of \(target)"), i["percent"]?.intValue ?? 0)
    }
    let w1 = lines.map { $0.0.count }.max() ?? 0
    let w2 = lines.map { $0.1.count }.max() ?? 0
    for (label, figures, percent) in lines {
        print(
            "\(indent)\(label.padding(toLength: w1, withPad: " ", startingAt: 0))  \(figures.padding(toLength: w2, withPad: " ", startingAt: 0))  \(progressBar(percent)) \(percent) %"
        )
    }
}

/// Plan items as CSV: metric, target, fact, percent (money in major units).
func planCSV(_ items: [JSON], prefix: [String] = [], prefixHeader: [String] = []) -> CSVTable {
    var t = CSVTable(prefixHeader + ["metric", "target", "fact", "percent"])
    for i in items {
        let m = str(i["metric"])
        let f: (JSON?) -> String = { v in isMoneyMetric(m) ? csvMoney(v ?? .int(0)) : num(v) }
        t.add(prefix + [m, f(i["target"]), f(i["fact"]), num(i["percent"])])
    }
    return t
}
