import CRMCore
import CRMFraming
import CRMProtocol
import CRMStore
import CRMSync
import Foundation
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// One client connection: reads lines, answers each in order, keeps going after bad input.
///
/// Lines are handled strictly in order. Reads answer at once on the event loop; a write is queued
/// for group commit and the lines behind it wait until its reply is written, so a pipelining
/// client sees its own writes in order. When too many lines wait, reading pauses (backpressure).
final class ConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let dispatcher: Dispatcher
    private let connectionID: Int
    private let maxConnections: Int
    fileprivate var session: Session?
    /// What waits to be handled, in arrival order.
    private enum Item {
        case line(ByteBuffer)
        /// A line over the limit: answered in its turn, after the requests before it.
        case tooLong(limit: Int)
    }
    private var queue = CircularBuffer<Item>()
    private var inputClosed = false
    private var busy = false
    private var paused = false
    fileprivate var closing = false
    private var counted = false
    private static let maxQueued = 1024
    /// This connection's subscriptions and the hub registration that wakes them.
    private var subscriptions: [Subscription] = []
    private var listener: ConnectionListener?
    private var context: ChannelHandlerContext?
    private var stalledSince: Date?
    private static let pageSize = 256
    /// Events held in memory looked at per subscription and pump (most are other managers').
    private static let scanSize = 4_096
    private var stallLimit: TimeAmount { .seconds(Int64(dispatcher.settings.subscriberStallSeconds)) }

    init(dispatcher: Dispatcher, connectionID: Int, maxConnections: Int) {
        self.dispatcher = dispatcher
        self.connectionID = connectionID
        self.maxConnections = maxConnections
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        counted = true
        let open = dispatcher.stats.connectionOpened()
        if open > maxConnections {
            let err = RPCError(
                code: ErrorCode.unavailable,
                message: "crmd is at its connection limit (server.max_connections = \(maxConnections)); retry later.",
                data: ["reason": "too_many_connections", "limit": .int(maxConnections)])
            send(Response.failure(id: .null, error: err), context: context, flush: true)
            closing = true
            context.close(promise: nil)
            return
        }
        let loop = context.eventLoop
        let bound = NIOLoopBound((self, context), eventLoop: loop)
        peerCredentials(context.channel).hop(to: loop).whenComplete { result in
            let (me, ctx) = bound.value
            switch result {
            case .success(let cred):
                me.session = Session(id: me.connectionID, uid: cred.uid, pid: cred.pid)
                me.dispatcher.logger.debug("connection", metadata: ["uid": "\(cred.uid)", "pid": "\(cred.pid)"])
                me.drain(context: ctx)
            case .failure(let error):
                me.dispatcher.logger.warning("cannot read peer credentials; closing", metadata: ["error": "\(error)"])
                ctx.close(promise: nil)
            }
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let listener {
            dispatcher.hub.remove(listener)
            self.listener = nil
        }
        if !subscriptions.isEmpty {
            dispatcher.hub.subscriptionClosed(subscriptions.count)
            subscriptions.removeAll()
        }
        if counted { dispatcher.stats.connectionClosed() }
        counted = false
        if let session { dispatcher.connectionClosed(session) }
        closing = true
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        queue.append(.line(unwrapInboundIn(data)))
        if queue.count >= Self.maxQueued, !paused {
            paused = true
            context.channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in }
        }
        drain(context: context)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, stalledSince != nil {
            stalledSince = nil
            pump()
        }
        // Replies waiting for a peer that reads slowly hold the queue; it moves on when they drain.
        if context.channel.isWritable { drain(context: context) }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if closing { return }  // already on the way out: further input is dropped
        if let tooLong = error as? LineTooLongError {
            queue.append(.tooLong(limit: tooLong.limit))
            drain(context: context)
            return
        }
        if error is ByteToMessageDecoderError {
            return  // input after an over-long line, while its turn comes: dropped
        }
        if let io = error as? IOError, io.errnoCode == ECONNRESET || io.errnoCode == EPIPE {
            // The peer went away; nothing to tell it.
        } else {
            dispatcher.logger.debug("connection error", metadata: ["error": "\(error)"])
        }
        closing = true
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            // The peer sent all it will send (shutdown(SHUT_WR), `socat -`): answer what is
            // queued, then close.
            inputClosed = true
            drain(context: context)
            return
        }
        if event is IdleStateHandler.IdleStateEvent, !busy, queue.isEmpty, subscriptions.isEmpty {
            let note = Response.notification(
                method: "server.closing",
                params: ["reason": "idle_timeout", "message": "Closed after the idle timeout (server.idle_timeout)."])
            send(note, context: context, flush: true)
            closing = true
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    // MARK: processing

    fileprivate func encode(_ value: JSON, allocator: ByteBufferAllocator) -> ByteBuffer {
        var bytes = JSONWriter.bytes(value)
        bytes.append(UInt8(ascii: "\n"))
        var buf = allocator.buffer(capacity: bytes.count)
        buf.writeBytes(bytes)
        return buf
    }

    /// Writes a ready line (newline included) without flushing.
    fileprivate func sendLine(_ bytes: [UInt8], context: ChannelHandlerContext) {
        var buf = context.channel.allocator.buffer(capacity: bytes.count)
        buf.writeBytes(bytes)
        context.write(wrapOutboundOut(buf), promise: nil)
    }

    fileprivate func send(_ value: JSON, context: ChannelHandlerContext, flush: Bool) {
        let buf = encode(value, allocator: context.channel.allocator)
        if flush {
            context.writeAndFlush(wrapOutboundOut(buf), promise: nil)
        } else {
            context.write(wrapOutboundOut(buf), promise: nil)
        }
    }

    /// Handles queued lines until one must wait for a commit, or until the peer stops reading its
    /// replies (the outbound buffer is past its high-water mark): then the queue fills, reading
    /// pauses, and the peer's own writes block — its backlog lives in the kernel and in its own
    /// process, never unbounded in crmd.
    private func drain(context: ChannelHandlerContext) {
        guard let session, !busy else { return }
        while !busy, !closing, context.channel.isWritable, let item = queue.popFirst() {
            switch item {
            case .line(let line):
                start(line: line, session: session, context: context)
            case .tooLong(let limit):
                let err = RPCError(
                    code: ErrorCode.invalidRequest,
                    message: "Line longer than \(limit) bytes (protocol.max_line_bytes); the connection is closed.",
                    data: ["reason": "line_too_long", "limit": .int(limit)])
                send(Response.failure(id: .null, error: err), context: context, flush: true)
                closing = true
                queue.removeAll()
                // Close our side only, so the reply is not lost to a reset while the peer is still
                // sending; the peer's close (or a short grace period) ends the connection.
                context.close(mode: .output, promise: nil)
                let channel = context.channel
                channel.eventLoop.scheduleTask(in: .seconds(5)) { channel.close(promise: nil) }
                return
            }
        }
        if inputClosed, !busy, queue.isEmpty, !closing {
            closing = true
            context.flush()
            context.close(promise: nil)
            return
        }
        if paused, queue.count < Self.maxQueued / 2, !closing {
            paused = false
            context.channel.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in }
            context.read()
        }
    }

    /// Work on one line: its requests (one, or a batch) and the replies gathered so far.
    private final class LineJob {
        let items: [JSON]
        let isBatch: Bool
        var index = 0
        var replies: [JSON] = []
        init(items: [JSON], isBatch: Bool) {
            self.items = items
            self.isBatch = isBatch
        }
    }

    private func start(line: ByteBuffer, session: Session, context: ChannelHandlerContext) {
        if line.readableBytes == 0 || line.readableBytesView.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return }
        let parsed: Result<JSON, JSONParseError> = line.withUnsafeReadableBytes { raw in
            do throws(JSONParseError) {
                return .success(try JSONParser.parse(buffer: raw))
            } catch {
                return .failure(error)
            }
        }
        switch parsed {
        case .failure(let e):
            let err = RPCError(
                code: ErrorCode.parseError, message: "Parse error: \(e.message) at byte \(e.offset). Send one JSON-RPC object per line.",
                data: ["reason": "parse_error", "offset": .int(e.offset)])
            send(Response.failure(id: .null, error: err), context: context, flush: false)
        case .success(.array(let items)):
            if items.isEmpty {
                let err = RPCError(code: ErrorCode.invalidRequest, message: "An empty batch is not a request.")
                send(Response.failure(id: .null, error: err), context: context, flush: false)
                return
            }
            advance(LineJob(items: items, isBatch: true), session: session, context: context)
        case .success(let value):
            advance(LineJob(items: [value], isBatch: false), session: session, context: context)
        }
    }

    /// How a reply came back: during `handle` (a read) or later from the commit thread (a write).
    private enum ReplyState { case waiting, returned, done(Result<JSON, RPCError>) }

    private func advance(_ job: LineJob, session: Session, context: ChannelHandlerContext) {
        while job.index < job.items.count {
            let item = job.items[job.index]
            job.index += 1
            let request: Request
            switch Request.decode(item) {
            case .failure(let f):
                job.replies.append(Response.failure(id: f.id, error: f.error))
                continue
            case .success(let r):
                request = r
            }
            if request.method == "subscribe" || request.method == "unsubscribe" {
                record(request: request, result: subscriptionRequest(request, session: session), job: job)
                continue
            }
            let slot = Locked<ReplyState>(.waiting)
            let loop = context.eventLoop
            let bound = NIOLoopBound((self, context, job), eventLoop: loop)
            dispatcher.handle(request, session: session) { result in
                let later: Bool = slot.withLock { state in
                    if case .waiting = state {
                        state = .done(result)
                        return false
                    }
                    return true
                }
                if later {
                    loop.execute {
                        let (me, ctx, job) = bound.value
                        me.finish(request: request, result: result, job: job, session: session, context: ctx)
                    }
                }
            }
            let immediate: Result<JSON, RPCError>? = slot.withLock { state in
                if case .done(let r) = state { return r }
                state = .returned
                return nil
            }
            guard let immediate else {
                busy = true
                return
            }
            record(request: request, result: immediate, job: job)
        }
        complete(job, context: context, flush: false)
    }

    private func record(request: Request, result: Result<JSON, RPCError>, job: LineJob) {
        guard let id = request.id else { return }  // a notification gets no reply
        switch result {
        case .success(let json): job.replies.append(Response.success(id: id, result: json))
        case .failure(let e): job.replies.append(Response.failure(id: id, error: e))
        }
    }

    private func finish(request: Request, result: Result<JSON, RPCError>, job: LineJob, session: Session, context: ChannelHandlerContext) {
        busy = false
        record(request: request, result: result, job: job)
        guard context.channel.isActive else { return }
        advance(job, session: session, context: context)
        if !busy {
            context.flush()
            drain(context: context)
            context.flush()
        }
    }

    private func complete(_ job: LineJob, context: ChannelHandlerContext, flush: Bool) {
        if job.isBatch {
            if !job.replies.isEmpty { send(.array(job.replies), context: context, flush: flush) }
        } else if let reply = job.replies.first {
            send(reply, context: context, flush: flush)
        }
    }
}

