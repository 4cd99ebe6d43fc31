import CRMCore
import Foundation
import Testing

/// Issue 17's rights: one test per `Access` question on deals and tasks, over every role (the
/// helpers `actor`, `user`, `actorUserID` and `otherUserID` are AccessTests.swift's).
@Suite("Access: deals and tasks, every role")
struct DealAccessTests {
    typealias Row = (own: Bool, others: Bool, nobody: Bool)

    /// Checks an owner question for one role: when the actor owns it, another user does, nobody does.
    func check(_ name: String, _ role: Role, _ want: Row, _ ask: (Actor, Int64?) -> Bool) {
        let a = actor(role)
        #expect(ask(a, actorUserID) == want.own, "\(name) for \(role.rawValue), own")
        #expect(ask(a, otherUserID) == want.others, "\(name) for \(role.rawValue), another's")
        #expect(ask(a, nil) == want.nobody, "\(name) for \(role.rawValue), nobody's")
    }

    @Test(
        "canCreateDeal: managers on own clients only; heads, admins and operators on any; directors and accountants never",
        arguments: Role.allCases)
    func createDeal(_ role: Role) throws {
        let table: [Role: Row] = [
            .admin: (true, true, true), .head: (true, true, true), .operator: (true, true, true), .manager: (true, false, false),
            .director: (false, false, false), .accountant: (false, false, false),
        ]
        check("canCreateDeal", role, try #require(table[role])) { Access.canCreateDeal($0, clientOwnerID: $1) }
    }

    @Test("canSeeDeal: a manager their own; everyone else every deal", arguments: Role.allCases)
    func seeDeal(_ role: Role) {
        let all = role != .manager
        check("canSeeDeal", role, all ? (true, true, true) : (true, false, false)) { Access.canSeeDeal($0, ownerID: $1) }
    }

    @Test("canWorkDeal: the owner manager, heads and admins; never directors, operators, accountants", arguments: Role.allCases)
    func workDeal(_ role: Role) throws {
        let table: [Role: Row] = [
            .admin: (true, true, true), .head: (true, true, true), .manager: (true, false, false), .operator: (false, false, false),
            .director: (false, false, false), .accountant: (false, false, false),
        ]
        check("canWorkDeal", role, try #require(table[role])) { Access.canWorkDeal($0, ownerID: $1) }
    }

    @Test("canOverrideDealOrder: heads and admins", arguments: Role.allCases)
    func overrideOrder(_ role: Role) {
        #expect(Access.canOverrideDealOrder(actor(role)) == [.head, .admin].contains(role))
    }

    @Test("canOwnDeals: active managers and heads", arguments: Role.allCases)
    func ownDeals(_ role: Role) {
        let leads = [.manager, .head].contains(role)
        #expect(Access.canOwnDeals(user(role)) == leads)
        #expect(!Access.canOwnDeals(user(role, active: false)))
    }

    @Test("canAssignTask: anyone to themselves; heads, admins and operators to anyone", arguments: Role.allCases)
    func assignTask(_ role: Role) {
        let a = actor(role)
        #expect(Access.canAssignTask(a, to: actorUserID))
        #expect(Access.canAssignTask(a, to: otherUserID) == [.head, .admin, .operator].contains(role))
    }

    /// (own task, a task I made for another, another's task made by another) for a question on tasks.
    func taskCases(_ role: Role, _ ask: (Actor, Int64, String) -> Bool) -> (mine: Bool, made: Bool, others: Bool) {
        let a = actor(role)
        return (ask(a, actorUserID, "someone"), ask(a, otherUserID, a.login), ask(a, otherUserID, "someone"))
    }

    @Test("canSeeTask: the assignee and the author; heads, admins and directors any", arguments: Role.allCases)
    func seeTask(_ role: Role) {
        let got = taskCases(role) { Access.canSeeTask($0, assigneeID: $1, creatorLogin: $2) }
        #expect(got.mine && got.made, "\(role.rawValue)")
        #expect(got.others == [.head, .admin, .director].contains(role), "\(role.rawValue)")
    }

    @Test("canWorkTask: the assignee and the author; heads and admins any; a director only theirs", arguments: Role.allCases)
    func workTask(_ role: Role) {
        let got = taskCases(role) { Access.canWorkTask($0, assigneeID: $1, creatorLogin: $2) }
        #expect(got.mine && got.made, "\(role.rawValue)")
        #expect(got.others == [.head, .admin].contains(role), "\(role.rawValue)")
    }

    @Test("canSeeOthersDay: heads, directors and admins", arguments: Role.allCases)
    func othersDay(_ role: Role) {
        #expect(Access.canSeeOthersDay(actor(role)) == [.head, .director, .admin].contains(role))
    }

    @Test("a built-in admin without a row: sees and works every deal and task; owns nothing")
    func builtinAdmin() {
        let root = Actor.builtinAdmin(uid: 0, login: "root")
        #expect(Access.canCreateDeal(root, clientOwnerID: nil))
        #expect(Access.canSeeDeal(root, ownerID: otherUserID))
        #expect(Access.canWorkDeal(root, ownerID: otherUserID))
        #expect(Access.canOverrideDealOrder(root))
        #expect(Access.canAssignTask(root, to: otherUserID))
        #expect(Access.canWorkTask(root, assigneeID: otherUserID, creatorLogin: "someone"))
    }

    @Test("a manager without a row matches no deal, not even one with no owner")
    func ghostManager() {
        let ghost = Actor(user: nil, role: .manager, login: "ghost", uid: 4242)
        #expect(!Access.canCreateDeal(ghost, clientOwnerID: nil))
        #expect(!Access.canSeeDeal(ghost, ownerID: nil))
        #expect(!Access.canWorkDeal(ghost, ownerID: nil))
    }
}
