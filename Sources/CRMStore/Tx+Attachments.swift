public import Foundation
import GRDB

/// A file attached to a deal (a sent proposal), stored in chunks inside the database so it is as
/// durable as the deal and goes with every backup.
public struct Attachment: Sendable, Equatable {
    public var id: Int64
    public var dealID: Int64
    public var name: String
    public var contentType: String
    public var size: Int64
    /// Lower-case hex SHA-256 of the whole file, as the uploader declared it; checked when the
    /// last byte arrives.
    public var sha256: String
    public var received: Int64
    public var complete: Bool
    public var byLogin: String
    public var createdAt: Date
}

extension Tx {
    static let attachmentColumns = "id, deal_id, name, content_type, size, sha256, received, complete, by_login, created_at"

    func attachment(from r: Row) -> Attachment {
        Attachment(
            id: r[0], dealID: r[1], name: r[2], contentType: r[3], size: r[4], sha256: r[5], received: r[6], complete: r[7],
            byLogin: r[8], createdAt: date(r[9] as Int64))
    }

    /// Starts an upload: the attachment exists, incomplete, with nothing received.
    public func insertAttachment(dealID: Int64, name: String, contentType: String, size: Int64, sha256: String, by: String, at: Date)
        throws -> Attachment
    {
        try exec(
            "INSERT INTO attachments(deal_id, name, content_type, size, sha256, by_login, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [dealID, name, contentType, size, sha256, by, ms(at)])
        return Attachment(
            id: lastID, dealID: dealID, name: name, contentType: contentType, size: size, sha256: sha256, received: 0, complete: false,
            byLogin: by, createdAt: at)
    }

    public func attachment(id: Int64) throws -> Attachment? {
        try row("SELECT \(Self.attachmentColumns) FROM attachments WHERE id = ?", [id]).map(attachment(from:))
    }

    /// A deal's attachments, complete or not, oldest first.
    public func attachments(dealID: Int64) throws -> [Attachment] {
        try rows("SELECT \(Self.attachmentColumns) FROM attachments WHERE deal_id = ? ORDER BY id", [dealID]).map(attachment(from:))
    }

    /// Appends a chunk at `received`; marks the attachment complete when `complete`.
    public func appendAttachmentChunk(id: Int64, at offset: Int64, _ data: Data, complete: Bool) throws {
        try exec("INSERT INTO attachment_chunks(attachment_id, offset, data) VALUES (?, ?, ?)", [id, offset, data])
        try exec(
            "UPDATE attachments SET received = ?, complete = ? WHERE id = ?", [offset + Int64(data.count), complete, id])
    }

    /// Hands every chunk of an attachment to `body` in order, one at a time (to check its
    /// checksum once complete without holding the whole file).
    public func eachAttachmentChunk(id: Int64, _ body: (Data) -> Void) throws {
        let rows = try Row.fetchCursor(
            db.cachedStatement(sql: "SELECT data FROM attachment_chunks WHERE attachment_id = ? ORDER BY offset"), arguments: [id])
        while let r = try rows.next() { body(r[0] as Data) }
    }

    /// The bytes declared by the uploads `login` made (complete or not).
    public func attachmentBytes(by login: String) throws -> Int64 {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT coalesce(sum(size), 0) FROM attachments WHERE by_login = ?"), arguments: [login])
            ?? 0
    }

    /// Up to `length` bytes of a complete attachment from `offset`.
    public func readAttachment(id: Int64, from offset: Int64, length: Int) throws -> Data {
        var out = Data()
        // The chunk holding `offset`, then the ones after it.
        let found = try rows(
            """
            SELECT offset, data FROM attachment_chunks WHERE attachment_id = ? AND offset >= coalesce(
              (SELECT max(offset) FROM attachment_chunks WHERE attachment_id = ? AND offset <= ?), 0) AND offset < ?
            ORDER BY offset
            """, [id, id, offset, offset + Int64(length)])
        for r in found {
            let start: Int64 = r[0]
            let data: Data = r[1]
            let from = max(0, Int(offset - start))
            guard from < data.count else { continue }
            out.append(data[data.startIndex + from..<data.endIndex].prefix(length - out.count))
            if out.count >= length { break }
        }
        return out
    }

    /// Drops what an unfinished upload received, so it starts over from offset 0.
    public func restartAttachment(id: Int64) throws {
        try exec("DELETE FROM attachment_chunks WHERE attachment_id = ?", [id])
        try exec("UPDATE attachments SET received = 0 WHERE id = ?", [id])
    }
}
