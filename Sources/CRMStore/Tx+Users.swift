public import CRMCore
import CRMText
public import Foundation
import GRDB

extension Tx {
    static let userColumns = "id, login, name, role, uid, active, created_at, updated_at, commission_bp, team, lang, email"

    func user(from r: Row) -> User {
        User(
            id: r[0], login: r[1], name: r[2], role: Role(rawValue: r[3]) ?? .manager,
            uid: (r[4] as Int64?).map { UInt32(truncatingIfNeeded: $0) }, active: r[5], createdAt: date(r[6] as Int64),
            updatedAt: date(r[7] as Int64), commissionBP: (r[8] as Int64?).map { Int($0) }, team: r[9],
            lang: (r[10] as String?).flatMap(Lang.init(rawValue:)), email: r[11])
    }

    /// Every user, active or not.
    public func allUsers() throws -> [User] {
        try rows("SELECT \(Self.userColumns) FROM users ORDER BY id").map(user(from:))
    }

    /// The user with this id.
    public func user(id: Int64) throws -> User? {
        try row("SELECT \(Self.userColumns) FROM users WHERE id = ?", [id]).map(user(from:))
    }

    /// The user with this login.
    public func user(login: String) throws -> User? {
        try row("SELECT \(Self.userColumns) FROM users WHERE login = ?", [login]).map(user(from:))
    }

    /// The user mapped to this uid.
    public func user(uid: UInt32) throws -> User? {
        try row("SELECT \(Self.userColumns) FROM users WHERE uid = ?", [Int64(uid)]).map(user(from:))
    }

    /// The user whose own address this is (normalized).
    public func user(email: String) throws -> User? {
        try row("SELECT \(Self.userColumns) FROM users WHERE email = ?", [email]).map(user(from:))
    }

    /// Adds a user.
    public func insertUser(
        login: String, name: String, role: Role, uid: UInt32?, commissionBP: Int? = nil, team: String? = nil, now: Date
    ) throws -> User {
        try exec(
            "INSERT INTO users(login, name, role, uid, active, created_at, updated_at, commission_bp, team) VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?)",
            [login, name, role.rawValue, uid.map { Int64($0) }, ms(now), ms(now), commissionBP, team])
        return User(
            id: lastID, login: login, name: name, role: role, uid: uid, active: true, createdAt: now, updatedAt: now,
            commissionBP: commissionBP, team: team)
    }

    /// Saves every column of `user`.
    public func saveUser(_ u: User) throws {
        try exec(
            """
            UPDATE users SET login = ?, name = ?, role = ?, uid = ?, active = ?, updated_at = ?, commission_bp = ?, team = ?, lang = ?,
              email = ? WHERE id = ?
            """,
            [
                u.login, u.name, u.role.rawValue, u.uid.map { Int64($0) }, u.active, ms(u.updatedAt), u.commissionBP, u.team,
                u.lang?.rawValue, u.email, u.id,
            ])
    }
}
