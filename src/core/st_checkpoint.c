/*
 * st_checkpoint.c — the checkpoint file of a store (store_save,
 * store_load); its format is in store.h and docs/FORMAT.md.
 */
#define _GNU_SOURCE
#include "core/store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "payload/pl.h"
#include "util/crc32c.h"
#include "util/endian.h"
#include "util/fsutil.h"

/* ---- checkpoints -------------------------------------------------------------------------- */

#define SNAP_MAGIC "QVSNAP\0\0"
#define SNAP_END   "QVND"
#define SNAP_VERSION 3  /* 3: slots and point versions; 1 and 2 are still read */
#define SNAP_MAX_NAME 4096  /* a longer column name in a checkpoint is damage */
#define IO_BUF     (1u << 20)

typedef struct bio {
    int      fd;
    uint8_t *buf;
    size_t   len, pos;  /* writer: len used; reader: len filled, pos read */
    uint32_t crc;
    bool     failed;
    uint64_t left;      /* reader: bytes of the file not yet taken by bio_get */
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

qv_status store_save(const store *s, const char *dir, const char *name, uint64_t seq, qv_error *err)
{
    char tmp[PATH_MAX], path[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s/%s.tmp", dir, name) >= (int)sizeof tmp ||
        snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return qv_fail(err, QV_IO, "checkpoint path too long in %s", dir);
    bio b = {.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), .buf = malloc(IO_BUF)};
    if (b.fd < 0 || !b.buf) {
        int e = errno;
        if (b.fd >= 0)
            close(b.fd);
        free(b.buf);
        return qv_fail(err, b.buf ? QV_IO : QV_NOMEM, "cannot write checkpoint %s: %s", tmp, strerror(e));
    }
    /* Slots as they are, so that a saved HNSW graph (whose nodes are
     * slots) fits the store this file loads into; a store with too many
     * free slots for that is written compacted (store_keeps_slots). */
    bool keep = store_keeps_slots(s);
    uint32_t rank = 0;
    bio_put(&b, SNAP_MAGIC, 8);
    bio_u32(&b, SNAP_VERSION);
    bio_u32(&b, s->n_dense);
    bio_u32(&b, s->n_sparse);
    bio_u32(&b, keep ? s->n_slots : (uint32_t)s->n_points);
    bio_u64(&b, seq);
    bio_u64(&b, s->n_points);
    /* Columns by name, so that a load can map them onto another vector
     * list (a vector added or removed since). */
    for (uint32_t v = 0; v < s->n_dense; v++) {
        uint32_t nl = (uint32_t)strlen(s->dense[v].name);
        bio_u32(&b, s->dense[v].dim);
        bio_u32(&b, nl);
        bio_put(&b, s->dense[v].name, nl);
    }
    for (uint32_t v = 0; v < s->n_sparse; v++) {
        uint32_t nl = (uint32_t)strlen(s->sparse_names[v]);
        bio_u32(&b, nl);
        bio_put(&b, s->sparse_names[v], nl);
    }
    for (uint32_t slot = 0; slot < s->n_slots && !b.failed; slot++) {
        if (!store_live(s, slot))
            continue;
        const qv_point_id *id = &s->ids[slot];
        bio_u32(&b, keep ? slot : rank++);
        bio_u8(&b, id->uuid);
        bio_u64(&b, id->hi);
        bio_u64(&b, id->lo);
        bio_u64(&b, s->versions[slot]);
        const uint8_t *blob;
        size_t len;
        store_payload(s, slot, &blob, &len);
        bio_u32(&b, (uint32_t)len);
        bio_put(&b, blob, len);
        for (uint32_t v = 0; v < s->n_dense; v++) {
            bool has = store_has_dense(s, v, slot);
            bio_u8(&b, has);
            if (has)
                bio_put(&b, store_dense(s, v, slot), (size_t)s->dense[v].dim * 4);
        }
        for (uint32_t v = 0; v < s->n_sparse; v++) {
            const st_sparse_vec *sv = s->sparse[v][slot];
            bio_u32(&b, sv ? sv->n : UINT32_MAX);
            if (sv)
                bio_put(&b, sv->data, (size_t)sv->n * 8);
        }
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
        return qv_fail(err, QV_IO, "cannot write checkpoint %s: %s", path, strerror(e));
    }
    return QV_OK;
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

/* Read the column list of a version 2 header and map each file column onto
 * the store's column of that name (-1: not in the store). */
static qv_status load_columns(const store *s, bio *b, uint32_t n_dense, uint32_t n_sparse,
                              uint32_t *dims, int32_t *dmap, int32_t *smap, const char *path,
                              qv_error *err)
{
    char name[SNAP_MAX_NAME + 1];
    for (uint32_t v = 0; v < n_dense + n_sparse; v++) {
        bool sparse = v >= n_dense;
        uint32_t dim = 0, nl;
        if ((!sparse && !bio_get_u32(b, &dim)) || !bio_get_u32(b, &nl) || nl > SNAP_MAX_NAME ||
            !bio_get(b, name, nl) || (!sparse && (dim == 0 || dim > CFG_MAX_DIM)))
            return qv_fail(err, QV_CORRUPT, "%s: damaged vector list", path);
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
    qv_arena a;
    qv_arena_init(&a, 1 << 16);
    uint8_t *blob = NULL;
    uint32_t blob_cap = 0;
    uint32_t *dims = NULL;
    int32_t *dmap = NULL, *smap = NULL;
    st_txn t = {.s = s, .a = &a, .err = err};
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
    uint32_t version, n_dense, n_sparse, file_slots;
    uint64_t n_points;
    if (!bio_get(&b, magic, 8) || memcmp(magic, SNAP_MAGIC, 8) != 0 || !bio_get_u32(&b, &version) ||
        version < 1 || version > SNAP_VERSION || !bio_get_u32(&b, &n_dense) ||
        !bio_get_u32(&b, &n_sparse) || !bio_get_u32(&b, &file_slots) || !bio_get_u64(&b, seq) ||
        !bio_get_u64(&b, &n_points) || n_points > UINT32_MAX || n_dense > CFG_MAX_NAMED_VECTORS ||
        n_sparse > CFG_MAX_NAMED_VECTORS ||
        (version == 1 && (n_dense != s->n_dense || n_sparse != s->n_sparse))) {
        rc = qv_fail(err, QV_CORRUPT, "%s: bad header or vectors differ from the config", path);
        goto done;
    }
    /* Every count that sizes memory is held to the file's size first: a
     * point takes at least 21 bytes (12 more with its slot and version), plus a byte per
     * dense and 4 per sparse column; the slots at most store_slot_bound. */
    bool slots = version >= 3;
    uint64_t min_point = 21 + (slots ? 12 : 0) + n_dense + 4ull * n_sparse;
    if (n_points > b.left / min_point ||
        (slots && (file_slots < n_points || file_slots > store_slot_bound(n_points)))) {
        rc = qv_fail(err, QV_CORRUPT, "%s: %llu points or %u slots cannot fit in the file", path,
                     (unsigned long long)n_points, file_slots);
        goto done;
    }
    dims = calloc(n_dense + 1, sizeof *dims);
    dmap = calloc(n_dense + 1, sizeof *dmap);
    smap = calloc(n_sparse + 1, sizeof *smap);
    if (!dims || !dmap || !smap) {
        rc = qv_fail(err, QV_NOMEM, "out of memory");
        goto done;
    }
    if (version == 1) {  /* no names: columns in config order, exactly */
        for (uint32_t v = 0; v < n_dense; v++) {
            if (!bio_get_u32(&b, &dims[v]) || dims[v] != s->dense[v].dim) {
                rc = qv_fail(err, QV_CORRUPT, "%s: vector dimensions differ from the config", path);
                goto done;
            }
            dmap[v] = (int32_t)v;
        }
        for (uint32_t v = 0; v < n_sparse; v++)
            smap[v] = (int32_t)v;
    } else if ((rc = load_columns(s, &b, n_dense, n_sparse, dims, dmap, smap, path, err))) {
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
    for (uint64_t i = 0; i < n_points && rc == QV_OK; i++) {
        qv_point_id id;
        uint32_t len;
        qv_arena_reset(&a);
        t.ver = 0;  /* versions 1 and 2 keep none */
        uint32_t at;
        if (slots) {  /* increasing: the free slots before it are passed by */
            if (!bio_get_u32(&b, &at) || at < s->n_slots || at >= file_slots)
                goto truncated;
            if ((rc = reach_slot(s, at, err)))
                break;
        }
        if (!bio_get(&b, &id.uuid, 1) || !bio_get_u64(&b, &id.hi) || !bio_get_u64(&b, &id.lo) ||
            !pid_valid(&id) || (version >= 3 && !bio_get_u64(&b, &t.ver)) || !bio_get_u32(&b, &len) ||
            len > (1u << 30))
            goto truncated;
        if (!bio_has(&b, len)) {
            rc = qv_fail(err, QV_CORRUPT,
                         "%s: point %llu claims a payload of %u bytes, more than the file holds", path,
                         (unsigned long long)i, len);
            break;
        }
        if (len > blob_cap) {
            uint8_t *p = realloc(blob, len);
            if (!p) {
                rc = qv_fail(err, QV_NOMEM, "out of memory");
                break;
            }
            blob = p;
            blob_cap = len;
        }
        if (!bio_get(&b, blob, len) || !pl_validate(blob, len) || store_find(s, &id) >= 0)
            goto truncated;
        uint32_t slot;
        if ((rc = st_insert_slot(&t, &id, &slot)) || (rc = st_set_payload_blob(&t, slot, blob, len)))
            break;
        for (uint32_t v = 0; v < n_dense; v++) {
            uint8_t has;
            if (!bio_get(&b, &has, 1))
                goto truncated;
            if (!has)
                continue;
            size_t bytes = (size_t)dims[v] * 4;
            if (dmap[v] < 0) {
                if (!bio_skip(&b, bytes))
                    goto truncated;
                continue;
            }
            uint32_t to = (uint32_t)dmap[v];
            if (!bio_get(&b, (float *)store_dense(s, to, slot), bytes))
                goto truncated;
            qv_bit_put(s->dense[to].has, slot, true);
        }
        for (uint32_t v = 0; v < n_sparse; v++) {
            uint32_t nnz;
            if (!bio_get_u32(&b, &nnz))
                goto truncated;
            if (nnz == UINT32_MAX)
                continue;
            if (nnz > OPS_MAX_SPARSE_NNZ)
                goto truncated;
            if (!bio_has(&b, (uint64_t)nnz * 8)) {
                rc = qv_fail(err, QV_CORRUPT,
                             "%s: point %llu claims a sparse vector of %u values, more than the file holds",
                             path, (unsigned long long)i, nnz);
                break;
            }
            if (smap[v] < 0) {
                if (!bio_skip(&b, (size_t)nnz * 8))
                    goto truncated;
                continue;
            }
            st_sparse_vec *sv = malloc(sizeof *sv + (size_t)nnz * 8);
            if (!sv) {
                rc = qv_fail(err, QV_NOMEM, "out of memory");
                break;
            }
            sv->n = nnz;
            s->sparse[smap[v]][slot] = sv;
            if (!bio_get(&b, sv->data, (size_t)nnz * 8))
                goto truncated;
            st_sparse_sort(sv);
        }
        /* A point cut short (rc set above) stays as it is: the caller
         * frees the store. */
        if (rc || (rc = st_txn_end(&t, QV_OK)))
            break;
        continue;
    truncated:
        rc = qv_fail(err, QV_CORRUPT, "%s: truncated or damaged at point %llu", path,
                     (unsigned long long)i);
    }
    if (rc == QV_OK) {
        uint32_t want = b.crc, crc;
        char end[4];
        if (!bio_get_u32(&b, &crc) || crc != want || !bio_get(&b, end, 4) || memcmp(end, SNAP_END, 4) != 0)
            rc = qv_fail(err, QV_CORRUPT, "%s: checksum mismatch", path);
    }
    if (rc == QV_OK && slots)
        rc = free_the_rest(s, file_slots, err);
done:
    free(t.log);
    free(dims);
    free(dmap);
    free(smap);
    free(blob);
    free(b.buf);
    if (b.fd >= 0)
        close(b.fd);
    qv_arena_free(&a);
    return rc;
}

