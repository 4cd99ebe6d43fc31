#!/usr/bin/env python3
"""order_check.py: prove from an strace log that crmd acknowledges a write only after the
commit holding it is on disk.

    order_check.py TRACE [--expect RECORD.jsonl] [--max-show 10]
    order_check.py --selftest

TRACE comes from
    strace -f -tt -yy -x -s 65536 \
      -e trace=pwrite64,pwritev,write,writev,sendto,sendmsg,read,readv,recvfrom,recvmsg,fsync,fdatasync,sync_file_range \
      -o TRACE crmd ...
(scripts/order-check.sh runs exactly that). What the trace must show, for every write request
(a method that changes the database) answered with a `result`:

    r  the read (read/recvfrom/recvmsg on a UNIX-STREAM socket) that delivered the request's line
    f  the first WAL commit frame written after r: a 24-byte pwrite64 of a frame header on the
       `-wal` file whose bytes 4..7 (big-endian "database size in pages after the commit") are
       non-zero; in a non-commit frame they are zero (https://www.sqlite.org/fileformat2.html,
       "4.1 WAL File Format"). The WAL header itself is the 32-byte write at offset 0.
    s  an fsync/fdatasync of that same `-wal` file, from any thread (the checkpointer's own
       connection syncing the log also makes it durable), that started after f completed and
       completed before t
    t  the send of the reply line (sendto/write/writev/sendmsg on the same socket)

and r < f < s < t. The commit that holds the write cannot start before the request was read, so
the first commit frame after r is at or before the write's own commit; that commit frame must
be synced before the reply. (This is a necessary condition: it catches every commit that is
never synced before its reply, which is what a synchronous=NORMAL/OFF writer does, and every
reply sent before its commit.) A success reply to a write with no WAL commit frame completed
between r and t is reported as its own kind of violation (`no-commit`). Error replies need no
sync. A `request_id` retry of a write that already succeeded is answered from the stored
reply without a commit: it is recognised (same method and request_id) and counted as
`replayed`, not checked.

ORDER. The position of an event is its line number in the strace log, not its timestamp:
strace stops every traced thread at each syscall entry and exit and handles the stops one at a
time, so the log order is an order in which the calls really happened relative to each other:
a syscall printed on one line was entered and finished before the next printed line's syscall
was entered (had another thread's call been printed in between, strace would have split it into
`<unfinished ...>` / `<... resumed>`), and the thread behind a later entry line was still stopped
at that entry when the earlier line was printed. For a split call the start is the
`<unfinished ...>` line and the end the `<... resumed>` line. Which side counts:
  r  the END of the read: the bytes exist for crmd only once read returns (later = stricter:
     fewer commit frames qualify as "after r").
  f  the START of the frame-header pwrite must be after r (a write entered before crmd had the
     request cannot hold it); its END must be before the sync starts (a sync only covers data
     already written).
  s  the START must follow f's end, and the COMPLETION must precede t: a sync still running
     when the reply goes out has not made anything durable yet.
  t  the START of the send: the reply may reach the client as soon as the send is entered,
     even if the call is reported later (conservative: an overlapping sync does not count).
Timestamps (-tt, microseconds) are used only to report gaps in milliseconds.
"""

import argparse
import bisect
import collections
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

STRACE_SYSCALLS = ("pwrite64,pwritev,write,writev,sendto,sendmsg,read,readv,recvfrom,recvmsg,"
                   "fsync,fdatasync,sync_file_range")
STRACE_ARGS = ["-f", "-tt", "-yy", "-x", "-s", "65536", "-e", "trace=" + STRACE_SYSCALLS]

# Methods that change the database (Method.isWrite in Sources/CRMProtocol/Method.swift, see
# docs/protocol.md "Safe retries"). clock.advance/clock.set are not `isWrite` (no request_id)
# but apply the scheduler's pass before replying; they are checked when they report events.
WRITE_METHODS = {
    "session.act_as", "user.add", "user.update", "user.deactivate",
    "client.create", "client.update", "client.assign", "client.import", "client.release",
    "interaction.log", "contact.create", "contact.update", "contact.move",
    "exchange.claim", "exchange.request", "alert.ack",
}
CLOCK_METHODS = {"clock.advance", "clock.set"}

IN_CALLS = {"read", "readv", "recvfrom", "recvmsg"}
OUT_CALLS = {"write", "writev", "send", "sendto", "sendmsg"}
WAL_WRITE_CALLS = {"pwrite64", "pwrite", "pwritev", "pwritev2", "write"}
SYNC_CALLS = {"fsync", "fdatasync"}

