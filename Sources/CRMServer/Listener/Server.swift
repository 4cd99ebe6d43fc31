import CRMCore
import CRMProtocol
import CRMStore
import CRMSync
import CRMText
import Dispatch
import Foundation
public import Logging
public import ServiceLifecycle

/// The Unix-socket listener as a Service: an accept thread hands each connection to a thread of
/// its own (``ClientConnection``). On graceful shutdown it stops accepting, ends every
/// connection's input so in-flight requests finish and their writes commit and are answered, and
/// returns once the connections have closed.
public final class RPCServer: Service, Sendable {
    private let listenFD: Int32
    /// Written to wake the accept thread when crmd stops.
    private let wakePipe: (read: Int32, write: Int32)
    private let registry: ConnectionRegistry
    private let accepting = DispatchSemaphore(value: 0)
    /// What the accept thread and the connections use of the rest of crmd.
    private let services: ConnectionServices
    private let logger: Logger
    /// The socket path it listens on.
    public let socketPath: String
    /// The device and inode of the socket file crmd bound (nil for one passed by systemd): at
    /// shutdown crmd removes the file at ``socketPath`` only if it is still this one.
    private let boundSocket: (dev: UInt64, ino: UInt64)?
    /// How many refused connections may wait to close (``Lingering``).
    private let lingeringLimit: Int

    /// Where the listening socket came from.
    public enum Listener: Sendable {
        /// Bind `settings.socketPath` (replacing a stale socket file, refusing a live one).
        case bind
        /// Adopt a listening socket passed by systemd (socket activation); crmd neither creates
        /// nor removes its file.
        case inherited(fd: Int32)
    }

    /// A connection's thread: its stack is reserved, not used; a request needs a few dozen KiB.
    static let connectionStackBytes = 2 << 20

    /// Binds the socket (or adopts one from systemd); accepting starts in ``run()``, once the
    /// service group has trapped SIGTERM: a connection served before that could see crmd die of a
    /// SIGTERM meant to stop it gracefully. Until then connections wait in the backlog. Settings that shape a
    /// connection (line cap, idle timeout, connection limit, stall timeout) are read from the
    /// settings in force when it is accepted, so a reload applies to new connections.
    public init(context: ServerContext, dispatcher: Dispatcher, listener: Listener = .bind, logger: Logger) throws {
        let services = ConnectionServices(context: context, dispatcher: dispatcher)
        self.services = services
        self.logger = logger
        let settings = services.live.current.settings
        self.socketPath = settings.socketPath
        switch listener {
        case .inherited(let fd):
            listenFD = fd
            boundSocket = nil
        case .bind:
            try prepareSocketPath(settings.socketPath, privateFolder: DefaultPaths.privateSocketFolder())
            listenFD = try bindUnixSocket(settings.socketPath, backlog: 1024)
            chmod(settings.socketPath, mode_t(settings.socketMode))
            boundSocket = (try? Posix.lstat(settings.socketPath)).map { (UInt64($0.st_dev), UInt64($0.st_ino)) }
        }
        // The accept thread waits in poll; a connection that goes away before accept must not
        // block it.
        _ = fcntl(listenFD, F_SETFL, fcntl(listenFD, F_GETFL) | O_NONBLOCK)
        do throws(PosixError) {
            wakePipe = try Posix.pipe()
        } catch {
            close(listenFD)
            throw StartupError("cannot create a pipe for the listener: \(error.message)")
        }
        let shares = DescriptorShares.now()
        warnIfDescriptorsShort(shares.connections, settings: settings, logger: logger)
        registry = ConnectionRegistry(descriptors: shares.connections)
        lingeringLimit = shares.lingering
    }

    /// Removes the socket file crmd bound, if the path still holds it (same device and inode):
    /// whatever else was put there since is not crmd's to delete. A socket passed by systemd
    /// belongs to crmd.socket and stays.
    public func removeSocketFile() {
        guard let bound = boundSocket, let st = try? Posix.lstat(socketPath) else { return }
        guard UInt64(st.st_dev) == bound.dev, UInt64(st.st_ino) == bound.ino else {
            logger.warning(
                "left the file at the socket path in place: it is not the socket crmd created", metadata: ["path": "\(socketPath)"])
            return
        }
        unlink(socketPath)
    }

