import CRMCore
import CRMFraming
import CRMProtocol
import CRMStore
import CRMSync
import Dispatch
import Foundation
import Logging
import Synchronization

/// One client connection, served by a thread of its own that blocks in `read` (see
/// docs/architecture.md, "Connections").
///
/// Lines are handled strictly in order on that thread. A read is answered at once; a write is
/// queued for group commit and the thread waits for its reply before it takes the next line, so a
/// pipelining client sees its own writes in order. Replies are written with blocking sends: a peer
/// that stops reading them stops crmd reading its requests, and its backlog stays in the kernel and
/// in its own process, never in crmd. A peer that takes nothing for `subscriptions.stall_timeout`
/// is cut.
///
/// A connection that subscribes gets a second thread, the pump, that sends events after each
/// subscription's cursor when the hub says there are new ones. Both threads write whole lines under
/// one lock, so lines never interleave.
final class ClientConnection: EventListener, @unchecked Sendable {
    /// Where a connection is in its life. Only the reader thread moves it on, and only forward;
    /// the pump reads it to know when to stop. Any other move is a bug, and traps.
    ///
    ///     open ──(its first subscription goes live: the pump starts)──▶ subscribed
    ///       │                                                              │
    ///       └───────────────(the reader is done)────────▶ stopping ◀───────┘
    ///                                                         │
    ///                                          (socket closed, registry left)
    ///                                                         ▼
    ///                                                       closed
    enum State: UInt8, AtomicRepresentable {
        /// Serving requests; no pump.
        case open
        /// Serving requests, and the pump thread sends the subscriptions' events.
        case subscribed
        /// The reader is done: the pump, if any, is stopped and waited for, and what the
        /// connection held is given back.
        case stopping
        /// Its socket is closed and it has left the registry.
        case closed

        /// Whether the lifecycle goes from here to `next`.
        func leads(to next: State) -> Bool {
            switch (self, next) {
            case (.open, .subscribed), (.open, .stopping), (.subscribed, .stopping), (.stopping, .closed): return true
            default: return false
            }
        }

        /// The reader is done: the pump stops, and a send waiting for room gives up.
        var isEnding: Bool { self == .stopping || self == .closed }
    }

    let fd: Int32
    let id: Int
    /// What it uses of the rest of crmd.
    private let services: ConnectionServices
    private let settings: Settings
    private let server: ConnectionRegistry

    /// Who is at the other end, as the accept thread read it from the kernel (`SO_PEERCRED`).
    private let session: Session

    // The reader thread's own state.
    /// Replies not yet sent.
    private var out: [UInt8] = []
    /// Subscriptions made by the line being handled: live once its reply is sent, so no event
    /// reaches the peer before the subscription's id does.
    private var pendingSubscriptions: [Subscription] = []
    /// The reader's reply slot: a handler answers here, at once (a read) or from the commit
    /// thread (a write).
    private let replySlot = ReplySlot()
    /// This connection's share of the buffer budget (unfinished lines and batch replies).
    private let buffers: BufferAccount
    /// Of ``buffers``, what batch replies waiting in ``out`` hold: given back once sent.
    private var unsentHeld = 0
    /// Whether the reader holds a permit of the registry's ``WorkGate``.
    private var holdingWorkPermit = false
    /// Subscriptions of this connection counted against its uid's `subscriptions.max_per_uid`
    /// (none for an admin).
    private var uidSubscriptions = 0

    // Shared between the reader and the pump.
    private let lifecycle = Atomic<State>(.open)
    private let writeLock = Locked<Void>(())
    private let subscriptions = Locked<[Subscription]>([])
    private let pumpWake = DispatchSemaphore(value: 0)
    private let pumpWakePending = Atomic<Bool>(false)
    private let pumpDone = DispatchSemaphore(value: 0)
    /// The socket's send buffer in bytes (as the kernel counts it).
    private let sendBuffer = Atomic<Int>(212_992)

