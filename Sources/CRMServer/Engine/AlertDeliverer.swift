import CRMCore
import CRMProtocol
import CRMStore
import Foundation
import Logging
public import ServiceLifecycle

/// Delivers stored alerts (the durable outbox) when their working-hours instant comes: records
/// an `alert` event for the addressee's live subscriptions, then, if configured, runs the
/// delivery command with the alert as JSON on stdin, retrying with back-off until it succeeds.
/// The messages to clients (`notify.delivery_command`, docs/rules.md "Telling the client") go
/// through the same pass (``CommandOutbox``): stored by the step that caused them, sent at once.
/// The command runs in its own task and process group with a time limit (`alerts.delivery_timeout`),
/// past which the whole group is killed: a hanging or crashing gateway never stalls the scheduler
/// or the daemon, and leaves nothing running behind it.
public final class AlertDeliverer: Service, Sendable {
    let context: ServerContext
    /// `alerts.delivery_command` as now in force (a reload may change it).
    var command: String? { context.settings.deliveryCommand }
    let logger: Logger
    /// One delivery pass at a time (the loop and `clock.advance` may both start one).
    let gate = AsyncGate()

    init(context: ServerContext, logger: Logger) {
        self.context = context
        self.logger = logger
    }

    /// Delivers every alert due now; returns how many.
    @discardableResult
    func runDue() async throws -> Int {
        try await gate.run { try await self.deliverDue() }
    }

    func deliverDue(commandsUntil deadline: ContinuousClock.Instant? = nil) async throws -> Int {
        let now = context.clock.now()
        let command = self.command
        let hasCommand = command != nil
        let delivered = try await context.store.write { [engine = context.engine] tx -> Int in
            var n = 0
            while true {
                let due = try tx.alertsToDeliver(upTo: now, limit: 1_000)
                for a in due {
                    var shown = a
                    shown.deliveredAt = now
                    // Delivered later than due (after a weekend or a night): the days left are
                    // counted again at delivery, so "30 days" due on Saturday reads "28" on Monday.
                    if let id = a.clientID, ZoneEngine.reminderKinds.contains(a.kind), let c = try tx.clientHeader(id: id),
                        let schedule = c.schedule
                    {
                        // Outside working hours an alert whose hour came while crmd was down (or the
                        // manual clock jumped) waits for them again, unless they come only at its
                        // release or later: the planner's rule, asked as of now.
                        let deliverAt = engine.deliveryInstant(due: now, now: now, releaseAt: schedule.releaseAt)
                        if deliverAt > now {
                            try tx.postponeAlert(alertID: a.id, to: deliverAt)
                            continue
                        }
                        let days = engine.rules.daysToRelease(now: now, releaseAt: schedule.releaseAt)
                        if days != a.daysLeft {
                            shown.daysLeft = days
                            shown.message = engine.reminderMessage(
                                kind: a.kind, c, daysLeft: days, zone: a.zone.flatMap(Zone.init(rawValue:)) ?? .red, for: a.userID)
                        }
                    }
                    try tx.markDelivered(alertID: a.id, at: now, command: hasCommand, daysLeft: shown.daysLeft, message: shown.message)
                    try event(tx, "alert", clientID: a.clientID, ownerID: a.userID, text: AlertText.text(shown), at: now)
                    n += 1
                }
                if due.count < 1_000 { return n }
            }
        }
        if delivered > 0 { context.hub.notify() }
        if let command { try await drain(Self.alertOutbox, command: command, now: now, until: deadline) }
        if let notify = context.settings.notifyCommand {
            try await drain(Self.notificationOutbox(context.wire), command: notify, now: now, until: deadline)
        }
        return delivered
    }

    /// The alerts' outbox as the command sees it.
    static let alertOutbox = CommandOutbox<StoredAlert>(
        what: "alert", due: { tx, now in try tx.alertsForCommand(upTo: now, limit: 100) }, id: \.id, attempts: \.commandAttempts,
        payload: AlertText.text,
        record: { tx, id, error, _, next in try tx.commandOutcome(alertID: id, ok: error == nil, error: error, nextAttempt: next) })

