import ArgumentParser
import CRMClient
import CRMProtocol
import Foundation

// The colored-clients exchange from the command line: the exchange itself, claims and releases,
// why a client is in its zone, the release preview, alerts, live events, the zones report and
// the test clock.

extension GlobalOptions {
    /// Runs `body` on one connection (for commands that make several calls), mapping failures
    /// the way `run` does: a message on stderr and a non-zero exit.
    func session<T>(_ body: (Connection) throws -> T) throws -> T {
        do {
            return try body(try connect())
        } catch let e as RPCError {
            printError(e)
            throw ExitCode(1)
        } catch let e as ClientError {
            FileHandle.standardError.write(Data("crmctl: \(e)\n".utf8))
            throw ExitCode(e.exitCode)
        }
    }
}

extension ClientError {
    /// 77 (EX_NOPERM) when the socket refuses this account, else 69 (EX_UNAVAILABLE).
    var exitCode: Int32 {
        if case .permissionDenied = self { return 77 }
        return 69
    }
}

/// A login, or a placeholder for none.
private func login(_ v: JSON?, _ none: String = "-") -> String { v?.stringValue ?? none }

/// "1 client", "2 clients".
private func plural(_ n: Int64, _ word: String) -> String { "\(n) \(word)\(n == 1 ? "" : "s")" }

// MARK: exchange, claim, release

struct ExchangeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exchange", abstract: "List the clients on the exchange that a manager may claim.",
        discussion: """
            Shows each client's id (for `crmctl claim ID`), when it was released, from whom and why. \
            Unassigned clients (never owned) are claimable too and are listed unless --released-only. \
            Without --all one page is shown; its last line tells the --cursor for the next one.
            """)
    @OptionGroup var global: GlobalOptions
    @Flag(help: "Fetch every page, not just the first.") var all = false
    @Option(help: "At most this many clients (1 to 1000; default 100).") var limit: Int?
    @Option(help: "Continue after this cursor (from the previous page).") var cursor: String?
    @Flag(help: "Only clients released to the exchange, not unassigned ones.") var releasedOnly = false

    func validate() throws {
        if all, limit != nil { throw ValidationError("--all and --limit exclude each other") }
    }

    func run() throws {
        var p: JSONObject = [:]
        if let limit { p["limit"] = .int(limit) }
        if let cursor { p["cursor"] = .string(cursor) }
        if releasedOnly { p["include_unassigned"] = false }
        guard all else {
            try global.run("exchange.list", p, render: printExchange)
            return
        }
        p["limit"] = 1000
        let items = try global.session { conn -> [JSON] in
            var items: [JSON] = []
            while true {
                let page = try conn.call("exchange.list", .object(p))
                items += page["items"]?.arrayValue ?? []
                guard let next = page["next_cursor"]?.stringValue else { return items }
                p["cursor"] = .string(next)
            }
        }
        let result: JSON = ["items": .array(items), "next_cursor": .null]
        if global.json {
            print(JSONWriter.string(result))
        } else {
            printExchange(result)
        }
    }
}

private func printExchange(_ r: JSON) {
    let items = r["items"]?.arrayValue ?? []
    if items.isEmpty {
        print("The exchange is empty.")
        return
    }
    var t = Table(["id", "name", "status", "released", "from", "reason"])
    for c in items {
        let unassigned = c["status"]?.stringValue == "unassigned"
        t.add([
            str(c["id"]), str(c["name"]), str(c["status"]), c["released_at"]?.stringValue ?? "-", login(c["released_from_login"]),
            c["release_reason"]?.stringValue ?? (unassigned ? "never had an owner" : "-"),
        ])
    }
    t.print()
    if let next = r["next_cursor"]?.stringValue { print(Style.dim("more: --cursor \(next)")) }
}

struct Claim: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Claim a client from the exchange: it becomes yours, green, with a handover summary.",
        discussion: """
            Managers and heads claim. The manager a client was released from may not claim it back \
            during the cooldown; daily and per-manager limits may apply.
            """)
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The client's id (see `crmctl exchange`).") var id: Int

    func run() throws {
        try global.run("exchange.claim", ["id": .int(id)]) { c in
            print("claimed #\(str(c["id"])) \(str(c["name"])): now led by \(login(c["owner_login"], "?")), \(zoneCell(c))")
            let h = c["handover"] ?? .null
            if let from = h["released_from_login"]?.stringValue {
                print("released from \(from)\(h["release_reason"]?.stringValue.map { ": \($0)" } ?? "")")
            } else {
                print("it had no owner before")
            }
            let recent = h["last_interactions"]?.arrayValue ?? []
            print(recent.isEmpty ? "\nno interactions logged yet" : "\nlast interactions")
            if !recent.isEmpty { printInteractions(recent) }
            let contacts = h["contacts"]?.arrayValue ?? []
            print(contacts.isEmpty ? "\nno contacts" : "\ncontacts")
            if !contacts.isEmpty {
                printContacts(contacts)
            }
        }
    }
}

