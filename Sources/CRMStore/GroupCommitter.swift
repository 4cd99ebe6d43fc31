import CRMSync
import Foundation
import GRDB
import Synchronization

/// Commits writes that arrive together in one transaction.
///
/// Each write runs in its own savepoint inside the shared transaction, so one failing write
/// rolls back alone. Completions run only after the commit is on disk: nothing is acknowledged
/// before it is durable. While one commit's fsync is in flight, new writes queue up and form the
/// next batch, so throughput grows with concurrency instead of being capped at one fsync per write.
public final class GroupCommitter: @unchecked Sendable {
    /// Counters for `server.status` and the benchmark.
    public struct Stats: Sendable {
        public var commits = 0
        public var writes = 0
        public var largestBatch = 0
        public var failedCommits = 0
    }

    private final class Job {
        /// Runs the write in its savepoint; returns the events it appended (none if it rolled back).
        let run: (Database) -> [StoredEvent]
        let finish: ((any Error)?) -> Void
        init(run: @escaping (Database) -> [StoredEvent], finish: @escaping ((any Error)?) -> Void) {
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
    /// Receives the events of each commit, in seq order, on the commit queue.
    let onCommitHook = Locked<(@Sendable ([StoredEvent]) -> Void)?>(nil)

    private let raw: RawStatements

    init(pool: DatabasePool, maxBatch: Int, raw: RawStatements) {
        self.pool = pool
        self.raw = raw
        self.maxBatch = max(1, maxBatch)
    }

    /// The number of commits so far; readers compare it with their snapshot's.
    var generation: Int { generationCounter.load(ordering: .acquiring) }

    var stats: Stats {
        lock.lock()
        defer { lock.unlock() }
        return _stats
    }

    func submit<T: Sendable>(_ body: @escaping @Sendable (Tx) throws -> T, completion: @escaping @Sendable (Result<T, any Error>) -> Void) {
        var outcome: Result<T, any Error>? = nil
        let job = Job(
            run: { db in
                let appended = AppendedEvents()
                let raw = self.raw
                do {
                    try db.inSavepoint {
                        outcome = .success(try body(Tx(db: db, appended: appended, raw: raw)))
                        return .commit
                    }
                } catch {
                    outcome = .failure(error)
                    return []
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
            let n = min(maxBatch, pending.count)
            let batch = Array(pending.prefix(n))
            pending.removeFirst(n)
            lock.unlock()

            var commitError: (any Error)? = nil
            var events: [StoredEvent] = []
            do {
                try pool.writeWithoutTransaction { db in
                    try db.inTransaction(.immediate) {
                        for job in batch { events += job.run(db) }
                        return .commit
                    }
                }
            } catch {
                commitError = error
            }
            if commitError == nil {
                generationCounter.wrappingAdd(1, ordering: .releasing)
                // Before any write of the batch is acknowledged: whoever hears of a write can
                // already find its events.
                if !events.isEmpty, let onCommit = onCommitHook.withLock({ $0 }) { onCommit(events) }
            }
            lock.lock()
            _stats.commits += 1
            _stats.writes += batch.count
            _stats.largestBatch = max(_stats.largestBatch, batch.count)
            if commitError != nil { _stats.failedCommits += 1 }
            lock.unlock()
            for job in batch { job.finish(commitError) }
        }
    }
}
