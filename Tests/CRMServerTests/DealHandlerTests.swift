import CRMCore
import CRMProtocol
import Foundation
import Testing

@testable import CRMServer

/// `deal.create`, `deal.update`, `deal.close` and `deal.reopen` in process: each rule and right.
@Suite("Deal handlers in-process: create, update, close, reopen")
struct DealHandlerTests {
    typealias T = SalesTeam

    @Test("a manager's deal on their client: theirs, at the first stage, its start recorded as a move and a contact")
    func createOwn() async throws {
        let s = try await SalesTeam()
        let c = try await s.client("Romashka LLC")
        let d = try await s.deal(c, "Boxes", ["amount": 1_250_050, "source": "website", "expected_close": "2026-02-27"])
        #expect(d["owner_login"] == "ivanov")
        #expect(d["owner"] == .int(s.ids["ivanov"]))
        #expect(d["creator_login"] == "ivanov")
        #expect(d["stage"] == "New deal")
        #expect(d["pipeline"] == "Sales")
        #expect(d["status"] == "open")
        #expect(d["probability"] == 10)
        #expect(d["probability_set"] == false)
        #expect(d["currency"] == "RUB")
        #expect(d["amount_text"] == "12500.50")
        #expect(d["overdue"] == false)
        #expect(d["opened_at"] == .string(T.start))
        #expect(d["next_contact_due"] == "2026-01-14T09:00:00Z")
        let full = try await s.get(d, by: T.ivanov)
        #expect(full["client_name"] == "Romashka LLC")
        let moves = try #require(full["moves"]?.arrayValue)
        #expect(moves.count == 1)
        #expect(moves.first?["from"] == .null)
        #expect(moves.first?["to"] == "New deal")
        #expect(moves.first?["by_login"] == "ivanov")
        let contacts = try #require(full["interactions"]?.arrayValue)
        #expect(contacts.map { $0["kind"] } == ["deal"])
        #expect(contacts.first?["deal_id"] == d["id"])
        // client.get's deals is filled.
        let card = try await s.ok("client.get", ["id": c], uid: T.ivanov)
        #expect(card["deals"]?.arrayValue?.map { $0["id"] } == [d["id"]])
    }

    @Test("the owner defaults to the client's lead manager, whoever opens it: an operator's or a head's deal goes to them")
    func ownerDefaultsToLeadManager() async throws {
        let s = try await SalesTeam()
        let c = try await s.client("Vasilek")
        let byOperator = try await s.deal(c, by: T.operator_)
        #expect(byOperator["owner_login"] == "ivanov")
        #expect(byOperator["creator_login"] == "olga")
        let byHead = try await s.deal(c, by: T.head)
        #expect(byHead["owner_login"] == "ivanov")
        let byRoot = try await s.deal(c, by: 0)
        #expect(byRoot["owner_login"] == "ivanov")
        // The lead manager sees them all as theirs.
        let mine = try await s.all("deal.list", [:], uid: T.ivanov)
        #expect(mine.count == 3)
    }

    @Test("who may not open a deal: a manager on another's client, directors and accountants (1002)")
    func createForbidden() async throws {
        let s = try await SalesTeam()
        let c = try await s.client("Ivanov's")
        for uid in [T.petrov, T.director, T.accountant] {
            #expect(errorCode(await s.call("deal.create", ["client_id": c, "title": "Mine"], uid: uid)) == ErrorCode.forbidden, "\(uid)")
        }
        // A client nobody leads: a manager may not either (it is not theirs).
        let free = try await s.client("Nobody's", by: 0)
        #expect(errorCode(await s.call("deal.create", ["client_id": free, "title": "Mine"], uid: T.petrov)) == ErrorCode.forbidden)
        #expect(try await s.all("deal.list").isEmpty)
    }

    @Test("a client without a lead manager: an operator's deal is 1005 naming owner; a head's goes to the head")
    func createWithoutOwner() async throws {
        let s = try await SalesTeam()
        let free = try await s.client("Nobody's", by: 0)
        let refused = await s.call("deal.create", ["client_id": free, "title": "Lead"], uid: T.operator_)
        #expect(errorCode(refused) == ErrorCode.validationFailed)
        #expect(errorFields(refused) == ["owner"])
        // Root has no row to own it either.
        #expect(errorFields(await s.call("deal.create", ["client_id": free, "title": "Lead"])) == ["owner"])
        // Naming an owner is a head's (or admin's) to do; the operator may not pick one.
        let named = await s.call("deal.create", ["client_id": free, "title": "Lead", "owner": "petrov"], uid: T.operator_)
        #expect(errorCode(named) == ErrorCode.forbidden)
        #expect(try await s.deal(free, by: 0, ["owner": "petrov"])["owner_login"] == "petrov")
        #expect(try await s.deal(free, by: T.head)["owner_login"] == "sidorova")
    }

