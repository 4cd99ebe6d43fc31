import ArgumentParser
import CRMProtocol
import Foundation

struct ClientCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "client", abstract: tr("Create, show, list, find and assign clients."),
        subcommands: [
            Add.self, Show.self, List.self, Find.self, Update.self, Assign.self, History.self, Freeze.self, FreezeDecide.self, Lock.self,
            Unlock.self,
        ])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: tr("Create a client."))
        @OptionGroup var global: GlobalOptions
        @Argument(help: .tr("The client's name.")) var name: String
        @Option(help: .tr("company (default) or person.")) var kind: String?
        @Option(name: .customLong("phone"), help: .tr("A phone in any spelling (repeat for more).")) var phones: [String] = []
        @Option(name: .customLong("email"), help: .tr("An e-mail (repeat for more).")) var emails: [String] = []
        @Option(help: .tr("Lead manager (login or id). Managers get their own clients by default.")) var owner: String?
        @Option var segment: String?
        @Option(help: .tr("Marketing channel the client came from.")) var source: String?
        @Option(help: .tr("A retry key: repeating the command with it never creates a second client.")) var requestID: String?
        @Option(help: .tr("The tax id (ИНН): 10 digits for a company, 12 for a person; checked.")) var inn: String?
        @Option(help: .tr("The registration reason code (КПП): 9 characters.")) var kpp: String?
        @Flag(help: .tr("Create even when a client with a similar name exists (the warning names it; recorded in the audit)."))
        var force = false

        func run() throws {
            var p: JSONObject = ["name": .string(name)]
            if let inn { p["inn"] = .string(inn) }
            if let kpp { p["kpp"] = .string(kpp) }
            if force { p["force"] = true }
            if let kind { p["kind"] = .string(kind) }
            if !phones.isEmpty { p["phones"] = .array(phones.map(JSON.string)) }
            if !emails.isEmpty { p["emails"] = .array(emails.map(JSON.string)) }
            if let owner { p["owner"] = Int64(owner).map(JSON.int) ?? .string(owner) }
            if let segment { p["segment"] = .string(segment) }
            if let source { p["source"] = .string(source) }
            if let requestID { p["request_id"] = .string(requestID) }
            let c = try global.session { conn in
                do {
                    return try conn.call("client.create", .object(p))
                } catch let e as RPCError where e.data?["reason"] == "similar_name" {
                    let other = e.data ?? .null
                    FileHandle.standardError.write(
                        Data(
                            (tr("crmctl: not created: a client with a similar name already exists:")
                                + "\n  #\(str(other["client_id"])) \(str(other["client_name"])), "
                                + tr("owner \(other["owner_login"]?.stringValue ?? tr("none"))") + "\n"
                                + tr("Open it (crmctl client show \(str(other["client_id"]))), or add --force to create '\(name)' anyway.")
                                + "\n\n").utf8))
                    throw ExitCode(1)
                }
            }
            if global.json {
                print(JSONWriter.string(c))
            } else {
                print(
                    tr(
                        "created client #\(str(c["id"])) \(str(c["name"])), owner \(c["owner_login"]?.stringValue ?? tr("none")), \(zoneCell(c))"
                    ))
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: tr("Show a client's card."))
        @OptionGroup var global: GlobalOptions
        @Argument var id: Int
        func run() throws { try global.run("client.get", ["id": .int(id)], render: printClient) }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: tr("List clients, colored by zone with days to release."),
            discussion: tr("A manager sees their own clients unless --query or --status is given."))
        @OptionGroup var global: GlobalOptions
        @OptionGroup var filter: ClientFilter
        @Option var limit: Int?
        @Option var cursor: String?
        @Option(help: .tr("release (fewest days to release first), name or last-contact (longest ago first): fetches every page."))
        var sort: ClientSort?

        func validate() throws {
            if sort != nil, limit != nil || cursor != nil {
                throw ValidationError(tr("--sort lists every page: leave out --limit and --cursor"))
            }
        }

        func run() throws {
            var p = filter.params
            if let sort { return try sort.list(global, p) }
            if let limit { p["limit"] = .int(limit) }
            if let cursor { p["cursor"] = .string(cursor) }
            try global.run("client.list", p, render: printClientList)
        }
    }

    struct Find: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: tr("Caller ID: who has this phone number?"))
        @OptionGroup var global: GlobalOptions
        @Argument(help: .tr("The number in any spelling.")) var phone: String

        func run() throws {
            try global.run("client.find_by_phone", ["phone": .string(phone)]) { r in
                if let k = r["contact"], k != .null {
                    print(tr("\(phoneText(str(r["phone"]))): \(str(k["name"])) (\(str(k["position"]))) at:"))
                } else {
                    print("\(phoneText(str(r["phone"]))):")
                }
                printClient(r["client"] ?? .null)
            }
        }
    }

    struct Update: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: tr("Change a client's fields."))
        @OptionGroup var global: GlobalOptions
        @Argument var id: Int
        @Option var name: String?
        @Option var kind: String?
        @Option(name: .customLong("phone"), help: .tr("Replaces all phones (repeat for more).")) var phones: [String] = []
        @Option(name: .customLong("email"), help: .tr("Replaces all e-mails (repeat for more).")) var emails: [String] = []
        @Option var segment: String?
        @Option var source: String?
        @Option(name: .customLong("field"), help: .tr("A custom field as key=value (repeat for more).")) var fields: [String] = []
        @Flag(inversion: .prefixedNo, help: .tr("The client asked not to be mailed (--no-opt-out takes it back).")) var optOut: Bool?
        @Option(help: .tr("The tax id (ИНН); \"\" clears it.")) var inn: String?
        @Option(help: .tr("The registration reason code (КПП); \"\" clears it.")) var kpp: String?

        func run() throws {
            var p: JSONObject = ["id": .int(id)]
            if let inn { p["inn"] = inn.isEmpty ? .null : .string(inn) }
            if let kpp { p["kpp"] = kpp.isEmpty ? .null : .string(kpp) }
            if let optOut { p["opt_out"] = .bool(optOut) }
            if let name { p["name"] = .string(name) }
            if let kind { p["kind"] = .string(kind) }
            if !phones.isEmpty { p["phones"] = .array(phones.map(JSON.string)) }
            if !emails.isEmpty { p["emails"] = .array(emails.map(JSON.string)) }
            if let segment { p["segment"] = .string(segment) }
            if let source { p["source"] = .string(source) }
            if !fields.isEmpty {
                var f = JSONObject()
                for kv in fields {
                    guard let eq = kv.firstIndex(of: "=") else { throw ValidationError(tr("--field takes key=value, not '\(kv)'")) }
                    f[String(kv[..<eq])] = .string(String(kv[kv.index(after: eq)...]))
                }
                p["fields"] = .object(f)
            }
            try global.run("client.update", p, render: printClient)
        }
    }

    struct Assign: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: tr("Give a client to a manager (heads and admins)."))
        @OptionGroup var global: GlobalOptions
        @Argument var id: Int
        @Argument(help: .tr("The new owner's login or id; 'none' to unassign.")) var owner: String

        func run() throws {
            let o: JSON = owner == "none" ? .null : (Int64(owner).map(JSON.int) ?? .string(owner))
            try global.run("client.assign", ["id": .int(id), "owner": o]) { c in
                print(
                    tr(
                        "client #\(str(c["id"])) \(str(c["name"])) now belongs to \(c["owner_login"]?.stringValue ?? tr("nobody")), \(zoneCell(c))"
                    ))
            }
        }
    }

    struct History: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: tr("Who changed what on a client's card, and when."))
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
                    if let admin = a["acting_admin"]?.stringValue { who += " " + tr("(via \(admin))") }
                    t.add([str(a["at"]), who, str(a["action"])])
                }
                t.print()
            }
        }
    }
}

