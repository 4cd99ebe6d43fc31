import CRMCore
import CRMProtocol
import CRMStore
import Foundation
import Testing

@testable import CRMServer

/// `deals:` in the YAML file through `Settings.load`: the flat keys through swift-configuration,
/// `deals.pipelines` (a mapping of pipelines to a mapping of stages, in file order) through Yams, and every bad shape refused naming its key.
@Suite("Pipeline settings from the YAML file")
struct PipelineSettingsTests {
    static let environment = ["CRMD_STORE_PATH": "/tmp/crmd-pipeline-settings.sqlite"]

    /// Loads settings from a file holding `yaml`.
    func load(_ yaml: String) async throws -> Settings {
        let path = NSTemporaryDirectory() + "crmd-pipelines-\(UUID().uuidString).yaml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        defer { unlink(path) }
        return try await Settings.load(configFile: path, socket: "/tmp/x.sock", database: nil, environment: Self.environment)
    }

    /// What crmd makes of a file holding `yaml` once swift-configuration has read the flat keys:
    /// `deals.pipelines` parsed (nil: none listed), then the deal settings validated.
    func pipelinesThenValidate(_ yaml: String) throws -> (pipelines: [Pipeline]?, problem: (key: String, problem: String)?) {
        let path = NSTemporaryDirectory() + "crmd-pipelines-\(UUID().uuidString).yaml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        defer { unlink(path) }
        try Settings.checkKeys(ofYAMLFile: path)
        let parsed = try Settings.pipelines(ofYAMLFile: path)
        var deals = DealSettings()
        if let parsed { deals.pipelines = parsed }
        return (parsed, deals.validate())
    }

    /// The key a file holding `yaml` is refused with (nil if it loads).
    func refusedKey(_ yaml: String) async -> (key: String, problem: String)? {
        do {
            _ = try await load(yaml)
            return nil
        } catch let e as SettingsError {
            return (e.key, e.problem)
        } catch {
            return ("(not a SettingsError) \(error)", "")
        }
    }

    static let custom = """
        zones:
          time_zone: Europe/Berlin
        deals:
          currency: EUR
          lost_reasons: [Price, Timing]
          overdue_head_grace: PT4H
          exempt_from_stage: Negotiation
          max_attachment_bytes: 1048576
          max_attachments_per_deal: 5
          pipelines:
            Wholesale:
              allow_skip: true
              stages:
                Lead: {probability: 5, cadence: P1D}
                Negotiation:
                  probability: 60
                  cadence: none
                Contract:
                  probability: 90
                  cadence: PT12H
            Retail:
              stages:
                Call:
        alerts:
          working_hours: "10:00-18:00"
        """

    @Test("a custom pipeline list parses: names, order, allow_skip, probabilities, cadences (none too)")
    func custom() throws {
        let (parsed, problem) = try pipelinesThenValidate(Self.custom)
        #expect(problem == nil)
        let pipelines = try #require(parsed)
        #expect(pipelines.map(\.name) == ["Wholesale", "Retail"])
        let w = pipelines[0]
        #expect(w.allowSkip)
        #expect(w.stages.map(\.name) == ["Lead", "Negotiation", "Contract"])
        #expect(w.stages.map(\.probability) == [5, 60, 90])
        #expect(w.stages.map { $0.cadence?.description } == ["P1D", nil, "PT12H"])
        #expect(pipelines[1].stages == [Stage(name: "Call", probability: 0, cadence: nil)])
        #expect(!pipelines[1].allowSkip)
    }

