import CRMCore
import CRMStore
import Foundation
import Yams

extension Settings {
    /// The pipelines of `deals.pipelines` in the YAML file, or nil when it lists none: a mapping
    /// of pipeline names, in order, each `{allow_skip?, stages: {NAME: {probability?, cadence?}, ...}}`
    /// with its stages in order (cadence an ISO 8601 duration, or `none`). Mappings rather than
    /// lists because the settings reader (swift-configuration) refuses a list of mappings; the
    /// order is the file's, read here with Yams.
    static func pipelines(ofYAMLFile path: String) throws -> [Pipeline]? {
        let key = "deals.pipelines"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8), let top = try Yams.compose(yaml: text),
            let deals = top.mapping?["deals"], let list = deals.mapping?["pipelines"]
        else { return nil }
        guard case .mapping(let items) = list else {
            if list.scalar.map({ $0.string.isEmpty || $0.string == "~" || $0.string == "null" }) == true { return nil }
            throw SettingsError(
                key: key,
                problem:
                    "must be a mapping of pipeline names to {allow_skip, stages: {STAGE: {probability, cadence}}}, see config/crmd.yaml")
        }
        var out: [Pipeline] = []
        for (nameNode, item) in items {
            let name = nameNode.string ?? ""
            let at = "\(key).\(name)"
            guard let m = item.mapping else { throw SettingsError(key: at, problem: "must be a mapping with stages (and allow_skip)") }
            for k in m.keys.compactMap(\.string) where !["allow_skip", "stages"].contains(k) {
                throw SettingsError(key: "\(at).\(k)", problem: "is not a pipeline setting (allow_skip, stages)")
            }
            var allowSkip = false
            if let v = m["allow_skip"] {
                guard let b = v.bool else { throw SettingsError(key: "\(at).allow_skip", problem: "must be true or false") }
                allowSkip = b
            }
            guard let stageNodes = m["stages"]?.mapping else {
                throw SettingsError(key: "\(at).stages", problem: "must be a mapping of stage names, in order, to {probability, cadence}")
            }
            var stages: [Stage] = []
            for (stageNameNode, node) in stageNodes {
                let stageName = stageNameNode.string ?? ""
                let sat = "\(at).stages.\(stageName)"
                var probability = 0
                var cadence: ISODuration? = nil
                if let sm = node.mapping {
                    for k in sm.keys.compactMap(\.string) where !["probability", "cadence"].contains(k) {
                        throw SettingsError(key: "\(sat).\(k)", problem: "is not a stage setting (probability, cadence)")
                    }
                    if let v = sm["probability"] {
                        guard let p = v.int, (0...100).contains(p) else {
                            throw SettingsError(key: "\(sat).probability", problem: "must be a whole number from 0 to 100")
                        }
                        probability = p
                    }
                    if let v = sm["cadence"]?.string, !["", "~", "null", "none"].contains(v.lowercased()) {
                        guard let d = ISODuration(v) else {
                            throw SettingsError(
                                key: "\(sat).cadence", problem: "'\(v)' is not an ISO 8601 duration like P2D or PT12H (or none)")
                        }
                        cadence = d
                    }
                } else if node.scalar.map({ ["", "~", "null"].contains($0.string) }) != true {
                    throw SettingsError(key: sat, problem: "must be a mapping {probability, cadence} (or empty)")
                }
                stages.append(Stage(name: stageName, probability: probability, cadence: cadence))
            }
            out.append(Pipeline(name: name, stages: stages, allowSkip: allowSkip))
        }
        return out
    }
}

extension Settings {
    /// The open deals `deals` would strand: a stage (or pipeline) the settings no longer have
    /// while open deals are in it. Such settings are refused at start and at reload, naming the
    /// deals to move or close first.
    static func removedStageProblem(_ deals: DealSettings, store: Store) throws -> (key: String, problem: String)? {
        for group in try store.read({ try $0.openDealsPerStage() }) where deals.pipeline(group.pipeline)?.stage(group.stage) == nil {
            let shown = group.ids.prefix(20).map(String.init).joined(separator: ", ") + (group.ids.count > 20 ? ", …" : "")
            return (
                "deals.pipelines",
                "the stage '\(group.stage)' of pipeline '\(group.pipeline)' is gone but \(group.ids.count) open deal(s) are in it (\(shown)); move or close them first, or keep the stage"
            )
        }
        return nil
    }
}
