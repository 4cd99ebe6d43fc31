import CRMClient
import CRMProtocol
import Foundation

// A round of the crash-safety test (CrashTest.swift): the writers write until crmd is killed (its
// power cut first under powerfs), crmd restarts and is checked, and each write in flight is resent
// with its request_id.

extension CrashTest {
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
}