    @Test("an owner must be able to own deals; a head may give a new deal to another manager")
    func createNamedOwner() async throws {
        let s = try await SalesTeam()
        let c = try await s.client("Ivanov's")
        #expect(try await s.deal(c, by: T.head, ["owner": "petrov"])["owner_login"] == "petrov")
        let accountant = await s.call("deal.create", ["client_id": c, "title": "X", "owner": "buh"], uid: T.head)
        #expect(errorCode(accountant) == ErrorCode.validationFailed)
        #expect(errorFields(accountant) == ["owner"])
        // A manager may not hand a deal on their own client to a colleague.
        let handed = await s.call("deal.create", ["client_id": c, "title": "X", "owner": "petrov"], uid: T.ivanov)
        #expect(errorCode(handed) == ErrorCode.forbidden)
    }

    @Test("bad fields are invalid params naming each: amount, probability, currency, expected_close, pipeline")
    func createValidation() async throws {
        let s = try await SalesTeam()
        let c = try await s.client("Fields")
        let bad: [(String, JSON)] = [
            ("amount", -1), ("amount", 10_000_000_000_001), ("amount", "100"), ("probability", 101), ("probability", -5),
            ("currency", "RUBL"), ("currency", "R1"), ("expected_close", "2026-02-30"), ("expected_close", "tomorrow"),
        ]
        for (key, value) in bad {
            var p: JSONObject = ["client_id": c, "title": "X"]
            p[key] = value
            let r = await s.call("deal.create", p, uid: T.ivanov)
            #expect(errorCode(r) == ErrorCode.invalidParams, "\(key)=\(value)")
            #expect(errorFields(r) == [key], "\(key)=\(value)")
        }
        let pipeline = await s.call("deal.create", ["client_id": c, "title": "X", "pipeline": "Retail"], uid: T.ivanov)
        #expect(errorFields(pipeline) == ["pipeline"])
        #expect(errorCode(await s.call("deal.create", ["client_id": c], uid: T.ivanov)) == ErrorCode.invalidParams)
        // The edges are fine; a currency is upper-cased.
        let d = try await s.deal(c, "Edge", ["amount": 10_000_000_000_000, "probability": 100, "currency": "usd"])
        #expect(d["currency"] == "USD")
        #expect(d["probability"] == 100)
        #expect(d["probability_set"] == true)
        #expect(try await s.all("deal.list").count == 1)
    }

    @Test("update: the owner changes fields; a head alone changes the owner; null probability is the stage's again")
    func update() async throws {
        let s = try await SalesTeam()
        let c = try await s.client("Update LLC")
        let d = try await s.deal(c, "Boxes", ["probability": 40])
        let id = try #require(d["id"])
        let u = try await s.ok("deal.update", ["id": id, "title": "Crates", "amount": 500, "probability": nil], uid: T.ivanov)
        #expect(u["title"] == "Crates")
        #expect(u["amount"] == 500)
        #expect(u["probability"] == 10)
        #expect(u["probability_set"] == false)
        for (key, value) in [("amount", -1), ("amount", 10_000_000_000_001), ("probability", 101)] as [(String, JSON)] {
            var p: JSONObject = ["id": id]
            p[key] = value
            let r = await s.call("deal.update", p, uid: T.ivanov)
            #expect(errorFields(r) == [key], "\(key)=\(value)")
        }
        #expect(try await s.get(d)["amount"] == 500)
        // Owner: not the manager's to give away; another manager may not touch it at all.
        #expect(errorCode(await s.call("deal.update", ["id": id, "owner": "petrov"], uid: T.ivanov)) == ErrorCode.forbidden)
        #expect(errorCode(await s.call("deal.update", ["id": id, "title": "Mine"], uid: T.petrov)) == ErrorCode.forbidden)
        for uid in [T.operator_, T.accountant, T.director] {
            #expect(errorCode(await s.call("deal.update", ["id": id, "title": "X"], uid: uid)) == ErrorCode.forbidden, "\(uid)")
        }
        #expect(errorFields(await s.call("deal.update", ["id": id, "owner": nil], uid: T.head)) == ["owner"])
        let given = try await s.ok("deal.update", ["id": id, "owner": "petrov"], uid: T.head)
        #expect(given["owner_login"] == "petrov")
        // Now petrov's: ivanov no longer sees it, petrov works it.
        #expect(errorCode(await s.call("deal.get", ["id": id], uid: T.ivanov)) == ErrorCode.forbidden)
        #expect(try await s.ok("deal.update", ["id": id, "title": "Petrov's"], uid: T.petrov)["title"] == "Petrov's")
    }

