extension Migrations {
    /// Marketing channels with their tracking numbers (a number names one channel) and the spend
    /// entered per period; every incoming call the PBX reports (report.channels counts them); the
    /// channel a client came through (first tracked call), which its won deals count for.
    static let v10 = """
        CREATE TABLE channels(
          id INTEGER PRIMARY KEY,
          name TEXT NOT NULL,
          name_fold TEXT NOT NULL UNIQUE,
          margin_bp INTEGER,
          archived INTEGER NOT NULL DEFAULT 0,
          created_at INTEGER NOT NULL,
          updated_at INTEGER NOT NULL);

        CREATE TABLE channel_phones(
          phone TEXT PRIMARY KEY,
          channel_id INTEGER NOT NULL REFERENCES channels(id),
          position INTEGER NOT NULL) WITHOUT ROWID;
        CREATE INDEX channel_phones_channel ON channel_phones(channel_id, position);

        CREATE TABLE channel_spend(
          channel_id INTEGER NOT NULL REFERENCES channels(id),
          period TEXT NOT NULL,
          starts_at INTEGER NOT NULL,
          ends_at INTEGER NOT NULL,
          amount INTEGER NOT NULL,
          currency TEXT NOT NULL,
          set_by TEXT NOT NULL,
          updated_at INTEGER NOT NULL,
          PRIMARY KEY(channel_id, period)) WITHOUT ROWID;
        CREATE INDEX channel_spend_span ON channel_spend(ends_at, starts_at);

        CREATE TABLE calls(
          id INTEGER PRIMARY KEY,
          at INTEGER NOT NULL,
          channel_id INTEGER REFERENCES channels(id),
          from_phone TEXT,
          to_phone TEXT NOT NULL,
          client_id INTEGER REFERENCES clients(id),
          contact_id INTEGER REFERENCES contacts(id),
          owner_id INTEGER,
          lead_created INTEGER NOT NULL,
          by_login TEXT NOT NULL);
        CREATE INDEX calls_at ON calls(at, channel_id, client_id, owner_id, lead_created);
        CREATE INDEX calls_client ON calls(client_id, id) WHERE client_id IS NOT NULL;

        ALTER TABLE clients ADD COLUMN channel_id INTEGER REFERENCES channels(id);
        CREATE INDEX clients_channel ON clients(channel_id, id) WHERE channel_id IS NOT NULL;
        """
}
