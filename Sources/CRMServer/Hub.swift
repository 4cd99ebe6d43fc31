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
/// sent twice or skipped.
final class Hub: Sendable {
    private let listeners = Locked<[ObjectIdentifier: any EventListener]>([:])
    private let subscriptionCount = Atomic<Int>(0)
    private let nextID = Atomic<Int64>(0)

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

/// Every event topic a subscriber may ask for.
let eventTopics = [
    "zone.changed", "client.released", "client.claimed", "client.assigned", "interaction.logged", "alert", "client.created",
    "client.updated",
]

/// One subscription of a connection: what it wants and how far it has been sent.
struct Subscription {
    let id: Int64
    let topics: Set<String>?  // nil = everything the user may see
    var cursor: Int64
}

extension Dispatcher {
    /// Tells subscribers and the engine loops that a commit recorded events or moved clocks.
    func eventsAppended() {
        hub.notify()
    }

    /// Whether `actor` may see event `e` (RULES: managers see their own clients and the exchange;
    /// alerts only reach their addressee).
    func visible(_ e: StoredEvent, to actor: Actor) -> Bool {
        if e.topic == "alert" { return e.ownerID != nil && e.ownerID == actor.userID }
        switch actor.role {
        case .admin, .head, .director: return true
        case .manager:
            return (e.ownerID != nil && e.ownerID == actor.userID) || (e.previousOwnerID != nil && e.previousOwnerID == actor.userID)
                || e.topic == "client.released" || e.topic == "client.claimed"
        case .operator, .accountant:
            return e.topic == "client.released" || e.topic == "client.claimed"
        }
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

    /// The notification for one event.
    func notification(_ e: StoredEvent, subscription: Int64) -> JSON {
        let data = (try? JSONParser.parse(e.data)) ?? .null
        return Response.notification(
            method: "event",
            params: [
                "subscription": .int(subscription), "seq": .int(e.seq), "topic": .string(e.topic), "at": wire.time(e.at), "data": data,
            ])
    }
}
