/*
 * powerfs: a passthrough FUSE filesystem that forgets what was not fsynced.
 *
 *   powerfs [--debug] [--single-thread] [--allow-other] BACKING_DIR MOUNTPOINT
 *
 * BACKING_DIR plays the disk, powerfs's memory plays the page cache. File
 * *data* written through MOUNTPOINT is kept in an in-memory overlay and only
 * reaches BACKING_DIR when the file is fsync'ed / fdatasync'ed. SIGKILL of the
 * powerfs process is the power cut: the overlay is gone, BACKING_DIR holds
 * exactly what had been synced. Metadata operations (create, unlink, rename,
 * mkdir, chmod, ...) are applied to BACKING_DIR at once (durable immediately),
 * as in Jepsen's LazyFS by default. See README.md for the model and caveats.
 *
 * Build:
 *   gcc -O2 -Wall -Wextra -Werror $(pkg-config --cflags --libs fuse3) \
 *       -o powerfs powerfs.c
 *
 * Design
 * ------
 * - Every operation works relative to an O_DIRECTORY fd of BACKING_DIR (the
 *   *at() syscalls), so paths from FUSE ("/a/b") become "a/b".
 * - Open files keep a backing fd (struct handle). With nullpath_ok and
 *   hard_remove, files unlinked while open keep working through that fd.
 * - Overlays are keyed by the backing file's (st_dev, st_ino): renames and
 *   hard links see the same pending data. A node (struct node) exists while
 *   the file is open or has pending (unsynced) state; it is freed when it is
 *   neither, or when its last link is removed and the last handle is closed.
 * - An overlay is {logical size, base, hash map page index -> 4 KiB page}.
 *   "base" is how many leading bytes of the backing file are still part of
 *   the logical content: it starts at the backing size and only shrinks with
 *   truncates (bytes past a truncation must read as zeros if the file grows
 *   again, not as the old backing bytes). Invariants:
 *       base <= size;
 *       a byte at pos < size is: the dirty page's byte if that page is
 *       dirty, else the backing byte if pos < base, else 0;
 *       bytes of dirty pages at or past size are 0.
 * - fsync: ftruncate(backing, base) if it is longer, pwrite every dirty page
 *   (clipped to size), ftruncate(backing, size), drop the overlay.
 * - One global mutex protects the node table, all overlays and the backing
 *   I/O done for them (correctness first; the work under the lock is a few
 *   memcpy/pread/pwrite calls against the backing page cache).
 */
#define FUSE_USE_VERSION 31
#define _GNU_SOURCE

#include <fuse.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <unistd.h>

#define PFS_PAGE_SHIFT 12
#define PFS_PAGE ((size_t)1 << PFS_PAGE_SHIFT)
#define PFS_PAGE_MASK (PFS_PAGE - 1)

/* ------------------------------------------------------------------------ */
/* Globals                                                                    */
/* ------------------------------------------------------------------------ */

static int g_backing_fd = -1;               /* O_DIRECTORY fd of BACKING_DIR */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

/* Counters (protected by g_lock). */
static struct {
    uint64_t writes, write_bytes, reads, read_bytes, fsyncs, flushed_pages;
    uint64_t truncates, overlay_files, dirty_pages, peak_dirty_pages;
    uint64_t dropped_pages; /* dirty pages discarded by truncate/unlink */
} g_stats;

static void lock(void) { pthread_mutex_lock(&g_lock); }
static void unlock(void) { pthread_mutex_unlock(&g_lock); }

/* FUSE gives absolute paths ("/", "/a/b"); the *at() calls want "." / "a/b". */
static const char *rel(const char *path)
{
    while (*path == '/')
        path++;
    return *path ? path : ".";
}

/* ------------------------------------------------------------------------ */
/* Page map: open addressing, linear probing, page index -> page              */
/* ------------------------------------------------------------------------ */

struct page {
    unsigned char data[PFS_PAGE];
};

struct pagemap {
    uint64_t *keys;
    struct page **vals; /* NULL = empty slot */
    size_t cap;         /* power of two, or 0 */
    size_t count;
};

