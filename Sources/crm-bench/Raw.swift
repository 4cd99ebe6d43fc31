import ArgumentParser
import CRMClient
import CRMProtocol
import CRMStore
import Foundation
import GRDB
import Synchronization

// The raw equivalents crmd's figures are divided by (issue 5 §7, docs/performance.md "Against the
// limits"): the same SQL through plain GRDB with no daemon, and a bare Unix-socket echo.

/// Opens `path` the way crmd's store does (Sources/CRMStore/Store.swift): a DatabasePool (WAL),
/// foreign keys on, the same `synchronous`, busy timeout and readers, and the writer's 32 MiB page
/// cache.
func openRawPool(path: String, synchronous: String = "FULL") throws -> DatabasePool {
    var config = Configuration()
    config.foreignKeysEnabled = true
    config.maximumReaderCount = 8
    config.busyMode = .timeout(5)
    config.label = "crm-bench.raw"
    config.prepareDatabase { db in
        try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
        if !db.configuration.readonly { try db.execute(sql: "PRAGMA cache_size = -32768") }
    }
    let pool = try DatabasePool(path: path, configuration: config)
    // As crmd's store does: GRDB's WAL set-up sets NORMAL on the writer after prepareDatabase
    // (raw figures before 2026-12-06 were measured so, without a sync per commit).
    let level = try pool.writeWithoutTransaction { db in
        try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
        return try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1
    }
    let wanted = ["OFF": 0, "NORMAL": 1, "FULL": 2, "EXTRA": 3][synchronous.uppercased()]
    guard level == wanted else { throw ValidationError("the raw writer runs with synchronous level \(level), not \(synchronous)") }
    return pool
}

/// The least group commit that keeps crmd's promises (Sources/CRMStore/GroupCommitter.swift):
/// writes queue up; one writer takes up to `maxBatch` of them into one IMMEDIATE transaction, each
/// write in its own savepoint; a write completes only after the commit that holds it returned
/// (with `synchronous=FULL`, after its fsync). No protocol, no JSON parsing, no NIO, no dispatcher.
final class RawGroupCommitter: @unchecked Sendable {
    private final class Job: @unchecked Sendable {
        let run: @Sendable (Database) throws -> Void
        let done = DispatchSemaphore(value: 0)
        var error: (any Error)?
        init(_ run: @escaping @Sendable (Database) throws -> Void) { self.run = run }
    }

    private let pool: DatabasePool
    private let maxBatch: Int
    private let lock = NSCondition()
    private var pending: [Job] = []
    private var stopping = false
    private let writerDone = DispatchSemaphore(value: 0)
    private var _commits = 0
    private var _writes = 0

    init(pool: DatabasePool, maxBatch: Int) {
        self.pool = pool
        self.maxBatch = max(1, maxBatch)
        Thread.detachNewThread { self.writerLoop() }
    }

    /// Commits and writes so far.
    var counts: (commits: Int, writes: Int) {
        lock.lock()
        defer { lock.unlock() }
        return (_commits, _writes)
    }

    /// Queues `body` and returns once the commit holding it is durable (or throws its error).
    func write(_ body: @escaping @Sendable (Database) throws -> Void) throws {
        let job = Job(body)
        lock.lock()
        pending.append(job)
        lock.signal()
        lock.unlock()
        job.done.wait()
        if let e = job.error { throw e }
    }

    /// Lets the queued writes finish and ends the writer.
    func stop() {
        lock.lock()
        stopping = true
        lock.signal()
        lock.unlock()
        writerDone.wait()
    }

    private func writerLoop() {
        while true {
            lock.lock()
            while pending.isEmpty && !stopping { lock.wait() }
            if pending.isEmpty {
                lock.unlock()
                writerDone.signal()
                return
            }
            let n = min(maxBatch, pending.count)
            let batch = Array(pending.prefix(n))
            pending.removeFirst(n)
            lock.unlock()

            var commitError: (any Error)? = nil
            do {
                try pool.writeWithoutTransaction { db in
                    try db.inTransaction(.immediate) {
                        for job in batch {
                            do {
                                try db.inSavepoint {
                                    try job.run(db)
                                    return .commit
                                }
                            } catch {
                                job.error = error
                            }
                        }
                        return .commit
                    }
                }
            } catch {
                commitError = error
            }
            lock.lock()
            _commits += 1
            _writes += batch.count
            lock.unlock()
            for job in batch {
                if let commitError { job.error = commitError }
                job.done.signal()
            }
        }
    }
}

