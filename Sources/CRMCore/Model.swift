public import CRMText
public import Foundation

/// A user's role. What each may do is in ``Access``.
public enum Role: String, Sendable, CaseIterable, Codable {
    case admin, director, head, manager, `operator`, accountant

    /// The role with its article, to begin a sentence: "An operator", "A manager".
    public var withArticle: Phrase {
        switch self {
        case .admin: return "An admin"
        case .operator: return "An operator"
        case .accountant: return "An accountant"
        case .director: return "A director"
        case .head: return "A head"
        case .manager: return "A manager"
        }
    }
}

/// A person who uses crmd, identified by the Unix uid of their processes.
public struct User: Sendable, Equatable, Identifiable {
    public var id: Int64
    public var login: String
    public var name: String
    public var role: Role
    /// The Unix uid that maps to this user, if any (a user without one can only be acted as).
    public var uid: UInt32?
    public var active: Bool
    public var createdAt: Date
    public var updatedAt: Date
    /// The user's own commission rate in basis points (200 = 2 %), if set.
    public var commissionBP: Int?
    /// The sales team the user belongs to (plans and reports sum over it), if any.
    public var team: String?
    /// The user's own e-mail address (normalized), by which incoming mail names them.
    public var email: String?
    /// The language the user reads messages and alerts in; nil: the client's, else the server's.
    public var lang: Lang?

