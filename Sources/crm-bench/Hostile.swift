import CRMClient
import CRMProtocol
import CRMTestSupport
import Foundation
import Synchronization

// The hostile phase (issue 15): what one local uid that can reach the socket costs crmd, the host
// and the admins, attack by attack, at the sizes the defaults allow one uid and past them. The
// attacker is a python3 child run as that uid under setpriv (as in HostileTests); crm-bench's own
// admin connection pings crmd every 10 ms meanwhile, and crmd's RSS and the host's MemAvailable
// are read from /proc every 20 ms. Targets: an admin's server.ping p99 ≤ 50 ms during every
// attack; crmd's RSS ≤ 256 MiB and the host's memory drop ≤ 512 MiB whatever one non-admin uid does.

extension Bench {
    /// One attack: who runs it, the script's mode and arguments, how long its connections are held
    /// once it is set up, and what crm-bench does meanwhile (returns a note for the report).
    struct Attack {
        var name: String
        var uid: Int
        var arguments: [String]
        var hold: Double
        var during: (() throws -> String)? = nil
    }

    /// Runs every attack in turn on the loaded daemon, each released before the next. Needs root
    /// (to run the attacker as other uids) and a daemon whose socket other uids may open.
    func hostilePhase() throws {
        guard getuid() == 0 else {
            log("hostile: skipped, crm-bench is not root (it runs the attacker as other uids with setpriv)")
            return
        }
        let started = nowNS()
        let control = try daemon.connect(readTimeout: 60)
        func connections() -> Int64 { (try? control.call("server.status")["connections"]?.intValue) ?? -1 }
        // The control connection is open; the monitor's pinger adds one during each attack.
        let baseline = connections()
        let attacker = 60_000  // m0, a manager loaded by load()
        let attacks: [Attack] = [
            Attack(name: "connections (m0 opens 1,000)", uid: attacker, arguments: ["connections", "1000"], hold: 3),
            Attack(name: "connections (unknown uid opens 2,000)", uid: 59_999, arguments: ["connections", "2000"], hold: 2),
            Attack(
                name: "unfinished lines (128 × 1 MiB − 1)", uid: attacker, arguments: ["lines", "128", String((1 << 20) - 1)], hold: 3),
            Attack(
                name: "subscriptions (128 × 16 to *)", uid: attacker, arguments: ["subs", "128", "17"], hold: 12,
                during: { [daemon = daemon!] in
                    // Events m0 may see: clients created for m0, as an admin, on its own
                    // connection; held past subscriptions.stall_timeout (10 s) after.
                    let admin = try daemon.connect(readTimeout: 120)
                    let t = nowNS()
                    try Bench.importClients(admin, 0..<20_000) { ["name": .string("Hostile \($0)"), "owner": "m0"] }
                    return String(format: "20,000 clients imported for m0 meanwhile in %.1f s", Double(nowNS() - t) / 1e9)
                }),
            Attack(name: "slow bytes (128 × 1 byte/s)", uid: attacker, arguments: ["slow", "128", "10"], hold: 0),
            // Last: crmd keeps some of what it takes (121 MiB after it against 90 before), which
            // would be the next attack's start.
            Attack(name: "batches (128 × 100 client.list of 1,000)", uid: attacker, arguments: ["batches", "128", "5", "30"], hold: 2),
        ]
        for attack in attacks {
            // Each attack starts from crmd with only crm-bench's connection open.
            let settle = nowNS() + 30_000_000_000
            while connections() > baseline && nowNS() < settle { usleep(100_000) }
            let left = connections()
            if left > baseline { log("hostile: \(left - baseline) connection(s) of the last attack still open after 30 s") }
            guard try runAttack(attack) else { break }
        }
        report.add("hostile: the phase took", Double(nowNS() - started) / 1e9, "s")
    }

