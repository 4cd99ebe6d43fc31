import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import Testing

@Suite("Edges of the protocol")
struct EdgeTests {
    @Test("a peer that half-closes after sending still gets every reply, including a last line without newline")
    func halfClose() throws {
        try withDaemon { d in
            let c = try d.connect()
            var lines = ""
            for i in 1...20 {
                lines += #"{"jsonrpc":"2.0","id":\#(i),"method":"client.create","params":{"name":"HC \#(i)"}}"# + "\n"
            }
            lines += #"{"jsonrpc":"2.0","id":21,"method":"server.ping"}"#  // no trailing newline
            try c.send(raw: Array(lines.utf8))
            c.finishSending()
            var ids: [Int64] = []
            while let r = try c.readJSON() { ids.append(r["id"]?.intValue ?? -1) }
            #expect(ids == Array(1...21))
        }
    }

    @Test("an over-long line is answered in its turn, after the requests before it")
    func oversizeInOrder() throws {
        try withDaemon(environment: ["CRMD_PROTOCOL_MAX_LINE_BYTES": "4096"]) { d in
            let c = try d.connect()
            var raw: [UInt8] = []
            for i in 1...30 {
                raw += Array((#"{"jsonrpc":"2.0","id":\#(i),"method":"client.create","params":{"name":"OL \#(i)"}}"# + "\n").utf8)
            }
            raw += Array(("{\"x\":\"" + String(repeating: "b", count: 9000) + "\"}\n").utf8)
            raw += Array((#"{"jsonrpc":"2.0","id":99,"method":"server.ping"}"# + "\n").utf8)
            try c.send(raw: raw)
            var replies: [JSON] = []
            while let r = try c.readJSON() { replies.append(r) }
            #expect(replies.count == 31)
            #expect(replies.prefix(30).map { $0["id"]?.intValue ?? -1 } == Array(1...30))
            #expect(replies.last.map(errorCode) == -32600)
            let check = try d.connect().call("client.list", ["query": "OL ", "limit": 100])
            #expect(check["items"]?.arrayValue?.count == 30)
        }
    }

    @Test("a request_id is bound to its method")
    func requestIDMethod() throws {
        try withDaemon { d in
            let c = try d.connect()
            let cl = try c.call("client.create", ["name": "RID", "request_id": "same"])
            #expect(rpcErrorCode { try c.call("contact.create", ["client_id": cl["id"]!, "name": "X", "request_id": "same"]) } == -32602)
            #expect(try c.call("contact.list", ["client_id": cl["id"]!])["items"]?.arrayValue?.isEmpty == true)
        }
    }

    @Test("an update that changes nothing, and a cursor crmd never gave, are invalid params")
    func emptyUpdate() throws {
        try withDaemon { d in
            let c = try d.connect()
            let cl = try c.call("client.create", ["name": "Nothing"])
            #expect(rpcErrorCode { try c.call("client.update", ["id": cl["id"]!]) } == -32602)
            #expect(rpcErrorCode { try c.call("client.list", ["cursor": "abc"]) } == -32602)
            #expect(try c.call("client.history", ["id": cl["id"]!])["items"]?.arrayValue?.count == 1)
        }
    }

    @Test("acting as a user who is then deactivated is refused, not silently run as the admin")
    func actAsDeactivated() throws {
        try withDaemon { d in
            let admin = try d.connect()
            try seedTeam(admin)
            let acting = try d.connect()
            _ = try acting.call("session.act_as", ["login": "ivanov"])
            _ = try admin.call("user.deactivate", ["login": "ivanov"])
            #expect(rpcErrorCode { try acting.call("client.create", ["name": "Ghost"]) } == 1006)
            _ = try acting.call("session.act_as", [:])
            #expect(try acting.call("whoami")["user"]?["login"] == "root")
        }
    }

    @Test("an import with the same phone twice names both items and creates nothing")
    func importDuplicates() throws {
        try withDaemon { d in
            let c = try d.connect()
            do {
                _ = try c.call(
                    "client.import",
                    ["clients": [["name": "A", "phones": ["+79990001122"]], ["name": "B", "phones": ["8 999 000 11 22"]]]])
                Issue.record("expected invalid params")
            } catch let e as RPCError {
                #expect(e.code == -32602)
                #expect(e.message.contains("clients[1].phones"))
            }
            #expect(try c.call("client.list", ["status": "unassigned"])["items"]?.arrayValue?.isEmpty == true)
            let ok = try c.call("client.import", ["clients": [["name": "A"], ["name": "B", "phones": ["+79990001122"]]]])
            #expect(ok["created"] == 2)
        }
    }
}
