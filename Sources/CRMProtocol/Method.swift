/// Every method crmd answers: the registry of names (fixed by PROTOCOL.md) with what each does.
/// The dispatcher switches over this enum exhaustively, so adding a case forces a handler.
public enum Method: String, CaseIterable, Sendable {
    case serverPing = "server.ping"
    case serverStatus = "server.status"
    case serverBackup = "server.backup"
    case serverBackupRead = "server.backup_read"
    case whoami = "whoami"
    case sessionActAs = "session.act_as"
    case userAdd = "user.add"
    case userList = "user.list"
    case userUpdate = "user.update"
    case userDeactivate = "user.deactivate"
    case clientCreate = "client.create"
    case clientGet = "client.get"
    case clientUpdate = "client.update"
    case clientList = "client.list"
    case clientFindByPhone = "client.find_by_phone"
    case clientAssign = "client.assign"
    case clientImport = "client.import"
    case clientHistory = "client.history"
    case interactionLog = "interaction.log"
    case interactionList = "interaction.list"
    case contactCreate = "contact.create"
    case contactGet = "contact.get"
    case contactUpdate = "contact.update"
    case contactList = "contact.list"
    case contactMove = "contact.move"
    case clientRelease = "client.release"
    case clientExplain = "client.explain"
    case exchangeList = "exchange.list"
    case exchangeClaim = "exchange.claim"
    case exchangePreview = "exchange.preview"
    case subscribe = "subscribe"
    case unsubscribe = "unsubscribe"
    case alertList = "alert.list"
    case alertAck = "alert.ack"
    case reportZones = "report.zones"
    case pipelineList = "pipeline.list"
    case pipelineBoard = "pipeline.board"
    case dealCreate = "deal.create"
    case dealGet = "deal.get"
    case dealUpdate = "deal.update"
    case dealList = "deal.list"
    case dealMove = "deal.move"
    case dealClose = "deal.close"
    case dealReopen = "deal.reopen"
    case dealAttach = "deal.attach"
    case dealAttachWrite = "deal.attach_write"
    case dealAttachmentRead = "deal.attachment_read"
    case taskCreate = "task.create"
    case taskList = "task.list"
    case taskUpdate = "task.update"
    case taskDone = "task.done"
    case today = "today"
    case clockAdvance = "clock.advance"
    case clockSet = "clock.set"

    /// Whether the method writes (and so accepts `request_id` for safe retries).
    public var isWrite: Bool {
        switch self {
        case .sessionActAs, .userAdd, .userUpdate, .userDeactivate, .clientCreate, .clientUpdate, .clientAssign, .clientImport,
            .interactionLog, .contactCreate, .contactUpdate, .contactMove, .clientRelease, .exchangeClaim, .alertAck, .dealCreate,
            .dealUpdate, .dealMove, .dealClose, .dealReopen, .dealAttach, .dealAttachWrite, .taskCreate, .taskUpdate, .taskDone:
            return true
        case .serverPing, .serverStatus, .serverBackup, .serverBackupRead, .whoami, .userList, .clientGet, .clientList, .clientFindByPhone,
            .clientHistory,
            .interactionList, .contactGet, .contactList, .clientExplain, .exchangeList, .exchangePreview, .subscribe, .unsubscribe,
            .alertList, .reportZones, .clockAdvance, .clockSet, .pipelineList, .pipelineBoard, .dealGet, .dealList,
            .dealAttachmentRead, .taskList, .today:
            return false
        }
    }

