import CTSan
import Synchronization

/// A value behind a `Synchronization.Mutex` whose ordering ThreadSanitizer can follow.
///
/// On Linux a contended `Mutex` is handed from one thread to the next by the kernel (a
/// priority-inheritance futex, inside the uninstrumented `libswiftSynchronization.so`), so
/// ThreadSanitizer sees no happens-before edge between the two holders and reports the accesses
/// the mutex does order as data races. `withLock` therefore also acquires this object's address
/// right after taking the lock and releases it right before giving it up: the same edges the
/// lock gives, told to ThreadSanitizer. In a build without `--sanitize=thread` those two calls
/// do nothing. See docs/reliability.md, "Sanitizers".
public final class Locked<Value>: Sendable {
    private let mutex: Mutex<Value>

    public init(_ value: sending Value) { mutex = Mutex(value) }

    /// Runs `body` with the value while holding the lock.
    public func withLock<Result, E: Error>(_ body: (inout sending Value) throws(E) -> sending Result) throws(E) -> sending Result {
        let token = UnsafeRawPointer(Unmanaged.passUnretained(self).toOpaque())
        return try mutex.withLock { (value: inout sending Value) throws(E) -> sending Result in
            crmd_tsan_acquire(token)
            defer { crmd_tsan_release(token) }
            return try body(&value)
        }
    }
}
