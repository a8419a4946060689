/*
 * plan.c — the planner of filtered reads. See plan.h.
 */
#include "core/plan.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/store_int.h"
#include "json/jtree.h"
#include "json/jw.h"
#include "util/bitset.h"
#include "util/buf.h"

/* The payload index that answers field condition node with the fewest
 * estimated points, the condition as it takes it, its answer and estimate. */
typedef struct index_pick {
    fidx       *x;  /* NULL: none answers */
    fidx_cond   cond;
    fidx_answer answer;
    uint64_t    estimate;
} index_pick;

static bool pick_index(const store *s, const flt_node *node, index_pick *out)
{
    *out = (index_pick){.x = NULL};
    fidx_cond cond;
    const pl_path *key = flt_node_key(node);
    if (!s->n_idx || flt_field_view(node, &cond) != QV_OK)
        return false;
    for (uint32_t i = 0; i < s->n_idx; i++) {
        fidx *x = s->idx[i];
        uint64_t est;
        fidx_answer ans;
        if (fidx_broken(x) || strcmp(fidx_key(x)->text, key->text) != 0 ||
            (ans = fidx_plan(x, &cond, &est)) == FIDX_NO)
            continue;
        if (!out->x || est < out->estimate)
            *out = (index_pick){x, cond, ans, est};
    }
    return out->x != NULL;
}

typedef struct plan_walk {
    const store *s;
    uint32_t     conds;  /* conditions seen at the top level */
    index_pick   best;
} plan_walk;