extension ConnectionHandler {
    /// `subscribe` and `unsubscribe` live here: a subscription belongs to its connection.
    fileprivate func subscriptionRequest(_ request: Request, session: Session) -> Result<JSON, RPCError> {
        guard dispatcher.actor(for: session) != nil else { return .failure(dispatcher.notAUser(session)) }
        dispatcher.stats.request()
        do {
            if request.method == "unsubscribe" {
                var r = ParamReader(request.params)
                let id = r.int("subscription")
                try r.finish()
                guard let i = subscriptions.firstIndex(where: { $0.id == id }) else {
                    throw DomainError(.notFound, "This connection has no subscription \(id).", details: [("subscription", .int(id))])
                }
                subscriptions.remove(at: i)
                dispatcher.hub.subscriptionClosed()
                return .success(.object(JSONObject()))
            }
            let (topics, since) = try dispatcher.decodeSubscribe(request.params)
            let last = try dispatcher.store.read { try $0.lastSeq() }
            let id = dispatcher.hub.newSubscriptionID()
            subscriptions.append(Subscription(id: id, topics: topics, cursor: min(since ?? last, last)))
            dispatcher.hub.subscriptionOpened()
            if listener == nil, let context {
                let l = ConnectionListener(loop: context.eventLoop, handler: NIOLoopBound(self, eventLoop: context.eventLoop))
                listener = l
                dispatcher.hub.add(l)
            }
            // Replay (if `since` is behind) right after this reply goes out.
            if let context {
                let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
                context.eventLoop.execute { bound.value.pump() }
            }
            return .success(["subscription": .int(id), "seq": .int(last)])
        } catch let e as RPCError {
            return .failure(e)
        } catch let e as DomainError {
            return .failure(e.rpc)
        } catch {
            return .failure(RPCError(code: ErrorCode.internalError, message: "Could not read the event log: \(error)"))
        }
    }

