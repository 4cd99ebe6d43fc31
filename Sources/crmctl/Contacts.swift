import ArgumentParser
import CRMProtocol

struct ContactCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "contact", abstract: tr("A company's contact persons."),
        subcommands: [Add.self, Show.self, List.self, Update.self, Move.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: tr("Add a contact to a company."))
        @OptionGroup var global: GlobalOptions
        @Argument(help: .tr("The company's client id.")) var clientID: Int
        @Argument var name: String
        @Option var position: String?
        @Option(name: .customLong("phone")) var phones: [String] = []
        @Option(name: .customLong("email")) var emails: [String] = []
        @Flag(help: .tr("This person makes the decision.")) var decisionMaker = false

        func run() throws {
            var p: JSONObject = ["client_id": .int(clientID), "name": .string(name)]
            if let position { p["position"] = .string(position) }
            if !phones.isEmpty { p["phones"] = .array(phones.map(JSON.string)) }
            if !emails.isEmpty { p["emails"] = .array(emails.map(JSON.string)) }
            if decisionMaker { p["decision_maker"] = true }
            try global.run("contact.create", p) { k in print(tr("added contact #\(str(k["id"])) \(str(k["name"])) to client #\(clientID)"))
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: tr("A contact with their company history."))
        @OptionGroup var global: GlobalOptions
        @Argument var id: Int

        func run() throws {
            try global.run("contact.get", ["id": .int(id)]) { k in
                print(tr("#\(str(k["id"])) \(str(k["name"])), \(str(k["position"])) at \(str(k["client_name"])) (#\(str(k["client_id"])))"))
                let phones = phonesText(k["phones"])
                if !phones.isEmpty { print(cardLine(tr("phones"), phones)) }
                let emails = k["emails"]?.arrayValue?.compactMap(\.stringValue) ?? []
                if !emails.isEmpty { print(cardLine(tr("emails"), emails.joined(separator: ", "))) }
                var t = Table(["client", "position", "from", "to"])
                for a in k["affiliations"]?.arrayValue ?? [] {
                    t.add([str(a["client_id"]), str(a["position"]), str(a["from"]), a["to"]?.stringValue ?? "now"])
                }
                t.print()
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: tr("A company's contacts."))
        @OptionGroup var global: GlobalOptions
        @Argument var clientID: Int

        func run() throws {
            try global.run("contact.list", ["client_id": .int(clientID)]) { r in
                printContacts(r["items"]?.arrayValue ?? [])
            }
        }
    }

    struct Update: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: tr("Change a contact."))
        @OptionGroup var global: GlobalOptions
        @Argument var id: Int
        @Option var name: String?
        @Option var position: String?
        @Option(name: .customLong("phone"), help: .tr("Replaces all phones.")) var phones: [String] = []
        @Option(name: .customLong("email"), help: .tr("Replaces all e-mails.")) var emails: [String] = []
        @Option(help: .tr("true or false.")) var decisionMaker: Bool?
        @Option(help: .tr("true: the contact asked not to be mailed; false takes it back.")) var optOut: Bool?

        func run() throws {
            var p: JSONObject = ["id": .int(id)]
            if let optOut { p["opt_out"] = .bool(optOut) }
            if let name { p["name"] = .string(name) }
            if let position { p["position"] = .string(position) }
            if !phones.isEmpty { p["phones"] = .array(phones.map(JSON.string)) }
            if !emails.isEmpty { p["emails"] = .array(emails.map(JSON.string)) }
            if let decisionMaker { p["decision_maker"] = .bool(decisionMaker) }
            try global.run("contact.update", p) { k in print(tr("updated contact #\(str(k["id"])) \(str(k["name"]))")) }
        }
    }

    struct Move: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: tr("Move a contact to another company; the past stays in their history."))
        @OptionGroup var global: GlobalOptions
        @Argument var id: Int
        @Argument(help: .tr("The new company's client id.")) var clientID: Int
        @Option(help: .tr("Their position at the new company.")) var position: String?

        func run() throws {
            var p: JSONObject = ["id": .int(id), "client_id": .int(clientID)]
            if let position { p["position"] = .string(position) }
            try global.run("contact.move", p) { k in
                print(tr("contact #\(str(k["id"])) \(str(k["name"])) now at client #\(str(k["client_id"]))"))
            }
        }
    }
}

/// A table of contacts: id, name, position, phones, e-mails, decision maker.
func printContacts(_ list: [JSON]) {
    var t = Table(["id", "name", "position", "phones", "emails", "dm"])
    for k in list {
        t.add([
            str(k["id"]), str(k["name"]), str(k["position"]),
            (k["phones"]?.arrayValue?.compactMap(\.stringValue) ?? []).joined(separator: ", "),
            (k["emails"]?.arrayValue?.compactMap(\.stringValue) ?? []).joined(separator: ", "),
            k["decision_maker"] == .bool(true) ? "yes" : "",
        ])
    }
    t.print()
}
