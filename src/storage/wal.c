/* wal.c — see wal.h.
 *
 * Appends go through pwritev at the offset the log knows is good rather than
 * O_APPEND, so that after a failed write a retry lands exactly after the
 * last good record even if the rollback truncate failed too.
 */
#define _GNU_SOURCE
#include "storage/wal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "util/crc32c.h"
#include "util/endian.h"
#include "util/err.h"
#include "util/fsutil.h"
#include "util/log.h"

#define WAL_MAGIC       "QVWAL\0\0\0"
#define WAL_VERSION     1u
#define WAL_HEADER_SIZE 32u
#define WAL_HEAD_SIZE   16u        /* n, crc, seq */
#define WAL_READ_CHUNK  (1u << 20) /* recovery reads this much per syscall */
#define WAL_PREALLOC_MIN (1u << 20)  /* the file grows by its own size, within these bounds */
#define WAL_PREALLOC_MAX (64u << 20)

#define VOID_MAGIC   "QVVOID\0\0"
#define VOID_VERSION 1u
#define VOID_MAX     65536u  /* ranges; more is damage (each costs a failed write) */

struct wal {
    int       fd;
    char     *path;
    char     *dir;        /* for fsync after create/rename */
    char     *void_name;  /* basename of "<path>.void" */
    uint64_t  size;       /* bytes of header + good records = where the next one goes */
    uint64_t  alloc;      /* bytes the file holds (>= size): past size, preallocated zeros */
    uint64_t  alloc_limit; /* preallocate no further than this (wal_prealloc_limit) */
    bool      no_prealloc; /* the file system cannot preallocate: stop asking */
    uint64_t  last_seq;
    atomic_bool broken;   /* a write or sync failed and the file's state is unknown; atomic:
                             wal_sync may set it while another thread appends */
    uint32_t  n_void;     /* voided ranges, as in the .void file */
    uint32_t  void_cap;   /* room in voids and void_buf: always n_void + 1 when memory allows */
    wal_range *voids;
    uint8_t  *void_buf;   /* the next list, encoded: 20 + 16 * void_cap bytes */
};

static int sys_fallocate(int fd, off_t off, off_t len) { return fallocate(fd, 0, off, len); }

wal_io_ops wal_io = {pwritev, fdatasync, fsync, ftruncate, sys_fallocate};

static size_t pad8(size_t n) { return (8 - (n & 7)) & 7; }

static void encode_header(uint8_t h[WAL_HEADER_SIZE], uint64_t first_seq)
{
    memset(h, 0, WAL_HEADER_SIZE);
    memcpy(h, WAL_MAGIC, 8);
    qv_put_le32(h + 8, WAL_VERSION);
    qv_put_le64(h + 16, first_seq);
    qv_put_le32(h + 24, qv_crc32c(0, h, 24));
}

/* Write all of iov at off, looping over short writes and EINTR. iov is
 * consumed. Returns 0 or -1 with errno. */
static int pwritev_all(int fd, struct iovec *iov, int cnt, off_t off)
{
    while (cnt > 0) {
        ssize_t n = wal_io.pwritev(fd, iov, cnt, off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0) {  /* a regular file never does this; do not spin */
            errno = EIO;
            return -1;
        }
        off += n;
        while (cnt > 0 && (size_t)n >= iov->iov_len) {
            n -= (ssize_t)iov->iov_len;
            iov++;
            cnt--;
        }
        if (cnt > 0) {
            iov->iov_base = (char *)iov->iov_base + n;
            iov->iov_len -= (size_t)n;
        }
    }
    return 0;
}

/*
 * Create "<path>.tmp" holding only a header, fsync it, rename it over path
 * and fsync the directory, so that path is at every instant absent, the old
 * log, or a complete empty log — never a torn header. Returns 0 or -1 with
 * errno. *fd is the new file, open for writing, whenever the rename happened
 * (even if the directory fsync then failed), else -1.
 */
