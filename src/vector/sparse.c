/* sparse.c — the inverted index of one sparse column (sparse.h). */
#include "vector/sparse.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/hash.h"

typedef struct posting {
    uint32_t slot;
    float    val;
} posting;

/* One dimension's postings, sorted by slot. */
typedef struct plist {
    posting *p;
    uint32_t n, cap;
    uint32_t dim;
    uint32_t res;  /* RES_HELD: room reserved for an insert to come (never freed
                    * meanwhile); below it, what a reserve in progress counts */
    float    maxv, minv;  /* bounds of every value ever posted (bounds of what is there) */
} plist;

#define RES_HELD  0x80000000u
#define RES_COUNT 0x7fffffffu

struct sparse_index {
    plist    *lists;     /* by list number, in order of first appearance */
    uint32_t  n_lists, cap_lists;
    uint32_t *table;     /* open addressing: list number + 1, 0 = empty */
    uint32_t  mask;      /* table size - 1 (a power of two), 0 before the first */
    uint64_t  n_vectors;
    uint64_t  n_postings;
};

#define BATCH 4096u  /* slots scored together: the accumulator stays in L1 */

qv_status sparse_new(sparse_index **out, qv_error *err)
{
    if (!(*out = calloc(1, sizeof **out)))
        return qv_fail(err, QV_NOMEM, "out of memory");
    return QV_OK;
}

void sparse_free(sparse_index *x)
{
    if (!x)
        return;
    for (uint32_t i = 0; i < x->n_lists; i++)
        free(x->lists[i].p);
    free(x->lists);
    free(x->table);
    free(x);
}

static uint32_t bucket(uint32_t dim, uint32_t mask) { return (uint32_t)qv_hash_mix64(dim) & mask; }

static plist *find(const sparse_index *x, uint32_t dim)
{
    if (!x->table)
        return NULL;
    for (uint32_t i = bucket(dim, x->mask);; i = (i + 1) & x->mask) {
        uint32_t e = x->table[i];
        if (!e)
            return NULL;
        if (x->lists[e - 1].dim == dim)
            return &x->lists[e - 1];
    }
}

/* Room for one more list (heads and table at load <= 1/2). */
static qv_status room_for_list(sparse_index *x, qv_error *err)
{
    if (x->n_lists == x->cap_lists) {
        uint32_t cap = x->cap_lists ? x->cap_lists + x->cap_lists / 2 : 64;
        if (cap <= x->cap_lists)  /* 2^32 dimensions: u32 indices cannot have more */
            return qv_fail(err, QV_NOMEM, "out of memory (sparse index)");
        plist *l = realloc(x->lists, (size_t)cap * sizeof *l);
        if (!l)
            return qv_fail(err, QV_NOMEM, "out of memory (sparse index)");
        x->lists = l;
        x->cap_lists = cap;
    }
    if (!x->table || (uint64_t)(x->n_lists + 1) * 2 > (uint64_t)x->mask + 1) {
        uint64_t size = x->table ? ((uint64_t)x->mask + 1) * 2 : 128;
        if (size > (1ull << 32))
            return qv_fail(err, QV_NOMEM, "out of memory (sparse index)");
        uint32_t *t = calloc(size, sizeof *t), mask = (uint32_t)(size - 1);
        if (!t)
            return qv_fail(err, QV_NOMEM, "out of memory (sparse index)");
        for (uint32_t i = 0; i < x->n_lists; i++) {
            uint32_t b = bucket(x->lists[i].dim, mask);
            while (t[b])
                b = (b + 1) & mask;
            t[b] = i + 1;
        }
        free(x->table);
        x->table = t;
        x->mask = mask;
    }
    return QV_OK;
}

/* The list of dim, created empty when missing; NULL without memory. */
static plist *find_or_add(sparse_index *x, uint32_t dim, qv_error *err)
{
    plist *l = find(x, dim);
    if (l || room_for_list(x, err))
        return l;
    l = &x->lists[x->n_lists];
    *l = (plist){.dim = dim, .maxv = -INFINITY, .minv = INFINITY};
    uint32_t b = bucket(dim, x->mask);
    while (x->table[b])
        b = (b + 1) & x->mask;
    x->table[b] = ++x->n_lists;
    return l;
}

static bool grow(plist *l, uint32_t need)
{
    if (need <= l->cap)
        return true;
    uint64_t cap = (uint64_t)l->cap + l->cap / 2;
    if (cap < need)
        cap = need;
    if (cap < 4)
        cap = 4;
    if (cap > UINT32_MAX)
        return false;
    posting *p = realloc(l->p, (size_t)cap * sizeof *p);
    if (!p)
        return false;
    l->p = p;
    l->cap = (uint32_t)cap;
    return true;
}

