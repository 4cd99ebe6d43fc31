import ArgumentParser
import CRMProtocol
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

    @Flag(
        help: ArgumentHelp(
            "Check the database (read-only, also while crmd runs): integrity, schema and counts; print ok and exit 0, or the problems and exit 1.",
            discussion: "Exit 66 when the database file does not exist (nothing is created), 77 when it cannot be read."))
    var check = false

    @Option(help: "system (default) or manual: a clock that moves only by clock.advance / clock.set (for tests).")
    var clock: String = "system"

    @Option(help: "With --clock manual: the starting instant (RFC 3339), not after 9000-01-01T00:00:00Z.")
    var clockStart: String?

    @Flag(help: "Demo mode: a sample team and clients, and a clock that runs a month per minute.")
    var demo = false

    func validate() throws {
        guard clock == "system" || clock == "manual" else { throw ValidationError("--clock is system or manual, not '\(clock)'") }
        if clock == "manual" {
            switch clockStart.map(RFC3339.read) ?? .malformed {
            case .malformed:
                throw ValidationError("--clock manual needs --clock-start with an RFC 3339 instant, like 2026-01-01T09:00:00Z")
            case .outOfRange:
                throw ValidationError(
                    "--clock-start must be an RFC 3339 instant \(RFC3339.rangeText) (in UTC, once its offset is applied), not '\(clockStart ?? "")'"
                )
            case .instant(let ms):
                if RFC3339.date(milliseconds: ms) > ManualClock.latest {
                    throw ValidationError("--clock-start must not be after \(ManualClock.latestExplained)")
                }
            }
        }
        if clock == "system", clockStart != nil { throw ValidationError("--clock-start goes with --clock manual") }
        if demo, clock == "manual" { throw ValidationError("--demo runs its own fast clock; leave out --clock manual") }
        if check, checkConfig || demo || clock != "system" {
            throw ValidationError(
                "--check only reads the database; it goes with --database and --config, not --check-config, --demo or --clock")
        }
    }

    func run() async throws {
        let options = Daemon.Options(
            socket: socket, database: database, config: config,
            manualClockStart: clock == "manual" ? clockStart.flatMap(RFC3339.parse) : nil, demo: demo)
        if check {
            let code = await Daemon.check(options)
            if code != 0 { throw ExitCode(code) }
            return
        }
        if checkConfig {
            let code = await Daemon.checkConfig(options)
            if code != 0 { throw ExitCode(code) }
            return
        }
        let code = await Daemon.run(options)
        if code != 0 { throw ExitCode(code) }
    }
}
