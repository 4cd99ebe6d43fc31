import CRMSync
import Foundation
import GRDB
import Synchronization

/// Commits writes that arrive together in one transaction.
///
/// Each write runs in its own savepoint inside the shared transaction, so one failing write
/// rolls back alone. A write alone in its transaction needs no savepoint: if it fails, the
/// transaction rolls back. Large writes (the scheduler's batches, imports) ask to go alone: a
/// savepoint keeps the original of every page its write touches in a statement journal (before
/// `temp_store = MEMORY`, a temporary file written page by page). Completions run only after the commit is on disk: nothing is acknowledged
/// before it is durable. While one commit's fsync is in flight, new writes queue up and form the
/// next batch, so throughput grows with concurrency instead of being capped at one fsync per write.
public final class GroupCommitter: @unchecked Sendable {
    /// How a write shares its transaction.
    public enum WriteMode: Sendable {
        /// With whatever else is queued, in a savepoint of its own (requests).
        case grouped
        /// In a transaction of its own, without a savepoint.
        case alone
        /// Alone, and with foreign keys not enforced: for the engine's batches, whose every
        /// reference comes from rows read in the same transaction. Checking them cost a third of
        /// the update that releases a client (the lookups and the statement journal they need).
        case bulk
    }

    /// Counters for `server.status` and the benchmark.
    public struct Stats: Sendable {
        public var commits = 0
        public var writes = 0
        public var largestBatch = 0
        public var failedCommits = 0
    }

    private final class Job {
        /// Runs the write, in its own savepoint when the flag says so; returns the events it
        /// appended, or nil if it failed (and its savepoint, if any, rolled back).
        let run: (Database, _ savepoint: Bool) -> [StoredEvent]?
        let finish: ((any Error)?) -> Void
        let mode: WriteMode
        var alone: Bool { mode != .grouped }
        init(mode: WriteMode, run: @escaping (Database, Bool) -> [StoredEvent]?, finish: @escaping ((any Error)?) -> Void) {
            self.mode = mode
            self.run = run
            self.finish = finish
        }
    }

    private let pool: DatabasePool
    private let maxBatch: Int
    private let lock = NSCondition()
    private var pending: [Job] = []
    private var running = false
    /// Bumped after every commit, before its writes are acknowledged.
    private let generationCounter = Atomic<Int>(0)
    private var _stats = Stats()
    private let queue = DispatchQueue(label: "crmd.group-commit", qos: .userInitiated)
    /// Receives the events of each commit, in seq order, on the commit queue. A closure behind a
    /// class reference, never a bare closure in the generic lock (see ``CommitHook``).
    let onCommitHook = Locked<CommitHook?>(nil)

    private let raw: RawStatements
    /// Foreign keys are off on the writer connection (a bulk write's; only the commit queue
    /// touches it).
    private var foreignKeysOff = false

    init(pool: DatabasePool, maxBatch: Int, raw: RawStatements) {
        self.pool = pool
        self.raw = raw
        self.maxBatch = max(1, maxBatch)
    }

    /// The number of commits so far; readers compare it with their snapshot's.
    var generation: Int { generationCounter.load(ordering: .acquiring) }

    /// A write outside group commit (``Store/writeNow(_:)``) committed: readers start a new snapshot.
    func bumpGeneration() { generationCounter.wrappingAdd(1, ordering: .releasing) }

    var stats: Stats {
        lock.lock()
        defer { lock.unlock() }
        return _stats
    }

