import CRMCore
import CRMProtocol
import CRMStore
import CRMText
import Foundation

/// The exchange: `client.release`, `client.explain`, `exchange.list`, `exchange.claim`, `exchange.preview`.
struct ExchangeHandlers: HandlerGroup {
    let context: ServerContext

    func clientRelease(_ call: Call) throws {
        let actor = call.actor
        let (id, reason) = try call.decode { r in (r.int("id"), r.string("reason")) }
        write(call) { [self] tx, now in
            var c = try loadClient(tx, id)
            guard c.status == .assigned else {
                throw DomainError(
                    .conflict, "Client \(c.id) '\(c.name)' is not assigned (it is \(c.status.rawValue)); nothing to release.",
                    details: [("client_id", .int(c.id)), ("status", .string(c.status.rawValue))])
            }
            let mayRelease = Access.canRelease(actor, ownerID: c.ownerID)
            guard mayRelease else { throw forbiddenOnClient(c, actor, "release") }
            let before = wire.client(c, now: now, full: true)
            _ = try engine.release(tx, &c, at: now, by: actor, reason: reason, now: now)
            let after = wire.client(c, now: now, full: true)
            try audit(tx, actor, "client", c.id, "release", before: before, after: after, at: now)
            return after
        }
    }

    /// The exchange view of a client: enough to decide whether to claim it, no contact data.
    func exchangeItem(_ c: Client, now: Date) -> JSON {
        [
            "id": .int(c.id), "name": .string(c.name), "kind": .string(c.kind.rawValue), "status": .string(c.status.rawValue),
            "segment": .string(c.segment), "source": .string(c.source), "abc": .string(c.abc),
            "released_at": wire.time(c.releasedAt), "released_from": .int(c.releasedFrom),
            "released_from_login": wire.login(c.releasedFrom),
            "release_reason": .string(c.releaseReason), "created_at": wire.time(c.createdAt),
        ]
    }

    func exchangeList(_ call: Call) throws {
        let (limit, cursor, includeUnassigned) = try call.decode { r in
            (r.limit(), r.idCursor(), r.optionalBool("include_unassigned") ?? true)
        }
        let actor = call.actor
        try read(call) { tx, now in
            var filter = ClientFilter(status: includeUnassigned ? nil : .exchange, now: now, afterID: cursor, limit: limit)
            filter.claimable = includeUnassigned
            // Whether the caller may claim each one now, and when a cooldown ends (their bans are few).
            let me = Access.canClaim(actor) ? actor.user : nil
            var bans: [Int64: Date] = [:]
            if let me { for b in try tx.bans(userID: me.id, now: now) { bans[b.clientID] = b.until } }
            let page = try tx.listClients(filter)
            // The fair claim window of each client in one, if it has one open (issue 21).
            let windows = try tx.windowEnds(clientIDs: page.items.map(\.id))
            return wire.page(page) { c in
                guard case .object(var o) = exchangeItem(c, now: now) else { return exchangeItem(c, now: now) }
                let until = bans[c.id]
                o["claimable"] = .bool(me != nil && until == nil)
                o["claimable_from"] = wire.time(until)
                o["window_ends_at"] = wire.time(windows[c.id])
                return .object(o)
            }
        }
    }

    func exchangeClaim(_ call: Call) throws {
        let actor = call.actor
        let id = try call.decode { r in r.int("id") }
        guard Access.canClaim(actor), let me = actor.user else {
            throw DomainError.forbidden(
                "Only managers and heads claim clients from the exchange (you are \(actor.login), \(actor.role.rawValue)).")
        }
        let exchange = ExchangeRules(settings.domain, zones: rules)
        write(call) { [self] tx, now in
            var c = try loadClient(tx, id)
            try ensureOnExchange(c)
            // Inside its fair claim window a released client is requested, not claimed.
            if let end = try tx.windowEnd(clientID: c.id) { throw windowOpenError(c, endsAt: end, now: now) }
            let cooldownUntil = try tx.banUntil(clientID: c.id, userID: me.id, now: now)
            let refusal = try exchange.claimRefusal(
                now: now, cooldownUntil: cooldownUntil, claimsToday: tx.claimCount(userID: me.id, since: exchange.dayStart(of: now)),
                owned: tx.ownedCount(userID: me.id))
            if let refusal { throw refusalError(refusal, c) }
            let before = wire.client(c, now: now, full: true)
            let from = c.releasedFrom
            let reason = c.releaseReason
            try takeOver(tx, &c, to: me, now: now)
            try tx.recordClaim(clientID: c.id, userID: me.id, at: now)
            try planFactsMoved(tx, userID: me.id, metrics: [.claims], at: now)
            let after = wire.client(c, now: now, full: true)
            try audit(tx, actor, "client", c.id, "claim", before: before, after: after, at: now)
            try event(
                tx, "client.claimed", clientID: c.id, ownerID: me.id,
                [
                    "client_id": .int(c.id), "name": .string(c.name), "by": .string(me.login), "owner": .int(me.id),
                    "owner_login": .string(me.login), "released_from": .int(from), "released_from_login": wire.login(from),
                ],
                at: now)
            // A handover summary, so the new manager starts informed.
            let recent = try readable(tx, try tx.interactions(clientID: c.id, cursor: nil, limit: 5).items, by: actor)
            let contacts = try tx.contacts(clientID: c.id, limit: 50).items
            guard case .object(var o) = after else { return after }
            o["handover"] = [
                "released_from_login": wire.login(from), "release_reason": .string(reason),
                "last_interactions": .array(recent.map(wire.interaction)), "contacts": .array(contacts.map(wire.contact)),
                "open_deals": .array(try tx.openDeals(clientID: c.id).map { wire.deal($0, now: now) }),
            ]
            return .object(o)
        }
    }

