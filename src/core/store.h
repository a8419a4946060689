/*
 * store.h — the points of one collection in memory, and their checkpoint.
 *
 * Points live in slots: per slot an id, a payload blob and, per vector name,
 * a dense vector (in chunks of STORE_CHUNK slots, so growth never copies
 * vectors and wastes at most one chunk) or a sparse vector. An open-addressing
 * hash table (4 bytes per bucket) maps ids to slots; a B+tree (idtree.h)
 * keeps them in scroll order. Deleted slots are reused.
 *
 * Writes come as whole batches (store_apply): every operation is applied
 * in order while an undo log remembers what it replaced; if any operation
 * fails, the log restores everything, so a batch takes effect entirely or
 * not at all. The caller holds the collection's write lock around
 * store_apply, so readers (holding the read lock) never see half a batch.
 *
 * Checkpoint file (points.snap; little-endian; also in docs/FORMAT.md):
 *   OFFSET SIZE DESCRIPTION
 *   0      8    magic "QVSNAP\0\0"
 *   8      4    version (1)
 *   12     4    n_dense: dense vector names
 *   16     4    n_sparse: sparse vector names
 *   20     4    reserved, 0
 *   24     8    sequence number of the last operation applied
 *   32     8    n_points
 *   40     4*n_dense  dimension of each dense vector
 *   then n_points records:
 *          17   id: u8 uuid, u64 hi, u64 lo
 *          4    payload length, then the payload blob (pl.h)
 *          per dense vector:  u8 present, then dim f32 if present
 *          per sparse vector: u32 nnz or 0xFFFFFFFF if absent, u32 indices[nnz], f32 values[nnz]
 *   then   4    CRC32C of every byte before it
 *          4    end magic "QVND"
 */
#ifndef QV_CORE_STORE_H
#define QV_CORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/ops.h"
#include "json/jpid.h"
#include "index/fieldidx.h"
#include "index/idtree.h"
#include "quiver.h"

#define STORE_CHUNK 1024  /* slots per chunk of dense vectors */

typedef struct st_payload {
    uint32_t len;
    uint8_t  data[];
} st_payload;

typedef struct st_sparse_vec {
    uint32_t n;
    uint32_t data[];  /* n indices, then n float values (as bits) */
} st_sparse_vec;

typedef struct st_dense {
    uint32_t  dim;
    float   **chunks;    /* n_chunks chunks of STORE_CHUNK * dim floats */
    uint64_t *has;       /* presence bit per slot */
} st_dense;

typedef struct store {
    uint32_t        n_slots;   /* slots ever used (high-water mark) */
    uint32_t        cap_slots;
    uint32_t        n_chunks;
    qv_point_id    *ids;
    st_payload    **payloads;  /* NULL = empty payload */
    uint64_t       *live;      /* bit per slot */
    uint32_t       *free_slots;
    uint32_t        n_free, cap_free;
    uint32_t       *map;       /* slot + 1, 0 = empty bucket */
    idtree          order;     /* ids in scroll order -> slot */
    uint32_t        map_cap;   /* power of two */
    uint64_t        n_points;  /* live points */
    uint32_t        n_idx;     /* payload indexes, kept in step at each commit */
    fidx          **idx;
    uint32_t        n_dense, n_sparse;
    st_dense       *dense;
    st_sparse_vec ***sparse;   /* [n_sparse][cap_slots] */
} store;

qv_status store_init(store *s, const cfg_collection *cfg, qv_error *err);
void      store_free(store *s);

/* Slot of id, or -1. */
int64_t store_find(const store *s, const qv_point_id *id);

static inline bool store_live(const store *s, uint32_t slot)
{
    return s->live[slot >> 6] >> (slot & 63) & 1;
}
static inline bool store_has_dense(const store *s, uint32_t v, uint32_t slot)
{
    return s->dense[v].has[slot >> 6] >> (slot & 63) & 1;
}
static inline const float *store_dense(const store *s, uint32_t v, uint32_t slot)
{
    return s->dense[v].chunks[slot / STORE_CHUNK] + (size_t)(slot % STORE_CHUNK) * s->dense[v].dim;
}

/* The payload of a slot (pl_empty when it has none). */
void store_payload(const store *s, uint32_t slot, const uint8_t **blob, size_t *len);

/* The flt_point view of a slot (for filters). */
void store_filter_point(const store *s, const cfg_collection *cfg, uint32_t slot, flt_point *fp);

/*
 * Apply every operation of batch, all or nothing. State-dependent failures
 * (a point that must exist and does not) come back as QV_NOT_FOUND with
 * Qdrant's message, and nothing is changed. scratch is for temporary memory.
 */
qv_status store_apply(store *s, const cfg_collection *cfg, const op_batch *batch, qv_arena *scratch,
                      qv_error *err);

/* Write the checkpoint file path atomically (temp, fsync, rename, fsync dir). */
qv_status store_save(const store *s, const char *dir, const char *name, uint64_t seq, qv_error *err);

/* Load a checkpoint into an initialised, empty store; *seq gets its sequence
 * number. QV_NOT_FOUND if the file does not exist; QV_CORRUPT if damaged or
 * if its vectors do not match cfg. */
qv_status store_load(store *s, const cfg_collection *cfg, const char *path, uint64_t *seq,
                     qv_error *err);

/* Fill a new index x from every point; reads the store only (the caller
 * keeps writers out, readers may go on). */
void store_fill_index(const store *s, fidx *x);
/* Take ownership of x and use it from now on (write lock). QV_NOMEM leaves
 * the store as it was (x is freed). */
qv_status store_attach_index(store *s, fidx *x, qv_error *err);
/* Remove and free index i. */
void store_drop_index(store *s, uint32_t i);

/* Bytes of memory held (for reports). */
size_t store_memory(const store *s);

#endif
