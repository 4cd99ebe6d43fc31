import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import Testing

@Suite("Faults: a full disk, a bad database file, a bad delivery command")
struct FaultTests {
    @Test(
        "database on a full tmpfs: writes fail with the storage error, reads work, writes resume, nothing acknowledged is lost",
        .enabled(if: canMountTmpfs, "needs root allowed to mount a tmpfs"))
    func fullDisk() throws {
        let d = try TestDaemon()
        try mountTmpfs(d.directory.path, size: "4m")
        defer { _ = try? runProcess("/bin/umount", [d.directory.path]) }
        try d.start()
        let c = try d.connect()
        var acknowledged: [Int64] = []
        for i in 0..<20 { acknowledged.append(try c.call("client.create", ["name": .string("Before \(i)")])["id"]!.intValue!) }
        // Fill the file system with a filler file (dd stops at ENOSPC).
        let filler = d.directory.appendingPathComponent("filler").path
        _ = try runProcess("/bin/dd", ["if=/dev/zero", "of=\(filler)", "bs=64k"])
        var failure: JSON? = nil
        for i in 0..<5_000 {
            let line =
                #"{"jsonrpc":"2.0","id":\#(i),"method":"client.create","params":{"name":"Full \#(i) \#(String(repeating: "x", count: 200))"}}"#
            let r = try roundTrip(c, line)
            if let id = r["result"]?["id"]?.intValue {
                acknowledged.append(id)
            } else {
                failure = r
                break
            }
        }
        let f = try #require(failure, "writes never failed on a full disk")
        #expect(errorCode(f) == -32603, "\(JSONWriter.string(f))")
        #expect(f["error"]?["data"]?["reason"] == "storage", "\(JSONWriter.string(f))")
        #expect(f["error"]?["message"]?.stringValue?.contains("disk is full") == true, "\(JSONWriter.string(f))")
        // Reads keep working, and so does the connection.
        #expect(try c.call("client.get", ["id": .int(acknowledged[0])])["name"] == "Before 0")
        #expect(try c.call("client.list", ["limit": 5])["items"]?.arrayValue?.count == 5)
        #expect(try d.connect().call("server.ping")["pong"] == .bool(true))
        // Space returns: writes resume.
        try FileManager.default.removeItem(atPath: filler)
        var resumed = false
        for i in 0..<20 {
            if let r = try? c.call("client.create", ["name": .string("After \(i)")]), let id = r["id"]?.intValue {
                acknowledged.append(id)
                resumed = true
                break
            }
            Thread.sleep(forTimeInterval: 0.2)
        }
        #expect(resumed, "writes did not resume after space returned")
        // Nothing acknowledged is lost across a restart.
        #expect(d.stop() == 0)
        try d.start()
        defer { d.stop() }
        let again = try d.connect()
        for id in acknowledged { #expect(throws: Never.self) { _ = try again.call("client.get", ["id": .int(id)]) } }
        print("full disk: \(acknowledged.count) acknowledged writes, all present after restart")
    }

    @Test(
        "a database on a read-only file system at start: a clear message and a non-zero exit",
        .enabled(if: canMountTmpfs, "needs root allowed to mount a tmpfs"))
    func readOnlyAtStart() throws {
        let d = try TestDaemon()
        try mountTmpfs(d.directory.path, size: "8m")
        defer { _ = try? runProcess("/bin/umount", [d.directory.path]) }
        try d.start()
        _ = try d.connect().call("client.create", ["name": "Kept"])
        #expect(d.stop() == 0)
        let ro = try runProcess("/bin/mount", ["-o", "remount,ro", d.directory.path])
        try #require(ro.status == 0, "\(ro.err)")
        let r = try d.runToExit(arguments: [])
        #expect(r.status != 0)
        #expect(r.stderr.contains(d.databasePath), "\(r.stderr)")
        #expect(r.stderr.contains("Read-only file system"), "\(r.stderr)")
        print("read-only: exit \(r.status): \(r.stderr.split(separator: "\n").last ?? "")")
    }

    @Test("a corrupt database file at start: a clear message and a non-zero exit")
    func corruptAtStart() throws {
        let d = try TestDaemon()
        try d.start()
        _ = try d.connect().call("client.create", ["name": "Soon garbage"])
        #expect(d.stop() == 0)
        // Garbage over the header and the first pages.
        let h = try FileHandle(forUpdating: URL(fileURLWithPath: d.databasePath))
        var rng = SystemRandomNumberGenerator()
        try h.write(contentsOf: Data((0..<(4 * 4096)).map { _ in UInt8.random(in: 0...255, using: &rng) }))
        try h.close()
        let r = try d.runToExit(arguments: [])
        #expect(r.status != 0)
        #expect(r.stderr.contains("cannot open the database \(d.databasePath)"), "\(r.stderr)")
        print("corrupt: exit \(r.status): \(r.stderr.split(separator: "\n").last ?? "")")
    }

    private static func deliveryDaemon(_ command: String, environment: [String: String] = [:]) throws -> TestDaemon {
        let d = try TestDaemon(
            environment: environment.merging(["CRMD_ALERTS_DELIVERY_COMMAND": command], uniquingKeysWith: { $1 }),
            arguments: ["--clock", "manual", "--clock-start", ExchangeTests.start])
        try d.start()
        return d
    }

    @Test(
        "a delivery command that crashes, or exits without reading, never stalls or kills crmd; its alert is retried",
        arguments: ["kill -SEGV $$", "exec 0<&-; exit 3"])
    func crashingCommand(command: String) throws {
        let d = try Self.deliveryDaemon(command)
        defer { d.stop() }
        let c = try d.connect()
        try seedTeam(c)
        _ = try c.call("client.create", ["name": "Crash Test", "owner": "ivanov"])
        for _ in 0..<6 {
            let advanced = rpcErrorCode { try c.call("clock.advance", ["by": "P1M"]) }
            #expect(advanced == nil, "crmd: \(d.currentStderr())")
            #expect(try d.connect().call("server.ping")["pong"] == .bool(true))
        }
        let alerts = try c.call("server.status")["alerts"]
        #expect((alerts?["command_pending"]?.intValue ?? 0) >= 1, "\(alerts.map(JSONWriter.string) ?? "")")
        #expect((alerts?["command_failing"]?.intValue ?? 0) >= 1, "\(alerts.map(JSONWriter.string) ?? "")")
        #expect(d.pid.map { kill($0, 0) == 0 } == true, "crmd is alive")
    }

    @Test("a delivery command that hangs never stalls crmd: others are served while it runs")
    func hangingCommand() throws {
        let d = try Self.deliveryDaemon("sleep 1000")
        defer { d.stop() }
        let c = try d.connect()
        try seedTeam(c)
        _ = try c.call("client.create", ["name": "Hang Test", "owner": "ivanov"])
        // The advance may wait for the command (up to its 30 s limit); another connection may not.
        let advancer = try d.connect()
        let done = LockedBox<Date?>(nil)
        Thread.detachNewThread {
            _ = try? advancer.call("clock.advance", ["by": "P1M"])
            done.set(Date())
        }
        Thread.sleep(forTimeInterval: 0.5)
        let other = try d.connect()
        var worst = 0.0
        for i in 0..<50 {
            let t = Date()
            _ = try other.call("client.create", ["name": .string("During \(i)")])
            _ = try other.call("server.ping")
            worst = max(worst, Date().timeIntervalSince(t))
        }
        #expect(worst < 1, "worst round trip while the command hangs: \(worst) s")
        print("hanging delivery command: worst round trip \(worst) s, advance done: \(done.get() != nil)")
    }

    @Test("a delivery command past its time limit is killed with its whole process group; its alert is retried")
    func timedOutCommandKillsGroup() throws {
        let dir = try temporaryFolder("crmd-group")
        defer { try? FileManager.default.removeItem(at: dir) }
        // A gateway that leaves two background children (one ignoring SIGTERM, so only the
        // SIGKILL that follows reaches it) and then hangs in a pipeline.
        let script = try deliveryScript(
            in: dir,
            """
            #!/bin/sh
            sleep 1000 &
            echo $! >> "\(dir.path)/pids"
            sh -c 'trap "" TERM; exec sleep 1000' &
            echo $! >> "\(dir.path)/pids"
            cat > /dev/null
            echo run >> "\(dir.path)/runs"
            sleep 1000 | cat
            """)
        let d = try Self.deliveryDaemon(script.path, environment: ["CRMD_ALERTS_DELIVERY_TIMEOUT": "PT2S"])
        defer { d.stop() }
        let c = try d.connect()
        try seedTeam(c)
        _ = try c.call("client.create", ["name": "Group Test", "owner": "ivanov"])
        func lines(_ name: String) -> [String] {
            ((try? String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }
        // Each advance runs the delivery (the first attempt, then the retry 5 s later) and waits
        // for it; meanwhile the children are seen alive.
        for (round, advance) in ["P1M", "PT10S"].enumerated() {
            let advancer = try d.connect()
            let done = LockedBox<Bool>(false)
            Thread.detachNewThread {
                _ = try? advancer.call("clock.advance", ["by": .string(advance)])
                done.set(true)
            }
            let deadline = Date().addingTimeInterval(20 * testSlowdown)
            while lines("runs").count <= round, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
            let pids = lines("pids").dropFirst(2 * round).compactMap { pid_t($0) }
            try #require(pids.count == 2, "attempt \(round + 1) did not start: \(d.currentStderr())")
            #expect(pids.allSatisfy(isRunning), "the children run while the command hangs")
            while !done.get(), Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
            #expect(done.get(), "clock.advance returned once the command was stopped")
            for pid in pids { #expect(!isRunning(pid), "child \(pid) of attempt \(round + 1) was killed with the group") }
            let alerts = try c.call("server.status")["alerts"]
            #expect(alerts?["command_pending"] == 1, "\(alerts.map(JSONWriter.string) ?? "")")
            #expect(alerts?["command_failing"] == 1, "\(alerts.map(JSONWriter.string) ?? "")")
            #expect(try d.connect().call("server.ping")["pong"] == .bool(true))
        }
        #expect(lines("runs").count == 2, "one first attempt and one retry")
        #expect(d.currentStderr().contains("timed out after 2"), "\(d.currentStderr().suffix(2000))")
        #expect(d.pid.map { kill($0, 0) == 0 } == true, "crmd is alive")
    }
}

/// Whether `pid` is a live process: it exists and is not a zombie (an orphan killed here is
/// reparented to a pid 1 that may not reap it).
private func isRunning(_ pid: pid_t) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else {
        return false
    }
    return !stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
}

private final class LockedBox<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: T
    init(_ v: T) { value = v }
    func set(_ v: T) { lock.withLock { value = v } }
    func get() -> T { lock.withLock { value } }
}
