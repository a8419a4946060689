/*
 * plan.c — the planner of filtered reads. See plan.h.
 */
#include "core/plan.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/store_int.h"
#include "util/bitset.h"

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

static void answer_release(struct plan_answer *e);

void plan_free(plan *p)
{
    if (p->answer)
        answer_release(p->answer);
    if (p->sieve_answer)
        answer_release(p->sieve_answer);
    p->answer = p->sieve_answer = NULL;
    p->sieve = NULL;
    p->bits = NULL;
    free(p->own_bits);
    p->own_bits = NULL;
    free(p->slots);
    p->slots = NULL;
    p->n = 0;
    p->indexed = p->settled = false;
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
    if (p->bits)
        return p->bits_count;
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

/* ---- answers of repeated filters ------------------------------------------------ */

/* Matching slots, shared by the cache entry and the plans reading them. */
typedef struct plan_answer {
    uint32_t refs;   /* the entry's and each plan's; changed under cache.m */
    size_t   bytes;
    uint64_t count;
    uint64_t bits[];
} plan_answer;

typedef struct cache_entry {
    char        *key;   /* the filter's text; NULL: a free entry */
    size_t       len;
    uint64_t     gen;   /* the store generation asks and ans are about */
    uint32_t     asks;  /* at gen */
    plan_answer *ans;   /* NULL until asked twice at gen */
    uint64_t     used;  /* tick of the last ask, for eviction */
} cache_entry;

static struct {
    pthread_mutex_t m;
    cache_entry     e[PLAN_CACHE_ENTRIES];
    size_t          bytes;  /* of the entries' answers */
    uint64_t        tick;
} cache = {.m = PTHREAD_MUTEX_INITIALIZER};

/* Let go of one reference to a; cache lock held. */
static void answer_unref(plan_answer *a)
{
    if (--a->refs == 0)
        free(a);
}

static void answer_release(plan_answer *a)
{
    pthread_mutex_lock(&cache.m);
    answer_unref(a);
    pthread_mutex_unlock(&cache.m);
}

/* The entry drops its answer (plans reading it keep theirs). Lock held. */
static void entry_drop_answer(cache_entry *e)
{
    if (!e->ans)
        return;
    cache.bytes -= e->ans->bytes;
    answer_unref(e->ans);
    e->ans = NULL;
}

/* The entry of key, else a free or the least recently used one, emptied
 * and given key; NULL without memory. Lock held. */
static cache_entry *entry_for(const char *key, size_t len)
{
    cache_entry *victim = &cache.e[0];
    for (size_t i = 0; i < PLAN_CACHE_ENTRIES; i++) {
        cache_entry *e = &cache.e[i];
        if (e->key && e->len == len && memcmp(e->key, key, len) == 0)
            return e;
        if (victim->key && (!e->key || e->used < victim->used))
            victim = e;
    }
    char *k = malloc(len ? len : 1);
    if (!k)
        return NULL;
    memcpy(k, key, len);
    entry_drop_answer(victim);
    free(victim->key);
    *victim = (cache_entry){.key = k, .len = len};
    return victim;
}

/* Whether live slot matches one part (a condition) of p's filter. */
static bool part_matches(const plan *p, const flt_node *node, uint32_t slot)
{
    if (!store_live(p->s, slot))
        return false;
    flt_point fp;
    store_filter_point(p->s, p->cfg, slot, &fp);
    return flt_node_match(node, &fp);
}

/* Evaluate node (NULL: p's whole filter) over p's candidates into a new
 * answer with one reference (the caller's); NULL without memory. */
static plan_answer *answer_build(const plan *p, const flt_node *node, size_t bytes)
{
    plan_answer *a = malloc(bytes);
    if (!a)
        return NULL;
    *a = (plan_answer){.refs = 1, .bytes = bytes};
    memset(a->bits, 0, bytes - sizeof *a);
    for (size_t i = 0, n = plan_visits(p); i < n; i++) {
        uint32_t slot = plan_candidate(p, i);
        if (node ? part_matches(p, node, slot) : plan_accepts(p, slot)) {
            qv_bit_set(a->bits, slot);
            a->count++;
        }
    }
    return a;
}

/* Keep a (built outside the lock for the entry that was e when asked)
 * when e is still key at gen and nobody kept one first; room is made
 * from the least recently used answers. Lock held. */
static void answer_keep(cache_entry *e, const char *key, size_t len, uint64_t gen, plan_answer *a)
{
    if (!e->key || e->len != len || memcmp(e->key, key, len) != 0 || e->gen != gen || e->ans)
        return;
    while (cache.bytes + a->bytes > PLAN_CACHE_BYTES) {
        cache_entry *old = NULL;
        for (size_t i = 0; i < PLAN_CACHE_ENTRIES; i++)
            if (cache.e[i].ans && (!old || cache.e[i].used < old->used))
                old = &cache.e[i];
        entry_drop_answer(old);  /* some entry holds bytes while over the bound */
    }
    a->refs++;
    e->ans = a;
    cache.bytes += a->bytes;
}

/* key's entry, asked once more at gen; NULL without memory. Lock held. */
static cache_entry *entry_ask(const char *key, size_t len, uint64_t gen)
{
    cache_entry *e = entry_for(key, len);
    if (!e)
        return NULL;
    e->used = ++cache.tick;
    if (e->gen != gen) {
        entry_drop_answer(e);
        e->gen = gen;
        e->asks = 0;
    }
    e->asks++;
    return e;
}

/* The whole filter's matching slots from a part's answer: each slot the
 * part holds judged by the whole filter, into bits the plan owns. */
static void answer_narrow(plan *p, const plan_answer *part)
{
    size_t words = qv_bits_words(p->s->n_slots);
    uint64_t *own = calloc(words ? words : 1, sizeof *own), count = 0;
    if (!own)
        return;
    qv_bits_it it;
    size_t slot;
    for (qv_bits_it_init(&it, part->bits, words); qv_bits_next(&it, &slot);)
        if (store_matches(p->s, p->cfg, p->f, (uint32_t)slot)) {
            qv_bit_set(own, slot);
            count++;
        }
    p->own_bits = own;
    p->bits = own;
    p->bits_count = count;
}

bool plan_use_cache(plan *p, const char *key, size_t len, bool eager, const plan_part *parts, size_t n_parts)
{
    if (!p->f || p->indexed || p->bits)
        return p->bits != NULL;
    const store *s = p->s;
    size_t words = qv_bits_words(s->n_slots), bytes = sizeof(plan_answer) + words * sizeof(uint64_t);
    if (bytes > PLAN_CACHE_BYTES)
        return false;
    if (n_parts > PLAN_PARTS)
        n_parts = PLAN_PARTS;
    cache_entry *build = NULL;       /* the entry to evaluate an answer for */
    const plan_part *build_part = NULL;  /* the part it is for; NULL: the whole filter */
    plan_answer *part = NULL;        /* the smallest answer of a part */
    pthread_mutex_lock(&cache.m);
    cache_entry *e = entry_ask(key, len, s->gen);
    if (e && e->ans) {
        e->ans->refs++;
        p->answer = e->ans;
    } else if (e) {
        for (size_t i = 0; i < n_parts; i++) {
            cache_entry *pe = entry_ask(parts[i].key, parts[i].len, s->gen);
            if (pe && pe->ans && (!part || pe->ans->count < part->count))
                part = pe->ans;
            else if (pe && !pe->ans && pe->asks >= 2 && !build) {
                build = pe;
                build_part = &parts[i];
            }
        }
        if (part) {
            part->refs++;
            build = NULL;
        } else if (!build && (eager || e->asks >= 2)) {
            build = e;
        }
    }
    pthread_mutex_unlock(&cache.m);
    if (build) {
        /* Evaluated outside the lock: other searches go on meanwhile. */
        plan_answer *a = answer_build(p, build_part ? build_part->node : NULL, bytes);
        if (!a)
            return false;
        pthread_mutex_lock(&cache.m);
        answer_keep(build, build_part ? build_part->key : key, build_part ? build_part->len : len, s->gen, a);
        pthread_mutex_unlock(&cache.m);
        if (build_part)
            part = a;  /* the reference answer_build gave */
        else
            p->answer = a;
    }
    if (p->answer) {
        p->bits = p->answer->bits;
        p->bits_count = p->answer->count;
    } else if (part && part->count * PLAN_NARROW <= s->n_points) {
        answer_narrow(p, part);
        answer_release(part);
    } else if (part) {
        p->sieve_answer = part;
        p->sieve = part->bits;
    }
    return p->bits != NULL;
}
