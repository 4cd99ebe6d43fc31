import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import Testing

/// Helpers of the deal tests (DealStoryTests): connections acting as a user, events read off a
/// subscription or replayed from the log, and errors with their data.
enum DealTest {
    /// A new connection to `d` acting as `login`.
    static func connect(_ d: TestDaemon, as login: String) throws -> Connection {
        let c = try d.connect()
        _ = try c.call("session.act_as", ["login": .string(login)])
        return c
    }

    /// The `RPCError` a call threw, or nil if it succeeded.
    static func rpcError(_ body: () throws -> JSON) -> RPCError? {
        do {
            _ = try body()
            return nil
        } catch let e as RPCError {
            return e
        } catch {
            return RPCError(code: -1, message: "\(error)", data: nil)
        }
    }

    /// The next `count` events on a subscribed connection (their `params`), in order: a barrier
    /// on the stream, not a sleep.
    static func next(_ c: Connection, _ count: Int = 1) throws -> [JSON] {
        var out: [JSON] = []
        while out.count < count, let line = try c.readJSON() {
            if line["method"] == "event", let p = line["params"] { out.append(p) }
        }
        return out
    }

    /// Every event so far whose topic starts with one of `prefixes`, as root sees them: replayed
    /// from seq 0 up to a new unassigned client created as a barrier.
    static func replay(_ d: TestDaemon, _ prefixes: [String]) throws -> [JSON] {
        let c = try d.connect()
        _ = try c.call("subscribe", ["since": 0])
        let barrier = try d.connect().call("client.create", ["name": .string("Barrier \(UUID().uuidString)")])["id"]!
        var out: [JSON] = []
        while let line = try c.readJSON() {
            guard line["method"] == "event", let ev = line["params"], let topic = ev["topic"]?.stringValue else { continue }
            if topic == "client.created", ev["data"]?["client_id"] == barrier { break }
            if prefixes.contains(where: { topic.hasPrefix($0) }) { out.append(ev) }
        }
        return out
    }

    /// The ids of a list of objects.
    static func ids(_ items: JSON?) -> [JSON] { items?.arrayValue?.compactMap { $0["id"] } ?? [] }

    /// A config file `crmd.yaml` in the daemon's folder.
    @discardableResult
    static func writeConfig(_ d: TestDaemon, _ text: String) throws -> String {
        let path = d.directory.appendingPathComponent("crmd.yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A `deals.pipelines` config with one pipeline "Sales" of these stages (name, cadence).
    static func pipelineConfig(_ stages: [(String, String)]) -> String {
        var text = "deals:\n  pipelines:\n    Sales:\n      stages:\n"
        for (name, cadence) in stages { text += "        \(name):\n          probability: 50\n          cadence: \(cadence)\n" }
        return text
    }

    /// Waits until crmd's stderr contains `text` (it arrives through a pipe).
    static func waitForLog(_ d: TestDaemon, _ text: String) -> Bool {
        for _ in 0..<500 {
            if d.currentStderr().contains(text) { return true }
            usleep(10_000)
        }
        return false
    }
}
