import CRMCore
import CRMProtocol
import CRMStore
import CRMText
import Foundation

/// What holds a client back from the exchange (docs/rules.md, "What holds a client"), read from
/// the store and judged by the pure ``HoldRules``.
extension ZoneEngine {
    var holdRules: HoldRules { HoldRules(settings.domain.holds, zones: rules) }

    /// The facts that may hold client `clientID`: its lock, latest freeze, last won deal (when
    /// that exemption is on) and an open deal at the exempting stage.
    func holdFacts(_ tx: Tx, clientID: Int64) throws -> HoldFacts {
        var f = HoldFacts()
        f.locked = try tx.lock(clientID: clientID) != nil
        if let freeze = try tx.latestFreeze(clientID: clientID) {
            f.freezeStatus = freeze.status
            f.freezeUntil = freeze.until
            f.freezeReason = freeze.reason
        }
        if settings.domain.holds.exemptWonWithin != nil { f.lastWon = try tx.lastWonDeal(clientID: clientID) }
        if let d = try holdingDeal(tx, clientID: clientID) { f.openDealAtStage = (d.id, d.stage) }
        return f
    }

    /// The rule that holds client `clientID` at `now`, if any.
    func holdingRule(_ tx: Tx, clientID: Int64, at now: Date) throws -> HoldRule? {
        try holdRules.holding(holdFacts(tx, clientID: clientID), at: now)
    }

    /// The span of the client's freeze that is running at `now` (approved, `until` later), if
    /// any: a clock cycle started inside it stands still until its end.
    func runningFreeze(_ tx: Tx, clientID: Int64, now: Date) throws -> FrozenSpan? {
        guard let f = try tx.latestFreeze(clientID: clientID), f.status(at: now) == .approved else { return nil }
        return f.span
    }

    /// The client object's `freeze` (`{"status","until","reason"}` of the latest freeze, or null)
    /// and `locked`.
    func holdFields(_ tx: Tx, clientID: Int64, now: Date) throws -> (freeze: JSON, locked: JSON) {
        let freeze: JSON =
            try tx.latestFreeze(clientID: clientID).map { f in
                [
                    "status": .string(f.status(at: now).rawValue), "until": .string(RFC3339.format(f.until)), "reason": .string(f.reason),
                ]
            } ?? .null
        return (freeze, .bool(try tx.lock(clientID: clientID) != nil))
    }
}

extension ExchangeHandlers {
    /// `client.explain`'s `held_by` and explanation when a lock, a freeze or a won deal holds the
    /// client (the open-deal rule keeps its own words, shown once the release is due); nil when
    /// none of these holds it.
    func holdExplanation(
        _ tx: Tx, _ c: Client, _ schedule: ZoneSchedule, actor: Actor, now: Date
    ) throws -> (heldBy: JSON, text: Phrase)? {
        guard let rule = try engine.holdingRule(tx, clientID: c.id, at: now) else { return nil }
        let release = local(schedule.releaseAt)
        switch rule {
        case .locked:
            let lock = try tx.lock(clientID: c.id)
            let by = lock?.by ?? "?"
            let since = lock.map { local($0.at) } ?? "?"
            return (
                ["rule": "lock", "by": .string(lock?.by), "at": wire.time(lock?.at)],
                Phrase(
                    "Locked as a key account by \(by) since \(since): never released to the exchange while locked (the zone still shows how fresh the last contact is; its release instant would be \(release)). A head unlocks it with client.lock."
                )
            )
        case .frozen(let until, let reason):
            return (
                ["rule": "freeze", "until": wire.time(until), "reason": .string(reason)],
                Phrase(
                    "Frozen until \(local(until)) (\(reason)): the clock stands still and reminders pause; the frozen time does not count, so the release moved to \(release)."
                )
            )
        case .wonDeal(let id, let wonAt, let until):
            return (
                ["rule": "won_deal", "deal_id": .int(id), "won_at": wire.time(wonAt), "until": wire.time(until)],
                Phrase(
                    "Deal \(id) was won \(local(wonAt)): held from the exchange until \(local(until)) (exchange.exempt_won_within); after that it goes at its release instant (\(release)) unless a contact resets the clock."
                )
            )
        case .openDeal:
            return nil
        }
    }
}

extension ZoneEngine {
    /// `schedule` with its release moved off the holiday calendar's non-working days to the start
    /// of working hours, when `calendar.move_releases` says so; else unchanged.
    func calendarMoved(_ schedule: ZoneSchedule) -> ZoneSchedule {
        guard settings.domain.moveReleasesOffHolidays, let holidays = settings.domain.holidays else { return schedule }
        let hours = settings.domain.workingHours
        return holidays.releaseMoved(schedule, hour: hours.startMinute / 60, in: hours.timeZone)
    }
}

extension ZoneEngine {
    /// The schedule of a clock started at `start` under `rules`: with `calendar.working_days`,
    /// thresholds of whole days count the holiday calendar's working days.
    func cycleSchedule(from start: Date, rules: ZoneRules) -> ZoneSchedule {
        guard settings.domain.workingDayThresholds, let holidays = settings.domain.holidays else { return rules.schedule(from: start) }
        return holidays.schedule(from: start, rules: rules)
    }
}
