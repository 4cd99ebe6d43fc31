public import Foundation

/// The text encodings `crmctl import` reads.
public enum CSVEncoding: String, CaseIterable, Sendable {
    case utf8 = "utf-8"
    case cp1251

    /// Guesses from the first bytes of a file (after any UTF-8 BOM): valid UTF-8 is UTF-8 (a
    /// character cut at the end of the sample is forgiven), anything else Windows-1251, the
    /// encoding of Russian Excel's "CSV (разделители — точка с запятой)".
    public static func detect(_ sample: [UInt8]) -> CSVEncoding {
        var end = sample.count
        // Drop an incomplete UTF-8 sequence at the cut.
        var back = 0
        while back < 3, end - back - 1 >= 0, sample[end - back - 1] & 0xC0 == 0x80 { back += 1 }
        if end - back - 1 >= 0, sample[end - back - 1] >= 0xC0 { end = end - back - 1 }
        return String(validating: sample[0..<end], as: UTF8.self) == nil ? .cp1251 : .utf8
    }

    /// Decodes a field's bytes (Foundation on Linux decodes Windows-1251; ASCII needs no table).
    public func decode(_ bytes: ArraySlice<UInt8>) -> String {
        if self == .utf8 || bytes.allSatisfy({ $0 < 0x80 }) { return String(decoding: bytes, as: UTF8.self) }
        return String(bytes: bytes, encoding: .windowsCP1251) ?? String(decoding: bytes, as: UTF8.self)
    }

    /// Encodes text for a file (`crmctl export --encoding cp1251`: what Windows-1251 lacks becomes `?`).
    public func encode(_ text: String) -> Data {
        switch self {
        case .utf8: return Data(text.utf8)
        case .cp1251: return text.data(using: .windowsCP1251, allowLossyConversion: true) ?? Data(text.utf8)
        }
    }
}

/// One record of a CSV file: its cells and the line of the file it starts on (a quoted cell may
/// hold line breaks, so records and lines differ).
public struct CSVRecord: Sendable {
    public var line: Int
    public var cells: [String]
}

/// A streaming RFC 4180 reader over a file: quoted cells (with `""` for a quote and line breaks
/// inside), CRLF or LF line ends, a UTF-8 BOM skipped, 1 MiB read at a time; the whole file is
/// never in memory. CSV.swift's reader gives no line numbers and decodes only UTF-8/16/32, and an
/// import must name the line of each bad row in the file and read Windows-1251.
public final class CSVRecordReader {
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private var pos = 0
    private var eof = false
    public private(set) var line = 1
    /// Bytes of the file read so far (for the progress line).
    public private(set) var consumed: Int64 = 0
    public let encoding: CSVEncoding
    public let delimiter: UInt8

    public init(path: String, encoding: CSVEncoding?, delimiter: UInt8?) throws {
        guard let h = FileHandle(forReadingAtPath: path) else { throw ImportFailure("cannot open \(path)") }
        handle = h
        let first = try h.read(upToCount: 1 << 20).map { [UInt8]($0) } ?? []
        buffer = first
        if buffer.starts(with: [0xEF, 0xBB, 0xBF]) { pos = 3 }
        self.encoding = encoding ?? (pos == 3 ? .utf8 : CSVEncoding.detect(Array(first.prefix(1 << 16))))
        self.delimiter = delimiter ?? Self.detectDelimiter(first[pos...].prefix(1 << 16))
        consumed = Int64(pos)
    }

    /// `;`, `,` or a tab: whichever the first line (outside quotes) has most of; `,` when none.
    public static func detectDelimiter(_ head: ArraySlice<UInt8>) -> UInt8 {
        var counts: [UInt8: Int] = [UInt8(ascii: ";"): 0, UInt8(ascii: ","): 0, UInt8(ascii: "\t"): 0]
        var quoted = false
        for b in head {
            if b == UInt8(ascii: "\"") { quoted.toggle() }
            if !quoted, b == 0x0A { break }
            if !quoted, counts[b] != nil { counts[b]! += 1 }
        }
        let best = counts.max { a, b in a.value < b.value || (a.value == b.value && a.key == UInt8(ascii: ",")) }
        return (best?.value ?? 0) > 0 ? best!.key : UInt8(ascii: ",")
    }

    private func fill() throws -> Bool {
        if eof { return false }
        if pos > 0 {
            buffer.removeFirst(pos)
            pos = 0
        }
        guard let more = try handle.read(upToCount: 1 << 20), !more.isEmpty else {
            eof = true
            return false
        }
        buffer.append(contentsOf: more)
        return true
    }

    private func peek() throws -> UInt8? {
        if pos == buffer.count, try !fill() { return nil }
        return buffer[pos]
    }

    private func advance() {
        pos += 1
        consumed += 1
    }

    /// The next record, or `nil` at the end of the file. A record longer than `maxRecordBytes`
    /// is an error (a missing closing quote would otherwise swallow the file).
    public func next(maxRecordBytes: Int = 1 << 20) throws -> CSVRecord? {
        guard try peek() != nil else { return nil }
        let start = line
        var cells: [String] = []
        var cell: [UInt8] = []
        var quoted = false
        var size = 0
        while let b = try peek() {
            advance()
            size += 1
            if size > maxRecordBytes { throw ImportFailure("line \(start): a record longer than 1 MiB (an unclosed quote?)") }
            if quoted {
                if b == UInt8(ascii: "\"") {
                    if try peek() == UInt8(ascii: "\"") {
                        advance()
                        cell.append(b)
                    } else {
                        quoted = false
                    }
                } else {
                    if b == 0x0A { line += 1 }
                    cell.append(b)
                }
                continue
            }
            switch b {
            case UInt8(ascii: "\""):
                if cell.allSatisfy({ $0 == 0x20 }) { cell.removeAll(keepingCapacity: true); quoted = true } else { cell.append(b) }
            case delimiter:
                cells.append(encoding.decode(cell[...]))
                cell.removeAll(keepingCapacity: true)
            case 0x0D: if try peek() != 0x0A { cell.append(b) }
            case 0x0A:
                line += 1
                cells.append(encoding.decode(cell[...]))
                return CSVRecord(line: start, cells: cells)
            default: cell.append(b)
            }
        }
        cells.append(encoding.decode(cell[...]))
        return CSVRecord(line: start, cells: cells)
    }
}

/// A failure that ends an import with a message.
public struct ImportFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}
