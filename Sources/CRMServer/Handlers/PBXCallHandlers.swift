import CRMCore
import CRMProtocol
import CRMStore
import CRMText
import Foundation

/// `call.ended` and `call.import`: calls the PBX finished, from its end-of-call hook or its
/// Master.csv (docs/rules.md, "Calls from the PBX"). An answered call with a known client is
/// logged as a `call` interaction captured by `pbx`; a missed inbound one becomes a call-back task
/// for the client's owner, due within `calls.callback_within` working minutes.
struct PBXCallHandlers: HandlerGroup {
    let context: ServerContext

    /// Lines one call.import may carry (crmctl sends 200).
    static let maxLines = 500

    /// One finished call, from either method.
    struct EndedCall {
        var key: String
        var from: String
        var to: String
        /// The extension on the far side of the PBX, when the numbers do not show it.
        var peer: String?
        var startedAt: Date
        var disposition: CallDisposition
        var duration: Int
        var billsec: Int
        var callerName: String?
    }

    func checkRights(_ actor: Actor) throws {
        guard Access.canReportCalls(actor) else {
            throw DomainError.forbidden(
                "\(actor.role.withArticle) may not report calls; the PBX hook runs as an operator account (docs/protocol.md, call.incoming)."
            )
        }
    }

    func callEnded(_ call: Call) throws {
        let actor = call.actor
        try checkRights(actor)
        let ended = try call.decode { r -> EndedCall? in
            let from = r.string("from")
            let to = r.string("to")
            let started = r.optionalTimestamp("started_at")
            let dispText = r.string("disposition")
            let duration = r.optionalInt("duration") ?? 0
            let billsec = r.optionalInt("billsec") ?? 0
            let uniqueID = r.string("uniqueid")
            let peer = r.optionalString("extension")
            for (field, v) in [("from", from), ("to", to), ("uniqueid", uniqueID), ("extension", peer ?? "")]
            where v.utf8.count > CDRRecord.maxFieldBytes {
                r.problem(field, "must be at most \(CDRRecord.maxFieldBytes) bytes")
            }
            if started == nil { r.problem("started_at", "is required (an RFC 3339 instant)") }
            let disposition = CallDisposition(text: dispText)
            if disposition == nil { r.problem("disposition", "must be answered, no_answer, busy, failed or congestion") }
            if !(0...Int64(CDRRecord.maxSeconds)).contains(duration) {
                r.problem("duration", "must be from 0 to \(CDRRecord.maxSeconds) seconds")
            }
            if !(0...max(0, duration)).contains(billsec) { r.problem("billsec", "must be from 0 to the duration") }
            if uniqueID.isEmpty { r.problem("uniqueid", "is required (the UNIQUEID the PBX gave the call)") }
            guard r.problems.isEmpty, let started, let disposition else { return nil }
            return EndedCall(
                key: uniqueID, from: from, to: to, peer: peer, startedAt: started, disposition: disposition, duration: Int(duration),
                billsec: Int(billsec), callerName: nil)
        }
        guard let ended else { throw DomainError.invalid("params", "are incomplete") }
        write(call) { [self] tx, now in .object(try log(tx, ended, actor: actor, now: now)) }
    }

    func callImport(_ call: Call) throws {
        let actor = call.actor
        try checkRights(actor)
        let zone = rules.thresholds.timeZone
        let lines = try call.decode { r -> [(line: Int64, cells: [String])] in
            guard let items = r.optionalValue("lines")?.arrayValue else {
                r.problem("lines", "is required: the Master.csv lines, each with its line number and cells")
                return []
            }
            if items.count > Self.maxLines {
                r.problem("lines", "must hold at most \(Self.maxLines) lines a call; send the file in batches")
                return []
            }
            var out: [(Int64, [String])] = []
            for (i, item) in items.enumerated() {
                var sub = ParamReader(item)
                let line = sub.int("line")
                let cells = sub.optionalStringArray("cells") ?? []
                if !sub.problems.isEmpty || cells.count > 32 {
                    r.problem("lines[\(i)]", "must be an object with line (a number) and cells (up to 32 strings)")
                    continue
                }
                out.append((line, cells))
            }
            return out
        }
        write(call) { [self] tx, now in
            var counts: [String: Int64] = ["logged": 0, "tasks": 0, "unknown": 0, "duplicates": 0, "skipped": 0]
            var bad: [JSON] = []
            for (line, cells) in lines {
                let record: CDRRecord
                do throws(CDRLineError) {
                    record = try CDRRecord(cells: cells, timeZone: zone)
                } catch {
                    bad.append(["line": .int(line), "field": .string(error.field), "problem": .string(error.problem)])
                    continue
                }
                let o = try log(tx, Self.ended(record), actor: actor, now: now)
                if o["duplicate"] == .bool(true) {
                    counts["duplicates", default: 0] += 1
                } else if o["interaction_id"] != nil, o["interaction_id"] != .null {
                    counts["logged", default: 0] += 1
                } else if o["task_id"] != nil, o["task_id"] != .null {
                    counts["tasks", default: 0] += 1
                } else if o["unknown"] == .bool(true) {
                    counts["unknown", default: 0] += 1
                } else {
                    counts["skipped", default: 0] += 1
                }
            }
            var reply: JSONObject = ["bad": .array(bad)]
            for (k, v) in counts { reply[k] = .int(v) }
            return .object(reply)
        }
    }

    /// A Master.csv record as a finished call; the extension from a SIP/PJSIP channel name.
    static func ended(_ r: CDRRecord) -> EndedCall {
        EndedCall(
            key: r.key, from: r.src, to: r.dst, peer: peer(ofChannel: r.dstChannel) ?? peer(ofChannel: r.channel), startedAt: r.start,
            disposition: r.disposition, duration: r.duration, billsec: r.billsec, callerName: r.callerName)
    }

