import CRMCore
import Foundation
import Testing

@testable import CRMServer

/// Loading `deals:` settings through the whole reader (swift-configuration, then Yams).
@Suite("Pipeline settings: a custom pipeline through Settings.load")
struct PipelineSettingsLoadTests {
    @Test(
        "Settings.load (so crmd's start) reads a custom deals.pipelines mapping past swift-configuration's YAML reader"
    )
    func customPipelinesLoad() async throws {
        let path = NSTemporaryDirectory() + "crmd-pipelines-bug-\(UUID().uuidString).yaml"
        try PipelineSettingsTests.custom.write(toFile: path, atomically: true, encoding: .utf8)
        defer { unlink(path) }
        do {
            let s = try await Settings.load(
                configFile: path, socket: "/tmp/x.sock", database: nil, environment: PipelineSettingsTests.environment)
            #expect(s.domain.deals.pipelines.map(\.name) == ["Wholesale", "Retail"])
            #expect(s.domain.deals.exemptFromStage == "Negotiation")
        } catch {
            // A list of mappings here made the reader fail: "Unexpected non-scalar value in array".
            Issue.record("a valid deals.pipelines mapping was refused: \(error)")
        }
    }

    @Test("a bad pipeline is reported under the config key deals.pipelines")
    func validateNamesTheKey() {
        // Settings.load throws SettingsError(key: problem.key) with this key as it is.
        var deals = DealSettings()
        deals.pipelines[0].stages[4].name = "Won"
        #expect(deals.validate()?.key == "deals.pipelines")
        deals = DealSettings()
        deals.pipelines = []
        #expect(deals.validate()?.key == "deals.pipelines")
    }
}
