/*
 * st_fidx.c — the payload indexes of a store (s->idx), kept in step with
 * each commit as one listener of it (store.h). Filters and the planner read
 * them; only this file writes them.
 */
#include "core/store_int.h"

#include <stdlib.h>
#include <string.h>

#include "payload/pl.h"

/* Feed every live point to x (a new index, or one rebuilt after it broke). */
void store_fill_index(const store *s, fidx *x)
{
    for (uint32_t slot = 0; slot < s->n_slots; slot++) {
        if (!store_live(s, slot))
            continue;
        const uint8_t *blob;
        size_t len;
        store_payload(s, slot, &blob, &len);
        fidx_update(x, slot, NULL, 0, blob, len);
    }
}

qv_status store_attach_index(store *s, fidx *x, qv_error *err)
{
    fidx **p = realloc(s->idx, (s->n_idx + 1) * sizeof *p);
    if (!p) {
        fidx_free(x);
        return qv_fail(err, QV_NOMEM, "out of memory");
    }
    s->idx = p;
    s->idx[s->n_idx++] = x;
    s->gen = store_gen_next();  /* a text index changes what match.text means */
    return QV_OK;
}

void store_drop_index(store *s, uint32_t i)
{
    fidx_free(s->idx[i]);
    memmove(s->idx + i, s->idx + i + 1, (s->n_idx - i - 1) * sizeof *s->idx);
    s->n_idx--;
    s->gen = store_gen_next();
}

static bool fidx_active(void *ctx, const store *s)
{
    (void)ctx;
    return s->n_idx > 0;
}

/*
 * For each slot whose payload or existence changed: its payload before the
 * batch and after, to every index. Vector-only changes are not their
 * concern. Never fails: an index that cannot keep up marks itself broken
 * (fieldidx.h) so the planner scans instead.
 */
static void fidx_on_commit(void *ctx, const store *s, const st_change *ch, size_t n)
{
    (void)ctx;
    for (size_t k = 0; k < n; k++) {
        const st_change *c = &ch[k];
        if (!(c->what & (ST_CH_INSERTED | ST_CH_DELETED | ST_CH_PAYLOAD)))
            continue;
        const uint8_t *nb = NULL;
        size_t nl = 0;
        if (store_live(s, c->slot))
            store_payload(s, c->slot, &nb, &nl);
        for (uint32_t i = 0; i < s->n_idx; i++)
            fidx_update(s->idx[i], c->slot, c->old_payload, c->old_len, nb, nl);
    }
}

void st_fidx_listener(store *s, st_listener *out)
{
    *out = (st_listener){.ctx = s, .active = fidx_active, .on_commit = fidx_on_commit};
}