    func clientExplain(_ call: Call) throws {
        let id = try call.decode { r in r.int("id") }
        let actor = call.actor
        // The texts in the reader's language, instants in the department's time zone.
        let reader = lang(call)
        try read(call) { tx, now in
            guard let c = try tx.client(id: id) else { throw DomainError.notFound("client", id) }
            guard c.status != .assigned || Access.canSeeFullCard(actor, ownerID: c.ownerID) else {
                throw forbiddenOnClient(c, actor, "explain")
            }
            var o: JSONObject = ["client_id": .int(c.id), "name": .string(c.name), "status": .string(c.status.rawValue)]
            let resetting = settings.domain.resettingKinds.map(\.rawValue).sorted()
            switch c.status {
            case .exchange:
                let since = local(c.releasedAt ?? now)
                let text =
                    if let reason = c.releaseReason {
                        Phrase("On the exchange since \(since) (\(reason)); any manager but the one it left may claim it.")
                    } else {
                        Phrase("On the exchange since \(since); any manager but the one it left may claim it.")
                    }
                o["explanation"] = .string(text.rendered(reader))
                o["released_from_login"] = wire.login(c.releasedFrom)
                return .object(o)
            case .unassigned:
                let text = Phrase("No owner yet: a head may assign it, or any manager may claim it (no cooldown applies).")
                o["explanation"] = .string(text.rendered(reader))
                return .object(o)
            case .assigned: break
            }
            guard let schedule = wire.schedule(c) else { return .object(o) }
            let zone = schedule.zone(at: now) ?? .red
            let last = try tx.lastResettingInteraction(clientID: c.id)
            var setBy: JSON
            if let last, let a = c.assignedAt, last.occurredAt >= a {
                setBy = [
                    "kind": "interaction", "interaction_id": .int(last.id), "interaction_kind": .string(last.kind.rawValue),
                    "at": wire.time(last.occurredAt), "by": .string(last.authorLogin),
                ]
            } else {
                setBy = ["kind": "assignment", "at": wire.time(c.assignedAt), "to": wire.login(c.ownerID)]
            }
            let nextName: String
            let nextAt: Date
            switch zone {
            case .green: (nextName, nextAt) = ("yellow", schedule.yellowAt)
            case .yellow: (nextName, nextAt) = ("red", schedule.redAt)
            case .red: (nextName, nextAt) = ("released to the exchange", schedule.releaseAt)
            }
            let marks = settings.domain.reminders.marks.map { ($0, rules.markInstant(schedule, daysBefore: $0)) }.filter { $0.1 > now }
            // The thresholds of its segment or ABC class, else the default (docs/rules.md).
            let classRules = context.live.current.classRules
            let own = classRules.rules(segment: c.segment, abc: c.abc)
            let source: JSON =
                switch classRules.thresholds.thresholds(segment: c.segment, abc: c.abc).source {
                case .segment(let s): ["rule": "segment", "segment": .string(s)]
                case .abcClass(let a): ["rule": "abc_class", "abc": .string(a)]
                case .default: ["rule": "default"]
                }
            o["thresholds"] = [
                "yellow_after": .string(own.thresholds.yellowAfter.description), "red_after": .string(own.thresholds.redAfter.description),
                "release_after": .string(own.thresholds.releaseAfter.description), "from": source,
            ]
            o["zone"] = .string(zone.rawValue)
            o["clock_started_at"] = wire.time(schedule.start)
            o["clock_set_by"] = setBy
            o["next_change"] = ["becomes": .string(nextName), "at": wire.time(nextAt)]
            o["release_at"] = wire.time(schedule.releaseAt)
            o["days_to_release"] = .int(Int64(rules.daysToRelease(now: now, releaseAt: schedule.releaseAt)))
            o["upcoming_reminders"] = .array(marks.map { ["days_before": .int(Int64($0.0)), "at": wire.time($0.1)] })
            let owner = wire.login(c.ownerID).stringValue ?? "?"
            let resets =
                Phrase(
                    "An interaction of kind \(resetting.joined(separator: ", ")) logged by \(owner) (or a head or admin for them) turns it green again, with the release moved to \(own.thresholds.releaseAfter.description) after that contact."
                )
            o["what_resets"] = .string(resets.rendered(reader))
            (o["freeze"], o["locked"]) = try engine.holdFields(tx, clientID: c.id, now: now)
            if let held = try holdExplanation(tx, c, schedule, actor: actor, now: now) {
                o["held_by"] = held.heldBy
                o["explanation"] = .string(held.text.rendered(reader))
                return .object(o)
            }
            if schedule.releaseAt <= now, let d = try engine.holdingDeal(tx, clientID: c.id) {
                let title: JSON = Access.canSeeDeal(actor, ownerID: d.ownerID) ? .string(d.title) : .null
                o["held_by_deal"] = ["deal_id": .int(d.id), "stage": .string(d.stage), "title": title]
                o["held_by"] = ["rule": "open_deal", "deal_id": .int(d.id), "stage": .string(d.stage)]
                let text =
                    Phrase(
                        "Red and past its release (\(local(schedule.releaseAt))), but held back from the exchange by open deal \(d.id) at «\(d.stage)» (deals.exempt_from_stage: \(dealRules.settings.exemptFromStage ?? "")). It goes to the exchange when no such deal is open, unless a contact resets the clock first."
                    )
                o["explanation"] = .string(text.rendered(reader))
                return .object(o)
            }
            let started = local(schedule.start)
            let how = setBy["kind"] == "interaction" ? Phrase("with a contact") : Phrase("with the assignment")
            let text =
                switch zone {
                case .green: Phrase("Green: the clock started \(started) \(how); it turns yellow at \(local(nextAt)).")
                case .yellow: Phrase("Yellow: the clock started \(started) \(how); it turns red at \(local(nextAt)).")
                case .red: Phrase("Red: the clock started \(started) \(how); it goes to the exchange at \(local(nextAt)).")
                }
            o["explanation"] = .string(text.rendered(reader))
            return .object(o)
        }
    }

