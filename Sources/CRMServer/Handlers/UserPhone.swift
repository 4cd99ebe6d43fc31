import CRMCore
import CRMProtocol
import CRMStore
import Foundation

/// A user's own phone (`phone` in user.add and user.update): their mobile, by which call.ended
/// and call.import tell whose a call is when no extension says it (a call forwarded to the
/// mobile, or made from it through the PBX).
extension UserHandlers {
    /// `phone`: a number normalized as clients' phones are (without an extension), or null to clear.
    static func phonePatch(_ r: inout ParamReader, _ domain: DomainSettings) -> Patch<String> {
        guard r.has("phone") else { return .unchanged }
        guard let v = r.optionalString("phone") else { return .clear }
        guard v.utf8.count <= 64,
            let p = Phone.normalize(v, defaultCountryCode: domain.defaultCountryCode, nationalLength: domain.nationalNumberLength),
            !p.contains(";")
        else {
            r.problem("phone", "'\(v.prefix(40))' is not a phone number like +7 912 345-67-89 (without an extension)")
            return .unchanged
        }
        return .set(p)
    }

    /// Applies a phone change to user `id` (refusing one another user holds) and returns `json`
    /// (the user's card) with the phone in it.
    func applyPhone(_ tx: Tx, _ patch: Patch<String>, userID id: Int64, to json: JSON) throws -> JSON {
        switch patch {
        case .set(let p):
            if let other = try tx.userHolding(phone: p), other.id != id {
                throw DomainError(
                    .conflict, "The phone \(p) already belongs to user '\(other.login)'.", fields: [("phone", "is taken")],
                    details: [("user_id", .int(other.id))])
            }
            try tx.setUserPhone(id: id, p)
        case .clear: try tx.setUserPhone(id: id, nil)
        case .unchanged: break
        }
        guard case .object(var o) = json else { return json }
        o["phone"] = .string(try tx.userPhone(id: id))
        return .object(o)
    }
}
