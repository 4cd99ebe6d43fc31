public import CRMCore
public import Foundation
import GRDB

/// Filters for ``Tx/listClients(_:)``.
public struct ClientFilter: Sendable {
    public var ownerID: Int64?
    public var status: ClientStatus?
    /// Only assigned clients in this zone at ``now``.
    public var zone: Zone?
    public var segment: String?
    /// Only clients of this ABC / XYZ class (`A`, `B`, `C` / `X`, `Y`, `Z`).
    public var abc: String? = nil
    public var xyz: String? = nil
    /// Case-insensitive substring of the name, or a phone in any spelling.
    public var nameQuery: String?
    public var phone: String?
    /// A ranked search (`client.list` `query`): the best matches first, `afterID` then counts the
    /// matches already listed (``Tx/searchClients(_:_:)``).
    public var search: SearchQuery? = nil
    /// Only clients a manager may claim: on the exchange or unassigned.
    public var claimable = false
    public var now: Date
    public var afterID: Int64?
    public var limit: Int

    public init(
        ownerID: Int64? = nil, status: ClientStatus? = nil, zone: Zone? = nil, segment: String? = nil, nameQuery: String? = nil,
        phone: String? = nil, now: Date, afterID: Int64? = nil, limit: Int = 100
    ) {
        self.ownerID = ownerID
        self.status = status
        self.zone = zone
        self.segment = segment
        self.nameQuery = nameQuery
        self.phone = phone
        self.now = now
        self.afterID = afterID
        self.limit = limit
    }
}

/// Zone counts for `server.status`.
public struct ZoneCounts: Sendable, Equatable {
    public var total = 0, green = 0, yellow = 0, red = 0, exchange = 0, unassigned = 0
    public init() {}
}

extension Tx {
    static let clientColumns = """
        id, name, kind, owner_id, status, segment, source, abc, fields, last_interaction_at, assigned_at, \
        released_at, released_from, release_reason, created_at, updated_at, yellow_at, red_at, release_at, zone, alert_stage, \
        next_due_at, xyz, opt_out, inn, kpp
        """

    func client(from r: Row, phones: [String], emails: [String]) -> Client {
        var c = Client(
            id: r[0], name: r[1], kind: ClientKind(rawValue: r[2]) ?? .company, phones: phones, emails: emails,
            ownerID: r[3], status: ClientStatus(rawValue: r[4]) ?? .unassigned, segment: r[5], source: r[6], abc: r[7],
            fieldsJSON: r[8], lastInteractionAt: dateOpt(r[9] as Int64?), assignedAt: dateOpt(r[10] as Int64?),
            releasedAt: dateOpt(r[11] as Int64?), releasedFrom: r[12], releaseReason: r[13], createdAt: date(r[14] as Int64),
            updatedAt: date(r[15] as Int64))
        if let y = r[16] as Int64?, let red = r[17] as Int64?, let rel = r[18] as Int64?, let start = c.clockStart {
            c.schedule = ZoneSchedule(start: start, yellowAt: date(y), redAt: date(red), releaseAt: date(rel))
        }
        c.appliedZone = (r[19] as String?).flatMap(Zone.init(rawValue:))
        c.alertStage = r[20]
        c.nextDueAt = dateOpt(r[21] as Int64?)
        c.xyz = r[22]
        c.optOut = r[23]
        c.inn = r[24]
        c.kpp = r[25]
        return c
    }

    /// The phones of a client (contactID nil) or of a contact, in their order.
    public func phones(clientID: Int64, contactID: Int64?) throws -> [String] {
        if let contactID {
            return try String.fetchAll(
                db.cachedStatement(sql: "SELECT phone FROM phones WHERE contact_id = ? ORDER BY position"), arguments: [contactID])
        }
        return try String.fetchAll(
            db.cachedStatement(sql: "SELECT phone FROM phones WHERE client_id = ? AND contact_id IS NULL ORDER BY position"),
            arguments: [clientID])
    }