static bool plan_visit(void *ctx, const flt_cond *fc)
{
    plan_walk *w = ctx;
    w->conds++;
    index_pick ip;
    if (fc->clause == FLT_MUST && fc->kind == FLT_COND_FIELD && pick_index(w->s, fc->node, &ip) &&
        (!w->best.x || ip.estimate < w->best.estimate))
        w->best = ip;
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
    if (!w.best.x || w.best.estimate > s->n_points / 2 + 64)
        return;
    if (fidx_select(w.best.x, &w.best.cond, &p->slots, &p->n) != QV_OK)
        return;
    p->indexed = true;
    p->settled = w.best.answer == FIDX_EXACT && w.conds == 1 && !has_should && !min_should;
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
    p->answer = NULL;
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

/* ---- bitset algebra over the answers of a filter's conditions ---------------------- */

/* What is known of a filter node's matching slots: a superset of them
 * (bits: owned words; NULL: no bound, every slot), exactly them when exact.
 * Dead slots may be set; the root's answer is masked with the live set. */
typedef struct known {
    uint64_t *bits;
    bool      exact;
} known;

typedef struct algebra {
    plan    *p;
    size_t   words, bytes;  /* of a bitset over the slots; of an answer */
    qv_buf   text;          /* a condition's canonical text */
    bool     built;         /* one condition's answer built per ask, at most */
} algebra;

static uint64_t *bits_new(const algebra *a)
{
    return calloc(a->words ? a->words : 1, sizeof(uint64_t));
}

/* The slots of a has_id list; NULL without memory. */
static uint64_t *ids_bits(const algebra *a, const qv_point_id *ids, uint32_t n)
{
    uint64_t *b = bits_new(a);
    for (uint32_t i = 0; b && i < n; i++) {
        int64_t slot = store_find(a->p->s, &ids[i]);
        if (slot >= 0)
            qv_bit_set(b, (size_t)slot);
    }
    return b;
}

/* A field condition a payload index answers: its slots, exact or a
 * superset. Returns whether one did. */
static bool index_bits(const algebra *a, const flt_node *node, known *out)
{
    index_pick ip;
    if (!pick_index(a->p->s, node, &ip))
        return false;
    uint32_t *slots;
    size_t n;
    uint64_t *b = bits_new(a);
    if (!b || fidx_select(ip.x, &ip.cond, &slots, &n) != QV_OK) {
        free(b);
        return false;
    }
    for (size_t k = 0; k < n; k++)
        qv_bit_set(b, slots[k]);
    free(slots);
    *out = (known){b, ip.answer == FIDX_EXACT};
    return true;
}

/* A condition judged on its own: its cached answer (asked under its
 * canonical text, src written by jw_tree), built now when asked the second
 * time at this generation and nothing was built for this ask yet. */
static void cached_bits(algebra *a, const flt_node *node, const jr_value *src, known *out)
{
    plan *p = a->p;
    a->text.len = 0;
    jw w;
    jw_init(&w, &a->text);
    jw_tree(&w, src);
    if (!qv_buf_ok(&a->text))
        return;
    const char *key = a->text.data;
    size_t len = a->text.len;
    plan_answer *ans = NULL;
    bool build = false;
    pthread_mutex_lock(&cache.m);
    cache_entry *e = entry_ask(key, len, p->s->gen);
    if (e && e->ans)
        (ans = e->ans)->refs++;
    else if (e && e->asks >= 2 && !a->built)
        build = a->built = true;
    pthread_mutex_unlock(&cache.m);
    if (build && (ans = answer_build(p, node, a->bytes))) {
        pthread_mutex_lock(&cache.m);
        answer_keep(e, key, len, p->s->gen, ans);
        pthread_mutex_unlock(&cache.m);
    }
    if (!ans)
        return;
    if ((out->bits = bits_new(a))) {
        memcpy(out->bits, ans->bits, a->words * sizeof(uint64_t));
        out->exact = true;
    }
    answer_release(ans);
}

/* acc &= k (NULL k: no bound); k is consumed. */
static void known_and(const algebra *a, known *acc, known k)
{
    acc->exact &= k.exact;
    if (!k.bits)
        return;
    if (!acc->bits) {
        acc->bits = k.bits;
        return;
    }
    qv_bits_and(acc->bits, k.bits, a->words);
    free(k.bits);
}

static void known_eval(algebra *a, const flt_node *node, const jr_value *src, known *out);

/* The JSON of a filter's clause: the list (or single condition) and its
 * length; NULL when absent. */
static const jr_value *clause_json(const jr_value *src, flt_clause cl, uint32_t *n)
{
    static const char *const names[] = {"must", "should", "must_not", "min_should"};
    const jr_value *v = jr_is_object(src) ? jr_get(src, names[cl]) : NULL;
    if (v && cl == FLT_MIN_SHOULD)
        v = jr_is_object(v) ? jr_get(v, "conditions") : NULL;
    *n = !v || jr_is_null(v) ? 0 : jr_is(v, JR_ARRAY) ? v->len : 1;
    return v && !jr_is_null(v) ? v : NULL;
}

typedef struct filter_walk {
    algebra        *a;
    const jr_value *src;
    const jr_value *list[4];
    uint32_t        n[4], seen[4];
    known           acc;                /* must and must_not so far */
    known           any;                /* the should list's union */
    bool            any_unbounded;
} filter_walk;

static bool filter_each(void *ctx, const flt_cond *fc)
{
    filter_walk *fw = ctx;
    algebra *a = fw->a;
    uint32_t i = fw->seen[fc->clause]++;
    known k = {NULL, false};
    if (i < fw->n[fc->clause]) {
        const jr_value *l = fw->list[fc->clause];
        known_eval(a, fc->node, jr_is(l, JR_ARRAY) ? &l->u.items[i] : l, &k);
    }
    switch (fc->clause) {
    case FLT_MUST: known_and(a, &fw->acc, k); break;
    case FLT_MUST_NOT:
        if (!k.exact) {
            fw->acc.exact = false;
        } else if (!k.bits) {  /* every slot matches it: nothing is left */
            free(fw->acc.bits);
            fw->acc.bits = bits_new(a);
        } else {
            for (size_t w = 0; w < a->words; w++)
                k.bits[w] = ~k.bits[w];
            known_and(a, &fw->acc, k);
            return true;
        }
        free(k.bits);
        break;
    case FLT_SHOULD:
        fw->any.exact &= k.exact;
        if (!k.bits)
            fw->any_unbounded = true;
        else if (fw->any.bits)
            qv_bits_or(fw->any.bits, k.bits, a->words);
        free(fw->any.bits ? k.bits : NULL);
        if (!fw->any.bits)
            fw->any.bits = k.bits;
        break;
    case FLT_MIN_SHOULD: free(k.bits); break;
    }
    return true;
}

static void filter_eval(algebra *a, const flt_node *node, const jr_value *src, known *out)
{
    filter_walk fw = {.a = a, .src = src, .acc = {NULL, true}, .any = {NULL, true}};
    bool has_should, dup = false;
    uint32_t min_should;
    flt_filter_info(node, &has_should, &min_should);
    for (uint32_t i = 0; jr_is_object(src) && i < src->len; i++)
        for (uint32_t j = i + 1; j < src->len; j++)
            dup |= strcmp(src->u.members[i].key, src->u.members[j].key) == 0;
    for (int cl = FLT_MUST; !dup && cl <= FLT_MIN_SHOULD; cl++)
        fw.list[cl] = clause_json(src, (flt_clause)cl, &fw.n[cl]);
    flt_each(node, filter_each, &fw);
    for (int cl = FLT_MUST; cl <= FLT_MIN_SHOULD; cl++)
        if (fw.seen[cl] != fw.n[cl])  /* the JSON is not this filter's: nothing known */
            fw.acc.exact = false;
    if (has_should && !fw.seen[FLT_SHOULD] && !fw.any.bits)
        fw.any.bits = bits_new(a);  /* an empty should matches nothing */
    if (has_should && !fw.any_unbounded)
        known_and(a, &fw.acc, fw.any);
    else {
        fw.acc.exact &= fw.any.exact;
        free(fw.any.bits);
    }
    if (min_should)
        fw.acc.exact = false;
    *out = fw.acc;
}

/* What the cache, the payload indexes and has_id lists tell of one
 * condition (or sub-filter) node, written as src. */
static void known_eval(algebra *a, const flt_node *node, const jr_value *src, known *out)
{
    *out = (known){NULL, false};
    switch (flt_node_kind(node)) {
    case FLT_COND_FILTER: filter_eval(a, node, src, out); return;
    case FLT_COND_HAS_ID: {
        const qv_point_id *ids;
        uint32_t n = flt_node_ids(node, &ids);
        if ((out->bits = ids_bits(a, ids, n)))
            out->exact = true;
        return;
    }
    case FLT_COND_FIELD:
        if (index_bits(a, node, out))
            return;
        break;
    default: break;
    }
    cached_bits(a, node, src, out);
}

bool plan_use_cache(plan *p, const jr_value *src, uint32_t eager_share)
{
    if (!p->f || p->indexed || p->bits || !src)
        return p->bits != NULL;
    const store *s = p->s;
    size_t words = qv_bits_words(s->n_slots), bytes = sizeof(plan_answer) + words * sizeof(uint64_t);
    if (bytes > PLAN_CACHE_BYTES)
        return false;
    qv_buf whole = QV_BUF_INIT;
    jw w;
    jw_init(&w, &whole);
    jw_tree(&w, src);
    if (!qv_buf_ok(&whole)) {
        qv_buf_free(&whole);
        return false;
    }
    uint32_t asks = 0;
    pthread_mutex_lock(&cache.m);
    cache_entry *e = entry_ask(whole.data, whole.len, s->gen);
    if (e && e->ans)
        (p->answer = e->ans)->refs++;
    asks = e ? e->asks : 0;
    pthread_mutex_unlock(&cache.m);
    if (!p->answer) {
        algebra a = {.p = p, .words = words, .bytes = bytes, .text = QV_BUF_INIT};
        known k;
        known_eval(&a, flt_root(p->f), src, &k);
        qv_buf_free(&a.text);
        if (k.exact && !k.bits && (k.bits = bits_new(&a)))
            memset(k.bits, 0xff, words * sizeof *k.bits);
        if (k.bits)
            qv_bits_and(k.bits, s->live, words);
        uint64_t count = k.bits ? qv_bits_count(k.bits, words) : 0;
        if (k.bits && !k.exact && count * PLAN_NARROW <= s->n_points) {
            /* Few candidates: judge each by the whole filter. */
            qv_bits_it it;
            size_t slot;
            for (qv_bits_it_init(&it, k.bits, words); qv_bits_next(&it, &slot);)
                if (!store_matches(s, p->cfg, p->f, (uint32_t)slot)) {
                    qv_bit_clear(k.bits, slot);
                    count--;
                }
            k.exact = true;
        }
        if (k.bits && k.exact) {
            p->own_bits = k.bits;
            p->bits = k.bits;
            p->bits_count = count;
        } else {
            if (k.bits) {  /* a large superset: the slots outside it cannot match */
                p->own_bits = k.bits;
                p->sieve = k.bits;
            }
            bool exact;  /* the estimate, only for a first ask that may be eager */
            bool build = e && !a.built &&
                         (asks >= 2 || (eager_share && plan_estimate(p, &exact) * eager_share <= s->n_points));
            if (build && (p->answer = answer_build(p, NULL, bytes))) {
                pthread_mutex_lock(&cache.m);
                answer_keep(e, whole.data, whole.len, s->gen, p->answer);
                pthread_mutex_unlock(&cache.m);
            }
        }
    }
    qv_buf_free(&whole);
    if (p->answer) {
        p->bits = p->answer->bits;
        p->bits_count = p->answer->count;
    }
    return p->bits != NULL;
}
