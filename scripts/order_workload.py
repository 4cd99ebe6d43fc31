#!/usr/bin/env python3
"""order_workload.py: a mixed workload for scripts/order-check.sh, against a crmd started with
`--clock manual --clock-start 2026-01-12T09:00:00Z`, as an admin (the uid crmd runs as).

    order_workload.py --socket SOCK --record RECORD.jsonl [--threads 8] [--rounds 25]

Every request line starts with its id: writes are "w-N", reads "r-N" (the clock methods are
"c-N"; they write when they report events). RECORD gets one JSON line per request: id, method,
write (does it change the database), outcome (result or error). Covered:
  - group commit: THREADS connections, each acting as its own manager (user.add +
    session.act_as), pipelining client.create, interaction.log and client.update (plus a few
    reads) in bursts, so batches form; one batch line (a JSON array) and one request_id retry;
  - client.import of IMPORT rows, concurrently with the above, and server.backup +
    server.backup_read (of the copy's last bytes, so the reply stays small);
  - the scheduler on the manual clock: clock.advance P1M (yellow, reminders), alert.list and
    alert.ack, calls that reset some clients, P4M (red), P1M (releases), clock.set to Monday
    09:00 Moscow time (alerts held for working hours);
  - claim races: all managers exchange.claim the same released client at once (one wins).
"""

import argparse
import itertools
import json
import socket
import sys
import threading
import time

# The checker's own lists of what writes (one place: scripts/order_check.py, beside this file).
from order_check import CLOCK_METHODS as CLOCK, WRITE_METHODS

_ids = itertools.count(1)
_lock = threading.Lock()
RECORD = []


def new_id(method):
    n = next(_ids)
    if method in CLOCK:
        return "c-%d" % n
    return ("w-%d" if method in WRITE_METHODS else "r-%d") % n


def line(rid, method, params=None):
    # The id goes first, so a person reading the trace sees it at once.
    req = {"id": rid, "jsonrpc": "2.0", "method": method}
    if params is not None:
        req["params"] = params
    return req


class Conn:
    def __init__(self, path, name):
        self.name = name
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(30)
        self.s.connect(path)
        self.buf = b""

    def _readline(self):
        while b"\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise ConnectionError("%s: crmd closed the connection" % self.name)
            self.buf += chunk
        ln, self.buf = self.buf.split(b"\n", 1)
        return json.loads(ln)

    def _reply(self):
        while True:
            obj = self._readline()
            if isinstance(obj, list) or "id" in obj:
                return obj

    def pipeline(self, calls):
        """Sends every (method, params) at once, then reads the replies in order."""
        reqs = [line(new_id(m), m, p) for m, p in calls]
        self.s.sendall(b"".join(json.dumps(r, ensure_ascii=False).encode() + b"\n" for r in reqs))
        out = []
        for r in reqs:
            rep = self._reply()
            if rep.get("id") != r["id"]:
                raise RuntimeError("%s: reply %r for request %r" % (self.name, rep.get("id"), r["id"]))
            note(r, rep)
            out.append(rep)
        return out

    def call(self, method, params=None):
        return self.pipeline([(method, params)])[0]

    def batch(self, calls):
        """One line holding a JSON array of requests; one reply line with an array."""
        reqs = [line(new_id(m), m, p) for m, p in calls]
        self.s.sendall(json.dumps(reqs, ensure_ascii=False).encode() + b"\n")
        reps = self._reply()
        by = {x.get("id"): x for x in reps}
        for r in reqs:
            note(r, by[r["id"]])
        return [by[r["id"]] for r in reqs]

    def close(self):
        self.s.close()


def note(req, rep):
    m = req["method"]
    res = rep.get("result")
    write = m in WRITE_METHODS or (m in CLOCK and isinstance(res, dict) and (res.get("events") or 0) > 0)
    with _lock:
        RECORD.append({"id": req["id"], "method": m, "write": write,
                       "outcome": "result" if "result" in rep else "error",
                       "code": (rep.get("error") or {}).get("code")})


def ok(rep, what):
    if "result" not in rep:
        raise RuntimeError("%s failed: %s" % (what, json.dumps(rep, ensure_ascii=False)[:300]))
    return rep["result"]


