#!/usr/bin/env bash
# powerfs throughput sanity check: N SQLite writer processes (WAL,
# synchronous=FULL, one row per transaction) for S seconds on a powerfs mount,
# and the same on the plain backing filesystem for comparison.
#
#   tools/powerfs/bench.sh [PATH_TO_POWERFS] [WRITERS=16] [SECONDS=5]
#
# Runs as root; cleans up its mount and temp dir.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
WRITERS=${2:-16}
SECS=${3:-5}
T=$(mktemp -d /tmp/powerfs-bench.XXXXXX) || exit 1
PID=""
cleanup() {
    [ -n "$PID" ] && { kill -9 "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; }
    grep -q " $T/mnt " /proc/mounts && { fusermount3 -u -z "$T/mnt" 2>/dev/null || umount -l "$T/mnt"; }
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ $# -ge 1 ] && [ -n "$1" ]; then
    BIN=$(readlink -f "$1")
else
    BIN=$T/powerfs
    gcc -O2 -Wall -Wextra -Werror -o "$BIN" "$HERE/powerfs.c" $(pkg-config --cflags --libs fuse3) || exit 1
fi

cat >"$T/bench.py" <<'EOF'
import sqlite3, sys, time, multiprocessing as mp

def writer(path, secs, q):
    con = sqlite3.connect(path, isolation_level=None, timeout=60)
    con.execute("PRAGMA journal_mode=WAL"); con.execute("PRAGMA synchronous=FULL")
    n = 0; end = time.time() + secs
    while time.time() < end:
        con.execute("BEGIN IMMEDIATE")
        con.execute("INSERT INTO t(v) VALUES (randomblob(200))")
        con.execute("COMMIT")
        n += 1
    q.put(n)

if __name__ == "__main__":
    path, writers, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, v BLOB)")
    q = mp.Queue()
    ps = [mp.Process(target=writer, args=(path, secs, q)) for _ in range(writers)]
    t0 = time.time()
    for p in ps: p.start()
    total = sum(q.get() for _ in ps)
    for p in ps: p.join()
    dt = time.time() - t0
    ok = con.execute("PRAGMA integrity_check").fetchone()[0]
    print("%d writers, %.1f s: %d commits, %.0f commits/s (integrity_check: %s)" % (writers, dt, total, total / dt, ok))
EOF

mkdir -p "$T/disk" "$T/mnt" "$T/plain"
"$BIN" "$T/disk" "$T/mnt" >"$T/out" 2>"$T/err" &
PID=$!
for _ in $(seq 100); do grep -q 'powerfs: ready' "$T/out" && break; sleep 0.1; done
grep -q 'powerfs: ready' "$T/out" || { cat "$T/err"; exit 1; }

echo -n "powerfs:          "
timeout 300 python3 "$T/bench.py" "$T/mnt/bench.db" "$WRITERS" "$SECS" || exit 1
kill -USR1 "$PID"; sleep 0.3; grep 'stats (SIGUSR1)' "$T/err" | tail -1 | sed 's/^/                  /'
echo -n "plain directory:  "
timeout 300 python3 "$T/bench.py" "$T/plain/bench.db" "$WRITERS" "$SECS" || exit 1
