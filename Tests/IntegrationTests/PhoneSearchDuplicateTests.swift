import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import Testing

/// Issue 20 §3-5 on the real crmd over its socket: phones with extensions and caller ID, search
/// as people type it, and the duplicate warnings.
@Suite("Phones, search and duplicates")
struct PhoneSearchDuplicateTests {
    /// The admin's connection and the two managers' of ``seedTeam(_:)``.
    func team(_ d: TestDaemon) throws -> (root: Connection, ivanov: Connection, sidorov: Connection) {
        let root = try d.connect()
        try seedTeam(root)
        var managers: [Connection] = []
        for login in ["ivanov", "sidorov"] {
            let c = try d.connect()
            _ = try c.call("session.act_as", ["login": .string(login)])
            managers.append(c)
        }
        return (root, managers[0], managers[1])
    }

    @Test("a phone keeps its extension; caller ID from the main number finds the card")
    func extensionsAndCallerID() throws {
        try withDaemon { d in
            let c = try d.connect()
            let card = try c.call("client.create", ["name": "Офис на Тверской", "phones": ["+7 (495) 123-45-67 доб. 12"]])
            #expect(card["phones"] == ["+74951234567;ext=12"])
            let id = card["id"]!
            #expect(try c.call("client.get", ["id": id])["phones"] == ["+74951234567;ext=12"])
            // Every spelling of the number with the extension, and the main number alone.
            for spelling in ["tel:+7-495-123-45-67;ext=12", "8 495 123 45 67 доб 12", "+74951234567", "8 (495) 123-45-67"] {
                #expect(try c.call("client.find_by_phone", ["phone": .string(spelling)])["client"]?["id"] == id, "\(spelling)")
            }
            // The same main number with another extension is another phone, not a duplicate.
            let other = try c.call("client.create", ["name": "Соседний офис", "phones": ["+7 495 123-45-67 x13"]])
            #expect(other["phones"] == ["+74951234567;ext=13"])
            #expect(try c.call("client.find_by_phone", ["phone": "+7 495 123-45-67 ext 13"])["client"]?["id"] == other["id"]!)
            // The exact number with the extension again is a duplicate.
            #expect(rpcErrorCode { try c.call("client.create", ["name": "Дубль", "phones": ["+74951234567,12"]]) } == 1003)
            // A call from the PBX's main number pops the card.
            let pop = try c.call("call.incoming", ["from": "+7 495 123-45-67", "to": "+7 495 100-00-01"])
            #expect(pop["client"]?["id"] == id)
            #expect(pop["lead_created"] == false)
            // A spelling that is two numbers is refused with the reason.
            do {
                _ = try c.call("client.create", ["name": "Два номера", "phones": ["8 495 123-45-67, 8 916 123-45-67"]])
                Issue.record("two numbers in one phone were accepted")
            } catch let e as RPCError {
                #expect(e.code == -32602)
                #expect(JSONWriter.string(e.data ?? .null).contains("extension"), "\(e)")
            }
        }
    }

