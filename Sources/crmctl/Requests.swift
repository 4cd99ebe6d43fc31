import ArgumentParser
import CRMProtocol
import Foundation

/// `crmctl request add|list|take|assign|close`: inbound requests (docs/rules.md, "Requests").
struct RequestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "request", abstract: tr("Inbound requests from the site, the phone and the mail, routed to managers."),
        subcommands: [Add.self, List.self, Take.self, Assign.self, Close.self])

    /// One line on a request.
    static func line(_ q: JSON) -> String {
        var parts = [tr("request #\(num(q["id"])) \(str(q["status"]))")]
        let who = [q["name"], q["phone"], q["email"]].compactMap { $0?.stringValue }.joined(separator: ", ")
        if !who.isEmpty { parts.append(who) }
        if let a = q["assignee"]?.intValue { parts.append(tr("assignee #\(a)")) }
        if let due = q["due_at"]?.stringValue { parts.append(tr("due \(Display.instant(due))")) }
        if let c = q["client_id"]?.intValue { parts.append(tr("client #\(c)")) }
        if let d = q["deal_id"]?.intValue { parts.append(tr("deal #\(d)")) }
        if let why = q["close_reason"]?.stringValue { parts.append(tr("closed: \(why)")) }
        return parts.joined(separator: ", ")
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: tr("Open a request (the web form's CGI runs this as an operator account)."),
            discussion: tr("At least one of --name, --phone and --email. A known phone or e-mail goes to its client's owner."))
        @OptionGroup var global: GlobalOptions
        @Option(help: .tr("Who asked.")) var name: String?
        @Option(help: .tr("Their phone (any spelling).")) var phone: String?
        @Option(help: .tr("Their e-mail.")) var email: String?
        @Option(help: .tr("Where it came from (default: form).")) var source: String?
        @Option(help: .tr("A segment or region name the competence rule matches.")) var topic: String?
        @Option(help: .tr("What they wrote.")) var text: String?
        @Flag(help: .tr("Print only the request's id.")) var quiet = false

        func run() throws {
            var p = JSONObject()
            for (k, v) in [("name", name), ("phone", phone), ("email", email), ("source", source), ("topic", topic), ("text", text)] {
                if let v { p[k] = .string(v) }
            }
            try global.run("request.create", p) { q in print(quiet ? num(q["id"]) : RequestCommand.line(q)) }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: tr("List requests (a manager sees those assigned to them)."))
        @OptionGroup var global: GlobalOptions
        @Option(help: .tr("new, routed, taken or closed.")) var status: String?
        @Option(help: .tr("The assignee's login.")) var assignee: String?

        func run() throws {
            var p = JSONObject()
            if let status { p["status"] = .string(status) }
            if let assignee { p["assignee"] = .string(assignee) }
            try global.run("request.list", p) { r in
                for q in r["items"]?.arrayValue ?? [] { print(RequestCommand.line(q)) }
            }
        }
    }

    struct Take: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: tr("Take a request: its client (found or created) and a new deal become yours."))
        @OptionGroup var global: GlobalOptions
        @Argument(help: .tr("The request's id.")) var id: Int

        func run() throws {
            try global.run("request.take", ["id": .int(id)]) { print(RequestCommand.line($0)) }
        }
    }

    struct Assign: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: tr("Hand a request to a manager (heads and admins)."))
        @OptionGroup var global: GlobalOptions
        @Argument(help: .tr("The request's id.")) var id: Int
        @Argument(help: .tr("The manager's login.")) var login: String

        func run() throws {
            try global.run("request.assign", ["id": .int(id), "to": .string(login)]) { print(RequestCommand.line($0)) }
        }
    }

    struct Close: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: tr("Close a new or routed request without a deal: spam, a wrong number (heads, admins, its assignee)."))
        @OptionGroup var global: GlobalOptions
        @Argument(help: .tr("The request's id.")) var id: Int
        @Option(help: .tr("Why it is closed.")) var reason: String

        func run() throws {
            try global.run("request.close", ["id": .int(id), "reason": .string(reason)]) { print(RequestCommand.line($0)) }
        }
    }
}
