import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import Testing

/// A small deterministic generator, so a failing random line can be reproduced.
private struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("Bad input over a real socket")
struct BadInputTests {
    /// One bad line: what it is, and the code and id its reply must carry.
    private struct Case {
        let name: String
        let bytes: [UInt8]
        let code: Int
        let id: JSON
    }

    private static func line(_ s: String) -> [UInt8] { Array(s.utf8) }

    private static var cases: [Case] {
        var list: [Case] = [
            Case(name: "truncated object", bytes: line(#"{"jsonrpc":"2.0","id":7,"method":"server.pi"#), code: -32700, id: .null),
            Case(name: "truncated string", bytes: line(#"{"jsonrpc":"2.0","id":7,"method":"#), code: -32700, id: .null),
            Case(name: "100k open brackets", bytes: Array(repeating: UInt8(ascii: "["), count: 100_000), code: -32700, id: .null),
            Case(
                name: "100k nested arrays, closed",
                bytes: Array(repeating: UInt8(ascii: "["), count: 100_000) + Array(repeating: UInt8(ascii: "]"), count: 100_000),
                code: -32700, id: .null),
            Case(
                name: "deep object in params",
                bytes: line(#"{"jsonrpc":"2.0","id":8,"method":"server.ping","params":"# + String(repeating: #"{"a":"#, count: 10_000)),
                code: -32700, id: .null),
            Case(
                name: "number out of range", bytes: line(#"{"jsonrpc":"2.0","id":9,"method":"server.ping","params":{"x":1e400}}"#),
                code: -32700, id: .null),
            Case(
                name: "huge integer id", bytes: line(#"{"jsonrpc":"2.0","id":99999999999999999999999,"method":"server.ping"}"#),
                code: -32600, id: .null),
            Case(
                name: "huge integer param",
                bytes: line(#"{"jsonrpc":"2.0","id":10,"method":"client.get","params":{"id":99999999999999999999999}}"#),
                code: -32602, id: .int(10)),
            Case(name: "invalid UTF-8 outside strings", bytes: [0xC3, 0x28, 0xFF, 0xFE], code: -32700, id: .null),
            Case(
                name: "invalid UTF-8 in a string",
                bytes: line(#"{"jsonrpc":"2.0","id":11,"method":""#) + [0xED, 0xA0, 0x80] + line(#""}"#), code: -32700, id: .null),
            Case(
                name: "overlong UTF-8 in a key", bytes: line(#"{""#) + [0xC0, 0xAF] + line(#"":1}"#), code: -32700, id: .null),
            Case(name: "lone surrogate escape", bytes: line(#"{"jsonrpc":"2.0","id":"\ud800","method":"x"}"#), code: -32700, id: .null),
            Case(name: "NUL byte", bytes: [0x00], code: -32700, id: .null),
            Case(name: "id is a float", bytes: line(#"{"jsonrpc":"2.0","id":1.5,"method":"server.ping"}"#), code: -32600, id: .null),
            Case(name: "id is an object", bytes: line(#"{"jsonrpc":"2.0","id":{},"method":"server.ping"}"#), code: -32600, id: .null),
            Case(name: "id is an array", bytes: line(#"{"jsonrpc":"2.0","id":[1],"method":"server.ping"}"#), code: -32600, id: .null),
            Case(name: "method is a number", bytes: line(#"{"jsonrpc":"2.0","id":12,"method":5}"#), code: -32600, id: .int(12)),
            Case(name: "jsonrpc 1.0", bytes: line(#"{"jsonrpc":"1.0","id":"v","method":"server.ping"}"#), code: -32600, id: .string("v")),
            Case(
                name: "params is a string", bytes: line(#"{"jsonrpc":"2.0","id":13,"method":"server.ping","params":"x"}"#), code: -32602,
                id: .int(13)),
            Case(
                name: "param of the wrong type", bytes: line(#"{"jsonrpc":"2.0","id":14,"method":"client.get","params":{"id":"seven"}}"#),
                code: -32602, id: .int(14)),
            Case(name: "a bare string", bytes: line(#""hello""#), code: -32600, id: .null),
            Case(name: "true", bytes: line("true"), code: -32600, id: .null),
            Case(name: "unknown method", bytes: line(#"{"jsonrpc":"2.0","id":15,"method":"\u0000"}"#), code: -32601, id: .int(15)),
        ]
        // Random bytes: a leading '}' makes each a parse error whatever follows.
        var rng = SplitMix(state: 0x5EED)
        for i in 0..<200 {
            let n = Int.random(in: 1...2000, using: &rng)
            var b: [UInt8] = [UInt8(ascii: "}")]
            for _ in 0..<n {
                let x = UInt8.random(in: 0...255, using: &rng)
                b.append(x == 0x0A ? 0x20 : x)
            }
            list.append(Case(name: "random #\(i)", bytes: b, code: -32700, id: .null))
        }
        return list
    }

    @Test("each bad line gets its JSON-RPC error, the connection and another one keep being served")
    func badLines() throws {
        try withDaemon { d in
            let bad = try d.connect()
            let other = try d.connect()
            var n = 0
            for c in Self.cases {
                try bad.send(raw: c.bytes + [0x0A])
                guard let reply = try bad.readJSON() else {
                    Issue.record("no reply to \(c.name)")
                    return
                }
                #expect(errorCode(reply) == c.code, "\(c.name): \(JSONWriter.string(reply))")
                #expect(reply["id"] == c.id, "\(c.name): \(JSONWriter.string(reply))")
                n += 1
                let pong = try other.call("server.ping")
                #expect(pong["pong"] == .bool(true))
            }
            #expect(n == Self.cases.count)
            // A batch mixing bad and good items answers each in place.
            let batch = try roundTrip(bad, #"[1,{"jsonrpc":"2.0","id":"ok","method":"server.ping"},{"id":2}]"#)
            let items = batch.arrayValue ?? []
            #expect(items.count == 3)
            #expect(items.first.flatMap(errorCode) == -32600)
            #expect(items.dropFirst().first?["result"]?["pong"] == .bool(true))
            // The connection that sent all of it is still served, and so is a new one.
            #expect(try bad.call("server.ping")["pong"] == .bool(true))
            #expect(try d.connect().call("server.ping")["pong"] == .bool(true))
            #expect(d.pid.map { kill($0, 0) == 0 } == true, "crmd is alive")
        }
    }
}

@Suite("Load and connection limits over a real socket")
struct LoadTests {
    @Test("1,000 connections held open while another works normally")
    func thousandConnections() throws {
        try withDaemon { d in
            var held: [Connection] = []
            for _ in 0..<1000 { held.append(try d.connect()) }
            // Every held connection is really served (not just queued in the backlog).
            for c in held.prefix(50) { #expect(try c.call("server.ping")["pong"] == .bool(true)) }
            let worker = try d.connect()
            var worst = 0.0
            let t0 = Date()
            for i in 0..<200 {
                let t = Date()
                _ = try worker.call("client.create", ["name": .string("Load \(i)")])
                _ = try worker.call("server.ping")
                worst = max(worst, Date().timeIntervalSince(t))
            }
            let total = Date().timeIntervalSince(t0)
            print("1000 held: 200 create+ping in \(total) s, worst \(worst) s")
            #expect(worst < 1.0 * testSlowdown, "worst round trip \(worst) s")
            #expect((try worker.call("server.status")["connections"]?.intValue ?? 0) >= 1001)
            for c in held.suffix(50) { #expect(try c.call("server.ping")["pong"] == .bool(true)) }
        }
    }

    @Test("a peer that pipelines requests and never reads its replies is held back, not buffered without bound")
    func pipelinerThatNeverReads() throws {
        try withDaemon { d in
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var addr = sockaddr_un()
            addr.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &addr.sun_path) { raw in
                for (i, b) in d.socketPath.utf8.enumerated() { raw[i] = b }
            }
            let r = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            try #require(r == 0)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            // Write pings until the kernel refuses more for a whole second (crmd stopped reading),
            // or until far more than crmd's bounds could hold (it kept reading: the bug).
            let line = Array(#"{"jsonrpc":"2.0","id":1,"method":"server.ping"}"#.utf8) + [10]
            var chunk: [UInt8] = []
            for _ in 0..<1000 { chunk += line }
            var written = 0
            var blockedSince: Date? = nil
            let started = Date()
            while written < 64 << 20, Date().timeIntervalSince(started) < 30 {
                let n = chunk.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if n > 0 {
                    written += n
                    blockedSince = nil
                } else if errno == EAGAIN || errno == EWOULDBLOCK {
                    if let b = blockedSince, Date().timeIntervalSince(b) > 1 { break }
                    if blockedSince == nil { blockedSince = Date() }
                    usleep(10_000)
                } else {
                    Issue.record("send failed: \(errno)")
                    break
                }
            }
            print("pipeliner: \(written >> 10) KiB of requests accepted before crmd held back")
            #expect(blockedSince != nil, "crmd kept reading \(written >> 20) MiB of requests nobody reads the replies of")
            // Its bound: subscriptions.max_queue_bytes (4 MiB) of unread replies, 1,024 queued lines
            // and the kernel's buffers. Without back-pressure crmd took in 36 MiB here.
            #expect(written < 16 << 20, "\(written >> 20) MiB of requests accepted")
            // Others are served meanwhile.
            #expect(try d.connect().call("server.ping")["pong"] == .bool(true))
        }
    }

    @Test("admins past server.max_connections and their reserve get 1009 and are closed; the others go on")
    func connectionLimit() throws {
        // This process is root: an admin, who may use the free slots and the admins' reserve.
        try withDaemon(environment: ["CRMD_SERVER_MAX_CONNECTIONS": "20", "CRMD_SERVER_ADMIN_CONNECTIONS": "5"]) { d in
            var held: [Connection] = []
            for _ in 0..<25 { held.append(try d.connect()) }
            for c in held { #expect(try c.call("server.ping")["pong"] == .bool(true)) }
            for _ in 0..<5 {
                let extra = try d.connect()
                let r = try extra.readJSON()
                #expect(r.flatMap(errorCode) == 1009, "\(r.map(JSONWriter.string) ?? "nothing")")
                #expect(r?["error"]?["data"]?["reason"] == "too_many_connections")
                #expect(r?["error"]?["message"]?.stringValue?.contains("server.admin_connections") == true)
                #expect(try extra.readLine() == nil, "closed after the error")
            }
            for c in held { #expect(try c.call("server.ping")["pong"] == .bool(true)) }
            // A freed slot is served again.
            held.removeLast()
            Thread.sleep(forTimeInterval: 0.3)
            #expect(try d.connect().call("server.ping")["pong"] == .bool(true))
        }
    }

    @Test("server.idle_timeout closes an idle connection with a notice; a busy one and a silent subscriber stay")
    func idleTimeout() throws {
        try withDaemon(environment: ["CRMD_SERVER_IDLE_TIMEOUT": "PT1S"]) { d in
            let idle = try d.connect()
            let busy = try d.connect()
            let subscriber = try d.connect()
            _ = try subscriber.call("subscribe", ["topics": ["client.created"]])
            #expect(try idle.call("server.ping")["pong"] == .bool(true))
            let t0 = Date()
            while Date().timeIntervalSince(t0) < 2.5 {
                #expect(try busy.call("server.ping")["pong"] == .bool(true))
                Thread.sleep(forTimeInterval: 0.2)
            }
            let note = try idle.readJSON()
            #expect(note?["method"] == "server.closing")
            #expect(note?["params"]?["reason"] == "idle_timeout")
            #expect(try idle.readLine() == nil)
            #expect(try busy.call("server.ping")["pong"] == .bool(true))
            // The subscriber sent nothing for 2.5 s and still gets its events.
            _ = try busy.call("client.create", ["name": "Idle check"])
            let event = try subscriber.readJSON()
            #expect(event?["method"] == "event" && event?["params"]?["topic"] == "client.created")
            #expect(try subscriber.call("server.ping")["pong"] == .bool(true))
        }
    }
}
