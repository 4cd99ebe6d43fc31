import CRMCore
import CRMProtocol
import CRMStore
import Foundation
import Testing

@testable import CRMServer

/// The contact cadence in process: a deal falls overdue at the exact instant its stage's cadence
/// runs out, the owner is reminded in working hours, the heads after the grace; a contact by the
/// owner brings it back; comments on a deal are interactions with `deal_id`.
@Suite("Deal handlers in-process: cadence and comments")
struct DealHandlerCadenceTests {
    typealias T = SalesTeam

    func overdueAlerts(_ s: SalesTeam, _ uid: UInt32, kind: String = "deal_overdue") async throws -> [JSON] {
        try await s.alerts(uid).filter { $0["kind"] == .string(kind) }
    }

    @Test("overdue at the exact instant: not a millisecond before; the event, the owner's reminder and today say so")
    func exactInstant() async throws {
        let s = try await SalesTeam()
        let d = try await s.deal(try await s.client("Cadence LLC"), "Boxes")
        #expect(d["next_contact_due"] == "2026-01-14T09:00:00Z")
        try await s.at("2026-01-14T08:59:59.999Z")
        #expect(try await s.get(d)["overdue"] == false)
        #expect(try s.events("deal.overdue").isEmpty)
        #expect(try await overdueAlerts(s, T.ivanov).isEmpty)
        let before = try await s.ok("today", [:], uid: T.ivanov)
        #expect(before["deals_due_today"]?.arrayValue?.map { $0["id"] } == [d["id"]])
        #expect(before["deals_overdue"]?.arrayValue?.isEmpty == true)
        try await s.at("2026-01-14T09:00:00Z")
        #expect(try await s.get(d)["overdue"] == true)
        let events = try s.events("deal.overdue")
        #expect(events.count == 1)
        #expect(events.first?.at == (try at("2026-01-14T09:00:00Z")))
        #expect(events.first?.ownerID == s.ids["ivanov"])
        // 12:00 in Moscow on a Wednesday: delivered at once, naming the deal.
        let reminders = try await overdueAlerts(s, T.ivanov)
        #expect(reminders.count == 1)
        #expect(reminders.first?["deal_id"] == d["id"])
        #expect(reminders.first?["message"]?.stringValue?.contains("Boxes") == true)
        let after = try await s.ok("today", [:], uid: T.ivanov)
        #expect(after["deals_overdue"]?.arrayValue?.map { $0["id"] } == [d["id"]])
        #expect(after["deals_due_today"]?.arrayValue?.isEmpty == true)
        // Nobody else is reminded yet.
        #expect(try await s.alerts(T.petrov).isEmpty)
        #expect(try await overdueAlerts(s, T.head, kind: "deal_overdue_copy").isEmpty)
    }

    @Test("a long jump records the overdue at its true instant; the reminders wait for the working week")
    func jumpAndWorkingHours() async throws {
        let s = try await SalesTeam()
        let d = try await s.deal(try await s.client("Weekend LLC"))
        // To Saturday noon in Moscow: overdue since Wednesday, the heads' copy since Thursday.
        try await s.advance("P5D")
        #expect(try s.events("deal.overdue").map(\.at) == [try at("2026-01-14T09:00:00Z")])
        #expect(try await s.get(d)["overdue"] == true)
        #expect(try await overdueAlerts(s, T.ivanov).isEmpty)
        #expect(try s.pendingAlerts().count == 2)
        // Monday 09:00 in Moscow.
        try await s.at("2026-01-19T06:00:00Z")
        #expect(try await overdueAlerts(s, T.ivanov).count == 1)
        #expect(try await overdueAlerts(s, T.head, kind: "deal_overdue_copy").count == 1)
        #expect(try s.pendingAlerts().isEmpty)
    }

    @Test("the heads' copy comes deals.overdue_head_grace after the due instant, to heads only")
    func headCopy() async throws {
        let s = try await SalesTeam()
        let d = try await s.deal(try await s.client("Grace LLC"))
        try await s.at("2026-01-15T08:59:59Z")
        #expect(try await overdueAlerts(s, T.head, kind: "deal_overdue_copy").isEmpty)
        try await s.at("2026-01-15T09:00:00Z")
        let copies = try await overdueAlerts(s, T.head, kind: "deal_overdue_copy")
        #expect(copies.count == 1)
        #expect(copies.first?["deal_id"] == d["id"])
        #expect(copies.first?["message"]?.stringValue?.contains("ivanov") == true)
        for uid in [T.ivanov, T.petrov, T.director] {
            #expect(try await overdueAlerts(s, uid, kind: "deal_overdue_copy").isEmpty, "\(uid)")
        }
        // One overdue, one reminder: the copy is no second event.
        #expect(try s.events("deal.overdue").count == 1)
        #expect(try await overdueAlerts(s, T.ivanov).count == 1)
    }

    @Test("deals.overdue_head_grace none: the heads are never copied")
    func noHeadCopy() async throws {
        let s = try await SalesTeam { $0.domain.deals.overdueHeadGrace = nil }
        _ = try await s.deal(try await s.client("No grace LLC"))
        try await s.advance("P10D")
        #expect(try await overdueAlerts(s, T.ivanov).count == 1)
        #expect(try await s.alerts(T.head).isEmpty)
    }