    public init(
        id: Int64, login: String, name: String, role: Role, uid: UInt32?, active: Bool, createdAt: Date, updatedAt: Date,
        commissionBP: Int? = nil, team: String? = nil, lang: Lang? = nil, email: String? = nil
    ) {
        self.lang = lang
        self.commissionBP = commissionBP
        self.team = team
        self.email = email
        self.id = id
        self.login = login
        self.name = name
        self.role = role
        self.uid = uid
        self.active = active
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// Who is making a request: the user the connection runs as, and the real person behind it.
public struct Actor: Sendable, Equatable {
    /// The user row, or `nil` for root and crmd's own uid (admins without a row).
    public var user: User?
    /// The role the request runs with.
    public var role: Role
    /// The login shown in audit entries (`root`, `uid:1000` for built-in admins).
    public var login: String
    /// The kernel uid of the connection.
    public var uid: UInt32
    /// The admin who used `session.act_as`, when acting as someone else.
    public var actingAdmin: String?

    public init(user: User?, role: Role, login: String, uid: UInt32, actingAdmin: String? = nil) {
        self.user = user
        self.role = role
        self.login = login
        self.uid = uid
        self.actingAdmin = actingAdmin
    }

    /// The user id, if the actor has a row.
    public var userID: Int64? { user?.id }

    /// A built-in admin (root or crmd's uid).
    public static func builtinAdmin(uid: UInt32, login: String) -> Actor {
        Actor(user: nil, role: .admin, login: login, uid: uid)
    }
}

/// A company or a person.
public enum ClientKind: String, Sendable, CaseIterable {
    case company, person
}

/// Where a client stands with respect to ownership.
public enum ClientStatus: String, Sendable, CaseIterable {
    /// Has a lead manager.
    case assigned
    /// Released to the exchange: any other manager may claim it.
    case exchange
    /// Created without an owner: a head assigns it, or a manager claims it.
    case unassigned
}

/// A client (counterparty) as stored.
public struct Client: Sendable, Equatable, Identifiable {
    /// The most characters a client's name may have (`client.create`, `client.update`, imports).
    public static let maxNameLength = 500

    public var id: Int64
    public var name: String
    public var kind: ClientKind
    public var phones: [String]
    public var emails: [String]
    public var ownerID: Int64?
    public var status: ClientStatus
    public var segment: String?
    public var source: String?
    public var abc: String?
    /// The XYZ class crmd computed with `abc` (nil until a computation classes the client).
    public var xyz: String? = nil
    /// Custom fields as a JSON object text (validated against the configuration).
    public var fieldsJSON: String
    public var lastInteractionAt: Date?
    public var assignedAt: Date?
    public var releasedAt: Date?
    public var releasedFrom: Int64?
    public var releaseReason: String?
    public var createdAt: Date
    public var updatedAt: Date
    /// The zone instants as stored (nil unless assigned).
    public var schedule: ZoneSchedule? = nil
    /// The zone last applied by the scheduler (nil unless assigned).
    public var appliedZone: Zone? = nil
    /// Reminder marks handled in the current cycle.
    public var alertStage: Int = 0
    /// The next instant the scheduler has work for this client.
    public var nextDueAt: Date? = nil
    /// Asked not to be sent mailings: the client's own phones and e-mails and all its contacts'
    /// stay out of every mailing list.
    public var optOut = false
    /// The tax id (ИНН), unique among clients, and the registration reason code (КПП).
    public var inn: String? = nil
    public var kpp: String? = nil

    /// The clock state as the scheduler sees it.
    public var clockState: ClockState? {
        guard status == .assigned else { return nil }
        return ClockState(zone: appliedZone ?? .green, stage: alertStage)
    }

    public init(
        id: Int64, name: String, kind: ClientKind, phones: [String], emails: [String], ownerID: Int64?,
        status: ClientStatus, segment: String?, source: String?, abc: String?, fieldsJSON: String,
        lastInteractionAt: Date?, assignedAt: Date?, releasedAt: Date?, releasedFrom: Int64?, releaseReason: String?,
        createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.name = name
        self.kind = kind
        self.phones = phones
        self.emails = emails
        self.ownerID = ownerID
        self.status = status
        self.segment = segment
        self.source = source
        self.abc = abc
        self.fieldsJSON = fieldsJSON
        self.lastInteractionAt = lastInteractionAt
        self.assignedAt = assignedAt
        self.releasedAt = releasedAt
        self.releasedFrom = releasedFrom
        self.releaseReason = releaseReason
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// R in RULES §4: the later of the last resetting interaction and the assignment.
    public var clockStart: Date? {
        guard status == .assigned else { return nil }
        switch (lastInteractionAt, assignedAt) {
        case (let l?, let a?): return max(l, a)
        case (let l?, nil): return l
        case (nil, let a?): return a
        case (nil, nil): return nil
        }
    }
}

/// A decision maker or influencer at a company.
public struct Contact: Sendable, Equatable, Identifiable {
    public var id: Int64
    public var clientID: Int64
    public var name: String
    public var position: String?
    public var phones: [String]
    public var emails: [String]
    public var decisionMaker: Bool
    public var createdAt: Date
    public var updatedAt: Date
    /// Asked not to be sent mailings: this contact's phones and e-mails stay out of every list.
    public var optOut = false

    public init(
        id: Int64, clientID: Int64, name: String, position: String?, phones: [String], emails: [String], decisionMaker: Bool,
        createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.clientID = clientID
        self.name = name
        self.position = position
        self.phones = phones
        self.emails = emails
        self.decisionMaker = decisionMaker
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// One past or present affiliation of a contact with a company.
public struct Affiliation: Sendable, Equatable {
    public var clientID: Int64
    public var position: String?
    public var from: Date
    public var to: Date?

    public init(clientID: Int64, position: String?, from: Date, to: Date?) {
        self.clientID = clientID
        self.position = position
        self.from = from
        self.to = to
    }
}

/// What kind of contact with the client an interaction was.
public enum InteractionKind: String, Sendable, CaseIterable {
    case call, meeting, email, message, note
    /// Recorded by crmd when a deal starts or moves to another stage (RULES §3: the "Sale"
    /// business process counts as an interaction); never logged by hand.
    case deal

    /// The kinds a person logs with `interaction.log` (all but `deal`).
    public static let loggable: [InteractionKind] = [.call, .meeting, .email, .message, .note]
}

/// A call, meeting, email, message or note on a client.
public struct Interaction: Sendable, Equatable, Identifiable {
    public var id: Int64
    public var clientID: Int64
    public var contactID: Int64?
    public var authorID: Int64?
    public var authorLogin: String
    public var kind: InteractionKind
    /// `in` or `out` for calls, emails and messages.
    public var direction: String?
    public var occurredAt: Date
    public var topic: String?
    public var result: String?
    public var note: String?
    /// Whether this interaction reset the client's zone clock.
    public var resetsClock: Bool
    public var createdAt: Date
    /// The deal it is about (a comment, a call in the talks, a deal's start or move).
    public var dealID: Int64?
    /// What recorded it when no person typed it (`mail`), else nil.
    public var captured: String?

    public init(
        id: Int64, clientID: Int64, contactID: Int64?, authorID: Int64?, authorLogin: String, kind: InteractionKind,
        direction: String?, occurredAt: Date, topic: String?, result: String?, note: String?, resetsClock: Bool,
        createdAt: Date, dealID: Int64? = nil, captured: String? = nil
    ) {
        self.dealID = dealID
        self.captured = captured
        self.id = id
        self.clientID = clientID
        self.contactID = contactID
        self.authorID = authorID
        self.authorLogin = authorLogin
        self.kind = kind
        self.direction = direction
        self.occurredAt = occurredAt
        self.topic = topic
        self.result = result
        self.note = note
        self.resetsClock = resetsClock
        self.createdAt = createdAt
    }
}
