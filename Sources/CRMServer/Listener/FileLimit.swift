import Foundation
import Logging

/// Raises the soft limit on open files to the hard limit, so `server.max_connections` (default
/// 4096) is not cut short by the usual soft limit of 1024: every connection is a descriptor.
/// Returns the limit in force.
func raiseOpenFileLimit() -> Int {
    guard var limit = try? Posix.openFileLimit() else { return 1024 }
    if limit.rlim_cur < limit.rlim_max {
        var raised = limit
        raised.rlim_cur = limit.rlim_max
        if (try? Posix.setOpenFileLimit(raised)) != nil { limit = raised }
    }
    return Int(clamping: limit.rlim_cur)
}

/// How crmd's descriptors are shared out: the open-file limit (raised to the hard one first) less
/// what is open now (the database, the listener, logs) and room for what opens later (read
/// connections, backups, delivery commands: ``descriptorHeadroom``) is split between refused
/// connections waiting to close (a quarter, at most 256: ``Lingering``), the accept thread's
/// spare, and connections. Admission never admits past ``connections`` (``limits(_:)``), so crmd
/// does not run out of descriptors with connections and an admin's connection always has one
/// (issue 15 §12).
struct DescriptorShares {
    var connections: Int
    var lingering: Int

    /// The connection limits in force: the admins' reserve first (at most half the descriptors),
    /// then everyone else's, each at most its setting.
    static func limits(connections: Int, _ settings: Settings) -> (admins: Int, others: Int) {
        let admins = min(settings.adminConnections, connections / 2)
        return (admins, max(0, min(settings.maxConnections, connections - admins)))
    }

    static func now() -> DescriptorShares {
        let limit = raiseOpenFileLimit()
        let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 64
        let available = max(0, limit - open - descriptorHeadroom - 1)
        let lingering = min(256, available / 4)
        return DescriptorShares(connections: available - lingering, lingering: max(1, lingering))
    }
}

/// Descriptors kept for what crmd opens after start-up besides connections.
let descriptorHeadroom = 64

/// Logs a warning when the descriptors cut the connection limits short.
func warnIfDescriptorsShort(_ slots: Int, settings: Settings, logger: Logger) {
    guard slots < settings.maxConnections + settings.adminConnections else { return }
    let limits = DescriptorShares.limits(connections: slots, settings)
    logger.warning(
        "the open-file limit allows fewer connections than server.max_connections and server.admin_connections; raise LimitNOFILE (or ulimit -n) to lift it",
        metadata: [
            "descriptors_for_connections": "\(slots)", "max_connections_in_force": "\(limits.others)",
            "admin_connections_in_force": "\(limits.admins)",
        ])
}
