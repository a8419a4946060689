/* hnsw.c — the HNSW graph (hnsw.h). */
#include "vector/hnsw.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/crc32c.h"
#include "util/endian.h"
#include "util/fsutil.h"

/* The level-0 header word of a node. The lock bit guards every level of
 * the node; the other bits change only under it. */
#define H_COUNT   0xFFFFu
#define H_IN      (1u << 29)  /* the slot is in the graph */
#define H_DEAD    (1u << 30)  /* tombstone */
#define H_LOCK    (1u << 31)

#define NONE      UINT32_MAX

#define FILE_MAGIC   "QVHNSW\r\n"
#define FILE_VERSION 1u
#define FILE_HEAD    52u

typedef struct pair {
    float    d;
    uint32_t id;
} pair;

/* A binary max-heap of pairs ordered by (d, id); candidates go in with -d so
 * the same heap pops the closest first. */
typedef struct heap {
    pair    *a;
    uint32_t n, cap;
} heap;

/* Per-call scratch, pooled: a visited list (tags, hnswlib's trick: a node
 * is visited when its tag equals cur, so clearing is a counter bump) and
 * the heaps and buffers of one search or insert. */
typedef struct scratch {
    struct scratch *next;
    uint16_t       *tag;
    uint32_t        tag_cap;
    uint16_t        cur;
    heap            cand, res;
    pair           *tmp;  /* sorted candidates, then selections */
    uint32_t        tmp_cap;
    pair           *sel;
    uint32_t        sel_cap;
} scratch;

struct hnsw {
    hnsw_params     p;
    uint32_t        m0;       /* 2m: level-0 links */
    uint32_t        stride0;  /* 1 + 2m words per level-0 block */
    uint32_t        stride_up;/* 1 + m words per upper level */
    uint32_t        cap;
    uint32_t       *l0;       /* cap * stride0 */
    uint8_t        *level;    /* cap */
    uint32_t      **upper;    /* cap; NULL for level-0-only nodes */
    double          mult;
    dist_fn         fn;
    pthread_mutex_t ep_lock;
    uint64_t        ep;       /* entry slot | max level << 32 (atomic) */
    uint32_t        count;    /* atomic */
    uint32_t        dead;     /* atomic */
    size_t          upper_bytes; /* atomic */
    pthread_mutex_t pool_lock;
    scratch        *pool;
};

/* ---- small pieces ---- */

