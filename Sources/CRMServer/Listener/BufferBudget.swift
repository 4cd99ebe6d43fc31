import CRMFraming
import CRMSync
import Dispatch
import Foundation

/// The memory crmd holds for non-admin peers past each connection's small fixed buffers:
/// unfinished request lines and batch replies not yet sent. One uid may hold at most
/// `protocol.max_buffered_bytes_per_uid`, everyone together `protocol.max_buffered_bytes`, so no
/// peer can make crmd's memory grow with the number of connections it opens (issue 15 §2: 4,096
/// unfinished 1 MiB lines once held 4.4 GB). Admins are not counted: their connections are few
/// (`server.admin_connections`) and they must always be served.
final class BufferBudget: Sendable {
    private let state = Locked<State>(State())

    private struct State {
        var total = 0
        var byUID: [UInt32: Int] = [:]
    }

    /// Which bound a request for memory met.
    enum Exceeded: Equatable {
        case perUID(limit: Int)
        case total(limit: Int)

        /// The setting, as `data.reason` or `data.kind` names it.
        var name: String {
            switch self {
            case .perUID: return "buffered_bytes_per_uid"
            case .total: return "buffered_bytes"
            }
        }

        var limit: Int {
            switch self {
            case .perUID(let l), .total(let l): return l
            }
        }

        /// The bound in words: "the N bytes crmd may hold ... (setting)".
        var explanation: String {
            switch self {
            case .perUID(let l):
                return
                    "the \(l) bytes of unfinished requests and unsent replies crmd may hold for one user (protocol.max_buffered_bytes_per_uid)"
            case .total(let l):
                return
                    "the \(l) bytes of unfinished requests and unsent replies crmd may hold for all users together (protocol.max_buffered_bytes)"
            }
        }
    }

    /// Takes `bytes` for `uid`; nil when granted, else the bound it would pass (nothing taken).
    func take(_ bytes: Int, uid: UInt32, settings: Settings) -> Exceeded? {
        guard bytes > 0 else { return nil }
        return state.withLock { s -> Exceeded? in
            let mine = s.byUID[uid, default: 0]
            if mine + bytes > settings.maxBufferedBytesPerUID { return .perUID(limit: settings.maxBufferedBytesPerUID) }
            if s.total + bytes > settings.maxBufferedBytes { return .total(limit: settings.maxBufferedBytes) }
            s.byUID[uid] = mine + bytes
            s.total += bytes
            return nil
        }
    }

    /// Gives back `bytes` taken for `uid`.
    func give(_ bytes: Int, uid: UInt32) {
        guard bytes > 0 else { return }
        state.withLock { s in
            let left = s.byUID[uid, default: bytes] - bytes
            s.byUID[uid] = left > 0 ? left : nil
            s.total -= bytes
        }
    }
}

/// One connection's share of the ``BufferBudget``: what it holds, and the last refusal, so the
/// connection can say which bound it met. An admin's account is never refused and takes nothing.
/// Used by the connection's reader thread only.
final class BufferAccount: LineBudget {
    private let budget: BufferBudget
    private let uid: UInt32
    private let counted: Bool
    private let settings: Settings
    /// Bytes this connection holds of the budget.
    private(set) var held = 0
    /// Why the last `take` was refused.
    private(set) var refusal: BufferBudget.Exceeded?

    init(budget: BufferBudget, admission: Admission, settings: Settings) {
        self.budget = budget
        self.uid = admission.uid
        self.counted = !admission.admin
        self.settings = settings
    }

    deinit { budget.give(held, uid: uid) }

    func take(_ bytes: Int) -> Bool {
        guard counted else { return true }
        if let exceeded = budget.take(bytes, uid: uid, settings: settings) {
            refusal = exceeded
            return false
        }
        held += bytes
        return true
    }

    func give(_ bytes: Int) {
        guard counted, bytes > 0 else { return }
        let n = min(bytes, held)
        held -= n
        budget.give(n, uid: uid)
    }
}

/// How many non-admin requests are handled, and their replies built, at once: a few per core.
/// A `client.list` of 1,000 cards takes a few MiB while its reply is built; 128 connections of
/// one uid each building one took crmd past 600 MiB (crm-bench `hostile`). Past the permits a
/// connection waits its turn (a read, not a write: a write gives its permit back while it waits
/// for its commit). Admins do not wait, so an admin's request is never queued behind others'.
final class WorkGate: Sendable {
    /// Four per core, at least eight: enough to keep the cores busy while some wait on the disk.
    static let permits = max(8, 4 * ProcessInfo.processInfo.activeProcessorCount)
    private let semaphore = DispatchSemaphore(value: WorkGate.permits)

    func enter() { semaphore.wait() }
    func leave() { semaphore.signal() }
}
