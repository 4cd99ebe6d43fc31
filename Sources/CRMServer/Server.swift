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

    /// Binds the socket (or adopts `fd` from systemd) and starts accepting.
    public init(dispatcher: Dispatcher, settings: Settings, inheritedFD: Int32? = nil, logger: Logger) throws {
        self.dispatcher = dispatcher
        self.logger = logger
        self.socketPath = settings.socketPath
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, System.coreCount))
        self.group = group
        let counter = Atomic<Int>(0)
        let maxLine = settings.maxLineBytes
        let maxConnections = settings.maxConnections
        let idle = settings.idleTimeoutSeconds
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .childChannelOption(.autoRead, value: true)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelOption(
                .writeBufferWaterMark,
                value: .init(low: min(32 * 1024, settings.subscriberQueueBytes / 2), high: settings.subscriberQueueBytes)
            )
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let id = counter.wrappingAdd(1, ordering: .relaxed).newValue
                    if idle > 0 {
                        try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: .seconds(Int64(idle))))
                    }
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineFrameDecoder(maxLength: maxLine)))
                    try channel.pipeline.syncOperations.addHandler(
                        ConnectionHandler(dispatcher: dispatcher, connectionID: id, maxConnections: maxConnections))
                }
            }
        do {
            if let fd = inheritedFD {
                channel = try bootstrap.withBoundSocket(fd).wait()
            } else {
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
