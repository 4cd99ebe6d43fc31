import CRMCore
import CRMProtocol
import CRMStore
import Foundation

/// The clock rules applied to stored clients, shared by handlers (which start cycles) and the
/// scheduler (which applies what falls due). Every change is recorded as an event with its true
/// instant, inside the same transaction as the change.
extension Dispatcher {
    /// Starts a new clock cycle from R for an assigned client: green, no reminder sent yet, and
    /// the next due instant set for the scheduler. Returns the previous applied zone.
    @discardableResult
    func startCycle(_ c: inout Client) -> Zone? {
        let previous = c.appliedZone
        guard c.status == .assigned, let start = c.clockStart else {
            c.schedule = nil
            c.appliedZone = nil
            c.alertStage = 0
            c.nextDueAt = nil
            return previous
        }
        let schedule = rules.schedule(from: start)
        c.schedule = schedule
        c.appliedZone = .green
        c.alertStage = 0
        c.nextDueAt = rules.nextDue(schedule, .fresh, policy: settings.domain.reminders)
        return previous
    }

    /// The calendar day of `date` in the configured time zone, as `YYYY-MM-DD`.
    func localDay(_ date: Date) -> String {
        String(RFC3339.format(milliseconds: rules.localDayNumber(date) * 86_400_000).prefix(10))
    }

    /// The `zone.changed` event data, as JSON text.
    func zoneEventData(_ c: Client, from: Zone?, to: Zone?, at: Date) -> String {
        var o = JSONObjectWriter(capacity: 192)
        o.add("client_id", c.id)
        o.add("name", c.name)
        o.add("owner", c.ownerID)
        o.add("owner_login", c.ownerID.flatMap { users.user(id: $0)?.login })
        o.add("from", from?.rawValue)
        o.add("to", to?.rawValue)
        o.add("days_to_release", c.schedule.map { rules.daysToRelease(now: at, releaseAt: $0.releaseAt) })
        o.add("release_at", c.schedule.map { RFC3339.format($0.releaseAt) })
        return o.string()
    }

    /// Applies every step due for `c` up to `now` inside `tx`: zone changes, reminders (the
    /// newest only), and the release to the exchange. Returns the number of events recorded.
    func applyDue(_ tx: Tx, _ client: Client, upTo now: Date, heads: [User]) throws -> Int {
        var c = client
        guard let schedule = c.schedule, let state = c.clockState else {
            c.nextDueAt = nil
            try tx.saveAppliedClock(c, now: now)
            return 0
        }
        let policy = settings.domain.reminders
        let (steps, newState, released) = rules.steps(schedule, from: state, upTo: now, policy: policy, coalesceReminders: true)
        var events = 0
        // A client released in this same pass (catch-up after downtime) needs no reminders: they
        // would be superseded by the release at once.
        let remindersMatter = !released
        for step in steps {
            switch step {
            case .zone(let from, let to, let at):
                try event(
                    tx, "zone.changed", clientID: c.id, ownerID: c.ownerID, text: zoneEventData(c, from: from, to: to, at: at), at: at)
                events += 1
                if to == .yellow, policy.onYellow, remindersMatter, let owner = c.ownerID {
                    let days = rules.daysToRelease(now: at, releaseAt: schedule.releaseAt)
                    try remind(tx, userID: owner, c, kind: "zone_yellow", daysLeft: days, zone: .yellow, at: at, now: now)
                }
            case .reminder(let daysLeft, let at):
                guard remindersMatter else { continue }
                let zone = schedule.zone(at: at) ?? .red
                if let owner = c.ownerID {
                    try remind(tx, userID: owner, c, kind: "days_to_release", daysLeft: daysLeft, zone: zone, at: at, now: now)
                }
                if zone == .red {
                    for head in heads where head.id != c.ownerID {
                        try remind(tx, userID: head.id, c, kind: "red_copy", daysLeft: daysLeft, zone: zone, at: at, now: now)
                    }
                }
            case .release(let at):
                events += try release(
                    tx, &c, at: at, by: nil, reason: "no resetting contact for \(rules.thresholds.releaseAfter)", now: now)
            }
        }
        if !released {
            c.appliedZone = newState.zone
            c.alertStage = newState.stage
            c.nextDueAt = rules.nextDue(schedule, newState, policy: policy)
            try tx.saveAppliedClock(c, now: now)
        }
        return events
    }

    /// Reminder kinds whose wording counts the days to release (recounted when delivered late).
    static let reminderKinds: Set<String> = ["zone_yellow", "days_to_release", "red_copy"]

