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
        return m
    }

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
