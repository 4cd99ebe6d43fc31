#!/usr/bin/env bash
# End-to-end test of crmd under a real systemd: boots systemd (as PID 1 of a container, with
# systemd-nspawn), installs crmd there with scripts/install.sh, and drives it the way an
# administrator and the sales staff would. `make e2e` builds the release binaries and runs it.
#
#   scripts/e2e-systemd.sh [BUILDDIR]    BUILDDIR holds crmd and crmctl (default .build/release);
#                                        they must not need the Swift toolchain at run time
#                                        (make e2e builds them with --static-swift-stdlib)
#
# Needs root, systemd-nspawn (apt-get install systemd-container) and util-linux. Works on a host
# whose PID 1 is not systemd (a CI machine or container): the container gets a private cgroup
# and a private /run, and nothing is written to the host. The container is the host's own /usr
# on an empty tmpfs root (--volatile=yes), with an empty writable /usr/local to install into.
# Logs (console, journal, test output) stay in the LOGDIR printed at the end.
#
# The checks themselves run inside the container: scripts/e2e-inside.sh.
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
TIMEOUT=${E2E_TIMEOUT:-240}

BUILDDIR=$(realpath "${1:-$HERE/.build/release}")
die() {
    echo "e2e-systemd: $*" >&2
    exit 1
}
[ "$(id -u)" -eq 0 ] || die "needs root (it boots a container): sudo make e2e"
for tool in systemd-nspawn nsenter unshare; do
    command -v "$tool" >/dev/null || die "$tool is missing (apt-get install systemd-container util-linux)"
done
for b in crmd crmctl; do [ -x "$BUILDDIR/$b" ] || die "$BUILDDIR/$b is missing; make e2e builds it"; done

LOGDIR=$(mktemp -d /tmp/crmd-e2e.XXXXXX)
NAME=crmd-e2e-$$
T0=$(date +%s.%N)
elapsed() { awk -v t0="$T0" -v t1="$(date +%s.%N)" 'BEGIN { printf "%.1fs", t1 - t0 }'; }
log() { echo "[e2e $(elapsed)] $*" >&2; }

# With an empty /etc, systemd's first boot enables every unit by its preset ("preset-all"):
# crmd.socket must stay disabled until the test enables it, as an administrator would.
echo 'disable *' >"$LOGDIR/99-e2e.preset"

args=(-D / --volatile=yes --register=no --console=read-only --machine="$NAME" -q
    --bind-ro="$HERE:/src/crmd" --bind-ro="$BUILDDIR:/src/bin" --tmpfs=/usr/local:mode=0755
    --bind-ro="$LOGDIR/99-e2e.preset:/etc/systemd/system-preset/99-e2e.preset")
# A host without systemd as PID 1 cannot give nspawn a scope unit: it stays in our cgroup.
[ -d /run/systemd/system ] || args+=(--keep-unit)
args+=(-b systemd.mask=systemd-firstboot.service)

# A private cgroup, so the container's payload/ and supervisor/ cgroups are not created in the
# root cgroup of a host that systemd does not manage; removed at the end.
CGROUPS=()
if [ ! -d /run/systemd/system ]; then
    if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
        CGROUPS=(/sys/fs/cgroup)
    else
        for h in /sys/fs/cgroup/unified /sys/fs/cgroup/systemd; do [ -d "$h" ] && CGROUPS+=("$h"); done
    fi
    for h in "${CGROUPS[@]}"; do
        mkdir "$h/$NAME"
        echo $$ >"$h/$NAME/cgroup.procs"
    done
fi

# nspawn keeps state in /run/systemd/nspawn: a private tmpfs /run unless /run already is one.
prep="mount -n --make-rprivate /"
[ "$(stat -fc %T /run)" = tmpfs ] || prep="$prep && mount -n -t tmpfs -o mode=0755 tmpfs /run"
unshare -m sh -c "$prep && exec systemd-nspawn \"\$@\"" nspawn "${args[@]}" >"$LOGDIR/console.log" 2>&1 </dev/null &
NSPAWN=$!
LEADER=""

cleanup() {
    local rc=$?
    if [ -n "$LEADER" ] && kill -0 "$LEADER" 2>/dev/null; then kill -KILL "$LEADER" 2>/dev/null || true; fi
    kill "$NSPAWN" 2>/dev/null || true
    wait "$NSPAWN" 2>/dev/null || true
    for h in "${CGROUPS[@]}"; do
        echo $$ >"$h/cgroup.procs"
        find "$h/$NAME" -depth -type d -exec rmdir {} \; 2>/dev/null || true
    done
    exit $rc
}
trap cleanup EXIT

deadline=$(($(date +%s) + TIMEOUT))
remaining() {
    local r=$((deadline - $(date +%s)))
    [ $r -gt 1 ] && echo $r || echo 1
}
until [ -n "$LEADER" ]; do
    for c in $(ps -o pid= --ppid "$NSPAWN" 2>/dev/null); do
        [ "$(readlink "/proc/$c/exe" 2>/dev/null)" = /usr/lib/systemd/systemd ] && LEADER=$c
    done
    if ! kill -0 "$NSPAWN" 2>/dev/null; then
        cat "$LOGDIR/console.log" >&2
        die "systemd-nspawn exited before the container's systemd started (console above)"
    fi
    [ "$(date +%s)" -lt "$deadline" ] || die "timeout waiting for the container's PID 1"
    sleep 0.1
done
IN=(nsenter -t "$LEADER" -a)
state=""
until [[ $state =~ ^(running|degraded)$ ]]; do
    state=$(timeout "$(remaining)" "${IN[@]}" systemctl is-system-running --wait 2>/dev/null || true)
    [ "$(date +%s)" -lt "$deadline" ] || die "timeout waiting for the container to boot (state '$state')"
    [[ $state =~ ^(running|degraded)$ ]] || sleep 0.2
done
log "container booted ($state), its PID 1 is host pid $LEADER"
[ "$state" = running ] || "${IN[@]}" systemctl --failed --no-pager >&2 || true

set +e
timeout "$(remaining)" "${IN[@]}" env -i PATH=/usr/local/bin:/usr/bin:/usr/sbin LANG=C.UTF-8 \
    /src/crmd/scripts/e2e-inside.sh 2>&1 | tee "$LOGDIR/test.log"
rc=${PIPESTATUS[0]}
set -e
[ $rc -eq 124 ] && log "the test ran out of time (E2E_TIMEOUT=$TIMEOUT s)"
"${IN[@]}" journalctl -b --no-pager -o short-monotonic >"$LOGDIR/journal.txt" 2>&1 || true
if [ $rc -ne 0 ]; then
    echo "--- journalctl -u crmd.socket -u crmd.service (last 40 lines) ---" >&2
    "${IN[@]}" journalctl -b --no-pager -o short-monotonic -u crmd.socket -u crmd.service | tail -40 >&2 || true
fi
"${IN[@]}" systemctl poweroff >/dev/null 2>&1 || true
if timeout 20 tail --pid="$NSPAWN" -f /dev/null; then LEADER=""; fi
if [ $rc -eq 0 ]; then log "PASS in $(elapsed) (logs in $LOGDIR)"; else log "FAIL (rc $rc) after $(elapsed); logs in $LOGDIR"; fi
exit $rc
