import ArgumentParser
import CRMClient
import CRMProtocol
import CRMText
import Foundation

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(help: .tr("crmd's socket (default: CRMD_SOCKET, your own crmd, or /run/crmd/crmd.sock)."))
    var socket: String?

    @Flag(help: .tr("Print the raw JSON result instead of a table."))
    var json = false

    @Option(name: .customLong("as"), help: .tr("Admins only: run the command as this user (audited)."))
    var actAs: String?

    func connect() throws -> Connection {
        let c = try Connection(path: socket ?? checkedDefaultSocketPath())
        if let actAs { _ = try c.call("session.act_as", ["login": .string(actAs)]) }
        // The language of this process's locale counts for crmd's messages when the user has
        // chosen none; crmd answers with the connection's language, which crmctl's own tables
        // then speak too, and with the department's time zone and now, in which tables show
        // instants.
        var who = JSONObject()
        if let lang = Lang.fromEnvironment(ProcessInfo.processInfo.environment) { who["lang"] = .string(lang.rawValue) }
        let me = try c.call("whoami", .object(who))
        if let lang = me["lang"]?.stringValue.flatMap(Lang.init(rawValue:)) { Language.set(lang) }
        if !json { Display.learn(from: me) }
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

extension GlobalOptions {
    /// Runs `body` on one connection (for commands that make several calls), mapping failures
    /// the way `run` does: a message on stderr and a non-zero exit.
    func session<T>(_ body: (Connection) throws -> T) throws -> T {
        do {
            return try body(try connect())
        } catch let e as RPCError {
            printError(e)
            throw ExitCode(1)
        } catch let e as ClientError {
            FileHandle.standardError.write(Data("crmctl: \(e)\n".utf8))
            throw ExitCode(e.exitCode)
        }
    }
}

extension ClientError {
    /// 77 (EX_NOPERM) when the socket refuses this account, else 69 (EX_UNAVAILABLE).
    var exitCode: Int32 {
        if case .permissionDenied = self { return 77 }
        return 69
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

/// Global options typed before the subcommand (`crmctl --socket S --json client list`) are moved
/// after it, where every command declares them, so both placements mean the same.
enum GlobalPlacement {
    static let valued: Set<String> = ["--socket", "--as"]
    static let flags: Set<String> = ["--json"]

    static func moved(_ args: [String]) -> [String] {
        var leading: [String] = []
        var i = 0
        while i < args.count {
            let a = args[i]
            let name = String(a.split(separator: "=", maxSplits: 1).first ?? "")
            if flags.contains(a) || (valued.contains(name) && a.contains("=")) {
                leading.append(a)
                i += 1
            } else if valued.contains(a), i + 1 < args.count {
                leading += [a, args[i + 1]]
                i += 2
            } else {
                break
            }
        }
        guard !leading.isEmpty else { return args }
        var rest = Array(args[i...])
        let end = rest.firstIndex(of: "--") ?? rest.endIndex
        rest.insert(contentsOf: leading, at: end)
        return rest
    }
}
