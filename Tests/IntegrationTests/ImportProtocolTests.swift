import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import Testing

/// `client.import`'s modes on the real crmd: a dry run writes nothing, `skip_invalid` writes the
/// good items with their contacts and reports the rest, a replayed `request_id` writes nothing,
/// and an operator imports only clients without owners.
@Suite("client.import: dry_run, skip_invalid, contacts, operators")
struct ImportProtocolTests {
    static let rows: JSON = [
        ["name": "ООО «Ирис»", "phones": ["8 912 000-11-22"], "contacts": [["name": "Ирина", "phones": ["+7 912 000-11-23"]]]],
        ["name": "ООО «Дубль»", "phones": ["8 (916) 123-45-67"]],
        ["name": "", "phones": ["12-34"]],
        ["name": "ООО «Повтор»", "emails": ["x@y.ru"], "contacts": [["name": "Пётр", "phones": ["+79120001123"]]]],
        ["name": "ООО «Без менеджера»", "phones": ["+79990000001"], "owner": "nobody"],
        // The same phone as the rejected item before: the first *good* item has it, so this one goes in.
        ["name": "ООО «После»", "phones": ["8 999 000-00-01"]],
    ]

    func rejected(_ r: JSON) -> [String] {
        (r["rejected"]?.arrayValue ?? []).map { "\($0["index"]!.intValue!) \($0["field"]!.stringValue!)" }
    }

    @Test("dry_run checks and writes nothing; skip_invalid writes the good items once, even when replayed")
    func modes() throws {
        try withDaemon { d in
            let admin = try d.connect()
            try seedTeam(admin)
            _ = try admin.call("client.create", ["name": "ООО «Ромашка»", "phones": ["+79161234567"]])
            let seq = try admin.call("server.status")["store"]?["last_seq"]
            let dry = try admin.call("client.import", ["clients": Self.rows, "dry_run": true, "return_keys": true])
            #expect(dry["valid"] == 2)
            #expect(rejected(dry) == ["1 phones[0]", "2 name", "2 phones[0]", "3 contacts[0].phones[0]", "4 owner"])
            let list = dry["rejected"]?.arrayValue ?? []
            #expect(list.first?["duplicate_of"]?["client_id"] == 1)
            #expect(list[3]["duplicate_of"] == ["index": 0])
            #expect(dry["keys"] == [["+79120001122", "+79120001123"], [], [], [], [], ["+79990000001"]])
            #expect(try admin.call("server.status")["store"]?["last_seq"] == seq, "a dry run records no event")
            #expect(try admin.call("client.list", ["limit": 10])["items"]?.arrayValue?.count == 1)

            let params: JSON = ["clients": Self.rows, "skip_invalid": true, "request_id": "batch-1"]
            let real = try admin.call("client.import", params)
            #expect(real["created"] == 2)
            #expect(rejected(real) == rejected(dry))
            let again = try admin.call("client.import", params)
            #expect(again == real, "the stored answer comes back")
            #expect(try admin.call("client.list", ["limit": 10])["items"]?.arrayValue?.count == 3)
            let iris = try admin.call("client.find_by_phone", ["phone": "+7 912 000 11 23"])
            #expect(iris["contact"]?["name"] == "Ирина")
            #expect(iris["client"]?["name"] == "ООО «Ирис»")

            // Strict mode: any bad item fails the whole call.
            let strict = DealTest.rpcError { try admin.call("client.import", ["clients": [["name": "A"], ["name": ""]]]) }
            #expect(strict?.code == -32602)
            #expect(try admin.call("client.list", ["limit": 10])["items"]?.arrayValue?.count == 3)
            let both = DealTest.rpcError {
                try admin.call("client.import", ["clients": [["name": "A"]], "dry_run": true, "skip_invalid": true])
            }
            #expect(both?.code == -32602)
        }
    }

    @Test("an operator imports clients without owners; with an owner it is 1002 and nothing is written")
    func operatorWithoutOwners() throws {
        try withDaemon { d in
            let admin = try d.connect()
            try seedTeam(admin)
            _ = try admin.call("user.add", ["login": "smirnova", "name": "Мария Смирнова", "role": "operator", "uid": 50_010])
            let op = try DealTest.connect(d, as: "smirnova")
            let owned = DealTest.rpcError {
                try op.call("client.import", ["clients": [["name": "A"], ["name": "B", "owner": "ivanov"]], "skip_invalid": true])
            }
            #expect(owned?.code == 1002)
            #expect(owned?.message.description.contains("clients[1]") == true, "\(owned?.message.description ?? "")")
            let free = try op.call("client.import", ["clients": [["name": "A"], ["name": "B"]]])
            #expect(free["created"] == 2)
            let head = try DealTest.connect(d, as: "petrova")
            #expect(try head.call("client.import", ["clients": [["name": "C", "owner": "ivanov"]]])["created"] == 1)
            let manager = try DealTest.connect(d, as: "ivanov")
            #expect(DealTest.rpcError { try manager.call("client.import", ["clients": [["name": "D"]], "dry_run": true]) }?.code == 1002)
        }
    }

    @Test("every crmctl export writes its header and the rows the list shows, a manager's only as the list shows them")
    func exports() throws {
        let dir = try temporaryFolder("export")
        defer { try? FileManager.default.removeItem(at: dir) }
        try withDaemon { d in
            let admin = try d.connect()
            try seedTeam(admin)
            let ivanovs = try admin.call("client.create", ["name": "ООО «Ромашка»", "phones": ["+79161234567"], "owner": "ivanov"])["id"]!
            _ = try admin.call("client.create", ["name": "ООО «Лютик»", "phones": ["+74959876543"], "owner": "sidorov"])
            _ = try admin.call("contact.create", ["client_id": ivanovs, "name": "Анна", "phones": ["+79167654321"]])
            _ = try admin.call("interaction.log", ["client_id": ivanovs, "kind": "call", "result": "Договорились; перезвонить"])
            _ = try admin.call("deal.create", ["client_id": ivanovs, "title": "Мебель", "amount": 1_200_000])
            func export(_ args: [String]) throws -> [String] {
                let out = dir.appendingPathComponent("out.csv")
                let r = try runProcess(
                    TestDaemon.binaryPath(named: "crmctl"), ["export"] + args + ["--out", out.path, "--socket", d.socketPath])
                #expect(r.status == 0, "\(args): \(r.err)")
                let text = String(decoding: try Data(contentsOf: out), as: UTF8.self)
                return text.split(separator: "\r\n").map(String.init)
            }
            #expect(try export(["clients"]).count == 3)
            #expect(try export(["clients", "--owner", "ivanov"]).count == 2)
            #expect(try export(["contacts", "--client", "\(ivanovs.intValue!)"]).last?.contains("Анна;;+79167654321") == true)
            #expect(
                try export(["interactions", "--client", "\(ivanovs.intValue!)"]).last?.contains("\"Договорились; перезвонить\"") == true)
            #expect(try export(["deals", "--status", "open"]).last?.contains("Мебель;12000.00;RUB") == true)
            #expect(try export(["tasks", "--everyone"]).first?.hasPrefix("\u{FEFF}ID;Задача") == true)
            #expect(try export(["invoices"]).count == 1)
            // A manager's export: sidorov's client only as client.list shows it to ivanov (no phone).
            let mine = try export(["clients", "--status", "assigned", "--as", "ivanov"])
            #expect(mine.contains { $0.contains("ООО «Лютик»") } == true)
            #expect(!mine.contains { $0.contains("+74959876543") }, "\(mine)")
        }
    }
}
