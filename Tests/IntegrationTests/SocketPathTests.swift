import CRMClient
import Foundation
import Testing

@Suite("Where crmctl looks for crmd")
struct SocketPathTests {
    let env = ["XDG_RUNTIME_DIR": "/run/user/1000"]
    let personal = "/run/user/1000/crmd/crmd.sock"

    @Test("CRMD_SOCKET wins over everything")
    func environmentWins() {
        let path = defaultSocketPath(environment: ["CRMD_SOCKET": "/tmp/x.sock", "XDG_RUNTIME_DIR": "/run/user/1000"], uid: 1000) { _ in
            true
        }
        #expect(path == "/tmp/x.sock")
    }

    @Test("a developer's own crmd wins over the installed one")
    func personalFirst() {
        #expect(defaultSocketPath(environment: env, uid: 1000) { _ in true } == personal)
    }

    @Test("the installed crmd's socket when there is no personal one")
    func systemNext() {
        #expect(defaultSocketPath(environment: env, uid: 1000) { $0 == systemSocketPath } == systemSocketPath)
    }

    @Test("with neither, the personal path, so the error names what `make run` would create")
    func personalLast() {
        #expect(defaultSocketPath(environment: env, uid: 1000) { _ in false } == personal)
        #expect(defaultSocketPath(environment: ["TMPDIR": "/var/tmp"], uid: 1000) { _ in false } == "/var/tmp/crmd-1000/crmd.sock")
    }

    @Test("root's per-user socket is the system one")
    func root() {
        #expect(defaultSocketPath(environment: env, uid: 0) { _ in false } == systemSocketPath)
    }

    @Test(
        "a socket this account may not use is reported as permission denied, with what to check",
        .enabled(if: getuid() != 0, "root is never refused by file permissions; e2e-systemd.sh checks this as a non-member"))
    func permissionDenied() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("crmctl-eacces-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("s.sock").path
        let fd = try listen(at: path)
        defer { close(fd) }
        chmod(path, 0)
        do {
            _ = try Connection(path: path)
            Issue.record("connected to a socket with mode 000")
        } catch ClientError.permissionDenied(let p, let hint) {
            // Owned by this account, so the group is not the problem: the hint names the mode.
            // (The "must be in the 'crm' group" hint is checked by scripts/e2e-systemd.sh.)
            #expect(p == path)
            #expect(hint.contains("mode 0 "))
        }
    }

    /// A listening Unix socket at `path`.
    private func listen(at path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in path.utf8.enumerated() { raw[i] = b }
        }
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard r == 0, Glibc.listen(fd, 1) == 0 else {
            close(fd)
            throw ClientError.cannotConnect(path: path, reason: String(cString: strerror(errno)))
        }
        return fd
    }
}
