public import CRMClient
public import Foundation

/// Starts the real `crmd` binary on a private temporary folder (socket and database), for
/// integration tests and the benchmark. Readiness is the "listening on" line crmd prints after
/// its socket is bound: a barrier, not a sleep.
public final class TestDaemon: @unchecked Sendable {
    /// The temporary folder holding the socket and the database.
    public let directory: URL
    public let socketPath: String
    public let databasePath: String
    /// Extra environment (e.g. `CRMD_PROTOCOL_MAX_LINE_BYTES`).
    public var environment: [String: String]
    public var arguments: [String]
    /// A command that runs crmd (given as its last arguments), e.g.
    /// `["scripts/with-journald.sh", DIR, "--"]`; empty runs crmd directly. `stop()` signals the
    /// launcher's pid, so it should exec crmd; whatever else it leaves running must not keep the
    /// descriptors it inherited (Foundation's Process sees the exit when they close).
    public var launcher: [String] = []
    private(set) var process: Process?
    private var output = Pipe()
    /// Everything crmd wrote to stderr, for failure messages.
    public private(set) var stderrText = ""
    private let stderrLock = NSLock()

    /// The crmd binary: `CRMD_BIN`, else `crmd` next to the running test or benchmark binary.
    public static func binaryPath(named name: String = "crmd") -> String {
        let env = ProcessInfo.processInfo.environment
        if name == "crmd", let b = env["CRMD_BIN"], !b.isEmpty { return b }
        let me = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var dir = me.deletingLastPathComponent()
        // An .xctest bundle on some platforms is a folder; walk up until the binary is found.
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return me.deletingLastPathComponent().appendingPathComponent(name).path
    }

    /// A daemon on a new temporary folder (not started). `world: true` makes the folder and socket
    /// reachable by other uids (for identity tests).
    /// `databaseDirectory` puts the database in another folder (the power-cut test's FUSE mount);
    /// the socket stays in the temporary folder.
    public init(
        environment: [String: String] = [:], arguments: [String] = [], world: Bool = false, databaseDirectory: URL? = nil
    ) throws {
        let base = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("crmd-test-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        if world { chmod(base.path, 0o755) }
        directory = base
        socketPath = base.appendingPathComponent("crmd.sock").path
        databasePath = (databaseDirectory ?? base).appendingPathComponent("crm.sqlite").path
        var env = environment
        if world { env["CRMD_SERVER_SOCKET_MODE"] = "0666" }
        // Tests read crmd's English unless they ask for a language (the department's default is ru).
        if env["CRMD_LANGUAGE"] == nil { env["CRMD_LANGUAGE"] = "en" }
        // The fair claim window is on by default (10:00 the next working day); the tests that are
        // about it turn it on, the rest claim at once as before the window existed.
        if env["CRMD_EXCHANGE_CLAIM_WINDOW_ENDS"] == nil { env["CRMD_EXCHANGE_CLAIM_WINDOW_ENDS"] = "off" }
        self.environment = env
        self.arguments = arguments
    }

    deinit {
        if let p = process, p.isRunning { kill(p.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(at: directory)
    }

    /// The pid of the running crmd.
    public var pid: Int32? { process?.processIdentifier }

    /// Starts crmd and returns once it listens. Throws with crmd's own message if it exits first.
    public func start(timeout: TimeInterval = 60) throws {
        let p = Process()
        let crmdArguments = ["--socket", socketPath, "--database", databasePath] + arguments
        if let first = launcher.first {
            p.executableURL = URL(fileURLWithPath: first)
            p.arguments = Array(launcher.dropFirst()) + [Self.binaryPath()] + crmdArguments
        } else {
            p.executableURL = URL(fileURLWithPath: Self.binaryPath())
            p.arguments = crmdArguments
        }
        p.environment = childEnvironment(environment)
        let out = Pipe()
        let err = Pipe()
        p.standardOutput = out
        p.standardError = err
        output = out
        err.fileHandleForReading.readabilityHandler = { [weak self] h in
            let data = h.availableData
            guard let self, !data.isEmpty else { return }
            self.stderrLock.lock()
            self.stderrText += String(decoding: data, as: UTF8.self)
            self.stderrLock.unlock()
        }
        try p.run()
        process = p
        if !waitForOutput(out, containing: "listening on", timeout: timeout) {
            if p.isRunning { kill(p.processIdentifier, SIGKILL) }
            p.waitUntilExit()
            // The handler may not have been given crmd's last words yet (a loaded machine):
            // read what is left of the pipe before reporting them.
            err.fileHandleForReading.readabilityHandler = nil
            let rest = err.fileHandleForReading.readDataToEndOfFile()
            stderrLock.lock()
            stderrText += String(decoding: rest, as: UTF8.self)
            stderrLock.unlock()
            throw TestDaemonError.didNotStart(stderr: currentStderr())
        }
    }

    public func currentStderr() -> String {
        stderrLock.lock()
        defer { stderrLock.unlock() }
        return stderrText
    }

    /// A new connection to this crmd whose reads give up after `readTimeout` seconds (scaled by
    /// `CRMD_TEST_SLOWDOWN` under a sanitizer), so a reply or event that never comes fails the
    /// test instead of hanging the suite.
    public func connect(readTimeout: Double = 120) throws -> Connection {
        let c = try Connection(path: socketPath)
        c.setReadTimeout(seconds: readTimeout * testSlowdown)
        return c
    }

    /// SIGTERM and wait: the graceful path. Returns the exit status.
    @discardableResult
    public func stop() -> Int32 {
        guard let p = process else { return 0 }
        if p.isRunning { kill(p.processIdentifier, SIGTERM) }
        p.waitUntilExit()
        process = nil
        return p.terminationStatus
    }

    /// SIGKILL and wait: a crash.
    public func kill9() {
        guard let p = process else { return }
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        process = nil
    }

    /// Runs crmd with these extra arguments to completion (for start-up failures), returning
    /// its exit status and stderr.
    public func runToExit(arguments extra: [String], environment extraEnv: [String: String] = [:]) throws -> (status: Int32, stderr: String)
    {
        let r = try runProcess(
            Self.binaryPath(), ["--socket", socketPath, "--database", databasePath] + extra,
            environment: childEnvironment(environment.merging(extraEnv, uniquingKeysWith: { $1 })), inherit: false)
        return (r.status, r.err)
    }

    /// This process's environment without any CRMD_* setting, plus `extra`: a test's crmd sees
    /// only the settings the test gives it.
    func childEnvironment(_ extra: [String: String]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("CRMD_") }
        for (k, v) in extra { env[k] = v }
        return env
    }
}

/// Runs a program to completion and returns its exit status, stdout and stderr (both read at
/// once, so neither pipe can fill and stall it). With `inherit`, `environment` is added to this
/// process's environment; otherwise it is the whole environment.
public func runProcess(
    _ path: String, _ args: [String], environment: [String: String] = [:], inherit: Bool = true
) throws -> (status: Int32, out: String, err: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = args
    var env = inherit ? ProcessInfo.processInfo.environment : [:]
    for (k, v) in environment { env[k] = v }
    p.environment = env
    let out = Pipe()
    let err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let errData = LockedData()
    let done = DispatchSemaphore(value: 0)
    Thread.detachNewThread {
        errData.set(err.fileHandleForReading.readDataToEndOfFile())
        done.signal()
    }
    let o = out.fileHandleForReading.readDataToEndOfFile()
    done.wait()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: errData.value, as: UTF8.self))
}