/// Prints a client card.
func printClient(_ c: JSON) {
    if c["restricted"] == .bool(true) {
        print("#\(str(c["id"])) \(str(c["name"]))")
        print(cardLine(tr("owner"), "\(str(c["owner_login"]))  " + tr("zone \(zoneCell(c))")))
        print(Style.dim(tr("(another manager's client: only name, owner and zone are shown)")))
        return
    }
    print("#\(str(c["id"])) \(str(c["name"])) (\(Language.word("kind", str(c["kind"]))))")
    print(
        cardLine(
            tr("owner"),
            "\(c["owner_login"]?.stringValue ?? "-")  " + tr("status \(Language.word("status", str(c["status"])))") + "  "
                + tr("zone \(zoneCell(c))")))
    if let r = c["release_at"]?.stringValue { print(cardLine(tr("release at"), r)) }
    let phones = phonesText(c["phones"])
    let emails = c["emails"]?.arrayValue?.compactMap(\.stringValue) ?? []
    if !phones.isEmpty { print(cardLine(tr("phones"), phones)) }
    if !emails.isEmpty { print(cardLine(tr("emails"), emails.joined(separator: ", "))) }
    if let inn = c["inn"]?.stringValue { print("ИНН          \(inn)" + (c["kpp"]?.stringValue.map { "  КПП \($0)" } ?? "")) }
    if let v = c["segment"]?.stringValue { print(cardLine(tr("segment"), v)) }
    if let v = c["source"]?.stringValue { print(cardLine(tr("source"), v)) }
    if let abc = c["abc"]?.stringValue { print(cardLine(tr("class"), "\(abc)\(c["xyz"]?.stringValue ?? "")")) }
    if let f = c["fields"]?.objectValue, f.count > 0 {
        for m in f.members { print("  \(m.key): \(str(m.value))") }
    }
    if c["opt_out"] == .bool(true) { print(cardLine(tr("opt-out"), tr("yes: left out of mailing lists"))) }
    if let l = c["last_interaction_at"]?.stringValue { print(cardLine(tr("last contact"), l)) }
    if let contacts = c["contacts"]?.arrayValue, !contacts.isEmpty {
        print("\n" + tr("contacts"))
        var t = Table(["id", "name", "position", "phones", "dm"])
        for k in contacts {
            t.add([
                str(k["id"]), str(k["name"]), str(k["position"]),
                phonesText(k["phones"]),
                (k["decision_maker"] == .bool(true) ? tr("yes") : "") + (k["opt_out"] == .bool(true) ? " " + tr("opt-out") : ""),
            ])
        }
        t.print()
    }
    if let list = c["interactions"]?.arrayValue, !list.isEmpty {
        print("\n" + tr("recent interactions"))
        printInteractions(list)
    }
    if let history = c["classes"]?.arrayValue, !history.isEmpty { printClassHistory(history) }
}

