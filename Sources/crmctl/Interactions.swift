import ArgumentParser
import CRMProtocol

struct LogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log", abstract: tr("Log a call, meeting, email, message or note on a client."),
        discussion: tr("Example: \("crmctl log call 12 --result 'agreed to a meeting' --direction out")"))

    @OptionGroup var global: GlobalOptions
    @Argument(help: .tr("call, meeting, email, message or note.")) var kind: String
    @Argument(help: .tr("The client's id.")) var clientID: Int
    @Option var topic: String?
    @Option var result: String?
    @Option var note: String?
    @Option(help: .tr("The contact person's id.")) var contact: Int?
    @Option(
        help: .tr("When it happened: 20.11.2026 10:00, 20.11 10:00, today 15:00, вчера 18:00, RFC 3339 (in crmd's time zone; default now).")
    )
    var at: String?
    @Option(help: .tr("in or out.")) var direction: String?
    @Option(help: .tr("A retry key: repeating with it logs only once.")) var requestID: String?

    func run() throws {
        var p: JSONObject = ["client_id": .int(clientID), "kind": .string(kind)]
        if let topic { p["topic"] = .string(topic) }
        if let result { p["result"] = .string(result) }
        if let note { p["note"] = .string(note) }
        if let contact { p["contact_id"] = .int(contact) }
        // Sent even when not given (crmd's now), so kinds whose minimal data set needs a time
        // (a meeting, by default) are logged as happening now.
        p["occurred_at"] = .string(try at.map { try global.instant($0, option: "at") } ?? global.nowOnServer())
        if let direction { p["direction"] = .string(direction) }
        if let requestID { p["request_id"] = .string(requestID) }
        try global.run("interaction.log", p) { r in
            let i = r["interaction"] ?? .null
            let c = r["client"] ?? .null
            print(tr("logged \(str(i["kind"])) #\(str(i["id"])) on client #\(str(c["id"])); zone now \(zoneCell(c))"))
        }
    }
}

struct InteractionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "interactions", abstract: tr("A client's interactions, newest first."))
    @OptionGroup var global: GlobalOptions
    @Argument var clientID: Int
    @Option var limit: Int?
    @Option var cursor: String?

    func run() throws {
        var p: JSONObject = ["client_id": .int(clientID)]
        if let limit { p["limit"] = .int(limit) }
        if let cursor { p["cursor"] = .string(cursor) }
        try global.run("interaction.list", p) { r in
            printInteractions(r["items"]?.arrayValue ?? [])
            if let next = r["next_cursor"]?.stringValue { print(Style.dim("more: --cursor \(next)")) }
        }
    }
}

func printInteractions(_ list: [JSON]) {
    var t = Table(["id", "when", "kind", "by", "topic", "result"])
    for i in list {
        var kind = str(i["kind"])
        if let d = i["direction"]?.stringValue { kind += " \(d)" }
        t.add([str(i["id"]), str(i["occurred_at"]), kind, str(i["author_login"]), str(i["topic"]), str(i["result"])])
    }
    t.print()
}
