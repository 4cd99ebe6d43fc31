import CRMCore
import CRMStore
import Foundation

/// The plans of the scheduler's next batch, made on a thread of their own while the writer
/// stores the current batch: planning (texts, calendar work) then costs the writer nothing.
///
/// They were made from the clients as the previous batch's transaction read them. The next
/// transaction reads its batch again and takes these plans only if it is the very same: the same
/// clients with the same columns, the same instant, heads and settings. A write that moved one
/// of these clients in between (a logged call, a reassignment) makes it plan again, as before.
final class PlansAhead: @unchecked Sendable {
    private let clients: [Client]
    private let now: Date
    private let heads: [Int64]
    private let settings: LiveSettings.Snapshot
    /// Guarded by `condition`: written once by the planning thread. (A condition rather than a
    /// semaphore: ThreadSanitizer sees the hand-over through the mutex.)
    private var plans: [DuePlan]? = nil
    private let condition = NSCondition()

    init(_ clients: [Client], upTo now: Date, heads: [User], engine: ZoneEngine) {
        self.clients = clients
        self.now = now
        self.heads = heads.map(\.id)
        self.settings = engine.live.current
        DispatchQueue.global().async { [self] in
            // One thread: the writer keeps the other core.
            let made = clients.map { engine.planDue($0, upTo: now, heads: heads) }
            condition.lock()
            plans = made
            condition.broadcast()
            condition.unlock()
        }
    }

    /// The plans, once made, if they were made for exactly `due` at `now`; nil otherwise.
    func plans(for due: [Client], upTo now: Date, heads: [User], engine: ZoneEngine) -> [DuePlan]? {
        condition.lock()
        while plans == nil { condition.wait() }
        let made = plans
        condition.unlock()
        guard now == self.now, due == clients, heads.map(\.id) == self.heads, engine.live.current === settings else { return nil }
        return made
    }
}

/// What applying a client's due steps writes (see ``ZoneEngine/planDue(_:upTo:heads:)``).
struct DuePlan: Sendable {
    struct Reminder: Sendable {
        let userID: Int64
        let kind: String
        let daysLeft: Int
        let zone: Zone
        let message: String
        let at: Date
        let deliverAt: Date
        let deliverNow: Bool
        let command: Bool
        /// When delivered at once: its `alert` event's text but the id (``AlertText/afterID(_:)``).
        let eventTextAfterID: String?
    }

    struct Release: Sendable {
        let from: Int64?
        let at: Date
        let reason: String
        let manual: Bool
        let until: Date?
        /// When its fair claim window ends (`nil`: no window, claims at once).
        var windowEndsAt: Date? = nil
        /// The scheduler's audit entry (before, after); a person's release is audited by its handler.
        let audit: (before: String, after: String)?
        let eventText: String
    }

    enum Write: Sendable {
        case zoneEvent(text: String, at: Date)
        case reminder(Reminder)
        case release(Release)
    }

    /// The client as the steps leave it (its applied clock, or released).
    var client: Client
    /// The owner before the steps: zone events are addressed to them.
    let owner: Int64?
    var writes: [Write] = []
    var released = false

    init(client: Client) {
        self.client = client
        self.owner = client.ownerID
    }
}
