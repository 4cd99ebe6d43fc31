import CRMCore
import CRMProtocol
import CRMStore
import CRMText
import Foundation

/// Instants as people in the department read them: in `zones.time_zone`, `10.12.2026` and
/// `10.12.2026 14:30` (alert texts; the wire's instants stay RFC 3339).
enum LocalTime {
    static func parts(_ d: Date, _ zone: TimeZone) -> DateComponents {
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = zone
        return cal.dateComponents([.year, .month, .day, .hour, .minute], from: d)
    }

    /// `10.12.2026`.
    static func date(_ d: Date, _ zone: TimeZone) -> String {
        let p = parts(d, zone)
        return String(format: "%02d.%02d.%04d", p.day ?? 0, p.month ?? 0, p.year ?? 0)
    }

    /// `10.12.2026 14:30`.
    static func dateTime(_ d: Date, _ zone: TimeZone) -> String {
        let p = parts(d, zone)
        return date(d, zone) + String(format: " %02d:%02d", p.hour ?? 0, p.minute ?? 0)
    }

    /// A `YYYY-MM-DD` day as `10.12.2026` (kept as it is if it is not one).
    static func day(_ ymd: String) -> String {
        let f = ymd.split(separator: "-")
        guard f.count == 3 else { return ymd }
        return "\(f[2]).\(f[1]).\(f[0])"
    }
}

extension UserDirectory {
    /// The language `userID` reads alerts in: their own, else the server's (an alert outlives any
    /// connection, so a client's locale does not count).
    func lang(of userID: Int64, fallback: Lang) -> Lang { user(id: userID)?.lang ?? fallback }
}

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