    @Test("search folds ё, case, quotes and legal forms, finds contacts and number tails, ranks; managers see others' cards restricted")
    func search() throws {
        try withDaemon { d in
            let (root, ivanov, sidorov) = try team(d)
            _ = try ivanov.call("client.create", ["name": "Цветочный магазин Ромашка", "phones": ["+7 495 765-43-21"]])
            let romashka = try ivanov.call("client.create", ["name": "ООО «Ромашка»", "phones": ["8 (495) 123-45-67 доб. 7"]])
            let vasilek = try sidorov.call("client.create", ["name": "Василёк"])
            _ = try sidorov.call("contact.create", ["client_id": vasilek["id"]!, "name": "Семёнова Ольга"])
            func names(_ c: Connection, _ q: String) throws -> [String] {
                try c.call("client.list", ["query": .string(q)])["items"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
            }
            #expect(try names(root, "Ромашка ООО") == ["ООО «Ромашка»", "Цветочный магазин Ромашка"])
            #expect(try names(root, "\"ромашка\"").first == "ООО «Ромашка»")
            #expect(try names(root, "ВАСИЛЕК") == ["Василёк"])
            #expect(try names(root, "семенова") == ["Василёк"])
            #expect(try names(root, "1234567") == ["ООО «Ромашка»"])
            #expect(try names(root, "43-21") == [])  // 4 digits: not a tail search
            #expect(try names(root, "65-43-21") == ["Цветочный магазин Ромашка"])
            // A manager finds another manager's client, as the restricted card only.
            let seen = try sidorov.call("client.list", ["query": "ромашка"])["items"]!.arrayValue!
            #expect(seen.count == 2)
            #expect(seen.allSatisfy { $0["restricted"] == true && $0["phones"] == nil })
            #expect(seen.first?["id"] == romashka["id"]!)
            // Bounded.
            #expect(rpcErrorCode { try root.call("client.list", ["query": .string(String(repeating: "я", count: 201))]) } == 1005)
        }
    }

    @Test("ИНН is unique and checked; a similar name is a 1003 similar_name warning unless force, and a forced create is audited")
    func duplicates() throws {
        try withDaemon { d in
            let (root, ivanov, sidorov) = try team(d)
            let first = try ivanov.call("client.create", ["name": "ООО \"Ромашка\"", "inn": "7707083893", "kpp": "773601001"])
            #expect(first["inn"] == "7707083893")
            #expect(first["kpp"] == "773601001")
            // A wrong check digit, a wrong length, a bad КПП: invalid params naming the field.
            for bad: JSON in [["inn": "7707083894"], ["inn": "77070838"], ["kpp": "7736"]] {
                var p: JSONObject = ["name": "Другая"]
                for m in bad.objectValue!.members { p[m.key] = m.value }
                #expect(rpcErrorCode { try root.call("client.create", .object(p)) } == -32602, "\(bad)")
            }
            // The same ИНН on another card: a conflict naming the client and its owner.
            do {
                _ = try sidorov.call("client.create", ["name": "Совсем другое имя", "inn": "7707 083 893"])
                Issue.record("a second client with the same ИНН was created")
            } catch let e as RPCError {
                #expect(e.code == 1003)
                #expect(e.data?["client_id"] == first["id"]!)
                #expect(e.data?["owner_login"] == "ivanov")
            }
            // Ромашка ООО folds to the same name: the warning names it and its owner.
            do {
                _ = try sidorov.call("client.create", ["name": "Ромашка, ООО"])
                Issue.record("a similar name was created without force")
            } catch let e as RPCError {
                #expect(e.code == 1003)
                #expect(e.data?["reason"] == "similar_name")
                #expect(e.data?["client_id"] == first["id"]!)
                #expect(e.data?["client_name"] == "ООО \"Ромашка\"")
                #expect(e.data?["owner_login"] == "ivanov")
                #expect(e.message.description.contains("force"))
            }
            let forced = try sidorov.call("client.create", ["name": "Ромашка, ООО", "force": true])
            let history = try root.call("client.history", ["id": forced["id"]!])["items"]!.arrayValue!
            let created = try #require(history.first { $0["action"] == "create" })
            #expect(created["after"]?["forced_over"]?["client_id"] == first["id"]!)
            #expect(created["after"]?["forced_over"]?["reason"] == "similar_name")
            // The ИНН is updatable, and taken ones are refused on update too.
            #expect(try sidorov.call("client.update", ["id": forced["id"]!, "inn": "500100732259"])["inn"] == "500100732259")
            #expect(rpcErrorCode { try sidorov.call("client.update", ["id": forced["id"]!, "inn": "7707083893"]) } == 1003)
            #expect(try sidorov.call("client.update", ["id": forced["id"]!, "inn": .null])["inn"] == .null)
            // An import reports a similar name and a taken ИНН in its dry run.
            let dry = try root.call(
                "client.import",
                [
                    "dry_run": true,
                    "clients": [["name": "ромашка"], ["name": "Новая", "inn": "7707083893"], ["name": "Ромашка", "force": true]],
                ])
            let rejected = dry["rejected"]?.arrayValue ?? []
            #expect(
                rejected.contains { $0["index"] == 0 && $0["field"] == "name" && $0["duplicate_of"]?["client_id"] == first["id"]! },
                "\(dry)")
            #expect(rejected.contains { $0["index"] == 1 && $0["field"] == "inn" }, "\(dry)")
            #expect(!rejected.contains { $0["index"] == 2 }, "\(dry)")
        }
    }

    @Test("crmctl client add: --inn, --kpp, the similar-name warning in words, --force; phones with extensions shown")
    func crmctlAdd() throws {
        try withDaemon { d in
            let cli = CrmctlPlanTests()
            let first = try cli.crmctl(
                d, ["client", "add", "ООО «Ромашка»", "--inn", "7707083893", "--kpp", "773601001", "--phone", "+7 495 123-45-67 доб. 12"])
            #expect(first.status == 0, "\(first.err)")
            let refused = try cli.crmctl(d, ["client", "add", "Ромашка, ООО"])
            #expect(refused.status == 1)
            #expect(refused.err.contains("a client with a similar name already exists"), "\(refused.err)")
            #expect(refused.err.contains("#1 ООО «Ромашка»"), "\(refused.err)")
            #expect(refused.err.contains("--force"), "\(refused.err)")
            let forced = try cli.crmctl(d, ["client", "add", "Ромашка, ООО", "--force"])
            #expect(forced.status == 0, "\(forced.err)")
            #expect(forced.out.contains("created client #2"), "\(forced.out)")
            let shown = try cli.crmctl(d, ["client", "show", "1"])
            #expect(shown.out.contains("+7 495 123-45-67 ext. 12"), "\(shown.out)")
            #expect(shown.out.contains("ИНН          7707083893  КПП 773601001"), "\(shown.out)")
            let bad = try cli.crmctl(d, ["client", "add", "Другая", "--inn", "7707083894"])
            #expect(bad.status != 0)
            #expect(bad.err.contains("check digit"), "\(bad.err)")
        }
    }
}
