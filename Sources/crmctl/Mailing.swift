import ArgumentParser
import CRMProtocol
import CSV
import Foundation

/// `crmctl export mailing SEGMENT --sms|--email`: a segment's mailing list as CSV, page by page
/// (`segment.mailing`, 10,000 addresses a call), so a list of any length streams to the file.
/// crmd audits every page it hands out.
struct ExportMailing: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mailing",
        abstract: tr("A segment's mobile phones (--sms) or e-mails (--email) as CSV, without those who opted out."),
        discussion: tr(
            """
            The list holds the normalized mobile phones (+79...) or e-mails of the segment's clients and their \
            contacts, each once, leaving out every address of a client or contact that opted out. A manager \
            gets only their own clients'. Every export is audited (who, which segment, channel, how many). \
            Example: crmctl export mailing Wholesale --sms --out wholesale-sms.csv
            """))
    @OptionGroup var global: GlobalOptions
    @Argument(help: .tr("The segment's id or name.")) var segment: String
    @Flag(help: .tr("Mobile phones, for an SMS campaign.")) var sms = false
    @Flag(help: .tr("E-mail addresses, for an e-mail campaign.")) var email = false
    @Option(help: .tr("Write the CSV here instead of stdout.")) var out: String?
    @Option(help: .tr("Addresses asked for per request (1 to 10000).")) var pageSize = 10_000

    func validate() throws {
        if sms == email { throw ValidationError(tr("give exactly one of --sms or --email")) }
        if !(1...10_000).contains(pageSize) { throw ValidationError(tr("--page-size must be 1 to 10000")) }
    }

    func run() throws {
        let channel = sms ? "sms" : "email"
        let sink: FileHandle
        if let out {
            guard FileManager.default.createFile(atPath: out, contents: nil), let h = FileHandle(forWritingAtPath: out) else {
                throw ValidationError(tr("cannot write \(out)"))
            }
            sink = h
        } else {
            sink = FileHandle.standardOutput
        }
        defer { if out != nil { try? sink.close() } }
        var total = 0
        try global.session { c in
            var cursor: String? = nil
            var rows = [[sms ? "phone" : "email"]]
            repeat {
                var p = segmentRef(segment)
                p["channel"] = .string(channel)
                p["limit"] = .int(Int64(pageSize))
                if let cursor { p["cursor"] = .string(cursor) }
                let r = try c.call("segment.mailing", .object(p))
                for a in r["items"]?.arrayValue ?? [] { rows.append([a.stringValue ?? ""]) }
                total += r["items"]?.arrayValue?.count ?? 0
                // Each page ends its last row, so the next page's rows start on a line of their own.
                if !rows.isEmpty { try sink.write(contentsOf: try Self.csv(rows) + Data("\r\n".utf8)) }
                rows = []
                cursor = r["next_cursor"]?.stringValue
            } while cursor != nil
        }
        if let out {
            let said = sms ? tr("\(total, "phone", "phones") written to \(out)") : tr("\(total, "e-mail", "e-mails") written to \(out)")
            FileHandle.standardError.write(Data((said + "\n").utf8))
        }
    }

    /// `rows` as RFC 4180 CSV (UTF-8, CRLF), one page at a time.
    static func csv(_ rows: [[String]]) throws -> Data {
        let stream = OutputStream(toMemory: ())
        let writer = try CSVWriter(stream: stream, codecType: UTF8.self, delimiter: ",", newline: .crlf)
        for r in rows { try writer.write(row: r) }
        writer.stream.close()
        return stream.property(forKey: .dataWrittenToMemoryStreamKey) as? Data ?? Data()
    }
}
