public import CRMCore
public import Foundation
import GRDB

/// One incoming call as the PBX reported it.
public struct CallRecord: Sendable {
    public var at: Date
    public var channelID: Int64?
    /// The caller ID, normalized; nil for a withheld or unreadable one.
    public var from: String?
    public var to: String
    public var clientID: Int64?
    public var contactID: Int64?
    /// The client's owner when the call came (a manager's report counts their own calls).
    public var ownerID: Int64?
    public var leadCreated: Bool
    public var byLogin: String

    public init(
        at: Date, channelID: Int64?, from: String?, to: String, clientID: Int64?, contactID: Int64?, ownerID: Int64?, leadCreated: Bool,
        byLogin: String
    ) {
        self.at = at
        self.channelID = channelID
        self.from = from
        self.to = to
        self.clientID = clientID
        self.contactID = contactID
        self.ownerID = ownerID
        self.leadCreated = leadCreated
        self.byLogin = byLogin
    }
}

extension Tx {
    static let channelColumns = """
        id, name, margin_bp, archived, created_at, updated_at, \
        (SELECT group_concat(phone, char(31)) FROM (SELECT phone FROM channel_phones WHERE channel_id = channels.id ORDER BY position))
        """

    func channel(from r: Row) -> Channel {
        let phones = (r[6] as String?).map { $0.split(separator: "\u{1F}").map(String.init) } ?? []
        return Channel(
            id: r[0], name: r[1], phones: phones, marginBP: (r[2] as Int64?).map { Int($0) }, archived: (r[3] as Int64) != 0,
            createdAt: date(r[4] as Int64), updatedAt: date(r[5] as Int64))
    }

    /// Every channel (at most ``Channel/Limits/channels``), by id.
    public func channels() throws -> [Channel] {
        try rows("SELECT \(Self.channelColumns) FROM channels ORDER BY id LIMIT ?", [Channel.Limits.channels + 1]).map(channel(from:))
    }

    public func channel(id: Int64) throws -> Channel? {
        try row("SELECT \(Self.channelColumns) FROM channels WHERE id = ?", [id]).map(channel(from:))
    }

    /// The channel with this name, compared case-insensitively.
    public func channel(named name: String) throws -> Channel? {
        try row("SELECT \(Self.channelColumns) FROM channels WHERE name_fold = ?", [Self.channelFold(name)]).map(channel(from:))
    }

    public func channelCount() throws -> Int {
        try Int.fetchOne(db.cachedStatement(sql: "SELECT count(*) FROM channels")) ?? 0
    }

    /// The channel a tracking number belongs to.
    public func channelID(ofPhone phone: String) throws -> Int64? {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT channel_id FROM channel_phones WHERE phone = ?"), arguments: [phone])
    }

    static func channelFold(_ name: String) -> String { name.lowercased() }

