public import Foundation

/// How an inbound request picks its manager (`requests.routing`, docs/rules.md "Requests").
public enum RoutingRule: String, Sendable, CaseIterable {
    /// The next available manager after the one who got the last request, by user id.
    case roundRobin = "round_robin"
    /// The available manager with the fewest requests routed to them and not yet taken.
    case leastLoaded = "least_loaded"
    /// Available managers whose competence tags include the request's topic, then the least loaded.
    case competence
}

/// The `requests.*` settings.
public struct RequestSettings: Sendable, Equatable {
    public var routing: RoutingRule = .leastLoaded
    /// How long a routed request may wait to be taken before it is routed again (`requests.sla`).
    public var slaSeconds: Int = 3600
    /// Department addresses whose letters from unknown senders open requests (`requests.mail_addresses`).
    public var mailAddresses: [String] = []
    public init() {}
}

/// A manager as the routing rule sees them.
public struct RoutingCandidate: Sendable, Equatable {
    public var id: Int64
    public var active: Bool
    public var absentFrom: Date?
    public var absentUntil: Date?
    public var competence: [String]
    /// Requests routed to them and not yet taken.
    public var load: Int

    public init(id: Int64, active: Bool = true, absentFrom: Date? = nil, absentUntil: Date? = nil, competence: [String] = [], load: Int = 0)
    {
        self.id = id
        self.active = active
        self.absentFrom = absentFrom
        self.absentUntil = absentUntil
        self.competence = competence
        self.load = load
    }

    /// Whether they are away at `now`: inside `[absentFrom, absentUntil)`; an open end is unbounded.
    public func absent(at now: Date) -> Bool {
        guard absentFrom != nil || absentUntil != nil else { return false }
        return (absentFrom.map { $0 <= now } ?? true) && (absentUntil.map { now < $0 } ?? true)
    }
}

/// The routing rule as pure functions (docs/rules.md, "Requests").
public enum Routing {
    /// Bounds of the request fields and of a user's competence tags.
    public static let nameLength = 200
    public static let textLength = 4000
    public static let sourceLength = 50
    public static let tagLength = 40
    public static let maxTags = 20

    /// Whether the department works at `now` (inside working hours, on a working day).
    public static func working(at now: Date, hours: WorkingHours, holidays: WorkCalendar?) -> Bool {
        hours.nextDeliveryInstant(at: now, holidays: holidays) <= now
    }

    /// The manager to route to, or nil when nobody is available (the request stays `new`).
    /// `excluding`: who had it before (a re-route never returns it to them unless nobody else is
    /// available). `last`: the manager the last routed request went to (round robin).
    public static func pick(
        _ rule: RoutingRule, _ candidates: [RoutingCandidate], topic: String?, at now: Date, excluding: Int64? = nil,
        last: Int64? = nil
    ) -> Int64? {
        var pool = candidates.filter { $0.active && !$0.absent(at: now) }
        if pool.count > 1, let excluding { pool.removeAll { $0.id == excluding } }
        guard !pool.isEmpty else { return nil }
        pool.sort { $0.id < $1.id }
        func leastLoaded(_ p: [RoutingCandidate]) -> Int64? { p.min { ($0.load, $0.id) < ($1.load, $1.id) }?.id }
        switch rule {
        case .roundRobin:
            return (pool.first { $0.id > (last ?? Int64.min) } ?? pool[0]).id
        case .leastLoaded:
            return leastLoaded(pool)
        case .competence:
            guard let t = topic?.lowercased(), !t.isEmpty else { return leastLoaded(pool) }
            let able = pool.filter { $0.competence.contains { $0.lowercased() == t } }
            return leastLoaded(able.isEmpty ? pool : able)
        }
    }
}

/// An inbound request: a lead waiting for a manager to take it.
public struct InboundRequest: Sendable, Equatable {
    public enum Status: String, Sendable, CaseIterable {
        case new, routed, taken, closed
    }

    public var id: Int64
    public var name: String?
    public var phone: String?
    public var email: String?
    public var source: String
    public var topic: String?
    public var text: String?
    public var status: Status
    public var assigneeID: Int64?
    public var clientID: Int64?
    public var dealID: Int64?
    public var dueAt: Date?
    public var createdAt: Date
    public var takenAt: Date?
    public var reroutes: Int
    public var creatorLogin: String
    /// When it was closed (its deal won or lost, or `request.close`) and why.
    public var closedAt: Date? = nil
    public var closeReason: String? = nil

    public init(
        id: Int64 = 0, name: String?, phone: String?, email: String?, source: String, topic: String?, text: String?,
        status: Status = .new, assigneeID: Int64? = nil, clientID: Int64? = nil, dealID: Int64? = nil, dueAt: Date? = nil,
        createdAt: Date, takenAt: Date? = nil, reroutes: Int = 0, creatorLogin: String, closedAt: Date? = nil,
        closeReason: String? = nil
    ) {
        self.closedAt = closedAt
        self.closeReason = closeReason
        self.id = id
        self.name = name
        self.phone = phone
        self.email = email
        self.source = source
        self.topic = topic
        self.text = text
        self.status = status
        self.assigneeID = assigneeID
        self.clientID = clientID
        self.dealID = dealID
        self.dueAt = dueAt
        self.createdAt = createdAt
        self.takenAt = takenAt
        self.reroutes = reroutes
        self.creatorLogin = creatorLogin
    }
}

extension Access {
    /// Who may open an inbound request: the web form's and the PBX's operator accounts, heads, admins.
    public static func canCreateRequest(_ actor: Actor) -> Bool { [.admin, .head, .operator].contains(actor.role) }
    /// Who sees every request (managers see those assigned to them).
    public static func seesAllRequests(_ actor: Actor) -> Bool { [.admin, .head, .operator, .director].contains(actor.role) }
    /// Who may list requests at all.
    public static func canListRequests(_ actor: Actor) -> Bool { actor.role != .accountant }
    /// Who may take a request: its assignee, or any manager while it is unrouted (`new`).
    public static func canTakeRequest(_ actor: Actor, status: InboundRequest.Status, assigneeID: Int64?) -> Bool {
        guard actor.role == .manager else { return false }
        return status == .new || assigneeID == actor.user?.id
    }
    /// Who may hand a request to a manager.
    public static func canAssignRequest(_ actor: Actor) -> Bool { actor.role == .admin || actor.role == .head }
    /// Who may close a request without a deal (spam, useless): heads, admins, and its assignee.
    public static func canCloseRequest(_ actor: Actor, assigneeID: Int64?) -> Bool {
        canAssignRequest(actor) || (actor.role == .manager && assigneeID != nil && assigneeID == actor.user?.id)
    }
    /// Who may list the messages sent to clients: heads, admins and directors all; a manager
    /// those to their own clients (the list is narrowed to them).
    public static func seesAllNotifications(_ actor: Actor) -> Bool { [.admin, .head, .director].contains(actor.role) }
    public static func canListNotifications(_ actor: Actor) -> Bool { seesAllNotifications(actor) || actor.role == .manager }
}
