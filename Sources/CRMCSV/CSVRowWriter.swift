/// RFC 4180 rows into a byte buffer, for `crmctl export`: a cell is quoted when it holds the
/// delimiter, a quote, CR or LF (quotes doubled inside), rows end with CRLF. CSV.swift's
/// `CSVWriter` searches every cell with Foundation's `range(of:)` and writes through an
/// `OutputStream`: two thirds of an export's CPU, measured (docs/architecture.md).
public struct CSVRowWriter: Sendable {
    public let delimiter: UInt8
    /// The rows written so far; the caller takes them out (and empties it) page by page.
    public var bytes: [UInt8] = []

    public init(delimiter: UInt8) {
        self.delimiter = delimiter
        bytes.reserveCapacity(1 << 20)
    }

    public mutating func write(row: [String]) {
        for (i, cell) in row.enumerated() {
            if i > 0 { bytes.append(delimiter) }
            let utf8 = cell.utf8
            if utf8.contains(where: { $0 == delimiter || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D }) {
                bytes.append(0x22)
                for b in utf8 {
                    if b == 0x22 { bytes.append(0x22) }
                    bytes.append(b)
                }
                bytes.append(0x22)
            } else {
                bytes.append(contentsOf: utf8)
            }
        }
        bytes.append(contentsOf: [0x0D, 0x0A])
    }
}