    /// The e-mails of a client (contactID nil) or of a contact, in their order.
    public func emails(clientID: Int64, contactID: Int64?) throws -> [String] {
        if let contactID {
            return try String.fetchAll(
                db.cachedStatement(sql: "SELECT email FROM emails WHERE contact_id = ? ORDER BY position"), arguments: [contactID])
        }
        return try String.fetchAll(
            db.cachedStatement(sql: "SELECT email FROM emails WHERE client_id = ? AND contact_id IS NULL ORDER BY position"),
            arguments: [clientID])
    }

    /// The client with this id, with its phones and e-mails, in one statement.
    public func client(id: Int64) throws -> Client? {
        guard
            let r = try row(
                """
                SELECT \(Self.clientColumns),
                  (SELECT group_concat(phone, char(31)) FROM
                    (SELECT phone FROM phones WHERE client_id = clients.id AND contact_id IS NULL ORDER BY position)),
                  (SELECT group_concat(email, char(31)) FROM
                    (SELECT email FROM emails WHERE client_id = clients.id AND contact_id IS NULL ORDER BY position))
                FROM clients WHERE id = ?
                """, [id])
        else { return nil }
        func split(_ v: String?) -> [String] {
            guard let v, !v.isEmpty else { return [] }
            return v.split(separator: "\u{1F}", omittingEmptySubsequences: false).map(String.init)
        }
        return client(from: r, phones: split(r[26]), emails: split(r[27]))
    }

    /// The client without phones and e-mails (for restricted views and checks).
    public func clientHeader(id: Int64) throws -> Client? {
        try row("SELECT \(Self.clientColumns) FROM clients WHERE id = ?", [id]).map { client(from: $0, phones: [], emails: []) }
    }

    /// Inserts a client; its id is assigned. `schedule` holds the zone instants for an assigned client.
    public func insertClient(_ c: Client, schedule: ZoneSchedule?) throws -> Client {
        try exec(
            """
            INSERT INTO clients(name, name_fold, kind, owner_id, status, segment, source, abc, fields, last_interaction_at,
              assigned_at, yellow_at, red_at, release_at, released_at, released_from, release_reason, created_at, updated_at,
              zone, alert_stage, next_due_at, origin_owner_id, opt_out, search_key, inn, kpp)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?4, ?, ?, ?, ?)
            """,
            [
                c.name, c.name.lowercased(), c.kind.rawValue, c.ownerID, c.status.rawValue, c.segment, c.source, c.abc,
                c.fieldsJSON, msOpt(c.lastInteractionAt), msOpt(c.assignedAt), msOpt(schedule?.yellowAt), msOpt(schedule?.redAt),
                msOpt(schedule?.releaseAt), msOpt(c.releasedAt), c.releasedFrom, c.releaseReason, ms(c.createdAt), ms(c.updatedAt),
                c.appliedZone?.rawValue, c.alertStage, msOpt(c.nextDueAt), c.optOut, SearchQuery.storedKey(ofName: c.name), c.inn, c.kpp,
            ])
        var saved = c
        saved.id = lastID
        saved.schedule = schedule
        try replacePhones(clientID: saved.id, contactID: nil, saved.phones, fresh: true)
        try replaceEmails(clientID: saved.id, contactID: nil, saved.emails, fresh: true)
        try replaceSearchWords(clientID: saved.id, contactID: nil, name: saved.name, fresh: true)
        return saved
    }