struct Release: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Release a client to the exchange, with a reason (its owner, a head or an admin).",
        discussion: "The manager it leaves may not claim it back during the exchange cooldown.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The client's id.") var id: Int
    @Option(help: "Why it goes to the exchange (kept in its history and shown to whoever claims it).") var reason: String

    func run() throws {
        try global.run("client.release", ["id": .int(id), "reason": .string(reason)]) { c in
            print("released #\(str(c["id"])) \(str(c["name"])) to the exchange: \(c["release_reason"]?.stringValue ?? reason)")
        }
    }
}

// MARK: explain, preview

struct Explain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Why a client is in its zone, what comes next, and what would reset it.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The client's id.") var id: Int

    func run() throws {
        try global.run("client.explain", ["id": .int(id)], render: printExplanation)
    }
}

private func printExplanation(_ r: JSON) {
    let head = "#\(str(r["client_id"])) \(str(r["name"]))"
    guard let zone = r["zone"]?.stringValue else {
        // On the exchange or unassigned: the server says it in one sentence.
        print("\(head): \(str(r["status"]))")
        if let from = r["released_from_login"]?.stringValue { print("released from   \(from)") }
        if let e = r["explanation"]?.stringValue { print(e) }
        return
    }
    func line(_ label: String, _ text: String) { print(label.padding(toLength: 16, withPad: " ", startingAt: 0) + text) }
    print("\(head): \(zoneCell(r))")
    let by = r["clock_set_by"] ?? .null
    var started = str(r["clock_started_at"])
    switch by["kind"]?.stringValue {
    case "interaction":
        started +=
            " by \(str(by["interaction_kind"])) #\(str(by["interaction_id"])) logged by \(login(by["by"], "?")) at \(str(by["at"]))"
    case "assignment":
        started += " by the assignment to \(login(by["to"], "?"))\(by["at"]?.stringValue.map { " at \($0)" } ?? "")"
    default: break
    }
    line("clock started", started)
    let next = r["next_change"] ?? .null
    let becomes = str(next["becomes"])
    let nextZone = ["green", "yellow", "red"].contains(becomes) ? Style.zone(becomes, becomes) : becomes
    line("next change", "\(nextZone) at \(str(next["at"]))")
    if let days = r["days_to_release"]?.intValue {
        let left = days > 0 ? "\(plural(days, "day")) left" : "due now"
        line("release", "\(str(r["release_at"])) (\(Style.zone(zone, left)))")
    } else {
        line("release", str(r["release_at"]))
    }
    let marks = r["upcoming_reminders"]?.arrayValue ?? []
    line(
        "reminders",
        marks.isEmpty
            ? "none left before the release"
            : marks.map { "\(plural($0["days_before"]?.intValue ?? 0, "day")) before, \(str($0["at"]))" }.joined(separator: "; "))
    if let w = r["what_resets"]?.stringValue { line("what resets it", w) }
}

struct Preview: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Releases due in the next days per manager, optionally under proposed thresholds.",
        discussion: """
            Without threshold options the current rules are used. Give any of --yellow-after, \
            --red-after, --release-after (ISO 8601 durations, e.g. P1M, P5M, P6M) to see what would \
            be released under those thresholds instead; the others keep their current values. \
            Managers see only their own clients.
            """)
    @OptionGroup var global: GlobalOptions
    @Option(help: "How many days ahead (1 to 366; default 7).") var days: Int?
    @Option(help: "Proposed: green turns yellow after this (e.g. P1M).") var yellowAfter: String?
    @Option(help: "Proposed: yellow turns red after this (e.g. P5M).") var redAfter: String?
    @Option(help: "Proposed: the client is released after this (e.g. P6M).") var releaseAfter: String?

    func run() throws {
        var p: JSONObject = [:]
        if let days { p["days"] = .int(days) }
        var t = JSONObject()
        if let yellowAfter { t["yellow_after"] = .string(yellowAfter) }
        if let redAfter { t["red_after"] = .string(redAfter) }
        if let releaseAfter { t["release_after"] = .string(releaseAfter) }
        if t.count > 0 { p["thresholds"] = .object(t) }
        try global.run("exchange.preview", p, render: printPreview)
    }
}

