public import Foundation
import GRDB

extension Tx {
    /// What ingesting a message did (its reply), if this Message-ID was ingested before.
    public func ingestedMail(messageID: String) throws -> String? {
        try String.fetchOne(db, sql: "SELECT outcome FROM mail_messages WHERE message_id = ?", arguments: [messageID])
    }

    /// Records a message as ingested, with the reply it got (`outcome`, JSON).
    public func recordIngestedMail(messageID: String, at: Date, byLogin: String, mailbox: String?, outcome: String) throws {
        try exec(
            "INSERT INTO mail_messages(message_id, received_at, by_login, mailbox, outcome) VALUES (?, ?, ?, ?, ?)",
            [messageID, ms(at), byLogin, mailbox, outcome])
    }
}
