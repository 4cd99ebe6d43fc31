import CRMProtocol
import Foundation

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

    func rssMiB() -> Double { ProcStats.rssMiB(pid: process.processIdentifier) }

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
