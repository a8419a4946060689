/*
 * st_checkpoint.c — the checkpoint file of a store (store_save,
 * store_load); its format is in store.h and docs/FORMAT.md.
 */
#define _GNU_SOURCE
#include "core/store_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "payload/pl.h"
#include "util/crc32c.h"
#include "util/endian.h"
#include "util/buf.h"
#include "util/fsutil.h"
#include "util/log.h"

/* ---- checkpoints -------------------------------------------------------------------------- */

#define SNAP_MAGIC "QVSNAP\0\0"
#define SNAP_END   "QVND"
#define SNAP_VERSION 4  /* 4: dense vectors in chunk files; 3: slots and point versions; 1-3
                         * are still read */
#define AT_NONE    UINT32_MAX
#define SNAP_MAX_NAME 4096  /* a longer column name in a checkpoint is damage */
#define IO_BUF     (1u << 20)

typedef struct bio {
    int      fd;
    uint8_t *buf;
    size_t   len, pos;  /* writer: len used; reader: len filled, pos read */
    uint32_t crc;       /* writer to a file: CRC32C of every byte put */
    bool     failed;
    uint64_t left;      /* reader: bytes of the file not yet taken by bio_get */
    qv_buf  *mem;       /* writer: appends here instead of to fd (no buf, no crc) */
} bio;

