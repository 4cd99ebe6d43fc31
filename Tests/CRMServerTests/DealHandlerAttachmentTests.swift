import CRMCore
import CRMProtocol
import Foundation
import Testing

@testable import CRMServer

/// Deal attachments in process: chunked upload with an offset check, the SHA-256 check on the last
/// chunk, chunked reading, the size setting and who may read or write them.
@Suite("Deal handlers in-process: attachments")
struct DealHandlerAttachmentTests {
    typealias T = SalesTeam
    static let chunk = 512 << 10

    /// The lower-case hex SHA-256 of `data`, by coreutils' sha256sum (not crmd's code).
    func sha256(_ data: Data) throws -> String {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("crmd-sha-\(UUID().uuidString)")
        try data.write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        p.arguments = [file.path]
        let output = Pipe()
        p.standardOutput = output
        try p.run()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let hex = String(String(decoding: out, as: UTF8.self).prefix(64))
        #expect(hex.count == 64 && hex.allSatisfy(\.isHexDigit))
        return hex
    }

    /// `n` bytes that are not all alike.
    func bytes(_ n: Int, seed: UInt32 = 7) -> Data {
        var x = seed
        return Data(
            (0..<n).map { _ in
                x = x &* 1_664_525 &+ 1_013_904_223
                return UInt8(truncatingIfNeeded: x >> 24)
            })
    }

    func attach(_ s: SalesTeam, _ deal: JSON, _ data: Data, sha: String? = nil, by uid: UInt32 = SalesTeam.ivanov) async throws -> Result<
        JSON, RPCError
    > {
        await s.call(
            "deal.attach",
            [
                "deal_id": deal["id"] ?? .null, "name": "proposal.pdf", "content_type": "application/pdf", "size": .int(data.count),
                "sha256": .string(try sha ?? sha256(data)),
            ], uid: uid)
    }

    func write(_ s: SalesTeam, _ a: JSON, _ data: Data, at offset: Int, by uid: UInt32 = SalesTeam.ivanov) async -> Result<JSON, RPCError> {
        await s.call(
            "deal.attach_write", ["id": a["id"] ?? .null, "offset": .int(offset), "data": .string(data.base64EncodedString())], uid: uid)
    }

    /// Reads an attachment back chunk by chunk.
    func readBack(_ s: SalesTeam, _ a: JSON, by uid: UInt32 = SalesTeam.ivanov) async throws -> Data {
        var out = Data()
        var offset: Int64 = 0
        while true {
            let r = try await s.ok("deal.attachment_read", ["id": a["id"] ?? .null, "offset": .int(offset)], uid: uid)
            let piece = try #require(Data(base64Encoded: r["data"]?.stringValue ?? "?"))
            #expect(piece.count <= Self.chunk)
            out.append(piece)
            offset = try #require(r["next_offset"]?.intValue)
            if r["eof"] == true { return out }
            #expect(!piece.isEmpty)
        }
    }

    @Test("upload in chunks: a wrong offset is a conflict telling what was received; read back identical, in chunks")
    func roundTrip() async throws {
        let s = try await SalesTeam()
        let d = try await s.deal(try await s.client("Files LLC"))
        let file = bytes(1_200_000)
        let a = try await attach(s, d, file).get()
        #expect(a["received"] == 0)
        #expect(a["complete"] == false)
        #expect(a["sha256"] == .string(try sha256(file)))
        let first = try await write(s, a, file.prefix(Self.chunk), at: 0).get()
        #expect(first["received"] == .int(Self.chunk))
        #expect(first["complete"] == false)
        // From a wrong place: 1003 with what crmd has.
        for offset in [1000, Self.chunk - 1, 2 * Self.chunk] {
            let wrong = await write(s, a, file[Self.chunk..<(2 * Self.chunk)], at: offset)
            #expect(errorCode(wrong) == ErrorCode.conflict, "\(offset)")
            #expect(failure(wrong)?.data?["received"] == .int(Self.chunk), "\(offset)")
        }
        // Offset 0 starts an unfinished upload over: what was received is dropped.
        let again = try await write(s, a, file.prefix(Self.chunk), at: 0).get()
        #expect(again["received"] == .int(Self.chunk))
        // Not readable before it is complete.
        #expect(errorCode(await s.call("deal.attachment_read", ["id": a["id"] ?? .null], uid: T.ivanov)) == ErrorCode.conflict)
        _ = try await write(s, a, file[Self.chunk..<(2 * Self.chunk)], at: Self.chunk).get()
        let last = try await write(s, a, file[(2 * Self.chunk)...], at: 2 * Self.chunk).get()
        #expect(last["complete"] == true)
        #expect(last["received"] == .int(file.count))
        #expect(try await readBack(s, a) == file)
        // From the middle of a chunk.
        let mid = try await s.ok("deal.attachment_read", ["id": a["id"] ?? .null, "offset": 600_000], uid: T.ivanov)
        #expect(Data(base64Encoded: mid["data"]?.stringValue ?? "") == file[600_000..<(600_000 + Self.chunk)])
        let listed = try #require(try await s.get(d)["attachments"]?.arrayValue)
        #expect(listed.count == 1)
        #expect(listed.first?["complete"] == true)
        #expect(listed.first?["size"] == .int(file.count))
        #expect(listed.first?["name"] == "proposal.pdf")
        // Complete means closed for writing.
        #expect(errorCode(await write(s, a, Data([1]), at: file.count)) == ErrorCode.conflict)
    }

