import ArgumentParser
import CRMCSV
import CRMClient
import CRMProtocol
import Foundation

/// `crmctl export clients|contacts|deals|interactions|tasks|invoices`: a list the caller may see,
/// as CSV, read page by page (1,000 rows) through its list method with the same filters, so it
/// holds only one page in memory and shows only what the list shows the caller; `crmctl export
/// mailing` (Mailing.swift): a segment's mailing list.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: tr("Write a list you may see to CSV (UTF-8 with BOM and ';' by default, for Excel)."),
        subcommands: [
            Clients.self, Contacts.self, Deals.self, Interactions.self, Tasks.self, Invoices.self, ExportMailing.self,
        ])

    struct Clients: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: tr("Export clients (the columns `crmctl import clients` reads back)."),
            discussion: tr("A manager's export holds other managers' clients only as the list shows them: name, owner and zone."))
        @OptionGroup var global: GlobalOptions
        @OptionGroup var out: ExportOutput
        @OptionGroup var filter: ClientFilter

        func run() throws { try export(global, out, "client.list", filter.params, ExportColumns.clients) }
    }

    struct Contacts: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: tr("Export one client's contacts."))
        @OptionGroup var global: GlobalOptions
        @OptionGroup var out: ExportOutput
        @Option(help: .tr("The client's id.")) var client: Int

        func run() throws { try export(global, out, "contact.list", ["client_id": .int(client)], ExportColumns.contacts) }
    }

    struct Interactions: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: tr("Export one client's interactions, newest first."))
        @OptionGroup var global: GlobalOptions
        @OptionGroup var out: ExportOutput
        @Option(help: .tr("The client's id.")) var client: Int

        func run() throws { try export(global, out, "interaction.list", ["client_id": .int(client)], ExportColumns.interactions) }
    }

    struct Deals: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: tr("Export deals."))
        @OptionGroup var global: GlobalOptions
        @OptionGroup var out: ExportOutput
        @OptionGroup var filter: DealFilter

        func run() throws { try export(global, out, "deal.list", filter.params, ExportColumns.deals) }
    }

    struct Tasks: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: tr("Export tasks (your own by default; --everyone for all you may see)."))
        @OptionGroup var global: GlobalOptions
        @OptionGroup var out: ExportOutput
        @Option(help: .tr("Whose tasks (login or id).")) var assignee: String?
        @Flag(help: .tr("Everyone's tasks.")) var everyone = false
        @Option(help: .tr("open or done.")) var state: String?

        func run() throws {
            var p: JSONObject = [:]
            if everyone { p["assignee"] = .null } else if let assignee { p["assignee"] = userParam(assignee) }
            if let state { p["done"] = .bool(state == "done") }
            try export(global, out, "task.list", p, ExportColumns.tasks)
        }
    }

    struct Invoices: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: tr("Export invoices."))
        @OptionGroup var global: GlobalOptions
        @OptionGroup var out: ExportOutput
        @Option(help: .tr("unpaid, partial, paid or open.")) var status: String?
        @Option(help: .tr("Owner login or id.")) var owner: String?

        func run() throws {
            var p: JSONObject = [:]
            if let status { p["status"] = .string(status) }
            if let owner { p["owner"] = userParam(owner) }
            try export(global, out, "invoice.list", p, ExportColumns.invoices)
        }
    }
}

/// Where and how an export writes.
struct ExportOutput: ParsableArguments {
    @Option(help: .tr("Write to this file instead of stdout.")) var out: String?
    @Option(help: .tr("utf-8 (with a BOM, the default) or cp1251 (older Excel; characters it lacks become '?').")) var encoding = "utf-8"
    @Option(help: .tr("The cell separator: ';' (default: Russian Excel) or ','.")) var delimiter = ";"

    func validate() throws {
        if CSVEncoding(rawValue: encoding.lowercased()) == nil { throw ValidationError(tr("--encoding must be utf-8 or cp1251")) }
        if delimiter != ";", delimiter != "," { throw ValidationError(tr("--delimiter must be ';' or ','")) }
    }
}

/// Reads `method` page by page and writes each page's rows as CSV; prints the count on stderr.
func export(_ global: GlobalOptions, _ out: ExportOutput, _ method: String, _ params: JSONObject, _ columns: [ExportColumn]) throws {
    let enc = CSVEncoding(rawValue: out.encoding.lowercased()) ?? .utf8
    let handle: FileHandle
    if let path = out.out {
        guard FileManager.default.createFile(atPath: path, contents: nil) else { throw ValidationError(tr("cannot create \(path)")) }
        handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    } else {
        handle = FileHandle.standardOutput
    }
    if enc == .utf8 { handle.write(Data([0xEF, 0xBB, 0xBF])) }
    var writer = CSVRowWriter(delimiter: out.delimiter == "," ? 0x2C : 0x3B)
    writer.write(row: columns.map(\.header))
    var rows = 0
    try global.session { conn in
        var p = params
        p["limit"] = 1000
        var pending = try conn.post(method, .object(p))
        while true {
            let page = try conn.reply(to: pending)
            // The next page is asked for before this one is written: crmd reads it meanwhile.
            let next = page["next_cursor"]?.stringValue
            if let next {
                p["cursor"] = .string(next)
                pending = try conn.post(method, .object(p))
            }
            for item in page["items"]?.arrayValue ?? [] {
                writer.write(row: columns.map { $0.value(item) })
                rows += 1
            }
            let data = Data(writer.bytes)
            handle.write(enc == .utf8 ? data : enc.encode(String(decoding: data, as: UTF8.self)))
            writer.bytes.removeAll(keepingCapacity: true)
            if next == nil { break }
        }
    }
    if out.out != nil { try handle.close() }
    FileHandle.standardError.write(Data((tr("\(rows, "row", "rows") exported.") + "\n").utf8))
}