    @Test("the flat deals keys load, and the keys around them still read")
    func flatKeys() async throws {
        let flat = Self.custom.components(separatedBy: "  pipelines:")[0] + "alerts:\n  working_hours: \"10:00-18:00\"\n"
        let s = try await load(flat.replacingOccurrences(of: "Negotiation", with: "Proposal sent"))
        let deals = s.domain.deals
        #expect(deals.pipelines == [Pipeline.sales])
        #expect(deals.currency == "EUR")
        #expect(deals.lostReasons == ["Price", "Timing"])
        #expect(deals.overdueHeadGrace == ISODuration(hours: 4))
        #expect(deals.exemptFromStage == "Proposal sent")
        #expect(deals.maxAttachmentBytes == 1_048_576)
        #expect(deals.maxAttachmentsPerDeal == 5)
        #expect(s.domain.zones.timeZone.identifier == "Europe/Berlin")
        #expect(s.domain.workStartMinute == 10 * 60)
        #expect(s.domain.workEndMinute == 18 * 60)
        // The rules see what was loaded.
        let live = LiveSettings(s)
        #expect(live.current.dealRules.exempts(pipeline: "Sales", stage: "Contract discussion"))
        #expect(!live.current.dealRules.exempts(pipeline: "Sales", stage: "New deal"))
    }

    @Test("no deals.pipelines (or an empty one) keeps the seed's default pipeline; no file at all too")
    func defaults() async throws {
        for yaml in ["deals:\n  currency: USD\n", "deals:\n  pipelines:\n", "log:\n  level: info\n"] {
            let s = try await load(yaml)
            #expect(s.domain.deals.pipelines == [Pipeline.sales], "\(yaml)")
        }
        let none = try await Settings.load(configFile: nil, socket: "/tmp/x.sock", database: nil, environment: Self.environment)
        #expect(none.domain.deals == DealSettings())
        #expect(try await load("deals:\n  currency: usd\n").domain.deals.currency == "USD")
        #expect(try await load("deals:\n  overdue_head_grace: none\n").domain.deals.overdueHeadGrace == nil)
        #expect(try await load("deals:\n  exempt_from_stage: off\n").domain.deals.exemptFromStage == nil)
    }

    /// A pipelines mapping whose one pipeline `P` has `stages` (YAML lines at the stages' indent).
    static func pipelines(_ stages: String) -> String {
        "deals:\n  pipelines:\n    P:\n      stages:\n"
            + stages.split(separator: "\n").map { "        " + $0 }.joined(separator: "\n") + "\n"
    }

    /// `deals.pipelines`' own refusals: the key names the pipeline, the stage and the setting.
    static let parserCases: [(String, String, String)] = [
        ("probability 150", pipelines("A: {probability: 150}"), "deals.pipelines.P.stages.A.probability"),
        ("probability 5.5", pipelines("A: {probability: 5.5}"), "deals.pipelines.P.stages.A.probability"),
        ("bad cadence", pipelines("A:\nB: {cadence: two days}"), "deals.pipelines.P.stages.B.cadence"),
        ("unknown stage key", pipelines("A: {cadense: P1D}"), "deals.pipelines.P.stages.A.cadense"),
        ("a stage that is a list", pipelines("A: [1, 2]"), "deals.pipelines.P.stages.A"),
        ("a stage that is text", pipelines("A: soon"), "deals.pipelines.P.stages.A"),
        ("pipelines as text", "deals:\n  pipelines: Sales\n", "deals.pipelines"),
        ("pipelines as a list (the form swift-configuration refuses)", "deals:\n  pipelines:\n    - name: P\n", "deals.pipelines"),
        ("a pipeline without stages", "deals:\n  pipelines:\n    P: {allow_skip: true}\n", "deals.pipelines.P.stages"),
        ("a pipeline that is text", "deals:\n  pipelines:\n    P: soon\n", "deals.pipelines.P"),
        ("unknown pipeline key", "deals:\n  pipelines:\n    P: {skip: true, stages: {A: {}}}\n", "deals.pipelines.P.skip"),
        (
            "allow_skip not a bool", "deals:\n  pipelines:\n    P: {allow_skip: often, stages: {A: {}}}\n",
            "deals.pipelines.P.allow_skip"
        ),
    ]

