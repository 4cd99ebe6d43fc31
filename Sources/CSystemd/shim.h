// libsystemd, as crmd uses it: readiness and watchdog (sd-daemon), socket activation
// (sd_listen_fds_with_names) and the native journal protocol (sd_journal_sendv).
// From Debian's libsystemd-dev.
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
