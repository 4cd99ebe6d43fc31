import CRMSync

/// Wakes a sleeping loop early. A wake with nobody waiting is remembered for the next wait.
final class Waker: Sendable {
    private struct State {
        var pending = false
        var continuation: CheckedContinuation<Void, Never>?
    }
    private let state = Locked(State())

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
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withTaskCancellationHandler {
                    await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                        let resumeNow: Bool = self.state.withLock { s in
                            if s.pending {
                                s.pending = false
                                return true
                            }
                            s.continuation = c
                            return false
                        }
                        if resumeNow { c.resume() }
                    }
                } onCancel: {
                    self.wake()
                }
            }
            if let timeout {
                group.addTask { try? await Task.sleep(for: timeout) }
            }
            await group.next()
            group.cancelAll()
        }
        // A wake that raced with the timeout must not leak into the next wait as stale state.
        state.withLock { $0.continuation = nil }
    }
}
