import CRMCore
import CRMProtocol
import CRMStore
import Foundation

/// A user's PBX extension (`extension` in user.add and user.update): the number their phone has
/// on the PBX, by which call.ended and call.import tell who took or made a call.
extension UserHandlers {
    /// `extension`: 1-16 digits (or `*`/`#`), or null to clear.
    static func extensionPatch(_ r: inout ParamReader) -> Patch<String> {
        guard r.has("extension") else { return .unchanged }
        guard let v = r.optionalString("extension") else { return .clear }
        let ok = !v.isEmpty && v.utf8.count <= 16 && v.allSatisfy { $0.isASCII && ($0.isNumber || $0 == "*" || $0 == "#") }
        guard ok else {
            r.problem("extension", "'\(v.prefix(20))' is not a PBX extension: 1-16 digits, like 200")
            return .unchanged
        }
        return .set(v)
    }

    /// Applies an extension change to user `id` (refusing one another user holds) and returns
    /// `json` (the user's card) with the extension in it.
    func applyExtension(_ tx: Tx, _ patch: Patch<String>, userID id: Int64, to json: JSON) throws -> JSON {
        switch patch {
        case .set(let e):
            if let other = try tx.userHolding(extension: e), other.id != id {
                throw DomainError(
                    .conflict, "The extension \(e) already belongs to user '\(other.login)'.", fields: [("extension", "is taken")],
                    details: [("user_id", .int(other.id))])
            }
            try tx.setUserExtension(id: id, e)
        case .clear: try tx.setUserExtension(id: id, nil)
        case .unchanged: break
        }
        guard case .object(var o) = json else { return json }
        o["extension"] = .string(try tx.userExtension(id: id))
        return .object(o)
    }
}
