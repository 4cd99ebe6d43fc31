import CRMCore
import Foundation
import Testing

/// Whose client an action is about, from the actor's point of view.
enum Ownership: String, Sendable, CaseIterable {
    case own, others, nobody
}

enum Action: String, Sendable {
    case seeFullCard, createClient, createOwned, editPersonalData, editBusinessData, logInteraction, assign, importClients, manageUsers
    case seeUserDetails
}

struct AccessCase: Sendable, CustomTestStringConvertible {
    var role: Role
    var action: Action
    var ownership: Ownership
    var allowed: Bool

    var testDescription: String { "\(role.rawValue) \(allowed ? "may" : "may not") \(action.rawValue) (\(ownership.rawValue))" }
}

let actorUserID: Int64 = 10
let otherUserID: Int64 = 11

func actor(_ role: Role) -> Actor {
    let t = Date(timeIntervalSince1970: 1_767_225_600)
    let user = User(
        id: actorUserID, login: role.rawValue, name: role.rawValue, role: role, uid: 1000, active: true, createdAt: t, updatedAt: t)
    return Actor(user: user, role: role, login: role.rawValue, uid: 1000)
}

func ownerID(_ o: Ownership) -> Int64? {
    switch o {
    case .own: return actorUserID
    case .others: return otherUserID
    case .nobody: return nil
    }
}

func decide(_ c: AccessCase, personalDataRoles: Set<Role> = DomainSettings().personalDataRoles) -> Bool {
    let a = actor(c.role)
    let owner = ownerID(c.ownership)
    switch c.action {
    case .seeFullCard: return Access.canSeeFullCard(a, ownerID: owner)
    case .createClient: return Access.canCreateClient(a)
    case .createOwned: return Access.canCreateOwned(by: owner, actor: a)
    case .editPersonalData: return Access.canEditPersonalData(a, ownerID: owner, personalDataRoles: personalDataRoles)
    case .editBusinessData: return Access.canEditBusinessData(a, ownerID: owner)
    case .logInteraction: return Access.canLogInteraction(a, ownerID: owner)
    case .assign: return Access.canAssign(a)
    case .importClients: return Access.canImport(a)
    case .manageUsers: return Access.canManageUsers(a)
    case .seeUserDetails: return Access.canSeeUserDetails(a)
    }
}

/// Expands "(role, action) -> allowed for own / others' / nobody's client".
func cases(_ role: Role, _ action: Action, own: Bool, others: Bool, nobody: Bool) -> [AccessCase] {
    [
        AccessCase(role: role, action: action, ownership: .own, allowed: own),
        AccessCase(role: role, action: action, ownership: .others, allowed: others),
        AccessCase(role: role, action: action, ownership: .nobody, allowed: nobody),
    ]
}

func all(_ role: Role, _ action: Action, _ allowed: Bool) -> [AccessCase] {
    cases(role, action, own: allowed, others: allowed, nobody: allowed)
}

