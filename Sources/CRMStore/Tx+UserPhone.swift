public import Foundation
import GRDB

extension Tx {
    /// The active user whose own phone is `phone` (normalized).
    public func userID(phone: String) throws -> Int64? {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT id FROM users WHERE phone = ? AND active = 1"), arguments: [phone])
    }

    /// A user's own phone, or nil.
    public func userPhone(id: Int64) throws -> String? {
        try String.fetchOne(db, sql: "SELECT phone FROM users WHERE id = ?", arguments: [id])
    }

    /// Sets or clears a user's phone; the caller has checked it is free.
    public func setUserPhone(id: Int64, _ phone: String?) throws {
        try exec("UPDATE users SET phone = ? WHERE id = ?", [phone, id])
    }

    /// The user holding phone `phone`, active or not (to refuse a taken one).
    public func userHolding(phone: String) throws -> (id: Int64, login: String)? {
        try Row.fetchOne(db, sql: "SELECT id, login FROM users WHERE phone = ?", arguments: [phone]).map { ($0[0], $0[1]) }
    }
}