static uint64_t mix64(uint64_t x)
{
    /* splitmix64 finalizer */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

static struct page *pm_find(const struct pagemap *pm, uint64_t key)
{
    if (pm->count == 0)
        return NULL;
    size_t mask = pm->cap - 1;
    for (size_t i = mix64(key) & mask;; i = (i + 1) & mask) {
        if (pm->vals[i] == NULL)
            return NULL;
        if (pm->keys[i] == key)
            return pm->vals[i];
    }
}

/* Inserts into a table known to have room and not to contain key. */
static void pm_put_raw(struct pagemap *pm, uint64_t key, struct page *p)
{
    size_t mask = pm->cap - 1;
    size_t i = mix64(key) & mask;
    while (pm->vals[i] != NULL)
        i = (i + 1) & mask;
    pm->keys[i] = key;
    pm->vals[i] = p;
    pm->count++;
}

/* Replaces the table by one of capacity newcap holding the same entries. */
static int pm_rehash(struct pagemap *pm, size_t newcap)
{
    uint64_t *keys = calloc(newcap, sizeof *keys);
    struct page **vals = calloc(newcap, sizeof *vals);
    if (keys == NULL || vals == NULL) {
        free(keys);
        free(vals);
        return -ENOMEM;
    }
    struct pagemap old = *pm;
    pm->keys = keys;
    pm->vals = vals;
    pm->cap = newcap;
    pm->count = 0;
    for (size_t i = 0; i < old.cap; i++)
        if (old.vals[i] != NULL)
            pm_put_raw(pm, old.keys[i], old.vals[i]);
    free(old.keys);
    free(old.vals);
    return 0;
}

static int pm_insert(struct pagemap *pm, uint64_t key, struct page *p)
{
    if ((pm->count + 1) * 2 > pm->cap) { /* keep load factor <= 1/2 */
        int r = pm_rehash(pm, pm->cap ? pm->cap * 2 : 16);
        if (r < 0)
            return r;
    }
    pm_put_raw(pm, key, p);
    return 0;
}

static void pm_free_all(struct pagemap *pm)
{
    for (size_t i = 0; i < pm->cap; i++)
        free(pm->vals[i]);
    free(pm->keys);
    free(pm->vals);
    memset(pm, 0, sizeof *pm);
}

/* Removes slot i by backward-shift deletion (keeps probe chains intact
 * without tombstones or allocation). */
static void pm_remove_at(struct pagemap *pm, size_t i)
{
    size_t mask = pm->cap - 1;
    pm->vals[i] = NULL;
    pm->count--;
    for (size_t j = (i + 1) & mask; pm->vals[j] != NULL; j = (j + 1) & mask) {
        size_t h = mix64(pm->keys[j]) & mask;
        /* The entry at j may stay if its home h lies cyclically in (i, j]. */
        bool stays = i <= j ? (i < h && h <= j) : (i < h || h <= j);
        if (stays)
            continue;
        pm->keys[i] = pm->keys[j];
        pm->vals[i] = pm->vals[j];
        pm->vals[j] = NULL;
        i = j;
    }
}

/* Frees every page with index >= first; returns how many were freed. */
static size_t pm_drop_from(struct pagemap *pm, uint64_t first)
{
    size_t dropped = 0;
    for (size_t i = 0; i < pm->cap;) {
        if (pm->vals[i] != NULL && pm->keys[i] >= first) {
            free(pm->vals[i]);
            pm_remove_at(pm, i); /* may move another entry into i: recheck */
            dropped++;
        } else {
            i++;
        }
    }
    if (pm->count == 0)
        pm_free_all(pm);
    return dropped;
}

/* ------------------------------------------------------------------------ */
/* Nodes: one per backing inode that is open or has pending data              */
/* ------------------------------------------------------------------------ */

struct node {
    struct node *next; /* hash chain */
    dev_t dev;
    ino_t ino;
    unsigned refs;     /* open handles */
    bool orphan;       /* last link removed: free when refs drops to 0 */
    bool has_ov;       /* an overlay (pending, unsynced state) exists */
    off_t size;        /* logical size (valid if has_ov) */
    off_t base;        /* leading backing bytes still valid (if has_ov) */
    struct pagemap pages;
};

static struct node **g_nodes;
static size_t g_nbuckets, g_nnodes;

static size_t node_bucket(dev_t dev, ino_t ino, size_t nb)
{
    return mix64((uint64_t)ino ^ mix64((uint64_t)dev)) & (nb - 1);
}

static struct node *node_find(dev_t dev, ino_t ino)
{
    if (g_nbuckets == 0)
        return NULL;
    for (struct node *n = g_nodes[node_bucket(dev, ino, g_nbuckets)]; n; n = n->next)
        if (n->dev == dev && n->ino == ino)
            return n;
    return NULL;
}

static void node_table_grow(void)
{
    size_t nb = g_nbuckets ? g_nbuckets * 2 : 256;
    struct node **tab = calloc(nb, sizeof *tab);
    if (tab == NULL)
        return; /* keep the old table: longer chains, still correct */
    for (size_t i = 0; i < g_nbuckets; i++) {
        struct node *n = g_nodes[i];
        while (n) {
            struct node *next = n->next;
            size_t b = node_bucket(n->dev, n->ino, nb);
            n->next = tab[b];
            tab[b] = n;
            n = next;
        }
    }
    free(g_nodes);
    g_nodes = tab;
    g_nbuckets = nb;
}

/* Finds or creates the node of (dev, ino); NULL only when out of memory. */
static struct node *node_get(dev_t dev, ino_t ino)
{
    struct node *n = node_find(dev, ino);
    if (n)
        return n;
    if (g_nnodes + 1 > g_nbuckets * 2)
        node_table_grow();
    if (g_nbuckets == 0)
        return NULL;
    n = calloc(1, sizeof *n);
    if (n == NULL)
        return NULL;
    n->dev = dev;
    n->ino = ino;
    size_t b = node_bucket(dev, ino, g_nbuckets);
    n->next = g_nodes[b];
    g_nodes[b] = n;
    g_nnodes++;
    return n;
}

/* Forgets the overlay: pending data is discarded (or was just flushed). */
static void ov_drop(struct node *n)
{
    if (!n->has_ov)
        return;
    g_stats.dirty_pages -= n->pages.count;
    pm_free_all(&n->pages);
    n->has_ov = false;
    g_stats.overlay_files--;
}

/* Frees the node if nothing needs it any more. */
static void node_release_if_unused(struct node *n)
{
    if (n->refs > 0)
        return;
    if (n->has_ov && !n->orphan)
        return; /* pending data of a closed file: kept until a cut or fsync */
    if (n->has_ov)
        g_stats.dropped_pages += n->pages.count;
    ov_drop(n);
    struct node **pp = &g_nodes[node_bucket(n->dev, n->ino, g_nbuckets)];
    while (*pp != n)
        pp = &(*pp)->next;
    *pp = n->next;
    g_nnodes--;
    free(n);
}

/* The last link of (dev, ino) was removed. */
static void node_unlinked(dev_t dev, ino_t ino)
{
    struct node *n = node_find(dev, ino);
    if (n == NULL)
        return;
    n->orphan = true;
    node_release_if_unused(n);
}

/* ------------------------------------------------------------------------ */
/* Overlay operations (all with g_lock held)                                  */
/* ------------------------------------------------------------------------ */

static void ov_begin(struct node *n, off_t backing_size)
{
    if (n->has_ov)
        return;
    n->has_ov = true;
    n->size = backing_size;
    n->base = backing_size;
    g_stats.overlay_files++;
}

/* Reads len bytes at pos from the backing fd, but only the part below
 * limit; everything else (and anything past the backing EOF) is zero. */
static int read_backing(int fd, unsigned char *buf, size_t len, off_t pos, off_t limit)
{
    size_t avail = 0;
    if (limit > pos)
        avail = (uint64_t)(limit - pos) < len ? (size_t)(limit - pos) : len;
    size_t got = 0;
    while (got < avail) {
        ssize_t r = pread(fd, buf + got, avail - got, pos + (off_t)got);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (r == 0)
            break; /* backing shorter than expected: rest reads as zeros */
        got += (size_t)r;
    }
    memset(buf + got, 0, len - got);
    return 0;
}

static int pwrite_full(int fd, const unsigned char *buf, size_t len, off_t pos)
{
    size_t done = 0;
    while (done < len) {
        ssize_t r = pwrite(fd, buf + done, len - done, pos + (off_t)done);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (r == 0)
            return -EIO;
        done += (size_t)r;
    }
    return 0;
}

static ssize_t ov_read(struct node *n, int fd, char *out, size_t len, off_t off)
{
    unsigned char *buf = (unsigned char *)out;
    if (off >= n->size)
        return 0;
    if ((uint64_t)(n->size - off) < len)
        len = (size_t)(n->size - off);
    size_t done = 0;
    while (done < len) {
        off_t pos = off + (off_t)done;
        uint64_t idx = (uint64_t)pos >> PFS_PAGE_SHIFT;
        size_t in = (size_t)pos & PFS_PAGE_MASK;
        size_t chunk = PFS_PAGE - in < len - done ? PFS_PAGE - in : len - done;
        struct page *p = pm_find(&n->pages, idx);
        if (p) {
            memcpy(buf + done, p->data + in, chunk);
            done += chunk;
            continue;
        }
        /* A run of clean pages: one pread for all of it. */
        size_t run = chunk;
        while (done + run < len &&
               pm_find(&n->pages, (uint64_t)(pos + (off_t)run) >> PFS_PAGE_SHIFT) == NULL) {
            size_t left = len - done - run;
            run += left < PFS_PAGE ? left : PFS_PAGE;
        }
        int r = read_backing(fd, buf + done, run, pos, n->base);
        if (r < 0)
            return r;
        done += run;
    }
    return (ssize_t)len;
}

static ssize_t ov_write(struct node *n, int fd, const char *in_buf, size_t len, off_t off)
{
    const unsigned char *src = (const unsigned char *)in_buf;
    size_t done = 0;
    while (done < len) {
        off_t pos = off + (off_t)done;
        uint64_t idx = (uint64_t)pos >> PFS_PAGE_SHIFT;
        size_t in = (size_t)pos & PFS_PAGE_MASK;
        size_t chunk = PFS_PAGE - in < len - done ? PFS_PAGE - in : len - done;
        struct page *p = pm_find(&n->pages, idx);
        if (p == NULL) {
            p = malloc(sizeof *p);
            if (p == NULL)
                goto nomem;
            if (chunk != PFS_PAGE) {
                /* Partial write: the rest of the page is the current
                 * logical content (backing below base, zeros above). */
                int r = read_backing(fd, p->data, PFS_PAGE, (off_t)(idx << PFS_PAGE_SHIFT), n->base);
                if (r < 0) {
                    free(p);
                    if (done > 0)
                        break;
                    return r;
                }
            }
            if (pm_insert(&n->pages, idx, p) < 0) {
                free(p);
                goto nomem;
            }
            g_stats.dirty_pages++;
            if (g_stats.dirty_pages > g_stats.peak_dirty_pages)
                g_stats.peak_dirty_pages = g_stats.dirty_pages;
        }
        memcpy(p->data + in, src + done, chunk);
        done += chunk;
        if (pos + (off_t)chunk > n->size)
            n->size = pos + (off_t)chunk;
    }
    return (ssize_t)done;
nomem:
    return done > 0 ? (ssize_t)done : -ENOMEM;
}

static void ov_truncate(struct node *n, off_t newsize)
{
    g_stats.truncates++;
    if (newsize < n->size) {
        uint64_t first_dead = ((uint64_t)newsize + PFS_PAGE - 1) >> PFS_PAGE_SHIFT;
        size_t dropped = pm_drop_from(&n->pages, first_dead);
        g_stats.dirty_pages -= dropped;
        g_stats.dropped_pages += dropped;
        size_t in = (size_t)newsize & PFS_PAGE_MASK;
        if (in != 0) {
            struct page *p = pm_find(&n->pages, (uint64_t)newsize >> PFS_PAGE_SHIFT);
            if (p)
                memset(p->data + in, 0, PFS_PAGE - in);
        }
        if (newsize < n->base)
            n->base = newsize;
    }
    n->size = newsize;
}

/* Writes the overlay to the backing file (through wfd, open for writing)
 * and drops it. On error the overlay is kept (a later fsync retries). */
static int ov_flush(struct node *n, int wfd)
{
    if (!n->has_ov)
        return 0;
    struct stat st;
    if (fstat(wfd, &st) < 0)
        return -errno;
    /* Backing bytes at or past base are dead (a truncate happened): cut
     * them first so the region not covered by dirty pages reads as zeros. */
    if (st.st_size > n->base && ftruncate(wfd, n->base) < 0)
        return -errno;
    for (size_t i = 0; i < n->pages.cap; i++) {
        struct page *p = n->pages.vals[i];
        if (p == NULL)
            continue;
        off_t pos = (off_t)(n->pages.keys[i] << PFS_PAGE_SHIFT);
        if (pos >= n->size)
            continue; /* cannot happen (truncate drops them); be safe */
        size_t len = (uint64_t)(n->size - pos) < PFS_PAGE ? (size_t)(n->size - pos) : PFS_PAGE;
        int r = pwrite_full(wfd, p->data, len, pos);
        if (r < 0)
            return r;
    }
    if (ftruncate(wfd, n->size) < 0)
        return -errno;
    g_stats.flushed_pages += n->pages.count;
    ov_drop(n);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Handles                                                                    */
/* ------------------------------------------------------------------------ */

enum { H_FILE = 1, H_DIR = 2 };

struct handle {
    int kind;
    int fd;            /* backing fd (files) */
    bool writable;     /* fd open for writing */
    bool dsync;        /* opened with O_SYNC / O_DSYNC */
    struct node *node; /* files: holds a ref */
    DIR *dir;          /* directories */
};

static struct handle *fh_of(const struct fuse_file_info *fi)
{
    return fi ? (struct handle *)(uintptr_t)fi->fh : NULL;
}

/* fd usable for f*() metadata calls on an open handle, or -1 */
static int handle_fd(const struct handle *h)
{
    if (h == NULL)
        return -1;
    if (h->kind == H_FILE)
        return h->fd;
    if (h->kind == H_DIR)
        return dirfd(h->dir);
    return -1;
}

/* Flushes the node's overlay through h (reopening for write if needed). */
static int flush_handle(struct handle *h)
{
    struct node *n = h->node;
    if (!n->has_ov)
        return 0;
    if (h->writable)
        return ov_flush(n, h->fd);
    /* fsync of a read-only fd still syncs the file: reopen it for writing
     * (works for unlinked files too, through the /proc magic link). */
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", h->fd);
    int wfd = open(proc, O_WRONLY | O_CLOEXEC);
    if (wfd < 0)
        return -errno;
    int r = ov_flush(n, wfd);
    if (close(wfd) < 0 && r == 0)
        r = -errno;
    return r;
}

/* ------------------------------------------------------------------------ */
/* FUSE operations                                                            */
/* ------------------------------------------------------------------------ */

/* Replaces st_size by the logical size if the inode has an overlay. */
static void apply_overlay_size(struct stat *st, struct node *known)
{
    if (!S_ISREG(st->st_mode))
        return;
    lock();
    struct node *n = known ? known : node_find(st->st_dev, st->st_ino);
    if (n && n->has_ov) {
        st->st_size = n->size;
        blkcnt_t blocks = (blkcnt_t)((n->size + 511) / 512);
        if (st->st_blocks < blocks)
            st->st_blocks = blocks;
    }
    unlock();
}

static int pfs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
    struct handle *h = fh_of(fi);
    int fd = handle_fd(h);
    if (fd >= 0) {
        if (fstat(fd, st) < 0)
            return -errno;
        apply_overlay_size(st, h->kind == H_FILE ? h->node : NULL);
        return 0;
    }
    if (path == NULL)
        return -ENOENT;
    if (fstatat(g_backing_fd, rel(path), st, AT_SYMLINK_NOFOLLOW) < 0)
        return -errno;
    apply_overlay_size(st, NULL);
    return 0;
}

static int pfs_readlink(const char *path, char *buf, size_t size)
{
    if (size == 0)
        return -EINVAL;
    ssize_t r = readlinkat(g_backing_fd, rel(path), buf, size - 1);
    if (r < 0)
        return -errno;
    buf[r] = '\0';
    return 0;
}

/* New objects belong to the caller, not to the (root) daemon. */
static void set_owner(const char *relpath)
{
    struct fuse_context *ctx = fuse_get_context();
    if (ctx == NULL || (ctx->uid == geteuid() && ctx->gid == getegid()))
        return;
    /* Best effort: failure leaves the object owned by the daemon. */
    if (fchownat(g_backing_fd, relpath, ctx->uid, ctx->gid, AT_SYMLINK_NOFOLLOW) < 0)
        fprintf(stderr, "powerfs: chown %s: %s\n", relpath, strerror(errno));
}

static int pfs_mknod(const char *path, mode_t mode, dev_t rdev)
{
    if (mknodat(g_backing_fd, rel(path), mode, rdev) < 0)
        return -errno;
    set_owner(rel(path));
    return 0;
}

static int pfs_mkdir(const char *path, mode_t mode)
{
    if (mkdirat(g_backing_fd, rel(path), mode) < 0)
        return -errno;
    set_owner(rel(path));
    return 0;
}

static int pfs_unlink(const char *path)
{
    int ret = 0;
    struct stat st;
    lock();
    bool known = fstatat(g_backing_fd, rel(path), &st, AT_SYMLINK_NOFOLLOW) == 0;
    if (unlinkat(g_backing_fd, rel(path), 0) < 0)
        ret = -errno;
    else if (known && S_ISREG(st.st_mode) && st.st_nlink <= 1)
        node_unlinked(st.st_dev, st.st_ino);
    unlock();
    return ret;
}

static int pfs_rmdir(const char *path)
{
    if (unlinkat(g_backing_fd, rel(path), AT_REMOVEDIR) < 0)
        return -errno;
    return 0;
}

static int pfs_symlink(const char *target, const char *linkpath)
{
    if (symlinkat(target, g_backing_fd, rel(linkpath)) < 0)
        return -errno;
    set_owner(rel(linkpath));
    return 0;
}

static int pfs_rename(const char *from, const char *to, unsigned int flags)
{
    int ret = 0;
    struct stat sst, tst;
    lock();
    bool have_src = fstatat(g_backing_fd, rel(from), &sst, AT_SYMLINK_NOFOLLOW) == 0;
    bool have_dst = fstatat(g_backing_fd, rel(to), &tst, AT_SYMLINK_NOFOLLOW) == 0;
    if (renameat2(g_backing_fd, rel(from), g_backing_fd, rel(to), flags) < 0) {
        ret = -errno;
    } else if (have_dst && !(flags & RENAME_EXCHANGE) && S_ISREG(tst.st_mode) &&
               tst.st_nlink <= 1 &&
               !(have_src && sst.st_dev == tst.st_dev && sst.st_ino == tst.st_ino)) {
        /* The replaced file lost its last link. */
        node_unlinked(tst.st_dev, tst.st_ino);
    }
    unlock();
    return ret;
}

static int pfs_link(const char *from, const char *to)
{
    if (linkat(g_backing_fd, rel(from), g_backing_fd, rel(to), 0) < 0)
        return -errno;
    return 0;
}

static int pfs_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    int fd = handle_fd(fh_of(fi));
    int r;
    if (fd >= 0)
        r = fchmod(fd, mode);
    else if (path)
        r = fchmodat(g_backing_fd, rel(path), mode, 0);
    else
        return -ENOENT;
    return r < 0 ? -errno : 0;
}

