import ArgumentParser
import CRMProtocol
import CSV
import Foundation

/// `--csv` for the commands that print a table (reports, lists): the same rows as the table,
/// as RFC 4180 CSV on stdout (UTF-8, comma, a header row, CRLF line ends as the RFC and
/// spreadsheets expect). Amounts are plain numbers in major units with a dot, so a spreadsheet
/// reads them as numbers.
struct CSVOption: ParsableArguments {
    @Flag(help: .tr("Print the table as CSV (UTF-8, comma, a header row) instead, for a spreadsheet."))
    var csv = false
}

/// A table as CSV: a header and rows of cells.
struct CSVTable {
    var header: [String]
    var rows: [[String]] = []

    init(_ header: [String]) { self.header = header }

    mutating func add(_ row: [String]) { rows.append(row) }

    /// Writes the table to stdout.
    func print() throws {
        let stream = OutputStream(toMemory: ())
        let writer = try CSVWriter(stream: stream, codecType: UTF8.self, delimiter: ",", newline: .crlf)
        try writer.write(row: header)
        for r in rows { try writer.write(row: r) }
        writer.stream.close()
        guard let data = stream.property(forKey: .dataWrittenToMemoryStreamKey) as? Data else { return }
        FileHandle.standardOutput.write(data)
    }
}

extension GlobalOptions {
    /// Calls `method` and prints the result as JSON (`--json`), as CSV (`--csv`, the rows `csv`
    /// builds) or as the readable form `render` prints.
    func run(
        _ method: String, _ params: JSONObject = JSONObject(), csv: CSVOption, table: (JSON) -> CSVTable,
        render: (JSON) -> Void
    ) throws {
        let result = try session { conn in try conn.call(method, .object(params)) }
        if json {
            Swift.print(JSONWriter.string(result))
        } else if csv.csv {
            try table(result).print()
        } else {
            render(result)
        }
    }
}