/// What one `interaction.log` of the benchmark (`kind: note`, a note, no `request_id`, from crmd's
/// own uid, i.e. a built-in admin) runs in crmd's store, statement for statement, with the same SQL
/// texts (Tx+Clients.swift `clientHeader`, Tx+Interactions.swift `insertInteraction`, Tx+Audit.swift
/// `audit`, Tx+Events.swift `appendEvent`) and the same kinds of arguments. A note does not reset
/// the clock (`resettingKinds` are call, meeting, email, message), so crmd runs no `saveClientClock`
/// and no `supersedeAlerts` for it; with no `request_id` it stores no `requests` row.
enum RawInteractionLog {
    static let clientHeader = """
        SELECT id, name, kind, owner_id, status, segment, source, abc, fields, last_interaction_at, assigned_at, \
        released_at, released_from, release_reason, created_at, updated_at, yellow_at, red_at, release_at, zone, alert_stage, \
        next_due_at FROM clients WHERE id = ?
        """
    static let insertInteraction = """
        INSERT INTO interactions(client_id, contact_id, author_id, author_login, kind, direction, occurred_at, topic, result,
          note, resets_clock, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """
    static let insertAudit = """
        INSERT INTO audit(at, actor_id, actor_login, actor_uid, acting_admin, entity, entity_id, action, before, after)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """
    static let insertEvent = "INSERT INTO events(at, topic, client_id, owner_id, previous_owner_id, data) VALUES (?, ?, ?, ?, ?, ?)"

    struct NoClient: Error, CustomStringConvertible {
        var id: Int64
        var description: String { "no client \(id)" }
    }

    /// Runs the statements for one note on `clientID`, as `login` (uid `uid`).
    static func run(_ db: Database, clientID: Int64, login: String, uid: Int64) throws {
        guard let client = try Row.fetchOne(db.cachedStatement(sql: clientHeader), arguments: [clientID]) else {
            throw NoClient(id: clientID)
        }
        let ownerID: Int64? = client[3]
        let now = Date()
        let at = Int64((now.timeIntervalSince1970 * 1000).rounded())
        let stamp = RFC3339.format(milliseconds: at)
        try db.cachedStatement(sql: insertInteraction).execute(arguments: [
            clientID, nil, nil, login, "note", nil, at, nil, nil, "bench", false, at,
        ])
        let id = db.lastInsertedRowID
        // The interaction's JSON image, member for member as crmd's `Wire.interaction` writes it.
        let image =
            "{\"id\":\(id),\"client_id\":\(clientID),\"contact_id\":null,\"kind\":\"note\",\"direction\":null,"
            + "\"occurred_at\":\"\(stamp)\",\"author\":null,\"author_login\":\"\(login)\",\"topic\":null,\"result\":null,"
            + "\"note\":\"bench\",\"resets_clock\":false,\"created_at\":\"\(stamp)\"}"
        try db.cachedStatement(sql: insertAudit).execute(arguments: [
            at, nil, login, uid, nil, "interaction", id, "create", nil, image,
        ])
        let data =
            "{\"client_id\":\(clientID),\"interaction_id\":\(id),\"kind\":\"note\",\"occurred_at\":\"\(stamp)\","
            + "\"author_login\":\"\(login)\"}"
        try db.cachedStatement(sql: insertEvent).execute(arguments: [at, "interaction.logged", clientID, ownerID, nil, data])
    }
}

/// The cheapest honest echo of lines over a Unix socket: a blocking thread per connection that
/// reads and writes back every complete line, nothing else.
final class EchoServer: @unchecked Sendable {
    let path: String
    private let fd: Int32

    init(path: String) throws {
        self.path = path
        unlink(path)
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ValidationError("echo: socket: \(String(cString: strerror(errno)))") }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
            Glibc.close(fd)
            throw ValidationError("echo: socket path too long: \(path)")
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, listen(fd, 128) == 0 else {
            let message = String(cString: strerror(errno))
            Glibc.close(fd)
            throw ValidationError("echo: cannot listen on \(path): \(message)")
        }
        let listener = fd
        Thread.detachNewThread {
            while true {
                let c = accept(listener, nil, nil)
                if c < 0 {
                    if errno == EINTR || errno == ECONNABORTED { continue }
                    return  // the listener was shut down
                }
                Thread.detachNewThread { EchoServer.echo(c) }
            }
        }
    }

    /// Stops accepting (connections already open end when their clients close).
    func close() {
        shutdown(fd, Int32(SHUT_RDWR))
        Glibc.close(fd)
        unlink(path)
    }

    static func echo(_ fd: Int32) {
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        buffer.withUnsafeMutableBytes { b in
            let base = b.baseAddress!.assumingMemoryBound(to: UInt8.self)
            var have = 0
            while true {
                let n = read(fd, base + have, b.count - have)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                have += n
                var end = have
                while end > 0 && base[end - 1] != 0x0A { end -= 1 }
                if end == 0 {
                    if have == b.count { break }  // a line longer than the buffer: not an echo client
                    continue
                }
                var off = 0
                while off < end {
                    let w = write(fd, base + off, end - off)
                    if w < 0 && errno == EINTR { continue }
                    if w <= 0 {
                        Glibc.close(fd)
                        return
                    }
                    off += w
                }
                if end < have { memmove(base, base + end, have - end) }
                have -= end
            }
        }
        Glibc.close(fd)
    }
}

