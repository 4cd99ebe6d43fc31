import ArgumentParser
import CRMClient
import CRMProtocol
import Foundation

struct Watch: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: tr("Print live events (zone changes, releases, claims, alerts...) one per line."),
        discussion: tr(
            """
            Each line shows the event's time, its seq, its topic and a short summary; with --json the \
            raw event params, one JSON object per line.

            watch resumes where it stopped: the last seq it printed is kept in \
            $XDG_STATE_HOME/crmctl/watch-<socket hash>.seq (default ~/.local/state/crmctl), and the \
            next run continues after it. The first run starts with new events. --since SEQ starts \
            after SEQ instead, --from-start replays the whole event log. When crmd closes the \
            subscription or the connection drops, watch reconnects and resumes after the last event \
            it printed, so nothing is printed twice or skipped. Ctrl-C stops it.

            Topics: zone.changed, client.released, client.claimed, client.assigned, \
            interaction.logged, alert, client.created, client.updated, call.incoming (a screen pop: \
            who is calling, through which channel, whose client) and the rest crmd lists in \
            docs/protocol.md (default: all you may see).
            """))
    @OptionGroup var global: GlobalOptions
    @Option(help: .tr("Comma-separated topics to watch (default: all).")) var topics: String?
    @Option(help: .tr("Start after this seq instead of where the last watch stopped.")) var since: Int64?
    @Flag(help: .tr("Replay every event from the start of the log (same as --since 0).")) var fromStart = false

    func validate() throws {
        if fromStart, since != nil { throw ValidationError(tr("--since and --from-start exclude each other")) }
        if let since, since < 0 { throw ValidationError(tr("--since must be 0 or more")) }
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
        FileHandle.standardError.write(Data("crmctl: \(tr("cannot save the watch position to \(url.path): \(why)"))\n".utf8))
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
                if outage { note(tr("reconnected; resuming after seq \(lastSeq ?? 0)")) }
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
                if !outage { note(tr("\(clause("\(e)")); reconnecting ...")) }
                outage = true
            } catch End.idle {
                continue
            } catch End.dropped(let why) {
                note(tr("\(clause(why)); reconnecting ..."))
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
            note(tr("crmd's event log ends at seq \(head), before the \(last) this watch had seen; following it from there"))
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
            guard let msg = try conn.readJSON() else { throw End.dropped(tr("crmd closed the connection")) }
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
                throw End.dropped(tr("crmd closed the subscription (\(str(params["reason"]))): \(str(params["message"]))"))
            case "server.closing":
                // An idle timeout counts a subscriber that only listens as idle.
                if params["reason"]?.stringValue == "idle_timeout" { throw End.idle }
                throw End.dropped(tr("crmd is closing the connection (\(str(params["reason"])))"))
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
        guard let id = id?.intValue else { return tr("nobody") }
        return logins[id] ?? tr("user #\(id)")
    }

    func summary(_ topic: String, _ d: JSON) -> String {
        let client = "#\(str(d["client_id"]))" + (d["name"]?.stringValue.map { " \($0)" } ?? "")
        switch topic {
        case "zone.changed":
            let to = str(d["to"])
            let owner = d["owner_login"]?.stringValue ?? user(d["owner"])
            let from = d["from"]?.stringValue.map(zoneName) ?? tr("none")
            var s = "\(client) (\(owner)): \(from) → \(Style.zone(to, zoneName(to)))"
            if let days = d["days_to_release"]?.intValue { s += ", " + tr("\(days, "day", "days") to release") }
            return s
        case "client.released":
            var s = tr("\(client) released from \(d["from_login"]?.stringValue ?? user(d["from"]))")
            if d["manual"] == .bool(true) { s += " " + tr("by \(login(d["by"], "?"))") }
            if let r = d["reason"]?.stringValue { s += ": \(r)" }
            return s
        case "client.claimed":
            var s = tr("\(client) claimed by \(login(d["by"], user(d["owner"])))")
            if d["released_from"]?.intValue != nil { s += " " + tr("(released from \(user(d["released_from"])))") }
            return s
        case "client.assigned":
            let by = login(d["by"], "?")
            let said =
                d["to"]?.intValue == nil ? tr("\(client) unassigned by \(by)") : tr("\(client) assigned to \(user(d["to"])) by \(by)")
            return said + (d["from"]?.intValue == nil ? "" : " " + tr("(was \(user(d["from"])))"))
        case "interaction.logged":
            let kind = Language.word("interaction", str(d["kind"]))
            return tr("\(kind) on \(client) by \(login(d["author_login"], "?")) at \(str(d["occurred_at"]))")
        case "alert":
            let days = d["days_left"]?.intValue.map { Style.zone(str(d["zone"]), tr("\($0, "day", "days") left")) + ", " } ?? ""
            return tr("alert #\(str(d["id"])) for \(user(d["user"])): \(days)\(str(d["message"]))")
        case "client.created":
            return d["owner"]?.intValue == nil ? tr("\(client) created, unassigned") : tr("\(client) created for \(user(d["owner"]))")
        case "client.updated":
            return tr("\(client) updated")
        case "call.incoming":
            return callPop(d)
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
