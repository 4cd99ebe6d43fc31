import Foundation

// What crm-bench reads of crmd and the host from /proc.

extension Bench {
    /// User + system CPU seconds of a process, from /proc.
    func cpuSeconds(pid: Int32) -> Double {
        guard let s = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = s.lastIndex(of: ")")
        else { return 0 }
        let fields = s[s.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let u = Double(fields[11]), let k = Double(fields[12]) else { return 0 }
        return (u + k) / Double(sysconf(Int32(_SC_CLK_TCK)))
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
}