    /// Saves every column of `c`, its phones and e-mails, and its zone instants. A client that was
    /// unassigned and now has an owner records who took it and when (`picked_by`, `picked_at`:
    /// the cold-call window of report.activity).
    public func saveClient(_ c: Client, schedule: ZoneSchedule?, phonesChanged: Bool = true, emailsChanged: Bool = true) throws {
        let key = SearchQuery.storedKey(ofName: c.name)
        let oldKey = try String.fetchOne(db.cachedStatement(sql: "SELECT search_key FROM clients WHERE id = ?"), arguments: [c.id])
        try exec(
            """
            UPDATE clients SET name = ?, name_fold = ?, kind = ?, owner_id = ?, status = ?, segment = ?, source = ?, abc = ?,
              fields = ?, last_interaction_at = ?, assigned_at = ?, yellow_at = ?, red_at = ?, release_at = ?, released_at = ?,
              released_from = ?, release_reason = ?, updated_at = ?, zone = ?, alert_stage = ?, next_due_at = ?, opt_out = ?,
              search_key = ?, inn = ?, kpp = ?,
              picked_by = CASE WHEN status = 'unassigned' AND ?4 IS NOT NULL THEN ?4 ELSE picked_by END,
              picked_at = CASE WHEN status = 'unassigned' AND ?4 IS NOT NULL THEN ?11 ELSE picked_at END
            WHERE id = ?
            """,
            [
                c.name, c.name.lowercased(), c.kind.rawValue, c.ownerID, c.status.rawValue, c.segment, c.source, c.abc,
                c.fieldsJSON, msOpt(c.lastInteractionAt), msOpt(c.assignedAt), msOpt(schedule?.yellowAt), msOpt(schedule?.redAt),
                msOpt(schedule?.releaseAt), msOpt(c.releasedAt), c.releasedFrom, c.releaseReason, ms(c.updatedAt),
                c.appliedZone?.rawValue, c.alertStage, msOpt(c.nextDueAt), c.optOut, key, c.inn, c.kpp, c.id,
            ])
        if phonesChanged { try replacePhones(clientID: c.id, contactID: nil, c.phones) }
        if emailsChanged { try replaceEmails(clientID: c.id, contactID: nil, c.emails) }
        if oldKey != key { try replaceSearchWords(clientID: c.id, contactID: nil, name: c.name) }
    }

    /// Sets only the clock columns of a client (the hot path of `interaction.log` and the scheduler).
    public func saveClientClock(_ c: Client, now: Date) throws {
        try exec(
            """
            UPDATE clients SET last_interaction_at = ?, yellow_at = ?, red_at = ?, release_at = ?, zone = ?, alert_stage = ?,
              next_due_at = ?, updated_at = ? WHERE id = ?
            """,
            [
                msOpt(c.lastInteractionAt), msOpt(c.schedule?.yellowAt), msOpt(c.schedule?.redAt), msOpt(c.schedule?.releaseAt),
                c.appliedZone?.rawValue, c.alertStage, msOpt(c.nextDueAt), ms(now), c.id,
            ])
    }

    /// Assigned clients with work due at or before `instant`, earliest first (by due instant,
    /// then id), read in a write transaction for the scheduler; with `after`, only those that
    /// come after that client in this order (the next batch). Only what the clock needs is loaded
    /// — id, name, owner, status, the clock columns — so the rest of each `Client` holds
    /// defaults: save these only through ``saveAppliedClock(_:now:)`` and
    /// ``releaseClient(id:from:at:reason:now:)``.
    public func dueClients(upTo instant: Date, after: Client? = nil, limit: Int) throws -> [Client] {
        let columns = """
            SELECT id, name, owner_id, status, last_interaction_at, assigned_at, yellow_at, red_at, release_at, zone, alert_stage,
              next_due_at, created_at, updated_at
            FROM clients
            """
        let s: RawStatement
        if let after, let afterDue = after.nextDueAt {
            // A row value: the scan starts in the index (next_due_at, then the row id) right after
            // the given client.
            s = try prepared(
                columns
                    + " WHERE next_due_at IS NOT NULL AND (next_due_at, id) > (?, ?) AND next_due_at <= ? ORDER BY next_due_at, id LIMIT ?")
            s.bind(ms(afterDue), after.id, ms(instant), limit)
        } else {
            s = try prepared(columns + " WHERE next_due_at IS NOT NULL AND next_due_at <= ? ORDER BY next_due_at, id LIMIT ?")
            s.bind(ms(instant), limit)
        }
        defer { s.reset() }
        var due: [Client] = []
        due.reserveCapacity(limit)
        while try s.step() {
            var c = Client(
                id: s.int64(0), name: s.string(1), kind: .company, phones: [], emails: [], ownerID: s.optionalInt64(2),
                status: ClientStatus(rawValue: s.string(3)) ?? .unassigned, segment: nil, source: nil, abc: nil, fieldsJSON: "{}",
                lastInteractionAt: dateOpt(s.optionalInt64(4)), assignedAt: dateOpt(s.optionalInt64(5)), releasedAt: nil,
                releasedFrom: nil, releaseReason: nil, createdAt: date(s.int64(12)), updatedAt: date(s.int64(13)))
            if let y = s.optionalInt64(6), let red = s.optionalInt64(7), let rel = s.optionalInt64(8), let start = c.clockStart {
                c.schedule = ZoneSchedule(start: start, yellowAt: date(y), redAt: date(red), releaseAt: date(rel))
            }
            c.appliedZone = s.optionalString(9).flatMap(Zone.init(rawValue:))
            c.alertStage = Int(s.int64(10))
            c.nextDueAt = dateOpt(s.optionalInt64(11))
            due.append(c)
        }
        return due
    }

