import CRMCore
import CRMProtocol
import CRMStore
import Foundation

/// `invoice.*`. (Being built.)
struct InvoiceHandlers: HandlerGroup {
    let context: ServerContext

    func invoiceCreate(_ call: Call) throws { throw DomainError.invalid("method", "not built yet") }
    func invoicePay(_ call: Call) throws { throw DomainError.invalid("method", "not built yet") }
    func invoiceList(_ call: Call) throws { throw DomainError.invalid("method", "not built yet") }
}
