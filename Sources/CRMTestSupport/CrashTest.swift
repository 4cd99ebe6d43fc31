import CRMClient
import CRMProtocol
public import Foundation

/// The crash-safety test (docs/reliability.md, "Crash safety"): writers load the real crmd, crmd is
/// killed with SIGKILL at a random moment, restarted, and everything is checked against what the
/// writers were told. Used by the `crm-crash` executable (100 rounds) and by an integration test
/// (a few rounds in `make test`).
///
/// Each writer runs on its own connection as the built-in admin acting (`session.act_as`) as its
/// own manager, and repeats a random mix of four writes, each with a unique `request_id`:
/// `interaction.log` (a unique note) and `client.update` (a unique custom field value) on its own
/// client, and `exchange.claim` / `client.release` (a unique reason) cycles on a second client.
/// A write is *acknowledged* when its reply arrived; the one in flight at the kill is *pending*.
///
/// After each kill: `crmd --check` on the file as the crash left it; crmd restarts (recovering the
/// WAL itself); then the database is read with the sqlite3 shell and over the protocol:
/// - every acknowledged write is there exactly once (note, field value, reason, or claim count);
/// - a pending write is there at most once and only whole: its stored `request_id` row, its row,
///   its audit entry and its event all exist or none does;
/// - every interaction has one audit entry and one `interaction.logged` event, and every client
///   audit entry (update, claim, release) has its event;
/// - the event log is seqs 1...N with no gap, on disk and in a `subscribe since=0` replay;
/// - the pending write is then resent with its `request_id`: it must succeed and exist once.
public final class CrashTest: @unchecked Sendable {
    public struct Options: Sendable {
        public var rounds = 100
        public var writers = 16
        /// The kill comes after a random delay in this range (seconds) once the writers started.
        public var minDelay = 0.05
        public var maxDelay = 1.0
        /// The powerfs binary (tools/powerfs): the database lives on a filesystem that forgets
        /// unsynced writes, and each round cuts its power before crmd is killed. Nil: SIGKILL only.
        public var powerFS: String? = nil
        public init() {}
    }

    /// The figures of a run.
    public struct Summary: Sendable, CustomStringConvertible {
        public var rounds = 0
        /// "SIGKILL" or "power cut".
        public var mode = "SIGKILL"
        public var acknowledged = 0
        public var byKind: [String: Int] = [:]
        public var pending = 0
        public var pendingApplied = 0
        public var lost = 0
        public var duplicated = 0
        public var halfApplied = 0
        public var otherViolations = 0
        public var events: Int64 = 0
        public var seconds = 0.0
        public var violations: [String] = []
        public var ok: Bool { lost == 0 && duplicated == 0 && halfApplied == 0 && otherViolations == 0 }

        public var description: String {
            let kinds = ["interaction.log", "client.update", "exchange.claim", "client.release"]
                .map { "\($0) \(byKind[$0] ?? 0)" }.joined(separator: ", ")
            return """
                \(rounds) rounds (\(mode)), \(acknowledged) acknowledged writes, \(lost) lost, \(duplicated) duplicated, \
                \(halfApplied) half-applied, \(otherViolations) other violations
                  by method (acknowledged, or resent after a kill): \(kinds)
                  in flight at the kills: \(pending) (\(pendingApplied) had committed, \(pending - pendingApplied) had not); \
                each resent with its request_id and applied exactly once
                  event log: seqs 1...\(events), no gap; PRAGMA integrity_check ok after every kill
                  \(String(format: "%.1f", seconds)) s
                """
        }
    }

    enum Kind: String {
        case log = "interaction.log"
        case update = "client.update"
        case claim = "exchange.claim"
        case release = "client.release"
    }

    struct Op {
        var kind: Kind
        var requestID: String
        /// The unique note, field value or reason; nil for a claim.
        var payload: String?
    }

    final class Writer: @unchecked Sendable {
        let index: Int
        let login: String
        var clientID: Int64 = 0
        var claimClientID: Int64 = 0
        /// Whether the claim client is this writer's now (else it is on the exchange or unassigned).
        var holds = false
        var counter = 0
        var acked: [Op] = []
        /// How many of `acked` were pending at a kill and acknowledged on the retry.
        var retried = 0
        var pending: Op?
        var unexpected: [String] = []
        init(index: Int) {
            self.index = index
            login = String(format: "crash-m%02d", index)
        }
    }

