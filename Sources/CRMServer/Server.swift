import CRMFraming
import CRMStore
import Foundation
public import Logging
import NIOCore
import NIOPosix
public import ServiceLifecycle
import Synchronization

/// The Unix-socket listener as a Service: it serves until graceful shutdown, then stops
/// accepting, lets in-flight requests finish and their writes commit, and returns.
public final class RPCServer: Service, Sendable {
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel
    private let dispatcher: Dispatcher
    private let logger: Logger
    /// The socket path it listens on.
    public let socketPath: String

    /// Where the listening socket came from.
    public enum Listener: Sendable {
        /// Bind `settings.socketPath` (replacing a stale socket file, refusing a live one).
        case bind
        /// Adopt a listening socket passed by systemd (socket activation); crmd neither creates
        /// nor removes its file.
        case inherited(fd: Int32)
    }

    /// Binds the socket (or adopts one from systemd) and starts accepting. Settings that shape a
    /// connection (line cap, idle timeout, connection limit, subscriber queue) are read from the
    /// settings in force when it is accepted, so a reload applies to new connections.
    public init(dispatcher: Dispatcher, listener: Listener = .bind, logger: Logger) throws {
        self.dispatcher = dispatcher
        self.logger = logger
        let settings = dispatcher.settings
        self.socketPath = settings.socketPath
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, System.coreCount))
        self.group = group
        let counter = Atomic<Int>(0)
        let live = dispatcher.live
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .childChannelOption(.autoRead, value: true)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let s = live.current.settings
                    let id = counter.wrappingAdd(1, ordering: .relaxed).newValue
                    let queue = s.subscriberQueueBytes
                    try channel.syncOptions?.setOption(
                        .writeBufferWaterMark, value: .init(low: min(32 * 1024, queue / 2), high: queue))
                    if s.idleTimeoutSeconds > 0 {
                        try channel.pipeline.syncOperations.addHandler(
                            IdleStateHandler(readTimeout: .seconds(Int64(s.idleTimeoutSeconds))))
                    }
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineFrameDecoder(maxLength: s.maxLineBytes)))
                    try channel.pipeline.syncOperations.addHandler(
                        ConnectionHandler(dispatcher: dispatcher, connectionID: id, maxConnections: s.maxConnections))
                }
            }
        do {
            switch listener {
            case .inherited(let fd):
                channel = try bootstrap.withBoundSocket(fd).wait()
            case .bind:
                try prepareSocketPath(settings.socketPath)
                channel = try bootstrap.bind(unixDomainSocketPath: settings.socketPath).wait()
                chmod(settings.socketPath, mode_t(settings.socketMode))
            }
        } catch let e as StartupError {
            try? group.syncShutdownGracefully()
            throw e
        } catch {
            try? group.syncShutdownGracefully()
            throw StartupError("cannot listen on \(settings.socketPath): \(error)")
        }
    }

    public func run() async throws {
        let channel = self.channel
        try await withGracefulShutdownHandler {
            try await channel.closeFuture.get()
        } onGracefulShutdown: {
            channel.close(promise: nil)
        }
        logger.info("listener closed; finishing in-flight requests")
        // In-flight writes finish and reply before the connections go.
        dispatcher.store.waitForPendingWrites()
        try await Task.sleep(for: .milliseconds(50))
        try await group.shutdownGracefully()
    }
}
