import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import Testing

@Suite("Clients, contacts and interactions end to end")
struct DomainTests {
    @Test("duplicate phone or email names the existing client and owner")
    func duplicates() throws {
        try withDaemon { d in
            let c = try d.connect()
            try seedTeam(c)
            let a = try c.call(
                "client.create", ["name": "First", "owner": "ivanov", "phones": ["8 (495) 123-45-67"], "emails": ["Sales@First.ru"]])
            #expect(a["emails"] == ["sales@first.ru"])
            do {
                _ = try c.call("client.create", ["name": "Second", "phones": ["+7 495 1234567"]])
                Issue.record("expected a conflict")
            } catch let e as RPCError {
                #expect(e.code == 1003)
                #expect(e.data?["client_id"] == a["id"])
                #expect(e.data?["owner_login"] == "ivanov")
                #expect(e.message.description.contains("First"))
            }
            #expect(rpcErrorCode { try c.call("client.create", ["name": "Third", "emails": ["sales@first.ru "]]) } == 1003)
            // A contact's phone is taken too.
            _ = try c.call("contact.create", ["client_id": a["id"]!, "name": "Boss", "phones": ["+7 916 555 55 55"]])
            #expect(rpcErrorCode { try c.call("client.create", ["name": "Fourth", "phones": ["89165555555"]]) } == 1003)
        }
    }

    @Test("interactions validate the minimal data set and the future limit, and reset the clock")
    func interactions() throws {
        try withDaemon { d in
            let c = try d.connect()
            try seedTeam(c)
            let cl = try c.call("client.create", ["name": "Meet Co", "owner": "ivanov"])
            let id = cl["id"]!
            do {
                _ = try c.call("interaction.log", ["client_id": id, "kind": "meeting", "topic": "intro"])
                Issue.record("expected validation failure")
            } catch let e as RPCError {
                #expect(e.code == 1005)
                let fields = Set(e.data?["fields"]?.arrayValue?.compactMap { $0["field"]?.stringValue } ?? [])
                #expect(fields == ["occurred_at", "contact_id", "result"])
            }
            let future = RFC3339.format(Date().addingTimeInterval(3600))
            #expect(
                rpcErrorCode {
                    try c.call("interaction.log", ["client_id": id, "kind": "call", "result": "x", "occurred_at": .string(future)])
                } == 1005)
            #expect(rpcErrorCode { try c.call("interaction.log", ["client_id": id, "kind": "fax"]) } == -32602)
            let past = "2026-01-15T10:00:00+03:00"
            let logged = try c.call(
                "interaction.log", ["client_id": id, "kind": "call", "result": "called back", "occurred_at": .string(past)])
            #expect(logged["interaction"]?["occurred_at"] == "2026-01-15T07:00:00Z")
            // A past call does not move the clock back before the assignment.
            #expect(logged["client"]?["zone"] == "green")
            let note = try c.call("interaction.log", ["client_id": id, "kind": "note", "note": "thinking"])
            #expect(note["interaction"]?["resets_clock"] == .bool(false))
            let call = try c.call("interaction.log", ["client_id": id, "kind": "call", "result": "yes"])
            #expect(call["interaction"]?["resets_clock"] == .bool(true))
            #expect(call["client"]?["last_interaction_at"] == call["interaction"]?["occurred_at"])
            let list = try c.call("interaction.list", ["client_id": id, "limit": 2])
            #expect(list["items"]?.arrayValue?.count == 2)
            #expect(list["next_cursor"] != .null)
            let rest = try c.call("interaction.list", ["client_id": id, "limit": 2, "cursor": list["next_cursor"]!])
            #expect(rest["items"]?.arrayValue?.first?["occurred_at"] == "2026-01-15T07:00:00Z")
        }
    }

    @Test("contacts move between companies and keep their history; caller ID finds them")
    func contacts() throws {
        try withDaemon { d in
            let c = try d.connect()
            let a = try c.call("client.create", ["name": "Alpha"])
            let b = try c.call("client.create", ["name": "Beta"])
            let k = try c.call(
                "contact.create",
                ["client_id": a["id"]!, "name": "Olga", "position": "CFO", "phones": ["8 926 111-00-00"], "decision_maker": true])
            let found = try c.call("client.find_by_phone", ["phone": "+7 (926) 111 00 00"])
            #expect(found["client"]?["id"] == a["id"])
            #expect(found["contact"]?["name"] == "Olga")
            let moved = try c.call("contact.move", ["id": k["id"]!, "client_id": b["id"]!, "position": "CEO"])
            let aff = moved["affiliations"]?.arrayValue ?? []
            #expect(aff.count == 2)
            #expect(aff[0]["client_id"] == a["id"])
            #expect(aff[0]["to"] != .null)
            #expect(aff[1]["client_id"] == b["id"])
            #expect(aff[1]["position"] == "CEO")
            #expect(try c.call("client.find_by_phone", ["phone": "89261110000"])["client"]?["id"] == b["id"])
            #expect(try c.call("contact.list", ["client_id": a["id"]!])["items"]?.arrayValue?.isEmpty == true)
            #expect(rpcErrorCode { try c.call("client.find_by_phone", ["phone": "+7 000 000 00 00"]) } == 1001)
        }
    }

    @Test("assign, update, list filters, deactivate with reassignment, and the audit trail")
    func lifecycle() throws {
        try withDaemon { d in
            let c = try d.connect()
            try seedTeam(c)
            let cl = try c.call("client.create", ["name": "Life Cycle", "segment": "retail"])
            #expect(cl["status"] == "unassigned")
            #expect(cl["zone"] == .null)
            let assigned = try c.call("client.assign", ["id": cl["id"]!, "owner": "sidorov"])
            #expect(assigned["status"] == "assigned")
            #expect(assigned["zone"] == "green")
            #expect(assigned["days_to_release"]?.intValue ?? 0 >= 180)
            let upd = try c.call("client.update", ["id": cl["id"]!, "segment": "retail", "fields": ["inn": "7701234567"]])
            #expect(upd["segment"] == "retail")
            // The ABC class is computed from won revenue, never set by hand.
            #expect(rpcErrorCode { try c.call("client.update", ["id": cl["id"]!, "abc": "A"]) } == -32602)
            #expect(upd["fields"]?["inn"] == "7701234567")
            #expect(rpcErrorCode { try c.call("client.update", ["id": cl["id"]!, "abc": "Z"]) } == -32602)
            #expect(try c.call("client.list", ["owner": "sidorov", "zone": "green"])["items"]?.arrayValue?.count == 1)
            #expect(try c.call("client.list", ["zone": "red"])["items"]?.arrayValue?.count == 0)
            #expect(try c.call("client.list", ["segment": "retail"])["items"]?.arrayValue?.count == 1)
            let off = try c.call("user.deactivate", ["login": "sidorov", "reassign_to": "ivanov"])
            #expect(off["clients_reassigned"] == 1)
            #expect(try c.call("client.get", ["id": cl["id"]!])["owner_login"] == "ivanov")
            let actions = try c.call("client.history", ["id": cl["id"]!])["items"]?.arrayValue?.compactMap { $0["action"]?.stringValue }
            #expect(actions == ["create", "assign", "update", "assign"])
            #expect(rpcErrorCode { try c.call("client.assign", ["id": cl["id"]!, "owner": "sidorov"]) } == 1005)
        }
    }
}
