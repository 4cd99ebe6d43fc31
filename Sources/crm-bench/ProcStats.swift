import Foundation

/// What crm-bench reads of crmd and the host from /proc (and a file's size).
enum ProcStats {
    /// A process's user + system CPU time in seconds, from /proc/PID/stat.
    static func cpuSeconds(pid: Int32) -> Double {
        guard let s = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = s.lastIndex(of: ")")
        else { return 0 }
        // Fields after the command name: state is field 3; utime and stime are fields 14 and 15.
        let fields = s[s.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    static func rssMiB(pid: Int32) -> Double { procMiB("/proc/\(pid)/status", "VmRSS:") }

    /// The host's MemAvailable in MiB (/proc/meminfo).
    static func memAvailableMiB() -> Double { procMiB("/proc/meminfo", "MemAvailable:") }

    /// A `key: N kB` line of a /proc file, in MiB (-1 when it cannot be read).
    static func procMiB(_ file: String, _ key: String) -> Double {
        guard let s = try? String(contentsOfFile: file, encoding: .utf8),
            let line = s.split(separator: "\n").first(where: { $0.hasPrefix(key) }),
            let kb = line.split(separator: " ").dropFirst().first.flatMap({ Double($0) })
        else { return -1 }
        return kb / 1024
    }

    /// A file's size in MiB (0 when it does not exist).
    static func fileMiB(_ path: String) -> Double {
        var st = stat()
        return stat(path, &st) == 0 ? Double(st.st_size) / 1_048_576 : 0
    }
}
