import CRMCSV
import CRMProtocol
import Foundation

/// How far a real import of a file got: saved after every batch in
/// `$XDG_STATE_HOME/crmctl/imports/KEY.json` (default `~/.local/state/...`), where KEY is the
/// SHA-256 of the file and the options. A rerun skips the batches it names; a batch done but not
/// yet saved here is sent again with the same `request_id`, and crmd answers it from its stored
/// reply without writing twice.
struct ImportState {
    let key: String
    var doneBatches = 0
    var imported = 0
    var bad = 0
    var dupBase = 0
    var dupFile = 0
    var complete = false
    /// The report lines of the done batches, printed again on resume.
    var report = ""
    /// How much of the keys file (`KEY.keys`: the done batches' accepted phones and e-mails as
    /// 64-bit hashes with their lines, 12 bytes each) belongs to the done batches.
    var keysBytes: Int64 = 0

    init(key: String) { self.key = key }

    static var folder: String {
        let env = ProcessInfo.processInfo.environment
        let base = env["XDG_STATE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (NSHomeDirectory() + "/.local/state")
        return base + "/crmctl/imports"
    }

    var path: String { Self.folder + "/\(key).json" }
    var keysPath: String { Self.folder + "/\(key).keys" }

    /// Appends a batch's accepted keys to the keys file.
    mutating func append(keys: [(UInt64, Int32)]) throws {
        if keys.isEmpty { return }
        try FileManager.default.createDirectory(
            atPath: Self.folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        if !FileManager.default.fileExists(atPath: keysPath) {
            _ = FileManager.default.createFile(atPath: keysPath, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        guard let h = FileHandle(forWritingAtPath: keysPath) else { throw ImportFailure(tr("cannot write \(keysPath)")) }
        defer { try? h.close() }
        try h.truncate(atOffset: UInt64(keysBytes))
        var bytes: [UInt8] = []
        bytes.reserveCapacity(keys.count * 12)
        for (hash, line) in keys {
            withUnsafeBytes(of: hash.littleEndian) { bytes.append(contentsOf: $0) }
            withUnsafeBytes(of: line.littleEndian) { bytes.append(contentsOf: $0) }
        }
        try h.write(contentsOf: bytes)
        keysBytes += Int64(bytes.count)
    }

    /// The done batches' keys, for the duplicate check of the batches still to send.
    func loadKeys(into seen: inout [UInt64: Int32]) {
        guard keysBytes > 0, let h = FileHandle(forReadingAtPath: keysPath) else { return }
        defer { try? h.close() }
        var left = Int(keysBytes)
        while left > 0, let chunk = try? h.read(upToCount: min(left, 12 << 16)), !chunk.isEmpty {
            let b = [UInt8](chunk)
            var i = 0
            while i + 12 <= b.count {
                var hash: UInt64 = 0
                for k in 0..<8 { hash |= UInt64(b[i + k]) << (8 * k) }
                var line: UInt32 = 0
                for k in 0..<4 { line |= UInt32(b[i + 8 + k]) << (8 * k) }
                seen[hash] = Int32(bitPattern: line)
                i += 12
            }
            left -= b.count
        }
    }

    mutating func reset() {
        self = ImportState(key: key)
        try? FileManager.default.removeItem(atPath: path)
        try? FileManager.default.removeItem(atPath: keysPath)
    }

    mutating func load() throws {
        guard let data = FileManager.default.contents(atPath: path) else { return }
        guard let o = try? JSONParser.parse(String(decoding: data, as: UTF8.self)) else { return }
        func n(_ k: String) -> Int { Int(o[k]?.intValue ?? 0) }
        (doneBatches, imported, bad, dupBase, dupFile) = (n("batches"), n("imported"), n("bad"), n("dup_base"), n("dup_file"))
        complete = o["complete"]?.boolValue ?? false
        report = o["report"]?.stringValue ?? ""
        keysBytes = o["keys_bytes"]?.intValue ?? 0
    }

    /// Writes the state to a temporary file and renames it over the old one.
    func save() throws {
        try FileManager.default.createDirectory(
            atPath: Self.folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let o: JSON = [
            "batches": .int(Int64(doneBatches)), "imported": .int(Int64(imported)), "bad": .int(Int64(bad)),
            "dup_base": .int(Int64(dupBase)), "dup_file": .int(Int64(dupFile)), "complete": .bool(complete), "report": .string(report),
            "keys_bytes": .int(keysBytes),
        ]
        let tmp = path + ".tmp"
        guard FileManager.default.createFile(atPath: tmp, contents: Data(JSONWriter.bytes(o)), attributes: [.posixPermissions: 0o600])
        else { throw ImportFailure(tr("cannot write the import's progress to \(tmp)")) }
        if rename(tmp, path) != 0 {
            throw ImportFailure(tr("cannot write the import's progress to \(path): \(String(cString: strerror(errno)))"))
        }
    }
}

/// The progress line on stderr while a file is read, when stderr is a terminal: rows, share of
/// the file, rows per second; redrawn at most 5 times a second.
final class Progress {
    let total: Int64
    let tty = isatty(2) == 1
    let start = Date()
    var last = Date.distantPast
    var shown = false

    init(total: Int64) { self.total = total }

    func show(rows: Int, at bytes: Int64) {
        guard tty else { return }
        let now = Date()
        guard now.timeIntervalSince(last) >= 0.2 else { return }
        last = now
        let pct = total > 0 ? Int(bytes * 100 / total) : 0
        let rate = Int(Double(rows) / max(now.timeIntervalSince(start), 0.001))
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + tr("\(rows, "row", "rows") read (\(pct) %), \(rate) rows/s")).utf8))
        shown = true
    }

    func clear() {
        guard shown else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
        shown = false
    }

    func done() { clear() }
}
