import CRMClient
import CRMProtocol
import Foundation

// The crash-safety test's checks (CrashTest.swift): crmd --check, the database through the sqlite3
// shell, and crmd's own view over the protocol, against what the writers were told.

extension CrashTest {
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
