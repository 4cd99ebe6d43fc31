import CRMSync
import Foundation
import GRDB
import GRDBSQLite
import Synchronization

/// Copies the write-ahead log back into the database file on its own thread and connection.
///
/// SQLite's default auto-checkpoint runs inside the commit that crosses 1,000 WAL pages, on the
/// writer: the commit (and every write queued behind it) waits while pages are copied into the
/// database file and that file is synced. The scheduler's big passes crossed it every batch. Here
/// the writer's auto-checkpoint is off; its WAL hook only records the log's length after each
/// commit and wakes this thread (nice 10) past ``threshold`` frames, which runs a PASSIVE checkpoint: it
/// never blocks the writer or readers, it copies what no reader still needs, and the writer starts
/// the log over once everything has been copied. Under writes that never pause the log could not
/// start over, so past ``writerLimit`` frames the writer's hook finishes the copy itself, as
/// auto-checkpoint would, and the log stays bounded. Durability is SQLite's: the checkpoint syncs
/// the log before copying and the database file before the log may be reused (`synchronous` as
/// the writer's).
final class Checkpointer: @unchecked Sendable {
    /// WAL frames (pages) after which a checkpoint is started: 16 MiB at 4 KiB pages.
    static let threshold: Int32 = 4_096
    /// WAL frames past which the writer checkpoints itself, as auto-checkpoint would: under
    /// writes that never pause (a long catch-up) the log cannot start over behind the background
    /// thread, since the writer always has a newer frame in it. 256 MiB at 4 KiB pages: a
    /// scheduler pass of 100,000 zone changes writes about 150 MB of log, and at 64 MiB the
    /// writer stopped twice in such a pass to copy pages back (docs/performance.md).
    static let writerLimit: Int32 = 65_536

    /// The writer's busy timeout (the store's `busyMode`), restored after a forced restart.
    static let writerBusyTimeoutMS: Int32 = 5_000

    private let path: String
    private let synchronous: String
    /// The WAL length at which the writer's hook next forces a restart (only the writer's hook
    /// reads and writes it, on the commit queue).
    private var forceAt: Int32 = Checkpointer.writerLimit
    private let condition = NSCondition()
    /// Guarded by `condition`.
    private var requested = false
    private var stopping = false
    private var finished = false
    /// The WAL's length in frames after the last commit (written by the writer's hook).
    let walFrames = Atomic<Int32>(0)
    /// The largest the WAL has been, in frames (`server.status`, the soak benchmark).
    let walFramesMax = Atomic<Int32>(0)
    /// Log restarts forced by the writer at ``writerLimit``.
    let forcedRestarts = Atomic<Int>(0)
    /// Log restarts made by this thread once everything was copied.
    let restarts = Atomic<Int>(0)

    /// Whether readers should hold no snapshot between reads: the log is past ``threshold`` and
    /// can start over only once no reader is in it.
    var wantsReadersOut: Bool { walFrames.load(ordering: .relaxed) >= Self.threshold }
    let checkpoints = Atomic<Int>(0)
    /// The last checkpoint's failure, nil once one succeeds (shown in `server.status`).
    let lastError = Locked<String?>(nil)

    init(path: String, synchronous: String) {
        self.path = path
        self.synchronous = synchronous
        let thread = Thread { [self] in self.loop() }
        thread.name = "crmd.checkpoint"
        thread.start()
    }

    /// Takes over checkpointing from the writer connection `db`: auto-checkpoint off, the WAL
    /// hook reports to this checkpointer. Call on the writer.
    func attach(to db: Database) {
        guard let conn = db.sqliteConnection else { return }
        let me = Unmanaged.passUnretained(self).toOpaque()
        sqlite3_wal_hook(
            conn,
            { ctx, conn, _, frames in
                guard let ctx else { return SQLITE_OK }
                let me = Unmanaged<Checkpointer>.fromOpaque(ctx).takeUnretainedValue()
                me.committed(frames: frames)
                if frames >= me.forceAt, let conn {
                    // The background checkpoint could not start the log over (writes that never
                    // pause, or a reader in the log): copy the rest and restart it here. RESTART
                    // waits (busy timeout) for readers still in the log; readers hold no snapshot
                    // between reads past the threshold, so that is at most one read's time. New
                    // readers meanwhile read from the database file and do not hold it up.
                    // A reader in a long read (a backup's copy) is waited for 100 ms at most, and
                    // then not again until the log has grown by another threshold.
                    sqlite3_busy_timeout(conn, 100)
                    let code = sqlite3_wal_checkpoint_v2(conn, nil, SQLITE_CHECKPOINT_RESTART, nil, nil)
                    sqlite3_busy_timeout(conn, Checkpointer.writerBusyTimeoutMS)
                    if code == SQLITE_OK {
                        me.checkpoints.add(1, ordering: .relaxed)
                        me.forcedRestarts.add(1, ordering: .relaxed)
                        me.forceAt = Checkpointer.writerLimit
                    } else {
                        me.forceAt = frames + Checkpointer.threshold
                    }
                }
                return SQLITE_OK
            }, me)
    }

