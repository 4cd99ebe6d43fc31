import CRMClient
import CRMProtocol
import CRMSync
import CRMTestSupport
import Foundation
import Synchronization
import Testing

/// `crmctl backup` and `server.backup` against the real crmd, the copy opened by the sqlite3
/// command-line shell; `crmd --check` on healthy, damaged and missing files.
@Suite("Online backup and crmd --check")
struct BackupTests {
    /// The sqlite3 shell (scripts/setup.sh installs it).
    static func sqlite3() throws -> String {
        let dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init) + ["/usr/bin"]
        for d in dirs where FileManager.default.isExecutableFile(atPath: d + "/sqlite3") { return d + "/sqlite3" }
        throw TestFailure("the sqlite3 shell is not installed; run scripts/setup.sh (apt package sqlite3)")
    }

    struct TestFailure: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    /// Runs one SQL statement on `file` with the sqlite3 shell and returns its output lines.
    func sql(_ file: String, _ statement: String) throws -> [String] {
        let r = try runProcess(try Self.sqlite3(), ["-readonly", "-batch", file, statement])
        guard r.status == 0 else { throw TestFailure("sqlite3 \(statement): \(r.err)") }
        return r.out.split(separator: "\n").map(String.init)
    }

    func crmctl(_ d: TestDaemon, _ args: [String]) throws -> (status: Int32, out: String, err: String) {
        try runProcess(TestDaemon.binaryPath(named: "crmctl"), args + ["--socket", d.socketPath])
    }

    func crmdCheck(_ path: String) throws -> (status: Int32, out: String, err: String) {
        try runProcess(
            TestDaemon.binaryPath(), ["--check", "--database", path], environment: ["HOME": NSTemporaryDirectory()], inherit: false)
    }

    /// The backup copies crmd holds in its folder now.
    func copies(_ d: TestDaemon) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: d.directory.path)) ?? []).filter { $0.contains(".crmd-backup-") }
    }

    func importClients(_ c: Connection, _ n: Int, from start: Int = 0) throws {
        var made = 0
        while made < n {
            let k = min(5_000, n - made)
            let items: [JSON] = (0..<k).map { i in
                let x = start + made + i
                return ["name": .string("Imported \(x)"), "phones": [.string("+7\(9_100_000_000 + x)")], "owner": "ivanov"]
            }
            _ = try c.call("client.import", ["clients": .array(items)])
            made += k
        }
    }

    @Test("a backup taken under write load opens, passes integrity_check and holds every write acknowledged before it")
    func backupUnderLoad() throws {
        try withDaemon { d in
            let admin = try d.connect()
            try seedTeam(admin)
            try importClients(admin, 10_000)
            let base = try admin.call("client.create", ["name": "Busy LLC", "owner": "ivanov"])["id"]!.intValue!

            // Eight writers: each creates a client and logs a note, over and over.
            let acked = Locked<[String]>([])
            let stop = Atomic<Bool>(false)
            let failure = Locked<String?>(nil)
            let group = DispatchGroup()
            for w in 0..<8 {
                group.enter()
                Thread.detachNewThread {
                    defer { group.leave() }
                    do {
                        let c = try d.connect()
                        var n = 0
                        while !stop.load(ordering: .relaxed) {
                            let made = try c.call("client.create", ["name": .string("w\(w)-\(n)"), "owner": "sidorov"])
                            acked.withLock { $0.append("client:\(made["id"]!.intValue!)") }
                            _ = try c.call("interaction.log", ["client_id": .int(base), "kind": "note", "note": .string("w\(w)-\(n)")])
                            acked.withLock { $0.append("note:w\(w)-\(n)") }
                            n += 1
                        }
                    } catch {
                        failure.withLock { $0 = "\(error)" }
                    }
                }
            }
            while acked.withLock({ $0.count }) < 400 && failure.withLock({ $0 }) == nil { usleep(1000) }
            let before = acked.withLock { $0 }
            let file = d.directory.appendingPathComponent("backup.sqlite").path
            let started = Date()
            let r = try crmctl(d, ["backup", file, "--json"])
            let seconds = Date().timeIntervalSince(started)
            let during = acked.withLock { $0.count } - before.count
            stop.store(true, ordering: .relaxed)
            group.wait()
            #expect(failure.withLock { $0 } == nil, "a writer failed: \(failure.withLock { $0 } ?? "")")
            #expect(r.status == 0, "crmctl backup failed: \(r.err)")
            let result = try JSONParser.parse(r.out.trimmingCharacters(in: .whitespacesAndNewlines))
            #expect(result["integrity"] == "ok")
            #expect(result["file"] == .string(file))
            // Writes went on while the backup was made and read.
            #expect(during > 0, "no write was acknowledged during the \(seconds) s backup")

            // The copy is a healthy SQLite file of the announced size, readable only by its owner.
            let attrs = try FileManager.default.attributesOfItem(atPath: file)
            #expect((attrs[.size] as? NSNumber)?.int64Value == result["bytes"]?.intValue)
            #expect((attrs[.posixPermissions] as? NSNumber)?.intValue == 0o600)
            #expect(!FileManager.default.fileExists(atPath: file + ".partial"))
            #expect(try sql(file, "PRAGMA integrity_check") == ["ok"])
            #expect(try sql(file, "SELECT max(seq) FROM events") == [String(result["last_seq"]!.intValue!)])

            // Every write acknowledged before the backup started is in it.
            let ids = Set(try sql(file, "SELECT id FROM clients"))
            let notes = Set(try sql(file, "SELECT note FROM interactions WHERE note IS NOT NULL"))
            let missing = before.filter { item in
                if item.hasPrefix("client:") { return !ids.contains(String(item.dropFirst(7))) }
                return !notes.contains(String(item.dropFirst(5)))
            }
            #expect(missing.isEmpty, "acknowledged before the backup but not in it: \(missing.prefix(10))")
            #expect(ids.count >= 10_001 + before.filter { $0.hasPrefix("client:") }.count)

            // Read to the end, crmd's temporary copy is gone.
            #expect(copies(d).isEmpty, "\(copies(d))")

            // An existing file is not replaced without --force.
            let again = try crmctl(d, ["backup", file])
            #expect(again.status == 73)
            #expect(again.err.contains("exists"), "\(again.err)")
            let forced = try crmctl(d, ["backup", file, "--force"])
            #expect(forced.status == 0, "\(forced.err)")
            #expect(forced.out.contains("integrity ok"), "\(forced.out)")
            #expect(try sql(file, "PRAGMA integrity_check") == ["ok"])
        }
    }

    @Test("crmctl backup: clear errors for a file it cannot write and for no crmd; refuses the live database")
    func crmctlErrors() throws {
        try withDaemon { d in
            let noFolder = d.directory.appendingPathComponent("no/such/folder/b.sqlite").path
            let r = try crmctl(d, ["backup", noFolder])
            #expect(r.status == 73)
            #expect(r.err.contains("cannot write \(noFolder).partial"), "\(r.err)")
            #expect(copies(d).isEmpty)

            let live = try crmctl(d, ["backup", d.databasePath, "--force"])
            #expect(live.status == 74, "\(live.err)")
            #expect(live.err.contains("live database"), "\(live.err)")
            #expect(!FileManager.default.fileExists(atPath: d.databasePath + ".partial"))
            #expect(try d.connect().call("server.ping")["pong"] == .bool(true))

            let file = d.directory.appendingPathComponent("b.sqlite").path
            let none = try runProcess(
                TestDaemon.binaryPath(named: "crmctl"),
                ["backup", file, "--socket", d.directory.appendingPathComponent("nobody.sock").path])
            #expect(none.status == 69)
            #expect(none.err.contains("Is crmd running?"), "\(none.err)")
            #expect(!FileManager.default.fileExists(atPath: file + ".partial"))
            #expect(!FileManager.default.fileExists(atPath: file))
        }
    }

    @Test("only an admin may back up: 1002 for anyone else, and nothing is left behind")
    func notAdmin() throws {
        try withDaemon(world: getuid() == 0) { d in
            let admin = try d.connect()
            try seedTeam(admin)
            _ = try admin.call("session.act_as", ["login": "ivanov"])
            #expect(rpcErrorCode { try admin.call("server.backup") } == 1002)
            #expect(rpcErrorCode { try admin.call("server.backup_read", ["backup": "00", "offset": 0]) } == 1002)
            #expect(copies(d).isEmpty)
            _ = try admin.call("session.act_as")
            #expect(try admin.call("whoami")["user"]?["role"] == "admin")

            // The real crmctl as a manager's uid (needs root to switch uids).
            guard getuid() == 0 else { return }
            let out = d.directory.appendingPathComponent("drop")
            try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
            chmod(out.path, 0o777)
            let file = out.appendingPathComponent("b.sqlite").path
            let r = try runProcess(
                "/usr/bin/setpriv",
                [
                    "--reuid=50002", "--regid=50002", "--clear-groups", TestDaemon.binaryPath(named: "crmctl"), "backup", file, "--socket",
                    d.socketPath,
                ],
                environment: ["HOME": "/tmp"])
            #expect(r.status == 1)
            #expect(r.err.contains("Only an admin may take a backup"), "\(r.err)")
            #expect(r.err.contains("1002"), "\(r.err)")
            #expect(!FileManager.default.fileExists(atPath: file))
            #expect(!FileManager.default.fileExists(atPath: file + ".partial"))
            #expect(copies(d).isEmpty)
        }
    }

    @Test("backup_read: unknown token, bad offset, another connection's token; copies go at the end, on close and at start-up")
    func tokens() throws {
        let d = try TestDaemon()
        // Leftovers of an earlier run are removed at start-up; look-alike files are not touched.
        let leftover = d.directory.appendingPathComponent(".crm.sqlite.crmd-backup-0123456789abcdef0123456789abcdef.tmp").path
        let lookalike = d.directory.appendingPathComponent("crm.sqlite.backup-2026").path
        #expect(FileManager.default.createFile(atPath: leftover, contents: Data("old".utf8)))
        #expect(FileManager.default.createFile(atPath: lookalike, contents: Data("mine".utf8)))
        try d.start()
        defer { d.stop() }
        #expect(!FileManager.default.fileExists(atPath: leftover))
        #expect(FileManager.default.fileExists(atPath: lookalike))

        let c = try d.connect()
        try seedTeam(c)
        let unknown = try roundTrip(
            c, #"{"jsonrpc":"2.0","id":1,"method":"server.backup_read","params":{"backup":"feedfacefeedfacefeedfacefeedface","offset":0}}"#)
        #expect(errorCode(unknown) == 1001)
        #expect(unknown["error"]?["message"]?.stringValue?.contains("No backup 'feedfacefeedfacefeedfacefeedface'") == true)
        #expect(unknown["error"]?["data"]?["backup"] == "feedfacefeedfacefeedfacefeedface")
        #expect(try c.call("server.ping")["pong"] == .bool(true))  // the connection goes on
        #expect(rpcErrorCode { try c.call("server.backup_read", ["offset": 0]) } == -32602)
        #expect(rpcErrorCode { try c.call("server.backup", ["full": true]) } == -32602)

        let b = try c.call("server.backup")
        let token = b["backup"]!.stringValue!
        let size = b["bytes"]!.intValue!
        #expect(b["integrity"] == "ok")
        #expect(b["taken_at"]?.stringValue != nil)
        #expect(b["last_seq"]?.intValue != nil)
        #expect(copies(d).count == 1)
        // Only the connection that made it may read it.
        let other = try d.connect()
        #expect(rpcErrorCode { try other.call("server.backup_read", ["backup": .string(token), "offset": 0]) } == 1001)
        let past = try roundTrip(
            c, #"{"jsonrpc":"2.0","id":2,"method":"server.backup_read","params":{"backup":"\#(token)","offset":\#(size + 1)}}"#)
        #expect(errorCode(past) == -32602, "\(past)")
        // Reading in chunks gives back exactly the copy; the end deletes it.
        var data = Data()
        var eof = false
        while !eof {
            let r = try c.call("server.backup_read", ["backup": .string(token), "offset": .int(Int64(data.count))])
            #expect(r["offset"] == .int(Int64(data.count)))
            data.append(Data(base64Encoded: r["data"]!.stringValue!)!)
            eof = r["eof"]!.boolValue!
        }
        #expect(Int64(data.count) == size)
        #expect(data.prefix(16) == Data("SQLite format 3\0".utf8))
        #expect(copies(d).isEmpty)
        #expect(rpcErrorCode { try c.call("server.backup_read", ["backup": .string(token), "offset": 0]) } == 1001)

        // At most two copies at once; a third waits for one to go.
        let one = try c.call("server.backup")["backup"]!.stringValue!
        _ = try c.call("server.backup")
        let third = try roundTrip(c, #"{"jsonrpc":"2.0","id":3,"method":"server.backup"}"#)
        #expect(errorCode(third) == 1009, "\(third)")
        #expect(third["error"]?["data"]?["reason"] == "too_many_backups")
        #expect(copies(d).count == 2)
        _ = try c.call("server.backup_read", ["backup": .string(one), "offset": .int(size)])  // at the end: deleted
        #expect(copies(d).count == 1)

        // Closing the connection deletes its copies.
        do {
            let gone = try d.connect()
            _ = try gone.call("server.backup")
            #expect(copies(d).count == 2)
        }
        var waited = 0
        while copies(d).count > 1 && waited < 500 {
            usleep(10_000)
            waited += 1
        }
        #expect(copies(d).count == 1)
        #expect(try c.call("server.ping")["pong"] == .bool(true))
    }

    @Test(
        "a full disk beside the database: a clear error, nothing left behind, crmd goes on",
        .enabled(if: canMountTmpfs, "needs root allowed to mount a tmpfs"))
    func diskFull() throws {
        let d = try TestDaemon()
        // crmd's whole folder (database and socket) on a 4 MiB file system.
        try mountTmpfs(d.directory.path, size: "4m")
        defer { _ = try? runProcess("/bin/umount", [d.directory.path]) }
        try d.start()
        defer { d.stop() }
        let c = try d.connect()
        func free() -> Int {
            var st = statvfs()
            statvfs(d.directory.path, &st)
            return Int(st.f_bavail) * Int(st.f_frsize)
        }
        // Fill it until the copy (about the size of the data) cannot fit.
        var n = 0
        while free() > 1 << 20 {
            let items: [JSON] = (0..<250).map { i in
                [
                    "name": .string("Client \(n + i) with a name long enough to take room"),
                    "phones": [.string("+7\(9_100_000_000 + n + i)")],
                ]
            }
            _ = try c.call("client.import", ["clients": .array(items)])
            n += 250
        }
        let file = NSTemporaryDirectory() + "crmd-full-\(UUID().uuidString).sqlite"
        let r = try crmctl(d, ["backup", file])
        #expect(r.status == 1)
        #expect(r.err.contains("The disk holding the database is full"), "\(r.err)")
        #expect(r.err.contains("-32603"), "\(r.err)")
        #expect(!FileManager.default.fileExists(atPath: file))
        #expect(!FileManager.default.fileExists(atPath: file + ".partial"))
        #expect(copies(d).isEmpty, "\(copies(d))")
        #expect(try c.call("client.list", ["limit": 1])["items"]?.arrayValue?.count == 1)
        let raw = try roundTrip(c, #"{"jsonrpc":"2.0","id":1,"method":"server.backup"}"#)
        #expect(raw["error"]?["data"]?["reason"] == "disk_full", "\(raw)")
    }

    @Test("crmd --check: ok on a healthy database (while crmd serves), 1 on a damaged one or a dangling reference, 66 on a missing one")
    func check() throws {
        let d = try TestDaemon()
        try d.start()
        let c = try d.connect()
        try seedTeam(c)
        try importClients(c, 3_000)
        let live = try crmdCheck(d.databasePath)
        #expect(live.status == 0, "\(live.out)\(live.err)")
        #expect(live.out.hasSuffix("ok\n"), "\(live.out)")
        #expect(live.out.contains("3000 clients"), "\(live.out)")
        #expect(live.out.contains("3 users"), "\(live.out)")
        #expect(live.out.contains("migrations"), "\(live.out)")
        #expect(try c.call("server.ping")["pong"] == .bool(true))  // crmd is undisturbed
        d.stop()

        let healthy = try crmdCheck(d.databasePath)
        #expect(healthy.status == 0, "\(healthy.out)\(healthy.err)")

        // A copy with garbage written over pages in the middle.
        let damaged = d.directory.appendingPathComponent("damaged.sqlite").path
        try FileManager.default.copyItem(atPath: d.databasePath, toPath: damaged)
        let h = try FileHandle(forUpdating: URL(fileURLWithPath: damaged))
        let size = try h.seekToEnd()
        #expect(size > 200 * 4096, "the database is too small to damage in the middle: \(size) bytes")
        var rng = SystemRandomNumberGenerator()
        try h.seek(toOffset: (size / 2) / 4096 * 4096)
        try h.write(contentsOf: Data((0..<(8 * 4096)).map { _ in UInt8.random(in: 0...255, using: &rng) }))
        try h.close()
        let bad = try crmdCheck(damaged)
        #expect(bad.status == 1, "\(bad.out)\(bad.err)")
        #expect(bad.out.contains("problem"), "\(bad.out)")
        #expect(bad.err.contains("is damaged"), "\(bad.err)")
        #expect(!bad.out.hasSuffix("ok\n"))

        // A copy with a client whose owner does not exist (written with foreign keys off).
        let dangling = d.directory.appendingPathComponent("dangling.sqlite").path
        try FileManager.default.copyItem(atPath: d.databasePath, toPath: dangling)
        _ = try runProcess(try Self.sqlite3(), [dangling, "UPDATE clients SET owner_id = 9999 WHERE id = 7;"])
        let orphan = try crmdCheck(dangling)
        #expect(orphan.status == 1, "\(orphan.out)\(orphan.err)")
        #expect(orphan.out.contains("clients row 7 refers to a missing row of users"), "\(orphan.out)")

        // Not a database at all.
        let text = d.directory.appendingPathComponent("notes.txt").path
        try String(repeating: "not a database\n", count: 500).write(toFile: text, atomically: true, encoding: .utf8)
        let notDB = try crmdCheck(text)
        #expect(notDB.status == 1)
        #expect(notDB.err.contains("is not a SQLite database"), "\(notDB.err)")

        // A SQLite database that is not crmd's.
        let foreign = d.directory.appendingPathComponent("foreign.sqlite").path
        _ = try runProcess(try Self.sqlite3(), [foreign, "CREATE TABLE t(x); INSERT INTO t VALUES(1);"])
        let notOurs = try crmdCheck(foreign)
        #expect(notOurs.status == 1)
        #expect(notOurs.err.contains("not crmd's"), "\(notOurs.err)")

        // Missing: 66, and nothing is created.
        let missing = d.directory.appendingPathComponent("absent.sqlite").path
        let none = try crmdCheck(missing)
        #expect(none.status == 66, "\(none.err)")
        #expect(none.err.contains("There is no database at \(missing)"), "\(none.err)")
        #expect(!FileManager.default.fileExists(atPath: missing))
    }
}
