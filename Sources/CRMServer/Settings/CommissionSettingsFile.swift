import CRMCore
import Foundation
import Yams

extension Settings {
    /// The rates of `commission.pipelines` and `commission.segments` in the YAML file: each a
    /// mapping of a name (pipeline or client segment) to a rate in basis points, 0-10000. Read
    /// with Yams because the settings reader does not hand out a mapping's keys. A rate set for
    /// a pipeline crmd does not have is refused (a typo would silently pay the user's rate).
    static func commissionRates(ofYAMLFile path: String, pipelines: [Pipeline]) throws -> (
        pipelines: [String: Int], segments: [String: Int]
    ) {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8), let top = try Yams.compose(yaml: text),
            let section = top.mapping?["commission"]?.mapping
        else { return ([:], [:]) }
        func rates(_ name: String) throws -> [String: Int] {
            let key = "commission.\(name)"
            guard let node = section[name] else { return [:] }
            guard case .mapping(let items) = node else {
                if node.scalar.map({ ["", "~", "null"].contains($0.string) }) == true { return [:] }
                throw SettingsError(key: key, problem: "must be a mapping of names to rates in basis points, like {Wholesale: 150}")
            }
            var out: [String: Int] = [:]
            for (k, v) in items {
                let n = k.string ?? ""
                guard !n.isEmpty, n.count <= 200 else { throw SettingsError(key: key, problem: "has an empty or over-long name") }
                guard let bp = v.int, (0...CommissionSettings.maxBP).contains(bp) else {
                    throw SettingsError(key: "\(key).\(n)", problem: "must be a rate in basis points from 0 to 10000 (200 = 2 %)")
                }
                out[n] = bp
            }
            return out
        }
        let byPipeline = try rates("pipelines")
        for name in byPipeline.keys.sorted() where !pipelines.contains(where: { $0.name == name }) {
            throw SettingsError(
                key: "commission.pipelines.\(name)",
                problem: "names no pipeline; use one of \(pipelines.map(\.name).joined(separator: ", "))")
        }
        return (byPipeline, try rates("segments"))
    }

    /// `commission.basis` and `commission.default_bp` (also from `CRMD_COMMISSION_*`).
    mutating func applyCommission(basis: String?, defaultBP: String?) throws {
        if let v = basis {
            guard let b = CommissionBasis(rawValue: v.lowercased()) else {
                throw SettingsError(key: "commission.basis", problem: "'\(v)' must be won (deals won) or paid (payments received)")
            }
            domain.commission.basis = b
        }
        if let t = defaultBP {
            guard let v = Int(t), (0...CommissionSettings.maxBP).contains(v) else {
                throw SettingsError(
                    key: "commission.default_bp", problem: "'\(t)' is not a rate in basis points from 0 to 10000 (200 = 2 %)")
            }
            domain.commission.defaultBP = v
        }
    }
}
