import CRMSync
import Dispatch
import Foundation
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
/// subscription's cursor when the hub says there are new ones. Both threads write whole lines
/// through one ``ConnectionSender``, under its lock, so lines never interleave.
///
/// Its parts: this file, its state and lifecycle; the request loop, reading lines and answering
/// them, batches included (Connection+Requests.swift), with the reply slot (ReplySlot.swift);
/// subscriptions and the event pump (Connection+Subscriptions.swift); the sender
/// (ConnectionSender.swift). It reaches the rest of crmd only through its ``ConnectionServices``.
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
    let services: ConnectionServices
    /// The settings in force when it was accepted.
    let settings: Settings
    let server: ConnectionRegistry
    /// Who is at the other end, as the accept thread read it from the kernel (`SO_PEERCRED`).
    let session: Session
    /// The peer's uid and whether it counts as an admin, as admitted (``ConnectionRegistry``).
    let admitted: Admission
    /// Every byte to the peer goes out through it: replies from the reader, events from the pump.
    let sender: ConnectionSender

    // The reader thread's own state.
    /// Replies not yet sent.
    var out: [UInt8] = []
    /// Subscriptions made by the line being handled: live once its reply is sent, so no event
    /// reaches the peer before the subscription's id does.
    var pendingSubscriptions: [Subscription] = []
    /// The reader's reply slot: a handler answers here, at once (a read) or from the commit
    /// thread (a write).
    let replySlot = ReplySlot()
    /// This connection's share of the buffer budget (unfinished lines and batch replies).
    let buffers: BufferAccount
    /// Of ``buffers``, what batch replies waiting in ``out`` hold: given back once sent.
    var unsentHeld = 0
    /// Whether the reader holds a permit of the registry's ``WorkGate``.
    var holdingWorkPermit = false
    /// Subscriptions of this connection counted against its uid's `subscriptions.max_per_uid`
    /// (none for an admin).
    var uidSubscriptions = 0

    // Shared between the reader and the pump.
    private let lifecycle = Atomic<State>(.open)
    let subscriptions = Locked<[Subscription]>([])
    let pumpWake = DispatchSemaphore(value: 0)
    let pumpWakePending = Atomic<Bool>(false)
    let pumpDone = DispatchSemaphore(value: 0)

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
        self.sender = ConnectionSender(fd: fd, stallSeconds: settings.subscriberStallSeconds)
    }

    // MARK: lifecycle

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
    func finish() {
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
}