static int pfs_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
    int fd = handle_fd(fh_of(fi));
    int r;
    if (fd >= 0)
        r = fchown(fd, uid, gid);
    else if (path)
        r = fchownat(g_backing_fd, rel(path), uid, gid, AT_SYMLINK_NOFOLLOW);
    else
        return -ENOENT;
    return r < 0 ? -errno : 0;
}

static int pfs_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
    int fd = handle_fd(fh_of(fi));
    int r;
    if (fd >= 0)
        r = futimens(fd, tv);
    else if (path)
        r = utimensat(g_backing_fd, rel(path), tv, AT_SYMLINK_NOFOLLOW);
    else
        return -ENOENT;
    return r < 0 ? -errno : 0;
}

/* truncate/ftruncate: an overlay operation, durable at the next fsync. */
static int pfs_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
    if (size < 0)
        return -EINVAL;
    struct handle *h = fh_of(fi);
    struct stat st;
    int ret = 0;
    if (h && h->kind == H_FILE) {
        lock();
        struct node *n = h->node;
        if (!n->has_ov) {
            if (fstat(h->fd, &st) < 0) {
                ret = -errno;
                goto out;
            }
            if (st.st_size == size)
                goto out; /* no change */
            ov_begin(n, st.st_size);
        }
        ov_truncate(n, size);
    out:
        unlock();
        return ret;
    }
    if (path == NULL)
        return -ENOENT;
    lock();
    if (fstatat(g_backing_fd, rel(path), &st, 0) < 0) {
        ret = -errno;
        goto out2;
    }
    if (S_ISDIR(st.st_mode)) {
        ret = -EISDIR;
        goto out2;
    }
    if (!S_ISREG(st.st_mode)) {
        ret = -EINVAL;
        goto out2;
    }
    struct node *n = node_find(st.st_dev, st.st_ino);
    if ((n == NULL || !n->has_ov) && st.st_size == size)
        goto out2; /* no change */
    if (n == NULL && (n = node_get(st.st_dev, st.st_ino)) == NULL) {
        ret = -ENOMEM;
        goto out2;
    }
    ov_begin(n, st.st_size);
    ov_truncate(n, size);
    node_release_if_unused(n);