    /// One attack; false when crmd no longer answers after it (the phase stops there).
    func runAttack(_ attack: Attack) throws -> Bool {
        let name = "hostile \(attack.name)"
        log("\(name) ...")
        let pid = daemon.pid ?? 0
        let logBefore = daemon.currentStderr().count
        let rssBefore = Self.rssMiB(pid: pid)
        let memBefore = Self.memAvailableMiB()
        let monitor = try AttackMonitor(daemon: daemon, pid: pid)
        let process = try AttackerProcess(socket: daemon.socketPath, uid: attack.uid, arguments: attack.arguments)
        let summary = process.summary(timeout: 90)
        var notes: [String] = []
        if let summary {
            notes.append(summary["line"]?.stringValue ?? JSONWriter.string(summary))
        } else {
            notes.append("the attacker printed no summary in 90 s: \(process.errors().suffix(300))")
        }
        notes.append(String(format: "attacker's own RSS %.0f MiB", process.rssMiB()))
        if let during = attack.during {
            do { notes.append(try during()) } catch { notes.append("crm-bench's own work failed: \(error)") }
        }
        // An admin gets a new connection while the attacker holds everything it got.
        let t = nowNS()
        if let c = try? daemon.connect(readTimeout: 10), (try? c.call("server.ping")) != nil {
            notes.append(String(format: "a new admin connection answered in %.1f ms", Double(nowNS() - t) / 1e6))
            if let n = try? c.call("server.status")["connections"]?.intValue { notes.append("crmd counted \(n) connections") }
        } else {
            notes.append("a new admin connection got no answer")
        }
        Thread.sleep(forTimeInterval: attack.hold)
        let seen = monitor.stop()
        process.release(timeout: 20)
        usleep(500_000)
        let rssAfter = Self.rssMiB(pid: pid)
        let answers: Bool
        if let c = try? daemon.connect(readTimeout: 10), (try? c.call("server.ping")) != nil { answers = true } else { answers = false }

        var pings = Samples()
        pings.merge(seen.pings)
        let p99 = pings.percentile(0.99)
        let worst = pings.percentile(1)
        let drop = memBefore - seen.memMin
        report.add("\(name): crmd RSS before", rssBefore, "MiB")
        report.add("\(name): crmd RSS peak", seen.rssPeak, "MiB", target: "<= 256", met: seen.rssPeak <= 256)
        report.add("\(name): crmd RSS growth (peak − before)", seen.rssPeak - rssBefore, "MiB")
        report.add("\(name): host MemAvailable drop", drop, "MiB", target: "<= 512", met: drop <= 512)
        report.add(
            "\(name): admin server.ping p99 (\(seen.pings.count) pings, \(seen.failedPings) failed)", p99, "ms", target: "<= 50",
            met: p99 <= 50 && seen.failedPings == 0)
        report.add("\(name): admin server.ping max", worst, "ms")
        report.add("\(name): crmd RSS after release", rssAfter, "MiB")
        notes.append(answers ? "after release crmd answered a new admin connection" : "after release crmd did NOT answer")
        let logged = Self.crmdLogSummary(String(daemon.currentStderr().dropFirst(logBefore)))
        if !logged.isEmpty { notes.append("crmd logged: \(logged)") }
        let text = notes.joined(separator: "; ")
        log("  \(name): \(text)")
        report.info.append((name, text))
        if !answers {
            report.add("\(name): crmd answers after release", 0, "", target: "yes", met: false)
            log(
                "hostile: crmd does not answer after '\(attack.name)'; the phase stops. crmd's stderr ends: \(daemon.currentStderr().suffix(600))"
            )
        }
        return answers
    }

    /// What crmd wrote to stderr during an attack, shortened: each distinct message (the level
    /// and text before its metadata, numbers as N) with its count, the first four kinds.
    static func crmdLogSummary(_ text: String) -> String {
        let lines = text.split(separator: "\n")
        guard !lines.isEmpty else { return "" }
        var counts: [(String, Int)] = []
        for line in lines {
            // "TIME LEVEL crmd: message key=value ...": the level and message, numbers as N.
            let words = line.split(separator: " ").dropFirst().prefix { !$0.contains("=") }
            let key = words.map { $0.allSatisfy { $0.isNumber || $0 == "." } ? "N" : String($0) }.joined(separator: " ")
            if let i = counts.firstIndex(where: { $0.0 == key }) { counts[i].1 += 1 } else { counts.append((key, 1)) }
        }
        let shown = counts.prefix(4).map { "\($0.1) × \($0.0)" }.joined(separator: " | ")
        return counts.count > 4 ? shown + " | \(counts.count - 4) other kinds" : shown
    }
}

