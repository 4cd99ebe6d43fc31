import CRMCore
import CRMProtocol
import CRMStore
import CRMSync
import Foundation

/// What one ABC/XYZ computation did (`abc.compute`'s answer, the `classes.computed` event).
struct ClassOutcome: Sendable {
    var month: String
    var windowFrom: Date
    var windowTo: Date
    var currency: String
    var clients = 0
    var counts: [String: Int] = ["A": 0, "B": 0, "C": 0, "X": 0, "Y": 0, "Z": 0]
    /// Clients whose class changed (a new class, another class, or none any more).
    var changed = 0
    var declassed = 0
    /// Whether each change was announced as `client.class_changed` (see `classes.max_change_events`).
    var changeEvents = false
    var tookMS: Int64 = 0
    /// Of `tookMS`, the snapshot read and the classing in memory (the rest is writing).
    var planMS: Int64 = 0

    var countsJSON: String { JSONWriter.string(countsObject) }
    var countsObject: JSON { .object(JSONObject(counts.sorted { $0.key < $1.key }.map { ($0.key, JSON.int(Int64($0.value))) })) }
}

/// Computes the clients' ABC/XYZ classes (docs/rules.md, "ABC/XYZ classes"): on the first day of
/// each month through the scheduler, and on demand (`abc.compute`). One computation at a time.
///
/// It reads the window's won deals and the current classes on one snapshot (no writer involved),
/// classes every client in memory, then writes the month's history and the changed classes in
/// batches of ``batch`` clients, each a transaction of its own through the group committer: a
/// request's write waits for at most one batch, never for the whole computation.
final class ClassEngine: Sendable {
    let gate = AsyncGate()
    /// Clients per write transaction.
    let batch = 4_000
    /// When a scheduled computation last failed (monotonic ns): the scheduler retries a failed
    /// pass every second, and a computation reads the whole window, so a failing one (a full
    /// disk) waits ``retryAfter`` before it is tried again.
    private let failedAt = Locked<UInt64?>(nil)
    static let retryAfter: UInt64 = 600 * 1_000_000_000

    /// The month a computation at `now` is for, if the schedule wants it and it has not run yet.
    func due(_ context: ServerContext, now: Date) throws -> Bool {
        let s = context.live.current.settings.domain
        let month = ClassRules.month(of: now, in: s.zones.timeZone)
        guard let at = ClassRules.scheduledRun(for: month, settings: s.classes, in: s.zones.timeZone), at <= now else { return false }
        return try !context.store.read { try $0.hasClassRun(month: month.description) }
    }

    /// The next instant the schedule wants a computation (past when one is due now); nil
    /// without a schedule.
    func nextInstant(_ context: ServerContext, now: Date) throws -> Date? {
        // After a failure the scheduler's minute-long sleeps bring it back; no instant to wake for.
        if let failed = failedAt.withLock({ $0 }), DispatchTime.now().uptimeNanoseconds - failed < Self.retryAfter { return nil }
        let s = context.live.current.settings.domain
        let tz = s.zones.timeZone
        let month = ClassRules.month(of: now, in: tz)
        guard let at = ClassRules.scheduledRun(for: month, settings: s.classes, in: tz) else { return nil }
        if at > now { return at }
        if try !context.store.read({ try $0.hasClassRun(month: month.description) }) { return at }
        return ClassRules.scheduledRun(for: ClassRules.following(month), settings: s.classes, in: tz)
    }

    /// Runs the scheduled computation if it is due; returns the events it recorded.
    func runIfDue(_ context: ServerContext, now: Date) async throws -> Int {
        try await gate.run {
            let mono = DispatchTime.now().uptimeNanoseconds
            if let failed = self.failedAt.withLock({ $0 }), mono - failed < Self.retryAfter { return 0 }
            guard try self.due(context, now: now) else { return 0 }
            let outcome: ClassOutcome
            do {
                outcome = try await self.compute(context, now: now, by: "crmd")
                self.failedAt.withLock { $0 = nil }
            } catch {
                self.failedAt.withLock { $0 = DispatchTime.now().uptimeNanoseconds }
                throw error
            }
            context.logger.info(
                "ABC/XYZ classes computed",
                metadata: [
                    "month": "\(outcome.month)", "clients": "\(outcome.clients)", "changed": "\(outcome.changed)",
                    "ms": "\(outcome.tookMS)",
                ])
            return 1 + (outcome.changeEvents ? outcome.changed : 0)
        }
    }

    /// Computes the classes of `now`'s month at once (`abc.compute`), after any computation running.
    func run(_ context: ServerContext, now: Date, by login: String) async throws -> ClassOutcome {
        try await gate.run { try await self.compute(context, now: now, by: login) }
    }