static void bio_flush(bio *b)
{
    size_t off = 0;
    while (!b->failed && off < b->len) {
        ssize_t n = write(b->fd, b->buf + off, b->len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            b->failed = true;
        else
            off += (size_t)n;
    }
    b->len = 0;
}

static void bio_put(bio *b, const void *p, size_t n)
{
    if (b->mem) {  /* into memory: no checksum of the stream, no staging */
        qv_buf_append(b->mem, p, n);
        b->failed |= !qv_buf_ok(b->mem);
        return;
    }
    b->crc = qv_crc32c(b->crc, p, n);
    const uint8_t *src = p;
    while (n) {
        if (b->len == IO_BUF)
            bio_flush(b);
        size_t k = IO_BUF - b->len < n ? IO_BUF - b->len : n;
        memcpy(b->buf + b->len, src, k);
        b->len += k;
        src += k;
        n -= k;
    }
}

static void bio_u8(bio *b, uint8_t v) { bio_put(b, &v, 1); }
static void bio_u32(bio *b, uint32_t v) { uint8_t x[4]; qv_put_le32(x, v); bio_put(b, x, 4); }
static void bio_u64(bio *b, uint64_t v) { uint8_t x[8]; qv_put_le64(x, v); bio_put(b, x, 8); }
/* Vectors and sparse indices are written as whole arrays: that is their
 * little-endian form only on a little-endian host. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "st_checkpoint.c copies float and u32 arrays as they are in memory");

/* ---- chunk files ----------------------------------------------------------------------- */

/* The path of chunk or block file <kind>-<no>.dat in directory dir (its
 * first dir_len bytes); false if it does not fit. */
static bool data_path(char *out, size_t cap, const char *dir, int dir_len, const char *kind, uint32_t no)
{
    return snprintf(out, cap, "%.*s/%s-%u.dat", dir_len, dir, kind, no) < (int)cap;
}

static bool vec_path(char *out, size_t cap, const char *dir, uint32_t no)
{
    return data_path(out, cap, dir, (int)strlen(dir), "vec", no);
}

/* One past the last image column d's checkpoint names in its chunk file. */
static uint32_t saved_end(const vec_dense *d)
{
    uint32_t end = 0;
    for (uint32_t c = 0; c < d->n_saved; c++)
        if (d->saved_at[c] != AT_NONE && d->saved_at[c] + 1 > end)
            end = d->saved_at[c] + 1;
    return end;
}

/* Column d's saved record becomes at, crc (n chunks, taken) in chunk
 * file file_no. */
static void take_saved(vec_dense *d, uint32_t file_no, uint32_t n, uint32_t *at, uint32_t *crc)
{
    free(d->saved_at);
    free(d->saved_crc);
    d->saved_at = at;
    d->saved_crc = crc;
    d->n_saved = n;
    d->file_no = file_no;
}

/* 0, or -1 with errno (0: the file ends first). */
static int pread_all(int fd, void *p, size_t n, off_t off)
{
    char *c = p;
    while (n) {
        ssize_t k = pread(fd, c, n, off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            if (k == 0)
                errno = 0;
            return -1;
        }
        c += k;
        n -= (size_t)k;
        off += k;
    }
    return 0;
}

uint64_t store_saved_bytes(const store *s)
{
    uint64_t n = s->blk_file ? s->blk_live : 0;
    for (uint32_t v = 0; v < s->n_dense; v++)
        for (uint32_t c = 0; c < s->dense[v].n_saved; c++)
            n += s->dense[v].saved_at[c] != AT_NONE ? vec_chunk_bytes(s->dense[v].dim) : 0;
    return n;
}

/*
 * Saving a checkpoint has three steps, so that only the first keeps
 * writers out (store.h): the take copies what changed since the last
 * checkpoint (the dirty vector chunks; the dirty blocks, serialized) and
 * plans where each image goes; the write puts the images and the
 * checkpoint file on disk, touching nothing of the store; the done step
 * installs the new saved record, or marks what the take copied dirty
 * again when the write failed.
 */

/* Where each chunk of a dense column lies for the checkpoint being
 * written: at[c], crc[c] for c < n (file_no 0: the vectors are inline).
 * The chunks that changed since the last one (n_new: numbers new_c, bytes
 * as the take saw them in copy) are written to their at[] by the write,
 * which fills in their crc[]. */
typedef struct chunk_plan {
    uint32_t  file_no, n, n_new, dim;
    uint32_t *at, *crc, *new_c;
    float   **copy;
    char     *name;
} chunk_plan;

/* Where each chunk of slots lies in the block file for the checkpoint
 * being written; the images of the changed ones (n_new: numbers new_c)
 * lie one after another in img, to be written at offset from (a fresh
 * file: every block, from 0). */
typedef struct blk_plan {
    uint32_t  file_no, n, n_new;
    st_block *b;
    uint32_t *new_c;
    uint64_t  from, end, live;
    bool      fresh;
    qv_buf    img;
} blk_plan;

struct st_ckpt {
    uint64_t    seq, n_points;
    uint32_t    n_dense, n_sparse, n_slots, next_file;  /* n_slots as the file says it */
    chunk_plan *plans;
    char      **sparse_names;
    blk_plan    bp;
    qv_buf      points;  /* the point records, when there is no block file */
};

static void ckpt_free(st_ckpt *k)
{
    for (uint32_t v = 0; k->plans && v < k->n_dense; v++) {
        chunk_plan *cp = &k->plans[v];
        for (uint32_t i = 0; cp->copy && i < cp->n_new; i++)
            vec_chunk_free(cp->copy[i], cp->dim, true);
        free(cp->copy);
        free(cp->at);
        free(cp->crc);
        free(cp->new_c);
        free(cp->name);
    }
    for (uint32_t v = 0; k->sparse_names && v < k->n_sparse; v++)
        free(k->sparse_names[v]);
    free(k->plans);
    free(k->sparse_names);
    free(k->bp.b);
    free(k->bp.new_c);
    qv_buf_free(&k->bp.img);
    qv_buf_free(&k->points);
    free(k);
}

/*
 * Plan column d's chunks: those that changed since the last checkpoint
 * (or that it does not hold) go to locations of the chunk file that
 * checkpoint does not use, the lowest free first (the last checkpoint's
 * images are never overwritten, so a crash before the new checkpoint file
 * lands leaves them whole), each copied; unchanged chunks keep their
 * place. A column whose mappings could not all be undone (pinned) puts
 * new images past its file's end.
 */
static qv_status plan_chunks(store *s, vec_dense *d, const char *dir, chunk_plan *cp, qv_error *err)
{
    /* The chunks the slots reach (a rolled-back slot may have left one
     * more allocated). */
    uint32_t n = (s->n_slots + VEC_CHUNK - 1) / VEC_CHUNK, file_locs = saved_end(d);
    size_t bytes = vec_chunk_bytes(d->dim);
    if (!n)  /* no slots yet: nothing to write, inline is as good */
        return QV_OK;
    if (!d->file_no)
        d->file_no = s->next_file++;
    uint32_t next = 0;  /* the lowest location a new image may take */
    char path[PATH_MAX];
    struct stat st;
    if (d->pinned) {
        next = file_locs;
        if (vec_path(path, sizeof path, dir, d->file_no) && stat(path, &st) == 0 &&
            (uint64_t)st.st_size / bytes + 1 > next)
            next = (uint32_t)((uint64_t)st.st_size / bytes + 1);
    }
    uint32_t n_loc = next + (file_locs > n ? file_locs : n) + n;  /* room for every chunk moving */
    uint64_t *used = calloc(qv_bits_words(n_loc) ? qv_bits_words(n_loc) : 1, sizeof *used);
    cp->file_no = d->file_no;
    cp->n = n;
    cp->at = malloc(n * sizeof *cp->at);
    cp->crc = malloc(n * sizeof *cp->crc);
    cp->new_c = malloc(n * sizeof *cp->new_c);
    cp->copy = calloc(n, sizeof *cp->copy);
    qv_status rc = QV_OK;
    if (!used || !cp->at || !cp->crc || !cp->new_c || !cp->copy)
        rc = qv_fail(err, QV_NOMEM, "out of memory (checkpoint)");
    for (uint32_t c = 0; rc == QV_OK && c < d->n_saved; c++)
        if (d->saved_at[c] != AT_NONE)
            qv_bit_set(used, d->saved_at[c]);
    /* Vacuum: a file with more images than its chunks need by over
     * vacuum_ratio moves the chunks that lie past the first n images into
     * free ones below (there are exactly enough); store_ckpt_tidy then
     * cuts the file after the last image named. */
    bool compact = !d->pinned && s->n_points >= s->vacuum_min &&
                   (double)file_locs > (double)n * (1 + s->vacuum_ratio);
    for (uint32_t c = 0; c < n && rc == QV_OK; c++) {
        if (c < d->n_saved && d->saved_at[c] != AT_NONE && !d->dirty[c] && !(compact && d->saved_at[c] >= n)) {
            cp->at[c] = d->saved_at[c];
            cp->crc[c] = d->saved_crc[c];
            continue;
        }
        while (qv_bit_get(used, next))
            next++;
        qv_bit_set(used, next);
        cp->at[c] = next;
        /* Copies come from the last checkpoint's when it left some: fresh
         * memory costs a page fault a page, with writers waiting (as much
         * as the copy). Mappings of their own, so that what is freed goes
         * back to the system (the heap would keep it). */
        cp->copy[cp->n_new] = d->n_spare ? d->spare[--d->n_spare] : vec_chunk_alloc(d->dim, true);
        if (!cp->copy[cp->n_new]) {
            rc = qv_fail(err, QV_NOMEM, "out of memory (checkpoint)");
            break;
        }
        memcpy(cp->copy[cp->n_new], d->chunks[c], bytes);
        cp->new_c[cp->n_new++] = c;
    }
    free(used);
    return rc;
}

/* One point's record (store.h): its slot as slot_field, vectors of the
 * columns plans puts in chunk files by presence only. */
static void put_point(bio *b, const store *s, uint32_t slot, uint32_t slot_field, const chunk_plan *plans)
{
    const qv_point_id *id = &s->ids[slot];
    bio_u32(b, slot_field);
    bio_u8(b, id->uuid);
    bio_u64(b, id->hi);
    bio_u64(b, id->lo);
    bio_u64(b, s->versions[slot]);
    const uint8_t *blob;
    size_t len;
    store_payload(s, slot, &blob, &len);
    bio_u32(b, (uint32_t)len);
    bio_put(b, blob, len);
    for (uint32_t v = 0; v < s->n_dense; v++) {
        bool has = store_has_dense(s, v, slot);
        bio_u8(b, has);
        if (has && !plans[v].file_no)
            bio_put(b, store_dense(s, v, slot), (size_t)s->dense[v].dim * 4);
    }
    for (uint32_t v = 0; v < s->n_sparse; v++) {
        const st_sparse_vec *sv = s->sparse[v][slot];
        bio_u32(b, sv ? sv->n : UINT32_MAX);
        if (sv)
            bio_put(b, sv->data, (size_t)sv->n * 8);
    }
}

/*
 * Plan the blocks: per chunk of VEC_CHUNK slots, an image of its points'
 * records (u32 count, then the records), appended to the block file past
 * what the last checkpoint wrote, for the chunks a slot of which changed
 * since; the others keep their image. Once dead images pass vacuum_ratio
 * of the live ones (with at least vacuum_min points), every block goes to
 * a new block file instead. The last checkpoint's images are never
 * overwritten.
 */
static qv_status plan_blocks(store *s, const chunk_plan *plans, blk_plan *bp, qv_error *err)
{
    uint32_t n = (s->n_slots + VEC_CHUNK - 1) / VEC_CHUNK;
    bool fresh = !s->blk_file || (s->n_points >= s->vacuum_min &&
                                  (double)(s->blk_end - s->blk_live) > s->vacuum_ratio * (double)s->blk_live);
    bp->file_no = fresh ? s->next_file++ : s->blk_file;
    bp->n = n;
    bp->fresh = fresh;
    bp->from = bp->end = fresh ? 0 : s->blk_end;
    bp->img = s->ck_img;  /* memory the last one faulted in already */
    bp->img.len = 0;
    s->ck_img = (qv_buf)QV_BUF_INIT;
    bp->b = malloc((n ? n : 1) * sizeof *bp->b);
    bp->new_c = malloc((n ? n : 1) * sizeof *bp->new_c);
    bio mb = {.fd = -1, .mem = &bp->img};
    qv_status rc = QV_OK;
    if (!bp->b || !bp->new_c)
        rc = qv_fail(err, QV_NOMEM, "out of memory (checkpoint)");
    for (uint32_t c = 0; c < n && rc == QV_OK; c++) {
        if (!fresh && c < s->n_blk_saved && !s->blk_dirty[c]) {
            bp->b[c] = s->blk_saved[c];
            bp->live += bp->b[c].len;
            continue;
        }
        uint32_t lo = c * VEC_CHUNK, hi = lo + VEC_CHUNK < s->n_slots ? lo + VEC_CHUNK : s->n_slots, count = 0;
        size_t start = bp->img.len;
        for (uint32_t slot = lo; slot < hi; slot++)
            count += store_live(s, slot);
        bio_u32(&mb, count);
        for (uint32_t slot = lo; slot < hi; slot++)
            if (store_live(s, slot))
                put_point(&mb, s, slot, slot, plans);
        if (mb.failed) {
            rc = qv_fail(err, QV_NOMEM, "out of memory (checkpoint)");
            break;
        }
        uint32_t len = (uint32_t)(bp->img.len - start);
        bp->b[c] = (st_block){.at = bp->end, .len = len, .crc = qv_crc32c(0, bp->img.data + start, len)};
        bp->end += len;
        bp->live += len;
        bp->new_c[bp->n_new++] = c;
    }
    return rc;
}

qv_status store_ckpt_take(store *s, uint64_t seq, const char *dir, st_ckpt **out, qv_error *err)
{
    /* Slots as they are, so that a saved HNSW graph (whose nodes are
     * slots) fits the store this file loads into, the dense vectors in
     * chunk files and the points in blocks, of both of which only what
     * changed is written; a store with too many free slots for that is
     * written compacted (store_keeps_slots), everything inline. */
    bool keep = store_keeps_slots(s), files = keep && !s->save_inline;
    st_ckpt *k = calloc(1, sizeof *k);
    if (!k)
        return qv_fail(err, QV_NOMEM, "out of memory (checkpoint)");
    *k = (st_ckpt){.seq = seq, .n_points = s->n_points, .n_dense = s->n_dense, .n_sparse = s->n_sparse,
                   .n_slots = keep ? s->n_slots : (uint32_t)s->n_points,
                   .plans = calloc(s->n_dense ? s->n_dense : 1, sizeof *k->plans),
                   .sparse_names = calloc(s->n_sparse ? s->n_sparse : 1, sizeof *k->sparse_names),
                   .bp = {.img = QV_BUF_INIT}, .points = QV_BUF_INIT};
    qv_status rc = k->plans && k->sparse_names ? QV_OK : qv_fail(err, QV_NOMEM, "out of memory (checkpoint)");
    for (uint32_t v = 0; v < s->n_dense && rc == QV_OK; v++) {
        k->plans[v].dim = s->dense[v].dim;
        if (!(k->plans[v].name = strdup(s->dense[v].name)))
            rc = qv_fail(err, QV_NOMEM, "out of memory (checkpoint)");
        else if (files)
            rc = plan_chunks(s, &s->dense[v], dir, &k->plans[v], err);
    }
    for (uint32_t v = 0; v < s->n_sparse && rc == QV_OK; v++)
        if (!(k->sparse_names[v] = strdup(s->sparse_names[v])))
            rc = qv_fail(err, QV_NOMEM, "out of memory (checkpoint)");
    if (rc == QV_OK && files) {
        rc = plan_blocks(s, k->plans, &k->bp, err);
    } else if (rc == QV_OK) {
        bio mb = {.fd = -1, .mem = &k->points};
        uint32_t rank = 0;
        for (uint32_t slot = 0; slot < s->n_slots && !mb.failed; slot++)
            if (store_live(s, slot))
                put_point(&mb, s, slot, keep ? slot : rank++, k->plans);
        if (mb.failed)
            rc = qv_fail(err, QV_NOMEM, "out of memory (checkpoint)");
    }
    if (rc) {
        ckpt_free(k);
        return rc;
    }
    k->next_file = s->next_file;
    /* Taken: what it copied is clean until written again (the done step
     * marks it dirty again if the write fails). */
    for (uint32_t v = 0; v < k->n_dense; v++)
        for (uint32_t i = 0; i < k->plans[v].n_new; i++)
            s->dense[v].dirty[k->plans[v].new_c[i]] = 0;
    for (uint32_t i = 0; i < k->bp.n_new; i++)
        s->blk_dirty[k->bp.new_c[i]] = 0;
    *out = k;
    return QV_OK;
}

/* Write a column's new chunk images where the plan puts them and make them
 * durable. */
static qv_status write_chunks(chunk_plan *cp, const char *dir, qv_error *err)
{
    char path[PATH_MAX];
    size_t bytes = vec_chunk_bytes(cp->dim);
    int fd = vec_path(path, sizeof path, dir, cp->file_no) ? open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644) : -1;
    if (fd < 0)
        return qv_fail(err, QV_IO, "cannot open %s: %s", path, strerror(errno));
    qv_status rc = QV_OK;
    for (uint32_t i = 0; i < cp->n_new && rc == QV_OK; i++) {
        uint32_t c = cp->new_c[i];
        cp->crc[c] = qv_crc32c(0, cp->copy[i], bytes);
        if (qv_pwrite_paced(fd, cp->copy[i], bytes, (off_t)cp->at[c] * (off_t)bytes) != 0)
            rc = qv_fail(err, QV_IO, "cannot write %s: %s", path, strerror(errno));
    }
    if (rc == QV_OK && fsync(fd) != 0)
        rc = qv_fail(err, QV_IO, "cannot write %s: %s", path, strerror(errno));
    close(fd);
    return rc;
}

