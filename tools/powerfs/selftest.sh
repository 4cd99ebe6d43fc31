#!/usr/bin/env bash
# powerfs selftest: proves that powerfs keeps what was fsynced and forgets the rest
# at a power cut (SIGKILL of powerfs), and that SQLite in WAL mode survives it.
#
#   tools/powerfs/selftest.sh [PATH_TO_POWERFS_BINARY]
#
# Runs as root (FUSE mounts). Without an argument it builds powerfs from
# powerfs.c into a temporary directory. Everything (mounts, processes, temp
# files) is cleaned up on exit, also on failure or Ctrl-C. Exit status is 0
# only if every check passed; the last line reads
#   powerfs selftest: N passed, M failed
set -u
set -o pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d /tmp/powerfs-selftest.XXXXXX) || { echo "mktemp failed" >&2; exit 1; }
B=$T/disk        # backing dir: "the disk"
M=$T/mnt         # mount point
mkdir -p "$B" "$M"
export B M T
export PYTHONPATH=$T

PFS_PID=""       # running powerfs
HELPER_PIDS=()   # background python processes
PASSED=0
FAILED=0
RUN=0            # powerfs start counter (log file names)
STEP_TIMEOUT=90  # seconds, for every python step
TOTAL_TIMEOUT=900  # seconds, for the whole run
WATCHDOG=""

log() { echo "  $*"; }

cleanup() {
    local p
    if [ -n "$WATCHDOG" ]; then
        for p in $(ps -o pid= --ppid "$WATCHDOG" 2>/dev/null); do kill "$p" 2>/dev/null; done
        kill "$WATCHDOG" 2>/dev/null
    fi
    for p in "${HELPER_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    if [ -n "$PFS_PID" ]; then kill -9 "$PFS_PID" 2>/dev/null; wait "$PFS_PID" 2>/dev/null; fi
    detach
    rm -rf "$T"
}

# Detaches whatever is mounted at $M (a live or a dead powerfs).
detach() {
    local i
    for i in 1 2 3 4 5; do
        grep -q " $M " /proc/mounts || return 0
        fusermount3 -u -z "$M" 2>/dev/null || umount -l "$M" 2>/dev/null
    done
    ! grep -q " $M " /proc/mounts
}

trap cleanup EXIT
trap 'echo "selftest: interrupted" >&2; exit 130' INT TERM HUP

# Whole-run bound: after TOTAL_TIMEOUT the watchdog kills powerfs (which
# unblocks anything waiting on the mount) and stops this script.
(
    sleep "$TOTAL_TIMEOUT"
    echo "selftest: overall timeout (${TOTAL_TIMEOUT}s)" >&2
    [ -s "$T/pfs.pid" ] && kill -9 "$(cat "$T/pfs.pid")" 2>/dev/null
    kill -TERM $$
) &
WATCHDOG=$!

