public import Foundation

/// How an Asterisk call ended (the `disposition` column of Master.csv).
public enum CallDisposition: String, Sendable, CaseIterable {
    case answered = "ANSWERED"
    case noAnswer = "NO ANSWER"
    case busy = "BUSY"
    case failed = "FAILED"
    case congestion = "CONGESTION"

    /// Reads the column as Asterisk writes it, or the protocol's snake_case (`no_answer`).
    public init?(text: String) {
        let t = text.trimmingCharacters(in: .whitespaces).uppercased().replacingOccurrences(of: "_", with: " ")
        guard let d = CallDisposition(rawValue: t) else { return nil }
        self = d
    }

    /// The protocol's spelling: `answered`, `no_answer`, `busy`, `failed`, `congestion`.
    public var wireName: String { rawValue.lowercased().replacingOccurrences(of: " ", with: "_") }
}

/// A bad Master.csv line: the column and what is wrong with it.
public struct CDRLineError: Error, Sendable, Equatable, CustomStringConvertible {
    public var field: String
    public var problem: String
    public init(field: String, problem: String) {
        self.field = field
        self.problem = problem
    }
    public var description: String { "\(field): \(problem)" }
}

/// One call detail record of Asterisk's cdr_csv (`/var/log/asterisk/cdr-csv/Master.csv`), in the
/// standard column order: accountcode, src, dst, dcontext, clid, channel, dstchannel, lastapp,
/// lastdata, start, answer, end, duration, billsec, disposition, amaflags, and with
/// `loguniqueid`/`loguserfield` also uniqueid and userfield. The times in the file are the PBX's
/// local wall clock with no offset; they are read in the time zone given (crmd's
/// `zones.time_zone`, which must be the PBX's).
public struct CDRRecord: Sendable, Equatable {
    public var accountCode: String
    /// The calling number (an extension for an outbound call).
    public var src: String
    /// The number dialled (an extension or a DID for an inbound call).
    public var dst: String
    public var context: String
    /// The caller's name from `"Name" <number>` in clid, if any.
    public var callerName: String?
    public var channel: String
    public var dstChannel: String
    public var start: Date
    public var answer: Date?
    public var end: Date?
    /// Seconds from start to end, and from answer to end (talk time).
    public var duration: Int
    public var billsec: Int
    public var disposition: CallDisposition
    public var uniqueID: String?
    public var userField: String?

    /// The most bytes a column may have; lastdata and userfield beyond it are cut, others refused.
    public static let maxFieldBytes = 256
    /// The longest call believed (a week, in seconds).
    public static let maxSeconds = 7 * 86_400

    /// What makes the record unique for an idempotent import: the uniqueid, or without one the
    /// start, channel and numbers.
    public var key: String {
        if let uniqueID, !uniqueID.isEmpty { return uniqueID }
        return "cdr:\(Int(start.timeIntervalSince1970)):\(channel):\(src):\(dst)"
    }

    public var answered: Bool { disposition == .answered }

    /// Reads the cells of one CSV line (already unquoted).
    public init(cells: [String], timeZone: TimeZone) throws(CDRLineError) {
        guard (16...18).contains(cells.count) else {
            throw CDRLineError(field: "line", problem: "has \(cells.count) columns; cdr_csv writes 16, 17 or 18")
        }
        func cell(_ i: Int, _ name: String) throws(CDRLineError) -> String {
            let v = cells[i]
            guard v.utf8.count <= Self.maxFieldBytes else {
                throw CDRLineError(field: name, problem: "is longer than \(Self.maxFieldBytes) bytes")
            }
            return v
        }
        accountCode = try cell(0, "accountcode")
        src = try cell(1, "src")
        dst = try cell(2, "dst")
        context = try cell(3, "dcontext")
        let clid = try cell(4, "clid")
        callerName = Self.callerName(clid)
        if src.isEmpty, let number = Self.callerNumber(clid) { src = number }
        channel = try cell(5, "channel")
        dstChannel = try cell(6, "dstchannel")
        guard let s = Self.localTime(cells[9], timeZone) else {
            throw CDRLineError(field: "start", problem: "'\(cells[9].prefix(40))' is not a time YYYY-MM-DD HH:MM:SS")
        }
        start = s
        answer = try Self.optionalTime(cells[10], "answer", timeZone)
        end = try Self.optionalTime(cells[11], "end", timeZone)
        guard let d = Int(cells[12]), (0...Self.maxSeconds).contains(d) else {
            throw CDRLineError(field: "duration", problem: "'\(cells[12].prefix(20))' is not a number of seconds")
        }
        guard let b = Int(cells[13]), (0...d).contains(b) else {
            throw CDRLineError(field: "billsec", problem: "'\(cells[13].prefix(20))' is not a number of seconds up to the duration")
        }
        duration = d
        billsec = b
        guard let disp = CallDisposition(text: cells[14]) else {
            throw CDRLineError(
                field: "disposition", problem: "'\(cells[14].prefix(20))' is not ANSWERED, NO ANSWER, BUSY, FAILED or CONGESTION")
        }
        disposition = disp
        uniqueID = cells.count > 16 ? try cell(16, "uniqueid") : nil
        userField = cells.count > 17 ? String(cells[17].utf8.prefix(Self.maxFieldBytes)) ?? "" : nil
    }

    /// `"Ivan Petrov" <79161234567>` → `Ivan Petrov`; a bare number has no name.
    public static func callerName(_ clid: String) -> String? {
        guard let open = clid.lastIndex(of: "<") else { return nil }
        var name = clid[..<open].trimmingCharacters(in: .whitespaces)
        if name.hasPrefix("\""), name.hasSuffix("\""), name.count >= 2 { name = String(name.dropFirst().dropLast()) }
        return name.isEmpty ? nil : name
    }

    /// The number in `"Name" <number>`, or the whole clid when it has no angle brackets.
    public static func callerNumber(_ clid: String) -> String? {
        if let open = clid.lastIndex(of: "<"), let close = clid.lastIndex(of: ">"), open < close {
            let n = clid[clid.index(after: open)..<close].trimmingCharacters(in: .whitespaces)
            return n.isEmpty ? nil : n
        }
        let n = clid.trimmingCharacters(in: .whitespaces)
        return n.isEmpty ? nil : n
    }

    static func optionalTime(_ text: String, _ field: String, _ zone: TimeZone) throws(CDRLineError) -> Date? {
        if text.trimmingCharacters(in: .whitespaces).isEmpty { return nil }
        guard let t = localTime(text, zone) else {
            throw CDRLineError(field: field, problem: "'\(text.prefix(40))' is not a time YYYY-MM-DD HH:MM:SS")
        }
        return t
    }

    /// `YYYY-MM-DD HH:MM:SS` on the local wall clock of `zone`.
    public static func localTime(_ text: String, _ zone: TimeZone) -> Date? {
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: " ")
        guard parts.count == 2, let day = LocalDate(String(parts[0])) else { return nil }
        let hms = parts[1].split(separator: ":").map { Int($0) }
        guard hms.count == 3, let h = hms[0], let m = hms[1], let s = hms[2], (0..<24).contains(h), (0..<60).contains(m),
            (0..<61).contains(s)
        else { return nil }
        return day.instant(hour: h, in: zone).addingTimeInterval(Double(m * 60 + s))
    }
}