static int create_empty(const char *path, const char *dir, uint64_t first_seq, int *fd)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 5);
    *fd = -1;
    if (!tmp) {
        errno = ENOMEM;
        return -1;
    }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    uint8_t h[WAL_HEADER_SIZE];
    encode_header(h, first_seq);
    struct iovec iov = {h, sizeof h};
    int f = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (f < 0)
        goto fail;
    if (pwritev_all(f, &iov, 1, 0) != 0 || wal_io.fsync(f) != 0 || rename(tmp, path) != 0)
        goto fail;
    free(tmp);
    *fd = f;
    return qv_fsync_dir(dir);
fail:;
    int e = errno;
    if (f >= 0)
        close(f);
    unlink(tmp);
    free(tmp);
    errno = e;
    return -1;
}

/* ---- voided records ---------------------------------------------------------- */

static bool voided(const wal *w, uint64_t seq)
{
    for (uint32_t i = 0; i < w->n_void; i++)
        if (seq >= w->voids[i].lo && seq <= w->voids[i].hi)
            return true;
    return false;
}

/* Read "<path>.void" if it exists. */
static qv_status load_voids(wal *w, qv_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", w->dir, w->void_name);
    char *data;
    size_t len;
    if (qv_read_file(path, 20 + 16 * (size_t)VOID_MAX, &data, &len) != 0) {
        if (errno == ENOENT)
            return QV_OK;
        return qv_fail(err, errno == ENOMEM ? QV_NOMEM : QV_IO, "wal %s: read: %s", path,
                       strerror(errno));
    }
    qv_status rc = QV_OK;
    uint32_t n = len >= 20 ? qv_get_le32(data + 12) : 0;
    if (len < 20 || memcmp(data, VOID_MAGIC, 8) != 0 || qv_get_le32(data + 8) != VOID_VERSION ||
        n > VOID_MAX || len != 20 + 16 * (size_t)n ||
        qv_get_le32(data + len - 4) != qv_crc32c(0, data, len - 4)) {
        rc = qv_fail(err, QV_CORRUPT, "wal %s: damaged list of voided records", path);
        goto done;
    }
    if (n && !(w->voids = malloc(n * sizeof *w->voids))) {
        rc = qv_fail(err, QV_NOMEM, "wal %s: out of memory", path);
        goto done;
    }
    for (uint32_t i = 0; i < n; i++) {
        w->voids[i].lo = qv_get_le64(data + 16 + 16 * (size_t)i);
        w->voids[i].hi = qv_get_le64(data + 24 + 16 * (size_t)i);
    }
    w->n_void = n;
done:
    free(data);
    return rc;
}

/* Make room for one more voided range ahead of time: wal_void is called
 * when a write failed, often for want of memory, and must then not need
 * any. Costs 16 + 16 bytes per range, kept until close. */
static bool reserve_void(wal *w)
{
    if (w->void_cap > w->n_void)
        return true;
    uint32_t cap = w->n_void < 4 ? 4 : w->n_void * 2;
    wal_range *nv = realloc(w->voids, cap * sizeof *nv);
    if (nv)
        w->voids = nv;
    uint8_t *nb = nv ? realloc(w->void_buf, 20 + 16 * (size_t)cap) : NULL;
    if (nb)
        w->void_buf = nb;
    if (!nb)
        return false;
    w->void_cap = cap;
    return true;
}