def phone(k, i):
    # Unique normalized phones: +7 9(10+k) NNN-NN-NN.
    return "+7 9%02d %07d" % (10 + k, i)


def worker(path, k, rounds, depth, mine, errors):
    try:
        c = Conn(path, "m%d" % k)
        ok(c.call("session.act_as", {"login": "m%d" % k}), "act_as")
        n = 0
        for rnd in range(rounds):
            creates = []
            for j in range(depth):
                n += 1
                creates.append(("client.create", {"name": "Клиент %d-%d" % (k, n), "phones": [phone(k, n)],
                                                  "segment": "seg-%d" % (n % 3)}))
            if rnd % 5 == 2:
                creates.append(("client.create", {"name": "Дубликат", "phones": [phone(k, n)]}))  # 1003
            reps = c.pipeline(creates)
            ids = [r["result"]["id"] for r in reps if "result" in r]
            mine.extend(ids)
            calls = []
            for cid in ids:
                calls.append(("interaction.log", {"client_id": cid, "kind": "call", "result": "обсудили условия",
                                                  "direction": "out"}))
                calls.append(("client.update", {"id": cid, "abc": "ABC"[cid % 3], "fields": {"round": rnd}}))
                if cid % 4 == 0:
                    calls.append(("client.get", {"id": cid}))
            c.pipeline(calls)
            if rnd == 1:
                # A batch line: two writes and a read in one JSON array.
                c.batch([("client.update", {"id": ids[0], "segment": "batch"}),
                         ("interaction.log", {"client_id": ids[0], "kind": "note", "note": "batch"}),
                         ("client.get", {"id": ids[0]})])
            if rnd == 3 and k == 1:
                # A safe retry: the second reply is the stored one (the checker skips it).
                p = {"name": "Повтор", "phones": [phone(k, 900000)], "request_id": "retry-m1"}
                c.call("client.create", p)
                c.call("client.create", p)
        return c
    except Exception as e:  # noqa: BLE001
        errors.append("m%d: %s" % (k, e))
        return None


def main():
    try:
        run_all()
    finally:
        # Even after a failure, what was answered is recorded for the checker.
        if RECORD_PATH:
            with open(RECORD_PATH[0], "w") as fh:
                for x in list(RECORD):
                    fh.write(json.dumps(x, ensure_ascii=False) + "\n")


RECORD_PATH = []


