import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import Testing

/// Issue 22: a manager's own phone (their mobile) tells whose a call is when no extension does:
/// a client's call the PBX forwarded to the mobile, and a call the manager made from it through
/// the PBX, on the real crmd.
@Suite("Users' phones: calls forwarded to a manager's mobile")
struct UserPhoneTests {
    @Test("user.update phone is normalized and unique; a forwarded and a mobile-made call are that manager's; rights")
    func forwardedCalls() throws {
        let d = try TestDaemon(arguments: ["--clock", "manual", "--clock-start", "2026-12-04T08:00:00Z"])  // Friday 11:00
        try d.start()
        defer { d.stop() }
        let admin = try d.connect()
        _ = try admin.call("user.add", ["login": "ivanov", "name": "Иван Иванов", "role": "manager", "extension": "200"])
        let petrov = try admin.call("user.add", ["login": "petrov", "name": "Пётр Петров", "role": "manager", "phone": "+7 916 000-11-22"])
        #expect(petrov["phone"] == "+79160001122")
        let set = try admin.call("user.update", ["login": "ivanov", "phone": "8 (916) 123-45-67"])
        #expect(set["phone"] == "+79161234567")
        #expect(set["extension"] == "200")
        // One user's only; not a number; not with an extension.
        #expect(rpcErrorCode { try admin.call("user.update", ["login": "petrov", "phone": "+79161234567"]) } == 1003)
        #expect(rpcErrorCode { try admin.call("user.update", ["login": "petrov", "phone": "позвоните"]) } == -32602)
        #expect(rpcErrorCode { try admin.call("user.update", ["login": "petrov", "phone": "+7 495 123-45-67 доб. 12"]) } == -32602)
        // A manager may not set their own phone (it decides whose calls are theirs).
        let iv = try d.connect()
        _ = try iv.call("session.act_as", ["login": "ivanov"])
        #expect(rpcErrorCode { try iv.call("user.update", ["login": "ivanov", "phone": "+79160009999"]) } == 1002)

        let client = try admin.call("client.create", ["name": "ООО Ромашка", "owner": "ivanov", "phones": ["+7 495 111-22-33"]])["id"]!
        _ = try admin.call("user.add", ["login": "pbx", "name": "Asterisk", "role": "operator"])
        let pbx = try d.connect()
        _ = try pbx.call("session.act_as", ["login": "pbx"])

        // The client's call forwarded by the PBX to Ivanov's mobile (dst his number, no extension).
        let forwarded = try pbx.call(
            "call.ended",
            [
                "from": "74951112233", "to": "89161234567", "started_at": "2026-12-04T08:10:00Z", "disposition": "answered",
                "duration": 95, "billsec": 90, "uniqueid": "1764835800.1",
            ])
        #expect(forwarded["direction"] == "in")
        #expect(forwarded["user"] == "ivanov")
        #expect(forwarded["author"] == "ivanov")
        #expect(forwarded["client_id"] == client)
        // Ivanov calls the client from his mobile through the PBX: outgoing, his.
        let made = try pbx.call(
            "call.ended",
            [
                "from": "+79161234567", "to": "84951112233", "started_at": "2026-12-04T08:30:00Z", "disposition": "answered",
                "duration": 40, "billsec": 35, "uniqueid": "1764837000.2",
            ])
        #expect(made["direction"] == "out")
        #expect(made["user"] == "ivanov")
        let list = try admin.call("interaction.list", ["client_id": client])["items"]?.arrayValue ?? []
        #expect(list.map { $0["direction"] } == ["out", "in"])
        #expect(list.allSatisfy { $0["author_login"] == "ivanov" && $0["captured"] == "pbx" && $0["resets_clock"] == .bool(true) })

        // Cleared: the next forwarded call names nobody, and is logged by the client's owner as before.
        #expect(try admin.call("user.update", ["login": "ivanov", "phone": .null])["phone"] == .null)
        let after = try pbx.call(
            "call.ended",
            [
                "from": "74951112233", "to": "89161234567", "started_at": "2026-12-04T09:00:00Z", "disposition": "answered",
                "duration": 20, "billsec": 15, "uniqueid": "1764838800.3",
            ])
        #expect(after["user"] == .null)
        #expect(after["author"] == "ivanov")
    }
}