qv_status wal_void(wal *w, uint64_t lo, uint64_t hi, qv_error *err)
{
    if (lo > hi || w->n_void >= VOID_MAX)
        return qv_fail(err, QV_INTERNAL, "wal %s: cannot void records %llu..%llu", w->path,
                       (unsigned long long)lo, (unsigned long long)hi);
    if (!reserve_void(w)) {  /* only if the reserve after the last void failed */
        w->broken = true;
        return qv_fail(err, QV_NOMEM, "wal %s: out of memory", w->path);
    }
    wal_range *nv = w->voids;
    size_t len = 20 + 16 * (size_t)(w->n_void + 1);
    uint8_t *b = w->void_buf;
    nv[w->n_void] = (wal_range){lo, hi};
    memcpy(b, VOID_MAGIC, 8);
    qv_put_le32(b + 8, VOID_VERSION);
    qv_put_le32(b + 12, w->n_void + 1);
    for (uint32_t i = 0; i <= w->n_void; i++) {
        qv_put_le64(b + 16 + 16 * (size_t)i, nv[i].lo);
        qv_put_le64(b + 24 + 16 * (size_t)i, nv[i].hi);
    }
    qv_put_le32(b + len - 4, qv_crc32c(0, b, len - 4));
    int rc = qv_write_file_atomic_keep(w->dir, w->void_name, b, len);
    int e = errno;
    if (rc != 0) {
        /* Replay would apply what must not take effect: append nothing more. */
        w->broken = true;
        return qv_fail(err, QV_IO, "wal %s/%s: write: %s", w->dir, w->void_name, strerror(e));
    }
    w->n_void++;
    reserve_void(w);  /* a failure here is retried by the next wal_void */
    return QV_OK;
}

/* ---- recovery ------------------------------------------------------------ */

/* A window on the file for the scan: large reads, grown to hold the
 * largest record, so a log of many small records costs one pread per MiB. */
typedef struct wal_reader {
    int      fd;
    uint64_t file_size;
    uint8_t *buf;
    size_t   cap;
    uint64_t start;  /* file offset of buf[0] */
    size_t   len;    /* bytes valid in buf */
} wal_reader;

/*
 * Make bytes [off, off + need) of the file available at *p; the caller has
 * checked they lie inside the file. off never goes backwards. buf[0] always
 * sits at a record boundary (8-aligned in the file), so bodies handed to
 * replay are 8-byte aligned in memory. Returns 0 or -1 with errno.
 */
static int rd_fill(wal_reader *r, uint64_t off, size_t need, const uint8_t **p)
{
    if (off >= r->start && off + need <= r->start + r->len) {
        *p = r->buf + (off - r->start);
        return 0;
    }
    size_t keep = 0;
    if (off < r->start + r->len) {
        keep = (size_t)(r->start + r->len - off);
        memmove(r->buf, r->buf + (off - r->start), keep);
    }
    r->start = off;
    r->len = keep;
    if (need > r->cap) {
        uint8_t *nb = realloc(r->buf, need);
        if (!nb) {
            errno = ENOMEM;
            return -1;
        }
        r->buf = nb;
        r->cap = need;
    }
    size_t want = r->file_size - off < r->cap ? (size_t)(r->file_size - off) : r->cap;
    while (r->len < want) {
        ssize_t n = pread(r->fd, r->buf + r->len, want - r->len, (off_t)(off + r->len));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO;  /* shrank under us: someone else writes the file */
            return -1;
        }
        r->len += (size_t)n;
    }
    *p = r->buf;
    return 0;
}

/*
 * Check the header, then pass every good record to replay. On return
 * *good_end is the offset after the last good record and *reason is NULL if
 * the file ends there, else why the record at *good_end was refused.
 */
