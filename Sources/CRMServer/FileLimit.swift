import Foundation
import Logging

/// Raises the soft limit on open files to the hard limit, so `server.max_connections` (default
/// 4096) is not cut short by the usual soft limit of 1024: every connection is a descriptor.
/// Logs a warning when even the hard limit is below what the connection limit needs.
func raiseOpenFileLimit(for maxConnections: Int, logger: Logger) {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
    if limit.rlim_cur < limit.rlim_max {
        var raised = limit
        raised.rlim_cur = limit.rlim_max
        if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
    }
    // The database, the listener, logs and the delivery command need some descriptors too.
    let needed = rlim_t(maxConnections + 64)
    if limit.rlim_cur < needed {
        logger.warning(
            "the open-file limit is below what server.max_connections needs; connections past it will be refused by the kernel",
            metadata: ["limit": "\(limit.rlim_cur)", "max_connections": "\(maxConnections)"])
    }
}
