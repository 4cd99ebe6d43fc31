#!/usr/bin/env bash
# Installs what crmd needs to build and test on a fresh Debian machine with Swift:
# the system libraries it links (SQLite, systemd), time zone data, and the tools the tests use
# (socat, setpriv from util-linux, the sqlite3 shell that opens backups, systemd's
# systemd-journald and journalctl for the journal test run by scripts/with-journald.sh,
# systemd-analyze and systemd-sysusers for the unit checks, systemd-nspawn for make e2e; strace
# for make order-check, FUSE 3 and pkg-config to build tools/powerfs for make power-test).
set -euo pipefail
need=()
for pkg in libsqlite3-dev libsystemd-dev tzdata socat util-linux sqlite3 systemd systemd-container strace fuse3 libfuse3-dev pkg-config python3; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
    echo "installing: ${need[*]}"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
command -v swift >/dev/null || { echo "swift is not on PATH (expected /opt/swift/usr/bin)"; exit 1; }
