import CRMStore
public import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// Start-up and shutdown of the whole daemon, shared by the `crmd` executable and tests.
public enum Daemon {
    /// What the command line asked for.
    public struct Options: Sendable {
        public var socket: String?
        public var database: String?
        public var config: String?
        /// `--clock manual` with its start instant: the clock moves only by `clock.advance`/`clock.set`.
        public var manualClockStart: Date?
        /// `--demo`: sample team and clients, and a clock 43,200 times faster than real time.
        public var demo = false
        public init(socket: String?, database: String?, config: String?, manualClockStart: Date? = nil, demo: Bool = false) {
            self.socket = socket
            self.database = database
            self.config = config
            self.manualClockStart = manualClockStart
            self.demo = demo
        }
    }

    /// The config file to read: `--config`, else `CRMD_CONFIG`, else `/etc/crmd/crmd.yaml` when it
    /// exists and crmd runs as root; else none (built-in defaults).
    static func configPath(_ options: Options, env: [String: String]) -> String? {
        if let c = options.config { return c }
        if let c = env["CRMD_CONFIG"], !c.isEmpty { return c }
        if getuid() == 0, FileManager.default.fileExists(atPath: "/etc/crmd/crmd.yaml") { return "/etc/crmd/crmd.yaml" }
        return nil
    }

    /// Loads the settings and prints the effective values; 0 if they are valid, 78 if not.
    public static func checkConfig(_ options: Options) async -> Int32 {
        let env = ProcessInfo.processInfo.environment
        do {
            let file = configPath(options, env: env)
            let s = try await Settings.load(configFile: file, socket: options.socket ?? env["CRMD_SOCKET"], database: options.database)
            let z = s.domain.zones
            printOut("config \(file ?? "(none: built-in defaults)") is valid")
            printOut("server.socket \(s.socketPath) (mode \(String(s.socketMode, radix: 8)))")
            printOut("store.path \(s.databasePath) (synchronous \(s.synchronous))")
            printOut(
                "zones \(z.timeZone.identifier): yellow after \(z.yellowAfter), red after \(z.redAfter), release after \(z.releaseAfter)")
            return 0
        } catch {
            printError("crmd: \(error)")
            return 78
        }
    }

    /// Runs crmd until SIGTERM or SIGINT. Returns the process exit code.
    public static func run(_ options: Options) async -> Int32 {
        let env = ProcessInfo.processInfo.environment
        let settings: Settings
        do {
            settings = try await Settings.load(
                configFile: configPath(options, env: env), socket: options.socket ?? env["CRMD_SOCKET"], database: options.database)
        } catch {
            printError("crmd: \(error)")
            return 78  // EX_CONFIG
        }
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = Logger.Level(rawValue: settings.logLevel) ?? .info
            return h
        }
        let logger = Logger(label: "crmd")
        do {
            let dbDir = (settings.databasePath as NSString).deletingLastPathComponent
            if !dbDir.isEmpty {
                try FileManager.default.createDirectory(
                    atPath: dbDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            }
        } catch {
            printError("crmd: cannot create the database folder for \(settings.databasePath): \(error.localizedDescription)")
            return 73  // EX_CANTCREAT
        }
        let lock: InstanceLock
        let store: Store
        let server: RPCServer
        let scheduler: Scheduler
        let deliverer: AlertDeliverer
        do {
            lock = try InstanceLock(databasePath: settings.databasePath)
            do {
                store = try Store(path: settings.databasePath, options: settings.storeOptions)
            } catch {
                throw StartupError("cannot open the database \(settings.databasePath): \(storageFailureMessage(error) ?? "\(error)")")
            }
            let clock: any WallClock
            if let start = options.manualClockStart {
                clock = ManualClock(start: start)
            } else if options.demo {
                clock = AcceleratedClock(start: Date(), factor: Demo.factor)
            } else {
                clock = SystemClock()
            }
            if options.demo { try Demo.seed(store, settings: settings, now: clock.now()) }
            let dispatcher = try Dispatcher(store: store, settings: settings, clock: clock, logger: logger)
            scheduler = Scheduler(dispatcher: dispatcher, logger: logger)
            deliverer = AlertDeliverer(dispatcher: dispatcher, command: settings.deliveryCommand, logger: logger)
            dispatcher.engineRunner.withLock {
                $0 = { [scheduler, deliverer] in
                    let n = try await scheduler.runDue()
                    return n + (try await deliverer.runDue())
                }
            }
            // Catch up on everything that fell due while crmd was down, in order, before serving.
            let started = Date()
            let caughtUp = try await scheduler.runDue() + (try await deliverer.runDue())
            if caughtUp > 0 {
                logger.info(
                    "caught up after downtime", metadata: ["events": "\(caughtUp)", "seconds": "\(Date().timeIntervalSince(started))"])
            }
            server = try RPCServer(dispatcher: dispatcher, settings: settings, logger: logger)
        } catch {
            printError("crmd: \(error)")
            return 1
        }
        printOut("crmd \(crmdVersion) listening on \(settings.socketPath) (database \(settings.databasePath))")
        if options.demo {
            printOut(
                "demo: a sample team and clients; the clock runs \(Int(Demo.factor))x (a month per minute). Try: crmctl client list --socket \(settings.socketPath)"
            )
        }
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: server), .init(service: scheduler), .init(service: deliverer)],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        var code: Int32 = 0
        do {
            try await group.run()
        } catch {
            logger.error("crmd stopped on an error", metadata: ["error": "\(error)"])
            code = 1
        }
        do {
            try store.close()
        } catch {
            logger.error("closing the database failed", metadata: ["error": "\(error)"])
            code = 1
        }
        unlink(settings.socketPath)
        withExtendedLifetime(lock) {}
        logger.info("crmd stopped")
        return code
    }
}

/// Writes a line to standard error, unbuffered.
func printError(_ line: String) {
    let text = line + "\n"
    _ = text.withCString { write(2, $0, strlen($0)) }
}

/// Writes a line to standard output, unbuffered (so a supervisor sees it at once).
func printOut(_ line: String) {
    let text = line + "\n"
    _ = text.withCString { write(1, $0, strlen($0)) }
}
