public import Foundation

/// The receiving end of systemd's notify protocol, for tests: a Unix datagram socket that a
/// daemon started with `NOTIFY_SOCKET=<path>` sends `READY=1`, `STATUS=…`, `WATCHDOG=1` and
/// the like to. Every message is recorded with the instant it arrived.
public final class NotifyListener: @unchecked Sendable {
    /// One datagram: its text and when it arrived.
    public struct Message: Sendable {
        public let text: String
        public let at: Date
        /// The value of `KEY=` in this message, if present.
        public func value(_ key: String) -> String? {
            for line in text.split(separator: "\n") where line.hasPrefix(key + "=") {
                return String(line.dropFirst(key.count + 1))
            }
            return nil
        }
    }

    /// The socket path to pass as `NOTIFY_SOCKET`.
    public let path: String
    private let fd: Int32
    private let lock = NSCondition()
    private var received: [Message] = []

    /// Binds a datagram socket at `path` and starts recording.
    public init(path: String) throws {
        self.path = path
        unlink(path)
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        self.fd = fd
        guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { throw POSIXError(.ENAMETOOLONG) }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else {
            close(fd)
            throw POSIXError(.init(rawValue: errno) ?? .EIO)
        }
        Thread.detachNewThread { [self] in
            var buffer = [UInt8](repeating: 0, count: 8192)
            while true {
                let n = recv(fd, &buffer, buffer.count, 0)
                if n <= 0 {
                    if n < 0 && errno == EINTR { continue }
                    break
                }
                let text = String(decoding: buffer[0..<n], as: UTF8.self)
                lock.lock()
                received.append(Message(text: text, at: Date()))
                lock.broadcast()
                lock.unlock()
            }
        }
    }

    deinit {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
        unlink(path)
    }

    /// Every message so far, in order.
    public var messages: [Message] {
        lock.lock()
        defer { lock.unlock() }
        return received
    }

    /// Waits up to `timeout` for a message (after the first `skip`) that satisfies `match`.
    public func wait(
        after skip: Int = 0, timeout: TimeInterval = 10, where match: (Message) -> Bool
    ) -> (index: Int, message: Message)? {
        let deadline = Date().addingTimeInterval(timeout)
        lock.lock()
        defer { lock.unlock() }
        var next = skip
        while true {
            while next < received.count {
                if match(received[next]) { return (next, received[next]) }
                next += 1
            }
            if !lock.wait(until: deadline) { return nil }
        }
    }

    /// Waits for a message containing the line `line` (like `READY=1`).
    public func wait(forLine line: String, after skip: Int = 0, timeout: TimeInterval = 10) -> (index: Int, message: Message)? {
        wait(after: skip, timeout: timeout) { $0.text.split(separator: "\n").contains(Substring(line)) }
    }
}