out2:
    unlock();
    return ret;
}

/* open and create. O_TRUNC becomes an overlay truncate to 0. */
static int open_common(const char *path, int flags, mode_t mode, bool creat,
                       struct fuse_file_info *fi)
{
    int acc = flags & O_ACCMODE;
    int extra = O_CLOEXEC | (flags & O_NOFOLLOW);
    if (creat)
        extra |= O_CREAT | (flags & O_EXCL);
    /* Open read-write when possible so fsync can flush through this fd; no
     * O_APPEND (pwrite would append), no O_TRUNC (it is data, goes to the
     * overlay), no O_DIRECT (alignment), no O_SYNC (handled by us). */
    bool writable = true;
    int fd = openat(g_backing_fd, rel(path), O_RDWR | extra, mode);
    if (fd < 0 && acc != O_RDWR &&
        (errno == EACCES || errno == EPERM || errno == EROFS || errno == ETXTBSY)) {
        writable = acc != O_RDONLY;
        fd = openat(g_backing_fd, rel(path), acc | extra, mode);
    }
    if (fd < 0)
        return -errno;
    if (creat)
        set_owner(rel(path));

    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    struct handle *h = calloc(1, sizeof *h);
    if (h == NULL) {
        close(fd);
        return -ENOMEM;
    }
    h->kind = H_FILE;
    h->fd = fd;
    h->writable = writable;
    h->dsync = (flags & O_DSYNC) != 0; /* O_SYNC includes the O_DSYNC bit */

