import CSystemd
import Glibc

/// Fixes glibc's threshold for serving an allocation with its own mapping at 256 KiB. By default
/// the threshold rises to the size of the largest such block freed (up to 32 MiB), after which
/// large buffers (a connection's line buffer grown to 1 MiB, a batch's reply, a 1,000-card list)
/// come from the per-thread heaps and stay in crmd's RSS after they are freed: 128 connections of
/// one uid sending batches left crmd at 300 MiB once they had gone (crm-bench `hostile`). With
/// the threshold fixed, such a buffer is mapped and unmapped, so what a peer made crmd allocate
/// goes back to the system when the peer is done.
func fixLargeAllocationThreshold() {
    _ = mallopt(M_MMAP_THRESHOLD, 256 * 1024)
}
