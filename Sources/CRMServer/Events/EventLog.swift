import CRMProtocol
import CRMStore
import CRMSync
import Dispatch
import Foundation
import Logging
import Synchronization

/// Logs every durable event at `info` once its transaction has committed, with the fields that
/// make it searchable in the journal: CRM_EVENT (the topic), CRM_SEQ, CRM_CLIENT_ID, CRM_USER
/// (the owner the event concerns) and CRM_AT (the event's own instant).
///
/// It is one more listener on the hub: after a commit it is poked like a subscribed connection,
/// and reads the new events from the log after its cursor, in batches, on its own queue. So the
/// write path pays one atomic exchange per commit, a rolled-back write logs nothing (its events
/// were never in the log), and when the level is above info it does no work at all. Events
/// committed while the level is above info are not logged later.
final class EventLogger: EventListener {
    private let store: Store
    private let users: UserDirectory
    private let logger: Logger
    private let queue = DispatchQueue(label: "crmd.event-log", qos: .utility)
    /// The last seq logged (or skipped); read and moved only on `queue`.
    private let cursor: Locked<Int64>
    /// A pass is queued and has not started yet: further pokes need not queue another.
    private let scheduled = Atomic<Bool>(false)
    /// Commits happened while the level was above info: their events are skipped.
    private let skipped = Atomic<Bool>(false)
    static let batchSize = 500

    /// Logs events after the newest one in the store now.
    init(store: Store, users: UserDirectory, logger: Logger) throws {
        self.store = store
        self.users = users
        self.logger = logger
        self.cursor = Locked(try store.read { try $0.lastSeq() })
    }

    func eventsRecorded() {
        guard logger.logLevel <= .info else {
            skipped.store(true, ordering: .relaxed)
            return
        }
        guard !scheduled.exchange(true, ordering: .acquiringAndReleasing) else { return }
        queue.async { [self] in
            scheduled.store(false, ordering: .releasing)
            pass()
        }
    }

    /// Logs what is pending now and returns when done: run when the store closes, so the events
    /// of the last commits (the outbox flushed at shutdown) are logged before crmd exits.
    func drain() {
        queue.sync { pass() }
    }

    private func pass() {
        do {
            var after = cursor.withLock { $0 }
            if skipped.exchange(false, ordering: .relaxed) {
                after = max(after, try store.read { try $0.lastSeq() })
            }
            while logger.logLevel <= .info {
                let events = try store.read { try $0.events(after: after, limit: Self.batchSize) }
                for e in events {
                    let (message, metadata) = Self.entry(e) { [users] in users.user(id: $0)?.login }
                    logger.info("\(message)", metadata: metadata)
                    after = e.seq
                }
                if events.count < Self.batchSize { break }
            }
            cursor.withLock { $0 = after }
        } catch {
            logger.warning("cannot read new events from the event log to log them", metadata: ["error": "\(error)"])
        }
    }

