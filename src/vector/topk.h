/*
 * topk.h — a bounded top-k: keeps the k smallest (order, slot) pairs of
 * everything pushed, for search results and HNSW candidate lists.
 *
 * Order is a dist.h order value (smaller = closer). Ties of equal order are
 * broken by a comparator the caller gives (core breaks them by point id,
 * which vector/ does not know), or by slot when none is given, so the kept
 * set and its order are fully determined by what was pushed, not by the
 * order of the pushes. A NaN order is never kept.
 *
 * A max-heap of k entries: the root is the worst kept, so a push that is
 * not better than it costs one comparison (topk_worst lets a search stop
 * early), a push that is costs O(log k). topk_sorted sorts the entries in
 * place (heapsort, best first) and ends the heap's use until topk_reset.
 *
 * Memory: the caller's (topk_init with mem, at least k entries; nothing is
 * allocated, topk_free does nothing) or allocated once by topk_init.
 *
 * Threading: none; one top-k per thread.
 */
#ifndef QV_VECTOR_TOPK_H
#define QV_VECTOR_TOPK_H

#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"

typedef struct topk_item {
    float    order;
    uint32_t slot;
} topk_item;

/* <0 when slot a comes before slot b among equal orders, >0 after, 0 same. */
typedef int (*topk_tie_fn)(uint32_t a, uint32_t b, void *ctx);

typedef struct topk {
    topk_item  *items;
    uint32_t    k, n;
    topk_tie_fn tie;    /* NULL: by slot */
    void       *ctx;
    bool        owned;  /* items allocated by topk_init */
} topk;

/* Ready for k entries, in mem (>= k entries) or, when mem is NULL, in an
 * allocation of its own; QV_NOMEM when that fails. k = 0 keeps nothing. */
qv_status topk_init(topk *t, uint32_t k, topk_item *mem, topk_tie_fn tie, void *ctx, qv_error *err);
void      topk_free(topk *t);
/* Empty again (same k, memory and comparator). */
static inline void topk_reset(topk *t) { t->n = 0; }

/* Offer (order, slot); true when it is kept (it may be pushed out later). */
bool topk_push(topk *t, float order, uint32_t slot);

static inline bool topk_full(const topk *t) { return t->n == t->k; }
/* The worst order kept once full (a push must beat it), else +infinity. */
static inline float topk_worst(const topk *t)
{
    return t->n == t->k && t->k ? t->items[0].order : __builtin_inff();
}

/* Sort the kept entries best first in t->items and return their count. The
 * heap is spent: push again only after topk_reset. */
uint32_t topk_sorted(topk *t);

#endif
