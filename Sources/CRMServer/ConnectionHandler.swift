import CRMCore
import CRMProtocol
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
    private var session: Session?
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
    private var closing = false
    private var counted = false
    private static let maxQueued = 1024

    init(dispatcher: Dispatcher, connectionID: Int, maxConnections: Int) {
        self.dispatcher = dispatcher
        self.connectionID = connectionID
        self.maxConnections = maxConnections
    }

    func channelActive(context: ChannelHandlerContext) {
        counted = true
        let open = dispatcher.stats.connectionOpened()
        if open > maxConnections {
            let err = RPCError(
                code: ErrorCode.unavailable,
                message: "crmd is at its limit of \(maxConnections) connections (server.max_connections); retry later.",
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
        if counted { dispatcher.stats.connectionClosed() }
        counted = false
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
        if event is IdleStateHandler.IdleStateEvent, !busy, queue.isEmpty {
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

    private func send(_ value: JSON, context: ChannelHandlerContext, flush: Bool) {
        var bytes = JSONWriter.bytes(value)
        bytes.append(UInt8(ascii: "\n"))
        var buf = context.channel.allocator.buffer(capacity: bytes.count)
        buf.writeBytes(bytes)
        if flush {
            context.writeAndFlush(wrapOutboundOut(buf), promise: nil)
        } else {
            context.write(wrapOutboundOut(buf), promise: nil)
        }
    }

    /// Handles queued lines until one must wait for a commit.
    private func drain(context: ChannelHandlerContext) {
        guard let session, !busy else { return }
        while !busy, !closing, let item = queue.popFirst() {
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
    private final class ReplySlot: Sendable {
        enum State { case waiting, returned, done(Result<JSON, RPCError>) }
        let state = Mutex<State>(.waiting)
    }

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
            let slot = ReplySlot()
            let loop = context.eventLoop
            let bound = NIOLoopBound((self, context, job), eventLoop: loop)
            dispatcher.handle(request, session: session) { result in
                let later: Bool = slot.state.withLock { state in
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
            let immediate: Result<JSON, RPCError>? = slot.state.withLock { state in
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
