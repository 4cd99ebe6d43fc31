public import Foundation

/// A saved segment (docs/rules.md, "Segments and mailing lists"): a static list of clients or a
/// dynamic filter over them. Not to be confused with a client's `segment` *label* (a text such as
/// "wholesale" on the card, which a dynamic segment may filter on).
public struct Segment: Sendable, Equatable, Identifiable {
    public enum Kind: String, Sendable, CaseIterable {
        case staticList = "static"
        case dynamic
    }

    public var id: Int64
    public var name: String
    public var kind: Kind
    /// The filter as stored (canonical JSON text); nil for a static segment.
    public var filterJSON: String?
    /// The manager whose personal segment this is; nil for a shared one (made by a head or admin).
    public var ownerID: Int64?
    public var creatorLogin: String
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: Int64, name: String, kind: Kind, filterJSON: String?, ownerID: Int64?, creatorLogin: String, createdAt: Date,
        updatedAt: Date
    ) {
        self.id = id
        self.name = name
        self.kind = kind
        self.filterJSON = filterJSON
        self.ownerID = ownerID
        self.creatorLogin = creatorLogin
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// The bounds on what a peer may put in a segment (docs/protocol.md, "Segments").
public enum SegmentLimits {
    public static let nameLength = 100
    /// Shared segments (heads' and admins').
    public static let segments = 1_000
    /// A manager's own segments: one manager cannot use up the room everyone shares.
    public static let personalPerUser = 50
    public static let membersPerSegment = 100_000
    public static let clientIDsPerRequest = 10_000
    public static let filterBytes = 8_192
    public static let filterDepth = 6
    public static let filterConditions = 50
    public static let valuesPerCondition = 100
    public static let textLength = 200
    public static let mailingPage = 10_000
}

/// A value a custom field is compared with.
public enum SegmentValue: Sendable, Equatable {
    case text(String)
    case int(Int64)
    case double(Double)
    case bool(Bool)
    case null
}

/// An instant in a filter: fixed, or a duration before the moment the segment is evaluated
/// (`"P30D"`: thirty days ago), so a saved segment keeps meaning "no contact in 30 days".
public enum SegmentInstant: Sendable, Equatable {
    case at(Date)
    case ago(ISODuration)

    public func resolve(now: Date, calendar: Calendar) -> Date {
        switch self {
        case .at(let d): return d
        case .ago(let d): return d.subtracted(from: now, in: calendar)
        }
    }
}

/// A text column of `clients` a filter compares with a list of values (null: the column is
/// empty). Its `name` is both the filter's key and the column's name. Adding a column (the XYZ
/// class of issue 19's ABC/XYZ part, `clients.xyz`) is one line in ``all``.
public struct SegmentColumn: Sendable, Equatable {
    public let name: String
    /// The values the column may hold, or nil for free text.
    public let allowed: [String]?
    /// Whether `null` (an empty column) may be asked for.
    public let nullable: Bool

    init(_ name: String, _ allowed: [String]? = nil, nullable: Bool = true) {
        self.name = name
        self.allowed = allowed
        self.nullable = nullable
    }

    public static let all: [SegmentColumn] = [
        SegmentColumn("kind", ClientKind.allCases.map(\.rawValue), nullable: false), SegmentColumn("segment"),
        SegmentColumn("source"), SegmentColumn("status", ClientStatus.allCases.map(\.rawValue), nullable: false),
        SegmentColumn("abc", ["A", "B", "C"]),
        SegmentColumn("xyz", ["X", "Y", "Z"]),
    ]

    /// The column a filter key names.
    public static func named(_ key: String) -> SegmentColumn? { all.first { $0.name == key } }
}

/// Whose clients: a user by id or login, or nobody (unassigned or on the exchange).
public enum SegmentOwner: Sendable, Equatable {
    case id(Int64)
    case login(String)
    case none
}

/// A dynamic segment's filter: conditions on a client, combined with `all`, `any` and `not`.
/// Built from JSON by the server (which reports the bad part by its path), compiled to SQL with
/// bound values by the store.
public indirect enum SegmentFilter: Sendable, Equatable {
    case all([SegmentFilter])
    case any([SegmentFilter])
    case not(SegmentFilter)
    case column(SegmentColumn, [String?])
    case nameContains(String)
    case field(String, [SegmentValue])
    case zone([Zone])
    case owner([SegmentOwner])
    /// Last interaction before the instant (never contacted included) and/or at or after it.
    case lastInteraction(before: SegmentInstant?, after: SegmentInstant?)
    case hasOpenDeal(Bool)
    /// A deal won in `[from, to)` (either end open); with `amountAtLeast`, the won deals of the
    /// default currency there sum to at least that many minor units.
    case won(from: SegmentInstant?, to: SegmentInstant?, amountAtLeast: Int64?)

    /// The logins the filter names as owners (to check that they exist).
    public var ownerLogins: [String] {
        switch self {
        case .all(let l), .any(let l): return l.flatMap(\.ownerLogins)
        case .not(let f): return f.ownerLogins
        case .owner(let o):
            return o.compactMap {
                if case .login(let l) = $0 { return l }
                return nil
            }
        default: return []
        }
    }
}

/// Who may do what with segments and mailing lists (the rights table's rows).
public enum SegmentAccess {
    /// May read segments at all (lists, members, statistics): those who see the zone reports.
    public static func canSee(_ actor: Actor) -> Bool { Access.canSeeZoneReports(actor) }

    /// May create segments: heads and admins shared ones, managers personal ones.
    public static func canCreate(_ actor: Actor) -> Bool {
        switch actor.role {
        case .admin, .head, .manager: return true
        case .director, .operator, .accountant: return false
        }
    }

    /// Whether a segment this actor creates is their personal one (a manager's), not shared.
    public static func createsPersonal(_ actor: Actor) -> Bool { actor.role == .manager }

    /// May read the segment whose personal owner is `ownerID` (nil: shared).
    public static func canRead(_ actor: Actor, ownerID: Int64?) -> Bool {
        guard canSee(actor) else { return false }
        guard actor.role == .manager else { return true }
        return ownerID == nil || ownerID == actor.userID
    }

    /// May rename, refilter, change the members of or delete the segment: heads and admins any,
    /// a manager their personal ones.
    public static func canEdit(_ actor: Actor, ownerID: Int64?) -> Bool {
        switch actor.role {
        case .admin, .head: return true
        case .manager: return ownerID != nil && ownerID == actor.userID
        case .director, .operator, .accountant: return false
        }
    }

    /// May export a segment's phones or e-mails for a mailing: heads and admins; a manager (of
    /// their own clients in a segment they may read).
    public static func canExportMailing(_ actor: Actor, ownerID: Int64?) -> Bool {
        switch actor.role {
        case .admin, .head: return true
        case .manager: return canRead(actor, ownerID: ownerID)
        case .director, .operator, .accountant: return false
        }
    }
}