    func submit<T: Sendable>(
        _ mode: WriteMode, _ body: @escaping @Sendable (Tx) throws -> T, completion: @escaping @Sendable (Result<T, any Error>) -> Void
    ) {
        var outcome: Result<T, any Error>? = nil
        let job = Job(
            mode: mode,
            run: { db, savepoint in
                let appended = AppendedEvents()
                let raw = self.raw
                do {
                    if savepoint {
                        try db.inSavepoint {
                            outcome = .success(try body(Tx(db: db, appended: appended, raw: raw)))
                            return .commit
                        }
                    } else {
                        outcome = .success(try body(Tx(db: db, appended: appended, raw: raw)))
                    }
                } catch {
                    outcome = .failure(error)
                    return nil
                }
                return appended.events
            },
            finish: { commitError in
                if let commitError {
                    completion(.failure(commitError))
                } else {
                    completion(outcome ?? .failure(StoreOpenError(description: "write was not run")))
                }
            })
        lock.lock()
        pending.append(job)
        let start = !running
        if start { running = true }
        lock.unlock()
        if start { queue.async { self.drain() } }
    }

    /// Blocks until no write is queued or running.
    func waitIdle() {
        lock.lock()
        while running || !pending.isEmpty { lock.wait() }
        lock.unlock()
    }

    private func drain() {
        while true {
            lock.lock()
            if pending.isEmpty {
                running = false
                lock.broadcast()
                lock.unlock()
                return
            }
            // Writes in arrival order; one that asks to go alone goes in a transaction of its own.
            var n = 1
            if !pending[0].alone {
                while n < min(maxBatch, pending.count) && !pending[n].alone { n += 1 }
            }
            let batch = Array(pending.prefix(n))
            pending.removeFirst(n)
            lock.unlock()

            var commitError: (any Error)? = nil
            var events: [StoredEvent] = []
            var rolledBack = false
            do {
                try pool.writeWithoutTransaction { db in
                    // The pragma is a no-op inside a transaction: off before, on again after.
                    let unchecked = batch.count == 1 && batch[0].mode == .bulk
                    // Checks come back on after a bulk write; should that have failed, before any
                    // other write (which then fails rather than run unchecked).
                    if foreignKeysOff && !unchecked {
                        try db.execute(sql: "PRAGMA foreign_keys = ON")
                        foreignKeysOff = false
                    }
                    if unchecked {
                        foreignKeysOff = true
                        try db.execute(sql: "PRAGMA foreign_keys = OFF")
                    }
                    defer {
                        if unchecked, (try? db.execute(sql: "PRAGMA foreign_keys = ON")) != nil { foreignKeysOff = false }
                    }
                    try db.inTransaction(.immediate) {
                        if batch.count == 1 {
                            // Alone: the transaction is the savepoint.
                            guard let appended = batch[0].run(db, false) else {
                                rolledBack = true
                                return .rollback
                            }
                            events = appended
                        } else {
                            for job in batch { events += job.run(db, true) ?? [] }
                        }
                        return .commit
                    }
                }
            } catch {
                commitError = error
            }
            if commitError == nil && !rolledBack {
                generationCounter.wrappingAdd(1, ordering: .releasing)
                // Before any write of the batch is acknowledged: whoever hears of a write can
                // already find its events.
                if !events.isEmpty, let hook = onCommitHook.withLock({ $0 }) { hook.body(events) }
            }
            lock.lock()
            if !rolledBack { _stats.commits += 1 }
            _stats.writes += batch.count
            _stats.largestBatch = max(_stats.largestBatch, batch.count)
            if commitError != nil { _stats.failedCommits += 1 }
            lock.unlock()
            for job in batch { job.finish(commitError) }
        }
    }
}

/// The commit hook, as a reference. A bare closure kept in a generic container (`Locked<Value>`)
/// and read with `withLock { $0 }` is re-abstracted through the `inout` each time, and the value
/// written back is the closure wrapped in two more thunks: the chain, and the cost of calling it,
/// grew by two frames with every commit (issue 14). A class reference passes through unchanged.
/// `scripts/lint-closures.sh` (in `make lint`) refuses a closure type as a lock's value.
final class CommitHook: Sendable {
    let body: @Sendable ([StoredEvent]) -> Void
    init(_ body: @escaping @Sendable ([StoredEvent]) -> Void) { self.body = body }
}