static qv_status scan(wal *w, wal_reader *r,
                      int (*replay)(void *ctx, uint64_t seq, const void *body, size_t len),
                      void *ctx, uint64_t *good_end, const char **reason, qv_error *err)
{
    const uint8_t *p;
    *reason = NULL;
    if (r->file_size < WAL_HEADER_SIZE)
        return qv_fail(err, QV_CORRUPT, "wal %s: not a write-ahead log (%llu bytes, header needs %u)",
                       w->path, (unsigned long long)r->file_size, WAL_HEADER_SIZE);
    if (rd_fill(r, 0, WAL_HEADER_SIZE, &p) != 0)
        return qv_fail(err, errno == ENOMEM ? QV_NOMEM : QV_IO, "wal %s: read: %s", w->path,
                       strerror(errno));
    if (memcmp(p, WAL_MAGIC, 8) != 0)
        return qv_fail(err, QV_CORRUPT, "wal %s: not a write-ahead log (bad magic)", w->path);
    if (qv_get_le32(p + 24) != qv_crc32c(0, p, 24))
        return qv_fail(err, QV_CORRUPT, "wal %s: header checksum mismatch", w->path);
    if (qv_get_le32(p + 8) != WAL_VERSION)
        return qv_fail(err, QV_CORRUPT, "wal %s: unsupported format version %u (this build reads %u)",
                       w->path, qv_get_le32(p + 8), WAL_VERSION);
    uint64_t first_seq = qv_get_le64(p + 16);
    if (first_seq == 0)
        return qv_fail(err, QV_CORRUPT, "wal %s: header says first sequence number 0", w->path);

    uint64_t off = WAL_HEADER_SIZE, prev = first_seq - 1;
    while (off < r->file_size) {
        if (r->file_size - off < WAL_HEAD_SIZE) {
            *reason = "incomplete record";
            break;
        }
        if (rd_fill(r, off, WAL_HEAD_SIZE, &p) != 0)
            goto io_fail;
        static const uint8_t zero_head[WAL_HEAD_SIZE];
        if (memcmp(p, zero_head, WAL_HEAD_SIZE) == 0)
            break;  /* preallocated space (sequence number 0 is never used) */
        uint32_t n = qv_get_le32(p);
        if (n > WAL_MAX_RECORD) {
            *reason = "record too large";
            break;
        }
        size_t total = WAL_HEAD_SIZE + n + pad8(n);
        /* Checked before reading, so a torn head claiming a huge body
         * costs nothing. */
        if (r->file_size - off < total) {
            *reason = "incomplete record";
            break;
        }
        if (rd_fill(r, off, total, &p) != 0)
            goto io_fail;
        if (qv_get_le32(p + 4) != qv_crc32c(0, p + 8, 8 + (size_t)n)) {
            *reason = "checksum mismatch";
            break;
        }
        uint64_t seq = qv_get_le64(p + 8);
        if (seq <= prev) {
            *reason = "sequence out of order";
            break;
        }
        if (replay && !voided(w, seq) && replay(ctx, seq, p + WAL_HEAD_SIZE, n) != 0)
            return qv_fail(err, QV_CORRUPT, "wal %s: replay refused record %llu at offset %llu",
                           w->path, (unsigned long long)seq, (unsigned long long)off);
        prev = seq;
        off += total;
    }
    *good_end = off;
    w->last_seq = prev;
    return QV_OK;
io_fail:
    return qv_fail(err, errno == ENOMEM ? QV_NOMEM : QV_IO, "wal %s: read at offset %llu: %s",
                   w->path, (unsigned long long)off, strerror(errno));
}

/* ---- the API --------------------------------------------------------------- */

