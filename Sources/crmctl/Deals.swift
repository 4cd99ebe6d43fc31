import ArgumentParser
import CRMClient
import CRMProtocol
import Foundation

struct DealCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deal", abstract: tr("Deals: open, list, show, move through the stages, close, comment and attach files."),
        discussion: tr(
            """
            A deal moves one stage at a time (`crmctl deal next ID`); heads may skip or go back. Amounts are \
            typed as money (12500.50, "12 500,50") and sent in minor units. Stage names may be shortened to \
            any unique part, in any case ("proposal s", "review").
            """),
        subcommands: [
            Add.self, List.self, Show.self, Move.self, Next.self, Won.self, Lost.self, Reopen.self, Comment.self, Attach.self,
            GetAttachment.self,
        ])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: tr("Open a deal on a client (owner: the client's lead manager unless --owner)."),
            discussion: tr(
                "Example: \("crmctl deal add 12 'Annual supply' --amount 12500.50 --source website --expected-close 2026-12-31")"))
        @OptionGroup var global: GlobalOptions
        @Argument(help: .tr("The client's id.")) var clientID: Int
        @Argument(help: .tr("What is being sold.")) var title: String
        @Option(help: .tr("The sum as money, e.g. 12500.50 or '12 500,50'.")) var amount: String?
        @Option(help: .tr("ISO 4217 code (default: crmd's deals.currency, RUB).")) var currency: String?
        @Option(help: .tr("0 to 100 (default: the stage's).")) var probability: Int?
        @Option(help: .tr("The channel the deal came from.")) var source: String?
        @Option(help: .tr("The pipeline (default: the first).")) var pipeline: String?
        @Option(help: .tr("Expected close date: 20.12.2026, 20.12 or 2026-12-20.")) var expectedClose: String?
        @Option(help: .tr("Owner login or id (heads and admins).")) var owner: String?
        @Option(help: .tr("A retry key: repeating the command with it never opens a second deal.")) var requestID: String?

        func run() throws {
            var p: JSONObject = ["client_id": .int(clientID), "title": .string(title)]
            if let amount { p["amount"] = .int(try parseMoney(amount)) }
            if let currency { p["currency"] = .string(currency) }
            if let probability { p["probability"] = .int(probability) }
            if let source { p["source"] = .string(source) }
            if let pipeline { p["pipeline"] = .string(pipeline) }
            if let expectedClose { p["expected_close"] = .string(try global.day(expectedClose, option: "expected-close")) }
            if let owner { p["owner"] = userParam(owner) }
            if let requestID { p["request_id"] = .string(requestID) }
            try global.run("deal.create", p) { d in
                print(
                    "created deal #\(str(d["id"])) \"\(str(d["title"]))\" on client #\(str(d["client_id"])), owner \(login(d["owner_login"]))"
                )
                print("  \(str(d["pipeline"])): \(str(d["stage"])) (\(num(d["probability"]))%), \(dealAmount(d))\(nextContact(d))")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: tr("List deals (a manager sees their own)."),
            discussion: tr(
                """
                --from and --to bound when an open deal opened or a closed one closed: RFC 3339, or a day \
                YYYY-MM-DD (UTC; --to includes it). Example: crmctl deal list --status open --overdue
                """))
        @OptionGroup var global: GlobalOptions
        @OptionGroup var filter: DealFilter
        @Option(help: .tr("At most this many (1 to 1000; default 100).")) var limit: Int?
        @Option(help: .tr("Continue after this cursor (from the previous page).")) var cursor: String?

        func run() throws {
            var p = filter.params
            if let limit { p["limit"] = .int(limit) }
            if let cursor { p["cursor"] = .string(cursor) }
            try global.run("deal.list", p) { r in
                let items = r["items"]?.arrayValue ?? []
                if items.isEmpty && cursor == nil {
                    print(tr("No deals."))
                } else {
                    printDealTable(items)
                }
                if let next = r["next_cursor"]?.stringValue { print(Style.dim("more: --cursor \(next)")) }
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: tr("Show a deal's card: its stages with time in each, comments, tasks and attachments."))
        @OptionGroup var global: GlobalOptions
        @Argument var id: Int
        func run() throws { try global.run("deal.get", ["id": .int(id)], render: printDealCard) }
    }

    struct Move: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: tr("Move a deal to a stage (the next one; heads may skip or go back)."),
            discussion: tr("Example: \("crmctl deal move 7 'proposal sent'")"))
        @OptionGroup var global: GlobalOptions
        @Argument var id: Int
        @Argument(help: .tr("The stage's name, or a unique beginning of it.")) var stage: String

        func run() throws {
            let (before, after) = try global.session { conn -> (JSON, JSON) in
                let d = try conn.call("deal.get", ["id": .int(id)])
                let stages = try stageNames(conn, pipeline: str(d["pipeline"]))
                let target = resolveName(stage, among: stages)
                return (d, try conn.call("deal.move", ["id": .int(id), "stage": .string(target)]))
            }
            global.output(after) { printMoved($0, from: str(before["stage"])) }
        }
    }

    struct Next: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: tr("Move a deal to the next stage of its pipeline."))
        @OptionGroup var global: GlobalOptions
        @Argument var id: Int

        func run() throws {
            let (before, after) = try global.session { conn -> (JSON, JSON) in
                let d = try conn.call("deal.get", ["id": .int(id)])
                let stages = try stageNames(conn, pipeline: str(d["pipeline"]))
                let status = str(d["status"])
                if status != "open" { failure(tr("deal \(id) is \(status); a head can reopen it with `crmctl deal reopen \(id)`")) }
                guard let at = stages.firstIndex(of: str(d["stage"])) else {
                    failure(
                        tr("deal \(id) is at '\(str(d["stage"]))', which its pipeline \(str(d["pipeline"])) no longer has; ask an admin"))
                }
                guard at + 1 < stages.count else {
                    failure(
                        "deal \(id) is at the last stage, '\(stages[at])': close it with `crmctl deal won \(id)` or `crmctl deal lost \(id) --reason R`"
                    )
                }
                return (d, try conn.call("deal.move", ["id": .int(id), "stage": .string(stages[at + 1])]))
            }
            global.output(after) { printMoved($0, from: str(before["stage"])) }
        }
    }

    struct Won: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: tr("Close a deal as won, with the final sum if it changed."))
        @OptionGroup var global: GlobalOptions
        @Argument var id: Int
        @Option(help: .tr("The final sum as money (default: the deal's amount).")) var amount: String?

        func run() throws {
            var p: JSONObject = ["id": .int(id), "outcome": "won"]
            if let amount { p["amount"] = .int(try parseMoney(amount)) }
            try global.run("deal.close", p) { d in print(tr("deal #\(str(d["id"])) \"\(str(d["title"]))\" won: \(dealAmount(d))")) }
        }
    }

    struct Lost: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: tr("Close a deal as lost, with a reason from crmd's list."),
            discussion: tr("The reasons are in `crmctl rpc pipeline.list` (lost_reasons); any unique beginning will do."))
        @OptionGroup var global: GlobalOptions
        @Argument var id: Int
        @Option(help: .tr("Why, e.g. Price, Competitor, 'No budget'.")) var reason: String

        func run() throws {
            let d = try global.session { conn -> JSON in
                let reasons = try conn.call("pipeline.list")["lost_reasons"]?.arrayValue?.compactMap(\.stringValue) ?? []
                let p: JSONObject = ["id": .int(id), "outcome": "lost", "reason": .string(resolveName(reason, among: reasons))]
                return try conn.call("deal.close", .object(p))
            }
            global.output(d) { d in print(tr("deal #\(str(d["id"])) \"\(str(d["title"]))\" lost: \(str(d["lost_reason"]))")) }
        }
    }

    struct Reopen: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: tr("Reopen a closed deal at the stage it closed from (heads)."))
        @OptionGroup var global: GlobalOptions
        @Argument var id: Int

        func run() throws {
            try global.run("deal.reopen", ["id": .int(id)]) { d in
                print(tr("deal #\(str(d["id"])) reopened at \(str(d["stage"]))\(nextContact(d))"))
            }
        }
    }

    struct Comment: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: tr("Add a comment to a deal (a note on its client, linked to the deal)."),
            discussion: tr("Example: \("crmctl deal comment 7 'They want a 5% discount for a 2-year contract'")"))
        @OptionGroup var global: GlobalOptions
        @Argument var id: Int
        @Argument(help: .tr("The comment.")) var text: String

        func run() throws {
            let r = try global.session { conn -> JSON in
                let d = try conn.call("deal.get", ["id": .int(id)])
                guard let client = d["client_id"]?.intValue else { throw ClientError.badReply("deal.get returned no client_id") }
                let p: JSONObject = ["client_id": .int(client), "kind": "note", "note": .string(text), "deal_id": .int(id)]
                return try conn.call("interaction.log", .object(p))
            }
            global.output(r) { r in print(tr("comment #\(str(r["interaction"]?["id"])) added to deal #\(id)")) }
        }
    }
}

