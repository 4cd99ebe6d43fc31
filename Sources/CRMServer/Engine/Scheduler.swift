import CRMCore
import CRMStore
import CRMSync
import Foundation
import Logging
public import ServiceLifecycle
import Synchronization

/// Applies zone changes, reminders and releases at their instants.
///
/// It sleeps until the earliest `next_due_at` over all clients (an index lookup, no scan), applies
/// everything due in batches through group commit, and sleeps again. Writes that move a client's
/// clock wake it. A sleep never lasts more than a minute, so a wall-clock step (NTP, a manual
/// change) is noticed within a minute at no measurable cost; with a manual clock it only runs
/// when the clock is moved.
public final class Scheduler: Service, Sendable {
    let context: ServerContext
    var waker: Waker { context.schedulerWaker }
    let logger: Logger
    let batch = 5_000
    private let lastSnapshot = Locked<String?>(nil)
    /// When the scheduler last finished a batch or a pass, in monotonic nanoseconds: the
    /// watchdog's evidence that the engine and the store's write path are alive.
    private let heartbeat = Atomic<UInt64>(0)
    /// Set by ``probe(within:)``: the next pass writes even if nothing is due.
    private let probeAsked = Atomic<Bool>(false)
    /// Zone changes, reminders and releases recorded since start (catch-up progress).
    let recorded = Atomic<Int>(0)
    /// The error of the last failed pass, nil once a pass succeeds (shown in systemd's status).
    let lastError = Locked<String?>(nil)

    init(context: ServerContext, logger: Logger) {
        self.context = context
        self.logger = logger
    }

    /// Wakes the loop: something may have become due earlier.
    func poke() { waker.wake() }

    /// Applies everything due up to the clock's now. Returns the number of events recorded.
    @discardableResult
    func runDue() async throws -> Int {
        try await gate.run { try await self.applyAllDue() }
    }

    /// One pass at a time, so `clock.advance` returns only after a pass that saw nothing left.
    let gate = AsyncGate()

    func applyAllDue() async throws -> Int {
        // The previous pass's day snapshot reads the state that pass left, before this one moves it.
        await context.daySnapshot.settled()
        var total = 0
        // One instant for the whole pass: what falls due while it runs is the next pass's.
        let now = context.clock.now()
        // The next batch's plans, made on another core while the writer stores this one.
        var ahead: PlansAhead? = nil
        while true {
            // A write only when something is due: every request that moves a clock wakes the
            // scheduler, and a batch has a transaction of its own (and turns foreign keys off and
            // on, which makes SQLite prepare the writer's statements again). The watchdog's probe
            // asks for the write anyway: it is the evidence that the write path is alive.
            let probing = probeAsked.exchange(false, ordering: .acquiringAndReleasing)
            if !probing {
                guard try context.store.read({ try $0.anyDue(upTo: now) }) else { break }
            }
            // A transaction of its own: no savepoint journal for thousands of clients' pages, and
            // no foreign-key lookups for references read from the rows themselves.
            let planned = ahead
            let (clients, events, next) = try await context.store.write(.bulk) {
                [engine = context.engine, batch] tx -> (Int, Int, PlansAhead?) in
                // Events and reminders go in many rows per statement at the end of the batch.
                try tx.buffered { tx in
                    let due = try tx.dueClients(upTo: now, limit: batch)
                    let heads = try tx.allUsers().filter(Access.getsRedZoneCopies)
                    // The batch after this one, as this transaction sees it (this batch writes
                    // none of its clients), planned meanwhile on another core.
                    var next: PlansAhead? = nil
                    if due.count == batch, let last = due.last {
                        let following = try tx.dueClients(upTo: now, after: last, limit: batch)
                        if !following.isEmpty { next = PlansAhead(following, upTo: now, heads: heads, engine: engine) }
                    }
                    let plans =
                        planned?.plans(for: due, upTo: now, heads: heads, engine: engine)
                        ?? engine.planDue(due, upTo: now, heads: heads)
                    var events = 0
                    for plan in plans { events += try engine.store(tx, plan, now: now) }
                    return (due.count, events, next)
                }
            }
            ahead = next
            total += events
            recorded.add(events, ordering: .relaxed)
            beat()
            // Subscribers start pulling this batch while the next one is applied.
            if events > 0 { context.hub.notify() }
            if clients < batch { break }
        }
        // Fair claim windows ended by now, each decided at its own end instant (issue 21).
        total += try await resolveWindows(upTo: now)
        // Inbound requests not taken by their due instant: re-routed, the heads alerted (issue 22).
        total += try await rerouteRequests(upTo: now)
        // Requests nobody was available for (night, weekend, holiday), oldest first, once someone is.
        total += try await drain(
            pending: { [requests = RequestHandlers(context: context)] tx in try requests.canRouteWaiting(tx, at: now) },
            { [requests = RequestHandlers(context: context)] tx, batch in try requests.routeWaiting(tx, at: now, limit: batch) })
        // Deals past their stage's cadence and tasks falling due, in batches of their own.
        // A transaction of its own per batch (`.bulk`), events and reminders many rows per statement.
        total += try await drain(
            .bulk, batch: batch, pending: { try $0.anyDealOrTaskDue(upTo: now) },
            { [work = context.work] tx, batch in try tx.buffered { tx in try work.applyDue(tx, upTo: now, limit: batch) } })
        // The month's ABC/XYZ classes, once the schedule's instant has come (caught up after downtime).
        total += try await context.classes.runIfDue(context, now: now)
        // Reminders stored for a later hour, or queued for the delivery command.
        if total > 0 { context.deliveryWaker.wake() }
        // The first pass of each local day records the day's zone counts per manager (the daily
        // series of report.zones). Counting a million clients takes a good part of a second, so
        // it runs beside the pass's reply (and its subscribers' deliveries) instead of before
        // them; the next pass and report.zones wait for it. The day is the pass's own instant's:
        // a clock moved while the pass ran (clock.set, a wall-clock step) is the next pass's, which
        // applies that day's transitions before it counts them.
        let day = context.engine.localDay(now)
        if lastSnapshot.withLock({ $0 }) != day {
            let store = context.store
            if try !store.read({ try $0.hasZoneSnapshot(day: day) }) {
                context.daySnapshot.start { [logger] in
                    do {
                        let tally = try store.read { try $0.zoneTally() }
                        _ = try await store.write { tx in try tx.recordZoneSnapshot(day: day, tally) }
                    } catch {
                        logger.error("daily zone snapshot failed", metadata: ["day": "\(day)", "error": "\(error)"])
                    }
                }
            }
            lastSnapshot.withLock { $0 = day }
        }
        return total
    }