    /// One line on what the method does (crmctl's help and docs use it).
    public var summary: String {
        switch self {
        case .serverPing: return "Check that crmd answers."
        case .serverStatus: return "Version, uptime, clients per zone, connections."
        case .serverBackup: return "Admin only: make a consistent, checked copy of the database to read with server.backup_read."
        case .serverBackupRead: return "Admin only: read the next chunk (base64, up to 512 KiB) of a backup copy."
        case .whoami: return "The user this connection runs as."
        case .sessionActAs: return "Admin only: run the rest of this connection as another user (audited)."
        case .userAdd: return "Add a user (admin)."
        case .userList: return "List users."
        case .userUpdate: return "Change a user's name, role or uid (admin)."
        case .userDeactivate: return "Deactivate a user, optionally handing their clients to another (admin)."
        case .clientCreate: return "Create a client (company or person)."
        case .clientGet: return "A client's card with contacts, recent interactions and deals."
        case .clientUpdate: return "Change a client's fields."
        case .clientList: return "List clients by owner, zone, status, segment or a search query."
        case .clientFindByPhone: return "Caller ID: the client or contact with this phone, in any spelling."
        case .clientAssign: return "Give a client to a manager (head/admin)."
        case .clientImport: return "Create up to 10,000 clients in one transaction (admin/head/operator)."
        case .clientHistory: return "The audit history of a client's card."
        case .interactionLog: return "Log a call, meeting, email, message or note on a client."
        case .interactionList: return "A client's interactions, newest first."
        case .contactCreate: return "Add a contact person to a company."
        case .contactGet: return "A contact with their company history."
        case .contactUpdate: return "Change a contact's fields."
        case .contactList: return "A company's contacts."
        case .contactMove: return "Move a contact to another company, keeping the past affiliation."
        case .clientRelease: return "Release a client to the exchange, with a reason (owner, head or admin)."
        case .clientExplain: return "Why a client is in its zone, what comes next, and what would reset it."
        case .exchangeList: return "Clients on the exchange (and unassigned ones) that a manager may claim."
        case .exchangeClaim: return "Claim a client from the exchange: it becomes yours, green, with a handover summary."
        case .exchangePreview: return "Releases due in the next N days per manager, optionally under proposed thresholds."
        case .subscribe: return "Receive events (zone changes, releases, claims, alerts...) on this connection, from a seq on."
        case .unsubscribe: return "Stop a subscription."
        case .alertList: return "Your alerts, newest first."
        case .alertAck: return "Acknowledge alerts."
        case .reportZones: return "Clients per zone and on the exchange per manager, claims and releases per period."
        case .pipelineList: return "The pipelines: their stages in order, default probabilities and contact cadence."
        case .pipelineBoard: return "The board: open deals per stage (count, sum, overdue), per owner for a head."
        case .dealCreate: return "Open a deal on a client: it starts at the pipeline's first stage and counts as a contact."
        case .dealGet: return "A deal with its stage history, comments and attachments."
        case .dealUpdate: return "Change a deal's title, amount, probability, source, expected close date or owner."
        case .dealList: return "Deals by owner, stage, pipeline, client, status, overdue or period."
        case .dealMove: return "Move a deal to the next stage (a head may skip or go back); counts as a contact."
        case .dealClose: return "Close a deal as won (with the final amount) or lost (with a reason from the list)."
        case .dealReopen: return "Reopen a closed deal at the stage it closed from (head/admin)."
        case .dealAttach: return "Start attaching a file (a proposal) to a deal: name, type, size and SHA-256."
        case .dealAttachWrite: return "Send the next chunk (base64, up to 512 KiB) of an attachment being uploaded."
        case .dealAttachmentRead: return "Read a chunk (base64, up to 512 KiB) of a deal's attachment."
        case .taskCreate: return "Create a task with a due instant for yourself or (head, operator) another user."
        case .taskList: return "Tasks by assignee, due date and done state, soonest first."
        case .taskUpdate: return "Change a task's title, note, due instant or assignee."
        case .taskDone: return "Complete a task; a call or meeting task may log its interaction in the same request."
        case .today: return "The day's list: overdue and today's tasks, deals past their cadence, clients near release."
        case .clockAdvance: return "Manual clock only: move the clock forward and apply everything due."
        case .clockSet: return "Manual clock only: set the clock and apply everything due."
        }
    }
}
