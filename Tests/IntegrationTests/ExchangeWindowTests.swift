import CRMClient
import CRMCore
import CRMProtocol
import CRMTestSupport
import Foundation
import Testing

/// The fair claim window (issue 21) on the real crmd with a manual clock: requests inside the
/// window, one winner at its exact end by the documented rule, claims first come first served
/// after it.
@Suite("The fair claim window on a manual clock")
struct ExchangeWindowTests: ManualClockSuite {
    /// Monday 2026-01-12 12:00 Moscow: a release now is decided at 10:00 Moscow on Tuesday.
    static let releaseAt = "2026-01-12T09:00:00Z"
    static let windowEnds = "2026-01-13T07:00:00Z"
    static let window = ["CRMD_EXCHANGE_CLAIM_WINDOW_ENDS": "10:00"]

    /// A daemon with the window on, a head, ivanov, sidorov and kozlov (managers), and one client
    /// of ivanov's released now. Returns the daemon, the admin's connection and the client's id.
    func released() throws -> (TestDaemon, Connection, JSON) {
        let d = try daemon(Self.window, start: Self.releaseAt)
        let admin = try d.connect()
        try seedTeam(admin)
        _ = try admin.call("user.add", ["login": "kozlov", "name": "Oleg Kozlov", "role": "manager", "uid": 50_004])
        let id = try admin.call("client.create", ["name": "Contested LLC", "owner": "ivanov"])["id"]!
        // A connection of its own hears the announcement (a call's reply may come after it).
        let watcher = try d.connect()
        _ = try watcher.call("subscribe", ["topics": ["client.released"]])
        _ = try admin.call("client.release", ["id": id, "reason": "no longer our customer"])
        let announced = try events(watcher, 1)
        #expect(announced.first?["data"]?["window_ends_at"] == .string(Self.windowEnds))
        // The exchange shows when each window ends.
        let listed = try admin.call("exchange.list")["items"]?.arrayValue?.first { $0["id"] == id }
        #expect(listed?["window_ends_at"] == .string(Self.windowEnds))
        return (d, admin, id)
    }

    func manager(_ d: TestDaemon, _ login: String) throws -> Connection {
        let c = try d.connect()
        _ = try c.call("session.act_as", ["login": .string(login)])
        return c
    }

    /// The scheduler's audit entry of the window's claim.
    func windowEntry(_ admin: Connection, _ id: JSON) throws -> JSON? {
        try admin.call("client.history", ["id": id, "limit": 100])["items"]?.arrayValue?.last { $0["action"] == "claim" }?["after"]?[
            "window"]
    }

    @Test("a contested window: tied requesters, a draw whose recorded seed gives the same winner again; decided at the exact instant")
    func contestedDraw() throws {
        let (d, admin, id) = try released()
        defer { d.stop() }
        let sidorov = try manager(d, "sidorov")
        let kozlov = try manager(d, "kozlov")
        // Both ask at the same instant with no clients of their own: tied on both rules.
        #expect(try sidorov.call("exchange.request", ["id": id])["window_ends_at"] == .string(Self.windowEnds))
        #expect(try kozlov.call("exchange.request", ["id": id])["window_ends_at"] == .string(Self.windowEnds))
        // A second ask changes nothing.
        #expect(try kozlov.call("exchange.request", ["id": id])["requested_at"] == .string(Self.releaseAt))
        // A second before the end nobody has it; at the end exactly one of them does.
        _ = try admin.call("clock.set", ["to": "2026-01-13T06:59:59Z"])
        #expect(try admin.call("client.get", ["id": id])["status"] == "exchange")
        _ = try admin.call("clock.set", ["to": .string(Self.windowEnds)])
        let card = try admin.call("client.get", ["id": id])
        #expect(card["status"] == "assigned")
        #expect(card["assigned_at"] == .string(Self.windowEnds))
        let owner = try #require(card["owner_login"]?.stringValue)
        #expect(["sidorov", "kozlov"].contains(owner))
        let w = try #require(try windowEntry(admin, id))
        #expect(w["rule"] == "draw")
        #expect(w["winner_login"] == .string(owner))
        // The draw replayed from the recorded seed names the same winner.
        let seed = UInt64(try #require(w["draw_seed"]?.intValue))
        let requests = try #require(w["requests"]?.arrayValue).map {
            ClaimWindow.Request(
                userID: $0["user_id"]!.intValue!, at: RFC3339.parse($0["at"]!.stringValue!)!, active: Int($0["active_clients"]!.intValue!))
        }
        #expect(requests.count == 2)
        let again = try #require(ClaimWindow.winner(requests, seed: seed))
        #expect(again.decision == .draw)
        #expect(again.winner.userID == w["winner"]?.intValue)
    }

