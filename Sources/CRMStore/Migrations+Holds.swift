extension Migrations {
    /// What holds a client back from the exchange (issue 21): freezes asked for by an owner and
    /// decided by a head, one row each, kept after they end (a replay of history needs the frozen
    /// spans); and the key accounts a head locked.
    static let v14 = """
        CREATE TABLE freezes(
          id INTEGER PRIMARY KEY,
          client_id INTEGER NOT NULL REFERENCES clients(id),
          status TEXT NOT NULL,
          until_at INTEGER NOT NULL,
          reason TEXT NOT NULL,
          requested_by TEXT NOT NULL,
          requested_at INTEGER NOT NULL,
          from_at INTEGER,
          decided_by TEXT,
          decided_at INTEGER,
          note TEXT);
        CREATE INDEX freezes_client ON freezes(client_id, id);
        CREATE INDEX freezes_open ON freezes(status, until_at) WHERE status IN ('requested', 'approved');

        CREATE TABLE client_locks(
          client_id INTEGER PRIMARY KEY REFERENCES clients(id),
          locked_by TEXT NOT NULL,
          locked_at INTEGER NOT NULL);
        """
}