def run_all():
    ap = argparse.ArgumentParser()
    ap.add_argument("--socket", required=True)
    ap.add_argument("--record", required=True)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=25, help="rounds per thread; 4 creates + 4 logs + 4 updates each")
    ap.add_argument("--depth", type=int, default=4)
    ap.add_argument("--import-rows", type=int, default=300)
    a = ap.parse_args()
    RECORD_PATH.append(a.record)
    t0 = time.time()
    T = a.threads

    admin = Conn(a.socket, "admin")
    ok(admin.call("server.ping"), "ping")
    ok(admin.call("whoami"), "whoami")
    ok(admin.call("user.add", {"login": "head1", "name": "Начальник", "role": "head"}), "user.add head1")
    for k in range(1, T + 1):
        ok(admin.call("user.add", {"login": "m%d" % k, "name": "Менеджер %d" % k, "role": "manager"}), "user.add")

    errors = []
    mine = {k: [] for k in range(1, T + 1)}
    conns = {}
    side = {}

    def run(k):
        conns[k] = worker(a.socket, k, a.rounds, a.depth, mine[k], errors)

    def do_import():
        try:
            c = Conn(a.socket, "import")
            rows = []
            for i in range(a.import_rows):
                row = {"name": "Импорт %d" % i, "phones": [phone(T + 1, i)], "source": "import"}
                if i % 3:
                    row["owner"] = "m%d" % (1 + i % T)
                rows.append(row)
            side["import"] = ok(c.call("client.import", {"clients": rows, "request_id": "import-1"}), "import")
            c.close()
        except Exception as e:  # noqa: BLE001
            errors.append("import: %s" % e)

    def do_backup():
        try:
            c = Conn(a.socket, "backup")
            time.sleep(0.3)
            b = ok(c.call("server.backup"), "server.backup")
            tail = ok(c.call("server.backup_read", {"backup": b["backup"], "offset": max(0, b["bytes"] - 256)}),
                      "server.backup_read")
            side["backup"] = (b["bytes"], b["last_seq"], tail["eof"])
            c.close()
        except Exception as e:  # noqa: BLE001
            errors.append("backup: %s" % e)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(1, T + 1)]
    threads += [threading.Thread(target=do_import), threading.Thread(target=do_backup)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if errors:
        raise SystemExit("workload: " + "; ".join(errors))
    t1 = time.time()

    # The scheduler on the manual clock.
    adv = [ok(admin.call("clock.advance", {"by": "P1M"}), "clock.advance P1M")]          # 2026-02-12: yellow
    acked = 0
    for k in range(1, T + 1):
        items = ok(conns[k].call("alert.list", {"unacked": True, "limit": 20}), "alert.list")["items"]
        if items:
            acked += ok(conns[k].call("alert.ack", {"ids": [x["id"] for x in items[:5]]}), "alert.ack")["acked"]
    adv.append(ok(admin.call("clock.advance", {"by": "P4M"}), "clock.advance P4M"))     # 2026-06-12: red
    for k in range(1, T + 1):                                                           # some go green again
        conns[k].pipeline([("interaction.log", {"client_id": cid, "kind": "call", "result": "перезвонили"})
                           for cid in mine[k][:6]])
    adv.append(ok(admin.call("clock.advance", {"by": "P1M"}), "clock.advance P1M"))     # 2026-07-12: releases
    adv.append(ok(admin.call("clock.set", {"to": "2026-07-13T06:00:00Z"}), "clock.set"))  # Monday 09:00 MSK
    status = ok(admin.call("server.status"), "server.status")

    # Claim races: every manager claims the same client at the same instant.
    # Two short pages (a reply under strace's 64 KiB string limit): released ones, then the rest.
    released = ok(conns[1].call("exchange.list", {"include_unassigned": False, "limit": 20}), "exchange.list")["items"]
    ex = ok(conns[1].call("exchange.list", {"include_unassigned": True, "limit": 20}), "exchange.list")["items"]
    released = [x for x in released if x["status"] == "exchange"]
    unassigned = [x for x in ex if x["status"] == "unassigned"]
    targets = released[:3] + unassigned[:2]
    races = []
    for tgt in targets:
        barrier = threading.Barrier(T)
        res = {}

        def claim(k, cid=tgt["id"], barrier=barrier, res=res):
            barrier.wait(timeout=30)
            res[k] = conns[k].call("exchange.claim", {"id": cid})

        ts = [threading.Thread(target=claim, args=(k,)) for k in range(1, T + 1)]
        for th in ts:
            th.start()
        for th in ts:
            th.join()
        wins = [k for k, r in res.items() if "result" in r]
        codes = sorted(r["error"]["code"] for r in res.values() if "error" in r)
        races.append((tgt["id"], tgt["status"], wins, codes))
        if len(wins) != 1:
            raise SystemExit("workload: claim race on client %d: %d winners" % (tgt["id"], len(wins)))
    for k in range(1, T + 1):
        ok(conns[k].call("whoami"), "whoami")
        conns[k].close()
    admin.close()

    writes = [x for x in RECORD if x["write"]]
    print("workload: %d requests (%d writes: %d results, %d errors) in %.1f s (group-commit phase %.1f s)" % (
        len(RECORD), len(writes), sum(1 for x in writes if x["outcome"] == "result"),
        sum(1 for x in writes if x["outcome"] == "error"), time.time() - t0, t1 - t0))
    print("workload: import %s; backup bytes/last_seq/eof %s; scheduler %s; alerts acked %d" % (
        side.get("import", {}).get("created"), side.get("backup"),
        ", ".join("%s (%d events)" % (x["now"], x["events"]) for x in adv), acked))
    print("workload: clients %s; store commits %s writes %s largest batch %s" % (
        status["clients"], status["store"]["commits"], status["store"]["writes"], status["store"]["largest_batch"]))
    print("workload: claim races (client, status, winner, loser codes): %s" % races)


if __name__ == "__main__":
    main()
