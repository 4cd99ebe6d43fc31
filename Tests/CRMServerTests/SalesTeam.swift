import CRMCore
import CRMProtocol
import CRMStore
import Foundation
import Testing

@testable import CRMServer

/// A sales department in process (``InProcess``) for the deal and task tests: two managers, a
/// head, an operator, an accountant and a director, on a manual clock that starts on Monday
/// 2026-01-12 at 09:00Z (12:00 in Moscow, inside the default working hours).
struct SalesTeam {
    static let ivanov: UInt32 = 71_001
    static let petrov: UInt32 = 71_002
    static let head: UInt32 = 71_003
    static let operator_: UInt32 = 71_004
    static let accountant: UInt32 = 71_005
    static let director: UInt32 = 71_006
    static let start = "2026-01-12T09:00:00Z"

    let crm: InProcess
    /// User ids by login.
    let ids: [String: Int64]

    init(_ configure: (inout Settings) -> Void = { _ in }) async throws {
        crm = try InProcess(start: try #require(RFC3339.parse(Self.start)), configure: configure)
        var ids: [String: Int64] = [:]
        for (login, role, uid) in [
            ("ivanov", "manager", Self.ivanov), ("petrov", "manager", Self.petrov), ("sidorova", "head", Self.head),
            ("olga", "operator", Self.operator_), ("buh", "accountant", Self.accountant), ("boss", "director", Self.director),
        ] {
            ids[login] = try await crm.user(login, role: role, uid: uid)
        }
        self.ids = ids
    }

    func ok(_ method: String, _ params: JSONObject = [:], uid: UInt32 = 0) async throws -> JSON {
        try await crm.ok(method, params, uid: uid)
    }

    func call(_ method: String, _ params: JSONObject = [:], uid: UInt32 = 0) async -> Result<JSON, RPCError> {
        await crm.call(method, params, uid: uid)
    }

    /// A new client of the manager with `uid` (root: a client with no owner); its id.
    func client(_ name: String, by uid: UInt32 = ivanov) async throws -> JSON {
        try #require(try await ok("client.create", ["name": .string(name)], uid: uid)["id"])
    }

    /// A new deal on `client` opened by `uid`, with `extra` params.
    func deal(_ client: JSON, _ title: String = "Boxes", by uid: UInt32 = ivanov, _ extra: JSONObject = [:]) async throws -> JSON {
        var p: JSONObject = ["client_id": client, "title": .string(title)]
        for k in extra.keys { p[k] = extra[k] }
        return try await ok("deal.create", p, uid: uid)
    }

    func move(_ deal: JSON, _ stage: String, by uid: UInt32 = ivanov) async -> Result<JSON, RPCError> {
        await call("deal.move", ["id": deal["id"] ?? .null, "stage": .string(stage)], uid: uid)
    }

    func get(_ deal: JSON, by uid: UInt32 = 0) async throws -> JSON {
        try await ok("deal.get", ["id": deal["id"] ?? .null], uid: uid)
    }

    /// Moves the clock to `instant` (RFC 3339), running what fell due.
    func at(_ instant: String) async throws {
        _ = try await ok("clock.set", ["to": .string(instant)])
    }

    func advance(_ by: String) async throws {
        _ = try await ok("clock.advance", ["by": .string(by)])
    }

    /// The recorded events of `topic`, oldest first.
    func events(_ topic: String) throws -> [StoredEvent] {
        try crm.store.read { try $0.events(after: 0, limit: 100_000) }.filter { $0.topic == topic }
    }

    /// The delivered alerts of the user with `uid`, newest first.
    func alerts(_ uid: UInt32) async throws -> [JSON] {
        try await ok("alert.list", ["limit": 500], uid: uid)["items"]?.arrayValue ?? []
    }

    /// Alerts stored but not delivered yet (waiting for working hours), not superseded.
    func pendingAlerts() throws -> [StoredAlert] {
        try crm.store.read { try $0.alertsToDeliver(upTo: .distantFuture, limit: 10_000) }
    }

    /// Every item of a paged list method, following `next_cursor`.
    func all(_ method: String, _ params: JSONObject = [:], uid: UInt32 = 0) async throws -> [JSON] {
        var out: [JSON] = []
        var p = params
        while true {
            let page = try await ok(method, p, uid: uid)
            out += page["items"]?.arrayValue ?? []
            guard let next = page["next_cursor"], !next.isNull else { return out }
            p["cursor"] = next
        }
    }
}

/// The error of a failed call (nil when it succeeded).
func failure(_ r: Result<JSON, RPCError>) -> RPCError? {
    if case .failure(let e) = r { return e }
    return nil
}

/// The error code of a call (nil when it succeeded).
func errorCode(_ r: Result<JSON, RPCError>) -> Int? { failure(r)?.code }

/// The fields a failed call names in `data.fields`.
func errorFields(_ r: Result<JSON, RPCError>) -> [String] {
    failure(r)?.data?["fields"]?.arrayValue?.compactMap { $0["field"]?.stringValue } ?? []
}

/// The instant of an RFC 3339 text.
func at(_ text: String) throws -> Date { try #require(RFC3339.parse(text)) }
