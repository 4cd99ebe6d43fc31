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

// MARK: the other questions crmd asks about an actor

extension Access {
    /// May run the connection as another user (`session.act_as`). Asked of the real identity
    /// behind the connection, never of the user acted as.
    public static func canActAs(_ real: Actor) -> Bool { real.role == .admin }

    /// Is admitted and served as an admin: from the admins' reserve of connections
    /// (`server.admin_connections`), never counted against the shared buffer budget nor queued
    /// for a turn behind others' requests. Asked of the real identity behind a connection when it
    /// is admitted.
    public static func isServedAsAdmin(_ real: Actor) -> Bool { real.role == .admin }

    /// Gets a subscriber send buffer of `subscriptions.max_queue_bytes` (others keep the kernel's
    /// default). Asked of the real identity behind the connection.
    public static func hasLargeSubscriberQueue(_ real: Actor) -> Bool { real.role == .admin }

    /// May take a backup of the database and read it back (`server.backup`, `server.backup_read`).
    public static func canBackUp(_ actor: Actor) -> Bool { actor.role == .admin }

    /// May move the test clock (`clock.advance`, `clock.set`, with `--clock manual`).
    public static func canMoveClock(_ actor: Actor) -> Bool { actor.role == .admin }

    /// May run the ABC/XYZ computation on demand (`abc.compute`): those who see every client.
    public static func canComputeClasses(_ actor: Actor) -> Bool {
        actor.role == .admin || actor.role == .head || actor.role == .director
    }

    /// May lead clients: be a client's owner, receive a departing user's clients. Managers and
    /// heads only.
    public static func canLeadClients(_ user: User) -> Bool { leadsClients(user.role) }

    /// May claim clients from the exchange (`exchange.claim`): managers and heads, those who may
    /// lead clients. An admin is no manager.
    public static func canClaim(_ actor: Actor) -> Bool { leadsClients(actor.role) }

    static func leadsClients(_ role: Role) -> Bool {
        switch role {
        case .manager, .head: return true
        case .admin, .director, .operator, .accountant: return false
        }
    }

    /// May release a client owned by `ownerID` to the exchange (`client.release`): a head or admin
    /// any client, a manager their own. The caller has checked that the client is assigned.
    public static func canRelease(_ actor: Actor, ownerID: Int64?) -> Bool {
        switch actor.role {
        case .admin, .head: return true
        case .manager: return ownerID == actor.userID
        case .director, .operator, .accountant: return false
        }
    }

    /// May see the zone report and the release preview (`report.zones`, `exchange.preview`);
    /// a manager sees only their own row (``seesOnlyOwnClients(_:)``).
    public static func canSeeZoneReports(_ actor: Actor) -> Bool {
        switch actor.role {
        case .admin, .head, .director, .manager: return true
        case .operator, .accountant: return false
        }
    }

    /// Whether the actor's views are narrowed to the clients they own: a manager's report row, release
    /// preview, default client list and stored events. Others see every owner's.
    @inlinable
    public static func seesOnlyOwnClients(_ actor: Actor) -> Bool { actor.role == .manager }

    /// Whether a client this actor creates without naming an owner is their own (a manager's is;
    /// anyone else's is unassigned).
    public static func ownsWhatTheyCreate(_ actor: Actor) -> Bool { actor.role == .manager }

    /// Whether the exchange's hold on a manager binds the cards this actor creates or renames for
    /// the owner: the company's cooldown, and `exchange.max_clients_per_manager`. Managers only; a
    /// head or admin giving someone a card on purpose is not bound (as with `client.assign`).
    public static func isBoundByExchangeOnCards(_ actor: Actor) -> Bool { actor.role == .manager }

    /// Whether an interaction this actor logs on a client owned by `ownerID` counts as the owner's
    /// own contact for the zone clock (RULES §3): the owner's, or a head's or admin's on the
    /// owner's behalf.
    public static func contactsForOwner(_ actor: Actor, ownerID: Int64?) -> Bool {
        actor.userID == ownerID || actor.role == .head || actor.role == .admin
    }

    /// Whether `user` gets copies of red-zone reminders about others' clients (`red_copy`): every
    /// active head.
    public static func getsRedZoneCopies(_ user: User) -> Bool { user.role == .head && user.active }