    /// Sends every event after each subscription's cursor that it wants and may see, a page at
    /// a time, while the socket accepts data. A subscriber that stays unwritable past the stall
    /// limit gets one final notice and is closed; it can resume with `since`.
    func pump() {
        guard let context, !subscriptions.isEmpty, !closing, context.channel.isActive else { return }
        guard context.channel.isWritable else {
            if stalledSince == nil {
                stalledSince = Date()
                let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
                context.eventLoop.scheduleTask(in: stallLimit) { bound.value.checkStall() }
            }
            return
        }
        guard let session, let actor = dispatcher.actor(for: session) else {
            dropSubscriber(reason: "not_a_user", message: "This connection's user is no longer active.")
            return
        }
        var more = false
        for i in subscriptions.indices {
            let sub = subscriptions[i]
            // Visibility first: for a manager it is two integer compares that drop most events.
            let wanted = { [dispatcher] (k: EventKey) in dispatcher.visible(k, to: actor) && k.topic & sub.topics != 0 }
            // Live: from the events held in memory. Behind them (a replay, a slow reader): from
            // the store.
            let page: (events: [StoredEvent], cursor: Int64, more: Bool)
            if let held = dispatcher.hub.recent.scan(after: sub.cursor, maxScan: Self.scanSize, maxMatch: Self.pageSize, wanted) {
                page = held
            } else {
                let narrow = actor.role == .manager ? actor.userID : nil
                guard
                    let events = try? dispatcher.store.read({ tx in
                        if let me = narrow { return try tx.events(after: sub.cursor, visibleTo: me, limit: Self.pageSize) }
                        return try tx.events(after: sub.cursor, limit: Self.pageSize)
                    })
                else { continue }
                // A page may end early on the filtered query; the cursor still moves to what was read.
                page = (events.filter { wanted(EventKey($0)) }, events.last?.seq ?? sub.cursor, events.count == Self.pageSize)
            }
            for e in page.events { sendLine(Dispatcher.notificationLine(e, subscription: sub.id), context: context) }
            subscriptions[i].cursor = page.cursor
            if page.more { more = true }
        }
        context.flush()
        if more {
            let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
            context.eventLoop.execute { bound.value.pump() }
        }
    }

