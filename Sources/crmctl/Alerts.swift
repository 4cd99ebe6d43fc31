import ArgumentParser
import CRMProtocol

struct AlertsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts", abstract: tr("Your alerts (reminders before a client is released), and acknowledging them."),
        subcommands: [List.self, Ack.self], defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: tr("List your delivered alerts, newest first (the default)."),
            discussion: tr("Example: \("crmctl alerts --unacked")"))
        @OptionGroup var global: GlobalOptions
        @Flag(help: .tr("Only alerts not acknowledged yet.")) var unacked = false
        @Option(help: .tr("At most this many (1 to 1000; default 100).")) var limit: Int?
        @Option(help: .tr("Continue after this cursor (from the previous page).")) var cursor: String?

        func run() throws {
            var p: JSONObject = [:]
            if unacked { p["unacked"] = true }
            if let limit { p["limit"] = .int(limit) }
            if let cursor { p["cursor"] = .string(cursor) }
            try global.run("alert.list", p) { r in
                let items = r["items"]?.arrayValue ?? []
                if items.isEmpty {
                    print(unacked ? tr("No unacknowledged alerts.") : tr("No alerts."))
                    return
                }
                var t = Table(["id", "delivered", "kind", "days left", "message"])
                for a in items {
                    let days = a["days_left"]?.intValue.map(String.init) ?? "-"
                    let id = a["acked_at"]?.stringValue == nil ? str(a["id"]) : Style.dim(str(a["id"]))
                    t.add([
                        id, str(a["delivered_at"]), Language.word("alert", str(a["kind"])), Style.zone(str(a["zone"]), days),
                        str(a["message"]),
                    ])
                }
                t.print()
                if let next = r["next_cursor"]?.stringValue { print(Style.dim(tr("more: --cursor \(next)"))) }
            }
        }
    }

    struct Ack: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: tr("Acknowledge alerts by id."), discussion: tr("Example: \("crmctl alerts ack 12 13")"))
        @OptionGroup var global: GlobalOptions
        @Argument(help: .tr("Alert ids (see `crmctl alerts`).")) var ids: [Int]

        func validate() throws {
            if ids.isEmpty { throw ValidationError(tr("give at least one alert id")) }
        }

        func run() throws {
            try global.run("alert.ack", ["ids": .array(ids.map { JSON.int($0) })]) { r in
                let n = r["acked"]?.intValue ?? 0
                var text = tr("acknowledged \(n, "alert", "alerts")")
                if n < ids.count { text += " " + tr("(\(ids.count - Int(n)) already acknowledged or not yours)") }
                print(text)
            }
        }
    }
}
