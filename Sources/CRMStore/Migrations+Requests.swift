extension Migrations {
    /// Inbound requests (issue 22): a lead from the web form, the phone or the department's mail,
    /// routed to a manager by `requests.routing` and re-routed when not taken by `due_at`; and a
    /// user's absence (a period) and competence tags (comma-separated), which the routing reads.
    /// (The table `requests` holds the idempotent retries of `request_id`; hence `inbound_requests`.)
    static let v18 = """
        CREATE TABLE inbound_requests(
          id INTEGER PRIMARY KEY,
          name TEXT,
          phone TEXT,
          email TEXT,
          source TEXT NOT NULL,
          topic TEXT,
          text TEXT,
          status TEXT NOT NULL,
          assignee_id INTEGER REFERENCES users(id),
          client_id INTEGER,
          deal_id INTEGER,
          due_at INTEGER,
          created_at INTEGER NOT NULL,
          taken_at INTEGER,
          reroutes INTEGER NOT NULL DEFAULT 0,
          creator_login TEXT NOT NULL);
        CREATE INDEX inbound_requests_due ON inbound_requests(due_at) WHERE status = 'routed';
        CREATE INDEX inbound_requests_assignee ON inbound_requests(assignee_id, status);
        CREATE INDEX inbound_requests_status ON inbound_requests(status, id);
        ALTER TABLE users ADD COLUMN absent_from INTEGER;
        ALTER TABLE users ADD COLUMN absent_until INTEGER;
        ALTER TABLE users ADD COLUMN competence TEXT;
        """
}