qv_status sparse_reserve(sparse_index *x, size_t n, sparse_get_fn get, void *ctx, qv_error *err)
{
    qv_status rc = QV_OK;
    /* Count per list first (a dimension may come in many vectors), then
     * grow each list once; the counts go back to 0 whatever happens. */
    for (size_t i = 0; i < n && !rc; i++) {
        sparse_vec v = get(ctx, i);
        for (uint32_t j = 0; j < v.n; j++) {
            plist *l = find_or_add(x, v.idx[j], err);
            if (!l) {
                rc = QV_NOMEM;
                break;
            }
            if ((l->res & RES_COUNT) == RES_COUNT) {
                rc = qv_fail(err, QV_NOMEM, "out of memory (sparse index)");
                break;
            }
            l->res++;
        }
    }
    for (size_t i = 0; i < n; i++) {
        sparse_vec v = get(ctx, i);
        for (uint32_t j = 0; j < v.n; j++) {
            plist *l = find(x, v.idx[j]);
            uint32_t count = l ? l->res & RES_COUNT : 0;
            if (!count)
                continue;
            if (!rc && ((uint64_t)l->n + count > UINT32_MAX || !grow(l, l->n + count)))
                rc = qv_fail(err, QV_NOMEM, "out of memory (sparse index)");
            l->res = RES_HELD;
        }
    }
    return rc;
}