    /// The message and fields of one event. `login` names a user id (the owner when the event's
    /// data does not carry `owner_login`).
    static func entry(_ e: StoredEvent, login: (Int64) -> String?) -> (message: String, metadata: Logger.Metadata) {
        let data = (try? JSONParser.parse(e.data)) ?? .null
        func text(_ key: String) -> String? { data[key]?.stringValue }
        func number(_ key: String) -> Int64? { data[key]?.intValue }
        let owner = text("owner_login") ?? e.ownerID.flatMap(login)
        var metadata: Logger.Metadata = [
            "event": .string(e.topic), "seq": .stringConvertible(e.seq), "at": .string(RFC3339.format(e.at)),
        ]
        if let id = e.clientID { metadata["client_id"] = .stringConvertible(id) }
        if let owner { metadata["user"] = .string(owner) }
        if let by = text("by") ?? text("author_login") { metadata["by"] = .string(by) }

        let client = e.clientID.map { "client \($0)" } ?? "no client"
        let named = text("name").map { "\(client) \"\($0)\"" } ?? client
        let message: String
        switch e.topic {
        case "zone.changed":
            let to = text("to")
            if let to { metadata["zone"] = .string(to) }
            var details = ["owner \(owner ?? "nobody")"]
            if let days = number("days_to_release") { details.append("\(days) day\(days == 1 ? "" : "s") to release") }
            message = "\(named) \(text("from") ?? "none") → \(to ?? "none") (\(details.joined(separator: ", ")))"
        case "client.released":
            let from = text("from_login") ?? owner
            var m = "\(named) released to the exchange from \(from ?? "nobody")"
            if let zone = text("previous_zone") { m += " (was \(zone))" }
            if let by = text("by") { m += " by \(by)" }
            if let reason = text("reason") { m += ": \(reason)" }
            message = m
        case "client.claimed":
            var m = "\(named) claimed by \(text("by") ?? owner ?? "?")"
            if let from = text("released_from_login") { m += " (released from \(from))" }
            message = m
        case "client.assigned":
            var m = "\(named) assigned to \(text("to_login") ?? "nobody")"
            if let by = text("by") { m += " by \(by)" }
            if let from = text("from_login") { m += " (was \(from))" }
            message = m
        case "interaction.logged":
            let kind = text("kind") ?? "interaction"
            if let k = text("kind") { metadata["kind"] = .string(k) }
            var m = "\(named): \(kind) by \(text("author_login") ?? "?")"
            if let id = number("interaction_id") { m += " (interaction \(id)" + (owner.map { ", owner \($0))" } ?? ")") }
            message = m
        case "alert":
            if let k = text("kind") { metadata["kind"] = .string(k) }
            let about =
                number("deal_id").map { "deal \($0)" } ?? number("task_id").map { "task \($0)" } ?? number("invoice_id").map {
                    "invoice \($0)"
                } ?? client
            message = "to \(owner ?? "?") about \(about): \(text("message") ?? "")"
        case let topic where topic.hasPrefix("deal."):
            if let id = number("deal_id") { metadata["deal_id"] = .stringConvertible(id) }
            var m =
                "deal \(number("deal_id") ?? 0) \"\(text("title") ?? "")\" of \(owner ?? "nobody") at '\(text("stage") ?? "?")' (\(client))"
            if let from = text("from"), let to = text("to") { m += " moved \(from) → \(to)" }
            if let outcome = text("outcome") { m += " \(outcome)" + (text("reason").map { ": \($0)" } ?? "") }
            if let since = text("overdue_since") { m += " overdue since \(since)" }
            if let by = text("by") { m += " by \(by)" }
            message = m
        case let topic where topic.hasPrefix("invoice."):
            let invoice = data["invoice"] ?? data
            let id = number("invoice_id") ?? invoice["id"]?.intValue ?? 0
            metadata["invoice_id"] = .stringConvertible(id)
            var m =
                "invoice \(id) \"\(invoice["number"]?.stringValue ?? "")\" on deal \(number("deal_id") ?? 0) of \(owner ?? "nobody") (\(client))"
            let amount = invoice["amount"]?.intValue ?? 0
            let currency = invoice["currency"]?.stringValue ?? ""
            switch topic {
            case "invoice.created": m += " for \(amount) \(currency) (minor units) due \(invoice["due_date"]?.stringValue ?? "?")"
            case "invoice.paid":
                m += " paid \(number("amount") ?? 0): \(number("paid") ?? 0) of \(amount) \(currency), \(text("status") ?? "?")"
            default: m += " overdue since \(text("due_date") ?? "?"): \(number("remaining") ?? 0) of \(amount) \(currency) unpaid"
            }
            message = m
        case "plan.progress":
            if let id = number("plan_id") { metadata["plan_id"] = .stringConvertible(id) }
            let whose = text("user_login") ?? text("team").map { "team \($0)" } ?? "?"
            message =
                "plan \(number("plan_id") ?? 0) of \(whose) for \(text("period") ?? "?"): \(text("metric") ?? "?") \(number("fact") ?? 0) of \(number("target") ?? 0)"
        case let topic where topic.hasPrefix("task."):
            if let id = number("task_id") { metadata["task_id"] = .stringConvertible(id) }
            message =
                "task \(number("task_id") ?? 0) \"\(text("title") ?? "")\" for \(text("assignee_login") ?? owner ?? "?") due \(text("due_at") ?? "?")"
        default:
            message = owner.map { "\(named) (owner \($0))" } ?? named
        }
        return ("\(e.topic): \(message)", metadata)
    }
}
