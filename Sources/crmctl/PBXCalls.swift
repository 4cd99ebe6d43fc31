import ArgumentParser
import CRMCSV
import CRMClient
import CRMProtocol
import Foundation

extension CallCommand {
    /// `crmctl call ended`: the PBX's end-of-call hook (`call.ended`).
    struct Ended: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: tr("Report a finished call (the PBX's end-of-call hook runs this)."),
            discussion: tr(
                """
                An answered call with a known client is logged as a call (captured by pbx) by the user on \
                the extension, else by the client's owner; a missed inbound call becomes a call-back task \
                for the owner, due within calls.callback_within working minutes. A uniqueid already \
                reported is not logged again. Runs as an operator account (or a head or admin).

                Asterisk (extensions.conf), the h extension of the context the calls run in (FILTER keeps \
                a made-up caller ID out of the shell): see examples/asterisk/extensions.conf.
                  exten => h,1,System(crmctl call ended --from "${FILTER(0-9+,${CDR(src)})}" --to "${FILTER(0-9+,${CDR(dst)})}" \
                --started-at "${STRFTIME(${CDR(start,u)},,%Y-%m-%dT%H:%M:%S%z)}" --disposition "${FILTER(A-Z ,${CDR(disposition)})}" \
                --duration "${FILTER(0-9,${CDR(duration)})}" --billsec "${FILTER(0-9,${CDR(billsec)})}" --uniqueid "${FILTER(0-9.,${UNIQUEID})}" --quiet &)
                """))
        @OptionGroup var global: GlobalOptions
        @Option(help: .tr("The calling number (a user's extension for an outbound call).")) var from: String
        @Option(help: .tr("The number dialled (an extension or the client's number).")) var to: String
        @Option(help: .tr("When the call started: RFC 3339, or 2026-12-04T18:50:00+0300.")) var startedAt: String
        @Option(help: .tr("ANSWERED, NO ANSWER, BUSY, FAILED or CONGESTION (any case).")) var disposition: String
        @Option(help: .tr("Seconds from the start to the end.")) var duration: Int = 0
        @Option(help: .tr("Seconds talked (from the answer to the end).")) var billsec: Int = 0
        @Option(help: .tr("The PBX's UNIQUEID of the call.")) var uniqueid: String
        @Option(name: .customLong("extension"), help: .tr("The user's extension, when --from and --to do not show it.")) var peer: String?
        @Flag(help: .tr("Print nothing on success (for a dialplan).")) var quiet = false

        func run() throws {
            // STRFTIME's %z writes +0300; RFC 3339 wants +03:00.
            var started = startedAt
            if let r = started.range(of: #"[+-]\d{4}$"#, options: .regularExpression) {
                started.insert(":", at: started.index(r.lowerBound, offsetBy: 3))
            }
            var p: JSONObject = [
                "from": .string(from), "to": .string(to), "started_at": .string(started),
                "disposition": .string(disposition.lowercased().replacingOccurrences(of: " ", with: "_")),
                "duration": .int(Int64(duration)), "billsec": .int(Int64(billsec)), "uniqueid": .string(uniqueid),
            ]
            if let peer { p["extension"] = .string(peer) }
            try global.run("call.ended", p) { r in
                guard !quiet else { return }
                print(endedSummary(r))
            }
        }
    }

    /// `crmctl call import Master.csv`: the CDR file in batches (`call.import`).
    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: tr("Import Asterisk's Master.csv call records (calls already logged are skipped)."),
            discussion: tr(
                """
                Reads /var/log/asterisk/cdr-csv/Master.csv (cdr_csv's standard columns, with or without \
                uniqueid and userfield) and sends it in batches; each call is handled as `crmctl call ended` \
                would. Its times are the PBX's local time, read in crmd's zones.time_zone. Safe to run \
                again over the same file (a cron job): calls already logged count as duplicates.
                """))
        @OptionGroup var global: GlobalOptions
        @Argument(help: .tr("The Master.csv file.")) var file: String
        @Option(help: .tr("Lines per request (1-500).")) var batch: Int = 200

        func run() throws {
            guard (1...500).contains(batch) else { failure(tr("--batch must be from 1 to 500")) }
            let reader: CSVRecordReader
            do {
                reader = try CSVRecordReader(path: file, encoding: .utf8, delimiter: UInt8(ascii: ","))
            } catch {
                failure("\(error)")
            }
            var totals: [String: Int64] = [:]
            var bad: [String] = []
            try global.session { c in
                var lines: [JSON] = []
                func send() throws {
                    guard !lines.isEmpty else { return }
                    let r = try c.call("call.import", ["lines": .array(lines)])
                    lines.removeAll()
                    for k in ["logged", "tasks", "unknown", "duplicates", "skipped"] { totals[k, default: 0] += r[k]?.intValue ?? 0 }
                    for b in r["bad"]?.arrayValue ?? [] {
                        bad.append(
                            "line \(b["line"]?.intValue ?? 0): \(b["field"]?.stringValue ?? "")\u{20}\(b["problem"]?.stringValue ?? "")")
                    }
                }
                while true {
                    let record: CSVRecord?
                    do {
                        record = try reader.next(maxRecordBytes: 64 * 1024)
                    } catch {
                        bad.append("line \(reader.line): \(error)")
                        break
                    }
                    guard let record else { break }
                    if record.cells.count > 32 {
                        bad.append("line \(record.line): \(record.cells.count) columns; cdr_csv writes 16 to 18")
                        continue
                    }
                    lines.append(["line": .int(Int64(record.line)), "cells": .array(record.cells.map { .string($0) })])
                    if lines.count >= batch { try send() }
                }
                try send()
            }
            if global.json {
                var o: JSONObject = ["bad": .array(bad.map { .string($0) })]
                for (k, v) in totals { o[k] = .int(v) }
                print(JSONWriter.string(.object(o)))
                return
            }
            let t = { (k: String) in totals[k] ?? 0 }
            print(
                tr(
                    "logged \(t("logged")), call-back tasks \(t("tasks")), unknown numbers \(t("unknown")), duplicates \(t("duplicates")), other \(t("skipped")), bad lines \(bad.count)"
                ))
            for b in bad { print("  \(b)") }
        }
    }
}

/// One line on a finished call.
func endedSummary(_ r: JSON) -> String {
    let id = r["uniqueid"]?.stringValue ?? ""
    if r["duplicate"] == .bool(true) { return tr("call \(id): already logged") }
    if let i = r["interaction_id"]?.intValue { return tr("call \(id): logged as interaction #\(i) on client #\(num(r["client_id"]))") }
    if let t = r["task_id"]?.intValue { return tr("call \(id): missed; call-back task #\(t) due \(Display.instant(str(r["due_at"])))") }
    if r["unknown"] == .bool(true) { return tr("call \(id): \(str(r["number"])) is no client's number") }
    return tr("call \(id): nothing to log")
}
