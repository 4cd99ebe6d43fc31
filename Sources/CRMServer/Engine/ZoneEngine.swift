import CRMCore
import CRMProtocol
import CRMStore
import CRMText
import Foundation

/// The clock rules applied to stored clients, shared by handlers (which start cycles) and the
/// scheduler (which applies what falls due). Every change is recorded as an event with its true
/// instant, inside the same transaction as the change.
struct ZoneEngine: Sendable {
    let live: LiveSettings
    let users: UserDirectory
    /// The uid crmd runs as: the scheduler's releases are audited as a built-in admin with it.
    let daemonUID: UInt32

    var settings: Settings { live.current.settings }
    var rules: ZoneRules { live.current.rules }
    var workingHours: WorkingHours { live.current.workingHours }

    /// Starts a new clock cycle from R for an assigned client, as it stands at `now`: green with
    /// no reminder sent when R is now; from a backdated contact, the zone R gives at `now` with
    /// the marks already passed counted as handled. Sets the next due instant for the scheduler
    /// and returns the previous applied zone.
    /// A freeze running at `now` (`frozen`) stands the new cycle's clock still until its end.
    @discardableResult
    func startCycle(_ c: inout Client, now: Date, frozen: FrozenSpan? = nil) -> Zone? {
        let previous = c.appliedZone
        guard c.status == .assigned, let start = c.clockStart else {
            c.schedule = nil
            c.appliedZone = nil
            c.alertStage = 0
            c.nextDueAt = nil
            return previous
        }
        // The thresholds of the client's segment or ABC class, else the default (docs/rules.md).
        let rules = live.current.classRules.rules(segment: c.segment, abc: c.abc)
        let schedule = calendarMoved(HoldRules.frozen(cycleSchedule(from: start, rules: rules), over: frozen))
        let policy = settings.domain.reminders
        let state = rules.state(schedule, at: now, policy: policy)
        c.schedule = schedule
        c.appliedZone = state.zone
        c.alertStage = state.stage
        c.nextDueAt = rules.nextDue(schedule, state, policy: policy)
        return previous
    }

    /// The calendar day of `date` in the configured time zone, as `YYYY-MM-DD`.
    func localDay(_ date: Date) -> String {
        // Up to the `T`: a year outside 0000-9999 is written with a sign and more digits.
        String(RFC3339.format(milliseconds: rules.localDayNumber(date) * 86_400_000).prefix { $0 != "T" })
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

    /// Works out what applying every step due for `client` up to `now` writes: zone changes,
    /// reminders (the newest only), and the release to the exchange. Reads no store, so the plans
    /// of a batch are made on every core (see ``planDue(_:upTo:heads:)``); ``store(_:_:now:)``
    /// then writes them in order on the writer.
    func planDue(_ client: Client, upTo now: Date, heads: [User]) -> DuePlan {
        var c = client
        guard let schedule = c.schedule, let state = c.clockState else {
            c.nextDueAt = nil
            return DuePlan(client: c)
        }
        let policy = settings.domain.reminders
        let (steps, newState, released) = rules.steps(schedule, from: state, upTo: now, policy: policy, coalesceReminders: true)
        var plan = DuePlan(client: c)
        // A client released in this same pass (catch-up after downtime) needs no reminders: they
        // would be superseded by the release at once.
        let remindersMatter = !released
        // Only the newest reminder of the pass is written (entering yellow counts as one): after
        // a gap a manager gets the current reminder, not a burst of stale ones.
        // The days it says are those at delivery, worked out by ``reminders(_:_:kind:at:now:heads:)``.
        var newest: (kind: String, at: Date)? = nil
        for step in steps {
            switch step {
            case .zone(let from, let to, let at):
                plan.writes.append(.zoneEvent(text: zoneEventData(c, from: from, to: to, at: at), at: at))
                // The release's previous_zone is the zone the client was in just before it.
                c.appliedZone = to
                if to == .yellow, policy.onYellow, remindersMatter { newest = ("zone_yellow", at) }
            case .reminder(_, let at):
                if remindersMatter { newest = ("days_to_release", at) }
            case .release(let due):
                // A client an exempting deal held back is released when the scheduler looks at it
                // again (its next instant was set then), not at the long-past release instant.
                let at = max(due, client.nextDueAt ?? due)
                // A release the default thresholds would not put here came from the thresholds of
                // the client's segment or class, or was moved by a freeze or the calendar.
                // The reason is stored with the client (data, not a sentence rendered later).
                var reason = "no resetting contact for \(rules.thresholds.releaseAfter)"
                if rules.schedule(from: schedule.start).releaseAt != schedule.releaseAt {
                    reason =
                        "no resetting contact since \(RFC3339.format(schedule.start)) (its segment's or class's thresholds, a freeze or the calendar)"
                }
                plan.writes.append(.release(releasePlan(&c, at: at, by: nil, reason: reason, now: now)))
                plan.released = true
            }
        }
        if let newest { plan.writes += reminders(c, schedule, kind: newest.kind, at: newest.at, now: now, heads: heads) }
        if !released {
            c.appliedZone = newState.zone
            c.alertStage = newState.stage
            c.nextDueAt = rules.nextDue(schedule, newState, policy: policy)
        }
        plan.client = c
        return plan
    }

    /// The plans of a batch of due clients, in their order, made on all cores (the writer waits
    /// for them inside its transaction): text and calendar work is most of a plan.
    func planDue(_ clients: [Client], upTo now: Date, heads: [User]) -> [DuePlan] {
        let parts = min(max(1, ProcessInfo.processInfo.activeProcessorCount), max(1, clients.count / 256))
        guard parts > 1 else { return clients.map { planDue($0, upTo: now, heads: heads) } }
        let plans = UnsafeMutableBufferPointer<DuePlan?>.allocate(capacity: clients.count)
        plans.initialize(repeating: nil)
        defer {
            plans.deinitialize()
            plans.deallocate()
        }
        nonisolated(unsafe) let out = plans
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            // Each part writes only its own slots.
            let range = (clients.count * part / parts)..<(clients.count * (part + 1) / parts)
            for i in range { out[i] = planDue(clients[i], upTo: now, heads: heads) }
        }
        return plans.map { $0! }
    }

