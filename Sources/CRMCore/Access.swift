/// Who may do what (RULES §1). Pure decisions on a role, an actor and a client's owner; the
/// server asks these before every read or write, and the rights table in docs/ mirrors them.
public enum Access {
    /// May read the full card (phones, emails, history) of a client owned by `ownerID`.
    public static func canSeeFullCard(_ actor: Actor, ownerID: Int64?) -> Bool {
        switch actor.role {
        case .admin, .director, .head, .operator, .accountant: return true
        case .manager: return ownerID != nil && ownerID == actor.userID
        }
    }

    /// May create clients at all.
    public static func canCreateClient(_ actor: Actor) -> Bool {
        switch actor.role {
        case .admin, .head, .manager, .operator: return true
        case .director, .accountant: return false
        }
    }

    /// May give a new client to `ownerID` on creation (managers only to themselves).
    public static func canCreateOwned(by ownerID: Int64?, actor: Actor) -> Bool {
        switch actor.role {
        case .admin, .head: return true
        case .operator: return true
        case .manager: return ownerID == nil || ownerID == actor.userID
        case .director, .accountant: return false
        }
    }

    /// May edit personal/contact data (name, phones, emails, contacts) of a client owned by `ownerID`.
    /// `personalDataRoles` is the setting of which roles may; managers only ever for their own.
    public static func canEditPersonalData(_ actor: Actor, ownerID: Int64?, personalDataRoles: Set<Role>) -> Bool {
        guard personalDataRoles.contains(actor.role) || actor.role == .admin else { return false }
        if actor.role == .manager { return ownerID != nil && ownerID == actor.userID }
        return true
    }

    /// May edit business fields (segment, source, ABC class, custom fields) of the client.
    public static func canEditBusinessData(_ actor: Actor, ownerID: Int64?) -> Bool {
        switch actor.role {
        case .admin, .head: return true
        case .manager: return ownerID != nil && ownerID == actor.userID
        case .operator, .director, .accountant: return false
        }
    }

    /// May log an interaction on a client owned by `ownerID`.
    public static func canLogInteraction(_ actor: Actor, ownerID: Int64?) -> Bool {
        switch actor.role {
        case .admin, .head: return true
        case .manager: return ownerID != nil && ownerID == actor.userID
        case .operator, .director, .accountant: return false
        }
    }

    /// May assign or reassign clients to any manager.
    public static func canAssign(_ actor: Actor) -> Bool {
        actor.role == .admin || actor.role == .head
    }

    /// May import clients in bulk.
    public static func canImport(_ actor: Actor) -> Bool {
        actor.role == .admin || actor.role == .head || actor.role == .operator
    }

    /// May add, change or deactivate users.
    public static func canManageUsers(_ actor: Actor) -> Bool { actor.role == .admin }

    /// May see users' uids and inactive users.
    public static func canSeeUserDetails(_ actor: Actor) -> Bool { actor.role == .admin || actor.role == .head || actor.role == .director }
}
