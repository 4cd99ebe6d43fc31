import CRMCore
import CRMProtocol
import Foundation
import Testing

@testable import CRMServer
@testable import CRMStore

/// The reports at the issue's scale: 1,000,000 clients, 2,000,000 deals over a year with
/// 6,000,000 moves, 50 managers. Seeding takes minutes, so it runs only with CRMD_SCALE=1
/// (`CRMD_SCALE=1 swift test --filter SalesReportScale`); it prints each report's time.
@Suite("Sales reports at scale (CRMD_SCALE=1)", .enabled(if: ProcessInfo.processInfo.environment["CRMD_SCALE"] == "1"))
struct SalesReportScaleTests {
    @Test("A month <= 500 ms and a year <= 3 s for funnel, sales and commission; completeness <= 500 ms at 1M clients")
    func scale() async throws {
        let s = try await SalesTeam()
        for i in 1...44 { _ = try await s.crm.user("m\(i)", role: "manager", uid: UInt32(80_000 + i)) }
        let managers = try s.crm.store.read { tx in try tx.allUsers().filter { $0.role == .manager }.map(\.id) }
        let ids = managers.map(String.init).joined(separator: ",")
        let yearStart = ms(try at("2026-01-01T00:00:00Z"))
        let started = Date()
        try await s.crm.store.write { tx in
            try tx.exec("CREATE TEMP TABLE mgr(n INTEGER PRIMARY KEY, id INTEGER)")
            try tx.exec("INSERT INTO mgr(n, id) SELECT key, value FROM json_each('[\(ids)]')")
            let m = managers.count
            try tx.exec(
                """
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000)
                INSERT INTO clients(id, name, name_fold, kind, owner_id, status, segment, source, created_at, updated_at)
                SELECT i + 1000, 'Client ' || i, 'client ' || i, 'company', (SELECT id FROM mgr WHERE n = i % \(m)),
                  CASE WHEN i % 20 = 0 THEN 'exchange' ELSE 'assigned' END,
                  CASE WHEN i % 3 = 0 THEN NULL ELSE 'S' || (i % 5) END, CASE WHEN i % 4 = 0 THEN NULL ELSE 'src' || (i % 7) END,
                  \(yearStart), \(yearStart) FROM n
                """)
            try tx.exec(
                "INSERT INTO phones(phone, client_id, contact_id, position) SELECT '+7900' || id, id, NULL, 0 FROM clients WHERE id % 10 < 7"
            )
            try tx.exec(
                "INSERT INTO emails(email, client_id, contact_id, position) SELECT 'c' || id || '@x.ru', id, NULL, 0 FROM clients WHERE id % 10 >= 5"
            )
            try tx.exec(
                """
                INSERT INTO contacts(client_id, name, decision_maker, created_at, updated_at)
                SELECT id, 'Person', id % 2, 0, 0 FROM clients WHERE id % 5 != 0
                """)
            // 2,000,000 deals opened evenly over 2026, a third each open, won, lost.
            try tx.exec(
                """
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000000)
                INSERT INTO deals(id, client_id, owner_id, creator_login, title, amount, currency, pipeline, stage, status, lost_reason,
                  opened_at, closed_at, stage_entered_at, last_contact_at, created_at, updated_at)
                SELECT i, 1000 + 1 + i % 1000000, (SELECT id FROM mgr WHERE n = i % \(m)), 'x', 'Deal ' || i, 100000 + i % 1000, 'RUB', 'Sales',
                  CASE i % 3 WHEN 0 THEN 'Proposal under review' ELSE 'Proposal sent' END,
                  CASE i % 3 WHEN 0 THEN 'open' WHEN 1 THEN 'won' ELSE 'lost' END, CASE i % 3 WHEN 2 THEN 'Price' END,
                  \(yearStart) + i * 15000, CASE WHEN i % 3 = 0 THEN NULL ELSE \(yearStart) + i * 15000 + (1 + i % 30) * 86400000 END,
                  \(yearStart) + i * 15000, \(yearStart) + i * 15000, \(yearStart) + i * 15000, \(yearStart) + i * 15000 FROM n
                """)
            // Three moves each, inserted in time order as crmd would: created, a step, then
            // closed (won, lost) or a second step.
            try tx.exec(
                """
                INSERT INTO deal_moves(deal_id, from_stage, to_stage, status, at, by_login)
                SELECT deal_id, f, t, st, at, 'x' FROM (
                  SELECT id AS deal_id, NULL AS f, 'New deal' AS t, 'open' AS st, opened_at AS at FROM deals
                  UNION ALL SELECT id, 'New deal', 'Proposal sent', 'open', opened_at + (1 + id % 5) * 86400000 FROM deals
                  UNION ALL SELECT id, CASE status WHEN 'open' THEN 'Proposal sent' ELSE stage END,
                    CASE status WHEN 'open' THEN 'Proposal under review' ELSE stage END, status,
                    coalesce(closed_at, opened_at + (3 + id % 5) * 86400000) + 86400000 * 6 FROM deals)
                ORDER BY at
                """)
            try tx.exec("ANALYZE")
        }
        print("seeded in \(Int(Date().timeIntervalSince(started))) s")
        if let keep = ProcessInfo.processInfo.environment["CRMD_SCALE_KEEP"] {
            // A copy to try queries on with the sqlite3 shell.
            for suffix in ["", "-wal"] {
                try FileManager.default.copyItem(
                    atPath: s.crm.dir.appendingPathComponent("crm.sqlite" + suffix).path, toPath: keep + suffix)
            }
            return
        }
        func time(_ what: String, _ method: String, _ params: JSONObject, limit: Double) async throws {
            _ = try await s.ok(method, params, uid: T.head)  // warm the cache as a running crmd would be
            let t0 = Date()
            let r = try await s.ok(method, params, uid: T.head)
            let elapsed = Date().timeIntervalSince(t0)
            print("\(what): \(Int(elapsed * 1000)) ms (\(JSONWriter.string(r).utf8.count) bytes)")
            #expect(elapsed <= limit, "\(what) took \(elapsed) s")
        }
        typealias T = SalesTeam
        try await time("funnel month", "report.funnel", ["period": "2026-06"], limit: 0.5)
        try await time("funnel quarter", "report.funnel", ["period": "2026-Q1"], limit: 3)
        try await time("funnel year", "report.funnel", ["from": "2026-01-01T00:00:00Z", "to": "2027-01-01T00:00:00Z"], limit: 3)
        try await time("sales year", "report.sales", ["from": "2026-01-01T00:00:00Z", "to": "2027-01-01T00:00:00Z"], limit: 3)
        try await time(
            "funnel year by manager", "report.funnel", ["from": "2026-01-01T00:00:00Z", "to": "2027-01-01T00:00:00Z", "by": "manager"],
            limit: 3)
        try await time("sales month", "report.sales", ["period": "2026-06"], limit: 0.5)
        try await time(
            "sales year by segment", "report.sales", ["from": "2026-01-01T00:00:00Z", "to": "2027-01-01T00:00:00Z", "by": "segment"],
            limit: 3)
        try await time("commission month", "report.commission", ["period": "2026-06"], limit: 0.5)
        try await time(
            "commission year without lines", "report.commission",
            ["from": "2026-01-01T00:00:00Z", "to": "2027-01-01T00:00:00Z", "lines": false],
            limit: 3)
        try await time("completeness", "report.completeness", ["by": "manager"], limit: 0.5)
        _ = try await s.crm.store.read { tx in
            for (name, sql) in [
                (
                    "funnel",
                    "SELECT (SELECT x.at FROM deal_moves x INDEXED BY deal_moves_steps WHERE x.deal_id = m.deal_id AND x.id > m.id ORDER BY x.id LIMIT 1) FROM deal_moves m INDEXED BY deal_moves_at JOIN deals d ON d.id = m.deal_id WHERE m.at >= 1 AND m.at < 2 AND m.status = 'open' AND d.pipeline = 'Sales'"
                ),
                ("sales", "SELECT 1 FROM deals d WHERE d.closed_at >= 1 AND d.closed_at < 2 AND d.status IN ('won', 'lost')"),
                (
                    "commission",
                    "SELECT 1 FROM deals d JOIN clients c ON c.id = d.client_id WHERE d.closed_at >= 1 AND d.closed_at < 2 AND d.status = 'won' AND d.currency = 'RUB' AND d.owner_id IS NOT NULL"
                ),
            ] {
                let plan = try tx.rows("EXPLAIN QUERY PLAN " + sql).map { $0[3] as String }
                print("\(name): \(plan.joined(separator: "; "))")
            }
        }
    }
}
