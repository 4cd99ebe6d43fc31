import CRMCore
import CRMProtocol
import CRMStore
import Foundation

/// `report.commission`, `report.funnel`, `report.sales`, `report.completeness`: figures computed
/// from what crmd holds when asked (nothing stored, nothing typed in). A manager's report holds
/// only their own deals and clients. The funnel is in `SalesReportHandlers+Funnel.swift`, sales
/// and completeness in `SalesReportHandlers+Sales.swift`.
struct SalesReportHandlers: HandlerGroup {
    let context: ServerContext

    /// A report's period (``ReportSpan``: `period`, or `from` and `to`, at most 366 days).
    static func span(_ r: inout ParamReader, timeZone: TimeZone) -> (from: Date, to: Date) {
        guard let s = ReportSpan.decode(&r, timeZone: timeZone) else { return (Date(), Date()) }
        return (s.from, s.to)
    }

    /// `user` (login or id) for a report about one manager; a manager may name only themself.
    func oneUser(_ value: JSON?, actor: Actor) throws -> User? {
        guard let value, !value.isNull else { return nil }
        let u: User?
        if let id = value.intValue {
            u = users.user(id: id)
        } else if let login = value.stringValue {
            u = users.user(login: login)
        } else {
            throw DomainError.invalid("user", "must be a login or a user id")
        }
        guard let u else { throw DomainError.notFound("user", named: value.stringValue ?? "\(value.intValue ?? 0)") }
        if Access.seesOnlyOwnClients(actor), u.id != actor.userID {
            throw DomainError.forbidden("A manager sees only their own figures; leave out user or name yourself.")
        }
        return u
    }

    /// The owner a report is narrowed to: a manager's own id, else the `user` asked for.
    func narrowedOwner(_ actor: Actor, _ user: User?) -> Int64? {
        Access.seesOnlyOwnClients(actor) ? (actor.userID ?? -1) : user?.id
    }

    /// Reports that carry amounts (commission, sales) are for accountants too.
    func requireMoneyReports(_ actor: Actor) throws {
        guard Access.canSeeZoneReports(actor) || actor.role == .accountant else {
            throw DomainError.forbidden("Sales and commission reports are for managers, heads, directors, accountants and admins.")
        }
    }

    /// Reports about the work (funnel, completeness) are for managers, heads, directors and admins.
    func requireWorkReports(_ actor: Actor) throws {
        guard Access.canSeeZoneReports(actor) else {
            throw DomainError.forbidden("Funnel and completeness reports are for managers, heads, directors and admins.")
        }
    }

    func reportCommission(_ call: Call) throws {
        let actor = call.actor
        try requireMoneyReports(actor)
        let zone = rules.thresholds.timeZone
        let (span, userParam, withLines) = try call.decode { r in
            (Self.span(&r, timeZone: zone), r.optionalValue("user"), r.optionalBool("lines") ?? false)
        }
        let user = try oneUser(userParam, actor: actor)
        let cs = settings.domain.commission
        let currency = settings.domain.deals.currency
        try read(call) { [self] tx, _ in
            let owner = narrowedOwner(actor, user)
            let sources =
                cs.basis == .won
                ? try tx.wonDealsForCommission(
                    from: span.from, to: span.to, currency: currency, ownerID: owner, titles: withLines, segments: !cs.segments.isEmpty)
                : try tx.paidDealsForCommission(from: span.from, to: span.to, currency: currency, ownerID: owner)
            var byOwner: [Int64: [CommissionSource]] = [:]
            for s in sources { byOwner[s.ownerID, default: []].append(s) }
            var totalBase: Int64 = 0
            var totalCommission: Int64 = 0
            var items: [JSON] = []
            for ownerID in byOwner.keys.sorted() {
                let u = users.user(id: ownerID)
                var base: Int64 = 0
                var commission: Int64 = 0
                var lines: [JSON] = []
                for s in byOwner[ownerID] ?? [] {
                    let rate = Commission.rate(segment: s.segment, pipeline: s.pipeline, userBP: u?.commissionBP, settings: cs)
                    guard let c = Commission.amount(base: s.base, bp: rate.bp), case (let b, false) = base.addingReportingOverflow(s.base),
                        case (let sum, false) = commission.addingReportingOverflow(c)
                    else { throw DomainError.invalid("period", "holds sums too large to add; ask for a shorter period") }
                    base = b
                    commission = sum
                    lines.append([
                        "deal_id": .int(s.dealID), "title": .string(s.title), "client_id": .int(s.clientID),
                        "pipeline": .string(s.pipeline),
                        "base": .int(s.base), "base_text": wire.amountText(s.base), "rate_bp": .int(Int64(rate.bp)),
                        "rate_source": .string(rate.source.rawValue), "commission": .int(c), "commission_text": wire.amountText(c),
                    ])
                }
                let ownRate = Commission.rate(segment: nil, pipeline: "", userBP: u?.commissionBP, settings: cs)
                items.append([
                    "user": .int(ownerID), "login": wire.login(ownerID), "team": .string(u?.team), "base": .int(base),
                    "base_text": wire.amountText(base), "rate_bp": .int(Int64(ownRate.bp)), "commission": .int(commission),
                    "commission_text": wire.amountText(commission), "deals": .array(lines.compactMap { $0["deal_id"] }),
                    "lines": withLines ? .array(lines) : .null,
                ])
                totalBase = totalBase.addingReportingOverflow(base).partialValue
                totalCommission = totalCommission.addingReportingOverflow(commission).partialValue
            }
            return [
                "from": wire.time(span.from), "to": wire.time(span.to), "basis": .string(cs.basis.rawValue),
                "currency": .string(currency), "items": .array(items),
                "total": [
                    "base": .int(totalBase), "base_text": wire.amountText(totalBase), "commission": .int(totalCommission),
                    "commission_text": wire.amountText(totalCommission),
                ],
            ]
        }
    }
}