    /// Stores a channel with its numbers: a new one (id 0) gets its id, a stored one is rewritten.
    public func saveChannel(_ c: Channel) throws -> Channel {
        var saved = c
        let args: [(any DatabaseValueConvertible)?] = [
            c.name, Self.channelFold(c.name), c.marginBP.map { Int64($0) }, c.archived ? 1 : 0, ms(c.createdAt), ms(c.updatedAt),
        ]
        if c.id == 0 {
            try exec(
                "INSERT INTO channels(name, name_fold, margin_bp, archived, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                StatementArguments(args))
            saved.id = lastID
        } else {
            try exec(
                "UPDATE channels SET name = ?, name_fold = ?, margin_bp = ?, archived = ?, created_at = ?, updated_at = ? WHERE id = ?",
                StatementArguments(args + [c.id]))
            try exec("DELETE FROM channel_phones WHERE channel_id = ?", [c.id])
        }
        for (i, p) in c.phones.enumerated() {
            try exec("INSERT INTO channel_phones(phone, channel_id, position) VALUES (?, ?, ?)", [p, saved.id, i])
        }
        return saved
    }

    // MARK: spend

    func spend(from r: Row) -> ChannelSpend {
        ChannelSpend(
            channelID: r[0], period: Period(r[1] as String) ?? Period(kind: .month, year: 2000, number: 1), startsAt: date(r[2] as Int64),
            endsAt: date(r[3] as Int64), amount: r[4], currency: r[5], setBy: r[6], updatedAt: date(r[7] as Int64))
    }

    static let spendColumns = "channel_id, period, starts_at, ends_at, amount, currency, set_by, updated_at"

    public func spend(channelID: Int64, period: String) throws -> ChannelSpend? {
        try row("SELECT \(Self.spendColumns) FROM channel_spend WHERE channel_id = ? AND period = ?", [channelID, period]).map(
            spend(from:))
    }

    /// The channel's stored periods other than `period` that overlap `[from, to)`.
    public func overlappingSpend(channelID: Int64, from: Date, to: Date, except period: String) throws -> [String] {
        try String.fetchAll(
            db.cachedStatement(
                sql: "SELECT period FROM channel_spend WHERE channel_id = ? AND ends_at > ? AND starts_at < ? AND period != ? LIMIT 5"),
            arguments: [channelID, ms(from), ms(to), period])
    }

    public func saveSpend(_ s: ChannelSpend) throws {
        try exec(
            """
            INSERT INTO channel_spend(\(Self.spendColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(channel_id, period) DO UPDATE SET amount = excluded.amount, currency = excluded.currency,
              set_by = excluded.set_by, updated_at = excluded.updated_at
            """,
            [s.channelID, s.period.description, ms(s.startsAt), ms(s.endsAt), s.amount, s.currency, s.setBy, ms(s.updatedAt)])
    }

    /// Every spend entry overlapping `[from, to)` (channel_spend_span).
    public func spends(overlapping from: Date, _ to: Date) throws -> [ChannelSpend] {
        try rows("SELECT \(Self.spendColumns) FROM channel_spend WHERE ends_at > ? AND starts_at < ?", [ms(from), ms(to)]).map(
            spend(from:))
    }

    // MARK: calls

    /// Records an incoming call; returns its id.
    public func insertCall(_ c: CallRecord) throws -> Int64 {
        try exec(
            """
            INSERT INTO calls(at, channel_id, from_phone, to_phone, client_id, contact_id, owner_id, lead_created, by_login)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [ms(c.at), c.channelID, c.from, c.to, c.clientID, c.contactID, c.ownerID, c.leadCreated ? 1 : 0, c.byLogin])
        return lastID
    }

    /// The channel a client came through, if any.
    public func clientChannel(_ clientID: Int64) throws -> Int64? {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT channel_id FROM clients WHERE id = ?"), arguments: [clientID])
    }

    /// Attributes a client to a channel unless it already came through one (the first tracked call
    /// counts: docs/rules.md).
    public func attributeClient(_ clientID: Int64, toChannel channelID: Int64) throws {
        try exec("UPDATE clients SET channel_id = ? WHERE id = ? AND channel_id IS NULL", [channelID, clientID])
    }

    /// Leads the account `login` opened by calls in `[since, now]` (calls_at: the range is short).
    public func leadsOpened(by login: String, since: Date) throws -> Int {
        try Int.fetchOne(
            db.cachedStatement(sql: "SELECT count(*) FROM calls WHERE at >= ? AND lead_created = 1 AND by_login = ?"),
            arguments: [ms(since), login]) ?? 0
    }

    // MARK: report.channels

    /// Calls, distinct identified callers and opened leads per channel in `[from, to)` (calls_at);
    /// with `ownerID`, only calls of that owner's clients. Key nil: calls to untracked numbers.
    public func callFigures(from: Date, to: Date, ownerID: Int64?) throws -> [Int64?: (calls: Int64, leads: Int64, newLeads: Int64)] {
        var out: [Int64?: (calls: Int64, leads: Int64, newLeads: Int64)] = [:]
        let owner = ownerID == nil ? "" : " AND owner_id = ?"
        var args: [(any DatabaseValueConvertible)?] = [ms(from), ms(to)]
        if let ownerID { args.append(ownerID) }
        for r in try rows(
            """
            SELECT channel_id, count(*), count(DISTINCT client_id), sum(lead_created) FROM calls
            WHERE at >= ? AND at < ?\(owner) GROUP BY channel_id
            """, StatementArguments(args))
        {
            out[r[0] as Int64?] = (r[1], r[2], r[3])
        }
        return out
    }

    /// Buyers, won deals and revenue per channel: won deals closed in `[from, to)` in `currency`
    /// whose client came through a channel (deals_closed, then each client by key); with
    /// `ownerID`, only that owner's deals. Also how many such deals were in another currency.
    public func saleFigures(from: Date, to: Date, currency: String, ownerID: Int64?) throws -> (
        byChannel: [Int64: (buyers: Int64, deals: Int64, revenue: Int64)], otherCurrency: Int64
    ) {
        var out: [Int64: (buyers: Int64, deals: Int64, revenue: Int64)] = [:]
        var other: Int64 = 0
        let owner = ownerID == nil ? "" : " AND d.owner_id = ?"
        var args: [(any DatabaseValueConvertible)?] = [currency, ms(from), ms(to)]
        if let ownerID { args.append(ownerID) }
        for r in try rows(
            """
            SELECT c.channel_id, d.currency = ?, count(DISTINCT d.client_id), count(*), sum(coalesce(d.amount, 0))
            FROM deals d JOIN clients c ON c.id = d.client_id
            WHERE d.closed_at >= ? AND d.closed_at < ? AND d.status = 'won' AND c.channel_id IS NOT NULL\(owner)
            GROUP BY 1, 2
            """, StatementArguments(args))
        {
            if (r[1] as Int64) != 0 {
                out[r[0] as Int64] = (r[2], r[3], r[4])
            } else {
                other += r[3] as Int64
            }
        }
        return (out, other)
    }
}
