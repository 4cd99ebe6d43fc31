import CRMCore
import CRMProtocol
import Foundation
import Testing

@testable import CRMServer

/// Rules through the real dispatcher, handlers, engine and store, without a socket (``InProcess``).
@Suite("Handlers in-process")
struct HandlerTests {
    static let ivanov: UInt32 = 61_001
    static let petrov: UInt32 = 61_002
    static let accountant: UInt32 = 61_003

    /// A department of two managers and an accountant.
    /// 2026-01-12T09:00:00Z: a Monday, 12:00 in Moscow.
    func department(_ configure: (inout Settings) -> Void = { _ in }) async throws -> InProcess {
        let crm = try InProcess(start: try #require(RFC3339.parse("2026-01-12T09:00:00Z")), configure: configure)
        try await crm.user("ivanov", role: "manager", uid: Self.ivanov)
        try await crm.user("petrov", role: "manager", uid: Self.petrov)
        try await crm.user("buh", role: "accountant", uid: Self.accountant)
        return crm
    }

    func code(_ r: Result<JSON, RPCError>) -> Int? {
        if case .failure(let e) = r { return e.code }
        return nil
    }

    @Test("a manager's new client is theirs and green; another manager may not log a call on it; an accountant may not create one")
    func createAndSee() async throws {
        let crm = try await department()
        let client = try await crm.ok("client.create", ["name": "Romashka LLC"], uid: Self.ivanov)
        #expect(client["owner_login"] == "ivanov")
        #expect(client["zone"] == "green")
        #expect(client["release_at"] == "2026-07-12T09:00:00Z")
        let id = try #require(client["id"])
        let call: JSONObject = ["client_id": id, "kind": "call", "direction": "out", "topic": "prices", "result": "agreed"]
        #expect(code(await crm.call("interaction.log", call, uid: Self.petrov)) == ErrorCode.forbidden)
        #expect(try await crm.ok("client.get", ["id": id], uid: Self.ivanov)["name"] == "Romashka LLC")
        #expect(code(await crm.call("client.create", ["name": "Vasilek"], uid: Self.accountant)) == ErrorCode.forbidden)
        // A uid that is no user is told so, with what to ask an admin.
        let stranger = await crm.call("whoami", uid: 62_000)
        #expect(code(stranger) == ErrorCode.notAUser)
    }

    @Test("six silent months release a client; the manager it left may not claim it back, another may")
    func releaseAndClaim() async throws {
        let crm = try await department()
        let id = try #require(try await crm.ok("client.create", ["name": "Story Ltd"], uid: Self.ivanov)["id"])
        _ = try await crm.ok("clock.advance", ["by": "P1M"])
        #expect(try await crm.ok("client.get", ["id": id])["zone"] == "yellow")
        _ = try await crm.ok("clock.advance", ["by": "P5M"])
        let released = try await crm.ok("client.get", ["id": id])
        #expect(released["status"] == "exchange")
        #expect(released["owner"] == .null)
        let back = await crm.call("exchange.claim", ["id": id], uid: Self.ivanov)
        #expect(code(back) == ErrorCode.claimBanned)
        let claimed = try await crm.ok("exchange.claim", ["id": id], uid: Self.petrov)
        #expect(claimed["owner_login"] == "petrov")
        #expect(claimed["zone"] == "green")
    }

    @Test("a call logged by the owner turns a yellow client green and moves its release")
    func interactionResets() async throws {
        let crm = try await department()
        let id = try #require(try await crm.ok("client.create", ["name": "Yellow LLC"], uid: Self.ivanov)["id"])
        _ = try await crm.ok("clock.advance", ["by": "P2M"])
        #expect(try await crm.ok("client.get", ["id": id])["zone"] == "yellow")
        let logged = try await crm.ok(
            "interaction.log", ["client_id": id, "kind": "call", "direction": "out", "topic": "prices", "result": "agreed"],
            uid: Self.ivanov)
        #expect(logged["client"]?["zone"] == "green")
        #expect(try await crm.ok("client.get", ["id": id])["release_at"] == "2026-09-12T09:00:00Z")
    }

    @Test("a write with a request_id answers a retry with its first answer and writes nothing again")
    func retriedWrite() async throws {
        let crm = try await department()
        let first = try await crm.ok("client.create", ["name": "Once LLC", "request_id": "r-1"], uid: Self.ivanov)
        let again = try await crm.ok("client.create", ["name": "Once LLC", "request_id": "r-1"], uid: Self.ivanov)
        #expect(first == again)
        let list = try await crm.ok("client.list", [:], uid: Self.ivanov)
        #expect(list["items"]?.arrayValue?.count == 1)
    }

    @Test("exchange.max_claims_per_day: the next claim that day is refused with 1007 claims_per_day; the next day it goes")
    func claimsPerDay() async throws {
        let crm = try await department { $0.domain.maxClaimsPerDay = 1 }
        // Created by an admin with no owner: unassigned, so any manager may claim them.
        let first = try #require(try await crm.ok("client.create", ["name": "First LLC"])["id"])
        let second = try #require(try await crm.ok("client.create", ["name": "Second LLC"])["id"])
        #expect(try await crm.ok("exchange.claim", ["id": first], uid: Self.petrov)["owner_login"] == "petrov")
        let refused = await crm.call("exchange.claim", ["id": second], uid: Self.petrov)
        #expect(code(refused) == ErrorCode.limitReached)
        if case .failure(let e) = refused { #expect(e.data?["kind"] == "claims_per_day") }
        // Another manager's day is his own.
        #expect(try await crm.ok("exchange.claim", ["id": second], uid: Self.ivanov)["owner_login"] == "ivanov")
        // Moscow's next day starts at 21:00 UTC.
        let third = try #require(try await crm.ok("client.create", ["name": "Third LLC"])["id"])
        _ = try await crm.ok("clock.set", ["to": "2026-01-12T20:59:59Z"])
        #expect(code(await crm.call("exchange.claim", ["id": third], uid: Self.petrov)) == ErrorCode.limitReached)
        _ = try await crm.ok("clock.set", ["to": "2026-01-12T21:00:00Z"])
        #expect(try await crm.ok("exchange.claim", ["id": third], uid: Self.petrov)["owner_login"] == "petrov")
    }
}