    public let options: Options
    let daemon: TestDaemon
    let log: @Sendable (String) -> Void
    var writers: [Writer] = []
    var summary = Summary()
    let stopFlag = LockedFlag()
    /// Set before the power is cut: an error reply after it (crmd's disk is gone) leaves the write
    /// pending, as a lost reply does.
    let powerCut = LockedFlag()
    let fs: PowerFS?
    let fsFolder: URL?

    public init(options: Options, log: @escaping @Sendable (String) -> Void) throws {
        self.options = options
        self.log = log
        if let binary = options.powerFS {
            let folder = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("crmd-power-\(UUID().uuidString.prefix(8))")
            let fs = try PowerFS(binary: binary, folder: folder)
            try fs.mount()
            self.fs = fs
            fsFolder = folder
            summary.mode = "power cut"
        } else {
            fs = nil
            fsFolder = nil
        }
        // No cooldown, so a writer may claim back the client it just released and cycle forever.
        daemon = try TestDaemon(environment: ["CRMD_EXCHANGE_COOLDOWN": "PT0S"], databaseDirectory: fs?.mountPoint)
    }

    deinit { shutDown() }

    /// Kills crmd, unmounts powerfs and removes its folders (also when a run ended by throwing,
    /// whose process exits without running deinitializers).
    public func shutDown() {
        daemon.kill9()
        fs?.unmount()
        if let fsFolder { try? FileManager.default.removeItem(at: fsFolder) }
    }

    /// Runs every round and returns the figures (violations are in the summary, not thrown).
    public func run() throws -> Summary {
        let started = Date()
        // A writer's write to the socket of a killed crmd must fail with EPIPE, not kill this process.
        signal(SIGPIPE, SIG_IGN)
        try daemon.start()
        try setUp()
        log(
            "crmd \(daemon.pid ?? 0) on \(fs?.mountPoint.path ?? daemon.directory.path), \(options.writers) writers, "
                + "\(options.rounds) rounds, \(fs == nil ? "SIGKILL" : "power cut (powerfs), then SIGKILL")")
        for round in 1...max(options.rounds, 1) {
            try runRound(round)
            summary.rounds = round
            if summary.violations.count > 50 { break }
        }
        // The last retries are checked once more, then a graceful stop and a final integrity check.
        let final = try verify(label: "final", pendingExpected: false)
        log("final: \(final)")
        let status = daemon.stop()
        if status != 0 { violation(.other, "crmd exited with \(status) on SIGTERM") }
        try integrityCheck(label: "final")
        for w in writers {
            summary.acknowledged += w.acked.count - w.retried
            for op in w.acked { summary.byKind[op.kind.rawValue, default: 0] += 1 }
        }
        summary.seconds = Date().timeIntervalSince(started)
        return summary
    }

    // MARK: - Set-up

    func setUp() throws {
        let c = try daemon.connect()
        for i in 0..<options.writers {
            let w = Writer(index: i)
            _ = try c.call(
                "user.add", ["login": .string(w.login), "name": .string("Crash \(i)"), "role": "manager", "uid": .int(61_000 + i)])
            w.clientID = try c.call("client.create", ["name": .string("Crash client \(i)"), "owner": .string(w.login)])["id"]!.intValue!
            // Unassigned: the first write on it is a claim.
            w.claimClientID = try c.call("client.create", ["name": .string("Crash claim \(i)")])["id"]!.intValue!
            writers.append(w)
        }
    }

    // MARK: - A round