/* Append the new block images and make them durable (a fresh block file
 * is created even with none). */
static qv_status write_blocks(const blk_plan *bp, const char *dir, qv_error *err)
{
    char path[PATH_MAX];
    int fd = data_path(path, sizeof path, dir, (int)strlen(dir), "blk", bp->file_no)
                 ? open(path, O_RDWR | O_CREAT | O_CLOEXEC | (bp->fresh ? O_TRUNC : 0), 0644)
                 : -1;
    if (fd < 0)
        return qv_fail(err, QV_IO, "cannot open %s: %s", path, strerror(errno));
    qv_status rc = QV_OK;
    if (bp->img.len && (qv_pwrite_paced(fd, bp->img.data, bp->img.len, (off_t)bp->from) != 0 || fsync(fd) != 0))
        rc = qv_fail(err, QV_IO, "cannot write %s: %s", path, strerror(errno));
    close(fd);
    return rc;
}

qv_status store_ckpt_write(st_ckpt *k, const char *dir, const char *name, qv_error *err)
{
    char tmp[PATH_MAX], path[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s/%s.tmp", dir, name) >= (int)sizeof tmp ||
        snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return qv_fail(err, QV_IO, "checkpoint path too long in %s", dir);
    qv_status rc = QV_OK;
    for (uint32_t v = 0; v < k->n_dense && rc == QV_OK; v++)
        if (k->plans[v].n_new)
            rc = write_chunks(&k->plans[v], dir, err);
    if (rc == QV_OK && k->bp.file_no)
        rc = write_blocks(&k->bp, dir, err);
    if (rc)
        return rc;
    bio b = {.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), .buf = malloc(IO_BUF)};
    if (b.fd < 0 || !b.buf) {
        rc = qv_fail(err, b.buf ? QV_IO : QV_NOMEM, "cannot write checkpoint %s: %s", tmp, strerror(errno));
        if (b.fd >= 0)
            close(b.fd);
        free(b.buf);
        return rc;
    }
    const blk_plan *bp = &k->bp;
    bio_put(&b, SNAP_MAGIC, 8);
    bio_u32(&b, SNAP_VERSION);
    bio_u32(&b, k->n_dense);
    bio_u32(&b, k->n_sparse);
    bio_u32(&b, k->n_slots);
    bio_u64(&b, k->seq);
    bio_u64(&b, k->n_points);
    bio_u32(&b, k->next_file);
    /* Columns by name, so that a load can map them onto another vector
     * list (a vector added or removed since); each dense one with where
     * its chunks lie. */
    for (uint32_t v = 0; v < k->n_dense; v++) {
        const chunk_plan *cp = &k->plans[v];
        uint32_t nl = (uint32_t)strlen(cp->name);
        bio_u32(&b, cp->dim);
        bio_u32(&b, nl);
        bio_put(&b, cp->name, nl);
        bio_u32(&b, cp->file_no);
        if (!cp->file_no)
            continue;
        bio_u32(&b, VEC_CHUNK);
        bio_u32(&b, cp->n);
        for (uint32_t c = 0; c < cp->n; c++) {
            bio_u32(&b, cp->at[c]);
            bio_u32(&b, cp->crc[c]);
        }
    }
    for (uint32_t v = 0; v < k->n_sparse; v++) {
        uint32_t nl = (uint32_t)strlen(k->sparse_names[v]);
        bio_u32(&b, nl);
        bio_put(&b, k->sparse_names[v], nl);
    }
    bio_u32(&b, bp->file_no);
    if (bp->file_no) {
        bio_u32(&b, VEC_CHUNK);
        bio_u32(&b, bp->n);
        for (uint32_t c = 0; c < bp->n; c++) {
            bio_u64(&b, bp->b[c].at);
            bio_u32(&b, bp->b[c].len);
            bio_u32(&b, bp->b[c].crc);
        }
    } else {
        bio_put(&b, k->points.data, k->points.len);
    }
    uint32_t crc = b.crc;
    bio_u32(&b, crc);
    bio_put(&b, SNAP_END, 4);
    bio_flush(&b);
    int e = errno;
    bool ok = !b.failed && fsync(b.fd) == 0;
    if (!b.failed && !ok)
        e = errno;
    close(b.fd);
    free(b.buf);
    if (!ok || rename(tmp, path) != 0 || qv_fsync_dir(dir) != 0) {
        if (ok)
            e = errno;
        unlink(tmp);
        rc = qv_fail(err, QV_IO, "cannot write checkpoint %s: %s", path, strerror(e));
    }
    return rc;
}

