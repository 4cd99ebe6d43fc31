import CRMCore
import CRMProtocol
import CRMStore
import Logging

/// What connections use of the rest of crmd, and all of it: a connection (and the accept thread,
/// on its behalf) reaches nothing else. ``RPCServer`` makes one from its ``Dispatcher``
/// (`init(from:)` in Server.swift, the one place that reads the dispatcher's parts for them) and
/// hands it to every connection. A class, so a connection and its pump's closures hold one
/// reference to it.
final class ConnectionServices: Sendable {
    /// Subscriptions: their ids and count, the events held in memory, the pumps' gate; and the
    /// connections that listen for new events.
    let hub: Hub
    /// The event log, read by the pump behind what the hub holds.
    let store: Store
    let logger: Logger
    let stats: ServerStats
    /// The settings in force, for the accept thread: a connection keeps those it was accepted
    /// with.
    let live: LiveSettings
    /// Answers requests and says who a session is.
    private let dispatcher: Dispatcher

    init(dispatcher: Dispatcher, hub: Hub, store: Store, logger: Logger, stats: ServerStats, live: LiveSettings) {
        self.dispatcher = dispatcher
        self.hub = hub
        self.store = store
        self.logger = logger
        self.stats = stats
        self.live = live
    }

    /// Handles one request (all but `subscribe` and `unsubscribe`, which the connection answers).
    func handle(_ request: Request, session: Session, reply: @escaping Dispatcher.Reply) {
        dispatcher.handle(request, session: session, reply: reply)
    }

    /// Who a session acts as; nil when that is no active user.
    func actor(for session: Session) -> Actor? { dispatcher.actor(for: session) }

    /// Who a session is, whoever it acts as; nil when its uid is no active user.
    func realActor(for session: Session) -> Actor? { dispatcher.realActor(for: session) }

    /// The error for a session that is no active user.
    func notAUser(_ session: Session) -> RPCError { dispatcher.notAUser(session) }

    /// Whether `actor` may see the event keyed `k`.
    func visible(_ k: EventKey, to actor: Actor) -> Bool { dispatcher.visible(k, to: actor) }

    /// `subscribe`'s params: its topics (nil: all) and `since`.
    func decodeSubscribe(_ params: JSON) throws -> (topics: Set<String>?, since: Int64?) {
        try dispatcher.decodeSubscribe(params)
    }

    /// The `event` notification line for one event, newline included.
    func notificationLine(_ e: StoredEvent, subscription: Int64) -> [UInt8] {
        Dispatcher.notificationLine(e, subscription: subscription)
    }

    /// A connection closed: what it left behind (its backup copies) goes.
    func connectionClosed(_ session: Session) { dispatcher.connectionClosed(session) }
}
