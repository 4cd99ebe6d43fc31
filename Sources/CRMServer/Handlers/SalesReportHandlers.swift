import CRMCore
import CRMProtocol
import CRMStore
import Foundation

/// `report.commission`, `report.funnel`, `report.sales`, `report.completeness`. (Being built.)
struct SalesReportHandlers: HandlerGroup {
    let context: ServerContext

    func reportCommission(_ call: Call) throws { throw DomainError.invalid("method", "not built yet") }
    func reportFunnel(_ call: Call) throws { throw DomainError.invalid("method", "not built yet") }
    func reportSales(_ call: Call) throws { throw DomainError.invalid("method", "not built yet") }
    func reportCompleteness(_ call: Call) throws { throw DomainError.invalid("method", "not built yet") }
}