/// During one attack: crmd's RSS and the host's MemAvailable from /proc every 20 ms on one thread,
/// and a `server.ping` every 10 ms on another, on an admin connection (crm-bench's, root) opened
/// before the attack. A ping that fails counts with the time it took (up to its 10 s read timeout),
/// and the pinger connects again.
final class AttackMonitor: Sendable {
    struct Seen {
        var rssPeak = 0.0
        var memMin = Double.infinity
        var pings: [UInt64] = []
        var failedPings = 0
    }

    private let seen = Mutex<Seen>(Seen())
    private let running = Atomic<Bool>(true)
    private let done = DispatchGroup()

    init(daemon: TestDaemon, pid: Int32) throws {
        let first = try daemon.connect(readTimeout: 10)
        _ = try first.call("server.ping")
        done.enter()
        done.enter()
        Thread.detachNewThread { [self] in
            defer { done.leave() }
            while running.load(ordering: .relaxed) {
                let rss = Bench.rssMiB(pid: pid)
                let mem = Bench.memAvailableMiB()
                seen.withLock {
                    $0.rssPeak = max($0.rssPeak, rss)
                    if mem >= 0 { $0.memMin = min($0.memMin, mem) }
                }
                usleep(20_000)
            }
        }
        Thread.detachNewThread { [self] in
            defer { done.leave() }
            let ping = RawCall.line(id: 1, method: "server.ping", params: "{}")
            var pinger: Connection? = first
            while running.load(ordering: .relaxed) {
                let t0 = nowNS()
                if pinger == nil { pinger = try? daemon.connect(readTimeout: 10) }
                let ok = pinger.map { (try? RawCall.run($0, ping)) != nil } ?? false
                let took = nowNS() - t0
                seen.withLock {
                    $0.pings.append(took)
                    if !ok { $0.failedPings += 1 }
                }
                if !ok { pinger = nil }
                let next = t0 + 10_000_000
                let now = nowNS()
                if now < next { usleep(UInt32((next - now) / 1000)) }
            }
        }
    }

    /// Stops both threads and returns what they saw.
    func stop() -> Seen {
        running.store(false, ordering: .relaxed)
        done.wait()
        return seen.withLock { $0 }
    }
}

/// The attacker: `python3 -c script SOCKET MODE ARGS...` run as `uid` under setpriv. It sets up
/// its attack, prints one JSON line (`line` says what it got), and holds everything until its
/// stdin closes.
final class AttackerProcess: @unchecked Sendable {
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private let errorPipe = Pipe()
    private let lock = NSLock()
    private var outText = ""
    private var errText = ""
    private let gotLine = DispatchSemaphore(value: 0)

    init(socket: String, uid: Int, arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        process.arguments =
            ["--reuid=\(uid)", "--regid=\(uid)", "--clear-groups", "/usr/bin/python3", "-c", Self.script, socket] + arguments
        process.environment = ["HOME": "/tmp", "PATH": "/usr/bin:/bin"]
        process.currentDirectoryURL = URL(fileURLWithPath: "/tmp")
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errorPipe
        try process.run()
        let out = output.fileHandleForReading
        Thread.detachNewThread { [self] in
            var signalled = false
            while true {
                let chunk = out.availableData
                lock.lock()
                outText += String(decoding: chunk, as: UTF8.self)
                let complete = outText.contains("\n")
                lock.unlock()
                if (complete || chunk.isEmpty) && !signalled {
                    signalled = true
                    gotLine.signal()
                }
                if chunk.isEmpty { return }
            }
        }
        let err = errorPipe.fileHandleForReading
        Thread.detachNewThread { [self] in
            while true {
                let chunk = err.availableData
                if chunk.isEmpty { return }
                lock.lock()
                errText += String(decoding: chunk, as: UTF8.self)
                lock.unlock()
            }
        }
    }

    /// The summary line, once the attack is set up (nil if it did not come within `timeout`).
    func summary(timeout: Double) -> JSON? {
        guard gotLine.wait(timeout: .now() + timeout) == .success else { return nil }
        lock.lock()
        let line = outText.split(separator: "\n").first.map(String.init) ?? ""
        lock.unlock()
        return try? JSONParser.parse(line)
    }

