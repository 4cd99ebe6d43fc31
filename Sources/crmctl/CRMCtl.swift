import ArgumentParser
import CRMClient
import CRMProtocol
import Foundation

@main
struct CRMCtl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crmctl",
        abstract: "Talk to crmd: users, clients, contacts, interactions, caller ID and status.",
        discussion: """
            crmctl finds crmd's socket by itself (CRMD_SOCKET, then your own crmd, then the system one at
            /run/crmd/crmd.sock). Output is a readable table; add --json for the raw result, for scripts.
            Any method can be called with `crmctl rpc METHOD '{"param":...}'`.
            """,
        version: "0.1.0",
        subcommands: [
            Status.self, Ping.self, WhoAmI.self, UserCommand.self, ClientCommand.self, LogCommand.self, InteractionsCommand.self,
            ContactCommand.self, ExchangeCommand.self, Claim.self, Release.self, Explain.self, Preview.self, AlertsCommand.self, Watch.self,
            ReportCommand.self, ClockCommand.self, Backup.self, RPC.self,
        ])
}

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(help: "crmd's socket (default: CRMD_SOCKET, your own crmd, or /run/crmd/crmd.sock).")
    var socket: String?

    @Flag(help: "Print the raw JSON result instead of a table.")
    var json = false

    @Option(name: .customLong("as"), help: "Admins only: run the command as this user (audited).")
    var actAs: String?

    func connect() throws -> Connection {
        let c = try Connection(path: socket ?? checkedDefaultSocketPath())
        if let actAs { _ = try c.call("session.act_as", ["login": .string(actAs)]) }
        return c
    }

    /// Calls one method and prints its result with `render` (or as JSON), mapping failures to
    /// a message on stderr and a non-zero exit.
    func run(_ method: String, _ params: JSONObject = JSONObject(), render: (JSON) -> Void) throws {
        let result = try session { conn in try conn.call(method, .object(params)) }
        if json {
            print(JSONWriter.string(result))
        } else {
            render(result)
        }
    }
}

func printError(_ e: RPCError) {
    var text = "crmctl: \(e.message)\n"
    for f in e.data?["fields"]?.arrayValue ?? [] {
        text += "  - \(f["field"]?.stringValue ?? "?"): \(f["problem"]?.stringValue ?? "")\n"
    }
    text += "  (error \(e.code) \(ErrorCode.name(of: e.code)))\n"
    FileHandle.standardError.write(Data(text.utf8))
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "crmd's version, uptime, clients per zone and connections.")
    @OptionGroup var global: GlobalOptions

    func run() throws {
        try global.run("server.status") { r in
            let c = r["clients"] ?? .null
            print("crmd \(r["version"]?.stringValue ?? "?") up since \(r["started_at"]?.stringValue ?? "?")")
            print("database     \(r["store"]?["path"]?.stringValue ?? "?")")
            print(
                "clients      \(num(c["total"])) total: \(Style.zone("green", num(c["green"]))) green, \(Style.zone("yellow", num(c["yellow"]))) yellow, \(Style.zone("red", num(c["red"]))) red, \(num(c["exchange"])) on the exchange, \(num(c["unassigned"])) unassigned"
            )
            print("connections  \(num(r["connections"])) open, \(num(r["subscriptions"])) subscriptions")
            if let s = r["store"] {
                print("commits      \(num(s["commits"])) commits for \(num(s["writes"])) writes (largest batch \(num(s["largest_batch"])))")
            }
        }
    }
}

struct Ping: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check that crmd answers.")
    @OptionGroup var global: GlobalOptions
    func run() throws {
        try global.run("server.ping") { r in print("pong from crmd \(r["version"]?.stringValue ?? "?")") }
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

struct RPC: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Call any method with JSON params and print the JSON result.",
        discussion: "Example: crmctl rpc client.list '{\"zone\":\"red\"}'")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The method, e.g. client.get.") var method: String
    @Argument(help: "Params as a JSON object.") var params: String = "{}"

    func run() throws {
        let parsed: JSON
        do {
            parsed = try JSONParser.parse(params)
        } catch {
            throw ValidationError("params are not valid JSON: \(error)")
        }
        guard case .object(let o) = parsed else { throw ValidationError("params must be a JSON object") }
        try global.run(method, o) { r in print(JSONWriter.string(r)) }
    }
}

func num(_ v: JSON?) -> String {
    guard let i = v?.intValue else { return "-" }
    return String(i)
}

func str(_ v: JSON?) -> String {
    switch v {
    case .string(let s)?: return s
    case .int(let i)?: return String(i)
    case .double(let d)?: return String(d)
    case .bool(let b)?: return b ? "yes" : "no"
    default: return ""
    }
}
