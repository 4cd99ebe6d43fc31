extension Migrations {
    /// Each manager's routed requests, counted as they change (issue 22): the least-loaded rule
    /// read them with a count per manager on every routing, a scan that grew with the backlog (a
    /// Maildir of 100,000 letters with 20,000 strangers' requests slowed by a third as they piled
    /// up). Kept by triggers, so no write path can forget it; the count at the migration is the
    /// starting point.
    static let v22 = """
        CREATE TABLE request_load(
            user_id INTEGER PRIMARY KEY,
            routed INTEGER NOT NULL DEFAULT 0
        ) WITHOUT ROWID;
        INSERT INTO request_load(user_id, routed)
            SELECT assignee_id, count(*) FROM inbound_requests
            WHERE status = 'routed' AND assignee_id IS NOT NULL GROUP BY assignee_id;
        CREATE TRIGGER request_load_insert AFTER INSERT ON inbound_requests
        WHEN NEW.status = 'routed' AND NEW.assignee_id IS NOT NULL
        BEGIN
            INSERT INTO request_load(user_id, routed) VALUES (NEW.assignee_id, 1)
                ON CONFLICT(user_id) DO UPDATE SET routed = routed + 1;
        END;
        CREATE TRIGGER request_load_leave AFTER UPDATE OF status, assignee_id ON inbound_requests
        WHEN OLD.status = 'routed' AND OLD.assignee_id IS NOT NULL
        BEGIN
            UPDATE request_load SET routed = routed - 1 WHERE user_id = OLD.assignee_id;
        END;
        CREATE TRIGGER request_load_enter AFTER UPDATE OF status, assignee_id ON inbound_requests
        WHEN NEW.status = 'routed' AND NEW.assignee_id IS NOT NULL
        BEGIN
            INSERT INTO request_load(user_id, routed) VALUES (NEW.assignee_id, 1)
                ON CONFLICT(user_id) DO UPDATE SET routed = routed + 1;
        END;
        CREATE TRIGGER request_load_delete AFTER DELETE ON inbound_requests
        WHEN OLD.status = 'routed' AND OLD.assignee_id IS NOT NULL
        BEGIN
            UPDATE request_load SET routed = routed - 1 WHERE user_id = OLD.assignee_id;
        END;
        """
}
