import CRMProtocol
import Logging

/// Request logging: each request at `debug` (method, user, duration, client, error code), and any
/// request slower than `slowRequestThreshold` at `warning`. The level is read once per request;
/// above warning the reply is passed through untouched, and no metadata is built for a request
/// that is not logged.
extension Dispatcher {
    /// A request that takes this long (a write: until its commit is durable) is logged at warning.
    static let slowRequestThreshold = Duration.seconds(1)

    /// `reply`, wrapped to log the request once it is answered.
    func loggingReply(_ request: Request, session: Session, _ reply: @escaping Reply) -> Reply {
        let level = logger.logLevel
        guard level <= .warning else { return reply }
        let debug = level <= .debug
        let started = ContinuousClock.now
        return { [self] result in
            reply(result)
            let elapsed = ContinuousClock.now - started
            let slow = elapsed >= Self.slowRequestThreshold
            guard debug || slow else { return }
            logRequest(request, session: session, result: result, elapsed: elapsed, slow: slow)
        }
    }

    private func logRequest(_ request: Request, session: Session, result: Result<JSON, RPCError>, elapsed: Duration, slow: Bool) {
        let resolved = request.method == Method.sessionActAs.rawValue ? identity.realActor(for: session) : identity.actor(for: session)
        let user = resolved?.login ?? "uid:\(session.uid)"
        let method = String(request.method.prefix(100))
        let ms = Self.milliseconds(elapsed)
        var metadata: Logger.Metadata = [
            "method": .string(method), "user": .string(user), "uid": .stringConvertible(session.uid), "duration_ms": .string(ms),
        ]
        if let id = Self.clientID(method: request.method, params: request.params) { metadata["client_id"] = .stringConvertible(id) }
        let outcome: String
        switch result {
        case .success: outcome = "ok"
        case .failure(let e):
            metadata["error_code"] = .stringConvertible(e.code)
            outcome = "error \(e.code)"
        }
        if slow {
            logger.warning("slow request: \(method) by \(user): \(outcome) in \(ms) ms", metadata: metadata)
        } else {
            logger.debug("\(method) by \(user): \(outcome) in \(ms) ms", metadata: metadata)
        }
    }

    /// The client a request is about: its `client_id` param, or `id` for a `client.*` method.
    static func clientID(method: String, params: JSON) -> Int64? {
        if case .int(let id)? = params["client_id"] { return id }
        if method.hasPrefix("client."), case .int(let id)? = params["id"] { return id }
        return nil
    }

    /// A duration in milliseconds with three decimals (`0.412`, `1250.000`).
    static func milliseconds(_ d: Duration) -> String {
        let (seconds, attoseconds) = d.components
        let micros = max(0, seconds * 1_000_000 + attoseconds / 1_000_000_000_000)
        let frac = micros % 1000
        return "\(micros / 1000)." + (frac < 10 ? "00" : frac < 100 ? "0" : "") + "\(frac)"
    }
}
