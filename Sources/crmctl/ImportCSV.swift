import ArgumentParser
import CRMCSV
import CRMClient
import CRMProtocol
import Crypto
import Foundation

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: tr("Bring a spreadsheet (CSV) into crmd, with a dry run that lists every bad row."),
        subcommands: [ImportClients.self, ImportContacts.self, ImportInteractions.self, ImportDeals.self])
}

/// `crmctl import clients FILE.csv`: one client per row, with one contact person per row if the
/// file has a contact column. See docs/rules.md, "Import and export".
struct ImportClients: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clients",
        abstract: tr("Import clients (and a contact person each) from a CSV file."),
        discussion: tr(
            """
            The file: UTF-8 (with or without BOM) or Windows-1251 (found by itself, or --encoding), cells
            split by ';' or ',' (found from the header, or --delimiter), a header row whose names say
            what each column is: «Название», «Тип», «Телефон», «Email», «Менеджер», «Сегмент»,
            «Источник», «ABC», «Контактное лицо», «Должность», «Телефон контакта», «Email контакта» or
            Name, Kind, Phone, Email, Owner, Segment, Source, ABC, Contact, Position, Contact phone,
            Contact email. Other columns are skipped unless --map names them, e.g.
            --map "ИНН=fields.inn". Phones in any spelling; several in a cell split by ',' or ';'.

            --dry-run checks every row against the base and writes nothing. A real run sends the file
            in batches (--batch rows, each request under 900 KiB); each batch is one transaction:
            its good rows are written together or not at all, its bad rows are reported and skipped.
            Interrupted? Run the same command again: finished batches are skipped (and a batch whose
            answer was lost is answered again by crmd without writing twice).
            Exit status: 0 every row imported (or would be), 65 some rows were bad or duplicates.
            """))
    @OptionGroup var global: GlobalOptions
    @OptionGroup var options: ImportFileOptions

    func validate() throws { try options.check() }

    func run() throws { try options.run(global, list: "clients") { try ImportMapping(header: $0, overrides: $1) } }
}

/// What every `crmctl import KIND FILE.csv` takes, and the run they share.
struct ImportFileOptions: ParsableArguments {
    @Argument(help: .tr("The CSV file.")) var file: String
    @Flag(help: .tr("Check every row and report, writing nothing.")) var dryRun = false
    @Option(help: .tr("utf-8 or cp1251 (default: found from the file).")) var encoding: String?
    @Option(help: .tr("The cell separator: ';', ',' or 'tab' (default: found from the header).")) var delimiter: String?
    @Option(help: .tr("COLUMN=FIELD: import a column as a field (see the list above; - to skip)."))
    var map: [String] = []
    @Option(help: .tr("Rows per request (1 to 10,000).")) var batch = 1000
    @Flag(help: .tr("Start from the first batch even if an earlier run of this file got further.")) var restart = false

    func check() throws {
        if !(1...10_000).contains(batch) { throw ValidationError(tr("--batch must be 1 to 10,000")) }
        if let encoding, CSVEncoding(rawValue: encoding.lowercased().replacingOccurrences(of: "utf8", with: "utf-8")) == nil {
            throw ValidationError(tr("--encoding must be utf-8 or cp1251"))
        }
        if let delimiter, ![";", ",", "tab", "\t"].contains(delimiter) {
            throw ValidationError(tr("--delimiter must be ';', ',' or 'tab'"))
        }
    }

    /// Reads the header, maps it, sends the file in batches to `LIST.import` (`clients` →
    /// `client.import`), prints the report; exit 65 when some rows were bad or duplicates.
    func run(_ global: GlobalOptions, list: String, mapping makeMapping: ([String], [String]) throws -> any RowMapping) throws {
        let enc = encoding.flatMap { CSVEncoding(rawValue: $0.lowercased().replacingOccurrences(of: "utf8", with: "utf-8")) }
        let delim: UInt8? = delimiter.map { $0 == "tab" || $0 == "\t" ? 0x09 : Array($0.utf8)[0] }
        do {
            let digest = try fileDigest(file)
            let reader = try CSVRecordReader(path: file, encoding: enc, delimiter: delim)
            guard let header = try reader.next() else { throw ImportFailure(tr("\(file) is empty")) }
            let mapping = try makeMapping(header.cells, map)
            let options = "\(list)|\(batch)|\(reader.encoding.rawValue)|\(reader.delimiter)|\(map.joined(separator: "\u{1F}"))"
            let key = SHA256.hash(data: Data((digest + "|" + options).utf8)).map { String(format: "%02x", $0) }.joined().prefix(40)
            var run = ImportRun(
                file: file, reader: reader, mapping: mapping, list: list, batchRows: batch, dryRun: dryRun, key: String(key),
                size: fileSize(file))
            let summary = try global.session { conn in try run.run(conn, restart: restart) }
            if !summary { throw ExitCode(65) }
        } catch let e as ImportFailure {
            FileHandle.standardError.write(Data("crmctl: \(e.description)\n".utf8))
            throw ExitCode(1)
        }
    }
}

/// The file's SHA-256 (hex), read 1 MiB at a time: with the options, it names the import's batches.
func fileDigest(_ path: String) throws -> String {
    guard let h = FileHandle(forReadingAtPath: path) else { throw ImportFailure(tr("cannot open \(path)")) }
    defer { try? h.close() }
    var hasher = SHA256()
    while let chunk = try h.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
    return hasher.finalize().map { String(format: "%02x", $0) }.joined()
}

func fileSize(_ path: String) -> Int64 {
    ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? 0
}
