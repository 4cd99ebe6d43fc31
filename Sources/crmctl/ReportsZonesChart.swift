import CRMProtocol
import Foundation

/// report.zones' daily series per manager: (day, green, yellow, red, exchange), oldest first.
func zoneSeriesByManager(_ r: JSON) -> [(name: String, days: [(day: String, counts: [Int], exchange: Int)])] {
    var order: [String] = []
    var by: [String: [(day: String, counts: [Int], exchange: Int)]] = [:]
    for d in r["series"]?.arrayValue ?? [] {
        for m in d["managers"]?.arrayValue ?? [] {
            let name = login(m["owner_login"], tr("user #\(str(m["owner"]))"))
            if by[name] == nil { order.append(name) }
            by[name, default: []].append(
                (str(d["day"]), ["green", "yellow", "red"].map { Int(m[$0]?.intValue ?? 0) }, Int(m["exchange"]?.intValue ?? 0)))
        }
    }
    return order.map { ($0, by[$0] ?? []) }
}

/// The daily series as CSV: one row per day and manager.
func zonesSeriesCSV(_ r: JSON) -> CSVTable {
    var t = CSVTable(["day", "manager", "green", "yellow", "red", "exchange"])
    for (name, days) in zoneSeriesByManager(r) {
        for d in days { t.add([d.day, name] + d.counts.map(String.init) + [String(d.exchange)]) }
    }
    return t
}

/// A sparkline of `values` on one scale from 0 to `top`: ▁▂▃▄▅▆▇█, a space for none.
func sparkline(_ values: [Int], top: Int) -> String {
    let marks = Array("▁▂▃▄▅▆▇█")
    return String(
        values.map { v -> Character in
            guard v > 0, top > 0 else { return " " }
            return marks[min(marks.count - 1, (v * marks.count - 1) / top)]
        })
}

/// Zones per manager over time: a sparkline per zone (the last day's counts at the end), or with
/// `daily` one stacked bar per day per manager.
func printZonesOverTime(_ r: JSON, daily: Bool) {
    let managers = zoneSeriesByManager(r)
    print()
    guard !managers.isEmpty else {
        print(tr("no daily zone counts recorded in this period yet (the scheduler records one a day)"))
        return
    }
    let zones = ["green", "yellow", "red"]
    if daily {
        let top = managers.flatMap { $0.days.map { $0.counts.reduce(0, +) } }.max() ?? 0
        let width = max(10, terminalWidth() - 30)
        for (name, days) in managers {
            print("\(name):")
            for d in days {
                let total = d.counts.reduce(0, +)
                let length = total == 0 ? 0 : max(1, Int((Double(total) * Double(width) / Double(max(1, top))).rounded()))
                var line = ""
                for (zone, n) in zip(zones, splitBar(d.counts, length: length)) where n > 0 {
                    line +=
                        Style.enabled
                        ? Style.zone(zone, String(repeating: "█", count: n)) : String(repeating: zone.prefix(1).uppercased(), count: n)
                }
                print("  \(d.day)  \(line) \(total)")
            }
        }
        return
    }
    let first = managers.flatMap { $0.days.map(\.day) }.min() ?? ""
    let last = managers.flatMap { $0.days.map(\.day) }.max() ?? ""
    print(tr("zones over time, \(first) to \(last) (one mark a day; the last day's count at the end):"))
    var t = Table(["manager"] + zones + ["exchange"])
    for (name, days) in managers {
        let cells = zones.indices.map { z -> String in
            let values = days.map { $0.counts[z] }
            return Style.zone(zones[z], sparkline(values, top: values.max() ?? 0)) + " \(values.last ?? 0)"
        }
        let ex = days.map(\.exchange)
        t.add([name] + cells + [sparkline(ex, top: ex.max() ?? 0) + " \(ex.last ?? 0)"])
    }
    t.print()
}