    func runRound(_ round: Int) throws {
        let before = writers.map { $0.acked.count }
        stopFlag.clear()
        let group = DispatchGroup()
        let ready = DispatchSemaphore(value: 0)
        for w in writers {
            group.enter()
            Thread.detachNewThread { [self] in
                defer { group.leave() }
                write(w, round: round, ready: ready)
            }
        }
        for _ in writers { ready.wait() }
        let delay = Double.random(in: options.minDelay...options.maxDelay)
        usleep(UInt32(delay * 1_000_000))
        if let fs {
            // The power goes: what the filesystem had not been asked to sync is gone; crmd dies with it.
            powerCut.set()
            fs.cut()
        }
        daemon.kill9()
        stopFlag.set()
        group.wait()
        if let fs {
            try fs.mount()
            powerCut.clear()
        }
        let acked = zip(writers, before).reduce(0) { $0 + $1.0.acked.count - $1.1 }
        let inFlight = writers.filter { $0.pending != nil }.count
        for w in writers where !w.unexpected.isEmpty {
            for u in w.unexpected { violation(.other, "round \(round): \(w.login): \(u)") }
            w.unexpected = []
        }
        try integrityCheck(label: "round \(round)")
        try daemon.start()
        let figures = try verify(label: "round \(round)", pendingExpected: true)
        let retried = try retryPending(round: round)
        log(
            "round \(round): \(fs == nil ? "killed" : "power cut") after \(String(format: "%.2f", delay)) s, \(acked) acknowledged, \(inFlight) in flight; "
                + "\(figures); integrity ok; \(retried)")
    }

    /// One writer's loop until the kill: each write is acknowledged (recorded) or left pending.
    func write(_ w: Writer, round: Int, ready: DispatchSemaphore) {
        let c: Connection
        do {
            c = try daemon.connect()
            _ = try c.call("session.act_as", ["login": .string(w.login)])
        } catch {
            ready.signal()
            if !stopFlag.value { w.unexpected.append("could not start: \(error)") }
            return
        }
        ready.signal()
        while true {
            let op = nextOp(w, round: round)
            do {
                let result = try c.call(op.kind.rawValue, params(op, w))
                if let problem = checkResult(op, result, w) { w.unexpected.append(problem) }
                acknowledge(op, w)
            } catch let e as RPCError where !powerCut.value {
                w.unexpected.append("\(op.kind.rawValue) \(op.requestID) refused: \(e)")
                return
            } catch {
                w.pending = op  // no reply: crmd died with this write in flight
                return
            }
        }
    }

    func nextOp(_ w: Writer, round: Int) -> Op {
        w.counter += 1
        let tag = "crash-\(w.index)-\(round)-\(w.counter)"
        let roll = Int.random(in: 0..<8)
        if roll < 4 { return Op(kind: .log, requestID: "rq-\(tag)", payload: "note \(tag)") }
        if roll < 6 { return Op(kind: .update, requestID: "rq-\(tag)", payload: "value \(tag)") }
        return w.holds
            ? Op(kind: .release, requestID: "rq-\(tag)", payload: "reason \(tag)") : Op(kind: .claim, requestID: "rq-\(tag)", payload: nil)
    }

    func params(_ op: Op, _ w: Writer) -> JSON {
        let rid = JSON.string(op.requestID)
        switch op.kind {
        case .log: return ["client_id": .int(w.clientID), "kind": "note", "note": .string(op.payload), "request_id": rid]
        case .update: return ["id": .int(w.clientID), "fields": ["v": .string(op.payload)], "request_id": rid]
        case .claim: return ["id": .int(w.claimClientID), "request_id": rid]
        case .release: return ["id": .int(w.claimClientID), "reason": .string(op.payload), "request_id": rid]
        }
    }

    func checkResult(_ op: Op, _ r: JSON, _ w: Writer) -> String? {
        switch op.kind {
        case .log:
            return r["interaction"]?["note"] == .string(op.payload) ? nil : "\(op.requestID): reply without its note"
        case .update:
            return r["fields"]?["v"] == .string(op.payload) ? nil : "\(op.requestID): reply without its value"
        case .claim:
            return r["owner_login"] == .string(w.login) ? nil : "\(op.requestID): claim reply names another owner"
        case .release:
            return r["release_reason"] == .string(op.payload) ? nil : "\(op.requestID): release reply without its reason"
        }
    }

    func acknowledge(_ op: Op, _ w: Writer) {
        w.acked.append(op)
        if op.kind == .claim { w.holds = true }
        if op.kind == .release { w.holds = false }
    }