    func errors() -> String {
        lock.lock()
        defer { lock.unlock() }
        return errText
    }

    func rssMiB() -> Double { Bench.rssMiB(pid: process.processIdentifier) }

    /// Closes its stdin (it then closes everything it holds and exits); killed if it has not
    /// exited within `timeout`.
    func release(timeout: Double) {
        try? input.fileHandleForWriting.close()
        let deadline = nowNS() + UInt64(timeout * 1e9)
        while process.isRunning && nowNS() < deadline { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// The attacks. Every socket has a timeout and every error is counted per connection, never
    /// fatal; RLIMIT_NOFILE is raised to the hard limit for the thousands of sockets.
    static let script = #"""
        import json, re, resource, socket, sys, time
        from collections import Counter

        path, mode, args = sys.argv[1], sys.argv[2], [int(a) for a in sys.argv[3:]]
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (65536 if hard == resource.RLIM_INFINITY else hard, hard))
        except (ValueError, OSError):
            pass
        PING = b'{"jsonrpc":"2.0","id":1,"method":"server.ping"}\n'
        start = time.monotonic()

        def connect(timeout=5.0):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(timeout)
            try:
                s.connect(path)
            except OSError:
                s.close()
                raise
            return s

        def err(e):
            return 'error ' + (e.__class__.__name__ if not getattr(e, 'strerror', None) else e.strerror)

        def kind(line):
            """What one line from crmd was: ok (a result), CODE REASON (an error), METHOD REASON (a notice)."""
            if not line:
                return 'closed'
            try:
                r = json.loads(line)
            except ValueError:
                return 'unparsable'
            if not isinstance(r, dict):
                return 'batch'
            if 'result' in r:
                return 'ok'
            if 'error' in r:
                e = r['error']
                return '%s %s' % (e.get('code'), (e.get('data') or {}).get('reason', ''))
            return '%s %s' % (r.get('method'), (r.get('params') or {}).get('reason', ''))

        def first_line(s):
            buf = b''
            while b'\n' not in buf and len(buf) < 1 << 20:
                d = s.recv(65536)
                if not d:
                    break
                buf += d
            return buf.split(b'\n', 1)[0]

        def state(s):
            """A held socket: open (nothing from crmd), closed, or what crmd sent first."""
            t = s.gettimeout()
            s.settimeout(0)
            try:
                d = s.recv(65536, socket.MSG_PEEK)
            except BlockingIOError:
                return 'open'
            except OSError as e:
                return err(e)
            finally:
                s.settimeout(t)
            return kind(d.split(b'\n', 1)[0]) if d else 'closed'

        def tally(c):
            return ', '.join('%d %s' % (n, k) for k, n in c.most_common())

        held, out, c = [], {}, Counter()
        if mode == 'connections':
            # Open them all at once, a ping on each, then read each one's first line.
            n = args[0]
            socks = []
            for i in range(n):
                try:
                    s = connect()
                    socks.append(s)
                    s.sendall(PING)
                except OSError as e:
                    c['connect/send ' + err(e)] += 1
            for s in socks:
                try:
                    c[kind(first_line(s))] += 1
                except OSError as e:
                    c['read ' + err(e)] += 1
                held.append(s)
            out = {'got': dict(c), 'line': '%d connections asked: %s' % (n, tally(c))}
        elif mode == 'lines':
            # On each connection a line of `size` bytes without its newline, then hold.
            n, size = args
            prefix = b'{"jsonrpc":"2.0","id":1,"method":"server.ping","params":{"pad":"'
            chunk = prefix + b'x' * (size - len(prefix))
            for i in range(n):
                try:
                    s = connect(10.0)
                    held.append(s)
                    s.sendall(chunk)
                except OSError as e:
                    c['connect/send ' + err(e)] += 1
            time.sleep(0.5)
            c.update(state(s) for s in held)
            out = {'got': dict(c), 'line': '%d connections sent %d bytes without a newline: %s' % (n, size, tally(c))}
        elif mode == 'batches':
            # Batches of 100 client.list (limit 1000) sent over and over, for at least `least`
            # seconds and until connection 1 has a whole reply, at most `most`: even connections
            # never read, odd ones read 16 KiB each 50 ms, connection 1 reads all (to see what a
            # reply holds).
            n, least, most = args
            items = [{'jsonrpc': '2.0', 'id': i, 'method': 'client.list', 'params': {'limit': 1000}} for i in range(100)]
            line = (json.dumps(items, separators=(',', ':')) + '\n').encode()
            conns = []
            for i in range(n):
                try:
                    s = connect()
                    s.setblocking(False)
                    conns.append({'s': s, 'out': b'', 'i': i})
                except OSError as e:
                    c['connect ' + err(e)] += 1
            held = [x['s'] for x in conns]
            sent = received = replies = closed = 0
            first = b''
            t0 = time.monotonic()
            while True:
                now = time.monotonic() - t0
                if now >= most or (now >= least and b'\n' in first):
                    break
                for x in conns:
                    s = x['s']
                    if s is None:
                        continue
                    try:
                        if not x['out']:
                            x['out'] = line
                        k = s.send(x['out'])
                        x['out'] = x['out'][k:]
                        if not x['out']:
                            sent += 1
                    except BlockingIOError:
                        pass
                    except OSError:
                        x['s'] = None
                        closed += 1
                        continue
                    if x['i'] % 2 == 0:
                        continue
                    for _ in range(64 if x['i'] == 1 else 1):
                        try:
                            d = s.recv(1 << 20 if x['i'] == 1 else 16384)
                        except BlockingIOError:
                            break
                        except OSError:
                            d = b''
                        if not d:
                            x['s'] = None
                            closed += 1
                            break
                        received += len(d)
                        replies += d.count(b'\n')
                        if x['i'] == 1 and b'\n' not in first:
                            first += d
                time.sleep(0.05)
            reply = first.split(b'\n', 1)[0]
            ran = reply.count(b'"next_cursor"')
            refused = reply.count(b'"code":1007')
            kinds = ', '.join(sorted(set(k.decode() for k in re.findall(rb'"kind":"([a-z_]+)"}}', reply)))) or 'none'

            out = {
                'sent': sent, 'replies': replies, 'received': received, 'closed': closed,
                'line': '%d connections (%d never read) sent %d batch lines in %.0f s, read %d replies (%.0f MiB); '
                        'a reply: %d lists run, %d items 1007 (%s), %.1f MiB; %d connections closed by crmd'
                        % (len(conns), (len(conns) + 1) // 2, sent, time.monotonic() - t0, replies, received / 1048576.0,
                           ran, refused, kinds, len(reply) / 1048576.0, closed),
            }
        elif mode == 'subs':
            # `per` subscriptions to * on each connection, one line each, then never read.
            n, per = args
            req = b''.join(b'{"jsonrpc":"2.0","id":%d,"method":"subscribe","params":{"topics":["*"]}}\n' % k for k in range(per))
            for i in range(n):
                try:
                    s = connect(10.0)
                    held.append(s)
                    s.sendall(req)
                    buf = b''
                    while buf.count(b'\n') < per:
                        d = s.recv(65536)
                        if not d:
                            break
                        buf += d
                    c.update(kind(l) for l in buf.split(b'\n')[:per])
                except OSError as e:
                    c['connect/subscribe ' + err(e)] += 1
            out = {'got': dict(c), 'line': '%d connections × %d subscribe: %s' % (n, per, tally(c))}
        elif mode == 'slow':
            # One byte a second of a request that never ends, on each connection.
            n, seconds = args
            text = PING.rstrip(b'\n')
            for i in range(n):
                try:
                    held.append(connect())
                except OSError as e:
                    c['connect ' + err(e)] += 1
            alive = list(held)
            for k in range(seconds):
                tick = time.monotonic()
                for s in list(alive):
                    try:
                        s.send(text[k % len(text):k % len(text) + 1])
                    except OSError:
                        alive.remove(s)
                time.sleep(max(0, 1 - (time.monotonic() - tick)))
            c.update(state(s) for s in held)
            out = {'got': dict(c), 'line': '%d connections sent a byte a second for %d s; then: %s' % (n, seconds, tally(c))}
        out['seconds'] = round(time.monotonic() - start, 2)
        print(json.dumps(out), flush=True)
        sys.stdin.read()
        """#
}
