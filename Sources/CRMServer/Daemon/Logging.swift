import CRMSync
import CSystemd
public import Foundation
public import Logging
import Synchronization

/// crmd's logging: where lines go (the journal with structured fields, or readable stderr), and
/// one level shared by every logger that can change while crmd runs (`log.level`, SIGHUP).
///
/// Metadata becomes journal fields: `CRM_` + the key in upper case with anything but A-Z and 0-9
/// turned into `_`, so `logger.info("...", metadata: ["client_id": "42"])` is found with
/// `journalctl CRM_CLIENT_ID=42`.
public enum CRMLogging {
    /// Where log lines go (`log.target`).
    public enum Target: String, Sendable, CaseIterable {
        /// The journal when crmd's stderr is connected to it (systemd's `JOURNAL_STREAM`), else stderr.
        case auto
        /// The journal's native protocol (`sd_journal_sendv`), with every metadata key as a field.
        case journald
        /// Readable lines on standard error.
        case stderr
    }

    /// The level every crmd logger reads; `setLevel` changes it for loggers that exist already.
    static let sharedLevel = SharedLogLevel(.info)

    /// The journal's native socket; its path is fixed in libsystemd.
    static let journalSocket = "/run/systemd/journal/socket"

    /// Installs crmd's log handler as swift-log's backend, with the level and target of `settings`.
    /// Call once, before any `Logger` is made. Returns the target in force (`journald` or `stderr`).
    @discardableResult
    public static func bootstrap(_ settings: Settings, environment: [String: String] = ProcessInfo.processInfo.environment) -> Target {
        setLevel(settings.logLevel)
        var target = resolve(settings.logTarget, environment: environment)
        if target == .journald, !journalListening() {
            printError("crmd: log.target is journald but \(journalSocket) is not a socket; logging to stderr")
            target = .stderr
        }
        let level = sharedLevel
        switch target {
        case .journald:
            LoggingSystem.bootstrap { label in CRMLogHandler(label: label, sink: .journal, level: level, metadataProvider: nil) }
        case .auto, .stderr:
            LoggingSystem.bootstrap { label in CRMLogHandler(label: label, sink: .stderr, level: level, metadataProvider: nil) }
        }
        return target
    }

    /// Sets the level of every crmd logger at once, including those made earlier (a logger whose
    /// own `logLevel` was assigned keeps that value). For a configuration reload.
    public static func setLevel(_ level: Logger.Level) { sharedLevel.value = level }

    /// The level in force.
    public static var level: Logger.Level { sharedLevel.value }

    /// `auto` made concrete: `journald` when standard error is the journal stream systemd set up
    /// for this service (`JOURNAL_STREAM` holds `device:inode` of that stream; see systemd.exec(5)),
    /// else `stderr`.
    public static func resolve(_ target: Target, environment: [String: String], stderrFD: Int32 = 2) -> Target {
        guard target == .auto else { return target }
        return isJournalStream(environment["JOURNAL_STREAM"], fd: stderrFD) ? .journald : .stderr
    }

