extension Migrations {
    /// The fair claim window (issue 21): one row per released client whose window is open (until
    /// the scheduler resolves it at `ends_at`), and the managers' requests for it. A resolved
    /// window leaves its story in the audit and the `client.claimed` event, not here. And the
    /// releases of a client by instant, for `report.exchange`.
    static let v15 = """
        CREATE TABLE exchange_windows(
          client_id INTEGER PRIMARY KEY,
          released_at INTEGER NOT NULL,
          ends_at INTEGER NOT NULL);
        CREATE INDEX exchange_windows_due ON exchange_windows(ends_at, client_id);

        CREATE TABLE exchange_requests(
          client_id INTEGER NOT NULL,
          user_id INTEGER NOT NULL,
          at INTEGER NOT NULL,
          PRIMARY KEY(client_id, user_id)) WITHOUT ROWID;

        -- report.exchange: a claimed client's last release before the claim.
        CREATE INDEX releases_client ON releases(client_id, at);
        """
}
