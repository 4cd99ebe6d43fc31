import CRMSync
import Dispatch

/// Wakes a sleeping loop early. A wake with nobody waiting is remembered for the next wait.
///
/// The timeout is one dispatch timer, armed again for each wait, not a `Task.sleep` per wait: a
/// sleep cancelled by an early wake stays in the dispatch timer heap, with its task, until its
/// deadline. The scheduler is woken by every write that moves a clock and waits up to a minute on
/// a real clock, so a busy day left a minute's worth of dead sleeps behind (about 120,000 at 2,000
/// requests a second): crmd's RSS grew by some 120 MiB over the first minute of a soak and its CPU
/// per request kept rising with the heap (docs/performance.md, "Soak").
final class Waker: @unchecked Sendable {
    // @unchecked: `state` is behind its lock, and a dispatch source is safe to use from any thread.
    private struct State {
        var pending = false
        var continuation: CheckedContinuation<Void, Never>?
        /// When the armed timer is for: a fire that comes earlier (one already queued for a wait
        /// that has ended) is not this wait's timeout.
        var deadline: DispatchTime = .distantFuture
    }
    private let state = Locked(State())
    private let timer: any DispatchSourceTimer

    init() {
        timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "crmd.waker"))
        timer.schedule(deadline: .distantFuture)
        timer.setEventHandler { [weak self] in self?.timedOut() }
        timer.activate()
    }

    deinit { timer.cancel() }

    func wake() {
        let c: CheckedContinuation<Void, Never>? = state.withLock { s in
            if let c = s.continuation {
                s.continuation = nil
                return c
            }
            s.pending = true
            return nil
        }
        c?.resume()
    }

    /// Whether a wait is parked now (for tests that wake it only once it is).
    var isWaiting: Bool { state.withLock { $0.continuation != nil } }

    /// The armed deadline has come: ends the wait it was armed for, if it is still waiting.
    private func timedOut() {
        let c: CheckedContinuation<Void, Never>? = state.withLock { s in
            guard DispatchTime.now() >= s.deadline, let c = s.continuation else { return nil }
            s.continuation = nil
            s.deadline = .distantFuture
            return c
        }
        c?.resume()
    }

    /// Waits for a wake, or for `timeout` (forever when nil), or for cancellation.
    func wait(timeout: Duration?) async {
        if state.withLock({ s in
            if s.pending {
                s.pending = false
                return true
            }
            return false
        }) {
            return
        }
        let deadline = timeout.map { DispatchTime.now() + Self.interval($0) } ?? .distantFuture
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let resumeNow: Bool = state.withLock { s in
                    if s.pending {
                        s.pending = false
                        return true
                    }
                    s.continuation = c
                    s.deadline = deadline
                    return false
                }
                if resumeNow {
                    c.resume()
                } else if timeout != nil {
                    // Re-arming replaces the previous deadline: one timer, however many waits.
                    timer.schedule(deadline: deadline)
                }
            }
        } onCancel: {
            self.wake()
        }
        // A wake that raced with the timeout must not leak into the next wait as stale state.
        state.withLock { s in
            s.continuation = nil
            s.deadline = .distantFuture
        }
    }

    /// `d` as a dispatch interval, capped at a day (the scheduler re-plans at least that often).
    static func interval(_ d: Duration) -> DispatchTimeInterval {
        let (seconds, attoseconds) = d.components
        guard seconds < 86_400 else { return .seconds(86_400) }
        return .nanoseconds(Int(max(0, seconds)) * 1_000_000_000 + Int(max(0, attoseconds) / 1_000_000_000))
    }
}
