import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import Testing

/// crmd under systemd's protocols, without systemd as PID 1: the notify socket is a
/// `NotifyListener`, socket activation is `systemd-socket-activate`.
@Suite("systemd integration", .serialized)
struct SystemdTests {
    /// A config file in the daemon's folder.
    func writeConfig(_ d: TestDaemon, _ text: String) throws -> String {
        let path = d.directory.appendingPathComponent("crmd.yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func days(from a: JSON?, to b: JSON?) -> Double? {
        guard let a = a?.stringValue.flatMap(RFC3339.parse), let b = b?.stringValue.flatMap(RFC3339.parse) else { return nil }
        return b.timeIntervalSince(a) / 86_400
    }

    @Test("READY=1 with live STATUS=, reload on SIGHUP (a bad file keeps the old settings), STOPPING=1, exit 0")
    func lifecycle() throws {
        let d = try TestDaemon()
        let notify = try NotifyListener(path: d.directory.appendingPathComponent("notify.sock").path)
        let config = try writeConfig(d, "zones:\n  release_after: P6M\n")
        d.environment["NOTIFY_SOCKET"] = notify.path
        d.arguments = ["--config", config]
        try d.start()
        let ready = try #require(notify.wait(forLine: "READY=1"))
        #expect(ready.message.value("STATUS")?.hasPrefix("serving 0 clients: 0 green") == true)
        let c = try d.connect()
        let first = try c.call("client.create", ["name": "Before Reload", "owner": .null])
        _ = try c.call("user.add", ["login": "ivanov", "name": "Ivan Ivanov", "role": "manager", "uid": 50_002])
        _ = try c.call("client.assign", ["id": first["id"]!, "owner": "ivanov"])

        // A good file: the new release threshold applies to clocks started from now on.
        _ = try writeConfig(d, "zones:\n  release_after: P3M\n  red_after: P2M\n")
        let mark = notify.messages.count
        kill(d.pid!, SIGHUP)
        let reloading = try #require(notify.wait(forLine: "RELOADING=1", after: mark))
        #expect(reloading.message.value("MONOTONIC_USEC").flatMap(UInt64.init) != nil)
        let reloaded = try #require(notify.wait(forLine: "READY=1", after: reloading.index))
        #expect(reloaded.message.value("STATUS")?.contains("settings reloaded") == true)
        let short = try c.call("client.create", ["name": "After Reload", "owner": "ivanov"])
        let shortDays = try #require(days(from: short["assigned_at"], to: short["release_at"]))
        #expect((89...93).contains(shortDays), "release after P3M, got \(shortDays) days")

        // A broken file: logged, reported, and the settings in force stay.
        _ = try writeConfig(d, "zones:\n  release_after: soon\n")
        let mark2 = notify.messages.count
        kill(d.pid!, SIGHUP)
        let failed = try #require(notify.wait(forLine: "READY=1", after: mark2))
        #expect(failed.message.value("STATUS")?.contains("reload failed") == true)
        #expect(failed.message.value("STATUS")?.contains("zones.release_after") == true)
        let still = try c.call("client.create", ["name": "Still Short", "owner": "ivanov"])
        let stillDays = try #require(days(from: still["assigned_at"], to: still["release_at"]))
        #expect((89...93).contains(stillDays))
        // stderr arrives through a pipe: give it a moment.
        var logged = false
        for _ in 0..<200 where !logged {
            logged = d.currentStderr().contains("settings not reloaded")
            if !logged { usleep(10_000) }
        }
        #expect(logged)

        // The status figures follow the data.
        let mark3 = notify.messages.count
        kill(d.pid!, SIGHUP)
        let counted = try #require(notify.wait(forLine: "READY=1", after: mark3))
        #expect(counted.message.value("STATUS")?.hasPrefix("serving 3 clients: 3 green") == true, "\(counted.message.text)")

        let mark4 = notify.messages.count
        #expect(d.stop() == 0)
        #expect(notify.wait(forLine: "STOPPING=1", after: mark4, timeout: 1) != nil)
    }

    @Test("WATCHDOG=1 stops while the engine cannot write, and resumes after")
    func watchdogFollowsEngine() throws {
        let d = try TestDaemon()
        let notify = try NotifyListener(path: d.directory.appendingPathComponent("notify.sock").path)
        d.environment["NOTIFY_SOCKET"] = notify.path
        d.environment["WATCHDOG_USEC"] = "1000000"
        try d.start()
        #expect(notify.wait(forLine: "READY=1") != nil)
        let c = try d.connect()
        _ = try c.call("client.create", ["name": "Watched", "owner": .null])
        // Healthy: a ping every third of the interval.
        let first = try #require(notify.wait(forLine: "WATCHDOG=1"))
        #expect(notify.wait(forLine: "WATCHDOG=1", after: first.index + 1, timeout: 2) != nil)

        // Another process holds the database's write lock for 4.5 s (under crmd's 5 s busy timeout): the scheduler's probe
        // (a write transaction) cannot finish, so the pings stop, though reads still work.
        let locker = Process()
        locker.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        locker.arguments = [
            "-c",
            """
            import sqlite3, sys, time
            c = sqlite3.connect(sys.argv[1], isolation_level=None)
            c.execute('BEGIN IMMEDIATE'); print('locked', flush=True); time.sleep(4.5); c.execute('COMMIT')
            """, d.databasePath,
        ]
        let out = Pipe()
        locker.standardOutput = out
        try locker.run()
        _ = out.fileHandleForReading.availableData  // "locked"
        let lockedAt = Date()
        #expect(try c.call("server.ping")["pong"] == true)
        locker.waitUntilExit()
        // After the lock, the pings come back.
        let resumed = try #require(notify.wait(timeout: 5) { $0.at > lockedAt.addingTimeInterval(4.5) && $0.text.contains("WATCHDOG=1") })
        // While it was held, they stopped: the longest silence between two pings around the lock
        // is most of its 4.5 s (exit and reply timing on a loaded machine take the rest).
        let pings = notify.messages.filter { $0.text.contains("WATCHDOG=1") && $0.at <= resumed.message.at }.map(\.at)
        let gaps = zip(pings, pings.dropFirst()).map { $1.timeIntervalSince($0) }
        let longest = gaps.max() ?? 0
        #expect(longest > 3, "pings went on while the engine was stuck (longest silence \(longest) s)")
        d.stop()
    }

    @Test("socket activation: crmd adopts the socket named crmd and leaves it in place")
    func socketActivation() throws {
        let activate = "/usr/bin/systemd-socket-activate"
        try #require(FileManager.default.isExecutableFile(atPath: activate), "systemd-socket-activate is part of the systemd package")
        let d = try TestDaemon()
        let socket = d.directory.appendingPathComponent("activated.sock").path
        let notify = try NotifyListener(path: d.directory.appendingPathComponent("notify.sock").path)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: activate)
        p.arguments =
            [
                "-l", socket, "--fdname=crmd", "-E", "NOTIFY_SOCKET=\(notify.path)",
            ] + sanitizerSettings() + [TestDaemon.binaryPath(), "--database", d.databasePath]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        defer {
            if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        }
        var waited = 0
        while !FileManager.default.fileExists(atPath: socket), waited < 500 {
            usleep(10_000)
            waited += 1
        }
        // Nothing runs crmd until the first connection arrives.
        #expect(notify.messages.isEmpty)
        let c = try Connection(path: socket)
        #expect(try c.call("server.ping")["pong"] == true)
        #expect(notify.wait(forLine: "READY=1") != nil)
        _ = try c.call("client.create", ["name": "Activated", "owner": .null])
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        let printed = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(printed.contains("listening on \(socket) (socket passed by systemd)"), "\(printed)")
        // The socket file belongs to the socket unit: crmd does not remove it.
        #expect(FileManager.default.fileExists(atPath: socket))
    }

