import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import Testing

/// The project's own `scripts/with-journald.sh`, found from this file's place in the checkout.
private let withJournald = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("scripts/with-journald.sh").path

private let canRunJournald =
    getuid() == 0 && ["/usr/bin/unshare", "/bin/unshare"].contains { FileManager.default.isExecutableFile(atPath: $0) }

/// crmd logging to a real systemd-journald (a private one, in its own mount namespace), read
/// back with journalctl the way an operator searches: by client, by manager, by method.
@Suite(
    "Logs in the journal, searchable by client and manager",
    .enabled(if: canRunJournald, "needs root and util-linux unshare to run a private systemd-journald (scripts/with-journald.sh)"))
struct JournalTests {
    /// The journal entries matching `match` (journalctl's FIELD=value terms), as JSON objects.
    func entries(_ dir: URL, _ match: [String]) throws -> [JSON] {
        let r = try runProcess(
            "/usr/bin/env", ["journalctl", "-D", dir.appendingPathComponent("journal").path, "-o", "json", "--no-pager"] + match)
        return r.out.split(separator: "\n").compactMap { try? JSONParser.parse(String($0)) }
    }

    /// Polls until `found` holds for the entries matching `match` (journald writes on its own
    /// schedule, and crmd logs events after their commit), or gives up after `timeout`.
    func waitFor(_ dir: URL, _ match: [String], timeout: TimeInterval = 15, _ found: ([JSON]) -> Bool) throws -> [JSON] {
        let deadline = Date().addingTimeInterval(timeout)
        var last: [JSON] = []
        while Date() < deadline {
            last = try entries(dir, match)
            if found(last) { return last }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return last
    }

    /// crmd on a manual clock next to a private journald, and the folder holding its journal.
    func daemon(environment: [String: String], stderrToJournal: Bool) throws -> (TestDaemon, URL) {
        let d = try TestDaemon(environment: environment, arguments: ["--clock", "manual", "--clock-start", "2026-01-12T09:00:00Z"])
        let dir = d.directory.appendingPathComponent("j")
        d.launcher = [withJournald] + (stderrToJournal ? ["--stderr-to-journal"] : []) + [dir.path, "--"]
        try d.start()
        return (d, dir)
    }

    /// A client of ivanov's that turns yellow, then a read of it.
    func story(_ c: Connection) throws -> Int64 {
        try seedTeam(c)
        let client = try c.call("client.create", ["name": "Journal Ltd", "owner": "ivanov"])
        let id = try #require(client["id"]?.intValue)
        _ = try c.call("clock.advance", ["by": "P1M"])  // green → yellow, recorded as zone.changed
        _ = try c.call("client.get", ["id": .int(id)])
        return id
    }

    @Test(
        "under systemd (stderr is the journal stream), an event carries CRM_EVENT and CRM_USER and a request CRM_METHOD and CRM_DURATION_MS"
    )
    func eventsAndRequests() throws {
        // log.target is left at auto: JOURNAL_STREAM names crmd's stderr, as systemd sets it.
        let (d, dir) = try daemon(environment: ["CRMD_LOG_LEVEL": "debug"], stderrToJournal: true)
        var stopped = false
        defer { if !stopped { d.stop() } }
        let c = try d.connect()
        let id = try story(c)

        let byClient = ["CRM_CLIENT_ID=\(id)"]
        let zone = try waitFor(dir, byClient) { $0.contains { $0["CRM_EVENT"] == "zone.changed" } }
        let changed = try #require(
            zone.first { $0["CRM_EVENT"] == "zone.changed" }, "no zone.changed entry for client \(id); journald: \(journaldLog(dir))")
        #expect(changed["CRM_USER"] == "ivanov")
        #expect(changed["CRM_ZONE"] == "yellow")
        #expect(changed["CRM_SEQ"]?.stringValue.flatMap { Int($0) } != nil)
        #expect(changed["PRIORITY"] == "6")
        #expect(changed["SYSLOG_IDENTIFIER"] == "crmd")
        #expect(changed["_TRANSPORT"] == "journal")  // the native protocol, not a line on the stream
        #expect(
            changed["MESSAGE"]?.stringValue?.hasPrefix("zone.changed: client \(id) \"Journal Ltd\" green → yellow (owner ivanov") == true)

        let requests = try waitFor(dir, byClient + ["CRM_METHOD=client.get"]) { !$0.isEmpty }
        let get = try #require(requests.first, "no client.get request entry for client \(id)")
        #expect(get["CRM_USER"] != nil)
        #expect(get["PRIORITY"] == "7")
        let ms = try #require(get["CRM_DURATION_MS"]?.stringValue)
        #expect(Double(ms) != nil && Double(ms)! >= 0, "CRM_DURATION_MS=\(ms)")
        #expect(get["CODE_FILE"] != nil && get["CODE_LINE"] != nil && get["CODE_FUNC"] != nil)

        // Searchable by manager: the owner's entries include this client's events.
        let byManager = try entries(dir, ["CRM_USER=ivanov", "CRM_EVENT=client.created"])
        #expect(byManager.contains { $0["CRM_CLIENT_ID"]?.stringValue == String(id) })
        // A failed request carries its error code.
        #expect(rpcErrorCode { try c.call("client.get", ["id": 999_999]) } == 1001)
        let failed = try waitFor(dir, ["CRM_CLIENT_ID=999999", "CRM_METHOD=client.get"]) { !$0.isEmpty }
        #expect(failed.first?["CRM_ERROR_CODE"] == "1001")

        stopped = true
        #expect(d.stop() == 0)
        let lifecycle = try entries(dir, ["SYSLOG_IDENTIFIER=crmd", "MESSAGE=crmd stopped"])
        #expect(lifecycle.count == 1)
        #expect(lifecycle.first?["_TRANSPORT"] == "journal")
    }

    @Test("log.target journald sends to the journal even when stderr is not the journal; nothing goes to stderr")
    func explicitJournald() throws {
        let (d, dir) = try daemon(environment: ["CRMD_LOG_TARGET": "journald"], stderrToJournal: false)
        defer { d.stop() }
        let id = try story(try d.connect())
        let found = try waitFor(dir, ["CRM_CLIENT_ID=\(id)", "CRM_EVENT=zone.changed"]) { !$0.isEmpty }
        #expect(found.first?["CRM_USER"] == "ivanov", "journald: \(journaldLog(dir))")
        #expect(try entries(dir, ["CRM_METHOD=client.get"]).isEmpty)  // requests are debug; the level is info
        #expect(!d.stderrText.contains("zone.changed"))
    }

    @Test("auto without a journal stream logs readable lines to stderr, and nothing to the journal")
    func autoWithoutJournal() throws {
        let (d, dir) = try daemon(environment: [:], stderrToJournal: false)
        let id = try story(try d.connect())
        #expect(d.stop() == 0)  // the last events are logged before crmd exits
        let deadline = Date().addingTimeInterval(5)  // the pipe's last bytes may still be on their way
        while !d.stderrText.contains("event=zone.changed"), Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        #expect(d.stderrText.contains(" info crmd: zone.changed: client \(id) \"Journal Ltd\" green → yellow"), "\(d.stderrText)")
        #expect(d.stderrText.contains("event=zone.changed"))
        #expect(try entries(dir, ["SYSLOG_IDENTIFIER=crmd"]).isEmpty)
    }

    func journaldLog(_ dir: URL) -> String {
        (try? String(contentsOf: dir.appendingPathComponent("journald.log"), encoding: .utf8)) ?? "(no journald.log)"
    }
}
