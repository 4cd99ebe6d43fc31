// The libFuzzer target for crmd's bad-input path: bytes go through the real line framing
// (LineBuffer, fed in reads whose size the input chooses, ended by the end of input crmd sees
// when the peer half-closes), then every line through JSONParser, Request.decode and a
// ParamReader, as ClientConnection does.
//
// Built only by scripts/fuzz.sh (`-c release -sanitize=fuzzer,address -DCRM_FUZZ`); a plain
// `swift build` gets a stub that says how to run it.
#if CRM_FUZZ
    import CRMFraming
    import CRMProtocol

    /// Line cap for the fuzz run: small, so the over-long path is reached often.
    private let maxLine = 4096

    @_cdecl("LLVMFuzzerTestOneInput")
    public func crmFuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
        let bytes = UnsafeRawBufferPointer(start: data, count: size)
        // The first byte picks how many bytes each read returns (1...256), as a socket may.
        let chunk = Int(bytes.first ?? 0) + 1
        var buffer = LineBuffer(maxLength: maxLine, initialCapacity: 64)
        var offset = bytes.isEmpty ? 0 : 1
        /// Takes every complete line; false once an over-long line ends the stream.
        func takeLines(last: Bool) -> Bool {
            do throws(LineTooLongError) {
                while let line = try buffer.nextLine() { check(line) }
                if last, let line = try buffer.lastLine() { check(line) }
                return true
            } catch {
                precondition(error.limit == maxLine)
                return false
            }
        }
        while offset < bytes.count {
            // No budget: growth is bounded by the line cap only, so the read cannot be refused.
            let n = try! buffer.read { space in
                let n = min(chunk, space.count, bytes.count - offset)
                space.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)]))
                return n
            }
            precondition(n > 0, "no room to read into")
            offset += n
            guard takeLines(last: false) else { return 0 }
            // Framing invariant: what waits for its newline is never over the cap.
            precondition(buffer.pendingBytes <= maxLine, "buffered past the cap")
        }
        _ = takeLines(last: true)
        precondition(buffer.pendingBytes == 0, "bytes left over at the end of input")
        return 0
    }

    /// Framing invariants, then what crmd does with the line.
    private func check(_ line: UnsafeRawBufferPointer) {
        precondition(line.count <= maxLine, "line over the cap came through")
        precondition(!line.contains(UInt8(ascii: "\n")), "a line holds a newline")
        handle(line)
    }

    private func handle(_ raw: UnsafeRawBufferPointer) {
        let parsed: JSON? = {
            do throws(JSONParseError) {
                return try JSONParser.parse(buffer: raw)
            } catch {
                precondition(error.offset >= 0 && error.offset <= raw.count, "parse error offset out of range")
                return nil
            }
        }()
        guard let parsed else { return }
        // What crmd writes back must parse again to the same value.
        let written = JSONWriter.bytes(parsed)
        guard let again = try? JSONParser.parse(written, maxDepth: 1 << 20) else {
            fatalError("writer output does not parse: \(String(decoding: written, as: UTF8.self))")
        }
        // A whole double such as -3e10 is written as -30000000000 and reads back as an integer, so
        // compare what is written: writing must be stable after one round trip.
        precondition(JSONWriter.bytes(again) == written, "round trip changed the value")
        let items: [JSON]
        if case .array(let a) = parsed { items = a } else { items = [parsed] }
        for item in items {
            switch Request.decode(item) {
            case .failure(let f):
                _ = JSONWriter.bytes(Response.failure(id: f.id, error: f.error, lang: .ru))
            case .success(let request):
                var r = ParamReader(request.params)
                _ = r.optionalInt("id")
                _ = r.optionalString("name")
                _ = r.optionalStringArray("phones")
                _ = r.optionalIntArray("ids")
                _ = r.optionalTimestamp("occurred_at")
                _ = r.optionalBool("force")
                _ = r.optionalObject("fields")
                _ = r.patchString("segment")
                _ = r.cursor()
                _ = r.limit()
                if let e = try? { () throws(RPCError) in try r.finish() }() { _ = e }
                _ = JSONWriter.bytes(request.json)
            }
        }
    }

    @_silgen_name("LLVMFuzzerRunDriver")
    private func llvmFuzzerRunDriver(
        _ argc: UnsafeMutablePointer<Int32>,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
        _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
    ) -> Int32

    /// SwiftPM links an executable with `main` = `crm_fuzz_main`; hand control to libFuzzer.
    @_cdecl("crm_fuzz_main")
    public func crmFuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
        var argc = argc
        var argv = argv
        return llvmFuzzerRunDriver(&argc, &argv, crmFuzzOne)
    }
#else
    @main
    struct CRMFuzzStub {
        static func main() {
            print("crm-fuzz is built by scripts/fuzz.sh (make fuzz) with -sanitize=fuzzer; this build is a stub.")
        }
    }
#endif
