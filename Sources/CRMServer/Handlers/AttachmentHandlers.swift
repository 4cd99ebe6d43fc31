import CRMCore
import CRMProtocol
import CRMStore
import Crypto
import Foundation

/// `deal.attach`, `deal.attach_write`, `deal.attachment_read`: files on a deal (a sent
/// proposal), uploaded and read in chunks of at most 512 KiB of base64 like
/// `server.backup_read`, stored in the database so they are as durable as the deal and go with
/// every backup. Visible to those who may see the deal.
struct AttachmentHandlers: HandlerGroup {
    let context: ServerContext

    /// The most bytes one chunk carries (before base64).
    static let chunkBytes = 512 << 10

    func attachmentDeal(_ tx: Tx, _ a: Attachment, _ actor: Actor, write: Bool) throws -> Deal {
        guard let d = try tx.deal(id: a.dealID) else { throw DomainError.notFound("deal", a.dealID) }
        let allowed = write ? Access.canWorkDeal(actor, ownerID: d.ownerID) : Access.canSeeDeal(actor, ownerID: d.ownerID)
        guard allowed else {
            throw DomainError(
                .forbidden, "\(actor.role.withArticle) may not \(write ? "attach files to" : "read the files of") deal \(d.id).",
                details: [("deal_id", .int(d.id))])
        }
        return d
    }

    func dealAttach(_ call: Call) throws {
        let actor = call.actor
        let limits = settings.domain.deals
        let (dealID, name, type, size, sha) = try call.decode { r -> (Int64, String, String, Int64, String) in
            let dealID = r.int("deal_id")
            let name = r.string("name")
            if !AttachmentName.isValid(name) {
                r.problem("name", "must be a file name (no '/', at most 255 characters)")
            }
            let type = r.optionalString("content_type") ?? "application/octet-stream"
            if type.count > 100 || !type.contains("/") { r.problem("content_type", "must be a MIME type like application/pdf") }
            let size = r.int("size")
            if size < 1 || size > Int64(limits.maxAttachmentBytes) {
                r.problem("size", "must be 1 to \(limits.maxAttachmentBytes) bytes (deals.max_attachment_bytes)")
            }
            let sha = r.string("sha256").lowercased()
            if sha.count != 64 || !sha.allSatisfy(\.isHexDigit) { r.problem("sha256", "must be the file's SHA-256 as 64 hex digits") }
            return (dealID, name, type, size, sha)
        }
        write(call) { [self] tx, now in
            guard let d = try tx.deal(id: dealID) else { throw DomainError.notFound("deal", dealID) }
            guard Access.canWorkDeal(actor, ownerID: d.ownerID) else {
                throw DomainError.forbidden("\(actor.role.withArticle) may not attach files to deal \(d.id): it is not theirs.")
            }
            if try tx.attachments(dealID: d.id).count >= limits.maxAttachmentsPerDeal {
                throw DomainError(
                    .limitReached, "Deal \(d.id) has \(limits.maxAttachmentsPerDeal) attachments already (deals.max_attachments_per_deal).")
            }
            let used = try tx.attachmentBytes(by: actor.login)
            if used + size > limits.maxAttachmentBytesPerUser {
                throw DomainError(
                    .limitReached,
                    "Your attachments take \(used) bytes of \(limits.maxAttachmentBytesPerUser) (deals.max_attachment_bytes_per_user); this one of \(size) does not fit. Ask an admin.",
                    details: [("kind", .string("attachment_bytes")), ("used", .int(used))])
            }
            let a = try tx.insertAttachment(dealID: d.id, name: name, contentType: type, size: size, sha256: sha, by: actor.login, at: now)
            let json = wire.attachment(a)
            try audit(tx, actor, "deal", d.id, "attach", before: nil, after: json, at: now)
            return json
        }
    }

    func dealAttachWrite(_ call: Call) throws {
        let actor = call.actor
        let (id, offset, data) = try call.decode { r -> (Int64, Int64, Data) in
            let id = r.int("id")
            let offset = r.int("offset")
            let text = r.string("data")
            var data = Data()
            if text.utf8.count > (Self.chunkBytes / 3 + 1) * 4 {
                r.problem("data", "must be at most 512 KiB once decoded; send the file in more chunks")
            } else if let d = Data(base64Encoded: text) {
                if d.count > Self.chunkBytes {
                    r.problem("data", "must be at most 512 KiB once decoded; send the file in more chunks")
                }
                data = d
            } else {
                r.problem("data", "must be base64")
            }
            return (id, offset, data)
        }
        write(call) { [self] tx, now in
            guard var a = try tx.attachment(id: id) else { throw DomainError.notFound("attachment", id) }
            _ = try attachmentDeal(tx, a, actor, write: true)
            guard !a.complete else { throw DomainError(.conflict, "Attachment \(id) is complete already.") }
            // Offset 0 on an unfinished upload starts it over (after a failed checksum, or a
            // client that lost its place): the chunks received so far are dropped.
            if offset == 0 && a.received > 0 {
                try tx.restartAttachment(id: id)
                a.received = 0
            }
            guard offset == a.received else {
                throw DomainError(
                    .conflict, "Attachment \(id) has \(a.received) bytes; send the chunk at offset \(a.received), not \(offset).",
                    details: [("received", .int(a.received))])
            }
            guard a.received + Int64(data.count) <= a.size else {
                throw DomainError.invalid("data", "goes past the declared size of \(a.size) bytes")
            }
            let complete = a.received + Int64(data.count) == a.size
            if complete {
                var hash = SHA256()
                try tx.eachAttachmentChunk(id: id) { hash.update(data: $0) }
                hash.update(data: data)
                let hex = hash.finalize().map { String(format: "%02x", $0) }.joined()
                guard hex == a.sha256 else {
                    throw DomainError(
                        .validationFailed,
                        "The file's SHA-256 is \(hex), not the \(a.sha256) declared: a chunk was lost or changed. Send the file again from offset 0.",
                        fields: [("sha256", "does not match the bytes received")])
                }
            }
            try tx.appendAttachmentChunk(id: id, at: offset, data, complete: complete)
            a.received += Int64(data.count)
            a.complete = complete
            _ = now
            return wire.attachment(a)
        }
    }

    func dealAttachmentRead(_ call: Call) throws {
        let actor = call.actor
        let (id, offset) = try call.decode { r in (r.int("id"), r.optionalInt("offset") ?? 0) }
        try read(call) { tx, _ in
            guard let a = try tx.attachment(id: id) else { throw DomainError.notFound("attachment", id) }
            _ = try attachmentDeal(tx, a, actor, write: false)
            guard a.complete else {
                throw DomainError(.conflict, "Attachment \(id) is still being uploaded (\(a.received) of \(a.size) bytes).")
            }
            guard offset >= 0, offset <= a.size else { throw DomainError.invalid("offset", "must be 0 to \(a.size)") }
            let data = try tx.readAttachment(id: id, from: offset, length: Self.chunkBytes)
            let next = offset + Int64(data.count)
            return [
                "data": .string(data.base64EncodedString()), "offset": .int(offset), "next_offset": .int(next),
                "eof": .bool(next >= a.size),
                "attachment": wire.attachment(a),
            ]
        }
    }
}

extension Wire {
    func attachment(_ a: Attachment) -> JSON {
        [
            "id": .int(a.id), "deal_id": .int(a.dealID), "name": .string(a.name), "content_type": .string(a.contentType),
            "size": .int(a.size), "sha256": .string(a.sha256), "received": .int(a.received), "complete": .bool(a.complete),
            "by_login": .string(a.byLogin), "created_at": time(a.createdAt),
        ]
    }
}
