import CRMClient
import CRMCore
import CRMProtocol
import CRMTestSupport
import Foundation
import Testing

/// Every method against every role, from the one table (`RightsTable`) that docs/protocol.md shows.
@Suite("Rights table")
struct RightsTests {
    static let docsPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/protocol.md").path

    @Test("every method has a row, and no row names a method crmd does not have")
    func everyMethodHasARow() {
        let inTable = RightsTable.rows.flatMap(\.methods)
        let methods = Method.allCases.map(\.rawValue)
        #expect(Set(methods).subtracting(inTable).sorted() == [], "methods without a row in RightsTable")
        #expect(Set(inTable).subtracting(methods).sorted() == [], "rows naming no method")
        #expect(RightsTable.rows.allSatisfy { $0.cells.count == RightsTable.roles.count })
        #expect(Set(RightsTable.roles) == Set(Role.allCases))
    }

    @Test("docs/protocol.md shows exactly RightsTable.markdown")
    func docsShowTheTable() throws {
        let lines = try String(contentsOfFile: Self.docsPath, encoding: .utf8).components(separatedBy: "\n")
        guard let start = lines.firstIndex(where: { $0.hasPrefix("| method | admin |") }) else {
            Issue.record("no rights table in docs/protocol.md")
            return
        }
        let table = Array(lines[start...].prefix { $0.hasPrefix("|") })
        let expected = RightsTable.markdown
        #expect(
            table == expected,
            "docs/protocol.md's rights table differs from RightsTable.markdown; paste:\n\(expected.joined(separator: "\n"))")
    }

    /// Users of every role (and a second manager who owns "other" clients), acted as by root.
    final class Fixture: @unchecked Sendable {
        let d: TestDaemon
        let root: Connection
        var counter = 0
        var connections: [Role: Connection] = [:]
        var clockNow = ""
        static let uidBase = 52_000

        init(_ d: TestDaemon) throws {
            self.d = d
            root = try d.connect()
            for (i, role) in RightsTable.roles.enumerated() {
                _ = try root.call(
                    "user.add",
                    [
                        "login": .string(login(role)), "name": .string("R \(role.rawValue)"), "role": .string(role.rawValue),
                        "uid": .int(Self.uidBase + i),
                    ])
                let c = try d.connect()
                _ = try c.call("session.act_as", ["login": .string(login(role))])
                connections[role] = c
            }
            _ = try root.call("user.add", ["login": "r-other", "name": "R other", "role": "manager"])
        }

        func login(_ role: Role) -> String { "r-\(role.rawValue)" }
        func unique() -> Int {
            counter += 1
            return counter
        }
        /// A fresh client owned by `owner` (nil: unassigned), with a unique phone.
        func client(owner: String?) throws -> Int64 {
            let n = unique()
            return try root.call(
                "client.create",
                ["name": .string("Rights \(n)"), "owner": .string(owner), "phones": .array([.string(String(format: "+7 901 %07d", n))])])[
                    "id"]!.intValue!
        }
        func contact(_ clientID: Int64) throws -> Int64 {
            try root.call("contact.create", ["client_id": .int(clientID), "name": .string("Contact \(unique())")])["id"]!.intValue!
        }
        /// A file to attach: its bytes, base64 and SHA-256.
        static let file = "proposal v1"
        static let fileBase64 = "cHJvcG9zYWwgdjE="
        static let fileSHA256 = "1e3483eb20d98542ef7dcec9e94e8a2bc52081a9fef94cce40f53248f026034d"

        /// A fresh open deal on a fresh client of `owner`: the deal is the client's lead manager's.
        func deal(owner: String) throws -> Int64 {
            let c = try client(owner: owner)
            return try root.call("deal.create", ["client_id": .int(c), "title": .string("Deal \(unique())")])["id"]!.intValue!
        }
        /// An attachment on a fresh deal of `owner`: started (no bytes yet), or complete.
        func attachment(owner: String, complete: Bool) throws -> Int64 {
            let a = try root.call(
                "deal.attach",
                [
                    "deal_id": .int(try deal(owner: owner)), "name": "proposal.pdf", "content_type": "application/pdf",
                    "size": .int(Int64(Self.file.count)), "sha256": .string(Self.fileSHA256),
                ])["id"]!
            if complete {
                let w = try root.call("deal.attach_write", ["id": a, "offset": 0, "data": .string(Self.fileBase64)])
                guard w["complete"] == true else { throw FixtureError(what: "attachment \(a) not complete: \(JSONWriter.string(w))") }
            }
            return a.intValue!
        }
        /// A fresh open task assigned to `assignee`: made by root, or by the role's user for itself.
        func task(assignee: String) throws -> Int64 {
            var params: JSON = ["title": .string("Task \(unique())"), "due_at": "2026-01-20T09:00:00Z"]
            if let role = RightsTable.roles.first(where: { login($0) == assignee }) {
                return try connections[role]!.call("task.create", params)["id"]!.intValue!
            }
            params = ["title": params["title"]!, "due_at": params["due_at"]!, "assignee": .string(assignee)]
            return try root.call("task.create", params)["id"]!.intValue!
        }
        /// A plan for `user` in January 2026 (set by root).
        func plan(user: String) throws {
            _ = try root.call("plan.set", ["user": .string(user), "period": "2026-01", "targets": ["calls": 10]])
        }
        /// A fresh invoice on a fresh deal of `owner` (issued by root).
        func invoice(owner: String) throws -> Int64 {
            try root.call(
                "invoice.create",
                ["deal_id": .int(try deal(owner: owner)), "number": .string("R-\(unique())"), "amount": 10_000, "due_date": "2026-02-01"]
            )["id"]!.intValue!
        }
        /// A connection acting as r-other (made once).
        var other: Connection?
        /// A fresh static segment: `owner`'s personal one (made on their connection).
        func segment(owner: String) throws -> JSON {
            let conn: Connection
            if let role = RightsTable.roles.first(where: { login($0) == owner }) {
                conn = connections[role]!
            } else if let o = other {
                conn = o
            } else {
                conn = try d.connect()
                _ = try conn.call("session.act_as", ["login": .string(owner)])
                other = conn
            }
            return try conn.call("segment.create", ["name": .string("Segment \(unique())"), "kind": "static"])["id"]!
        }
        func user() throws -> String {
            let l = "r-user-\(unique())"
            _ = try root.call("user.add", ["login": .string(l), "name": "Temp", "role": "manager"])
            return l
        }

        /// The params of a valid call of `method` on something owned by `owner` (a client, a deal, a task
        /// assigned to them, or naming them as the owner, assignee or user of a list), made as `role` on `c`.
        func params(_ method: Method, variant: String, owner: String, role: Role, on c: Connection) throws -> JSON {
            switch method {
            case .serverPing, .serverStatus, .whoami, .userList, .clientList, .exchangeList, .exchangePreview, .reportZones, .alertList,
                .serverBackup, .abcCompute:
                return [:]
            case .sessionActAs: return ["login": "r-other"]
            case .serverBackupRead:
                if role == .admin { return ["backup": try c.call("server.backup")["backup"]!] }
                return ["backup": .string(String(repeating: "0", count: 32))]
            case .userAdd: return ["login": .string("r-new-\(unique())"), "name": "New", "role": "manager"]
            case .userUpdate: return ["login": .string(try user()), "name": "Renamed"]
            case .userDeactivate: return ["login": .string(try user())]
            case .clientCreate: return ["name": .string("Created \(unique())"), "owner": .string(owner)]
            case .clientGet, .clientHistory, .clientExplain: return ["id": .int(try client(owner: owner))]
            case .clientFindByPhone:
                _ = try client(owner: owner)
                return ["phone": .string(String(format: "8 901 %07d", counter))]
            case .clientUpdate:
                let id = try client(owner: owner)
                return variant == "pd" ? ["id": .int(id), "name": .string("Renamed \(unique())")] : ["id": .int(id), "segment": "retail"]
            case .clientAssign: return ["id": .int(try client(owner: owner)), "owner": "r-other"]
            case .clientImport: return ["clients": [["name": .string("Imported \(unique())")]]]
            case .contactImport:
                // An operator imports contacts onto clients without owners.
                return ["contacts": [["client_id": .int(try client(owner: role == .operator ? nil : owner)), "name": "Imported contact"]]]
            case .interactionImport:
                return [
                    "interactions": [
                        [
                            "client_id": .int(try client(owner: owner)), "kind": "note", "note": "old",
                            "occurred_at": "2025-01-10T10:00:00Z",
                            "author": "r-other",
                        ]
                    ]
                ]
            case .dealImport:
                return ["deals": [["client_id": .int(try client(owner: owner)), "title": .string("Imported deal \(unique())")]]]
            case .interactionLog: return ["client_id": .int(try client(owner: owner)), "kind": "note", "note": "hello"]
            case .interactionList, .contactList: return ["client_id": .int(try client(owner: owner))]
            case .contactCreate: return ["client_id": .int(try client(owner: owner)), "name": "New contact"]
            case .contactUpdate: return ["id": .int(try contact(try client(owner: owner))), "position": "CFO"]
            case .contactGet: return ["id": .int(try contact(try client(owner: owner)))]
            case .contactMove:
                return ["id": .int(try contact(try client(owner: owner))), "client_id": .int(try client(owner: owner))]
            case .clientRelease: return ["id": .int(try client(owner: owner)), "reason": "rights test"]
            case .exchangeClaim: return ["id": .int(try client(owner: nil))]
            case .exchangeRequest:
                // A client just released from r-other: in its fair claim window.
                let id = try client(owner: owner)
                _ = try root.call("client.release", ["id": .int(id), "reason": "rights test"])
                return ["id": .int(id)]
            case .alertAck: return ["ids": [1]]
            case .subscribe: return ["topics": ["client.created"]]
            case .unsubscribe:
                let s = try c.call("subscribe", ["topics": ["client.created"]])
                return ["subscription": s["subscription"]!]
            case .pipelineList: return [:]
            case .pipelineBoard, .dealList: return ["owner": .string(owner)]
            case .dealCreate: return ["client_id": .int(try client(owner: owner)), "title": .string("Deal \(unique())")]
            case .dealGet: return ["id": .int(try deal(owner: owner))]
            case .dealUpdate: return ["id": .int(try deal(owner: owner)), "title": .string("Renamed deal \(unique())")]
            case .dealMove: return ["id": .int(try deal(owner: owner)), "stage": "Proposal sent"]
            case .dealClose: return ["id": .int(try deal(owner: owner)), "outcome": "won"]
            case .dealReopen:
                let id = try deal(owner: owner)
                _ = try root.call("deal.close", ["id": .int(id), "outcome": "lost", "reason": "Price"])
                return ["id": .int(id)]
            case .dealAttach:
                return [
                    "deal_id": .int(try deal(owner: owner)), "name": "proposal.pdf", "content_type": "application/pdf",
                    "size": .int(Int64(Self.file.count)), "sha256": .string(Self.fileSHA256),
                ]
            case .dealAttachWrite:
                return ["id": .int(try attachment(owner: owner, complete: false)), "offset": 0, "data": .string(Self.fileBase64)]
            case .dealAttachmentRead: return ["id": .int(try attachment(owner: owner, complete: true))]
            case .taskCreate: return ["title": .string("Task \(unique())"), "due_at": "2026-01-20T09:00:00Z", "assignee": .string(owner)]
            case .taskList: return ["assignee": .string(owner)]
            case .taskUpdate: return ["id": .int(try task(assignee: owner)), "title": .string("Renamed task \(unique())")]
            case .taskDone: return ["id": .int(try task(assignee: owner))]
            case .today: return ["user": .string(owner)]
            case .planSet: return ["user": .string(owner), "period": "2026-01", "targets": ["calls": 10, "meetings": 2]]
            case .planGet, .planProgress:
                try plan(user: owner)
                return ["user": .string(owner), "period": "2026-01"]
            case .planList:
                try plan(user: owner)
                return ["user": .string(owner)]
            case .invoiceCreate:
                return [
                    "deal_id": .int(try deal(owner: owner)), "number": .string("R-\(unique())"), "amount": 5_000, "due_date": "2026-02-01",
                ]
            case .invoicePay: return ["id": .int(try invoice(owner: owner)), "amount": 1_000, "paid_on": "2026-01-12"]
            case .invoiceList: return ["deal_id": .int(try deal(owner: owner))]
            case .reportCompleteness: return [:]
            case .reportCommission, .reportFunnel, .reportSales, .reportActivity, .reportPlan, .reportExchange:
                return ["from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z"]
            case .exchangeSimulate: return ["from": "2025-12-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"]
            case .channelCreate:
                return ["name": .string("Channel \(unique())"), "phones": .array([.string(String(format: "+7 499 %07d", unique()))])]
            case .channelList: return [:]
            case .channelUpdate, .channelSpend:
                let id = try root.call("channel.create", ["name": .string("Channel \(unique())")])["id"]!
                if method == .channelUpdate { return ["channel": id, "name": .string("Renamed channel \(unique())")] }
                return ["channel": id, "period": "2026-01", "amount": 100_000]
            case .mailIngest:
                let letter = "From: someone@example.org\r\nMessage-ID: <r\(unique())@example.org>\r\nSubject: hi\r\n\r\nhello\r\n"
                return ["message": .string(Data(letter.utf8).base64EncodedString())]
            case .callIncoming: return ["from": .string(String(format: "+7 902 %07d", unique())), "to": "+7 499 000 00 00"]
            case .callEnded:
                return [
                    "from": .string(String(format: "+7 903 %07d", unique())), "to": "200", "started_at": "2026-01-05T09:00:00Z",
                    "disposition": "no_answer", "uniqueid": .string("r.\(unique())"),
                ]
            case .callImport: return ["lines": []]
            case .reportChannels: return ["from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z"]
            case .segmentCreate: return ["name": .string("Created segment \(unique())"), "kind": "dynamic", "filter": ["abc": "A"]]
            case .segmentList: return [:]
            case .segmentGet, .segmentMembers, .segmentStats, .segmentDelete: return ["id": try segment(owner: owner)]
            case .segmentUpdate: return ["id": try segment(owner: owner), "name": .string("Renamed segment \(unique())")]
            case .segmentMailing: return ["id": try segment(owner: owner), "channel": "sms"]
            case .clockAdvance: return ["by": "PT1S"]
            case .clockSet:
                clockNow = try root.call("clock.advance", ["by": "PT1S"])["now"]!.stringValue!
                return ["to": .string(clockNow)]
            case .clientFreeze: return ["id": .int(try client(owner: owner)), "until": "2026-02-12T09:00:00Z", "reason": "rights test"]
            case .clientFreezeDecide:
                let id = try client(owner: owner)
                _ = try root.call("client.freeze", ["id": .int(id), "until": "2026-02-12T09:00:00Z", "reason": "rights test"])
                return ["id": .int(id), "approve": false]
            case .clientLock: return ["id": .int(try client(owner: owner)), "locked": true]
            case .requestCreate: return ["name": .string("Request \(unique())"), "source": "form"]
            case .requestList: return [:]
            case .requestTake, .requestAssign:
                let id = try root.call("request.create", ["name": .string("Request \(unique())")])["id"]!
                _ = try? root.call("request.assign", ["id": id, "to": .string(owner)])
                return method == .requestTake ? ["id": id] : ["id": id, "to": "r-other"]
            case .requestClose:
                let id = try root.call("request.create", ["name": .string("Request \(unique())")])["id"]!
                _ = try? root.call("request.assign", ["id": id, "to": .string(owner)])
                return ["id": id, "reason": "rights test"]
            case .notificationList: return [:]
            }
        }
    }

    struct FixtureError: Error, CustomStringConvertible {
        var what: String
        var description: String { what }
    }

    /// The code a call answered with, or nil for a success.
    static func code(_ c: Connection, _ method: String, _ params: JSON) -> Int? {
        do {
            _ = try c.call(method, params)
            return nil
        } catch let e as RPCError {
            return e.code
        } catch {
            return -1
        }
    }

    @Test("each method as each role: allowed, or 1002 (own: allowed on one's own client, deal or task, 1002 on another manager's)")
    func everyMethodEveryRole() throws {
        // The fair claim window on, so exchange.request has a window to ask in.
        let d = try TestDaemon(
            environment: ["CRMD_EXCHANGE_CLAIM_WINDOW_ENDS": "10:00"],
            arguments: ["--clock", "manual", "--clock-start", "2026-01-12T09:00:00Z"],
            world: true)
        try d.start()
        defer { d.stop() }
        let f = try Fixture(d)
        var checked = 0
        for row in RightsTable.rows {
            for name in row.methods {
                let method = Method(rawValue: name)!
                for role in RightsTable.roles {
                    let right = row.right(for: role)
                    let label = "\(name)\(row.variant.isEmpty ? "" : " (\(row.variant))") as \(role.rawValue)"
                    if method == .sessionActAs {
                        // Decided by the real identity: connect as the role's uid through crmctl.
                        guard getuid() == 0 else { continue }
                        let uid = Fixture.uidBase + RightsTable.roles.firstIndex(of: role)!
                        let r = try runProcess(
                            "/usr/bin/setpriv",
                            [
                                "--reuid=\(uid)", "--regid=\(uid)", "--clear-groups", TestDaemon.binaryPath(named: "crmctl"), "rpc",
                                "session.act_as", #"{"login":"r-other"}"#, "--socket", d.socketPath, "--json",
                            ],
                            environment: ["HOME": "/tmp"])
                        if right == .allowed {
                            #expect(r.status == 0, "\(label): \(r.err)")
                        } else {
                            #expect(r.err.contains("1002"), "\(label): \(r.status) \(r.out) \(r.err)")
                        }
                        checked += 1
                        continue
                    }
                    let c = f.connections[role]!
                    let me = f.login(role)
                    switch right {
                    case .allowed:
                        let p = try f.params(method, variant: row.variant, owner: "r-other", role: role, on: c)
                        let got = Self.code(c, name, p)
                        #expect(got == nil, "\(label): expected allowed, got \(got.map(String.init) ?? "ok")")
                    case .denied:
                        let p = try f.params(method, variant: row.variant, owner: "r-other", role: role, on: c)
                        let got = Self.code(c, name, p)
                        #expect(got == 1002, "\(label): expected 1002, got \(got.map(String.init) ?? "success")")
                    case .own:
                        let mine = try f.params(method, variant: row.variant, owner: me, role: role, on: c)
                        let gotMine = Self.code(c, name, mine)
                        #expect(gotMine == nil, "\(label) on own: expected allowed, got \(gotMine.map(String.init) ?? "ok")")
                        let theirs = try f.params(method, variant: row.variant, owner: "r-other", role: role, on: c)
                        let gotTheirs = Self.code(c, name, theirs)
                        #expect(gotTheirs == 1002, "\(label) on another's: expected 1002, got \(gotTheirs.map(String.init) ?? "success")")
                    }
                    checked += 1
                }
            }
        }
        #expect(checked >= Method.allCases.count * RightsTable.roles.count - (getuid() == 0 ? 0 : RightsTable.roles.count))
    }
}
