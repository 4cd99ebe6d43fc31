import CRMCSV
import CRMClient
import CRMProtocol
import Foundation

/// One import of a file: reads records, sends batches, maps the server's answers back to lines
/// and columns, keeps the resume state, prints the report (stdout) and progress (stderr, a tty).
struct ImportRun {
    let file: String
    let reader: CSVRecordReader
    let mapping: any RowMapping
    /// The method (`client.import`, `contact.import`...) and its list param (`clients`...).
    let method: String
    let list: String
    let batchRows: Int
    let dryRun: Bool
    /// Names this import (the file's SHA-256 and the options): the batches' `request_id`s and
    /// the state file.
    let key: String
    let size: Int64

    /// Requests stay under this many bytes (crmd's default `protocol.max_line_bytes` is 1 MiB).
    static let maxRequestBytes = 900 * 1024

    var imported = 0
    var bad = 0
    var dupBase = 0
    var dupFile = 0
    var rows = 0
    /// Each accepted row's phones and e-mails (a 64-bit hash of the normalized value) and its line:
    /// a later row with one of them is a duplicate inside the file.
    var seen: [UInt64: Int32] = [:]
    var state: ImportState
    let progress: Progress

    init(
        file: String, reader: CSVRecordReader, mapping: any RowMapping, list: String, batchRows: Int, dryRun: Bool, key: String, size: Int64
    ) {
        self.file = file
        self.reader = reader
        self.mapping = mapping
        self.list = list
        method = "\(list.dropLast()).import"
        self.batchRows = batchRows
        self.dryRun = dryRun
        self.key = key
        self.size = size
        state = ImportState(key: key)
        progress = Progress(total: size)
    }

    struct Row {
        var line: Int
        var item: JSON
        var origin: [String: Int]
    }

    /// Runs the import; true when every row was (or would be) imported.
    mutating func run(_ conn: Connection, restart: Bool) throws -> Bool {
        let what = dryRun ? tr("Dry run (nothing is written)") : tr("Importing")
        let split = reader.delimiter == 9 ? "tab" : String(UnicodeScalar(reader.delimiter))
        note(tr("\(what): \(file), \(reader.encoding.rawValue), cells split by '\(split)'."))
        if !mapping.ignoredColumns.isEmpty {
            note(tr("Columns not imported (map them with --map COLUMN=FIELD): \(mapping.ignoredColumns.joined(separator: ", "))."))
        }
        var skipBatches = 0
        if !dryRun {
            if restart { state.reset() } else { try state.load() }
            skipBatches = state.doneBatches
            if skipBatches > 0 {
                note(tr("Resuming: \(skipBatches, "batch was", "batches were") done by an earlier run; their report:"))
                print(state.report, terminator: "")
                (imported, bad, dupBase, dupFile) = (state.imported, state.bad, state.dupBase, state.dupFile)
                state.loadKeys(into: &seen)
            }
        }
        var batch: [Row] = []
        var bytes = 2
        var number = 0
        // Pipelining: batch n+1 is sent (by another thread) while crmd commits batch n and this
        // thread waits for n's reply; replies come in order (docs/protocol.md).
        var inFlight: Sent?
        func flush(_ run: inout ImportRun) throws {
            if batch.isEmpty { return }
            number += 1
            if number > skipBatches {
                let (id, line) = conn.request(run.method, .object(run.params(number, batch)))
                let sending = Sending(conn, line)
                if let prev = inFlight {
                    do { try run.receive(conn, prev) } catch let e as ImportFailure where !run.dryRun {
                        _ = try? sending.wait()
                        let first = batch.first!.line
                        throw ImportFailure(
                            e.description + " "
                                + tr(
                                    "Batch \(number) (from line \(first)) had already been sent: its good rows may be written; the same command run again does not write them twice."
                                ))
                    }
                }
                try sending.wait()
                inFlight = Sent(batch: batch, number: number, id: id)
            } else {
                run.rows += batch.count
            }
            batch = []
            bytes = 2
        }
        while let rec = try reader.next() {
            if rec.cells.allSatisfy({ $0.trimmingCharacters(in: .whitespaces).isEmpty }) { continue }
            if rec.cells.count > mapping.header.count, rec.cells[mapping.header.count...].contains(where: { !$0.isEmpty }) {
                rows += 1
                if number >= skipBatches {
                    bad += 1
                    report(
                        rec.line, nil,
                        tr("has \(rec.cells.count) cells, the header \(mapping.header.count) (a ';' or ',' inside an unquoted cell?)"))
                }
                continue
            }
            let (item, origin) = mapping.item(rec.cells)
            let size = JSONWriter.bytes(item).count + 1
            if size + 200 > Self.maxRequestBytes {
                rows += 1
                if number >= skipBatches {
                    bad += 1
                    report(rec.line, nil, tr("is longer than a request may be (\(Self.maxRequestBytes / 1024) KiB)"))
                }
                continue
            }
            if batch.count == batchRows || bytes + size + 200 > Self.maxRequestBytes { try flush(&self) }
            batch.append(Row(line: rec.line, item: item, origin: origin))
            bytes += size
            progress.show(rows: rows + batch.count, at: reader.consumed)
        }
        try flush(&self)
        if let last = inFlight { try receive(conn, last) }
        progress.done()
        let dups = dupBase + dupFile
        let listed = Language.word("list", list)
        print(
            dryRun
                ? tr(
                    "\(rows, "row", "rows"): \(imported) would be imported, \(bad) bad, \(dups, "duplicate", "duplicates") (\(dupBase) of \(listed) in crmd, \(dupFile) of earlier rows in the file)."
                )
                : tr(
                    "\(rows, "row", "rows"): \(imported) imported, \(bad) bad, \(dups, "duplicate", "duplicates") (\(dupBase) of \(listed) in crmd, \(dupFile) of earlier rows in the file)."
                ))
        if !dryRun {
            print(
                tr(
                    "Each batch of up to \(batchRows) rows was one transaction: its good rows were written together; bad rows and duplicates were skipped."
                ))
            state.complete = true
            try state.save()
        }
        return bad + dupBase + dupFile == 0
    }