    /// The words of a reminder about `c`, `daysLeft` days before its release.
    func reminderMessage(kind: String, _ c: Client, daysLeft: Int, zone: Zone) -> String {
        let owner = c.ownerID.flatMap { users.user(id: $0)?.login } ?? "nobody"
        let releaseDate = c.schedule.map { RFC3339.format($0.releaseAt) } ?? "?"
        switch kind {
        case "zone_yellow":
            return
                "Client '\(c.name)' (id \(c.id)) turned yellow: \(daysLeft) days until it goes to the exchange (\(releaseDate)). Log a call or meeting, or start a deal."
        case "red_copy":
            return "Client '\(c.name)' (id \(c.id)) of \(owner) is red: \(daysLeft) days until it goes to the exchange (\(releaseDate))."
        default:
            return
                "Client '\(c.name)' (id \(c.id)) is \(zone.rawValue): \(daysLeft) day\(daysLeft == 1 ? "" : "s") until it goes to the exchange (\(releaseDate)). Log a call or meeting, or start a deal."
        }
    }

    /// Stores a reminder for delivery in working hours.
    func remind(_ tx: Tx, userID: Int64, _ c: Client, kind: String, daysLeft mark: Int, zone: Zone, at: Date, now: Date) throws {
        let deliverAt = workingHours.nextDeliveryInstant(at: at)
        // Due inside working hours (or its hour has already come, after downtime): stored as
        // delivered with its `alert` event in this transaction, the same outcome the deliverer
        // would record a moment later, at a third of the statements. Otherwise the deliverer
        // takes it when its hour comes. Either way the days left are those at delivery.
        let deliverNow = deliverAt <= now
        let daysLeft = deliverNow && at < now ? c.schedule.map { rules.daysToRelease(now: now, releaseAt: $0.releaseAt) } ?? mark : mark
        let message = reminderMessage(kind: kind, c, daysLeft: daysLeft, zone: zone)
        let command = deliverNow && settings.deliveryCommand != nil
        let id = try tx.insertAlert(
            userID: userID, clientID: c.id, kind: kind, daysLeft: daysLeft, zone: zone.rawValue, message: message, dueAt: at,
            deliverAt: deliverAt, now: now, deliveredAt: deliverNow ? now : nil, command: command)
        if deliverNow {
            let shown = StoredAlert(
                id: id, userID: userID, clientID: c.id, kind: kind, daysLeft: daysLeft, zone: zone.rawValue, message: message, dueAt: at,
                deliverAt: deliverAt, deliveredAt: now, ackedAt: nil, superseded: false, commandStatus: command ? "pending" : nil,
                commandAttempts: 0, commandError: nil, createdAt: now)
            try event(tx, "alert", clientID: c.id, ownerID: userID, text: alertText(shown), at: now)
        }
    }

    /// Releases a client to the exchange at `at` (by the scheduler, or by its owner or a head):
    /// the owner goes, the history stays, and the manager it left may not claim it back for the
    /// cooldown. Returns the number of events recorded.
    func release(_ tx: Tx, _ c: inout Client, at: Date, by actor: Actor?, reason: String, now: Date) throws -> Int {
        let from = c.ownerID
        let fromZone = c.appliedZone
        c.status = .exchange
        c.ownerID = nil
        c.releasedAt = at
        c.releasedFrom = from
        c.releaseReason = reason
        c.assignedAt = nil
        c.appliedZone = nil
        c.alertStage = 0
        c.nextDueAt = nil
        c.updatedAt = now
        c.schedule = nil
        try tx.releaseClient(id: c.id, from: from, at: at, reason: reason, now: now)
        try tx.supersedeAlerts(clientID: c.id)
        var until: Date? = nil
        if let from {
            let u = rules.add(settings.domain.exchangeCooldown, to: at)
            try tx.ban(clientID: c.id, userID: from, until: u)
            until = u
        }
        try tx.recordRelease(clientID: c.id, userID: from, at: at, manual: actor != nil, reason: reason)
        if actor == nil {
            // The scheduler's own change is audited like any other (the card's story stays whole).
            let system = Actor.builtinAdmin(uid: daemonUID, login: "crmd scheduler")
            var before = JSONObjectWriter(capacity: 48)
            before.add("owner", from)
            before.add("zone", fromZone?.rawValue)
            var after = JSONObjectWriter(capacity: 96 + reason.utf8.count)
            after.add("status", "exchange")
            after.add("released_at", RFC3339.format(at))
            after.add("reason", reason)
            try tx.audit(system, entity: "client", id: c.id, action: "release", before: before.string(), after: after.string(), at: at)
        }
        var data = JSONObjectWriter(capacity: 256 + reason.utf8.count)
        data.add("client_id", c.id)
        data.add("name", c.name)
        data.add("from", from)
        data.add("from_login", from.flatMap { users.user(id: $0)?.login })
        data.add("previous_zone", fromZone?.rawValue)
        data.add("reason", reason)
        data.add("manual", actor != nil)
        data.add("by", actor?.login)
        data.add("released_at", RFC3339.format(at))
        data.add("cooldown_until", until.map { RFC3339.format($0) })
        try event(tx, "client.released", clientID: c.id, ownerID: from, text: data.string(), at: at)
        return 1
    }
}