    @Test("a comment is an interaction with deal_id; a deal of another client is 1005; kind deal is not loggable")
    func comments() async throws {
        let s = try await SalesTeam()
        let a = try await s.client("A LLC")
        let b = try await s.client("B LLC")
        let d = try await s.deal(a)
        let id = try #require(d["id"])
        let wrong = await s.call("interaction.log", ["client_id": b, "deal_id": id, "kind": "note", "note": "hi"], uid: T.ivanov)
        #expect(errorCode(wrong) == ErrorCode.validationFailed)
        #expect(errorFields(wrong) == ["deal_id"])
        #expect(
            errorFields(await s.call("interaction.log", ["client_id": a, "deal_id": 999, "kind": "note"], uid: T.ivanov)) == ["deal_id"])
        let kindDeal = await s.call("interaction.log", ["client_id": a, "deal_id": id, "kind": "deal"], uid: T.ivanov)
        #expect(errorCode(kindDeal) == ErrorCode.invalidParams)
        let note = try await s.ok(
            "interaction.log", ["client_id": a, "deal_id": id, "kind": "note", "note": "Asked for a discount"], uid: T.ivanov)
        let full = try await s.get(d)
        let notes = try #require(full["interactions"]?.arrayValue).filter { $0["kind"] == "note" }
        #expect(notes.count == 1)
        #expect(notes.first?["deal_id"] == id)
        #expect(notes.first?["note"] == "Asked for a discount")
        #expect(note["interaction"]?["deal_id"] == id)
        // The other client's deals are not touched by it.
        #expect(try await s.all("deal.list", ["client_id": b]).isEmpty)
    }

    @Test("the owner's call brings an overdue deal back into cadence and drops its undelivered reminder; a note does not")
    func contactBringsBack() async throws {
        let s = try await SalesTeam()
        let a = try await s.client("A LLC")
        let b = try await s.client("B LLC", by: T.petrov)
        let c = try await s.client("C LLC", by: T.petrov)
        // Monday 20:00 in Moscow: due Wednesday 20:00, after hours; reminders wait for Thursday 09:00.
        try await s.at("2026-01-12T17:00:00Z")
        let x = try await s.deal(a, "X")
        let y = try await s.deal(b, "Y", by: T.petrov)
        let z = try await s.deal(c, "Z", by: T.petrov)
        try await s.at("2026-01-14T17:00:00Z")
        #expect(try await s.get(x)["overdue"] == true)
        #expect(try s.pendingAlerts().compactMap(\.dealID).sorted() == [x, y, z].compactMap { $0["id"]?.intValue })
        // A note is no contact for the cadence (not a resetting kind).
        try await s.advance("PT10M")
        _ = try await s.ok("interaction.log", ["client_id": a, "kind": "note", "note": "left a message"], uid: T.ivanov)
        #expect(try await s.get(x)["overdue"] == true)
        #expect(try s.pendingAlerts().count == 3)
        // The owner's call at 17:30Z.
        try await s.at("2026-01-14T17:30:00Z")
        _ = try await s.ok("interaction.log", ["client_id": a, "kind": "call", "direction": "out", "result": "agreed"], uid: T.ivanov)
        let back = try await s.get(x)
        #expect(back["overdue"] == false)
        #expect(back["last_contact_at"] == "2026-01-14T17:30:00Z")
        #expect(back["next_contact_due"] == "2026-01-16T17:30:00Z")
        // A move of an overdue deal drops its reminder too.
        _ = try await s.move(y, "Proposal sent", by: T.petrov).get()
        let zid = try #require(z["id"]?.intValue)
        #expect(try s.pendingAlerts().compactMap(\.dealID) == [zid])
        // Thursday 09:00 in Moscow: only Z's reminder is delivered.
        try await s.at("2026-01-15T06:00:00Z")
        #expect(try await overdueAlerts(s, T.ivanov).isEmpty)
        #expect(try await overdueAlerts(s, T.petrov).map { $0["deal_id"] } == [z["id"]])
        // And X falls overdue again at its new instant.
        try await s.at("2026-01-16T17:30:00Z")
        let xOverdue = try s.events("deal.overdue").filter { (try? JSONParser.parse($0.data))?["deal_id"] == x["id"] }
        #expect(xOverdue.map(\.at) == [try at("2026-01-14T17:00:00Z"), try at("2026-01-16T17:30:00Z")])
    }

    @Test("a contact dated before the deal's last contact moves nothing; a head's call counts for the owner")
    func oldOrForeignContact() async throws {
        let s = try await SalesTeam()
        let a = try await s.client("A LLC")
        try await s.advance("P1D")
        let d = try await s.deal(a)
        let backdated = "2026-01-12T10:00:00Z"
        _ = try await s.ok(
            "interaction.log", ["client_id": a, "kind": "call", "result": "ok", "occurred_at": .string(backdated)], uid: T.ivanov)
        #expect(try await s.get(d)["last_contact_at"] == "2026-01-13T09:00:00Z")
        // A head's call speaks for the owner (RULES §3).
        try await s.advance("PT1H")
        _ = try await s.ok("interaction.log", ["client_id": a, "kind": "call", "result": "ok"], uid: T.head)
        #expect(try await s.get(d)["last_contact_at"] == "2026-01-13T10:00:00Z")
    }
}
