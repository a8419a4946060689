/*
 * store.h — the points of one collection in memory, and their checkpoint.
 *
 * Points live in slots: per slot an id, a payload blob and, per vector name,
 * a dense vector (in chunks of VEC_CHUNK slots, so growth never copies
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
 * Listeners (st_listener) keep structures derived from the points in step:
 * the payload indexes are one (registered by store_init), vector indexes
 * others. A batch tells each the slots it touched, in two steps around the
 * commit point: reserve (may fail; the batch then rolls back and nothing
 * changed) and on_commit (cannot fail; the store already shows the batch
 * and what it replaced is still readable).
 *
 * Columns: one per vector name of the config, in config order (dense, then
 * sparse), each carrying its name. A vector DDL (collection.h) changes them
 * in two steps: store_layout_add / store_layout_remove allocate the new
 * column list (and a new column's memory) while the store stays as it is,
 * so a lack of memory changes nothing; store_layout_commit then swaps it in
 * and cannot fail (under the write lock, with the writer paused).
 *
 * Checkpoint file (points.snap; little-endian; also in docs/FORMAT.md):
 *   OFFSET SIZE DESCRIPTION
 *   0      8    magic "QVSNAP\0\0"
 *   8      4    version (4; versions 1 to 3 are still read)
 *   12     4    n_dense: dense vector columns
 *   16     4    n_sparse: sparse vector columns
 *   20     4    n_slots: the store's slots, free ones included (n_points
 *               <= n_slots <= store_slot_bound(n_points)); versions 1, 2: 0
 *   24     8    sequence number of the last operation applied
 *   32     8    n_points
 *   40     4    (version 4) next_file: the number the next chunk file gets
 *   44     ...  per dense column: u32 dim, u32 name length, name bytes,
 *               (version 4) u32 file_no: 0 = its vectors are inline in the
 *               points, else they are in chunk file vec-<file_no>.dat and
 *               there follow u32 chunk_slots (VEC_CHUNK), u32 n_chunks and
 *               n_chunks x (u32 location, u32 CRC32C of the chunk's image);
 *               then per sparse column: u32 name length, name bytes
 *               (version 1: 4*n_dense dims only, columns in config order)
 *   then (version 4) u32 blk_file: 0 = the points follow inline, else they
 *               are in block file blk-<blk_file>.dat and there follow u32
 *               chunk_slots (VEC_CHUNK), u32 n_blocks and n_blocks x (u64
 *               offset, u32 length, u32 CRC32C of the block's image)
 *   then, inline, n_points records:
 *          4    slot (version 3): increasing, < n_slots; the slots no
 *               record names are free
 *          17   id: u8 uuid, u64 hi, u64 lo
 *          8    version: the operation that last wrote the point (not in
 *               versions 1 and 2, whose points load with version 0)
 *          4    payload length, then the payload blob (pl.h)
 *          per dense column:  u8 present, then dim f32 if present and inline
 *          per sparse column: u32 nnz or 0xFFFFFFFF if absent, u32 indices[nnz], f32 values[nnz]
 *   then   4    CRC32C of every byte before it
 *          4    end magic "QVND"
 * Chunk file vec-<n>.dat: images of VEC_CHUNK x dim f32 (a chunk of the
 * column, slots without a vector included), image k at byte k x its size.
 * Block file blk-<n>.dat: per chunk of VEC_CHUNK slots an image of its
 * points' records (u32 count, then the records, as above), appended.
 * A checkpoint writes the vector chunks and the blocks changed since the
 * last one (st_set_dense marks a vector chunk dirty, every mutation its
 * block): chunks to images the last one does not use, blocks past the
 * block file's end; then the new points.snap, whose rename is the commit
 * point. Vector images no longer named are reused by the next checkpoint;
 * once a block file's dead images outweigh its live ones (past 4 MB), the
 * next checkpoint writes every block into a new one. Files the last
 * checkpoint does not name are removed. A store written compacted (too
 * many free slots) has everything inline.
 * Loading maps the file's columns onto the store's by name: a column the
 * store lacks is skipped, a store column the file lacks starts empty, and
 * the same name with another dimension or kind is damage (QV_CORRUPT). So a
 * checkpoint stays readable across a change of the vector list, whichever
 * side of the config file a crash falls on (collection.h).
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
#include "util/buf.h"
#include "vector/dense.h"
#include "quiver.h"


typedef struct st_payload {
    uint32_t len;
    uint8_t  data[];
} st_payload;

/* Where a chunk of VEC_CHUNK slots was last saved in the block file
 * (st_checkpoint.c). */