    /// Resends every pending write with its request_id; each must succeed.
    func retryPending(round: Int) throws -> String {
        var stored = 0
        var applied = 0
        let applyState = try requestIDs()
        for w in writers {
            guard let op = w.pending else { continue }
            let wasApplied = applyState.contains(op.requestID)
            let c = try daemon.connect()
            _ = try c.call("session.act_as", ["login": .string(w.login)])
            do {
                let r = try c.call(op.kind.rawValue, params(op, w))
                if let problem = checkResult(op, r, w) { violation(.other, "round \(round): retry \(problem)") }
                w.pending = nil
                acknowledge(op, w)
                w.retried += 1
                summary.pending += 1
                if wasApplied {
                    stored += 1
                    summary.pendingApplied += 1
                } else {
                    applied += 1
                }
            } catch {
                violation(.other, "round \(round): retrying \(op.kind.rawValue) \(op.requestID) failed: \(error)")
                w.pending = nil
            }
        }
        return "resent \(stored + applied) (\(stored) had committed and got the stored reply, \(applied) applied now)"
    }

    // MARK: - Checks

    enum ViolationKind { case lost, duplicated, halfApplied, other }

    func violation(_ kind: ViolationKind, _ text: String) {
        switch kind {
        case .lost: summary.lost += 1
        case .duplicated: summary.duplicated += 1
        case .halfApplied: summary.halfApplied += 1
        case .other: summary.otherViolations += 1
        }
        if summary.violations.count < 200 { summary.violations.append(text) }
        log("VIOLATION: \(text)")
    }

    /// `crmd --check` on the database as it is (after a kill: as the crash left it).
    func integrityCheck(label: String) throws {
        let r = try runProcess(TestDaemon.binaryPath(), ["--check", "--database", daemon.databasePath])
        if r.status != 0 || !(r.out + r.err).contains("ok") {
            violation(.other, "\(label): crmd --check exited \(r.status): \(r.out) \(r.err)")
        }
    }

    /// Rows of a query through the sqlite3 shell (read only; crmd may be running, WAL allows it).
    func sql(_ query: String) throws -> [[String]] {
        let r = try runProcess(
            "/usr/bin/env",
            ["sqlite3", "-batch", "-noheader", "-separator", "\u{1F}", "-cmd", "PRAGMA query_only=1", daemon.databasePath, query])
        guard r.status == 0 else { throw CrashTestError.sqlite("\(query): \(r.err)") }
        return r.out.split(separator: "\n", omittingEmptySubsequences: true).map {
            $0.split(separator: "\u{1F}", omittingEmptySubsequences: false).map(String.init)
        }
    }

    func counts(_ query: String) throws -> [String: Int] {
        var m: [String: Int] = [:]
        for row in try sql(query) where row.count == 2 { m[row[0], default: 0] += Int(row[1]) ?? 0 }
        return m
    }

    func requestIDs() throws -> Set<String> {
        Set(try sql("SELECT request_id FROM requests WHERE request_id LIKE 'rq-crash-%'").compactMap(\.first))
    }

