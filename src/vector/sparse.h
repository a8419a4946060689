/*
 * sparse.h — an inverted index over the sparse vectors of one column: per
 * dimension index, the posting list of the slots that have it, with their
 * values. Search scores by walking the query's posting lists only.
 *
 * Memory: a posting is 8 bytes (u32 slot, f32 value), lists grow by half
 * (so about 10 bytes a posting on average, at most 12 after growth); each
 * dimension ever seen costs a 24-byte list head and 8 bytes of hash table.
 * Lists are sorted by slot (binary search to remove or insert; an append
 * when slots only grow, as at bulk load). A list that empties gives its
 * memory back, unless an insert still to come reserved room in it.
 *
 * Updates come in two steps, so a caller can keep the index in step with
 * an all-or-nothing batch: sparse_reserve takes every byte that the batch's
 * inserts will need (and may fail, changing nothing visible), then
 * sparse_remove / sparse_insert apply it and cannot fail. A slot's old
 * vector must be removed before a new one is inserted for the same slot;
 * the caller hands the old vector in (the index keeps no copy).
 *
 * Scores: dot over the indices a stored vector shares with the query,
 * summed in increasing index order when both are sorted by index (the
 * caller keeps stored vectors sorted; sparse_sort), so scores are equal
 * bit for bit to a scan that sums the same way. A slot with no index in
 * common is never scored (a shared index with a zero product still is).
 *
 * Statistics for the idf modifier: sparse_count (vectors with at least one
 * index) and sparse_df (postings of one index, zero values included, as
 * Qdrant counts them).
 *
 * Threading: none inside. The caller serialises updates against searches
 * (core holds the collection's write lock for the first, its read lock for
 * the second); searches may run concurrently with each other.
 */
#ifndef QV_VECTOR_SPARSE_H
#define QV_VECTOR_SPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "vector/topk.h"

/* A sparse vector as the index reads it: n unique indices and their values. */
typedef struct sparse_vec {
    uint32_t        n;
    const uint32_t *idx;
    const float    *val;
} sparse_vec;

typedef struct sparse_index sparse_index;

qv_status sparse_new(sparse_index **out, qv_error *err);
void      sparse_free(sparse_index *x);

/*
 * Room for inserting the vectors get(ctx, 0..n-1) (n = 0 vectors skipped):
 * list heads and hash slots for new dimensions, posting capacity for every
 * index named. QV_NOMEM leaves the index answering as before (empty lists
 * may have been added, which score nothing and count 0). O(total nnz).
 */
typedef sparse_vec (*sparse_get_fn)(void *ctx, size_t i);
qv_status sparse_reserve(sparse_index *x, size_t n, sparse_get_fn get, void *ctx, qv_error *err);

/* Take slot's vector v out (v as it was inserted). Cannot fail. */
void sparse_remove(sparse_index *x, uint32_t slot, sparse_vec v);
/* Post slot's vector v; the room must have been reserved since the last
 * change. Cannot fail. An empty v is not indexed (nor counted). */
void sparse_insert(sparse_index *x, uint32_t slot, sparse_vec v);

/* Vectors indexed (at least one index each). */
uint64_t sparse_count(const sparse_index *x);
/* Postings of index dim: the vectors that have it. */
uint32_t sparse_df(const sparse_index *x, uint32_t dim);
/* Postings of index dim whose slot is set in bits (a bit for every slot
 * ever inserted): df over a subset, for an IDF corpus. O(df). */
uint32_t sparse_df_among(const sparse_index *x, uint32_t dim, const uint64_t *bits);
/* Postings in all, and bytes held. */
uint64_t sparse_postings(const sparse_index *x);
size_t   sparse_memory(const sparse_index *x);

/* The idf weight of Qdrant's modifier, in f32 as Qdrant computes it:
 * ln((n - df + 0.5) / (df + 0.5) + 1). */
float sparse_idf(uint64_t n, uint32_t df);

/* What a search keeps. */
typedef struct sparse_filter {
    /* Whether slot may be returned (NULL: every slot with a shared index).
     * Called once per scored slot that could enter the top-k. */
    bool (*allow)(void *ctx, uint32_t slot);
    void *ctx;
    bool  has_threshold;  /* keep only score > threshold */
    float threshold;
} sparse_filter;

/*
 * Score every slot that shares an index with q (indices unique, sorted
 * increasing for the summation order above; values already weighted) and
 * push (-score, slot) into t, which breaks ties. f may be NULL. QV_NOMEM
 * when the cursors (4 bytes per query index) or the batch buffer cannot be
 * had. Cost: the total length of q's posting lists, plus a pass over 4,096
 * slots per non-empty batch.
 */
qv_status sparse_search(const sparse_index *x, sparse_vec q, const sparse_filter *f, topk *t, qv_error *err);

/*
 * Set the bits of the slots that share an index with any of the vectors
 * qs[0..n-1] in bits (the caller's, with a bit for every slot it ever
 * inserted; not cleared first): the candidates of a query that is not a
 * plain dot (recommend, discover, context). O(their posting lists).
 */
void sparse_mark(const sparse_index *x, const sparse_vec *qs, size_t n, uint64_t *bits);

/*
 * Sort a sparse vector's (index, value) pairs by index in place; tmp has
 * room for 2n u32. Already sorted costs one pass. Returns false when an
 * index repeats (then the order is still by index).
 */
bool sparse_sort(uint32_t *idx, float *val, uint32_t n, uint32_t *tmp);
static inline bool sparse_sorted(const uint32_t *idx, uint32_t n)
{
    for (uint32_t i = 1; i < n; i++)
        if (idx[i] <= idx[i - 1])
            return false;
    return true;
}

#endif