    /// A batch sent whose reply is not read yet.
    struct Sent {
        var batch: [Row]
        var number: Int
        var id: Int64
    }

    /// The import method's params for batch `number`.
    func params(_ number: Int, _ batch: [Row]) -> JSONObject {
        var params: JSONObject = [list: .array(batch.map(\.item)), "return_keys": true]
        if dryRun {
            params["dry_run"] = true
        } else {
            params["skip_invalid"] = true
            params["request_id"] = .string("csv-\(key)-\(number)")
        }
        return params
    }

    /// Reads a sent batch's reply and takes it into the report and the resume state.
    mutating func receive(_ conn: Connection, _ sent: Sent) throws {
        let (batch, number) = (sent.batch, sent.number)
        let reply: JSON
        do {
            reply = try conn.reply(to: sent.id)
        } catch let e as RPCError {
            let (first, last) = (batch.first!.line, batch.last!.line)
            let why = Self.lines(e.message.description, batch, list: list)
            throw ImportFailure(
                tr("batch \(number) (lines \(first)–\(last)) was refused, nothing of it was written: \(why)")
                    + (dryRun ? "" : " " + tr("Fix it and run the same command again: the batches before it are done.")))
        }
        var rejected: [Int: [JSON]] = [:]
        for r in reply["rejected"]?.arrayValue ?? [] { rejected[Int(r["index"]?.intValue ?? -1), default: []].append(r) }
        let keys = reply["keys"]?.arrayValue ?? []
        var accepted: [(UInt64, Int32)] = []
        for (i, row) in batch.enumerated() {
            rows += 1
            if let problems = rejected[i] {
                classify(row, problems, batch)
                continue
            }
            let mine = (i < keys.count ? keys[i].arrayValue ?? [] : []).compactMap(\.stringValue)
            if dryRun, let value = mine.first(where: { seen[hash($0)] != nil }), let line = seen[hash(value)] {
                dupFile += 1
                report(row.line, nil, tr("duplicate: \(value) is also on line \(line)"))
                continue
            }
            for v in mine {
                seen[hash(v)] = Int32(row.line)
                if !dryRun { accepted.append((hash(v), Int32(row.line))) }
            }
            imported += 1
        }
        if !dryRun {
            try state.append(keys: accepted)
            state.doneBatches = number
            (state.imported, state.bad, state.dupBase, state.dupFile) = (imported, bad, dupBase, dupFile)
            try state.save()
        }
    }

