import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import Testing

/// Issue 15, the files and identity findings: what a local user can make crmd and crmctl do to
/// files and folders (a planted lock file, a hijacked socket folder, a forced backup over the live
/// log, a socket path swapped before shutdown, files created under umask 022), and the replay of
/// `session.act_as`. The real crmd and crmctl, real files; other uids through `setpriv`.
@Suite("Hostile local users: files, folders and identity")
struct HostileFilesTests {
    /// The mode bits of `path` (not following a symlink), or nil if it does not exist.
    func mode(_ path: String) -> mode_t? {
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }
        return st.st_mode & 0o7777
    }

    func inode(_ path: String) -> (dev: UInt64, ino: UInt64)? {
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }
        return (UInt64(st.st_dev), UInt64(st.st_ino))
    }

    /// Starts `d` expecting a refusal; if it starts (the bug), it is stopped again. Returns crmd's
    /// stderr on refusal, nil if it started.
    func refusedStart(_ d: TestDaemon) -> String? {
        do {
            try d.start(timeout: 30)
            d.stop()
            return nil
        } catch {
            return "\(error)"
        }
    }

    // MARK: (5) the lock file

    @Test("a symlink, a folder, a hard link or another uid's file at <database>.lock is refused, and its target left untouched")
    func lockFileIsNotFollowed() throws {
        let d = try TestDaemon()
        let lock = d.databasePath + ".lock"
        let victim = d.directory.appendingPathComponent("victim.txt").path
        try "precious\n".write(toFile: victim, atomically: false, encoding: .utf8)

        try FileManager.default.createSymbolicLink(atPath: lock, withDestinationPath: victim)
        let symlink = refusedStart(d)
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious\n", "crmd wrote through the symlink")
        #expect(symlink?.contains(lock) == true, "\(symlink ?? "crmd started")")
        #expect(symlink?.contains("symbolic link") == true, "\(symlink ?? "crmd started")")
        unlink(lock)

        #expect(link(victim, lock) == 0)
        let hardLink = refusedStart(d)
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious\n", "crmd wrote into a hard link")
        #expect(hardLink?.contains(lock) == true, "\(hardLink ?? "crmd started")")
        unlink(lock)

        #expect(mkdir(lock, 0o700) == 0)
        let folder = refusedStart(d)
        #expect(folder?.contains("not a regular file") == true, "\(folder ?? "crmd started")")
        rmdir(lock)

        if getuid() == 0 {
            #expect(FileManager.default.createFile(atPath: lock, contents: Data("1\n".utf8)))
            #expect(chown(lock, 54_321, 54_321) == 0)
            let foreign = refusedStart(d)
            #expect(foreign?.contains("owned by uid 54321") == true, "\(foreign ?? "crmd started")")
            #expect(try String(contentsOfFile: lock, encoding: .utf8) == "1\n")
            unlink(lock)
        }

        // With the path clear, crmd makes its own lock file and starts.
        try d.start()
        _ = try d.connect().call("server.ping")
        #expect(mode(lock) == 0o600)
        d.stop()
    }

    // MARK: (6) the per-user socket folder

    /// Runs `program args` as `uid` (setpriv) with exactly `env`, killed after 15 s.
    func runAs(_ uid: Int, _ program: String, _ args: [String], env: [String: String]) throws -> (status: Int32, out: String, err: String) {
        try runProcess(
            "/usr/bin/timeout",
            ["-s", "KILL", "15", "/usr/bin/setpriv", "--reuid=\(uid)", "--regid=\(uid)", "--clear-groups", program] + args,
            environment: env, inherit: false)
    }

    @Test(
        "without XDG_RUNTIME_DIR, crmd and crmctl refuse a /tmp/crmd-UID that is not the caller's own with mode 0700; crmd creates it 0700",
        .enabled(if: getuid() == 0, "needs root to act as other uids"))
    func runtimeFolderMustBePrivate() throws {
        let victim = 54_322
        let attacker = 54_323
        // A shared temporary folder like /tmp (sticky, world-writable), as TMPDIR.
        let tmp = try temporaryFolder("crmd-hijack")
        defer { try? FileManager.default.removeItem(at: tmp) }
        chmod(tmp.path, 0o1777)
        let home = tmp.appendingPathComponent("home")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        chown(home.path, uid_t(victim), gid_t(victim))
        let database = home.appendingPathComponent("crm.sqlite").path
        let env = ["TMPDIR": tmp.path, "HOME": home.path, "PATH": "/usr/bin:/bin"]
        let folder = tmp.appendingPathComponent("crmd-\(victim)").path
        let crmd = TestDaemon.binaryPath()
        let crmctl = TestDaemon.binaryPath(named: "crmctl")

        // The attacker pre-creates the victim's folder, open to everyone.
        #expect(mkdir(folder, 0o777) == 0)
        chmod(folder, 0o777)
        chown(folder, uid_t(attacker), gid_t(attacker))
        let server = try runAs(victim, crmd, ["--database", database], env: env)
        #expect(server.status != 0 && server.status != 137, "crmd served in another uid's folder: \(server.status) \(server.err)")
        #expect(server.err.contains(folder) && server.err.contains("owned by uid \(attacker)"), "\(server.err)")
        #expect(server.err.contains("XDG_RUNTIME_DIR"), "\(server.err)")
        #expect(!FileManager.default.fileExists(atPath: folder + "/crmd.sock"))
        let client = try runAs(victim, crmctl, ["ping"], env: env)
        #expect(client.status != 0)
        #expect(client.err.contains(folder) && client.err.contains("owned by uid \(attacker)"), "\(client.err)")
        #expect(client.err.contains("--socket"), "\(client.err)")

        // The victim's own folder, but open to others: refused too (mode), by both.
        chown(folder, uid_t(victim), gid_t(victim))
        chmod(folder, 0o755)
        let loose = try runAs(victim, crmd, ["--database", database], env: env)
        #expect(loose.status != 0 && loose.status != 137, "\(loose.status) \(loose.err)")
        #expect(loose.err.contains("mode 755"), "\(loose.err)")
        let looseClient = try runAs(victim, crmctl, ["ping"], env: env)
        #expect(looseClient.err.contains("mode 755"), "\(looseClient.err)")
        rmdir(folder)

        // A symlink to a folder the victim owns is refused as well.
        let elsewhere = home.appendingPathComponent("sock").path
        #expect(mkdir(elsewhere, 0o700) == 0)
        chown(elsewhere, uid_t(victim), gid_t(victim))
        #expect(symlink(elsewhere, folder) == 0)
        let linked = try runAs(victim, crmd, ["--database", database], env: env)
        #expect(linked.status != 0 && linked.status != 137, "\(linked.status) \(linked.err)")
        #expect(linked.err.contains("symbolic link"), "\(linked.err)")
        unlink(folder)

        // No folder: crmd creates it, 0700, owned by the victim (and crmctl uses it). setpriv
        // execs crmd, so $! is crmd: SIGTERM once crmctl has answered, SIGKILL if it is still
        // there 10 s later. (No sleeping watchdog: it would hold this pipe open.)
        let started = try runProcess(
            "/bin/sh",
            [
                "-c",
                """
                /usr/bin/setpriv --reuid=\(victim) --regid=\(victim) --clear-groups "$0" --database "$1" >/dev/null 2>&1 &
                server=$!
                for i in $(seq 100); do [ -S "$3/crmd.sock" ] && break; sleep 0.1; done
                /usr/bin/timeout -s KILL 10 /usr/bin/setpriv --reuid=\(victim) --regid=\(victim) --clear-groups "$2" ping
                kill -TERM $server
                for i in $(seq 100); do kill -0 $server 2>/dev/null || break; sleep 0.1; done
                kill -KILL $server 2>/dev/null
                wait $server
                """,
                crmd, database, crmctl, folder,
            ], environment: env, inherit: false)
        #expect(started.status == 0, "\(started.status) \(started.out) \(started.err)")
        #expect(started.out.contains("pong") || started.out.contains("version"), "\(started.out)")
        var st = stat()
        #expect(lstat(folder, &st) == 0)
        #expect(st.st_uid == uid_t(victim))
        #expect(st.st_mode & 0o7777 == 0o700)
    }

    // MARK: (7) backups over the live database

    @Test("crmctl backup --force refuses every file of the live database: -wal, -shm, -journal, .lock, through a symlink or a hard link")
    func backupRefusesLiveFiles() throws {
        try withDaemon { d in
            let admin = try d.connect()
            _ = try admin.call("client.create", ["name": "Kept LLC"])
            let links = d.directory.appendingPathComponent("links")
            try FileManager.default.createDirectory(at: links, withIntermediateDirectories: true)
            let viaSymlink = links.appendingPathComponent("wal-symlink").path
            try FileManager.default.createSymbolicLink(atPath: viaSymlink, withDestinationPath: d.databasePath + "-wal")
            let viaHardLink = links.appendingPathComponent("shm-hardlink").path
            #expect(link(d.databasePath + "-shm", viaHardLink) == 0)
            let viaDots = d.directory.appendingPathComponent("links/../crm.sqlite-wal").path
            let targets = [
                d.databasePath + "-wal", d.databasePath + "-shm", d.databasePath + "-journal", d.databasePath + ".lock", viaSymlink,
                viaHardLink, viaDots,
            ]
            for target in targets {
                let before = inode(target)
                let r = try runProcess(TestDaemon.binaryPath(named: "crmctl"), ["backup", "--force", target, "--socket", d.socketPath])
                #expect(r.status == 74, "\(target): \(r.status) \(r.err)")
                #expect(r.err.contains("live database"), "\(target): \(r.err)")
                let after = inode(target)
                #expect(before?.dev == after?.dev && before?.ino == after?.ino, "\(target) was replaced")
                #expect(!FileManager.default.fileExists(atPath: target + ".partial"))
            }
            #expect(!FileManager.default.fileExists(atPath: d.databasePath + "-journal"))
            // The live log still holds the write: a crash now loses nothing.
            d.kill9()
            try d.start()
            let list = try d.connect().call("client.list")
            #expect(list["items"]?.arrayValue?.count == 1)
        }
    }

    // MARK: (10) the socket file at shutdown

    @Test("shutdown removes the socket crmd created, and leaves alone a file put in its place")
    func shutdownRemovesOnlyItsSocket() throws {
        let d = try TestDaemon()
        try d.start()
        // Answered once crmd runs as a service, so SIGTERM is the graceful stop from here on.
        _ = try d.connect().call("server.ping")
        #expect(unlink(d.socketPath) == 0)
        try "not crmd's\n".write(toFile: d.socketPath, atomically: false, encoding: .utf8)
        #expect(d.stop() == 0)
        #expect(FileManager.default.fileExists(atPath: d.socketPath), "crmd removed a file it did not create")
        unlink(d.socketPath)

        // Its own socket is removed as before.
        try d.start()
        _ = try d.connect().call("server.ping")
        #expect(d.stop() == 0)
        #expect(!FileManager.default.fileExists(atPath: d.socketPath))
    }

    // MARK: (11) file modes

    @Test("under umask 022 crmd creates its database, -wal, -shm and lock 0600, and tightens an existing 0644 database")
    func filesArePrivateWhateverTheUmask() throws {
        let d = try TestDaemon()
        d.launcher = ["/bin/sh", "-c", "umask 022; exec \"$0\" \"$@\""]
        try d.start()
        _ = try d.connect().call("client.create", ["name": "Private LLC", "phones": ["+7 999 000 00 01"]])
        for suffix in ["", "-wal", "-shm", ".lock"] {
            #expect(mode(d.databasePath + suffix) == 0o600, "\(suffix): \(String(mode(d.databasePath + suffix) ?? 0, radix: 8))")
        }
        #expect(d.stop() == 0)

        // A database made readable by others (a copy restored by hand) is tightened at start.
        chmod(d.databasePath, 0o644)
        try d.start()
        _ = try d.connect().call("server.ping")
        #expect(mode(d.databasePath) == 0o600)
        #expect(d.currentStderr().contains("readable by others"), "\(d.currentStderr())")
        #expect(d.stop() == 0)
    }

    // MARK: (9) session.act_as replayed

    @Test("a replayed session.act_as acts as the user its stored reply names, and every switch is audited")
    func actAsReplayIsConsistent() throws {
        try withDaemon { d in
            let admin = try d.connect()
            try seedTeam(admin)
            let first = try admin.call("session.act_as", ["login": "ivanov", "request_id": "switch-1"])
            #expect(first["user"]?["login"] == "ivanov")
            _ = try admin.call("session.act_as", ["login": "sidorov"])
            // The same request_id with another login: the stored reply (ivanov) comes back...
            let replay = try admin.call("session.act_as", ["login": "petrova", "request_id": "switch-1"])
            #expect(replay == first)
            // ...and the connection acts as ivanov, the user that reply names.
            let who = try admin.call("whoami")
            #expect(who["user"]?["login"] == "ivanov", "\(who)")
            #expect(who["acting_admin"] == "root")

            // Every switch left an audit row, the replay included.
            let rows = try BackupTests().sql(
                d.databasePath,
                "SELECT action || ':' || coalesce(json_extract(after, '$.as'), '-') FROM audit WHERE entity = 'session' ORDER BY id")
            #expect(rows == ["act_as:ivanov", "act_as:sidorov", "act_as:ivanov"], "\(rows)")

            // Ending by replay: the stored end comes back and the connection is root again.
            let end = try admin.call("session.act_as", ["request_id": "end-1"])
            _ = try admin.call("session.act_as", ["login": "sidorov"])
            #expect(try admin.call("session.act_as", ["login": "petrova", "request_id": "end-1"]) == end)
            #expect(try admin.call("whoami")["user"]?["login"] == "root")
        }
    }
}