    /// Whether `fd` is the stream `journalStream` (`JOURNAL_STREAM`, "device:inode" in decimal)
    /// names. Inherited by a child whose stderr was redirected, the variable no longer matches,
    /// which is why it is compared instead of merely checked for presence.
    static func isJournalStream(_ journalStream: String?, fd: Int32) -> Bool {
        guard let journalStream else { return false }
        let parts = journalStream.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let dev = UInt64(parts[0]), let ino = UInt64(parts[1]) else { return false }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return false }
        return UInt64(st.st_dev) == dev && UInt64(st.st_ino) == ino
    }

    /// Whether journald listens on its native socket.
    static func journalListening() -> Bool {
        var st = stat()
        return stat(journalSocket, &st) == 0 && (st.st_mode & S_IFMT) == S_IFSOCK
    }

    /// The journal field for a metadata key: `CRM_` + the key in upper case, every character other
    /// than A-Z and 0-9 replaced by `_`, cut to the journal's 64-character limit
    /// (`client_id` → `CRM_CLIENT_ID`, `duration-ms` → `CRM_DURATION_MS`).
    public static func journalFieldName(forMetadataKey key: String) -> String {
        var name: [UInt8] = Array("CRM_".utf8)
        name.reserveCapacity(4 + key.utf8.count)
        for scalar in key.unicodeScalars {
            guard name.count < 64 else { break }
            switch scalar.value {
            case 0x41...0x5A, 0x30...0x39: name.append(UInt8(scalar.value))
            case 0x61...0x7A: name.append(UInt8(scalar.value - 0x20))
            default: name.append(UInt8(ascii: "_"))
            }
        }
        return String(decoding: name, as: UTF8.self)
    }

    /// The syslog priority (the journal's `PRIORITY`) of a swift-log level: trace and debug are
    /// 7 (debug), info 6, notice 5, warning 4, error 3, critical 2 (crit).
    public static func syslogPriority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: return 7
        case .info: return 6
        case .notice: return 5
        case .warning: return 4
        case .error: return 3
        case .critical: return 2
        }
    }

    /// The metadata of one log call, merged as swift-log's own handlers do: the handler's, then its
    /// provider's, then the call's (later wins), plus the call's error as `error`.
    static func merged(
        _ handler: Logger.Metadata, _ provider: Logger.MetadataProvider?, _ event: Logger.Metadata?, error: (any Error)?
    ) -> Logger.Metadata {
        var all = handler
        if let provided = provider?.get(), !provided.isEmpty { all.merge(provided) { $1 } }
        if let event, !event.isEmpty { all.merge(event) { $1 } }
        if let error { all["error"] = "\(error)" }
        return all
    }

    /// Every field of a journal entry, as `NAME=value`.
    public static func journalFields(
        level: Logger.Level, message: String, metadata: Logger.Metadata, label: String, file: String, function: String, line: UInt
    ) -> [String] {
        var fields = [
            "MESSAGE=" + message, "PRIORITY=\(syslogPriority(level))", "SYSLOG_IDENTIFIER=crmd", "CODE_FILE=" + file,
            "CODE_LINE=\(line)", "CODE_FUNC=" + function, "CRM_LOGGER=" + label, "CRM_LEVEL=" + level.rawValue,
        ]
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
            fields.append(journalFieldName(forMetadataKey: key) + "=" + value.description)
        }
        return fields
    }

    /// Sends one entry to the journal. Returns 0, or a negative errno.
    static func sendToJournal(_ fields: [String]) -> Int32 {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(fields.reduce(0) { $0 + $1.utf8.count })
        var spans: [(offset: Int, count: Int)] = []
        spans.reserveCapacity(fields.count)
        for f in fields {
            spans.append((bytes.count, f.utf8.count))
            bytes.append(contentsOf: f.utf8)
        }
        return bytes.withUnsafeMutableBytes { raw -> Int32 in
            guard let base = raw.baseAddress else { return -EINVAL }
            var iov = spans.map { iovec(iov_base: base + $0.offset, iov_len: $0.count) }
            return iov.withUnsafeMutableBufferPointer { sd_journal_sendv($0.baseAddress, Int32($0.count)) }
        }
    }

    /// One readable line: local time with milliseconds, level, label, message, then `key=value`
    /// pairs sorted by key (values with spaces or quotes are quoted).
    static func stderrLine(level: Logger.Level, message: String, metadata: Logger.Metadata, label: String, at time: timespec) -> String {
        var line = timestamp(time) + " " + level.rawValue + " " + label + ": " + message
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
            line += " " + key + "=" + quoted(value.description)
        }
        return line + "\n"
    }

    static func quoted(_ s: String) -> String {
        let plain = !s.isEmpty && !s.utf8.contains { $0 <= 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "=") }
        if plain { return s }
        var out = "\""
        for ch in s.unicodeScalars {
            switch ch {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out + "\""
    }

    /// `2026-11-23T14:02:03.123+0300` in the local time zone.
    static func timestamp(_ t: timespec) -> String {
        var secs = t.tv_sec
        var tm = tm()
        localtime_r(&secs, &tm)
        var buf = [CChar](repeating: 0, count: 64)
        let n = strftime(&buf, 64, "%Y-%m-%dT%H:%M:%S", &tm)
        var zone = [CChar](repeating: 0, count: 16)
        let z = strftime(&zone, 16, "%z", &tm)
        let ms = Int(t.tv_nsec / 1_000_000)
        let msText = ms < 10 ? "00\(ms)" : ms < 100 ? "0\(ms)" : "\(ms)"
        let date = String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let offset = String(decoding: zone[0..<z].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return date + "." + msText + offset
    }

    /// Serializes whole lines on stderr, so lines from different threads never interleave.
    static let stderrLock = Locked(())

    static func writeStderr(_ line: String) {
        var line = line
        stderrLock.withLock { _ in
            line.withUTF8 { buf in
                var done = 0
                while done < buf.count {
                    // A failed write to stderr has nowhere to be reported: the line is dropped.
                    guard let n = try? Posix.write(2, UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buf)[done...])) else {
                        return
                    }
                    done += n
                }
            }
        }
    }
}

/// The level shared by every crmd log handler, read on every log call (one relaxed atomic load).
final class SharedLogLevel: Sendable {
    private let raw: Atomic<UInt8>
    private static let levels = Logger.Level.allCases

    init(_ level: Logger.Level) { raw = Atomic(Self.index(level)) }

    var value: Logger.Level {
        get { Self.levels[Int(raw.load(ordering: .relaxed))] }
        set { raw.store(Self.index(newValue), ordering: .relaxed) }
    }

    private static func index(_ level: Logger.Level) -> UInt8 { UInt8(levels.firstIndex(of: level) ?? 2) }
}

/// crmd's log handler: one entry per log call, to the journal or to standard error.
///
/// - `.journal`: the native protocol, with MESSAGE, PRIORITY, SYSLOG_IDENTIFIER=crmd,
///   CODE_FILE/CODE_LINE/CODE_FUNC, CRM_LOGGER (the label), CRM_LEVEL, and every metadata key as a
///   `CRM_*` field. If the journal refuses an entry, the line goes to stderr.
/// - `.stderr`: one readable line, `2026-11-23T14:02:03.123+0300 info crmd: message key=value ...`.
public struct CRMLogHandler: LogHandler {
    /// Where entries go.
    public enum Sink: Sendable { case journal, stderr }

    let label: String
    let sink: Sink
    let shared: SharedLogLevel
    /// A level assigned to this handler's logger alone; nil follows the shared level.
    var ownLevel: Logger.Level?
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?

    init(label: String, sink: Sink, level: SharedLogLevel, metadataProvider: Logger.MetadataProvider?) {
        self.label = label
        self.sink = sink
        self.shared = level
        self.metadataProvider = metadataProvider
    }

    public var logLevel: Logger.Level {
        get { ownLevel ?? shared.value }
        set { ownLevel = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let all = CRMLogging.merged(metadata, metadataProvider, event.metadata, error: event.error)
        let message = event.message.description
        if sink == .journal {
            let fields = CRMLogging.journalFields(
                level: event.level, message: message, metadata: all, label: label, file: event.file, function: event.function,
                line: event.line)
            if CRMLogging.sendToJournal(fields) >= 0 { return }
        }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        CRMLogging.writeStderr(CRMLogging.stderrLine(level: event.level, message: message, metadata: all, label: label, at: now))
    }
}
