import CRMFraming
import CRMProtocol
import CRMSync
import Dispatch
import Foundation

/// The request loop: the reader thread reads lines, answers them in order and sends the replies.
extension ClientConnection {
    /// Replies gathered before they are sent even though more lines wait.
    static let flushBytes = 64 * 1024

    /// Serves the connection until the peer closes it, it breaks, or crmd stops; then closes it.
    func run() {
        defer { finish() }
        services.logger.debug("connection", metadata: ["uid": "\(session.uid)", "pid": "\(session.pid)"])
        try? Posix.setTimeout(fd, SO_SNDTIMEO, .seconds(settings.subscriberStallSeconds))
        // What may wait unread for this peer: the kernel's default send buffer. Only an admin's
        // subscription gets subscriptions.max_queue_bytes (``activatePendingSubscriptions``):
        // kernel memory pinned by a peer that never reads must stay small for everyone else
        // (8 MiB on every connection let 300 connections pin 3.8 GiB, issue 15 §3).
        sender.readSendBuffer()
        var buffer = LineBuffer(maxLength: settings.maxLineBytes, budget: buffers)
        // The idle timeout runs from the last complete request, not the last byte: a peer that
        // trickles an unfinished line (a byte every few seconds) is still idle (issue 15 §2).
        let idle: Duration? = settings.idleTimeoutSeconds > 0 ? .seconds(settings.idleTimeoutSeconds) : nil
        var lastRequest = ContinuousClock.now
        var receiveTimeout: Duration = .zero
        while true {
            do throws(LineTooLongError) {
                while let line = try buffer.nextLine() {
                    if !Self.isBlank(line) { lastRequest = .now }
                    guard handle(line: line, session: session) else { return }
                    if out.count >= Self.flushBytes, !flush() { return }
                }
            } catch {
                refuseLine(Self.lineTooLong(limit: error.limit))
                return
            }
            guard flush() else { return }
            if let idle {
                let left = idle - lastRequest.duration(to: .now)
                if left <= .zero {
                    if subscriptions.withLock({ $0.isEmpty }) {
                        closeIdle()
                        return
                    }
                    // A subscriber is never idle: it waits for events. Look again a full period on.
                    lastRequest = .now
                    continue
                }
                // A read waits at most until the period ends (a second late at most: the timeout is
                // set again only when it would be later than that, so a busy connection does not
                // pay a system call per read).
                if receiveTimeout == .zero || receiveTimeout > left + .seconds(1) {
                    try? Posix.setTimeout(fd, SO_RCVTIMEO, left)
                    receiveTimeout = left
                }
            }
            let fd = self.fd
            var failure: PosixError? = nil
            let n: Int
            do throws(LineBudgetError) {
                n = try buffer.read { space in
                    do throws(PosixError) {
                        return try Posix.read(fd, into: space)
                    } catch {
                        failure = error
                        return -1
                    }
                }
            } catch {
                refuseOverBudget()
                return
            }
            if n > 0 { continue }
            guard let failure else {
                // The peer sent all it will send (shutdown(SHUT_WR), `socat -`), or crmd is
                // stopping: a last line without its newline is still a request; answer, then close.
                do throws(LineTooLongError) {
                    if let last = try buffer.lastLine(), handle(line: last, session: session) { _ = flush() }
                } catch {
                    refuseLine(Self.lineTooLong(limit: error.limit))
                }
                return
            }
            if failure.interrupted { continue }
            // EAGAIN: the receive timeout passed; the idle check above decides.
            if failure.wouldBlock {
                receiveTimeout = .zero
                continue
            }
            if failure.errno != ECONNRESET { services.logger.debug("connection error", metadata: ["error": "\(failure.message)"]) }
            return
        }
    }

    /// A line of spaces and tabs only: skipped, and not a request (it does not keep a connection
    /// from idling).
    private static func isBlank(_ line: UnsafeRawBufferPointer) -> Bool {
        line.allSatisfy { $0 == 0x20 || $0 == 0x09 }
    }

    /// No complete request for server.idle_timeout: told so and closed.
    private func closeIdle() {
        let note = Response.notification(
            method: "server.closing",
            params: ["reason": "idle_timeout", "message": "Closed: no complete request for the idle timeout (server.idle_timeout)."])
        append(note)
        _ = flush()
    }

    static func lineTooLong(limit: Int) -> RPCError {
        RPCError(
            code: ErrorCode.invalidRequest,
            message: "Line longer than \(limit) bytes (protocol.max_line_bytes); the connection is closed.",
            data: ["reason": "line_too_long", "limit": .int(limit)])
    }

    /// An unfinished line that would take more memory than the buffer budget grants: `1009`, the
    /// connection closed (the rest of its stream cannot be framed), and a log line.
    private func refuseOverBudget() {
        guard let exceeded = buffers.refusal else { return }
        services.logger.warning(
            "refused an unfinished request line over the buffer budget; closing the connection",
            metadata: ["bound": "\(exceeded.name)", "limit": "\(exceeded.limit)", "uid": "\(session.uid)"])
        refuseLine(
            RPCError(
                code: ErrorCode.unavailable,
                message:
                    "Request line not read: it would pass \(exceeded.explanation). Finish or close your other connections, or send a shorter line; this connection is closed.",
                data: ["reason": .string(exceeded.name), "limit": .int(Int64(exceeded.limit))]))
    }

