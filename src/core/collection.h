/*
 * collection.h — one collection at run time: its points (store.h), its
 * write-ahead log (wal.h) and its writer, sync and apply threads.
 *
 * Write path: a request thread parses and validates the whole request
 * (ops.h), encodes it as one record, decodes that record into the batch
 * the writer will apply (the decode replay runs) and queues it
 * (coll_submit). Three stages follow, each a thread:
 *   1. the writer takes everything queued as one group and appends it to
 *      the log (page cache; wait=false requests answer here), then hands it
 *      on and takes the next group;
 *   2. the sync thread takes every group appended so far and makes them
 *      durable with ONE fdatasync (group commit), then hands them on;
 *   3. the apply thread applies each synced record under the write lock,
 *      all or nothing (store_apply), and wakes the requests that wait.
 * So group k+1 can be appended while group k is synced, and synced while
 * k is applied, yet nothing is applied before it is durable: everything a
 * reader can see is on disk, and a crash loses only requests that were
 * never acknowledged as completed.
 * Faults: a group whose append fails answers every item with the error
 * (500) and is cut from the log and voided (wal_void), so recovery never
 * brings it back even if its bytes reach the disk later. A failed sync
 * breaks the log: every item of the run fails, and everything the log
 * holds from the run's first record on is voided — also groups the writer
 * appended while that sync ran, which fail too; the collection then
 * refuses writes until restart while reads go on. A logged record whose
 * apply fails for a reason replay would not meet again (out of memory,
 * I/O) is voided too; voiding allocates nothing (its room is reserved,
 * wal.h), so that holds when memory stays short. Only a void list that
 * cannot be written (a second disk fault) leaves such a record to replay:
 * that is logged, and the log is then broken. Results come out of the
 * apply thread in log order, failed items too.
 * So what readers saw is what recovery rebuilds. A wait=false write is
 * answered once appended: if the group's sync then fails it is voided,
 * as a crash of the machine before the sync would have lost it.
 * When the log's newest segment outgrows wal_capacity_mb, the writer,
 * with the other stages idle, takes a checkpoint of the store (copies of
 * what changed since the last one, and of the graphs: store_ckpt_take,
 * vx_ckpt_take) and starts a new segment (wal-<first seq>.log); the
 * checkpointer thread writes it (points.snap and its files) while writes
 * go on, then removes the segments it covers. So recovery (load the
 * checkpoint, replay the segments above it) stays bounded: at most about
 * two capacities of log, one being checkpointed and the newest. One
 * checkpoint is written at a time; a failed one leaves its segments, marks
 * what it took dirty again and is tried again once the newest segment is
 * full again.
 *
 * Changing the vector list (PUT/DELETE /collections/{c}/vectors/{v}, in
 * catalog.c): log records name vectors by their index in the config's
 * list, so no record written under one list may ever be replayed under
 * another. Such a change therefore
 *   - holds `ddl`, then `vgate` exclusively: no write request is between
 *     parsing against `schema` and queueing its record (they hold `vgate`
 *     shared for that span); then the catalog lock shared (no collection
 *     delete, PATCH or config write meanwhile);
 *   - pauses the writer (coll_pause): everything queued is applied, a
 *     checkpoint being written has landed, and the log and the store are
 *     the DDL's alone;
 *   - (1) writes a checkpoint of the store in the current layout at the
 *     last applied id, starts a log segment after the change's own
 *     operation id and removes the older ones (coll_checkpoint): no
 *     old-layout record is left to replay;
 *   - (2) writes the new config file atomically (temp, fsync, rename,
 *     fsync dir);
 *   - (3) swaps `cfg`, `schema` and the store's columns under `apply`,
 *     `vlock` and `lock` (all exclusive), with memory prepared beforehand so
 *     that nothing can fail there; then resumes the writer.
 * A crash before (2) finds the old config and a checkpoint that holds the
 * same columns; after (2), the new config and a checkpoint whose columns
 * are mapped by name (store.h): a vector the config lacks is skipped, a
 * new one starts empty. Either way the log holds nothing older. Readers
 * see the old list or the new one, never a mix: those that parse a
 * with_vector selection hold `vlock` shared across the whole read. A
 * removed vector's data also leaves points.snap: a second checkpoint is
 * written after the swap (best effort; else at the next checkpoint).
 * Costs: one or two full checkpoints; writes to this collection wait
 * meanwhile, reads do not (except for the swap).
 *
 * Lifetime: the catalog holds one reference; a request holds one while it
 * uses the collection (cat_acquire / cat_release in db.h). The last
 * release frees it.
 * Locks: `lock` guards `st` (readers shared, the writer exclusive); `apply`
 * is held by whoever changes the points (the writer) or needs them to stay
 * still for long without blocking readers (an index build, which then
 * reads under the shared lock); `qm` guards the queue and sequence numbers.
 * `vgate` and `vlock` guard `schema` (see above).
 * Order: ddl, vgate, catalog, vlock, apply, lock. Nothing takes ddl or
 * vgate while holding the catalog lock. `logm` is taken alone (never with
 * qm, apply or lock held).
 */
#ifndef QV_CORE_COLLECTION_H
#define QV_CORE_COLLECTION_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "core/config.h"
#include "core/sindex.h"
#include "core/store.h"
#include "core/vindex.h"
#include "quiver.h"
#include "storage/wal.h"

typedef struct wr_item wr_item;

/* A stage of the write path after the writer: a thread and the runs of
 * items waiting for it, in order (all under qm); busy while it works on a
 * run it took. */
enum { WR_SYNC, WR_APPLY, WR_STAGES };
typedef struct wr_stage {
    pthread_cond_t work;
    wr_item       *head, *tail;
    bool           busy, stop;
    pthread_t      thread;
} wr_stage;