    @Test("several sockets and none named crmd: a clear refusal, exit 78")
    func wrongSocketName() throws {
        let d = try TestDaemon()
        let a = d.directory.appendingPathComponent("a.sock").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/systemd-socket-activate")
        p.arguments =
            [
                "-l", a, "-l", d.directory.appendingPathComponent("b.sock").path, "--fdname=web:admin",
            ] + sanitizerSettings() + [TestDaemon.binaryPath(), "--database", d.databasePath]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        var waited = 0
        while !FileManager.default.fileExists(atPath: a), waited < 500 {
            usleep(10_000)
            waited += 1
        }
        let c = try Connection(path: a)  // the first connection starts crmd
        p.waitUntilExit()
        _ = c
        #expect(p.terminationStatus == 78)
        let printed = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(printed.contains("none is named 'crmd'; set FileDescriptorName=crmd in crmd.socket"), "\(printed)")
    }

    @Test("SIGTERM: requests in flight are answered and kept, the database is closed cleanly, exit 0")
    func gracefulStop() throws {
        let d = try TestDaemon()
        try d.start()
        let c = try d.connect()
        let id = try c.call("client.create", ["name": "Busy", "owner": .null])["id"]!
        let n = 2_000
        var lines = ""
        for i in 0..<n {
            lines +=
                #"{"jsonrpc":"2.0","id":\#(i),"method":"interaction.log","params":{"client_id":\#(id.intValue!),"kind":"note","note":"n\#(i)"}}"#
            lines += "\n"
        }
        try c.send(raw: Array(lines.utf8))
        #expect(try c.readJSON()?["result"] != nil)  // the first is answered: the rest are in flight
        kill(d.pid!, SIGTERM)
        var acked = 1
        while let reply = try? c.readJSON() {
            if reply["result"] != nil { acked += 1 }
        }
        #expect(d.stop() == 0)
        // Closed cleanly: the WAL was checkpointed into the database file.
        let wal = (try? FileManager.default.attributesOfItem(atPath: d.databasePath + "-wal")[.size] as? Int) ?? 0
        #expect(wal == 0)
        try d.start()
        let after = try d.connect()
        var count = 0
        var cursor: JSON = .null
        repeat {
            let page = try after.call("interaction.list", ["client_id": id, "limit": 1000, "cursor": cursor])
            count += page["items"]?.arrayValue?.count ?? 0
            cursor = page["next_cursor"] ?? .null
        } while cursor != .null
        #expect(count >= acked, "acknowledged \(acked), stored \(count)")
        d.stop()
    }
}

/// `-E` options for systemd-socket-activate passing on this process's sanitizer settings: it
/// gives crmd a reduced environment, and a sanitized crmd needs them (where to write reports,
/// no leak check at exit).
private func sanitizerSettings() -> [String] {
    let env = ProcessInfo.processInfo.environment
    return ["ASAN_OPTIONS", "TSAN_OPTIONS"].flatMap { key in env[key].map { ["-E", "\(key)=\($0)"] } ?? [] }
}
