import ArgumentParser
import CRMProtocol

struct ClientCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "client", abstract: "Create, show, list, find and assign clients.",
        subcommands: [Add.self, Show.self, List.self, Find.self, Update.self, Assign.self, History.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a client.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The client's name.") var name: String
        @Option(help: "company (default) or person.") var kind: String?
        @Option(name: .customLong("phone"), help: "A phone in any spelling (repeat for more).") var phones: [String] = []
        @Option(name: .customLong("email"), help: "An e-mail (repeat for more).") var emails: [String] = []
        @Option(help: "Lead manager (login or id). Managers get their own clients by default.") var owner: String?
        @Option var segment: String?
        @Option(help: "Marketing channel the client came from.") var source: String?
        @Option(help: "A retry key: repeating the command with it never creates a second client.") var requestID: String?

        func run() throws {
            var p: JSONObject = ["name": .string(name)]
            if let kind { p["kind"] = .string(kind) }
            if !phones.isEmpty { p["phones"] = .array(phones.map(JSON.string)) }
            if !emails.isEmpty { p["emails"] = .array(emails.map(JSON.string)) }
            if let owner { p["owner"] = Int64(owner).map(JSON.int) ?? .string(owner) }
            if let segment { p["segment"] = .string(segment) }
            if let source { p["source"] = .string(source) }
            if let requestID { p["request_id"] = .string(requestID) }
            try global.run("client.create", p) { c in
                print("created client #\(str(c["id"])) \(str(c["name"])), owner \(c["owner_login"]?.stringValue ?? "none"), \(zoneCell(c))")
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a client's card.")
        @OptionGroup var global: GlobalOptions
        @Argument var id: Int
        func run() throws { try global.run("client.get", ["id": .int(id)], render: printClient) }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List clients, colored by zone with days to release.",
            discussion: "A manager sees their own clients unless --query or --status is given.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Owner login or id.") var owner: String?
        @Option(help: "green, yellow or red.") var zone: String?
        @Option(help: "assigned, exchange or unassigned.") var status: String?
        @Option var segment: String?
        @Option(help: "Part of the name, or a phone.") var query: String?
        @Option var limit: Int?
        @Option var cursor: String?

        func run() throws {
            var p: JSONObject = [:]
            if let owner { p["owner"] = Int64(owner).map(JSON.int) ?? .string(owner) }
            if let zone { p["zone"] = .string(zone) }
            if let status { p["status"] = .string(status) }
            if let segment { p["segment"] = .string(segment) }
            if let query { p["query"] = .string(query) }
            if let limit { p["limit"] = .int(limit) }
            if let cursor { p["cursor"] = .string(cursor) }
            try global.run("client.list", p, render: printClientList)
        }
    }

    struct Find: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Caller ID: who has this phone number?")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The number in any spelling.") var phone: String

        func run() throws {
            try global.run("client.find_by_phone", ["phone": .string(phone)]) { r in
                if let k = r["contact"], k != .null {
                    print("\(str(r["phone"])): \(str(k["name"])) (\(str(k["position"]))) at:")
                } else {
                    print("\(str(r["phone"])):")
                }
                printClient(r["client"] ?? .null)
            }
        }
    }

    struct Update: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change a client's fields.")
        @OptionGroup var global: GlobalOptions
        @Argument var id: Int
        @Option var name: String?
        @Option var kind: String?
        @Option(name: .customLong("phone"), help: "Replaces all phones (repeat for more).") var phones: [String] = []
        @Option(name: .customLong("email"), help: "Replaces all e-mails (repeat for more).") var emails: [String] = []
        @Option var segment: String?
        @Option var source: String?
        @Option(help: "A, B or C.") var abc: String?
        @Option(name: .customLong("field"), help: "A custom field as key=value (repeat for more).") var fields: [String] = []

        func run() throws {
            var p: JSONObject = ["id": .int(id)]
            if let name { p["name"] = .string(name) }
            if let kind { p["kind"] = .string(kind) }
            if !phones.isEmpty { p["phones"] = .array(phones.map(JSON.string)) }
            if !emails.isEmpty { p["emails"] = .array(emails.map(JSON.string)) }
            if let segment { p["segment"] = .string(segment) }
            if let source { p["source"] = .string(source) }
            if let abc { p["abc"] = .string(abc) }
            if !fields.isEmpty {
                var f = JSONObject()
                for kv in fields {
                    guard let eq = kv.firstIndex(of: "=") else { throw ValidationError("--field takes key=value, not '\(kv)'") }
                    f[String(kv[..<eq])] = .string(String(kv[kv.index(after: eq)...]))
                }
                p["fields"] = .object(f)
            }
            try global.run("client.update", p, render: printClient)
        }
    }

    struct Assign: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Give a client to a manager (heads and admins).")
        @OptionGroup var global: GlobalOptions
        @Argument var id: Int
        @Argument(help: "The new owner's login or id; 'none' to unassign.") var owner: String

        func run() throws {
            let o: JSON = owner == "none" ? .null : (Int64(owner).map(JSON.int) ?? .string(owner))
            try global.run("client.assign", ["id": .int(id), "owner": o]) { c in
                print(
                    "client #\(str(c["id"])) \(str(c["name"])) now belongs to \(c["owner_login"]?.stringValue ?? "nobody"), \(zoneCell(c))")
            }
        }
    }

    struct History: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Who changed what on a client's card, and when.")
        @OptionGroup var global: GlobalOptions
        @Argument var id: Int
        @Option var limit: Int?

        func run() throws {
            var p: JSONObject = ["id": .int(id)]
            if let limit { p["limit"] = .int(limit) }
            try global.run("client.history", p) { r in
                var t = Table(["at", "who", "action"])
                for a in r["items"]?.arrayValue ?? [] {
                    var who = str(a["actor_login"])
                    if let admin = a["acting_admin"]?.stringValue { who += " (via \(admin))" }
                    t.add([str(a["at"]), who, str(a["action"])])
                }
                t.print()
            }
        }
    }
}

