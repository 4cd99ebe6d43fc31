import CRMCore
import CRMProtocol
import CRMStore
import Foundation

/// `alert.list` and `alert.ack`: a user's own alerts.
struct AlertHandlers: HandlerGroup {
    let context: ServerContext

    func alertList(_ call: Call) throws {
        let (unacked, limit, cursor) = try call.decode { r in (r.optionalBool("unacked") ?? false, r.limit(), r.idCursor()) }
        guard let me = call.actor.user else {
            call.reply(.success(["items": .array([]), "next_cursor": .null]))
            return
        }
        try read(call) { tx, _ in
            wire.page(try tx.alerts(userID: me.id, unackedOnly: unacked, beforeID: cursor, limit: limit), AlertText.json)
        }
    }

    func alertAck(_ call: Call) throws {
        let ids = try call.decode { r -> [Int64] in
            guard let ids = r.optionalIntArray("ids") else {
                r.problem("ids", "is required (an array of alert ids)")
                return []
            }
            if ids.isEmpty || ids.count > 1000 { r.problem("ids", "must hold 1 to 1000 ids") }
            return ids
        }
        guard let me = call.actor.user else {
            call.reply(.success(["acked": 0]))
            return
        }
        let actor = call.actor
        write(call) { tx, now in
            let n = try tx.ackAlerts(userID: me.id, ids: ids, at: now)
            if n > 0 { try audit(tx, actor, "alert", nil, "ack", before: nil, after: ["ids": .array(ids.map(JSON.int))], at: now) }
            return ["acked": .int(Int64(n))]
        }
    }

}