static inline uint32_t ld(const uint32_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline void st(uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }

static inline uint32_t *blk0(const hnsw *g, uint32_t s) { return g->l0 + (size_t)s * g->stride0; }

/* The links block (count word first) of slot at level lev >= 0. */
static inline uint32_t *links(const hnsw *g, uint32_t s, int lev)
{
    if (lev == 0)
        return blk0(g, s);
    uint32_t *up = __atomic_load_n(&g->upper[s], __ATOMIC_ACQUIRE);
    return up + (size_t)(lev - 1) * g->stride_up;
}

static inline uint32_t max_links(const hnsw *g, int lev) { return lev == 0 ? g->m0 : g->p.m; }

static inline uint32_t link_count(const hnsw *g, const uint32_t *w, int lev)
{
    uint32_t n = ld(w) & H_COUNT;
    uint32_t mx = max_links(g, lev);
    return n < mx ? n : mx;
}

static inline const float *vec(const vec_dense *col, uint32_t s) { return vec_dense_get(col, s); }

static void node_lock(hnsw *g, uint32_t s)
{
    uint32_t *w = blk0(g, s);
    for (unsigned spins = 0;; spins++) {
        uint32_t h = __atomic_load_n(w, __ATOMIC_RELAXED);
        if (!(h & H_LOCK) &&
            __atomic_compare_exchange_n(w, &h, h | H_LOCK, true, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
            return;
        /* Held for a few hundred distances at most; a holder that lost its
         * core is waited for without burning ours. */
        if (spins > 64)
            sched_yield();
        else
            __builtin_ia32_pause();
    }
}

static void node_unlock(hnsw *g, uint32_t s) { __atomic_fetch_and(blk0(g, s), ~H_LOCK, __ATOMIC_RELEASE); }

/* Set the count of a links block whose node lock we hold. */
static inline void set_count(uint32_t *w, int lev, uint32_t n)
{
    if (lev == 0)
        st(w, (ld(w) & ~H_COUNT) | n);
    else
        st(w, n);
}

static uint64_t splitmix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

static int rand_level(const hnsw *g, uint32_t s)
{
    uint64_t x = splitmix(g->p.seed ^ splitmix(s));
    double u = (double)((x >> 11) + 1) * 0x1.0p-53;  /* (0, 1] */
    double l = -log(u) * g->mult;
    return l >= HNSW_MAX_LEVEL ? HNSW_MAX_LEVEL : (int)l;
}

/* ---- heaps ---- */

static inline bool pair_gt(pair a, pair b) { return a.d > b.d || (a.d == b.d && a.id > b.id); }

static bool heap_push(heap *h, float d, uint32_t id)
{
    if (h->n == h->cap) {
        uint32_t nc = h->cap ? h->cap * 2 : 64;
        pair *na = realloc(h->a, (size_t)nc * sizeof *na);
        if (!na)
            return false;
        h->a = na;
        h->cap = nc;
    }
    pair x = {d, id};
    uint32_t i = h->n++;
    while (i > 0) {
        uint32_t par = (i - 1) / 2;
        if (!pair_gt(x, h->a[par]))
            break;
        h->a[i] = h->a[par];
        i = par;
    }
    h->a[i] = x;
    return true;
}

static pair heap_pop(heap *h)
{
    pair top = h->a[0];
    pair x = h->a[--h->n];
    uint32_t i = 0, n = h->n;
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && pair_gt(h->a[c + 1], h->a[c]))
            c++;
        if (!pair_gt(h->a[c], x))
            break;
        h->a[i] = h->a[c];
        i = c;
    }
    if (n)
        h->a[i] = x;
    return top;
}

/* ---- scratch pool ---- */

static scratch *scratch_get(hnsw *g)
{
    pthread_mutex_lock(&g->pool_lock);
    scratch *s = g->pool;
    if (s)
        g->pool = s->next;
    pthread_mutex_unlock(&g->pool_lock);
    if (!s && !(s = calloc(1, sizeof *s)))
        return NULL;
    if (s->tag_cap < g->cap) {
        free(s->tag);
        s->tag = calloc(g->cap, sizeof *s->tag);
        s->tag_cap = s->tag ? g->cap : 0;
        s->cur = 0;
        if (!s->tag) {
            free(s);
            return NULL;
        }
    }
    if (++s->cur == 0) {
        memset(s->tag, 0, (size_t)s->tag_cap * sizeof *s->tag);
        s->cur = 1;
    }
    s->cand.n = s->res.n = 0;
    return s;
}

static void scratch_free(scratch *s)
{
    free(s->tag);
    free(s->cand.a);
    free(s->res.a);
    free(s->tmp);
    free(s->sel);
    free(s);
}

static void scratch_put(hnsw *g, scratch *s)
{
    pthread_mutex_lock(&g->pool_lock);
    s->next = g->pool;
    g->pool = s;
    pthread_mutex_unlock(&g->pool_lock);
}

static bool grow_pairs(pair **a, uint32_t *cap, uint32_t need)
{
    if (*cap >= need)
        return true;
    pair *na = realloc(*a, (size_t)need * sizeof *na);
    if (!na)
        return false;
    *a = na;
    *cap = need;
    return true;
}

/* True when tag says visited; marks it otherwise. */
static inline bool visit(scratch *s, uint32_t id)
{
    if (s->tag[id] == s->cur)
        return true;
    s->tag[id] = s->cur;
    return false;
}

/* ---- lifetime ---- */

qv_status hnsw_new(const hnsw_params *p, uint32_t capacity, hnsw **out, qv_error *err)
{
    *out = NULL;
    if (p->m < 2 || p->m > HNSW_MAX_M)
        return qv_fail(err, QV_VALIDATION, "hnsw: m must be within 2..%d, got %u", HNSW_MAX_M, p->m);
    if (p->dim == 0)
        return qv_fail(err, QV_VALIDATION, "hnsw: dim must be positive");
    if ((unsigned)p->metric > DIST_MANHATTAN)
        return qv_fail(err, QV_VALIDATION, "hnsw: unknown metric %d", (int)p->metric);
    hnsw *g = calloc(1, sizeof *g);
    if (!g)
        return qv_fail(err, QV_NOMEM, "hnsw: out of memory");
    g->p = *p;
    if (g->p.ef_construct < g->p.m)
        g->p.ef_construct = g->p.m;
    g->m0 = 2 * p->m;
    g->stride0 = 1 + g->m0;
    g->stride_up = 1 + p->m;
    g->mult = 1.0 / log((double)p->m);
    g->fn = dist_order_fn(dist_kernels_best(), p->metric);
    g->ep = NONE;
    pthread_mutex_init(&g->ep_lock, NULL);
    pthread_mutex_init(&g->pool_lock, NULL);
    qv_status rc = hnsw_reserve(g, capacity, err);
    if (rc) {
        hnsw_free(g);
        return rc;
    }
    *out = g;
    return QV_OK;
}

void hnsw_free(hnsw *g)
{
    if (!g)
        return;
    for (uint32_t s = 0; s < g->cap; s++)
        free(g->upper[s]);
    free(g->upper);
    free(g->level);
    free(g->l0);
    while (g->pool) {
        scratch *s = g->pool;
        g->pool = s->next;
        scratch_free(s);
    }
    pthread_mutex_destroy(&g->ep_lock);
    pthread_mutex_destroy(&g->pool_lock);
    free(g);
}

qv_status hnsw_reserve(hnsw *g, uint32_t n, qv_error *err)
{
    if (n <= g->cap)
        return QV_OK;
    if (n == NONE)
        return qv_fail(err, QV_VALIDATION, "hnsw: capacity too large");
    uint32_t *l0 = realloc(g->l0, (size_t)n * g->stride0 * sizeof *l0);
    if (!l0)
        goto nomem;
    g->l0 = l0;
    memset(l0 + (size_t)g->cap * g->stride0, 0, (size_t)(n - g->cap) * g->stride0 * sizeof *l0);
    uint8_t *lv = realloc(g->level, n);
    if (!lv)
        goto nomem;
    g->level = lv;
    memset(lv + g->cap, 0, n - g->cap);
    uint32_t **up = realloc(g->upper, (size_t)n * sizeof *up);
    if (!up)
        goto nomem;
    g->upper = up;
    memset(up + g->cap, 0, (size_t)(n - g->cap) * sizeof *up);
    g->cap = n;
    return QV_OK;
nomem:
    /* What grew stays grown (and zeroed); cap still names the old size. */
    return qv_fail(err, QV_NOMEM, "hnsw: out of memory growing to %u slots", n);
}

/* ---- facts ---- */

uint32_t hnsw_count(const hnsw *g) { return __atomic_load_n(&g->count, __ATOMIC_RELAXED); }
uint32_t hnsw_deleted(const hnsw *g) { return __atomic_load_n(&g->dead, __ATOMIC_RELAXED); }
uint32_t hnsw_capacity(const hnsw *g) { return g->cap; }
const hnsw_params *hnsw_get_params(const hnsw *g) { return &g->p; }

bool hnsw_contains(const hnsw *g, uint32_t s) { return s < g->cap && (ld(blk0(g, s)) & H_IN); }
bool hnsw_tombstone(const hnsw *g, uint32_t s) { return s < g->cap && (ld(blk0(g, s)) & H_DEAD); }

size_t hnsw_memory(const hnsw *g)
{
    return (size_t)g->cap * (g->stride0 * sizeof(uint32_t) + sizeof(uint8_t) + sizeof(uint32_t *)) +
           __atomic_load_n(&g->upper_bytes, __ATOMIC_RELAXED);
}

/* ---- searching one level ---- */

/* Greedy walk at level lev from *cur toward q (ef = 1). */
static void greedy(const hnsw *g, const vec_dense *col, const float *q, uint32_t *cur, float *curd, int lev)
{
    uint32_t dim = g->p.dim;
    bool moved = true;
    while (moved) {
        moved = false;
        const uint32_t *w = links(g, *cur, lev);
        uint32_t n = link_count(g, w, lev);
        for (uint32_t i = 0; i < n; i++) {
            uint32_t c = ld(&w[1 + i]);
            if (i + 1 < n)
                __builtin_prefetch(vec(col, ld(&w[2 + i])));
            float d = g->fn(q, vec(col, c), dim);
            if (d < *curd) {
                *curd = d;
                *cur = c;
                moved = true;
            }
        }
    }
}

/* Who may enter the results of a search. */
typedef struct accept_ctx {
    const hnsw_filter *f;
    uint32_t           exclude;  /* the slot being linked, or NONE */
    bool               all;      /* no filter, no tombstones, nothing excluded: skip the checks */
    bool               check_dead;
} accept_ctx;

static inline bool filter_allows(const hnsw_filter *f, uint32_t s)
{
    if (!f)
        return true;
    if (f->allowed && (s >= f->allowed_slots || !(f->allowed[s >> 6] >> (s & 63) & 1)))
        return false;
    return !f->allow || f->allow(f->ctx, s);
}

static inline bool accepts(const hnsw *g, const accept_ctx *a, uint32_t s)
{
    if (a->all)
        return true;
    if (s == a->exclude || (a->check_dead && (ld(blk0(g, s)) & H_DEAD)))
        return false;
    return filter_allows(a->f, s);
}

/* Best-first search of width ef at level lev from ep; every node reached
 * may route, only accepted ones enter s->res (a max-heap of at most ef). */
static bool search_level(const hnsw *g, const vec_dense *col, const float *q, scratch *s, uint32_t ep, float epd,
                         int lev, uint32_t ef, const accept_ctx *a)
{
    uint32_t dim = g->p.dim;
    s->cand.n = s->res.n = 0;
    visit(s, ep);
    if (!heap_push(&s->cand, -epd, ep))
        return false;
    if (accepts(g, a, ep) && !heap_push(&s->res, epd, ep))
        return false;
    while (s->cand.n) {
        pair c = heap_pop(&s->cand);
        if (s->res.n >= ef && -c.d > s->res.a[0].d)
            break;
        const uint32_t *w = links(g, c.id, lev);
        uint32_t n = link_count(g, w, lev), fresh[2 * HNSW_MAX_M], nf = 0;
        /* The unvisited neighbours first, each vector asked for from
         * memory, then measured: the loads overlap instead of one miss
         * after another. */
        for (uint32_t i = 0; i < n; i++) {
            uint32_t x = ld(&w[1 + i]);
            if (!visit(s, x)) {
                __builtin_prefetch(vec(col, x));
                fresh[nf++] = x;
            }
        }
        for (uint32_t i = 0; i < nf; i++) {
            uint32_t x = fresh[i];
            float d = g->fn(q, vec(col, x), dim);
            if (s->res.n < ef || d < s->res.a[0].d) {
                if (!heap_push(&s->cand, -d, x))
                    return false;
                if (accepts(g, a, x)) {
                    if (!heap_push(&s->res, d, x))
                        return false;
                    if (s->res.n > ef)
                        heap_pop(&s->res);
                }
            }
        }
    }
    return true;
}

/* A fresh visited epoch for a second phase of one search. */
static void new_epoch(scratch *s)
{
    if (++s->cur == 0) {
        memset(s->tag, 0, (size_t)s->tag_cap * sizeof *s->tag);
        s->cur = 1;
    }
}

/* Push into a max-heap bounded to ef. */
static inline bool beam_push(heap *h, uint32_t ef, float d, uint32_t id)
{
    if (!heap_push(h, d, id))
        return false;
    if (h->n > ef)
        heap_pop(h);
    return true;
}

/* Measure accepted x; queue it and keep it when it improves the answer. */
static inline bool consider(const hnsw *g, const vec_dense *col, const float *q, scratch *s, uint32_t x, uint32_t ef)
{
    float d = g->fn(q, vec(col, x), g->p.dim);
    if (s->res.n < ef || d < s->res.a[0].d) {
        if (!heap_push(&s->cand, -d, x) || !heap_push(&s->res, d, x))
            return false;
        if (s->res.n > ef)
            heap_pop(&s->res);
    }
    return true;
}

/* How many level-1 seeds a two-hop search starts from: the sparser the
 * matches, the wider the region their nearest ones span, so more seeds
 * (ef at 4% and above, 4·ef at 1%, at most 8·ef; 2·ef when unknown). On
 * 100k x 128 clustered at 1%, ef 32: recall 0.90 from ef seeds, 0.98 from
 * 4·ef. */
static uint32_t seed_ef(uint32_t ef, float selectivity)
{
    float x = selectivity > 0 ? 0.04f / selectivity : 2;
    if (x < 1)
        x = 1;
    if (x > 8)
        x = 8;
    return (uint32_t)(ef * x);
}

/* ACORN-style search for selective filters. Only accepted nodes are
 * queued and measured; a non-accepted neighbour is a bridge whose accepted
 * neighbours are measured at once (two hops), so the subgraph of matches
 * stays navigable without a distance to every node it skips.
 *
 * Matches can be far apart (a cluster with few of them), so the walk
 * starts from many seeds rather than one: the nearest nodes of level 1
 * (whose links are long), found by an unfiltered search there; each seed
 * routes whether it matches or not. `top` is the graph's top level and cur
 * the greedy result at level min(top, 1). */
static bool search_two_hop(const hnsw *g, const vec_dense *col, const float *q, scratch *s, uint32_t cur, float curd,
                           int top, uint32_t ef, const accept_ctx *a)
{
    float sel = a->f ? a->f->selectivity : 0;
    uint32_t n_seeds = 1;
    pair one = {curd, cur}, *seeds = &one;
    if (top >= 1) {
        accept_ctx all = {NULL, NONE, true, false};
        if (!search_level(g, col, q, s, cur, curd, 1, seed_ef(ef, sel), &all))
            return false;
        n_seeds = s->res.n;
        if (!grow_pairs(&s->tmp, &s->tmp_cap, n_seeds))
            return false;
        for (uint32_t i = 0; i < n_seeds; i++)
            s->tmp[i] = s->res.a[i];
        seeds = s->tmp;
        new_epoch(s);
    }
    s->cand.n = s->res.n = 0;
    for (uint32_t i = 0; i < n_seeds; i++) {
        visit(s, seeds[i].id);
        if (!heap_push(&s->cand, -seeds[i].d, seeds[i].id))
            return false;
        if (accepts(g, a, seeds[i].id) && !beam_push(&s->res, ef, seeds[i].d, seeds[i].id))
            return false;
    }
    while (s->cand.n) {
        pair c = heap_pop(&s->cand);
        if (s->res.n >= ef && -c.d > s->res.a[0].d)
            break;
        const uint32_t *w = blk0(g, c.id);
        uint32_t n = link_count(g, w, 0);
        for (uint32_t i = 0; i < n; i++) {
            uint32_t x = ld(&w[1 + i]);
            if (i + 1 < n)
                __builtin_prefetch(blk0(g, ld(&w[2 + i])));
            if (visit(s, x))
                continue;
            if (accepts(g, a, x)) {
                if (!consider(g, col, q, s, x, ef))
                    return false;
                continue;
            }
            const uint32_t *w2 = blk0(g, x);
            uint32_t n2 = link_count(g, w2, 0);
            for (uint32_t j = 0; j < n2; j++) {
                uint32_t y = ld(&w2[1 + j]);
                /* Mark only what is measured: a non-accepted y may still
                 * be a bridge later, as a direct neighbour of another node. */
                if (s->tag[y] == s->cur || !accepts(g, a, y))
                    continue;
                s->tag[y] = s->cur;
                if (!consider(g, col, q, s, y, ef))
                    return false;
            }
        }
    }
    return true;
}

/* ---- linking ---- */

static int pair_cmp(const void *x, const void *y)
{
    const pair *a = x, *b = y;
    if (a->d != b->d)
        return a->d < b->d ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

/* The paper's heuristic (hnswlib's getNeighborsByHeuristic2): from cand
 * (n pairs, distances to the base, sorted closest first) keep a candidate
 * only if it is closer to the base than to every one kept so far, up to M.
 * Writes into sel, returns how many. */
static uint32_t select_heuristic(const hnsw *g, const vec_dense *col, const pair *cand, uint32_t n, uint32_t M,
                                 pair *sel)
{
    if (n <= M) {
        memcpy(sel, cand, (size_t)n * sizeof *sel);
        return n;
    }
    uint32_t k = 0;
    for (uint32_t i = 0; i < n && k < M; i++) {
        const float *v = vec(col, cand[i].id);
        bool good = true;
        for (uint32_t j = 0; j < k; j++)
            if (g->fn(v, vec(col, sel[j].id), g->p.dim) < cand[i].d) {
                good = false;
                break;
            }
        if (good)
            sel[k++] = cand[i];
    }
    return k;
}

/* Add link new_id (at distance d from s) to s's list at lev, re-selecting
 * by the heuristic when the list is full. Takes s's lock (and no other). */
static bool connect(hnsw *g, const vec_dense *col, scratch *sc, uint32_t s, uint32_t new_id, float d, int lev)
{
    uint32_t mx = max_links(g, lev);
    if (!grow_pairs(&sc->tmp, &sc->tmp_cap, mx + 1) || !grow_pairs(&sc->sel, &sc->sel_cap, mx + 1))
        return false;
    node_lock(g, s);
    uint32_t *w = links(g, s, lev);
    uint32_t n = link_count(g, w, lev);
    for (uint32_t i = 0; i < n; i++)
        if (w[1 + i] == new_id)
            goto done;
    if (n < mx) {
        st(&w[1 + n], new_id);
        set_count(w, lev, n + 1);
        goto done;
    }
    const float *v = vec(col, s);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t x = w[1 + i];
        sc->tmp[i] = (pair){g->fn(v, vec(col, x), g->p.dim), x};
    }
    sc->tmp[n] = (pair){d, new_id};
    qsort(sc->tmp, n + 1, sizeof *sc->tmp, pair_cmp);
    uint32_t k = select_heuristic(g, col, sc->tmp, n + 1, mx, sc->sel);
    for (uint32_t i = 0; i < k; i++)
        st(&w[1 + i], sc->sel[i].id);
    set_count(w, lev, k);
done:
    node_unlock(g, s);
    return true;
}

/* Make sc->sel[0..k) the links of slot at lev, then link each of them back
 * to slot (connect). Own links first, so a search that reaches slot through
 * a neighbour finds it linked. False when out of memory. */
static bool install_links(hnsw *g, const vec_dense *col, scratch *sc, uint32_t slot, int lev, uint32_t k)
{
    node_lock(g, slot);
    uint32_t *w = links(g, slot, lev);
    for (uint32_t i = 0; i < k; i++)
        st(&w[1 + i], sc->sel[i].id);
    set_count(w, lev, k);
    node_unlock(g, slot);
    /* connect() reuses tmp/sel: keep the selection aside. */
    pair chosen[2 * HNSW_MAX_M];
    memcpy(chosen, sc->sel, (size_t)k * sizeof *chosen);
    for (uint32_t i = 0; i < k; i++)
        if (!connect(g, col, sc, chosen[i].id, slot, chosen[i].d, lev))
            return false;
    return true;
}

/* Find and write the links of slot (level `level`) for its current vector,
 * from entry (level maxl), and link its neighbours back to it. */
static qv_status link_node(hnsw *g, const vec_dense *col, scratch *sc, uint32_t slot, int level, uint32_t entry,
                           int maxl, qv_error *err)
{
    const float *q = vec(col, slot);
    uint32_t cur = entry;
    float curd = g->fn(q, vec(col, cur), g->p.dim);
    for (int lev = maxl; lev > level; lev--)
        greedy(g, col, q, &cur, &curd, lev);
    accept_ctx a = {NULL, slot, false, hnsw_deleted(g) != 0};
    for (int lev = level < maxl ? level : maxl; lev >= 0; lev--) {
        if (!search_level(g, col, q, sc, cur, curd, lev, g->p.ef_construct, &a))
            goto nomem;
        uint32_t n = sc->res.n;
        if (!grow_pairs(&sc->tmp, &sc->tmp_cap, n + 1) || !grow_pairs(&sc->sel, &sc->sel_cap, n + 1))
            goto nomem;
        for (uint32_t i = n; i-- > 0;)
            sc->tmp[i] = heap_pop(&sc->res);
        if (n) {
            cur = sc->tmp[0].id;  /* the next level starts from the closest */
            curd = sc->tmp[0].d;
        }
        uint32_t k = select_heuristic(g, col, sc->tmp, n, g->p.m, sc->sel);
        if (!install_links(g, col, sc, slot, lev, k))
            goto nomem;
    }
    return QV_OK;
nomem:
    return qv_fail(err, QV_NOMEM, "hnsw: out of memory linking slot %u", slot);
}

qv_status hnsw_insert(hnsw *g, const vec_dense *col, uint32_t slot, qv_error *err)
{
    if (slot >= g->cap)
        return qv_fail(err, QV_VALIDATION, "hnsw: slot %u beyond capacity %u", slot, g->cap);
    if (ld(blk0(g, slot)) & H_IN)
        return hnsw_update(g, col, slot, err);
    int level = rand_level(g, slot);
    uint32_t *up = NULL;
    if (level > 0) {
        size_t bytes = (size_t)level * g->stride_up * sizeof *up;
        if (!(up = calloc(1, bytes)))
            return qv_fail(err, QV_NOMEM, "hnsw: out of memory");
        __atomic_fetch_add(&g->upper_bytes, bytes, __ATOMIC_RELAXED);
    }
    scratch *sc = scratch_get(g);
    if (!sc) {
        free(up);
        return qv_fail(err, QV_NOMEM, "hnsw: out of memory");
    }
    node_lock(g, slot);
    __atomic_store_n(&g->upper[slot], up, __ATOMIC_RELEASE);
    g->level[slot] = (uint8_t)level;
    st(blk0(g, slot), (ld(blk0(g, slot)) & ~(H_COUNT | H_DEAD)) | H_IN);
    node_unlock(g, slot);
    __atomic_fetch_add(&g->count, 1, __ATOMIC_RELAXED);

    /* A node that raises the top holds the entry lock for its whole insert
     * (as hnswlib), so two new tops never race; others read it and go. */
    pthread_mutex_lock(&g->ep_lock);
    uint64_t ep = g->ep;
    uint32_t entry = (uint32_t)ep;
    int maxl = (int)(ep >> 32);
    bool hold = entry == NONE || level > maxl;
    if (!hold)
        pthread_mutex_unlock(&g->ep_lock);
    qv_status rc = QV_OK;
    if (entry != NONE)
        rc = link_node(g, col, sc, slot, level, entry, maxl, err);
    if (hold) {
        if (!rc)
            __atomic_store_n(&g->ep, slot | (uint64_t)level << 32, __ATOMIC_RELEASE);
        pthread_mutex_unlock(&g->ep_lock);
    }
    scratch_put(g, sc);
    return rc;
}

qv_status hnsw_update(hnsw *g, const vec_dense *col, uint32_t slot, qv_error *err)
{
    if (slot >= g->cap)
        return qv_fail(err, QV_VALIDATION, "hnsw: slot %u beyond capacity %u", slot, g->cap);
    if (!(ld(blk0(g, slot)) & H_IN))
        return hnsw_insert(g, col, slot, err);
    node_lock(g, slot);
    uint32_t h = ld(blk0(g, slot));
    if (h & H_DEAD) {
        st(blk0(g, slot), h & ~H_DEAD);
        __atomic_fetch_sub(&g->dead, 1, __ATOMIC_RELAXED);
    }
    node_unlock(g, slot);
    pthread_mutex_lock(&g->ep_lock);
    uint64_t ep = g->ep;
    pthread_mutex_unlock(&g->ep_lock);
    scratch *sc = scratch_get(g);
    if (!sc)
        return qv_fail(err, QV_NOMEM, "hnsw: out of memory");
    qv_status rc = link_node(g, col, sc, slot, g->level[slot], (uint32_t)ep, (int)(ep >> 32), err);
    scratch_put(g, sc);
    return rc;
}

void hnsw_delete(hnsw *g, uint32_t slot)
{
    if (slot >= g->cap)
        return;
    node_lock(g, slot);
    uint32_t h = ld(blk0(g, slot));
    if ((h & H_IN) && !(h & H_DEAD)) {
        st(blk0(g, slot), h | H_DEAD);
        __atomic_fetch_add(&g->dead, 1, __ATOMIC_RELAXED);
    }
    node_unlock(g, slot);
}

/* ---- repair of tombstones ---- */

static inline bool doomed_at(const uint64_t *doomed, uint32_t n, uint32_t s)
{
    return s < n && (doomed[s >> 6] >> (s & 63) & 1);
}

/* Doomed and still a tombstone: a doomed slot updated since (reused) keeps
 * its links. */
static inline bool gone(const hnsw *g, const uint64_t *doomed, uint32_t n, uint32_t s)
{
    return doomed_at(doomed, n, s) && (ld(blk0(g, s)) & H_DEAD);
}

/* Relink node s at every level where it links to a doomed slot: its links
 * are chosen again, by the heuristic, among its other links and the links
 * of the doomed ones (two hops), the closest ef_construct of them. When
 * none are left (every neighbour doomed, and theirs), s is linked again by
 * a search from the entry, as an update does. */
static qv_status repair_node(hnsw *g, const vec_dense *col, scratch *sc, uint32_t s, const uint64_t *doomed,
                             uint32_t n_doomed, qv_error *err)
{
    const float *v = vec(col, s);
    for (int lev = 0; lev <= g->level[s]; lev++) {
        uint32_t *w = links(g, s, lev);
        uint32_t n = link_count(g, w, lev), mx = max_links(g, lev);
        bool any = false;
        for (uint32_t i = 0; i < n && !any; i++)
            any = gone(g, doomed, n_doomed, ld(&w[1 + i]));
        if (!any)
            continue;
        new_epoch(sc);
        visit(sc, s);
        uint32_t k = 0;
        for (uint32_t i = 0; i < n; i++) {
            uint32_t x = ld(&w[1 + i]);
            if (!gone(g, doomed, n_doomed, x)) {
                if (!visit(sc, x)) {
                    if (!grow_pairs(&sc->tmp, &sc->tmp_cap, k + 1))
                        goto nomem;
                    sc->tmp[k++] = (pair){g->fn(v, vec(col, x), g->p.dim), x};
                }
                continue;
            }
            const uint32_t *w2 = links(g, x, lev);
            uint32_t n2 = link_count(g, w2, lev);
            if (!grow_pairs(&sc->tmp, &sc->tmp_cap, k + n2))
                goto nomem;
            for (uint32_t j = 0; j < n2; j++) {
                uint32_t y = ld(&w2[1 + j]);
                if (!gone(g, doomed, n_doomed, y) && !visit(sc, y))
                    sc->tmp[k++] = (pair){g->fn(v, vec(col, y), g->p.dim), y};
            }
        }
        if (k == 0) {
            uint64_t ep = __atomic_load_n(&g->ep, __ATOMIC_ACQUIRE);
            return link_node(g, col, sc, s, g->level[s], (uint32_t)ep, (int)(ep >> 32), err);
        }
        qsort(sc->tmp, k, sizeof *sc->tmp, pair_cmp);
        if (k > g->p.ef_construct)
            k = g->p.ef_construct;
        if (!grow_pairs(&sc->sel, &sc->sel_cap, mx))
            goto nomem;
        uint32_t kept = select_heuristic(g, col, sc->tmp, k, mx, sc->sel);
        /* The heuristic keeps fewer among many close candidates than the
         * node had: fill up to that with the closest left out, so the
         * repair does not thin the graph. */
        for (uint32_t i = 0; i < k && kept < n; i++) {
            uint32_t j = 0;
            while (j < kept && sc->sel[j].id != sc->tmp[i].id)
                j++;
            if (j == kept)
                sc->sel[kept++] = sc->tmp[i];
        }
        /* And back, as after an insert: the nodes that a tombstone led to
         * need ways in as much as s needs ways out (50,000 clustered, m 16,
         * half deleted, ef 16: recall 0.90 without, 0.945 with). */
        if (!install_links(g, col, sc, s, lev, kept))
            goto nomem;
    }
    return QV_OK;
nomem:
    return qv_fail(err, QV_NOMEM, "hnsw: out of memory repairing slot %u", s);
}

qv_status hnsw_repair(hnsw *g, const vec_dense *col, const uint64_t *doomed, uint32_t n_doomed, uint32_t from,
                      uint32_t to, qv_error *err)
{
    if (to > g->cap)
        to = g->cap;
    scratch *sc = scratch_get(g);
    if (!sc)
        return qv_fail(err, QV_NOMEM, "hnsw: out of memory");
    qv_status rc = QV_OK;
    for (uint32_t s = from; s < to && rc == QV_OK; s++)
        if ((ld(blk0(g, s)) & H_IN) && !gone(g, doomed, n_doomed, s))
            rc = repair_node(g, col, sc, s, doomed, n_doomed, err);
    scratch_put(g, sc);
    return rc;
}

uint32_t hnsw_drop(hnsw *g, const uint64_t *doomed, uint32_t n_doomed)
{
    if (n_doomed > g->cap)
        n_doomed = g->cap;
    /* Dropped: doomed and still a tombstone (a slot reused since is not). */
#define DROP(x) (doomed_at(doomed, n_doomed, (x)) && (blk0(g, (x))[0] & (H_IN | H_DEAD)) == (H_IN | H_DEAD))
    for (uint32_t s = 0; s < g->cap; s++) {
        if (!(blk0(g, s)[0] & H_IN) || DROP(s))
            continue;
        for (int lev = 0; lev <= g->level[s]; lev++) {
            uint32_t *w = links(g, s, lev);
            uint32_t n = link_count(g, w, lev), k = 0;
            for (uint32_t i = 0; i < n; i++)
                if (!DROP(w[1 + i]))
                    w[1 + k++] = w[1 + i];
            if (k != n)
                set_count(w, lev, k);
        }
    }
    uint32_t dropped = 0;
    uint32_t entry = (uint32_t)g->ep;
    bool lost_entry = false;
    for (uint32_t s = 0; s < n_doomed; s++) {
        if (!DROP(s))
            continue;
        if (g->level[s]) {
            free(g->upper[s]);
            g->upper[s] = NULL;
            __atomic_fetch_sub(&g->upper_bytes, (size_t)g->level[s] * g->stride_up * sizeof(uint32_t),
                               __ATOMIC_RELAXED);
            g->level[s] = 0;
        }
        memset(blk0(g, s), 0, (size_t)g->stride0 * sizeof(uint32_t));
        lost_entry |= s == entry;
        dropped++;
    }
#undef DROP
    /* Read without the graph's lock by those who only report them. */
    __atomic_fetch_sub(&g->count, dropped, __ATOMIC_RELAXED);
    __atomic_fetch_sub(&g->dead, dropped, __ATOMIC_RELAXED);
    if (lost_entry) {  /* the highest node left (the first of them) enters */
        uint64_t ep = NONE;
        int top = -1;
        for (uint32_t s = 0; s < g->cap; s++)
            if ((blk0(g, s)[0] & H_IN) && g->level[s] > top) {
                top = g->level[s];
                ep = s | (uint64_t)top << 32;
            }
        __atomic_store_n(&g->ep, ep, __ATOMIC_RELEASE);
    }
    return dropped;
}

/* ---- search ---- */

qv_status hnsw_search(hnsw *g, const vec_dense *col, const float *query, uint32_t k, uint32_t ef,
                      const hnsw_filter *filter, hnsw_hit *out, uint32_t *n_out, qv_error *err)
{
    *n_out = 0;
    uint64_t ep = __atomic_load_n(&g->ep, __ATOMIC_ACQUIRE);
    uint32_t cur = (uint32_t)ep;
    if (k == 0 || cur == NONE)
        return QV_OK;
    if (ef < k)
        ef = k;
    scratch *sc = scratch_get(g);
    if (!sc)
        return qv_fail(err, QV_NOMEM, "hnsw: out of memory");
    int top = (int)(ep >> 32);
    bool two_hop = filter && (filter->two_hop ||
                              (filter->selectivity > 0 && filter->selectivity < HNSW_TWO_HOP_BELOW));
    float curd = g->fn(query, vec(col, cur), g->p.dim);
    for (int lev = top; lev > (two_hop ? 1 : 0); lev--)
        greedy(g, col, query, &cur, &curd, lev);
    /* Without tombstones or a filter, no neighbour's header is read just
     * to check it (a cache miss per neighbour otherwise). A delete racing
     * with this search may still be returned by it. */
    bool dead = hnsw_deleted(g) != 0;
    accept_ctx a = {filter, NONE, !filter && !dead, dead};
    bool ok = two_hop ? search_two_hop(g, col, query, sc, cur, curd, top, ef, &a)
                      : search_level(g, col, query, sc, cur, curd, 0, ef, &a);
    if (!ok) {
        scratch_put(g, sc);
        return qv_fail(err, QV_NOMEM, "hnsw: out of memory");
    }
    while (sc->res.n > k)
        heap_pop(&sc->res);
    uint32_t n = sc->res.n;
    for (uint32_t i = n; i-- > 0;) {
        pair p = heap_pop(&sc->res);
        out[i] = (hnsw_hit){p.d, p.id};
    }
    *n_out = n;
    scratch_put(g, sc);
    return QV_OK;
}

/* ---- save and load ---- */

qv_status hnsw_save_buf(const hnsw *g, uint8_t **data, size_t *len, qv_error *err)
{
    *data = NULL;
    *len = 0;
    size_t size = FILE_HEAD + 4;
    uint32_t nodes = 0;
    for (uint32_t s = 0; s < g->cap; s++) {
        const uint32_t *w = blk0(g, s);
        if (!(ld(w) & H_IN))
            continue;
        nodes++;
        size += 6;
        for (int lev = 0; lev <= g->level[s]; lev++)
            size += 2 + 4 * (size_t)link_count(g, links(g, s, lev), lev);
    }
    uint8_t *b = malloc(size), *p = b;
    if (!b)
        return qv_fail(err, QV_NOMEM, "hnsw: out of memory saving");
    uint64_t ep = __atomic_load_n(&g->ep, __ATOMIC_ACQUIRE);
    memcpy(p, FILE_MAGIC, 8);
    qv_put_le32(p + 8, FILE_VERSION);
    qv_put_le32(p + 12, g->p.m);
    qv_put_le32(p + 16, g->p.ef_construct);
    qv_put_le32(p + 20, (uint32_t)g->p.metric);
    qv_put_le32(p + 24, g->p.dim);
    qv_put_le64(p + 28, g->p.seed);
    qv_put_le32(p + 36, g->cap);
    qv_put_le32(p + 40, nodes);
    qv_put_le32(p + 44, (uint32_t)ep);
    qv_put_le32(p + 48, (uint32_t)(ep >> 32));
    p += FILE_HEAD;
    for (uint32_t s = 0; s < g->cap; s++) {
        uint32_t h = ld(blk0(g, s));
        if (!(h & H_IN))
            continue;
        qv_put_le32(p, s);
        p[4] = g->level[s];
        p[5] = (h & H_DEAD) ? 1 : 0;
        p += 6;
        for (int lev = 0; lev <= g->level[s]; lev++) {
            const uint32_t *w = links(g, s, lev);
            uint32_t n = link_count(g, w, lev);
            qv_put_le16(p, (uint16_t)n);
            p += 2;
            for (uint32_t i = 0; i < n; i++, p += 4)
                qv_put_le32(p, ld(&w[1 + i]));
        }
    }
    qv_put_le32(p, qv_crc32c(0, b, (size_t)(p - b)));
    *data = b;
    *len = size;
    return QV_OK;
}

qv_status hnsw_save(const hnsw *g, const char *dir, const char *name, qv_error *err)
{
    uint8_t *b;
    size_t len;
    qv_status rc = hnsw_save_buf(g, &b, &len, err);
    if (rc)
        return rc;
    if (qv_write_file_atomic(dir, name, b, len) != 0)
        rc = qv_fail(err, QV_IO, "hnsw: cannot write %s/%s: %s", dir, name, strerror(errno));
    free(b);
    return rc;
}

#define CORRUPT(...) do { rc = qv_fail(err, QV_CORRUPT, "hnsw graph file: " __VA_ARGS__); goto fail; } while (0)

qv_status hnsw_load_buf(const uint8_t *b, size_t len, uint32_t max_capacity, hnsw **out, qv_error *err)
{
    *out = NULL;
    hnsw *g = NULL;
    qv_status rc;
    if (len < FILE_HEAD + 4 || memcmp(b, FILE_MAGIC, 8) != 0)
        return qv_fail(err, QV_CORRUPT, "hnsw graph file: not a graph file (bad magic or size)");
    if (qv_get_le32(b + 8) != FILE_VERSION)
        return qv_fail(err, QV_CORRUPT, "hnsw graph file: unknown version %u", qv_get_le32(b + 8));
    if (qv_crc32c(0, b, len - 4) != qv_get_le32(b + len - 4))
        return qv_fail(err, QV_CORRUPT, "hnsw graph file: checksum mismatch");
    hnsw_params p = {
        .m = qv_get_le32(b + 12), .ef_construct = qv_get_le32(b + 16),
        .metric = (dist_metric)qv_get_le32(b + 20), .dim = qv_get_le32(b + 24), .seed = qv_get_le64(b + 28),
    };
    uint32_t cap = qv_get_le32(b + 36), nodes = qv_get_le32(b + 40), entry = qv_get_le32(b + 44);
    uint32_t maxl = qv_get_le32(b + 48);
    if (qv_get_le32(b + 20) > DIST_MANHATTAN || p.m < 2 || p.m > HNSW_MAX_M || p.dim == 0)
        return qv_fail(err, QV_CORRUPT, "hnsw graph file: bad parameters");
    if (nodes > cap || (size_t)nodes * 8 > len || cap == NONE)
        return qv_fail(err, QV_CORRUPT, "hnsw graph file: bad node count");
    if (cap > max_capacity)  /* before allocating for it */
        return qv_fail(err, QV_CORRUPT, "hnsw graph file: capacity %u beyond %u", cap, max_capacity);
    rc = hnsw_new(&p, cap, &g, err);
    if (rc)
        return rc;
    /* Which slots are nodes, for the link check below: a bit each, which
     * stays in cache where the level-0 headers (4 + 8m bytes apart) do not. */
    uint64_t *in = calloc((size_t)cap / 64 + 1, sizeof *in);
    if (!in) {
        rc = qv_fail(err, QV_NOMEM, "hnsw: out of memory loading");
        goto fail;
    }
    const uint8_t *q = b + FILE_HEAD, *end = b + len - 4;
    int64_t prev = -1;
    for (uint32_t i = 0; i < nodes; i++) {
        if (end - q < 6)
            CORRUPT("truncated at node %u", i);
        uint32_t s = qv_get_le32(q);
        uint32_t level = q[4], flags = q[5];
        q += 6;
        if (s >= cap || (int64_t)s <= prev)
            CORRUPT("node %u: slot %u out of order or range", i, s);
        prev = s;
        if (level > HNSW_MAX_LEVEL || (flags & ~1u))
            CORRUPT("slot %u: bad level or flags", s);
        if (level) {
            size_t bytes = (size_t)level * g->stride_up * sizeof(uint32_t);
            if (!(g->upper[s] = calloc(1, bytes))) {
                rc = qv_fail(err, QV_NOMEM, "hnsw: out of memory loading");
                goto fail;
            }
            g->upper_bytes += bytes;
        }
        g->level[s] = (uint8_t)level;
        in[s >> 6] |= 1ull << (s & 63);
        uint32_t h = H_IN;
        if (flags & 1) {
            h |= H_DEAD;
            g->dead++;
        }
        for (uint32_t lev = 0; lev <= level; lev++) {
            if (end - q < 2)
                CORRUPT("slot %u: truncated", s);
            uint32_t n = qv_get_le16(q);
            q += 2;
            if (n > max_links(g, (int)lev) || (size_t)(end - q) < 4 * (size_t)n)
                CORRUPT("slot %u level %u: bad link count %u", s, lev, n);
            uint32_t *w = links(g, s, (int)lev);
            for (uint32_t j = 0; j < n; j++, q += 4) {
                w[1 + j] = qv_get_le32(q);
                if (w[1 + j] >= cap)
                    CORRUPT("slot %u: link beyond capacity", s);
            }
            w[0] = lev == 0 ? (h | n) : n;
        }
        g->count++;
    }
    if (q != end)
        CORRUPT("%zu bytes after the last node", (size_t)(end - q));
    /* Every link names a node that has the level it is linked at. */
    for (uint32_t s = 0; s < cap; s++) {
        if (!(in[s >> 6] >> (s & 63) & 1))
            continue;
        for (int lev = 0; lev <= g->level[s]; lev++) {
            const uint32_t *w = links(g, s, lev);
            uint32_t n = w[0] & H_COUNT;
            for (uint32_t j = 0; j < n; j++) {
                uint32_t t = w[1 + j];
                if (!(in[t >> 6] >> (t & 63) & 1) || g->level[t] < lev)
                    CORRUPT("slot %u links to slot %u, not a node of level %d", s, t, lev);
            }
        }
    }
    free(in);
    in = NULL;
    if (nodes == 0 ? entry != NONE
                   : (entry >= cap || !(g->l0[(size_t)entry * g->stride0] & H_IN) || g->level[entry] != maxl))
        CORRUPT("bad entry point");
    g->ep = nodes ? entry | (uint64_t)maxl << 32 : NONE;
    *out = g;
    return QV_OK;
fail:
    free(in);
    hnsw_free(g);
    return rc;
}

qv_status hnsw_load(const char *path, uint32_t max_capacity, hnsw **out, qv_error *err)
{
    char *b;
    size_t len;
    *out = NULL;
    if (qv_read_file(path, SIZE_MAX / 2, &b, &len) != 0)
        return qv_fail(err, QV_IO, "hnsw: cannot read %s: %s", path, strerror(errno));
    qv_status rc = hnsw_load_buf((const uint8_t *)b, len, max_capacity, out, err);
    free(b);
    return rc;
}
