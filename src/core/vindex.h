/*
 * vindex.h — the HNSW indexes of a collection's dense vectors, kept in step
 * with its points by a background indexer (internal to core).
 *
 * Per dense column: a graph (vector/hnsw.h, NULL until the column holds at
 * least optimizers_config.indexing_threshold KB of vectors; 0 = never) and a
 * pending bitset: slot s is pending while the graph does not know its
 * current state (inserted, vector changed, deleted, slot reused). A commit
 * listener sets the bits under the write lock; the indexer thread links the
 * pending slots into the graph (or tombstones them) and only then clears
 * their bits, so a point is findable the moment its write is acknowledged:
 * search copies the pending bits once, asks the graph for slots that are
 * not pending in the copy and scores those that are exactly (search.c,
 * graph_search), so a slot the indexer clears meanwhile is counted once.
 *
 * Threading: the indexer works in short rounds under the collection's read
 * lock (the vectors it reads stay where they are), inserting on every core
 * (with one long-lived helper thread, handed the work of each big round).
 * A round is at most
 * VX_ROUND slots, and ends early when a writer waits for the lock
 * (coll_wrlock raises writers_waiting): each thread finishes the insert it
 * is in, the slots not reached stay pending, and the indexer lets the
 * writer in before its next round. Every thread links one slot a round at
 * least, so a stream of writes cannot stall the index. Pending bits are atomic words: searches read
 * them under the read lock while the indexer clears them. A graph grows
 * (hnsw_reserve) under its column's exclusive glock, which searches hold
 * shared. Each round holds `round`, which vx_ckpt_take takes to copy graphs
 * and pending bits between two rounds. A vector DDL resets everything
 * under the write lock (vx_reset), and the indexer starts over from the
 * points.
 *
 * Tombstones: a deleted point stays in its graph as a tombstone that
 * routes searches but is never returned. When a graph holds at least
 * optimizers_config.vacuum_min_vector_number tombstones and they are more
 * than deleted_threshold of its nodes (Qdrant's vacuum settings, defaults
 * 1000 and 0.2), and nothing is pending, the indexer repairs it in the
 * background: it takes the set of tombstones, relinks every node that
 * links to one (hnsw_repair, VX_REPAIR_ROUND slots per round under the
 * read lock, on every core, pending inserts first), then drops them from
 * the graph under the column's exclusive glock (hnsw_drop: searches wait
 * for one pass over the links). Status is yellow meanwhile, as Qdrant's
 * while it optimizes. Search results never depend on it.
 */
#ifndef QV_CORE_VINDEX_H
#define QV_CORE_VINDEX_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/store.h"
#include "vector/hnsw.h"

#define VX_ROUND 64   /* slots the indexer links per hold of the read lock */
#define VX_REPAIR_ROUND 1024  /* slots whose links a repair round checks */

typedef struct vx_col {
    hnsw            *g;           /* NULL: no graph (exact search) */
    _Atomic uint64_t *pending;    /* bit per slot, words for cap_slots */
    uint32_t          words;
    atomic_uint_fast64_t n_pending;
    pthread_rwlock_t  glock;      /* shared: search / insert / repair; exclusive: reserve, drop */
    bool              failed;     /* building ran out of memory: exact until a reset */
    /* Tombstone repair (indexer thread): the tombstones being repaired, for
     * slots < doomed_slots, and the next slot whose links to check. */
    uint64_t         *doomed;
    uint32_t          doomed_slots, cursor;
    atomic_bool       repairing;  /* doomed is set (read by vx_busy) */
    bool              no_repair;  /* a repair ran out of memory: tombstones stay */
    /* A rebuild with new settings (vx_retune): built beside g, which serves
     * until next knows every slot; npending is to next what pending is to g. */
    hnsw             *next;
    _Atomic uint64_t *npending;   /* words for cap_slots, like pending */
    atomic_uint_fast64_t n_npending;
} vx_col;

struct qv_collection;

