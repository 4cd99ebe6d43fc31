import CRMFiles
public import CRMProtocol
public import Foundation

/// Why talking to crmd failed below the protocol level.
public enum ClientError: Error, CustomStringConvertible {
    /// No crmd answers on the socket.
    case cannotConnect(path: String, reason: String)
    /// The socket is there but this account may not use it (EACCES); `hint` says what to do.
    case permissionDenied(path: String, hint: String)
    /// The connection broke or crmd closed it.
    case connectionClosed(String)
    /// crmd sent something that is not a JSON-RPC reply.
    case badReply(String)
    /// Nothing arrived within the read timeout set by ``Connection/setReadTimeout(seconds:)``.
    case timedOut(seconds: Double)
    /// The per-user socket folder is not this account's own with mode 0700 (`problem` says how).
    case unsafeFolder(problem: String)

    public var description: String {
        switch self {
        case .cannotConnect(let path, let reason):
            var text = "cannot connect to crmd at \(path): \(reason). "
            if path == systemSocketPath {
                text +=
                    "Is crmd's socket enabled? sudo systemctl enable --now crmd.socket (or point --socket / CRMD_SOCKET at another crmd)."
            } else {
                text += "Is crmd running? Start it with `crmd`, or point --socket / CRMD_SOCKET at its socket."
            }
            return text
        case .permissionDenied(let path, let hint): return "permission denied on \(path): \(hint)"
        case .connectionClosed(let why): return "the connection to crmd closed: \(why)"
        case .badReply(let why): return "crmd sent an unexpected reply: \(why)"
        case .timedOut(let seconds): return "crmd sent nothing for \(seconds) s (the connection's read timeout)"
        case .unsafeFolder(let problem):
            return
                "refusing crmd's socket folder: \(problem). Another user could have made it to pose as crmd. Remove it (crmd makes its own, mode 700), or set XDG_RUNTIME_DIR, or point --socket / CRMD_SOCKET at crmd's socket"
        }
    }
}

/// A blocking connection to crmd: send a request line, read reply lines. Used by crmctl, the
/// benchmark and tests; other programs can speak the same protocol with any JSON library.
/// Use one connection from one thread at a time (it may be handed between threads).
public final class Connection: @unchecked Sendable {
    private let fd: Int32
    private var buffer: [UInt8] = []
    private var start = 0
    private var chunk = [UInt8](repeating: 0, count: 1 << 16)
    private var nextID: Int64 = 1
    /// The socket path.
    public let path: String

    /// Connects to the Unix socket at `path`.
    public init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ClientError.cannotConnect(path: path, reason: String(cString: strerror(errno))) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
            close(fd)
            throw ClientError.cannotConnect(path: path, reason: "the path is too long for a Unix socket")
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if r != 0 {
            let code = errno
            close(fd)
            if code == EACCES || code == EPERM {
                throw ClientError.permissionDenied(path: path, hint: permissionHint(socket: path))
            }
            throw ClientError.cannotConnect(path: path, reason: String(cString: strerror(code)))
        }
        buffer.reserveCapacity(1 << 16)
    }

    deinit { close(fd) }

    /// How long a read may wait for crmd before it throws ``ClientError/timedOut(seconds:)``
    /// (0: forever, the default). Tests set one so a missing reply fails instead of hanging.
    public private(set) var readTimeout: Double = 0

    /// Sets ``readTimeout``.
    public func setReadTimeout(seconds: Double) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - seconds.rounded(.down)) * 1_000_000))
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        readTimeout = seconds
    }

    /// Sends raw bytes (a line must end with `\n`).
    public func send(raw: [UInt8]) throws {
        var off = 0
        while off < raw.count {
            let n = raw.withUnsafeBytes { write(fd, $0.baseAddress! + off, raw.count - off) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ClientError.connectionClosed(String(cString: strerror(errno)))
            }
            off += n
        }
    }

    /// Sends one JSON value as a line.
    public func send(_ value: JSON) throws {
        var bytes = JSONWriter.bytes(value)
        bytes.append(UInt8(ascii: "\n"))
        try send(raw: bytes)
    }

    /// Reads the next line (without its `\n`); `nil` at end of stream. Each byte is searched for
    /// the newline once, so a long line (a backup chunk is ~700 KB) costs linear time.
    public func readLine() throws -> [UInt8]? {
        var scanned = start
        while true {
            let found: Int? = buffer.withUnsafeBufferPointer { b in
                guard scanned < b.count, let p = memchr(b.baseAddress! + scanned, 0x0A, b.count - scanned) else { return nil }
                return b.baseAddress!.distance(to: p.assumingMemoryBound(to: UInt8.self))
            }
            if let nl = found {
                let line = Array(buffer[start..<nl])
                start = nl + 1
                if start == buffer.count {
                    buffer.removeAll(keepingCapacity: true)
                    start = 0
                }
                return line
            }
            if start > 0 {
                buffer.removeFirst(start)
                start = 0
            }
            scanned = buffer.count
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK, readTimeout > 0 { throw ClientError.timedOut(seconds: readTimeout) }
                throw ClientError.connectionClosed(String(cString: strerror(errno)))
            }
            if n == 0 {
                if buffer.isEmpty { return nil }
                let line = buffer
                buffer.removeAll()
                return line
            }
            buffer.append(contentsOf: chunk[0..<n])
        }
    }

    /// Reads and parses the next JSON line.
    public func readJSON() throws -> JSON? {
        guard let line = try readLine() else { return nil }
        do {
            return try JSONParser.parse(line)
        } catch {
            throw ClientError.badReply("\(error)")
        }
    }

    /// Calls `method` and waits for its reply, skipping any notifications in between.
    /// Throws the server's ``RPCError`` on an error reply.
    public func call(_ method: String, _ params: JSON = .object(JSONObject())) throws -> JSON {
        try reply(to: post(method, params))
    }

    /// Sends a request without waiting for its reply (pipelining: crmd answers a connection's
    /// requests in order); returns its id for ``reply(to:)``.
    public func post(_ method: String, _ params: JSON = .object(JSONObject())) throws -> Int64 {
        let (id, line) = request(method, params)
        try send(raw: line)
        return id
    }

    /// The line of a request to send later (from another thread, while this one reads replies),
    /// and its id for ``reply(to:)``.
    public func request(_ method: String, _ params: JSON) -> (id: Int64, line: [UInt8]) {
        let id = nextID
        nextID += 1
        var bytes = JSONWriter.bytes(Request(id: .int(id), method: method, params: params).json)
        bytes.append(UInt8(ascii: "\n"))
        return (id, bytes)
    }

    /// Waits for the reply to the request `id` that ``post(_:_:)`` sent, skipping notifications
    /// and the replies to earlier requests. Throws the server's ``RPCError`` on an error reply.
    public func reply(to id: Int64) throws -> JSON {
        while true {
            guard let reply = try readJSON() else { throw ClientError.connectionClosed("crmd closed the connection") }
            if reply["id"] == nil, reply["method"] != nil { continue }  // a notification
            if let err = reply["error"], let e = RPCError(json: err) {
                if reply["id"] == .int(id) || reply["id"] == .null { throw e }
            }
            guard reply["id"] == .int(id) else { continue }
            guard let result = reply["result"] else { throw ClientError.badReply(JSONWriter.string(reply)) }
            return result
        }
    }

    /// Shuts down the sending side (the server sees end of input).
    public func finishSending() {
        shutdown(fd, Int32(SHUT_WR))
    }
}

