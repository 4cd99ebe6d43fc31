import CRMCore
import CRMMail
import CRMProtocol
import CRMStore
import Crypto
import Foundation

/// The files a letter carries, stored as attachments of the deal it is about (issue 22,
/// docs/rules.md "Mail in"): the most recent open deal of the clients the letter was logged on,
/// within the bounds `deal.attach` has. A file that cannot be stored is listed with the reason;
/// the letter is logged all the same.
extension MailHandlers {
    /// A file of the letter, named, typed and hashed outside the write transaction.
    struct LetterFile: Sendable {
        var name: String
        var contentType: String
        var data: Data
        var sha256: String
    }

    /// The letter's files (parts attached with a name or as `attachment`; nameless inline parts
    /// such as an HTML letter's logo are not files), with safe names.
    static func files(of m: MailMessage) -> [LetterFile] {
        m.attachments.filter(\.isFile).map { a in
            let type = a.contentType.count <= 100 && a.contentType.contains("/") ? a.contentType : "application/octet-stream"
            return LetterFile(
                name: AttachmentName.sanitized(a.filename), contentType: type, data: Data(a.data),
                sha256: SHA256.hash(data: a.data).map { String(format: "%02x", $0) }.joined())
        }
    }

    /// Stores `files` on the most recent open deal of `clients` (the deal opened last), charged to
    /// the deal owner's quota. Returns one entry per file: `{id, name, bytes, deal_id}` when
    /// stored, `{name, skipped}` when not (`no_client`, `no_open_deal`, `empty`, `too_large`,
    /// `quota`, `deal_full`).
    func storeFiles(_ tx: Tx, _ files: [LetterFile], clients: [Int64], actor: Actor, now: Date) throws -> JSON {
        guard !files.isEmpty else { return [] }
        var deal: Deal? = nil
        for c in clients {
            if let d = try tx.openDeals(clientID: c).last, d.id > deal?.id ?? 0 { deal = d }
        }
        let limits = settings.domain.deals
        let owner = try deal?.ownerID.flatMap { try tx.user(id: $0) }
        let payer = owner?.login ?? actor.login
        var count = try deal.map { try tx.attachments(dealID: $0.id).count } ?? 0
        var out: [JSON] = []
        for f in files {
            func skipped(_ reason: String) -> JSON { ["name": .string(f.name), "skipped": .string(reason)] }
            guard let d = deal else {
                out.append(skipped(clients.isEmpty ? "no_client" : "no_open_deal"))
                continue
            }
            let size = Int64(f.data.count)
            if size == 0 {
                out.append(skipped("empty"))
            } else if size > Int64(limits.maxAttachmentBytes) {
                out.append(skipped("too_large"))
            } else if try tx.attachmentBytes(by: payer) + size > limits.maxAttachmentBytesPerUser {
                out.append(skipped("quota"))
            } else if count >= limits.maxAttachmentsPerDeal {
                out.append(skipped("deal_full"))
            } else {
                var a = try tx.insertAttachment(
                    dealID: d.id, name: f.name, contentType: f.contentType, size: size, sha256: f.sha256, by: payer, at: now)
                var offset = 0
                while offset < f.data.count {
                    let end = min(offset + AttachmentHandlers.chunkBytes, f.data.count)
                    try tx.appendAttachmentChunk(
                        id: a.id, at: Int64(offset), f.data.subdata(in: offset..<end), complete: end == f.data.count)
                    offset = end
                }
                a.received = size
                a.complete = true
                count += 1
                try audit(tx, actor, "deal", d.id, "attach", before: nil, after: wire.attachment(a), at: now)
                out.append(["id": .int(a.id), "name": .string(f.name), "bytes": .int(size), "deal_id": .int(d.id)])
            }
        }
        return .array(out)
    }
}
