import CRMCore
import CRMProtocol
import CRMStore
import Foundation

/// `call.incoming` and `report.channels`: call tracking and what each channel brings
/// (docs/rules.md, "Channels and call tracking").
struct CallHandlers: HandlerGroup {
    let context: ServerContext

    /// Caller IDs a PBX sends for a withheld number.
    static let withheld: Set<String> = ["", "anonymous", "unknown", "private", "restricted", "unavailable", "withheld"]

    /// A caller ID as a PBX sends it, normalized as phones are; nil for a withheld or unreadable
    /// one (the call still counts). call.ended and call.import match numbers the same way.
    static func callerID(_ raw: String, _ domain: DomainSettings) -> String? {
        let trimmed = raw.trimmingCharacters(in: .whitespaces)
        if withheld.contains(trimmed.lowercased()) { return nil }
        return Phone.normalize(trimmed, defaultCountryCode: domain.defaultCountryCode, nationalLength: domain.nationalNumberLength)
    }

    func callIncoming(_ call: Call) throws {
        let actor = call.actor
        guard Access.canReportCalls(actor) else {
            throw DomainError.forbidden(
                "\(actor.role.withArticle) may not report calls; the PBX hook runs as an operator account (docs/protocol.md, call.incoming)."
            )
        }
        let domain = settings.domain
        let (from, to) = try call.decode { r -> (String?, String?) in
            let rawTo = r.string("to")
            let rawFrom = r.optionalString("from") ?? ""
            var to: String? = nil
            if rawTo.utf8.count > Channel.Limits.callerIDBytes {
                r.problem("to", "must be at most \(Channel.Limits.callerIDBytes) bytes")
            } else if r.problems.isEmpty {
                to = Phone.normalize(rawTo, defaultCountryCode: domain.defaultCountryCode, nationalLength: domain.nationalNumberLength)
                if to == nil { r.problem("to", "'\(rawTo.prefix(40))' is not a phone number (the number dialled)") }
            }
            guard rawFrom.utf8.count <= Channel.Limits.callerIDBytes else {
                r.problem("from", "must be at most \(Channel.Limits.callerIDBytes) bytes")
                return (nil, to)
            }
            return (Self.callerID(rawFrom, domain), to)
        }
        guard let to else { throw DomainError.invalid("to", "is required") }
        let rules = self.rules
        let clients = ClientHandlers(context: context)
        write(call) { [self] tx, now in
            let channel = try tx.channelID(ofPhone: to).flatMap { try tx.channel(id: $0) }
            var client: Client? = nil
            var contact: Contact? = nil
            if let from, let holder = try tx.callerHolders(from).first {
                client = try tx.client(id: holder.clientID)
                if let cid = holder.contactID { contact = try tx.contact(id: cid) }
            }
            var leadCreated = false
            // A flood of new numbers from one account is recorded but opens no more leads.
            var capped = false
            if client == nil, from != nil, domain.maxLeadsPerMinute > 0 {
                capped = try tx.leadsOpened(by: actor.login, since: now.addingTimeInterval(-60)) >= domain.maxLeadsPerMinute
            }
            if client == nil, let from, !capped {
                var input = ClientFieldsInput()
                input.name = .set("Звонок \(from)")
                input.kind = .person
                input.phones = .set([from])
                if let channel { input.source = .set(channel.name) }
                let json = try clients.createClient(
                    tx, actor: actor, input: input, ownerRef: .some(nil), rules: rules, now: now, action: "call")
                client = try json["id"]?.intValue.flatMap { try tx.client(id: $0) }
                leadCreated = true
            }
            if let client, let channel { try tx.attributeClient(client.id, toChannel: channel.id) }
            let record = CallRecord(
                at: now, channelID: channel?.id, from: from, to: to, clientID: client?.id, contactID: contact?.id, ownerID: client?.ownerID,
                leadCreated: leadCreated, byLogin: actor.login)
            let callID = try tx.insertCall(record)
            var pop: JSONObject = [
                "call_id": .int(callID), "from": .string(from), "to": .string(to), "channel": .int(channel?.id),
                "channel_name": .string(channel?.name), "client_id": .int(client?.id), "name": .string(client?.name),
                "owner": .int(client?.ownerID), "owner_login": wire.login(client?.ownerID), "contact_id": .int(contact?.id),
                "contact_name": .string(contact?.name), "lead_created": .bool(leadCreated),
            ]
            if let client { pop["zone"] = .string(wire.zone(client, now: now)?.rawValue) }
            try event(tx, "call.incoming", clientID: client?.id, ownerID: client?.ownerID, .object(pop), at: now)
            return [
                "call_id": .int(callID), "from": .string(from), "to": .string(to),
                "client": client.map { wire.client($0, now: now, full: Access.canSeeFullCard(actor, ownerID: $0.ownerID)) } ?? .null,
                "contact": contact.map(wire.contact) ?? .null,
                "channel": channel.map { ["id": .int($0.id), "name": .string($0.name)] } ?? .null, "lead_created": .bool(leadCreated),
                "lead_refused": capped ? "leads_per_minute" : .null,
            ]
        }
    }

