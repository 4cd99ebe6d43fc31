import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import Testing

/// Issue 22, calls from the PBX: Master.csv lines and the end-of-call hook handed to the real
/// crmd by the PBX's operator account, and what each call does to the client.
@Suite("Calls from the PBX: CDR import and the end-of-call hook")
struct PBXCallTests {
    /// Friday 4 December 2026, 11:00 in Moscow: before the calls below (the import runs at 19:30).
    static let start = "2026-12-04T08:00:00Z"

    /// Real cdr_csv lines (Asterisk 18, loguniqueid on): answered, missed, busy, unknown, bad.
    static let master = #"""
        "","74951112233","200","from-trunk","""ООО Ромашка"" <74951112233>","PJSIP/trunk-00000012","PJSIP/200-00000013","Dial","PJSIP/200,30,tT","2026-12-04 14:05:10","2026-12-04 14:05:18","2026-12-04 14:09:40",270,262,"ANSWERED","DOCUMENTATION","1764846310.18",""
        "","74951112233","200","from-trunk","""ООО Ромашка"" <74951112233>","PJSIP/trunk-00000020","PJSIP/200-00000021","Dial","PJSIP/200,30","2026-12-04 18:50:00","","2026-12-04 18:50:30",30,0,"NO ANSWER","DOCUMENTATION","1764863400.32",""
        "","200","84951112233","from-internal","""Иван"" <200>","PJSIP/200-00000030","PJSIP/trunk-00000031","Dial","PJSIP/trunk/84951112233","2026-12-04 15:00:00","","2026-12-04 15:00:02",2,0,"BUSY","DOCUMENTATION","1764849600.40",""
        "","79990001122","200","from-trunk","""79990001122"" <79990001122>","PJSIP/trunk-00000040","PJSIP/200-00000041","Dial","PJSIP/200,30","2026-12-04 16:00:00","","2026-12-04 16:00:20",20,0,"NO ANSWER","DOCUMENTATION","1764853200.50",""
        "","74951112233","200","from-trunk","","PJSIP/trunk-00000050","PJSIP/200-00000051","Dial","PJSIP/200,30","2026-12-04 17:00:00","","2026-12-04 17:00:20",20,0,"HUNG UP","DOCUMENTATION","1764856800.60",""
        """#

    /// A daemon on the manual clock with Ivanov (a manager on extension 200).
    static func daemon() throws -> (TestDaemon, Connection) {
        let d = try TestDaemon(arguments: ["--clock", "manual", "--clock-start", start])
        try d.start()
        let admin = try d.connect()
        _ = try admin.call("user.add", ["login": "ivanov", "name": "Иван Иванов", "role": "manager", "extension": "200"])
        return (d, admin)
    }

    func cells(_ line: String) -> [String] {
        var out: [String] = []
        var cur = ""
        var quoted = false
        var chars = Array(line)[...]
        while let ch = chars.popFirst() {
            if quoted {
                if ch == "\"" {
                    if chars.first == "\"" {
                        cur.append("\"")
                        chars.removeFirst()
                    } else {
                        quoted = false
                    }
                } else {
                    cur.append(ch)
                }
            } else if ch == "\"" {
                quoted = true
            } else if ch == "," {
                out.append(cur)
                cur = ""
            } else {
                cur.append(ch)
            }
        }
        out.append(cur)
        return out
    }

    func lines(_ text: String, from first: Int = 1) -> JSON {
        .array(
            text.split(separator: "\n").enumerated().map { i, l in
                ["line": .int(Int64(first + i)), "cells": .array(cells(String(l)).map { .string($0) })]
            })
    }

    @Test("answered calls are logged and reset the owner's zone; a missed one is a call-back due in working hours; duplicates and unknowns")
    func cdrImport() throws {
        let (d, admin) = try Self.daemon()
        defer { d.stop() }
        _ = try admin.call("user.add", ["login": "petrov", "name": "Пётр Петров", "role": "manager"])
        let p = try admin.call("user.update", ["login": "petrov", "extension": "201"])
        #expect(p["extension"] == "201")
        #expect(rpcErrorCode { try admin.call("user.update", ["login": "petrov", "extension": "200"]) } == 1003)
        _ = try admin.call("user.add", ["login": "pbx", "name": "Asterisk", "role": "operator"])
        let client = try admin.call("client.create", ["name": "ООО Ромашка", "owner": "ivanov", "phones": ["+7 495 111-22-33"]])
        let clientID = try #require(client["id"])
        _ = try admin.call("clock.advance", ["by": "PT8H30M"])
        let pbx = try d.connect()
        _ = try pbx.call("session.act_as", ["login": "pbx"])
        // A manager may not report calls.
        let ivanov = try d.connect()
        _ = try ivanov.call("session.act_as", ["login": "ivanov"])
        #expect(rpcErrorCode { try ivanov.call("call.import", ["lines": lines(Self.master)]) } == 1002)

        let r = try pbx.call("call.import", ["lines": lines(Self.master)])
        #expect(r["logged"] == .int(1))
        #expect(r["tasks"] == .int(1))
        #expect(r["unknown"] == .int(1))
        #expect(r["skipped"] == .int(1))
        #expect(r["duplicates"] == .int(0))
        let bad = r["bad"]?.arrayValue ?? []
        #expect(bad.count == 1)
        #expect(bad.first?["line"] == .int(5))
        #expect(bad.first?["field"] == "disposition")

        // The answered call: the owner's, inbound, captured by the PBX; the zone starts again.
        let list = try admin.call("interaction.list", ["client_id": clientID])["items"]?.arrayValue ?? []
        #expect(list.count == 1)
        let call = try #require(list.first)
        #expect(call["kind"] == "call")
        #expect(call["direction"] == "in")
        #expect(call["captured"] == "pbx")
        #expect(call["author_login"] == "ivanov")
        #expect(call["occurred_at"] == "2026-12-04T11:05:10Z")
        #expect(call["resets_clock"] == .bool(true))
        #expect(try admin.call("client.get", ["id": clientID])["last_interaction_at"] == "2026-12-04T11:05:10Z")

        // The missed call at 18:50 on Friday: 10 working minutes that day, 20 on Monday.
        let tasks = try admin.call("task.list", ["assignee": "ivanov"])["items"]?.arrayValue ?? []
        let task = try #require(tasks.first)
        #expect(task["due_at"] == "2026-12-07T06:20:00Z")
        #expect(task["client_id"] == clientID)
        #expect(task["title"]?.stringValue?.hasPrefix("Call back ООО Ромашка (+7") == true)

        // The same file again: every call a duplicate, nothing logged twice.
        let again = try pbx.call("call.import", ["lines": lines(Self.master)])
        #expect(again["duplicates"] == .int(4))
        #expect(again["logged"] == .int(0))
        #expect((try admin.call("interaction.list", ["client_id": clientID])["items"]?.arrayValue ?? []).count == 1)

        // The live hook: Petrov calls the client; his call is logged but, not the owner's, moves no zone.
        _ = try admin.call("clock.advance", ["by": "PT1H"])
        let ended = try pbx.call(
            "call.ended",
            [
                "from": "201", "to": "84951112233", "started_at": "2026-12-04T17:00:00Z", "disposition": "answered", "duration": 65,
                "billsec": 60, "uniqueid": "1764867600.77",
            ])
        #expect(ended["direction"] == "out")
        #expect(ended["author"] == "petrov")
        #expect(ended["duplicate"] == .bool(false))
        let second = try admin.call("interaction.list", ["client_id": clientID])["items"]?.arrayValue ?? []
        #expect(second.count == 2)
        #expect(second.first?["author_login"] == "petrov")
        #expect(second.first?["resets_clock"] == .bool(false))
        let unknown = try pbx.call(
            "call.ended",
            [
                "from": "79990002233", "to": "200", "started_at": "2026-12-04T17:10:00Z", "disposition": "no_answer",
                "uniqueid": "1764868200.80",
            ])
        #expect(unknown["unknown"] == .bool(true))
        // A stranger's missed call opens an inbound request (source call, the number to call back);
        // the file's unknown missed call opened one too, and its re-import did not open another.
        let requestID = try #require(unknown["request"]?.intValue)
        let again2 = try pbx.call(
            "call.ended",
            [
                "from": "79990002233", "to": "200", "started_at": "2026-12-04T17:10:00Z", "disposition": "no_answer",
                "uniqueid": "1764868200.80",
            ])
        #expect(again2["duplicate"] == .bool(true))
        let requests = try admin.call("request.list")["items"]?.arrayValue ?? []
        #expect(requests.count == 2, "\(requests)")
        let opened = try #require(requests.first { $0["id"]?.intValue == requestID })
        #expect(opened["source"] == "call")
        #expect(opened["phone"] == "+79990002233")
        #expect(
            rpcErrorCode { try pbx.call("call.ended", ["from": "200", "to": "201", "disposition": "hung", "uniqueid": "x"]) } == -32602)
    }

    @Test("crmctl call import reads Master.csv in batches and names bad lines; crmctl call ended is the dialplan's hook")
    func crmctlImport() throws {
        let (d, admin) = try Self.daemon()
        defer { d.stop() }
        _ = try admin.call("client.create", ["name": "ООО Ромашка", "owner": "ivanov", "phones": ["+7 495 111-22-33"]])
        _ = try admin.call("clock.advance", ["by": "PT8H30M"])
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("Master-\(getpid()).csv")
        try Data((Self.master + "\n").utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let bin = TestDaemon.binaryPath(named: "crmctl")
        let env = ["NO_COLOR": "1"]
        let out = try runProcess(bin, ["call", "import", file.path, "--batch", "2", "--socket", d.socketPath], environment: env)
        #expect(out.status == 0)
        #expect(out.out.contains("logged 1, call-back tasks 1, unknown numbers 1, duplicates 0, other 1, bad lines 1"))
        #expect(out.out.contains("line 5: disposition"))
        let again = try runProcess(bin, ["call", "import", file.path, "--socket", d.socketPath], environment: env)
        #expect(again.out.contains("duplicates 4"))
        let hook = try runProcess(
            bin,
            [
                "call", "ended", "--from", "74951112233", "--to", "200", "--started-at", "2026-12-04T19:20:00+0300", "--disposition",
                "ANSWERED", "--duration", "40", "--billsec", "35", "--uniqueid", "1764865200.90", "--socket", d.socketPath,
            ], environment: env)
        #expect(hook.status == 0)
        #expect(hook.out.contains("logged as interaction #"))
    }

    @Test("examples/asterisk/play-pbx.sh plays the PBX: the hook's two calls, then a Master.csv with them again")
    func playPBX() throws {
        let (d, admin) = try Self.daemon()
        defer { d.stop() }
        let client = try admin.call("client.create", ["name": "ООО Ромашка", "owner": "ivanov", "phones": ["+7 495 111-22-33"]])
        _ = try admin.call("clock.advance", ["by": "PT8H30M"])
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let script = root.appendingPathComponent("examples/asterisk/play-pbx.sh").path
        let out = try runProcess(
            "/bin/sh", [script, "--socket", d.socketPath], environment: ["NO_COLOR": "1", "CRMCTL": TestDaemon.binaryPath(named: "crmctl")])
        #expect(out.status == 0)
        #expect(out.out.contains("logged 0, call-back tasks 0, unknown numbers 1, duplicates 2, other 1, bad lines 0"))
        let list = try admin.call("interaction.list", ["client_id": client["id"]!])["items"]?.arrayValue ?? []
        #expect(list.count == 1)
        let tasks = try admin.call("task.list", ["assignee": "ivanov"])["items"]?.arrayValue ?? []
        #expect(tasks.first?["due_at"] == "2026-12-07T06:20:00Z")
    }
}