    /// Removes the hook from the writer connection `db` (before the checkpointer goes).
    func detach(from db: Database) {
        guard let conn = db.sqliteConnection else { return }
        sqlite3_wal_hook(conn, nil, nil)
    }

    private func committed(frames: Int32) {
        walFrames.store(frames, ordering: .relaxed)
        if frames > walFramesMax.load(ordering: .relaxed) { walFramesMax.store(frames, ordering: .relaxed) }
        guard frames >= Self.threshold else { return }
        condition.lock()
        if !requested {
            requested = true
            condition.signal()
        }
        condition.unlock()
    }

    /// Stops the thread and waits for a checkpoint in progress to end.
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }

    private func loop() {
        // Below the writer and the connections' threads, but not starved: at nice 10 this thread gets
        // about a tenth of a core both of them keep busy. At idle priority (`SCHED_IDLE`) it got
        // none during a long burst (loading a million clients), the log reached ``writerLimit``,
        // and the writer then stopped to copy all of it back, in the middle of the next
        // scheduler pass. On Linux the nice value is the calling thread's; raising it needs no
        // privilege.
        setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)
        var conn: OpaquePointer? = nil
        defer {
            if let conn { sqlite3_close_v2(conn) }
            condition.lock()
            finished = true
            condition.broadcast()
            condition.unlock()
        }
        while true {
            condition.lock()
            while !requested && !stopping { condition.wait() }
            requested = false
            let stop = stopping
            condition.unlock()
            if stop { return }
            if conn == nil { conn = open() }
            guard let conn else { continue }
            var log: Int32 = 0
            var copied: Int32 = 0
            let code = sqlite3_wal_checkpoint_v2(conn, nil, SQLITE_CHECKPOINT_PASSIVE, &log, &copied)
            if code == SQLITE_OK {
                checkpoints.add(1, ordering: .relaxed)
                lastError.withLock { $0 = nil }
                if log > 0 && copied == log {
                    // All copied: start the log over now. The writer would do it at its next
                    // transaction only if this had finished between two commits, which under a
                    // steady stream it rarely does (the log grew past three thresholds in the
                    // store test). RESTART takes the write lock only if it is free (else it is a
                    // PASSIVE no-op, BUSY), copies the few frames committed since, and waits at
                    // most the busy timeout for readers still in the log.
                    if sqlite3_wal_checkpoint_v2(conn, nil, SQLITE_CHECKPOINT_RESTART, &log, &copied) == SQLITE_OK {
                        restarts.add(1, ordering: .relaxed)
                    }
                }
            } else if code != SQLITE_BUSY {
                lastError.withLock { $0 = "checkpoint failed: \(String(cString: sqlite3_errmsg(conn)))" }
                // Disk full, say: try again after the next commits, not in a tight loop.
                Thread.sleep(forTimeInterval: 1)
            }
        }
    }

    private func open() -> OpaquePointer? {
        var conn: OpaquePointer? = nil
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX
        guard sqlite3_open_v2(path, &conn, flags, nil) == SQLITE_OK, let conn else {
            lastError.withLock { $0 = "checkpoint connection: cannot open \(path)" }
            if let conn { sqlite3_close_v2(conn) }
            return nil
        }
        sqlite3_exec(conn, "PRAGMA synchronous = \(synchronous)", nil, nil, nil)
        // How long a RESTART waits for the write lock or a reader: never long.
        sqlite3_busy_timeout(conn, 5)
        return conn
    }
}
