import CRMCore
import CRMStore
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
    let dispatcher: Dispatcher
    var waker: Waker { dispatcher.schedulerWaker }
    let logger: Logger
    let batch = 2_000
    private let lastSnapshot = Mutex<String?>(nil)

    init(dispatcher: Dispatcher, logger: Logger) {
        self.dispatcher = dispatcher
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
        var total = 0
        while true {
            let now = dispatcher.clock.now()
            let (clients, events) = try await dispatcher.store.write { [dispatcher, batch] tx -> (Int, Int) in
                let due = try tx.dueClients(upTo: now, limit: batch)
                let heads = try tx.allUsers().filter { $0.role == .head && $0.active }
                var events = 0
                for c in due { events += try dispatcher.applyDue(tx, c, upTo: now, heads: heads) }
                return (due.count, events)
            }
            total += events
            if clients < batch { break }
        }
        if total > 0 { dispatcher.eventsAppended() }
        // The first pass of each local day records the day's zone counts per manager (the daily
        // series of report.zones).
        let day = dispatcher.localDay(dispatcher.clock.now())
        if lastSnapshot.withLock({ $0 }) != day {
            _ = try await dispatcher.store.write { tx in try tx.snapshotZones(day: day) }
            lastSnapshot.withLock { $0 = day }
        }
        return total
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                do {
                    try await runDue()
                    let next = try dispatcher.store.read { try $0.earliestDue() }
                    var delay: Duration? = next.flatMap { dispatcher.clock.realDelay(until: $0) }
                    if dispatcher.clock.realDelay(until: dispatcher.clock.now()) != nil {
                        // A real clock: never sleep more than a minute (wall-clock steps).
                        delay = min(delay ?? .seconds(60), .seconds(60))
                    }
                    if let d = delay, d <= .zero { continue }
                    await waker.wait(timeout: delay)
                } catch {
                    logger.error("scheduler pass failed; retrying in 1 s", metadata: ["error": "\(error)"])
                    await waker.wait(timeout: .seconds(1))
                }
            }
        } onGracefulShutdown: {
            self.waker.wake()
        }
    }
}
