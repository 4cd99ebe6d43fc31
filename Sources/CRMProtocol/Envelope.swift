public import CRMText

/// A JSON-RPC request id: an integer, a string, or null.
public enum RequestID: Sendable, Equatable, Hashable {
    case int(Int64)
    case string(String)
    case null

    /// The id as JSON.
    public var json: JSON {
        switch self {
        case .int(let i): return .int(i)
        case .string(let s): return .string(s)
        case .null: return .null
        }
    }
}

/// One decoded JSON-RPC request or notification.
public struct Request: Sendable, Equatable {
    /// The id, or `nil` for a notification (no reply is sent).
    public var id: RequestID?
    /// The method name.
    public var method: String
    /// The params object (an absent params member reads as an empty object).
    public var params: JSON

    public init(id: RequestID?, method: String, params: JSON = .object(JSONObject())) {
        self.id = id
        self.method = method
        self.params = params
    }

    /// Decodes a request from a parsed JSON value. On failure, the error carries the id when it
    /// could be read, so the reply still names the request.
    public static func decode(_ value: JSON) -> Result<Request, DecodeFailure> {
        guard case .object(let o) = value else {
            return .failure(
                DecodeFailure(
                    id: .null,
                    error: RPCError(
                        code: ErrorCode.invalidRequest,
                        message: "A request must be a JSON object with \"jsonrpc\":\"2.0\" and a \"method\".")))
        }
        var id: RequestID? = nil
        if let rawID = o["id"] {
            switch rawID {
            case .int(let i): id = .int(i)
            case .string(let s): id = .string(s)
            case .null: id = .null
            default:
                return .failure(
                    DecodeFailure(
                        id: .null,
                        error: RPCError(
                            code: ErrorCode.invalidRequest,
                            message: "The request id must be an integer, a string or null, not \(rawID.kindDescription).")))
            }
        }
        guard o["jsonrpc"] == .string("2.0") else {
            return .failure(
                DecodeFailure(
                    id: id ?? .null,
                    error: RPCError(
                        code: ErrorCode.invalidRequest, message: "The request must carry \"jsonrpc\":\"2.0\".")))
        }
        guard case .string(let method)? = o["method"] else {
            return .failure(
                DecodeFailure(
                    id: id ?? .null,
                    error: RPCError(
                        code: ErrorCode.invalidRequest, message: "The request must name its \"method\" as a string.")))
        }
        let params = o["params"] ?? .object(JSONObject())
        switch params {
        case .object: break
        case .null: return .success(Request(id: id, method: method))
        default:
            return .failure(
                DecodeFailure(
                    id: id ?? .null,
                    error: RPCError(
                        code: ErrorCode.invalidParams,
                        message: "Params must be an object of named params (positional arrays are not supported).",
                        data: ["fields": [["field": "params", "problem": "must be an object"]]])))
        }
        return .success(Request(id: id, method: method, params: params))
    }

    /// A request that could not be decoded, with the id to answer to.
    public struct DecodeFailure: Error, Sendable {
        public var id: RequestID
        public var error: RPCError
    }

    /// The request as a JSON-RPC object.
    public var json: JSON {
        var o: JSONObject = ["jsonrpc": "2.0"]
        if let id { o["id"] = id.json }
        o["method"] = .string(method)
        o["params"] = params
        return .object(o)
    }
}

/// Builds response objects.
public enum Response {
    /// `{"jsonrpc":"2.0","id":…,"result":…}`
    public static func success(id: RequestID, result: JSON) -> JSON {
        .object(["jsonrpc": "2.0", "id": id.json, "result": result])
    }

    /// `{"jsonrpc":"2.0","id":…,"error":{…}}`
    /// An error reply, its message in `lang`.
    public static func failure(id: RequestID, error: RPCError, lang: Lang) -> JSON {
        .object(["jsonrpc": "2.0", "id": id.json, "error": error.json(lang)])
    }

    /// A server notification: `{"jsonrpc":"2.0","method":…,"params":…}`.
    public static func notification(method: String, params: JSON) -> JSON {
        .object(["jsonrpc": "2.0", "method": .string(method), "params": params])
    }
}