    /// Writes a plan inside `tx`: its events, reminders and release in order, then the client's
    /// applied clock (unless it was released). Returns the number of events recorded.
    func store(_ tx: Tx, _ plan: DuePlan, now: Date) throws -> Int {
        var events = 0
        let c = plan.client
        // A rule that holds the client back from the exchange (docs/rules.md, "What holds a
        // client"): a lock, a freeze, a won deal, an open deal at or past `deals.exempt_from_stage`.
        // It stays red; the scheduler looks at it again when the rule ends by itself (a freeze's or
        // a won deal's end), else when a person's step (unlock, a deal step, a reload) re-arms it.
        let hold = plan.released ? try holdingRule(tx, clientID: c.id, at: now) : nil
        for write in plan.writes {
            if let hold, case .release = write {
                try tx.holdClient(id: c.id, recheckAt: hold.endsAt, now: now)
                continue
            }
            switch write {
            case .zoneEvent(let text, let at):
                try event(tx, "zone.changed", clientID: c.id, ownerID: plan.owner, text: text, at: at)
                events += 1
            case .reminder(let r):
                try store(tx, r, clientID: c.id, now: now)
            case .release(let r):
                try store(tx, r, clientID: c.id, now: now)
                events += 1
            }
        }
        if !plan.released { try tx.saveAppliedClock(c, now: now) }
        return events
    }

    /// The open deal that holds the client back from release under `deals.exempt_from_stage`, if any.
    func holdingDeal(_ tx: Tx, clientID: Int64) throws -> Deal? {
        let rules = live.current.dealRules
        guard rules.settings.exemptFromStage != nil else { return nil }
        return try tx.openDeals(clientID: clientID).first { rules.exempts(pipeline: $0.pipeline, stage: $0.stage) }
    }

    /// Reminder kinds whose wording counts the days to release (recounted when delivered late).
    static let reminderKinds: Set<String> = ["zone_yellow", "days_to_release", "red_copy"]