    /// The `thresholds` param: the current thresholds with those given replaced, checked; `nil`
    /// when it is not given.
    func proposedThresholds(_ r: inout ParamReader) -> ZoneThresholds? {
        guard let t = r.optionalObject("thresholds") else { return nil }
        let z = thresholdOverride(&r, "thresholds", t).applied(to: settings.domain.zones)
        if let problem = ZoneRules(z).validate() { r.problem("thresholds", .verbatim(problem)) }
        return z
    }

    func exchangePreview(_ call: Call) throws {
        let actor = call.actor
        guard Access.canSeeZoneReports(actor) else {
            throw DomainError.forbidden("Only managers, heads, directors and admins see the release preview.")
        }
        let (days, proposed, byClass) = try call.decode { r -> (Int, ZoneThresholds?, ClassZoneRules?) in
            let days = Int(r.optionalInt("days") ?? 7)
            if days < 1 || days > 366 { r.problem("days", "must be from 1 to 366") }
            let proposed = proposedThresholds(&r)
            // Proposed rules by segment and ABC class (replacing the settings' ones), over the
            // proposed or current default.
            let classes = proposedClassRules(&r)
            guard proposed != nil || classes != nil else { return (days, nil, nil) }
            var rules = classes ?? settings.domain.classThresholds
            rules.base = proposed ?? settings.domain.zones
            if let problem = rules.problem() { r.problem(problem.key, .verbatim(problem.problem)) }
            return (days, proposed ?? settings.domain.zones, ClassZoneRules(rules, base: ZoneRules(rules.base)))
        }
        try read(call) { tx, now in
            let end = rules.add(ISODuration(days: days), to: now)
            var byOwner: [Int64: [JSON]] = [:]
            var counts: [Int64: Int] = [:]
            var total = 0
            var held = 0
            /// Whether a rule (a lock, a freeze, a won or open deal) keeps the client from the
            /// exchange at its release instant, as the release step would judge it.
            func isHeld(_ clientID: Int64, at release: Date) throws -> Bool {
                guard try engine.holdingRule(tx, clientID: clientID, at: max(release, now)) != nil else { return false }
                held += 1
                return true
            }
            if proposed != nil, let byClass {
                var after: Int64 = 0
                while true {
                    let page = try tx.assignedClocksWithClass(afterID: after, limit: 5_000)
                    for row in page {
                        guard let owner = row.ownerID, !Access.seesOnlyOwnClients(actor) || owner == actor.userID else { continue }
                        let rules = byClass.rules(segment: row.segment, abc: row.abc)
                        // Frozen time and the calendar only move a release later: the plain
                        // schedule sorts out most clients without a read.
                        guard rules.schedule(from: row.start).releaseAt < end else { continue }
                        let release = try previewRelease(tx, clientID: row.id, start: row.start, rules: rules)
                        if release < end, try !isHeld(row.id, at: release) {
                            total += 1
                            counts[owner, default: 0] += 1
                            if byOwner[owner, default: []].count < 100 {
                                byOwner[owner, default: []].append(["client_id": .int(row.id), "release_at": wire.time(max(release, now))])
                            }
                        }
                    }
                    guard let last = page.last else { break }
                    after = last.id
                }
            } else {
                for c in try tx.releasesDue(from: .distantPast, to: end, limit: 100_000) {
                    guard let owner = c.ownerID, !Access.seesOnlyOwnClients(actor) || owner == actor.userID else { continue }
                    if let release = c.schedule?.releaseAt, try isHeld(c.id, at: release) { continue }
                    total += 1
                    counts[owner, default: 0] += 1
                    if byOwner[owner, default: []].count < 100 {
                        byOwner[owner, default: []].append([
                            "client_id": .int(c.id), "name": .string(c.name), "release_at": wire.time(c.schedule?.releaseAt),
                        ])
                    }
                }
            }
            let managers = byOwner.keys.sorted().map { owner -> JSON in
                [
                    "owner": .int(owner), "owner_login": wire.login(owner), "count": .int(counts[owner] ?? 0),
                    "clients": .array(byOwner[owner] ?? []),
                ]
            }
            return [
                "from": wire.time(now), "to": wire.time(end), "thresholds": proposed == nil ? "current" : "proposed",
                "total": .int(total), "held": .int(held), "managers": .array(managers),
            ]
        }
    }

