import CRMClient
import CRMProtocol
import Foundation

/// The crash-safety test (docs/reliability.md, "Crash safety"): writers load the real crmd, crmd is
/// killed with SIGKILL at a random moment, restarted, and everything is checked against what the
/// writers were told. Used by the `crm-crash` executable (100 rounds) and by an integration test
/// (a few rounds in `make test`).
///
/// Each writer runs on its own connection as the built-in admin acting (`session.act_as`) as its
/// own manager, and repeats a random mix of four writes, each with a unique `request_id`:
/// `interaction.log` (a unique note) and `client.update` (a unique custom field value) on its own
/// client, and `exchange.claim` / `client.release` (a unique reason) cycles on a second client.
/// A write is *acknowledged* when its reply arrived; the one in flight at the kill is *pending*.
///
/// After each kill: `crmd --check` on the file as the crash left it; crmd restarts (recovering the
/// WAL itself); then the database is read with the sqlite3 shell and over the protocol:
/// - every acknowledged write is there exactly once (note, field value, reason, or claim count);
/// - a pending write is there at most once and only whole: its stored `request_id` row, its row,
///   its audit entry and its event all exist or none does;
/// - every interaction has one audit entry and one `interaction.logged` event, and every client
///   audit entry (update, claim, release) has its event;
/// - the event log is seqs 1...N with no gap, on disk and in a `subscribe since=0` replay;
/// - the pending write is then resent with its `request_id`: it must succeed and exist once.
public final class CrashTest: @unchecked Sendable {
    public struct Options: Sendable {
        public var rounds = 100
        public var writers = 16
        /// The kill comes after a random delay in this range (seconds) once the writers started.
        public var minDelay = 0.05
        public var maxDelay = 1.0
        /// The powerfs binary (tools/powerfs): the database lives on a filesystem that forgets
        /// unsynced writes, and each round cuts its power before crmd is killed. Nil: SIGKILL only.
        public var powerFS: String? = nil
        public init() {}
    }

    /// The figures of a run.
    public struct Summary: Sendable, CustomStringConvertible {
        public var rounds = 0
        /// "SIGKILL" or "power cut".
        public var mode = "SIGKILL"
        public var acknowledged = 0
        public var byKind: [String: Int] = [:]
        public var pending = 0
        public var pendingApplied = 0
        public var lost = 0
        public var duplicated = 0
        public var halfApplied = 0
        public var otherViolations = 0
        public var events: Int64 = 0
        public var seconds = 0.0
        public var violations: [String] = []
        public var ok: Bool { lost == 0 && duplicated == 0 && halfApplied == 0 && otherViolations == 0 }

        public var description: String {
            let kinds = ["interaction.log", "client.update", "exchange.claim", "client.release"]
                .map { "\($0) \(byKind[$0] ?? 0)" }.joined(separator: ", ")
            return """
                \(rounds) rounds (\(mode)), \(acknowledged) acknowledged writes, \(lost) lost, \(duplicated) duplicated, \
                \(halfApplied) half-applied, \(otherViolations) other violations
                  by method (acknowledged, or resent after a kill): \(kinds)
                  in flight at the kills: \(pending) (\(pendingApplied) had committed, \(pending - pendingApplied) had not); \
                each resent with its request_id and applied exactly once
                  event log: seqs 1...\(events), no gap; PRAGMA integrity_check ok after every kill
                  \(String(format: "%.1f", seconds)) s
                """
        }
    }

    enum Kind: String {
        case log = "interaction.log"
        case update = "client.update"
        case claim = "exchange.claim"
        case release = "client.release"
    }

    struct Op {
        var kind: Kind
        var requestID: String
        /// The unique note, field value or reason; nil for a claim.
        var payload: String?
    }

    final class Writer: @unchecked Sendable {
        let index: Int
        let login: String
        var clientID: Int64 = 0
        var claimClientID: Int64 = 0
        /// Whether the claim client is this writer's now (else it is on the exchange or unassigned).
        var holds = false
        var counter = 0
        var acked: [Op] = []
        /// How many of `acked` were pending at a kill and acknowledged on the retry.
        var retried = 0
        var pending: Op?
        var unexpected: [String] = []
        init(index: Int) {
            self.index = index
            login = String(format: "crash-m%02d", index)
        }
    }

    public let options: Options
    let daemon: TestDaemon
    let log: @Sendable (String) -> Void
    var writers: [Writer] = []
    var summary = Summary()
    let stopFlag = LockedFlag()
    /// Set before the power is cut: an error reply after it (crmd's disk is gone) leaves the write
    /// pending, as a lost reply does.
    let powerCut = LockedFlag()
    let fs: PowerFS?
    let fsFolder: URL?

    public init(options: Options, log: @escaping @Sendable (String) -> Void) throws {
        self.options = options
        self.log = log
        if let binary = options.powerFS {
            let folder = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("crmd-power-\(UUID().uuidString.prefix(8))")
            let fs = try PowerFS(binary: binary, folder: folder)
            try fs.mount()
            self.fs = fs
            fsFolder = folder
            summary.mode = "power cut"
        } else {
            fs = nil
            fsFolder = nil
        }
        // No cooldown, so a writer may claim back the client it just released and cycle forever.
        daemon = try TestDaemon(environment: ["CRMD_EXCHANGE_COOLDOWN": "PT0S"], databaseDirectory: fs?.mountPoint)
    }

    deinit { shutDown() }

    /// Kills crmd, unmounts powerfs and removes its folders (also when a run ended by throwing,
    /// whose process exits without running deinitializers).
    public func shutDown() {
        daemon.kill9()
        fs?.unmount()
        if let fsFolder { try? FileManager.default.removeItem(at: fsFolder) }
    }

    /// Runs every round and returns the figures (violations are in the summary, not thrown).
    public func run() throws -> Summary {
        let started = Date()
        // A writer's write to the socket of a killed crmd must fail with EPIPE, not kill this process.
        signal(SIGPIPE, SIG_IGN)
        try daemon.start()
        try setUp()
        log(
            "crmd \(daemon.pid ?? 0) on \(fs?.mountPoint.path ?? daemon.directory.path), \(options.writers) writers, "
                + "\(options.rounds) rounds, \(fs == nil ? "SIGKILL" : "power cut (powerfs), then SIGKILL")")
        for round in 1...max(options.rounds, 1) {
            try runRound(round)
            summary.rounds = round
            if summary.violations.count > 50 { break }
        }
        // The last retries are checked once more, then a graceful stop and a final integrity check.
        let final = try verify(label: "final", pendingExpected: false)
        log("final: \(final)")
        let status = daemon.stop()
        if status != 0 { violation(.other, "crmd exited with \(status) on SIGTERM") }
        try integrityCheck(label: "final")
        for w in writers {
            summary.acknowledged += w.acked.count - w.retried
            for op in w.acked { summary.byKind[op.kind.rawValue, default: 0] += 1 }
        }
        summary.seconds = Date().timeIntervalSince(started)
        return summary
    }

    // MARK: - Set-up

    func setUp() throws {
        let c = try daemon.connect()
        for i in 0..<options.writers {
            let w = Writer(index: i)
            _ = try c.call(
                "user.add", ["login": .string(w.login), "name": .string("Crash \(i)"), "role": "manager", "uid": .int(61_000 + i)])
            w.clientID = try c.call("client.create", ["name": .string("Crash client \(i)"), "owner": .string(w.login)])["id"]!.intValue!
            // Unassigned: the first write on it is a claim.
            w.claimClientID = try c.call("client.create", ["name": .string("Crash claim \(i)")])["id"]!.intValue!
            writers.append(w)
        }
    }
}
