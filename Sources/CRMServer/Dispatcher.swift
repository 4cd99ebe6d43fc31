import CRMCore
public import CRMProtocol
public import CRMStore
import CRMSync
import Foundation
public import Logging

/// Turns a decoded request into a reply: resolves who is calling, checks params at the edge,
/// runs reads on the caller's thread and queues writes for group commit. One exhaustive switch
/// names the handler of every method.
public final class Dispatcher: Sendable {
    /// A reply for one request; called exactly once, possibly from the commit thread.
    public typealias Reply = @Sendable (Result<JSON, RPCError>) -> Void

    let store: Store
    /// The settings in force; a reload (SIGHUP) replaces them between requests.
    let live: LiveSettings
    var settings: Settings { live.current.settings }
    var rules: ZoneRules { live.current.rules }
    var workingHours: WorkingHours { live.current.workingHours }
    let clock: any WallClock
    let users = UserDirectory()
    let stats = ServerStats()
    let hub = Hub()
    /// Logs each durable event after its commit (a listener on the hub).
    let eventLog: EventLogger
    /// Wakes the scheduler and the alert deliverer after commits that may move their next instant.
    let schedulerWaker = Waker()
    let deliveryWaker = Waker()
    /// Runs the scheduler and the alert delivery now, to completion (for `clock.advance`).
    let engineRunner = Locked<EngineRunner?>(nil)
    /// The day's zone snapshot being recorded, if any (see ``Scheduler``).
    private let daySnapshot = Locked<Task<Void, Never>?>(nil)

    /// Records the day's zone counts in the background; ``daySnapshotSettled()`` waits for it.
    func startDaySnapshot(_ body: @escaping @Sendable () async -> Void) {
        daySnapshot.withLock { $0 = Task { await body() } }
    }

    /// Returns once no day snapshot is being recorded.
    func daySnapshotSettled() async {
        if let task = daySnapshot.withLock({ $0 }) { await task.value }
    }

    /// Runs `body` once no day snapshot is being recorded: at once when none is, else from a task
    /// after it, replying with the error `body` throws.
    func afterDaySnapshot(_ call: Call, _ body: @escaping @Sendable () throws -> Void) throws {
        guard let task = daySnapshot.withLock({ $0 }) else { return try body() }
        Task {
            await task.value
            do { try body() } catch { call.reply(.failure(rpcError(error, method: call.method))) }
        }
    }
    let startedAt: Date
    let wire: Wire
    let logger: Logger
    /// The uid crmd runs as: an admin without a user row, like root.
    let daemonUID: UInt32
    /// Backup copies waiting to be read (`server.backup`).
    let backups: Backups

    /// A dispatcher over an open store.
    public init(store: Store, settings: Settings, clock: any WallClock = SystemClock(), logger: Logger) throws {
        self.store = store
        self.live = LiveSettings(settings)
        self.clock = clock
        self.logger = logger
        self.startedAt = clock.now()
        self.daemonUID = getuid()
        self.wire = Wire(live: live, users: users)
        self.backups = Backups(databasePath: store.path, logger: logger)
        backups.removeLeftovers()
        users.reload(try store.read { try $0.allUsers() })
        eventLog = try EventLogger(store: store, users: users, logger: logger)
        hub.add(eventLog)
        store.onCommit { [hub] events in hub.recent.publish(events) }
        store.beforeClose { [weak eventLog] in eventLog?.drain() }
    }

    /// Number of open connections.
    public var openConnections: Int { stats.openConnections }

    // MARK: identity

    /// The actor for a session: its act-as user, else its uid's user or a built-in admin. `nil`
    /// when the uid is no active user, or the user acted as is no longer active (the connection
    /// has no identity until `session.act_as` is called again).
    func actor(for session: Session) -> Actor? {
        guard let real = realActor(for: session) else { return nil }
        guard let target = session.actingAsLogin else { return real }
        guard let u = users.user(login: target), u.active else { return nil }
        return Actor(user: u, role: u.role, login: u.login, uid: session.uid, actingAdmin: real.login)
    }

    /// The real (not acted-as) actor of a session: root and crmd's uid are built-in admins.
    func realActor(for session: Session) -> Actor? {
        if session.uid == 0 { return .builtinAdmin(uid: 0, login: "root") }
        if session.uid == daemonUID {
            return .builtinAdmin(uid: session.uid, login: systemLogin(uid: session.uid) ?? "uid:\(session.uid)")
        }
        guard let u = users.user(uid: session.uid), u.active else { return nil }
        return Actor(user: u, role: u.role, login: u.login, uid: session.uid)
    }

