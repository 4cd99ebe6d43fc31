import CRMCore
import CRMProtocol
import CRMStore
import Foundation

/// `clock.advance` and `clock.set`: move the manual clock and run what fell due.
struct ClockHandlers: HandlerGroup {
    let context: ServerContext
    /// Runs the scheduler and the deliverer to completion after the clock moves.
    let runner: EngineRunner?

    func clockMove(_ call: Call) throws {
        guard let manual = clock as? ManualClock else { throw RPCError.methodNotFound(call.method.rawValue) }
        guard Access.canMoveClock(call.actor) else { throw DomainError.forbidden("Only an admin may move the test clock.") }
        let target = try call.decode { r -> Date in
            let now = manual.now()
            if call.method == .clockAdvance {
                let by = r.string("by")
                guard let d = ISODuration(by) else {
                    r.problem("by", "must be an ISO 8601 duration like P30D or PT1H")
                    return now
                }
                let target = rules.add(d, to: now)
                if target > ManualClock.latest {
                    r.problem("by", "would move the clock from \(RFC3339.format(now)) past \(ManualClock.latestExplained)")
                }
                return target
            }
            let known = r.problems.count
            guard let to = r.optionalTimestamp("to") else {
                // Missing; a `to` that is there but wrong has its own problem already.
                if r.problems.count == known { r.problem("to", "is required (an RFC 3339 timestamp)") }
                return now
            }
            if to < now { r.problem("to", "is before the clock's now (\(RFC3339.format(now))); the clock never goes back") }
            if to > ManualClock.latest { r.problem("to", "is after \(ManualClock.latestExplained)") }
            return to
        }
        manual.set(target)
        let run = runner
        let reply = call.reply
        Task {
            do {
                let applied = try await run?.run() ?? 0
                reply(.success(["now": .string(RFC3339.format(target)), "events": .int(Int64(applied))]))
            } catch {
                reply(.failure(rpcError(error, method: call.method, logger: logger)))
            }
        }
    }
}