    /// The words of a reminder about `c`, `daysLeft` days before its release.
    /// In the recipient's language, the release day in `zones.time_zone`.
    func reminderMessage(kind: String, _ c: Client, daysLeft: Int, zone: Zone, for userID: Int64) -> String {
        let owner = c.ownerID.flatMap { users.user(id: $0)?.login } ?? "nobody"
        let releaseDate = c.schedule.map { LocalTime.date($0.releaseAt, settings.domain.zones.timeZone) } ?? "?"
        let text: Phrase
        switch kind {
        case "zone_yellow":
            text = Phrase(
                "Client '\(c.name)' (id \(c.id)) turned yellow: \(daysLeft, "day", "days") until it goes to the exchange (\(releaseDate)). Log a call or meeting, or start a deal."
            )
        case "red_copy":
            text = Phrase(
                "Client '\(c.name)' (id \(c.id)) of \(owner) is red: \(daysLeft, "day", "days") until it goes to the exchange (\(releaseDate))."
            )
        default:
            let word: Phrase =
                switch zone {
                case .green: Phrase("green")
                case .yellow: Phrase("yellow")
                case .red: Phrase("red")
                }
            text = Phrase(
                "Client '\(c.name)' (id \(c.id)) is \(word): \(daysLeft, "day", "days") until it goes to the exchange (\(releaseDate)). Log a call or meeting, or start a deal."
            )
        }
        return text.rendered(users.lang(of: userID, fallback: settings.domain.language))
    }

    /// The reminders of a pass about `c` (its newest one, `kind`, due at `at`): to the
    /// owner, and copied to the heads if the client is red when it is delivered. Written as true
    /// at delivery: the zone and days left then, and "turned yellow" only while it is yellow.
    func reminders(
        _ c: Client, _ schedule: ZoneSchedule, kind: String, at: Date, now: Date, heads: [User]
    ) -> [DuePlan.Write] {
        guard let owner = c.ownerID else { return [] }
        // What is true when people get it: the zone and days left then, worked out once for the
        // owner and every head's copy.
        let deliverAt = deliveryInstant(due: at, now: now, releaseAt: schedule.releaseAt)
        let shown = max(deliverAt, now)
        let zone = schedule.zone(at: shown) ?? .red
        let daysLeft = rules.daysToRelease(now: shown, releaseAt: schedule.releaseAt)
        let kind = kind == "zone_yellow" && zone != .yellow ? "days_to_release" : kind
        func one(_ userID: Int64, _ kind: String) -> DuePlan.Write {
            .reminder(reminder(userID: userID, c, kind: kind, daysLeft: daysLeft, zone: zone, at: at, deliverAt: deliverAt, now: now))
        }
        var out = [one(owner, kind)]
        if zone == .red {
            for head in heads where head.id != owner { out.append(one(head.id, "red_copy")) }
        }
        return out
    }

    /// When a reminder due at `at` reaches people, as of `now`: at once if that is inside working
    /// hours, else when they start (after downtime or a night, from `now`, not from the due
    /// instant). A reminder those hours would hold until the release or later is delivered at once
    /// instead: the last word before a client goes to the exchange is never dropped.
    func deliveryInstant(due at: Date, now: Date, releaseAt: Date) -> Date {
        let open = workingHours.nextDeliveryInstant(at: max(at, now), holidays: settings.domain.holidays)
        return open >= releaseAt ? max(at, now) : open
    }

    /// A reminder about `c` for `userID`, due at `at` and delivered at `deliverAt`
    /// (``deliveryInstant(due:now:releaseAt:)``), saying `daysLeft` and `zone` as of delivery.
    func reminder(
        userID: Int64, _ c: Client, kind: String, daysLeft: Int, zone: Zone, at: Date, deliverAt: Date, now: Date
    ) -> DuePlan.Reminder {
        // Due inside working hours: stored as delivered with its `alert` event in the same
        // transaction, the same outcome the deliverer would record a moment later, at a third of
        // the statements. Otherwise the deliverer takes it when its hour comes.
        let deliverNow = deliverAt <= now
        let message = reminderMessage(kind: kind, c, daysLeft: daysLeft, zone: zone, for: userID)
        let command = deliverNow && settings.deliveryCommand != nil
        // Delivered at once: its `alert` event's text, all but the id, written here (on any core).
        let eventText =
            deliverNow
            ? AlertText.afterID(
                StoredAlert(
                    id: 0, userID: userID, clientID: c.id, kind: kind, daysLeft: daysLeft, zone: zone.rawValue, message: message, dueAt: at,
                    deliverAt: deliverAt, deliveredAt: now, ackedAt: nil, superseded: false, commandStatus: command ? "pending" : nil,
                    commandAttempts: 0, commandError: nil, createdAt: now)) : nil
        return DuePlan.Reminder(
            userID: userID, kind: kind, daysLeft: daysLeft, zone: zone, message: message, at: at, deliverAt: deliverAt,
            deliverNow: deliverNow, command: command, eventTextAfterID: eventText)
    }

