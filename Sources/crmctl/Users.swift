import ArgumentParser
import CRMProtocol

struct UserCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user", abstract: "Add, list, change and deactivate users (admins).",
        subcommands: [Add.self, List.self, Update.self, Deactivate.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a user mapped to a Unix account.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Login (usually the Unix account name).") var login: String
        @Option(help: "Full name.") var name: String
        @Option(help: "admin, director, head, manager, operator or accountant.") var role: String
        @Option(help: "Unix uid (default: the uid of the system account with this login).") var uid: Int?

        func run() throws {
            var p: JSONObject = ["login": .string(login), "name": .string(name), "role": .string(role)]
            if let uid { p["uid"] = .int(uid) }
            try global.run("user.add", p) { u in
                print("added user \(str(u["login"])) (id \(str(u["id"])), role \(str(u["role"])), uid \(u["uid"].map(str) ?? "-"))")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List users.")
        @OptionGroup var global: GlobalOptions
        @Flag(help: "Include deactivated users.") var all = false

        func run() throws {
            try global.run("user.list", all ? ["include_inactive": true] : [:]) { r in
                var t = Table(["id", "login", "name", "role", "uid", "active"])
                for u in r["items"]?.arrayValue ?? [] {
                    t.add([str(u["id"]), str(u["login"]), str(u["name"]), str(u["role"]), str(u["uid"]), str(u["active"])])
                }
                t.print()
            }
        }
    }

    struct Update: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change a user's name, role or uid.")
        @OptionGroup var global: GlobalOptions
        @Argument var login: String
        @Option var name: String?
        @Option var role: String?
        @Option var uid: Int?

        func run() throws {
            var p: JSONObject = ["login": .string(login)]
            if let name { p["name"] = .string(name) }
            if let role { p["role"] = .string(role) }
            if let uid { p["uid"] = .int(uid) }
            try global.run("user.update", p) { u in print("updated \(str(u["login"])): role \(str(u["role"])), uid \(str(u["uid"]))") }
        }
    }

    struct Deactivate: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Deactivate a user; their history stays.")
        @OptionGroup var global: GlobalOptions
        @Argument var login: String
        @Option(help: "Hand all their clients to this manager.") var reassignTo: String?

        func run() throws {
            var p: JSONObject = ["login": .string(login)]
            if let reassignTo { p["reassign_to"] = .string(reassignTo) }
            try global.run("user.deactivate", p) { r in
                print("deactivated \(login); \(num(r["clients_reassigned"])) clients reassigned")
            }
        }
    }
}

struct WhoAmI: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "whoami", abstract: "The crmd user you are.")
    @OptionGroup var global: GlobalOptions
    func run() throws {
        try global.run("whoami") { r in
            let u = r["user"] ?? .null
            var line = "\(u["login"]?.stringValue ?? "?") (\(u["name"]?.stringValue ?? "")), role \(u["role"]?.stringValue ?? "?")"
            if let admin = r["acting_admin"]?.stringValue { line += ", acted as by \(admin)" }
            print(line)
        }
    }
}