/// The stage names of a pipeline, in order, from `pipeline.list`.
func stageNames(_ conn: Connection, pipeline: String) throws -> [String] {
    let items = try conn.call("pipeline.list")["items"]?.arrayValue ?? []
    let p = items.first { $0["name"]?.stringValue == pipeline }
    return p?["stages"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
}

/// The name the user means: exact, else the same ignoring case, else the only one it begins,
/// else the only one it is part of; else as typed (crmd then names the choices).
func resolveName(_ typed: String, among names: [String]) -> String {
    if names.contains(typed) { return typed }
    let t = typed.lowercased()
    if let same = names.first(where: { $0.lowercased() == t }) { return same }
    let starting = names.filter { $0.lowercased().hasPrefix(t) }
    if starting.count == 1 { return starting[0] }
    let containing = names.filter { $0.lowercased().contains(t) }
    return starting.isEmpty && containing.count == 1 ? containing[0] : typed
}

/// "; next contact due …" for an open deal with a cadence.
func nextContact(_ d: JSON) -> String {
    guard let due = d["next_contact_due"]?.stringValue.map(Display.instant) else { return "" }
    return d["overdue"]?.boolValue == true
        ? "; " + Style.zone("red", tr("contact overdue since \(due)")) : "; " + tr("next contact due \(due)")
}

func printMoved(_ d: JSON, from: String) {
    print(tr("deal #\(str(d["id"])) moved: \(from) → \(str(d["stage"])) (\(num(d["probability"]))%)\(nextContact(d))"))
}

func printDealTable(_ items: [JSON]) {
    var t = Table(["id", "title", "client", "owner", "stage", "amount", "prob", "status", "next contact"])
    for d in items {
        var status = str(d["status"])
        let said = Language.word("deal", status)
        if d["overdue"]?.boolValue == true {
            status = Style.zone("red", Language.word("deal", "overdue"))
        } else if status == "won" {
            status = Style.zone("green", said)
        } else {
            status = said
        }
        t.add([
            str(d["id"]), clip(str(d["title"]), 40), str(d["client_id"]), login(d["owner_login"]), str(d["stage"]), dealAmount(d),
            "\(num(d["probability"]))%", status, d["next_contact_due"]?.stringValue ?? "-",
        ])
    }
    t.print()
}

/// The filters of `deal.list`, shared by `crmctl deal list` and `crmctl export deals`.
struct DealFilter: ParsableArguments {
    @Option(help: .tr("Owner login or id.")) var owner: String?
    @Option(help: .tr("A stage name (exactly).")) var stage: String?
    @Option var pipeline: String?
    @Option(help: .tr("The client's id.")) var client: Int?
    @Option(help: .tr("open, won or lost.")) var status: String?
    @Flag(help: .tr("Only deals past their stage's contact cadence.")) var overdue = false
    @Option(help: .tr("Period start.")) var from: String?
    @Option(help: .tr("Period end.")) var to: String?

    var params: JSONObject {
        var p: JSONObject = [:]
        if let owner { p["owner"] = userParam(owner) }
        if let stage { p["stage"] = .string(stage) }
        if let pipeline { p["pipeline"] = .string(pipeline) }
        if let client { p["client_id"] = .int(client) }
        if let status { p["status"] = .string(status) }
        if overdue { p["overdue"] = true }
        if let from { p["from"] = .string(periodInstant(from, endOfDay: false)) }
        if let to { p["to"] = .string(periodInstant(to, endOfDay: true)) }
        return p
    }
}
