import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import Testing

/// Issue 15: what one local uid that can reach the socket may cost. Real crmd, real uids.
@Suite("Hostile local users: bounds on what a peer chooses")
struct HostileTests {
    @Test("a connection holds at most subscriptions.max_per_connection subscriptions; the next gets 1007")
    func subscriptionsPerConnection() throws {
        try withDaemon(environment: ["CRMD_SUBSCRIPTIONS_MAX_PER_CONNECTION": "4"]) { d in
            let c = try d.connect()
            for _ in 0..<4 { _ = try c.call("subscribe", ["topics": ["client.created"]]) }
            do {
                _ = try c.call("subscribe", ["topics": ["client.created"]])
                Issue.record("a fifth subscription was accepted")
            } catch let e as RPCError {
                #expect(e.code == 1007)
                #expect(e.data?["kind"] == "subscriptions_per_connection")
                #expect(e.data?["limit"] == 4)
            }
            // In one batch line too: the ones over the limit are refused, the connection goes on.
            let other = try d.connect()
            let line =
                "["
                + (1...6).map { #"{"jsonrpc":"2.0","id":\#($0),"method":"subscribe","params":{"topics":["client.created"]}}"# }
                .joined(separator: ",") + "]\n"
            try other.send(raw: Array(line.utf8))
            let replies = try other.readJSON()?.arrayValue ?? []
            #expect(replies.filter { $0["result"] != nil }.count == 4)
            #expect(replies.filter { $0["error"]?["code"] == 1007 }.count == 2)
            #expect(try other.call("server.ping")["pong"] == .bool(true))
        }
    }

    /// What a subscriber that never reads leaves queued in the kernel, read on its own socket
    /// (FIONREAD) by a client running as `uid`.
    func unreadBytes(_ d: TestDaemon, uid: Int) throws -> Int {
        let script = """
            import socket, sys, time, fcntl, termios, struct
            s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
            s.sendall(b'{"jsonrpc":"2.0","id":1,"method":"subscribe","params":{"since":0}}\\n')
            buf = b''
            while b'\\n' not in buf: buf += s.recv(1)
            last = -1
            for _ in range(50):
                time.sleep(0.1)
                n = struct.unpack('i', fcntl.ioctl(s, termios.FIONREAD, b'\\0\\0\\0\\0'))[0]
                if n == last: break
                last = n
            print(n)
            """
        let r = try runPython(d, as: uid, script)
        #expect(r.status == 0, "\(r.err)")
        return Int(r.out.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    @Test(
        "a non-admin subscriber that never reads pins only the kernel's default send buffer; an admin's gets max_queue_bytes",
        .enabled(if: getuid() == 0, "needs root to connect as other uids"))
    func sendBufferIsSmallForNonAdmins() throws {
        try withDaemon(world: true) { d in
            let admin = try d.connect()
            _ = try admin.call("user.add", ["login": "ivanov", "name": "Ivan Ivanov", "role": "manager", "uid": 50_002])
            _ = try admin.call("user.add", ["login": "boss", "name": "Boss", "role": "admin", "uid": 50_003])
            // About 2 MB of events the manager may see: clients created for him.
            for part in 0..<4 {
                let items = (0..<2_500).map { k in
                    JSON.object(["name": .string("Client \(part)-\(k) " + String(repeating: "x", count: 200)), "owner": "ivanov"])
                }
                _ = try admin.call("client.import", ["clients": .array(items)])
            }
            let manager = try unreadBytes(d, uid: 50_002)
            let boss = try unreadBytes(d, uid: 50_003)
            // The kernel's default (net.core.wmem_default, 208 KiB here), of which crmd fills half.
            #expect(manager > 0 && manager <= 256 << 10, "a manager's unread events pinned \(manager) bytes")
            #expect(boss > 1 << 20, "an admin's subscription got \(boss) bytes of room")
        }
    }

    /// Runs a python3 child as `uid` under setpriv that opens `count` connections (`argv[2]`; the
    /// socket is `argv[1]`) and prints a line for each, then `held`, and holds them all until its
    /// stdin closes (``release()``). By default each connection sends a ping and its first line
    /// is printed.
    final class Holder {
        let process = Process()
        let input = Pipe()
        let output = Pipe()
        /// The lines printed before `held`, in order.
        var lines: [String] = []
        /// Those that are JSON: the first line each connection got (a pong, or an error object).
        var replies: [JSON] { lines.compactMap { try? JSONParser.parse($0) } }

        static let pings = """
            import socket, sys, json
            conns = []
            for i in range(int(sys.argv[2])):
                s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(10)
                try:
                    s.sendall(b'{"jsonrpc":"2.0","id":1,"method":"server.ping"}\\n')
                except OSError:
                    pass
                f = s.makefile('rb'); line = f.readline()
                print(line.decode().strip() or '{"closed":true}', flush=True)
                conns.append((s, f))
            print('held', flush=True)
            sys.stdin.read()
            """

        init(_ d: TestDaemon, uid: Int, count: Int, script: String = Holder.pings) throws {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            process.arguments = [
                "--reuid=\(uid)", "--regid=\(uid)", "--clear-groups", "/usr/bin/python3", "-c", script, d.socketPath, String(count),
            ]
            process.environment = ["HOME": "/tmp"]
            process.standardInput = input
            process.standardOutput = output
            try process.run()
            var text = ""
            let reader = output.fileHandleForReading
            while !text.contains("held\n") {
                let chunk = reader.availableData
                if chunk.isEmpty { break }
                text += String(decoding: chunk, as: UTF8.self)
            }
            lines = text.split(separator: "\n").filter { $0 != "held" }.map(String.init)
        }

        func release() {
            try? input.fileHandleForWriting.close()
            process.waitUntilExit()
        }
    }

    @Test(
        "one uid cannot lock the admins out: past server.max_connections others get 1009, admins still get in",
        .enabled(if: getuid() == 0, "needs root to connect as other uids"))
    func adminsAlwaysGetIn() throws {
        try withDaemon(environment: ["CRMD_SERVER_MAX_CONNECTIONS": "20"], world: true) { d in
            let admin = try d.connect()
            _ = try admin.call("user.add", ["login": "ivanov", "name": "Ivan Ivanov", "role": "manager", "uid": 50_002])
            let attacker = try Holder(d, uid: 50_002, count: 25)
            defer { attacker.release() }
            #expect(attacker.replies.count == 25)
            #expect(attacker.replies.prefix(20).allSatisfy { $0["result"]?["pong"] == .bool(true) })
            for r in attacker.replies.dropFirst(20) {
                #expect(r["error"]?["code"] == 1009)
                #expect(r["error"]?["data"]?["reason"] == "too_many_connections")
            }
            // While all 20 are held: root (an admin) gets in, many times over.
            var mine: [Connection] = []
            for _ in 0..<10 {
                let c = try d.connect()
                #expect(try c.call("server.ping")["pong"] == .bool(true))
                mine.append(c)
            }
        }
    }

    @Test(
        "one uid holds at most server.max_connections_per_uid connections; an unknown uid is answered 1006 and closed",
        .enabled(if: getuid() == 0, "needs root to connect as other uids"))
    func perUIDAndUnknown() throws {
        try withDaemon(environment: ["CRMD_SERVER_MAX_CONNECTIONS_PER_UID": "5"], world: true) { d in
            let admin = try d.connect()
            _ = try admin.call("user.add", ["login": "ivanov", "name": "Ivan Ivanov", "role": "manager", "uid": 50_002])
            _ = try admin.call("user.add", ["login": "sidorov", "name": "Petr Sidorov", "role": "manager", "uid": 50_003])
            let one = try Holder(d, uid: 50_002, count: 7)
            defer { one.release() }
            #expect(one.replies.prefix(5).allSatisfy { $0["result"]?["pong"] == .bool(true) })
            for r in one.replies.dropFirst(5) {
                #expect(r["error"]?["code"] == 1009)
                #expect(r["error"]?["data"]?["reason"] == "too_many_connections_for_uid")
            }
            // Another user is not held up by it.
            let other = try Holder(d, uid: 50_003, count: 2)
            defer { other.release() }
            #expect(other.replies.allSatisfy { $0["result"]?["pong"] == .bool(true) })
            // An unknown uid: 1006, then the connection is closed (no thread kept for it).
            let stranger = try Holder(d, uid: 50_009, count: 3)
            defer { stranger.release() }
            #expect(stranger.replies.count == 3)
            #expect(stranger.replies.allSatisfy { (r: JSON) in r["error"]?["code"]?.intValue == 1006 })
            #expect(try admin.call("server.status")["connections"]?.intValue == 8)
        }
    }

    @Test(
        "the batch and subscription bounds hold for a manager's own uid, not only for root",
        .enabled(if: getuid() == 0, "needs root to connect as other uids"))
    func boundsAsAManager() throws {
        let env = ["CRMD_SUBSCRIPTIONS_MAX_PER_CONNECTION": "4", "CRMD_PROTOCOL_MAX_BATCH_REPLY_BYTES": "8192"]
        try withDaemon(environment: env, world: true) { d in
            let admin = try d.connect()
            _ = try admin.call("user.add", ["login": "ivanov", "name": "Ivan Ivanov", "role": "manager", "uid": 50_002])
            let names = (1...40).map {
                JSON.object(["name": .string("Client \($0) " + String(repeating: "x", count: 100)), "owner": "ivanov"])
            }
            _ = try admin.call("client.import", ["clients": .array(names)])
            // Three batch lines from uid 50002: 101 pings, 6 subscribes, 10 lists of 40 cards.
            let script = """
                import socket, sys, json
                s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile('rb')
                def batch(items):
                    s.sendall((json.dumps(items) + '\\n').encode()); print(f.readline().decode().strip(), flush=True)
                batch([{"jsonrpc": "2.0", "id": i, "method": "server.ping"} for i in range(101)])
                batch([{"jsonrpc": "2.0", "id": i, "method": "subscribe", "params": {"topics": ["client.created"]}} for i in range(6)])
                batch([{"jsonrpc": "2.0", "id": i, "method": "client.list", "params": {"limit": 40}} for i in range(10)])
                """
            let r = try runPython(d, as: 50_002, script)
            #expect(r.status == 0, "\(r.err)")
            let lines = r.out.split(separator: "\n").compactMap { try? JSONParser.parse(String($0)) }
            #expect(lines.count == 3)
            guard lines.count == 3 else { return }
            #expect(lines[0]["error"]?["data"]?["reason"] == "batch_too_large")
            let subs = lines[1].arrayValue ?? []
            #expect(subs.filter { $0["result"] != nil }.count == 4)
            #expect(subs.filter { $0["error"]?["data"]?["kind"] == "subscriptions_per_connection" }.count == 2)
            let lists = lines[2].arrayValue ?? []
            #expect(lists.count == 10)
            #expect(lists.contains { $0["error"]?["data"]?["kind"] == "batch_reply_bytes" })
        }
    }

    @Test(
        "a manager's own segments stop at 50 (1007 segments_per_user); the shared room stays open to a head",
        .enabled(if: getuid() == 0, "needs root to connect as other uids"))
    func segmentsPerManager() throws {
        try withDaemon(world: true) { d in
            let admin = try d.connect()
            _ = try admin.call("user.add", ["login": "hostile", "name": "Hostile", "role": "manager", "uid": 50_020])
            // The manager's own process, under its own uid: 60 segments in one batch line.
            let script = """
                import socket, sys, json
                s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
                batch = [{"jsonrpc": "2.0", "id": i, "method": "segment.create",
                          "params": {"name": "mine %d" % i, "kind": "dynamic", "filter": {"zone": "red"}}} for i in range(60)]
                s.sendall((json.dumps(batch) + "\\n").encode())
                buf = b""
                while not buf.endswith(b"\\n"): buf += s.recv(65536)
                replies = json.loads(buf)
                ok = sum(1 for r in replies if "result" in r)
                refused = [r["error"] for r in replies if "error" in r]
                print(ok, len(refused), refused[0]["code"], refused[0]["data"]["kind"], refused[0]["data"]["limit"])
                """
            let r = try runPython(d, as: 50_020, script)
            #expect(r.status == 0, "\(r.err)")
            #expect(r.out.trimmingCharacters(in: .whitespacesAndNewlines) == "50 10 1007 segments_per_user 50")
            // A head's shared segment is not held up by the manager's fifty.
            _ = try admin.call("user.add", ["login": "head", "name": "Head", "role": "head", "uid": 50_021])
            let head = try d.connect()
            _ = try head.call("session.act_as", ["login": "head"])
            let shared = try head.call("segment.create", ["name": "Wholesale", "kind": "dynamic", "filter": ["segment": "wholesale"]])
            #expect(shared["personal"] == .bool(false))
        }
    }

    @Test("a client's name is at most 500 characters, on create, update and import")
    func clientNameBound() throws {
        try withDaemon { d in
            let c = try d.connect()
            let long = String(repeating: "Ромашка ", count: 63)  // 504 characters
            #expect(rpcErrorCode { try c.call("client.create", ["name": .string(long)]) } == -32602)
            let id = try c.call("client.create", ["name": .string(String(long.prefix(500)))])["id"]!
            #expect(rpcErrorCode { try c.call("client.update", ["id": id, "name": .string(long)]) } == -32602)
            let imported = try c.call("client.import", ["clients": [["name": .string(long)]], "skip_invalid": true])
            #expect(imported["created"] == 0, "\(imported)")
            #expect(imported["rejected"]?.arrayValue?.count == 1, "\(imported)")
            #expect(try c.call("server.ping")["pong"] == .bool(true))
        }
    }
}
