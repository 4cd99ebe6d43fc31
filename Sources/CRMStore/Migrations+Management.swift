extension Migrations {
    /// Plans per user or team and period; invoices on deals with their payments (each payment
    /// credited to the deal's owner when it was paid); a user's commission rate and team; the lead
    /// manager a client was created with ("new clients"); the indexes the plan counters and the
    /// reports read (a manager's interactions by instant, deals closed by instant); who last took a
    /// client from unassigned and when (cold calls in report.activity).
    static let v7 = """
        ALTER TABLE users ADD COLUMN commission_bp INTEGER;
        ALTER TABLE users ADD COLUMN team TEXT;
        ALTER TABLE clients ADD COLUMN origin_owner_id INTEGER;
        CREATE INDEX clients_origin ON clients(origin_owner_id, created_at) WHERE origin_owner_id IS NOT NULL;
        ALTER TABLE clients ADD COLUMN picked_by INTEGER;
        ALTER TABLE clients ADD COLUMN picked_at INTEGER;
        CREATE INDEX clients_picked ON clients(picked_by, picked_at) WHERE picked_by IS NOT NULL;
        CREATE INDEX interactions_author ON interactions(author_id, kind, occurred_at);
        CREATE INDEX interactions_occurred ON interactions(occurred_at);

        CREATE TABLE interaction_hours(
          author_id INTEGER NOT NULL,
          kind TEXT NOT NULL,
          hour INTEGER NOT NULL,
          n INTEGER NOT NULL,
          PRIMARY KEY(author_id, kind, hour)) WITHOUT ROWID;
        CREATE TRIGGER interaction_hours_insert AFTER INSERT ON interactions
          WHEN new.author_id IS NOT NULL AND new.kind IN ('call', 'meeting') BEGIN
          INSERT INTO interaction_hours(author_id, kind, hour, n)
            VALUES (new.author_id, new.kind,
              CASE WHEN new.occurred_at >= 0 THEN new.occurred_at / 3600000 ELSE (new.occurred_at - 3599999) / 3600000 END, 1)
            ON CONFLICT DO UPDATE SET n = n + 1;
        END;
        INSERT INTO interaction_hours(author_id, kind, hour, n)
          SELECT author_id, kind, CASE WHEN occurred_at >= 0 THEN occurred_at / 3600000 ELSE (occurred_at - 3599999) / 3600000 END, count(*)
          FROM interactions WHERE author_id IS NOT NULL AND kind IN ('call', 'meeting') GROUP BY 1, 2, 3;
        CREATE INDEX deals_closed ON deals(closed_at, status, owner_id, currency, amount, opened_at, lost_reason, client_id) WHERE closed_at IS NOT NULL;
        CREATE INDEX deals_owner_closed ON deals(owner_id, closed_at, currency, amount) WHERE status = 'won';
        CREATE INDEX deals_opened ON deals(opened_at);
        CREATE INDEX deal_moves_at ON deal_moves(at, deal_id, status, to_stage, from_stage);
        CREATE INDEX deal_moves_steps ON deal_moves(deal_id, id, at, status, to_stage, from_stage);

        CREATE TABLE plans(
          id INTEGER PRIMARY KEY,
          user_id INTEGER REFERENCES users(id),
          team TEXT,
          period TEXT NOT NULL,
          starts_at INTEGER NOT NULL,
          ends_at INTEGER NOT NULL,
          calls INTEGER,
          meetings INTEGER,
          new_clients INTEGER,
          deals_won INTEGER,
          revenue_won INTEGER,
          revenue_paid INTEGER,
          claims INTEGER,
          set_by TEXT NOT NULL,
          created_at INTEGER NOT NULL,
          updated_at INTEGER NOT NULL,
          CHECK ((user_id IS NULL) != (team IS NULL)));
        CREATE UNIQUE INDEX plans_user ON plans(user_id, period) WHERE user_id IS NOT NULL;
        CREATE UNIQUE INDEX plans_team ON plans(team, period) WHERE team IS NOT NULL;
        CREATE INDEX plans_active ON plans(ends_at, starts_at);

        CREATE TABLE invoices(
          id INTEGER PRIMARY KEY,
          deal_id INTEGER NOT NULL REFERENCES deals(id),
          number TEXT NOT NULL UNIQUE,
          amount INTEGER NOT NULL,
          currency TEXT NOT NULL,
          paid INTEGER NOT NULL DEFAULT 0,
          status TEXT NOT NULL,
          due_on TEXT NOT NULL,
          overdue_at INTEGER NOT NULL,
          remind_at INTEGER,
          creator_login TEXT NOT NULL,
          created_at INTEGER NOT NULL,
          updated_at INTEGER NOT NULL);
        CREATE INDEX invoices_deal ON invoices(deal_id, id);
        CREATE INDEX invoices_due ON invoices(overdue_at, id);
        CREATE INDEX invoices_unpaid ON invoices(overdue_at, id) WHERE status != 'paid';
        CREATE INDEX invoices_remind ON invoices(remind_at, id) WHERE remind_at IS NOT NULL;

        CREATE TABLE payments(
          id INTEGER PRIMARY KEY,
          invoice_id INTEGER NOT NULL REFERENCES invoices(id),
          deal_id INTEGER NOT NULL REFERENCES deals(id),
          owner_id INTEGER REFERENCES users(id),
          amount INTEGER NOT NULL,
          currency TEXT,
          paid_on TEXT NOT NULL,
          paid_at INTEGER NOT NULL,
          by_login TEXT NOT NULL,
          created_at INTEGER NOT NULL);
        CREATE INDEX payments_invoice ON payments(invoice_id, id);
        CREATE INDEX payments_owner ON payments(owner_id, paid_at, currency, amount);
        CREATE INDEX payments_paid ON payments(paid_at);

        ALTER TABLE alerts ADD COLUMN invoice_id INTEGER;
        CREATE INDEX alerts_invoice ON alerts(invoice_id, user_id) WHERE invoice_id IS NOT NULL AND delivered_at IS NULL AND superseded = 0;
        """
}