/* First position in [lo, hi) of l whose slot is >= slot (hi if none). */
static uint32_t lower_bound_in(const plist *l, uint32_t lo, uint32_t hi, uint32_t slot)
{
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (l->p[mid].slot < slot)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void sparse_remove(sparse_index *x, uint32_t slot, sparse_vec v)
{
    bool any = false;
    for (uint32_t j = 0; j < v.n; j++) {
        plist *l = find(x, v.idx[j]);
        if (!l)
            continue;
        uint32_t at = lower_bound_in(l, 0, l->n, slot);
        if (at == l->n || l->p[at].slot != slot)
            continue;
        memmove(l->p + at, l->p + at + 1, (size_t)(l->n - at - 1) * sizeof *l->p);
        l->n--;
        x->n_postings--;
        any = true;
        if (l->n == 0 && !(l->res & RES_HELD)) {  /* give the memory back; the head stays */
            free(l->p);
            l->p = NULL;
            l->cap = 0;
        }
    }
    if (any)
        x->n_vectors--;
}

void sparse_insert(sparse_index *x, uint32_t slot, sparse_vec v)
{
    for (uint32_t j = 0; j < v.n; j++) {
        plist *l = find(x, v.idx[j]);  /* reserved: exists, with room */
        l->res = 0;                     /* the room is taken */
        l->maxv = fmaxf(l->maxv, v.val[j]);
        l->minv = fminf(l->minv, v.val[j]);
        uint32_t at = l->n && l->p[l->n - 1].slot < slot ? l->n : lower_bound_in(l, 0, l->n, slot);
        if (at < l->n && l->p[at].slot == slot) {  /* never after a remove; kept exact anyway */
            l->p[at].val = v.val[j];
            continue;
        }
        memmove(l->p + at + 1, l->p + at, (size_t)(l->n - at) * sizeof *l->p);
        l->p[at] = (posting){slot, v.val[j]};
        l->n++;
        x->n_postings++;
    }
    if (v.n)
        x->n_vectors++;
}

uint64_t sparse_count(const sparse_index *x) { return x->n_vectors; }

uint32_t sparse_df(const sparse_index *x, uint32_t dim)
{
    const plist *l = find(x, dim);
    return l ? l->n : 0;
}

uint32_t sparse_df_among(const sparse_index *x, uint32_t dim, const uint64_t *bits)
{
    const plist *l = find(x, dim);
    uint32_t n = 0;
    for (uint32_t k = 0; l && k < l->n; k++)
        n += (uint32_t)(bits[l->p[k].slot >> 6] >> (l->p[k].slot & 63) & 1);
    return n;
}

uint64_t sparse_postings(const sparse_index *x) { return x->n_postings; }

size_t sparse_memory(const sparse_index *x)
{
    size_t b = sizeof *x + (size_t)x->cap_lists * sizeof *x->lists + (x->table ? ((size_t)x->mask + 1) * 4 : 0);
    for (uint32_t i = 0; i < x->n_lists; i++)
        b += (size_t)x->lists[i].cap * sizeof(posting);
    return b;
}

float sparse_idf(uint64_t n, uint32_t df)
{
    float fn = (float)n, fd = (float)df;
    return logf((fn - fd + 0.5f) / (fd + 0.5f) + 1.0f);
}

/* ---- search ----------------------------------------------------------------------- */

typedef struct cursor {
    const plist *l;
    uint32_t     at, end;
    float        w;
    float        ub;   /* the most one posting adds: w·max or w·min (w < 0), a float product */
    float        ab;   /* the largest magnitude one posting adds */
    bool         ess;  /* essential: its postings make candidates (else only looked up) */
} cursor;

typedef struct bound_key {
    float    ub;
    uint32_t i;
} bound_key;

static int bound_cmp(const void *x, const void *y)
{
    const bound_key *a = x, *b = y;
    return (a->ub > b->ub) - (a->ub < b->ub);
}

/* First position at or after from whose slot is >= slot (galloping). */
static uint32_t seek(const plist *l, uint32_t from, uint32_t slot)
{
    uint32_t lo = from, step = 1, hi = from;
    while (hi < l->n && l->p[hi].slot < slot) {
        lo = hi + 1;
        hi += step;
        step *= 2;
    }
    return lower_bound_in(l, lo, hi < l->n ? hi : l->n, slot);
}

/*
 * MaxScore pruning: once the top-k is full (or a threshold is set), the
 * weakest lists whose bounds together cannot beat the score to beat, θ,
 * become non-essential: a slot found only in them cannot enter, so they
 * only add to the slots the essential lists found. The bound is the sum of
 * max(ub, 0) plus the largest rounding error a float sum of the query's
 * products can make (2·(n+1)·FLT_EPSILON·Σ ab), in double: a slot left out
 * is certainly below θ, so the answer is the exhaustive one, bit for bit.
 * Returns the essential lists (0: no slot can enter any more).
 */
static uint32_t mark_essential(cursor *c, uint32_t nc, double theta, bound_key *keys)
{
    for (uint32_t i = 0; i < nc; i++) {
        keys[i] = (bound_key){fmaxf(c[i].ub, 0.0f), i};
        c[i].ess = true;
    }
    qsort(keys, nc, sizeof *keys, bound_cmp);
    double sum = 0, mag = 0, gamma = 2.0 * (nc + 1) * FLT_EPSILON;
    uint32_t n_ess = nc;
    for (uint32_t j = 0; j < nc; j++) {
        double s2 = sum + keys[j].ub, m2 = mag + c[keys[j].i].ab;
        if (!(s2 + gamma * m2 < theta))
            break;
        sum = s2;
        mag = m2;
        c[keys[j].i].ess = false;
        n_ess--;
    }
    return n_ess;
}

qv_status sparse_search(const sparse_index *x, sparse_vec q, const sparse_filter *f, topk *t, qv_error *err)
{
    if (q.n == 0 || t->k == 0)
        return QV_OK;
    cursor *c = malloc((size_t)q.n * sizeof *c);
    bound_key *keys = malloc((size_t)q.n * sizeof *keys);
    float *acc = malloc(BATCH * sizeof *acc);
    uint64_t *hit = calloc(BATCH / 64, sizeof *hit);
    if (!c || !keys || !acc || !hit) {
        free(c);
        free(keys);
        free(acc);
        free(hit);
        return qv_fail(err, QV_NOMEM, "out of memory");
    }
    /* Cursors in query order, which is index order: per slot, the products
     * are added in increasing index order. */
    uint32_t nc = 0;
    for (uint32_t i = 0; i < q.n; i++) {
        const plist *l = find(x, q.idx[i]);
        if (!l || !l->n)
            continue;
        float w = q.val[i], ub = w < 0 ? w * l->minv : w * l->maxv;
        float ab = fmaxf(fabsf(w * l->minv), fabsf(w * l->maxv));
        c[nc++] = (cursor){.l = l, .w = w, .ub = ub, .ab = ab, .ess = true};
    }
    double theta = -INFINITY;  /* the score to beat when the essential lists were chosen */
    uint32_t n_ess = nc;
    while (nc) {
        double now = f && f->has_threshold ? f->threshold : -INFINITY;
        if (topk_full(t) && -(double)topk_worst(t) > now)
            now = -(double)topk_worst(t);
        if (now > theta) {
            theta = now;
            if ((n_ess = mark_essential(c, nc, theta, keys)) == 0)
                break;  /* nothing left can beat what is kept */
        }
        uint32_t lo = UINT32_MAX;
        for (uint32_t i = 0; i < nc; i++)
            if (c[i].ess && c[i].at < c[i].l->n && c[i].l->p[c[i].at].slot < lo)
                lo = c[i].l->p[c[i].at].slot;
        if (lo == UINT32_MAX)
            break;  /* the essential lists are done */
        lo -= lo % BATCH;  /* aligned batches: the hit words map straight to slots */
        uint64_t hi = (uint64_t)lo + BATCH;
        memset(acc, 0, BATCH * sizeof *acc);  /* 16 KB: cheaper than a branch per posting */
        if (n_ess < nc)  /* the candidates first: what the essential lists hold */
            for (uint32_t i = 0; i < nc; i++) {
                if (!c[i].ess)
                    continue;
                const posting *p = c[i].l->p;
                uint32_t at = c[i].at, n = c[i].l->n;
                for (; at < n && p[at].slot < hi; at++) {
                    uint32_t k = p[at].slot - lo;
                    hit[k >> 6] |= 1ull << (k & 63);
                }
                c[i].end = at;
            }
        uint32_t n_hits = 0;
        if (n_ess < nc)
            for (uint32_t wd = 0; wd < BATCH / 64; wd++)
                n_hits += (uint32_t)__builtin_popcountll(hit[wd]);
        for (uint32_t i = 0; i < nc; i++) {
            const posting *p = c[i].l->p;
            uint32_t at = c[i].at, n = c[i].l->n;
            float w = c[i].w;
            if (n_ess == nc) {
                for (; at < n && p[at].slot < hi; at++) {
                    uint32_t k = p[at].slot - lo;
                    hit[k >> 6] |= 1ull << (k & 63);
                    acc[k] += p[at].val * w;
                }
            } else if (c[i].ess) {
                for (; at < c[i].end; at++)
                    acc[p[at].slot - lo] += p[at].val * w;
            } else {  /* added to the candidates only: looked up when they are */
                uint32_t end = hi > UINT32_MAX ? n : seek(c[i].l, at, (uint32_t)hi);  /* few, else walked */
                if ((uint64_t)n_hits * 16 < end - at) {
                    for (uint32_t wd = 0; wd < BATCH / 64 && at < end; wd++)
                        for (uint64_t bits = hit[wd]; bits && at < end; bits &= bits - 1) {
                            uint32_t k = wd * 64 + (uint32_t)__builtin_ctzll(bits);
                            at = seek(c[i].l, at, lo + k);
                            if (at < end && p[at].slot == lo + k)
                                acc[k] += p[at].val * w;
                        }
                } else {
                    for (; at < end; at++) {
                        uint32_t k = p[at].slot - lo;
                        if (hit[k >> 6] >> (k & 63) & 1)
                            acc[k] += p[at].val * w;
                    }
                }
                at = end;
            }
            c[i].at = at;
        }
        for (uint32_t wd = 0; wd < BATCH / 64; wd++) {
            uint64_t bits = hit[wd];
            hit[wd] = 0;
            while (bits) {
                uint32_t k = wd * 64 + (uint32_t)__builtin_ctzll(bits);
                bits &= bits - 1;
                float score = acc[k];
                if (f && f->has_threshold && !(score > f->threshold))
                    continue;
                if (-score > topk_worst(t))  /* cannot enter: skip the filter */
                    continue;
                uint32_t slot = lo + k;
                if (f && f->allow && !f->allow(f->ctx, slot))
                    continue;
                topk_push(t, -score, slot);
            }
        }
        /* Drop the exhausted cursors, keeping index order; the bounds'
         * order changes with them. */
        uint32_t m = 0;
        for (uint32_t i = 0; i < nc; i++)
            if (c[i].at < c[i].l->n)
                c[m++] = c[i];
        if (m < nc)
            theta = -INFINITY;
        nc = m;
    }
    free(c);
    free(keys);
    free(acc);
    free(hit);
    return QV_OK;
}

void sparse_mark(const sparse_index *x, const sparse_vec *qs, size_t n, uint64_t *bits)
{
    for (size_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < qs[i].n; j++) {
            const plist *l = find(x, qs[i].idx[j]);
            for (uint32_t k = 0; l && k < l->n; k++)
                bits[l->p[k].slot >> 6] |= 1ull << (l->p[k].slot & 63);
        }
}

/* ---- sorting ---------------------------------------------------------------------- */

bool sparse_sort(uint32_t *idx, float *val, uint32_t n, uint32_t *tmp)
{
    if (!sparse_sorted(idx, n)) {
        /* LSD radix sort of the pairs, 4 passes of 8 bits, ping-ponging
         * between the caller's arrays and tmp (ends where it began). */
        uint32_t *si = idx, *sv = (uint32_t *)val, *di = tmp, *dv = tmp + n;
        for (uint32_t bit = 0; bit < 32; bit += 8) {
            uint32_t count[257] = {0};
            for (uint32_t i = 0; i < n; i++)
                count[((si[i] >> bit) & 0xff) + 1]++;
            for (int i = 0; i < 256; i++)
                count[i + 1] += count[i];
            for (uint32_t i = 0; i < n; i++) {
                uint32_t at = count[(si[i] >> bit) & 0xff]++;
                di[at] = si[i];
                dv[at] = sv[i];
            }
            uint32_t *a = si, *b = sv;
            si = di, sv = dv, di = a, dv = b;
        }
    }
    for (uint32_t i = 1; i < n; i++)
        if (idx[i] == idx[i - 1])
            return false;
    return true;
}
