import CRMCore
import CRMProtocol
import Foundation
import Testing

@testable import CRMServer
@testable import CRMStore

/// Timings of plan.progress, report.activity and interaction.log with a plan, on a generated
/// database (raw SQL rows). Opt-in: CRMD_PLAN_BENCH=1 (it takes a minute); prints its numbers.
@Suite("plan and activity timings (CRMD_PLAN_BENCH=1)")
struct PlanPerfTests {
    static let enabled = ProcessInfo.processInfo.environment["CRMD_PLAN_BENCH"] == "1"

    func ms(_ body: () async throws -> Void) async rethrows -> Double {
        let t = ContinuousClock.now
        try await body()
        let d = ContinuousClock.now - t
        return Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
    }

    @Test("timings", .enabled(if: enabled))
    func timings() async throws {
        let authors = Int(ProcessInfo.processInfo.environment["CRMD_PLAN_BENCH_AUTHORS"] ?? "100") ?? 100
        let total = Int(ProcessInfo.processInfo.environment["CRMD_PLAN_BENCH_ROWS"] ?? "2000000") ?? 2_000_000
        let t = try await SalesTeam { $0.domain.requiredFields[.meeting] = ["result"] }
        let iv = t.ids["ivanov"]!
        let client = try await t.client("Bench LLC")
        // A year before the clock's start, spread evenly; every author gets total/authors rows, ivanov among them.
        let yearMs: Int64 = 365 * 86_400_000
        let end: Int64 = 1_768_208_400_000  // 2026-01-12T09:00Z
        let cid = client.intValue!
        try t.crm.store.writeNow { tx in
            for a in 1..<authors {
                try tx.exec(
                    "INSERT INTO users(id, login, name, role, active, created_at, updated_at) VALUES (?, ?, 'b', 'manager', 1, 0, 0)",
                    [1000 + a, "bench\(a)"])
            }
            let kinds = ["call", "call", "meeting", "email", "note"]
            let st = try tx.db.makeStatement(
                sql: """
                    INSERT INTO interactions(client_id, author_id, author_login, kind, occurred_at, resets_clock, created_at)
                    VALUES (?, ?, 'x', ?, ?, 0, ?)
                    """)
            for i in 0..<total {
                let author: Int64 = i % authors == 0 ? iv : Int64(1000 + i % authors)
                let at = end - yearMs + Int64(i) * (yearMs / Int64(total))
                try st.execute(arguments: [cid, author, kinds[i % kinds.count], at, at])
            }
        }
        try t.crm.store.writeNow { tx in try tx.exec("ANALYZE") }
        let perAuthorMonth = total / authors / 12
        // interaction.log without a plan, then with a calls target (the event counts the month's calls).
        func logCalls(_ n: Int) async throws -> Double {
            try await ms {
                for _ in 0..<n {
                    _ = try await t.ok("interaction.log", ["client_id": client, "kind": "call", "result": "ok"], uid: SalesTeam.ivanov)
                }
            } / Double(n)
        }
        _ = try await logCalls(200)
        let without = try await logCalls(1000)
        _ = try await t.ok("plan.set", ["user": "ivanov", "period": "2026-01", "targets": ["calls": 100, "meetings": 5]])
        let with = try await logCalls(1000)
        var progress: [Double] = []
        for _ in 0..<300 {
            progress.append(try await ms { _ = try await t.ok("plan.progress", ["user": "ivanov", "period": "2025-12"]) })
        }
        _ = try await t.ok("plan.set", ["user": "ivanov", "period": "2025-12", "targets": ["calls": 100, "meetings": 5]])
        progress = []
        for _ in 0..<300 {
            progress.append(try await ms { _ = try await t.ok("plan.progress", ["user": "ivanov", "period": "2025-12"]) })
        }
        progress.sort()
        // The extra work one counted call does with the plan: find the active plans, count the month's calls.
        let jan = Period("2026-01")!.interval(in: t.crm.context.live.current.rules.thresholds.timeZone)
        let hook =
            try await ms {
                try t.crm.store.read { tx in
                    for _ in 0..<1000 {
                        let plans = try tx.activePlans(userID: iv, at: jan.start.addingTimeInterval(86_400))
                        _ = try tx.planFacts([.calls], userID: iv, from: plans[0].startsAt, to: plans[0].endsAt, currency: "RUB")
                    }
                }
            } / 1000
        let noPlan =
            try await ms {
                try t.crm.store.read { tx in for _ in 0..<1000 { _ = try tx.activePlans(userID: iv + 1, at: jan.start) } }
            } / 1000
        let month = try await ms { _ = try await t.ok("report.activity", ["period": "2025-12"]) }
        let year = try await ms {
            _ = try await t.ok("report.activity", ["from": "2025-01-12T09:00:00Z", "to": "2026-01-12T09:00:00Z"])
        }
        print(
            """
            PLANBENCH rows \(total), authors \(authors), ~\(perAuthorMonth) interactions per author-month
            PLANBENCH interaction.log (in-process, sequential): \(String(format: "%.3f", without)) ms without a plan, \
            \(String(format: "%.3f", with)) ms with a calls target (+\(String(format: "%.1f", (with / without - 1) * 100)) %)
            PLANBENCH plan.progress (2 metrics): p50 \(String(format: "%.3f", progress[150])) ms, p99 \(String(format: "%.3f", progress[296])) ms
            PLANBENCH hook per counted call: \(String(format: "%.4f", hook)) ms with a calls target (a month of \(perAuthorMonth) \
            interactions counted), \(String(format: "%.4f", noPlan)) ms for a user without plans
            PLANBENCH report.activity month \(String(format: "%.1f", month)) ms, year \(String(format: "%.1f", year)) ms
            """)
    }
}
