// libsystemd, as crmd uses it: readiness and watchdog (sd-daemon), socket activation
// (sd_listen_fds_with_names) and the native journal protocol (sd_journal_sendv).
// From Debian's libsystemd-dev.
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

// Three glibc calls the listener needs that Glibc's Swift overlay hides behind _GNU_SOURCE:
// accept4 and pipe2 give descriptors close-on-exec atomically (the delivery command never
// inherits a client's socket), and thread names show in `top -H` and the journal's stack traces.
#include <sys/socket.h>
#include <pthread.h>
extern int accept4(int fd, struct sockaddr *addr, socklen_t *addr_len, int flags);
extern int pipe2(int fds[2], int flags);
extern int pthread_setname_np(pthread_t thread, const char *name);

// glibc's allocator tuning (Allocator.swift): malloc.h is not in Glibc's Swift module.
#include <malloc.h>
