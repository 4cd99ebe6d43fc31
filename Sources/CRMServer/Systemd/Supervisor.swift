import CRMStore
import CRMSync
import Foundation
import Logging
public import ServiceLifecycle
import UnixSignals

/// crmd's side of being supervised by systemd, as a Service.
///
/// - `READY=1` when it starts: the group starts it only after migrations, catch-up and the
///   listener are done.
/// - `STATUS=` with live figures (clients per zone, on the exchange, connections).
/// - `WATCHDOG=1` only after the scheduler has answered a probe (a batch or pass through the
///   store's write path) and the store has answered a read, so a stuck engine is restarted;
///   there is no side timer that pings while the engine hangs.
/// - `RELOADING=1` … `READY=1` around a reload of the settings on SIGHUP.
/// - `STOPPING=1` when shutdown begins.
///
/// Without systemd every message is a no-op, and SIGHUP still reloads.
public final class Supervisor: Service, Sendable {
    /// Reloads the settings; returns a line for the log and status, or throws why not.
    public typealias Reload = @Sendable () async throws -> String

    let context: ServerContext
    let scheduler: Scheduler
    let reload: Reload
    let logger: Logger
    /// Zone counts are a scan of the clients table: recounted only when a client was created or
    /// the event log moved (and every ten minutes, as time alone moves clients between zones).
    private let counts = Locked<(version: [Int64], at: ContinuousClock.Instant, counts: ZoneCounts)?>(nil)

    /// A failed reload stays in the status until a reload succeeds (the file is still wrong).
    private let failedReload = Locked<String?>(nil)

    init(context: ServerContext, scheduler: Scheduler, reload: @escaping Reload, logger: Logger) {
        self.context = context
        self.scheduler = scheduler
        self.reload = reload
        self.logger = logger
    }

    /// The one-line status systemd shows (`systemctl status crmd`).
    func statusLine() throws -> String {
        let (version, now) = try context.store.read { tx in (try tx.zoneCountsVersion(), context.clock.now()) }
        let cached = counts.withLock { $0 }
        let c: ZoneCounts
        if let cached, cached.version == version, ContinuousClock.now - cached.at < .seconds(600) {
            c = cached.counts
        } else {
            c = try context.store.read { try $0.zoneCounts(now: now) }
            counts.withLock { $0 = (version, .now, c) }
        }
        var line =
            "serving \(c.total) clients: \(c.green) green, \(c.yellow) yellow, \(c.red) red, \(c.exchange) on the exchange; \(context.stats.openConnections) connections"
        if let e = scheduler.lastError.withLock({ $0 }) { line = "scheduler failing: \(e); " + line }
        if let r = failedReload.withLock({ $0 }) { line += " (\(r))" }
        return line
    }

    /// While crmd catches up after downtime (before READY=1): every few seconds, if the scheduler
    /// made progress, tells systemd so (STATUS=, EXTEND_TIMEOUT_USEC=, WATCHDOG=1), so a long
    /// catch-up is not mistaken for a hang. Runs until cancelled.
    func watchStartup() async {
        guard Systemd.supervised else { return }
        Systemd.notify("STATUS=starting: applying what fell due while crmd was down")
        var seen = scheduler.recorded.load(ordering: .relaxed)
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(2))
            if Task.isCancelled { return }
            let n = scheduler.recorded.load(ordering: .relaxed)
            guard n != seen else { continue }
            seen = n
            Systemd.notify(
                "STATUS=starting: caught up \(n) zone changes, reminders and releases so far\nEXTEND_TIMEOUT_USEC=30000000\nWATCHDOG=1")
        }
    }

    public func run() async throws {
        let status = (try? statusLine()) ?? "serving"
        Systemd.notify("READY=1\nSTATUS=\(status)")
        logger.info("ready", metadata: ["status": "\(status)"])
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.reloadOnHangup() }
                if let interval = Systemd.watchdogInterval() {
                    group.addTask { await self.watchdog(interval: interval) }
                } else if Systemd.supervised {
                    group.addTask { await self.refreshStatus(every: .seconds(10)) }
                }
                try? await gracefulShutdown()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            Systemd.notify("STOPPING=1\nSTATUS=stopping: finishing requests in flight")
            self.logger.info("stopping")
        }
    }

    /// Pings the watchdog every third of its interval, each time only after the scheduler and the
    /// store answered within that third.
    func watchdog(interval: Duration) async {
        let period = interval / 3
        var failing = false
        while !Task.isCancelled {
            let started = ContinuousClock.now
            if await scheduler.probe(within: period), !Task.isShuttingDownGracefully, let line = try? statusLine() {
                Systemd.notify("WATCHDOG=1\nSTATUS=\(line)")
                if failing { logger.notice("scheduler answers the watchdog again") }
                failing = false
            } else if !failing {
                failing = true
                logger.critical(
                    "scheduler or store did not answer within \(period); not pinging the watchdog (systemd restarts crmd after \(interval))"
                )
            }
            try? await Task.sleep(until: started + period)
        }
    }

    func refreshStatus(every period: Duration) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: period)
            if let line = try? statusLine() { Systemd.notify("STATUS=\(line)") }
        }
    }

    func reloadOnHangup() async {
        for await _ in await UnixSignalsSequence(trapping: .sighup) {
            if Task.isCancelled { return }
            var ts = timespec()
            clock_gettime(CLOCK_MONOTONIC, &ts)
            let usec = UInt64(ts.tv_sec) * 1_000_000 + UInt64(ts.tv_nsec) / 1_000
            Systemd.notify("RELOADING=1\nMONOTONIC_USEC=\(usec)\nSTATUS=reloading settings")
            let outcome: String
            do {
                outcome = try await reload()
                failedReload.withLock { $0 = nil }
                logger.notice("settings reloaded", metadata: ["outcome": "\(outcome)"])
            } catch {
                outcome = "reload failed, the previous settings stay in force: \(error)"
                failedReload.withLock { $0 = String(outcome.prefix(200)) }
                logger.error("settings not reloaded; the previous settings stay in force", metadata: ["error": "\(error)"])
            }
            var line = (try? statusLine()) ?? "serving"
            if failedReload.withLock({ $0 }) == nil { line += " (\(outcome.prefix(200)))" }
            Systemd.notify("READY=1\nSTATUS=\(line)")
        }
    }
}
