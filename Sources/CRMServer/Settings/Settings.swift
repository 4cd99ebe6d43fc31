public import CRMCore
public import CRMStore
public import Foundation
public import Logging

/// Every setting crmd reads, with its default. `config/crmd.yaml` documents each one; every key
/// can also be set by an environment variable `CRMD_` + the key in upper case with `_` for `.`
/// (`store.path` → `CRMD_STORE_PATH`). The environment wins over the file.
public struct Settings: Sendable {
    /// Unix socket path (`server.socket`).
    public var socketPath: String
    /// Permission bits of the socket file (`server.socket_mode`, default 0660).
    public var socketMode: UInt32 = 0o660
    /// Database file (`store.path`).
    public var databasePath: String
    /// `store.synchronous` (FULL).
    public var synchronous = "FULL"
    /// `store.group_commit_max` (512).
    public var groupCommitMax = 512
    /// `protocol.max_line_bytes` (1 MiB).
    public var maxLineBytes = 1 << 20
    /// `protocol.max_batch_items` (100): a longer batch is refused whole, nothing run.
    public var maxBatchItems = 100
    /// `protocol.max_batch_reply_bytes` (4 MiB): once a batch's replies pass this, its remaining
    /// items are not run and each gets 1007.
    public var maxBatchReplyBytes = 4 << 20
    /// `protocol.max_buffered_bytes_per_uid` (32 MiB): request and batch-reply bytes crmd may hold
    /// in memory for one non-admin uid, over all its connections (beyond a small fixed buffer
    /// each).
    public var maxBufferedBytesPerUID = 32 << 20
    /// `protocol.max_buffered_bytes` (256 MiB): the same, for all non-admin connections together.
    public var maxBufferedBytes = 256 << 20
    /// `server.max_connections` (4096): connections of everyone but admins.
    public var maxConnections = 4096
    /// `server.max_connections_per_uid` (128): connections one non-admin uid may hold.
    public var maxConnectionsPerUID = 128
    /// `server.admin_connections` (64): connections admins may open beyond `max_connections`, so an
    /// admin always gets in.
    public var adminConnections = 64
    /// `server.idle_timeout` in seconds (0 = never; default PT0S).
    public var idleTimeoutSeconds = 0
    /// `log.level` (info): the least severe level logged; a reload changes it while crmd runs.
    public var logLevel = Logger.Level.info
    /// `log.target` (auto): the journal, stderr, or the journal when stderr is connected to it.
    public var logTarget = CRMLogging.Target.auto
    /// The domain rules' settings.
    public var domain = DomainSettings()
    /// `alerts.delivery_command`: run for every delivered alert with the alert as JSON on stdin.
    public var deliveryCommand: String? = nil
    /// `alerts.delivery_timeout` in seconds (default PT30S): a delivery command still running
    /// after this long is killed with its whole process group, and its alert retried.
    public var deliveryTimeoutSeconds = 30
    /// `notify.delivery_command`: run for every message to a client (issue 22 part 4) with the
    /// message as JSON on stdin; none: clients are told nothing and nothing is stored.
    public var notifyCommand: String? = nil
    /// `subscriptions.max_queue_bytes`: unread notifications an admin's subscriber may have
    /// pending in the kernel (others keep the kernel's default send buffer).
    public var subscriberQueueBytes = 4 << 20
    /// `subscriptions.max_per_connection` (16): open subscriptions one connection may hold.
    public var maxSubscriptionsPerConnection = 16
    /// `subscriptions.max_per_uid` (64): open subscriptions one non-admin uid may hold over all
    /// its connections.
    public var maxSubscriptionsPerUID = 64
    /// `subscriptions.stall_timeout` in seconds: a subscriber that reads nothing for this long
    /// while events wait is sent one final notice and closed (default PT10S).
    public var subscriberStallSeconds = 10
    /// `reports.cold_call_window` in seconds: a call within this long after its author took the
    /// client from the exchange or from unassigned is a cold call in `report.activity` (default P14D).
    public var coldCallWindowSeconds = 14 * 86_400

    /// Settings with these paths and every other value at its default.
    public init(socketPath: String, databasePath: String) {
        self.socketPath = socketPath
        self.databasePath = databasePath
    }
}

/// A setting that is wrong: the key, the value and what to do.
public struct SettingsError: Error, CustomStringConvertible {
    public var key: String
    public var problem: String
    public var description: String { "config key '\(key)': \(problem)" }
}

/// Where crmd keeps its state when nothing says otherwise.
public enum DefaultPaths {
    /// `/run/crmd/crmd.sock` for root; else `$XDG_RUNTIME_DIR/crmd/crmd.sock`, or a private folder
    /// under the temp dir named after the uid.
    public static func socket(environment env: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if getuid() == 0 { return "/run/crmd/crmd.sock" }
        if let rt = env["XDG_RUNTIME_DIR"], !rt.isEmpty { return rt + "/crmd/crmd.sock" }
        let tmp = env["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        return "\(tmp)/crmd-\(getuid())/crmd.sock"
    }

    /// The folder of the per-user socket (`$XDG_RUNTIME_DIR/crmd` or `/tmp/crmd-UID`), which
    /// crmd creates 0700 and refuses unless it is its own with mode 0700; nil for root, whose
    /// `/run/crmd` only root can make.
    public static func privateSocketFolder(environment env: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        getuid() == 0 ? nil : (socket(environment: env) as NSString).deletingLastPathComponent
    }

    /// `crmd.sqlite` in systemd's `$STATE_DIRECTORY` (`StateDirectory=crmd` → /var/lib/crmd) when
    /// set; else `/var/lib/crmd/crmd.sqlite` for root; else `$XDG_STATE_HOME/crmd/crmd.sqlite`
    /// (`~/.local/state/crmd/crmd.sqlite`).
    public static func database(environment env: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let dir = env["STATE_DIRECTORY"]?.split(separator: ":").first { return "\(dir)/crmd.sqlite" }
        if getuid() == 0 { return "/var/lib/crmd/crmd.sqlite" }
        if let st = env["XDG_STATE_HOME"], !st.isEmpty { return st + "/crmd/crmd.sqlite" }
        let home = env["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return home + "/.local/state/crmd/crmd.sqlite"
    }
}

extension Settings {
    /// The store options these settings ask for.
    public var storeOptions: StoreOptions {
        StoreOptions(synchronous: synchronous, maxBatch: groupCommitMax)
    }
}
