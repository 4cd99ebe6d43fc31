import ArgumentParser
import CRMServer
import Foundation

/// crmd: the CRM daemon. Owns the database and serves JSON-RPC on a Unix socket.
@main
struct CRMD: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crmd",
        abstract: "The CRM daemon: clients, contacts, interactions and the colored clients exchange over a Unix socket.",
        discussion: """
            With no flags, crmd keeps its database under $XDG_STATE_HOME/crmd (~/.local/state/crmd) and listens on
            $XDG_RUNTIME_DIR/crmd/crmd.sock; as root, /var/lib/crmd and /run/crmd/crmd.sock. Every setting is
            described in config/crmd.yaml and can be overridden with a CRMD_* environment variable.
            """,
        version: crmdVersion)

    @Option(help: "Unix socket to listen on (also CRMD_SOCKET).")
    var socket: String?

    @Option(help: "SQLite database file (also CRMD_STORE_PATH).")
    var database: String?

    @Option(help: "YAML configuration file (also CRMD_CONFIG).")
    var config: String?

    @Flag(help: "Check the settings (file and CRMD_* environment), print them, and exit.")
    var checkConfig = false

    func run() async throws {
        let options = Daemon.Options(socket: socket, database: database, config: config)
        if checkConfig {
            let code = await Daemon.checkConfig(options)
            if code != 0 { throw ExitCode(code) }
            return
        }
        let code = await Daemon.run(options)
        if code != 0 { throw ExitCode(code) }
    }
}
