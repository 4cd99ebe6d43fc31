import CRMCore
import CRMProtocol
import CRMStore
import Foundation
import Testing

@testable import CRMServer

/// `segment.*` in process: filters and their errors, who sees and changes what, static members,
/// statistics and mailing lists with opt-outs.
@Suite("Segments and mailing lists in-process")
struct SegmentTests {
    typealias T = SalesTeam

    /// The problems of a failed call, as "field: problem" lines.
    static func problems(_ r: Result<JSON, RPCError>) -> [String] {
        guard case .failure(let e) = r else { return [] }
        return (e.data?["fields"]?.arrayValue ?? []).map { "\($0["field"]?.stringValue ?? ""): \($0["problem"]?.stringValue ?? "")" }
    }

    static func ids(_ r: JSON) -> [Int64] { (r["items"]?.arrayValue ?? []).compactMap { $0["id"]?.intValue } }

    @Test("a bad filter is refused naming each bad part by its path; the bounds hold")
    func badFilters() async throws {
        let s = try await SalesTeam()
        func create(_ filter: JSON) async -> Result<JSON, RPCError> {
            await s.call("segment.create", ["name": "Bad", "kind": "dynamic", "filter": filter], uid: T.head)
        }
        let r1 = await create(["any": [["zone": "blue"], ["segment": "vip", "colour": "red"]]])
        let p1 = Self.problems(r1)
        #expect(p1.count == 2, "\(p1)")
        #expect(p1.contains { $0.hasPrefix("filter.any[0].zone: must be one of green, yellow, red") }, "\(p1)")
        #expect(p1.contains { $0.hasPrefix("filter.any[1].colour: is not a condition") }, "\(p1)")
        #expect(Self.problems(await create(["won": ["amount_gte": -5]])).first?.hasPrefix("filter.won.amount_gte") == true)
        #expect(
            Self.problems(await create(["last_interaction_before": "yesterday"])).first?.hasPrefix("filter.last_interaction_before") == true
        )
        #expect(Self.problems(await create(["fields.a\"b": "x"])).first?.hasPrefix("filter.fields.a\"b: must name a custom field") == true)
        // Depth: not inside not ... seven levels.
        var deep: JSON = ["kind": "company"]
        for _ in 0..<6 { deep = ["not": deep] }
        #expect(Self.problems(await create(deep)).contains { $0.contains("nests too deep") })
        let many = JSON.object(JSONObject((0..<51).map { ("fields.f\($0)", JSON.string("x")) }))
        #expect(Self.problems(await create(many)).contains { $0.contains("too many conditions") })
        let wide = JSON.object(["source": .array((0..<101).map { .string("s\($0)") })])
        #expect(Self.problems(await create(wide)).contains { $0.contains("1 to 100 values") })
        // Kinds and their params.
        let r2 = await s.call("segment.create", ["name": "S", "kind": "static", "filter": ["kind": "company"]], uid: T.head)
        #expect(Self.problems(r2).contains { $0.hasPrefix("filter: belongs to a dynamic segment") })
        let r3 = await s.call("segment.create", ["name": "D", "kind": "dynamic"], uid: T.head)
        #expect(Self.problems(r3).contains { $0.hasPrefix("filter: is required") })
        let r4 = await s.call("segment.create", ["name": "", "kind": "dynamic", "filter": ["abc": "A"]], uid: T.head)
        #expect(Self.problems(r4).contains { $0.hasPrefix("name: must be 1 to 100") })
        let r5 = await s.call("segment.create", ["name": "O", "kind": "dynamic", "filter": ["owner": "nobody-here"]], uid: T.head)
        guard case .failure(let e5) = r5 else { Issue.record("unknown owner accepted"); return }
        #expect(e5.message.description.contains("nobody-here"))
    }

    @Test("a dynamic segment filters on label, custom field, zone, owner and deal facts; values are bound, never spliced")
    func dynamicFilter() async throws {
        let s = try await SalesTeam()
        let a = try await s.ok("client.create", ["name": "Alpha", "segment": "wholesale", "fields": ["region": "Moscow"]], uid: T.ivanov)
        let b = try await s.ok("client.create", ["name": "Beta", "segment": "wholesale", "fields": ["region": "Kazan"]], uid: T.petrov)
        let c = try await s.ok("client.create", ["name": "Gamma", "segment": "retail"], uid: T.ivanov)
        let x = try await s.ok("client.create", ["name": "Evil", "segment": "x' OR 1=1 --"], uid: T.ivanov)
        let deal = try await s.deal(c["id"]!, "Open one")
        _ = deal
        func members(_ filter: JSON, uid: UInt32 = T.head) async throws -> [Int64] {
            let seg = try await s.ok(
                "segment.create", ["name": .string("F \(UUID().uuidString)"), "kind": "dynamic", "filter": filter], uid: T.head)
            return Self.ids(try await s.ok("segment.members", ["id": seg["id"]!], uid: uid))
        }
        let (ia, ib, ic, ix) = (a["id"]!.intValue!, b["id"]!.intValue!, c["id"]!.intValue!, x["id"]!.intValue!)
        #expect(try await members(["segment": "wholesale"]) == [ia, ib])
        #expect(try await members(["segment": "x' OR 1=1 --"]) == [ix])
        #expect(try await members(["segment": "nothing' OR '1'='1"]) == [])
        #expect(try await members(["fields.region": "Moscow"]) == [ia])
        #expect(try await members(["segment": "wholesale", "owner": "petrov"]) == [ib])
        #expect(try await members(["has_open_deal": true]) == [ic])
        #expect(try await members(["not": ["has_open_deal": true], "zone": "green"]) == [ia, ib, ix])
        #expect(try await members(["any": [["name_contains": "alp"], ["name_contains": "GAM"]]]) == [ia, ic])
        #expect(try await members(["segment": [.null]]) == [])
        // A shared segment as a manager: only their own clients.
        #expect(try await members(["segment": "wholesale"], uid: T.petrov) == [ib])
    }

    @Test("who sees and changes segments: shared and personal, a manager's view narrowed to their clients")
    func rights() async throws {
        let s = try await SalesTeam()
        let mine = try await s.client("Mine")
        let theirs = try await s.client("Theirs", by: T.petrov)
        let personal = try await s.ok("segment.create", ["name": "Ivanov's list", "kind": "static", "client_ids": [mine]], uid: T.ivanov)
        #expect(personal["personal"] == true)
        #expect(personal["members"] == 1)
        // Another manager's client cannot go into a manager's list.
        let add = await s.call("segment.update", ["id": personal["id"]!, "add_client_ids": [theirs]], uid: T.ivanov)
        guard case .failure(let e) = add else { Issue.record("a manager added another's client"); return }
        #expect(e.code == 1002)
        #expect(!e.message.description.contains("Theirs"))
        // Petrov may neither read nor change Ivanov's personal segment; the head may.
        for m in ["segment.get", "segment.members", "segment.stats", "segment.delete"] {
            guard case .failure(let e) = await s.call(m, ["id": personal["id"]!], uid: T.petrov) else {
                Issue.record("\(m) on another's personal segment allowed")
                continue
            }
            #expect(e.code == 1002, "\(m)")
        }
        #expect(try await s.ok("segment.get", ["id": personal["id"]!], uid: T.head)["clients"] == 1)
        let list = try await s.ok("segment.list", [:], uid: T.petrov)
        #expect(Self.ids(list).isEmpty)
        // A shared static segment: the head lists both clients; each manager sees only theirs.
        let shared = try await s.ok("segment.create", ["name": "Both", "kind": "static", "client_ids": [mine, theirs]], uid: T.head)
        #expect(Self.ids(try await s.ok("segment.members", ["name": "both"], uid: T.head)) == [mine.intValue!, theirs.intValue!])
        #expect(Self.ids(try await s.ok("segment.members", ["name": "Both"], uid: T.petrov)) == [theirs.intValue!])
        #expect(try await s.ok("segment.stats", ["id": shared["id"]!], uid: T.ivanov)["clients"] == 1)
        let upd = await s.call("segment.update", ["id": shared["id"]!, "name": "Mine now"], uid: T.ivanov)
        guard case .failure(let e2) = upd else { Issue.record("a manager renamed a shared segment"); return }
        #expect(e2.code == 1002)
        // Operators and accountants have no segments; names are unique.
        #expect((try? await s.call("segment.list", [:], uid: T.operator_).get()) == nil)
        let dup = await s.call("segment.create", ["name": "BOTH", "kind": "static"], uid: T.head)
        guard case .failure(let e3) = dup else { Issue.record("duplicate name accepted"); return }
        #expect(e3.message.description.contains("already exists"))
        // Remove, then delete: audited.
        let r = try await s.ok("segment.update", ["id": shared["id"]!, "remove_client_ids": [theirs, 999_999]], uid: T.head)
        #expect(r["removed"] == 1)
        _ = try await s.ok("segment.delete", ["id": shared["id"]!], uid: T.head)
        let actions = try s.crm.store.read { tx in
            try tx.auditHistory(entity: "segment", id: shared["id"]!.intValue!, afterID: nil, limit: 10).items.map(\.action)
        }
        #expect(Set(actions) == ["create", "update", "delete"])
    }
}