    /// The release instant of a clock started at `start` under proposed `rules`, as the zone
    /// engine would set it: working-day thresholds, the client's approved freezes (frozen time does
    /// not count) and releases moved off days off.
    func previewRelease(_ tx: Tx, clientID: Int64, start: Date, rules: ZoneRules) throws -> Date {
        let spans = try tx.frozenSpans(clientID: clientID).sorted { $0.from < $1.from }
        let schedule = spans.reduce(engine.cycleSchedule(from: start, rules: rules)) { HoldRules.frozen($0, over: $1) }
        return engine.calendarMoved(schedule).releaseAt
    }
}

extension ExchangeHandlers {
    /// `exchange.preview`'s `by_segment` and `by_class`: `{NAME: {"yellow_after"?, "red_after"?,
    /// "release_after"?}}` each, at most 1,000 names; nil when neither is given.
    func proposedClassRules(_ r: inout ParamReader) -> ThresholdRules? {
        let segments = r.optionalObject("by_segment")
        let classes = r.optionalObject("by_class")
        guard segments != nil || classes != nil else { return nil }
        var rules = ThresholdRules(base: settings.domain.zones)
        for (field, object) in [("by_segment", segments), ("by_class", classes)] {
            guard let object else { continue }
            if object.members.count > 1_000 { r.problem(field, "must hold at most 1000 rules") }
            for m in object.members.prefix(1_000) {
                let key = "\(field).\(m.key)"
                if field == "by_class", !["A", "B", "C"].contains(m.key.uppercased()) {
                    r.problem(key, "is not an ABC class (A, B or C)")
                    continue
                }
                guard let fields = m.value.objectValue, !m.key.isEmpty, m.key.utf8.count <= 200 else {
                    r.problem(key, "must be an object of yellow_after, red_after, release_after (a name of 1-200 bytes)")
                    continue
                }
                let rule = thresholdOverride(&r, key, fields)
                if field == "by_segment" { rules.set(segment: m.key, rule) } else { rules.set(abcClass: m.key, rule) }
            }
        }
        return rules
    }

    /// The thresholds an object of `yellow_after`, `red_after`, `release_after` proposes, each
    /// bad member a problem named `key.member`.
    func thresholdOverride(_ r: inout ParamReader, _ key: String, _ fields: JSONObject) -> ThresholdOverride {
        var rule = ThresholdOverride()
        for f in fields.members {
            guard let d = f.value.stringValue.flatMap(ISODuration.init) else {
                r.problem("\(key).\(f.key)", "must be an ISO 8601 duration like P6M")
                continue
            }
            switch f.key {
            case "yellow_after": rule.yellowAfter = d
            case "red_after": rule.redAfter = d
            case "release_after": rule.releaseAfter = d
            default: r.problem("\(key).\(f.key)", "is not a threshold (yellow_after, red_after, release_after)")
            }
        }
        return rule
    }
}