    /// Checks the database (sqlite3) and crmd's view (protocol) against the writers' records.
    /// Returns a one-line summary of the figures.
    func verify(label: String, pendingExpected: Bool) throws -> String {
        let requests = try requestIDs()
        let notes = try counts("SELECT note, count(*) FROM interactions WHERE note LIKE 'note crash-%' GROUP BY note")
        let values = try counts(
            "SELECT json_extract(after, '$.fields.v'), count(*) FROM audit WHERE entity = 'client' AND action = 'update' "
                + "AND json_extract(after, '$.fields.v') IS NOT NULL GROUP BY 1")
        let reasons = try counts(
            "SELECT json_extract(after, '$.release_reason'), count(*) FROM audit WHERE entity = 'client' AND action = 'release' GROUP BY 1")
        let claims = try counts("SELECT entity_id, count(*) FROM audit WHERE entity = 'client' AND action = 'claim' GROUP BY 1")

        var expectedNotes = Set<String>()
        var expectedValues = Set<String>()
        var expectedReasons = Set<String>()
        /// Checks a logged note, a field value or a release reason (a claim is counted by the
        /// caller) and remembers it as expected.
        func account(_ op: Op, acknowledged: Bool, applied: Bool) {
            switch op.kind {
            case .log:
                expectedNotes.insert(op.payload!)
                check(label, op, found: notes[op.payload!] ?? 0, acknowledged: acknowledged, applied: applied)
            case .update:
                expectedValues.insert(op.payload!)
                check(label, op, found: values[op.payload!] ?? 0, acknowledged: acknowledged, applied: applied)
            case .release:
                expectedReasons.insert(op.payload!)
                check(label, op, found: reasons[op.payload!] ?? 0, acknowledged: acknowledged, applied: applied)
            case .claim: break
            }
        }
        for w in writers {
            var claimCount = 0
            for op in w.acked {
                if !requests.contains(op.requestID) {
                    violation(.halfApplied, "\(label): acknowledged \(op.requestID) has no stored request_id")
                }
                if op.kind == .claim { claimCount += 1 } else { account(op, acknowledged: true, applied: true) }
            }
            var pendingClaim = 0
            if let op = w.pending {
                if !pendingExpected { violation(.other, "\(label): \(op.requestID) still pending") }
                let applied = requests.contains(op.requestID)
                if op.kind == .claim { pendingClaim = applied ? 1 : 0 } else { account(op, acknowledged: false, applied: applied) }
            }
            let foundClaims = claims[String(w.claimClientID)] ?? 0
            if foundClaims < claimCount {
                violation(.lost, "\(label): \(w.login) had \(claimCount) claims acknowledged, \(foundClaims) in the audit")
            } else if foundClaims > claimCount + pendingClaim {
                violation(.duplicated, "\(label): \(w.login) made \(claimCount + pendingClaim) claims, \(foundClaims) in the audit")
            }
        }
        for (n, _) in notes where !expectedNotes.contains(n) { violation(.halfApplied, "\(label): note '\(n)' was never sent") }
        for (v, _) in values where !expectedValues.contains(v) { violation(.halfApplied, "\(label): value '\(v)' was never sent") }
        for (r, _) in reasons where !expectedReasons.contains(r) {
            if r.hasPrefix("reason crash-") { violation(.halfApplied, "\(label): reason '\(r)' was never sent") }
        }

        // Whole writes: each interaction has one audit entry and one event; each client audit
        // entry of these kinds has one event.
        let interactionIDs = try sql("SELECT id FROM interactions").compactMap(\.first)
        let iAudit = try counts("SELECT entity_id, count(*) FROM audit WHERE entity = 'interaction' GROUP BY 1")
        let iEvents = try counts(
            "SELECT json_extract(data, '$.interaction_id'), count(*) FROM events WHERE topic = 'interaction.logged' GROUP BY 1")
        for id in interactionIDs where iAudit[id] != 1 || iEvents[id] != 1 {
            violation(.halfApplied, "\(label): interaction \(id) has \(iAudit[id] ?? 0) audit entries and \(iEvents[id] ?? 0) events")
        }
        if iAudit.count != interactionIDs.count || iEvents.count != interactionIDs.count {
            violation(
                .halfApplied,
                "\(label): \(interactionIDs.count) interactions, \(iAudit.count) audited, \(iEvents.count) with events")
        }
        let audits = try counts(
            "SELECT entity_id || ' ' || action, count(*) FROM audit WHERE entity = 'client' AND action IN ('update', 'claim', 'release') GROUP BY 1"
        )
        let events = try counts(
            "SELECT client_id || ' ' || topic, count(*) FROM events WHERE topic IN ('client.updated', 'client.claimed', 'client.released') GROUP BY 1"
        )
        let topicOf = ["update": "client.updated", "claim": "client.claimed", "release": "client.released"]
        for (key, n) in audits {
            let parts = key.split(separator: " ")
            let eventKey = "\(parts[0]) \(topicOf[String(parts[1])]!)"
            if events[eventKey] != n {
                violation(.halfApplied, "\(label): client \(key): \(n) audit entries, \(events[eventKey] ?? 0) events")
            }
        }
        if audits.values.reduce(0, +) != events.values.reduce(0, +) {
            violation(.halfApplied, "\(label): \(audits.values.reduce(0, +)) audit entries, \(events.values.reduce(0, +)) events")
        }

        // The event log on disk: seqs 1...N.
        let row = try sql("SELECT count(*), coalesce(min(seq), 0), coalesce(max(seq), 0) FROM events").first ?? []
        let (count, minSeq, maxSeq) = (Int64(row[0]) ?? -1, Int64(row[1]) ?? -1, Int64(row[2]) ?? -1)
        if count != maxSeq || (count > 0 && minSeq != 1) {
            violation(.other, "\(label): event log on disk has \(count) events, seqs \(minSeq)...\(maxSeq): a gap")
        }
        summary.events = maxSeq

        // crmd's own view: a replay from seq 0 as admin, and each writer's notes, value and claim client.
        let replayed = try replayEvents(label: label)
        if replayed != maxSeq { violation(.other, "\(label): replay reached seq \(replayed), the log holds \(maxSeq)") }
        try checkOverProtocol(label: label, requests: requests)
        return "\(notes.count) notes, \(values.count) values, \(reasons.count) releases, event seqs 1...\(maxSeq) contiguous"
    }

