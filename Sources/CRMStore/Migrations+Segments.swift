extension Migrations {
    /// Saved segments (static lists and dynamic filters) with their members; the opt-out flag of
    /// clients and contacts that mailing lists leave out; the indexes a segment's statistics read:
    /// clients by their segment label and by ABC class (covering the zone columns, so a count and
    /// its zones never touch the table), and closed deals per client (covering what the statistics
    /// add up, so a client's deals are one index seek).
    static let v8 = """
        CREATE TABLE segments(
          id INTEGER PRIMARY KEY,
          name TEXT NOT NULL,
          name_fold TEXT NOT NULL UNIQUE,
          kind TEXT NOT NULL,
          filter TEXT,
          owner_id INTEGER REFERENCES users(id),
          creator_login TEXT NOT NULL,
          created_at INTEGER NOT NULL,
          updated_at INTEGER NOT NULL);
        CREATE TABLE segment_members(
          segment_id INTEGER NOT NULL REFERENCES segments(id),
          client_id INTEGER NOT NULL REFERENCES clients(id),
          added_at INTEGER NOT NULL,
          PRIMARY KEY(segment_id, client_id)) WITHOUT ROWID;
        CREATE INDEX segment_members_client ON segment_members(client_id);

        ALTER TABLE clients ADD COLUMN opt_out INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE contacts ADD COLUMN opt_out INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX clients_segment ON clients(segment, status, yellow_at, red_at, owner_id) WHERE segment IS NOT NULL;
        CREATE INDEX clients_abc ON clients(abc, status, yellow_at, red_at, owner_id) WHERE abc IS NOT NULL;
        CREATE INDEX deals_client_closed ON deals(client_id, closed_at, status, currency, amount, opened_at, owner_id)
          WHERE closed_at IS NOT NULL;
        """
}