    public func run() async throws {
        let (fd, wake, registry, accepting, services, logger) = (listenFD, wakePipe.read, registry, accepting, services, logger)
        let lingeringLimit = lingeringLimit
        do throws(PosixError) {
            try Posix.startThread(name: "crmd-accept", stackBytes: 1 << 20) {
                Self.acceptLoop(fd: fd, wake: wake, services: services, registry: registry, lingeringLimit: lingeringLimit, logger: logger)
                accepting.signal()
            }
        } catch {
            close(listenFD)
            close(wakePipe.read)
            close(wakePipe.write)
            throw StartupError("cannot start the listener thread")
        }
        // Until crmd stops (or this task is cancelled): then the accept thread is woken and ends.
        try? await gracefulShutdown()
        var byte: UInt8 = 1
        _ = write(wakePipe.write, &byte, 1)
        await Self.background { self.accepting.wait() }
        close(listenFD)
        close(wakePipe.read)
        close(wakePipe.write)
        logger.info("listener closed; finishing in-flight requests")
        // Input ends on every connection: each answers what it has read, its writes commit, and
        // it closes. A peer that does not take its replies is cut after a few seconds.
        registry.endInput()
        let finished = await Self.background { self.registry.waitUntilEmpty(seconds: 5) }
        if !finished {
            registry.cutAll()
            _ = await Self.background { self.registry.waitUntilEmpty(seconds: 5) }
        }
        services.store.waitForPendingWrites()
    }

    /// Runs a blocking wait on a thread outside the cooperative pool.
    private static func background<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { c in
            DispatchQueue.global().async { c.resume(returning: body()) }
        }
    }

    private static func acceptLoop(
        fd: Int32, wake: Int32, services: ConnectionServices, registry: ConnectionRegistry, lingeringLimit: Int, logger: Logger
    ) {
        var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: wake, events: Int16(POLLIN), revents: 0)]
        var nextID = 0
        var lingering = Lingering(limit: lingeringLimit)
        var refusals = RefusalLog()
        var spare = SpareDescriptor()
        defer {
            lingering.closeAll()
            spare.close()
        }
        while true {
            fds[0].revents = 0
            fds[1].revents = 0
            lingering.closeExpired()
            do throws(PosixError) {
                try Posix.poll(&fds, timeoutMS: lingering.timeoutMS)
            } catch {
                if error.interrupted { continue }
                logger.critical("the listener cannot poll its socket", metadata: ["error": "\(error.message)"])
                return
            }
            if fds[1].revents != 0 { return }
            let c: Int32
            do throws(PosixError) {
                c = try Posix.accept(fd)
            } catch {
                let e = error.errno
                if error.interrupted || error.wouldBlock || e == ECONNABORTED { continue }
                if e == EMFILE || e == ENFILE {
                    // Out of descriptors (something besides connections took them): the spare one
                    // lets the peer waiting first be told so rather than wait in the backlog.
                    if let uid = spare.refuseOne(listener: fd, lang: services.live.current.settings.domain.language) {
                        refusals.note("out_of_descriptors", uid: uid, logger: logger)
                    } else {
                        // Not even the spare: the peer waits in the backlog until one is free.
                        refusals.note("out_of_descriptors_unanswered", uid: UInt32.max, logger: logger)
                        usleep(100_000)
                    }
                    continue
                }
                if e == ENOBUFS || e == ENOMEM {
                    refusals.note("out_of_memory", uid: 0, logger: logger)
                    usleep(100_000)  // the shortage stands until memory is freed
                    continue
                }
                if fds[0].revents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0 { return }
                logger.error("cannot accept a connection", metadata: ["error": "\(error.message)"])
                continue
            }
            let settings = services.live.current.settings
            nextID += 1
            // Who it is decides whether it gets in: the kernel's word (SO_PEERCRED), at accept,
            // before any thread is spent on it.
            let cred: PeerCredentials
            do throws(PosixError) {
                cred = try Posix.peerCredentials(c)
            } catch {
                logger.warning("cannot read peer credentials; closing", metadata: ["error": "\(error.message)"])
                close(c)
                continue
            }
            let session = Session(id: nextID, uid: cred.uid, pid: cred.pid)
            guard let real = services.realActor(for: session) else {
                // An unknown uid: told so and closed, holding no thread (issue 15 §2).
                refusals.note("unknown uid", uid: cred.uid, logger: logger)
                sendLineNow(Response.failure(id: .null, error: services.notAUser(session), lang: services.lang(for: session)), to: c)
                lingering.add(c)
                continue
            }
            let admission = Admission(uid: cred.uid, admin: Access.isServedAsAdmin(real))
            if let refusal = registry.admit(admission, settings: settings) {
                refusals.note(refusal.reason, uid: cred.uid, logger: logger)
                sendLineNow(Response.failure(id: .null, error: refusal.error, lang: services.lang(for: session)), to: c)
                lingering.add(c)
                continue
            }
            _ = services.stats.connectionOpened()
            let connection = ClientConnection(
                fd: c, id: nextID, session: session, services: services, settings: settings, server: registry, admitted: admission)
            registry.add(connection)
            do throws(PosixError) {
                try Posix.startThread(name: "crmd-conn", stackBytes: connectionStackBytes) { connection.run() }
            } catch {
                logger.error("cannot start a thread for a new connection; refusing it")
                registry.remove(connection)
                registry.release(admission)
                services.stats.connectionClosed()
                let refusal = Refusal.unavailable("no_thread", "crmd cannot start a thread for this connection; retry later.")
                sendLineNow(Response.failure(id: .null, error: refusal.error, lang: services.lang(for: session)), to: c)
                lingering.add(c)
            }
        }
    }
}

