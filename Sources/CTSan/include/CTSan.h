#ifndef CRMD_CTSAN_H
#define CRMD_CTSAN_H

/// ThreadSanitizer's happens-before annotations for a lock it cannot see (see CRMSync's
/// `Locked`). Each does nothing unless this target is compiled with -fsanitize=thread
/// (`swift build --sanitize=thread`).

/// The calling thread acquires `address`: it sees everything done before a release of it.
void crmd_tsan_acquire(const void *address);
/// The calling thread releases `address`, for the next acquire of it.
void crmd_tsan_release(const void *address);

#endif