private func printPreview(_ r: JSON) {
    let which = r["thresholds"]?.stringValue == "proposed" ? "under the proposed thresholds" : "under the current thresholds"
    let total = r["total"]?.intValue ?? 0
    let managers = r["managers"]?.arrayValue ?? []
    guard total > 0 || !managers.isEmpty else {
        print("No releases due by \(str(r["to"])) \(which).")
        return
    }
    print("\(plural(total, "release")) due by \(str(r["to"])) \(which)")
    for m in managers {
        let clients = m["clients"]?.arrayValue ?? []
        let count = m["count"]?.intValue ?? Int64(clients.count)
        // crmd lists at most 100 clients per manager; a count equal to that may be a lower bound.
        let countText = clients.count >= 100 && count <= clients.count ? "\(clients.count) or more clients" : plural(count, "client")
        print("\n\(login(m["owner_login"], "user #\(str(m["owner"]))")): \(countText)")
        let named = clients.contains { $0["name"]?.stringValue != nil }
        var t = Table(named ? ["id", "name", "release at"] : ["id", "release at"])
        for c in clients {
            t.add(named ? [str(c["client_id"]), str(c["name"]), str(c["release_at"])] : [str(c["client_id"]), str(c["release_at"])])
        }
        t.print()
        if clients.count >= 100 { print(Style.dim("(only the first 100 are listed)")) }
    }
}

// MARK: alerts

struct AlertsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts", abstract: "Your alerts (reminders before a client is released), and acknowledging them.",
        subcommands: [List.self, Ack.self], defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List your delivered alerts, newest first (the default).",
            discussion: "Example: crmctl alerts --unacked")
        @OptionGroup var global: GlobalOptions
        @Flag(help: "Only alerts not acknowledged yet.") var unacked = false
        @Option(help: "At most this many (1 to 1000; default 100).") var limit: Int?
        @Option(help: "Continue after this cursor (from the previous page).") var cursor: String?

        func run() throws {
            var p: JSONObject = [:]
            if unacked { p["unacked"] = true }
            if let limit { p["limit"] = .int(limit) }
            if let cursor { p["cursor"] = .string(cursor) }
            try global.run("alert.list", p) { r in
                let items = r["items"]?.arrayValue ?? []
                if items.isEmpty {
                    print(unacked ? "No unacknowledged alerts." : "No alerts.")
                    return
                }
                var t = Table(["id", "delivered", "kind", "days left", "message"])
                for a in items {
                    let days = a["days_left"]?.intValue.map(String.init) ?? "-"
                    let id = a["acked_at"]?.stringValue == nil ? str(a["id"]) : Style.dim(str(a["id"]))
                    t.add([id, str(a["delivered_at"]), str(a["kind"]), Style.zone(str(a["zone"]), days), str(a["message"])])
                }
                t.print()
                if let next = r["next_cursor"]?.stringValue { print(Style.dim("more: --cursor \(next)")) }
            }
        }
    }

    struct Ack: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Acknowledge alerts by id.", discussion: "Example: crmctl alerts ack 12 13")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Alert ids (see `crmctl alerts`).") var ids: [Int]

        func validate() throws {
            if ids.isEmpty { throw ValidationError("give at least one alert id") }
        }

        func run() throws {
            try global.run("alert.ack", ["ids": .array(ids.map { JSON.int($0) })]) { r in
                let n = r["acked"]?.intValue ?? 0
                var text = "acknowledged \(plural(n, "alert"))"
                if n < ids.count { text += " (\(ids.count - Int(n)) already acknowledged or not yours)" }
                print(text)
            }
        }
    }
}