/// The raw phases, run with crmd stopped: what the same work costs without it.
struct RawPhases: BenchPhase {
    let bench: Bench

    /// A bare echo server in this process, driven exactly like crmd's `server.ping` phase: the same
    /// client code, pre-encoded line, connections and seconds.
    func echo() throws {
        log("bare Unix-socket echo ...")
        let server = try EchoServer(path: NSTemporaryDirectory() + "crm-bench-echo-\(getpid()).sock")
        defer { server.close() }
        let path = server.path
        let ping = RawCall.line(id: 1, method: "server.ping", params: "{}")
        let (rate, s) = try LoadGenerator.timedLoop(
            threads: bench.connections, seconds: bench.seconds, open: { try Connection(path: path) }
        ) { c, _, _ in
            try RawCall.run(c, ping)
        }
        report.add("bare Unix-socket echo, \(bench.connections) connections", rate, "req/s")
        report.add("bare echo p99", s.percentile(0.99), "ms")
        if let crmdPing = bench.crmdPing {
            let ratio = crmdPing / rate
            report.add("server.ping / bare echo, \(bench.connections) connections", ratio, "ratio", target: "≥ 0.6", met: ratio >= 0.6)
        }
    }

    /// crmd's durable `interaction.log` without crmd: the database crmd just served (stopped
    /// cleanly, so its WAL is checkpointed), opened with crmd's settings, and the same statements
    /// drained by ``RawGroupCommitter`` with crmd's `maxBatch`.
    func rawLog() throws {
        guard let daemon = bench.daemon else { return }
        log("raw group commit (plain GRDB, no daemon) ...")
        let options = StoreOptions()
        let pool = try openRawPool(path: daemon.databasePath, synchronous: options.synchronous)
        let committer = RawGroupCommitter(pool: pool, maxBatch: options.maxBatch)
        defer {
            committer.stop()
            try? pool.close()
        }
        let uid = getuid()
        let login = getpwuid(uid).flatMap { $0.pointee.pw_name.map { String(cString: $0) } } ?? "uid:\(uid)"
        let lo = bench.clientIDs.lowerBound
        let span = UInt64(bench.clientIDs.count)
        let body: @Sendable (RawGroupCommitter, Int, inout UInt64) throws -> Void = { c, _, seed in
            let id = lo + Int64(LoadGenerator.next(&seed) % span)
            try c.write { db in try RawInteractionLog.run(db, clientID: id, login: login, uid: Int64(uid)) }
        }
        // The sizes of the JSON texts crmd stored for its last note, to compare with the raw's.
        let sizes =
            "SELECT (SELECT length(after) FROM audit WHERE entity = 'interaction' ORDER BY id DESC LIMIT 1), "
            + "(SELECT length(data) FROM events WHERE topic = 'interaction.logged' ORDER BY seq DESC LIMIT 1)"
        func jsonSizes() throws -> String {
            try pool.read { db in
                guard let r = try Row.fetchOne(db, sql: sizes) else { return "none" }
                return "audit image \((r[0] as Int?) ?? 0) B, event \((r[1] as Int?) ?? 0) B"
            }
        }
        let crmdSizes = try jsonSizes()
        // A second of warm-up fills the writer's page cache (crmd's was warm from the load); it
        // can only raise the raw rate, so it makes the ratio harder to meet, not easier.
        _ = try LoadGenerator.timedLoop(threads: bench.connections, seconds: min(1, bench.seconds), open: { committer }, body)
        let before = committer.counts
        let (rate, s) = try LoadGenerator.timedLoop(threads: bench.connections, seconds: bench.seconds, open: { committer }, body)
        let after = committer.counts
        let rawSizes = try jsonSizes()
        let commits = Double(after.commits - before.commits)
        report.add("raw group commit (GRDB, no daemon), \(bench.connections) threads", rate, "writes/s")
        report.add("raw group commit p99, \(bench.connections) threads", s.percentile(0.99), "ms")
        report.add("raw group commit: writes per commit", commits > 0 ? Double(after.writes - before.writes) / commits : 0, "writes")
        if let crmdLog = bench.crmdLog {
            let ratio = crmdLog / rate
            report.add(
                "interaction.log / raw group commit, \(bench.connections) connections", ratio, "ratio", target: "≥ 0.5", met: ratio >= 0.5)
        }
        let (rate1, _) = try LoadGenerator.timedLoop(threads: 1, seconds: bench.seconds, open: { committer }, body)
        report.add("raw group commit (GRDB, no daemon), 1 thread", rate1, "writes/s")
        if let crmdLog1 = bench.crmdLog1 { report.add("interaction.log / raw group commit, 1 connection", crmdLog1 / rate1, "ratio") }
        report.info.append(("rawlog JSON sizes, crmd's last note", crmdSizes))
        report.info.append(("rawlog JSON sizes, raw's last note", rawSizes))
    }
}