/* After a checkpoint landed: an on-disk column's chunks written by it are
 * mapped from their new images, in place (the copies they were in memory
 * go; the bytes are the same). A chunk written again since the take holds
 * newer bytes than its image: it moves to anonymous memory instead, so
 * that no mapping reads an image the checkpoint no longer names (the next
 * checkpoint writes it). Writers are kept out meanwhile; readers see the
 * same bytes before and after. A chunk that can be neither stays where it
 * is, and pins its column's chunk file (never cut, new images past its
 * end). */
static void map_saved(vec_dense *d, const char *dir, const chunk_plan *cp, const char *what)
{
    char path[PATH_MAX];
    int fd = vec_path(path, sizeof path, dir, cp->file_no) ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    for (uint32_t i = 0; i < cp->n_new; i++) {
        uint32_t c = cp->new_c[i];
        bool ok = !d->dirty[c] && fd >= 0 &&
                  vec_chunk_map(d->chunks[c], d->dim, fd, (uint64_t)cp->at[c] * vec_chunk_bytes(d->dim));
        if (!ok && !vec_chunk_detach(d->chunks[c], d->dim) && !d->pinned) {
            d->pinned = true;
            QV_WARN("%s: a chunk of vector \"%s\" cannot be mapped anew (%s); its chunk file is no longer "
                    "cut until restart", what, d->name, strerror(errno));
        }
    }
    if (fd >= 0)
        close(fd);
}

/* Give back the end of column d's chunk file past the last image its
 * checkpoint names (a failure only keeps the space). */
static void cut_chunk_file(const vec_dense *d, const char *dir)
{
    uint64_t end = saved_end(d);
    char path[PATH_MAX];
    struct stat st;
    if (vec_path(path, sizeof path, dir, d->file_no) && stat(path, &st) == 0 &&
        (uint64_t)st.st_size > end * vec_chunk_bytes(d->dim))
        (void)truncate(path, (off_t)(end * vec_chunk_bytes(d->dim)));
}

/* Remove the chunk and block files in dir that the checkpoint s last
 * wrote does not name. */
static void prune_files(const store *s, const char *dir)
{
    DIR *dh = opendir(dir);
    struct dirent *e;
    while (dh && (e = readdir(dh))) {
        unsigned no;
        char kind[4], tail;
        if (sscanf(e->d_name, "%3[a-z]-%u.da%c", kind, &no, &tail) != 3 || tail != 't')
            continue;
        bool keep = false;
        if (strcmp(kind, "vec") == 0)
            for (uint32_t v = 0; v < s->n_dense; v++)
                keep |= s->dense[v].file_no == no && s->dense[v].n_saved;
        else if (strcmp(kind, "blk") == 0)
            keep = s->blk_file == no;
        else
            continue;
        char path[PATH_MAX];
        if (!keep && snprintf(path, sizeof path, "%s/%s", dir, e->d_name) < (int)sizeof path)
            unlink(path);
    }
    if (dh)
        closedir(dh);
}

/* The copies of a written checkpoint become column d's spares for the
 * next take (n_chunks: the column's chunks now); spares this one did not
 * need are freed, so that what stays is one checkpoint's worth of changed
 * chunks, and at most an eighth of the column. */
static void keep_copies(vec_dense *d, chunk_plan *cp, uint32_t n_chunks)
{
    while (d->n_spare > 0)
        vec_chunk_free(d->spare[--d->n_spare], d->dim, true);
    uint32_t keep = cp->n_new < n_chunks / 8 ? cp->n_new : n_chunks / 8;
    if (keep > d->cap_spare) {
        float **p = realloc(d->spare, keep * sizeof *p);
        if (!p)
            return;  /* ckpt_free frees them */
        d->spare = p;
        d->cap_spare = keep;
    }
    for (uint32_t i = 0; i < keep; i++) {
        d->spare[d->n_spare++] = cp->copy[i];
        cp->copy[i] = NULL;
    }
}