typedef struct st_block {
    uint64_t at;
    uint32_t len, crc;
} st_block;

typedef struct st_sparse_vec {
    uint32_t n;
    uint32_t data[];  /* n indices, then n float values (as bits) */
} st_sparse_vec;

/* What a committed batch did to one slot (st_change.what). */
enum {
    ST_CH_INSERTED = 1u << 0,  /* the slot was not live before the batch */
    ST_CH_DELETED  = 1u << 1,  /* the slot is not live after it (both: came and went) */
    ST_CH_PAYLOAD  = 1u << 2,  /* its payload was set (maybe to the same value) */
    ST_CH_VECTORS  = 1u << 3,  /* one of its dense or sparse vectors was set or removed */
};

/* One slot a batch touched, once per slot, in slot order. */
typedef struct st_change {
    uint32_t       slot;
    uint32_t       what;         /* ST_CH_* */
    const uint8_t *old_payload;  /* the payload before the batch (pl_empty when it had
                                  * none); NULL with ST_CH_INSERTED. Valid only during
                                  * the listener's call. */
    size_t         old_len;
    /* Per sparse column, its vector before the batch (NULL: none; NULL
     * altogether when the store has no sparse column). The vector after it
     * is s->sparse[v][slot] if the slot is live. Valid during the call. */
    const struct st_sparse_vec *const *old_sparse;
} st_change;

struct store;

/*
 * A listener of commits. Called under the collection's write lock, with
 * every change of one batch (n >= 1). ctx is the listener's; it must stay
 * valid while registered.
 */
typedef struct st_listener {
    void *ctx;
    /* Whether the next commit concerns it at all (NULL = always); when no
     * listener is active the change list is not even built. */
    bool (*active)(void *ctx, const struct store *s);
    /* Before the commit point: take the memory on_commit will need. An
     * error rolls the batch back. What it took must be harmless to keep
     * (capacity, not state): a later listener's failure does not undo it.
     * NULL = nothing to reserve. */
    qv_status (*reserve)(void *ctx, const struct store *s, const st_change *ch, size_t n,
                         qv_error *err);
    /* The batch is committed: s shows it. Cannot fail. */
    void (*on_commit)(void *ctx, const struct store *s, const st_change *ch, size_t n);
} st_listener;

