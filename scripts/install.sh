#!/usr/bin/env bash
# Installs (or removes) crmd on a server: the binaries, the systemd units, the sysusers.d snippet,
# the operations guide and the default configuration. It copies files that are already built
# (`make install` builds them first), so it also runs where there is no Swift toolchain.
#
#   scripts/install.sh install   [VAR=VALUE...]
#   scripts/install.sh uninstall [VAR=VALUE...]
#
# Variables (as arguments or in the environment; the defaults suit `sudo make install`):
#   PREFIX=/usr/local      BINDIR=$PREFIX/bin     DOCDIR=$PREFIX/share/doc/crmd
#   SYSCONFDIR=/etc        the configuration goes to $SYSCONFDIR/crmd/crmd.yaml
#   UNITDIR                $PREFIX/lib/systemd/system when PREFIX is /usr or /usr/local (both are on
#                          systemd's unit path), else /etc/systemd/system
#   SYSUSERSDIR            $PREFIX/lib/sysusers.d likewise, else /etc/sysusers.d
#   DESTDIR=               staging root for packaging; with a DESTDIR nothing outside it is touched
#   BUILDDIR=.build/release  where crmd and crmctl are taken from (install only)
#   DATADIR=$PREFIX/share  crmctl's shell completions (bash, zsh, fish) and man page go under it,
#                          generated from the built crmctl's own command definitions
#
# An existing configuration file is never overwritten: when it differs from the new default, the
# default is written beside it as crmd.yaml.default. Uninstall keeps the configuration, the
# database (/var/lib/crmd) and the crmd user and crm group, and says so.
# Without a DESTDIR and with systemd running, install creates the accounts (systemd-sysusers) and
# reloads systemd; uninstall stops and disables the units first.
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
}
[ $# -ge 1 ] || usage
ACTION=$1
shift
case $ACTION in install | uninstall) ;; *) usage ;; esac
for arg in "$@"; do
    case $arg in
    PREFIX=* | BINDIR=* | DOCDIR=* | SYSCONFDIR=* | UNITDIR=* | SYSUSERSDIR=* | DESTDIR=* | BUILDDIR=* | DATADIR=*)
        export "${arg?}"
        ;;
    *)
        echo "install.sh: unknown argument '$arg'" >&2
        usage
        ;;
    esac
done

PREFIX=${PREFIX:-/usr/local}
PREFIX=${PREFIX%/}
BINDIR=${BINDIR:-$PREFIX/bin}
DOCDIR=${DOCDIR:-$PREFIX/share/doc/crmd}
DATADIR=${DATADIR:-$PREFIX/share}
DATADIR=${DATADIR%/}
# Where bash-completion, zsh and fish look for completions of commands installed under PREFIX.
BASH_COMPLETION=$DATADIR/bash-completion/completions/crmctl
ZSH_COMPLETION=$DATADIR/zsh/site-functions/_crmctl
FISH_COMPLETION=$DATADIR/fish/vendor_completions.d/crmctl.fish
MANPAGE=$DATADIR/man/man1/crmctl.1
SYSCONFDIR=${SYSCONFDIR:-/etc}
SYSCONFDIR=${SYSCONFDIR%/}
case $PREFIX in
/usr | /usr/local)
    UNITDIR=${UNITDIR:-$PREFIX/lib/systemd/system}
    SYSUSERSDIR=${SYSUSERSDIR:-$PREFIX/lib/sysusers.d}
    ;;
*)
    UNITDIR=${UNITDIR:-/etc/systemd/system}
    SYSUSERSDIR=${SYSUSERSDIR:-/etc/sysusers.d}
    ;;