void store_ckpt_done(store *s, st_ckpt *k, bool landed, const char *dir)
{
    /* Landed: the new images are the saved ones, and the places only the
     * last checkpoint used are free. Failed: the last checkpoint's record
     * stands (what was written meanwhile lies where it does not look), and
     * what the take copied is dirty again. */
    for (uint32_t v = 0; v < k->n_dense && v < s->n_dense; v++) {
        vec_dense *d = &s->dense[v];
        chunk_plan *cp = &k->plans[v];
        keep_copies(d, cp, s->n_chunks);
        if (!landed) {
            for (uint32_t i = 0; i < cp->n_new; i++)
                d->dirty[cp->new_c[i]] = 1;
            continue;
        }
        if (d->on_disk && cp->n_new)
            map_saved(d, dir, cp, dir);
        take_saved(d, cp->file_no, cp->n, cp->at, cp->crc);
        cp->at = cp->crc = NULL;
    }
    blk_plan *bp = &k->bp;
    qv_buf_free(&s->ck_img);
    s->ck_img = bp->img;
    bp->img = (qv_buf)QV_BUF_INIT;
    if (landed) {
        free(s->blk_saved);
        s->blk_saved = bp->b;
        bp->b = NULL;
        s->n_blk_saved = bp->file_no ? bp->n : 0;
        s->blk_file = bp->file_no;
        s->blk_end = bp->end;
        s->blk_live = bp->live;
    } else {
        for (uint32_t i = 0; i < bp->n_new; i++)
            s->blk_dirty[bp->new_c[i]] = 1;
    }
    ckpt_free(k);
}

void store_ckpt_tidy(const store *s, const char *dir)
{
    for (uint32_t v = 0; v < s->n_dense; v++)
        if (s->dense[v].file_no && !s->dense[v].pinned)
            cut_chunk_file(&s->dense[v], dir);
    prune_files(s, dir);
}

qv_status store_save(store *s, const char *dir, const char *name, uint64_t seq, qv_error *err)
{
    st_ckpt *k;
    qv_status rc = store_ckpt_take(s, seq, dir, &k, err);
    if (rc)
        return rc;
    rc = store_ckpt_write(k, dir, name, err);
    store_ckpt_done(s, k, rc == QV_OK, dir);
    if (rc == QV_OK)
        store_ckpt_tidy(s, dir);
    return rc;
}

/* Reader: fills the buffer as needed; a short file marks failure. */
static bool bio_get(bio *b, void *dst, size_t n)
{
    uint8_t *out = dst;
    size_t want = n;
    while (n && !b->failed) {
        if (b->pos == b->len) {
            ssize_t r = read(b->fd, b->buf, IO_BUF);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0) {
                b->failed = true;
                break;
            }
            b->len = (size_t)r;
            b->pos = 0;
        }
        size_t k = b->len - b->pos < n ? b->len - b->pos : n;
        memcpy(out, b->buf + b->pos, k);
        b->pos += k;
        out += k;
        n -= k;
    }
    if (!b->failed) {
        b->crc = qv_crc32c(b->crc, dst, want);
        b->left -= want < b->left ? want : b->left;
    }
    return !b->failed;
}

/* Whether the rest of the file can hold n more bytes: checked before
 * allocating for a length read from the file, so damage cannot make the
 * load allocate more than the file's size. */
static bool bio_get_u32(bio *b, uint32_t *v)
{
    uint8_t x[4];
    if (!bio_get(b, x, 4))
        return false;
    *v = qv_get_le32(x);
    return true;
}

static bool bio_get_u64(bio *b, uint64_t *v)
{
    uint8_t x[8];
    if (!bio_get(b, x, 8))
        return false;
    *v = qv_get_le64(x);
    return true;
}

static bool bio_has(const bio *b, uint64_t n) { return n <= b->left; }

/* Skip n bytes of a checkpoint (a column the store does not have). */
static bool bio_skip(bio *b, size_t n)
{
    uint8_t tmp[256];
    while (n) {
        size_t k = n < sizeof tmp ? n : sizeof tmp;
        if (!bio_get(b, tmp, k))
            return false;
        n -= k;
    }
    return true;
}

/* Grow an empty-so-far store until slot is the next new one: the slots
 * passed by stay free (free_the_rest lists them). */
static qv_status reach_slot(store *s, uint32_t slot, qv_error *err)
{
    while (s->n_slots < slot) {
        qv_status rc = st_ensure_slot(s, err);
        if (rc || (rc = st_ensure_chunk(s, s->n_slots, err)))
            return rc;
        s->n_slots++;
    }
    return QV_OK;
}

/* After the last point: the slots up to the file's count, and the free
 * list of every slot that holds no point (lowest first out). */
static qv_status free_the_rest(store *s, uint32_t n_slots, qv_error *err)
{
    qv_status rc = reach_slot(s, n_slots, err);
    if (rc)
        return rc;
    uint32_t n_free = n_slots - (uint32_t)s->n_points;
    if (n_free + 1 > s->cap_free) {
        uint32_t *p = realloc(s->free_slots, ((size_t)n_free + 1) * sizeof *p);
        if (!p)
            return qv_fail(err, QV_NOMEM, "out of memory");
        s->free_slots = p;
        s->cap_free = n_free + 1;
    }
    s->n_free = 0;
    for (uint32_t slot = n_slots; slot-- > 0;)
        if (!store_live(s, slot))
            s->free_slots[s->n_free++] = slot;
    return QV_OK;
}

/* Where a checkpoint's dense column keeps its vectors (version 4): in
 * chunk file file_no, chunk c at location at[c] with CRC32C crc[c]; file_no
 * 0: inline, in the points. */
typedef struct file_col {
    uint32_t  file_no, n;
    uint32_t *at, *crc;
} file_col;

/* A version 4 column's chunk list: QV_CORRUPT when damaged (the caller
 * words it), QV_NOMEM. */
static qv_status load_chunk_list(bio *b, file_col *fc)
{
    uint32_t slots;
    if (!bio_get_u32(b, &fc->file_no))
        return QV_CORRUPT;
    if (!fc->file_no)
        return QV_OK;
    if (!bio_get_u32(b, &slots) || slots != VEC_CHUNK || !bio_get_u32(b, &fc->n) || !bio_has(b, (uint64_t)fc->n * 8))
        return QV_CORRUPT;
    fc->at = malloc((fc->n ? fc->n : 1) * sizeof *fc->at);
    fc->crc = malloc((fc->n ? fc->n : 1) * sizeof *fc->crc);
    if (!fc->at || !fc->crc)
        return QV_NOMEM;
    for (uint32_t c = 0; c < fc->n; c++)
        if (!bio_get_u32(b, &fc->at[c]) || !bio_get_u32(b, &fc->crc[c]))
            return QV_CORRUPT;
    return QV_OK;
}

/* Read the column list of a version 2-4 header and map each file column
 * onto the store's column of that name (-1: not in the store). */
