import CRMCore
import CRMProtocol
import CRMStore
import Foundation

/// `report.activity`. (Being built.)
struct ActivityReportHandlers: HandlerGroup {
    let context: ServerContext

    func reportActivity(_ call: Call) throws { throw DomainError.invalid("method", "not built yet") }
}
