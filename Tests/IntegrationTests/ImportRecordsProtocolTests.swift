import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import Testing

/// `contact.import`, `interaction.import` and `deal.import` on the real crmd: strict mode writes
/// nothing, a dry run records nothing, imported history moves zones as `interaction.log` does,
/// an operator adds contacts only to clients without owners.
@Suite("contact.import, interaction.import, deal.import: modes, zones, rights")
struct ImportRecordsProtocolTests {
    @Test("a recent call by the owner turns a yellow client green; another's call and an old one do not")
    func historyMovesZones() throws {
        let d = try TestDaemon(arguments: ["--clock", "manual", "--clock-start", "2026-01-10T09:00:00Z"])
        try d.start()
        defer { d.stop() }
        do {
            let admin = try d.connect()
            _ = try seedTeam(admin)
            let c = try admin.call("client.create", ["name": "ООО «Жёлтый»", "owner": "ivanov", "phones": ["+7 900 500-00-01"]])["id"]!
            let now = try admin.call("clock.advance", ["by": "P40D"])["now"]!.stringValue!
            #expect(try admin.call("client.get", ["id": c])["zone"] == "yellow")
            let at = RFC3339.parse(now)!
            func ago(_ days: Double) -> JSON { .string(RFC3339.format(at.addingTimeInterval(-days * 86_400))) }
            // sidorov's call two days ago, and ivanov's call before the client was his: no new cycle.
            let first = try admin.call(
                "interaction.import",
                [
                    "interactions": [
                        ["client_id": c, "kind": "call", "occurred_at": ago(2), "author": "sidorov", "result": "Не тот менеджер"],
                        ["client_id": c, "kind": "call", "occurred_at": ago(400), "author": "ivanov", "result": "Давно"],
                    ]
                ])
            #expect(first["created"] == 2, "\(first)")
            #expect(try admin.call("client.get", ["id": c])["zone"] == "yellow")
            let second = try admin.call(
                "interaction.import",
                ["interactions": [["client_id": c, "kind": "call", "occurred_at": ago(3), "author": "ivanov", "result": "Договорились"]]])
            #expect(second["created"] == 1, "\(second)")
            let card = try admin.call("client.get", ["id": c])
            #expect(card["zone"] == "green", "\(card)")
            #expect(card["last_interaction_at"] == ago(3), "\(card)")
        }
    }

    @Test("strict mode refuses the whole call with 1005; a dry run records nothing; a replay writes nothing")
    func modes() throws {
        try withDaemon { d in
            let admin = try d.connect()
            _ = try seedTeam(admin)
            let c = try admin.call("client.create", ["name": "ООО «Сделки»", "owner": "ivanov", "phones": ["+7 900 500-00-02"]])["id"]!
            let deals: JSON = [
                ["client_id": c, "title": "Поставка", "amount": 100_000, "status": "won", "closed_at": "2025-06-01T10:00:00Z"],
                ["client_id": c, "title": "Возврат", "status": "lost", "closed_at": "2025-06-02T10:00:00Z", "lost_reason": "Дорого"],
            ]
            let seq = try admin.call("server.status")["store"]?["last_seq"]
            let dry = try admin.call("deal.import", ["deals": deals, "dry_run": true])
            #expect(dry["valid"] == 1 && dry["rejected"]?.arrayValue?.first?["field"] == "lost_reason", "\(dry)")
            #expect(try admin.call("server.status")["store"]?["last_seq"] == seq, "a dry run records no event")
            #expect(throws: RPCError.self) { try admin.call("deal.import", ["deals": deals]) }
            do { _ = try admin.call("deal.import", ["deals": deals]) } catch let e as RPCError { #expect(e.code == 1005, "\(e)") }
            #expect(try admin.call("deal.list", ["client_id": c])["items"]?.arrayValue?.count == 0)
            let ivanov = try DealTest.connect(d, as: "ivanov")
            _ = try ivanov.call("subscribe", ["topics": ["deal.created"]])
            let params: JSON = ["deals": deals, "skip_invalid": true, "request_id": "deals-1"]
            let real = try admin.call("deal.import", params)
            #expect(real["created"] == 1, "\(real)")
            // The owner hears of the imported deal as of a created one.
            let event = try DealTest.next(ivanov, 1).first
            #expect(event?["data"]?["imported"] == true && event?["data"]?["title"] == "Поставка", "\(String(describing: event))")
            let replay = try admin.call("deal.import", params)
            #expect(replay == real)
            let list = try admin.call("deal.list", ["client_id": c])["items"]!.arrayValue!
            #expect(list.count == 1 && list[0]["status"] == "won" && list[0]["stage"] == "New deal", "\(list)")
        }
    }

    @Test("an operator adds contacts to clients without owners only, and imports no history")
    func rights() throws {
        try withDaemon { d in
            let admin = try d.connect()
            _ = try seedTeam(admin)
            _ = try admin.call("user.add", ["login": "smirnova", "name": "Мария Смирнова", "role": "operator", "uid": 50_010])
            _ = try admin.call("client.create", ["name": "ООО «Своё»", "owner": "ivanov", "phones": ["+7 900 500-00-03"]])
            _ = try admin.call("client.create", ["name": "ООО «Ничьё»", "phones": ["+7 900 500-00-04"]])
            let op = try d.connect()
            _ = try admin.call("server.ping")
            _ = try op.call("session.act_as", ["login": "smirnova"])
            let r = try op.call(
                "contact.import",
                [
                    "contacts": [
                        ["client": "8 900 500 00 03", "name": "Кто-то"], ["client": "8 900 500 00 04", "name": "Секретарь"],
                    ], "skip_invalid": true,
                ])
            #expect(r["created"] == 1 && r["rejected"]?.arrayValue?.first?["field"] == "client_id", "\(r)")
            #expect(throws: RPCError.self) {
                try op.call(
                    "interaction.import",
                    [
                        "interactions": [
                            ["client_id": 1, "kind": "note", "note": "x", "occurred_at": "2025-01-01T00:00:00Z", "author": "ivanov"]
                        ]
                    ])
            }
        }
    }
}
