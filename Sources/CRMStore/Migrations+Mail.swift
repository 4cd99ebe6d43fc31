extension Migrations {
    /// Incoming mail (issue 22): a user's own address (so crmd knows which manager wrote or was
    /// written to), what captured an interaction (`mail`; NULL for one a person typed), and the
    /// messages already ingested, by Message-ID, so a message delivered twice is logged once.
    static let v17 = """
        ALTER TABLE users ADD COLUMN email TEXT;
        CREATE UNIQUE INDEX users_email ON users(email) WHERE email IS NOT NULL;
        ALTER TABLE interactions ADD COLUMN captured TEXT;
        CREATE TABLE mail_messages(
          message_id TEXT PRIMARY KEY,
          received_at INTEGER NOT NULL,
          by_login TEXT NOT NULL,
          mailbox TEXT,
          outcome TEXT NOT NULL) WITHOUT ROWID;
        """
}
