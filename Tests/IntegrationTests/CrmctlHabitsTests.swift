import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import Testing

/// crmctl as people use it every day (issue 20 §2, §6), against the real crmd on a manual clock
/// in Moscow: global options on either side of the subcommand, local dates in and out, `client
/// list --sort`, the exchange's cooldown mark, `log meeting` without --at, `user deactivate` that
/// will not orphan clients, and the completion scripts.
@Suite("crmctl habits")
struct CrmctlHabitsTests {
    static let start = "2026-01-12T09:00:00Z"  // Monday, 12:00 in Moscow

    func crmctl(_ args: [String], lang: String = "C") throws -> (status: Int32, out: String, err: String) {
        let r = try runProcess(
            TestDaemon.binaryPath(named: "crmctl"), args, environment: ["NO_COLOR": "1", "COLUMNS": "", "LANG": lang, "LC_ALL": ""])
        return (r.status, r.out, r.err)
    }

    /// crmd on a manual clock at `start`, with a head and two managers; the caller stops it.
    func team() throws -> (TestDaemon, Connection) {
        let d = try TestDaemon(arguments: ["--clock", "manual", "--clock-start", Self.start])
        try d.start()
        do {
            let c = try d.connect()
            try seedTeam(c)
            return (d, c)
        } catch {
            d.stop()
            throw error
        }
    }

    /// An id for a command line.
    func n(_ id: JSON) -> String { id.intValue.map { String($0) } ?? "\(id)" }

    /// The client names of a `client list` table, in order.
    func names(_ table: String) -> [String] {
        table.split(separator: "\n").dropFirst().compactMap { line in
            line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.map(String.init)
        }
    }

    @Test("global options before or after the subcommand; whoami tells the time zone")
    func globalPlacement() throws {
        let (d, _) = try team()
        defer { d.stop() }
        let before = try crmctl(["--socket", d.socketPath, "--json", "whoami"])
        let after = try crmctl(["whoami", "--json", "--socket", d.socketPath])
        let equals = try crmctl(["--json", "--socket=\(d.socketPath)", "whoami"])
        #expect(before.status == 0, "\(before.err)")
        #expect(before.out == after.out && after.out == equals.out)
        let who = try JSONParser.parse(before.out)
        #expect(who["time_zone"] == "Europe/Moscow")
        #expect(who["now"] == .string(Self.start))
        let acting = try crmctl(["--as", "ivanov", "--socket", d.socketPath, "whoami"])
        #expect(acting.status == 0 && acting.out.contains("ivanov"), "\(acting)")
        let mixed = try crmctl(["--as", "ivanov", "whoami", "--socket", d.socketPath, "--json"])
        #expect(try JSONParser.parse(mixed.out)["user"]?["login"] == "ivanov", "\(mixed)")
    }

