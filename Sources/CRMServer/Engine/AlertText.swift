import CRMProtocol
import CRMStore

/// The wire form of an alert, written in one place.
enum AlertText {
    /// The wire form of an alert as JSON text: the `alert` event's data, the delivery command's
    /// input, and (parsed) an `alert.list` item — one definition of its shape.
    static func text(_ a: StoredAlert) -> String { text(id: a.id, rest: afterID(a)) }

    /// An alert's text from its id and ``afterID(_:)``: the scheduler writes the rest
    /// while it plans, on any core, and the id (known only when the row is stored) on the writer.
    static func text(id: Int64, rest: String) -> String { "{\"id\":\(id)," + rest.dropFirst() }

    /// The members of ``text(_:)`` after `id`, as an object's text (`{"user":…}`).
    static func afterID(_ a: StoredAlert) -> String {
        var o = JSONObjectWriter(capacity: 160 + a.message.utf8.count)
        o.add("user", a.userID)
        o.add("client_id", a.clientID)
        o.add("kind", a.kind)
        o.add("days_left", a.daysLeft)
        o.add("zone", a.zone)
        o.add("message", a.message)
        o.add("due_at", RFC3339.format(a.dueAt))
        o.add("delivered_at", a.deliveredAt.map { RFC3339.format($0) })
        o.add("acked_at", a.ackedAt.map { RFC3339.format($0) })
        if let d = a.dealID { o.add("deal_id", d) }
        if let t = a.taskID { o.add("task_id", t) }
        if let i = a.invoiceID { o.add("invoice_id", i) }
        return o.string()
    }

    /// ``text(_:)`` as a `JSON` value (crmd wrote the text, so it parses).
    static func json(_ a: StoredAlert) -> JSON { (try? JSONParser.parse(text(a))) ?? .null }
}
