public import CRMText

/// A JSON-RPC error object: a code, a sentence a person can act on, and machine-readable data.
public struct RPCError: Error, Sendable, Equatable {
    /// The JSON-RPC or application error code (see ``ErrorCode``).
    public var code: Int
    /// A sentence a person can act on, said in the reader's language on the wire.
    public var message: Phrase
    /// Machine-readable details (bad fields, the existing client, `until`...).
    public var data: JSON?

    /// An error with a code, a message and optional data.
    public init(code: Int, message: Phrase, data: JSON? = nil) {
        self.code = code
        self.message = message
        self.data = data
    }

    /// The error as a JSON-RPC `error` member, its message in `lang` (code and data never change).
    public func json(_ lang: Lang) -> JSON {
        var o: JSONObject = ["code": .int(Int64(code)), "message": .string(message.rendered(lang))]
        if let data { o["data"] = data }
        return .object(o)
    }

    /// Reads an error object back (client side).
    public init?(json: JSON) {
        guard let code = json["code"]?.intValue, let message = json["message"]?.stringValue else { return nil }
        self.init(code: Int(code), message: .verbatim(message), data: json["data"])
    }
}

/// Every error code crmd sends. The names are the contract in PROTOCOL.md.
public enum ErrorCode {
    public static let parseError = -32700
    public static let invalidRequest = -32600
    public static let methodNotFound = -32601
    public static let invalidParams = -32602
    public static let internalError = -32603
    /// No such client, contact, user...
    public static let notFound = 1001
    /// The user's role or ownership does not allow it.
    public static let forbidden = 1002
    /// Lost a race, or a duplicate phone/email (data names the existing client and owner).
    public static let conflict = 1003
    /// The claimant's cooldown on this client; data `until`.
    public static let claimBanned = 1004
    /// A minimal data set or field rule failed; data lists fields.
    public static let validationFailed = 1005
    /// The connecting uid is no user.
    public static let notAUser = 1006
    /// A claim-per-day or clients-per-manager limit.
    public static let limitReached = 1007
    /// A deal move that skips or goes back without the right.
    public static let stageOrder = 1008
    /// The server is overloaded or shutting down (connection limit, draining).
    public static let unavailable = 1009

    /// The contract name of a code (`not_found`...), for data and docs.
    public static func name(of code: Int) -> String {
        switch code {
        case parseError: return "parse_error"
        case invalidRequest: return "invalid_request"
        case methodNotFound: return "method_not_found"
        case invalidParams: return "invalid_params"
        case internalError: return "internal_error"
        case notFound: return "not_found"
        case forbidden: return "forbidden"
        case conflict: return "conflict"
        case claimBanned: return "claim_banned"
        case validationFailed: return "validation_failed"
        case notAUser: return "not_a_user"
        case limitReached: return "limit_reached"
        case stageOrder: return "stage_order"
        case unavailable: return "unavailable"
        default: return "error"
        }
    }
}

/// One field that failed a check: its path in the params and why.
public struct FieldProblem: Sendable, Equatable {
    /// Dotted path of the field (`phones[1]`, `params`).
    public var field: String
    /// What is wrong with it, as a short phrase (English: `data` is for programs).
    public var problem: String
    /// The same, said in the reader's language in the error's message.
    public var said: Phrase

    public init(field: String, problem: Phrase) {
        self.field = field
        self.problem = problem.description
        self.said = problem
    }

    var json: JSON { ["field": .string(field), "problem": .string(problem)] }
}

extension RPCError {
    /// `-32602` listing every bad field.
    public static func invalidParams(_ problems: [FieldProblem]) -> RPCError {
        let summary = Phrase.list(problems.prefix(3).map { "\($0.field): \($0.said)" }, separator: "; ")
        let message =
            problems.count > 3
            ? Phrase("Invalid params: \(summary) (and \(problems.count - 3) more).") : Phrase("Invalid params: \(summary).")
        return RPCError(
            code: ErrorCode.invalidParams,
            message: message,
            data: ["fields": .array(problems.map(\.json))]
        )
    }

    /// `1005` listing every field that failed a rule.
    public static func validationFailed(_ message: Phrase, _ problems: [FieldProblem]) -> RPCError {
        RPCError(code: ErrorCode.validationFailed, message: message, data: ["fields": .array(problems.map(\.json))])
    }

    /// `-32601` for a method name crmd does not know.
    public static func methodNotFound(_ name: String) -> RPCError {
        RPCError(
            code: ErrorCode.methodNotFound,
            message: "Method '\(name)' does not exist. See docs/protocol.md for the list of methods.",
            data: ["method": .string(name)]
        )
    }
}