esac
DESTDIR=${DESTDIR:-}
DESTDIR=${DESTDIR%/}
BUILDDIR=${BUILDDIR:-$HERE/.build/release}
for d in "$BINDIR" "$DOCDIR" "$SYSCONFDIR" "$UNITDIR" "$SYSUSERSDIR" "$DATADIR"; do
    case $d in /*) ;; *)
        echo "install.sh: '$d' is not an absolute path" >&2
        exit 2
        ;;
    esac
done

# The live system is changed only without a DESTDIR; systemd is asked only when it runs (PID 1).
LIVE=0
[ -z "$DESTDIR" ] && LIVE=1
SYSTEMD=0
[ $LIVE = 1 ] && [ -d /run/systemd/system ] && SYSTEMD=1
if [ $LIVE = 1 ] && [ "$(id -u)" -ne 0 ]; then
    echo "install.sh: $ACTION into the system needs root: sudo make $ACTION (or set DESTDIR to stage the files)" >&2
    exit 1
fi

say() { echo "  $*"; }

if [ "$ACTION" = install ]; then
    for b in crmd crmctl; do
        if [ ! -x "$BUILDDIR/$b" ]; then
            echo "install.sh: $BUILDDIR/$b is missing; build it first (make install does)" >&2
            exit 1
        fi
    done
    echo "installing crmd into ${DESTDIR:+$DESTDIR (DESTDIR) + }$PREFIX"
    install -d -m 0755 "$DESTDIR$BINDIR" "$DESTDIR$UNITDIR" "$DESTDIR$SYSUSERSDIR" "$DESTDIR$DOCDIR" \
        "$DESTDIR$SYSCONFDIR/crmd"
    for b in crmd crmctl; do
        install -m 0755 "$BUILDDIR/$b" "$DESTDIR$BINDIR/$b"
        say "$BINDIR/$b"
    done

    # crmctl's shell completions and man page, from its own command definitions.
    for shell in bash zsh fish; do
        case $shell in bash) file=$BASH_COMPLETION ;; zsh) file=$ZSH_COMPLETION ;; fish) file=$FISH_COMPLETION ;; esac
        install -d -m 0755 "$DESTDIR$(dirname "$file")"
        "$BUILDDIR/crmctl" --generate-completion-script "$shell" >"$DESTDIR$file"
        chmod 0644 "$DESTDIR$file"
        say "$file"
    done
    if command -v python3 >/dev/null; then
        install -d -m 0755 "$DESTDIR$(dirname "$MANPAGE")"
        "$BUILDDIR/crmctl" --experimental-dump-help | python3 "$HERE/scripts/crmctl-man.py" >"$DESTDIR$MANPAGE"
        chmod 0644 "$DESTDIR$MANPAGE"
        say "$MANPAGE"
    else
        say "no python3 here: the man page was not made (crmctl --help has the same text)"
    fi

    # The units, with the install paths filled in. The service reads its configuration from
    # /etc/crmd (ConfigurationDirectory=); another SYSCONFDIR is passed with CRMD_CONFIG.
    for u in crmd.service crmd.socket; do
        tmp=$(mktemp)
        sed -e "s|@BINDIR@|$BINDIR|g" -e "s|@DOCDIR@|$DOCDIR|g" "$HERE/systemd/$u.in" >"$tmp"
        if [ "$u" = crmd.service ] && [ "$SYSCONFDIR" != /etc ]; then
            sed -i "/^ConfigurationDirectory=/a Environment=CRMD_CONFIG=$SYSCONFDIR/crmd/crmd.yaml" "$tmp"
        fi
        if grep -n '@[A-Z]*@' "$tmp" >&2; then
            echo "install.sh: systemd/$u.in has a placeholder install.sh does not know" >&2
            rm -f "$tmp"
            exit 1
        fi
        install -m 0644 "$tmp" "$DESTDIR$UNITDIR/$u"
        rm -f "$tmp"
        say "$UNITDIR/$u"
    done
    install -m 0644 "$HERE/systemd/crmd.sysusers.conf" "$DESTDIR$SYSUSERSDIR/crmd.conf"
    say "$SYSUSERSDIR/crmd.conf"
    install -m 0644 "$HERE/docs/operations.md" "$DESTDIR$DOCDIR/operations.md"
    say "$DOCDIR/operations.md"

    # The configuration: never overwrite one that is there (it may be edited).
    conf=$DESTDIR$SYSCONFDIR/crmd/crmd.yaml
    if [ ! -e "$conf" ]; then
        install -m 0644 "$HERE/config/crmd.yaml" "$conf"
        say "$SYSCONFDIR/crmd/crmd.yaml"
    elif cmp -s "$HERE/config/crmd.yaml" "$conf"; then
        say "$SYSCONFDIR/crmd/crmd.yaml (unchanged)"
    else
        install -m 0644 "$HERE/config/crmd.yaml" "$conf.default"
        say "$SYSCONFDIR/crmd/crmd.yaml kept as it is (it was edited);"
        say "  the new default is beside it: $SYSCONFDIR/crmd/crmd.yaml.default (diff them to see what changed)"
    fi

    if [ $SYSTEMD = 1 ]; then
        systemd-sysusers "$SYSUSERSDIR/crmd.conf"
        systemctl daemon-reload
        say "created the crmd user and the crm group (systemd-sysusers); reloaded systemd"
        if systemctl -q is-active crmd.service; then
            say "crmd.service is running the old binary: sudo systemctl restart crmd"
        fi
    elif [ $LIVE = 1 ]; then
        say "systemd is not running here: run systemd-sysusers and systemctl daemon-reload on the server"
    fi
    if [ $LIVE = 1 ]; then
        cat <<EOF

Next steps:
  sudo systemctl enable --now crmd.socket          # crmd starts on the first connection
  sudo usermod -aG crm LOGIN                        # who may use crmctl (they log in again)
  sudo crmctl user add LOGIN --name "Full Name" --role manager --uid \$(id -u LOGIN)
  journalctl -u crmd                                # crmd's log
Settings: $SYSCONFDIR/crmd/crmd.yaml (then: sudo systemctl reload crmd). Guide: $DOCDIR/operations.md
EOF
    fi
    exit 0
fi

# uninstall
echo "removing crmd from ${DESTDIR:+$DESTDIR (DESTDIR) + }$PREFIX"
if [ $SYSTEMD = 1 ]; then
    systemctl disable --now crmd.socket crmd.service 2>/dev/null || true
    say "stopped and disabled crmd.socket and crmd.service"
fi
for f in "$BINDIR/crmd" "$BINDIR/crmctl" "$UNITDIR/crmd.service" "$UNITDIR/crmd.socket" \
    "$SYSUSERSDIR/crmd.conf" "$DOCDIR/operations.md" "$MANPAGE" "$BASH_COMPLETION" "$ZSH_COMPLETION" "$FISH_COMPLETION"; do
    if [ -e "$DESTDIR$f" ]; then
        rm -f "$DESTDIR$f"
        say "removed $f"
    fi
done
rmdir "$DESTDIR$DOCDIR" 2>/dev/null || true
[ $SYSTEMD = 1 ] && systemctl daemon-reload
cat <<EOF
Kept (remove them yourself if you no longer need them):
  $SYSCONFDIR/crmd/        the configuration
  /var/lib/crmd/   the database
  the crmd user and the crm group (userdel crmd; groupdel crm)
EOF
