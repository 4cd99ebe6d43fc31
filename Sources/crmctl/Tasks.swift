import ArgumentParser
import CRMProtocol

struct TaskCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "task", abstract: tr("Tasks with a due time: add, list and complete them."),
        discussion: tr("crmd announces a task when it falls due (an alert in working hours, and the task.due event)."),
        subcommands: [Add.self, List.self, Done.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: tr("Add a task (for yourself unless --assignee: heads, operators and admins)."),
            discussion: tr("Example: \("crmctl task add 'Call back about the discount' --due 2026-12-10T15:00:00Z --deal 7 --kind call")"))
        @OptionGroup var global: GlobalOptions
        @Argument(help: .tr("What is to be done.")) var title: String
        @Option(help: .tr("When it is due: 10.12.2026 18:00, 10.12 18:00, tomorrow 9:00, завтра 9:00 (crmd's time zone) or RFC 3339."))
        var due: String
        @Option(help: .tr("Who does it (login or id; default you).")) var assignee: String?
        @Option(help: .tr("The client it is about (id).")) var client: Int?
        @Option(help: .tr("The deal it is about (id; its client too).")) var deal: Int?
        @Option(help: .tr("call, meeting or other (a call or meeting can be logged when done).")) var kind: String?
        @Option var note: String?
        @Option(help: .tr("A retry key: repeating the command with it never adds a second task.")) var requestID: String?

        func run() throws {
            var p: JSONObject = ["title": .string(title), "due_at": .string(try global.instant(due, option: "due"))]
            if let assignee { p["assignee"] = userParam(assignee) }
            if let client { p["client_id"] = .int(client) }
            if let deal { p["deal_id"] = .int(deal) }
            if let kind { p["kind"] = .string(kind) }
            if let note { p["note"] = .string(note) }
            if let requestID { p["request_id"] = .string(requestID) }
            try global.run("task.create", p) { t in
                var about = ""
                if let d = t["deal_id"]?.intValue {
                    about = " " + tr("on deal #\(d)")
                } else if let c = t["client_id"]?.intValue {
                    about = " " + tr("on client #\(c)")
                }
                print(
                    tr("added task #\(str(t["id"])) \"\(str(t["title"]))\" for \(login(t["assignee_login"])), due \(str(t["due_at"]))")
                        + about)
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: tr("List open tasks, soonest due first (yours unless --assignee or --all)."),
            discussion: tr("Example: \("crmctl task list --due-before 2026-12-11T00:00:00Z")"))
        @OptionGroup var global: GlobalOptions
        @Option(help: .tr("Whose tasks (login or id; heads, directors, admins).")) var assignee: String?
        @Flag(help: .tr("Everyone's tasks (heads, directors, admins).")) var all = false
        @Flag(help: .tr("Done tasks instead of open ones.")) var done = false
        @Option(
            help:
                .tr(
                    "Only tasks due before this instant (20.11, today, tomorrow: that day included, in crmd's time zone; YYYY-MM-DD: UTC; or an instant)."
                )
        ) var dueBefore: String?
        @Option(help: .tr("Only tasks on this deal.")) var deal: Int?
        @Option(help: .tr("Only tasks on this client.")) var client: Int?
        @Option(help: .tr("At most this many (1 to 1000; default 100).")) var limit: Int?
        @Option(help: .tr("Continue after this cursor (from the previous page).")) var cursor: String?

        func validate() throws {
            if all && assignee != nil { throw ValidationError(tr("give --all or --assignee, not both")) }
        }

        func run() throws {
            var p: JSONObject = ["done": .bool(done)]
            if all { p["assignee"] = .null }
            if let assignee { p["assignee"] = userParam(assignee) }
            if let dueBefore { p["due_before"] = .string(periodInstant(dueBefore, endOfDay: true)) }
            if let deal { p["deal_id"] = .int(deal) }
            if let client { p["client_id"] = .int(client) }
            if let limit { p["limit"] = .int(limit) }
            if let cursor { p["cursor"] = .string(cursor) }
            try global.run("task.list", p) { r in
                let items = r["items"]?.arrayValue ?? []
                if items.isEmpty && cursor == nil {
                    print(done ? tr("No done tasks.") : tr("No open tasks."))
                } else {
                    printTaskTable(items, showAssignee: all || assignee != nil)
                }
                if let next = r["next_cursor"]?.stringValue { print(Style.dim(tr("more: --cursor \(next)"))) }
            }
        }
    }

    struct Done: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: tr("Mark a task done; for a call or meeting task, --result or --note also logs the call or meeting."),
            discussion: tr("Example: \("crmctl task done 4 --result 'agreed to sign on Friday'")"))
        @OptionGroup var global: GlobalOptions
        @Argument var id: Int
        @Option(help: .tr("How the call or meeting went (logged as its result).")) var result: String?
        @Option(help: .tr("A note on the call or meeting (logged with it).")) var note: String?
        @Option(help: .tr("in or out (with --result or --note).")) var direction: String?

        func run() throws {
            var p: JSONObject = ["id": .int(id)]
            if result != nil || note != nil || direction != nil {
                var log: JSONObject = [:]
                if let result { log["result"] = .string(result) }
                if let note { log["note"] = .string(note) }
                if let direction { log["direction"] = .string(direction) }
                p["log"] = .object(log)
            }
            try global.run("task.done", p) { t in
                print(tr("task #\(str(t["id"])) \"\(str(t["title"]))\" done at \(str(t["done_at"]))"))
                if let i = t["interaction"], i != .null {
                    let kind = Language.word("interaction", str(i["kind"]))
                    let said = i["result"]?.stringValue ?? i["note"]?.stringValue ?? ""
                    print(tr("logged \(kind) #\(str(i["id"])) on client #\(str(i["client_id"])): \(said)"))
                }
            }
        }
    }
}

/// Tasks as a table: overdue ones marked red.
func printTaskTable(_ items: [JSON], showAssignee: Bool) {
    var t = Table(["id", "due", "title", "kind"] + (showAssignee ? ["assignee"] : []) + ["client", "deal", "state"])
    for k in items {
        var state = tr("open")
        if k["done"]?.boolValue == true {
            state = tr("done \(str(k["done_at"]))")
        } else if k["overdue"]?.boolValue == true {
            state = Style.zone("red", tr("overdue"))
        }
        let about = [k["client_id"]?.intValue.map { "#\($0)" } ?? "-", k["deal_id"]?.intValue.map { "#\($0)" } ?? "-"]
        t.add(
            [
                str(k["id"]), str(k["due_at"]), clip(str(k["title"]), 50),
                k["kind"]?.stringValue.map { Language.word("interaction", $0) } ?? "-",
            ]
                + (showAssignee ? [login(k["assignee_login"])] : []) + about + [state])
    }
    t.print()
}