    func notAUser(_ session: Session) -> RPCError {
        if let target = session.actingAsLogin, realActor(for: session) != nil {
            return RPCError(
                code: ErrorCode.notAUser,
                message:
                    "This connection acts as '\(target)', who is no longer an active user. Call session.act_as with another login, or with no login to act as yourself again.",
                data: ["reason": "not_a_user", "acting_as": .string(target)])
        }
        return RPCError(
            code: ErrorCode.notAUser,
            message:
                "Your Unix account (uid \(session.uid)) is not a crmd user. Ask an administrator to run: crmctl user add LOGIN --name NAME --role ROLE --uid \(session.uid)",
            data: ["reason": "not_a_user", "uid": .int(Int64(session.uid))])
    }

    // MARK: dispatch

    /// Handles one request. Notifications (no id) are handled the same; the caller drops the reply.
    func handle(_ request: Request, session: Session, reply: @escaping Reply) {
        stats.request()
        let reply = loggingReply(request, session: session, reply)
        // session.act_as stays open to the real user, so a connection acting as someone who was
        // deactivated can go back to itself.
        let resolved = request.method == Method.sessionActAs.rawValue ? realActor(for: session) : actor(for: session)
        guard let actor = resolved else {
            reply(.failure(notAUser(session)))
            return
        }
        guard let method = Method(rawValue: request.method) else {
            reply(.failure(.methodNotFound(request.method)))
            return
        }
        var params = request.params
        var requestID: String? = nil
        if method.isWrite, case .object(var o) = params, let rid = o["request_id"] {
            guard case .string(let s) = rid, !s.isEmpty, s.utf8.count <= 200 else {
                reply(
                    .failure(
                        .invalidParams([FieldProblem(field: "request_id", problem: "must be a non-empty string of at most 200 bytes")])))
                return
            }
            requestID = s
            o["request_id"] = nil
            params = .object(o)
        }
        let call = Call(actor: actor, session: session, params: params, requestID: requestID, method: method, reply: reply)
        do {
            switch method {
            case .serverPing: reply(.success(["pong": true, "version": .string(crmdVersion)]))
            case .serverStatus: try serverStatus(call)
            case .serverBackup: try serverBackup(call)
            case .serverBackupRead: try serverBackupRead(call)
            case .whoami: try whoami(call)
            case .sessionActAs: try sessionActAs(call)
            case .userAdd: try userAdd(call)
            case .userList: try userList(call)
            case .userUpdate: try userUpdate(call)
            case .userDeactivate: try userDeactivate(call)
            case .clientCreate: try clientCreate(call)
            case .clientGet: try clientGet(call)
            case .clientUpdate: try clientUpdate(call)
            case .clientList: try clientList(call)
            case .clientFindByPhone: try clientFindByPhone(call)
            case .clientAssign: try clientAssign(call)
            case .clientImport: try clientImport(call)
            case .clientHistory: try clientHistory(call)
            case .interactionLog: try interactionLog(call)
            case .interactionList: try interactionList(call)
            case .contactCreate: try contactCreate(call)
            case .contactGet: try contactGet(call)
            case .contactUpdate: try contactUpdate(call)
            case .contactList: try contactList(call)
            case .contactMove: try contactMove(call)
            case .clientRelease: try clientRelease(call)
            case .clientExplain: try clientExplain(call)
            case .exchangeList: try exchangeList(call)
            case .exchangeClaim: try exchangeClaim(call)
            case .exchangePreview: try exchangePreview(call)
            case .subscribe, .unsubscribe:
                // Subscriptions belong to a connection; the connection handler answers these.
                throw RPCError(code: ErrorCode.invalidRequest, message: "\(method.rawValue) works only on a socket connection.")
            case .alertList: try alertList(call)
            case .alertAck: try alertAck(call)
            case .reportZones: try reportZones(call)
            case .clockAdvance, .clockSet: try clockMove(call)
            }
        } catch {
            reply(.failure(rpcError(error, method: method)))
        }
    }

    /// Maps any failure to a wire error; unknown failures are logged and reported as internal.
    func rpcError(_ error: any Error, method: Method) -> RPCError {
        if let e = error as? RPCError { return e }
        if let e = error as? DomainError { return e.rpc }
        if let message = storageFailureMessage(error) {
            logger.error("storage failure", metadata: ["method": "\(method.rawValue)", "error": "\(error)"])
            return RPCError(code: ErrorCode.internalError, message: message, data: ["reason": "storage"])
        }
        logger.error("internal error", metadata: ["method": "\(method.rawValue)", "error": "\(error)"])
        return RPCError(
            code: ErrorCode.internalError,
            message: "Internal error in \(method.rawValue); it was logged. Retry, and report it if it persists.")
    }

