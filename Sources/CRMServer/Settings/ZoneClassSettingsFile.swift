public import CRMCore
import Foundation
import Yams

extension Settings {
    /// `zones.by_segment` and `zones.by_class` in the YAML file: each a mapping of a segment name
    /// (or an ABC class, `A`, `B`, `C`) to some of `yellow_after`, `red_after`, `release_after`;
    /// those left out are `zones.*`'s. Read with Yams because the settings reader does not hand
    /// out a mapping's keys. The most specific rule wins: segment, then class, then the default.
    static func zoneClassRules(ofYAMLFile path: String) throws -> ThresholdRules {
        var rules = ThresholdRules(base: .default)
        guard let text = try? String(contentsOfFile: path, encoding: .utf8), let top = try Yams.compose(yaml: text),
            let section = top.mapping?["zones"]?.mapping
        else { return rules }
        for name in ["by_segment", "by_class"] {
            let key = "zones.\(name)"
            guard let node = section[name] else { continue }
            guard case .mapping(let items) = node else {
                if node.scalar.map({ ["", "~", "null"].contains($0.string) }) == true { continue }
                throw SettingsError(key: key, problem: "must be a mapping of names to thresholds, like {Wholesale: {release_after: P1M}}")
            }
            guard items.count <= 1_000 else { throw SettingsError(key: key, problem: "has more than 1000 rules") }
            for (k, v) in items {
                let n = k.string ?? ""
                guard !n.isEmpty, n.count <= 200 else { throw SettingsError(key: key, problem: "has an empty or over-long name") }
                if name == "by_class", !["A", "B", "C"].contains(n.uppercased()) {
                    throw SettingsError(key: "\(key).\(n)", problem: "is not an ABC class (A, B or C)")
                }
                guard case .mapping(let fields) = v else {
                    throw SettingsError(key: "\(key).\(n)", problem: "must be a mapping of yellow_after, red_after, release_after")
                }
                var rule = ThresholdOverride()
                for (fk, fv) in fields {
                    let f = fk.string ?? ""
                    guard let d = fv.string.flatMap(ISODuration.init) else {
                        throw SettingsError(key: "\(key).\(n).\(f)", problem: "must be an ISO 8601 duration like P1M")
                    }
                    switch f {
                    case "yellow_after": rule.yellowAfter = d
                    case "red_after": rule.redAfter = d
                    case "release_after": rule.releaseAfter = d
                    default:
                        throw SettingsError(key: "\(key).\(n).\(f)", problem: "is not a threshold (yellow_after, red_after, release_after)")
                    }
                }
                if name == "by_segment" { rules.set(segment: n, rule) } else { rules.set(abcClass: n, rule) }
            }
        }
        return rules
    }
}

/// The zone rules of each segment and class rule, made once per settings (a `ZoneRules` holds a
/// calendar; making one per client would cost on every contact).
public final class ClassZoneRules: Sendable {
    public let thresholds: ThresholdRules
    let base: ZoneRules
    let bySegment: [String: ZoneRules]
    let byClass: [String: ZoneRules]

    init(_ thresholds: ThresholdRules, base: ZoneRules) {
        self.thresholds = thresholds
        self.base = base
        var s: [String: ZoneRules] = [:]
        for name in thresholds.bySegment.keys { s[name] = ZoneRules(thresholds.thresholds(segment: name, abc: nil).thresholds) }
        var c: [String: ZoneRules] = [:]
        for name in thresholds.byClass.keys { c[name] = ZoneRules(thresholds.thresholds(segment: nil, abc: name).thresholds) }
        bySegment = s
        byClass = c
    }

    /// The zone rules of a client in `segment` of ABC class `abc`.
    func rules(segment: String?, abc: String?) -> ZoneRules {
        if thresholds.bySegment.isEmpty && thresholds.byClass.isEmpty { return base }
        switch thresholds.thresholds(segment: segment, abc: abc).source {
        case .segment(let s): return bySegment[s.lowercased()] ?? base
        case .abcClass(let a): return byClass[a] ?? base
        case .default: return base
        }
    }
}
