import Dispatch
import Foundation
import GRDB

/// Read connections that keep their read transaction open between requests while nothing has
/// been committed, so a read costs no locking at all on the common path.
///
/// Every commit bumps the store's generation. A reader whose snapshot is older than the current
/// generation ends its transaction and starts a new one before reading, so a read never sees
/// less than every write acknowledged before it started (replies to writes are sent after the
/// generation moved). An idle reader drops its snapshot after a second.
///
/// A snapshot held open pins the write-ahead log: SQLite can start the log over only when no
/// reader holds a snapshot in it, so readers that always kept one open between requests let the
/// log grow without bound under a steady stream of requests (3.8 GB in issue 14). Once the log is
/// past the checkpoint threshold, readers therefore end their snapshot after every read and drop
/// the idle ones at once, until the log has started over (``Checkpointer``).
final class SnapshotReaders: @unchecked Sendable {
    private final class Reader {
        let queue: DatabaseQueue
        var generation = -1
        var open = false
        var lastUse: UInt64 = 0
        init(queue: DatabaseQueue) { self.queue = queue }
    }

    private let path: String
    private let lock = NSLock()
    private var idle: [Reader] = []
    private var all: [Reader] = []
    private var closed = false
    private let timer: any DispatchSourceTimer
    /// Whether snapshots may stay open between reads (no while the log waits to start over).
    private let checkpointer: Checkpointer?

    init(path: String, checkpointer: Checkpointer? = nil) {
        self.path = path
        self.checkpointer = checkpointer
        timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "crmd.snapshot-expiry"))
        timer.schedule(deadline: .now() + 1, repeating: 1)
        timer.setEventHandler { [weak self] in self?.expireIdle(olderThanNanoseconds: 1_000_000_000) }
        timer.resume()
    }

    private func makeReader() throws -> Reader {
        var config = Configuration()
        config.readonly = true
        config.allowsUnsafeTransactions = true
        config.label = "crmd.reader"
        return Reader(queue: try DatabaseQueue(path: path, configuration: config))
    }

    private func take() throws -> Reader {
        lock.lock()
        if let r = idle.popLast() {
            lock.unlock()
            return r
        }
        lock.unlock()
        let r = try makeReader()
        lock.lock()
        all.append(r)
        lock.unlock()
        return r
    }

    private func give(_ r: Reader) {
        r.lastUse = DispatchTime.now().uptimeNanoseconds
        lock.lock()
        idle.append(r)
        lock.unlock()
    }

    func read<T>(generation: Int, _ body: (Database) throws -> T) throws -> T {
        let r = try take()
        let release = checkpointer?.wantsReadersOut ?? false
        defer {
            give(r)
            // The others' idle snapshots too, so the checkpoint can copy the whole log.
            if release { expireIdle(olderThanNanoseconds: 0) }
        }
        return try r.queue.inDatabase { db in
            defer {
                if release, r.open {
                    if db.isInsideTransaction { try? db.commit() }
                    r.open = false
                }
            }
            if r.open, r.generation != generation || !db.isInsideTransaction {
                if db.isInsideTransaction { try db.commit() }
                r.open = false
            }
            if !r.open {
                try db.beginTransaction(.deferred)
                r.open = true
                r.generation = generation
            }
            do {
                return try body(db)
            } catch {
                if db.isInsideTransaction { try? db.rollback() }
                r.open = false
                throw error
            }
        }
    }

    /// Ends the snapshots of readers unused for the given time. Returns how many it ended.
    /// `now` is read before the lock, so a reader given back meanwhile is newer than `now`.
    @discardableResult
    func expireIdle(olderThanNanoseconds age: UInt64, now: UInt64 = DispatchTime.now().uptimeNanoseconds) -> Int {
        lock.lock()
        // A reader given back after `now` was read has `lastUse > now`: compare by addition, since
        // `now - lastUse` would overflow and trap (crmd died of it under crm-bench's log phase).
        let candidates = idle.filter { $0.open && $0.lastUse + age < now }
        idle.removeAll { r in candidates.contains { $0 === r } }
        lock.unlock()
        for r in candidates {
            r.queue.inDatabase { db in
                if db.isInsideTransaction { try? db.commit() }
            }
            r.open = false
            give(r)
        }
        return candidates.count
    }

    /// Ends every snapshot and closes the connections.
    func close() {
        timer.cancel()
        lock.lock()
        let readers = all
        all.removeAll()
        idle.removeAll()
        closed = true
        lock.unlock()
        for r in readers {
            r.queue.inDatabase { db in
                if db.isInsideTransaction { try? db.commit() }
            }
            try? r.queue.close()
        }
    }
}