static qv_status load_columns(const store *s, bio *b, uint32_t version, uint32_t n_dense, uint32_t n_sparse,
                              uint32_t *dims, int32_t *dmap, int32_t *smap, file_col *fcols, const char *path,
                              qv_error *err)
{
    char name[SNAP_MAX_NAME + 1];
    for (uint32_t v = 0; v < n_dense + n_sparse; v++) {
        bool sparse = v >= n_dense;
        uint32_t dim = 0, nl;
        if ((!sparse && !bio_get_u32(b, &dim)) || !bio_get_u32(b, &nl) || nl > SNAP_MAX_NAME ||
            !bio_get(b, name, nl) || (!sparse && (dim == 0 || dim > CFG_MAX_DIM)))
            return qv_fail(err, QV_CORRUPT, "%s: damaged vector list", path);
        qv_status lrc = !sparse && version >= 4 ? load_chunk_list(b, &fcols[v]) : QV_OK;
        if (lrc)
            return lrc == QV_NOMEM ? qv_fail(err, QV_NOMEM, "out of memory")
                                   : qv_fail(err, QV_CORRUPT, "%s: damaged chunk list", path);
        name[nl] = '\0';
        int32_t dense_at = -1, sparse_at = -1;
        for (uint32_t i = 0; i < s->n_dense; i++)
            if (strcmp(s->dense[i].name, name) == 0)
                dense_at = (int32_t)i;
        for (uint32_t i = 0; i < s->n_sparse; i++)
            if (strcmp(s->sparse_names[i], name) == 0)
                sparse_at = (int32_t)i;
        if (sparse ? dense_at >= 0 : sparse_at >= 0)
            return qv_fail(err, QV_CORRUPT, "%s: vector `%.200s` is %s here but %s in the config", path,
                           name, sparse ? "sparse" : "dense", sparse ? "dense" : "sparse");
        if (!sparse && dense_at >= 0 && s->dense[dense_at].dim != dim)
            return qv_fail(err, QV_CORRUPT, "%s: vector `%.200s` has dimension %u here but %u in the config",
                           path, name, dim, s->dense[dense_at].dim);
        if (sparse) {
            smap[v - n_dense] = sparse_at;
        } else {
            dims[v] = dim;
            dmap[v] = dense_at;
        }
    }
    /* Two file columns of one name would both fill it. */
    for (uint32_t i = 0; i < n_dense; i++)
        for (uint32_t j = 0; j < i; j++)
            if (dmap[i] >= 0 && dmap[i] == dmap[j])
                return qv_fail(err, QV_CORRUPT, "%s: a vector name appears twice", path);
    for (uint32_t i = 0; i < n_sparse; i++)
        for (uint32_t j = 0; j < i; j++)
            if (smap[i] >= 0 && smap[i] == smap[j])
                return qv_fail(err, QV_CORRUPT, "%s: a vector name appears twice", path);
    return QV_OK;
}

/* The path of chunk or block file <kind>-<no>.dat in the directory of the
 * checkpoint at path; false if it does not fit. */
static bool beside(char *out, size_t cap, const char *path, const char *kind, uint32_t no)
{
    const char *slash = strrchr(path, '/');
    return slash ? data_path(out, cap, path, (int)(slash - path), kind, no) : data_path(out, cap, ".", 1, kind, no);
}

/* Read column d's chunks from its chunk file (beside the checkpoint at
 * path), each checked against its CRC32C, and take fc's list as d's saved
 * record (fc is emptied). */
static qv_status load_chunks(store *s, vec_dense *d, const char *path, file_col *fc, qv_error *err)
{
    char file[PATH_MAX];
    if (!beside(file, sizeof file, path, "vec", fc->file_no))
        return qv_fail(err, QV_IO, "path too long: %s", path);
    if (fc->n > s->n_chunks)
        return qv_fail(err, QV_CORRUPT, "%s: %u chunks of vectors for %u slots", path, fc->n, s->n_slots);
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return qv_fail(err, errno == ENOENT ? QV_CORRUPT : QV_IO, "cannot open %s: %s", file, strerror(errno));
    size_t bytes = vec_chunk_bytes(d->dim);
    qv_status rc = QV_OK;
    /* On disk: each image is checked through a buffer (the page cache, not
     * this process, keeps what it reads), then mapped in place of the chunk. */
    float *buf = d->on_disk ? vec_chunk_alloc(d->dim, true) : NULL;
    if (d->on_disk && !buf)
        rc = qv_fail(err, QV_NOMEM, "out of memory");
    for (uint32_t c = 0; c < fc->n && rc == QV_OK; c++) {
        if (fc->at[c] == AT_NONE)
            continue;
        float *into = d->on_disk ? buf : d->chunks[c];
        off_t off = (off_t)fc->at[c] * (off_t)bytes;
        if (pread_all(fd, into, bytes, off) != 0)
            rc = errno ? qv_fail(err, QV_IO, "cannot read %s: %s", file, strerror(errno))
                       : qv_fail(err, QV_CORRUPT, "%s: chunk %u is cut short", file, c);
        else if (qv_crc32c(0, into, bytes) != fc->crc[c])
            rc = qv_fail(err, QV_CORRUPT, "%s: chunk %u is damaged (checksum mismatch)", file, c);
        else if (d->on_disk && !vec_chunk_map(d->chunks[c], d->dim, fd, (uint64_t)off))
            memcpy(d->chunks[c], buf, bytes);  /* not mapped: kept in memory, as without on_disk */
        if (d->on_disk)
            madvise(buf, bytes, MADV_DONTNEED);  /* the buffer gives its pages back */
    }
    vec_chunk_free(buf, d->dim, true);
    close(fd);
    if (rc)
        return rc;
    take_saved(d, fc->file_no, fc->n, fc->at, fc->crc);
    fc->at = fc->crc = NULL;
    if (s->n_chunks)  /* loaded as saved */
        memset(d->dirty, 0, s->n_chunks);
    return QV_OK;
}

/* What a load reads points with. */
typedef struct loader {
    store      *s;
    st_txn      t;
    qv_arena    a;
    uint32_t    version, file_slots, n_dense, n_sparse;
    uint32_t   *dims;
    int32_t    *dmap, *smap;
    file_col   *fcols;
    uint8_t    *blob;
    uint32_t    blob_cap;
    const char *path;
    qv_error   *err;
} loader;

/* Read point i's record from b and insert it (its slot, version 3 on, in
 * [lo, hi)), through the same mutation path as writes, one txn. */