func printClientList(_ r: JSON) {
    var t = Table(["id", "name", "owner", "zone", "last contact", "abc", "xyz", "phones"])
    for c in r["items"]?.arrayValue ?? [] {
        t.add([
            str(c["id"]), str(c["name"]), c["owner_login"]?.stringValue ?? "-", zoneCell(c), Display.relative(c["last_interaction_at"]),
            c["abc"]?.stringValue ?? "-", c["xyz"]?.stringValue ?? "-",
            phonesText(c["phones"]),
        ])
    }
    t.print()
    if let next = r["next_cursor"]?.stringValue { print(Style.dim(tr("more: --cursor \(next)"))) }
}

/// The filters of `client.list`, shared by `crmctl client list` and `crmctl export clients`.
struct ClientFilter: ParsableArguments {
    @Option(help: .tr("Owner login or id.")) var owner: String?
    @Option(help: .tr("green, yellow or red.")) var zone: String?
    @Option(help: .tr("assigned, exchange or unassigned.")) var status: String?
    @Option var segment: String?
    @Option(help: .tr("Part of the name, or a phone.")) var query: String?
    @Option(help: .tr("A, B or C: clients of this ABC class.")) var abc: String?
    @Option(help: .tr("X, Y or Z: clients of this XYZ class.")) var xyz: String?

    var params: JSONObject {
        var p: JSONObject = [:]
        if let owner { p["owner"] = userParam(owner) }
        if let zone { p["zone"] = .string(zone) }
        if let status { p["status"] = .string(status) }
        if let segment { p["segment"] = .string(segment) }
        if let query { p["query"] = .string(query) }
        if let abc { p["abc"] = .string(abc.uppercased()) }
        if let xyz { p["xyz"] = .string(xyz.uppercased()) }
        return p
    }
}
