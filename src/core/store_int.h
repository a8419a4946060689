/*
 * store_int.h — what the store's files share (not part of store.h's contract).
 *
 * The store is one structure (store.h) kept by four files, one per concern:
 *   store.c         slots, the id map, payload / filter views, vector columns
 *   st_txn.c        the undo log: mutations that record what they replace,
 *                   rollback, and commit (which tells the listeners)
 *   st_fidx.c       the payload indexes, the first listener
 *   st_apply.c      an op_batch applied as one transaction (store_apply)
 *   st_checkpoint.c the checkpoint file (store_save, store_load)
 * Everything here runs under the collection's write lock (or on a store no
 * reader sees yet, while loading).
 */
#ifndef QV_CORE_STORE_INT_H
#define QV_CORE_STORE_INT_H

#include "core/store.h"
#include "util/arena.h"
#include "util/bitset.h"
#include "util/err.h"

/* ---- slots and the id map (store.c) ---- */

/* Put slot's id into the id map; room must exist (st_map_reserve). */
void      st_map_put(store *s, uint32_t slot);
/* Remove slot's id from the id map. */
void      st_map_del(store *s, uint32_t slot);
/* Room in the id map for count ids at load factor <= 1/2. */
qv_status st_map_reserve(store *s, uint64_t count, qv_error *err);
/* Room for one more slot: arrays double, columns too. */
qv_status st_ensure_slot(store *s, qv_error *err);
/* The vector chunk holding slot exists for every dense column. */
qv_status st_ensure_chunk(store *s, uint32_t slot, qv_error *err);
/* Sort sv's pairs by index (stored vectors are kept so; written sorted
 * since this build, older logs and checkpoints may hold others). Without
 * memory for the sort it stays as it is: scores still right, only their
 * order of summation differs. */
void      st_sparse_sort(st_sparse_vec *sv);
/* Free one column's data. */
void      st_dense_col_free(vec_dense *d, uint32_t n_chunks);
void      st_sparse_col_free(st_sparse_vec **col, char *name, uint32_t n_slots);

/* ---- payload indexes (st_fidx.c) ---- */

/* The listener that keeps s->idx in step (registered by store_init). */
void st_fidx_listener(store *s, st_listener *out);

/* ---- transactions (st_txn.c) ---- */

/*
 * One batch's changes, undoable until commit. Mutations record their undo
 * entry before they change anything, so a failure leaves a log that
 * st_txn_rollback turns back exactly. a holds temporary memory (saved
 * vectors); the log itself is malloc'd: free(t.log) when done.
 */
struct st_undo;
typedef struct st_txn {
    store          *s;
    qv_arena       *a;
    struct st_undo *log;
    size_t          n, cap;
    qv_error       *err;
    uint64_t        ver;  /* the version a mutation gives its slot (undone with it) */
} st_txn;

/*
 * End the transaction: with rc != QV_OK roll everything back and return
 * rc. Else list the changes for the active listeners and let them reserve;
 * a failure there (QV_NOMEM) rolls back too and is returned. Past that
 * point commit, which cannot fail: listeners are told, replaced data is
 * freed. Either way t->log stays allocated for reuse (free it when done).
 */
qv_status st_txn_end(st_txn *t, qv_status rc);
/* Return slot to the free list; capacity was reserved by store_apply. */
void      st_free_push(store *s, uint32_t slot);

/* Mutations. blob NULL = empty payload; vals / src NULL = remove the vector. */
qv_status st_set_payload_blob(st_txn *t, uint32_t slot, const uint8_t *blob, size_t len);
qv_status st_set_dense(st_txn *t, uint32_t v, uint32_t slot, const float *vals);
qv_status st_set_sparse(st_txn *t, uint32_t v, uint32_t slot, const op_vector *src);
qv_status st_delete_slot(st_txn *t, uint32_t slot);
/* Give slot the transaction's version and change nothing else (an
 * operation that names the point but finds nothing to change, as clearing
 * an empty payload: Qdrant still counts it as a write of the point). */
qv_status st_touch(st_txn *t, uint32_t slot);
/* A new live slot for id (no payload, no vectors). */
qv_status st_insert_slot(st_txn *t, const qv_point_id *id, uint32_t *out);

#endif