    @Test("fewest active clients wins over an earlier request")
    func fewestActiveClients() throws {
        let (d, admin, id) = try released()
        defer { d.stop() }
        _ = try admin.call("client.create", ["name": "Sidorov's own", "owner": "sidorov"])
        let sidorov = try manager(d, "sidorov")
        let kozlov = try manager(d, "kozlov")
        _ = try sidorov.call("exchange.request", ["id": id])
        _ = try admin.call("clock.advance", ["by": "PT1H"])
        _ = try kozlov.call("exchange.request", ["id": id])
        _ = try admin.call("clock.set", ["to": .string(Self.windowEnds)])
        #expect(try admin.call("client.get", ["id": id])["owner_login"] == "kozlov")
        #expect(try windowEntry(admin, id)?["rule"] == "fewest_active_clients")
    }

    @Test("tied on active clients, the earliest request wins")
    func earliestRequest() throws {
        let (d, admin, id) = try released()
        defer { d.stop() }
        let sidorov = try manager(d, "sidorov")
        let kozlov = try manager(d, "kozlov")
        _ = try kozlov.call("exchange.request", ["id": id])
        _ = try admin.call("clock.advance", ["by": "PT1H"])
        _ = try sidorov.call("exchange.request", ["id": id])
        _ = try admin.call("clock.set", ["to": .string(Self.windowEnds)])
        #expect(try admin.call("client.get", ["id": id])["owner_login"] == "kozlov")
        #expect(try windowEntry(admin, id)?["rule"] == "earliest_request")
    }

    @Test("the manager the client left may not request it (cooldown): 1004, and an admin is no requester: 1002")
    func bannedRequesterRefused() throws {
        let (d, admin, id) = try released()
        defer { d.stop() }
        let ivanov = try manager(d, "ivanov")
        #expect(rpcErrorCode { try ivanov.call("exchange.request", ["id": id]) } == 1004)
        #expect(rpcErrorCode { try admin.call("exchange.request", ["id": id]) } == 1002)
        // Nobody else asked: at the end the client stays on the exchange for claims.
        _ = try admin.call("clock.set", ["to": .string(Self.windowEnds)])
        #expect(try admin.call("client.get", ["id": id])["status"] == "exchange")
    }

    @Test("exchange.claim inside the window is refused with a pointer to exchange.request; after it, first come first served")
    func claimRefusedInsideAllowedAfter() throws {
        let (d, admin, id) = try released()
        defer { d.stop() }
        let sidorov = try manager(d, "sidorov")
        do {
            _ = try sidorov.call("exchange.claim", ["id": id])
            Issue.record("a claim inside the window was allowed")
        } catch let e as RPCError {
            #expect(e.code == 1003)
            #expect(e.message.description.contains("exchange.request"), "\(e.message)")
            #expect(e.data?["window_ends_at"] == .string(Self.windowEnds), "\(String(describing: e.data))")
        }
        _ = try admin.call("clock.set", ["to": .string(Self.windowEnds)])
        // After the window a request is pointed to exchange.claim, and the claim works.
        #expect(rpcErrorCode { try sidorov.call("exchange.request", ["id": id]) } == 1003)
        #expect(try sidorov.call("exchange.claim", ["id": id])["owner_login"] == "sidorov")
    }
}