    /// One request on its way through a handler.
    struct Call: Sendable {
        let actor: Actor
        let session: Session
        let params: JSON
        let requestID: String?
        let method: Method
        let reply: Reply

        /// Decodes params with `body`, throwing `-32602` listing every bad field.
        func decode<T>(_ body: (inout ParamReader) throws -> T) throws -> T {
            var r = ParamReader(params)
            let v = try body(&r)
            try r.finish()
            return v
        }
    }

    /// Runs a read on a snapshot and replies now.
    func read(_ call: Call, _ body: (Tx, Date) throws -> JSON) throws {
        let now = clock.now()
        let result = try store.read { tx in try body(tx, now) }
        call.reply(.success(result))
    }

    /// Queues a write for group commit and replies once it is durable. With a `request_id`, a
    /// retry finds the stored first answer and writes nothing but what `replayed` writes (given
    /// the stored answer). `after` runs once the reply (first or stored) is durable, before it is
    /// sent.
    func write(
        _ call: Call, _ mode: GroupCommitter.WriteMode = .grouped, after: (@Sendable (JSON) -> Void)? = nil,
        replayed: (@Sendable (Tx, Date, JSON) throws -> Void)? = nil, _ body: @escaping @Sendable (Tx, Date) throws -> JSON
    ) {
        let clock = self.clock
        let requestID = call.requestID
        let key = call.actor.userID.map { "user:\($0)" } ?? "uid:\(call.actor.uid)"
        let method = call.method
        store.write(
            mode,
            { tx -> JSON in
                if let rid = requestID, let stored = try tx.processedRequest(actor: key, requestID: rid) {
                    guard stored.method == method.rawValue else {
                        throw RPCError.invalidParams([
                            FieldProblem(
                                field: "request_id",
                                problem: "'\(rid)' was already used for \(stored.method); use a new id for each operation")
                        ])
                    }
                    let reply = try JSONParser.parse(stored.response)
                    try replayed?(tx, clock.now(), reply)
                    return reply
                }
                let now = clock.now()
                let result = try body(tx, now)
                if let rid = requestID {
                    try tx.rememberResponse(
                        actor: key, requestID: rid, method: method.rawValue, response: JSONWriter.string(result), at: now)
                }
                return result
            }
        ) { [self] outcome in
            switch outcome {
            case .success(let json):
                after?(json)
                schedulerWaker.wake()
                deliveryWaker.wake()
                eventsAppended()
                call.reply(.success(json))
            case .failure(let error):
                call.reply(.failure(rpcError(error, method: method)))
            }
        }
    }

    /// Appends an audit entry with JSON images.
    func audit(_ tx: Tx, _ actor: Actor, _ entity: String, _ id: Int64?, _ action: String, before: JSON?, after: JSON?, at: Date) throws {
        try tx.audit(
            actor, entity: entity, id: id, action: action, before: before.map(JSONWriter.string), after: after.map(JSONWriter.string),
            at: at)
    }

    /// Records an event in the durable log.
    func event(_ tx: Tx, _ topic: String, clientID: Int64?, ownerID: Int64?, previousOwnerID: Int64? = nil, _ data: JSON, at: Date) throws {
        try event(tx, topic, clientID: clientID, ownerID: ownerID, previousOwnerID: previousOwnerID, text: JSONWriter.string(data), at: at)
    }

    /// Records an event whose data is already JSON text.
    func event(
        _ tx: Tx, _ topic: String, clientID: Int64?, ownerID: Int64?, previousOwnerID: Int64? = nil, text: String, at: Date
    ) throws {
        try tx.appendEvent(topic: topic, clientID: clientID, ownerID: ownerID, previousOwnerID: previousOwnerID, data: text, at: at)
    }
}

/// The login of a system account, if any.
func systemLogin(uid: UInt32) -> String? {
    guard let pw = getpwuid(uid), let name = pw.pointee.pw_name else { return nil }
    return String(cString: name)
}

/// The uid of a system account, if any.
func systemUID(login: String) -> UInt32? {
    guard let pw = getpwnam(login) else { return nil }
    return pw.pointee.pw_uid
}

/// Runs the scheduler and the alert delivery to completion, as a reference: a bare closure in a
/// generic lock grows a thunk chain at every read (see CRMStore's `CommitHook`).
final class EngineRunner: Sendable {
    let run: @Sendable () async throws -> Int
    init(_ run: @escaping @Sendable () async throws -> Int) { self.run = run }
}
