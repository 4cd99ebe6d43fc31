import CRMCore
import CRMProtocol
import CRMStore
import CRMText
import Logging

/// What connections use of the rest of crmd, and all of it: a connection (and the accept thread,
/// on its behalf) reaches nothing else. ``RPCServer`` makes one from the server's context and its
/// ``Dispatcher`` and hands it to every connection. A class, so a connection and its pump's closures hold one
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
    /// Who a session is.
    private let identity: Identity
    /// Answers requests.
    private let dispatcher: Dispatcher

    init(context: ServerContext, dispatcher: Dispatcher) {
        self.dispatcher = dispatcher
        self.identity = context.identity
        self.hub = context.hub
        self.store = context.store
        self.logger = context.logger
        self.stats = context.stats
        self.live = context.live
    }

    /// Handles one request (all but `subscribe` and `unsubscribe`, which the connection answers).
    func handle(_ request: Request, session: Session, reply: @escaping Dispatcher.Reply) {
        dispatcher.handle(request, session: session, reply: reply)
    }

    /// Who a session acts as; nil when that is no active user.
    func actor(for session: Session) -> Actor? { identity.actor(for: session) }

    /// Who a session is, whoever it acts as; nil when its uid is no active user.
    func realActor(for session: Session) -> Actor? { identity.realActor(for: session) }

    /// The language to speak to a session in: its user's, else its client's, else the server's.
    func lang(for session: Session) -> Lang {
        identity.lang(for: session, fallback: live.current.settings.domain.language)
    }

    /// The error for a session that is no active user.
    func notAUser(_ session: Session) -> RPCError { identity.notAUser(session) }

    /// Whether `actor` may see the event keyed `k`.
    func visible(_ k: EventKey, to actor: Actor) -> Bool { hub.visible(k, to: actor) }

    /// `subscribe`'s params: its topics (nil: all) and `since`.
    func decodeSubscribe(_ params: JSON) throws -> (topics: Set<String>?, since: Int64?) {
        try hub.decodeSubscribe(params)
    }

    /// The `event` notification line for one event, newline included.
    func notificationLine(_ e: StoredEvent, subscription: Int64) -> [UInt8] {
        Hub.notificationLine(e, subscription: subscription)
    }

    /// A connection closed: what it left behind (its backup copies) goes.
    func connectionClosed(_ session: Session) { dispatcher.connectionClosed(session) }
}
