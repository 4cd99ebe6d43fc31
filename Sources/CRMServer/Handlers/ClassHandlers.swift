import CRMCore
import CRMProtocol
import CRMStore
import Foundation

/// `abc.compute`: the ABC/XYZ computation on demand (the scheduler runs it monthly).
struct ClassHandlers: HandlerGroup {
    let context: ServerContext

    /// Computes this month's classes now and answers with the counts per class, how many
    /// clients changed and the time it took. A computation already running (the schedule's, or
    /// another caller's) finishes first; this one then computes again, which stores the same
    /// classes unless deals were won meanwhile. No params.
    func abcCompute(_ call: Call) throws {
        guard Access.canComputeClasses(call.actor) else {
            throw DomainError.forbidden(
                "Only an admin, a head or a director may compute the ABC/XYZ classes; crmd computes them itself each month.")
        }
        try call.decode { _ in }
        let actor = call.actor
        let login = actor.login
        let context = self.context
        let reply = call.reply
        Task {
            do {
                let now = context.clock.now()
                let outcome = try await context.classes.run(context, now: now, by: login)
                let summary = ClassEngine.summary(outcome, by: login)
                try await context.store.write { tx in
                    try audit(tx, actor, "classes", nil, "abc.compute", before: nil, after: summary, at: now)
                }
                reply(.success(summary))
            } catch {
                reply(.failure(rpcError(error, method: call.method, logger: context.logger)))
            }
        }
    }
}

extension ClassHandlers {
    /// A client's class history on its card: newest month first.
    static func history(_ rows: [ClassHistoryRow], wire: Wire) -> JSON {
        .array(
            rows.map { h in
                [
                    "month": .string(h.month), "abc": .string(h.abc), "xyz": .string(h.xyz), "revenue": .int(h.revenue),
                    "revenue_text": wire.amountText(h.revenue), "cv_percent": .string(percent(h.cvBP)),
                ]
            })
    }

    /// Basis points as a percent with two decimals: 1234 → "12.34".
    static func percent(_ bp: Int64) -> String {
        let v = bp.magnitude
        return "\(bp < 0 ? "-" : "")\(v / 100).\(v % 100 < 10 ? "0" : "")\(v % 100)"
    }
}
