import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import Testing

/// Connects as other uids with `setpriv --reuid` (needs root), through the real crmctl.
@Suite("Identity and rights by uid", .enabled(if: getuid() == 0, "needs root to connect as other uids"))
struct IdentityTests {
    func crmctl(_ d: TestDaemon, uid: Int, _ args: [String]) throws -> (status: Int32, out: String, err: String) {
        let bin = TestDaemon.binaryPath(named: "crmctl")
        return try runProcess(
            "/usr/bin/setpriv", ["--reuid=\(uid)", "--regid=\(uid)", "--clear-groups", bin] + args + ["--socket", d.socketPath, "--json"],
            environment: ["HOME": "/tmp"])
    }

    @Test("an unknown uid gets 1006 for everything")
    func unknownUID() throws {
        try withDaemon(world: true) { d in
            let r = try crmctl(d, uid: 54_321, ["ping"])
            #expect(r.status == 1)
            #expect(r.err.contains("not a crmd user"), "\(r.err)")
            #expect(r.err.contains("1006"))
            let w = try crmctl(d, uid: 54_321, ["rpc", "client.list"])
            #expect(w.err.contains("1006"))
        }
    }

    @Test("a mapped manager is who the kernel says, sees others' clients restricted and may not log on them")
    func managerRights() throws {
        try withDaemon(world: true) { d in
            let admin = try d.connect()
            let team = try seedTeam(admin)
            let mine = try admin.call("client.create", ["name": "Ivanov's client", "owner": "ivanov", "phones": ["+7 999 111 11 11"]])
            let theirs = try admin.call("client.create", ["name": "Sidorov's client", "owner": "sidorov", "phones": ["+7 999 222 22 22"]])

            let who = try crmctl(d, uid: 50_002, ["whoami"])
            #expect(who.status == 0, "\(who.err)")
            let me = try JSONParser.parse(who.out.trimmingCharacters(in: .whitespacesAndNewlines))
            #expect(me["user"]?["login"] == "ivanov")
            #expect(me["user"]?["role"] == "manager")
            #expect(me["user"]?["id"] == .int(team.ivanov))

            let own = try crmctl(d, uid: 50_002, ["client", "show", "\(mine["id"]!.intValue!)"])
            let ownJSON = try JSONParser.parse(own.out.trimmingCharacters(in: .whitespacesAndNewlines))
            #expect(ownJSON["phones"] == ["+79991111111"])

            let other = try crmctl(d, uid: 50_002, ["client", "show", "\(theirs["id"]!.intValue!)"])
            let otherJSON = try JSONParser.parse(other.out.trimmingCharacters(in: .whitespacesAndNewlines))
            #expect(otherJSON["restricted"] == .bool(true))
            #expect(otherJSON["phones"] == nil)
            #expect(otherJSON["owner_login"] == "sidorov")
            #expect(otherJSON["name"] == "Sidorov's client")

            let log = try crmctl(d, uid: 50_002, ["log", "call", "\(theirs["id"]!.intValue!)", "--result", "hi"])
            #expect(log.status == 1)
            #expect(log.err.contains("1002"), "\(log.err)")
            let okLog = try crmctl(d, uid: 50_002, ["log", "call", "\(mine["id"]!.intValue!)", "--result", "hi"])
            #expect(okLog.status == 0, "\(okLog.err)")

            // Caller ID on another manager's number shows only name, owner and zone.
            let find = try crmctl(d, uid: 50_002, ["client", "find", "8 999 222-22-22"])
            let f = try JSONParser.parse(find.out.trimmingCharacters(in: .whitespacesAndNewlines))
            #expect(f["client"]?["restricted"] == .bool(true))
            #expect(f["client"]?["phones"] == nil)

            // A manager may not add users.
            let add = try crmctl(d, uid: 50_002, ["user", "add", "eve", "--name", "Eve", "--role", "admin"])
            #expect(add.err.contains("1002"))

            // The audit names the real user.
            let hist = try admin.call("interaction.list", ["client_id": mine["id"]!])
            #expect(hist["items"]?.arrayValue?.first?["author_login"] == "ivanov")
        }
    }

    @Test("session.act_as is for admins only and is audited with the admin behind it")
    func actAs() throws {
        try withDaemon(world: true) { d in
            let admin = try d.connect()
            try seedTeam(admin)
            let mgr = try crmctl(d, uid: 50_002, ["whoami", "--as", "petrova"])
            #expect(mgr.status == 1)
            #expect(mgr.err.contains("1002"))
            _ = try admin.call("session.act_as", ["login": "ivanov"])
            let who = try admin.call("whoami")
            #expect(who["user"]?["login"] == "ivanov")
            #expect(who["acting_admin"] == "root")
            let c = try admin.call("client.create", ["name": "Acted Ltd"])
            #expect(c["owner_login"] == "ivanov")
            let hist = try admin.call("client.history", ["id": c["id"]!])
            let entry = hist["items"]?.arrayValue?.first
            #expect(entry?["actor_login"] == "ivanov")
            #expect(entry?["acting_admin"] == "root")
        }
    }
}