/* A payload index as defined by the user: kept in the config file, and
 * built into the store (st.idx[i] belongs to defs[i]). */
typedef struct idx_def {
    char *field;        /* the key path as given */
    char *schema_json;  /* field_schema, compact JSON */
} idx_def;

typedef struct qv_collection {
    char          *name;
    char          *dir;
    cfg_collection cfg;       /* current config (PATCH replaces it; catalog lock) */
    cfg_collection schema;    /* the vector list ops and the store use: changes only with a
                                 vector DDL (vgate + vlock + lock exclusive) */
    idx_def       *defs;      /* payload indexes (catalog lock; the store's under lock too) */
    uint32_t       n_defs;
    pthread_mutex_t ddl;      /* index and vector changes of this collection, one at a time */
    pthread_rwlock_t vgate;   /* shared: a write from parse to queued; exclusive: vector DDL */
    pthread_rwlock_t vlock;   /* shared: a read that parsed against schema; exclusive: the swap */
    atomic_int     refs;

    pthread_rwlock_t lock;    /* guards st */
    atomic_uint      writers_waiting;  /* for lock, exclusively: the indexer ends its round */
    pthread_mutex_t  apply;   /* held while points change: the writer's apply; an index build */
    store            st;
    vx_index         vx;      /* HNSW graphs of st's dense vectors (vindex.h) */
    sx_index         sx;      /* inverted indexes of st's sparse vectors (sindex.h) */

    pthread_mutex_t qm;
    pthread_cond_t  work;     /* the writer waits for items */
    pthread_cond_t  done;     /* requests wait for their item */
    wr_item        *head, *tail;
    uint64_t        next_seq; /* the next operation id */
    bool            stopping, stopped, running;
    pthread_t       writer;
    wr_stage        stage[WR_STAGES];  /* the sync and apply threads (qm) */
    pthread_cond_t  idle;     /* a stage finished a run */

    /* The log: the writer appends, the sync thread syncs (wal_sync may run
     * beside an append, wal.h); every other log call holds logm. */
    pthread_mutex_t logm;
    wal     *log;
    uint64_t voided_to;       /* logm: voided after a failed sync up to here */
    uint64_t applied_seq;     /* last operation id applied (apply thread; writer once idle) */
    uint64_t ckpt_seq;        /* ... as of the checkpoint on disk (the checkpointer; read once
                                 it is idle) */
    /* The log's segments, oldest first (logm; changed by the writer and the
     * checkpointer): first sequence number of each, 0 for a wal.log of an
     * earlier version. The last is log; the older ones wait for a
     * checkpoint that covers them. */
    uint64_t *seg_first;
    uint32_t  n_segs, cap_segs;
    /* The checkpointer thread (qm): writes the checkpoint the writer took
     * (ckpt_job; NULL: idle), started with the first. */
    struct ckpt_job *ckpt_job;
    pthread_cond_t   ckpt_work, ckpt_idle;
    bool             ckpt_on, ckpt_stop;
    pthread_t        ckpt_thread;
} qv_collection;

/* A new collection object holding one reference (the caller's); NULL when
 * out of memory. */
qv_collection *coll_new(const char *name);

/* Load the checkpoint, replay the log, start the writer. cfg must be set;
 * dir is the collection's directory. */
qv_status coll_open(qv_collection *c, const char *dir, qv_error *err);
/* Take lock exclusively, saying so first (writers_waiting): the indexer,
 * which works under the shared lock, ends its round at the next point
 * instead of after VX_ROUND of them. */
void coll_wrlock(qv_collection *c);

/* Build the index of def into the store, appended after the others (under
 * the collection's write lock only). */
qv_status coll_build_index(qv_collection *c, const idx_def *def, qv_error *err);
/* payload_schema of collection info: {field: {data_type, params?, points}}.
 * Caller holds the catalog lock and c->lock for reading. */
void idx_write_schema(jw *w, qv_collection *c);
/* Free a list of definitions. */
void idx_defs_free(idx_def *d, uint32_t n);

/* Vector DDL (see above; caller holds ddl, vgate exclusive and the catalog
 * lock). coll_pause applies everything queued and stops the writer, or
 * fails with QV_NOT_FOUND if the collection is being closed; coll_resume
 * starts it again. coll_checkpoint (paused) writes points.snap as of
 * operation seq and, if log_first, starts a log segment there and removes
 * the older ones. */
qv_status coll_pause(qv_collection *c, qv_error *err);
void      coll_resume(qv_collection *c);
qv_status coll_checkpoint(qv_collection *c, uint64_t seq, uint64_t log_first, qv_error *err);
/* The next operation id, for changes that are not log records. */
uint64_t  coll_take_op_id(qv_collection *c);

/* Apply what is queued, stop the writer, close the log. Idempotent. */
void coll_stop(qv_collection *c);
/* The same, for a collection that stays: first a checkpoint (with the
 * graphs) if anything changed since the last one, so that a restart has
 * no log to replay and no graph to build. */
void coll_close(qv_collection *c);

/* Free everything (after coll_stop). */
void coll_destroy(qv_collection *c);

/* Queue one record of n_ops operations (ownership of body passes to the
 * collection) and, with opts->wait, wait for it. scratch (may be NULL): an
 * arena the caller keeps until the call returns and then resets; it holds
 * the decoded record when the call waits without a timeout. */
qv_status coll_submit(qv_collection *c, char *body, size_t len, uint32_t n_ops,
                      const qv_write_opts *opts, qv_arena *scratch, qv_update_result *res,
                      qv_error *err);

#endif
