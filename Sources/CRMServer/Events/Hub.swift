import CRMCore
import CRMProtocol
import CRMStore
import CRMSync
import Foundation
import Synchronization

/// Something that wants to hear that new events were recorded: a connection with subscriptions.
protocol EventListener: AnyObject, Sendable {
    /// Called after a commit that recorded events; cheap, from any thread.
    func eventsRecorded()
}

/// The subscription hub. Events live in the store's durable log; the hub only tells each
/// subscribed connection that there is something new, and the connection pulls what it has
/// not sent yet from its own cursor. So a subscriber that falls behind costs no memory beyond its
/// socket buffer, replay after a reconnect is the same code path as live delivery, and nothing is
/// sent twice or skipped. The newest committed events are also kept in memory (``recent``), so
/// live subscribers pull from there instead of querying the store; a cursor older than what is
/// held reads the store.
final class Hub: Sendable {
    private let listeners = Locked<[ObjectIdentifier: any EventListener]>([:])
    private let subscriptionCount = Atomic<Int>(0)
    private let nextID = Atomic<Int64>(0)
    let recent = RecentEvents(capacity: 32_768)
    /// Subscriber pumps that may gather pages at once: one per core. Each subscribing connection
    /// has a pump thread, and a commit wakes them all; unbounded, a hundred of them scanning the
    /// window under its lock at once queued the writer's next append behind them (a 100,000-client
    /// zone pass took 2.1-2.7 s; gated, 1.8-2.1 s).
    let pumpGate = DispatchSemaphore(value: max(1, ProcessInfo.processInfo.activeProcessorCount))

    func add(_ l: any EventListener) { listeners.withLock { $0[ObjectIdentifier(l)] = l } }
    func remove(_ l: any EventListener) { _ = listeners.withLock { $0.removeValue(forKey: ObjectIdentifier(l)) } }

    func notify() {
        for l in listeners.withLock({ Array($0.values) }) { l.eventsRecorded() }
    }

    func newSubscriptionID() -> Int64 { nextID.wrappingAdd(1, ordering: .relaxed).newValue }
    func subscriptionOpened() { subscriptionCount.wrappingAdd(1, ordering: .relaxed) }
    func subscriptionClosed(_ n: Int = 1) { subscriptionCount.wrappingSubtract(n, ordering: .relaxed) }
    var subscriptions: Int { subscriptionCount.load(ordering: .relaxed) }
}

/// A set of event topics, a bit per topic of ``eventTopics``: 64 of them at most (a test checks).
typealias TopicBits = UInt64

/// What a subscription filters an event on: its owners and its topic, as plain values.
struct EventKey: Equatable {
    var ownerID: Int64?
    var previousOwnerID: Int64?
    /// The topic's bit (see ``EventKey/bit(_:)``); 0 for a topic no subscription can name.
    var topic: TopicBits

    /// One bit per topic of ``eventTopics``, in that order.
    static func bit(_ topic: String) -> TopicBits {
        eventTopics.firstIndex(of: topic).map { TopicBits(1) << TopicBits($0) } ?? 0
    }

    /// The bits of `topics`; every bit for nil (all topics).
    static func mask(_ topics: Set<String>?) -> TopicBits {
        topics.map { $0.reduce(0) { $0 | bit($1) } } ?? .max
    }

    static let alert = bit("alert")
    static let exchange = bit("client.released") | bit("client.claimed")
    static let callIncoming = bit("call.incoming")
}

extension EventKey {
    init(_ e: StoredEvent) {
        self.init(ownerID: e.ownerID, previousOwnerID: e.previousOwnerID, topic: Self.bit(e.topic))
    }
}

/// Every event topic a subscriber may ask for.
let eventTopics = [
    "zone.changed", "client.released", "client.claimed", "client.assigned", "interaction.logged", "alert", "client.created",
    "client.updated", "deal.created", "deal.updated", "deal.moved", "deal.closed", "deal.reopened", "deal.overdue", "task.created",
    "task.updated", "task.done", "task.due", "plan.progress", "invoice.created", "invoice.paid", "invoice.overdue", "call.incoming",
    "client.class_changed", "classes.computed",
    "client.freeze_requested", "client.frozen", "client.freeze_refused", "client.locked", "exchange.requested",
    "request.created", "request.routed", "request.taken", "request.closed", "notification.queued",
]

/// One subscription of a connection: what it wants and how far it has been sent.
struct Subscription {
    let id: Int64
    /// The topics' bits (``EventKey/mask(_:)``): every bit for everything the user may see.
    let topics: TopicBits
    var cursor: Int64

    init(id: Int64, topics: Set<String>?, cursor: Int64) {
        self.id = id
        self.topics = EventKey.mask(topics)
        self.cursor = cursor
    }
}

extension Hub {
    /// Whether `actor` may see the event keyed `k` (RULES: managers see their own clients and the
    /// exchange; alerts only reach their addressee).
    func visible(_ k: EventKey, to actor: Actor) -> Bool {
        // A call's screen pop also reaches the operators who answer the line (docs/rules.md).
        if k.topic == EventKey.callIncoming { return Access.seesCallPop(actor, ownerID: k.ownerID) }
        return Access.canSeeEvent(
            actor, ownerID: k.ownerID, previousOwnerID: k.previousOwnerID, alert: k.topic == EventKey.alert,
            exchange: k.topic & EventKey.exchange != 0)
    }

    /// Decodes `subscribe` params: topics and `since`.
    func decodeSubscribe(_ params: JSON) throws -> (topics: Set<String>?, since: Int64?) {
        var r = ParamReader(params)
        let topics = r.optionalStringArray("topics") ?? ["*"]
        let since = r.optionalInt("since")
        for (i, t) in topics.enumerated() where t != "*" && !eventTopics.contains(t) {
            r.problem("topics[\(i)]", "'\(t.prefix(40))' is not a topic; use * or \(eventTopics.joined(separator: ", "))")
        }
        if let since, since < 0 { r.problem("since", "must be a seq (0 or more)") }
        try r.finish()
        return (topics.contains("*") ? nil : Set(topics), since)
    }

    /// The notification line for one event, newline included. The stored data is JSON text
    /// written by crmd, so it is copied in as it is instead of being parsed and written again.
    static func notificationLine(_ e: StoredEvent, subscription: Int64) -> [UInt8] {
        var line: [UInt8] = []
        line.reserveCapacity(e.data.utf8.count + 160)
        line += #"{"jsonrpc":"2.0","method":"event","params":{"subscription":"#.utf8
        line += String(subscription).utf8
        line += #","seq":"#.utf8
        line += String(e.seq).utf8
        line += #","topic":"#.utf8
        line += JSONWriter.bytes(.string(e.topic))
        line += #","at":""#.utf8
        line += RFC3339.format(e.at).utf8
        line += #"","data":"#.utf8
        line += e.data.utf8
        line += "}}\n".utf8
        return line
    }
}