    /// Stores a reminder (and, if delivered at once, its `alert` event).
    func store(_ tx: Tx, _ r: DuePlan.Reminder, clientID: Int64, now: Date) throws {
        let id = try tx.insertAlert(
            userID: r.userID, clientID: clientID, kind: r.kind, daysLeft: r.daysLeft, zone: r.zone.rawValue, message: r.message,
            dueAt: r.at,
            deliverAt: r.deliverAt, now: now, deliveredAt: r.deliverNow ? now : nil, command: r.command)
        if let rest = r.eventTextAfterID {
            try event(tx, "alert", clientID: clientID, ownerID: r.userID, text: AlertText.text(id: id, rest: rest), at: now)
        }
    }

    /// Releases a client to the exchange at `at` (by the scheduler, or by its owner or a head):
    /// the owner goes, the history stays, and the manager it left may not claim it back for the
    /// cooldown. Returns the number of events recorded.
    func release(_ tx: Tx, _ c: inout Client, at: Date, by actor: Actor?, reason: String, now: Date) throws -> Int {
        try store(tx, releasePlan(&c, at: at, by: actor, reason: reason, now: now), clientID: c.id, now: now)
        return 1
    }

    /// Moves `c` to the exchange in memory and works out what its release writes.
    func releasePlan(_ c: inout Client, at: Date, by actor: Actor?, reason: String, now: Date) -> DuePlan.Release {
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
        let until = from.map { _ in ExchangeRules(settings.domain, zones: rules).cooldownUntil(releasedAt: at) }
        let windowEndsAt = settings.domain.claimWindow.endsAt(releasedAt: at)
        var audit: (before: String, after: String)? = nil
        if actor == nil {
            // The scheduler's own change is audited like any other (the card's story stays whole).
            var before = JSONObjectWriter(capacity: 48)
            before.add("owner", from)
            before.add("zone", fromZone?.rawValue)
            var after = JSONObjectWriter(capacity: 96 + reason.utf8.count)
            after.add("status", "exchange")
            after.add("released_at", RFC3339.format(at))
            after.add("reason", reason)
            audit = (before.string(), after.string())
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
        // The announcement of the fair claim window: requests until then, the draw at its end.
        if let windowEndsAt { data.add("window_ends_at", RFC3339.format(windowEndsAt)) }
        return DuePlan.Release(
            from: from, at: at, reason: reason, manual: actor != nil, until: until, windowEndsAt: windowEndsAt, audit: audit,
            eventText: data.string())
    }

    /// Writes a release: the client row, its pending reminders superseded, the cooldown, the
    /// release record, the scheduler's audit entry and the `client.released` event.
    func store(_ tx: Tx, _ r: DuePlan.Release, clientID: Int64, now: Date) throws {
        try tx.releaseClient(id: clientID, from: r.from, at: r.at, reason: r.reason, now: now)
        try tx.supersedeAlerts(clientID: clientID)
        if let from = r.from, let until = r.until { try tx.ban(clientID: clientID, userID: from, until: until) }
        try tx.recordRelease(clientID: clientID, userID: r.from, at: r.at, manual: r.manual, reason: r.reason)
        if let end = r.windowEndsAt { try tx.openWindow(clientID: clientID, releasedAt: r.at, endsAt: end) }
        if let audit = r.audit {
            let system = Actor.builtinAdmin(uid: daemonUID, login: "crmd scheduler")
            try tx.audit(system, entity: "client", id: clientID, action: "release", before: audit.before, after: audit.after, at: r.at)
        }
        try event(tx, "client.released", clientID: clientID, ownerID: r.from, text: r.eventText, at: r.at)
    }
}