    @Test("a SHA-256 that does not match: 1005 on the last chunk, and nothing is complete or readable")
    func shaMismatch() async throws {
        let s = try await SalesTeam()
        let d = try await s.deal(try await s.client("Bad sum LLC"))
        let file = bytes(100_000)
        let a = try await attach(s, d, file, sha: try sha256(bytes(100_000, seed: 8))).get()
        _ = try await write(s, a, file.prefix(60_000), at: 0).get()
        let r = await write(s, a, file.dropFirst(60_000), at: 60_000)
        #expect(errorCode(r) == ErrorCode.validationFailed)
        #expect(errorFields(r) == ["sha256"])
        let listed = try #require(try await s.get(d)["attachments"]?.arrayValue?.first)
        #expect(listed["complete"] == false)
        #expect(listed["received"] == 60_000)
        #expect(errorCode(await s.call("deal.attachment_read", ["id": a["id"] ?? .null], uid: T.ivanov)) == ErrorCode.conflict)
    }

    @Test("declared bounds: size over deals.max_attachment_bytes, data past the size, a name with a slash, a bad sum")
    func bounds() async throws {
        let s = try await SalesTeam {
            $0.domain.deals.maxAttachmentBytes = 1000
            $0.domain.deals.maxAttachmentsPerDeal = 2
        }
        let d = try await s.deal(try await s.client("Bounds LLC"))
        let over = try await attach(s, d, bytes(1001))
        #expect(errorCode(over) == ErrorCode.invalidParams)
        #expect(errorFields(over) == ["size"])
        let a = try await attach(s, d, bytes(1000)).get()
        let past = await write(s, a, bytes(1001), at: 0)
        #expect(errorFields(past) == ["data"])
        let base: JSONObject = ["deal_id": d["id"] ?? .null, "size": 10, "sha256": .string(String(repeating: "a", count: 64))]
        for (key, value) in [("name", "../x.pdf"), ("sha256", "xyz"), ("content_type", "pdf")] {
            var p = base
            p["name"] = "ok.pdf"
            p[key] = .string(value)
            #expect(errorFields(await s.call("deal.attach", p, uid: T.ivanov)) == [key], "\(key)")
        }
        _ = try await attach(s, d, bytes(10)).get()
        #expect(errorCode(try await attach(s, d, bytes(10))) == ErrorCode.limitReached)
    }

    @Test("who may attach and read: the owner and heads write; a manager may not read another's deal's files")
    func rights() async throws {
        let s = try await SalesTeam()
        let d = try await s.deal(try await s.client("Rights LLC"))
        let file = bytes(3000)
        for uid in [T.petrov, T.operator_, T.accountant, T.director] {
            #expect(errorCode(try await attach(s, d, file, by: uid)) == ErrorCode.forbidden, "\(uid)")
        }
        let a = try await attach(s, d, file).get()
        #expect(errorCode(await write(s, a, file, at: 0, by: T.petrov)) == ErrorCode.forbidden)
        #expect(try await write(s, a, file, at: 0, by: T.head).get()["complete"] == true)
        #expect(errorCode(await s.call("deal.attachment_read", ["id": a["id"] ?? .null], uid: T.petrov)) == ErrorCode.forbidden)
        for uid in [T.ivanov, T.head, T.accountant, T.director, T.operator_] {
            #expect(try await readBack(s, a, by: uid) == file, "\(uid)")
        }
        #expect(errorCode(await s.call("deal.attachment_read", ["id": 999], uid: T.head)) == ErrorCode.notFound)
    }
}
