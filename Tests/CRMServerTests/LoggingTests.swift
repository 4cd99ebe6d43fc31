import CRMProtocol
import Foundation
import Logging
import Testing

@testable import CRMServer
@testable import CRMStore

@Suite("Logging: journal fields, priorities, targets, levels")
struct LoggingTests {
    @Test("metadata keys become CRM_ fields: upper case, anything else _, at most 64 characters")
    func fieldNames() {
        let expected = [
            "client_id": "CRM_CLIENT_ID", "user": "CRM_USER", "event": "CRM_EVENT", "method": "CRM_METHOD",
            "duration_ms": "CRM_DURATION_MS", "duration-ms": "CRM_DURATION_MS", "seq": "CRM_SEQ", "a.b c": "CRM_A_B_C",
            "Error2": "CRM_ERROR2", "ключ": "CRM_____", "": "CRM_",
        ]
        for (key, field) in expected {
            #expect(CRMLogging.journalFieldName(forMetadataKey: key) == field, "key \(key)")
        }
        let long = CRMLogging.journalFieldName(forMetadataKey: String(repeating: "x", count: 100))
        #expect(long.count == 64)
        #expect(long == "CRM_" + String(repeating: "X", count: 60))
        // Every name is one journald accepts: A-Z, 0-9, _, not starting with _, 1 to 64 characters.
        for key in Array(expected.keys) + ["_x", "9", "naïve key", "x\u{0}y", String(repeating: "é", count: 80)] {
            let name = CRMLogging.journalFieldName(forMetadataKey: key)
            #expect(!name.isEmpty && name.count <= 64 && !name.hasPrefix("_"), "\(name)")
            #expect(name.utf8.allSatisfy { (0x41...0x5A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x5F }, "\(name)")
        }
    }

    @Test("swift-log levels map to syslog priorities")
    func priorities() {
        let expected: [Logger.Level: Int] = [.trace: 7, .debug: 7, .info: 6, .notice: 5, .warning: 4, .error: 3, .critical: 2]
        for level in Logger.Level.allCases {
            #expect(CRMLogging.syslogPriority(level) == expected[level], "\(level)")
        }
    }

    @Test("a journal entry carries message, priority, identifier, code location, label, and the metadata")
    func entryFields() {
        let fields = CRMLogging.journalFields(
            level: .warning, message: "slow request", metadata: ["client_id": "42", "duration_ms": "1250.000", "note": "a\nb"],
            label: "crmd", file: "CRMServer/RequestLog.swift", function: "logRequest", line: 37)
        for f in [
            "MESSAGE=slow request", "PRIORITY=4", "SYSLOG_IDENTIFIER=crmd", "CODE_FILE=CRMServer/RequestLog.swift", "CODE_LINE=37",
            "CODE_FUNC=logRequest", "CRM_LOGGER=crmd", "CRM_LEVEL=warning", "CRM_CLIENT_ID=42", "CRM_DURATION_MS=1250.000",
            "CRM_NOTE=a\nb",
        ] {
            #expect(fields.contains(f), "\(f) in \(fields)")
        }
    }

    @Test("auto means the journal only when stderr is the stream JOURNAL_STREAM names")
    func journalStreamDetection() throws {
        let path = NSTemporaryDirectory() + "crmd-log-\(UUID().uuidString)"
        let fd = open(path, O_CREAT | O_WRONLY, 0o600)
        try #require(fd >= 0)
        defer {
            close(fd)
            unlink(path)
        }
        var st = stat()
        try #require(fstat(fd, &st) == 0)
        let mine = "\(st.st_dev):\(st.st_ino)"
        #expect(CRMLogging.isJournalStream(mine, fd: fd))
        #expect(!CRMLogging.isJournalStream("\(st.st_dev):\(st.st_ino + 1)", fd: fd))
        #expect(!CRMLogging.isJournalStream("\(st.st_dev &+ 1):\(st.st_ino)", fd: fd))
        #expect(!CRMLogging.isJournalStream(nil, fd: fd))
        #expect(!CRMLogging.isJournalStream("garbage", fd: fd))
        #expect(!CRMLogging.isJournalStream("1:2:3", fd: fd))
        #expect(!CRMLogging.isJournalStream(mine, fd: -1))
        #expect(CRMLogging.resolve(.auto, environment: ["JOURNAL_STREAM": mine], stderrFD: fd) == .journald)
        #expect(CRMLogging.resolve(.auto, environment: [:], stderrFD: fd) == .stderr)
        #expect(CRMLogging.resolve(.auto, environment: ["JOURNAL_STREAM": "1:1"], stderrFD: fd) == .stderr)
        #expect(CRMLogging.resolve(.stderr, environment: ["JOURNAL_STREAM": mine], stderrFD: fd) == .stderr)
        #expect(CRMLogging.resolve(.journald, environment: [:], stderrFD: fd) == .journald)
    }