LINE_RE = re.compile(r"^(?:(\d+)\s+)?(\d\d):(\d\d):(\d\d)\.(\d+) (.*)$")
RESUMED_RE = re.compile(r"^<\.\.\. (\w+) resumed>(.*)$")
CALL_RE = re.compile(r"^(\w+)\((.*)$", re.S)
FD_RE = re.compile(r"^(-?\d+)<")
SOCK_RE = re.compile(r"[A-Z][A-Z0-9-]*:\[")

_ESC = {"n": 10, "t": 9, "r": 13, "v": 11, "f": 12, "a": 7, "b": 8, "\\": 92, '"': 34, "'": 39, "?": 63}


def parse_cstr(s, i, limit=None):
    """Parses the strace string literal starting at s[i] == '"'. Returns (bytes, index after
    the literal and any `...` truncation mark, truncated?). With `limit`, stops after that many
    bytes (the index is then meaningless)."""
    assert s[i] == '"'
    out = bytearray()
    i += 1
    n = len(s)
    while i < n:
        if limit is not None and len(out) >= limit:
            return bytes(out), i, False
        c = s[i]
        if c == '"':
            i += 1
            trunc = s.startswith("...", i)
            if trunc:
                i += 3
            return bytes(out), i, trunc
        if c == "\\":
            d = s[i + 1]
            if d == "x":
                out.append(int(s[i + 2:i + 4], 16))
                i += 4
            elif d in "01234567":
                j = i + 1
                while j < n and j < i + 4 and s[j] in "01234567":
                    j += 1
                out.append(int(s[i + 1:j], 8) & 0xFF)
                i = j
            else:
                out.append(_ESC.get(d, ord(d)))
                i += 2
        else:
            # strace prints printable ASCII as is; anything else is escaped (-x).
            out += c.encode("utf-8", "surrogateescape")
            i += 1
    raise ValueError("unterminated string")


def strings_in(s, start=0):
    """Every string literal in s (for iovecs: iov_base="..."), in order."""
    res = []
    i = s.find('"', start)
    while i != -1:
        b, j, tr = parse_cstr(s, i)
        res.append((b, tr))
        i = s.find('"', j)
    return res


class Ev:
    """One syscall: positions (log line numbers) and times of its start and end."""
    __slots__ = ("tid", "name", "fdkind", "path", "sock", "start", "end", "ts", "te", "ret",
                 "data", "trunc", "count", "offset", "text")

    def __init__(self):
        self.data = None
        self.trunc = False
        self.count = None
        self.offset = None
        self.sock = None
        self.path = None


def parse_fd(args):
    """args starts after 'name('. Returns (fd, descriptor text, rest after '>, ' or '>)')."""
    m = FD_RE.match(args)
    if not m:
        return None, None, args
    i = m.end()
    if SOCK_RE.match(args, i):
        j = args.find("]>", i)
        if j == -1:
            return int(m.group(1)), None, args
        return int(m.group(1)), args[i:j + 1], args[j + 2:]
    # A path: up to the '>' that closes it (followed by ',' or ')' or ' ').
    j = i
    while True:
        j = args.find(">", j)
        if j == -1:
            return int(m.group(1)), None, args
        if j + 1 >= len(args) or args[j + 1] in ",) ":
            return int(m.group(1)), args[i:j], args[j + 1:]
        j += 1


def split_ret(text):
    """'... ) = 13' -> (args part, 13). Non-numeric results ('?') give None."""
    k = text.rfind(") = ")
    if k == -1:
        return text, None
    r = text[k + 4:].split(" ", 1)[0]
    try:
        return text[:k], int(r)
    except ValueError:
        return text[:k], None


