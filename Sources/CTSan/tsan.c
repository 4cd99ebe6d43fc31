#include "CTSan.h"

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CRMD_TSAN 1
#endif
#endif

#ifdef CRMD_TSAN
// From the ThreadSanitizer runtime (sanitizer/tsan_interface.h).
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);

void crmd_tsan_acquire(const void *address) { __tsan_acquire((void *)address); }
void crmd_tsan_release(const void *address) { __tsan_release((void *)address); }
#else
void crmd_tsan_acquire(const void *address) { (void)address; }
void crmd_tsan_release(const void *address) { (void)address; }
#endif