    lock();
    struct node *n = node_get(st.st_dev, st.st_ino);
    if (n == NULL) {
        unlock();
        close(fd);
        free(h);
        return -ENOMEM;
    }
    n->refs++;
    h->node = n;
    if ((flags & O_TRUNC) && (n->has_ov || st.st_size > 0)) {
        ov_begin(n, st.st_size);
        ov_truncate(n, 0);
    }
    unlock();

    fi->fh = (uint64_t)(uintptr_t)h;
    fi->direct_io = 0;  /* page cache stays on: shared mmap (-shm) works */
    fi->keep_cache = 0; /* the kernel drops cached pages at each open */
    return 0;
}

static int pfs_open(const char *path, struct fuse_file_info *fi)
{
    return open_common(path, fi->flags, 0, false, fi);
}

static int pfs_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    return open_common(path, fi->flags, mode, true, fi);
}

static int pfs_read(const char *path, char *buf, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
    (void)path;
    struct handle *h = fh_of(fi);
    if (h == NULL || h->kind != H_FILE)
        return -EBADF;
    if (off < 0)
        return -EINVAL;
    if (size > INT_MAX)
        size = INT_MAX;
    ssize_t r;
    lock();
    if (h->node->has_ov) {
        r = ov_read(h->node, h->fd, buf, size, off);
    } else {
        /* No overlay: the backing file is the content. */
        size_t got = 0;
        r = 0;
        while (got < size) {
            ssize_t k = pread(h->fd, buf + got, size - got, off + (off_t)got);
            if (k < 0) {
                if (errno == EINTR)
                    continue;
                r = -errno;
                break;
            }
            if (k == 0)
                break;
            got += (size_t)k;
        }
        if (r == 0)
            r = (ssize_t)got;
    }
    if (r > 0) {
        g_stats.reads++;
        g_stats.read_bytes += (uint64_t)r;
    }
    unlock();
    return (int)r;
}