class Trace:
    def __init__(self, path, wal_filter=None):
        self.path = path
        self.wal_filter = wal_filter
        self.socket_in = []      # Ev with data, reads from UNIX sockets
        self.socket_out = []     # Ev with data, writes to UNIX sockets
        self.wal_headers = []    # 32-byte WAL header writes (log start/restart)
        self.frames = collections.defaultdict(list)   # wal path -> [Ev] (frame headers)
        self.syncs = collections.defaultdict(list)    # wal path -> [Ev]
        self.other_syncs = collections.Counter()      # path -> count (db file, folders...)
        self.sfr = 0                                  # sync_file_range calls
        self.wal_sizes = collections.Counter()        # size of every WAL write
        self.wal_calls = collections.Counter()        # syscall used for WAL writes
        self.sock_calls = collections.Counter()       # (direction, syscall) on UNIX sockets
        self.problems = []
        self.lines = 0
        self.page_size = None
        self._parse()

    def _parse(self):
        pending = {}   # tid -> (name, text, lineno, ts)
        day = 0.0
        last_t = None
        with open(self.path, "r", encoding="latin-1", newline="\n") as f:
            for lineno, raw in enumerate(f, 1):
                self.lines = lineno
                line = raw.rstrip("\n")
                m = LINE_RE.match(line)
                if not m:
                    continue
                tid = int(m.group(1) or 0)
                t = int(m.group(2)) * 3600 + int(m.group(3)) * 60 + int(m.group(4)) + float("0." + m.group(5))
                if last_t is not None and t + day < last_t - 43200:
                    day += 86400.0
                t += day
                last_t = t
                rest = m.group(6)
                if rest.startswith(("+++", "---")):
                    continue
                rm = RESUMED_RE.match(rest)
                if rm:
                    p = pending.pop(tid, None)
                    if p is None or p[0] != rm.group(1):
                        continue
                    name, text, start, ts = p
                    text = text + rm.group(2)
                    end, te = lineno, t
                elif rest.endswith("<unfinished ...>"):
                    cm = CALL_RE.match(rest)
                    if cm:
                        body = rest[:-len("<unfinished ...>")].rstrip(" ")
                        # Keep "name(args, " so the resumed part appends cleanly.
                        if body.endswith(","):
                            body += " "
                        pending[tid] = (cm.group(1), body, lineno, t)
                    continue
                else:
                    cm = CALL_RE.match(rest)
                    if not cm:
                        continue
                    name, text, start, ts, end, te = cm.group(1), rest, lineno, t, lineno, t
                self._event(tid, name, text, start, ts, end, te)

    def _event(self, tid, name, text, start, ts, end, te):
        if name not in IN_CALLS and name not in OUT_CALLS and name not in WAL_WRITE_CALLS \
                and name not in SYNC_CALLS and name != "sync_file_range":
            return
        args = text[len(name) + 1:]
        fd, desc, rest = parse_fd(args)
        if desc is None:
            return
        ev = Ev()
        ev.tid, ev.name, ev.start, ev.ts, ev.end, ev.te = tid, name, start, ts, end, te
        if desc.startswith("UNIX"):
            if name not in IN_CALLS and name not in OUT_CALLS:
                return
            # UNIX-STREAM:[local inode->peer inode,path] : the local inode names the connection.
            mm = re.match(r"UNIX(?:-STREAM)?:\[(\d+)", desc)
            ev.sock = mm.group(1) if mm else desc
            ev.fdkind = "unix"
            body, ret = split_ret(rest)
            ev.ret = ret
            if ret is None or ret <= 0:
                if name in IN_CALLS and ret == 0:
                    ev.data = b""       # end of file: flush a last line without '\n'
                    ev.text = "%s(<%s>, \"\") = 0 (end of file)" % (name, re.sub(r',".*"\]$', "]", desc))
                    self.socket_in.append(ev)
                return
            if name in ("sendmsg", "recvmsg", "writev", "readv"):
                # The data is the iovecs' iov_base strings, in order (not msg_name or cmsgs).
                parts = [parse_cstr(body, k.end() - 1)[::2] for k in re.finditer(r'iov_base="', body)]
            else:
                # read/write/sendto/recvfrom: the data is the first string (not sendto's address).
                q = body.find('"')
                parts = [parse_cstr(body, q)[::2]] if q != -1 else []
            data = b"".join(p[0] for p in parts)
            ev.trunc = any(p[1] for p in parts) and len(data) < ret
            ev.data = data[:ret]
            ev.text = self._snip(name, desc, ev)
            self.sock_calls[("in" if name in IN_CALLS else "out", name)] += 1
            (self.socket_in if name in IN_CALLS else self.socket_out).append(ev)
            return
        path = desc[:-len(" (deleted)")] if desc.endswith(" (deleted)") else desc
        ev.path = path
        is_wal = path.endswith("-wal") and (self.wal_filter is None or path == self.wal_filter)
        if name in SYNC_CALLS:
            body, ret = split_ret(rest)
            if ret != 0:
                return
            ev.text = "%s(%d<%s>) = 0" % (name, fd, path)
            if is_wal:
                self.syncs[path].append(ev)
            else:
                self.other_syncs[path] += 1
            return
        if name == "sync_file_range":
            self.sfr += 1
            return
        if not is_wal or name not in WAL_WRITE_CALLS:
            return
        body, ret = split_ret(rest)
        if ret is None or ret < 0:
            return
        # ', COUNT, OFFSET' after the data (pwrite64); pwritev: iovecs then ', IOVCNT, OFFSET'.
        try:
            head, cnt, off = body.rsplit(", ", 2)
            cnt, off = int(cnt), int(off)
        except ValueError:
            self.problems.append("line %d: cannot read a WAL write: %s" % (start, text[:200]))
            return
        self.wal_calls[name] += 1
        q = head.find('"')
        if q == -1:
            return
        if name == "pwritev":
            # The bytes are the concatenated iovecs; sizes from their iov_len.
            parts = strings_in(head, q)
            data = b"".join(p[0] for p in parts)
            cnt = ret
        else:
            data, _, _ = parse_cstr(head, q, limit=56)   # a WAL header and a frame header at most
        self.wal_sizes[cnt] += 1
        ev.count, ev.offset = cnt, off
        if off == 0 and cnt >= 32 and data[:4] in (b"\x37\x7f\x06\x82", b"\x37\x7f\x06\x83"):
            self.page_size = int.from_bytes(data[8:12], "big")
            ev.text = "%s(%d<%s>, WAL header, %d, 0)" % (name, fd, path, cnt)
            self.wal_headers.append(ev)
            data, off, cnt = data[32:], 32, cnt - 32
            if cnt < 24:
                return
        if cnt == 24 or (self.page_size and cnt == 24 + self.page_size):
            # A frame header (alone, or followed by its page in one write).
            hdr = data[:24]
            if len(hdr) < 24:
                return
            pgno = int.from_bytes(hdr[0:4], "big")
            commit = int.from_bytes(hdr[4:8], "big")
            if commit:
                ev.data = hdr
                ev.text = "%s(%d<%s>, frame header page %d commit size %d pages, %d, %d) = %d" % (
                    name, fd, path, pgno, commit, cnt, off, ret)
                self.frames[path].append(ev)

    @staticmethod
    def _snip(name, desc, ev):
        desc = re.sub(r',".*"\]$', "]", desc)   # the socket's path adds nothing
        d = ev.data
        s = d[:150].decode("utf-8", "replace").replace("\n", "\\n")
        more = "...(+%d bytes)" % (len(d) - 150) if len(d) > 150 else ""
        return '%s(<%s>, "%s"%s) = %s' % (name, desc, s, more, ev.ret)


