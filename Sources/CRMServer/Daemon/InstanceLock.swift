import CRMFiles
import Foundation

/// An exclusive lock on `<database>.lock`, so two crmd never write one database.
/// The kernel drops the lock when the process dies, so a crash never leaves it stale.
public final class InstanceLock {
    private let fd: Int32
    /// The lock file.
    public let path: String

    /// Takes the lock or throws naming the crmd that holds it. The lock file is never followed
    /// through a symbolic link (`O_NOFOLLOW`), and must be a regular file with one link, owned by
    /// crmd's uid, before crmd writes its pid into it: a file another user planted there is
    /// refused, never truncated.
    public init(databasePath: String) throws {
        path = databasePath + ".lock"
        do throws(PosixError) {
            fd = try Posix.open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, mode: 0o600)
        } catch {
            if error.errno == ELOOP { throw Self.notOurs(path, "it is a symbolic link, which crmd does not follow") }
            if error.errno == EISDIR { throw Self.notOurs(path, "it is a folder, not a regular file") }
            throw StartupError("cannot create the lock file \(path): \(error.message)")
        }
        let st: stat
        do throws(PosixError) {
            st = try Posix.fstat(fd)
        } catch {
            close(fd)
            throw Self.notOurs(path, "cannot read it: \(error.message)")
        }
        let problem: String? =
            if st.st_mode & S_IFMT != S_IFREG {
                "it is not a regular file"
            } else if st.st_uid != geteuid() {
                "it is owned by uid \(st.st_uid), not by crmd's uid \(geteuid())"
            } else if st.st_nlink != 1 {
                "it has \(st.st_nlink) hard links, so it is also another file"
            } else {
                nil
            }
        if let problem {
            close(fd)
            throw Self.notOurs(path, problem)
        }
        if st.st_mode & 0o077 != 0 { _ = fchmod(fd, 0o600) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            var buf = [UInt8](repeating: 0, count: 32)
            let n = pread(fd, &buf, buf.count - 1, 0)
            let pid = n > 0 ? String(decoding: buf[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : "?"
            close(fd)
            throw StartupError(
                "another crmd (pid \(pid)) is already using the database \(databasePath); stop it first or use another --database")
        }
        let pid = "\(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = pid.withCString { pwrite(fd, $0, strlen($0), 0) }
    }

    private static func notOurs(_ path: String, _ problem: String) -> StartupError {
        StartupError("the lock file \(path) is not crmd's: \(problem). Remove it (crmd creates its own lock file) and start crmd again")
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
/// answers on. A stale socket file left by a crash is removed. The per-user folder (`privateFolder`,
/// `/tmp/crmd-UID` or `$XDG_RUNTIME_DIR/crmd`) is created 0700 and must be crmd's own with mode
/// 0700: one another user made first could hold a socket of theirs.
func prepareSocketPath(_ path: String, privateFolder: String?) throws {
    guard path.utf8.count <= Posix.maxUnixPathBytes else {
        throw StartupError(
            "the socket path \(path) is longer than the \(Posix.maxUnixPathBytes) bytes a Unix socket allows; choose a shorter --socket")
    }
    let dir = (path as NSString).deletingLastPathComponent
    if !dir.isEmpty, dir == privateFolder {
        if let problem = PrivateFolder.create(dir, uid: geteuid()) {
            throw StartupError(
                "refusing the socket folder: \(problem). Another user could have made it to take crmd's place. Remove it (crmd makes its own, mode 700), or set XDG_RUNTIME_DIR or --socket to a folder of your own"
            )
        }
    } else if !dir.isEmpty, !FileManager.default.fileExists(atPath: dir) {
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        } catch {
            throw StartupError("cannot create the socket folder \(dir): \(error.localizedDescription)")
        }
    }
    guard let st = try? Posix.lstat(path) else { return }
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
    guard let fd = try? Posix.unixSocket(Int32(SOCK_STREAM.rawValue)) else { return false }
    defer { close(fd) }
    return (try? Posix.connect(fd, to: path)) != nil
}