    @Test("local dates in (--at, --due) and out (tables), client list --sort, log meeting defaults --at to now")
    func datesAndSort() throws {
        let (d, c) = try team()
        defer { d.stop() }
        let s = ["--socket", d.socketPath]
        let anis = try c.call("client.create", ["name": "Anis", "owner": "ivanov"])["id"]!
        _ = try c.call("clock.advance", ["by": "P10D"])
        let vasilek = try c.call("client.create", ["name": "Vasilek", "owner": "ivanov"])["id"]!
        _ = try c.call("clock.advance", ["by": "P10D"])  // 2026-02-01 12:00 Moscow
        let lyutik = try c.call("client.create", ["name": "Lyutik", "owner": "ivanov"])["id"]!

        // A call logged by local time: 1 February 11:30 Moscow is 08:30 UTC.
        let call = try crmctl(s + ["--as", "ivanov", "log", "call", n(anis), "--result", "ok", "--at", "01.02 11:30"])
        #expect(call.status == 0, "\(call.err)")
        let logged = try c.call("interaction.list", ["client_id": anis])["items"]?.arrayValue?.first
        #expect(logged?["occurred_at"] == "2026-02-01T08:30:00Z")
        let shown = try crmctl(s + ["interactions", n(anis)])
        #expect(shown.out.contains("01.02.2026 11:30"), "\(shown.out)")
        #expect(!shown.out.contains("2026-02-01T08:30:00Z"))
        let wrong = try crmctl(s + ["--as", "ivanov", "log", "call", n(anis), "--result", "ok", "--at", "30.02 10:00"])
        #expect(wrong.status != 0)
        #expect(wrong.err.contains("is not a day of the calendar") && wrong.err.contains("20.11.2026 10:00"), "\(wrong.err)")

        // A meeting without --at: logged at crmd's now (its minimal data set needs the time).
        let contact = try c.call("contact.create", ["client_id": lyutik, "name": "Olga"])["id"]!
        _ = try c.call("clock.advance", ["by": "PT1H"])
        let meeting = try crmctl(
            s + ["--as", "ivanov", "log", "meeting", n(lyutik), "--contact", n(contact), "--topic", "prices", "--result", "agreed"])
        #expect(meeting.status == 0, "\(meeting.err)")
        #expect(try c.call("interaction.list", ["client_id": lyutik])["items"]?.arrayValue?.first?["occurred_at"] == "2026-02-01T10:00:00Z")

        // Tasks take the same forms: tomorrow 9:00 Moscow is 06:00 UTC on the 2nd.
        let task = try crmctl(s + ["--as", "ivanov", "task", "add", "Call back", "--due", "завтра 9:00", "--client", n(anis), "--json"])
        #expect(task.status == 0, "\(task.err)")
        #expect(try JSONParser.parse(task.out)["due_at"] == "2026-02-02T06:00:00Z")

        // Sorting. Vasilek: assigned 22 Jan, never contacted; Anis: call 1 Feb 11:30; Lyutik:
        // meeting 1 Feb 13:00 (Moscow). Anis and Lyutik release on the same day, after Vasilek.
        let plain = try crmctl(s + ["--as", "ivanov", "client", "list"])
        #expect(names(plain.out) == ["Anis", "Vasilek", "Lyutik"], "\(plain.out)")
        #expect(plain.out.uppercased().contains("LAST CONTACT"))
        #expect(plain.out.contains("01.02.2026 11:30 (today)"), "\(plain.out)")
        let russian = try crmctl(s + ["--as", "ivanov", "client", "list"], lang: "ru_RU.UTF-8")
        #expect(russian.out.contains("01.02.2026 11:30 (сегодня)"), "\(russian.out)")
        let byName = try crmctl(s + ["client", "list", "--owner", "ivanov", "--sort", "name"])
        #expect(names(byName.out) == ["Anis", "Lyutik", "Vasilek"], "\(byName.out)")
        let byContact = try crmctl(s + ["--as", "ivanov", "client", "list", "--sort", "last-contact"])
        #expect(names(byContact.out) == ["Vasilek", "Anis", "Lyutik"], "\(byContact.out)")
        let byRelease = try crmctl(s + ["--as", "ivanov", "client", "list", "--sort", "release"])
        #expect(names(byRelease.out) == ["Vasilek", "Anis", "Lyutik"], "\(byRelease.out)")
        _ = try c.call("clock.advance", ["by": "P20D"])
        let later = try crmctl(s + ["--as", "ivanov", "client", "list", "--sort", "last-contact"])
        #expect(later.out.contains("01.02.2026 11:30 (20 days ago)"), "\(later.out)")
        let json = try crmctl(s + ["--as", "ivanov", "client", "list", "--sort", "release", "--json"])
        let days = try JSONParser.parse(json.out)["items"]?.arrayValue?.compactMap { $0["days_to_release"]?.intValue } ?? []
        #expect(days.count == 3 && days == days.sorted() && days[0] < days[1], "\(json.out)")
        let refused = try crmctl(s + ["client", "list", "--sort", "release", "--limit", "2"])
        #expect(refused.status != 0 && refused.err.contains("--sort lists every page"))
    }

