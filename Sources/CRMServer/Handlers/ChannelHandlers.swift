import CRMCore
import CRMProtocol
import CRMStore
import Foundation

/// Which channel a request names: its id or its name.
enum ChannelRef: Sendable {
    case id(Int64)
    case name(String)
}

/// `channel.*`: marketing channels, their tracking numbers and their spend per period
/// (docs/rules.md, "Channels and call tracking").
struct ChannelHandlers: HandlerGroup {
    let context: ServerContext

    func checkManage(_ actor: Actor) throws {
        guard Access.canManageChannels(actor) else {
            throw DomainError.forbidden("Only a head of sales or an admin manages channels and their spend; ask your head.")
        }
    }

    /// Reads a channel's name: trimmed, 1 to ``Channel/Limits/nameLength`` characters.
    func channelName(_ r: inout ParamReader, required: Bool) -> String? {
        guard let raw = required ? r.string("name") : r.optionalString("name") else { return nil }
        let name = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !name.isEmpty, name.count <= Channel.Limits.nameLength, !name.contains(where: \.isNewline) else {
            r.problem("name", "must be 1 to \(Channel.Limits.nameLength) characters on one line")
            return nil
        }
        return name
    }

    /// Reads a list of tracking numbers under `key`, normalized as client phones are.
    func trackingPhones(_ r: inout ParamReader, _ key: String) -> [String]? {
        guard let list = r.optionalStringArray(key) else { return nil }
        guard list.count <= Channel.Limits.phonesPerChannel else {
            r.problem(key, "may hold at most \(Channel.Limits.phonesPerChannel) numbers")
            return nil
        }
        return phones(&r, key, list)
    }

    func marginBP(_ r: inout ParamReader) -> Int?? {
        guard r.has("margin_bp") else { return nil }
        if r.optionalValue("margin_bp")?.isNull == true { return .some(nil) }
        guard let v = r.optionalInt("margin_bp") else { return nil }
        guard (0...10_000).contains(v) else {
            r.problem("margin_bp", "must be 0 to 10000 basis points (10000 = the whole revenue is gross profit)")
            return nil
        }
        return .some(Int(v))
    }

    /// Reads `channel`: an id or a name.
    func channelRef(_ r: inout ParamReader) -> ChannelRef? {
        switch r.optionalValue("channel") {
        case .int(let i)?: return .id(i)
        case .string(let s)? where !s.isEmpty && s.count <= Channel.Limits.nameLength: return .name(s)
        case nil: r.problem("channel", "is required: a channel id or name")
        default: r.problem("channel", "must be a channel id or name")
        }
        return nil
    }

    func loadChannel(_ tx: Tx, _ ref: ChannelRef) throws -> Channel {
        switch ref {
        case .id(let id):
            guard let c = try tx.channel(id: id) else { throw DomainError.notFound("channel", id) }
            return c
        case .name(let n):
            guard let c = try tx.channel(named: n) else {
                throw DomainError(.notFound, "No channel is named '\(n.prefix(100))'; channel.list shows them.")
            }
            return c
        }
    }

    /// Refuses numbers that already belong to another channel, naming it.
    func ensureFree(_ tx: Tx, _ phones: [String], for channelID: Int64) throws {
        for p in phones {
            guard let other = try tx.channelID(ofPhone: p), other != channelID else { continue }
            let name = try tx.channel(id: other)?.name ?? "#\(other)"
            throw DomainError(
                .conflict, "The number \(p) already tracks channel '\(name)' (id \(other)); remove it there first.",
                fields: [("phones", "\(p) is taken")], details: [("value", .string(p)), ("channel_id", .int(other))])
        }
    }

    func ensureNameFree(_ tx: Tx, _ name: String, for channelID: Int64) throws {
        if let other = try tx.channel(named: name), other.id != channelID {
            throw DomainError(.conflict, "A channel is already named '\(other.name)' (id \(other.id)).", fields: [("name", "is taken")])
        }
    }

    func channelCreate(_ call: Call) throws {
        let actor = call.actor
        try checkManage(actor)
        let (name, phones, margin) = try call.decode { r in
            (channelName(&r, required: true), trackingPhones(&r, "phones") ?? [], marginBP(&r))
        }
        guard let name else { throw DomainError.invalid("name", "is required") }
        write(call) { [self] tx, now in
            guard try tx.channelCount() < Channel.Limits.channels else {
                throw DomainError(
                    .limitReached, "crmd holds \(Channel.Limits.channels) channels, the limit; archive and rename an old one instead.",
                    details: [("limit", .int(Int64(Channel.Limits.channels))), ("kind", .string("channels"))])
            }
            try ensureNameFree(tx, name, for: 0)
            try ensureFree(tx, phones, for: 0)
            var c = Channel(
                id: 0, name: name, phones: phones, marginBP: margin ?? nil, archived: false, createdAt: now, updatedAt: now)
            c = try tx.saveChannel(c)
            let json = wire.channel(c)
            try audit(tx, actor, "channel", c.id, "create", before: nil, after: json, at: now)
            return json
        }
    }

    func channelList(_ call: Call) throws {
        let all = try call.decode { r in r.optionalBool("archived") ?? false }
        try read(call) { [self] tx, _ in
            ["items": .array(try tx.channels().filter { all || !$0.archived }.map(wire.channel))]
        }
    }

