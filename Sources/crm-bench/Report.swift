import CRMProtocol
import Foundation

/// One measured figure with its target.
struct Figure {
    var name: String
    var value: Double
    var unit: String
    var target: String
    var met: Bool?
}

final class Report {
    var figures: [Figure] = []
    var info: [(String, String)] = []

    func add(_ name: String, _ value: Double, _ unit: String, target: String = "", met: Bool? = nil) {
        figures.append(Figure(name: name, value: value, unit: unit, target: target, met: met))
        let mark = met.map { $0 ? "ok" : "MISSED" } ?? ""
        FileHandle.standardError.write(
            Data("  \(name): \(format(value)) \(unit) \(target.isEmpty ? "" : "(target \(target)) ")\(mark)\n".utf8))
    }

    func format(_ v: Double) -> String {
        v >= 100 ? String(Int(v.rounded())) : String(format: "%.3f", v)
    }

    func table() -> String {
        var rows = [["figure", "value", "unit", "target", ""]]
        for f in figures { rows.append([f.name, format(f.value), f.unit, f.target, f.met.map { $0 ? "ok" : "MISSED" } ?? ""]) }
        var widths = [Int](repeating: 0, count: 5)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        var out = info.map { "\($0.0): \($0.1)" }.joined(separator: "\n") + "\n\n"
        for r in rows {
            out += r.enumerated().map { $0.element.padding(toLength: widths[$0.offset] + 2, withPad: " ", startingAt: 0) }.joined() + "\n"
        }
        return out
    }

    var json: JSON {
        var o = JSONObject()
        for (k, v) in info { o[k] = .string(v) }
        o["figures"] = .array(
            figures.map { f in
                [
                    "name": .string(f.name), "value": .double(f.value), "unit": .string(f.unit), "target": .string(f.target),
                    "met": f.met.map(JSON.bool) ?? .null,
                ]
            })
        return .object(o)
    }
}
