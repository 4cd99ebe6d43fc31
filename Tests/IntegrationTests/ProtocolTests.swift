import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import Testing

@Suite("Protocol over a real socket")
struct ProtocolTests {
    @Test("garbage lines get a parse error and the connection keeps answering")
    func garbage() throws {
        try withDaemon { d in
            let c = try d.connect()
            for junk in ["garbage", "{\"jsonrpc\":", "[1,2", "\u{7F}\u{01}", "{\"a\":1}}", "nul"] {
                let r = try roundTrip(c, junk)
                #expect(errorCode(r) == -32700, "for \(junk): \(JSONWriter.string(r))")
                #expect(r["id"] == .null)
            }
            // Invalid UTF-8 inside a string.
            try c.send(
                raw: Array("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"server.ping\",\"params\":{\"x\":\"".utf8) + [0xFF, 0xFE]
                    + Array("\"}}\n".utf8))
            #expect(errorCode(try c.readJSON()!) == -32700)
            let pong = try roundTrip(c, #"{"jsonrpc":"2.0","id":9,"method":"server.ping"}"#)
            #expect(pong["result"]?["pong"] == .bool(true))
            #expect(pong["id"] == .int(9))
        }
    }

    @Test("invalid requests, unknown methods and wrong param types get their codes")
    func invalid() throws {
        try withDaemon { d in
            let c = try d.connect()
            #expect(errorCode(try roundTrip(c, #"{"id":1,"method":"server.ping"}"#)) == -32600)
            #expect(errorCode(try roundTrip(c, #"{"jsonrpc":"2.0","id":2}"#)) == -32600)
            #expect(errorCode(try roundTrip(c, #"42"#)) == -32600)
            #expect(errorCode(try roundTrip(c, #"[]"#)) == -32600)
            let unknown = try roundTrip(c, #"{"jsonrpc":"2.0","id":3,"method":"client.teleport"}"#)
            #expect(errorCode(unknown) == -32601)
            #expect(unknown["id"] == .int(3))
            let wrong = try roundTrip(c, #"{"jsonrpc":"2.0","id":"abc","method":"client.get","params":{"id":"seven","extra":1}}"#)
            #expect(errorCode(wrong) == -32602)
            #expect(wrong["id"] == .string("abc"))
            let fields = wrong["error"]?["data"]?["fields"]?.arrayValue?.compactMap { $0["field"]?.stringValue } ?? []
            #expect(fields.sorted() == ["extra", "id"])
            let positional = try roundTrip(c, #"{"jsonrpc":"2.0","id":4,"method":"client.get","params":[1]}"#)
            #expect(errorCode(positional) == -32602)
            let notFound = try roundTrip(c, #"{"jsonrpc":"2.0","id":5,"method":"client.get","params":{"id":999}}"#)
            #expect(errorCode(notFound) == 1001)
        }
    }

    @Test("a line over the limit gets -32600 and the connection is closed; others keep working")
    func oversize() throws {
        try withDaemon(environment: ["CRMD_PROTOCOL_MAX_LINE_BYTES": "4096"]) { d in
            let c = try d.connect()
            let big =
                "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"server.ping\",\"params\":{\"x\":\"" + String(repeating: "a", count: 10_000)
                + "\"}}"
            try c.send(raw: Array((big + "\n").utf8))
            let r = try c.readJSON()
            #expect(r.map(errorCode) == -32600)
            #expect(try c.readLine() == nil, "the connection should be closed")
            let other = try d.connect()
            #expect(try other.call("server.ping")["pong"] == .bool(true))
        }
    }

    @Test("1,000 pipelined requests are answered in order")
    func pipelining() throws {
        try withDaemon { d in
            let c = try d.connect()
            let admin = try d.connect()
            let client = try admin.call("client.create", ["name": "Pipeline Ltd", "owner": .null])
            let id = client["id"]!.intValue!
            var lines: [UInt8] = []
            for i in 0..<1000 {
                let method = i % 3 == 0 ? "interaction.log" : (i % 3 == 1 ? "client.get" : "server.ping")
                let params: JSON =
                    method == "interaction.log"
                    ? ["client_id": .int(id), "kind": "note", "note": .string("n\(i)")] : (method == "client.get" ? ["id": .int(id)] : [:])
                lines += JSONWriter.bytes(Request(id: .int(Int64(i)), method: method, params: params).json) + [0x0A]
            }
            try c.send(raw: lines)
            for i in 0..<1000 {
                let r = try c.readJSON()
                #expect(r?["id"] == .int(Int64(i)))
                #expect(r?["error"] == nil, "request \(i): \(r.map(JSONWriter.string) ?? "nil")")
            }
            let list = try admin.call("interaction.list", ["client_id": .int(id), "limit": 1000])
            #expect(list["items"]?.arrayValue?.count == 334)
        }
    }

    @Test("a batch returns an array of replies, skipping notifications")
    func batch() throws {
        try withDaemon { d in
            let c = try d.connect()
            let r = try roundTrip(
                c,
                #"[{"jsonrpc":"2.0","id":1,"method":"server.ping"},{"jsonrpc":"2.0","method":"server.ping"},{"jsonrpc":"2.0","id":2,"method":"nope"},{"jsonrpc":"2.0","id":3,"method":"client.create","params":{"name":"Batch Co"}},7]"#
            )
            let items = r.arrayValue ?? []
            #expect(items.count == 4)
            #expect(items[0]["result"]?["pong"] == .bool(true))
            #expect(errorCode(items[1]) == -32601)
            #expect(items[2]["result"]?["name"] == .string("Batch Co"))
            #expect(errorCode(items[3]) == -32600)
            // A notification alone gets no reply: the next reply is for the next request.
            try c.send(raw: Array("{\"jsonrpc\":\"2.0\",\"method\":\"server.ping\"}\n".utf8))
            #expect(try roundTrip(c, #"{"jsonrpc":"2.0","id":77,"method":"server.ping"}"#)["id"] == .int(77))
        }
    }

    @Test("a batch over protocol.max_batch_items is refused whole, nothing run; the connection stays usable")
    func batchTooLarge() throws {
        try withDaemon { d in
            let c = try d.connect()
            let create = #"{"jsonrpc":"2.0","id":0,"method":"client.create","params":{"name":"Never Co"}}"#
            let pings = (1...100).map { #"{"jsonrpc":"2.0","id":\#($0),"method":"server.ping"}"# }
            let r = try roundTrip(c, "[" + ([create] + pings).joined(separator: ",") + "]")
            #expect(errorCode(r) == -32600)
            #expect(r["error"]?["data"]?["reason"] == "batch_too_large")
            #expect(r["error"]?["data"]?["limit"] == 100)
            #expect(r["error"]?["data"]?["items"] == 101)
            #expect(try c.call("client.list")["items"]?.arrayValue?.isEmpty == true)
            // 100 is allowed.
            #expect(try roundTrip(c, "[" + pings.joined(separator: ",") + "]").arrayValue?.count == 100)
        }
    }

    @Test("once a batch's replies pass protocol.max_batch_reply_bytes, the rest is not run and each gets 1007")
    func batchReplyBytes() throws {
        try withDaemon(environment: ["CRMD_PROTOCOL_MAX_BATCH_REPLY_BYTES": "8192"]) { d in
            let c = try d.connect()
            let names = (1...40).map { JSON.object(["name": .string("Client \($0) " + String(repeating: "x", count: 100))]) }
            _ = try c.call("client.import", ["clients": .array(names)])
            let list = (1...10).map { #"{"jsonrpc":"2.0","id":\#($0),"method":"client.list","params":{"limit":40}}"# }
            let create = #"{"jsonrpc":"2.0","id":99,"method":"client.create","params":{"name":"Late Co"}}"#
            let items = try roundTrip(c, "[" + (list + [create]).joined(separator: ",") + "]").arrayValue ?? []
            #expect(items.count == 11)
            let ran = items.filter { $0["result"] != nil }.count
            #expect(ran >= 1 && ran < 10, "\(ran) of 10 lists ran under an 8 KiB reply bound")
            for skipped in items.dropFirst(ran) {
                #expect(errorCode(skipped) == 1007)
                #expect(skipped["error"]?["data"]?["kind"] == "batch_reply_bytes")
            }
            #expect(items.last?["id"] == 99)
            // The write at the end was not run.
            let found = try c.call("client.list", ["limit": 100])["items"]?.arrayValue ?? []
            #expect(!found.contains { $0["name"] == "Late Co" })
        }
    }

    @Test("request_id makes a retry return the first answer and write nothing")
    func requestID() throws {
        try withDaemon { d in
            let c = try d.connect()
            let first = try c.call("client.create", ["name": "Retry Ltd", "phones": ["+7 916 000 00 01"], "request_id": "r-1"])
            let again = try c.call("client.create", ["name": "Retry Ltd", "phones": ["+7 916 000 00 01"], "request_id": "r-1"])
            #expect(first == again)
            let list = try c.call("client.list", ["query": "retry"])
            #expect(list["items"]?.arrayValue?.count == 1)
            // Without the id, the same create is a duplicate.
            #expect(rpcErrorCode { try c.call("client.create", ["name": "Retry Ltd", "phones": ["89160000001"]]) } == 1003)
        }
    }
}