class Req:
    __slots__ = ("sock", "id", "method", "params", "read", "reply_ev", "outcome", "result")

    def __init__(self, sock, rid, method, params, read):
        self.sock, self.id, self.method, self.params, self.read = sock, rid, method, params, read
        self.reply_ev = None
        self.outcome = None
        self.result = None


def lines_of(buf):
    """Splits complete lines off a bytearray; returns the list, leaves the rest in buf."""
    out = []
    while True:
        k = buf.find(b"\n")
        if k == -1:
            return out
        out.append(bytes(buf[:k]).rstrip(b"\r"))
        del buf[:k + 1]


def match_requests(tr):
    """Rebuilds every request and reply from the socket streams, in log order."""
    events = [("in", e) for e in tr.socket_in] + [("out", e) for e in tr.socket_out]
    # Order by the position that matters for the content: reads deliver at their end, sends
    # take their bytes at their start.
    events.sort(key=lambda x: x[1].end if x[0] == "in" else x[1].start)
    inbuf = collections.defaultdict(bytearray)
    outbuf = collections.defaultdict(bytearray)
    waiting = collections.defaultdict(collections.deque)   # (sock, id key) -> [Req]
    reqs, orphans, bad_lines = [], 0, 0
    truncated = []

    def take_request(sock, obj, ev):
        nonlocal bad_lines
        if not isinstance(obj, dict) or not isinstance(obj.get("method"), str):
            bad_lines += 1
            return
        if "id" not in obj:
            return   # a notification: applied, never answered
        params = obj.get("params") if isinstance(obj.get("params"), dict) else {}
        r = Req(sock, obj["id"], obj["method"], params, ev)
        reqs.append(r)
        waiting[(sock, json.dumps(obj["id"]))].append(r)

    def take_reply(sock, obj, ev):
        nonlocal orphans
        if not isinstance(obj, dict) or "id" not in obj:
            return   # event / subscription.closed / server.closing notifications
        q = waiting.get((sock, json.dumps(obj["id"])))
        if not q:
            orphans += 1
            return
        r = q.popleft()
        r.reply_ev = ev
        r.outcome = "result" if "result" in obj else "error"
        r.result = obj.get("result")

    for kind, ev in events:
        if ev.trunc:
            truncated.append(ev)
        buf = (inbuf if kind == "in" else outbuf)[ev.sock]
        if kind == "in" and ev.data == b"":
            if buf.strip():
                buf += b"\n"
            else:
                continue
        else:
            buf += ev.data
        for line in lines_of(buf):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                if kind == "in":
                    bad_lines += 1
                continue
            items = obj if isinstance(obj, list) else [obj]
            for it in items:
                (take_request if kind == "in" else take_reply)(ev.sock, it, ev)
    return reqs, orphans, bad_lines, truncated