qv_status wal_open(const char *path, uint64_t first_seq,
                   int (*replay)(void *ctx, uint64_t seq, const void *body, size_t len), void *ctx,
                   wal **out, uint64_t *last_seq, qv_error *err)
{
    qv_status rc;
    wal_reader r = {.fd = -1};
    *out = NULL;
    if (first_seq == 0)
        return qv_fail(err, QV_INTERNAL, "wal %s: first sequence number must be at least 1", path);
    wal *w = calloc(1, sizeof *w);
    if (w) {
        w->fd = -1;
        w->alloc_limit = UINT64_MAX;
    }
    if (!w || !(w->path = strdup(path)) || !(w->dir = strdup(path))) {
        rc = qv_fail(err, QV_NOMEM, "wal %s: out of memory", path);
        goto fail;
    }
    char *slash = strrchr(w->dir, '/');
    if (!slash)
        strcpy(w->dir, ".");
    else
        slash[slash == w->dir] = '\0';  /* "/wal.log" → "/" */
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    if (!(w->void_name = malloc(strlen(base) + 6))) {
        rc = qv_fail(err, QV_NOMEM, "wal %s: out of memory", path);
        goto fail;
    }
    strcpy(w->void_name, base);
    strcat(w->void_name, ".void");
    if ((rc = load_voids(w, err)) != QV_OK)
        goto fail;
    if (!reserve_void(w)) {
        rc = qv_fail(err, QV_NOMEM, "wal %s: out of memory", path);
        goto fail;
    }

    w->fd = open(path, O_RDWR | O_CLOEXEC);
    if (w->fd < 0 && errno == ENOENT) {
        if (create_empty(path, w->dir, first_seq, &w->fd) != 0) {
            rc = qv_fail(err, QV_IO, "wal %s: create: %s", path, strerror(errno));
            goto fail;
        }
        w->size = w->alloc = WAL_HEADER_SIZE;
        w->last_seq = first_seq - 1;
        goto done;
    }
    if (w->fd < 0) {
        rc = qv_fail(err, QV_IO, "wal %s: open: %s", path, strerror(errno));
        goto fail;
    }

    struct stat st;
    if (fstat(w->fd, &st) != 0) {
        rc = qv_fail(err, QV_IO, "wal %s: stat: %s", path, strerror(errno));
        goto fail;
    }
    r.fd = w->fd;
    r.file_size = (uint64_t)st.st_size;
    r.cap = WAL_READ_CHUNK;
    if (!(r.buf = malloc(r.cap))) {
        rc = qv_fail(err, QV_NOMEM, "wal %s: out of memory", path);
        goto fail;
    }
    uint64_t end = 0;
    const char *reason = NULL;
    if ((rc = scan(w, &r, replay, ctx, &end, &reason, err)) != QV_OK)
        goto fail;
    if (end < r.file_size) {
        /* A torn tail was never acknowledged (wal_sync returned after the
         * whole record was on disk), so cutting it loses nothing promised.
         * Damage inside synced records cannot be repaired here either way,
         * and keeping it would hide every new record behind it from the
         * next recovery. Preallocated space left by a crash is cut too:
         * appends then never land before bytes nobody vouches for. */
        if (wal_io.ftruncate(w->fd, (off_t)end) != 0 || wal_io.fsync(w->fd) != 0) {
            rc = qv_fail(err, QV_IO, "wal %s: cut torn tail at offset %llu: %s", path,
                         (unsigned long long)end, strerror(errno));
            goto fail;
        }
        if (reason)
            QV_WARN("wal %s: cut torn tail at offset %llu (%s)", path, (unsigned long long)end,
                    reason);
    }
    w->size = w->alloc = end;
done:
    free(r.buf);
    *out = w;
    if (last_seq)
        *last_seq = w->last_seq;
    return QV_OK;
fail:
    free(r.buf);
    wal_close(w);
    return rc;
}

/*
 * Grow the file ahead of the appends, by its own size within
 * [WAL_PREALLOC_MIN, WAL_PREALLOC_MAX]. fdatasync of a write inside the
 * file's size flushes the data alone; a write that grows the file must
 * also commit its new size to the file system's journal, which costs
 * several times as much (measured here: 3.8 ms against 0.9 ms per 1 MiB
 * append + fdatasync on ext4). Failing is harmless: the write then grows
 * the file itself, and ENOSPC, if real, comes from the write.
 */
static void preallocate(wal *w, uint64_t need)
{
    if (w->no_prealloc)
        return;
    uint64_t step = w->alloc < WAL_PREALLOC_MIN ? WAL_PREALLOC_MIN
                    : w->alloc > WAL_PREALLOC_MAX ? WAL_PREALLOC_MAX : w->alloc;
    uint64_t to = need + step < w->alloc_limit ? need + step : w->alloc_limit;
    if (to <= need)
        return;
    int rc = wal_io.fallocate(w->fd, (off_t)w->alloc, (off_t)(to - w->alloc));
    if (rc == 0)
        w->alloc = to;
    else if (errno == EOPNOTSUPP || errno == ENOSYS)
        w->no_prealloc = true;
}

void wal_prealloc_limit(wal *w, uint64_t bytes)
{
    w->alloc_limit = bytes;
}