static int pfs_write(const char *path, const char *buf, size_t size, off_t off,
                     struct fuse_file_info *fi)
{
    (void)path;
    struct handle *h = fh_of(fi);
    if (h == NULL || h->kind != H_FILE)
        return -EBADF;
    if (off < 0)
        return -EINVAL;
    if (size > INT_MAX)
        size = INT_MAX;
    if (size == 0)
        return 0;
    ssize_t r;
    lock();
    struct node *n = h->node;
    if (!n->has_ov) {
        struct stat st;
        if (fstat(h->fd, &st) < 0) {
            r = -errno;
            goto out;
        }
        ov_begin(n, st.st_size);
    }
    r = ov_write(n, h->fd, buf, size, off);
    if (r > 0) {
        g_stats.writes++;
        g_stats.write_bytes += (uint64_t)r;
        if (h->dsync) {
            /* O_SYNC/O_DSYNC: the kernel also sends an fsync after the
             * write; flushing here too is harmless and keeps it exact. */
            int e = flush_handle(h);
            if (e < 0)
                r = e;
        }
    }
out:
    unlock();
    return (int)r;
}

static int pfs_statfs(const char *path, struct statvfs *sv)
{
    (void)path;
    if (fstatvfs(g_backing_fd, sv) < 0)
        return -errno;
    return 0;
}

static int pfs_flush(const char *path, struct fuse_file_info *fi)
{
    /* close(): nothing becomes durable (as on a real filesystem). */
    (void)path;
    (void)fi;
    return 0;
}

static int pfs_release(const char *path, struct fuse_file_info *fi)
{
    (void)path;
    struct handle *h = fh_of(fi);
    if (h == NULL || h->kind != H_FILE)
        return 0;
    lock();
    h->node->refs--;
    node_release_if_unused(h->node);
    unlock();
    if (close(h->fd) < 0)
        fprintf(stderr, "powerfs: close: %s\n", strerror(errno));
    free(h);
    return 0;
}

/* fsync and fdatasync alike: the overlay goes to the backing file. */
static int pfs_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
    (void)path;
    (void)datasync;
    struct handle *h = fh_of(fi);
    if (h == NULL || h->kind != H_FILE)
        return -EBADF;
    lock();
    g_stats.fsyncs++;
    int r = flush_handle(h);
    unlock();
    return r;
}

static int pfs_opendir(const char *path, struct fuse_file_info *fi)
{
    int fd = openat(g_backing_fd, rel(path), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    DIR *d = fdopendir(fd);
    if (d == NULL) {
        int e = -errno;
        close(fd);
        return e;
    }
    struct handle *h = calloc(1, sizeof *h);
    if (h == NULL) {
        closedir(d);
        return -ENOMEM;
    }
    h->kind = H_DIR;
    h->fd = -1;
    h->dir = d;
    fi->fh = (uint64_t)(uintptr_t)h;
    return 0;
}

static int pfs_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
                       struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
    (void)path;
    (void)off;
    (void)flags;
    struct handle *h = fh_of(fi);
    if (h == NULL || h->kind != H_DIR)
        return -EBADF;
    /* Whole directory in one call (offset 0 to the filler): libfuse buffers
     * it and calls us again only after a rewind. */
    rewinddir(h->dir);
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(h->dir);
        if (de == NULL) {
            if (errno != 0)
                return -errno;
            break;
        }
        struct stat st;
        memset(&st, 0, sizeof st);
        st.st_ino = de->d_ino;
        st.st_mode = (mode_t)DTTOIF(de->d_type);
        if (filler(buf, de->d_name, &st, 0, 0))
            return -ENOMEM;
    }
    return 0;
}

static int pfs_releasedir(const char *path, struct fuse_file_info *fi)
{
    (void)path;
    struct handle *h = fh_of(fi);
    if (h == NULL || h->kind != H_DIR)
        return 0;
    if (closedir(h->dir) < 0)
        fprintf(stderr, "powerfs: closedir: %s\n", strerror(errno));
    free(h);
    return 0;
}

static int pfs_fsyncdir(const char *path, int datasync, struct fuse_file_info *fi)
{
    /* Metadata is durable at once: nothing to do. */
    (void)path;
    (void)datasync;
    (void)fi;
    return 0;
}

static int pfs_access(const char *path, int mask)
{
    if (faccessat(g_backing_fd, rel(path), mask, 0) < 0)
        return -errno;
    return 0;
}

/* posix_fallocate/fallocate: mode 0 grows the logical size (zeros, pending
 * until fsync); KEEP_SIZE only reserves space, a no-op here; others are not
 * supported (glibc's posix_fallocate then falls back to writing zeros). */
static int pfs_fallocate(const char *path, int mode, off_t off, off_t len,
                         struct fuse_file_info *fi)
{
    (void)path;
    struct handle *h = fh_of(fi);
    if (h == NULL || h->kind != H_FILE)
        return -EBADF;
    if (mode & ~FALLOC_FL_KEEP_SIZE)
        return -EOPNOTSUPP;
    if (off < 0 || len <= 0)
        return -EINVAL;
    if (off > INT64_MAX - len)
        return -EFBIG;
    if (mode & FALLOC_FL_KEEP_SIZE)
        return 0;
    int ret = 0;
    lock();
    struct node *n = h->node;
    if (!n->has_ov) {
        struct stat st;
        if (fstat(h->fd, &st) < 0) {
            ret = -errno;
            goto out;
        }
        if (st.st_size >= off + len)
            goto out;
        ov_begin(n, st.st_size);
    }
    if (n->size < off + len)
        ov_truncate(n, off + len);
out:
    unlock();
    return ret;
}

