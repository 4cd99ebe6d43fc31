import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import Testing

/// Sends one raw line and reads one reply line, parsed.
func roundTrip(_ c: Connection, _ line: String) throws -> JSON {
    try c.send(raw: Array((line + "\n").utf8))
    guard let reply = try c.readJSON() else { throw ClientError.connectionClosed("no reply to \(line.prefix(80))") }
    return reply
}

/// The error code of a reply, if it is an error.
func errorCode(_ reply: JSON) -> Int? {
    reply["error"]?["code"]?.intValue.map(Int.init)
}

/// The code of an `RPCError` thrown by `body`, or nil if it succeeded.
func rpcErrorCode(_ body: () throws -> JSON) -> Int? {
    do {
        _ = try body()
        return nil
    } catch let e as RPCError {
        return e.code
    } catch {
        return -1
    }
}

/// Runs a python3 script as `uid` (under setpriv; as this process's own uid when nil) with the
/// daemon's socket path as its first argument and `args` after it.
func runPython(_ d: TestDaemon, as uid: Int?, _ script: String, _ args: [String] = []) throws -> (
    status: Int32, out: String, err: String
) {
    let py = ["/usr/bin/python3", "-c", script, d.socketPath] + args
    if let uid {
        return try runProcess(
            "/usr/bin/setpriv", ["--reuid=\(uid)", "--regid=\(uid)", "--clear-groups"] + py, environment: ["HOME": "/tmp"])
    }
    return try runProcess(py[0], Array(py.dropFirst()), environment: ["HOME": "/tmp"])
}

/// A started daemon, stopped at the end of `body`.
func withDaemon<T>(environment: [String: String] = [:], world: Bool = false, _ body: (TestDaemon) throws -> T) throws -> T {
    let d = try TestDaemon(environment: environment, world: world)
    try d.start()
    defer { d.stop() }
    return try body(d)
}

/// A new empty temporary folder (the caller removes it).
func temporaryFolder(_ prefix: String) throws -> URL {
    let dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

/// Writes an executable shell script `deliver.sh` into `dir` (a delivery command for crmd).
func deliveryScript(in dir: URL, _ text: String) throws -> URL {
    let script = dir.appendingPathComponent("deliver.sh")
    try text.write(to: script, atomically: true, encoding: .utf8)
    chmod(script.path, 0o755)
    return script
}

/// Sets up a head and two managers with uids that no real process uses.
@discardableResult
func seedTeam(_ c: Connection) throws -> (head: Int64, ivanov: Int64, sidorov: Int64) {
    let h = try c.call("user.add", ["login": "petrova", "name": "Anna Petrova", "role": "head", "uid": 50_001])
    let i = try c.call("user.add", ["login": "ivanov", "name": "Ivan Ivanov", "role": "manager", "uid": 50_002])
    let s = try c.call("user.add", ["login": "sidorov", "name": "Petr Sidorov", "role": "manager", "uid": 50_003])
    return (h["id"]!.intValue!, i["id"]!.intValue!, s["id"]!.intValue!)
}

/// Whether this process may mount a tmpfs (root with CAP_SYS_ADMIN; not in every container).
let canMountTmpfs: Bool = {
    guard getuid() == 0 else { return false }
    let dir = NSTemporaryDirectory() + "crmd-mount-probe-\(getpid())"
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    guard (try? runProcess("/bin/mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", dir]))?.status == 0 else { return false }
    _ = try? runProcess("/bin/umount", [dir])
    return true
}()

/// Mounts a private tmpfs of `size` (like "4m") on `dir`, for tests of a full or read-only disk.
func mountTmpfs(_ dir: String, size: String) throws {
    let r = try runProcess("/bin/mount", ["-t", "tmpfs", "-o", "size=\(size),mode=0700", "tmpfs", dir])
    try #require(r.status == 0, "\(r.err)")
}
