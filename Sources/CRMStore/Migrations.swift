import GRDB

/// The schema, as append-only migrations: a shipped migration never changes; a change is a new one.
enum Migrations {
    static func migrator() -> DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1: users, clients, contacts, interactions, audit, requests, events") { db in
            try db.execute(sql: v1)
        }
        m.registerMigration("v2: applied zones, scheduler index, exchange bans, claims, alerts") { db in
            try db.execute(sql: v2)
        }
        m.registerMigration("v3: daily zone snapshots per manager") { db in
            try db.execute(sql: v3)
        }
        m.registerMigration("v4: events name the owner a client left") { db in
            try db.execute(sql: v4)
        }
        m.registerMigration("v5: drop indexes no query uses") { db in
            try db.execute(sql: v5)
        }
        m.registerMigration("v6: deals, their moves and tallies, tasks, attachments") { db in
            try db.execute(sql: v6)
        }
        m.registerMigration("v7: plans, invoices and payments, commission rates, teams") { db in
            try db.execute(sql: v7)
        }
        m.registerMigration("v8: segments and their members, opt-out of mailings") { db in
            try db.execute(sql: v8)
        }
        m.registerMigration("v9: ABC/XYZ classes and their monthly history") { db in
            try db.execute(sql: v9)
        }
        m.registerMigration("v10: marketing channels, tracking numbers, spend, incoming calls") { db in
            try db.execute(sql: v10)
        }
        m.registerMigration("v11: a contact's phones and e-mails by contact") { db in
            try db.execute(sql: v11)
        }
        m.registerMigration("v12: search keys and words, phone tails, tax ids") { db in
            try v12(db)
        }
        m.registerMigration("v13: a user's language") { db in
            try db.execute(sql: v13)
        }
        m.registerMigration("v14: freezes and locks that hold clients back from the exchange") { db in
            try db.execute(sql: v14)
        }
        m.registerMigration("v15: fair claim windows and their requests") { db in
            try db.execute(sql: v15)
        }
        m.registerMigration("v17: users' e-mail addresses, captured interactions, ingested mail") { db in
            try db.execute(sql: v17)
        }
        m.registerMigration("v18: inbound requests, users' absences and competence") { db in
            try db.execute(sql: v18)
        }
        m.registerMigration("v19: users' extensions, calls logged from the PBX") { db in
            try db.execute(sql: v19)
        }
        m.registerMigration("v20: the outbox of messages to clients, requests' close") { db in
            try db.execute(sql: v20)
        }
        m.registerMigration("v21: users' phones") { db in
            try db.execute(sql: v21)
        }
        m.registerMigration("v22: each manager's routed requests, kept by triggers") { db in
            try db.execute(sql: v22)
        }
        return m
    }

    /// Deals through ordered stages, with the contact cadence the scheduler watches (`due_at`);
    /// every move recorded; the board's tallies kept by triggers in the same transaction as
    /// the deal (so they cannot drift from the deals); tasks with the instant the scheduler
    /// announces them; attachments stored in chunks; interactions and alerts linked to deals.
    static let v6 = """
        CREATE TABLE deals(
          id INTEGER PRIMARY KEY,
          client_id INTEGER NOT NULL REFERENCES clients(id),
          owner_id INTEGER REFERENCES users(id),
          creator_login TEXT NOT NULL,
          title TEXT NOT NULL,
          amount INTEGER,
          currency TEXT NOT NULL,
          probability INTEGER,
          source TEXT,
          pipeline TEXT NOT NULL,
          stage TEXT NOT NULL,
          status TEXT NOT NULL,
          lost_reason TEXT,
          expected_close TEXT,
          opened_at INTEGER NOT NULL,
          closed_at INTEGER,
          stage_entered_at INTEGER NOT NULL,
          last_contact_at INTEGER NOT NULL,
          next_contact_due INTEGER,
          overdue_stage INTEGER NOT NULL DEFAULT 0,
          due_at INTEGER,
          created_at INTEGER NOT NULL,
          updated_at INTEGER NOT NULL);
        CREATE INDEX deals_client ON deals(client_id, status, id);
        CREATE INDEX deals_owner ON deals(owner_id, status, id);
        CREATE INDEX deals_due ON deals(due_at, id) WHERE due_at IS NOT NULL;
        CREATE INDEX deals_open_stage ON deals(pipeline, stage, id) WHERE status = 'open';
        CREATE INDEX deals_owner_due ON deals(owner_id, next_contact_due) WHERE status = 'open' AND next_contact_due IS NOT NULL;

        CREATE TABLE deal_moves(
          id INTEGER PRIMARY KEY,
          deal_id INTEGER NOT NULL REFERENCES deals(id),
          from_stage TEXT,
          to_stage TEXT NOT NULL,
          status TEXT NOT NULL,
          at INTEGER NOT NULL,
          by_login TEXT NOT NULL);
        CREATE INDEX deal_moves_deal ON deal_moves(deal_id, id);

        CREATE TABLE deal_tally(
          pipeline TEXT NOT NULL,
          stage TEXT NOT NULL,
          owner_id INTEGER NOT NULL,
          currency TEXT NOT NULL,
          open_count INTEGER NOT NULL DEFAULT 0,
          open_amount INTEGER NOT NULL DEFAULT 0,
          overdue_count INTEGER NOT NULL DEFAULT 0,
          PRIMARY KEY(pipeline, stage, owner_id, currency)) WITHOUT ROWID;

        CREATE TRIGGER deal_tally_insert AFTER INSERT ON deals WHEN new.status = 'open' BEGIN
          INSERT INTO deal_tally(pipeline, stage, owner_id, currency, open_count, open_amount, overdue_count)
            VALUES (new.pipeline, new.stage, coalesce(new.owner_id, 0), new.currency, 1, coalesce(new.amount, 0), new.overdue_stage > 0)
            ON CONFLICT DO UPDATE SET open_count = open_count + 1, open_amount = open_amount + excluded.open_amount,
              overdue_count = overdue_count + excluded.overdue_count;
        END;
        CREATE TRIGGER deal_tally_leave AFTER UPDATE ON deals
          WHEN old.status = 'open' AND (old.status IS NOT new.status OR old.stage IS NOT new.stage OR old.pipeline IS NOT new.pipeline
            OR old.owner_id IS NOT new.owner_id OR old.amount IS NOT new.amount OR old.currency IS NOT new.currency) BEGIN
          UPDATE deal_tally SET open_count = open_count - 1, open_amount = open_amount - coalesce(old.amount, 0),
              overdue_count = overdue_count - (old.overdue_stage > 0)
            WHERE pipeline = old.pipeline AND stage = old.stage AND owner_id = coalesce(old.owner_id, 0) AND currency = old.currency;
        END;
        CREATE TRIGGER deal_tally_enter AFTER UPDATE ON deals
          WHEN new.status = 'open' AND (old.status IS NOT new.status OR old.stage IS NOT new.stage OR old.pipeline IS NOT new.pipeline
            OR old.owner_id IS NOT new.owner_id OR old.amount IS NOT new.amount OR old.currency IS NOT new.currency) BEGIN
          INSERT INTO deal_tally(pipeline, stage, owner_id, currency, open_count, open_amount, overdue_count)
            VALUES (new.pipeline, new.stage, coalesce(new.owner_id, 0), new.currency, 1, coalesce(new.amount, 0), new.overdue_stage > 0)
            ON CONFLICT DO UPDATE SET open_count = open_count + 1, open_amount = open_amount + excluded.open_amount,
              overdue_count = overdue_count + excluded.overdue_count;
        END;
        CREATE TRIGGER deal_tally_overdue AFTER UPDATE OF overdue_stage ON deals
          WHEN new.status = 'open' AND (old.overdue_stage > 0) != (new.overdue_stage > 0) AND NOT (old.status IS NOT new.status OR old.stage IS NOT new.stage OR old.pipeline IS NOT new.pipeline
            OR old.owner_id IS NOT new.owner_id OR old.amount IS NOT new.amount OR old.currency IS NOT new.currency) BEGIN
          UPDATE deal_tally SET overdue_count = overdue_count + (CASE WHEN new.overdue_stage > 0 THEN 1 ELSE -1 END)
            WHERE pipeline = new.pipeline AND stage = new.stage AND owner_id = coalesce(new.owner_id, 0) AND currency = new.currency;
        END;

        CREATE TABLE tasks(
          id INTEGER PRIMARY KEY,
          title TEXT NOT NULL,
          note TEXT,
          kind TEXT,
          assignee_id INTEGER NOT NULL REFERENCES users(id),
          creator_login TEXT NOT NULL,
          client_id INTEGER REFERENCES clients(id),
          deal_id INTEGER REFERENCES deals(id),
          due_at INTEGER NOT NULL,
          remind_at INTEGER,
          done_at INTEGER,
          done_by TEXT,
          interaction_id INTEGER,
          created_at INTEGER NOT NULL,
          updated_at INTEGER NOT NULL);
        CREATE INDEX tasks_assignee ON tasks(assignee_id, due_at, id) WHERE done_at IS NULL;
        CREATE INDEX tasks_assignee_all ON tasks(assignee_id, id);
        CREATE INDEX tasks_remind ON tasks(remind_at, id) WHERE remind_at IS NOT NULL;
        CREATE INDEX tasks_deal ON tasks(deal_id, id) WHERE deal_id IS NOT NULL;

        CREATE TABLE attachments(
          id INTEGER PRIMARY KEY,
          deal_id INTEGER NOT NULL REFERENCES deals(id),
          name TEXT NOT NULL,
          content_type TEXT NOT NULL,
          size INTEGER NOT NULL,
          sha256 TEXT NOT NULL,
          received INTEGER NOT NULL DEFAULT 0,
          complete INTEGER NOT NULL DEFAULT 0,
          by_login TEXT NOT NULL,
          created_at INTEGER NOT NULL);
        CREATE INDEX attachments_deal ON attachments(deal_id, id);
        CREATE TABLE attachment_chunks(
          attachment_id INTEGER NOT NULL REFERENCES attachments(id),
          offset INTEGER NOT NULL,
          data BLOB NOT NULL,
          PRIMARY KEY(attachment_id, offset)) WITHOUT ROWID;

        ALTER TABLE interactions ADD COLUMN deal_id INTEGER REFERENCES deals(id);
        CREATE INDEX interactions_deal ON interactions(deal_id, id) WHERE deal_id IS NOT NULL;
        ALTER TABLE alerts ADD COLUMN deal_id INTEGER;
        ALTER TABLE alerts ADD COLUMN task_id INTEGER;
        CREATE INDEX alerts_deal ON alerts(deal_id, user_id) WHERE deal_id IS NOT NULL AND delivered_at IS NULL AND superseded = 0;
        CREATE INDEX alerts_task ON alerts(task_id, user_id) WHERE task_id IS NOT NULL AND delivered_at IS NULL AND superseded = 0;
        """

    /// Every event and release paid for an index entry no query reads: events are read by seq
    /// (the key), releases by period over the whole (small) table.
    static let v5 = """
        DROP INDEX events_client;
        DROP INDEX releases_user;
        """

    /// A change of hands concerns two managers: the one it left sees its `client.assigned` too.
    static let v4 = """
        ALTER TABLE events ADD COLUMN previous_owner_id INTEGER;
        """

    static let v3 = """
        CREATE TABLE zone_daily(
          day TEXT NOT NULL,
          user_id INTEGER NOT NULL,
          green INTEGER NOT NULL,
          yellow INTEGER NOT NULL,
          red INTEGER NOT NULL,
          exchange INTEGER NOT NULL,
          PRIMARY KEY(day, user_id)) WITHOUT ROWID;
        """

    static let v2 = """
        ALTER TABLE clients ADD COLUMN zone TEXT;
        ALTER TABLE clients ADD COLUMN alert_stage INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE clients ADD COLUMN next_due_at INTEGER;
        UPDATE clients SET zone = 'green', next_due_at = yellow_at WHERE status = 'assigned';
        CREATE INDEX clients_next_due ON clients(next_due_at) WHERE next_due_at IS NOT NULL;
        CREATE INDEX clients_released_at ON clients(released_at) WHERE status = 'exchange';

        CREATE TABLE exchange_bans(
          client_id INTEGER NOT NULL REFERENCES clients(id),
          user_id INTEGER NOT NULL REFERENCES users(id),
          until INTEGER NOT NULL,
          PRIMARY KEY(client_id, user_id)) WITHOUT ROWID;

        CREATE TABLE claims(
          id INTEGER PRIMARY KEY,
          client_id INTEGER NOT NULL REFERENCES clients(id),
          user_id INTEGER NOT NULL REFERENCES users(id),
          at INTEGER NOT NULL);
        CREATE INDEX claims_user ON claims(user_id, at);

        CREATE TABLE releases(
          id INTEGER PRIMARY KEY,
          client_id INTEGER NOT NULL REFERENCES clients(id),
          user_id INTEGER REFERENCES users(id),
          at INTEGER NOT NULL,
          manual INTEGER NOT NULL,
          reason TEXT);
        CREATE INDEX releases_user ON releases(user_id, at);

        CREATE TABLE alerts(
          id INTEGER PRIMARY KEY,
          user_id INTEGER NOT NULL REFERENCES users(id),
          client_id INTEGER REFERENCES clients(id),
          kind TEXT NOT NULL,
          days_left INTEGER,
          zone TEXT,
          message TEXT NOT NULL,
          due_at INTEGER NOT NULL,
          deliver_at INTEGER NOT NULL,
          delivered_at INTEGER,
          acked_at INTEGER,
          superseded INTEGER NOT NULL DEFAULT 0,
          command_status TEXT,
          command_attempts INTEGER NOT NULL DEFAULT 0,
          command_next_at INTEGER,
          command_error TEXT,
          created_at INTEGER NOT NULL);
        CREATE INDEX alerts_pending ON alerts(deliver_at) WHERE delivered_at IS NULL AND superseded = 0;
        CREATE INDEX alerts_user ON alerts(user_id, id);
        CREATE INDEX alerts_client ON alerts(client_id, user_id) WHERE delivered_at IS NULL AND superseded = 0;
        CREATE INDEX alerts_command ON alerts(command_next_at) WHERE command_status = 'pending';

        CREATE INDEX events_client ON events(client_id, seq);
        """

    static let v1 = """
        CREATE TABLE users(
          id INTEGER PRIMARY KEY,
          login TEXT NOT NULL UNIQUE,
          name TEXT NOT NULL,
          role TEXT NOT NULL,
          uid INTEGER UNIQUE,
          active INTEGER NOT NULL DEFAULT 1,
          created_at INTEGER NOT NULL,
          updated_at INTEGER NOT NULL);

        CREATE TABLE clients(
          id INTEGER PRIMARY KEY,
          name TEXT NOT NULL,
          name_fold TEXT NOT NULL,
          kind TEXT NOT NULL,
          owner_id INTEGER REFERENCES users(id),
          status TEXT NOT NULL,
          segment TEXT,
          source TEXT,
          abc TEXT,
          fields TEXT NOT NULL DEFAULT '{}',
          last_interaction_at INTEGER,
          assigned_at INTEGER,
          yellow_at INTEGER,
          red_at INTEGER,
          release_at INTEGER,
          released_at INTEGER,
          released_from INTEGER REFERENCES users(id),
          release_reason TEXT,
          created_at INTEGER NOT NULL,
          updated_at INTEGER NOT NULL);
        CREATE INDEX clients_owner ON clients(owner_id, id);
        CREATE INDEX clients_status ON clients(status, id);
        CREATE INDEX clients_release_at ON clients(release_at) WHERE status = 'assigned';

        CREATE TABLE contacts(
          id INTEGER PRIMARY KEY,
          client_id INTEGER NOT NULL REFERENCES clients(id),
          name TEXT NOT NULL,
          position TEXT,
          decision_maker INTEGER NOT NULL DEFAULT 0,
          created_at INTEGER NOT NULL,
          updated_at INTEGER NOT NULL);
        CREATE INDEX contacts_client ON contacts(client_id, id);

        CREATE TABLE affiliations(
          id INTEGER PRIMARY KEY,
          contact_id INTEGER NOT NULL REFERENCES contacts(id),
          client_id INTEGER NOT NULL REFERENCES clients(id),
          position TEXT,
          from_at INTEGER NOT NULL,
          to_at INTEGER);
        CREATE INDEX affiliations_contact ON affiliations(contact_id, id);

        CREATE TABLE phones(
          phone TEXT NOT NULL,
          client_id INTEGER NOT NULL REFERENCES clients(id),
          contact_id INTEGER REFERENCES contacts(id),
          position INTEGER NOT NULL);
        CREATE UNIQUE INDEX phones_client_unique ON phones(phone) WHERE contact_id IS NULL;
        CREATE UNIQUE INDEX phones_contact_unique ON phones(phone, contact_id) WHERE contact_id IS NOT NULL;
        CREATE INDEX phones_phone ON phones(phone);
        CREATE INDEX phones_holder ON phones(client_id, contact_id, position);

        CREATE TABLE emails(
          email TEXT NOT NULL,
          client_id INTEGER NOT NULL REFERENCES clients(id),
          contact_id INTEGER REFERENCES contacts(id),
          position INTEGER NOT NULL);
        CREATE UNIQUE INDEX emails_client_unique ON emails(email) WHERE contact_id IS NULL;
        CREATE UNIQUE INDEX emails_contact_unique ON emails(email, contact_id) WHERE contact_id IS NOT NULL;
        CREATE INDEX emails_email ON emails(email);
        CREATE INDEX emails_holder ON emails(client_id, contact_id, position);

        CREATE TABLE interactions(
          id INTEGER PRIMARY KEY,
          client_id INTEGER NOT NULL REFERENCES clients(id),
          contact_id INTEGER REFERENCES contacts(id),
          author_id INTEGER REFERENCES users(id),
          author_login TEXT NOT NULL,
          kind TEXT NOT NULL,
          direction TEXT,
          occurred_at INTEGER NOT NULL,
          topic TEXT,
          result TEXT,
          note TEXT,
          resets_clock INTEGER NOT NULL,
          created_at INTEGER NOT NULL);
        CREATE INDEX interactions_client ON interactions(client_id, occurred_at, id);

        CREATE TABLE audit(
          id INTEGER PRIMARY KEY,
          at INTEGER NOT NULL,
          actor_id INTEGER,
          actor_login TEXT NOT NULL,
          actor_uid INTEGER NOT NULL,
          acting_admin TEXT,
          entity TEXT NOT NULL,
          entity_id INTEGER,
          action TEXT NOT NULL,
          before TEXT,
          after TEXT);
        CREATE INDEX audit_entity ON audit(entity, entity_id, id);

        CREATE TABLE requests(
          actor TEXT NOT NULL,
          request_id TEXT NOT NULL,
          method TEXT NOT NULL,
          response TEXT NOT NULL,
          at INTEGER NOT NULL,
          PRIMARY KEY(actor, request_id)) WITHOUT ROWID;

        CREATE TABLE events(
          seq INTEGER PRIMARY KEY AUTOINCREMENT,
          at INTEGER NOT NULL,
          topic TEXT NOT NULL,
          client_id INTEGER,
          owner_id INTEGER,
          data TEXT NOT NULL);
        """
}