// MARK: report

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "Reports for managers, heads and directors.",
        subcommands: [Zones.self], defaultSubcommand: Zones.self)

    struct Zones: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Clients per zone per manager now, claims and releases in a period, and a bar chart.",
            discussion: """
                The period defaults to the 30 days before --to (default now). The chart is scaled to the \
                terminal width (COLUMNS, or 80). Managers see only their own line.
                """)
        @OptionGroup var global: GlobalOptions
        @Option(help: "Period start (RFC 3339).") var from: String?
        @Option(help: "Period end (RFC 3339; default now).") var to: String?

        func run() throws {
            var p: JSONObject = [:]
            if let from { p["from"] = .string(from) }
            if let to { p["to"] = .string(to) }
            try global.run("report.zones", p, render: printZonesReport)
        }
    }
}

private let zoneNames = ["green", "yellow", "red"]

private func printZonesReport(_ r: JSON) {
    let managers = r["managers"]?.arrayValue ?? []
    print("zones at \(str(r["now"])); claims and releases from \(str(r["from"])) to \(str(r["to"]))")
    let rows = managers.map { m -> (name: String, counts: [Int], m: JSON) in
        (login(m["owner_login"], "user #\(str(m["owner"]))"), zoneNames.map { Int(m[$0]?.intValue ?? 0) }, m)
    }
    if rows.isEmpty {
        print("no managers with clients or exchange activity")
    } else {
        var t = Table(["manager", "green", "yellow", "red", "total", "claims", "releases"])
        for row in rows {
            var releases = num(row.m["releases"])
            if let manual = row.m["manual_releases"]?.intValue, manual > 0 { releases += " (\(manual) manual)" }
            t.add(
                [row.name] + zip(zoneNames, row.counts).map { Style.zone($0.0, String($0.1)) }
                    + [String(row.counts.reduce(0, +)), num(row.m["claims"]), releases])
        }
        print()
        t.print()
        print()
        printZoneBars(rows.map { ($0.name, $0.counts) })
    }
    if let tot = r["totals"] {
        print(
            "\nall clients: \(Style.zone("green", num(tot["green"]))) green, \(Style.zone("yellow", num(tot["yellow"]))) yellow, \(Style.zone("red", num(tot["red"]))) red, \(num(tot["exchange"])) on the exchange, \(num(tot["unassigned"])) unassigned"
        )
    }
}

/// The terminal width: COLUMNS, or 80.
private func terminalColumns() -> Int {
    if let c = ProcessInfo.processInfo.environment["COLUMNS"].flatMap({ Int($0) }), c > 0 { return c }
    return 80
}

/// One horizontal bar per manager, green/yellow/red segments, all on one scale.
private func printZoneBars(_ rows: [(name: String, counts: [Int])]) {
    let labelWidth = rows.map { $0.name.count }.max() ?? 0
    let maxTotal = rows.map { $0.counts.reduce(0, +) }.max() ?? 0
    let numberWidth = String(maxTotal).count
    let barWidth = max(10, terminalColumns() - labelWidth - numberWidth - 4)
    for row in rows {
        let total = row.counts.reduce(0, +)
        let length = total == 0 ? 0 : max(1, Int((Double(total) * Double(barWidth) / Double(maxTotal)).rounded()))
        let segments = splitBar(row.counts, length: length)
        var bar = ""
        for (zone, n) in zip(zoneNames, segments) where n > 0 {
            bar +=
                Style.enabled
                ? Style.zone(zone, String(repeating: "█", count: n)) : String(repeating: zone.prefix(1).uppercased(), count: n)
        }
        let label = row.name.padding(toLength: labelWidth, withPad: " ", startingAt: 0)
        print("\(label)  \(bar)\(String(repeating: " ", count: barWidth - length))  \(total)")
    }
    if Style.enabled {
        print(zoneNames.map { Style.zone($0, "█") + " \($0)" }.joined(separator: "  "))
    } else {
        print("G green  Y yellow  R red")
    }
}

/// Splits `length` characters among `counts` in proportion (largest remainder), giving every
/// non-zero count at least one character when there is room.
func splitBar(_ counts: [Int], length: Int) -> [Int] {
    let total = counts.reduce(0, +)
    guard total > 0, length > 0 else { return counts.map { _ in 0 } }
    let exact = counts.map { Double($0) * Double(length) / Double(total) }
    var parts = exact.map { Int($0.rounded(.down)) }
    let order = exact.indices.sorted { exact[$0] - Double(parts[$0]) > exact[$1] - Double(parts[$1]) }
    for i in order.prefix(length - parts.reduce(0, +)) { parts[i] += 1 }
    for i in counts.indices where counts[i] > 0 && parts[i] == 0 {
        if let donor = parts.indices.filter({ parts[$0] > 1 }).max(by: { parts[$0] < parts[$1] }) {
            parts[donor] -= 1
            parts[i] = 1
        }
    }
    return parts
}

