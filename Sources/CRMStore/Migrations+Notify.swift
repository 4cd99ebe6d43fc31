extension Migrations {
    /// Telling the client (issue 22 part 4): the outbox of messages to clients, stored in the
    /// transaction of the step that caused them (a request taken, a deal moved to a notify stage)
    /// and handed to `notify.delivery_command` with retries; a skipped one (opt-out, no address)
    /// is kept with its reason. And a request's close: when, why.
    static let v20 = """
        CREATE TABLE notifications(
          id INTEGER PRIMARY KEY,
          template TEXT NOT NULL,
          client_id INTEGER NOT NULL,
          deal_id INTEGER,
          request_id INTEGER,
          manager_id INTEGER,
          channel TEXT,
          recipient TEXT,
          subject TEXT NOT NULL,
          text TEXT NOT NULL,
          status TEXT NOT NULL,
          reason TEXT,
          attempts INTEGER NOT NULL DEFAULT 0,
          last_error TEXT,
          next_at INTEGER,
          created_at INTEGER NOT NULL,
          sent_at INTEGER);
        CREATE INDEX notifications_pending ON notifications(next_at) WHERE status = 'pending';
        CREATE INDEX notifications_client ON notifications(client_id, id);
        CREATE INDEX notifications_deal ON notifications(deal_id, id) WHERE deal_id IS NOT NULL;
        ALTER TABLE inbound_requests ADD COLUMN closed_at INTEGER;
        ALTER TABLE inbound_requests ADD COLUMN close_reason TEXT;
        CREATE INDEX inbound_requests_deal ON inbound_requests(deal_id) WHERE deal_id IS NOT NULL;
        """
}