    func channelUpdate(_ call: Call) throws {
        let actor = call.actor
        try checkManage(actor)
        struct Change {
            var ref: ChannelRef?
            var name: String?
            var phones: [String]?
            var add: [String]?
            var remove: [String]?
            var margin: Int??
            var archived: Bool?
        }
        let ch = try call.decode { r -> Change in
            let c = Change(
                ref: channelRef(&r), name: channelName(&r, required: false), phones: trackingPhones(&r, "phones"),
                add: trackingPhones(&r, "add_phones"), remove: trackingPhones(&r, "remove_phones"), margin: marginBP(&r),
                archived: r.optionalBool("archived"))
            if c.phones != nil && (c.add != nil || c.remove != nil) {
                r.problem("phones", "give either phones (the whole list) or add_phones/remove_phones")
            }
            if r.problems.isEmpty, c.name == nil, c.phones == nil, c.add == nil, c.remove == nil, c.margin == nil, c.archived == nil {
                r.problem("params", "must change something: name, phones, add_phones, remove_phones, margin_bp or archived")
            }
            return c
        }
        guard let ref = ch.ref else { throw DomainError.invalid("channel", "is required") }
        write(call) { [self] tx, now in
            var c = try loadChannel(tx, ref)
            let before = wire.channel(c)
            if let name = ch.name {
                try ensureNameFree(tx, name, for: c.id)
                c.name = name
            }
            var phones = ch.phones ?? c.phones
            for p in ch.remove ?? [] {
                guard phones.contains(p) else { throw DomainError.invalid("remove_phones", "\(p) is not a number of '\(c.name)'") }
                phones.removeAll { $0 == p }
            }
            for p in ch.add ?? [] where !phones.contains(p) { phones.append(p) }
            guard phones.count <= Channel.Limits.phonesPerChannel else {
                throw DomainError.invalid("add_phones", "a channel holds at most \(Channel.Limits.phonesPerChannel) numbers")
            }
            let added = phones.filter { !c.phones.contains($0) }
            if !added.isEmpty, c.archived, ch.archived != false {
                throw DomainError.invalid("add_phones", "'\(c.name)' is archived; set archived to false to give it numbers again")
            }
            try ensureFree(tx, added, for: c.id)
            c.phones = phones
            if let m = ch.margin { c.marginBP = m }
            if let a = ch.archived { c.archived = a }
            c.updatedAt = now
            c = try tx.saveChannel(c)
            let after = wire.channel(c)
            try audit(tx, actor, "channel", c.id, "update", before: before, after: after, at: now)
            return after
        }
    }

    func channelSpend(_ call: Call) throws {
        let actor = call.actor
        try checkManage(actor)
        let currency = settings.domain.deals.currency
        let zone = rules.thresholds.timeZone
        let (ref, period, amount) = try call.decode { r -> (ChannelRef?, Period?, Int64) in
            let ref = channelRef(&r)
            let text = r.string("period")
            let period = Period(text)
            if period == nil, r.problems.isEmpty { r.problem("period", "must be \(Period.forms), not '\(text.prefix(20))'") }
            let amount = r.int("amount")
            if !(0...Channel.Limits.maxSpend).contains(amount) {
                r.problem("amount", "must be 0 to \(Channel.Limits.maxSpend) minor units (kopecks, cents)")
            }
            if let given = r.optionalString("currency")?.uppercased(), given != currency {
                r.problem(
                    "currency",
                    "must be \(currency), the department's currency (deals.currency): report.channels sets spend against revenue in it")
            }
            return (ref, period, amount)
        }
        guard let ref, let period else { throw DomainError.invalid("period", "is required") }
        write(call) { [self] tx, now in
            let c = try loadChannel(tx, ref)
            let (start, end) = period.interval(in: zone)
            let overlaps = try tx.overlappingSpend(channelID: c.id, from: start, to: end, except: period.description)
            if let first = overlaps.first {
                throw DomainError.invalid(
                    "period",
                    "\(period) overlaps the spend already entered for \(first) on '\(c.name)'; enter a channel's spend in periods of one kind (months, or weeks, or quarters)"
                )
            }
            let stored = try tx.spend(channelID: c.id, period: period.description)
            let s = ChannelSpend(
                channelID: c.id, period: period, startsAt: start, endsAt: end, amount: amount, currency: currency, setBy: actor.login,
                updatedAt: now)
            try tx.saveSpend(s)
            let json = wire.spend(s, channel: c, replaced: stored?.amount)
            try audit(
                tx, actor, "channel", c.id, "spend", before: stored.map { wire.spend($0, channel: c, replaced: nil) }, after: json, at: now)
            return json
        }
    }
}

extension Wire {
    func channel(_ c: Channel) -> JSON {
        [
            "id": .int(c.id), "name": .string(c.name), "phones": .array(c.phones.map(JSON.string)),
            "margin_bp": .int(c.marginBP.map { Int64($0) }), "archived": .bool(c.archived), "created_at": time(c.createdAt),
            "updated_at": time(c.updatedAt),
        ]
    }

    func spend(_ s: ChannelSpend, channel c: Channel, replaced: Int64?) -> JSON {
        [
            "channel": .int(c.id), "channel_name": .string(c.name), "period": .string(s.period.description), "from": time(s.startsAt),
            "to": time(s.endsAt), "amount": .int(s.amount), "currency": .string(s.currency), "set_by": .string(s.setBy),
            "replaced": .int(replaced),
        ]
    }
}
