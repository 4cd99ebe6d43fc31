import CSystemd
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A system call that failed: which one, and its `errno`.
struct PosixError: Error, CustomStringConvertible {
    let call: String
    let errno: Int32

    /// `strerror`'s text for ``errno``, as crmd's messages and logs quote it.
    var message: String { String(cString: strerror(errno)) }
    var description: String { "\(call): \(message)" }
    /// A signal interrupted the call (`EINTR`).
    var interrupted: Bool { errno == EINTR }
    /// The call would have waited: a socket's timeout (`SO_RCVTIMEO`, `SO_SNDTIMEO`) passed, or a
    /// call that must not wait found nothing to do (`EAGAIN`, `EWOULDBLOCK`).
    var wouldBlock: Bool { errno == EAGAIN || errno == EWOULDBLOCK }
}

/// The system calls crmd checks, each throwing its failure as a ``PosixError``. A call a signal
/// interrupts is made again where crmd has always made it again at once (sends, writes, waits for
/// a child); the others throw `EINTR`, for the caller's loop to decide what to look at first (the
/// idle timeout before the next read, the time left before the next poll).
enum Posix {
    /// `rc` of a call that returns -1 and sets `errno` when it fails.
    @inline(__always)
    static func check<T: SignedInteger>(_ call: String, _ rc: T) throws(PosixError) -> T {
        if rc < 0 { throw PosixError(call: call, errno: Glibc.errno) }
        return rc
    }

    /// The same, made again while a signal interrupts it.
    @inline(__always)
    static func retrying<T: SignedInteger>(_ call: String, _ body: () -> T) throws(PosixError) -> T {
        while true {
            let rc = body()
            if rc >= 0 { return rc }
            let e = Glibc.errno
            if e != EINTR { throw PosixError(call: call, errno: e) }
        }
    }

    // MARK: files

    static func open(_ path: String, _ flags: Int32, mode: mode_t) throws(PosixError) -> Int32 {
        try check("open", Glibc.open(path, flags, mode))
    }

    static func fstat(_ fd: Int32) throws(PosixError) -> stat {
        var st = stat()
        _ = try check("fstat", Glibc.fstat(fd, &st))
        return st
    }

    /// `lstat`: the file at `path` itself, not what a link there points to.
    static func lstat(_ path: String) throws(PosixError) -> stat {
        var st = stat()
        _ = try check("lstat", Glibc.lstat(path, &st))
        return st
    }

    static func chmod(_ path: String, _ mode: mode_t) throws(PosixError) {
        _ = try check("chmod", Glibc.chmod(path, mode))
    }