    @Test("the shared level changes existing loggers at once; a logger's own level stays its own")
    func sharedLevel() {
        let shared = SharedLogLevel(.info)
        let a = Logger(label: "a") { CRMLogHandler(label: $0, sink: .stderr, level: shared, metadataProvider: nil) }
        var b = Logger(label: "b") { CRMLogHandler(label: $0, sink: .journal, level: shared, metadataProvider: nil) }
        #expect(a.logLevel == .info && b.logLevel == .info)
        shared.value = .debug
        #expect(a.logLevel == .debug && b.logLevel == .debug)
        b.logLevel = .error
        shared.value = .warning
        #expect(a.logLevel == .warning)
        #expect(b.logLevel == .error)
        for level in Logger.Level.allCases {
            shared.value = level
            #expect(a.logLevel == level)
        }
    }

    @Test("a reload applies log.level to every logger at once; log.target waits for a restart")
    func reload() {
        var s = Settings(socketPath: "/tmp/x.sock", databasePath: "/tmp/x.sqlite")
        let live = LiveSettings(s)
        let before = CRMLogging.level
        defer { CRMLogging.setLevel(before) }
        s.logLevel = .debug
        #expect(live.replace(with: s).isEmpty)
        #expect(CRMLogging.level == .debug)
        s.logLevel = .warning
        s.logTarget = .journald
        #expect(live.replace(with: s) == ["log.target"])
        #expect(CRMLogging.level == .warning)
        #expect(live.current.settings.logTarget == .auto)
    }

    @Test("a readable stderr line: time, level, label, message, sorted key=value pairs")
    func stderrLine() {
        let line = CRMLogging.stderrLine(
            level: .info, message: "crmd stopped", metadata: ["zeta": "1", "client_id": "42", "note": "two words", "q": "say \"hi\""],
            label: "crmd", at: timespec(tv_sec: 1_700_000_000, tv_nsec: 7_000_000))
        #expect(line.hasSuffix(" info crmd: crmd stopped client_id=42 note=\"two words\" q=\"say \\\"hi\\\"\" zeta=1\n"), "\(line)")
        // 2023-11-14T22:13:20.007+0000 in UTC; the local zone changes the hour and offset only.
        let stamp = line.prefix(while: { $0 != " " })
        #expect(stamp.count == 28, "\(stamp)")
        #expect(stamp.contains(".007"), "\(stamp)")
    }

    @Test("a zone change reads as a sentence and carries event, seq, client, owner and zone")
    func zoneChangedEntry() {
        let data = """
            {"client_id":42,"name":"Acme","owner":7,"owner_login":"ivanov","from":"yellow","to":"red","days_to_release":29,
             "release_at":"2026-07-12T09:00:00Z"}
            """
        let e = StoredEvent(
            seq: 1234, at: Date(timeIntervalSince1970: 1_767_225_600), topic: "zone.changed", clientID: 42, ownerID: 7, data: data)
        let (message, metadata) = EventLogger.entry(e) { _ in "someone-else" }
        #expect(message == "zone.changed: client 42 \"Acme\" yellow → red (owner ivanov, 29 days to release)")
        #expect(metadata["event"] == "zone.changed")
        #expect(metadata["seq"]?.description == "1234")
        #expect(metadata["client_id"]?.description == "42")
        #expect(metadata["user"] == "ivanov")
        #expect(metadata["zone"] == "red")
        #expect(metadata["at"] == "2026-01-01T00:00:00Z")
    }

