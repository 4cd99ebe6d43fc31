import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation

final class Bench {
    let clients: Int
    let seconds: Double
    let connections: Int
    let report = Report()
    var daemon: TestDaemon!
    var clientIDs: ClosedRange<Int64> = 1...1
    var phases: Set<String> = Set(["ping", "get", "find", "log", "startup", "zones", "catchup", "idle", "echo", "rawlog", "stalled"])
        .union(DealPhases.names).union(ManagementPhases.names).union(ChannelPhase.names)
        .union(ImportPhase.names).union(SegmentPhases.names).union(SearchPhase.names).union(WindowPhase.names)
        .union(RoutingPhase.names).union(MailPhase.names)
    var dueClients = 100_000
    var idleSeconds = 60.0
    var stalledEvents = 100_000
    var soakRequests = 1_000_000
    var deals = 200_000
    var overdueDeals = 100_000
    var seedConnections = 64
    var interactions = 1_000_000
    var reportCalls = 3
    /// Clients released at one instant in the window phase (issue 21).
    var windowClients = 1_000
    /// Letters the mail phase writes to its Maildir and hands over (issue 22).
    var mailMessages = 100_000
    /// crmd's figures the raw phases divide by (same process, same run).
    var crmdPing: Double?
    var crmdLog: Double?
    var crmdLog1: Double?

    init(clients: Int, seconds: Double, connections: Int) {
        self.clients = clients
        self.seconds = seconds
        self.connections = connections
    }

    func log(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }

    /// crmd logs every event at info; at warning the figures measure serving, not logging
    /// (docs/performance.md).
    static let crmdEnvironment = ["CRMD_LOG_LEVEL": "warning"]

    func run() throws {
        report.info = [
            ("machine", machineDescription()), ("clients", String(clients)), ("connections", String(connections)),
            ("seconds_per_phase", String(seconds)), ("crmd", TestDaemon.binaryPath()),
            ("crmd_log_level", Self.crmdEnvironment["CRMD_LOG_LEVEL"] ?? "info"),
        ]
        // The raw equivalents go with crmd's figures they divide.
        if phases.contains("ping") { phases.insert("echo") }
        if phases.contains("log") { phases.insert("rawlog") }
        if !phases.isDisjoint(with: ["ping", "get", "find", "log", "startup", "rawlog", "stalled", "soak", "hostile"]) {
            // The hostile phase's attacker runs as other uids: the socket must be open to them.
            daemon = try TestDaemon(environment: Self.crmdEnvironment, world: phases.contains("hostile"))
            try daemon.start()
            try load()
            let requests = RequestPhases(bench: self)
            if phases.contains("ping") { try requests.ping() }
            if phases.contains("get") { try requests.get() }
            if phases.contains("find") { try requests.find() }
            if phases.contains("log") { try requests.interactionLog() }
            if phases.contains("startup") { try requests.startupAndMemory() }
            // After the others on this daemon: it adds a million interactions.
            if phases.contains("soak") { try SoakPhase(bench: self).run() }
            // After everything else on this daemon: it adds clients and leaves crmd's memory as
            // the attacks left it.
            if phases.contains("hostile") { try HostilePhase(bench: self).run() }
            daemon.stop()
        }
        // With crmd stopped: nothing else runs on the cores or writes to the file.
        let raw = RawPhases(bench: self)
        if phases.contains("echo") { try raw.echo() }
        if phases.contains("rawlog") { try raw.rawLog() }
        // On the same loaded database, after everything that measures it: this phase adds clients.
        if phases.contains("stalled") {
            try daemon.start()
            defer { daemon.stop() }
            try StalledPhase(bench: self).run()
        }
        if !phases.isDisjoint(with: ["zones", "catchup", "idle"]) { try ZonePhases(bench: self).run() }
        if phases.contains("deals") { phases.formUnion(DealPhases.names) }
        if !phases.isDisjoint(with: DealPhases.names) { try DealPhases(bench: self).run() }
        if !phases.isDisjoint(with: ManagementPhases.names) { try ManagementPhases(bench: self).run() }
        if !phases.isDisjoint(with: ChannelPhase.names) { try ChannelPhase(bench: self).run() }
        if !phases.isDisjoint(with: ClassPhase.names) { try ClassPhase(bench: self).run() }
        if !phases.isDisjoint(with: ImportPhase.names) { try ImportPhase(bench: self).run() }
        if !phases.isDisjoint(with: SegmentPhases.names) { try SegmentPhases(bench: self).run() }
        if !phases.isDisjoint(with: SearchPhase.names) { try SearchPhase(bench: self).run() }
        if !phases.isDisjoint(with: WindowPhase.names) { try WindowPhase(bench: self).run() }
        if !phases.isDisjoint(with: RoutingPhase.names) { try RoutingPhase(bench: self).run() }
        if !phases.isDisjoint(with: MailPhase.names) { try MailPhase(bench: self).run() }
    }

    func machineDescription() -> String {
        let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("model name") }?.split(separator: ":").last?.trimmingCharacters(in: .whitespaces)
        return
            "\(ProcessInfo.processInfo.activeProcessorCount) cores, \(cpu ?? "unknown cpu"), \(ProcessInfo.processInfo.physicalMemory >> 30) GiB"
    }

    func load() throws {
        log("loading \(clients) clients ...")
        let c = try daemon.connect()
        for i in 0..<10 {
            _ = try c.call(
                "user.add", ["login": .string("m\(i)"), "name": .string("Manager \(i)"), "role": "manager", "uid": .int(Int64(60_000 + i))])
        }
        let start = nowNS()
        let ids = try Self.importClients(c, 0..<clients) {
            ["name": .string("Client \($0)"), "phones": [.string(Self.phone($0))], "owner": .string("m\($0 % 10)")]
        }
        let secs = Double(nowNS() - start) / 1e9
        clientIDs = ids ?? 1...1
        report.add("load clients (client.import, 10k per call)", Double(clients) / secs, "clients/s")
    }

    /// Imports the clients `item(k)` for every k of `range`, 10,000 per `client.import`; returns
    /// the range of their ids.
    @discardableResult
    static func importClients(_ c: Connection, _ range: Range<Int>, _ item: (Int) -> JSON) throws -> ClosedRange<Int64>? {
        var first: Int64? = nil
        var last: Int64? = nil
        var k = range.lowerBound
        while k < range.upperBound {
            let n = min(10_000, range.upperBound - k)
            let r = try c.call("client.import", ["clients": .array((k..<(k + n)).map(item))])
            let ids = r["ids"]?.arrayValue?.compactMap(\.intValue) ?? []
            first = first ?? ids.first
            last = ids.last ?? last
            k += n
        }
        guard let first, let last else { return nil }
        return first...last
    }

    static func phone(_ k: Int) -> String {
        let n = 9_000_000_000 + k
        return "+7\(n)"
    }
}

/// A group of phases run on a ``Bench``: its figures, its daemon and its log at hand; the rest of
/// its settings through `bench`.
protocol BenchPhase {
    var bench: Bench { get }
}

extension BenchPhase {
    var report: Report { bench.report }
    var daemon: TestDaemon { bench.daemon }
    func log(_ s: String) { bench.log(s) }
}