    /// May see an event recorded with `ownerID` (for a release the owner it left, for a claim or
    /// assignment the new owner) and `previousOwnerID` (the owner an assignment took it from).
    /// An alert reaches only its addressee (its `ownerID`); admins, directors and heads see every
    /// other event; a manager sees their own clients' events, the assignment of a client taken
    /// from them and the exchange's (`exchange`: releases and claims); operators and accountants
    /// the exchange's only. On the path of every event to every subscriber: a few compares.
    @inlinable
    public static func canSeeEvent(_ actor: Actor, ownerID: Int64?, previousOwnerID: Int64?, alert: Bool, exchange: Bool) -> Bool {
        if alert { return ownerID != nil && ownerID == actor.userID }
        switch actor.role {
        case .admin, .head, .director: return true
        case .manager:
            return (ownerID != nil && ownerID == actor.userID) || (previousOwnerID != nil && previousOwnerID == actor.userID) || exchange
        case .operator, .accountant:
            return exchange
        }
    }
}

// MARK: deals and tasks (RULES §7; issue 17's rights)

extension Access {
    /// May open deals: on own clients for a manager; on any client for a head, admin or operator
    /// (an operator's deal goes to the client's lead manager).
    public static func canCreateDeal(_ actor: Actor, clientOwnerID: Int64?) -> Bool {
        switch actor.role {
        case .admin, .head, .operator: return true
        case .manager: return clientOwnerID != nil && clientOwnerID == actor.userID
        case .director, .accountant: return false
        }
    }

    /// May read a deal owned by `ownerID` (amounts included): its owner; heads, directors,
    /// admins, operators and accountants every deal.
    public static func canSeeDeal(_ actor: Actor, ownerID: Int64?) -> Bool {
        switch actor.role {
        case .admin, .director, .head, .operator, .accountant: return true
        case .manager: return ownerID != nil && ownerID == actor.userID
        }
    }

    /// May change, move and close a deal owned by `ownerID`: its owner, a head or an admin.
    public static func canWorkDeal(_ actor: Actor, ownerID: Int64?) -> Bool {
        switch actor.role {
        case .admin, .head: return true
        case .manager: return ownerID != nil && ownerID == actor.userID
        case .director, .operator, .accountant: return false
        }
    }

    /// May move a deal back a stage, skip stages, reopen a closed deal and give a deal to
    /// another owner: heads and admins.
    public static func canOverrideDealOrder(_ actor: Actor) -> Bool { actor.role == .admin || actor.role == .head }

    /// May own deals: those who may lead clients.
    public static func canOwnDeals(_ user: User) -> Bool { leadsClients(user.role) && user.active }

    /// May give a task to `assigneeID`: anyone to themselves; heads, admins and operators to
    /// anyone.
    public static func canAssignTask(_ actor: Actor, to assigneeID: Int64) -> Bool {
        switch actor.role {
        case .admin, .head, .operator: return true
        case .manager, .director, .accountant: return assigneeID == actor.userID
        }
    }

    /// May see, change and complete tasks assigned to `assigneeID` (made by `creatorLogin`):
    /// the assignee and the task's author; heads and admins any; directors see all.
    public static func canSeeTask(_ actor: Actor, assigneeID: Int64, creatorLogin: String) -> Bool {
        switch actor.role {
        case .admin, .head, .director: return true
        case .manager, .operator, .accountant: return assigneeID == actor.userID || creatorLogin == actor.login
        }
    }

    /// May change or complete a task (see ``canSeeTask(_:assigneeID:creatorLogin:)``): not a
    /// director's to touch unless it is theirs.
    public static func canWorkTask(_ actor: Actor, assigneeID: Int64, creatorLogin: String) -> Bool {
        switch actor.role {
        case .admin, .head: return true
        case .manager, .operator, .accountant, .director: return assigneeID == actor.userID || creatorLogin == actor.login
        }
    }

    /// May list tasks and the day of another user: heads, directors and admins.
    public static func canSeeOthersDay(_ actor: Actor) -> Bool { actor.role == .admin || actor.role == .head || actor.role == .director }
}