    @Test("close: lost needs a reason from the list, won may carry the final amount, lost none; closed twice is a conflict")
    func close() async throws {
        let s = try await SalesTeam()
        let c = try await s.client("Close LLC")
        let d = try await s.deal(c, "Boxes", ["amount": 100_000])
        let id = try #require(d["id"])
        let bad: [(JSONObject, String)] = [
            (["outcome": "lost"], "reason"), (["outcome": "lost", "reason": "Too expensive"], "reason"),
            (["outcome": "lost", "reason": "Price", "amount": 5], "amount"), (["outcome": "won", "reason": "Price"], "reason"),
            (["outcome": "won", "amount": -1], "amount"), (["outcome": "draw"], "outcome"),
        ]
        for (params, field) in bad {
            var p = params
            p["id"] = id
            let r = await s.call("deal.close", p, uid: T.ivanov)
            #expect(errorCode(r) == ErrorCode.invalidParams, "\(params)")
            #expect(errorFields(r) == [field], "\(params)")
        }
        #expect(errorCode(await s.call("deal.close", ["id": id, "outcome": "won"], uid: T.petrov)) == ErrorCode.forbidden)
        #expect(errorCode(await s.call("deal.close", ["id": id, "outcome": "won"], uid: T.operator_)) == ErrorCode.forbidden)
        try await s.advance("PT1H")
        let won = try await s.ok("deal.close", ["id": id, "outcome": "won", "amount": 95_000], uid: T.ivanov)
        #expect(won["status"] == "won")
        #expect(won["amount"] == 95_000)
        #expect(won["closed_at"] == "2026-01-12T10:00:00Z")
        #expect(won["next_contact_due"] == .null)
        #expect(won["overdue"] == false)
        let again = await s.call("deal.close", ["id": id, "outcome": "lost", "reason": "Price"], uid: T.ivanov)
        #expect(errorCode(again) == ErrorCode.conflict)
        #expect(errorCode(await s.move(d, "Proposal sent")) == ErrorCode.conflict)
        // A closed deal is changed by a head only.
        #expect(errorCode(await s.call("deal.update", ["id": id, "title": "X"], uid: T.ivanov)) == ErrorCode.conflict)
        #expect(try await s.ok("deal.update", ["id": id, "title": "Boxes (signed)"], uid: T.head)["title"] == "Boxes (signed)")
        let lost = try await s.ok(
            "deal.close", ["id": try #require(try await s.deal(c)["id"]), "outcome": "lost", "reason": "Price"], uid: T.ivanov)
        #expect(lost["status"] == "lost")
        #expect(lost["lost_reason"] == "Price")
        let moves = try #require(try await s.get(d)["moves"]?.arrayValue)
        #expect(moves.map { $0["status"] } == ["open", "won"])
        #expect(moves.last?["at"] == "2026-01-12T10:00:00Z")
    }

    @Test("reopen: a head's only; back at the stage it closed from, open and in cadence again")
    func reopen() async throws {
        let s = try await SalesTeam()
        let c = try await s.client("Reopen LLC")
        let d = try await s.deal(c)
        let id = try #require(d["id"])
        #expect(try await s.move(d, "Proposal sent").get()["stage"] == "Proposal sent")
        _ = try await s.ok("deal.close", ["id": id, "outcome": "lost", "reason": "No budget"], uid: T.ivanov)
        for uid in [T.ivanov, T.operator_, T.director] {
            #expect(errorCode(await s.call("deal.reopen", ["id": id], uid: uid)) == ErrorCode.forbidden, "\(uid)")
        }
        try await s.advance("P1D")
        let r = try await s.ok("deal.reopen", ["id": id], uid: T.head)
        #expect(r["status"] == "open")
        #expect(r["stage"] == "Proposal sent")
        #expect(r["closed_at"] == .null)
        #expect(r["lost_reason"] == .null)
        #expect(r["stage_entered_at"] == "2026-01-13T09:00:00Z")
        #expect(r["next_contact_due"] == "2026-01-16T09:00:00Z")
        #expect(errorCode(await s.call("deal.reopen", ["id": id], uid: T.head)) == ErrorCode.conflict)
        // The owner works it again.
        #expect(try await s.move(d, "Proposal under review").get()["stage"] == "Proposal under review")
        let moves = try #require(try await s.get(d)["moves"]?.arrayValue)
        #expect(moves.map { $0["status"] } == ["open", "open", "lost", "open", "open"])
    }

    @Test("who sees a deal: its owner, heads, operators, accountants, directors; not another manager")
    func visibility() async throws {
        let s = try await SalesTeam()
        let d = try await s.deal(try await s.client("Seen LLC"), "Boxes", ["amount": 700])
        for uid in [T.ivanov, T.head, T.operator_, T.accountant, T.director, 0] {
            #expect(try await s.get(d, by: uid)["amount"] == 700, "\(uid)")
        }
        #expect(errorCode(await s.call("deal.get", ["id": d["id"] ?? .null], uid: T.petrov)) == ErrorCode.forbidden)
        #expect(errorCode(await s.call("deal.get", ["id": 999])) == ErrorCode.notFound)
        // The card of ivanov's client shows petrov nothing of it (he may not see the card at all).
        #expect(try await s.all("deal.list", [:], uid: T.petrov).isEmpty)
    }
}