    /// Saves what the scheduler moved: the applied zone, the reminder stage and the next due
    /// instant (the clock itself is unchanged).
    public func saveAppliedClock(_ c: Client, now: Date) throws {
        try prepared("UPDATE clients SET zone = ?, alert_stage = ?, next_due_at = ?, updated_at = ? WHERE id = ?").run(
            c.appliedZone?.rawValue, c.alertStage, msOpt(c.nextDueAt), ms(now), c.id)
    }

    /// Puts a client on the exchange: no owner, no clock, the release recorded on the row.
    public func releaseClient(id: Int64, from: Int64?, at: Date, reason: String, now: Date) throws {
        try prepared(
            """
            UPDATE clients SET status = 'exchange', owner_id = NULL, released_at = ?, released_from = ?, release_reason = ?,
              assigned_at = NULL, yellow_at = NULL, red_at = NULL, release_at = NULL, zone = NULL, alert_stage = 0,
              next_due_at = NULL, updated_at = ?
            WHERE id = ?
            """
        ).run(ms(at), from, reason, ms(now), id)
    }

    /// Whether any client has work due at `now`: the same test as ``dueClients(upTo:after:limit:)``.
    public func anyDue(upTo now: Date) throws -> Bool {
        try Int64.fetchOne(
            db.cachedStatement(sql: "SELECT 1 FROM clients WHERE next_due_at IS NOT NULL AND next_due_at <= ? LIMIT 1"),
            arguments: [ms(now)]
        ) != nil
    }

    /// The earliest instant any client has work due.
    public func earliestDue() throws -> Date? {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT min(next_due_at) FROM clients WHERE next_due_at IS NOT NULL")).map { date($0) }
    }

    /// `fresh`: the holder was inserted by this transaction and has none yet (no delete).
    func replacePhones(clientID: Int64, contactID: Int64?, _ list: [String], fresh: Bool = false) throws {
        if fresh {
            // Nothing to delete.
        } else if let contactID {
            try exec("DELETE FROM phones WHERE contact_id = ?", [contactID])
        } else {
            try exec("DELETE FROM phones WHERE client_id = ? AND contact_id IS NULL", [clientID])
        }
        for (i, p) in list.enumerated() {
            try exec(
                "INSERT INTO phones(phone, client_id, contact_id, position, tail) VALUES (?, ?, ?, ?, ?)",
                [p, clientID, contactID, i, Phone.reversedDigits(p)])
        }
    }

