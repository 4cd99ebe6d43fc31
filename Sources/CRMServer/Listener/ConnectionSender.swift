import CRMProtocol
import CRMSync
import Foundation
import Synchronization

/// Everything a connection sends goes out here, whole lines at a time under one lock, so the
/// reader's replies and the pump's events never interleave. Backpressure is the kernel's: sends
/// block (replies) or wait for room (events), and a peer that takes nothing for
/// `subscriptions.stall_timeout` is given up on.
final class ConnectionSender: Sendable {
    let fd: Int32
    /// `subscriptions.stall_timeout`, as the connection was accepted with it.
    private let stall: Duration
    private let writeLock = Locked<Void>(())
    /// The socket's send buffer in bytes (as the kernel counts it).
    private let sendBuffer = Atomic<Int>(212_992)

    init(fd: Int32, stallSeconds: Int) {
        self.fd = fd
        self.stall = .seconds(stallSeconds)
    }

    /// How a send ended.
    enum Outcome { case sent, stalled, gone }

    /// Records the socket's send buffer as the kernel has it (the pump fills at most half).
    func readSendBuffer() {
        if let size = try? Posix.socketOption(fd, SO_SNDBUF, initial: Int32(0)) { sendBuffer.store(Int(size), ordering: .relaxed) }
    }

    /// Asks for a send buffer of `bytes` (the kernel caps it at net.core.wmem_max, and doubles
    /// it), then records what the kernel gave.
    func growSendBuffer(to bytes: Int) {
        try? Posix.setSocketOption(fd, SO_SNDBUF, Int32(clamping: bytes))
        readSendBuffer()
    }

    /// Writes whole lines under the write lock, blocking while the socket is full; a send that
    /// moves nothing for the stall timeout (`SO_SNDTIMEO`) fails with EAGAIN: `.stalled`.
    func send(_ bytes: [UInt8]) -> Outcome {
        writeLock.withLock { _ in
            bytes.withUnsafeBytes { raw in
                var off = 0
                while off < raw.count {
                    do throws(PosixError) {
                        let n = try Posix.send(fd, UnsafeRawBufferPointer(rebasing: raw[off...]), flags: Int32(MSG_NOSIGNAL))
                        guard n > 0 else { return .gone }
                        off += n
                    } catch {
                        return error.wouldBlock ? .stalled : .gone
                    }
                }
                return .sent
            }
        }
    }

    /// Sends event lines, whole lines at a time, without ever filling more than half the socket's
    /// send buffer, so a subscriber that stops reading still has room for the notice that closes
    /// it. Waits for the peer to read; `.stalled` when it takes nothing for the stall timeout,
    /// `.gone` once `ending` says the connection is done. Returns the outcome and how many bytes
    /// (whole lines) were sent.
    func sendEvents(_ bytes: [UInt8], lineEnds: [Int], ending: () -> Bool) -> (Outcome, Int) {
        let half = sendBuffer.load(ordering: .relaxed) / 2
        return writeLock.withLock { _ in
            bytes.withUnsafeBytes { raw in
                var off = 0
                var line = 0  // the first line not wholly sent
                var progressAt = ContinuousClock.now
                while off < raw.count {
                    let queued = try? Posix.unsentBytes(fd)
                    let room = queued.map { half - $0 } ?? 4096
                    // The whole lines that fit; a line longer than half the buffer goes alone once
                    // the buffer is empty (with a blocking send, bounded by the stall timeout).
                    var end = line
                    while end < lineEnds.count, lineEnds[end] - off <= room { end += 1 }
                    let alone = end == line && (queued ?? 0) == 0
                    if end > line || alone {
                        let upTo = alone ? lineEnds[line] : lineEnds[end - 1]
                        while off < upTo {
                            let flags = alone ? Int32(MSG_NOSIGNAL) : Int32(MSG_NOSIGNAL | MSG_DONTWAIT)
                            do throws(PosixError) {
                                let n = try Posix.send(fd, UnsafeRawBufferPointer(rebasing: raw[off..<upTo]), flags: flags)
                                guard n > 0 else { return (.gone, lineEnds.last(where: { $0 <= off }) ?? 0) }
                                off += n
                            } catch {
                                if error.wouldBlock, !alone {
                                    usleep(1000)  // room by our count, not yet by the kernel's: rare and brief
                                    continue
                                }
                                return (error.wouldBlock ? .stalled : .gone, lineEnds.last(where: { $0 <= off }) ?? 0)
                            }
                        }
                        line = alone ? line + 1 : end
                        progressAt = .now
                        continue
                    }
                    let sent = line > 0 ? lineEnds[line - 1] : 0
                    if ContinuousClock.now - progressAt >= stall { return (.stalled, sent) }
                    if ending() { return (.gone, sent) }
                    // Writable again once the peer has read the buffer down to a quarter; checked
                    // at least every 100 ms, since replies share the buffer.
                    var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                    do throws(PosixError) {
                        try Posix.poll(&p, timeoutMS: 100)
                    } catch {
                        if !error.interrupted { return (.gone, sent) }
                    }
                    if p.revents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0 { return (.gone, sent) }
                }
                return (.sent, off)
            }
        }
    }

    /// Sends `value` as one line under the write lock if the socket has room for it now, never
    /// waiting (``sendLineNow(_:to:)``).
    func sendNow(_ value: JSON) {
        writeLock.withLock { _ in sendLineNow(value, to: fd) }
    }
}

/// Sends `value` as one line if the socket has room for it now, never waiting: a last word to a
/// peer crmd is about to close (over the connection limit, a stalled subscriber).
func sendLineNow(_ value: JSON, to fd: Int32) {
    var line = JSONWriter.bytes(value)
    line.append(UInt8(ascii: "\n"))
    _ = line.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
}
