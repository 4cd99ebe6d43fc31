import CRMCore
import CRMStore
import Foundation

/// Requests left `new` because nobody was available when they came (at night, over a weekend or
/// a holiday, or with every manager away) are routed by the scheduler as soon as someone is: at
/// the next opening of working hours, or when an absence ends, oldest first (docs/rules.md,
/// "Requests"). No polling: the scheduler sleeps until `nextRoutingChance`.
extension RequestHandlers {
    /// Whether a pass has waiting requests to route now: some are `new`, the department works and
    /// a manager is at work (two index lookups and the managers; no write when not).
    func canRouteWaiting(_ tx: Tx, at now: Date) throws -> Bool {
        let domain = settings.domain
        guard try tx.anyWaitingInboundRequest(), Routing.working(at: now, hours: domain.workingHours, holidays: domain.holidays)
        else { return false }
        return try tx.routingCandidates().contains { $0.active && !$0.absent(at: now) }
    }

    /// Routes up to `limit` waiting requests, oldest first, by the routing rule; stops at the first
    /// nobody can take (then nobody can take the rest either). Returns how many were routed and
    /// the events written.
    func routeWaiting(_ tx: Tx, at now: Date, limit: Int) throws -> (requests: Int, events: Int) {
        var routed = 0
        for var q in try tx.waitingInboundRequests(after: 0, limit: limit) {
            guard try route(tx, &q, excluding: nil, now: now) else { break }
            routed += 1
        }
        return (routed, routed)
    }

    /// When waiting requests may next be routable: nil when none wait; else the next opening of
    /// working hours after `now`, or the end of a manager's absence when that comes first.
    func nextRoutingChance(_ tx: Tx, now: Date) throws -> Date? {
        guard try tx.anyWaitingInboundRequest() else { return nil }
        let domain = settings.domain
        let opening = domain.workingHours.nextOpening(after: now, holidays: domain.holidays)
        let back = try tx.routingCandidates().compactMap(\.absentUntil).filter { $0 > now }.min()
        return [opening, back].compactMap { $0 }.min()
    }
}
