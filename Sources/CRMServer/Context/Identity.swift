import CRMCore
import CRMProtocol
import CRMSync
import CRMText
import Foundation

/// The users, cached in memory and reloaded after every committed user change, so resolving the
/// caller costs a dictionary lookup instead of a query.
final class UserDirectory: Sendable {
    private struct Snapshot {
        var byID: [Int64: User] = [:]
        var byUID: [UInt32: User] = [:]
        var byLogin: [String: User] = [:]
    }
    private let state = ReadMostly(Snapshot())

    func reload(_ users: [User]) {
        var s = Snapshot()
        for u in users {
            s.byID[u.id] = u
            s.byLogin[u.login] = u
            if let uid = u.uid { s.byUID[uid] = u }
        }
        state.write { $0 = s }
    }

    func user(id: Int64) -> User? { state.read { $0.byID[id] } }
    func user(uid: UInt32) -> User? { state.read { $0.byUID[uid] } }
    func user(login: String) -> User? { state.read { $0.byLogin[login] } }
}

/// Who a connection is: root and crmd's own uid are built-in admins; any other uid is the active
/// user it belongs to, or nobody. An admin's `session.act_as` acts as another user.
struct Identity: Sendable {
    let users: UserDirectory
    /// The uid crmd runs as: an admin without a user row, like root.
    let daemonUID: UInt32

    /// The actor for a session: its act-as user, else its uid's user or a built-in admin. `nil`
    /// when the uid is no active user, or the user acted as is no longer active (the connection
    /// has no identity until `session.act_as` is called again).
    func actor(for session: Session) -> Actor? {
        guard let real = realActor(for: session) else { return nil }
        guard let target = session.actingAsLogin else { return real }
        guard let u = users.user(login: target), u.active else { return nil }
        return Actor(user: u, role: u.role, login: u.login, uid: session.uid, actingAdmin: real.login)
    }

    /// The real (not acted-as) actor of a session: root and crmd's uid are built-in admins.
    func realActor(for session: Session) -> Actor? {
        if session.uid == 0 { return .builtinAdmin(uid: 0, login: "root") }
        if session.uid == daemonUID {
            return .builtinAdmin(uid: session.uid, login: systemLogin(uid: session.uid) ?? "uid:\(session.uid)")
        }
        guard let u = users.user(uid: session.uid), u.active else { return nil }
        return Actor(user: u, role: u.role, login: u.login, uid: session.uid)
    }

    /// The language to speak to a session in: the user it acts as chose, else the one its client's
    /// locale names, else `fallback` (the server's `language` setting).
    func lang(for session: Session, fallback: Lang) -> Lang {
        actor(for: session)?.user?.lang ?? session.clientLang ?? fallback
    }

    func notAUser(_ session: Session) -> RPCError {
        if let target = session.actingAsLogin, realActor(for: session) != nil {
            return RPCError(
                code: ErrorCode.notAUser,
                message:
                    "This connection acts as '\(target)', who is no longer an active user. Call session.act_as with another login, or with no login to act as yourself again.",
                data: ["reason": "not_a_user", "acting_as": .string(target)])
        }
        return RPCError(
            code: ErrorCode.notAUser,
            message:
                "Your Unix account (uid \(session.uid)) is not a crmd user. Ask an administrator to run: crmctl user add LOGIN --name NAME --role ROLE --uid \(session.uid)",
            data: ["reason": "not_a_user", "uid": .int(Int64(session.uid))])
    }
}

/// The login of a system account, if any.
func systemLogin(uid: UInt32) -> String? {
    guard let pw = getpwuid(uid), let name = pw.pointee.pw_name else { return nil }
    return String(cString: name)
}

/// The uid of a system account, if any.
func systemUID(login: String) -> UInt32? {
    guard let pw = getpwnam(login) else { return nil }
    return pw.pointee.pw_uid
}
