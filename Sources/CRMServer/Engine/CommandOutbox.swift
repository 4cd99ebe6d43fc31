import CRMStore
import Foundation

/// What the outboxes handed to a delivery command share — the alerts to staff
/// (`alerts.delivery_command`) and the messages to clients (`notify.delivery_command`): which
/// stored items are due for an attempt, what goes on the command's stdin, and where an outcome
/// is recorded. ``AlertDeliverer/drain(_:command:now:until:)`` runs one pass over either; a
/// failure is retried after ``backoff(afterAttempts:)``, never dropped.
struct CommandOutbox<Item: Sendable>: Sendable {
    /// What an item is called in the log ("alert", "notification").
    var what: String
    /// Items whose attempt has come, at most a pass's worth.
    var due: @Sendable (Tx, Date) throws -> [Item]
    var id: @Sendable (Item) -> Int64
    /// Attempts made before this one.
    var attempts: @Sendable (Item) -> Int
    /// The item as one JSON line for the command's stdin.
    var payload: @Sendable (Item) -> String
    /// Records an attempt: `error` nil when delivered, else the next attempt's instant in `next`.
    var record: @Sendable (_ tx: Tx, _ id: Int64, _ error: String?, _ now: Date, _ next: Date?) throws -> Void

    /// How long after its `attempts`-th failure an item is tried again: 5 s, doubling, at most 1 h.
    static func backoff(afterAttempts attempts: Int) -> TimeInterval {
        min(3600.0, 5.0 * pow(2.0, Double(min(max(attempts, 1) - 1, 12))))
    }
}
