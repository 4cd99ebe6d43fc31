import CRMCore
import GRDB

extension Migrations {
    /// Issue 20: search as people type it and duplicates found by name and tax id.
    /// - `clients.search_key`: the name folded by ``CompanyName/key(_:)`` (exact and prefix
    ///   matches, and the similar-name warning of `client.create`);
    /// - `search_words`: each word of a client's key (`kind` 0), and of its contacts' names
    ///   (`kind` 1, the contact's id beside), for matches by word in any order; the index leads
    ///   with `kind` and covers the holder, so a range of one kind's words reads only those;
    /// - `phones.tail`: the main number's digits, last first, so a tail of the number ("the last
    ///   7 digits") is a prefix range of an index;
    /// - `clients.inn` (unique when set) and `clients.kpp`.
    /// Every existing row is backfilled before the indexes are built.
    static func v12(_ db: Database) throws {
        try db.execute(
            sql: """
                ALTER TABLE clients ADD COLUMN search_key TEXT;
                ALTER TABLE clients ADD COLUMN inn TEXT;
                ALTER TABLE clients ADD COLUMN kpp TEXT;
                ALTER TABLE phones ADD COLUMN tail TEXT;
                CREATE TABLE search_words(
                  kind INTEGER NOT NULL,
                  word TEXT NOT NULL,
                  client_id INTEGER NOT NULL REFERENCES clients(id),
                  contact_id INTEGER REFERENCES contacts(id));
                """)
        let setKey = try db.makeStatement(sql: "UPDATE clients SET search_key = ? WHERE id = ?")
        let addWord = try db.makeStatement(sql: "INSERT INTO search_words(kind, word, client_id, contact_id) VALUES (?, ?, ?, ?)")
        // In batches by id: the rows are updated, so no statement reads the table meanwhile.
        try batches(db, "SELECT id, name FROM clients WHERE id > ? ORDER BY id LIMIT 10000") { r in
            let id: Int64 = r[0]
            let name: String = r[1]
            try setKey.execute(arguments: [SearchQuery.storedKey(ofName: name), id])
            for w in SearchQuery.words(ofName: name) { try addWord.execute(arguments: [0, w, id, nil]) }
            return id
        }
        let contacts = try Row.fetchCursor(db, sql: "SELECT id, client_id, name FROM contacts")
        while let r = try contacts.next() {
            let name: String = r[2]
            for w in SearchQuery.words(ofName: name) { try addWord.execute(arguments: [1, w, r[1] as Int64, r[0] as Int64]) }
        }
        let setTail = try db.makeStatement(sql: "UPDATE phones SET tail = ? WHERE rowid = ?")
        try batches(db, "SELECT rowid, phone FROM phones WHERE rowid > ? ORDER BY rowid LIMIT 10000") { r in
            let rowid: Int64 = r[0]
            try setTail.execute(arguments: [Phone.reversedDigits(r[1]), rowid])
            return rowid
        }
        try db.execute(
            sql: """
                CREATE INDEX clients_search_key ON clients(search_key);
                CREATE UNIQUE INDEX clients_inn ON clients(inn) WHERE inn IS NOT NULL;
                CREATE INDEX phones_tail ON phones(tail);
                CREATE INDEX search_words_word ON search_words(kind, word, client_id, contact_id);
                CREATE INDEX search_words_holder ON search_words(client_id, kind);
                CREATE INDEX search_words_contact ON search_words(contact_id) WHERE contact_id IS NOT NULL;
                """)
    }

    /// Runs `body` on every row `sql` (`… WHERE key > ? ORDER BY key LIMIT n`) reads, a batch at a
    /// time; `body` returns the row's key.
    private static func batches(_ db: Database, _ sql: String, _ body: (Row) throws -> Int64) throws {
        var after: Int64 = -1
        while true {
            let rows = try Row.fetchAll(db, sql: sql, arguments: [after])
            guard !rows.isEmpty else { return }
            for r in rows { after = try body(r) }
        }
    }
}