typedef struct store {
    uint32_t        n_slots;   /* slots ever used (high-water mark) */
    uint32_t        cap_slots;
    uint32_t        n_chunks;
    qv_point_id    *ids;
    uint64_t       *versions;  /* per slot: the id of the operation that last wrote the
                                * point (Qdrant's point version); 0 = not known (loaded
                                * from a checkpoint older than version 3) */
    st_payload    **payloads;  /* NULL = empty payload */
    uint64_t       *live;      /* bit per slot */
    uint32_t       *free_slots;
    uint32_t        n_free, cap_free;
    uint32_t       *map;       /* slot + 1, 0 = empty bucket */
    idtree          order;     /* ids in scroll order -> slot */
    uint32_t        map_cap;   /* power of two */
    uint64_t        n_points;  /* live points */
    uint32_t        n_idx;     /* payload indexes, kept in step at each commit by */
    fidx          **idx;       /* ... the first listener (st_fidx.c) */
    st_listener    *listeners; /* notified at each commit, in order */
    uint32_t        n_listeners;
    uint32_t        n_dense, n_sparse;
    vec_dense       *dense;
    st_sparse_vec ***sparse;   /* [n_sparse][cap_slots] */
    char          **sparse_names;  /* [n_sparse] */
    bool            save_inline; /* store_save writes one self-contained points.snap (no
                                  * chunk or block files; for seeds and exports) */
    double          vacuum_ratio; /* a chunk or block file holding more dead images than
                                   * this share of its live ones is compacted by the next
                                   * checkpoint (optimizers_config.deleted_threshold) ... */
    uint64_t        vacuum_min;   /* ... when the store holds at least this many points
                                   * (vacuum_min_vector_number); both set from the config */
    uint32_t        next_file; /* the number the next new chunk or block file gets (never reused) */
    uint8_t        *blk_dirty; /* per chunk of VEC_CHUNK slots (room as for the vector
                                * chunks): one of its slots changed since the last checkpoint */
    uint32_t        blk_file;  /* the block file the last checkpoint wrote; 0: none */
    uint32_t        n_blk_saved;
    st_block       *blk_saved; /* per chunk of slots: its image in the block file */
    uint64_t        blk_end, blk_live; /* the block file's length after the last checkpoint,
                                        * and the bytes of the images it names */
    qv_buf          ck_img;    /* the last checkpoint's buffer of block images, for the next */
    uint64_t        gen;       /* the state's generation: new at every commit that changed
                                * something, column swap, index attached or dropped (a text
                                * index changes what match.text means) and load; drawn from one
                                * process-wide counter, so no two states of any stores share one */
} store;

/* A prepared change of the vector columns (see above). */
typedef struct store_layout {
    uint32_t        n_dense, n_sparse;
    vec_dense       *dense;
    st_sparse_vec ***sparse;
    char          **sparse_names;
    bool            add_sparse;     /* the column added is sparse (else dense) */
    int             added;          /* index of the column added, or -1 */
    uint32_t        added_chunks;   /* chunks allocated for an added dense column */
    int             removed_dense;  /* index in the store of the column removed, or -1 */
    int             removed_sparse;
} store_layout;

/* A generation no store state had before (store.gen). */
uint64_t store_gen_next(void);

/* An empty store with one column per vector of cfg (names copied). */
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
    return vec_dense_has(&s->dense[v], slot);
}
static inline const float *store_dense(const store *s, uint32_t v, uint32_t slot)
{
    return vec_dense_get(&s->dense[v], slot);
}

/* The payload of a slot (pl_empty when it has none). */
void store_payload(const store *s, uint32_t slot, const uint8_t **blob, size_t *len);

/* The flt_point view of a slot (for filters). */
void store_filter_point(const store *s, const cfg_collection *cfg, uint32_t slot, flt_point *fp);
/* Whether slot matches filter f (NULL: every slot does). */
bool store_matches(const store *s, const cfg_collection *cfg, const flt_filter *f, uint32_t slot);

/*
 * Apply every operation of batch, all or nothing; a point it writes gets
 * the version batch->seq + the operation's index (0 when seq is 0). State-dependent failures
 * (a point that must exist and does not) come back as QV_NOT_FOUND with
 * Qdrant's message, and nothing is changed. scratch is for temporary memory.
 */
qv_status store_apply(store *s, const cfg_collection *cfg, const op_batch *batch, qv_arena *scratch,
                      qv_error *err);

/* Checkpoints keep each point's slot (so a saved HNSW graph, whose nodes
 * are slots, fits the store loaded from them) while the store has at most
 * this many slots for its points; a load allocates every slot up to it.
 * A store with more free slots is written compacted (slots renumbered),
 * and its graphs are not saved. */
static inline uint64_t store_slot_bound(uint64_t n_points) { return 2 * n_points + 65536; }
static inline bool store_keeps_slots(const store *s) { return s->n_slots <= store_slot_bound(s->n_points); }

