import CRMFiles
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

    /// The config file to read: `--config`, else `CRMD_CONFIG`, else `crmd.yaml` in systemd's
    /// `$CONFIGURATION_DIRECTORY` (`ConfigurationDirectory=crmd` → /etc/crmd) when it exists, else
    /// `/etc/crmd/crmd.yaml` when it exists and crmd runs as root; else none (built-in defaults).
    static func configPath(_ options: Options, env: [String: String]) -> String? {
        if let c = options.config { return c }
        if let c = env["CRMD_CONFIG"], !c.isEmpty { return c }
        if let dir = env["CONFIGURATION_DIRECTORY"]?.split(separator: ":").first {
            let file = "\(dir)/crmd.yaml"
            if FileManager.default.fileExists(atPath: file) { return file }
        }
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
        // A SIGHUP before the reload handler is installed must not kill a starting crmd.
        signal(SIGHUP, SIG_IGN)
        // The database is personal data: whatever crmd creates (the database, its -wal and -shm,
        // the lock, backup copies) is its user's alone, whatever umask it was started with.
        umask(0o077)
        let env = ProcessInfo.processInfo.environment
        // Socket activation: systemd passes the listening socket (named by FileDescriptorName=).
        let listener: RPCServer.Listener
        var socketOverride = options.socket ?? env["CRMD_SOCKET"]
        switch adoptSystemdSocket() {
        case .failure(let e):
            printError("crmd: \(e)")
            return 78
        case .success(let adopted?):
            listener = .inherited(fd: adopted.fd)
            socketOverride = adopted.path
        case .success(nil):
            listener = .bind
        }
        let load: @Sendable () async throws -> Settings = { [socketOverride] in
            try await Settings.load(configFile: configPath(options, env: env), socket: socketOverride, database: options.database)
        }
        let settings: Settings
        do {
            settings = try await load()
        } catch {
            printError("crmd: \(error)")
            return 78  // EX_CONFIG
        }
        CRMLogging.bootstrap(settings)
        let logger = Logger(label: "crmd")
        fixLargeAllocationThreshold()
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
        let supervisor: Supervisor
        do {
            lock = try InstanceLock(databasePath: settings.databasePath)
            makePrivate(databaseFilesOf: settings.databasePath, logger: logger)
            do {
                store = try Store(path: settings.databasePath, options: settings.storeOptions)
            } catch {
                throw StartupError("cannot open the database \(settings.databasePath): \(storageFailureMessage(error) ?? "\(error)")")
            }
            // What every commit runs with, read back on the writer (Store refused to open otherwise).
            if ["FULL", "EXTRA"].contains(store.writerSynchronous) {
                logger.info("commits are synced before they are acknowledged", metadata: ["synchronous": "\(store.writerSynchronous)"])
            } else {
                logger.warning(
                    "store.synchronous is \(store.writerSynchronous): acknowledged writes survive a crash of crmd but not a power cut",
                    metadata: ["synchronous": "\(store.writerSynchronous)"])
            }
            let clock: any WallClock
            if let start = options.manualClockStart {
                clock = ManualClock(start: start)
            } else if options.demo {
                clock = AcceleratedClock(start: Date(), factor: Demo.factor)
            } else {
                clock = SystemClock()
            }
            // Seeded before the first read: a read snapshot taken before a write outside group
            // commit would not see what the seed wrote.
            if options.demo { try Demo.seed(store, settings: settings, now: clock.now()) }
            if let problem = try Settings.removedStageProblem(settings.domain.deals, store: store) {
                throw StartupError("config key '\(problem.key)': \(problem.problem)")
            }
            let context = try ServerContext(store: store, settings: settings, clock: clock, logger: logger)
            scheduler = Scheduler(context: context, logger: logger)
            deliverer = AlertDeliverer(context: context, logger: logger)
            let runner = EngineRunner(scheduler: scheduler, deliverer: deliverer)
            let dispatcher = Dispatcher(context: context, engine: runner)
            supervisor = Supervisor(
                context: context, scheduler: scheduler,
                reload: {
                    let new = try await load()
                    if let problem = try Settings.removedStageProblem(new.domain.deals, store: store) {
                        throw SettingsError(key: problem.key, problem: problem.problem)
                    }
                    let waiting = context.live.replace(with: new)
                    // Clients an exempting deal held back are looked at again under the new settings.
                    let now = context.clock.now()
                    if try await store.write({ tx in try tx.rearmHeldClients(now: now) }) > 0 { scheduler.poke() }
                    guard !waiting.isEmpty else { return "settings reloaded" }
                    return "settings reloaded; \(waiting.joined(separator: ", ")) take effect after a restart"
                }, logger: logger)
            // Catch up on everything that fell due while crmd was down, in order, before serving.
            let started = Date()
            let watch = Task { await supervisor.watchStartup() }
            defer { watch.cancel() }
            let caughtUp = try await runner.run()
            if caughtUp > 0 {
                logger.info(
                    "caught up after downtime", metadata: ["events": "\(caughtUp)", "seconds": "\(Date().timeIntervalSince(started))"])
            }
            server = try RPCServer(context: context, dispatcher: dispatcher, listener: listener, logger: logger)
        } catch {
            printError("crmd: \(error)")
            return 1
        }
        let from = if case .inherited = listener { " (socket passed by systemd)" } else { "" }
        printOut("crmd \(crmdVersion) listening on \(settings.socketPath)\(from) (database \(settings.databasePath))")
        if options.demo {
            printOut(
                "demo: a sample team and clients; the clock runs \(Int(Demo.factor))x (a month per minute). Try: crmctl client list --socket \(settings.socketPath)"
            )
        }
        // Shutdown runs in reverse order: systemd hears STOPPING=1, the listener closes and the
        // requests in flight finish, the scheduler stops, and the alert outbox is flushed last.
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: deliverer), .init(service: scheduler), .init(service: server), .init(service: supervisor)],
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
        // Only the socket crmd bound; one passed by systemd belongs to crmd.socket and stays.
        server.removeSocketFile()
        withExtendedLifetime(lock) {}
        logger.info("crmd stopped")
        return code
    }

    /// Takes group and other permissions off the database files crmd finds open to them (a copy
    /// restored by hand, a file made by an older crmd under umask 022): SQLite gives -wal and -shm
    /// the database file's mode, so the database file decides. Logged, never fatal.
    static func makePrivate(databaseFilesOf database: String, logger: Logger) {
        for suffix in LiveDatabase.suffixes where suffix != ".lock" {
            let file = database + suffix
            var st = stat()
            guard lstat(file, &st) == 0, st.st_mode & S_IFMT == S_IFREG, st.st_mode & 0o077 != 0 else { continue }
            let old = String(st.st_mode & 0o7777, radix: 8)
            do throws(PosixError) {
                try Posix.chmod(file, st.st_mode & 0o700)
                logger.warning(
                    "a database file was readable by others (mode \(old)); crmd made it \(String(st.st_mode & 0o700, radix: 8))",
                    metadata: ["file": "\(file)"])
            } catch {
                logger.warning(
                    "a database file is open to other users (mode \(old)) and crmd cannot change it; chmod 600 it",
                    metadata: ["file": "\(file)", "error": "\(error.message)"])
            }
        }
    }

    /// The listening socket systemd passed, if any: the one named `crmd` (FileDescriptorName=),
    /// or the only one. It must be a Unix stream socket: crmd knows who calls from the peer's
    /// credentials, which only a Unix socket carries.
    static func adoptSystemdSocket() -> Result<(fd: Int32, path: String)?, StartupError> {
        let fds = Systemd.listenFDs()
        guard !fds.isEmpty else { return .success(nil) }
        guard let chosen = fds.first(where: { $0.name == "crmd" }) ?? (fds.count == 1 ? fds[0] : nil) else {
            let names = fds.map(\.name).joined(separator: ", ")
            return .failure(
                StartupError(
                    "systemd passed \(fds.count) sockets (\(names)) and none is named 'crmd'; set FileDescriptorName=crmd in crmd.socket"))
        }
        var addr = sockaddr_un()
        var len = socklen_t(MemoryLayout<sockaddr_un>.size)
        let got = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(chosen.fd, $0, &len) }
        }
        var type: Int32 = 0
        var typeLen = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(chosen.fd, SOL_SOCKET, SO_TYPE, &type, &typeLen)
        guard got == 0, addr.sun_family == sa_family_t(AF_UNIX), type == Int32(SOCK_STREAM.rawValue) else {
            return .failure(
                StartupError(
                    "the socket systemd passed (fd \(chosen.fd), '\(chosen.name)') is not a Unix stream socket; crmd.socket needs ListenStream=/run/crmd/crmd.sock"
                ))
        }
        let path = withUnsafeBytes(of: addr.sun_path) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        return .success((chosen.fd, path.isEmpty ? "fd \(chosen.fd) from systemd" : path))
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
