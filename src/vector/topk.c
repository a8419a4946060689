/* topk.c — the bounded top-k (topk.h). */
#include "vector/topk.h"

#include <stdlib.h>

qv_status topk_init(topk *t, uint32_t k, topk_item *mem, topk_tie_fn tie, void *ctx, qv_error *err)
{
    *t = (topk){.k = k, .tie = tie, .ctx = ctx};
    if (mem || k == 0) {
        t->items = mem;
        return QV_OK;
    }
    t->items = malloc((size_t)k * sizeof *t->items);
    if (!t->items)
        return qv_fail(err, QV_NOMEM, "out of memory (top-%u)", k);
    t->owned = true;
    return QV_OK;
}

void topk_free(topk *t)
{
    if (t->owned)
        free(t->items);
    t->items = NULL;
    t->owned = false;
    t->n = t->k = 0;
}

/* True when a ranks after b (is worse): the heap's order, worst at the root. */
static inline bool worse(const topk *t, topk_item a, topk_item b)
{
    if (a.order != b.order)
        return a.order > b.order;
    if (t->tie)
        return t->tie(a.slot, b.slot, t->ctx) > 0;
    return a.slot > b.slot;
}

static void sift_down(const topk *t, topk_item *h, uint32_t n, uint32_t i)
{
    topk_item x = h[i];
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && worse(t, h[c + 1], h[c]))
            c++;
        if (!worse(t, h[c], x))
            break;
        h[i] = h[c];
        i = c;
    }
    h[i] = x;
}

bool topk_push(topk *t, float order, uint32_t slot)
{
    if (order != order || t->k == 0)  /* NaN is close to nothing */
        return false;
    topk_item x = {order, slot};
    topk_item *h = t->items;
    if (t->n < t->k) {
        uint32_t i = t->n++;
        while (i > 0) {
            uint32_t p = (i - 1) / 2;
            if (!worse(t, x, h[p]))
                break;
            h[i] = h[p];
            i = p;
        }
        h[i] = x;
        return true;
    }
    if (!worse(t, h[0], x))
        return false;
    h[0] = x;
    sift_down(t, h, t->n, 0);
    return true;
}

uint32_t topk_sorted(topk *t)
{
    topk_item *h = t->items;
    /* Heapsort: the worst goes to the end, the heap shrinks by one. */
    for (uint32_t m = t->n; m > 1; m--) {
        topk_item w = h[0];
        h[0] = h[m - 1];
        h[m - 1] = w;
        sift_down(t, h, m - 1, 0);
    }
    return t->n;
}