    /// Sorts a rejected row: bad (a field's problem) or a duplicate (in the file or in crmd).
    mutating func classify(_ row: Row, _ problems: [JSON], _ batch: [Row]) {
        let dups = problems.filter { $0["duplicate_of"] != nil }
        if dups.count < problems.count {
            bad += 1
            for p in problems where p["duplicate_of"] == nil {
                let field = p["field"]?.stringValue ?? "?"
                report(row.line, mapping.column(of: field, row.origin), Self.said(p))
            }
            return
        }
        let p = dups[0]
        let field = p["field"]?.stringValue ?? "?"
        let column = mapping.column(of: field, row.origin)
        let value = p["key"]?.stringValue ?? (p["problem"]?.stringValue ?? "").split(separator: " ").first.map(String.init) ?? ""
        if let j = p["duplicate_of"]?["index"]?.intValue, Int(j) < batch.count {
            dupFile += 1
            report(row.line, column, tr("duplicate: \(value) is also on line \(batch[Int(j)].line)"))
        } else if let line = seen[hash(value)] {
            dupFile += 1
            report(row.line, column, tr("duplicate: \(value) is also on line \(line)"))
        } else {
            dupBase += 1
            report(row.line, column, tr("duplicate: \(Self.said(p))"))
        }
    }

    /// A rejected row's problem as crmd said it in this connection's language (`message`), else
    /// its English `problem` (a crmd from before `message`).
    static func said(_ p: JSON) -> String {
        p["message"]?.stringValue ?? p["problem"]?.stringValue ?? tr("is invalid")
    }

    /// One line of the report: `line 17, «Телефон»: why`.
    mutating func report(_ line: Int, _ column: String?, _ why: String) {
        progress.clear()
        let text = (column.map { tr("line \(line), «\($0)»: \(why)") } ?? tr("line \(line): \(why)")) + "\n"
        print(text, terminator: "")
        if !dryRun { state.report += text }
    }

    func note(_ text: String) { FileHandle.standardError.write(Data((text + "\n").utf8)) }

    /// crmd's `clients[i]` (`contacts[i]`...) in a message, as the line of the file that row came from.
    static func lines(_ message: String, _ batch: [Row], list: String) -> String {
        var out = ""
        var rest = Substring(message)
        while let r = rest.range(of: "\(list)[") {
            out += rest[..<r.lowerBound]
            let digits = rest[r.upperBound...].prefix { $0.isNumber }
            let after = rest[r.upperBound...].dropFirst(digits.count)
            if let i = Int(digits), i < batch.count, after.first == "]" {
                out += tr("line \(batch[i].line)")
                rest = after.dropFirst()
            } else {
                out += rest[r]
                rest = rest[r.upperBound...]
            }
        }
        return out + rest
    }

    /// FNV-1a, 64 bits: a phone or e-mail in 8 bytes for the in-file duplicate check.
    func hash(_ s: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }
}

/// One request line being written to crmd by a thread of its own, so the caller can read the
/// replies meanwhile: a blocking write of a 900 KiB batch and crmd's blocking write of a large
/// reply would otherwise wait for each other.
final class Sending: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var failure: (any Error)?

    init(_ conn: Connection, _ line: [UInt8]) {
        Thread { [self] in
            do { try conn.send(raw: line) } catch { failure = error }
            done.signal()
        }.start()
    }

    /// Waits until the line is written; throws what the write threw.
    func wait() throws {
        done.wait()
        if let failure { throw failure }
    }
}