struct LogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log", abstract: "Log a call, meeting, email, message or note on a client.",
        discussion: "Example: crmctl log call 12 --result 'agreed to a meeting' --direction out")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "call, meeting, email, message or note.") var kind: String
    @Argument(help: "The client's id.") var clientID: Int
    @Option var topic: String?
    @Option var result: String?
    @Option var note: String?
    @Option(help: "The contact person's id.") var contact: Int?
    @Option(help: "When it happened (RFC 3339); default now.") var at: String?
    @Option(help: "in or out.") var direction: String?
    @Option(help: "A retry key: repeating with it logs only once.") var requestID: String?

    func run() throws {
        var p: JSONObject = ["client_id": .int(clientID), "kind": .string(kind)]
        if let topic { p["topic"] = .string(topic) }
        if let result { p["result"] = .string(result) }
        if let note { p["note"] = .string(note) }
        if let contact { p["contact_id"] = .int(contact) }
        if let at { p["occurred_at"] = .string(at) }
        if let direction { p["direction"] = .string(direction) }
        if let requestID { p["request_id"] = .string(requestID) }
        try global.run("interaction.log", p) { r in
            let i = r["interaction"] ?? .null
            let c = r["client"] ?? .null
            print("logged \(str(i["kind"])) #\(str(i["id"])) on client #\(str(c["id"])); zone now \(zoneCell(c))")
        }
    }
}

struct InteractionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "interactions", abstract: "A client's interactions, newest first.")
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

struct ContactCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "contact", abstract: "A company's contact persons.",
        subcommands: [Add.self, Show.self, List.self, Update.self, Move.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a contact to a company.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The company's client id.") var clientID: Int
        @Argument var name: String
        @Option var position: String?
        @Option(name: .customLong("phone")) var phones: [String] = []
        @Option(name: .customLong("email")) var emails: [String] = []
        @Flag(help: "This person makes the decision.") var decisionMaker = false

        func run() throws {
            var p: JSONObject = ["client_id": .int(clientID), "name": .string(name)]
            if let position { p["position"] = .string(position) }
            if !phones.isEmpty { p["phones"] = .array(phones.map(JSON.string)) }
            if !emails.isEmpty { p["emails"] = .array(emails.map(JSON.string)) }
            if decisionMaker { p["decision_maker"] = true }
            try global.run("contact.create", p) { k in print("added contact #\(str(k["id"])) \(str(k["name"])) to client #\(clientID)") }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A contact with their company history.")
        @OptionGroup var global: GlobalOptions
        @Argument var id: Int

        func run() throws {
            try global.run("contact.get", ["id": .int(id)]) { k in
                print("#\(str(k["id"])) \(str(k["name"])), \(str(k["position"])) at \(str(k["client_name"])) (#\(str(k["client_id"])))")
                let phones = k["phones"]?.arrayValue?.compactMap(\.stringValue) ?? []
                if !phones.isEmpty { print("phones  \(phones.joined(separator: ", "))") }
                let emails = k["emails"]?.arrayValue?.compactMap(\.stringValue) ?? []
                if !emails.isEmpty { print("emails  \(emails.joined(separator: ", "))") }
                var t = Table(["client", "position", "from", "to"])
                for a in k["affiliations"]?.arrayValue ?? [] {
                    t.add([str(a["client_id"]), str(a["position"]), str(a["from"]), a["to"]?.stringValue ?? "now"])
                }
                t.print()
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A company's contacts.")
        @OptionGroup var global: GlobalOptions
        @Argument var clientID: Int

        func run() throws {
            try global.run("contact.list", ["client_id": .int(clientID)]) { r in
                printContacts(r["items"]?.arrayValue ?? [])
            }
        }
    }

    struct Update: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change a contact.")
        @OptionGroup var global: GlobalOptions
        @Argument var id: Int
        @Option var name: String?
        @Option var position: String?
        @Option(name: .customLong("phone"), help: "Replaces all phones.") var phones: [String] = []
        @Option(name: .customLong("email"), help: "Replaces all e-mails.") var emails: [String] = []
        @Option(help: "true or false.") var decisionMaker: Bool?

        func run() throws {
            var p: JSONObject = ["id": .int(id)]
            if let name { p["name"] = .string(name) }
            if let position { p["position"] = .string(position) }
            if !phones.isEmpty { p["phones"] = .array(phones.map(JSON.string)) }
            if !emails.isEmpty { p["emails"] = .array(emails.map(JSON.string)) }
            if let decisionMaker { p["decision_maker"] = .bool(decisionMaker) }
            try global.run("contact.update", p) { k in print("updated contact #\(str(k["id"])) \(str(k["name"]))") }
        }
    }

    struct Move: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Move a contact to another company; the past stays in their history.")
        @OptionGroup var global: GlobalOptions
        @Argument var id: Int
        @Argument(help: "The new company's client id.") var clientID: Int
        @Option(help: "Their position at the new company.") var position: String?

        func run() throws {
            var p: JSONObject = ["id": .int(id), "client_id": .int(clientID)]
            if let position { p["position"] = .string(position) }
            try global.run("contact.move", p) { k in
                print("contact #\(str(k["id"])) \(str(k["name"])) now at client #\(str(k["client_id"]))")
            }
        }
    }
}
