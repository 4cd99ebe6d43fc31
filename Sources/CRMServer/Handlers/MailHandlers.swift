import CRMCore
import CRMMail
import CRMProtocol
import CRMStore
import Crypto
import Foundation

/// `mail.ingest`: the mail server hands over one message, and crmd logs it as an `email` on each
/// client it names (docs/rules.md, "Mail in").
struct MailHandlers: HandlerGroup {
    let context: ServerContext

    func mailIngest(_ call: Call) throws {
        let actor = call.actor
        guard Access.canIngestMail(actor) else {
            throw DomainError.forbidden(
                "\(actor.role.withArticle) may not hand over mail; the mail server runs `crmctl mail-in` as an operator account (docs/protocol.md, mail.ingest)."
            )
        }
        let (raw, mailbox) = try call.decode { r -> ([UInt8], String?) in
            let text = r.string("message")
            let rawMailbox = r.optionalString("mailbox")
            var bytes: [UInt8] = []
            if r.problems.isEmpty {
                if let d = Data(base64Encoded: text, options: .ignoreUnknownCharacters), !d.isEmpty {
                    bytes = Array(d)
                } else {
                    r.problem("message", "must be the raw message in base64 (crmctl mail-in encodes it)")
                }
            }
            var mailbox: String? = nil
            if let m = rawMailbox {
                mailbox = Email.normalize(m)
                if mailbox == nil { r.problem("mailbox", "'\(m.prefix(60))' is not an e-mail address like sales@example.com") }
            }
            return (bytes, mailbox)
        }
        let message: MailMessage
        do {
            message = try MailMessage(parsing: raw)
        } catch {
            throw DomainError.invalid("message", "cannot be read as an e-mail: \(error.description)")
        }
        // A message without a Message-ID is known by its bytes.
        let id =
            message.messageID.map { String($0.prefix(250)) } ?? "sha256:"
            + SHA256.hash(data: raw).map { String(format: "%02x", $0) }.joined()
        let files = Self.files(of: message)
        write(call) { [self] tx, now in
            if let stored = try tx.ingestedMail(messageID: id), case .object(var o)? = try? JSONParser.parse(stored) {
                o["duplicate"] = .bool(true)
                return .object(o)
            }
            var outcome = try ingest(tx, message, actor: actor, now: now)
            outcome["message_id"] = .string(id)
            outcome["request"] = try openRequest(tx, message, outcome, actor: actor, now: now)
            let clients = (outcome["clients"]?.arrayValue ?? []).compactMap(\.intValue)
            outcome["attachments"] = try storeFiles(tx, files, clients: clients, actor: actor, now: now)
            try tx.recordIngestedMail(
                messageID: id, at: now, byLogin: actor.login, mailbox: mailbox, outcome: JSONWriter.string(.object(outcome)))
            outcome["duplicate"] = .bool(false)
            return .object(outcome)
        }
    }

    /// A letter from an unknown sender to a department address (`requests.mail_addresses`) opens
    /// a request (source `mail`); returns its id, or null.
    func openRequest(_ tx: Tx, _ m: MailMessage, _ outcome: JSONObject, actor: Actor, now: Date) throws -> JSON {
        let department = settings.domain.requests.mailAddresses
        guard outcome["skipped"] == "unknown_sender", !department.isEmpty,
            let sender = m.from.first.flatMap({ Email.normalize($0.address) }),
            (m.to + m.cc).prefix(Capture.recipients).contains(where: { Email.normalize($0.address).map(department.contains) ?? false })
        else { return .null }
        let display = m.from.first?.name?.trimmedWhitespace ?? ""
        let text = [m.subject.trimmedWhitespace, m.text].filter { !$0.isEmpty }.joined(separator: "\n\n")
        let draft = RequestDraft(
            name: display.isEmpty ? nil : String(display.prefix(Routing.nameLength)), phone: nil, email: sender, source: "mail",
            topic: nil, text: text.isEmpty ? nil : String(text.prefix(Routing.textLength)))
        let q = try RequestHandlers(context: context).open(tx, draft, actor: actor, now: now, unmatched: true)
        return q["id"] ?? .null
    }

    /// Logs the letter on the clients it names: an incoming one (from a client's or contact's
    /// address) on the sender's clients, an outgoing one (from a user's address) on every client
    /// among To and Cc. The author is the user whose address it is — the sender of an outgoing
    /// letter; for an incoming one the client's owner when addressed to them, else the first user
    /// addressed — so the clock moves exactly as if that user had typed it (RULES §3).
    func ingest(_ tx: Tx, _ m: MailMessage, actor: Actor, now: Date) throws -> JSONObject {
        var result: JSONObject = ["direction": .null, "interactions": .array([]), "clients": .array([]), "skipped": .null]
        guard let sender = m.from.first.flatMap({ Email.normalize($0.address) }) else {
            result["skipped"] = "no_sender"
            return result
        }
        if m.isBulk {
            result["skipped"] = "bulk"
            return result
        }
        let recipients = (m.to + m.cc).prefix(Capture.recipients).compactMap { Email.normalize($0.address) }
        var recipientUsers: [User] = []
        for r in recipients where !recipientUsers.contains(where: { $0.email == r }) {
            if let u = try tx.user(email: r), u.active { recipientUsers.append(u) }
        }
        var logged: [(clientID: Int64, contactID: Int64?, author: User?)] = []
        let direction: String
        if let writer = try tx.user(email: sender), writer.active {
            direction = "out"
            for r in recipients {
                for h in try tx.emailHolders(r) where !logged.contains(where: { $0.clientID == h.clientID }) {
                    logged.append((h.clientID, h.contactID, writer))
                }
            }
        } else {
            direction = "in"
            for h in try tx.emailHolders(sender) where !logged.contains(where: { $0.clientID == h.clientID }) {
                logged.append((h.clientID, h.contactID, nil))
            }
        }
        result["direction"] = .string(direction)
        if logged.isEmpty {
            result["skipped"] = direction == "out" ? "no_client_addressed" : "unknown_sender"
            return result
        }
        let subject = m.subject.trimmedWhitespace
        var ids: [JSON] = []
        for entry in logged {
            guard let c = try tx.clientHeader(id: entry.clientID) else { continue }
            let author = entry.author ?? recipientUsers.first { $0.id == c.ownerID } ?? recipientUsers.first
            let authorActor = author.map { Actor(user: $0, role: $0.role, login: $0.login, uid: $0.uid ?? 0) } ?? actor
            let draft = InteractionDraft(
                kind: .email, occurredAt: min(m.date ?? now, now), contactID: entry.contactID,
                topic: subject.isEmpty ? nil : String(subject.prefix(Capture.topicLength)),
                result: nil, note: m.text.isEmpty ? nil : String(m.text.prefix(Capture.noteLength)), direction: direction)
            let (saved, _, _) = try storeInteraction(
                tx, c, draft, dealID: nil, actor: authorActor, auditedAs: (actor, "capture"), captured: "mail", now: now)
            ids.append(.int(saved.id))
        }
        result["interactions"] = .array(ids)
        result["clients"] = .array(logged.map { .int($0.clientID) })
        return result
    }
}