qv_status wal_append(wal *w, uint64_t seq, const void *body, size_t len, qv_error *err)
{
    static const uint8_t zeros[8];
    if (w->broken)
        return qv_fail(err, QV_IO, "wal %s: unusable after an earlier I/O failure; reopen it",
                       w->path);
    if (seq <= w->last_seq)
        return qv_fail(err, QV_INTERNAL, "wal %s: sequence number %llu after %llu", w->path,
                       (unsigned long long)seq, (unsigned long long)w->last_seq);
    if (len > WAL_MAX_RECORD)
        return qv_fail(err, QV_BAD_INPUT, "wal %s: record of %zu bytes exceeds the limit of %u",
                       w->path, len, WAL_MAX_RECORD);
    uint8_t head[WAL_HEAD_SIZE];
    qv_put_le64(head + 8, seq);
    qv_put_le32(head, (uint32_t)len);
    qv_put_le32(head + 4, qv_crc32c(qv_crc32c(0, head + 8, 8), body, len));
    struct iovec iov[3] = {
        {head, sizeof head},
        {(void *)body, len},
        {(void *)zeros, pad8(len)},
    };
    uint64_t total = WAL_HEAD_SIZE + len + pad8(len);
    if (w->size + total > w->alloc)
        preallocate(w, w->size + total);
    if (pwritev_all(w->fd, iov, 3, (off_t)w->size) != 0) {
        int e = errno;
        /* Cut the partial record so the file ends on a good one again; if
         * even that fails, the next append would land before a stale tail
         * we cannot vouch for, so refuse until reopened (recovery sorts it
         * out). */
        if (wal_io.ftruncate(w->fd, (off_t)w->size) != 0)
            w->broken = true;
        w->alloc = w->size;
        return qv_fail(err, QV_IO, "wal %s: write at offset %llu: %s", w->path,
                       (unsigned long long)w->size, strerror(e));
    }
    w->size += total;
    if (w->size > w->alloc)
        w->alloc = w->size;
    w->last_seq = seq;
    return QV_OK;
}

qv_status wal_sync(wal *w, qv_error *err)
{
    if (w->broken)
        return qv_fail(err, QV_IO, "wal %s: unusable after an earlier I/O failure; reopen it",
                       w->path);
    if (wal_io.fdatasync(w->fd) != 0) {
        /* Linux may drop the dirty pages and clear the error after a failed
         * writeback, so a later fdatasync could succeed without the data
         * being on disk. Only a reopen (which rereads what is really there)
         * is safe. */
        w->broken = true;
        return qv_fail(err, QV_IO, "wal %s: fdatasync: %s", w->path, strerror(errno));
    }
    return QV_OK;
}

uint64_t wal_size(const wal *w) { return w->size; }

bool wal_empty(const wal *w) { return w->size == WAL_HEADER_SIZE; }

bool wal_broken(const wal *w) { return w->broken; }

wal_pos wal_mark(const wal *w) { return (wal_pos){w->size, w->last_seq}; }

qv_status wal_rewind(wal *w, wal_pos pos, qv_error *err)
{
    if (pos.size > w->size || pos.last_seq > w->last_seq)
        return qv_fail(err, QV_INTERNAL, "wal %s: rewind past the end", w->path);
    /* Appends write at w->size, so the next record overwrites what was cut
     * even when the truncate itself fails, but then stale bytes may follow
     * it: refuse until reopened. */
    w->size = w->alloc = pos.size;
    w->last_seq = pos.last_seq;
    if (wal_io.ftruncate(w->fd, (off_t)pos.size) != 0) {
        w->broken = true;
        return qv_fail(err, QV_IO, "wal %s: truncate to %llu: %s", w->path,
                       (unsigned long long)pos.size, strerror(errno));
    }
    return QV_OK;
}

void wal_close(wal *w)
{
    if (!w)
        return;
    /* A clean close leaves the file exactly its records (an open after a
     * crash cuts the preallocated rest instead). A broken log is left as
     * it is, for the reopen to judge. */
    if (w->fd >= 0 && !w->broken && w->alloc > w->size)
        (void)wal_io.ftruncate(w->fd, (off_t)w->size);
    if (w->fd >= 0)
        close(w->fd);
    free(w->path);
    free(w->dir);
    free(w->void_name);
    free(w->voids);
    free(w->void_buf);
    free(w);
}