/// RULES §1 as a table.
let accessTable: [AccessCase] =
    // manager: full card and writes for own clients only.
    cases(.manager, .seeFullCard, own: true, others: false, nobody: false)
    + all(.manager, .createClient, true)
    + cases(.manager, .createOwned, own: true, others: false, nobody: true)
    + cases(.manager, .editPersonalData, own: true, others: false, nobody: false)
    + cases(.manager, .editBusinessData, own: true, others: false, nobody: false)
    + cases(.manager, .logInteraction, own: true, others: false, nobody: false)
    + all(.manager, .assign, false) + all(.manager, .importClients, false) + all(.manager, .manageUsers, false)
    + all(.manager, .seeUserDetails, false)
    // operator: creates clients and edits contact data of any client; no interactions.
    + all(.operator, .seeFullCard, true) + all(.operator, .createClient, true) + all(.operator, .createOwned, true)
    + all(.operator, .editPersonalData, true) + all(.operator, .editBusinessData, false) + all(.operator, .logInteraction, false)
    + all(.operator, .assign, false) + all(.operator, .importClients, true) + all(.operator, .manageUsers, false)
    + all(.operator, .seeUserDetails, false)
    // director: reads everything, writes nothing.
    + all(.director, .seeFullCard, true) + all(.director, .createClient, false) + all(.director, .createOwned, false)
    + all(.director, .editPersonalData, false) + all(.director, .editBusinessData, false) + all(.director, .logInteraction, false)
    + all(.director, .assign, false) + all(.director, .importClients, false) + all(.director, .manageUsers, false)
    + all(.director, .seeUserDetails, true)
    // accountant: reads, records payments; no client writes.
    + all(.accountant, .seeFullCard, true) + all(.accountant, .createClient, false) + all(.accountant, .createOwned, false)
    + all(.accountant, .editPersonalData, false) + all(.accountant, .editBusinessData, false)
    + all(.accountant, .logInteraction, false) + all(.accountant, .assign, false) + all(.accountant, .importClients, false)
    + all(.accountant, .manageUsers, false) + all(.accountant, .seeUserDetails, false)
    // head: reads and writes all clients, assigns; no user management.
    + all(.head, .seeFullCard, true) + all(.head, .createClient, true) + all(.head, .createOwned, true)
    + all(.head, .editPersonalData, true) + all(.head, .editBusinessData, true) + all(.head, .logInteraction, true)
    + all(.head, .assign, true) + all(.head, .importClients, true) + all(.head, .manageUsers, false)
    + all(.head, .seeUserDetails, true)
    // admin: everything.
    + all(.admin, .seeFullCard, true) + all(.admin, .createClient, true) + all(.admin, .createOwned, true)
    + all(.admin, .editPersonalData, true) + all(.admin, .editBusinessData, true) + all(.admin, .logInteraction, true)
    + all(.admin, .assign, true) + all(.admin, .importClients, true) + all(.admin, .manageUsers, true)
    + all(.admin, .seeUserDetails, true)

@Suite("Access: role x action")
struct AccessTests {
    @Test(arguments: accessTable)
    func rightsTable(_ c: AccessCase) {
        #expect(decide(c) == c.allowed)
    }

    @Test func tableCoversEveryRoleAndAction() {
        let roles = Set(accessTable.map(\.role))
        #expect(roles == Set(Role.allCases))
        for role in Role.allCases {
            #expect(accessTable.filter { $0.role == role }.count == 10 * 3, "\(role)")
        }
    }

    @Test func personalDataRolesSettingIsHonoured() {
        let onlyOperators: Set<Role> = [.operator]
        #expect(
            decide(
                AccessCase(role: .operator, action: .editPersonalData, ownership: .others, allowed: true), personalDataRoles: onlyOperators)
        )
        #expect(
            !decide(
                AccessCase(role: .head, action: .editPersonalData, ownership: .others, allowed: false), personalDataRoles: onlyOperators))
        #expect(
            !decide(
                AccessCase(role: .manager, action: .editPersonalData, ownership: .own, allowed: false), personalDataRoles: onlyOperators))
        // Admin always may, whatever the setting says.
        #expect(decide(AccessCase(role: .admin, action: .editPersonalData, ownership: .others, allowed: true), personalDataRoles: []))
        // Adding a director to the setting lets them edit.
        #expect(
            decide(
                AccessCase(role: .director, action: .editPersonalData, ownership: .others, allowed: true), personalDataRoles: [.director]))
    }

    @Test func builtinAdminWithoutUserRow() {
        let root = Actor.builtinAdmin(uid: 0, login: "root")
        #expect(root.userID == nil)
        #expect(root.role == .admin)
        #expect(Access.canSeeFullCard(root, ownerID: otherUserID))
        #expect(Access.canLogInteraction(root, ownerID: otherUserID))
        #expect(Access.canManageUsers(root))
    }

    @Test func managerWithoutUserRowOwnsNothing() {
        // A manager acted as without a row must not match a client with no owner.
        let ghost = Actor(user: nil, role: .manager, login: "ghost", uid: 4242)
        #expect(!Access.canSeeFullCard(ghost, ownerID: nil))
        #expect(!Access.canLogInteraction(ghost, ownerID: nil))
        #expect(!Access.canEditBusinessData(ghost, ownerID: nil))
    }
}