static void print_stats(const char *why)
{
    lock();
    typeof(g_stats) s = g_stats;
    size_t nodes = g_nnodes;
    unlock();
    fprintf(stderr,
            "powerfs: stats (%s) writes=%" PRIu64 " write_bytes=%" PRIu64 " reads=%" PRIu64
            " read_bytes=%" PRIu64 " fsyncs=%" PRIu64 " flushed_pages=%" PRIu64
            " truncates=%" PRIu64 " overlay_files=%" PRIu64 " dirty_pages=%" PRIu64
            " peak_dirty_pages=%" PRIu64 " dropped_pages=%" PRIu64 " nodes=%zu\n",
            why, s.writes, s.write_bytes, s.reads, s.read_bytes, s.fsyncs, s.flushed_pages,
            s.truncates, s.overlay_files, s.dirty_pages, s.peak_dirty_pages, s.dropped_pages,
            nodes);
    fflush(stderr);
}

static void *pfs_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
    /* Sizes and names must be right at every call: no attribute caching. */
    cfg->entry_timeout = 0;
    cfg->attr_timeout = 0;
    cfg->negative_timeout = 0;
    cfg->use_ino = 1;      /* st_ino = backing inode (SQLite keys locks on it) */
    cfg->nullpath_ok = 1;  /* ops on open-but-unlinked files use the handle */
    cfg->hard_remove = 1;  /* no .fuse_hidden files in the backing dir */
    cfg->direct_io = 0;
    cfg->kernel_cache = 0;
    cfg->auto_cache = 0;
    /* Writes must reach us at write() time: no writeback cache. Locks are
     * handled by the kernel locally (we implement no lock/flock op). */
    conn->want &= ~(unsigned)(FUSE_CAP_WRITEBACK_CACHE | FUSE_CAP_POSIX_LOCKS |
                              FUSE_CAP_FLOCK_LOCKS);
    printf("powerfs: ready\n");
    fflush(stdout);
    return NULL;
}

static void pfs_destroy(void *data)
{
    (void)data;
    print_stats("exit");
}

static const struct fuse_operations pfs_ops = {
    .getattr = pfs_getattr,
    .readlink = pfs_readlink,
    .mknod = pfs_mknod,
    .mkdir = pfs_mkdir,
    .unlink = pfs_unlink,
    .rmdir = pfs_rmdir,
    .symlink = pfs_symlink,
    .rename = pfs_rename,
    .link = pfs_link,
    .chmod = pfs_chmod,
    .chown = pfs_chown,
    .truncate = pfs_truncate,
    .open = pfs_open,
    .read = pfs_read,
    .write = pfs_write,
    .statfs = pfs_statfs,
    .flush = pfs_flush,
    .release = pfs_release,
    .fsync = pfs_fsync,
    .opendir = pfs_opendir,
    .readdir = pfs_readdir,
    .releasedir = pfs_releasedir,
    .fsyncdir = pfs_fsyncdir,
    .init = pfs_init,
    .destroy = pfs_destroy,
    .access = pfs_access,
    .create = pfs_create,
    .utimens = pfs_utimens,
    .fallocate = pfs_fallocate,
    /* no .lock / .flock: POSIX and BSD locks stay in the kernel */
};

/* ------------------------------------------------------------------------ */
/* main                                                                       */
/* ------------------------------------------------------------------------ */

static void *stats_thread(void *arg)
{
    sigset_t *set = arg;
    for (;;) {
        int sig;
        if (sigwait(set, &sig) == 0 && sig == SIGUSR1)
            print_stats("SIGUSR1");
    }
    return NULL;
}

/* mountinfo escapes ' ', '\t', '\n', '\\' as \ooo: undo it in place. */
static void unescape_mountinfo(char *s)
{
    char *out = s;
    for (char *in = s; *in; out++) {
        if (in[0] == '\\' && in[1] >= '0' && in[1] <= '7' && in[2] >= '0' && in[2] <= '7' &&
            in[3] >= '0' && in[3] <= '7') {
            *out = (char)((in[1] - '0') * 64 + (in[2] - '0') * 8 + (in[3] - '0'));
            in += 4;
        } else {
            *out = *in++;
        }
    }
    *out = '\0';
}

/* Finds the top-most fuse.powerfs mount at mountpoint (an absolute, resolved
 * path) in /proc/self/mountinfo; its device numbers go to *dev. Returns 1
 * if found, 0 if not, -1 if mountinfo cannot be read. */
static int find_our_mount(const char *mountpoint, unsigned *maj, unsigned *min)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (f == NULL)
        return -1;
    char *line = NULL;
    size_t cap = 0;
    int found = 0;
    while (getline(&line, &cap, f) > 0) {
        unsigned a, b;
        char mp[PATH_MAX + 1];
        /* "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS ... - FSTYPE SOURCE ..." */
        if (sscanf(line, "%*u %*u %u:%u %*s %4096s", &a, &b, mp) != 3)
            continue;
        const char *dash = strstr(line, " - ");
        if (dash == NULL || strncmp(dash + 3, "fuse.powerfs ", 13) != 0)
            continue;
        unescape_mountinfo(mp);
        if (strcmp(mp, mountpoint) == 0) {
            *maj = a; /* keep the last match: the top of the stack */
            *min = b;
            found = 1;
        }
    }
    free(line);
    fclose(f);
    return found;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: powerfs [--debug] [--single-thread] [--allow-other] BACKING_DIR MOUNTPOINT\n"
            "  Mirrors BACKING_DIR at MOUNTPOINT; file data is kept in memory until\n"
            "  fsync/fdatasync. SIGKILL = power cut. Prints 'powerfs: ready' when mounted.\n"
            "  SIGUSR1 prints counters to stderr. SIGTERM/SIGINT unmount and exit\n"
            "  (unsynced data is discarded then too).\n");
}

