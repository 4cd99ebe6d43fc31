/// A line longer than the limit: the connection gets `-32600` and is closed.
package struct LineTooLongError: Error {
    package let limit: Int
}

/// A line that would need more memory than its ``LineBudget`` grants: the connection gets `1009`
/// and is closed, like a line too long.
package struct LineBudgetError: Error {}

/// Memory a ``LineBuffer`` may grow into past its initial capacity, shared with other buffers (a
/// peer's uid, and everyone's), so many connections each holding an unfinished line of the
/// maximum length cannot add up to gigabytes.
package protocol LineBudget: AnyObject {
    /// Asks for `bytes` more; false refuses (nothing is taken).
    func take(_ bytes: Int) -> Bool
    /// Gives back `bytes` taken before.
    func give(_ bytes: Int)
}

/// The bytes read from one connection, cut into `\n`-terminated lines (a trailing `\r` is
/// dropped), refusing any line longer than `maxLength` bytes, so a peer that never sends a newline
/// cannot grow crmd's memory past the cap.
///
/// One buffer per connection, used by the one thread that reads it: `read` fills the free space
/// at the end, `nextLine` hands out each complete line in place (no copy), and the consumed front
/// is reclaimed before the next read.
package struct LineBuffer: ~Copyable {
    package let maxLength: Int
    private let initialCapacity: Int
    /// Where growth past ``initialCapacity`` is taken from (nil: no bound but `maxLength`).
    private let budget: (any LineBudget)?
    private var storage: UnsafeMutableRawBufferPointer
    /// The first byte not yet handed out.
    private var start = 0
    /// One past the last byte read.
    private var end = 0
    /// Where the newline search resumes, so a long partial line is not rescanned on every read.
    private var scanned = 0

    package init(maxLength: Int, initialCapacity: Int = 16 * 1024, budget: (any LineBudget)? = nil) {
        self.maxLength = maxLength
        self.initialCapacity = max(64, initialCapacity)
        self.budget = budget
        storage = .allocate(byteCount: self.initialCapacity, alignment: 8)
    }

    deinit {
        budget?.give(storage.count - initialCapacity)
        storage.deallocate()
    }

    /// Bytes read and not yet handed out as a line.
    package var pendingBytes: Int { end - start }

    /// Lets `body` read into the free space at the end (at least 4 KiB; the buffer grows, up to
    /// what one line of the maximum length needs). `body` returns how many bytes it stored, or
    /// zero or less for none; its value is returned. Throws, reading nothing, when growing would
    /// take more than the budget grants.
    package mutating func read(_ body: (UnsafeMutableRawBufferPointer) -> Int) throws(LineBudgetError) -> Int {
        if start == end {
            start = 0
            end = 0
            scanned = 0
            if storage.count > initialCapacity {
                // A long line is done: its memory goes back, so a connection holds little between lines.
                budget?.give(storage.count - initialCapacity)
                storage.deallocate()
                storage = .allocate(byteCount: initialCapacity, alignment: 8)
            }
        } else if start > 0, storage.count - end < 4096 {
            // Move the partial line to the front.
            let count = end - start
            storage.baseAddress!.copyMemory(from: storage.baseAddress! + start, byteCount: count)
            scanned -= start
            start = 0
            end = count
        }
        if storage.count - end < 4096 {
            // Room for a whole line of the maximum length, its newline, and one read beyond.
            let wanted = min(max(storage.count * 2, end + 4096), maxLength + 4096 + 1)
            if wanted > storage.count {
                if let budget, !budget.take(wanted - storage.count) { throw LineBudgetError() }
                let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: wanted, alignment: 8)
                bigger.baseAddress!.copyMemory(from: storage.baseAddress! + start, byteCount: end - start)
                storage.deallocate()
                storage = bigger
                scanned -= start
                end -= start
                start = 0
            }
        }
        let n = body(UnsafeMutableRawBufferPointer(rebasing: storage[end...]))
        if n > 0 { end += n }
        return n
    }

    /// The next complete line, without its newline (or `\r\n`), valid until the next `read`;
    /// `nil` when no complete line is buffered. Throws when the line (complete or not) is longer
    /// than the limit: the connection ends there, since the rest of its stream cannot be framed.
    package mutating func nextLine() throws(LineTooLongError) -> UnsafeRawBufferPointer? {
        let base = UnsafeRawPointer(storage.baseAddress!)
        var i = max(scanned, start)
        while i < end, base.load(fromByteOffset: i, as: UInt8.self) != 0x0A { i += 1 }
        guard i < end else {
            scanned = end
            if end - start > maxLength { throw LineTooLongError(limit: maxLength) }
            return nil
        }
        let length = i - start
        if length > maxLength { throw LineTooLongError(limit: maxLength) }
        var line = UnsafeRawBufferPointer(start: base + start, count: length)
        if length > 0, line[length - 1] == 0x0D { line = UnsafeRawBufferPointer(rebasing: line.dropLast()) }
        start = i + 1
        scanned = start
        return line
    }

    /// At end of input: what is left after the last newline, as a last line (a request without its
    /// newline is still a request), or `nil` when nothing is left.
    package mutating func lastLine() throws(LineTooLongError) -> UnsafeRawBufferPointer? {
        guard end > start else { return nil }
        if end - start > maxLength { throw LineTooLongError(limit: maxLength) }
        let line = UnsafeRawBufferPointer(start: UnsafeRawPointer(storage.baseAddress!) + start, count: end - start)
        start = end
        scanned = end
        return line
    }
}
