import CRMProtocol
import Testing

/// Decodes request text, failing the test on a parse error.
func decode(_ text: String) throws -> Result<Request, Request.DecodeFailure> {
    Request.decode(try JSONParser.parse(text))
}

@Suite("Request.decode")
struct RequestDecodeTests {
    @Test func validRequest() throws {
        let r = try decode(#"{"jsonrpc":"2.0","id":7,"method":"client.get","params":{"id":12}}"#).get()
        #expect(r == Request(id: .int(7), method: "client.get", params: ["id": 12]))
    }

    @Test func idKinds() throws {
        #expect(try decode(#"{"jsonrpc":"2.0","id":"abc","method":"m"}"#).get().id == .string("abc"))
        #expect(try decode(#"{"jsonrpc":"2.0","id":null,"method":"m"}"#).get().id == .null)
        #expect(try decode(#"{"jsonrpc":"2.0","id":-3,"method":"m"}"#).get().id == .int(-3))
    }

    @Test func notificationHasNoID() throws {
        let r = try decode(#"{"jsonrpc":"2.0","method":"server.ping"}"#).get()
        #expect(r.id == nil)
        #expect(r.method == "server.ping")
        #expect(r.params == .object(JSONObject()))
    }

    @Test func absentOrNullParamsReadAsEmptyObject() throws {
        #expect(try decode(#"{"jsonrpc":"2.0","id":1,"method":"m"}"#).get().params == .object(JSONObject()))
        #expect(try decode(#"{"jsonrpc":"2.0","id":1,"method":"m","params":null}"#).get().params == .object(JSONObject()))
    }

    func failure(_ text: String) throws -> Request.DecodeFailure? {
        if case .failure(let f) = try decode(text) { return f }
        return nil
    }

    @Test func missingOrWrongJSONRPCVersion() throws {
        for text in [
            #"{"id":7,"method":"m"}"#, #"{"jsonrpc":"1.0","id":7,"method":"m"}"#, #"{"jsonrpc":2.0,"id":7,"method":"m"}"#,
            #"{"jsonrpc":null,"id":7,"method":"m"}"#,
        ] {
            let f = try #require(try failure(text), "\(text)")
            #expect(f.error.code == -32600)
            #expect(f.error.message.description == "The request must carry \"jsonrpc\":\"2.0\".")
            #expect(f.id == .int(7), "the reply still names the request")
        }
    }

    @Test func nonObjectRequests() throws {
        for text in ["[1,2]", "\"call\"", "42", "null", "true"] {
            let f = try #require(try failure(text), "\(text)")
            #expect(f.error.code == ErrorCode.invalidRequest)
            #expect(f.id == .null)
        }
    }

    @Test func badIDTypes() throws {
        for id in ["1.5", "true", "{}", "[1]"] {
            let f = try #require(try failure(#"{"jsonrpc":"2.0","id":\#(id),"method":"m"}"#), "\(id)")
            #expect(f.error.code == -32600)
            #expect(f.error.message.description.hasPrefix("The request id must be an integer, a string or null"))
            #expect(f.id == .null)
        }
    }

    @Test func methodMustBeAString() throws {
        for text in [
            #"{"jsonrpc":"2.0","id":"x"}"#, #"{"jsonrpc":"2.0","id":"x","method":5}"#, #"{"jsonrpc":"2.0","id":"x","method":null}"#,
        ] {
            let f = try #require(try failure(text), "\(text)")
            #expect(f.error.code == -32600)
            #expect(f.error.message.description == "The request must name its \"method\" as a string.")
            #expect(f.id == .string("x"))
        }
    }

    @Test func positionalParamsAreInvalidParams() throws {
        for params in ["[1,2]", "\"x\"", "5", "false"] {
            let f = try #require(try failure(#"{"jsonrpc":"2.0","id":9,"method":"client.get","params":\#(params)}"#), "\(params)")
            #expect(f.error.code == -32602)
            #expect(f.id == .int(9))
            #expect(f.error.data == ["fields": [["field": "params", "problem": "must be an object"]]])
        }
    }

    @Test func requestJSONRoundTrips() throws {
        let requests = [
            Request(id: .int(1), method: "client.create", params: ["name": "ООО Ромашка", "phones": ["+79161234567"]]),
            Request(id: .string("r-1"), method: "whoami"),
            Request(id: nil, method: "server.ping"),
            Request(id: .null, method: "x"),
        ]
        for r in requests {
            let back = Request.decode(try JSONParser.parse(JSONWriter.bytes(r.json)))
            #expect(try back.get() == r)
        }
        #expect(
            JSONWriter.string(Request(id: .int(7), method: "client.get", params: ["id": 12]).json)
                == #"{"jsonrpc":"2.0","id":7,"method":"client.get","params":{"id":12}}"#)
    }
}

@Suite("Error codes and methods")
struct CodesAndMethodsTests {
    @Test func codesMatchTheProtocol() {
        let expected: [(Int, String)] = [
            (-32700, "parse_error"), (-32600, "invalid_request"), (-32601, "method_not_found"), (-32602, "invalid_params"),
            (-32603, "internal_error"), (1001, "not_found"), (1002, "forbidden"), (1003, "conflict"), (1004, "claim_banned"),
            (1005, "validation_failed"), (1006, "not_a_user"), (1007, "limit_reached"), (1008, "stage_order"),
        ]
        for (code, name) in expected {
            #expect(ErrorCode.name(of: code) == name)
        }
        #expect(ErrorCode.parseError == -32700)
        #expect(ErrorCode.notFound == 1001)
        #expect(ErrorCode.claimBanned == 1004)
        #expect(ErrorCode.stageOrder == 1008)
        #expect(ErrorCode.name(of: 42) == "error")
    }

    @Test func fixedMethodNames() {
        let fixed = [
            "server.ping", "server.status", "whoami", "session.act_as", "user.add", "user.list", "user.update", "user.deactivate",
            "client.create", "client.get", "client.update", "client.list", "client.find_by_phone", "client.assign",
            "interaction.log", "interaction.list",
        ]
        for name in fixed {
            #expect(Method(rawValue: name)?.rawValue == name, "\(name)")
        }
        #expect(Method.interactionLog.isWrite)
        #expect(!Method.clientGet.isWrite)
        #expect(Method.allCases.allSatisfy { !$0.summary.isEmpty })
        #expect(Set(Method.allCases.map(\.rawValue)).count == Method.allCases.count)
    }

    @Test func rpcErrorReadsBack() {
        let e = RPCError(
            code: 1004, message: "You may claim this client again after 2026-11-22T09:30:00Z.", data: ["until": "2026-11-22T09:30:00Z"])
        let back = RPCError(json: e.json(.en))
        #expect(back?.code == e.code && back?.data == e.data && back?.message.description == e.message.description)
        let bare = RPCError(code: -32603, message: "Internal error.")
        #expect(RPCError(json: bare.json(.en))?.message.description == "Internal error.")
        #expect(RPCError(json: ["code": 1]) == nil)
        #expect(RPCError(json: ["message": "x"]) == nil)
        #expect(RPCError(json: "oops") == nil)
    }
}
