import CRMStore
import CRMSync
import Dispatch
import Foundation
import Logging

/// The backup copies crmd holds for `server.backup` / `server.backup_read`.
///
/// A copy is a temporary file beside the database (crmd may write nowhere else under systemd):
/// `.<database file name>.crmd-backup-<32 hex>.tmp`, mode 0600. It belongs to the connection
/// that made it and is deleted when read to the end, when that connection closes, or after
/// ``idleTimeout`` without a read; copies left by a crmd that stopped are deleted at start-up.
/// At most ``maxCopies`` exist at once (each is as big as the database), and they are made one
/// at a time on a queue of their own.
final class Backups: Sendable {
    /// The most bytes one `server.backup_read` returns.
    static let chunkBytes = 512 * 1024
    /// How many copies may exist at once, being made or waiting to be read.
    static let maxCopies = 2
    /// A copy nobody has read for this long is deleted.
    static let idleTimeout: TimeInterval = 600

    struct Entry: Sendable {
        var path: String
        var session: Int
        var bytes: Int64 = 0
        var ready = false
        /// Its connection closed while it was being made: deleted as soon as it is done.
        var abandoned = false
        var lastUse = Date()
    }

    let directory: String
    let prefix: String
    let suffix = ".tmp"
    private let entries = Locked<[String: Entry]>([:])
    /// Copies are made one at a time, off the connections' threads.
    let makeQueue = DispatchQueue(label: "crmd.backup")
    let logger: Logger

    init(databasePath: String, logger: Logger) {
        let url = URL(fileURLWithPath: databasePath)
        directory = url.deletingLastPathComponent().path
        prefix = "." + url.lastPathComponent + ".crmd-backup-"
        self.logger = logger
    }

    /// The file a token's copy lives in.
    func path(for token: String) -> String { directory + "/" + prefix + token + suffix }

    /// Whether `name` is one of our copies' file names (a prefix, 32 hex digits, the suffix).
    func isCopyName(_ name: String) -> Bool {
        guard name.hasPrefix(prefix), name.hasSuffix(suffix) else { return false }
        let token = name.dropFirst(prefix.count).dropLast(suffix.count)
        return token.count == 32 && token.allSatisfy(\.isHexDigit)
    }

    /// Deletes copies left by a crmd that stopped before they were read (called at start-up,
    /// under the instance lock, before any backup is made). Returns how many.
    @discardableResult
    func removeLeftovers() -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var n = 0
        for name in names where isCopyName(name) {
            if unlink(directory + "/" + name) == 0 { n += 1 }
        }
        if n > 0 { logger.info("removed backup copies left from an earlier run", metadata: ["files": "\(n)", "folder": "\(directory)"]) }
        return n
    }

    /// Reserves a new copy for a connection; nil when ``maxCopies`` exist already.
    func reserve(session: Int) -> String? {
        var rng = SystemRandomNumberGenerator()
        let token = String(format: "%016llx%016llx", rng.next() as UInt64, rng.next() as UInt64)
        let ok = entries.withLock { e -> Bool in
            guard e.count < Self.maxCopies else { return false }
            e[token] = Entry(path: path(for: token), session: session)
            return true
        }
        return ok ? token : nil
    }

    /// Marks a copy made. False if its connection closed meanwhile (the file is then deleted).
    func made(_ token: String, bytes: Int64) -> Bool {
        let kept = entries.withLock { e -> Bool in
            guard let entry = e[token], !entry.abandoned else {
                e[token] = nil
                return false
            }
            e[token]!.ready = true
            e[token]!.bytes = bytes
            e[token]!.lastUse = Date()
            return true
        }
        if !kept {
            unlink(path(for: token))
            return false
        }
        scheduleExpiry(token, after: Self.idleTimeout)
        return true
    }

    /// Forgets a copy that could not be made (its file is already gone).
    func failed(_ token: String) {
        entries.withLock { _ = $0.removeValue(forKey: token) }
    }

    /// Forgets a copy and deletes its file.
    func discard(_ token: String) {
        let gone = entries.withLock { $0.removeValue(forKey: token) }
        if gone != nil { unlink(path(for: token)) }
    }

    /// Forgets the copies a connection made and deletes their files (its connection closed).
    /// A copy still being made is deleted when it is done (and counts until then).
    func discard(session: Int) {
        let ready = entries.withLock { e -> [String] in
            var gone: [String] = []
            for (t, entry) in e where entry.session == session {
                if entry.ready {
                    e[t] = nil
                    gone.append(t)
                } else {
                    e[t]!.abandoned = true
                }
            }
            return gone
        }
        for t in ready { unlink(path(for: t)) }
    }

    /// The ready copy `token` of this connection, touched (its idle time restarts).
    func lookup(_ token: String, session: Int) -> Entry? {
        entries.withLock { e -> Entry? in
            guard var entry = e[token], entry.session == session, entry.ready else { return nil }
            entry.lastUse = Date()
            e[token] = entry
            return entry
        }
    }

    private func scheduleExpiry(_ token: String, after seconds: TimeInterval) {
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { [self] in
            let idle: TimeInterval? = entries.withLock { e in e[token].map { Date().timeIntervalSince($0.lastUse) } }
            guard let idle else { return }
            if idle >= Self.idleTimeout - 1 {
                logger.info("deleted a backup copy nobody read for \(Int(Self.idleTimeout)) s", metadata: ["backup": "\(token)"])
                discard(token)
            } else {
                scheduleExpiry(token, after: Self.idleTimeout - idle)
            }
        }
    }
}