    /// The messages to clients as the command sees them (docs/rules.md, "Telling the client").
    static func notificationOutbox(_ wire: Wire) -> CommandOutbox<StoredNotification> {
        CommandOutbox(
            what: "notification", due: { tx, now in try tx.notificationsToSend(upTo: now, limit: 100) }, id: \.id, attempts: \.attempts,
            payload: { JSONWriter.string(wire.notification($0)) },
            record: { tx, id, error, now, next in
                try tx.notificationOutcome(id: id, ok: error == nil, error: error, at: now, nextAttempt: next)
            })
    }

    /// One pass of `command` over what `outbox` has due: each item run in turn (its own process
    /// group, the time limit), its outcome recorded, a failure retried after the back-off.
    func drain<Item>(_ outbox: CommandOutbox<Item>, command: String, now: Date, until deadline: ContinuousClock.Instant?) async throws {
        let due = try context.store.read { try outbox.due($0, now) }
        for item in due {
            if let deadline, ContinuousClock.now >= deadline { return }
            if deadline == nil, Task.isShuttingDownGracefully { return }
            let outcome = await runCommand(command, input: outbox.payload(item))
            let attempts = outbox.attempts(item) + 1
            let next = outcome == nil ? nil : now.addingTimeInterval(CommandOutbox<Item>.backoff(afterAttempts: attempts))
            let id = outbox.id(item)
            if let outcome {
                logger.warning(
                    "\(outbox.what) delivery command failed; will retry",
                    metadata: [outbox.what: "\(id)", "error": "\(outcome)", "attempt": "\(attempts)"])
            }
            _ = try await context.store.write { tx in try outbox.record(tx, id, outcome, now, next) }
        }
    }

    /// SIGPIPE's default action ends the process: without this, a delivery command that exits
    /// before reading its stdin killed crmd silently when the write raced its exit.
    private static let ignoreBrokenPipes: Void = { signal(SIGPIPE, SIG_IGN) }()

    /// Runs the command with `input` on stdin (``DeliveryCommand``: its own process group, killed
    /// whole past `alerts.delivery_timeout`); nil on success, else what went wrong.
    func runCommand(_ command: String, input: String) async -> String? {
        _ = Self.ignoreBrokenPipes
        let timeout = Duration.seconds(context.settings.deliveryTimeoutSeconds)
        return await DeliveryCommand(command: command, timeout: timeout).run(input: input).failure(timeout: timeout)
    }

    public func run() async throws {
        let waker = context.deliveryWaker
        await withGracefulShutdownHandler {
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                do {
                    try await runDue()
                    let next = try context.store.read { tx -> Date? in
                        [
                            try tx.earliestAlertDelivery(), command == nil ? nil : try tx.earliestCommandAttempt(),
                            context.settings.notifyCommand == nil ? nil : try tx.earliestNotificationAttempt(),
                        ].compactMap { $0 }.min()
                    }
                    var delay = next.flatMap { context.clock.realDelay(until: $0) }
                    if context.clock.realDelay(until: context.clock.now()) != nil {
                        delay = min(delay ?? .seconds(60), .seconds(60))
                    }
                    if let d = delay, d <= .zero { continue }
                    await waker.wait(timeout: delay)
                } catch {
                    logger.error("alert delivery pass failed; retrying in 1 s", metadata: ["error": "\(error)"])
                    await waker.wait(timeout: .seconds(1))
                }
            }
        } onGracefulShutdown: {
            waker.wake()
        }
        // Flush the outbox before exit: alerts due now reach their subscribers' log, and the
        // delivery command gets a bounded last chance. What is left stays stored and is delivered
        // after the next start.
        do {
            let n = try await gate.run { try await self.deliverDue(commandsUntil: .now + .seconds(5)) }
            if n > 0 { logger.info("delivered alerts due at shutdown", metadata: ["alerts": "\(n)"]) }
        } catch {
            logger.error(
                "could not flush the alert outbox at shutdown; it is delivered after the next start", metadata: ["error": "\(error)"])
        }
    }
}
