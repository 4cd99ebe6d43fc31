import CRMCore
import CRMProtocol
import CRMStore
import CRMText
import Foundation
import Logging

/// One request on its way through a handler.
struct Call: Sendable {
    let actor: Actor
    let session: Session
    let params: JSON
    let requestID: String?
    let method: Method
    let reply: Dispatcher.Reply

    /// Decodes params with `body`, throwing `-32602` listing every bad field.
    func decode<T>(_ body: (inout ParamReader) throws -> T) throws -> T {
        var r = ParamReader(params)
        let v = try body(&r)
        try r.finish()
        return v
    }
}

/// The handlers of one topic (`ClientHandlers`, `ExchangeHandlers`, ...). Each is given the
/// shared context and uses only what it holds; this extension names what most handlers read from
/// it (a few, such as `server.status`, read more of it as `context.…`), and how a handler reads
/// and writes.
protocol HandlerGroup: Sendable {
    var context: ServerContext { get }
}

extension HandlerGroup {
    var store: Store { context.store }
    var clock: any WallClock { context.clock }
    var settings: Settings { context.live.current.settings }
    var rules: ZoneRules { context.live.current.rules }
    var dealRules: DealRules { context.live.current.dealRules }
    var users: UserDirectory { context.users }
    var wire: Wire { context.wire }
    var engine: ZoneEngine { context.engine }
    var logger: Logger { context.logger }

    /// An instant as people read it in messages: `12.07.2026 12:00` in `zones.time_zone` (the
    /// error's `data` keeps it in RFC 3339).
    func local(_ d: Date) -> String { LocalTime.dateTime(d, settings.domain.zones.timeZone) }

    /// Text crmd writes once and everyone reads later (an automatic interaction's topic, a task
    /// it opens): said in the department's language (`language`), not the caller's.
    func stored(_ p: Phrase) -> String { p.rendered(settings.domain.language) }

    /// The language of `call`'s connection (its user's `lang`, else the client's, else
    /// `language`): what a reply's sentences for a person are said in.
    func lang(_ call: Call) -> Lang { context.identity.lang(for: call.session, fallback: settings.domain.language) }

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
        ) { [context] outcome in
            switch outcome {
            case .success(let json):
                after?(json)
                context.committed()
                call.reply(.success(json))
            case .failure(let error):
                call.reply(.failure(rpcError(error, method: method, logger: context.logger)))
            }
        }
    }
}

// Audit entries and events with JSON images, for handlers and the engine alike.

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
