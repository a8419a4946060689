/*
 * plan.c — the planner of filtered reads. See plan.h.
 */
#include "core/plan.h"

#include <stdlib.h>
#include <string.h>

#include "core/store_int.h"

typedef struct plan_walk {
    const store *s;
    uint32_t     conds;     /* conditions seen at the top level */
    fidx        *best;
    fidx_cond    best_cond;
    fidx_answer  best_answer;
    uint64_t     best_estimate;
} plan_walk;

static bool plan_visit(void *ctx, const flt_cond *fc)
{
    plan_walk *w = ctx;
    w->conds++;
    if (fc->clause != FLT_MUST || fc->kind != FLT_COND_FIELD)
        return true;
    for (uint32_t i = 0; i < w->s->n_idx; i++) {
        fidx *x = w->s->idx[i];
        if (fidx_broken(x) || strcmp(fidx_key(x)->text, fc->key->text) != 0)
            continue;
        fidx_cond cond;
        uint64_t est;
        if (flt_field_view(fc->node, &cond) != QV_OK)
            continue;
        fidx_answer ans = fidx_plan(x, &cond, &est);
        if (ans != FIDX_NO && (!w->best || est < w->best_estimate)) {
            w->best = x;
            w->best_cond = cond;
            w->best_answer = ans;
            w->best_estimate = est;
        }
    }
    return true;
}

void plan_make(plan *p, const store *s, const cfg_collection *cfg, const flt_filter *f)
{
    plan_scan(p, s, cfg, f);
    if (!f || !s->n_idx)
        return;
    plan_walk w = {.s = s};
    const flt_node *root = flt_root(f);
    bool has_should;
    uint32_t min_should;
    flt_filter_info(root, &has_should, &min_should);
    flt_each(root, plan_visit, &w);
    /* Scanning costs about as much as visiting most points by index. */
    if (!w.best || w.best_estimate > s->n_points / 2 + 64)
        return;
    if (fidx_select(w.best, &w.best_cond, &p->slots, &p->n) != QV_OK)
        return;
    p->indexed = true;
    p->settled = w.best_answer == FIDX_EXACT && w.conds == 1 && !has_should && !min_should;
}

void plan_scan(plan *p, const store *s, const cfg_collection *cfg, const flt_filter *f)
{
    *p = (plan){.s = s, .cfg = cfg, .f = f};
}

void plan_free(plan *p)
{
    free(p->slots);
    p->slots = NULL;
    p->n = 0;
    p->indexed = p->settled = false;
}

bool plan_match(const plan *p, uint32_t slot)
{
    return store_matches(p->s, p->cfg, p->f, slot);
}

uint64_t plan_count(const plan *p)
{
    if (!p->f)
        return p->s->n_points;
    if (p->settled)
        return p->n;
    uint64_t count = 0;
    for (size_t i = 0, n = plan_visits(p); i < n; i++)
        count += plan_accepts(p, plan_candidate(p, i));
    return count;
}

uint64_t plan_estimate(const plan *p, bool *exact)
{
    *exact = true;
    if (!p->f)
        return p->s->n_points;
    if (p->settled)
        return p->n;
    size_t n = plan_visits(p);
    if (n <= PLAN_SAMPLE)
        return plan_count(p);
    /* Evenly spread: candidates are sorted slots, and slots follow
     * insertion order, so this samples old and new points alike. Dead
     * slots (a scan's candidates) count in neither. */
    uint64_t seen = 0, hits = 0;
    for (size_t k = 0; k < PLAN_SAMPLE; k++) {
        uint32_t slot = plan_candidate(p, (size_t)((uint64_t)k * n / PLAN_SAMPLE));
        if (!store_live(p->s, slot))
            continue;
        seen++;
        hits += plan_match(p, slot);
    }
    *exact = false;
    uint64_t pool = p->indexed ? p->n : p->s->n_points;
    return seen ? (pool * hits + seen / 2) / seen : 0;
}

qv_status plan_allowed(const plan *p, uint64_t **bits, uint64_t *count, qv_error *err)
{
    const store *s = p->s;
    size_t nw = qv_bits_words(s->n_slots);
    uint64_t *b = calloc(nw ? nw : 1, sizeof *b);
    if (!b)
        return qv_fail(err, QV_NOMEM, "out of memory (allowed points)");
    uint64_t c = 0;
    if (!p->f) {
        /* Every live point: the live bitset as it is. */
        if (nw)
            memcpy(b, s->live, nw * sizeof *b);
        c = s->n_points;
    } else {
        for (size_t i = 0, n = plan_visits(p); i < n; i++) {
            uint32_t slot = plan_candidate(p, i);
            if (plan_accepts(p, slot)) {
                qv_bit_put(b, slot, true);
                c++;
            }
        }
    }
    *bits = b;
    *count = c;
    return QV_OK;
}