    private static let pageSize = 256
    /// Events held in memory looked at per subscription and pump (most are other managers').
    private static let scanSize = 4_096
    /// Replies gathered before they are sent even though more lines wait.
    private static let flushBytes = 64 * 1024

    /// The peer's uid and whether it counts as an admin, as admitted (``ConnectionRegistry``).
    let admitted: Admission

    init(
        fd: Int32, id: Int, session: Session, services: ConnectionServices, settings: Settings, server: ConnectionRegistry,
        admitted: Admission
    ) {
        self.session = session
        self.admitted = admitted
        self.fd = fd
        self.id = id
        self.services = services
        self.settings = settings
        self.server = server
        self.buffers = BufferAccount(budget: server.buffers, admission: admitted, settings: settings)
    }

    // MARK: the reader thread

    /// Serves the connection until the peer closes it, it breaks, or crmd stops; then closes it.
    func run() {
        defer { finish() }
        services.logger.debug("connection", metadata: ["uid": "\(session.uid)", "pid": "\(session.pid)"])
        try? Posix.setTimeout(fd, SO_SNDTIMEO, .seconds(settings.subscriberStallSeconds))
        // What may wait unread for this peer: the kernel's default send buffer. Only an admin's
        // subscription gets subscriptions.max_queue_bytes (``activatePendingSubscriptions``):
        // kernel memory pinned by a peer that never reads must stay small for everyone else
        // (8 MiB on every connection let 300 connections pin 3.8 GiB, issue 15 §3).
        readSendBuffer()
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

    /// Where the connection is in its life (``State``).
    var state: State { lifecycle.load(ordering: .acquiring) }

    /// Moves the lifecycle on to `next`; returns the state it left. Only the reader thread calls
    /// it; a move the lifecycle does not have traps.
    @discardableResult
    func become(_ next: State) -> State {
        let now = lifecycle.load(ordering: .relaxed)
        precondition(now.leads(to: next), "connection \(id): \(now) cannot become \(next)")
        lifecycle.store(next, ordering: .releasing)
        return now
    }

    /// Stops the pump, leaves the registry and closes the socket. Only the reader closes it, and
    /// only after the pump has stopped, so no thread ever touches a reused descriptor.
    private func finish() {
        if become(.stopping) == .subscribed {
            // Unblocks a pump stuck in a send, then waits for it.
            shutdown(fd, Int32(SHUT_RDWR))
            pumpWake.signal()
            pumpDone.wait()
            services.hub.remove(self)
        }
        let open = subscriptions.withLock { list in
            defer { list.removeAll() }
            return list.count
        }
        if open > 0 { services.hub.subscriptionClosed(open) }
        giveUIDSubscriptions(uidSubscriptions)
        services.connectionClosed(session)
        services.stats.connectionClosed()
        server.closed(self)
        become(.closed)
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
            if items.isEmpty {
                append(
                    Response.failure(
                        id: .null, error: RPCError(code: ErrorCode.invalidRequest, message: "An empty batch is not a request.")))
                return true
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
                            ])))
                services.logger.warning(
                    "refused a batch over protocol.max_batch_items",
                    metadata: ["items": "\(items.count)", "limit": "\(settings.maxBatchItems)", "uid": "\(session.uid)"])
                return true
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
        } else {
            withWorkPermit {
                if let reply = answer(parsed, session: session) { append(reply) }
            }
        }
        return activatePendingSubscriptions()
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
        case .failure(let f): return Response.failure(id: f.id, error: f.error)
        case .success(let r):
            guard let id = r.id else { return nil }
            let limit = stop.limit(settings)
            let message: String
            switch stop {
            case .replyBytes:
                message =
                    "Not run: this batch's replies passed \(limit) bytes (protocol.max_batch_reply_bytes). Send this request again, in a smaller batch or alone."
            case .budget(let e):
                message =
                    "Not run: this batch's replies would pass \(e.explanation). Send this request again once the replies before it are read, or in a smaller batch."
            }
            return Response.failure(
                id: id,
                error: RPCError(
                    code: ErrorCode.limitReached, message: message,
                    data: ["reason": "limit_reached", "limit": .int(Int64(limit)), "kind": .string(stop.kind)]))
        }
    }

    /// The reply to one request (nil for a notification), once its handler has answered.
    private func answer(_ item: JSON, session: Session) -> JSON? {
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
    private func withWorkPermit<T>(_ body: () -> T) -> T {
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

    private func append(_ value: JSON) {
        JSONWriter.write(value, into: &out)
        out.append(UInt8(ascii: "\n"))
    }

    /// Sends the replies gathered so far. False when the peer is gone or took nothing for the
    /// stall timeout.
    private func flush() -> Bool {
        guard !out.isEmpty else { return true }
        let sent = send(out)
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

    /// Writes whole lines under the write lock, blocking while the socket is full; a send that
    /// moves nothing for the stall timeout (`SO_SNDTIMEO`) fails with EAGAIN: `.stalled`.
    private func send(_ bytes: [UInt8]) -> SendOutcome {
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

    // MARK: subscriptions

    /// Gives back `n` of this connection's subscriptions counted against its uid.
    private func giveUIDSubscriptions(_ n: Int) {
        let n = min(n, uidSubscriptions)
        guard n > 0 else { return }
        uidSubscriptions -= n
        server.giveSubscriptions(uid: session.uid, n)
    }

    /// Records the socket's send buffer as the kernel has it (the pump fills at most half).
    private func readSendBuffer() {
        if let size = try? Posix.socketOption(fd, SO_SNDBUF, initial: Int32(0)) { sendBuffer.store(Int(size), ordering: .relaxed) }
    }

    /// `subscribe` and `unsubscribe` live here: a subscription belongs to its connection.
    private func subscriptionRequest(_ request: Request, session: Session) -> Result<JSON, RPCError> {
        guard services.actor(for: session) != nil else { return .failure(services.notAUser(session)) }
        services.stats.request()
        do {
            if request.method == "unsubscribe" {
                var r = ParamReader(request.params)
                let id = r.int("subscription")
                try r.finish()
                if let i = pendingSubscriptions.firstIndex(where: { $0.id == id }) {
                    pendingSubscriptions.remove(at: i)
                } else {
                    let found = subscriptions.withLock { list in
                        guard let i = list.firstIndex(where: { $0.id == id }) else { return false }
                        list.remove(at: i)
                        return true
                    }
                    guard found else {
                        throw DomainError(.notFound, "This connection has no subscription \(id).", details: [("subscription", .int(id))])
                    }
                }
                services.hub.subscriptionClosed()
                giveUIDSubscriptions(1)
                return .success(.object(JSONObject()))
            }
            let (topics, since) = try services.decodeSubscribe(request.params)
            let open = pendingSubscriptions.count + subscriptions.withLock { $0.count }
            let limit = settings.maxSubscriptionsPerConnection
            guard open < limit else {
                services.logger.warning(
                    "refused a subscription over subscriptions.max_per_connection",
                    metadata: ["limit": "\(limit)", "uid": "\(session.uid)"])
                throw DomainError(
                    .limitReached,
                    "This connection has \(open) subscriptions, the limit (subscriptions.max_per_connection); one subscription takes any number of topics.",
                    details: [("limit", .int(Int64(limit))), ("kind", .string("subscriptions_per_connection"))])
            }
            if !admitted.admin {
                let perUID = settings.maxSubscriptionsPerUID
                guard server.takeSubscription(uid: session.uid, limit: perUID) else {
                    services.logger.warning(
                        "refused a subscription over subscriptions.max_per_uid", metadata: ["limit": "\(perUID)", "uid": "\(session.uid)"])
                    throw DomainError(
                        .limitReached,
                        "Your connections hold \(perUID) subscriptions, the limit for one user (subscriptions.max_per_uid); unsubscribe or close some, and remember one subscription takes any number of topics.",
                        details: [("limit", .int(Int64(perUID))), ("kind", .string("subscriptions_per_uid"))])
                }
                uidSubscriptions += 1
            }
            let last: Int64
            do {
                last = try services.store.read { try $0.lastSeq() }
            } catch {
                giveUIDSubscriptions(1)
                throw error
            }
            let id = services.hub.newSubscriptionID()
            pendingSubscriptions.append(Subscription(id: id, topics: topics, cursor: min(since ?? last, last)))
            services.hub.subscriptionOpened()
            return .success(["subscription": .int(id), "seq": .int(last)])
        } catch let e as RPCError {
            return .failure(e)
        } catch let e as DomainError {
            return .failure(e.rpc)
        } catch {
            return .failure(RPCError(code: ErrorCode.internalError, message: "Could not read the event log: \(error)"))
        }
    }

    /// After a line's replies: its new subscriptions go live, the pump starts with the first, and
    /// a replay (when `since` is behind) begins. False if the pump thread cannot be started.
    private func activatePendingSubscriptions() -> Bool {
        guard !pendingSubscriptions.isEmpty else { return true }
        guard flush() else { return false }
        let added = pendingSubscriptions
        pendingSubscriptions.removeAll()
        subscriptions.withLock { $0.append(contentsOf: added) }
        if state == .open, services.realActor(for: session)?.role == .admin {
            // The kernel caps it at net.core.wmem_max, and doubles it.
            try? Posix.setSocketOption(fd, SO_SNDBUF, Int32(clamping: settings.subscriberQueueBytes))
            readSendBuffer()
        }
        if state == .open {
            services.hub.add(self)
            do throws(PosixError) {
                try Posix.startThread(name: "crmd-events", stackBytes: 1 << 20) { [self] in
                    pumpLoop()
                    pumpDone.signal()
                }
            } catch {
                services.hub.remove(self)
                services.logger.error("cannot start a thread for a subscriber; closing its connection")
                return false
            }
            become(.subscribed)
        }
        eventsRecorded()
        return true
    }

    /// From the hub, after a commit that recorded events: wakes the pump, at most once per round.
    func eventsRecorded() {
        guard !pumpWakePending.exchange(true, ordering: .acquiringAndReleasing) else { return }
        pumpWake.signal()
    }

    private func pumpLoop() {
        while true {
            pumpWake.wait()
            if state.isEnding { return }
            pumpWakePending.store(false, ordering: .releasing)
            guard pump() else { return }
        }
    }

    /// Sends every event after each subscription's cursor that it wants and may see, a page at a
    /// time. A subscriber that takes nothing for the stall timeout gets a final notice if there is
    /// room for it and is closed; it can resume with `since`. False once the connection is done.
    private func pump() -> Bool {
        while !state.isEnding {
            guard let actor = services.actor(for: session) else {
                dropSubscriber(reason: "not_a_user", message: "This connection's user is no longer active.")
                return false
            }
            var subs = subscriptions.withLock { $0 }
            if subs.isEmpty { return true }
            // Pages are gathered by at most one pump per core at a time; sending is outside the
            // gate, so a stalled subscriber holds nobody up.
            services.hub.pumpGate.wait()
            var lines: [UInt8] = []
            /// Where each event's line ends in `lines`, and whose it is.
            var marks: [(end: Int, sub: Int, seq: Int64)] = []
            var more = false
            for i in subs.indices {
                let sub = subs[i]
                // Visibility first: for a manager it is two integer compares that drop most events.
                let wanted = { [services] (k: EventKey) in services.visible(k, to: actor) && k.topic & sub.topics != 0 }
                // Live: from the events held in memory. Behind them (a replay, a slow reader):
                // from the store.
                let page: (events: [StoredEvent], cursor: Int64, more: Bool)
                if let held = services.hub.recent.scan(after: sub.cursor, maxScan: Self.scanSize, maxMatch: Self.pageSize, wanted) {
                    page = held
                } else {
                    let narrow = actor.role == .manager ? actor.userID : nil
                    guard
                        let events = try? services.store.read({ tx in
                            if let me = narrow { return try tx.events(after: sub.cursor, visibleTo: me, limit: Self.pageSize) }
                            return try tx.events(after: sub.cursor, limit: Self.pageSize)
                        })
                    else { continue }
                    // A page may end early on the filtered query; the cursor still moves to what was read.
                    page = (events.filter { wanted(EventKey($0)) }, events.last?.seq ?? sub.cursor, events.count == Self.pageSize)
                }
                for e in page.events {
                    lines += services.notificationLine(e, subscription: sub.id)
                    marks.append((lines.count, i, e.seq))
                }
                subs[i].cursor = page.cursor
                if page.more { more = true }
            }
            services.hub.pumpGate.signal()
            let (outcome, sent) = lines.isEmpty ? (.sent, 0) : sendEvents(lines, lineEnds: marks.map(\.end))
            // Cursors move only once their events are sent: all of them, or, for a page cut
            // short, to the last event sent. A subscription removed meanwhile stays removed.
            var cursors: [Int64: Int64] = [:]
            if outcome == .sent {
                for s in subs { cursors[s.id] = s.cursor }
            } else {
                for m in marks where m.end <= sent { cursors[subs[m.sub].id] = m.seq }
            }
            subscriptions.withLock { list in
                for j in list.indices { if let c = cursors[list[j].id] { list[j].cursor = c } }
            }
            switch outcome {
            case .sent: break
            case .stalled:
                dropSubscriber(
                    reason: "too_slow",
                    message:
                        "This subscriber did not read its events for \(settings.subscriberStallSeconds) s; resume with subscribe since=<last seq seen>."
                )
                return false
            case .gone:
                shutdown(fd, Int32(SHUT_RDWR))  // the reader ends too
                return false
            }
            if !more { return true }
        }
        return false
    }

    /// How a send ended.
    private enum SendOutcome { case sent, stalled, gone }

    /// Sends event lines, whole lines at a time, without ever filling more than half the socket's
    /// send buffer, so a subscriber that stops reading still has room for the notice that closes
    /// it. Waits for the peer to read; `.stalled` when it takes nothing for the stall timeout.
    /// Returns the outcome and how many bytes (whole lines) were sent.
    private func sendEvents(_ bytes: [UInt8], lineEnds: [Int]) -> (SendOutcome, Int) {
        let half = sendBuffer.load(ordering: .relaxed) / 2
        let stall = Duration.seconds(settings.subscriberStallSeconds)
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
                    if state.isEnding { return (.gone, sent) }
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

    /// Closes a subscriber that cannot be served: one notice if the socket takes it, then the
    /// connection is cut (the reader sees the end of input and closes it).
    private func dropSubscriber(reason: String, message: String) {
        let last = subscriptions.withLock { $0.map(\.cursor).min() ?? 0 }
        services.logger.warning(
            "closing a subscriber",
            metadata: ["reason": "\(reason)", "subscriptions": "\(subscriptions.withLock { $0.count })", "last_seq_sent": "\(last)"])
        let note = Response.notification(
            method: "subscription.closed", params: ["reason": .string(reason), "message": .string(message), "last_seq_sent": .int(last)])
        writeLock.withLock { _ in sendLineNow(note, to: fd) }
        shutdown(fd, Int32(SHUT_RDWR))
    }
}

/// Where a handler's answer waits for the reader thread: set once per request, from the reader
/// itself (a read) or from the commit thread (a write).
private final class ReplySlot: @unchecked Sendable {
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

/// Sends `value` as one line if the socket has room for it now, never waiting: a last word to a
/// peer crmd is about to close (over the connection limit, a stalled subscriber).
func sendLineNow(_ value: JSON, to fd: Int32) {
    var line = JSONWriter.bytes(value)
    line.append(UInt8(ascii: "\n"))
    _ = line.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
}
