import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import Testing

/// The programs in examples/ run against the real crmd on a manual clock, the chat webhook
/// replaced by a local listener (examples/testing/webhook-listener.py) and sendmail by a fake
/// one that records what it is given.
@Suite("examples/ against the real crmd", .serialized)
struct ExamplesTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func example(_ path: String) -> String { root.appendingPathComponent("examples/\(path)").path }

    /// A program left running in the background, stopped with SIGKILL (as by a crash or a power
    /// cut: the subscriber must resume from what it saved, not from a tidy shutdown).
    final class Background {
        let process = Process()
        init(_ path: String, _ args: [String], environment: [String: String] = [:]) throws {
            process.executableURL = URL(fileURLWithPath: path)
            process.arguments = args
            process.environment = ProcessInfo.processInfo.environment.merging(environment, uniquingKeysWith: { $1 })
            process.standardOutput = FileHandle.nullDevice
            try process.run()
        }
        func stop() {
            guard process.isRunning else { return }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// The chat webhook's stand-in: where it writes the posts, and its URL.
    static func listener(in dir: URL) throws -> (Background, out: URL, url: String) {
        let out = dir.appendingPathComponent("posts.jsonl")
        let portFile = dir.appendingPathComponent("port")
        let l = try Background(example("testing/webhook-listener.py"), [out.path, portFile.path])
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if let port = try? String(contentsOf: portFile, encoding: .utf8), !port.isEmpty {
                return (l, out, "http://127.0.0.1:\(port)/hook")
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        l.stop()
        throw ExampleError("the webhook listener did not start")
    }

    /// crmd on a manual clock with `environment`, and a head and two managers; the caller stops it.
    static func team(_ environment: [String: String] = [:]) throws -> (TestDaemon, Connection, (head: Int64, ivanov: Int64, sidorov: Int64))
    {
        let d = try TestDaemon(environment: environment, arguments: ["--clock", "manual", "--clock-start", ExchangeTests.start])
        try d.start()
        do {
            let c = try d.connect()
            return (d, c, try seedTeam(c))
        } catch {
            d.stop()
            throw error
        }
    }

    struct ExampleError: Error, CustomStringConvertible {
        let description: String
        init(_ d: String) { description = d }
    }

    /// The lines of `file` once `done` holds for them (or what there is after 30 s).
    static func lines(_ file: URL, until done: ([String]) -> Bool) -> [String] {
        let deadline = Date().addingTimeInterval(30)
        var lines: [String] = []
        repeat {
            lines = ((try? String(contentsOf: file, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
            if done(lines) { return lines }
            Thread.sleep(forTimeInterval: 0.05)
        } while Date() < deadline
        return lines
    }

    static func posted(_ line: String) -> String { (try? JSONParser.parse(line))?["text"]?.stringValue ?? line }

    @Test("the subscriber forwards zone changes and releases, and resumes after a restart with no gap and no repeat")
    func subscriberResumes() throws {
        let dir = try temporaryFolder("crmd-example-sub")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (hook, out, url) = try Self.listener(in: dir)
        defer { hook.stop() }
        let (d, c, _) = try Self.team()
        defer { d.stop() }
        _ = try c.call("client.create", ["name": "Romashka", "owner": "ivanov"])
        let state = dir.appendingPathComponent("seq")
        let args = [
            "--socket", d.socketPath, "--state", state.path, "--since", "0", "--", Self.example("alerts/chat-webhook.py"), url,
        ]
        let first = try Background(Self.example("subscriber/crm-subscriber.py"), args)
        _ = try c.call("clock.advance", ["by": "P1M"])  // green → yellow
        let before = Self.lines(out) { $0.count >= 1 }.map(Self.posted)
        #expect(before.count == 1 && before[0].contains("Romashka") && before[0].contains("(yellow)"), "\(before)")
        _ = Self.lines(state) { $0.first.flatMap { Int($0) } ?? 0 > 0 }  // the seq is saved once the post is made
        first.stop()

        // While it is down: red, then the release.
        _ = try c.call("clock.advance", ["by": "P4M"])
        _ = try c.call("clock.advance", ["by": "P1M"])
        let second = try Background(Self.example("subscriber/crm-subscriber.py"), args)
        defer { second.stop() }
        let all = Self.lines(out) { $0.contains { Self.posted($0).contains("ушёл на биржу") } }.map(Self.posted)
        Thread.sleep(forTimeInterval: 0.5)  // time for a repeat to show, were there one
        let final = Self.lines(out) { _ in true }.map(Self.posted)
        #expect(final == all)
        #expect(all.first == before.first)
        #expect(all.filter { $0.contains("(yellow)") }.count == 1, "\(all)")
        #expect(all.filter { $0.contains("(red)") }.count == 1, "\(all)")
        #expect(all.filter { $0.contains("ушёл на биржу от ivanov") }.count == 1, "\(all)")
        let seqs = all.compactMap { $0.components(separatedBy: "seq ").last.flatMap { Int($0) } }
        #expect(seqs.count == all.count && seqs == seqs.sorted() && Set(seqs).count == seqs.count, "\(all)")
        let saved = Self.lines(state) { $0.first.flatMap { Int($0) } == seqs.last }
        #expect(saved.first.flatMap { Int($0) } == seqs.last)
    }

    @Test("chat-webhook.py as the alert delivery command: posted, and retried while the webhook fails")
    func webhookAlerts() throws {
        let dir = try temporaryFolder("crmd-example-hook")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (hook, out, url) = try Self.listener(in: dir)
        defer { hook.stop() }
        FileManager.default.createFile(atPath: out.path + ".fail", contents: Data())
        let (d, c, _) = try Self.team(["CRMD_ALERTS_DELIVERY_COMMAND": "\(Self.example("alerts/chat-webhook.py")) \(url)"])
        defer { d.stop() }
        _ = try c.call("client.create", ["name": "Gateway Test", "owner": "ivanov"])
        _ = try c.call("clock.advance", ["by": "P1M"])  // the yellow alert; the webhook answers 503
        var failing: JSON? = nil
        for _ in 0..<200 where failing != 1 {
            failing = try c.call("server.status")["alerts"]?["command_failing"]
            Thread.sleep(forTimeInterval: 0.05)
        }
        #expect(failing == 1)
        try FileManager.default.removeItem(atPath: out.path + ".fail")
        _ = try c.call("clock.advance", ["by": "PT1M"])
        let posts = Self.lines(out) { $0.count >= 1 }.map(Self.posted)
        #expect(posts.count == 1 && posts[0].hasPrefix("🔔") && posts[0].contains("Gateway Test"), "\(posts)")
    }

    @Test("alert-sendmail.py as the alert delivery command: one mail to the mapped address, through sendmail -t")
    func sendmailAlerts() throws {
        let dir = try temporaryFolder("crmd-example-mail")
        defer { try? FileManager.default.removeItem(at: dir) }
        let bin = dir.appendingPathComponent("bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Self.example("testing/fake-sendmail"), toPath: bin.appendingPathComponent("sendmail").path)
        let log = dir.appendingPathComponent("mail.log")
        let map = dir.appendingPathComponent("mail-map")
        let (d, c, team) = try Self.team([
            "CRMD_ALERTS_DELIVERY_COMMAND": "\(Self.example("alerts/alert-sendmail.py")) --map \(map.path) --to sales@example.ru",
            "PATH": "\(bin.path):\(ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")", "FAKE_SENDMAIL_LOG": log.path,
        ])
        defer { d.stop() }
        try "# user id, address\n\(team.ivanov) ivanov@example.ru\n".write(to: map, atomically: true, encoding: .utf8)
        _ = try c.call("client.create", ["name": "Mail Test", "owner": "ivanov"])
        _ = try c.call("clock.advance", ["by": "P1M"])
        let mail = Self.lines(log) { $0.contains { $0.hasPrefix("(alert #") } }
        #expect(mail.contains("To: ivanov@example.ru"), "\(mail)")
        #expect(mail.contains { $0.hasPrefix("Subject: ") })
        #expect(mail.contains { $0.contains("Mail Test") })
        #expect(mail.contains { $0.hasPrefix("(alert #") && $0.contains("zone_yellow") })
        let args = Self.lines(URL(fileURLWithPath: log.path + ".args")) { !$0.isEmpty }
        #expect(args == ["-t -oi"])
    }
}
