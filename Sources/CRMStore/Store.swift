import CRMSync
import Dispatch
import Foundation
import GRDB

/// How the store was opened.
public struct StoreOptions: Sendable {
    /// SQLite `synchronous`: FULL (default) makes every acknowledged commit durable.
    public var synchronous: String = "FULL"
    /// The most writes one group commit takes.
    public var maxBatch: Int = 512
    /// Read connections in the pool.
    public var maxReaders: Int = 8

    public init(synchronous: String = "FULL", maxBatch: Int = 512, maxReaders: Int = 8) {
        self.synchronous = synchronous
        self.maxBatch = maxBatch
        self.maxReaders = maxReaders
    }
}

/// Why the store could not open.
public struct StoreOpenError: Error, CustomStringConvertible {
    public var description: String
}

/// The database facade: one SQLite file in WAL mode, opened once. Reads run synchronously on
/// the caller's thread against a snapshot; every write goes through the ``GroupCommitter``, so
/// writes that arrive together share one durable commit.
public final class Store: Sendable {
    /// The database file.
    public let path: String
    let pool: DatabasePool
    let committer: GroupCommitter
    let readers: SnapshotReaders
    /// The write path's raw prepared statements (finalized in `close()`).
    let raw = RawStatements()
    /// Copies the WAL into the database file off the writer's path.
    let checkpointer: Checkpointer
    /// `PRAGMA synchronous` as read back on the writer connection once the pool was open (OFF,
    /// NORMAL, FULL or EXTRA): what every commit actually runs with (`server.status` shows it).
    public let writerSynchronous: String
    /// What runs in `close()` before the read connections go.
    private let closeHooks = Locked<[CloseHook]>([])