// MARK: clock

struct ClockCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clock", abstract: "Move a test daemon's clock (crmd --clock manual only; admins).",
        discussion: "Everything that falls due (zone changes, reminders, releases) is applied before the command returns.",
        subcommands: [Advance.self, SetTime.self])

    struct Advance: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move the clock forward.", discussion: "Example: crmctl clock advance P1M")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "An ISO 8601 duration, e.g. P30D, P1M or PT1H.") var duration: String

        func run() throws { try global.run("clock.advance", ["by": .string(duration)], render: printClock) }
    }

    struct SetTime: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set", abstract: "Set the clock to a later time.", discussion: "Example: crmctl clock set 2026-07-01T09:00:00Z")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "An RFC 3339 timestamp, not before the clock's now nor after 9000-01-01T00:00:00Z.") var time: String

        func run() throws { try global.run("clock.set", ["to": .string(time)], render: printClock) }
    }
}

private func printClock(_ r: JSON) {
    print("clock now \(str(r["now"])); \(plural(r["events"]?.intValue ?? 0, "event")) applied")
}

// MARK: watch

struct Watch: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print live events (zone changes, releases, claims, alerts...) one per line.",
        discussion: """
            Each line shows the event's time, its seq, its topic and a short summary; with --json the \
            raw event params, one JSON object per line.

            watch resumes where it stopped: the last seq it printed is kept in \
            $XDG_STATE_HOME/crmctl/watch-<socket hash>.seq (default ~/.local/state/crmctl), and the \
            next run continues after it. The first run starts with new events. --since SEQ starts \
            after SEQ instead, --from-start replays the whole event log. When crmd closes the \
            subscription or the connection drops, watch reconnects and resumes after the last event \
            it printed, so nothing is printed twice or skipped. Ctrl-C stops it.

            Topics: zone.changed, client.released, client.claimed, client.assigned, \
            interaction.logged, alert, client.created, client.updated (default: all you may see).
            """)
    @OptionGroup var global: GlobalOptions
    @Option(help: "Comma-separated topics to watch (default: all).") var topics: String?
    @Option(help: "Start after this seq instead of where the last watch stopped.") var since: Int64?
    @Flag(help: "Replay every event from the start of the log (same as --since 0).") var fromStart = false

    func validate() throws {
        if fromStart, since != nil { throw ValidationError("--since and --from-start exclude each other") }
        if let since, since < 0 { throw ValidationError("--since must be 0 or more") }
    }

    func run() throws {
        let topicList = topics?.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        var watcher = Watcher(
            global: global, topics: topicList,
            state: WatchState(socket: global.socket ?? (try? checkedDefaultSocketPath()) ?? defaultSocketPath()))
        watcher.lastSeq = fromStart ? 0 : (since ?? watcher.state.load())
        try watcher.run()
    }
}

/// Where `watch` keeps the last seq it printed, per socket.
struct WatchState {
    let url: URL
    private var warned = false
    /// The state file, open for the whole watch (closed by the exit).
    private var fd: Int32 = -1

