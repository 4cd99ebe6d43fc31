import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import Testing

/// `server.backup` and `server.backup_read` against the real crmd.
@Suite("Online backup")
struct BackupTests {
    /// The backup copies crmd holds in its folder now.
    func copies(_ d: TestDaemon) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: d.directory.path)) ?? []).filter { $0.contains(".crmd-backup-") }
    }

    @Test("only an admin may back up: 1002 for anyone else, and nothing is left behind")
    func notAdmin() throws {
        try withDaemon(world: getuid() == 0) { d in
            let admin = try d.connect()
            try seedTeam(admin)
            _ = try admin.call("session.act_as", ["login": "ivanov"])
            #expect(rpcErrorCode { try admin.call("server.backup") } == 1002)
            #expect(rpcErrorCode { try admin.call("server.backup_read", ["backup": "00", "offset": 0]) } == 1002)
            #expect(copies(d).isEmpty)
            _ = try admin.call("session.act_as")
            #expect(try admin.call("whoami")["user"]?["role"] == "admin")
        }
    }

    @Test("backup_read: unknown token, bad offset, another connection's token; copies go at the end, on close and at start-up")
    func tokens() throws {
        let d = try TestDaemon()
        // Leftovers of an earlier run are removed at start-up; look-alike files are not touched.
        let leftover = d.directory.appendingPathComponent(".crm.sqlite.crmd-backup-0123456789abcdef0123456789abcdef.tmp").path
        let lookalike = d.directory.appendingPathComponent("crm.sqlite.backup-2026").path
        #expect(FileManager.default.createFile(atPath: leftover, contents: Data("old".utf8)))
        #expect(FileManager.default.createFile(atPath: lookalike, contents: Data("mine".utf8)))
        try d.start()
        defer { d.stop() }
        #expect(!FileManager.default.fileExists(atPath: leftover))
        #expect(FileManager.default.fileExists(atPath: lookalike))

        let c = try d.connect()
        try seedTeam(c)
        let unknown = try roundTrip(
            c, #"{"jsonrpc":"2.0","id":1,"method":"server.backup_read","params":{"backup":"feedfacefeedfacefeedfacefeedface","offset":0}}"#)
        #expect(errorCode(unknown) == 1001)
        #expect(unknown["error"]?["message"]?.stringValue?.contains("No backup 'feedfacefeedfacefeedfacefeedface'") == true)
        #expect(unknown["error"]?["data"]?["backup"] == "feedfacefeedfacefeedfacefeedface")
        #expect(try c.call("server.ping")["pong"] == .bool(true))  // the connection goes on
        #expect(rpcErrorCode { try c.call("server.backup_read", ["offset": 0]) } == -32602)
        #expect(rpcErrorCode { try c.call("server.backup", ["full": true]) } == -32602)

        let b = try c.call("server.backup")
        let token = b["backup"]!.stringValue!
        let size = b["bytes"]!.intValue!
        #expect(b["integrity"] == "ok")
        #expect(b["taken_at"]?.stringValue != nil)
        #expect(b["last_seq"]?.intValue != nil)
        #expect(copies(d).count == 1)
        // Only the connection that made it may read it.
        let other = try d.connect()
        #expect(rpcErrorCode { try other.call("server.backup_read", ["backup": .string(token), "offset": 0]) } == 1001)
        let past = try roundTrip(
            c, #"{"jsonrpc":"2.0","id":2,"method":"server.backup_read","params":{"backup":"\#(token)","offset":\#(size + 1)}}"#)
        #expect(errorCode(past) == -32602, "\(past)")
        // Reading in chunks gives back exactly the copy; the end deletes it.
        var data = Data()
        var eof = false
        while !eof {
            let r = try c.call("server.backup_read", ["backup": .string(token), "offset": .int(Int64(data.count))])
            #expect(r["offset"] == .int(Int64(data.count)))
            data.append(Data(base64Encoded: r["data"]!.stringValue!)!)
            eof = r["eof"]!.boolValue!
        }
        #expect(Int64(data.count) == size)
        #expect(data.prefix(16) == Data("SQLite format 3\0".utf8))
        #expect(copies(d).isEmpty)
        #expect(rpcErrorCode { try c.call("server.backup_read", ["backup": .string(token), "offset": 0]) } == 1001)

        // At most two copies at once; a third waits for one to go.
        let one = try c.call("server.backup")["backup"]!.stringValue!
        _ = try c.call("server.backup")
        let third = try roundTrip(c, #"{"jsonrpc":"2.0","id":3,"method":"server.backup"}"#)
        #expect(errorCode(third) == 1009, "\(third)")
        #expect(third["error"]?["data"]?["reason"] == "too_many_backups")
        #expect(copies(d).count == 2)
        _ = try c.call("server.backup_read", ["backup": .string(one), "offset": .int(size)])  // at the end: deleted
        #expect(copies(d).count == 1)

        // Closing the connection deletes its copies.
        do {
            let gone = try d.connect()
            _ = try gone.call("server.backup")
            #expect(copies(d).count == 2)
        }
        var waited = 0
        while copies(d).count > 1 && waited < 500 {
            usleep(10_000)
            waited += 1
        }
        #expect(copies(d).count == 1)
        #expect(try c.call("server.ping")["pong"] == .bool(true))
    }
}
