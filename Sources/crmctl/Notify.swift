import ArgumentParser
import CRMProtocol

/// `crmctl notify list`: the messages crmd sent (or is sending, or skipped) to clients
/// (docs/rules.md, "Telling the client").
struct NotifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notify", abstract: tr("Messages to clients: a request taken, a deal at a chosen stage."),
        subcommands: [List.self], defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: tr("List messages to clients, newest first (a manager sees their own clients')."))
        @OptionGroup var global: GlobalOptions
        @Option(help: .tr("Only those to this client.")) var client: Int?
        @Option(help: .tr("Only those about this deal.")) var deal: Int?
        @Option(help: .tr("Only those about this request.")) var request: Int?
        @Option(help: .tr("pending, sent or skipped.")) var status: String?
        @Option(help: .tr("At most this many (1 to 1000; default 100).")) var limit: Int?
        @Option(help: .tr("Continue after this cursor (from the previous page).")) var cursor: String?

        func run() throws {
            var p: JSONObject = [:]
            for (k, v) in [("client_id", client), ("deal_id", deal), ("request_id", request), ("limit", limit)] {
                if let v { p[k] = .int(v) }
            }
            if let status { p["status"] = .string(status) }
            if let cursor { p["cursor"] = .string(cursor) }
            try global.run("notification.list", p) { r in
                let items = r["items"]?.arrayValue ?? []
                if items.isEmpty {
                    print(tr("No messages to clients."))
                    return
                }
                var t = Table(["id", "created", "client", "template", "to", "status", "subject"])
                for n in items {
                    var status = str(n["status"])
                    if let why = n["reason"]?.stringValue { status += ": " + why }
                    if let err = n["last_error"]?.stringValue, n["status"]?.stringValue == "pending" {
                        status += " (" + tr("\(num(n["attempts"])) attempts, last: \(err)") + ")"
                    }
                    let to = n["channel"]?.stringValue.map { "\($0) \(str(n["to"]))" } ?? "-"
                    t.add([
                        str(n["id"]), Display.instant(str(n["created_at"])), str(n["client_id"]), str(n["template"]), to, status,
                        str(n["subject"]),
                    ])
                }
                t.print()
                if let next = r["next_cursor"]?.stringValue { print(Style.dim(tr("more: --cursor \(next)"))) }
            }
        }
    }
}
