import CRMProtocol
import CRMText
import Testing

/// Wire-format golden tests: these bytes are the contract other programs parse. If one of these
/// fails, the wire format changed: that needs a protocol version bump, not a new golden string.
@Suite("Golden JSON")
struct GoldenTests {
    func expectBytes(_ value: JSON, _ golden: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(JSONWriter.string(value) == golden, sourceLocation: sourceLocation)
        #expect(JSONWriter.bytes(value) == Array(golden.utf8), sourceLocation: sourceLocation)
    }

    @Test func successResponse() {
        expectBytes(
            Response.success(id: .int(7), result: ["pong": true, "version": "0.1.0"]),
            #"{"jsonrpc":"2.0","id":7,"result":{"pong":true,"version":"0.1.0"}}"#)
        expectBytes(Response.success(id: .string("req-1"), result: .object(JSONObject())), #"{"jsonrpc":"2.0","id":"req-1","result":{}}"#)
        expectBytes(Response.success(id: .null, result: nil), #"{"jsonrpc":"2.0","id":null,"result":null}"#)
    }

    @Test func clientListResponse() {
        let result: JSON = [
            "items": [
                [
                    "id": 12, "name": "ООО «Ромашка»", "phones": ["+79161234567"], "owner": 3, "zone": "yellow", "days_to_release": 152,
                    "last_interaction_at": "2026-06-22T09:30:00.250Z", "segment": nil,
                ]
            ],
            "next_cursor": nil,
        ]
        expectBytes(
            Response.success(id: .int(8), result: result),
            #"{"jsonrpc":"2.0","id":8,"result":{"items":[{"id":12,"name":"ООО «Ромашка»","phones":["+79161234567"],"owner":3,"zone":"yellow","days_to_release":152,"last_interaction_at":"2026-06-22T09:30:00.250Z","segment":null}],"next_cursor":null}}"#
        )
    }

    @Test func failureResponseWithoutData() {
        expectBytes(
            Response.failure(
                id: .null, error: RPCError(code: ErrorCode.parseError, message: "Parse error: unexpected end of input at byte 5."),
                lang: .en),
            #"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error: unexpected end of input at byte 5."}}"#)
    }

    @Test func failureResponseWithData() {
        let error = RPCError(
            code: ErrorCode.conflict,
            message: "A client with phone +79161234567 already exists: #12 \"ООО Ромашка\" (owner ivanov).",
            data: ["client_id": 12, "owner": "ivanov", "phone": "+79161234567"])
        expectBytes(
            Response.failure(id: .int(42), error: error, lang: .en),
            #"{"jsonrpc":"2.0","id":42,"error":{"code":1003,"message":"A client with phone +79161234567 already exists: #12 \"ООО Ромашка\" (owner ivanov).","data":{"client_id":12,"owner":"ivanov","phone":"+79161234567"}}}"#
        )
    }

    @Test func rpcErrorObjects() {
        expectBytes(
            RPCError(code: ErrorCode.claimBanned, message: "Wait.", data: ["until": "2027-05-01T00:00:00Z"]).json(.en),
            #"{"code":1004,"message":"Wait.","data":{"until":"2027-05-01T00:00:00Z"}}"#)
        expectBytes(
            RPCError.invalidParams([
                FieldProblem(field: "name", problem: "is required (a string)"),
                FieldProblem(field: "phones[1]", problem: "must be a string, not an integer"),
            ]).json(.en),
            #"{"code":-32602,"message":"Invalid params: name: is required (a string); phones[1]: must be a string, not an integer.","data":{"fields":[{"field":"name","problem":"is required (a string)"},{"field":"phones[1]","problem":"must be a string, not an integer"}]}}"#
        )
        expectBytes(
            RPCError.validationFailed("A meeting needs a result.", [FieldProblem(field: "result", problem: "is required for a meeting")])
                .json(.en),
            #"{"code":1005,"message":"A meeting needs a result.","data":{"fields":[{"field":"result","problem":"is required for a meeting"}]}}"#
        )
        expectBytes(
            RPCError.methodNotFound("client.nope").json(.en),
            #"{"code":-32601,"message":"Method 'client.nope' does not exist. See docs/protocol.md for the list of methods.","data":{"method":"client.nope"}}"#
        )
        // The same error in Russian: only the message differs.
        expectBytes(
            RPCError.methodNotFound("client.nope").json(.ru),
            #"{"code":-32601,"message":"Метода «client.nope» нет. Список методов — в docs/protocol.md.","data":{"method":"client.nope"}}"#
        )
    }

    @Test func invalidParamsSummarizesAtMostThreeFields() {
        let problems = (1...5).map { FieldProblem(field: "f\($0)", problem: "bad") }
        let e = RPCError.invalidParams(problems)
        #expect(e.code == -32602)
        #expect(e.message.description == "Invalid params: f1: bad; f2: bad; f3: bad (and 2 more).")
        #expect(e.data?["fields"]?.arrayValue?.count == 5)
        #expect(
            RPCError.invalidParams([FieldProblem(field: "id", problem: "is required (an integer)")]).message.description
                == "Invalid params: id: is required (an integer).")
    }

    @Test func notification() {
        let params: JSON = [
            "seq": 1042, "topic": "zone.changed", "at": "2026-11-22T09:30:00Z",
            "data": ["client_id": 12, "owner": 3, "from": "green", "to": "yellow", "days_to_release": 152],
        ]
        expectBytes(
            Response.notification(method: "event", params: params),
            #"{"jsonrpc":"2.0","method":"event","params":{"seq":1042,"topic":"zone.changed","at":"2026-11-22T09:30:00Z","data":{"client_id":12,"owner":3,"from":"green","to":"yellow","days_to_release":152}}}"#
        )
    }

    @Test func backupReplies() {
        expectBytes(
            Response.success(
                id: .int(1),
                result: [
                    "backup": "1270b254b013a739701d50c56bc9fdfe", "bytes": 192512, "integrity": "ok", "last_seq": 2,
                    "taken_at": "2026-11-23T11:43:15.808Z",
                ]),
            #"{"jsonrpc":"2.0","id":1,"result":{"backup":"1270b254b013a739701d50c56bc9fdfe","bytes":192512,"integrity":"ok","last_seq":2,"taken_at":"2026-11-23T11:43:15.808Z"}}"#
        )
        // Base64 goes out as is: '/' and '+' are not escaped.
        expectBytes(
            Response.success(id: .int(4), result: ["data": "AAAAHBAEB+/Q==", "offset": 192464, "eof": true]),
            #"{"jsonrpc":"2.0","id":4,"result":{"data":"AAAAHBAEB+/Q==","offset":192464,"eof":true}}"#)
    }

    @Test func escapingInsideGoldenMessages() {
        expectBytes(
            Response.failure(id: .string("a\"b"), error: RPCError(code: 1005, message: "Line one\nline two\ttab \\ \u{1}"), lang: .en),
            #"{"jsonrpc":"2.0","id":"a\"b","error":{"code":1005,"message":"Line one\nline two\ttab \\ \u0001"}}"#)
    }
}
