import CRMFraming
import CRMProtocol
import CRMSync
import CRMText
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
        append(Response.failure(id: .null, error: err, lang: services.lang(for: session)))
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
            append(Response.failure(id: .null, error: err, lang: services.lang(for: session)))
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
        case .failure(let f): return Response.failure(id: f.id, error: f.error, lang: services.lang(for: session))
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
        case .failure(let e): return Response.failure(id: id, error: e, lang: services.lang(for: session))
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

/// Batches: their items answered in order, as one array; every size a peer chooses is bounded.
extension ClientConnection {
    /// Answers a batch (a line holding an array): its replies join ``out`` as one line.
    func handle(batch items: [JSON], session: Session) {
        if items.isEmpty {
            append(
                Response.failure(
                    id: .null, error: RPCError(code: ErrorCode.invalidRequest, message: "An empty batch is not a request."),
                    lang: services.lang(for: session)))
            return
        }
        // Every size a peer chooses is bounded: the items, and the reply built in memory (5,000
        // `client.list` items in one line once took crmd to 11 GB).
        if items.count > settings.maxBatchItems {
            append(
                Response.failure(
                    id: .null,
                    error: RPCError(
                        code: ErrorCode.invalidRequest,
                        message:
                            "A batch of \(items.count) requests is more than \(settings.maxBatchItems) (protocol.max_batch_items); nothing was run. Send it in smaller batches.",
                        data: [
                            "reason": "batch_too_large", "limit": .int(Int64(settings.maxBatchItems)),
                            "items": .int(Int64(items.count)),
                        ]),
                    lang: services.lang(for: session)))
            services.logger.warning(
                "refused a batch over protocol.max_batch_items",
                metadata: ["items": "\(items.count)", "limit": "\(settings.maxBatchItems)", "uid": "\(session.uid)"])
            return
        }
        var batch: [UInt8] = [UInt8(ascii: "[")]
        var answered = 0
        var skipped = 0
        // The memory the batch's replies take, from the buffer budget (given back once sent):
        // past it, or past max_batch_reply_bytes, the remaining items are not run.
        var stop: BatchStop? = nil
        var batchHeld = 0
        for item in items {
            if stop == nil, batch.count > settings.maxBatchReplyBytes { stop = .replyBytes }
            // The first 64 KiB are the connection's own; past them, all of it is taken.
            if stop == nil, batch.capacity > batchHeld + Self.flushBytes {
                let more = batch.capacity - batchHeld
                if buffers.take(more) {
                    batchHeld += more
                } else {
                    stop = .budget(buffers.refusal ?? .total(limit: settings.maxBufferedBytes))
                }
            }
            // A reply joins the batch's (nil: a notification, which gets none).
            func put(_ reply: JSON?) {
                guard let reply else { return }
                if answered > 0 { batch.append(UInt8(ascii: ",")) }
                JSONWriter.write(reply, into: &batch)
                answered += 1
            }
            if let stop {
                // Not run, so no work permit is waited for.
                put(batchReplyLimit(item, stop))
                skipped += 1
            } else {
                withWorkPermit { put(answer(item, session: session)) }
            }
        }
        if skipped > 0, let stop {
            services.logger.warning(
                "a batch's replies passed a bound; the rest was not run",
                metadata: [
                    "skipped": "\(skipped)", "bound": "\(stop.kind)", "limit": "\(stop.limit(settings))", "uid": "\(session.uid)",
                ])
        }
        if answered > 0 {
            batch.append(UInt8(ascii: "]"))
            out.append(contentsOf: batch)
            out.append(UInt8(ascii: "\n"))
        }
        // What the batch took stays held until its reply is sent (``flush``).
        unsentHeld += batchHeld
    }

    /// Why a batch's remaining items are not run.
    private enum BatchStop {
        /// Its replies passed `protocol.max_batch_reply_bytes`.
        case replyBytes
        /// Its replies would pass the buffer budget (``BufferBudget``).
        case budget(BufferBudget.Exceeded)

        var kind: String {
            switch self {
            case .replyBytes: return "batch_reply_bytes"
            case .budget(let e): return e.name
            }
        }

        func limit(_ settings: Settings) -> Int {
            switch self {
            case .replyBytes: return settings.maxBatchReplyBytes
            case .budget(let e): return e.limit
            }
        }
    }

    /// The reply to a batch item that is not run because the batch's replies already passed a
    /// bound (nil for a notification, which gets none).
    private func batchReplyLimit(_ item: JSON, _ stop: BatchStop) -> JSON? {
        switch Request.decode(item) {
        case .failure(let f): return Response.failure(id: f.id, error: f.error, lang: services.lang(for: session))
        case .success(let r):
            guard let id = r.id else { return nil }
            let limit = stop.limit(settings)
            let message: Phrase
            switch stop {
            case .replyBytes:
                message =
                    Phrase(
                        "Not run: this batch's replies passed \(limit) bytes (protocol.max_batch_reply_bytes). Send this request again, in a smaller batch or alone."
                    )
            case .budget(let e):
                message =
                    Phrase(
                        "Not run: this batch's replies would pass \(e.explanation). Send this request again once the replies before it are read, or in a smaller batch."
                    )
            }
            return Response.failure(
                id: id,
                error: RPCError(
                    code: ErrorCode.limitReached, message: message,
                    data: ["reason": "limit_reached", "limit": .int(Int64(limit)), "kind": .string(stop.kind)]),
                lang: services.lang(for: session))
        }
    }
}