    func check(_ label: String, _ op: Op, found: Int, acknowledged: Bool, applied: Bool) {
        if acknowledged {
            if found == 0 { violation(.lost, "\(label): acknowledged \(op.kind.rawValue) \(op.requestID) is missing") }
            if found > 1 { violation(.duplicated, "\(label): \(op.kind.rawValue) \(op.requestID) is there \(found) times") }
        } else {
            if found > 1 { violation(.duplicated, "\(label): pending \(op.kind.rawValue) \(op.requestID) is there \(found) times") }
            if (found == 1) != applied {
                violation(
                    .halfApplied,
                    "\(label): pending \(op.kind.rawValue) \(op.requestID): stored request_id \(applied), its effect \(found == 1)")
            }
        }
    }

    /// Replays the whole log as the built-in admin and returns the last seq; a gap is a violation.
    func replayEvents(label: String) throws -> Int64 {
        let c = try daemon.connect()
        let r = try c.call("subscribe", ["since": 0])
        let newest = r["seq"]?.intValue ?? 0
        var last: Int64 = 0
        while last < newest {
            guard let line = try c.readJSON() else { break }
            guard line["method"] == "event", let seq = line["params"]?["seq"]?.intValue else { continue }
            if seq != last + 1 {
                violation(.other, "\(label): replay jumped from seq \(last) to \(seq)")
            }
            last = seq
        }
        return last
    }

    func checkOverProtocol(label: String, requests: Set<String>) throws {
        let c = try daemon.connect()
        for w in writers {
            var ops = w.acked
            if let p = w.pending, requests.contains(p.requestID) { ops.append(p) }
            var expected: [String: Int] = [:]
            for op in ops where op.kind == .log { expected[op.payload!, default: 0] += 1 }
            var seen: [String: Int] = [:]
            var cursor: JSON = .null
            repeat {
                let page = try c.call("interaction.list", ["client_id": .int(w.clientID), "limit": 1000, "cursor": cursor])
                for i in page["items"]?.arrayValue ?? [] { seen[i["note"]?.stringValue ?? "", default: 0] += 1 }
                cursor = page["next_cursor"] ?? .null
            } while cursor != .null
            if seen != expected {
                let missing = expected.keys.filter { seen[$0] == nil }.count
                let extra = seen.filter { ($0.value > 1) || expected[$0.key] == nil }.count
                violation(.other, "\(label): interaction.list on \(w.login)'s client: \(missing) missing, \(extra) extra or repeated")
            }
            let card = try c.call("client.get", ["id": .int(w.clientID)])
            let lastValue = ops.last(where: { $0.kind == .update })?.payload
            if let lastValue, card["fields"]?["v"] != .string(lastValue) {
                violation(.other, "\(label): \(w.login)'s client shows \(card["fields"]?["v"] ?? .null), the last write set '\(lastValue)'")
            }
            let held = ops.last(where: { $0.kind == .claim || $0.kind == .release }).map { $0.kind == .claim } ?? false
            let k = try c.call("client.get", ["id": .int(w.claimClientID)])
            let holdsNow = k["status"] == "assigned" && k["owner_login"] == .string(w.login)
            if holdsNow != held {
                violation(.other, "\(label): \(w.login)'s claim client is \(k["status"] ?? .null), expected held=\(held)")
            }
        }
    }
}

enum CrashTestError: Error, CustomStringConvertible {
    case sqlite(String)
    var description: String {
        switch self {
        case .sqlite(let s): return "sqlite3: \(s)"
        }
    }
}