# ---------------------------------------------------------------------------
# Build
if [ $# -ge 1 ]; then
    BIN=$(readlink -f "$1")
    [ -x "$BIN" ] || { echo "selftest: $1 is not executable" >&2; exit 1; }
else
    BIN=$T/powerfs
    echo "building powerfs"
    if ! gcc -O2 -Wall -Wextra -Werror -o "$BIN" "$HERE/powerfs.c" $(pkg-config --cflags --libs fuse3); then
        echo "selftest: build failed" >&2
        echo "powerfs selftest: 0 passed, 1 failed"
        exit 1
    fi
fi

# ---------------------------------------------------------------------------
# powerfs control

# Starts powerfs and waits for "powerfs: ready" (at most 10 s).
start_fs() {
    RUN=$((RUN + 1))
    OUT=$T/out.$RUN
    ERR=$T/err.$RUN
    "$BIN" "$B" "$M" >"$OUT" 2>"$ERR" &
    PFS_PID=$!
    echo "$PFS_PID" >"$T/pfs.pid"
    local i
    for i in $(seq 100); do
        if grep -q '^powerfs: ready$' "$OUT"; then
            # the mount answers
            if timeout -k 2 10 stat "$M" >/dev/null; then return 0; fi
            break
        fi
        kill -0 "$PFS_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "  powerfs did not come up; stderr:" >&2
    sed 's/^/    /' "$ERR" >&2
    kill -9 "$PFS_PID" 2>/dev/null; wait "$PFS_PID" 2>/dev/null
    PFS_PID=""
    detach
    return 1
}

# The power cut: SIGKILL, then detach the dead mount.
cut() {
    [ -n "$PFS_PID" ] || { echo "  cut: powerfs is not running" >&2; return 1; }
    kill -9 "$PFS_PID"
    wait "$PFS_PID" 2>/dev/null
    PFS_PID=""
    detach || { echo "  cut: cannot detach $M" >&2; return 1; }
}

cut_and_remount() { cut && start_fs; }

ensure_fs() {
    if [ -n "$PFS_PID" ] && kill -0 "$PFS_PID" 2>/dev/null; then return 0; fi
    PFS_PID=""
    detach
    start_fs
}

# Counters of the running powerfs (SIGUSR1 prints them to stderr).
stats() {
    local before
    before=$(grep -c 'stats (SIGUSR1)' "$ERR")
    kill -USR1 "$PFS_PID" || return 1
    local i
    for i in $(seq 50); do
        [ "$(grep -c 'stats (SIGUSR1)' "$ERR")" -gt "$before" ] && break
        sleep 0.05
    done
    grep 'stats (SIGUSR1)' "$ERR" | tail -1
}
stat_field() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$2"; }

# Runs a python step (script on stdin) with a time bound. If it hangs (a
# powerfs bug can block it on the mount), powerfs is killed so the next test
# starts from a fresh mount.
py() {
    timeout -k 5 "$STEP_TIMEOUT" python3 - "$@"
    local rc=$?
    if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
        echo "  step timed out after ${STEP_TIMEOUT}s; killing powerfs" >&2
        [ -n "$PFS_PID" ] && kill -9 "$PFS_PID" 2>/dev/null
    fi
    return $rc
}

run_test() {
    local name=$1 fn=$2
    echo "test: $name"
    if ! ensure_fs; then
        echo "FAIL: $name (powerfs would not start)"
        FAILED=$((FAILED + 1))
        return
    fi
    if "$fn"; then
        echo "ok:   $name"
        PASSED=$((PASSED + 1))
    else
        echo "FAIL: $name"
        FAILED=$((FAILED + 1))
    fi
}

# Python helpers shared by the checks.
cat >"$T/h.py" <<'EOF'
import os, sys, hashlib, json
M = os.environ["M"]; B = os.environ["B"]; T = os.environ["T"]

def mp(name): return os.path.join(M, name)
def bp(name): return os.path.join(B, name)

def fail(msg):
    print("  check failed: " + msg, flush=True)
    sys.exit(1)

def expect(cond, msg):
    if not cond: fail(msg)

def read_all(path):
    # a fresh open: the kernel drops its cached pages, so this reads powerfs
    fd = os.open(path, os.O_RDONLY)
    try:
        out = bytearray()
        while True:
            b = os.read(fd, 1 << 20)
            if not b: break
            out += b
        return bytes(out)
    finally:
        os.close(fd)

def same(path, want, what):
    got = read_all(path)
    if got != want:
        first = next((i for i in range(min(len(got), len(want))) if got[i] != want[i]), min(len(got), len(want)))
        fail("%s: %s: %d bytes, want %d; first difference at %d" % (what, path, len(got), len(want), first))

def save(name, obj):
    with open(os.path.join(T, name + ".json"), "w") as f: json.dump(obj, f)

def load(name):
    with open(os.path.join(T, name + ".json")) as f: return json.load(f)

def pattern(n, seed):
    return bytes((i * 131 + seed * 7 + (i >> 8)) % 251 for i in range(n))
EOF

# ---------------------------------------------------------------------------
# 1. fsynced data survives a cut; unsynced overwrite, append and truncate do not
t_durability() {
    py <<'EOF' || return 1
from h import *
A = pattern(10000, 1)
fd = os.open(mp("t1a"), os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, A); os.fsync(fd)
os.pwrite(fd, b"X" * 50, 100)          # overwrite inside the file, not synced
os.pwrite(fd, b"Y" * 5000, 10000)      # append that grows it, not synced
os.close(fd)
want = bytearray(A); want[100:150] = b"X" * 50; want += b"Y" * 5000
same(mp("t1a"), bytes(want), "before the cut (unsynced data visible)")
expect(os.stat(mp("t1a")).st_size == 15000, "st_size before the cut")
same(bp("t1a"), A, "backing file holds only the synced data")

C = pattern(10000, 2)
fd = os.open(mp("t1c"), os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, C); os.fsync(fd)
os.ftruncate(fd, 10)                   # truncate, not synced
os.close(fd)
expect(os.stat(mp("t1c")).st_size == 10, "truncate visible before the cut")
os.truncate(mp("t1c"), 5)              # path truncate, not synced
expect(os.stat(mp("t1c")).st_size == 5, "path truncate visible before the cut")

fd = os.open(mp("t1n"), os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, b"never synced"); os.close(fd)

# open(O_TRUNC) of a synced file + a new shorter content, not synced
fd = os.open(mp("t1t"), os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, pattern(6000, 3)); os.fsync(fd); os.close(fd)
with open(mp("t1t"), "wb") as f: f.write(b"new")
same(mp("t1t"), b"new", "O_TRUNC rewrite visible before the cut")
same(bp("t1t"), pattern(6000, 3), "O_TRUNC is not passed to the backing file")

# shrink then grow back by truncate, not synced
fd = os.open(mp("t1g"), os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, pattern(9000, 5)); os.fsync(fd)
os.ftruncate(fd, 100); os.ftruncate(fd, 9000); os.close(fd)
same(mp("t1g"), pattern(100, 5) + bytes(8900), "truncate down and up reads zeros")

# posix_fallocate that grows the file, not synced
fd = os.open(mp("t1f"), os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, b"f" * 100); os.fsync(fd)
os.posix_fallocate(fd, 0, 50000); os.close(fd)
same(mp("t1f"), b"f" * 100 + bytes(49900), "posix_fallocate grows the file with zeros")
EOF
    cut_and_remount || return 1
    py <<'EOF'
from h import *
same(mp("t1a"), pattern(10000, 1), "after the cut: synced content only")
same(mp("t1c"), pattern(10000, 2), "after the cut: unsynced truncate undone")
expect(os.path.exists(mp("t1n")), "created file exists (metadata is durable at once)")
same(mp("t1n"), b"", "after the cut: never-synced file is empty")
same(mp("t1t"), pattern(6000, 3), "after the cut: unsynced O_TRUNC rewrite undone")
same(mp("t1g"), pattern(9000, 5), "after the cut: unsynced truncate down/up undone")
same(mp("t1f"), b"f" * 100, "after the cut: unsynced posix_fallocate undone")
EOF
}

# 2. fdatasync counts as fsync; O_DSYNC writes are durable at once
t_fdatasync() {
    py <<'EOF' || return 1
from h import *
fd = os.open(mp("t2"), os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, b"a" * 3000); os.fdatasync(fd)
os.pwrite(fd, b"b" * 100, 500); os.pwrite(fd, b"c" * 2000, 3000)
os.close(fd)
expect(read_all(mp("t2"))[500:600] == b"b" * 100, "unsynced data visible before the cut")
fd = os.open(mp("t2d"), os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_DSYNC, 0o644)
os.write(fd, b"d" * 5000); os.close(fd)
# fsync of a directory (SQLite does it after creating files) succeeds
dfd = os.open(M, os.O_RDONLY | os.O_DIRECTORY); os.fsync(dfd); os.close(dfd)
# shared mmap: msync(MS_SYNC) makes the mapped writes durable, later ones are not
import mmap
fd = os.open(mp("t2m"), os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
os.ftruncate(fd, 8192); os.fsync(fd)
mm = mmap.mmap(fd, 8192, mmap.MAP_SHARED)
mm[10:15] = b"msync"; mm.flush()          # msync(MS_SYNC)
mm[5000:5005] = b"later"                  # never synced
other = mmap.mmap(os.open(mp("t2m"), os.O_RDONLY), 8192, mmap.MAP_SHARED, mmap.PROT_READ)
expect(other[5000:5005] == b"later", "a second shared mapping sees the write")
mm.close(); other.close(); os.close(fd)
EOF
    cut_and_remount || return 1
    py <<'EOF'
from h import *
same(mp("t2"), b"a" * 3000, "after the cut: fdatasync'ed content only")
same(mp("t2d"), b"d" * 5000, "after the cut: O_DSYNC write kept")
want = bytearray(8192); want[10:15] = b"msync"
same(mp("t2m"), bytes(want), "after the cut: msync'ed mmap write kept, later one lost")
EOF
}

# 3. reads merge the overlay over the backing file; fsync writes exactly that
t_overlay_merge() {
    local s1 s2
    s1=$(stats) || return 1
    py <<'EOF' || return 1
from h import *
import random
rnd = random.Random(42)
base = rnd.randbytes(3 * 4096 + 123)
p = mp("t3")
fd = os.open(p, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, base); os.fsync(fd)
model = bytearray(base)
def W(off, data):
    os.pwrite(fd, data, off)
    if off > len(model): model.extend(bytes(off - len(model)))
    model[off:off + len(data)] = data
def TR(n):
    os.ftruncate(fd, n)
    if n < len(model): del model[n:]
    else: model.extend(bytes(n - len(model)))
W(4095, b"AB")                      # spans a page boundary
W(13, b"odd!!!!")                   # odd offset inside page 0
W(5000, rnd.randbytes(10000))       # spans pages, grows the file
W(50000, b"tail")                   # leaves a hole 15000..50000
W(20001, b"z")                      # a lone byte inside the hole
TR(30000)                           # shrink: drops the tail
TR(40000)                           # grow: 30000..40000 reads zeros
W(8190, b"xyz")
TR(9000); TR(14000)                 # backing bytes 9000..12411 must now read zeros
W(13000, b"Q" * 7)
os.close(fd)
model = bytes(model)
same(p, model, "merged read")
expect(os.stat(p).st_size == len(model), "st_size is the logical size")
same(bp("t3"), base, "backing untouched before fsync")
for i in range(300):
    off = rnd.randrange(0, len(model) + 5000)
    n = rnd.randrange(0, 20000)
    fd = os.open(p, os.O_RDONLY)
    got = os.pread(fd, n, off)
    os.close(fd)
    expect(got == model[off:off + n], "pread(%d, %d)" % (n, off))
fd = os.open(p, os.O_RDONLY)
expect(os.pread(fd, 100, len(model) + 10) == b"", "read past EOF is empty")
os.close(fd)
# fsync through a fresh fd: the backing file becomes exactly the model
fd = os.open(p, os.O_RDWR); os.fsync(fd); os.close(fd)
same(bp("t3"), model, "backing after fsync")
same(p, model, "read after fsync")
save("t3", {"sha": hashlib.sha256(model).hexdigest()})
# truncate down and up with no dirty page over the dead region, then fsync:
# the backing file must get zeros there, not its old bytes
fd = os.open(mp("t3b"), os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, pattern(20000, 6)); os.fsync(fd)
os.ftruncate(fd, 100); os.ftruncate(fd, 20000); os.fsync(fd); os.close(fd)
same(bp("t3b"), pattern(100, 6) + bytes(19900), "backing after truncate down/up + fsync")
# more unsynced writes after the close: still visible on reopen
fd = os.open(p, os.O_RDWR); os.pwrite(fd, b"after", 1); os.close(fd)
expect(read_all(p)[1:6] == b"after", "overlay kept across close/reopen")
EOF
    s2=$(stats) || return 1
    local r1 r2
    r1=$(stat_field reads "$s1"); r2=$(stat_field reads "$s2")
    if [ $((r2 - r1)) -lt 100 ]; then   # the fresh opens above must reach powerfs
        log "reads did not reach powerfs (reads $r1 -> $r2)"; return 1
    fi
    cut_and_remount || return 1
    py <<'EOF'
from h import *
expect(hashlib.sha256(read_all(mp("t3"))).hexdigest() == load("t3")["sha"], "after the cut: the fsynced state")
EOF
}

# 4. rename keeps the pending overlay (same inode); unsynced data is lost all the same
t_rename() {
    py <<'EOF' || return 1
from h import *
v1 = pattern(9000, 4); v2 = b"V2" * 100
def mk(name):
    fd = os.open(mp(name), os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, v1); os.fsync(fd); os.pwrite(fd, v2, 4000); os.close(fd)
want2 = v1[:4000] + v2 + v1[4200:]
# a) pending data follows the rename, and an fsync (read-only fd) under the new name keeps it
mk("t4a"); ino = os.stat(mp("t4a")).st_ino
os.rename(mp("t4a"), mp("t4b"))
expect(os.stat(mp("t4b")).st_ino == ino, "same inode after rename")
same(mp("t4b"), want2, "pending data after rename")
fd = os.open(mp("t4b"), os.O_RDONLY); os.fsync(fd); os.close(fd)
same(bp("t4b"), want2, "backing after fsync through the new name")
# b) pending data, rename, no fsync: lost at the cut (the rename is not)
mk("t4c"); os.rename(mp("t4c"), mp("t4d"))
same(mp("t4d"), want2, "pending data after rename (b)")
# c) rename over a file that has pending data: that data is dropped with the inode
mk("t4e")
fd = os.open(mp("t4f"), os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, b"F" * 300); os.fsync(fd); os.close(fd)
os.rename(mp("t4f"), mp("t4e"))
same(mp("t4e"), b"F" * 300, "replaced by rename")
EOF
    cut_and_remount || return 1
    py <<'EOF'
from h import *
v1 = pattern(9000, 4); v2 = b"V2" * 100
same(mp("t4b"), v1[:4000] + v2 + v1[4200:], "after the cut: fsynced after rename")
expect(not os.path.exists(mp("t4a")) and not os.path.exists(mp("t4c")), "old names gone")
same(mp("t4d"), v1, "after the cut: unsynced data written before the rename is lost")
same(mp("t4e"), b"F" * 300, "after the cut: rename over a file")
EOF
}

# SQLite writer used by checks 5 and 6: N single-row transactions, then it
# says so and waits (connection open) to be killed.
cat >"$T/sqlw.py" <<'EOF'
import sqlite3, sys, time, os
path, sync, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
con = sqlite3.connect(path, isolation_level=None)
mode = con.execute("PRAGMA journal_mode=WAL").fetchone()[0]
assert mode == "wal", mode
con.execute("PRAGMA synchronous=" + sync)
con.execute("CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, v BLOB)")
for i in range(n):
    con.execute("BEGIN")
    con.execute("INSERT INTO t(v) VALUES (randomblob(1500))")
    con.execute("COMMIT")
print("committed", n, flush=True)
time.sleep(300)   # stays connected until the test kills it
EOF

# Runs the writer, waits for it to commit, then cuts power while it is still connected.
sqlite_cut() {
    local sync=$1 db=$2
    local out=$T/sqlw.$sync.out
    python3 "$T/sqlw.py" "$M/$db" "$sync" 1000 >"$out" 2>&1 &
    local wp=$!
    HELPER_PIDS+=("$wp")
    local i
    for i in $(seq $((STEP_TIMEOUT * 10))); do
        grep -q '^committed 1000' "$out" && break
        kill -0 "$wp" 2>/dev/null || break
        sleep 0.1
    done
    if ! grep -q '^committed 1000' "$out"; then
        log "writer failed:"; sed 's/^/    /' "$out"
        kill -9 "$wp" 2>/dev/null; wait "$wp" 2>/dev/null
        return 1
    fi
    cut || return 1                   # power cut while the connection is open
    kill -9 "$wp" 2>/dev/null; wait "$wp" 2>/dev/null
    start_fs
}

# 5. SQLite WAL + synchronous=FULL: every committed row survives, db intact
t_sqlite_full() {
    sqlite_cut FULL t5.db || return 1
    py <<'EOF'
from h import *
import sqlite3
con = sqlite3.connect(mp("t5.db"))
n = con.execute("SELECT count(*) FROM t").fetchone()[0]
ic = con.execute("PRAGMA integrity_check").fetchall()
print("  rows after the cut: %d of 1000, integrity_check: %s" % (n, ic[0][0]))
expect(n == 1000, "all committed rows survive")
expect(ic == [("ok",)], "integrity_check ok")
EOF
}

# 6. the same with synchronous=OFF (no syncs at all): committed rows are lost.
#    This check is meant to see data vanish: it shows the cut really forgets.
t_sqlite_off() {
    sqlite_cut OFF t6.db || return 1
    py <<'EOF'
from h import *
import sqlite3
con = sqlite3.connect(mp("t6.db"))
try:
    n = con.execute("SELECT count(*) FROM t").fetchone()[0]
except sqlite3.DatabaseError as e:
    n = 0
    print("  (after the cut: %s)" % e)
print("  rows after the cut without syncs: %d of 1000" % n)
expect(n < 1000, "without fsync, committed rows must be lost at the cut")
EOF
}

# 7. two rounds of cut/remount on the same mount point; a dead mount is refused clearly
t_two_rounds() {
    local round
    for round in 1 2; do
        ROUND=$round py <<'EOF' || return 1
from h import *
r = os.environ["ROUND"]
fd = os.open(mp("t7"), os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, ("synced %s;" % r).encode()); os.fsync(fd)
os.write(fd, ("unsynced %s" % r).encode()); os.close(fd)
EOF
        if [ "$round" = 2 ]; then
            # a second powerfs on a dead mount must refuse with a clear message
            kill -9 "$PFS_PID"; wait "$PFS_PID" 2>/dev/null; PFS_PID=""
            local msg
            msg=$(timeout 10 "$BIN" "$B" "$M" 2>&1 </dev/null)
            if [ $? -eq 0 ] || ! grep -q 'dead FUSE mount' <<<"$msg"; then
                log "powerfs on a dead mount: $msg"; return 1
            fi
            detach || return 1
            start_fs || return 1
        else
            cut_and_remount || return 1
        fi
        ROUND=$round py <<'EOF' || return 1
from h import *
same(mp("t7"), ("synced %s;" % os.environ["ROUND"]).encode(), "round " + os.environ["ROUND"])
EOF
        local n
        n=$(grep -c " $M " /proc/mounts)
        [ "$n" = 1 ] || { log "$n mounts at $M"; return 1; }
    done
}

# 8. POSIX locks (SQLite's fcntl locks) conflict between processes
t_locks() {
    py <<'EOF'
from h import *
import fcntl, subprocess
fd = os.open(mp("t8"), os.O_RDWR | os.O_CREAT, 0o644)
fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 100)
code = r'''
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
try:
    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 100); print("got")
except OSError: print("busy")
'''
r = subprocess.run([sys.executable, "-c", code, mp("t8")], capture_output=True, text=True, timeout=30)
expect(r.stdout.strip() == "busy", "lock held by another process must conflict: " + r.stdout + r.stderr)
fcntl.lockf(fd, fcntl.LOCK_UN, 1, 100)
r = subprocess.run([sys.executable, "-c", code, mp("t8")], capture_output=True, text=True, timeout=30)
expect(r.stdout.strip() == "got", "lock free after unlock: " + r.stdout + r.stderr)
os.close(fd)
# flock (crmd's <db>.lock) is also local to the kernel
fd = os.open(mp("t8.lock"), os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
code2 = r'''
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB); print("got")
except OSError: print("busy")
'''
r = subprocess.run([sys.executable, "-c", code2, mp("t8.lock")], capture_output=True, text=True, timeout=30)
expect(r.stdout.strip() == "busy", "flock held by another process must conflict: " + r.stdout + r.stderr)
os.close(fd)
r = subprocess.run([sys.executable, "-c", code2, mp("t8.lock")], capture_output=True, text=True, timeout=30)
expect(r.stdout.strip() == "got", "flock free after close: " + r.stdout + r.stderr)
EOF
}

# 9. unlink while open: the fd keeps its pending data; memory is freed at close,
#    and by truncate
t_unlink_open() {
    cut_and_remount || return 1       # start from empty counters
    py <<'EOF' || return 1
from h import *
fd = os.open(mp("t9"), os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, b"k" * 20000)
os.unlink(mp("t9"))
expect(not os.path.exists(mp("t9")), "name gone")
# (fstat here would fail with ESTALE: libfuse's high-level API cannot stat a
# removed file; see README "Caveats")
expect(os.pread(fd, 20000, 0) == b"k" * 20000, "read of an unlinked file with pending data")
os.pwrite(fd, b"j", 5); os.fsync(fd)
os.close(fd)
fd = os.open(mp("t9"), os.O_RDWR | os.O_CREAT, 0o644)
expect(os.fstat(fd).st_size == 0, "a new file under the same name is empty")
os.close(fd)
os.unlink(mp("t9"))
# truncate frees dirty pages
fd = os.open(mp("t9b"), os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, b"m" * 40960); os.ftruncate(fd, 4096); os.close(fd)
EOF
    local s
    s=$(stats) || return 1
    log "$s"
    [ "$(stat_field dirty_pages "$s")" = 1 ] || { log "want dirty_pages=1 (t9b's first page)"; return 1; }
    [ "$(stat_field overlay_files "$s")" = 1 ] || { log "want overlay_files=1"; return 1; }
    [ "$(stat_field nodes "$s")" = 1 ] || { log "want nodes=1"; return 1; }
    py <<'EOF' || return 1
from h import *
os.unlink(mp("t9b"))
EOF
    s=$(stats) || return 1
    [ "$(stat_field dirty_pages "$s")" = 0 ] && [ "$(stat_field nodes "$s")" = 0 ] \
        || { log "after unlink: $s"; return 1; }
}

# 10. several SQLite processes at once (shared -shm mmap, locks), then a cut
t_sqlite_multi() {
    py <<'EOF' || return 1
from h import *
import subprocess
code = r'''
import sqlite3, sys
con = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=60)
con.execute("PRAGMA journal_mode=WAL"); con.execute("PRAGMA synchronous=FULL")
for i in range(250):
    con.execute("BEGIN IMMEDIATE")
    con.execute("INSERT INTO t(w, v) VALUES (?, randomblob(700))", (int(sys.argv[2]),))
    con.execute("COMMIT")
'''
import sqlite3
con = sqlite3.connect(mp("t10.db"), isolation_level=None)
con.execute("PRAGMA journal_mode=WAL"); con.execute("PRAGMA synchronous=FULL")
con.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, w INT, v BLOB)")
ps = [subprocess.Popen([sys.executable, "-c", code, mp("t10.db"), str(w)]) for w in range(4)]
try:
    for p in ps:
        expect(p.wait(timeout=80) == 0, "writer process failed")
finally:
    for p in ps:
        if p.poll() is None: p.kill()
n = con.execute("SELECT count(*) FROM t").fetchone()[0]
expect(n == 1000, "rows before the cut: %d" % n)
EOF
    cut_and_remount || return 1
    py <<'EOF'
from h import *
import sqlite3
con = sqlite3.connect(mp("t10.db"))
n = con.execute("SELECT count(*) FROM t").fetchone()[0]
per = con.execute("SELECT w, count(*) FROM t GROUP BY w ORDER BY w").fetchall()
ic = con.execute("PRAGMA integrity_check").fetchall()
print("  rows after the cut: %d %s, integrity_check: %s" % (n, per, ic[0][0]))
expect(n == 1000 and ic == [("ok",)], "all rows of 4 concurrent writers survive")
EOF
}

# 11. random writes/truncates/fsyncs/reopens against a model, then a cut: each file
#     must read as the model while running and as its last fsynced state after
t_random_model() {
    py <<'EOF' || return 1
from h import *
import random
rnd = random.Random(20240611)
files = ["r0", "r1", "r2"]
model = {f: bytearray() for f in files}
synced = {f: b"" for f in files}
fds = {f: os.open(mp(f), os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644) for f in files}
LIMIT = 300 * 1024
for step in range(4000):
    f = rnd.choice(files); m = model[f]; x = rnd.random()
    if x < 0.55:
        off = rnd.randrange(0, min(len(m) + 3 * 4096, LIMIT))
        data = rnd.randbytes(rnd.choice([1, 7, 100, 4096, 5000, 3 * 4096 + 5]))
        os.pwrite(fds[f], data, off)
        if off > len(m): m.extend(bytes(off - len(m)))
        m[off:off + len(data)] = data
    elif x < 0.70:
        n = rnd.randrange(0, min(len(m) * 3 // 2 + 4096, LIMIT))
        os.ftruncate(fds[f], n)
        if n < len(m): del m[n:]
        else: m.extend(bytes(n - len(m)))
    elif x < 0.78:
        (os.fdatasync if rnd.random() < 0.5 else os.fsync)(fds[f])
        synced[f] = bytes(m)
    elif x < 0.93:
        off = rnd.randrange(0, len(m) + 100); n = rnd.randrange(0, 3 * 4096)
        rfd = os.open(mp(f), os.O_RDONLY)
        got = os.pread(rfd, n, off); os.close(rfd)
        expect(got == bytes(m[off:off + n]), "step %d: pread(%s, %d, %d)" % (step, f, n, off))
    else:
        os.close(fds[f])
        flags = os.O_RDWR
        if rnd.random() < 0.2:
            flags |= os.O_TRUNC; del m[:]
        fds[f] = os.open(mp(f), flags)
for f in files:
    os.close(fds[f])
    same(mp(f), bytes(model[f]), "model " + f)
# many dirty pages, then a truncate that drops half of them (hash map deletion)
big = bytearray(rnd.randbytes(5000 * 4096))
fd = os.open(mp("rbig"), os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, big); os.ftruncate(fd, 2500 * 4096 + 17); os.close(fd)
same(mp("rbig"), bytes(big[:2500 * 4096 + 17]), "big file after truncate")
save("t11", {f: hashlib.sha256(synced[f]).hexdigest() for f in files})
print("  synced sizes:", {f: len(synced[f]) for f in files}, "model sizes:", {f: len(model[f]) for f in files})
EOF
    cut_and_remount || return 1
    py <<'EOF'
from h import *
want = load("t11")
for f, sha in want.items():
    expect(hashlib.sha256(read_all(mp(f))).hexdigest() == sha, "after the cut: %s is its last fsynced state" % f)
same(mp("rbig"), b"", "after the cut: the never-synced big file is empty")
EOF
}

# 12. clean stops: SIGTERM unmounts and exits 0; after a lazy unmount
#     (umount -l) powerfs exits 0 by itself, or, if files are still open,
#     on SIGTERM without touching a newer mount at the same path
t_clean_stop() {
    local i rc
    kill -TERM "$PFS_PID"
    for i in $(seq 50); do kill -0 "$PFS_PID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$PFS_PID" 2>/dev/null; then log "still running 5 s after SIGTERM"; return 1; fi
    wait "$PFS_PID"; rc=$?; PFS_PID=""
    [ "$rc" = 0 ] || { log "exit status $rc after SIGTERM"; return 1; }
    if grep -q " $M " /proc/mounts; then log "still mounted after SIGTERM"; detach; return 1; fi
    start_fs || return 1
    umount -l "$M" || return 1
    for i in $(seq 50); do kill -0 "$PFS_PID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$PFS_PID" 2>/dev/null; then log "still running 5 s after umount -l"; return 1; fi
    wait "$PFS_PID"; rc=$?; PFS_PID=""
    [ "$rc" = 0 ] || { log "exit status $rc after umount -l"; return 1; }

    # umount -l while a file is still open keeps the old powerfs serving; a
    # new powerfs mounts at the same path; SIGTERM to the old one must not
    # unmount the new one
    start_fs || return 1
    local old=$PFS_PID
    python3 -c 'import os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT); print("open", flush=True); time.sleep(60)' \
        "$M/t12" >"$T/holder.out" 2>&1 &
    local holder=$!
    HELPER_PIDS+=("$holder")
    for i in $(seq 50); do grep -q open "$T/holder.out" && break; sleep 0.1; done
    umount -l "$M" || return 1
    sleep 0.2
    kill -0 "$old" 2>/dev/null || { log "old powerfs exited although a file is open"; return 1; }
    start_fs || return 1
    kill -TERM "$old"; wait "$old"; rc=$?
    kill -9 "$holder" 2>/dev/null; wait "$holder" 2>/dev/null
    [ "$rc" = 0 ] || { log "old powerfs exit status $rc"; return 1; }
    grep -q " $M fuse.powerfs " /proc/mounts || { log "the old powerfs unmounted the new one"; return 1; }
    timeout -k 2 10 ls "$M" >/dev/null || { log "new mount does not answer"; return 1; }
}

run_test "1 fsynced data survives a cut; unsynced overwrite/append/truncate do not" t_durability
run_test "2 fdatasync counts as fsync (and O_DSYNC writes, msync)" t_fdatasync
run_test "3 reads merge the overlay (odd offsets, page spans, holes, truncates)" t_overlay_merge
run_test "4 rename keeps the pending overlay; unsynced data is still lost" t_rename
run_test "5 SQLite WAL synchronous=FULL: 1000 commits survive, integrity ok" t_sqlite_full
run_test "6 SQLite WAL synchronous=OFF: commits are lost (the cut forgets)" t_sqlite_off
run_test "7 two rounds of cut/remount on the same mount point" t_two_rounds
run_test "8 POSIX (fcntl) and flock locks conflict between processes" t_locks
run_test "9 unlink while open keeps data for the fd; memory freed" t_unlink_open
run_test "10 four concurrent SQLite writer processes survive a cut" t_sqlite_multi
run_test "11 random writes/truncates/fsyncs against a model, then a cut" t_random_model
run_test "12 clean stop: SIGTERM, and exit after umount -l" t_clean_stop

echo "powerfs selftest: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
