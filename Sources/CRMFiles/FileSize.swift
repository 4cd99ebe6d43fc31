import Foundation

/// A file's size as people read it, "11.8 MiB (12345678 bytes)": `crmd --check` shows the
/// database's, crmctl a backup's.
public func fileSizeText(_ n: Int64) -> String {
    let units = ["bytes", "KiB", "MiB", "GiB", "TiB"]
    var v = Double(n)
    var i = 0
    while v >= 1024, i < units.count - 1 {
        v /= 1024
        i += 1
    }
    return i == 0 ? "\(n) bytes" : String(format: "%.1f", v) + " \(units[i]) (\(n) bytes)"
}