int main(int argc, char *argv[])
{
    bool debug = false, single = false, allow_other = false;
    const char *pos[2];
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--debug") == 0)
            debug = true;
        else if (strcmp(argv[i], "--single-thread") == 0)
            single = true;
        else if (strcmp(argv[i], "--allow-other") == 0)
            allow_other = true;
        else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "powerfs: unknown option %s\n", argv[i]);
            usage(stderr);
            return 2;
        } else if (npos < 2)
            pos[npos++] = argv[i];
        else {
            usage(stderr);
            return 2;
        }
    }
    if (npos != 2) {
        usage(stderr);
        return 2;
    }
    const char *backing = pos[0], *mnt = pos[1];

    g_backing_fd = open(backing, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (g_backing_fd < 0) {
        fprintf(stderr, "powerfs: backing dir %s: %s\n", backing, strerror(errno));
        return 1;
    }

    struct stat mst, pst, bst;
    if (stat(mnt, &mst) < 0) {
        if (errno == ENOTCONN)
            fprintf(stderr,
                    "powerfs: mountpoint %s is a dead FUSE mount (%s); detach it first: "
                    "fusermount3 -u -z %s\n",
                    mnt, strerror(errno), mnt);
        else
            fprintf(stderr, "powerfs: mountpoint %s: %s\n", mnt, strerror(errno));
        return 1;
    }
    if (!S_ISDIR(mst.st_mode)) {
        fprintf(stderr, "powerfs: mountpoint %s: not a directory\n", mnt);
        return 1;
    }
    char parent[PATH_MAX];
    if (snprintf(parent, sizeof parent, "%s/..", mnt) >= (int)sizeof parent) {
        fprintf(stderr, "powerfs: mountpoint %s: path too long\n", mnt);
        return 1;
    }
    if (stat(parent, &pst) == 0 && (pst.st_dev != mst.st_dev || pst.st_ino == mst.st_ino)) {
        fprintf(stderr,
                "powerfs: mountpoint %s is busy: something is already mounted there "
                "(another powerfs?); unmount it first: fusermount3 -u -z %s\n",
                mnt, mnt);
        return 1;
    }
    if (fstat(g_backing_fd, &bst) == 0 && bst.st_dev == mst.st_dev && bst.st_ino == mst.st_ino) {
        fprintf(stderr, "powerfs: backing dir and mountpoint are the same directory\n");
        return 1;
    }

    /* Modes from the kernel already have the caller's umask applied. */
    umask(0);

    /* SIGUSR1 -> counters, handled by a dedicated thread; every other thread
     * (including libfuse's workers, created later) blocks it. */
    static sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    int e = pthread_sigmask(SIG_BLOCK, &usr1, NULL);
    if (e != 0) {
        fprintf(stderr, "powerfs: pthread_sigmask: %s\n", strerror(e));
        return 1;
    }
    {
        /* The stats thread must not take SIGTERM/SIGINT/SIGHUP: libfuse's
         * handlers have to run where they can stop the loop. */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        pthread_t tid;
        e = pthread_create(&tid, NULL, stats_thread, &usr1);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (e != 0) {
            fprintf(stderr, "powerfs: pthread_create: %s\n", strerror(e));
            return 1;
        }
        pthread_detach(tid);
    }

    /* Resolved before mounting: afterwards a lookup of MOUNTPOINT would ask
     * this very process, which is not serving requests yet. */
    char mnt_real[PATH_MAX];
    if (realpath(mnt, mnt_real) == NULL) {
        fprintf(stderr, "powerfs: mountpoint %s: %s\n", mnt, strerror(errno));
        return 1;
    }

    char opts[256];
    snprintf(opts, sizeof opts, "default_permissions,fsname=powerfs,subtype=powerfs%s",
             allow_other ? ",allow_other" : "");
    char *fargv[8];
    int fargc = 0;
    fargv[fargc++] = argv[0];
    fargv[fargc++] = "-o";
    fargv[fargc++] = opts;
    if (debug)
        fargv[fargc++] = "-d";
    fargv[fargc] = NULL;
    struct fuse_args args = FUSE_ARGS_INIT(fargc, fargv);

    struct fuse *f = fuse_new(&args, &pfs_ops, sizeof pfs_ops, NULL);
    if (f == NULL) {
        fprintf(stderr, "powerfs: fuse_new failed\n");
        return 1;
    }
    if (fuse_mount(f, mnt) != 0) {
        fprintf(stderr, "powerfs: cannot mount at %s (see the message above)\n", mnt);
        fuse_destroy(f);
        return 1;
    }
    /* Remember which mount is ours (its device number), so that at exit we
     * never unmount someone else's mount at the same path (e.g. after a
     * lazy unmount, a new powerfs may be mounted there). */
    unsigned our_maj = 0, our_min = 0;
    bool know_ours = find_our_mount(mnt_real, &our_maj, &our_min) == 1;

    struct fuse_session *se = fuse_get_session(f);
    if (fuse_set_signal_handlers(se) != 0) {
        fprintf(stderr, "powerfs: cannot set signal handlers\n");
        fuse_unmount(f);
        fuse_destroy(f);
        return 1;
    }
    /* "powerfs: ready" is printed by pfs_init when the kernel's INIT
     * arrives, i.e. when the mount is up and being served. */
    int r = single ? fuse_loop(f) : fuse_loop_mt(f, 0);
    fuse_remove_signal_handlers(se);
    unsigned maj, min;
    if (!know_ours || (find_our_mount(mnt_real, &maj, &min) == 1 && maj == our_maj &&
                       min == our_min))
        fuse_unmount(f); /* still mounted here (or unknown): unmount it */
    /* else: already detached (umount -l); nothing of ours is mounted at the
     * path any more, and the connection closes when the process exits. */
    fuse_destroy(f);
    fuse_opt_free_args(&args);
    /* libfuse returns the signal number after SIGTERM/SIGINT/SIGHUP: a
     * requested stop is a clean exit. A lazy unmount also ends with 0. */
    if (r == SIGTERM || r == SIGINT || r == SIGHUP)
        r = 0;
    if (r != 0)
        fprintf(stderr, "powerfs: session ended with error %d\n", r);
    return r == 0 ? 0 : 1;
}