/*
 * Checkpoints. store_save writes checkpoint file dir/name atomically (temp,
 * fsync, rename, fsync dir) with the chunk and block images it names; it
 * is the three steps below in one call. Split, only the first keeps
 * writers out:
 * - store_ckpt_take: what a checkpoint of seq needs, copied (the chunks
 *   and blocks changed since the last one; O(changed)) and planned; they
 *   count as clean from now on. Caller keeps writers out (readers may go
 *   on). QV_NOMEM changes nothing.
 * - store_ckpt_write: the images, fsynced, then the checkpoint file; reads
 *   only k, so writers may go on meanwhile (one write at a time per dir).
 * - store_ckpt_done: landed (the write returned QV_OK): the checkpoint's
 *   images become the saved ones (on-disk chunks are mapped from them);
 *   else what the take copied is dirty again. Frees k. Caller keeps
 *   writers out; the store's columns must be those of the take (no vector
 *   DDL in between).
 * - store_ckpt_tidy (after a landed one; writers may go on, reads only
 *   what checkpoints change): removes the chunk and block files it no
 *   longer names and cuts chunk files past their last image.
 */
typedef struct st_ckpt st_ckpt;
qv_status store_ckpt_take(store *s, uint64_t seq, const char *dir, st_ckpt **out, qv_error *err);
qv_status store_ckpt_write(st_ckpt *k, const char *dir, const char *name, qv_error *err);
void      store_ckpt_done(store *s, st_ckpt *k, bool landed, const char *dir);
void      store_ckpt_tidy(const store *s, const char *dir);
qv_status store_save(store *s, const char *dir, const char *name, uint64_t seq, qv_error *err);

/* Load a checkpoint into an initialised, empty store; *seq gets its sequence
 * number. Columns are matched by name (version 1 files: by position, and
 * they must match exactly). QV_NOT_FOUND if the file does not exist;
 * QV_CORRUPT if damaged or if a vector has another dimension or kind than
 * in the store. cfg is unused (the store's columns say everything). */
qv_status store_load(store *s, const cfg_collection *cfg, const char *path, uint64_t *seq,
                     qv_error *err);

/* Register l (copied) to be told of every commit from now on; QV_NOMEM
 * leaves the list as it was. Caller holds the write lock. */
qv_status store_listen(store *s, const st_listener *l, qv_error *err);
/* Remove the listener registered with ctx (none: nothing happens). */
void      store_unlisten(store *s, void *ctx);

/* Fill a new index x from every point; reads the store only (the caller
 * keeps writers out, readers may go on). */
void store_fill_index(const store *s, fidx *x);
/* Take ownership of x and use it from now on (write lock). QV_NOMEM leaves
 * the store as it was (x is freed). */
qv_status store_attach_index(store *s, fidx *x, qv_error *err);
/* Remove and free index i. */
void store_drop_index(store *s, uint32_t i);

/*
 * Prepare a new column list: s's columns plus a new empty one at the end of
 * its kind (dim is ignored for sparse), or minus column index of its kind.
 * Allocates everything the change needs (a dense column gets memory for
 * every slot chunk the store has: VEC_CHUNK * dim floats per chunk, which
 * the kernel backs only when touched); s is not changed. The store must not
 * change until the layout is committed or discarded.
 */
qv_status store_layout_add(const store *s, bool sparse, const char *name, uint32_t dim, bool on_disk,
                           store_layout *out, qv_error *err);
qv_status store_layout_remove(const store *s, bool sparse, uint32_t index, store_layout *out,
                              qv_error *err);
/* Swap the prepared columns in and free the removed column's data. Cannot
 * fail. Caller holds the write lock. */
void store_layout_commit(store *s, store_layout *l);
/* Free a prepared layout that will not be committed. */
void store_layout_discard(store_layout *l);

/* Bytes of memory held (for reports). */
size_t store_memory(const store *s);

/* Bytes of chunk and block images the last checkpoint saved or loaded
 * names (points.snap itself aside). */
uint64_t store_saved_bytes(const store *s);

#endif
