/*
 * sindex.h — the inverted indexes of a store's sparse vectors (internal to
 * core), one per sparse column (vector/sparse.h), kept in step with every
 * commit as one of the store's listeners (store.h).
 *
 * A commit tells each touched slot's sparse vectors before the batch
 * (st_change.old_sparse) and after it (the store): reserve takes the room
 * the new vectors need (QV_NOMEM rolls the batch back), on_commit removes
 * the old postings and posts the new ones, and cannot fail. So the index
 * always equals the store: a deleted or replaced vector is never found, a
 * reused slot starts clean.
 *
 * Built from the store at sx_init (after the checkpoint is loaded, before
 * the log is replayed, whose commits then pass the listener). A vector DDL
 * calls sx_reset after swapping the columns: indexes of columns that stay
 * are kept (by name), a new column gets an empty one.
 *
 * A column whose index could not be made (out of memory at open or at a
 * DDL) has none (cols[v].x == NULL): search then scans, exactly, and the
 * index is not made later. Threading: everything runs under the
 * collection's write lock except reads, under its read lock.
 */
#ifndef QV_CORE_SINDEX_H
#define QV_CORE_SINDEX_H

#include "core/store.h"
#include "vector/sparse.h"

typedef struct sx_col {
    char         *name;  /* the column's name, to match columns across a DDL */
    sparse_index *x;     /* NULL: no index, search scans */
} sx_col;

typedef struct sx_index {
    store   *s;
    uint32_t n_cols;     /* = s->n_sparse */
    sx_col  *cols;
} sx_index;

/* Build an index per sparse column of s from its points, and listen to s's
 * commits. QV_NOMEM only when the listener cannot be registered (an index
 * that cannot be built is left out, with a warning naming coll). */
qv_status sx_init(sx_index *x, store *s, const char *coll, qv_error *err);
void      sx_free(sx_index *x);
/* The columns changed (vector DDL); caller holds the write lock. */
void      sx_reset(sx_index *x, const char *coll);

/* The index of sparse column v, or NULL (scan). */
static inline const sparse_index *sx_get(const sx_index *x, uint32_t v)
{
    return v < x->n_cols ? x->cols[v].x : NULL;
}

/* Vectors in the indexes (Qdrant counts a sparse index's vectors among
 * indexed_vectors_count: they are searchable through it at once). */
uint64_t  sx_indexed_count(const sx_index *x);

#endif