/// Creates, binds and listens on a Unix stream socket at `path`.
private func bindUnixSocket(_ path: String, backlog: Int32) throws -> Int32 {
    let fd: Int32
    do throws(PosixError) {
        fd = try Posix.unixSocket(Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
    } catch {
        throw StartupError("cannot listen on \(path): \(error)")
    }
    do throws(PosixError) {
        try Posix.bind(fd, to: path)
        try Posix.listen(fd, backlog: backlog)
    } catch {
        close(fd)
        throw StartupError("cannot listen on \(path): \(error.message)")
    }
    return fd
}

/// Refused connections, told why and closed a moment later, without a thread: the refusal is
/// sent and our side shut for writing, so the peer's request (already on its way) does not meet
/// a closed socket (EPIPE) before it reads why. At most ``limit`` wait (256, or fewer when
/// descriptors are short: ``DescriptorShares``); past that the oldest is closed at once. Only the
/// accept thread uses it.
struct Lingering {
    let limit: Int
    static let seconds = 1.0

    init(limit: Int) { self.limit = limit }
    private var waiting: [(fd: Int32, until: ContinuousClock.Instant)] = []

    mutating func add(_ fd: Int32) {
        shutdown(fd, Int32(SHUT_WR))
        if waiting.count >= limit { close(waiting.removeFirst().fd) }
        waiting.append((fd, .now + .seconds(Self.seconds)))
    }

    mutating func closeExpired() {
        let now = ContinuousClock.now
        while let first = waiting.first, first.until <= now {
            close(first.fd)
            waiting.removeFirst()
        }
    }

    /// How long the accept thread may wait in poll: until the first refused socket is due.
    var timeoutMS: Int32 {
        guard let first = waiting.first else { return -1 }
        let left = ContinuousClock.now.duration(to: first.until)
        return Int32(max(1, min(1000, left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1)))
    }

    mutating func closeAll() {
        for w in waiting { close(w.fd) }
        waiting.removeAll()
    }
}

/// One descriptor kept open (on /dev/null) for the moment crmd has no other: given up to accept
/// the next connection, tell it `1009` and close it, then taken again. Without it a peer waits in
/// the listen backlog with no answer while the limit stands. Only the accept thread uses it.
struct SpareDescriptor {
    private var fd = Self.take()

    private static func take() -> Int32 { open("/dev/null", O_RDONLY | O_CLOEXEC) }

    /// Accepts one connection with the spare and refuses it, returning its uid; nil if there was
    /// nothing to do it with (the spare could not be taken back) or nobody waiting.
    mutating func refuseOne(listener: Int32, lang: Lang) -> UInt32? {
        guard fd >= 0 else {
            fd = Self.take()
            return nil
        }
        Glibc.close(fd)
        fd = -1
        var uid: UInt32? = nil
        if let c = try? Posix.accept(listener) {
            uid = (try? Posix.peerCredentials(c))?.uid ?? UInt32.max
            let refusal = Refusal.unavailable(
                "out_of_descriptors",
                "crmd has run out of file descriptors (its open-file limit); retry later. An administrator should raise LimitNOFILE.")
            sendLineNow(Response.failure(id: .null, error: refusal.error, lang: lang), to: c)
            shutdown(c, Int32(SHUT_WR))
            Glibc.close(c)
        }
        fd = Self.take()
        return uid
    }

    mutating func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }
}

/// Logs refused connections without letting a flood of them flood the journal: the first of a
/// kind at once, then at most one line a second with how many more there were.
struct RefusalLog {
    private var last: [String: (at: ContinuousClock.Instant, suppressed: Int)] = [:]

    mutating func note(_ reason: String, uid: UInt32, logger: Logger) {
        let now = ContinuousClock.now
        if let l = last[reason], l.at.duration(to: now) < .seconds(1) {
            last[reason] = (l.at, l.suppressed + 1)
            return
        }
        let more = last[reason]?.suppressed ?? 0
        last[reason] = (now, 0)
        logger.warning(
            "refused a connection", metadata: ["reason": "\(reason)", "uid": "\(uid)", "refused_since_last_line": "\(more)"])
    }
}