def check(trace_path, expect=None, max_show=10, wal=None, out=sys.stdout):
    t0 = time.time()
    tr = Trace(trace_path, wal)
    reqs, orphans, bad_lines, truncated = match_requests(tr)
    p = lambda *a: print(*a, file=out)

    frames_by_path = {k: sorted(v, key=lambda e: e.start) for k, v in tr.frames.items()}
    all_frames = sorted((e for v in tr.frames.values() for e in v), key=lambda e: e.start)
    frame_starts = [e.start for e in all_frames]
    syncs_by_path = {k: sorted(v, key=lambda e: e.start) for k, v in tr.syncs.items()}
    sync_starts = {k: [e.start for e in v] for k, v in syncs_by_path.items()}

    def covering_sync(f, before=None):
        """The sync of f's WAL that started after f was written and finished first (finished
        before `before` if given)."""
        ss = syncs_by_path.get(f.path, [])
        i = bisect.bisect_right(sync_starts.get(f.path, []), f.end)
        best = None
        while i < len(ss):
            s = ss[i]
            if before is not None and s.start >= before:
                break
            if best is None or s.end < best.end:
                best = s
            if before is None and best is not None and s.start > best.end:
                break
            i += 1
        if best is not None and before is not None and best.end >= before:
            return None
        return best

    def nearest_syncs(f, t):
        """For the printout: the last WAL sync that finished before f, the first that started
        after f (if any), and the last that finished before t."""
        ss = syncs_by_path.get(f.path if f else None, []) if f else \
            [s for v in syncs_by_path.values() for s in v]
        before = [s for s in ss if s.end < (f.start if f else t)]
        after = [s for s in ss if f and s.start > f.end]
        res = []
        if before:
            res.append(("last sync before the commit frame" if f else "last sync before the reply", before[-1]))
        if after:
            res.append(("first sync after the commit frame", after[0]))
        return res

    stats = collections.defaultdict(collections.Counter)
    violations = []
    passed = 0
    reply_gaps = []
    replayed = 0
    unanswered = []
    ambiguous = 0
    seen_request_ids = {}
    verified_ids = set()
    for r in reqs:
        is_write = r.method in WRITE_METHODS
        if r.method in CLOCK_METHODS:
            is_write = r.outcome == "result" and isinstance(r.result, dict) and (r.result.get("events") or 0) > 0
        if not is_write:
            continue
        if r.reply_ev is None:
            unanswered.append(r)
            continue
        if r.outcome != "result":
            stats[r.method]["error (no sync needed)"] += 1
            continue
        if r.method == "alert.ack" and isinstance(r.result, dict) and r.result.get("acked") == 0:
            stats[r.method]["no-op (acked 0), not checked"] += 1
            continue
        rid = r.params.get("request_id") if isinstance(r.params, dict) else None
        if isinstance(rid, str):
            key = (r.method, rid)
            if key in seen_request_ids and seen_request_ids[key] < r.read.end:
                replayed += 1
                stats[r.method]["replayed (stored reply, not checked)"] += 1
                continue
            seen_request_ids.setdefault(key, r.reply_ev.start)
        t = r.reply_ev.start
        i = bisect.bisect_right(frame_starts, r.read.end)
        f = all_frames[i] if i < len(all_frames) else None
        if f is None or f.end >= t:
            violations.append(("no-commit", r, f, None))
            stats[r.method]["violation"] += 1
            continue
        s = covering_sync(f, before=t)
        if s is None:
            violations.append(("unsynced", r, f, None))
            stats[r.method]["violation"] += 1
            continue
        passed += 1
        reply_gaps.append(((s.te - f.te) * 1000.0, f, s))
        verified_ids.add(json.dumps(r.id))
        stats[r.method]["verified"] += 1
        # Information only: the latest commit frame completed before t might be the write's own
        # commit (group commit writes the next batch while this one's replies go out), so a
        # later frame not yet synced at t is not proof of anything.
        j = bisect.bisect_left(frame_starts, t) - 1
        if j >= i and all_frames[j].end < t and covering_sync(all_frames[j], before=t) is None:
            ambiguous += 1

    gaps = []
    unsynced_frames = 0
    for f in all_frames:
        s = covering_sync(f)
        if s is None:
            unsynced_frames += 1
        else:
            gaps.append(((s.te - f.te) * 1000.0, f, s))
    # With synchronous=FULL SQLite syncs the log inside COMMIT, before the next transaction
    # writes a frame. A commit frame with no sync of its log before the next commit frame was
    # committed without a sync (information: it matters here only when a reply depends on it).
    lazy = []
    for path, fl in frames_by_path.items():
        for a, b in zip(fl, fl[1:] + [None]):
            s = covering_sync(a, before=b.start if b else None)
            if s is None:
                lazy.append(a)
    lazy.sort(key=lambda e: e.start)
    first_read = min((r.read.end for r in reqs), default=None)

    # ---- report ------------------------------------------------------------------------
    p("order-check: trace %s: %d lines, %d socket reads, %d socket writes" % (
        trace_path, tr.lines, len(tr.socket_in), len(tr.socket_out)))
    p("  socket syscalls: %s" % ", ".join("%s %s x%d" % (d, n, c) for (d, n), c in sorted(tr.sock_calls.items())))
    p("  WAL writes: %s; sizes %s; page size %s; WAL headers written %d" % (
        ", ".join("%s x%d" % kv for kv in sorted(tr.wal_calls.items())) or "none",
        ", ".join("%d B x%d" % kv for kv in sorted(tr.wal_sizes.items())[:6]) or "none",
        tr.page_size, len(tr.wal_headers)))
    p("  WAL commit frames: %d; WAL syncs: %d (%s); other syncs: %s; sync_file_range: %d" % (
        len(all_frames), sum(len(v) for v in tr.syncs.values()),
        ", ".join("%s %s" % (os.path.basename(k), collections.Counter(e.name for e in v).most_common())
                  for k, v in tr.syncs.items()) or "-",
        ", ".join("%s x%d" % (os.path.basename(k) or k, v) for k, v in sorted(tr.other_syncs.items())) or "-",
        tr.sfr))
    if reply_gaps:
        g = max(reply_gaps, key=lambda x: x[0])
        p("  largest gap from a checked reply's commit frame to its covering sync: %.3f ms (frame L%d, sync L%d, "
          "thread %d -> %d); median %.3f ms" % (g[0], g[1].start, g[2].end, g[1].tid, g[2].tid,
                                               sorted(x[0] for x in reply_gaps)[len(reply_gaps) // 2]))
    if gaps:
        g = max(gaps, key=lambda x: x[0])
        p("  largest gap from any commit frame to its covering sync: %.3f ms (frame L%d, sync L%d, thread %d -> %d)" % (
            g[0], g[1].start, g[2].end, g[1].tid, g[2].tid))
    p("  commit frames never followed by a WAL sync: %d" % unsynced_frames)
    if lazy:
        before = sum(1 for f in lazy if first_read is not None and f.start < first_read)
        p("  commit frames not synced before the next commit (committed without a sync): %d, %d of them before the "
          "first request was read (first at L%d, thread %d)" % (len(lazy), before, lazy[0].start, lazy[0].tid))
    p("  write replies by method:")
    for m in sorted(stats):
        p("    %-16s %s" % (m, ", ".join("%s %d" % kv for kv in sorted(stats[m].items()))))
    other_thread = sum(1 for _, f, s in reply_gaps if s.tid != f.tid)
    if reply_gaps:
        p("  checked replies whose covering sync came from another thread than the commit frame (e.g. the "
          "checkpointer): %d of %d" % (other_thread, len(reply_gaps)))
    if replayed:
        p("  replayed stored replies (request_id retries), not checked: %d" % replayed)
    if ambiguous:
        p("  note: %d verified replies had a later commit frame, also before the reply, not yet synced "
          "(normal with group commit when the next batch is being written; not counted)" % ambiguous)
    failures = []
    if unanswered:
        p("  write requests with no reply in the trace: %d (e.g. %s)" % (
            len(unanswered), ", ".join("%s %s" % (r.id, r.method) for r in unanswered[:5])))
    if orphans:
        p("  replies matching no request: %d" % orphans)
    if bad_lines:
        p("  request lines that are not JSON-RPC requests: %d" % bad_lines)
    if truncated:
        failures.append("%d socket reads/writes were truncated by strace (-s too small); e.g. line %d" % (
            len(truncated), truncated[0].start))
    for pr in tr.problems[:5]:
        failures.append(pr)
    if expect:
        want = []
        with open(expect) as fh:
            for ln in fh:
                if ln.strip():
                    want.append(json.loads(ln))
        by_id = {json.dumps(r.id): r for r in reqs}
        missing = [w for w in want if w.get("write") and json.dumps(w["id"]) not in by_id]
        differ = [w for w in want if json.dumps(w["id"]) in by_id and by_id[json.dumps(w["id"])].outcome
                  and by_id[json.dumps(w["id"])].outcome != w.get("outcome")]
        n_ok = sum(1 for w in want if w.get("write") and w.get("outcome") == "result")
        p("  workload record: %d requests, %d writes (%d answered with a result); found in trace: %d" % (
            len(want), sum(1 for w in want if w.get("write")), n_ok,
            sum(1 for w in want if json.dumps(w["id"]) in by_id)))
        if missing:
            failures.append("%d write requests of the workload are not in the trace (e.g. %s)" % (
                len(missing), missing[0]["id"]))
        if differ:
            failures.append("%d replies differ between the workload and the trace (e.g. %s)" % (
                len(differ), differ[0]["id"]))
    if passed == 0 and not violations:
        failures.append("no write reply could be checked: the trace shows no write requests")

    for k, (kind, r, f, _) in enumerate(violations[:max_show]):
        t = r.reply_ev
        p("")
        p("VIOLATION %d/%d [%s] id=%s method=%s: %s" % (
            k + 1, len(violations), kind, json.dumps(r.id), r.method,
            "reply sent before any WAL commit frame after the request" if kind == "no-commit"
            else "reply sent while its commit (or an earlier one after the request) was not synced"))
        p("  request read  L%-8d %s tid %d  %s" % (r.read.end, fmt_ts(r.read.te), r.read.tid, r.read.text[:220]))
        if f is not None:
            p("  commit frame  L%-8d %s tid %d  %s" % (f.start, fmt_ts(f.ts), f.tid, f.text))
        else:
            p("  commit frame  none after the request")
        p("  reply write   L%-8d %s tid %d  %s" % (t.start, fmt_ts(t.ts), t.tid, t.text[:220]))
        for label, s in nearest_syncs(f, t.start):
            p("  %-13s L%-8d %s tid %d  %s  (%s)" % ("sync", s.end, fmt_ts(s.te), s.tid, s.text, label))
        if f is not None and not [s for s in syncs_by_path.get(f.path, []) if s.start > f.end]:
            p("  (no fsync/fdatasync of %s after this commit frame anywhere in the trace)" % f.path)
    if len(violations) > max_show:
        p("")
        p("... %d more violations not shown" % (len(violations) - max_show))
    kinds = collections.Counter(v[0] for v in violations)
    if kinds:
        p("violations by kind: %s" % ", ".join("%s %d" % kv for kv in sorted(kinds.items())))
    for fl in failures:
        p("CHECK ERROR: %s" % fl)
    p("(parsed in %.1f s)" % (time.time() - t0))
    p("order-check: %d passed, %d failed" % (passed, len(violations)))
    ok = not violations and not failures and passed > 0
    return ok, passed, len(violations), failures


def fmt_ts(t):
    t = t % 86400
    return "%02d:%02d:%09.6f" % (t // 3600, (t % 3600) // 60, t % 60)


# ---- self-test: a tiny server over sqlite3 that replies after each commit --------------------

def selftest_server(sock_path, db_path, mode):
    """MODE FULL: synchronous=FULL, reply after COMMIT (must pass). NORMAL: synchronous=NORMAL,
    reply after COMMIT (must fail: nothing syncs the WAL before the reply). EARLY:
    synchronous=FULL but the reply goes out before COMMIT (must fail with no-commit)."""
    import sqlite3
    db = sqlite3.connect(db_path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=%s" % ("NORMAL" if mode == "NORMAL" else "FULL"))
    db.execute("CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, v TEXT)")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(sock_path)
    srv.listen(4)
    print("listening", flush=True)
    conn, _ = srv.accept()
    buf = b""
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            break
        buf += chunk
        *lines, buf = buf.split(b"\n")
        replies, writes = [], []
        for ln in lines:
            if not ln.strip():
                continue
            try:
                req = json.loads(ln)
            except ValueError:
                replies.append({"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "parse"}})
                continue
            if req.get("method") == "client.create" and req.get("params", {}).get("name"):
                writes.append(req)
            elif req.get("method") == "client.create":
                replies.append({"jsonrpc": "2.0", "id": req["id"], "error": {"code": -32602, "message": "name"}})
            else:
                replies.append({"jsonrpc": "2.0", "id": req["id"], "result": {"pong": True}})
        # A small group commit: every write of this read in one transaction, one reply send.
        if writes:
            wr = [{"jsonrpc": "2.0", "id": w["id"], "result": {"ok": True}} for w in writes]
            if mode == "EARLY":
                conn.sendall(b"".join(json.dumps(x).encode() + b"\n" for x in wr))
            db.execute("BEGIN IMMEDIATE")
            for w in writes:
                db.execute("INSERT INTO t(v) VALUES (?)", (w["params"]["name"] * 20,))
            db.execute("COMMIT")
            if mode != "EARLY":
                replies = wr + replies
        if replies:
            conn.sendall(b"".join(json.dumps(x).encode() + b"\n" for x in replies))
    conn.close()
    db.close()


def selftest_case(mode, workdir, strace):
    d = os.path.join(workdir, mode.lower())
    os.makedirs(d)
    sock, db, trace = os.path.join(d, "s.sock"), os.path.join(d, "t.sqlite"), os.path.join(d, "trace")
    proc = subprocess.Popen([strace] + STRACE_ARGS + ["-o", trace, sys.executable, os.path.abspath(__file__),
                             "--selftest-server", sock, db, mode], stdout=subprocess.PIPE)
    deadline = time.time() + 20
    while not os.path.exists(sock):
        if time.time() > deadline or proc.poll() is not None:
            raise SystemExit("selftest: the server did not start (%s)" % mode)
        time.sleep(0.05)
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.connect(sock)
    c.settimeout(20)
    record = []
    n = 0
    rd = c.makefile("rb")
    for burst in range(40):
        lines = []
        for k in range(1 + burst % 4):       # 1..4 pipelined writes per burst
            n += 1
            lines.append({"id": "w-%d" % n, "jsonrpc": "2.0", "method": "client.create", "params": {"name": "c%d" % n}})
        if burst % 5 == 0:
            n += 1
            lines.append({"id": "r-%d" % n, "jsonrpc": "2.0", "method": "client.get", "params": {"id": 1}})
        if burst % 7 == 0:
            n += 1
            lines.append({"id": "w-%d" % n, "jsonrpc": "2.0", "method": "client.create", "params": {}})
        c.sendall(b"".join(json.dumps(x).encode() + b"\n" for x in lines))
        for x in lines:
            rep = json.loads(rd.readline())
            record.append({"id": rep["id"], "method": x["method"], "write": x["method"] == "client.create",
                           "outcome": "result" if "result" in rep else "error"})
    rd.close()
    c.close()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise SystemExit("selftest: the traced server did not exit (%s)" % mode)
    with open(os.path.join(d, "record.jsonl"), "w") as fh:
        for x in record:
            fh.write(json.dumps(x) + "\n")
    writes_ok = sum(1 for x in record if x["write"] and x["outcome"] == "result")
    import io
    buf = io.StringIO()
    ok, passed, failed, failures = check(trace, os.path.join(d, "record.jsonl"), max_show=2, out=buf)
    return ok, passed, failed, failures, writes_ok, buf.getvalue()


def wal_counts(text):
    m = re.search(r"WAL commit frames: (\d+); WAL syncs: (\d+)", text)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def selftest():
    strace = shutil.which("strace")
    if not strace:
        raise SystemExit("selftest: strace is not installed")
    work = tempfile.mkdtemp(prefix="order-check-selftest.")
    bad = []
    try:
        for mode, want_ok in (("FULL", True), ("NORMAL", False), ("EARLY", False)):
            ok, passed, failed, failures, writes_ok, text = selftest_case(mode, work, strace)
            last = text.strip().splitlines()[-1]
            kinds = [l for l in text.splitlines() if l.startswith("violations by kind")]
            print("selftest %-6s (synchronous=%s%s): %s; %d WAL commit frames, %d WAL syncs%s" % (
                mode, "NORMAL" if mode == "NORMAL" else "FULL",
                ", reply sent before COMMIT" if mode == "EARLY" else "", last, *wal_counts(text),
                "; " + kinds[0] if kinds else ""))
            good = (ok == want_ok and (passed == writes_ok if want_ok else failed == writes_ok and passed == 0)
                    and not failures)
            if not good:
                bad.append(mode)
                print(text)
            elif mode == "NORMAL":
                # Show what a violation looks like.
                vl = text.splitlines()
                k = next(i for i, l in enumerate(vl) if l.startswith("VIOLATION"))
                print("\n".join("    " + l for l in vl[k:k + 6]))
        if bad:
            print("order-check selftest: FAILED (%s)" % ", ".join(bad))
            return 1
        print("order-check selftest: ok (FULL passes, NORMAL and reply-before-commit fail)")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("trace", nargs="?")
    ap.add_argument("--expect", help="the workload's record (JSON lines: id, method, write, outcome)")
    ap.add_argument("--max-show", type=int, default=10)
    ap.add_argument("--wal", help="only this -wal file (default: every *-wal file in the trace)")
    ap.add_argument("--selftest", action="store_true")
    ap.add_argument("--selftest-server", nargs=3, metavar=("SOCK", "DB", "MODE"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.selftest_server:
        selftest_server(*a.selftest_server)
        return 0
    if a.selftest:
        return selftest()
    if not a.trace:
        ap.error("TRACE is required")
    ok, _, _, _ = check(a.trace, a.expect, a.max_show, a.wal)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
