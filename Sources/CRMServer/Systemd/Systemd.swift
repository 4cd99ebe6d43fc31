import CSystemd
import Foundation

/// The service manager's side of crmd: readiness and status (`sd_notify`), the watchdog, and
/// sockets passed by socket activation. Every call is a no-op when crmd was not started by
/// systemd (no `NOTIFY_SOCKET`, no `LISTEN_FDS`), so the same binary runs by hand.
public enum Systemd {
    /// Sends `state` (newline-separated `KEY=VALUE` lines) to the service manager. Returns false
    /// when crmd is not supervised or the message could not be sent.
    @discardableResult
    public static func notify(_ state: String) -> Bool {
        state.withCString { sd_notify(0, $0) } > 0
    }

    /// Whether crmd runs under systemd's notify protocol.
    public static var supervised: Bool {
        guard let s = ProcessInfo.processInfo.environment["NOTIFY_SOCKET"] else { return false }
        return !s.isEmpty
    }

    /// The watchdog interval systemd expects pings within (`WatchdogSec=`), if it is enabled for
    /// this process.
    public static func watchdogInterval() -> Duration? {
        var usec: UInt64 = 0
        guard sd_watchdog_enabled(0, &usec) > 0, usec > 0 else { return nil }
        return .microseconds(Int64(usec))
    }

    /// The sockets systemd passed (`LISTEN_FDS`, `LISTEN_FDNAMES`), as (fd, name) pairs. Unsets
    /// the variables so children (the delivery command) do not see them.
    public static func listenFDs() -> [(fd: Int32, name: String)] {
        var names: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = nil
        let n = sd_listen_fds_with_names(1, &names)
        guard n > 0 else { return [] }
        defer {
            if let names {
                for i in 0..<Int(n) { free(names[i]) }
                free(names)
            }
        }
        return (0..<Int(n)).map { i in
            let name = names?[i].map { String(cString: $0) } ?? "unknown"
            return (SD_LISTEN_FDS_START + Int32(i), name)
        }
    }
}