    /// A pipe, both ends close-on-exec.
    static func pipe() throws(PosixError) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        _ = try check("pipe", pipe2(&fds, O_CLOEXEC))
        return (fds[0], fds[1])
    }

    /// Reads into `space`: how many bytes came, 0 at the end of input. Not made again when
    /// interrupted.
    static func read(_ fd: Int32, into space: UnsafeMutableRawBufferPointer) throws(PosixError) -> Int {
        try check("read", Glibc.read(fd, space.baseAddress, space.count))
    }

    /// Reads into `space` from `offset` of the file, made again when interrupted: how many bytes
    /// came, 0 past the end.
    static func pread(_ fd: Int32, into space: UnsafeMutableRawBufferPointer, at offset: Int64) throws(PosixError) -> Int {
        try retrying("pread") { Glibc.pread(fd, space.baseAddress, space.count, off_t(offset)) }
    }

    /// Writes what it can of `bytes`: how many went.
    static func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(PosixError) -> Int {
        try retrying("write") { Glibc.write(fd, bytes.baseAddress, bytes.count) }
    }

    /// The soft and hard limits on open files (`RLIMIT_NOFILE`).
    static func openFileLimit() throws(PosixError) -> rlimit {
        var limit = rlimit()
        _ = try check("getrlimit", getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit))
        return limit
    }

    static func setOpenFileLimit(_ limit: rlimit) throws(PosixError) {
        var limit = limit
        _ = try check("setrlimit", setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit))
    }

    // MARK: sockets

    /// The longest path a Unix socket address holds (its `sun_path`, less the final NUL).
    static let maxUnixPathBytes = MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1

    /// A Unix socket of `type` (`SOCK_STREAM`, with `SOCK_CLOEXEC` or not).
    static func unixSocket(_ type: Int32) throws(PosixError) -> Int32 {
        try check("socket", socket(AF_UNIX, type, 0))
    }

    static func bind(_ fd: Int32, to path: String) throws(PosixError) {
        _ = try check("bind", withUnixAddress(path) { Glibc.bind(fd, $0, $1) })
    }

    static func listen(_ fd: Int32, backlog: Int32) throws(PosixError) {
        _ = try check("listen", Glibc.listen(fd, backlog))
    }

    static func connect(_ fd: Int32, to path: String) throws(PosixError) {
        _ = try check("connect", withUnixAddress(path) { Glibc.connect(fd, $0, $1) })
    }

    /// The next connection waiting on `listener`, close-on-exec. Not made again when interrupted.
    static func accept(_ listener: Int32) throws(PosixError) -> Int32 {
        try check("accept", accept4(listener, nil, nil, Int32(SOCK_CLOEXEC.rawValue)))
    }

    /// Waits up to `timeoutMS` (-1: for ever) for `fds`; how many have events. Not made again when
    /// interrupted.
    @discardableResult
    static func poll(_ fds: inout [pollfd], timeoutMS: Int32) throws(PosixError) -> Int32 {
        try check("poll", Glibc.poll(&fds, nfds_t(fds.count), timeoutMS))
    }

    @discardableResult
    static func poll(_ fd: inout pollfd, timeoutMS: Int32) throws(PosixError) -> Int32 {
        try check("poll", Glibc.poll(&fd, 1, timeoutMS))
    }

    /// Sends what it can of `bytes`: how many went.
    static func send(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, flags: Int32) throws(PosixError) -> Int {
        try retrying("send") { Glibc.send(fd, bytes.baseAddress, bytes.count, flags) }
    }

    /// A `SOL_SOCKET` option's value, read into a copy of `initial`.
    static func socketOption<T: BitwiseCopyable>(_ fd: Int32, _ name: Int32, initial: T) throws(PosixError) -> T {
        var value = initial
        var length = socklen_t(MemoryLayout<T>.size)
        _ = try check("getsockopt", getsockopt(fd, SOL_SOCKET, name, &value, &length))
        return value
    }

    static func setSocketOption<T: BitwiseCopyable>(_ fd: Int32, _ name: Int32, _ value: T) throws(PosixError) {
        var value = value
        _ = try check("setsockopt", setsockopt(fd, SOL_SOCKET, name, &value, socklen_t(MemoryLayout<T>.size)))
    }

    /// Sets `SO_RCVTIMEO` or `SO_SNDTIMEO` to `duration`, at least a millisecond: zero would mean
    /// "wait for ever".
    static func setTimeout(_ fd: Int32, _ option: Int32, _ duration: Duration) throws(PosixError) {
        let (secs, atto) = duration.components
        let usec = max(secs == 0 ? 1000 : 0, Int(atto / 1_000_000_000_000))
        try setSocketOption(fd, option, timeval(tv_sec: Int(secs), tv_usec: usec))
    }

    /// The bytes in a socket's send queue that the peer has not taken yet (`TIOCOUTQ`).
    static func unsentBytes(_ fd: Int32) throws(PosixError) -> Int {
        var queued: Int32 = 0
        _ = try check("ioctl", ioctl(fd, UInt(TIOCOUTQ), &queued))
        return Int(queued)
    }

    /// Who is at the other end of a Unix socket, from the kernel (`SO_PEERCRED`). `struct ucred`
    /// is hidden behind _GNU_SOURCE in Glibc's Swift overlay; ``PeerCredentials`` has its layout.
    static func peerCredentials(_ fd: Int32) throws(PosixError) -> PeerCredentials {
        try socketOption(fd, SO_PEERCRED, initial: PeerCredentials(pid: 0, uid: 0, gid: 0))
    }

    // MARK: processes and threads

    /// Waits until `pid` has exited, without reaping it (`WNOWAIT`): how it ended.
    static func waitForExit(_ pid: pid_t) throws(PosixError) -> siginfo_t {
        var info = siginfo_t()
        _ = try retrying("waitid") { waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) }
        return info
    }

    /// Reaps `pid`, waiting for it to exit: its wait status.
    @discardableResult
    static func reap(_ pid: pid_t) throws(PosixError) -> Int32 {
        var status: Int32 = 0
        _ = try retrying("waitpid") { waitpid(pid, &status, 0) }
        return status
    }

    /// Starts a detached thread with its own stack size and name; throws when the system refuses
    /// one.
    static func startThread(name: String, stackBytes: Int, _ body: @escaping @Sendable () -> Void) throws(PosixError) {
        final class Box {
            let name: String
            let body: @Sendable () -> Void
            init(name: String, body: @escaping @Sendable () -> Void) {
                self.name = name
                self.body = body
            }
        }
        var attr = pthread_attr_t()
        pthread_attr_init(&attr)
        defer { pthread_attr_destroy(&attr) }
        pthread_attr_setstacksize(&attr, stackBytes)
        pthread_attr_setdetachstate(&attr, Int32(PTHREAD_CREATE_DETACHED))
        let box = Unmanaged.passRetained(Box(name: name, body: body)).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(
            &thread, &attr,
            { raw in
                let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
                pthread_setname_np(pthread_self(), String(box.name.prefix(15)))
                box.body()
                return nil
            }, box)
        if rc != 0 {
            Unmanaged<Box>.fromOpaque(box).release()
            throw PosixError(call: "pthread_create", errno: rc)
        }
    }
}

/// The uid and pid of the process at the other end of a Unix socket, from the kernel.
struct PeerCredentials: Sendable {
    var pid: Int32
    var uid: UInt32
    var gid: UInt32
}

/// Calls `body` with the `sockaddr_un` of `path` (cut at the ``Posix/maxUnixPathBytes`` it holds)
/// and its size.
private func withUnixAddress(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Int32) -> Int32 {
    var addr = sockaddr_un()
    addr.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    withUnsafeMutableBytes(of: &addr.sun_path) { raw in
        for (i, b) in bytes.enumerated() where i < raw.count - 1 { raw[i] = b }
    }
    return withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
}
