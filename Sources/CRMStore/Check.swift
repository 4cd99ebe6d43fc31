import Foundation
import GRDB

/// What `crmd --check` found in a database file.
public struct DatabaseCheck: Sendable {
    /// The file's size, and its WAL's (nil when there is none).
    public var bytes: Int64
    public var walBytes: Int64?
    /// Migrations recorded in the file, and those this build knows, in order.
    public var appliedMigrations: [String]
    public var knownMigrations: [String]
    /// Rows per table (users, clients, contacts, interactions) and the newest event seq; nil
    /// when the table could not be read.
    public var counts: [(table: String, rows: Int64?)]
    public var lastSeq: Int64?
    /// What `PRAGMA integrity_check` reported, and errors met while reading; empty when healthy.
    public var problems: [String]
    public var seconds: Double

    /// Migrations in the file that this build does not know: the file is from a newer crmd.
    public var unknownMigrations: [String] { appliedMigrations.filter { !knownMigrations.contains($0) } }
    public var healthy: Bool { problems.isEmpty }
}

/// Why a database file could not be checked at all.
public struct DatabaseCheckError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable { case missing, notADatabase, notCRMD, noPermission, busy, other }
    public var kind: Kind
    public var description: String
}

extension Store {
    /// Checks the database at `path` without changing it: opens it read-only (no migration, no
    /// file created, no instance lock, so it works while crmd serves), runs `PRAGMA
    /// integrity_check` (every page, every index against its table) and counts the main tables.
    /// A file that is missing, unreadable, not SQLite or not crmd's throws; damage found by the
    /// check is returned in ``DatabaseCheck/problems``.
    public static func check(path: String, maxProblems: Int = 100) throws(DatabaseCheckError) -> DatabaseCheck {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw DatabaseCheckError(kind: .missing, description: "There is no database at \(path).")
        }
        guard !isDir.boolValue else {
            throw DatabaseCheckError(kind: .notADatabase, description: "\(path) is a folder, not a database file.")
        }
        guard access(path, R_OK) == 0 else {
            throw DatabaseCheckError(
                kind: .noPermission,
                description: "Cannot read \(path): \(String(cString: strerror(errno))). Run the check as root or as the user crmd runs as.")
        }
        func size(_ p: String) -> Int64? {
            (try? FileManager.default.attributesOfItem(atPath: p)[.size] as? NSNumber)?.int64Value
        }
        let started = Date()
        var config = Configuration()
        config.readonly = true
        config.busyMode = .timeout(5)
        config.label = "crmd.check"
        let migrator = Migrations.migrator()
        var report = DatabaseCheck(
            bytes: size(path) ?? 0, walBytes: size(path + "-wal"), appliedMigrations: [], knownMigrations: migrator.migrations,
            counts: [], lastSeq: nil, problems: [], seconds: 0)
        do {
            let queue = try DatabaseQueue(path: path, configuration: config)
            defer { try? queue.close() }
            try queue.inDatabase { db in
                // Reading the schema fails at once on a file that is not SQLite.
                _ = try Int.fetchOne(db, sql: "PRAGMA schema_version")
                let applied = try migrator.appliedIdentifiers(db)
                guard !applied.isEmpty, try db.tableExists("clients") else {
                    throw DatabaseCheckError(
                        kind: .notCRMD,
                        description: "\(path) is a SQLite database, but not crmd's: it has no crmd schema (no migrations recorded).")
                }
                report.appliedMigrations =
                    migrator.migrations.filter { applied.contains($0) } + applied.subtracting(migrator.migrations).sorted()
                do {
                    let rows = try Row.fetchCursor(db, sql: "PRAGMA integrity_check(\(maxProblems))")
                    while let row = try rows.next() {
                        let text: String = row[0]
                        // One row may hold several lines, under a "*** in database main ***" heading.
                        for line in text.split(separator: "\n") where line != "ok" && !line.hasPrefix("*** in database") {
                            report.problems.append(String(line))
                        }
                    }
                } catch let e as DatabaseError where e.resultCode == .SQLITE_CORRUPT || e.resultCode == .SQLITE_NOTADB {
                    report.problems.append("integrity_check stopped: \(e.message ?? "\(e.resultCode)")")
                }
                // Every reference resolves: crmd enforces foreign keys on every write but the
                // scheduler's batches, which write only references they have just read.
                do {
                    let rows = try Row.fetchCursor(db, sql: "PRAGMA foreign_key_check")
                    var found = 0
                    while let row = try rows.next(), found < maxProblems {
                        let table: String = row[0]
                        let rowID: Int64? = row[1]
                        let parent: String = row[2]
                        report.problems.append("\(table) row \(rowID.map { String($0) } ?? "?") refers to a missing row of \(parent)")
                        found += 1
                    }
                } catch let e as DatabaseError where e.resultCode == .SQLITE_CORRUPT || e.resultCode == .SQLITE_NOTADB {
                    report.problems.append("foreign_key_check stopped: \(e.message ?? "\(e.resultCode)")")
                }
                // Derived data against what it derives from: the board's tallies (kept by
                // triggers) must equal the open deals they sum, an invoice's paid sum and status
                // its payments.
                func derived(_ table: String, _ sql: String, _ what: String) throws {
                    guard try db.tableExists(table) else { return }
                    do {
                        let off = try Int.fetchOne(db, sql: sql) ?? 0
                        if off > 0 { report.problems.append("\(table): \(off) \(what)") }
                    } catch let e as DatabaseError where e.resultCode == .SQLITE_CORRUPT {
                        report.problems.append("checking \(table) failed: \(e.message ?? "\(e.resultCode)")")
                    }
                }
                try derived("deal_tally", Self.tallyMismatchSQL, "line(s) of the board differ from the open deals they sum")
                try derived(
                    "interaction_hours", Self.hoursMismatchSQL,
                    "hour(s) of calls or meetings per author differ from the interactions they count")
                try derived("invoices", Self.invoiceMismatchSQL, "invoice(s) whose paid sum or status differs from their payments")
                try derived(
                    "calls", Self.channelMismatchSQL, "client(s) whose channel is not the one of their first call to a tracked number")
                try derived(
                    "class_runs", Self.classMismatchSQL,
                    "client(s) whose ABC/XYZ class differs from their history row of the latest computed month")
                for table in ["users", "clients", "contacts", "interactions", "deals", "tasks"] where try db.tableExists(table) {
                    do {
                        report.counts.append((table, try Int64.fetchOne(db, sql: "SELECT count(*) FROM \(table)")))
                    } catch let e as DatabaseError where e.resultCode == .SQLITE_CORRUPT {
                        report.counts.append((table, nil))
                        report.problems.append("counting \(table) failed: \(e.message ?? "\(e.resultCode)")")
                    }
                }
                do {
                    report.lastSeq = try Int64.fetchOne(db, sql: "SELECT coalesce(max(seq), 0) FROM events")
                } catch let e as DatabaseError where e.resultCode == .SQLITE_CORRUPT {
                    report.problems.append("reading the event log failed: \(e.message ?? "\(e.resultCode)")")
                }
            }
        } catch let e as DatabaseCheckError {
            throw e
        } catch let e as DatabaseError {
            let detail = e.message ?? "\(e.resultCode)"
            switch e.resultCode {
            case .SQLITE_NOTADB:
                throw DatabaseCheckError(kind: .notADatabase, description: "\(path) is not a SQLite database (\(detail)).")
            case .SQLITE_CORRUPT:
                report.problems.append("reading the schema failed: \(detail)")
            case .SQLITE_BUSY, .SQLITE_LOCKED:
                throw DatabaseCheckError(kind: .busy, description: "\(path) stayed locked for 5 s (\(detail)); retry.")
            case .SQLITE_CANTOPEN, .SQLITE_PERM, .SQLITE_READONLY, .SQLITE_AUTH:
                throw DatabaseCheckError(
                    kind: .noPermission,
                    description:
                        "Cannot open \(path) (\(detail)). Its folder must be readable, and its -wal and -shm files readable and writable, by you."
                )
            default:
                throw DatabaseCheckError(kind: .other, description: "Cannot check \(path): \(detail).")
            }
        } catch {
            throw DatabaseCheckError(kind: .other, description: "Cannot check \(path): \(error).")
        }
        report.seconds = Date().timeIntervalSince(started)
        return report
    }

    /// Invoices whose `paid` differs from the sum of their payments, that are overpaid, whose
    /// status is not the one their paid sum gives, or that are paid yet still wait for a reminder.
    static let invoiceMismatchSQL = """
        SELECT count(*) FROM invoices i
        LEFT JOIN (SELECT invoice_id, sum(amount) AS s FROM payments GROUP BY invoice_id) p ON p.invoice_id = i.id
        WHERE i.paid != coalesce(p.s, 0) OR i.paid > i.amount
          OR i.status != CASE WHEN i.paid <= 0 THEN 'unpaid' WHEN i.paid >= i.amount THEN 'paid' ELSE 'partial' END
          OR (i.status = 'paid' AND i.remind_at IS NOT NULL)
        """

    /// Clients credited to a channel other than the one of their first tracked call, and clients
    /// with a tracked call but credited to none (`clients.channel_id` is set by that call).
    static let channelMismatchSQL = """
        SELECT (SELECT count(*) FROM clients c WHERE c.channel_id IS NOT NULL
            AND c.channel_id IS NOT (SELECT channel_id FROM calls WHERE client_id = c.id AND channel_id IS NOT NULL ORDER BY id LIMIT 1))
          + (SELECT count(DISTINCT k.client_id) FROM calls k JOIN clients c ON c.id = k.client_id
            WHERE k.channel_id IS NOT NULL AND c.channel_id IS NULL)
        """

    /// Hours of `interaction_hours` (calls and meetings per author and UTC hour, kept by a
    /// trigger) that differ from a count of the interactions, both ways.
    static let hoursMismatchSQL = """
        WITH truth AS (
          SELECT author_id, kind, CASE WHEN occurred_at >= 0 THEN occurred_at / 3600000 ELSE (occurred_at - 3599999) / 3600000 END AS hour,
            count(*) AS n
          FROM interactions WHERE author_id IS NOT NULL AND kind IN ('call', 'meeting') GROUP BY 1, 2, 3),
        kept AS (SELECT author_id, kind, hour, n FROM interaction_hours WHERE n != 0)
        SELECT count(*) FROM (SELECT * FROM truth EXCEPT SELECT * FROM kept UNION SELECT * FROM (SELECT * FROM kept EXCEPT SELECT * FROM truth))
        """

    /// Lines of the board (`deal_tally`) that differ from a count of the open deals, both ways.
    static let tallyMismatchSQL = """
        WITH truth AS (
          SELECT pipeline, stage, coalesce(owner_id, 0) AS owner_id, currency, count(*) AS n, total(coalesce(amount, 0)) AS amount,
            sum(overdue_stage > 0) AS overdue
          FROM deals WHERE status = 'open' GROUP BY 1, 2, 3, 4),
        kept AS (
          SELECT pipeline, stage, owner_id, currency, open_count AS n, open_amount AS amount, overdue_count AS overdue
          FROM deal_tally WHERE open_count != 0 OR open_amount != 0 OR overdue_count != 0)
        SELECT count(*) FROM (
          SELECT pipeline, stage, owner_id, currency FROM (SELECT * FROM truth EXCEPT SELECT * FROM kept)
          UNION SELECT pipeline, stage, owner_id, currency FROM (SELECT * FROM kept EXCEPT SELECT * FROM truth))
        """
}
