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
                #expect(e.message.description.contains("clients[1].phones"))
            }
            #expect(try c.call("client.list", ["status": "unassigned"])["items"]?.arrayValue?.isEmpty == true)
            let ok = try c.call("client.import", ["clients": [["name": "A"], ["name": "B", "phones": ["+79990001122"]]]])
            #expect(ok["created"] == 2)
        }
    }

    /// The error a call gets, or nil when it succeeds.
    func refusal(_ body: () throws -> JSON) -> RPCError? {
        do {
            _ = try body()
            return nil
        } catch {
            return error as? RPCError
        }
    }

    static let wireRange = "from 0000-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z"

    @Test("an instant whose offset puts it outside years 0000-9999 is -32602 naming the range, and the connection goes on")
    func instantsOutsideTheRange() throws {
        let d = try TestDaemon(arguments: ["--clock", "manual", "--clock-start", "2026-01-12T09:00:00Z"])
        try d.start()
        defer { d.stop() }
        let c = try d.connect()
        try seedTeam(c)
        let id = try c.call("client.create", ["name": "Far Dates Ltd", "owner": "ivanov"])["id"]!.intValue!
        let logged = try roundTrip(
            c,
            #"{"jsonrpc":"2.0","id":1,"method":"interaction.log","params":{"client_id":\#(id),"kind":"call","result":"x","occurred_at":"9999-12-31T23:00:00-05:00"}}"#
        )
        #expect(errorCode(logged) == -32602)
        #expect(logged["error"]?["message"]?.stringValue?.contains(Self.wireRange) == true, "\(logged)")
        #expect(logged["error"]?["data"]?["fields"]?.arrayValue?.first?["field"] == "occurred_at")
        #expect(
            logged["error"]?["data"]?["fields"]?.arrayValue?.first?["problem"]?.stringValue
                == "must be an RFC 3339 timestamp \(Self.wireRange) (in UTC, once its offset is applied), not '9999-12-31T23:00:00-05:00'")
        let set = try roundTrip(c, #"{"jsonrpc":"2.0","id":2,"method":"clock.set","params":{"to":"9999-12-31T23:00:00-05:00"}}"#)
        #expect(errorCode(set) == -32602)
        #expect(set["error"]?["message"]?.stringValue?.contains(Self.wireRange) == true, "\(set)")
        #expect(set["error"]?["data"]?["fields"]?.arrayValue?.count == 1, "\(set)")  // not also "is required"
        let early = try roundTrip(c, #"{"jsonrpc":"2.0","id":3,"method":"report.zones","params":{"from":"0000-01-01T00:30:00+01:00"}}"#)
        #expect(errorCode(early) == -32602)
        #expect(early["error"]?["message"]?.stringValue?.contains(Self.wireRange) == true, "\(early)")
        // A period's default start, 30 days before its end, does not go before year 0000.
        let first = try c.call("report.zones", ["to": "0000-01-05T00:00:00Z"])
        #expect(first["from"] == "0000-01-01T00:00:00Z")
        #expect(first["to"] == "0000-01-05T00:00:00Z")
        #expect(try roundTrip(c, #"{"jsonrpc":"2.0","id":4,"method":"server.ping"}"#)["result"]?["pong"] == true)
        #expect(try c.call("interaction.list", ["client_id": .int(id)])["items"]?.arrayValue?.isEmpty == true)
        #expect(try c.call("server.status")["now"] == "2026-01-12T09:00:00Z")
    }

    @Test("the test clock stops at 9000-01-01: a later clock.set or clock.advance is -32602, and dates counted from the clock print true")
    func clockCannotRunPastTheLimit() throws {
        let d = try TestDaemon(arguments: ["--clock", "manual", "--clock-start", "2026-01-12T09:00:00Z"])
        try d.start()
        defer { d.stop() }
        let c = try d.connect()
        try seedTeam(c)
        let set = refusal { try c.call("clock.set", ["to": "9500-01-01T00:00:00Z"]) }
        #expect(set?.code == -32602)
        #expect(set?.message.description.contains("9000-01-01T00:00:00Z") == true, "\(String(describing: set))")
        let advance = refusal { try c.call("clock.advance", ["by": "P99999Y"]) }
        #expect(advance?.code == -32602)
        #expect(advance?.data?["fields"]?.arrayValue?.first?["field"] == "by")
        #expect(advance?.message.description.contains("9000-01-01T00:00:00Z") == true, "\(String(describing: advance))")
        #expect(try c.call("server.status")["now"] == "2026-01-12T09:00:00Z")
        // Up to the limit itself is allowed; a release six months later prints as it is.
        #expect(try c.call("clock.set", ["to": "9000-01-01T00:00:00Z"])["now"] == "9000-01-01T00:00:00Z")
        let client = try c.call("client.create", ["name": "Late Ltd", "owner": "ivanov"])
        #expect(client["release_at"] == "9000-07-01T00:00:00Z")
        let ivanov = try d.connect()
        _ = try ivanov.call("session.act_as", ["login": "ivanov"])
        let logged = try ivanov.call(
            "interaction.log", ["client_id": client["id"]!, "kind": "call", "result": "ok", "occurred_at": "9000-01-01T00:04:00Z"])
        #expect(logged["client"]?["release_at"] == "9000-07-01T00:04:00Z")
        let past = refusal { try c.call("clock.advance", ["by": "PT1S"]) }
        #expect(past?.code == -32602)
        #expect(try c.call("server.ping")["pong"] == true)
        #expect(try c.call("server.status")["now"] == "9000-01-01T00:00:00Z")
    }

    @Test("a start instant past the clock's limit, and a setting that counts a deadline more than P100Y ahead, stop crmd with the reason")
    func farAheadStartAndSettings() throws {
        let d = try TestDaemon()
        let late = try d.runToExit(arguments: ["--check-config", "--clock", "manual", "--clock-start", "9500-01-01T00:00:00Z"])
        #expect(late.status == 64)
        #expect(late.stderr.contains("9000-01-01T00:00:00Z"), "\(late.stderr)")
        let out = try d.runToExit(arguments: ["--check-config", "--clock", "manual", "--clock-start", "9999-12-31T23:00:00-05:00"])
        #expect(out.status == 64)
        #expect(out.stderr.contains(Self.wireRange), "\(out.stderr)")
        for (key, value) in [
            ("CRMD_ZONES_RELEASE_AFTER", "P101Y"), ("CRMD_EXCHANGE_COOLDOWN", "P1201M"), ("CRMD_INTERACTIONS_MAX_FUTURE", "P36525D"),
        ] {
            let r = try d.runToExit(arguments: ["--check-config"], environment: [key: value])
            #expect(r.status == 78, "\(key)=\(value): \(r.stderr)")
            #expect(r.stderr.contains("P100Y"), "\(key)=\(value): \(r.stderr)")
        }
        let fine = try d.runToExit(arguments: ["--check-config"], environment: ["CRMD_ZONES_RELEASE_AFTER": "P100Y"])
        #expect(fine.status == 0, "\(fine.stderr)")
    }
}