typedef struct vx_index {
    struct qv_collection *c;
    uint32_t         n_cols;      /* = the store's dense columns */
    vx_col          *cols;
    pthread_t        thread;
    pthread_mutex_t  m;
    pthread_cond_t   cv;
    bool             work, stop, running;
    pthread_mutex_t  round;       /* held by the indexer for each round; vx_ckpt_take takes it
                                     to see graphs and pending bits hold still */
    bool             dirty;       /* a graph changed since the last vx_ckpt_take (round) */
    long             cpus;        /* online at start: a round uses one helper thread when > 1 */
    /* The helper: one thread the indexer starts at its first big round and
     * stops when it ends, handed each round's work (job) under hm. */
    pthread_t        helper;
    bool             helper_on, helper_stop;
    pthread_mutex_t  hm;
    pthread_cond_t   hcv;
    void          *(*job)(void *);
    void            *job_arg;
} vx_index;

/* Set up (no thread yet) and register the commit listener on c's store. */
qv_status vx_init(vx_index *x, struct qv_collection *c, qv_error *err);
/* Start the indexer thread (after recovery) / stop and join it. */
qv_status vx_start(vx_index *x, qv_error *err);
void      vx_stop(vx_index *x);
void      vx_free(vx_index *x);

/* The columns changed (vector DDL): drop every graph and start over.
 * Caller holds the write lock. */
void vx_reset(vx_index *x);

/* The hnsw or optimizer settings changed (PATCH, after the collection's
 * schema took them): the graph of a column that is no longer to have one
 * (m 0, indexing_threshold 0) is dropped at once; one built with another m
 * or ef_construct keeps serving while the indexer builds its successor
 * beside it (`next`, every slot pending for it, kept in step with commits),
 * and is swapped for it once that knows every slot, as Qdrant's optimizers
 * keep the old segments searchable (without memory for it: dropped, and
 * search exact until the rebuild). The indexer is woken either way, for a
 * threshold that now lets a graph be built. Caller holds the write lock. */
void vx_retune(vx_index *x);

/*
 * Graph files: with each checkpoint (collection.c), every column's graph is
 * saved as `hnsw-<seq>-<v>.graph` (seq: the checkpoint's operation id, v:
 * the column's index), together with the column's pending bits and the
 * vectors of the graph's nodes that the checkpoint does not hold (deleted
 * points, which still route): format in docs/FORMAT.md. The checkpoint
 * keeps slots (store_keeps_slots), so after loading it the graph's nodes
 * are the store's slots again; pending = the saved bits, and the log's
 * replay marks what it touches, as for any commit.
 *
 * Saving, in two steps so that writers wait only for the first:
 * vx_ckpt_take (the checkpoint's taker; caller keeps writers out, so the
 * store stays as the checkpoint sees it) waits for the indexer's round to
 * end and copies each graph (hnsw_save_buf), its pending bits and those
 * vectors (NULL when out of memory, logged); vx_ckpt_write writes the
 * files (NULL: nothing) while the indexer and writers go on; vx_ckpt_free.
 * A failure to save is logged; the checkpoint goes on (the graph is built
 * at restart).
 * vx_load (open, after vx_init, before the replay): a file that does not
 * fit the store, the column or the hnsw_config (damage, another seq, name,
 * dim, slot count, capacity above the store's, parameters, a node without
 * a vector, a slot not pending that the graph does not know) is ignored
 * with a warning, and that column's graph is built again.
 * vx_prune: remove graph files of dir (and leftovers of their writes):
 * VX_PRUNE_ALL, those of checkpoint seq (VX_PRUNE_SEQ) or of any other
 * (VX_PRUNE_OTHERS, once the checkpoint of seq has landed).
 */
enum { VX_PRUNE_ALL, VX_PRUNE_SEQ, VX_PRUNE_OTHERS };
typedef struct vx_ckpt vx_ckpt;
vx_ckpt *vx_ckpt_take(vx_index *x, uint64_t seq);
void     vx_ckpt_write(vx_index *x, vx_ckpt *k, const char *dir);
void     vx_ckpt_free(vx_ckpt *k);
/* The graphs count as changed (a checkpoint whose graph files were
 * written did not land). */
void     vx_mark_dirty(vx_index *x);
uint64_t vx_load(vx_index *x, const char *dir, uint64_t seq);  /* bytes of graph files read */
void vx_prune(const char *dir, uint64_t seq, int which);
/* Whether a graph changed since the last vx_ckpt_take. */
static inline bool vx_dirty(const vx_index *x) { return x->dirty; }

/* Slots in graphs (tombstones aside) and whether work is pending, for
 * collection info. Caller holds the read lock. */
uint64_t vx_indexed_count(const vx_index *x);
bool     vx_busy(const vx_index *x);

#endif
