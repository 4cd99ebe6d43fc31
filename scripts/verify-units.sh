#!/usr/bin/env bash
# Lints crmd's systemd files offline, the way they are installed. Needs no running systemd.
#
#   scripts/verify-units.sh [BUILDDIR]     (BUILDDIR holds crmd and crmctl; default: the release
#                                           build if there is one, else the debug build)
#
# 1. Stages an install with scripts/install.sh into a temporary DESTDIR (so the @BINDIR@
#    placeholders are filled in exactly as on a server).
# 2. `systemd-analyze verify` on the staged crmd.socket and crmd.service, with --root at the
#    staging tree, so ExecStart= must point at the installed crmd. Fails on ANY output: unknown
#    keys and unparsable values are only warnings and leave the exit status at 0.
# 3. `systemd-analyze security --offline=yes` on crmd.service: fails above MAX_EXPOSURE
#    (default 2.0; the scale is 0.0 best to 10.0 worst).
# 4. `systemd-sysusers --root` on the snippet: a crm group and a crmd system user in it, with
#    home /var/lib/crmd, and not a word of warning.
#
# systemd-analyze's embedded manager writes under /run, so everything runs in a private mount
# namespace with a tmpfs /run (as a non-root user, in a user namespace: `unshare -r`).
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
MAX_EXPOSURE=${MAX_EXPOSURE:-2.0}

BUILDDIR=${1:-}
if [ -z "$BUILDDIR" ]; then
    for d in "$HERE/.build/release" "$HERE/.build/debug"; do
        if [ -x "$d/crmd" ] && [ -x "$d/crmctl" ]; then
            BUILDDIR=$d
            break
        fi
    done
fi
if [ -z "$BUILDDIR" ] || [ ! -x "$BUILDDIR/crmd" ]; then
    echo "verify-units: no built crmd (in .build/release or .build/debug); run swift build first" >&2
    exit 1
fi
for tool in systemd-analyze systemd-sysusers unshare; do
    command -v "$tool" >/dev/null || {
        echo "verify-units: $tool is missing (apt-get install systemd util-linux)" >&2
        exit 1
    }
done

STAGE=$(mktemp -d /tmp/crmd-verify.XXXXXX)
trap 'rm -rf "$STAGE"' EXIT
"$HERE/scripts/install.sh" install DESTDIR="$STAGE/root" BUILDDIR="$BUILDDIR" >"$STAGE/install.log" 2>&1 || {
    cat "$STAGE/install.log" >&2
    echo "verify-units: staging the install failed" >&2
    exit 1
}

UNSHARE=(unshare -m)
[ "$(id -u)" -eq 0 ] || UNSHARE=(unshare -r -m)
exec "${UNSHARE[@]}" bash -s -- "$STAGE/root" "$MAX_EXPOSURE" <<'EOS'
set -uo pipefail
ROOT=$1 MAX=$2
UNITDIR=/usr/local/lib/systemd/system
mount -n --make-rprivate / && mount -n -t tmpfs -o mode=0755 tmpfs /run || {
    echo "verify-units: cannot set up a private /run" >&2
    exit 1
}
fail=0
ok() { echo "ok   - $*"; }
bad() { echo "FAIL - $*"; fail=1; }

# The staged tree holds only crmd's files. systemd's own units (sysinit.target, ...) and the
# programs the units run besides crmd (/bin/kill) come from this host, bound read-only.
mkdir -p "$ROOT/usr/lib/systemd" "$ROOT/usr/bin" "$ROOT/etc"
mount -n --bind -o ro /usr/lib/systemd "$ROOT/usr/lib/systemd"
mount -n --bind -o ro /usr/bin "$ROOT/usr/bin"
for l in bin lib lib64 sbin; do [ -L "/$l" ] && ln -sfn "$(readlink "/$l")" "$ROOT/$l"; done

out=$(cd / && systemd-analyze verify --man=no --generators=no --root="$ROOT" crmd.socket crmd.service 2>&1)
rc=$?
if [ $rc -eq 0 ] && [ -z "$out" ]; then ok "systemd-analyze verify crmd.socket crmd.service: no output"
else bad "systemd-analyze verify (rc=$rc):"; printf '%s\n' "$out" | sed 's/^/       /'; fi

# Fails when ExecStart= does not point at the installed binary (the check above would miss a
# wrong @BINDIR@ only if crmd happened to exist there).
exec_start=$(sed -n 's/^ExecStart=//p' "$ROOT$UNITDIR/crmd.service")
if [ "$exec_start" = /usr/local/bin/crmd ] && [ -x "$ROOT$exec_start" ]; then ok "ExecStart=$exec_start is the installed binary"
else bad "ExecStart=$exec_start is not the installed /usr/local/bin/crmd"; fi

threshold=$(awk -v m="$MAX" 'BEGIN { printf "%d", m * 10 + 0.5 }')
out=$(systemd-analyze security --offline=yes --no-pager --threshold="$threshold" "$ROOT$UNITDIR/crmd.service" 2>&1)
rc=$?
score=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for crmd.service: \([0-9.]*\).*/\1/p')
if [ $rc -eq 0 ] && [ -n "$score" ]; then ok "systemd-analyze security --offline: exposure $score (at most $MAX)"
else bad "systemd-analyze security --offline: exposure ${score:-?} (rc=$rc, at most $MAX)"
    printf '%s\n' "$out" | grep -v '^  ✓' | sed 's/^/       /'; fi

# The sysusers snippet, applied to an empty root.
out=$(systemd-sysusers --root="$ROOT" 2>&1)
rc=$?
crm_gid=$(awk -F: '$1 == "crm" { print $3 }' "$ROOT/etc/group" 2>/dev/null)
crmd=$(awk -F: '$1 == "crmd" { print $4 ":" $6 ":" $7 }' "$ROOT/etc/passwd" 2>/dev/null)
noise=$(printf '%s\n' "$out" | grep -v -e '^Creating group .crm. with GID' -e '^Creating user .crmd. (crmd CRM daemon) with UID' -e '^$')
if [ $rc -eq 0 ] && [ -z "$noise" ] && [ -n "$crm_gid" ] && [ "$crmd" = "$crm_gid:/var/lib/crmd:/usr/sbin/nologin" ]; then
    ok "systemd-sysusers: group crm ($crm_gid), system user crmd in it, home /var/lib/crmd"
else
    bad "systemd-sysusers (rc=$rc): crm gid '${crm_gid}', crmd 'gid:home:shell' = '${crmd}'"
    printf '%s\n' "$out" | sed 's/^/       /'
fi
exit $fail
EOS