static qv_status load_point(loader *L, bio *b, uint64_t i, uint32_t lo, uint32_t hi)
{
    store *s = L->s;
    qv_status rc = QV_OK;
    qv_point_id id;
    uint32_t len;
    qv_arena_reset(&L->a);
    L->t.ver = 0;  /* versions 1 and 2 keep none */
    uint32_t at;
    if (L->version >= 3) {  /* increasing: the free slots before it are passed by */
        if (!bio_get_u32(b, &at) || at < s->n_slots || at < lo || at >= hi)
            goto truncated;
        if ((rc = reach_slot(s, at, L->err)))
            return rc;
    }
    if (!bio_get(b, &id.uuid, 1) || !bio_get_u64(b, &id.hi) || !bio_get_u64(b, &id.lo) ||
        !pid_valid(&id) || (L->version >= 3 && !bio_get_u64(b, &L->t.ver)) || !bio_get_u32(b, &len) ||
        len > (1u << 30))
        goto truncated;
    if (!bio_has(b, len)) {
        rc = qv_fail(L->err, QV_CORRUPT,
                     "%s: point %llu claims a payload of %u bytes, more than the file holds", L->path,
                     (unsigned long long)i, len);
        return rc;
    }
    if (len > L->blob_cap) {
        uint8_t *p = realloc(L->blob, len);
        if (!p) {
            rc = qv_fail(L->err, QV_NOMEM, "out of memory");
            return rc;
        }
        L->blob = p;
        L->blob_cap = len;
    }
    if (!bio_get(b, L->blob, len) || !pl_validate(L->blob, len) || store_find(s, &id) >= 0)
        goto truncated;
    uint32_t slot;
    if ((rc = st_insert_slot(&L->t, &id, &slot)) || (rc = st_set_payload_blob(&L->t, slot, L->blob, len)))
        return rc;
    for (uint32_t v = 0; v < L->n_dense; v++) {
        uint8_t has;
        if (!bio_get(b, &has, 1))
            goto truncated;
        if (!has)
            continue;
        if (L->fcols[v].file_no) {  /* its floats are in the chunk file */
            if (L->dmap[v] >= 0)
                qv_bit_put(s->dense[L->dmap[v]].has, slot, true);
            continue;
        }
        size_t bytes = (size_t)L->dims[v] * 4;
        if (L->dmap[v] < 0) {
            if (!bio_skip(b, bytes))
                goto truncated;
            continue;
        }
        uint32_t to = (uint32_t)L->dmap[v];
        if (!bio_get(b, (float *)store_dense(s, to, slot), bytes))
            goto truncated;
        qv_bit_put(s->dense[to].has, slot, true);
    }
    for (uint32_t v = 0; v < L->n_sparse; v++) {
        uint32_t nnz;
        if (!bio_get_u32(b, &nnz))
            goto truncated;
        if (nnz == UINT32_MAX)
            continue;
        if (nnz > OPS_MAX_SPARSE_NNZ)
            goto truncated;
        if (!bio_has(b, (uint64_t)nnz * 8)) {
            rc = qv_fail(L->err, QV_CORRUPT,
                         "%s: point %llu claims a sparse vector of %u values, more than the file holds",
                         L->path, (unsigned long long)i, nnz);
            return rc;
        }
        if (L->smap[v] < 0) {
            if (!bio_skip(b, (size_t)nnz * 8))
                goto truncated;
            continue;
        }
        st_sparse_vec *sv = malloc(sizeof *sv + (size_t)nnz * 8);
        if (!sv) {
            rc = qv_fail(L->err, QV_NOMEM, "out of memory");
            return rc;
        }
        sv->n = nnz;
        s->sparse[L->smap[v]][slot] = sv;
        if (!bio_get(b, sv->data, (size_t)nnz * 8))
            goto truncated;
        st_sparse_sort(sv);
    }
    /* A point cut short (rc set above) stays as it is: the caller frees
     * the store. */
    return rc ? rc : st_txn_end(&L->t, QV_OK);
truncated:
    return qv_fail(L->err, QV_CORRUPT, "%s: truncated or damaged at point %llu", L->path, (unsigned long long)i);
}

/* The points from the blocks the checkpoint names (blk-<blk_file>.dat
 * beside it), each checked against its CRC32C: exactly n_points of them.
 * The list becomes the store's saved record (blocks is taken). */
static qv_status load_blocks(loader *L, uint32_t blk_file, st_block *blocks, uint32_t n_blocks, uint64_t n_points)
{
    char file[PATH_MAX];
    if (!beside(file, sizeof file, L->path, "blk", blk_file))
        return qv_fail(L->err, QV_IO, "path too long: %s", L->path);
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return qv_fail(L->err, errno == ENOENT ? QV_CORRUPT : QV_IO, "cannot open %s: %s", file, strerror(errno));
    qv_status rc = QV_OK;
    uint8_t *img = NULL;
    size_t cap = 0;
    uint64_t i = 0;
    for (uint32_t c = 0; c < n_blocks && rc == QV_OK; c++) {
        const st_block *k = &blocks[c];
        if (k->len > cap) {
            uint8_t *p = realloc(img, k->len);
            if (!p) {
                rc = qv_fail(L->err, QV_NOMEM, "out of memory");
                break;
            }
            img = p;
            cap = k->len;
        }
        if (pread_all(fd, img, k->len, (off_t)k->at) != 0) {
            rc = errno ? qv_fail(L->err, QV_IO, "cannot read %s: %s", file, strerror(errno))
                       : qv_fail(L->err, QV_CORRUPT, "%s: block %u is cut short", file, c);
            break;
        }
        if (qv_crc32c(0, img, k->len) != k->crc) {
            rc = qv_fail(L->err, QV_CORRUPT, "%s: block %u is damaged (checksum mismatch)", file, c);
            break;
        }
        bio mb = {.fd = -1, .buf = img, .len = k->len, .left = k->len};
        uint32_t count;
        if (!bio_get_u32(&mb, &count) || count > VEC_CHUNK || i + count > n_points) {
            rc = qv_fail(L->err, QV_CORRUPT, "%s: block %u is damaged", file, c);
            break;
        }
        uint32_t lo = c * VEC_CHUNK, hi = lo + VEC_CHUNK < L->file_slots ? lo + VEC_CHUNK : L->file_slots;
        for (uint32_t j = 0; j < count && rc == QV_OK; j++)
            rc = load_point(L, &mb, i++, lo, hi);
        if (rc == QV_OK && mb.pos != mb.len)
            rc = qv_fail(L->err, QV_CORRUPT, "%s: block %u is damaged", file, c);
    }
    if (rc == QV_OK && i != n_points)
        rc = qv_fail(L->err, QV_CORRUPT, "%s: %llu points, the checkpoint says %llu", file, (unsigned long long)i,
                     (unsigned long long)n_points);
    free(img);
    close(fd);
    if (rc)
        return rc;
    store *s = L->s;
    free(s->blk_saved);
    s->blk_saved = blocks;
    s->n_blk_saved = n_blocks;
    s->blk_file = blk_file;
    s->blk_live = s->blk_end = 0;
    for (uint32_t c = 0; c < n_blocks; c++) {
        s->blk_live += blocks[c].len;
        if (blocks[c].at + blocks[c].len > s->blk_end)
            s->blk_end = blocks[c].at + blocks[c].len;
    }
    return QV_OK;
}

