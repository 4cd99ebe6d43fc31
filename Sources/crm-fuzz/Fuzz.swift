// The libFuzzer target for crmd's bad-input path: bytes go through the real line framing
// (LineFrameDecoder in a ByteToMessageHandler, fed in chunks the input chooses, ended by the
// half-close crmd sees at EOF), then every line through JSONParser, Request.decode and a
// ParamReader, as ConnectionHandler does.
//
// Built only by scripts/fuzz.sh (`-c release -sanitize=fuzzer,address -DCRM_FUZZ`); a plain
// `swift build` gets a stub that says how to run it.
#if CRM_FUZZ
    import CRMFraming
    import CRMProtocol
    import NIOCore
    import NIOEmbedded

    /// Line cap for the fuzz run: small, so the over-long path is reached often.
    private let maxLine = 4096

    /// One channel for the whole run (libFuzzer calls the target from one thread). Each input gets
    /// a new framing handler on it, as each crmd connection does, and leaves it empty: the handler
    /// is removed, every line read and any error taken before the next input. Building an
    /// EmbeddedChannel, its event loop and pipeline for every input cost more than most inputs.
    nonisolated(unsafe) private let channel = EmbeddedChannel()

    @_cdecl("LLVMFuzzerTestOneInput")
    public func crmFuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
        let bytes = UnsafeRawBufferPointer(start: data, count: size)
        // The first byte picks the chunk size the stream arrives in (1...256 bytes per read).
        let chunk = Int(bytes.first ?? 0) + 1
        let framing = ByteToMessageHandler(LineFrameDecoder(maxLength: maxLine))
        try! channel.pipeline.syncOperations.addHandler(framing)
        var lines: [ByteBuffer] = []
        var tooLong = false
        func collect() {
            while let line = try? channel.readInbound(as: ByteBuffer.self) { lines.append(line) }
        }
        /// Runs one step of the stream; an over-long line ends it, as it ends a connection.
        func step(_ body: () throws -> Void) {
            do {
                try body()
            } catch is LineTooLongError {
                tooLong = true
            } catch {
                fatalError("unexpected framing error: \(error)")
            }
            collect()
        }
        var offset = bytes.isEmpty ? 0 : 1
        while offset < bytes.count, !tooLong {
            let end = min(bytes.count, offset + chunk)
            var buf = channel.allocator.buffer(capacity: end - offset)
            buf.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[offset..<end]))
            offset = end
            step { try channel.writeInbound(buf) }
        }
        if !tooLong {
            // crmd allows half-closure: EOF reaches the framing as `inputClosed`, and a last
            // line without its newline is still a request.
            step {
                channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
                try channel.throwIfErrorCaught()
            }
        }
        let removed = channel.pipeline.syncOperations.removeHandler(framing)
        channel.embeddedEventLoop.run()
        try! removed.wait()
        precondition((try? channel.readInbound(as: ByteBuffer.self)) == nil, "bytes left over for the next input")
        for line in lines {
            // Framing invariants: no newline inside a line, never over the cap.
            precondition(line.readableBytes <= maxLine, "line over the cap came through")
            precondition(!line.readableBytesView.contains(UInt8(ascii: "\n")), "a line holds a newline")
            handle(line)
        }
        return 0
    }

    private func handle(_ line: ByteBuffer) {
        let parsed: JSON? = line.withUnsafeReadableBytes { raw in
            do throws(JSONParseError) {
                return try JSONParser.parse(buffer: raw)
            } catch {
                precondition(error.offset >= 0 && error.offset <= raw.count, "parse error offset out of range")
                return nil
            }
        }
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
                _ = JSONWriter.bytes(Response.failure(id: f.id, error: f.error))
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
