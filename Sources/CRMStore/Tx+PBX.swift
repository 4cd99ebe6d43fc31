public import Foundation
import GRDB

extension Tx {
    /// The reply a call from the PBX got when first logged (JSON), or nil for a new call.
    public func pbxCall(key: String) throws -> String? {
        try String.fetchOne(db, sql: "SELECT outcome FROM pbx_calls WHERE call_key = ?", arguments: [key])
    }

    /// Records a call from the PBX as logged, with its reply (`outcome`, JSON).
    public func recordPBXCall(key: String, at: Date, byLogin: String, outcome: String) throws {
        try exec("INSERT INTO pbx_calls(call_key, received_at, by_login, outcome) VALUES (?, ?, ?, ?)", [key, ms(at), byLogin, outcome])
    }

    /// The active user whose PBX extension is `ext`.
    public func userID(extension ext: String) throws -> Int64? {
        try Int64.fetchOne(db, sql: "SELECT id FROM users WHERE extension = ? AND active = 1", arguments: [ext])
    }

    /// A user's PBX extension, or nil.
    public func userExtension(id: Int64) throws -> String? {
        try String.fetchOne(db, sql: "SELECT extension FROM users WHERE id = ?", arguments: [id])
    }

    /// Sets or clears a user's extension; the caller has checked it is free.
    public func setUserExtension(id: Int64, _ ext: String?) throws {
        try exec("UPDATE users SET extension = ? WHERE id = ?", [ext, id])
    }

    /// The user holding extension `ext`, active or not (to refuse a taken one).
    public func userHolding(extension ext: String) throws -> (id: Int64, login: String)? {
        try Row.fetchOne(db, sql: "SELECT id, login FROM users WHERE extension = ?", arguments: [ext]).map { ($0[0], $0[1]) }
    }
}