/// A question on `Access` that depends on the actor alone, and the roles it is true for.
struct RoleQuestion: Sendable, CustomTestStringConvertible {
    var name: String
    var ask: @Sendable (Actor) -> Bool
    var yes: Set<Role>

    var testDescription: String { name }
}

let roleQuestions: [RoleQuestion] = [
    RoleQuestion(name: "canActAs", ask: Access.canActAs, yes: [.admin]),
    RoleQuestion(name: "isServedAsAdmin", ask: Access.isServedAsAdmin, yes: [.admin]),
    RoleQuestion(name: "hasLargeSubscriberQueue", ask: Access.hasLargeSubscriberQueue, yes: [.admin]),
    RoleQuestion(name: "canBackUp", ask: Access.canBackUp, yes: [.admin]),
    RoleQuestion(name: "canMoveClock", ask: Access.canMoveClock, yes: [.admin]),
    RoleQuestion(name: "canClaim", ask: Access.canClaim, yes: [.manager, .head]),
    RoleQuestion(name: "canSeeZoneReports", ask: Access.canSeeZoneReports, yes: [.admin, .head, .director, .manager]),
    RoleQuestion(name: "seesOnlyOwnClients", ask: Access.seesOnlyOwnClients, yes: [.manager]),
    RoleQuestion(name: "ownsWhatTheyCreate", ask: Access.ownsWhatTheyCreate, yes: [.manager]),
    RoleQuestion(name: "isBoundByExchangeOnCards", ask: Access.isBoundByExchangeOnCards, yes: [.manager]),
]

/// A question on `Access` about a client's owner: per role, whether it is true when the actor is
/// the owner, when another user is, and when nobody is.
struct OwnerQuestion: Sendable, CustomTestStringConvertible {
    var name: String
    var ask: @Sendable (Actor, Int64?) -> Bool
    var table: [Role: (own: Bool, others: Bool, nobody: Bool)]

    var testDescription: String { name }
}

let ownerQuestions: [OwnerQuestion] = [
    OwnerQuestion(
        name: "canRelease", ask: { Access.canRelease($0, ownerID: $1) },
        table: [
            .admin: (true, true, true), .head: (true, true, true), .manager: (true, false, false),
            .director: (false, false, false), .operator: (false, false, false), .accountant: (false, false, false),
        ]),
    // The owner's own contact, or a head's or admin's on anyone's client. (Only managers and heads
    // own clients, so "own" for the others never happens: the rule is about whoever owns it.)
    OwnerQuestion(
        name: "contactsForOwner", ask: { Access.contactsForOwner($0, ownerID: $1) },
        table: [
            .admin: (true, true, true), .head: (true, true, true), .manager: (true, false, false),
            .director: (true, false, false), .operator: (true, false, false), .accountant: (true, false, false),
        ]),
]

func user(_ role: Role, active: Bool = true) -> User {
    var u = actor(role).user!
    u.active = active
    return u
}

@Suite("Access: the other questions, every role")
struct AccessQuestionTests {
    @Test(arguments: roleQuestions, Role.allCases)
    func byRole(_ q: RoleQuestion, _ role: Role) {
        #expect(q.ask(actor(role)) == q.yes.contains(role), "\(q.name) for \(role.rawValue)")
    }

    @Test(arguments: ownerQuestions, Role.allCases)
    func byOwner(_ q: OwnerQuestion, _ role: Role) throws {
        let want = try #require(q.table[role])
        let a = actor(role)
        #expect(q.ask(a, actorUserID) == want.own, "\(q.name) for \(role.rawValue), own client")
        #expect(q.ask(a, otherUserID) == want.others, "\(q.name) for \(role.rawValue), another's client")
        #expect(q.ask(a, nil) == want.nobody, "\(q.name) for \(role.rawValue), nobody's client")
    }

