import Foundation

/// An exclusive lock on `<database>.lock`, so two crmd never write one database.
/// The kernel drops the lock when the process dies, so a crash never leaves it stale.
public final class InstanceLock {
    private let fd: Int32
    /// The lock file.
    public let path: String

    /// Takes the lock or throws naming the crmd that holds it.
    public init(databasePath: String) throws {
        path = databasePath + ".lock"
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw StartupError("cannot create the lock file \(path): \(String(cString: strerror(errno)))")
        }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            var buf = [UInt8](repeating: 0, count: 32)
            let n = pread(fd, &buf, 31, 0)
            let pid = n > 0 ? String(decoding: buf[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : "?"
            close(fd)
            throw StartupError(
                "another crmd (pid \(pid)) is already using the database \(databasePath); stop it first or use another --database")
        }
        let pid = "\(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = pid.withCString { pwrite(fd, $0, strlen($0), 0) }
    }

    deinit {
        close(fd)
    }
}

/// A reason crmd cannot start, printed as is.
public struct StartupError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Prepares the socket path: creates its folder, and refuses to steal a socket that a live crmd
/// answers on. A stale socket file left by a crash is removed.
func prepareSocketPath(_ path: String) throws {
    guard path.utf8.count < 108 else {
        throw StartupError("the socket path \(path) is longer than the 107 bytes a Unix socket allows; choose a shorter --socket")
    }
    let dir = (path as NSString).deletingLastPathComponent
    if !dir.isEmpty, !FileManager.default.fileExists(atPath: dir) {
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        } catch {
            throw StartupError("cannot create the socket folder \(dir): \(error.localizedDescription)")
        }
    }
    var st = stat()
    guard lstat(path, &st) == 0 else { return }
    guard (st.st_mode & S_IFMT) == S_IFSOCK else {
        throw StartupError("\(path) exists and is not a socket; remove it or choose another --socket")
    }
    if socketAnswers(path) {
        throw StartupError("another crmd is already listening on \(path); stop it first or choose another --socket")
    }
    unlink(path)
}

/// Whether something accepts connections on the Unix socket at `path`.
func socketAnswers(_ path: String) -> Bool {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    return withUnixAddress(path) { connect(fd, $0, $1) } == 0
}

/// Calls `body` with the `sockaddr_un` of `path` (cut at the 107 bytes it holds) and its size.
func withUnixAddress(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Int32) -> Int32 {
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