final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func set(_ d: Data) {
        lock.lock()
        data = d
        lock.unlock()
    }
    var value: Data {
        lock.lock()
        defer { lock.unlock() }
        return data
    }
}

/// Why a test daemon did not come up.
public enum TestDaemonError: Error, CustomStringConvertible {
    case didNotStart(stderr: String)
    public var description: String {
        switch self {
        case .didNotStart(let e): return "crmd did not start: \(e)"
        }
    }
}

final class LockedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var flag = false
    func set() {
        lock.lock()
        flag = true
        lock.unlock()
    }
    func clear() {
        lock.lock()
        flag = false
        lock.unlock()
    }
    var value: Bool {
        lock.lock()
        defer { lock.unlock() }
        return flag
    }
}

/// How much slower than a plain build this test run is allowed to be: `CRMD_TEST_SLOWDOWN` (set
/// by `make tsan`, whose instrumented crmd runs several times slower), 1 otherwise. The tests
/// that bound a latency scale their bound by it, and so do test connections' read timeouts.
public let testSlowdown: Double = Double(ProcessInfo.processInfo.environment["CRMD_TEST_SLOWDOWN"] ?? "").map { max(1, $0) } ?? 1

/// Waits until what a child writes to `pipe` contains `text` (its readiness line), or the child
/// closes the pipe, or `timeout` passes; true when the text came. The pipe is drained afterwards so
/// the child never blocks on it.
func waitForOutput(_ pipe: Pipe, containing text: String, timeout: TimeInterval) -> Bool {
    let ready = DispatchSemaphore(value: 0)
    let found = LockedFlag()
    let reader = pipe.fileHandleForReading
    Thread.detachNewThread {
        var seen = Data()
        while true {
            let chunk = reader.availableData
            if chunk.isEmpty { break }
            seen.append(chunk)
            if String(decoding: seen, as: UTF8.self).contains(text) {
                found.set()
                break
            }
        }
        ready.signal()
        while !reader.availableData.isEmpty {}
    }
    return ready.wait(timeout: .now() + timeout) == .success && found.value
}