    /// `PJSIP/200-0000001a` → `200`; a trunk's channel names the trunk, which no user holds.
    static func peer(ofChannel c: String) -> String? {
        guard let slash = c.firstIndex(of: "/") else { return nil }
        let rest = c[c.index(after: slash)...]
        let name = rest.lastIndex(of: "-").map { rest[..<$0] } ?? rest
        return name.isEmpty ? nil : String(name)
    }

    /// Logs one finished call once: the reply it got is kept by its key, and a second report of
    /// it returns that reply with `duplicate: true`.
    func log(_ tx: Tx, _ c: EndedCall, actor: Actor, now: Date) throws -> JSONObject {
        if let stored = try tx.pbxCall(key: c.key), case .object(var o)? = try? JSONParser.parse(stored) {
            o["duplicate"] = .bool(true)
            return o
        }
        var outcome = try match(tx, c, actor: actor, now: now)
        outcome["uniqueid"] = .string(c.key)
        try tx.recordPBXCall(key: c.key, at: now, byLogin: actor.login, outcome: JSONWriter.string(.object(outcome)))
        outcome["duplicate"] = .bool(false)
        return outcome
    }

    /// Direction and people: outbound when the calling number is a user's extension (or their own
    /// phone), else inbound (the user the one whose extension was dialled or rang, else whose own
    /// phone the call was forwarded to). The external number is
    /// matched against clients and contacts as call.incoming matches a caller ID.
    func match(_ tx: Tx, _ c: EndedCall, actor: Actor, now: Date) throws -> JSONObject {
        let domain = settings.domain
        var userID: Int64? = nil
        let direction: String
        let external: String
        // A user's own phone (their mobile) stands for an extension that says nothing: a call made
        // from it through the PBX, or one the PBX forwarded to it.
        func byPhone(_ number: String) throws -> Int64? { try CallHandlers.callerID(number, domain).flatMap(tx.userID(phone:)) }
        if let u = try tx.userID(extension: c.from) ?? byPhone(c.from) {
            (direction, external, userID) = ("out", c.to, u)
        } else {
            direction = "in"
            external = c.from
            userID = try tx.userID(extension: c.to)
            if userID == nil, let peer = c.peer { userID = try tx.userID(extension: peer) }
            if userID == nil { userID = try byPhone(c.to) }
        }
        let number = CallHandlers.callerID(external, domain)
        let answered = c.disposition == .answered
        var outcome: JSONObject = [
            "direction": .string(direction), "number": .string(number), "disposition": .string(c.disposition.wireName),
            "user": wire.login(userID), "client_id": .null, "interaction_id": .null, "task_id": .null, "unknown": .bool(false),
        ]
        var holder: (clientID: Int64, contactID: Int64?)? = nil
        if let number { holder = try tx.callerHolders(number).first }
        guard let holder, let client = try tx.clientHeader(id: holder.clientID) else {
            outcome["unknown"] = .bool(number != nil)
            if direction == "in", !answered, let number {
                // A missed call from a number no client has opens an inbound request (source
                // `call`), routed as a web form's is: someone calls the stranger back.
                let draft = RequestDraft(
                    name: nil, phone: number, email: nil, source: "call", topic: nil,
                    text: stored("Missed call from \(number) (\(c.disposition.wireName))"))
                let q = try RequestHandlers(context: context).open(tx, draft, actor: actor, now: now, unmatched: true)
                outcome["request"] = q["id"] ?? .null
            }
            return outcome
        }
        outcome["client_id"] = .int(client.id)
        if answered {
            let authorID = userID ?? client.ownerID
            let author = try authorID.flatMap { try tx.user(id: $0) }.flatMap { $0.active ? $0 : nil }
            let authorActor = author.map { Actor(user: $0, role: $0.role, login: $0.login, uid: $0.uid ?? 0) } ?? actor
            let talk = "\(c.billsec / 60):\(String(format: "%02d", c.billsec % 60))"
            let draft = InteractionDraft(
                kind: .call, occurredAt: min(c.startedAt, now), contactID: holder.contactID, topic: nil, result: nil,
                note: "PBX: \(talk) talk, \(c.duration) s in all", direction: direction)
            let (saved, _, _) = try storeInteraction(
                tx, client, draft, dealID: nil, actor: authorActor, auditedAs: (actor, "capture"), captured: "pbx", now: now)
            outcome["interaction_id"] = .int(saved.id)
            outcome["author"] = .string(authorActor.login)
        } else if direction == "in", let ownerID = client.ownerID {
            let hours = domain.workingHours
            let due = hours.adding(minutes: domain.callbackWithinMinutes, to: min(c.startedAt, now), holidays: domain.holidays)
            let who = client.name + (number.map { " (\($0))" } ?? "")
            let title = String(stored("Call back \(who)").prefix(200))
            let t = try tx.insertTask(
                TaskItem(
                    id: 0, title: title, note: nil, kind: "call", assigneeID: ownerID, creatorLogin: actor.login, clientID: client.id,
                    dealID: nil, dueAt: due, remindAt: due, doneAt: nil, doneBy: nil, interactionID: nil, createdAt: now, updatedAt: now))
            let json = wire.task(t, now: now)
            try audit(tx, actor, "task", t.id, "create", before: nil, after: json, at: now)
            let tasks = TaskHandlers(context: context)
            try event(tx, "task.created", clientID: client.id, ownerID: ownerID, tasks.taskEvent(t, by: actor), at: now)
            outcome["task_id"] = .int(t.id)
            outcome["due_at"] = wire.time(due)
        }
        return outcome
    }
}
