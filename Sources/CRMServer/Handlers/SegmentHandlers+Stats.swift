import CRMCore
import CRMProtocol
import CRMStore
import Foundation

/// `segment.stats` (clients, share by zone, average deal and duration, win rate, revenue for a
/// span) and `segment.mailing` (a page of a mailing list, audited).
extension SegmentHandlers {
    /// The span of `segment.stats`: `from` + `to` or `period` as in the reports, else the 365
    /// days up to now.
    func statsSpan(_ r: inout ParamReader, now: Date) -> (from: Date, to: Date) {
        guard r.has("from") || r.has("to") || r.has("period") else { return (now.addingTimeInterval(-365 * 86_400), now) }
        guard let s = ReportSpan.decode(&r, timeZone: rules.thresholds.timeZone) else { return (now, now) }
        return (s.from, s.to)
    }

    func segmentStats(_ call: Call) throws {
        let actor = call.actor
        guard SegmentAccess.canSee(actor) else { throw DomainError.forbidden("Segments are for managers, heads, directors and admins.") }
        let now = clock.now()
        let (ref, span) = try call.decode { r in (segmentRef(&r), statsSpan(&r, now: now)) }
        guard let ref else { throw DomainError.invalid("id", "is required (a segment id), or give its name") }
        let currency = settings.domain.deals.currency
        try read(call) { [self] tx, now in
            let s = try load(tx, ref, actor)
            let scope = try scope(s, actor, now: now)
            let own = Access.seesOnlyOwnClients(actor) ? (actor.userID ?? -1) : nil
            let (counts, deals) = try tx.segmentFigures(scope, now: now, from: span.from, to: span.to, dealOwnerID: own)
            return statsJSON(s, counts: counts, deals: deals, currency: currency, span: span)
        }
    }

    /// Figures of one currency's won deals.
    struct WonFigures {
        var won = 0
        var amount: Int64 = 0
        var durationMS: Int64 = 0

        var average: Int64? { won == 0 ? nil : amount / Int64(won) }
        var days: JSON { won == 0 ? .null : .double(((Double(durationMS) / Double(won) / 86_400_000) * 10).rounded() / 10) }
    }

    func statsJSON(
        _ s: Segment, counts: ZoneCounts, deals: [SegmentDealTally], currency: String, span: (from: Date, to: Date)
    ) -> JSON {
        var won: [String: WonFigures] = [:]
        var lost = 0
        for d in deals {
            guard d.status == "won" else {
                lost += d.count
                continue
            }
            won[d.currency, default: WonFigures()].won += d.count
            won[d.currency, default: WonFigures()].amount &+= d.amount
            won[d.currency, default: WonFigures()].durationMS &+= max(0, d.durationMS)
        }
        let wonCount = won.values.reduce(0) { $0 + $1.won }
        let main = won[currency] ?? WonFigures()
        func percent(_ n: Int, of total: Int) -> JSON { total == 0 ? .null : .double((Double(n) * 1000 / Double(total)).rounded() / 10) }
        var zones = JSONObject()
        for (name, n) in [
            ("green", counts.green), ("yellow", counts.yellow), ("red", counts.red), ("exchange", counts.exchange),
            ("unassigned", counts.unassigned),
        ] {
            zones[name] = ["clients": .int(Int64(n)), "percent": percent(n, of: counts.total)]
        }
        return [
            "segment": ["id": .int(s.id), "name": .string(s.name), "kind": .string(s.kind.rawValue)],
            "from": wire.time(span.from), "to": wire.time(span.to), "currency": .string(currency),
            "clients": .int(Int64(counts.total)), "zones": .object(zones),
            "won": .int(Int64(wonCount)), "lost": .int(Int64(lost)),
            "avg_deal_amount": .int(main.average), "avg_deal_amount_text": wire.amountText(main.average), "avg_deal_days": main.days,
            "win_rate": percent(wonCount, of: wonCount + lost), "revenue": .int(main.amount), "revenue_text": wire.amountText(main.amount),
            "other_currencies": .array(
                won.keys.filter { $0 != currency }.sorted().map { c in
                    let f = won[c] ?? WonFigures()
                    return [
                        "currency": .string(c), "won": .int(Int64(f.won)), "revenue": .int(f.amount), "avg_deal_amount": .int(f.average),
                        "avg_deal_days": f.days,
                    ]
                }),
        ]
    }

    func segmentMailing(_ call: Call) throws {
        let actor = call.actor
        let (ref, channel, limit, cursor) = try call.decode { r -> (SegmentRef?, MailingChannel, Int, String?) in
            let ref = segmentRef(&r)
            let channel = MailingChannel(rawValue: r.enumValue("channel", MailingChannel.allCases.map(\.rawValue))) ?? .sms
            var limit = 1_000
            if let l = r.optionalInt("limit") {
                if (1...Int64(SegmentLimits.mailingPage)).contains(l) {
                    limit = Int(l)
                } else {
                    r.problem("limit", "must be between 1 and \(SegmentLimits.mailingPage)")
                }
            }
            let cursor = r.optionalString("cursor")
            if let cursor, cursor.isEmpty || cursor.utf8.count > 400 {
                r.problem("cursor", "is not a cursor crmd gave out; pass next_cursor from the previous page unchanged")
            }
            return (ref, channel, limit, cursor)
        }
        guard let ref else { throw DomainError.invalid("id", "is required (a segment id), or give its name") }
        // Written, not read: the export and its audit entry are one transaction, so no list
        // leaves crmd unrecorded.
        write(call) { [self] tx, now in
            let s = try load(tx, ref, actor)
            guard SegmentAccess.canExportMailing(actor, ownerID: s.ownerID) else {
                throw DomainError.forbidden("Mailing lists are exported by heads, admins and managers (of their own clients).")
            }
            let page = try tx.mailingList(try scope(s, actor, now: now), channel: channel, after: cursor, limit: limit)
            try audit(
                tx, actor, "segment", s.id, "mailing", before: nil,
                after: [
                    "segment": .string(s.name), "channel": .string(channel.rawValue), "count": .int(Int64(page.items.count)),
                    "cursor": .string(cursor), "own_clients_only": .bool(Access.seesOnlyOwnClients(actor)),
                ], at: now)
            return [
                "segment": ["id": .int(s.id), "name": .string(s.name)], "channel": .string(channel.rawValue),
                "count": .int(Int64(page.items.count)), "items": .array(page.items.map(JSON.string)),
                "next_cursor": .string(page.nextCursor),
            ]
        }
    }
}