    private func compute(_ context: ServerContext, now: Date, by login: String) async throws -> ClassOutcome {
        let started = DispatchTime.now().uptimeNanoseconds
        let s = context.live.current.settings.domain
        let tz = s.zones.timeZone
        let month = ClassRules.month(of: now, in: tz)
        let bounds = ClassRules.window(for: month, months: s.classes.windowMonths, in: tz)
        var outcome = ClassOutcome(
            month: month.description, windowFrom: bounds[0], windowTo: bounds[bounds.count - 1], currency: s.deals.currency)
        let plan = try context.store.read { tx in try ClassPlan.make(tx, bounds: bounds, currency: s.deals.currency, settings: s.classes) }
        outcome.planMS = Int64((DispatchTime.now().uptimeNanoseconds - started) / 1_000_000)
        outcome.clients = plan.rows.count
        for r in plan.rows {
            outcome.counts[r.abc.rawValue, default: 0] += 1
            outcome.counts[r.xyz.rawValue, default: 0] += 1
        }
        outcome.changed = plan.changed.count + plan.cleared.count
        outcome.declassed = plan.cleared.count
        outcome.changeEvents = outcome.changed <= s.classes.maxChangeEvents
        let events = outcome.changeEvents
        let monthText = month.description
        let users = context.users
        // The history of every classed client, the changed ones' classes and events, batch by batch.
        var changedAt = 0
        var start = 0
        while start < plan.rows.count || changedAt < plan.changed.count {
            let end = min(start + batch, plan.rows.count)
            let rows = Array(plan.rows[start..<end])
            // The changed clients among these rows (both lists are in client order).
            let last = end < plan.rows.count ? plan.rows[end - 1].clientID : Int64.max
            var changedEnd = changedAt
            while changedEnd < plan.changed.count, plan.changed[changedEnd].row.clientID <= last { changedEnd += 1 }
            let changed = Array(plan.changed[changedAt..<changedEnd])
            try await context.store.write(.bulk) { tx in
                try tx.buffered { tx in
                    let owners = try tx.storeClasses(month: monthText, rows, changed: changed.map(\.row), owners: events)
                    guard events else { return }
                    for (c, owner) in zip(changed, owners) {
                        try ClassEngine.changeEvent(
                            tx, users: users, clientID: c.row.clientID, owner: owner, month: monthText, from: c.from,
                            to: (c.row.abc.rawValue, c.row.xyz.rawValue), at: now)
                    }
                }
            }
            if events, !changed.isEmpty { context.hub.notify() }
            start = end
            changedAt = changedEnd
        }
        var clearedAt = 0
        while clearedAt < plan.cleared.count {
            let part = Array(plan.cleared[clearedAt..<min(clearedAt + batch, plan.cleared.count)])
            try await context.store.write(.bulk) { tx in
                try tx.buffered { tx in
                    let owners = try tx.clearClasses(month: monthText, part.map(\.id), owners: events)
                    guard events else { return }
                    for (c, owner) in zip(part, owners) {
                        try ClassEngine.changeEvent(
                            tx, users: users, clientID: c.id, owner: owner, month: monthText, from: c.from, to: (nil, nil), at: now)
                    }
                }
            }
            clearedAt += part.count
        }
        outcome.tookMS = Int64((DispatchTime.now().uptimeNanoseconds - started) / 1_000_000)
        let done = outcome
        let finished = context.clock.now()
        try await context.store.write { tx in
            try tx.recordClassRun(
                ClassRun(
                    month: done.month, startedAt: now, finishedAt: finished, byLogin: login, windowFrom: done.windowFrom,
                    windowTo: done.windowTo, currency: done.currency, clients: done.clients, countsJSON: done.countsJSON,
                    changed: done.changed, tookMS: done.tookMS))
            try event(tx, "classes.computed", clientID: nil, ownerID: nil, ClassEngine.summary(done, by: login), at: now)
        }
        context.committed()
        return outcome
    }

    /// The wire form of an outcome (also the `classes.computed` event's data).
    static func summary(_ o: ClassOutcome, by login: String) -> JSON {
        [
            "month": .string(o.month), "window_from": .string(RFC3339.format(o.windowFrom)),
            "window_to": .string(RFC3339.format(o.windowTo)), "currency": .string(o.currency), "clients": .int(Int64(o.clients)),
            "counts": o.countsObject, "changed": .int(Int64(o.changed)), "declassed": .int(Int64(o.declassed)),
            "change_events": .bool(o.changeEvents), "took_ms": .int(o.tookMS), "plan_ms": .int(o.planMS),
            "by": .string(login),
        ]
    }

    /// `client.class_changed`: seen by the client's owner and by whoever sees every client.
    static func changeEvent(
        _ tx: Tx, users: UserDirectory, clientID: Int64, owner: Int64?, month: String, from: (String?, String?),
        to: (String?, String?), at: Date
    ) throws {
        var data = JSONObjectWriter(capacity: 160)
        data.add("client_id", clientID)
        data.add("owner", owner)
        data.add("owner_login", owner.flatMap { users.user(id: $0)?.login })
        data.add("month", month)
        data.add("abc_from", from.0)
        data.add("xyz_from", from.1)
        data.add("abc", to.0)
        data.add("xyz", to.1)
        try event(tx, "client.class_changed", clientID: clientID, ownerID: owner, text: data.string(), at: at)
    }
}