qv_status store_load(store *s, const cfg_collection *cfg, const char *path, uint64_t *seq,
                     qv_error *err)
{
    (void)cfg;
    s->gen = store_gen_next();
    bio b = {.fd = open(path, O_RDONLY | O_CLOEXEC), .buf = malloc(IO_BUF)};
    if (b.fd < 0) {
        free(b.buf);
        return errno == ENOENT ? QV_NOT_FOUND
                               : qv_fail(err, QV_IO, "cannot open %s: %s", path, strerror(errno));
    }
    qv_status rc = QV_OK;
    loader L = {.s = s, .path = path, .err = err};
    qv_arena_init(&L.a, 1 << 16);
    L.t = (st_txn){.s = s, .a = &L.a, .err = err};
    st_block *blocks = NULL;
    uint32_t blk_file = 0, n_blocks = 0;
    struct stat st;
    if (fstat(b.fd, &st) != 0) {
        rc = qv_fail(err, QV_IO, "cannot stat %s: %s", path, strerror(errno));
        goto done;
    }
    b.left = (uint64_t)st.st_size;
    if (!b.buf) {
        rc = qv_fail(err, QV_NOMEM, "out of memory");
        goto done;
    }
    char magic[8];
    uint32_t version, n_dense, n_sparse, file_slots, next_file = 1;
    uint64_t n_points;
    if (!bio_get(&b, magic, 8) || memcmp(magic, SNAP_MAGIC, 8) != 0 || !bio_get_u32(&b, &version) ||
        version < 1 || version > SNAP_VERSION || !bio_get_u32(&b, &n_dense) ||
        !bio_get_u32(&b, &n_sparse) || !bio_get_u32(&b, &file_slots) || !bio_get_u64(&b, seq) ||
        !bio_get_u64(&b, &n_points) || n_points > UINT32_MAX || n_dense > CFG_MAX_NAMED_VECTORS ||
        n_sparse > CFG_MAX_NAMED_VECTORS ||
        (version == 1 && (n_dense != s->n_dense || n_sparse != s->n_sparse)) ||
        (version >= 4 && !bio_get_u32(&b, &next_file))) {
        rc = qv_fail(err, QV_CORRUPT, "%s: bad header or vectors differ from the config", path);
        goto done;
    }
    L.version = version;
    L.file_slots = file_slots;
    L.n_dense = n_dense;
    L.n_sparse = n_sparse;
    bool slots = version >= 3;
    if (slots && (file_slots < n_points || file_slots > store_slot_bound(n_points))) {
        rc = qv_fail(err, QV_CORRUPT, "%s: %llu points in %u slots", path, (unsigned long long)n_points, file_slots);
        goto done;
    }
    L.dims = calloc(n_dense + 1, sizeof *L.dims);
    L.dmap = calloc(n_dense + 1, sizeof *L.dmap);
    L.smap = calloc(n_sparse + 1, sizeof *L.smap);
    L.fcols = calloc(n_dense + 1, sizeof *L.fcols);
    if (!L.dims || !L.dmap || !L.smap || !L.fcols) {
        rc = qv_fail(err, QV_NOMEM, "out of memory");
        goto done;
    }
    if (version == 1) {  /* no names: columns in config order, exactly */
        for (uint32_t v = 0; v < n_dense; v++) {
            if (!bio_get_u32(&b, &L.dims[v]) || L.dims[v] != s->dense[v].dim) {
                rc = qv_fail(err, QV_CORRUPT, "%s: vector dimensions differ from the config", path);
                goto done;
            }
            L.dmap[v] = (int32_t)v;
        }
        for (uint32_t v = 0; v < n_sparse; v++)
            L.smap[v] = (int32_t)v;
    } else if ((rc = load_columns(s, &b, version, n_dense, n_sparse, L.dims, L.dmap, L.smap, L.fcols, path, err))) {
        goto done;
    }
    /* The points: inline, or (version 4) in blocks of the block file. */
    uint32_t chunk_slots;
    if (version >= 4 && (!bio_get_u32(&b, &blk_file) ||
                         (blk_file && (!bio_get_u32(&b, &chunk_slots) || chunk_slots != VEC_CHUNK ||
                                       !bio_get_u32(&b, &n_blocks) || !bio_has(&b, (uint64_t)n_blocks * 16))))) {
        rc = qv_fail(err, QV_CORRUPT, "%s: damaged block list", path);
        goto done;
    }
    /* Every count that sizes memory is held to the bytes that hold the
     * points first: a point takes at least 21 bytes (12 more with its slot
     * and version), plus a byte per dense and 4 per sparse column; the
     * slots at most store_slot_bound. */
    uint64_t min_point = 21 + (slots ? 12 : 0) + n_dense + 4ull * n_sparse, room = b.left;
    if (blk_file) {
        if (!(blocks = malloc((n_blocks ? n_blocks : 1) * sizeof *blocks))) {
            rc = qv_fail(err, QV_NOMEM, "out of memory");
            goto done;
        }
        room = 0;
        for (uint32_t c = 0; c < n_blocks; c++) {
            if (!bio_get_u64(&b, &blocks[c].at) || !bio_get_u32(&b, &blocks[c].len) || !bio_get_u32(&b, &blocks[c].crc)) {
                rc = qv_fail(err, QV_CORRUPT, "%s: damaged block list", path);
                goto done;
            }
            room += blocks[c].len;
        }
        if (n_blocks > (file_slots + VEC_CHUNK - 1) / VEC_CHUNK) {
            rc = qv_fail(err, QV_CORRUPT, "%s: %u blocks for %u slots", path, n_blocks, file_slots);
            goto done;
        }
    }
    if (n_points > room / min_point) {
        rc = qv_fail(err, QV_CORRUPT, "%s: %llu points cannot fit in the file", path, (unsigned long long)n_points);
        goto done;
    }
    /* A point the listeners refuse (st_txn_end) rolls back, freeing a slot:
     * room for it in the free list, as store_apply reserves it. */
    if (s->n_free + 1 > s->cap_free) {
        uint32_t *p = realloc(s->free_slots, (s->n_free + 1) * sizeof *p);
        if (!p) {
            rc = qv_fail(err, QV_NOMEM, "out of memory");
            goto done;
        }
        s->free_slots = p;
        s->cap_free = s->n_free + 1;
    }
    /* Points go through the same mutation path as writes, one txn each. */
    if (!blk_file)
        for (uint64_t i = 0; i < n_points && rc == QV_OK; i++)
            rc = load_point(&L, &b, i, 0, slots ? file_slots : UINT32_MAX);
    if (rc == QV_OK) {
        uint32_t want = b.crc, crc;
        char end[4];
        if (!bio_get_u32(&b, &crc) || crc != want || !bio_get(&b, end, 4) || memcmp(end, SNAP_END, 4) != 0)
            rc = qv_fail(err, QV_CORRUPT, "%s: checksum mismatch", path);
    }
    if (rc == QV_OK && blk_file && (rc = load_blocks(&L, blk_file, blocks, n_blocks, n_points)) == QV_OK)
        blocks = NULL;  /* the store's record now */
    if (rc == QV_OK && slots)
        rc = free_the_rest(s, file_slots, err);
    for (uint32_t v = 0; rc == QV_OK && v < n_dense; v++)
        if (L.fcols[v].file_no && L.dmap[v] >= 0)
            rc = load_chunks(s, &s->dense[L.dmap[v]], path, &L.fcols[v], err);
    if (rc == QV_OK) {
        s->next_file = next_file;
        for (uint32_t v = 0; v < n_dense; v++)
            if (L.fcols[v].file_no >= s->next_file)
                s->next_file = L.fcols[v].file_no + 1;
        if (blk_file >= s->next_file)
            s->next_file = blk_file + 1;
        /* Loaded as saved: nothing changed since. */
        if (s->cap_slots)
            memset(s->blk_dirty, 0, s->cap_slots / VEC_CHUNK);
    }
done:
    for (uint32_t v = 0; L.fcols && v < L.n_dense; v++) {
        free(L.fcols[v].at);
        free(L.fcols[v].crc);
    }
    free(blocks);
    free(L.fcols);
    free(L.t.log);
    free(L.dims);
    free(L.dmap);
    free(L.smap);
    free(L.blob);
    free(b.buf);
    if (b.fd >= 0)
        close(b.fd);
    qv_arena_free(&L.a);
    return rc;
}