    /// A line that cannot be read: answered in its turn, after the requests before it. Our side of
    /// the connection is closed, so the reply is not lost to a reset while the peer is still
    /// sending; the peer's close (or five seconds) ends it.
    private func refuseLine(_ err: RPCError) {
        append(Response.failure(id: .null, error: err))
        guard flush() else { return }
        shutdown(fd, Int32(SHUT_WR))
        try? Posix.setTimeout(fd, SO_RCVTIMEO, .seconds(1))
        let deadline = ContinuousClock.now + .seconds(5)
        let sink = UnsafeMutableRawBufferPointer.allocate(byteCount: 16 * 1024, alignment: 1)
        defer { sink.deallocate() }
        while ContinuousClock.now < deadline {
            do throws(PosixError) {
                if try Posix.read(fd, into: sink) == 0 { break }
            } catch {
                if !error.interrupted, !error.wouldBlock { break }
            }
        }
    }

    /// Handles one line: one request, or a batch. Returns false when the connection must close.
    private func handle(line: UnsafeRawBufferPointer, session: Session) -> Bool {
        if Self.isBlank(line) { return true }
        let parsed: JSON
        do throws(JSONParseError) {
            parsed = try JSONParser.parse(buffer: line)
        } catch {
            let err = RPCError(
                code: ErrorCode.parseError,
                message: "Parse error: \(error.message) at byte \(error.offset). Send one JSON-RPC object per line.",
                data: ["reason": "parse_error", "offset": .int(error.offset)])
            append(Response.failure(id: .null, error: err))
            return true
        }
        if case .array(let items) = parsed {
            handle(batch: items, session: session)
        } else {
            withWorkPermit {
                if let reply = answer(parsed, session: session) { append(reply) }
            }
        }
        return activatePendingSubscriptions()
    }

    /// The reply to one request (nil for a notification), once its handler has answered.
    func answer(_ item: JSON, session: Session) -> JSON? {
        let request: Request
        switch Request.decode(item) {
        case .failure(let f): return Response.failure(id: f.id, error: f.error)
        case .success(let r): request = r
        }
        let result: Result<JSON, RPCError>
        if request.method == "subscribe" || request.method == "unsubscribe" {
            result = subscriptionRequest(request, session: session)
        } else {
            let slot = replySlot
            services.handle(request, session: session) { slot.put($0) }
            if let now = slot.takeIfReady() {
                result = now
            } else {
                // A write waits for its commit: what is already answered goes out meanwhile, and
                // the work permit goes back (a write's reply is small).
                releaseWorkPermit()
                _ = flush()
                result = slot.take()
            }
        }
        guard let id = request.id else { return nil }
        switch result {
        case .success(let json): return Response.success(id: id, result: json)
        case .failure(let e): return Response.failure(id: id, error: e)
        }
    }

    /// Runs `body` holding a permit of the ``WorkGate``: the memory a request's handler and its
    /// reply take while they are built is bounded by how many are built at once. Admins do not
    /// wait for one.
    func withWorkPermit<T>(_ body: () -> T) -> T {
        guard !admitted.admin else { return body() }
        server.work.enter()
        holdingWorkPermit = true
        defer { releaseWorkPermit() }
        return body()
    }

    private func releaseWorkPermit() {
        guard holdingWorkPermit else { return }
        holdingWorkPermit = false
        server.work.leave()
    }

    func append(_ value: JSON) {
        JSONWriter.write(value, into: &out)
        out.append(UInt8(ascii: "\n"))
    }

    /// Sends the replies gathered so far. False when the peer is gone or took nothing for the
    /// stall timeout.
    func flush() -> Bool {
        guard !out.isEmpty else { return true }
        let sent = sender.send(out)
        // A large reply's memory goes back once sent (to the budget, if a batch took it).
        out.removeAll(keepingCapacity: out.capacity <= 2 * Self.flushBytes)
        buffers.give(unsentHeld)
        unsentHeld = 0
        if sent == .stalled {
            services.logger.warning(
                "closing a connection that did not read its replies",
                metadata: ["stall_timeout_s": "\(settings.subscriberStallSeconds)"])
        }
        return sent == .sent
    }
}

/// Where a handler's answer waits for the reader thread: set once per request, from the reader
/// itself (a read) or from the commit thread (a write).
final class ReplySlot: @unchecked Sendable {
    private let value = Locked<Result<JSON, RPCError>?>(nil)
    private let ready = DispatchSemaphore(value: 0)

    func put(_ result: Result<JSON, RPCError>) {
        value.withLock { $0 = result }
        ready.signal()
    }

    /// The answer if the handler already gave it (the semaphore is then taken too).
    func takeIfReady() -> Result<JSON, RPCError>? {
        guard
            let r = value.withLock({ v -> Result<JSON, RPCError>? in
                defer { v = nil }; return v
            })
        else { return nil }
        ready.wait()
        return r
    }

    /// Waits for the answer.
    func take() -> Result<JSON, RPCError> {
        ready.wait()
        return value.withLock { v in
            defer { v = nil }
            return v!
        }
    }
}
