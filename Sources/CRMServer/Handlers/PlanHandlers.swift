import CRMCore
import CRMProtocol
import CRMStore
import Foundation

/// `plan.*` and `report.plan`. (Being built.)
struct PlanHandlers: HandlerGroup {
    let context: ServerContext

    func planSet(_ call: Call) throws { throw DomainError.invalid("method", "not built yet") }
    func planGet(_ call: Call) throws { throw DomainError.invalid("method", "not built yet") }
    func planList(_ call: Call) throws { throw DomainError.invalid("method", "not built yet") }
    func planProgress(_ call: Call) throws { throw DomainError.invalid("method", "not built yet") }
    func reportPlan(_ call: Call) throws { throw DomainError.invalid("method", "not built yet") }
}