    @Test("each bad shape of deals.pipelines is refused naming its key", arguments: 0..<parserCases.count)
    func refused(_ i: Int) throws {
        let (name, yaml, key) = Self.parserCases[i]
        do {
            let (_, problem) = try pipelinesThenValidate(yaml)
            Issue.record("\(name) was accepted (validate: \(problem.map { "\($0.key): \($0.problem)" } ?? "nothing"))")
        } catch let e as SettingsError {
            #expect(e.key == key, "\(name): \(e.problem)")
            #expect(!e.problem.isEmpty, "\(name)")
        }
    }

    /// Bad flat `deals.*` keys, refused by `Settings.load` itself.
    static let flatCases: [(String, String, String)] = [
        ("a misspelt deals key", "deals:\n  curency: RUB\n", "deals.curency"),
        ("bad currency", "deals:\n  currency: RUBLE\n", "deals.currency"),
        ("currency with a digit", "deals:\n  currency: RU1\n", "deals.currency"),
        ("exempt_from_stage naming no stage", "deals:\n  exempt_from_stage: Signed\n", "deals.exempt_from_stage"),
        ("bad grace", "deals:\n  overdue_head_grace: a day\n", "deals.overdue_head_grace"),
        ("attachments of 0 bytes", "deals:\n  max_attachment_bytes: 0\n", "deals.max_attachment_bytes"),
    ]

    @Test("each bad flat deals key is refused by Settings.load naming it", arguments: 0..<flatCases.count)
    func refusedAtLoad(_ i: Int) async throws {
        let (name, yaml, key) = Self.flatCases[i]
        let got = try #require(await refusedKey(yaml), "\(name) was accepted")
        #expect(got.key == key, "\(name): \(got.problem)")
    }

    /// Refused by `DealSettings.validate` after parsing: (case, YAML, a word of the problem).
    static let validateCases: [(String, String, String)] = [
        ("a stage named Won", pipelines("A:\nWon:"), "outcome"),
        ("a stage named lost", pipelines("lost:"), "outcome"),
        ("an empty mapping", "deals:\n  pipelines: {}\n", "at least one"),
        ("a zero cadence", pipelines("A: {cadence: PT0S}"), "longer than zero"),
    ]

    @Test("what the rules refuse in a parsed list is refused, with its problem", arguments: 0..<validateCases.count)
    func validated(_ i: Int) throws {
        let (name, yaml, word) = Self.validateCases[i]
        let got = try #require(try pipelinesThenValidate(yaml).problem, "\(name) was accepted")
        #expect(got.problem.contains(word), "\(name): \(got.problem)")
    }

    @Test("a stage removed while open deals are in it is refused naming the deals; closed deals do not hold it")
    func removedStage() async throws {
        let s = try await SalesTeam()
        let c = try await s.client("Stranded LLC")
        let d1 = try await s.deal(c, "one")
        let d2 = try await s.deal(c, "two")
        _ = try await s.move(d2, "Proposal sent").get()
        var fewer = DealSettings()
        fewer.pipelines[0].stages.removeFirst()
        let problem = try #require(try Settings.removedStageProblem(fewer, store: s.crm.store))
        #expect(problem.key == "deals.pipelines")
        #expect(problem.problem.contains("'New deal'"))
        #expect(problem.problem.contains("\(d1["id"]?.intValue ?? -1)"))
        var renamed = DealSettings()
        renamed.pipelines[0].name = "Sales 2"
        #expect(try Settings.removedStageProblem(renamed, store: s.crm.store)?.problem.contains("Sales") == true)
        _ = try await s.ok("deal.close", ["id": d1["id"] ?? .null, "outcome": "lost", "reason": "Price"], uid: SalesTeam.ivanov)
        #expect(try Settings.removedStageProblem(fewer, store: s.crm.store) == nil)
        #expect(try Settings.removedStageProblem(DealSettings(), store: s.crm.store) == nil)
    }
}
