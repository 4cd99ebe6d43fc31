public import CRMCore
public import Foundation
import GRDB

/// Deals closed in a span on a segment's clients, per outcome and currency.
public struct SegmentDealTally: Sendable, Equatable {
    public var status: String
    public var currency: String
    public var count: Int
    public var amount: Int64
    /// Sum of closed − opened over these deals (ms).
    public var durationMS: Int64
}

/// The channel of a mailing list.
public enum MailingChannel: String, Sendable, CaseIterable {
    case sms, email
}

extension Tx {
    /// How many clients `scope` holds (`total`), per status and zone at `now`. With a filter on
    /// an indexed column (the segment label, the ABC class) this reads only that index
    /// (docs/architecture.md).
    public func segmentClientCounts(_ scope: SegmentScope, now: Date) throws -> ZoneCounts {
        try zoneCounts(now: now, where: scope.sql, scope.args)
    }

    /// The clients of `scope` per status and zone at `now`, and the deals on them won or lost in
    /// `[from, to)` (only those `dealOwnerID` owns, when set) per outcome and currency, in one
    /// statement: the segment's clients are found once (a materialized common table expression)
    /// and serve both parts. The deals are read through the sorted list of the clients' ids
    /// (`IN`), so the seeks into `deals_client_closed` go in key order: about four times faster
    /// than a join walking the clients in the order of the index that found them.
    public func segmentFigures(_ scope: SegmentScope, now: Date, from: Date, to: Date, dealOwnerID: Int64?) throws -> (
        ZoneCounts, [SegmentDealTally]
    ) {
        let n = ms(now)
        var args = scope.args + [n, n, n, n, ms(from), ms(to)]
        var owner = ""
        if let dealOwnerID {
            owner = " AND d.owner_id = ?"
            args.append(dealOwnerID)
        }
        var counts = ZoneCounts()
        var deals: [SegmentDealTally] = []
        for r in try rows(
            """
            WITH m AS MATERIALIZED (SELECT c.id, c.status, c.yellow_at, c.red_at FROM clients c WHERE \(scope.sql))
            SELECT NULL, NULL, count(*),
              coalesce(sum(status = 'assigned' AND yellow_at > ?), 0),
              coalesce(sum(status = 'assigned' AND yellow_at <= ? AND red_at > ?), 0),
              coalesce(sum(status = 'assigned' AND red_at <= ?), 0),
              coalesce(sum(status = 'exchange'), 0), coalesce(sum(status = 'unassigned'), 0)
            FROM m
            UNION ALL
            SELECT d.status, d.currency, count(*), coalesce(sum(d.amount), 0), coalesce(sum(d.closed_at - d.opened_at), 0), 0, 0, 0
            FROM deals d
            WHERE d.client_id IN (SELECT id FROM m) AND d.closed_at >= ? AND d.closed_at < ? AND d.status IN ('won', 'lost')\(owner)
            GROUP BY d.status, d.currency
            """, StatementArguments(args))
        {
            if let status = r[0] as String? {
                deals.append(SegmentDealTally(status: status, currency: r[1], count: r[2], amount: r[3], durationMS: r[4]))
            } else {
                counts.total = r[2]
                counts.green = r[3]
                counts.yellow = r[4]
                counts.red = r[5]
                counts.exchange = r[6]
                counts.unassigned = r[7]
            }
        }
        return (counts, deals)
    }

    /// One page of a mailing list: the distinct phones (mobile: `+79` and nine digits) or e-mails
    /// of the clients in `scope` and their contacts, in order, after `cursor`, leaving out every
    /// address that an opted-out client or contact holds anywhere in the base.
    public func mailingList(_ scope: SegmentScope, channel: MailingChannel, after cursor: String?, limit: Int) throws -> Page<String> {
        let (table, column, only) =
            channel == .sms
            ? ("phones", "phone", " AND a.phone GLOB '+79[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]'") : ("emails", "email", "")
        let found = try String.fetchAll(
            db,
            sql: """
                SELECT a.\(column) FROM clients c JOIN \(table) a ON a.client_id = c.id
                WHERE (\(scope.sql)) AND a.\(column) > ?\(only)
                  AND NOT EXISTS (SELECT 1 FROM \(table) o JOIN clients oc ON oc.id = o.client_id LEFT JOIN contacts ok ON ok.id = o.contact_id
                    WHERE o.\(column) = a.\(column) AND (oc.opt_out = 1 OR ok.opt_out = 1))
                GROUP BY a.\(column) ORDER BY a.\(column) LIMIT ?
                """, arguments: StatementArguments(scope.args + [cursor ?? "", limit + 1]))
        let more = found.count > limit
        let items = Array(found.prefix(limit))
        return Page(items: items, nextCursor: more ? items.last : nil)
    }
}