    init(socket: String) {
        let env = ProcessInfo.processInfo.environment
        let base: String
        if let s = env["XDG_STATE_HOME"], s.hasPrefix("/") {
            base = s
        } else {
            base = (env["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()) + "/.local/state"
        }
        url = URL(fileURLWithPath: base).appendingPathComponent("crmctl").appendingPathComponent("watch-\(Self.hash(socket)).seq")
    }

    /// A stable hash of the socket's absolute path (FNV-1a, 64 bits, hex).
    static func hash(_ socket: String) -> String {
        var path = URL(fileURLWithPath: socket).standardizedFileURL.path
        if let real = realpath(path, nil) {
            path = String(cString: real)
            free(real)
        }
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in path.utf8 {
            h ^= UInt64(b)
            h = h &* 0x0000_0100_0000_01b3
        }
        let hex = String(h, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    func load() -> Int64? {
        guard let data = try? Data(contentsOf: url), let text = String(data: data, encoding: .utf8) else { return nil }
        return Int64(text.trimmingCharacters(in: .whitespacesAndNewlines)).flatMap { $0 >= 0 ? $0 : nil }
    }

    /// Records `seq`: one small in-place write per event (no fsync), as a fixed-width line so a
    /// shorter number never leaves digits of a longer one behind.
    mutating func save(_ seq: Int64) {
        if fd < 0 {
            let dir = url.deletingLastPathComponent()
            try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            fd = open(url.path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
            if fd < 0 {
                warn(String(cString: strerror(errno)))
                return
            }
            _ = ftruncate(fd, 21)
        }
        let digits = String(seq)
        let line = Array((String(repeating: "0", count: max(0, 20 - digits.count)) + digits + "\n").utf8)
        if pwrite(fd, line, line.count, 0) != line.count { warn(String(cString: strerror(errno))) }
    }

    private mutating func warn(_ why: String) {
        guard !warned else { return }
        warned = true
        FileHandle.standardError.write(Data("crmctl: cannot save the watch position to \(url.path): \(why)\n".utf8))
    }
}

/// The subscribe–print–reconnect loop of `watch`.
struct Watcher {
    let global: GlobalOptions
    let topics: [String]?
    var state: WatchState
    /// The last seq printed (or skipped as already seen); `nil` until the first subscription.
    var lastSeq: Int64?
    /// Logins by user id, for readable summaries.
    var logins: [Int64: String] = [:]

    init(global: GlobalOptions, topics: [String]?, state: WatchState) {
        self.global = global
        self.topics = topics
        self.state = state
    }

    /// Why a subscription ended.
    enum End: Error {
        case dropped(String)
        /// crmd's idle timeout closed the connection: resume at once, without a word.
        case idle
    }

    mutating func run() throws {
        installSignalHandlers()
        var connectedOnce = false
        var outage = false
        var delay = 0.25
        while true {
            do {
                let conn = try global.connect()
                try subscribe(conn)
                if outage { note("reconnected; resuming after seq \(lastSeq ?? 0)") }
                connectedOnce = true
                outage = false
                delay = 0.25
                try receive(conn)
            } catch let e as RPCError {
                // A refusal (bad topic, not a user, ...) does not get better by retrying.
                printError(e)
                throw ExitCode(1)
            } catch let e as ClientError {
                guard connectedOnce else {
                    FileHandle.standardError.write(Data("crmctl: \(e)\n".utf8))
                    throw ExitCode(e.exitCode)
                }
                // Said once per outage; the retries are quiet.
                if !outage { note("\(clause("\(e)")); reconnecting ...") }
                outage = true
            } catch End.idle {
                continue
            } catch End.dropped(let why) {
                note("\(clause(why)); reconnecting ...")
                outage = true
            }
            usleep(UInt32(delay * 1_000_000))
            delay = min(delay * 2, 5)
        }
    }

    /// Subscribes on `conn` from `lastSeq` and records where the log stands.
    mutating func subscribe(_ conn: Connection) throws {
        if let users = try? conn.call("user.list", ["limit": 1000]) {
            for u in users["items"]?.arrayValue ?? [] {
                if let id = u["id"]?.intValue, let l = u["login"]?.stringValue { logins[id] = l }
            }
        }
        var p: JSONObject = [:]
        if let topics { p["topics"] = .array(topics.map(JSON.string)) }
        if let lastSeq { p["since"] = .int(lastSeq) }
        let r = try conn.call("subscribe", .object(p))
        let head = r["seq"]?.intValue ?? 0
        if let last = lastSeq, head < last {
            // The log is shorter than what we saw: a different (or recreated) database.
            note("crmd's event log ends at seq \(head), before the \(last) this watch had seen; following it from there")
            lastSeq = head
            state.save(head)
        } else if lastSeq == nil {
            lastSeq = head
            state.save(head)
        }
    }

    /// Prints events from `conn` until the subscription ends.
    mutating func receive(_ conn: Connection) throws {
        while true {
            guard let msg = try conn.readJSON() else { throw End.dropped("crmd closed the connection") }
            let params = msg["params"] ?? .null
            switch msg["method"]?.stringValue {
            case "event":
                guard let seq = params["seq"]?.intValue, seq > (lastSeq ?? -1) else { continue }
                var text = global.json ? JSONWriter.string(params) : describe(params)
                text += "\n"
                // Print and remember as one step, so Ctrl-C never leaves a line printed but unsaved.
                holdingSignals {
                    fputsOut(text)
                    lastSeq = seq
                    state.save(seq)
                }
            case "subscription.closed":
                if let sent = params["last_seq_sent"]?.intValue, sent > (lastSeq ?? -1) {
                    // Everything up to it was delivered (or was not for us): resume after it.
                    lastSeq = sent
                    state.save(sent)
                }
                throw End.dropped("crmd closed the subscription (\(str(params["reason"]))): \(str(params["message"]))")
            case "server.closing":
                // An idle timeout counts a subscriber that only listens as idle.
                if params["reason"]?.stringValue == "idle_timeout" { throw End.idle }
                throw End.dropped("crmd is closing the connection (\(str(params["reason"])))")
            default:
                continue
            }
        }
    }

    /// One readable line for an event.
    func describe(_ e: JSON) -> String {
        let topic = str(e["topic"])
        let head = "\(str(e["at"]))  \(Style.dim("#" + str(e["seq"])))  \(topic.padding(toLength: 18, withPad: " ", startingAt: 0))  "
        return head + summary(topic, e["data"] ?? .null)
    }

    func user(_ id: JSON?) -> String {
        guard let id = id?.intValue else { return "nobody" }
        return logins[id] ?? "user \(id)"
    }

    func summary(_ topic: String, _ d: JSON) -> String {
        let client = "#\(str(d["client_id"]))" + (d["name"]?.stringValue.map { " \($0)" } ?? "")
        switch topic {
        case "zone.changed":
            let to = str(d["to"])
            var s =
                "\(client) (\(d["owner_login"]?.stringValue ?? user(d["owner"]))): \(d["from"]?.stringValue ?? "none") → \(Style.zone(to, to))"
            if let days = d["days_to_release"]?.intValue { s += ", \(plural(days, "day")) to release" }
            return s
        case "client.released":
            var s = "\(client) released from \(d["from_login"]?.stringValue ?? user(d["from"]))"
            if d["manual"] == .bool(true) { s += " by \(login(d["by"], "?"))" }
            if let r = d["reason"]?.stringValue { s += ": \(r)" }
            return s
        case "client.claimed":
            var s = "\(client) claimed by \(login(d["by"], user(d["owner"])))"
            if d["released_from"]?.intValue != nil { s += " (released from \(user(d["released_from"])))" }
            return s
        case "client.assigned":
            let to = d["to"]?.intValue == nil ? "unassigned" : "assigned to \(user(d["to"]))"
            return "\(client) \(to) by \(login(d["by"], "?"))" + (d["from"]?.intValue == nil ? "" : " (was \(user(d["from"])))")
        case "interaction.logged":
            return "\(str(d["kind"])) on \(client) by \(login(d["author_login"], "?")) at \(str(d["occurred_at"]))"
        case "alert":
            let days = d["days_left"]?.intValue.map { Style.zone(str(d["zone"]), plural($0, "day")) + " left, " } ?? ""
            return "alert #\(str(d["id"])) for \(user(d["user"])): \(days)\(str(d["message"]))"
        case "client.created":
            return "\(client) created" + (d["owner"]?.intValue == nil ? ", unassigned" : " for \(user(d["owner"]))")
        case "client.updated":
            return "\(client) updated"
        default:
            return JSONWriter.string(d)
        }
    }

    /// A message without its final period, to go on with "; ...".
    func clause(_ text: String) -> String { text.hasSuffix(".") ? String(text.dropLast()) : text }

    func note(_ text: String) {
        FileHandle.standardError.write(Data("crmctl: \(text)\n".utf8))
    }
}

/// Writes to stdout at once; if stdout is gone (a closed pipe), there is nobody to watch for.
private func fputsOut(_ text: String) {
    print(text, terminator: "")
    if fflush(nil) != 0 { _exit(0) }
}

/// Ctrl-C (and SIGTERM) end `watch` with status 0; a closed stdout pipe is seen by `fputsOut`.
private func installSignalHandlers() {
    signal(SIGINT) { _ in _exit(0) }
    signal(SIGTERM) { _ in _exit(0) }
    signal(SIGPIPE, SIG_IGN)
}

/// Runs `body` with SIGINT and SIGTERM held back, so it is never cut in the middle.
private func holdingSignals(_ body: () -> Void) {
    var set = sigset_t()
    var old = sigset_t()
    sigemptyset(&set)
    sigaddset(&set, SIGINT)
    sigaddset(&set, SIGTERM)
    pthread_sigmask(SIG_BLOCK, &set, &old)
    body()
    pthread_sigmask(SIG_SETMASK, &old, nil)
}