    @Test func tablesCoverEveryRole() {
        for q in ownerQuestions { #expect(Set(q.table.keys) == Set(Role.allCases), "\(q.name)") }
    }

    @Test(arguments: Role.allCases)
    func leadingClients(_ role: Role) {
        let leads = role == .manager || role == .head
        #expect(Access.canLeadClients(user(role)) == leads)
        // Deactivation is checked apart (with its own message): the role alone decides here.
        #expect(Access.canLeadClients(user(role, active: false)) == leads)
        // Claiming is for those who may lead.
        #expect(Access.canClaim(actor(role)) == leads)
    }

    @Test(arguments: Role.allCases)
    func redZoneCopiesGoToActiveHeads(_ role: Role) {
        #expect(Access.getsRedZoneCopies(user(role)) == (role == .head))
        #expect(!Access.getsRedZoneCopies(user(role, active: false)))
    }

    /// Who sees an event: (alert?, exchange topic?, owner, previous owner) for each role.
    @Test(arguments: Role.allCases)
    func events(_ role: Role) {
        let a = actor(role)
        func sees(alert: Bool = false, exchange: Bool = false, owner: Int64?, previous: Int64? = nil) -> Bool {
            Access.canSeeEvent(a, ownerID: owner, previousOwnerID: previous, alert: alert, exchange: exchange)
        }
        // An alert reaches its addressee only, whatever the role, even an exchange-wide topic's.
        #expect(sees(alert: true, owner: actorUserID))
        #expect(!sees(alert: true, owner: otherUserID))
        #expect(!sees(alert: true, owner: nil))
        #expect(!sees(alert: true, exchange: true, owner: otherUserID))
        // The exchange's events (releases, claims) are everyone's business.
        #expect(sees(exchange: true, owner: otherUserID))
        #expect(sees(exchange: true, owner: nil))
        let all = [Role.admin, .head, .director].contains(role)
        let manager = role == .manager
        #expect(sees(owner: otherUserID) == all)
        #expect(sees(owner: nil) == all)
        #expect(sees(owner: actorUserID) == (all || manager))
        // The assignment of a client taken from a manager.
        #expect(sees(owner: otherUserID, previous: actorUserID) == (all || manager))
        #expect(sees(owner: otherUserID, previous: otherUserID + 1) == all)
    }

    @Test func builtinAdminWithoutUserRow() {
        let root = Actor.builtinAdmin(uid: 0, login: "root")
        #expect(Access.canActAs(root))
        #expect(Access.isServedAsAdmin(root))
        #expect(Access.hasLargeSubscriberQueue(root))
        #expect(Access.canBackUp(root))
        #expect(Access.canMoveClock(root))
        #expect(Access.canSeeZoneReports(root))
        #expect(!Access.canClaim(root))
        #expect(!Access.seesOnlyOwnClients(root))
        #expect(!Access.ownsWhatTheyCreate(root))
        #expect(!Access.isBoundByExchangeOnCards(root))
        #expect(Access.canRelease(root, ownerID: otherUserID))
        #expect(Access.contactsForOwner(root, ownerID: otherUserID))
        #expect(Access.canSeeEvent(root, ownerID: otherUserID, previousOwnerID: nil, alert: false, exchange: false))
        // No row, so no alert is addressed to it.
        #expect(!Access.canSeeEvent(root, ownerID: nil, previousOwnerID: nil, alert: true, exchange: false))
    }

    @Test func managerWithoutUserRowSeesNoUnownedEvents() {
        let ghost = Actor(user: nil, role: .manager, login: "ghost", uid: 4242)
        #expect(!Access.canSeeEvent(ghost, ownerID: nil, previousOwnerID: nil, alert: false, exchange: false))
        #expect(!Access.canSeeEvent(ghost, ownerID: nil, previousOwnerID: nil, alert: true, exchange: false))
        #expect(!Access.contactsForOwner(ghost, ownerID: otherUserID))
    }
}