    /// Opens (creating if needed) and migrates the database at `path`.
    public init(path: String, options: StoreOptions = StoreOptions()) throws {
        self.path = path
        let sync = options.synchronous.uppercased()
        guard ["OFF", "NORMAL", "FULL", "EXTRA"].contains(sync) else {
            throw StoreOpenError(description: "store.synchronous must be OFF, NORMAL, FULL or EXTRA, not '\(options.synchronous)'")
        }
        var config = Configuration()
        config.foreignKeysEnabled = true
        config.maximumReaderCount = options.maxReaders
        config.busyMode = .timeout(Double(Checkpointer.writerBusyTimeoutMS) / 1000)
        config.label = "crmd"
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(sync)")
            if !db.configuration.readonly {
                // The writer gets a larger page cache, so a big group commit (or the scheduler's
                // batch of thousands of clients) does not spill pages to the WAL mid-transaction.
                try db.execute(sql: "PRAGMA cache_size = -32768")
                // Statement and savepoint journals (the original of each page a statement or a
                // grouped write changes, kept in case it fails halfway) stay in memory: in a
                // file, an UPDATE of an indexed client row paid a write per page touched. Large
                // writes go alone, without a savepoint, so these hold a few pages per write.
                try db.execute(sql: "PRAGMA temp_store = MEMORY")
            }
        }
        do {
            pool = try DatabasePool(path: path, configuration: config)
            // Before anything is written, the migrations included.
            writerSynchronous = try pool.writeWithoutTransaction { db in try Self.enforceSynchronous(sync, on: db) }
            // Reading the schema fails at once on a file that is not a database (a full integrity
            // check would read every page: seconds at a million clients; `integrityCheck()` has it).
            try pool.read { db in _ = try Int.fetchOne(db, sql: "PRAGMA schema_version") }
            try Migrations.migrator().migrate(pool)
        } catch let e as StoreOpenError {
            throw e
        } catch let e as DatabaseError {
            throw StoreOpenError(description: "cannot open database \(path): \(e.message ?? "\(e.resultCode)")")
        }
        committer = GroupCommitter(pool: pool, maxBatch: options.maxBatch, raw: raw)
        checkpointer = Checkpointer(path: path, synchronous: sync)
        readers = SnapshotReaders(path: path, checkpointer: checkpointer)
        try pool.writeWithoutTransaction { [checkpointer] db in
            checkpointer.attach(to: db)
            // A log grown by a burst is cut back to this size once it starts over.
            try db.execute(sql: "PRAGMA journal_size_limit = \(64 << 20)")
        }
    }

    /// Sets `PRAGMA synchronous` on the writer connection `db` and reads it back; throws if it
    /// does not hold. `prepareDatabase` is not enough: GRDB's `DatabasePool` runs its WAL set-up
    /// on the writer after it, and that set-up executes `PRAGMA synchronous = NORMAL`, under which
    /// a WAL commit is not synced (crmd acknowledged writes before any fsync until 2026-12-06).
    static func enforceSynchronous(_ wanted: String, on db: Database) throws -> String {
        try db.execute(sql: "PRAGMA synchronous = \(wanted)")
        let names = ["OFF", "NORMAL", "FULL", "EXTRA"]
        let level = try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1
        let actual = names.indices.contains(level) ? names[level] : "unknown (\(level))"
        guard actual == wanted else {
            throw StoreOpenError(
                description: "the writer connection runs with synchronous=\(actual), not the configured \(wanted): refusing to "
                    + "acknowledge writes that may not be on disk")
        }
        return actual
    }

    /// Runs `body` on a snapshot that includes every write acknowledged before the call, on the
    /// calling thread. Snapshots are reused while nothing commits (see ``SnapshotReaders``).
    public func read<T>(_ body: (Tx) throws -> T) throws -> T {
        try readers.read(generation: committer.generation) { db in try body(Tx(db: db)) }
    }

    /// Queues a write; `completion` runs after the commit that includes it is durable (or failed).
    /// A write that throws is rolled back alone; the others in its batch still commit.
    public func write<T: Sendable>(
        _ body: @escaping @Sendable (Tx) throws -> T, completion: @escaping @Sendable (Result<T, any Error>) -> Void
    ) {
        committer.submit(.grouped, body, completion: completion)
    }

    /// ``write(_:completion:)`` with a choice of how the write shares its transaction: a large
    /// write goes `.alone` (or `.bulk`), without the savepoint that would copy every page it
    /// touches to a statement journal.
    public func write<T: Sendable>(
        _ mode: GroupCommitter.WriteMode, _ body: @escaping @Sendable (Tx) throws -> T,
        completion: @escaping @Sendable (Result<T, any Error>) -> Void
    ) {
        committer.submit(mode, body, completion: completion)
    }

    /// Async form of ``write(_:completion:)``.
    public func write<T: Sendable>(_ body: @escaping @Sendable (Tx) throws -> T) async throws -> T {
        try await write(.grouped, body)
    }

    /// Async form of ``write(_:_:completion:)``.
    public func write<T: Sendable>(_ mode: GroupCommitter.WriteMode, _ body: @escaping @Sendable (Tx) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { cont in
            write(mode, body) { cont.resume(with: $0) }
        }
    }

    /// Writes synchronously outside group commit (start-up and tools only).
    public func writeNow<T>(_ body: (Tx) throws -> T) throws -> T {
        // Readers' snapshots are renewed by generation: a read before this write must not keep
        // seeing the database without it (the demo's seed once left the users and clients unseen).
        defer { committer.bumpGeneration() }
        return try pool.write { db in try body(Tx(db: db, raw: raw)) }
    }

    /// Hands the events of every group commit to `body`, in seq order, right after the commit is
    /// durable and before its writes are acknowledged (on the commit queue: keep it short).
    /// Writes through ``writeNow(_:)`` are not reported.
    public func onCommit(_ body: @escaping @Sendable ([StoredEvent]) -> Void) {
        let hook = CommitHook(body)
        committer.onCommitHook.withLock { $0 = hook }
    }

    /// Group-commit figures: commits, writes, and the largest batch so far.
    public var commitStats: GroupCommitter.Stats { committer.stats }

    /// The WAL's length in pages after the last commit, checkpoints run so far, and the last
    /// checkpoint's failure (nil when the last one succeeded).
    public var walStats: (frames: Int, maxFrames: Int, checkpoints: Int, restarts: Int, forcedRestarts: Int, error: String?) {
        (
            Int(checkpointer.walFrames.load(ordering: .relaxed)), Int(checkpointer.walFramesMax.load(ordering: .relaxed)),
            checkpointer.checkpoints.load(ordering: .relaxed), checkpointer.restarts.load(ordering: .relaxed),
            checkpointer.forcedRestarts.load(ordering: .relaxed),
            checkpointer.lastError.withLock { $0 }
        )
    }

    /// The most frames the write-ahead log may hold before the writer restarts it itself (plus one
    /// commit's frames): the documented bound, shown in `server.status`.
    public static var walLimitPages: Int { Int(Checkpointer.writerLimit) }

    /// Runs `PRAGMA integrity_check`; "ok" when healthy.
    public func integrityCheck() throws -> String {
        try pool.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check").joined(separator: "; ") }
    }

    /// Blocks until every queued write has committed and replied.
    public func waitForPendingWrites() { committer.waitIdle() }

    /// Runs `body` in `close()`, once the last queued write has committed and replied and while
    /// reads still work (crmd's event log catches up there).
    public func beforeClose(_ body: @escaping @Sendable () -> Void) {
        let hook = CloseHook(body)
        closeHooks.withLock { $0.append(hook) }
    }

    /// Waits for queued writes, runs the `beforeClose` hooks, checkpoints the WAL and closes the file.
    public func close() throws {
        committer.waitIdle()
        for hook in closeHooks.withLock({ $0 }) { hook.body() }
        readers.close()
        checkpointer.stop()
        pool.writeWithoutTransaction { db in
            checkpointer.detach(from: db)
            raw.finalizeAll()
            _ = try? db.checkpoint(.truncate)
        }
        try pool.close()
    }
}

/// A `beforeClose` hook, as a reference (see ``CommitHook``).
final class CloseHook: Sendable {
    let body: @Sendable () -> Void
    init(_ body: @escaping @Sendable () -> Void) { self.body = body }
}
