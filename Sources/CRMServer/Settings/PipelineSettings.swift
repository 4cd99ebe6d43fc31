import CRMCore
import CRMStore
import Foundation
import Yams

extension Settings {
    /// The pipelines of `deals.pipelines` in the YAML file, or nil when it lists none: a list of
    /// `{name, allow_skip?, stages: [{name, probability?, cadence?}]}` (cadence an ISO 8601
    /// duration, or `none`). Read here because the settings reader flattens keys and cannot hold a
    /// list of sections.
    static func pipelines(ofYAMLFile path: String) throws -> [Pipeline]? {
        let key = "deals.pipelines"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8), let top = try Yams.compose(yaml: text),
            let deals = top.mapping?["deals"], let list = deals.mapping?["pipelines"]
        else { return nil }
        guard case .sequence(let items) = list else {
            if list.scalar.map({ $0.string.isEmpty || $0.string == "~" || $0.string == "null" }) == true { return nil }
            throw SettingsError(key: key, problem: "must be a list of pipelines (- name: ..., stages: [...]), see config/crmd.yaml")
        }
        var out: [Pipeline] = []
        for (i, item) in items.enumerated() {
            guard let m = item.mapping else { throw SettingsError(key: "\(key)[\(i)]", problem: "must be a mapping with name and stages") }
            for k in m.keys.compactMap(\.string) where !["name", "allow_skip", "stages"].contains(k) {
                throw SettingsError(key: "\(key)[\(i)].\(k)", problem: "is not a pipeline setting (name, allow_skip, stages)")
            }
            guard let name = m["name"]?.string, !name.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw SettingsError(key: "\(key)[\(i)].name", problem: "is required")
            }
            var allowSkip = false
            if let v = m["allow_skip"] {
                guard let b = v.bool else { throw SettingsError(key: "\(key)[\(i)].allow_skip", problem: "must be true or false") }
                allowSkip = b
            }
            guard let stageNodes = m["stages"]?.sequence else {
                throw SettingsError(key: "\(key)[\(i)].stages", problem: "must be a list of stages ({name, probability, cadence})")
            }
            var stages: [Stage] = []
            for (j, node) in stageNodes.enumerated() {
                let at = "\(key)[\(i)].stages[\(j)]"
                guard let sm = node.mapping, let stageName = sm["name"]?.string else {
                    throw SettingsError(key: at, problem: "must be a mapping with at least a name")
                }
                for k in sm.keys.compactMap(\.string) where !["name", "probability", "cadence"].contains(k) {
                    throw SettingsError(key: "\(at).\(k)", problem: "is not a stage setting (name, probability, cadence)")
                }
                var probability = 0
                if let v = sm["probability"] {
                    guard let p = v.int, (0...100).contains(p) else {
                        throw SettingsError(key: "\(at).probability", problem: "must be a whole number from 0 to 100")
                    }
                    probability = p
                }
                var cadence: ISODuration? = nil
                if let v = sm["cadence"]?.string, !["", "~", "null", "none"].contains(v.lowercased()) {
                    guard let d = ISODuration(v) else {
                        throw SettingsError(key: "\(at).cadence", problem: "'\(v)' is not an ISO 8601 duration like P2D or PT12H (or none)")
                    }
                    cadence = d
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
