import CRMCore
import CRMProtocol
public import CRMStore
import CRMSync
import Foundation
public import Logging

/// What crmd's parts share, made once at start and handed to each of them: the store, the
/// settings in force, the clock, the users, the live-event hub and the zone engine. The
/// dispatcher, the handlers, the scheduler, the alert deliverer and the listener are given it;
/// none of them reaches into another for these.
public final class ServerContext: Sendable {
    let store: Store
    /// The settings in force; a reload (SIGHUP) replaces them between requests.
    let live: LiveSettings
    let clock: any WallClock
    let users = UserDirectory()
    /// Who a connection's uid is (built-in admins, users, `session.act_as`).
    let identity: Identity
    let hub = Hub()
    /// The zone rules applied to stored clients (handlers start cycles, the scheduler applies).
    let engine: ZoneEngine
    /// The deal cadence and task engine the scheduler runs beside the zones.
    let work: WorkEngine
    /// The ABC/XYZ computation (the scheduler's monthly run and `abc.compute`).
    let classes = ClassEngine()
    /// Wakes the scheduler and the alert deliverer after commits that may move their next instant.
    let schedulerWaker = Waker()
    let deliveryWaker = Waker()
    /// The day's zone snapshot being recorded, if any (the scheduler starts it, reports wait).
    let daySnapshot = DaySnapshot()
    /// Live figures for `server.status`.
    let stats = ServerStats()
    let wire: Wire
    let logger: Logger
    let startedAt: Date
    /// Logs each durable event after its commit (a listener on the hub).
    let eventLog: EventLogger

    /// The shared parts over an open store: the users are loaded, the hub hears every commit and
    /// the event log drains before the store closes.
    public init(store: Store, settings: Settings, clock: any WallClock = SystemClock(), logger: Logger) throws {
        self.store = store
        self.live = LiveSettings(settings)
        self.clock = clock
        self.logger = logger
        self.startedAt = clock.now()
        self.identity = Identity(users: users, daemonUID: getuid())
        self.engine = ZoneEngine(live: live, users: users, daemonUID: identity.daemonUID)
        self.work = WorkEngine(live: live, users: users)
        self.wire = Wire(live: live, users: users)
        users.reload(try store.read { try $0.allUsers() })
        eventLog = try EventLogger(store: store, users: users, logger: logger)
        hub.add(eventLog)
        store.onCommit { [hub] events in hub.recent.publish(events) }
        store.beforeClose { [weak eventLog] in eventLog?.drain() }
    }

    var settings: Settings { live.current.settings }

    /// After a commit that may have recorded events or moved a client's clock: wakes the
    /// scheduler, the deliverer and the subscribers.
    func committed() {
        schedulerWaker.wake()
        deliveryWaker.wake()
        hub.notify()
    }
}

/// The day's zone snapshot being recorded in the background: the scheduler starts it, and the
/// next pass and `report.zones` wait for it.
final class DaySnapshot: Sendable {
    private let running = Locked<Task<Void, Never>?>(nil)

    /// Records the day's zone counts in the background; ``settled()`` waits for it.
    func start(_ body: @escaping @Sendable () async -> Void) {
        running.withLock { $0 = Task { await body() } }
    }

    /// Returns once no day snapshot is being recorded.
    func settled() async {
        if let task = running.withLock({ $0 }) { await task.value }
    }

    /// Runs `body` once no day snapshot is being recorded: at once when none is, else from a task
    /// after it, replying with the error `body` throws.
    func after(_ call: Call, logger: Logger, _ body: @escaping @Sendable () throws -> Void) throws {
        guard let task = running.withLock({ $0 }) else { return try body() }
        Task {
            await task.value
            do { try body() } catch { call.reply(.failure(rpcError(error, method: call.method, logger: logger))) }
        }
    }
}