/// The socket of an installed crmd (systemd's `crmd.socket`).
public let systemSocketPath = "/run/crmd/crmd.sock"

/// Where crmd's socket is when `--socket` does not say: `CRMD_SOCKET`; else the per-user socket
/// (`$XDG_RUNTIME_DIR/crmd/crmd.sock`, or `/tmp/crmd-UID/crmd.sock`; root's is the system one) if it
/// exists, so a developer's own `make run` wins; else the system socket `/run/crmd/crmd.sock` if it
/// exists (an installed crmd); else the per-user path, so the error names what `make run` would use.
public func defaultSocketPath(
    environment env: [String: String] = ProcessInfo.processInfo.environment, uid: uid_t = getuid(),
    exists: (String) -> Bool = { FileManager.default.fileExists(atPath: $0) }
) -> String {
    if let s = env["CRMD_SOCKET"], !s.isEmpty { return s }
    if uid == 0 { return systemSocketPath }
    let personal: String
    if let rt = env["XDG_RUNTIME_DIR"], !rt.isEmpty {
        personal = rt + "/crmd/crmd.sock"
    } else {
        let tmp = env["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        personal = "\(tmp)/crmd-\(uid)/crmd.sock"
    }
    if exists(personal) { return personal }
    if exists(systemSocketPath) { return systemSocketPath }
    return personal
}

/// ``defaultSocketPath(environment:uid:exists:)``, refusing the per-user socket when its folder
/// is not this account's own with mode 0700: anyone may create `/tmp/crmd-UID` first and answer
/// as crmd there.
public func checkedDefaultSocketPath(
    environment env: [String: String] = ProcessInfo.processInfo.environment, uid: uid_t = getuid()
) throws(ClientError) -> String {
    let path = defaultSocketPath(environment: env, uid: uid)
    guard env["CRMD_SOCKET"]?.isEmpty ?? true, path != systemSocketPath else { return path }
    if let problem = PrivateFolder.problem((path as NSString).deletingLastPathComponent, uid: uid) {
        throw .unsafeFolder(problem: problem)
    }
    return path
}

/// What to do about EACCES on `socket`: join the group that owns it (crmd.socket gives it to
/// group `crm`), or log in again if the account was added to it after this session began.
func permissionHint(socket: String) -> String {
    var st = stat()
    guard stat(socket, &st) == 0 else {
        return "this account may not enter the folder that holds it; ask the administrator, or use your own crmd (--socket)"
    }
    let me = getpwuid(getuid()).map { String(cString: $0.pointee.pw_name) } ?? "\(getuid())"
    var groups = [gid_t](repeating: 0, count: Int(getgroups(0, nil)))
    groups = Array(groups.prefix(Int(getgroups(Int32(groups.count), &groups))))
    if st.st_uid == getuid() || st.st_gid == getegid() || groups.contains(st.st_gid) {
        let mode = String(st.st_mode & 0o777, radix: 8)
        return "its mode \(mode) does not let this account connect even though it owns it or is in its group; check how it was created"
    }
    guard let gr = getgrgid(st.st_gid) else {
        return "only members of group \(st.st_gid) may connect; ask the administrator to add \(me) to it"
    }
    let group = String(cString: gr.pointee.gr_name)
    var members: [String] = []
    var m = gr.pointee.gr_mem
    while let p = m?.pointee {
        members.append(String(cString: p))
        m = m?.advanced(by: 1)
    }
    if members.contains(me) {
        return
            "\(me) is in the '\(group)' group, but this login session started before that: log out and in again (or run `newgrp \(group)`)"
    }
    return "your account must be in the '\(group)' group (sudo usermod -aG \(group) \(me), then log in again)"
}