    /// The words a client's name (contactID nil) or a contact's name is found by
    /// (``SearchQuery/words(ofName:)``). `fresh`: the holder is new and has none yet.
    func replaceSearchWords(clientID: Int64, contactID: Int64?, name: String, fresh: Bool = false) throws {
        if fresh {
            // Nothing to delete.
        } else if let contactID {
            try exec("DELETE FROM search_words WHERE contact_id = ?", [contactID])
        } else {
            try exec("DELETE FROM search_words WHERE client_id = ? AND kind = 0", [clientID])
        }
        for w in SearchQuery.words(ofName: name) {
            try exec(
                "INSERT INTO search_words(kind, word, client_id, contact_id) VALUES (?, ?, ?, ?)",
                [contactID == nil ? 0 : 1, w, clientID, contactID])
        }
    }

    /// `fresh`: the holder was inserted by this transaction and has none yet (no delete).
    func replaceEmails(clientID: Int64, contactID: Int64?, _ list: [String], fresh: Bool = false) throws {
        if fresh {
            // Nothing to delete.
        } else if let contactID {
            try exec("DELETE FROM emails WHERE contact_id = ?", [contactID])
        } else {
            try exec("DELETE FROM emails WHERE client_id = ? AND contact_id IS NULL", [clientID])
        }
        for (i, e) in list.enumerated() {
            try exec("INSERT INTO emails(email, client_id, contact_id, position) VALUES (?, ?, ?, ?)", [e, clientID, contactID, i])
        }
    }

    /// Who holds a normalized phone: the client, and the contact when it is a contact's.
    public func phoneHolders(_ phone: String) throws -> [(clientID: Int64, contactID: Int64?)] {
        try rows("SELECT client_id, contact_id FROM phones WHERE phone = ? ORDER BY contact_id IS NOT NULL, rowid", [phone])
            .map { (clientID: $0[0], contactID: $0[1]) }
    }

    /// Who a caller with this normalized number is: the holders of the number itself, else of
    /// its main number (the caller ID of `+74951234567;ext=12` is `+74951234567`), else of an
    /// extension of it (a call from `+74951234567` finds the card whose phone has `;ext=12`).
    /// Index range scans on `phones_phone`.
    public func callerHolders(_ phone: String) throws -> [(clientID: Int64, contactID: Int64?)] {
        let exact = try phoneHolders(phone)
        if !exact.isEmpty { return exact }
        let main = Phone.main(phone)
        if main != phone {
            let m = try phoneHolders(main)
            if !m.isEmpty { return m }
        }
        // ";ext=" then digits: every such phone sorts between ";ext=" and ";ext=:" (':' follows '9').
        return try rows(
            "SELECT client_id, contact_id FROM phones WHERE phone > ? AND phone < ? ORDER BY contact_id IS NOT NULL, rowid",
            [main + ";ext=", main + ";ext=:"]
        ).map { (clientID: $0[0], contactID: $0[1]) }
    }

    /// Who holds a normalized e-mail.
    public func emailHolders(_ email: String) throws -> [(clientID: Int64, contactID: Int64?)] {
        try rows("SELECT client_id, contact_id FROM emails WHERE email = ? ORDER BY contact_id IS NOT NULL, rowid", [email])
            .map { (clientID: $0[0], contactID: $0[1]) }
    }