    func checkStall() {
        guard let since = stalledSince, let context, context.channel.isActive else { return }
        if context.channel.isWritable {
            stalledSince = nil
            pump()
        } else if Date().timeIntervalSince(since) >= Double(dispatcher.settings.subscriberStallSeconds) - 0.5 {
            dropSubscriber(
                reason: "too_slow",
                message:
                    "This subscriber did not read its events for \(dispatcher.settings.subscriberStallSeconds) s; resume with subscribe since=<last seq seen>."
            )
        }
    }

    private func dropSubscriber(reason: String, message: String) {
        guard let context else { return }
        let last = subscriptions.map(\.cursor).min() ?? 0
        let note = Response.notification(
            method: "subscription.closed", params: ["reason": .string(reason), "message": .string(message), "last_seq_sent": .int(last)])
        closing = true
        dispatcher.logger.warning(
            "closing a subscriber",
            metadata: ["reason": "\(reason)", "subscriptions": "\(subscriptions.count)", "last_seq_sent": "\(last)"])
        // The notice queues behind what the subscriber has not read; it gets a few seconds to
        // take it, then the connection is cut regardless.
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(encode(note, allocator: channel.allocator))).whenComplete { _ in
            channel.close(promise: nil)
        }
        channel.eventLoop.scheduleTask(in: .seconds(5)) { channel.close(promise: nil) }
    }
}

/// Wakes one connection's subscriptions from the hub, at most once per event-loop turn.
final class ConnectionListener: EventListener {
    let loop: any EventLoop
    let handler: NIOLoopBound<ConnectionHandler>
    private let scheduled = Atomic<Bool>(false)

    init(loop: any EventLoop, handler: NIOLoopBound<ConnectionHandler>) {
        self.loop = loop
        self.handler = handler
    }

    func eventsRecorded() {
        guard !scheduled.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let handler = self.handler
        loop.execute {
            self.scheduled.store(false, ordering: .releasing)
            handler.value.pump()
        }
    }
}

/// The uid and pid of the process at the other end of a Unix socket, from the kernel.
struct PeerCredentials: Sendable {
    var pid: Int32
    var uid: UInt32
    var gid: UInt32
}

func peerCredentials(_ channel: any Channel) -> EventLoopFuture<PeerCredentials> {
    guard let provider = channel as? any SocketOptionProvider else {
        return channel.eventLoop.makeFailedFuture(IOError(errnoCode: ENOTSUP, reason: "no socket options"))
    }
    // `struct ucred` (pid, uid, gid) is hidden behind _GNU_SOURCE in Glibc's Swift overlay;
    // PeerCredentials has the same layout.
    let soPeerCred: Int32 = 17
    return provider.unsafeGetSocketOption(level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(soPeerCred))
}
