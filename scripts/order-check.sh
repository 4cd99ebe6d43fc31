#!/usr/bin/env bash
# order-check.sh [CRMD_BINARY]: proves from the syscalls that crmd replies to a write only after
# the commit holding it is on disk (an fsync/fdatasync of the WAL after the commit's frames).
#
# Starts a real crmd (default .build/release/crmd) on a fresh temporary folder with a manual
# clock, under strace, runs scripts/order_workload.py against it (group-committed writes from
# several connections, an import, a backup, scheduler passes with zone changes, releases and
# alerts, claim races), stops crmd with SIGTERM and runs scripts/order_check.py over the trace.
# Exit 0 when every success reply to a write was preceded by a WAL sync covering its commit;
# the last line is `order-check: N passed, M failed`.
#
# Environment: CRMD_* settings pass through to crmd (CRMD_STORE_SYNCHRONOUS=NORMAL is the
# deliberately weakened configuration: it must fail). ORDER_CHECK_KEEP=1 keeps the folder
# (trace, crmd log, workload record). ORDER_CHECK_ROUNDS / ORDER_CHECK_THREADS size the load.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
crmd=${1:-$root/.build/release/crmd}
[[ $crmd == */* ]] || crmd=$(command -v "$crmd")
[[ -x $crmd ]] || { echo "order-check: no crmd binary at $crmd (build it: swift build -c release --product crmd)" >&2; exit 2; }
command -v strace >/dev/null || { echo "order-check: strace is not installed" >&2; exit 2; }
crmd=$(cd "$(dirname "$crmd")" && pwd)/$(basename "$crmd")

# Syscalls: crmd reads requests with read(2) and replies with send(2) (sendto); SQLite writes the
# WAL with pwrite64 and syncs with fdatasync. The rest are listed so that a change of method
# (writev, sendmsg, recvmsg, pwritev, fsync) shows up in the trace instead of going unseen.
syscalls=pwrite64,pwritev,write,writev,sendto,sendmsg,read,readv,recvfrom,recvmsg,fsync,fdatasync,sync_file_range

work=$(mktemp -d "${TMPDIR:-/tmp}/order-check.XXXXXX")
strace_pid=
crmd_pid=
start=$SECONDS
cleanup() {
    local rc=$?
    if [[ -n $crmd_pid ]] && kill -0 "$crmd_pid" 2>/dev/null; then kill -KILL "$crmd_pid" 2>/dev/null || true; fi
    if [[ -n $strace_pid ]] && kill -0 "$strace_pid" 2>/dev/null; then kill -KILL "$strace_pid" 2>/dev/null || true; fi
    [[ ${ORDER_CHECK_KEEP:-0} == 1 ]] || rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

sock=$work/crmd.sock
# The claim races need claims at once: no fair claim window (it is on by default).
export CRMD_EXCHANGE_CLAIM_WINDOW_ENDS=${CRMD_EXCHANGE_CLAIM_WINDOW_ENDS:-off}
echo "order-check: $crmd under strace in $work${CRMD_STORE_SYNCHRONOUS:+ (CRMD_STORE_SYNCHRONOUS=$CRMD_STORE_SYNCHRONOUS)}"
strace -f -tt -yy -x -s 65536 -e trace=$syscalls -o "$work/trace" \
    "$crmd" --socket "$sock" --database "$work/crm.sqlite" \
    --clock manual --clock-start 2026-01-12T09:00:00Z >"$work/crmd.log" 2>&1 &
strace_pid=$!

# crmd is strace's child; it listens once the socket exists.
for _ in $(seq 1 200); do
    [[ -z $crmd_pid ]] && crmd_pid=$(pgrep -P "$strace_pid" || true)
    [[ -S $sock ]] && break
    kill -0 "$strace_pid" 2>/dev/null || { echo "order-check: crmd exited at start:" >&2; cat "$work/crmd.log" >&2; exit 2; }
    sleep 0.1
done
[[ -S $sock && -n $crmd_pid ]] || { echo "order-check: crmd did not listen within 20 s" >&2; cat "$work/crmd.log" >&2; exit 2; }

wl_rc=0
timeout 60 python3 "$here/order_workload.py" --socket "$sock" --record "$work/record.jsonl" \
    --threads "${ORDER_CHECK_THREADS:-8}" --rounds "${ORDER_CHECK_ROUNDS:-25}" || wl_rc=$?

# A graceful stop: crmd finishes what is in flight and closes the database.
kill -TERM "$crmd_pid" 2>/dev/null || true
for _ in $(seq 1 150); do kill -0 "$strace_pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$strace_pid" 2>/dev/null; then
    echo "order-check: crmd did not stop within 15 s of SIGTERM" >&2
    [[ $wl_rc != 0 ]] || wl_rc=1
fi
wait "$strace_pid" 2>/dev/null || true
crmd_pid=
strace_pid=
if [[ $wl_rc != 0 ]]; then
    echo "order-check: the workload failed (exit $wl_rc); crmd's log:" >&2
    tail -20 "$work/crmd.log" >&2
fi
echo "order-check: crmd's exit: $(grep -E 'exited with|killed by' "$work/trace" | tail -1 | cut -c1-100)"
echo "order-check: trace $(du -h "$work/trace" | cut -f1), $(wc -l <"$work/trace") lines; crmd and the workload took $((SECONDS - start)) s"
[[ ${ORDER_CHECK_KEEP:-0} != 1 ]] || echo "order-check: keeping $work (trace, crmd.log, record.jsonl)"

check_rc=0
expect=()
[[ -s $work/record.jsonl ]] && expect=(--expect "$work/record.jsonl")
# The checker's last line is the summary: `order-check: N passed, M failed`.
python3 "$here/order_check.py" "$work/trace" "${expect[@]}" --wal "$work/crm.sqlite-wal" || check_rc=$?
if [[ $wl_rc != 0 && $check_rc == 0 ]]; then check_rc=1; fi
exit "$check_rc"
