import CRMCore
import CRMProtocol
import CRMStore
import CRMText
import Foundation

/// Telling the client (issue 22 part 4; docs/rules.md "Telling the client"): a message rendered
/// from a template and stored in the outbox in the transaction of the step that caused it (a
/// request taken, a deal moved to a `notify.stages` stage); the deliverer hands it to
/// `notify.delivery_command`. And `notification.list`.
struct NotifyHandlers: HandlerGroup {
    let context: ServerContext

    /// What a message is about.
    struct Subject {
        var kind: NotifyTemplateKind
        var client: Client
        var manager: User?
        var dealID: Int64?
        var dealTitle: String?
        var stage: String?
        var request: InboundRequest?
    }

    /// Stores the message about `s` (or its skip, with the reason). Nothing when no
    /// `notify.delivery_command` is set: clients are then told nothing.
    func queue(_ tx: Tx, _ s: Subject, now: Date) throws {
        guard settings.notifyCommand != nil else { return }
        let domain = settings.domain
        let contacts = try tx.contacts(clientID: s.client.id, limit: 100).items
        var candidates: [(emails: [String], phones: [String], optOut: Bool)] = []
        if let q = s.request {
            let emails = q.email.map { [$0] } ?? []
            let phones = q.phone.map { [$0] } ?? []
            // The request's own address first; a contact who holds it and opted out is honoured.
            let optedOut = contacts.contains { k in
                k.optOut && (emails.contains { k.emails.contains($0) } || phones.contains { k.phones.contains($0) })
            }
            candidates.append((emails, phones, optedOut))
        }
        candidates.append((s.client.emails, s.client.phones, false))
        for k in contacts { candidates.append((k.emails, k.phones, k.optOut)) }
        let address = NotifyAddress.choose(clientOptOut: s.client.optOut, candidates: candidates)
        let lang = domain.language
        var phone = domain.notify.phone.map(groupedPhone)
        if let phone0 = phone, let m = s.manager, let ext = try tx.userExtension(id: m.id) {
            phone = Phrase("\(phone0) ext. \(ext)").rendered(lang)
        }
        let values: [String: String] = [
            "client_name": s.client.name, "manager_name": s.manager?.name ?? "", "manager_phone": phone ?? "",
            "deal_title": s.dealTitle ?? "", "stage": s.stage ?? "", "request_id": s.request.map { String($0.id) } ?? "",
        ]
        let (subject, text) = domain.notify.templates.template(s.kind, lang).render(values)
        var n = StoredNotification(
            template: s.kind.rawValue, clientID: s.client.id, dealID: s.dealID, requestID: s.request?.id, managerID: s.manager?.id,
            channel: nil, recipient: nil, subject: subject, text: text, status: .pending, reason: nil, nextAt: now, createdAt: now)
        switch address {
        case .email(let e): (n.channel, n.recipient) = ("email", e)
        case .sms(let p): (n.channel, n.recipient) = ("sms", p)
        case .skipped(let reason):
            n.status = .skipped
            n.reason = reason
            n.nextAt = nil
        }
        n.id = try tx.insertNotification(n)
        try event(tx, "notification.queued", clientID: s.client.id, ownerID: s.manager?.id, wire.notification(n), at: now)
    }

    func notificationList(_ call: Call) throws {
        let actor = call.actor
        guard Access.canListNotifications(actor) else {
            throw DomainError.forbidden("\(actor.role.withArticle) may not list the messages sent to clients.")
        }
        let (filter, cursor, limit) = try call.decode { r -> (NotificationFilter, Int64?, Int) in
            var f = NotificationFilter()
            f.clientID = r.optionalInt("client_id")
            f.dealID = r.optionalInt("deal_id")
            f.requestID = r.optionalInt("request_id")
            f.status = r.optionalEnum("status", StoredNotification.Status.allCases.map(\.rawValue))
                .flatMap(StoredNotification.Status.init(rawValue:))
            return (f, r.idCursor(), r.limit())
        }
        try read(call) { tx, _ in
            var f = filter
            if !Access.seesAllNotifications(actor) { f.ownerID = actor.userID ?? -1 }
            return wire.page(try tx.notifications(f, beforeID: cursor, limit: limit), wire.notification)
        }
    }
}

extension Wire {
    /// A message to a client as the wire (and the delivery command's stdin) shows it.
    func notification(_ n: StoredNotification) -> JSON {
        [
            "id": .int(n.id), "template": .string(n.template), "channel": .string(n.channel), "to": .string(n.recipient),
            "subject": .string(n.subject), "text": .string(n.text), "client_id": .int(n.clientID),
            "deal_id": n.dealID.map { .int($0) } ?? .null, "request_id": n.requestID.map { .int($0) } ?? .null,
            "manager": n.managerID.map { .int($0) } ?? .null, "status": .string(n.status.rawValue), "reason": .string(n.reason),
            "attempts": .int(Int64(n.attempts)), "last_error": .string(n.lastError), "next_attempt": time(n.nextAt),
            "created_at": time(n.createdAt), "sent_at": time(n.sentAt),
        ]
    }
}
