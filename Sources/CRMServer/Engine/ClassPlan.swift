import CRMCore
import CRMStore
import Foundation

/// The classes one computation stores, worked out in memory from one snapshot: every client
/// with revenue in the window classed, and what changed against the classes stored now.
///
/// Memory is bounded by the window's won deals and the classed clients, not by the whole base:
/// 16 bytes per deal (client and month packed in one integer, and the amount), then about 40
/// bytes per classed client; 2,000,000 deals and 1,000,000 clients take about 80 MB at the peak.
struct ClassPlan: Sendable {
    struct Change: Sendable {
        let row: ClassRow
        let from: (String?, String?)
    }

    struct Cleared: Sendable {
        let id: Int64
        let from: (String?, String?)
    }

    /// Every classed client, by id.
    var rows: [ClassRow] = []
    /// Clients whose classes differ from the stored ones, by id.
    var changed: [Change] = []
    /// Clients with a class stored and no revenue in the window any more, by id.
    var cleared: [Cleared] = []

    private struct Entry {
        /// client id × 64 + month index (windows have at most 36 months).
        var key: Int64
        var amount: Int64
    }

    private struct Current {
        var id: Int64
        var abc: String
        var xyz: String?
    }

    static func make(_ tx: Tx, bounds: [Date], currency: String, settings: ClassSettings) throws -> ClassPlan {
        let edges = bounds.map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) }
        var entries: [Entry] = []
        try tx.wonRevenue(from: bounds[0], to: bounds[bounds.count - 1], currency: currency) { client, closed, amount in
            var lo = 0
            var hi = edges.count - 1
            while hi - lo > 1 {
                let mid = (lo + hi) / 2
                if edges[mid] <= closed { lo = mid } else { hi = mid }
            }
            entries.append(Entry(key: client &* 64 &+ Int64(lo), amount: amount))
        }
        entries.sort { $0.key < $1.key }
        var plan = ClassPlan()
        var revenues: [Int64] = []
        var months = [Int64](repeating: 0, count: edges.count - 1)
        var i = 0
        while i < entries.count {
            let client = entries[i].key >> 6
            for m in months.indices { months[m] = 0 }
            var total: Int64 = 0
            while i < entries.count, entries[i].key >> 6 == client {
                months[Int(entries[i].key & 63)] += entries[i].amount
                total += entries[i].amount
                i += 1
            }
            guard let x = ClassRules.xyz(months, xPercent: settings.xPercent, yPercent: settings.yPercent) else { continue }
            plan.rows.append(ClassRow(clientID: client, abc: .c, xyz: x.0, revenue: total, cvBP: x.cvBP))
            revenues.append(total)
        }
        entries = []
        let abc = ClassRules.abc(revenues, aPercent: settings.aPercent, bPercent: settings.bPercent)
        for k in plan.rows.indices { plan.rows[k].abc = abc[k] }
        var current: [Current] = []
        try tx.currentClasses { id, a, x in current.append(Current(id: id, abc: a, xyz: x)) }
        current.sort { $0.id < $1.id }
        // Merge: both lists by client id.
        var c = 0
        for r in plan.rows {
            while c < current.count, current[c].id < r.clientID {
                plan.cleared.append(Cleared(id: current[c].id, from: (current[c].abc, current[c].xyz)))
                c += 1
            }
            if c < current.count, current[c].id == r.clientID {
                if current[c].abc != r.abc.rawValue || current[c].xyz != r.xyz.rawValue {
                    plan.changed.append(Change(row: r, from: (current[c].abc, current[c].xyz)))
                }
                c += 1
            } else {
                plan.changed.append(Change(row: r, from: (nil, nil)))
            }
        }
        while c < current.count {
            plan.cleared.append(Cleared(id: current[c].id, from: (current[c].abc, current[c].xyz)))
            c += 1
        }
        return plan
    }
}