    func reportChannels(_ call: Call) throws {
        let actor = call.actor
        guard Access.canSeeChannelReport(actor) else {
            throw DomainError.forbidden("\(actor.role.withArticle) may not see the channel report; it is for managers, heads and finance.")
        }
        let zone = rules.thresholds.timeZone
        let span = try call.decode { r in ReportSpan.decode(&r, timeZone: zone) }
        guard let span else { throw DomainError.invalid("period", "is required") }
        let currency = settings.domain.deals.currency
        let defaultMargin = settings.domain.channelMarginBP
        // A manager's figures count their own clients and deals only.
        let own = Access.seesOnlyOwnClients(actor)
        try read(call) { [self] tx, now in
            let ownerID = own ? (actor.userID ?? -1) : nil
            let calls = try tx.callFigures(from: span.from, to: span.to, ownerID: ownerID)
            let sales = try tx.saleFigures(from: span.from, to: span.to, currency: currency, ownerID: ownerID)
            var spend: [Int64: Int64] = [:]
            for s in try tx.spends(overlapping: span.from, span.to) {
                spend[s.channelID, default: 0] += s.share(from: span.from, to: span.to)
            }
            var items: [JSON] = []
            var total = ChannelFigures()
            var totalGross: Int64 = 0
            for c in try tx.channels() {
                var f = ChannelFigures()
                f.spend = spend[c.id] ?? 0
                if let k = calls[c.id] { (f.calls, f.leads, f.newLeads) = k }
                if let s = sales.byChannel[c.id] { (f.buyers, f.deals, f.revenue) = s }
                if c.archived, f == ChannelFigures() { continue }
                let margin = c.marginBP ?? defaultMargin
                items.append(wire.channelFigures(f, marginBP: margin, own: own, head: ["channel": .int(c.id), "name": .string(c.name)]))
                total.spend += f.spend
                total.calls += f.calls
                total.leads += f.leads
                total.newLeads += f.newLeads
                total.buyers += f.buyers
                total.deals += f.deals
                total.revenue += f.revenue
                totalGross += f.grossProfit(marginBP: margin)
            }
            var totals = wire.channelFigures(total, marginBP: nil, own: own, head: [:])
            if case .object(var o) = totals {
                o["gross_profit"] = .int(totalGross)
                if !own {
                    o["profit"] = .int(totalGross - total.spend)
                    o["roi_bp"] = .int(
                        total.spend > 0 ? Int64((Double(totalGross - total.spend) * 10_000 / Double(total.spend)).rounded()) : nil)
                }
                totals = .object(o)
            }
            let untracked = calls[nil]
            return [
                "from": wire.time(span.from), "to": wire.time(span.to), "period": .string(span.period?.description), "now": wire.time(now),
                "currency": .string(currency), "margin_bp": .int(Int64(defaultMargin)), "scope": .string(own ? "own" : "all"),
                "items": .array(items), "total": totals,
                "untracked": [
                    "calls": .int(untracked?.calls ?? 0), "leads": .int(untracked?.leads ?? 0), "new_leads": .int(untracked?.newLeads ?? 0),
                ],
                "other_currency_deals": .int(sales.otherCurrency),
            ]
        }
    }
}

extension Wire {
    /// One row of report.channels. A manager's row (`own`) leaves out what the whole channel's
    /// spend would make meaningless against their own sales: profit, ROI and costs per lead/buyer.
    func channelFigures(_ f: ChannelFigures, marginBP: Int?, own: Bool, head: JSONObject) -> JSON {
        var o = head
        o["spend"] = .int(f.spend)
        o["calls"] = .int(f.calls)
        o["leads"] = .int(f.leads)
        o["new_leads"] = .int(f.newLeads)
        o["buyers"] = .int(f.buyers)
        o["deals"] = .int(f.deals)
        o["revenue"] = .int(f.revenue)
        o["average_deal"] = .int(f.averageDeal)
        o["margin_bp"] = .int(marginBP.map { Int64($0) })
        o["gross_profit"] = .int(marginBP.map { f.grossProfit(marginBP: $0) })
        let hide = own
        o["profit"] = .int(hide ? nil : marginBP.map { f.profit(marginBP: $0) })
        o["roi_bp"] = .int(hide ? nil : marginBP.flatMap { f.roiBP(marginBP: $0) })
        o["cost_per_lead"] = .int(hide ? nil : f.costPerLead)
        o["cost_per_buyer"] = .int(hide ? nil : f.costPerBuyer)
        return .object(o)
    }
}