    /// A page of clients matching `f`, by id; with ``ClientFilter/search``, ranked
    /// (``searchClients(_:_:)``).
    public func listClients(_ f: ClientFilter) throws -> Page<Client> {
        if let q = f.search { return try searchClients(f, q) }
        var (whereSQL, args) = conditions(f)
        var nameOrPhone: [String] = []
        if let q = f.nameQuery {
            let escaped = q.lowercased().replacingOccurrences(of: "\\", with: "\\\\")
                .replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
            nameOrPhone.append("name_fold LIKE ? ESCAPE '\\'")
            args += ["%" + escaped + "%"]
        }
        if let p = f.phone {
            nameOrPhone.append("id IN (SELECT client_id FROM phones WHERE phone = ?)")
            args += [p]
        }
        if !nameOrPhone.isEmpty { whereSQL.append("(" + nameOrPhone.joined(separator: " OR ") + ")") }
        if let after = f.afterID { whereSQL.append("id > ?"); args += [after] }
        let sql =
            "SELECT \(Self.clientColumns) FROM clients"
            + (whereSQL.isEmpty ? "" : " WHERE " + whereSQL.joined(separator: " AND "))
            + " ORDER BY id LIMIT \(f.limit + 1)"
        var found = try Row.fetchAll(db.cachedStatement(sql: sql), arguments: args)
        let more = found.count > f.limit
        if more { found.removeLast() }
        let keys = try ownKeys(of: found.map { $0[0] })
        let items = found.map { r -> Client in
            let id: Int64 = r[0]
            return client(from: r, phones: keys.phones[id] ?? [], emails: keys.emails[id] ?? [])
        }
        return Page(items: items, nextCursor: more ? items.last.map { String($0.id) } : nil)
    }

    /// The conditions of `f` but the name, phone and cursor: owner, status, zone, segment, classes.
    func conditions(_ f: ClientFilter) -> ([String], StatementArguments) {
        var whereSQL: [String] = []
        var args: StatementArguments = []
        if let o = f.ownerID { whereSQL.append("owner_id = ?"); args += [o] }
        if let s = f.status { whereSQL.append("status = ?"); args += [s.rawValue] }
        if f.claimable { whereSQL.append("status IN ('exchange', 'unassigned')") }
        if let z = f.zone {
            let now = ms(f.now)
            whereSQL.append("status = 'assigned'")
            switch z {
            case .green: whereSQL.append("yellow_at > ?"); args += [now]
            case .yellow: whereSQL.append("yellow_at <= ? AND red_at > ?"); args += [now, now]
            case .red: whereSQL.append("red_at <= ?"); args += [now]
            }
        }
        if let seg = f.segment { whereSQL.append("segment = ?"); args += [seg] }
        if let abc = f.abc { whereSQL.append("abc = ?"); args += [abc] }
        if let xyz = f.xyz { whereSQL.append("xyz = ?"); args += [xyz] }
        return (whereSQL, args)
    }

    /// Clients per status and zone at `now`.
    public func zoneCounts(now: Date) throws -> ZoneCounts {
        try zoneCounts(now: now, where: "1", [])
    }

    /// Clients `c` passing `condition` (with `args`) per status and zone at `now`.
    func zoneCounts(now: Date, where condition: String, _ args: [(any DatabaseValueConvertible & Sendable)?]) throws -> ZoneCounts {
        let n = ms(now)
        guard
            let r = try row(
                """
                SELECT count(*),
                  coalesce(sum(c.status = 'assigned' AND c.yellow_at > ?), 0),
                  coalesce(sum(c.status = 'assigned' AND c.yellow_at <= ? AND c.red_at > ?), 0),
                  coalesce(sum(c.status = 'assigned' AND c.red_at <= ?), 0),
                  coalesce(sum(c.status = 'exchange'), 0),
                  coalesce(sum(c.status = 'unassigned'), 0)
                FROM clients c WHERE \(condition)
                """, StatementArguments([n, n, n, n] + args))
        else { return ZoneCounts() }
        var c = ZoneCounts()
        c.total = r[0]
        c.green = r[1]
        c.yellow = r[2]
        c.red = r[3]
        c.exchange = r[4]
        c.unassigned = r[5]
        return c
    }

    /// A cheap fingerprint of the clients' zone counts: the last event seq (every change of zone,
    /// owner or status records one) and the newest client id (creations). Two index lookups.
    public func zoneCountsVersion() throws -> [Int64] {
        [try lastSeq(), try Int64.fetchOne(db, sql: "SELECT coalesce(max(id), 0) FROM clients") ?? 0]
    }

    /// Number of clients.
    public func clientCount() throws -> Int {
        try Int.fetchOne(db, sql: "SELECT count(*) FROM clients") ?? 0
    }
}