    /// Decides the fair claim windows ended by `now`, a batch per transaction. Returns the events.
    private func resolveWindows(upTo now: Date) async throws -> Int {
        try await drain(
            pending: { try !$0.dueWindows(upTo: now, limit: 1).isEmpty },
            { [exchange = ExchangeHandlers(context: context)] tx, batch in try exchange.resolveWindows(tx, upTo: now, limit: batch) })
    }

    /// Re-routes the requests whose SLA ended by `now`, a batch per transaction. Returns the events.
    private func rerouteRequests(upTo now: Date) async throws -> Int {
        try await drain(
            pending: { try !$0.overdueInboundRequests(at: now, limit: 1).isEmpty },
            { [requests = RequestHandlers(context: context)] tx, batch in try requests.rerouteOverdue(tx, upTo: now, limit: batch) })
    }

    /// Applies `apply` in batches of `batch`, a write of `mode` each, while `pending` sees work
    /// left; `apply` returns how many items it handled and the events it wrote. Returns the events.
    private func drain(
        _ mode: GroupCommitter.WriteMode = .grouped, batch: Int = 500, pending: @escaping @Sendable (Tx) throws -> Bool,
        _ apply: @escaping @Sendable (Tx, Int) throws -> (Int, Int)
    ) async throws -> Int {
        var total = 0
        while try context.store.read(pending) {
            let (handled, events) = try await context.store.write(mode) { tx in try apply(tx, batch) }
            total += events
            recorded.add(events, ordering: .relaxed)
            beat()
            if events > 0 { context.hub.notify() }
            if handled < batch { break }
        }
        return total
    }

    private func beat() { heartbeat.store(DispatchTime.now().uptimeNanoseconds, ordering: .releasing) }

    /// Wakes the scheduler and waits up to `limit` for it to finish a batch or a pass (each one a
    /// write transaction through the group committer). False means the engine or the store's
    /// write path is stuck: the watchdog then stops pinging and systemd restarts crmd. A pass that
    /// fails (disk full, say) still answers: that is an error to report, not a hang to restart.
    func probe(within limit: Duration) async -> Bool {
        let asked = DispatchTime.now().uptimeNanoseconds
        probeAsked.store(true, ordering: .releasing)
        poke()
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if heartbeat.load(ordering: .acquiring) >= asked { return true }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return heartbeat.load(ordering: .acquiring) >= asked
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                do {
                    try await runDue()
                    beat()
                    lastError.withLock { $0 = nil }
                    let nextDue = try context.store.read { [requests = RequestHandlers(context: context), now = context.clock.now()] tx in
                        [
                            try tx.earliestDue(), try tx.earliestDealOrTaskDue(), try tx.earliestWindowEnd(), try tx.earliestRequestDue(),
                            try requests.nextRoutingChance(tx, now: now),
                        ].compactMap { $0 }.min()
                    }
                    let classesAt = try context.classes.nextInstant(context, now: context.clock.now())
                    let next = [nextDue, classesAt].compactMap { $0 }.min()
                    var delay: Duration? = next.flatMap { context.clock.realDelay(until: $0) }
                    if context.clock.realDelay(until: context.clock.now()) != nil {
                        // A real clock: never sleep more than a minute (wall-clock steps).
                        delay = min(delay ?? .seconds(60), .seconds(60))
                    }
                    if let d = delay, d <= .zero { continue }
                    await waker.wait(timeout: delay)
                } catch {
                    beat()
                    lastError.withLock { $0 = "\(storageFailureMessage(error) ?? "\(error)")" }
                    logger.error("scheduler pass failed; retrying in 1 s", metadata: ["error": "\(error)"])
                    await waker.wait(timeout: .seconds(1))
                }
            }
        } onGracefulShutdown: {
            self.waker.wake()
        }
        await context.daySnapshot.settled()
    }
}