    @Test("exchange marks what the caller may not claim yet, and until when")
    func exchangeCooldownMark() throws {
        let (d, c) = try team()
        defer { d.stop() }
        let s = ["--socket", d.socketPath]
        let id = try c.call("client.create", ["name": "Kolos", "owner": "ivanov"])["id"]!
        let rel = try crmctl(s + ["--as", "ivanov", "release", n(id), "--reason", "closed the branch"])
        #expect(rel.status == 0, "\(rel.err)")
        let ivanov = try DealTest.connect(d, as: "ivanov")
        let item = try ivanov.call("exchange.list")["items"]?.arrayValue?.first
        #expect(item?["claimable"] == false)
        #expect(item?["claimable_from"] == "2026-07-12T09:00:00Z")
        let sidorov = try DealTest.connect(d, as: "sidorov")
        let other = try sidorov.call("exchange.list")["items"]?.arrayValue?.first
        #expect(other?["claimable"] == true && other?["claimable_from"] == .null)
        let admin = try c.call("exchange.list")["items"]?.arrayValue?.first
        #expect(admin?["claimable"] == false && admin?["claimable_from"] == .null)  // an admin does not claim

        let mine = try crmctl(s + ["--as", "ivanov", "exchange"])
        #expect(mine.out.contains("from 12.07.2026 12:00 (in 181 days)"), "\(mine.out)")
        let theirs = try crmctl(s + ["--as", "sidorov", "exchange"])
        // The CLAIM column, before WINDOW UNTIL ("-": no window open, the window is off here).
        #expect(theirs.out.split(separator: "\n").last?.contains(" yes ") == true, "\(theirs.out)")
    }

    @Test("user deactivate refuses while the user leads clients; --to hands them over")
    func deactivateNeedsAnHeir() throws {
        let (d, c) = try team()
        defer { d.stop() }
        for name in ["One", "Two"] { _ = try c.call("client.create", ["name": .string(name), "owner": "ivanov"]) }
        let s = ["--socket", d.socketPath]
        let refused = try crmctl(s + ["user", "deactivate", "ivanov"])
        #expect(refused.status != 0)
        #expect(refused.err.contains("ivanov still leads 2 clients") && refused.err.contains("--to LOGIN"), "\(refused.err)")
        #expect(try c.call("user.list")["items"]?.arrayValue?.first { $0["login"] == "ivanov" }?["active"] == true)
        let e = DealTest.rpcError { try c.call("user.deactivate", ["login": "ivanov"]) }
        #expect(e?.data?["owned_clients"] == 2 && e?.code == 1003, "\(String(describing: e))")
        let done = try crmctl(s + ["user", "deactivate", "ivanov", "--to", "sidorov"])
        #expect(done.status == 0 && done.out.contains("2 clients reassigned"), "\(done)")
        // A user who leads nobody goes without --to.
        #expect(try crmctl(s + ["user", "deactivate", "petrova"]).status == 0)
    }

    @Test("install.sh puts completions for bash, zsh and fish and a man page naming the subcommands; uninstall removes them")
    func completionsAndManPage() throws {
        let dest = try temporaryFolder("crmd-install")
        defer { try? FileManager.default.removeItem(at: dest) }
        let build = URL(fileURLWithPath: TestDaemon.binaryPath(named: "crmctl")).deletingLastPathComponent().path
        let script = ExamplesTests.root.appendingPathComponent("scripts/install.sh").path
        let install = try runProcess(script, ["install", "DESTDIR=\(dest.path)", "BUILDDIR=\(build)", "PREFIX=/usr/local"])
        #expect(install.status == 0, "\(install.out)\(install.err)")
        let share = dest.appendingPathComponent("usr/local/share")
        let files = [
            "bash-completion/completions/crmctl", "zsh/site-functions/_crmctl", "fish/vendor_completions.d/crmctl.fish",
            "man/man1/crmctl.1",
        ]
        for file in files {
            let text = (try? String(contentsOf: share.appendingPathComponent(file), encoding: .utf8)) ?? ""
            for word in ["client", "exchange", "deactivate", "socket", "sort", "contact"] {
                #expect(text.contains(word), "\(file) lacks \(word)")
            }
        }
        let man = try String(contentsOf: share.appendingPathComponent("man/man1/crmctl.1"), encoding: .utf8)
        #expect(
            man.hasPrefix(".TH CRMCTL 1") && man.contains(".SS \"crmctl user deactivate\"")
                && man.contains("\\fB\\-\\-to, \\-\\-reassign\\-to <to>\\fR"))
        let uninstall = try runProcess(script, ["uninstall", "DESTDIR=\(dest.path)", "PREFIX=/usr/local"])
        #expect(uninstall.status == 0, "\(uninstall.err)")
        for file in files { #expect(!FileManager.default.fileExists(atPath: share.appendingPathComponent(file).path), "\(file) left") }
    }
}
