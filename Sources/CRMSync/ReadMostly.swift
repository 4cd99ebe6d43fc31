#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A value read far more often than it changes (settings, the user directory), behind a
/// reader-writer lock: readers on several threads at once never wait for each other.
///
/// ``Locked`` hands a contended lock from thread to thread through the kernel; the scheduler's
/// planning threads read the settings and the users for every client, and with a plain mutex they
/// spent their time queueing for it. ThreadSanitizer understands `pthread_rwlock` itself.
///
/// A `read` body must not take the same lock again (glibc's lock prefers readers and would allow
/// it; a writer-preferring one would deadlock), and neither body may block for long.
public final class ReadMostly<Value: Sendable>: @unchecked Sendable {
    private let lock: UnsafeMutablePointer<pthread_rwlock_t>
    private var value: Value

    public init(_ value: Value) {
        self.value = value
        lock = .allocate(capacity: 1)
        lock.initialize(to: pthread_rwlock_t())
        precondition(pthread_rwlock_init(lock, nil) == 0, "pthread_rwlock_init failed")
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    /// Runs `body` with the value under the shared (read) lock.
    public func read<Result>(_ body: (borrowing Value) throws -> Result) rethrows -> Result {
        precondition(pthread_rwlock_rdlock(lock) == 0, "pthread_rwlock_rdlock failed")
        defer { pthread_rwlock_unlock(lock) }
        return try body(value)
    }

    /// Runs `body` with the value under the exclusive (write) lock.
    public func write<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        precondition(pthread_rwlock_wrlock(lock) == 0, "pthread_rwlock_wrlock failed")
        defer { pthread_rwlock_unlock(lock) }
        return try body(&value)
    }
}
