#!/usr/bin/env bash
# Runs a command against a private, throw-away systemd-journald, without systemd as PID 1.
# crmd's journald test uses it; it is also a way to see crmd's journal fields on a machine
# without systemd:
#
#   sudo scripts/with-journald.sh /tmp/j -- .build/debug/crmd --socket /tmp/j/crmd.sock \
#        --database /tmp/j/crm.sqlite            # with CRMD_LOG_TARGET=journald in the environment
#   journalctl -D /tmp/j/journal -o verbose CRM_EVENT=zone.changed
#
# Usage: with-journald.sh [--stderr-to-journal] DIR -- COMMAND [ARGS...]
#
# --stderr-to-journal connects COMMAND's stderr to journald's stream socket and sets
# JOURNAL_STREAM to that stream's device:inode, as systemd does for a service whose stderr goes
# to the journal (so crmd's log.target=auto picks the journal); stdout is left alone.
#
# In a private mount namespace (unshare -m) it mounts a tmpfs over /run (and over
# /var/log/journal, if that exists), so the host's files are untouched; binds DIR/journal onto
# /run/log/journal, where journald keeps a volatile journal; starts systemd-journald with a
# drop-in (volatile storage, no rate limit, no kernel messages, no forwarding); waits for its
# socket (/run/systemd/journal/socket, a path fixed in libsystemd); then runs COMMAND. Entries
# are readable from outside with `journalctl -D DIR/journal` as soon as they arrive.
# COMMAND runs as the script's own process (exec), so signals reach it directly and the script's
# exit status is COMMAND's; when it exits, journald is stopped. journald's own output is in
# DIR/journald.log.
#
# Needs root (mount namespaces), util-linux `unshare` and systemd-journald (Debian: systemd).
set -euo pipefail

STREAM=0
if [ "${1:-}" = "--stderr-to-journal" ]; then
    STREAM=1
    shift
fi
if [ $# -lt 3 ] || [ "$2" != "--" ]; then
    echo "usage: $0 [--stderr-to-journal] DIR -- COMMAND [ARGS...]" >&2
    exit 2
fi
DIR=$(realpath -m "$1")
shift 2
JOURNALD=""
for candidate in /lib/systemd/systemd-journald /usr/lib/systemd/systemd-journald; do
    if [ -x "$candidate" ]; then
        JOURNALD=$candidate
        break
    fi
done
[ -n "$JOURNALD" ] || { echo "$0: systemd-journald not found (Debian package: systemd)" >&2; exit 2; }
command -v unshare >/dev/null || { echo "$0: unshare not found (Debian package: util-linux)" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "$0: needs root for a private mount namespace" >&2; exit 2; }
mkdir -p "$DIR/journal"

exec unshare --mount --propagation private bash -c '
set -euo pipefail
DIR=$1
JOURNALD=$2
STREAM=$3
shift 3
# mount -n: do not write /run/mount/utab on the host before /run is replaced.
mount -n -t tmpfs -o mode=0755 tmpfs /run
if [ -d /var/log/journal ]; then mount -n -t tmpfs -o mode=0755 tmpfs /var/log/journal; fi
mkdir -p /run/log/journal /run/systemd/journal /run/systemd/journald.conf.d
mount -n --bind "$DIR/journal" /run/log/journal
cat >/run/systemd/journald.conf.d/with-journald.conf <<EOF
[Journal]
Storage=volatile
RateLimitBurst=0
ReadKMsg=no
ForwardToSyslog=no
ForwardToKMsg=no
ForwardToConsole=no
ForwardToWall=no
EOF
# journald and the watcher below get no descriptor beyond stderr: a parent that learns of
# COMMAND'\''s exit when a descriptor it passed is closed (Foundation'\''s Process does) would
# otherwise wait for them too.
close_extra_fds() {
    local fd
    for fd in /proc/self/fd/*; do
        fd=${fd##*/}
        if [ "$fd" -gt 2 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
}
(close_extra_fds; SYSTEMD_LOG_TARGET=console exec "$JOURNALD") </dev/null >"$DIR/journald.log" 2>&1 &
journald=$!
for _ in $(seq 200); do
    [ -S /run/systemd/journal/socket ] && break
    kill -0 $journald 2>/dev/null || break
    sleep 0.025
done
if [ ! -S /run/systemd/journal/socket ]; then
    echo "with-journald: systemd-journald did not start:" >&2
    cat "$DIR/journald.log" >&2
    kill $journald 2>/dev/null || true
    exit 1
fi
# COMMAND replaces this shell and keeps its pid, so a signal sent to the script reaches COMMAND
# itself (a shell could not pass on signals its parent left blocked). When COMMAND exits, a
# watcher stops journald, which writes out and closes the journal files.
(close_extra_fds; tail --pid=$$ -s 0.1 -f /dev/null || true; kill -TERM $journald) </dev/null >/dev/null 2>&1 &
if [ "$STREAM" = 1 ]; then
    # systemd-cat connects stdout and stderr to a journal stream and execs; stdout is put back.
    exec 3>&1
    exec systemd-cat --identifier="$(basename "$1")" bash -c '\''
        exec 1>&3 3>&-
        JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2)
        export JOURNAL_STREAM
        exec "$@"'\'' with-journald "$@"
fi
exec "$@"
' with-journald "$DIR" "$JOURNALD" "$STREAM" "$@"
