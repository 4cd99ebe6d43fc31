import CRMClient
import CRMProtocol
import CRMSync
import CRMTestSupport
import Foundation
import Testing

@Suite("Durability and start-up")
struct DurabilityTests {
    @Test("data survives a graceful restart")
    func restart() throws {
        let d = try TestDaemon()
        try d.start()
        var c = try d.connect()
        try seedTeam(c)
        let client = try c.call("client.create", ["name": "Persist LLC", "owner": "ivanov", "phones": ["8 (916) 765-43-21"]])
        let id = client["id"]!.intValue!
        _ = try c.call("interaction.log", ["client_id": .int(id), "kind": "call", "result": "ok"])
        #expect(d.stop() == 0)
        try d.start()
        c = try d.connect()
        let back = try c.call("client.get", ["id": .int(id)])
        #expect(back["name"] == "Persist LLC")
        #expect(back["owner_login"] == "ivanov")
        #expect(back["interactions"]?.arrayValue?.count == 1)
        #expect(try c.call("client.find_by_phone", ["phone": "+79167654321"])["client"]?["id"] == .int(id))
        d.stop()
    }

    @Test("kill -9 during writes loses nothing that was acknowledged")
    func crash() throws {
        let d = try TestDaemon()
        try d.start()
        let setup = try d.connect()
        let client = try setup.call("client.create", ["name": "Crash Test", "owner": .null])
        let id = client["id"]!.intValue!
        let acked = Locked<[String]>([])
        let writers = 8
        let group = DispatchGroup()
        let stopAfter = 150  // acknowledged writes before the kill
        for w in 0..<writers {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                guard let c = try? d.connect() else { return }
                var n = 0
                while true {
                    let note = "w\(w)-\(n)"
                    do {
                        _ = try c.call("interaction.log", ["client_id": .int(id), "kind": "note", "note": .string(note)])
                        acked.withLock { $0.append(note) }
                        n += 1
                    } catch {
                        return  // the daemon died under us
                    }
                }
            }
        }
        while acked.withLock({ $0.count }) < stopAfter { usleep(1000) }
        d.kill9()
        group.wait()
        try d.start()
        let c = try d.connect()
        var stored = Set<String>()
        var cursor: JSON = .null
        repeat {
            let page = try c.call("interaction.list", ["client_id": .int(id), "limit": 1000, "cursor": cursor])
            for i in page["items"]?.arrayValue ?? [] { stored.insert(i["note"]!.stringValue!) }
            cursor = page["next_cursor"] ?? .null
        } while cursor != .null
        let ackedNotes = acked.withLock { $0 }
        #expect(ackedNotes.count >= stopAfter)
        let lost = ackedNotes.filter { !stored.contains($0) }
        #expect(lost.isEmpty, "acknowledged but lost: \(lost.prefix(10))")
        #expect(try c.call("server.status")["store"]?["path"] == .string(d.databasePath))
        d.stop()
    }

    @Test("a second crmd on the same database or socket refuses to start")
    func secondInstance() throws {
        try withDaemon { d in
            let sameDB = try d.runToExit(arguments: ["--socket", d.directory.appendingPathComponent("other.sock").path])
            #expect(sameDB.status != 0)
            #expect(sameDB.stderr.contains("already using the database"), "\(sameDB.stderr)")
            let otherDB = d.directory.appendingPathComponent("other.sqlite").path
            let sameSocket = try d.runToExit(arguments: ["--database", otherDB])
            #expect(sameSocket.status != 0)
            #expect(sameSocket.stderr.contains("already listening on"), "\(sameSocket.stderr)")
            // The first one still serves.
            #expect(try d.connect().call("server.ping")["pong"] == .bool(true))
        }
    }

    @Test("a bad config value stops start-up with a message naming the key")
    func badConfig() throws {
        let d = try TestDaemon()
        let file = d.directory.appendingPathComponent("crmd.yaml")
        try "zones:\n  yellow_after: one month\n".write(to: file, atomically: true, encoding: .utf8)
        let r = try d.runToExit(arguments: ["--config", file.path])
        #expect(r.status == 78)
        #expect(r.stderr.contains("zones.yellow_after"), "\(r.stderr)")
        let env = try d.runToExit(arguments: [], environment: ["CRMD_STORE_SYNCHRONOUS": "sometimes"])
        #expect(env.status == 78)
        #expect(env.stderr.contains("store.synchronous"), "\(env.stderr)")
        // A delivery command must get at least a second before it is killed.
        let timeout = try d.runToExit(arguments: ["--check-config"], environment: ["CRMD_ALERTS_DELIVERY_TIMEOUT": "PT0S"])
        #expect(timeout.status == 78)
        #expect(timeout.stderr.contains("'alerts.delivery_timeout': 'PT0S' must be at least PT1S"), "\(timeout.stderr)")
        try "zones:\n  yelow_after: P2M\n".write(to: file, atomically: true, encoding: .utf8)
        let typo = try d.runToExit(arguments: ["--config", file.path])
        #expect(typo.status == 78)
        #expect(typo.stderr.contains("zones.yelow_after"), "\(typo.stderr)")
        #expect(typo.stderr.contains("did you mean 'zones.yellow_after'"), "\(typo.stderr)")
        // The shipped, fully commented example file loads as it is.
        let shipped = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("config/crmd.yaml").path
        let good = try d.runToExit(arguments: ["--config", shipped, "--check-config"])
        #expect(good.status == 0, "\(good.stderr)")
        let missing = try d.runToExit(arguments: ["--config", "/nonexistent/crmd.yaml"])
        #expect(missing.status == 78)
        #expect(missing.stderr.contains("does not exist"))
    }

    @Test("a stale socket file left by a crash is replaced")
    func staleSocket() throws {
        let d = try TestDaemon()
        try d.start()
        d.kill9()
        #expect(FileManager.default.fileExists(atPath: d.socketPath))
        try d.start()
        #expect(try d.connect().call("server.ping")["pong"] == .bool(true))
        d.stop()
    }
}