    @Test("other topics: the owner comes from the users when the data has no owner_login")
    func otherEntries() {
        func entry(_ topic: String, owner: Int64? = 7, _ data: String) -> (String, Logger.Metadata) {
            let e = StoredEvent(seq: 1, at: Date(timeIntervalSince1970: 0), topic: topic, clientID: 5, ownerID: owner, data: data)
            return EventLogger.entry(e) { $0 == 7 ? "ivanov" : nil }
        }
        let logged = entry(
            "interaction.logged", #"{"client_id":5,"interaction_id":9,"kind":"call","author_login":"petrova","occurred_at":"x"}"#)
        #expect(logged.0 == "interaction.logged: client 5: call by petrova (interaction 9, owner ivanov)")
        #expect(logged.1["user"] == "ivanov")
        #expect(logged.1["by"] == "petrova")
        let released = entry(
            "client.released",
            #"{"client_id":5,"name":"Beta","from":7,"from_login":"ivanov","previous_zone":"red","reason":"no resetting contact for P6M","manual":false,"by":null}"#
        )
        #expect(
            released.0 == "client.released: client 5 \"Beta\" released to the exchange from ivanov (was red): no resetting contact for P6M")
        #expect(released.1["user"] == "ivanov")
        let claimed = entry(
            "client.claimed", owner: 8,
            #"{"client_id":5,"name":"Beta","by":"sidorov","owner":8,"owner_login":"sidorov","released_from":7,"released_from_login":"ivanov"}"#
        )
        #expect(claimed.0 == "client.claimed: client 5 \"Beta\" claimed by sidorov (released from ivanov)")
        #expect(claimed.1["user"] == "sidorov")
        let alert = entry("alert", #"{"id":3,"user":7,"client_id":5,"kind":"days_to_release","message":"Client 'Beta' is red."}"#)
        #expect(alert.0 == "alert: to ivanov about client 5: Client 'Beta' is red.")
        #expect(alert.1["user"] == "ivanov")
        let unowned = entry("client.created", owner: nil, #"{"client_id":5,"owner":null}"#)
        #expect(unowned.0 == "client.created: client 5")
        #expect(unowned.1["user"] == nil)
    }

    @Test("requests: the client a request is about, and durations in milliseconds")
    func requestFields() {
        #expect(Dispatcher.clientID(method: "client.get", params: ["id": 42]) == 42)
        #expect(Dispatcher.clientID(method: "interaction.log", params: ["client_id": 7, "kind": "call"]) == 7)
        #expect(Dispatcher.clientID(method: "contact.get", params: ["id": 3]) == nil)
        #expect(Dispatcher.clientID(method: "client.get", params: ["id": "42"]) == nil)
        #expect(Dispatcher.clientID(method: "client.list", params: .object(JSONObject())) == nil)
        #expect(Dispatcher.milliseconds(.microseconds(412)) == "0.412")
        #expect(Dispatcher.milliseconds(.milliseconds(1250)) == "1250.000")
        #expect(Dispatcher.milliseconds(.nanoseconds(5_000)) == "0.005")
        #expect(Dispatcher.milliseconds(.microseconds(12_345_678)) == "12345.678")
    }

    @Test("log.level and log.target are read, and a bad value names its key")
    func settings() async throws {
        let base = ["CRMD_STORE_PATH": "/tmp/x.sqlite"]
        let s = try await Settings.load(
            configFile: nil, socket: "/tmp/x.sock", database: nil,
            environment: base.merging(["CRMD_LOG_LEVEL": "Debug", "CRMD_LOG_TARGET": "journald"]) { $1 })
        #expect(s.logLevel == .debug)
        #expect(s.logTarget == .journald)
        let d = try await Settings.load(configFile: nil, socket: "/tmp/x.sock", database: nil, environment: base)
        #expect(d.logLevel == .info)
        #expect(d.logTarget == .auto)
        for (key, env) in [("log.target", "CRMD_LOG_TARGET"), ("log.level", "CRMD_LOG_LEVEL")] {
            do {
                _ = try await Settings.load(
                    configFile: nil, socket: "/tmp/x.sock", database: nil, environment: base.merging([env: "syslog"]) { $1 })
                Issue.record("\(key)=syslog was accepted")
            } catch let e as SettingsError {
                #expect(e.key == key)
                #expect(e.description.contains("'syslog' must be one of"), "\(e)")
            }
        }
        // The key is known to the YAML check (a misspelt key would stop crmd).
        let yaml = NSTemporaryDirectory() + "crmd-log-\(UUID().uuidString).yaml"
        try "log:\n  level: warning\n  target: stderr\n".write(toFile: yaml, atomically: true, encoding: .utf8)
        defer { unlink(yaml) }
        let f = try await Settings.load(configFile: yaml, socket: "/tmp/x.sock", database: nil, environment: base)
        #expect(f.logLevel == .warning)
        #expect(f.logTarget == .stderr)
    }
}
