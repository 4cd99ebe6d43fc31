import CRMCore
import CRMProtocol
import CRMStore
import Foundation
import Logging
import Testing

@testable import CRMServer

/// crmd without its socket: the real dispatcher, handlers, zone engine, scheduler and alert
/// deliverer over a store on a temporary file, on a manual clock. A request goes in as the
/// listener would hand it over (a decoded `Request` and the caller's uid) and its reply comes back,
/// so a rule's test runs in milliseconds. The integration tests drive the real binary.
final class InProcess {
    let dir: URL
    let store: Store
    let clock: ManualClock
    let context: ServerContext
    let dispatcher: Dispatcher
    private var nextSession = 0
    private var sessions: [UInt32: Session] = [:]

    /// A fresh database on default settings changed by `configure`; the clock starts at `start`.
    init(start: Date, configure: (inout Settings) -> Void = { _ in }) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("crmd-inprocess-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("crm.sqlite").path
        store = try Store(path: path)
        clock = ManualClock(start: start)
        var logger = Logger(label: "in-process")
        logger.logLevel = .critical
        var settings = Settings(socketPath: dir.appendingPathComponent("crmd.sock").path, databasePath: path)
        // In English, as the tests read it (the department's default is ru).
        settings.domain.language = .en
        settings.domain.claimWindowEndMinute = nil
        configure(&settings)
        context = try ServerContext(store: store, settings: settings, clock: clock, logger: logger)
        let scheduler = Scheduler(context: context, logger: logger)
        let deliverer = AlertDeliverer(context: context, logger: logger)
        dispatcher = Dispatcher(context: context, engine: EngineRunner(scheduler: scheduler, deliverer: deliverer))
    }

    deinit {
        try? store.close()
        try? FileManager.default.removeItem(at: dir)
    }

    /// Sends `method` as the process with `uid` would (uid 0: root, a built-in admin) and awaits
    /// the reply, which may come from the commit thread or a task.
    func call(_ method: String, _ params: JSONObject = [:], uid: UInt32 = 0) async -> Result<JSON, RPCError> {
        let session = sessions[uid] ?? Session(id: nextSession, uid: uid, pid: 1)
        if sessions[uid] == nil {
            sessions[uid] = session
            nextSession += 1
        }
        let request = Request(id: .int(1), method: method, params: .object(params))
        return await withCheckedContinuation { answered in
            dispatcher.handle(request, session: session) { answered.resume(returning: $0) }
        }
    }

    /// ``call(_:_:uid:)`` that must succeed; its result.
    func ok(_ method: String, _ params: JSONObject = [:], uid: UInt32 = 0) async throws -> JSON {
        try await call(method, params, uid: uid).get()
    }

    /// Adds a user with `role` who connects as `uid`; returns its id.
    @discardableResult
    func user(_ login: String, role: String, uid: UInt32) async throws -> Int64 {
        let reply = try await ok(
            "user.add", ["login": .string(login), "name": .string(login), "role": .string(role), "uid": .int(Int64(uid))])
        return try #require(reply["id"]?.intValue)
    }

}
