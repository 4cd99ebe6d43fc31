import CRMProtocol
import CRMSync
import Dispatch

/// Where a handler's answer waits for the reader thread: set once per request, from the reader
/// itself (a read) or from the commit thread (a write).
final class ReplySlot: @unchecked Sendable {
    private let value = Locked<Result<JSON, RPCError>?>(nil)
    private let ready = DispatchSemaphore(value: 0)

    func put(_ result: Result<JSON, RPCError>) {
        value.withLock { $0 = result }
        ready.signal()
    }

    /// The answer if the handler already gave it (the semaphore is then taken too).
    func takeIfReady() -> Result<JSON, RPCError>? {
        guard
            let r = value.withLock({ v -> Result<JSON, RPCError>? in
                defer { v = nil }; return v
            })
        else { return nil }
        ready.wait()
        return r
    }

    /// Waits for the answer.
    func take() -> Result<JSON, RPCError> {
        ready.wait()
        return value.withLock { v in
            defer { v = nil }
            return v!
        }
    }
}
