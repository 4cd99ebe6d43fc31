public import CRMCore
public import Foundation
import GRDB

extension Tx {
    static let taskColumns = """
        id, title, note, kind, assignee_id, creator_login, client_id, deal_id, due_at, remind_at, done_at, done_by, interaction_id, \
        created_at, updated_at
        """

    func task(from r: Row) -> TaskItem {
        TaskItem(
            id: r[0], title: r[1], note: r[2], kind: r[3], assigneeID: r[4], creatorLogin: r[5], clientID: r[6], dealID: r[7],
            dueAt: date(r[8] as Int64), remindAt: dateOpt(r[9] as Int64?), doneAt: dateOpt(r[10] as Int64?), doneBy: r[11],
            interactionID: r[12], createdAt: date(r[13] as Int64), updatedAt: date(r[14] as Int64))
    }

    func taskArguments(_ t: TaskItem) -> [(any DatabaseValueConvertible)?] {
        [
            t.title, t.note, t.kind, t.assigneeID, t.creatorLogin, t.clientID, t.dealID, ms(t.dueAt), msOpt(t.remindAt), msOpt(t.doneAt),
            t.doneBy, t.interactionID, ms(t.createdAt), ms(t.updatedAt),
        ]
    }

    /// Stores a new task; its id is assigned.
    public func insertTask(_ t: TaskItem) throws -> TaskItem {
        try exec(
            """
            INSERT INTO tasks(title, note, kind, assignee_id, creator_login, client_id, deal_id, due_at, remind_at, done_at, done_by,
              interaction_id, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, StatementArguments(taskArguments(t)))
        var saved = t
        saved.id = lastID
        return saved
    }

    /// Writes every field of a stored task.
    public func saveTask(_ t: TaskItem) throws {
        try exec(
            """
            UPDATE tasks SET title = ?, note = ?, kind = ?, assignee_id = ?, creator_login = ?, client_id = ?, deal_id = ?, due_at = ?,
              remind_at = ?, done_at = ?, done_by = ?, interaction_id = ?, created_at = ?, updated_at = ?
            WHERE id = ?
            """, StatementArguments(taskArguments(t) + [t.id]))
    }

    /// Marks a task announced: the scheduler is done with it.
    public func taskAnnounced(id: Int64) throws {
        try prepared("UPDATE tasks SET remind_at = NULL WHERE id = ?").run(id)
    }

    public func task(id: Int64) throws -> TaskItem? {
        try row("SELECT \(Self.taskColumns) FROM tasks WHERE id = ?", [id]).map(task(from:))
    }

    /// A page of tasks: one assignee's or everyone's, open or done or both, due before an
    /// instant; open ones soonest first, else by id. The cursor is `due_at:id`.
    public func tasks(
        assigneeID: Int64?, done: Bool?, dueFrom: Date? = nil, dueBefore: Date?, dealID: Int64? = nil, clientID: Int64? = nil,
        cursor: String?, limit: Int
    ) throws -> Page<TaskItem> {
        var w = SQLFilter()
        w.add("assignee_id = ?", ifSet: assigneeID)
        if let v = done { w.add(v ? "done_at IS NOT NULL" : "done_at IS NULL") }
        w.add("due_at >= ?", ifSet: msOpt(dueFrom))
        w.add("due_at < ?", ifSet: msOpt(dueBefore))
        w.add("deal_id = ?", ifSet: dealID)
        w.add("client_id = ?", ifSet: clientID)
        if let c = cursor {
            let parts = c.split(separator: ":")
            if parts.count == 2, let a = Int64(parts[0]), let b = Int64(parts[1]) { w.add("(due_at, id) > (?, ?)", a, b) }
        }
        return try page("SELECT \(Self.taskColumns) FROM tasks", w, order: "due_at, id", limit: limit, task(from:)) {
            "\(ms($0.dueAt)):\($0.id)"
        }
    }

    /// Tasks to announce due at or before `instant`, soonest first.
    public func dueTasks(upTo instant: Date, limit: Int) throws -> [TaskItem] {
        try rows(
            "SELECT \(Self.taskColumns) FROM tasks WHERE remind_at IS NOT NULL AND remind_at <= ? ORDER BY remind_at, id LIMIT ?",
            [ms(instant), limit]
        ).map(task(from:))
    }

    /// Whether a deal, a task or an invoice has cadence, due or overdue work at or before `now`.
    public func anyDealOrTaskDue(upTo now: Date) throws -> Bool {
        try Int64.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT 1 WHERE EXISTS (SELECT 1 FROM deals WHERE due_at IS NOT NULL AND due_at <= ?)
                      OR EXISTS (SELECT 1 FROM tasks WHERE remind_at IS NOT NULL AND remind_at <= ?)
                      OR EXISTS (SELECT 1 FROM invoices WHERE remind_at IS NOT NULL AND remind_at <= ?)
                    """),
            arguments: [ms(now), ms(now), ms(now)]
        ) != nil
    }

    /// The earliest instant a deal, a task or an invoice has work due.
    public func earliestDealOrTaskDue() throws -> Date? {
        try Int64.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT min(x) FROM (SELECT min(due_at) AS x FROM deals WHERE due_at IS NOT NULL
                      UNION ALL SELECT min(remind_at) FROM tasks WHERE remind_at IS NOT NULL
                      UNION ALL SELECT min(remind_at) FROM invoices WHERE remind_at IS NOT NULL)
                    """)
        ).map { date($0) }
    }
}
