extension Migrations {
    /// Calls from the PBX (issue 22): a user's extension (so crmd knows which manager took or made
    /// a call), and the calls already logged, by uniqueid (or a key made of the record), so a CDR
    /// imported twice or a hook run twice logs each call once.
    static let v19 = """
        ALTER TABLE users ADD COLUMN extension TEXT;
        CREATE UNIQUE INDEX users_extension ON users(extension) WHERE extension IS NOT NULL;
        CREATE TABLE pbx_calls(
          call_key TEXT PRIMARY KEY,
          received_at INTEGER NOT NULL,
          by_login TEXT NOT NULL,
          outcome TEXT NOT NULL) WITHOUT ROWID;
        """
}
