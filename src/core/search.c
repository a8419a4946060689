/*
 * search.c — nearest neighbours: POST /points/search, /points/search/batch,
 * /points/query and /points/query/batch (quiver.h).
 *
 * Every request is parsed whole into sr_query values first (vectors
 * checked, Cosine queries normalized as stored vectors are; examples given
 * by id copied, from the lookup_from collection when there is one), then
 * run under the collection's read lock. Dense nearest queries walk the HNSW
 * graph when there is one (vindex.h; else every point with the vector is
 * scored with the start-up kernels, vector/dist.h); sparse queries walk the
 * posting lists of the query's indices (core/sindex.h), or score the
 * matching points exactly when a payload index says they are few. Hits go
 * through a bounded top-k of limit + offset whose ties break by point id,
 * so an exact answer equals a brute-force sort by (score, id).
 * A query over prefetches fuses (rrf, dbsf) or rescores what they found;
 * order_by walks a payload index, sample draws at random, mmr reranks the
 * nearest candidates.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "core/db.h"
#include "core/internal.h"
#include "core/plan.h"
#include "core/sindex.h"
#include "core/vindex.h"
#include "core/read.h"
#include "index/idtree.h"
#include "json/jtree.h"
#include "payload/pl.h"
#include "util/bitset.h"
#include "util/hash.h"
#include "vector/dist.h"
#include "vector/sparse.h"
#include "vector/topk.h"

#define QUERY_DEFAULT_LIMIT 10
#define SEARCH_MAX_BATCH    1024   /* searches in one batch request */
#define SEARCH_MAX_LIMIT    (1u << 20)

/* Lookup table of a sparse query vector's indices (open addressing). */
typedef struct sp_table {
    uint32_t *key;      /* UINT32_MAX = empty; that index itself lives in max_val */
    float    *val;
    uint32_t  mask;
    bool      has_max;  /* index UINT32_MAX is in the vector */
    float     max_val;
} sp_table;

/* One query or example vector of the query's column. */
typedef struct sr_vec {
    float    *v;    /* dense: dim floats */
    uint32_t *idx;  /* sparse: nnz indices and values */
    float    *val;
    uint32_t  nnz;
    sp_table  t;    /* sparse: built before the scan */
} sr_vec;

typedef enum sr_mode {
    SQ_NONE,        /* no query: points in id order */
    SQ_NEAREST,     /* target; also recommend's average_vector */
    SQ_BEST_SCORE,  /* recommend best_score over pos / neg */
    SQ_SUM_SCORES,  /* recommend sum_scores */
    SQ_DISCOVER,    /* target + pairs (pos[i], neg[i]) */
    SQ_CONTEXT,     /* pairs only */
    SQ_FUSION,      /* rrf / dbsf over the prefetches' results */
    SQ_ORDER_BY,    /* payload order (a range-capable index), score 1 */
    SQ_SAMPLE,      /* random points, score 1 */
} sr_mode;

enum { SR_RRF = 1, SR_DBSF = 2 };
#define SR_DEFAULT_RRF_K 2     /* Qdrant's */
#define SR_MAX_DEPTH     8     /* nested prefetch levels */

#define SR_MAX_EXAMPLES 4096  /* examples (ids or vectors) in one query */
#define SR_MMR_DEFAULT_LAMBDA 0.5f
#define SR_MMR_MAX_CANDIDATES 16384  /* Qdrant's bound on mmr.candidates_limit */

typedef struct sr_query {
    sr_mode      mode;
    bool         sparse;     /* the column is sparse */
    uint32_t     col;        /* dense or sparse column index */
    dist_metric  metric;     /* dense only */
    uint32_t     dim;
    sr_vec       target;
    sr_vec      *pos, *neg;  /* examples; pairs when n_pos == n_neg in DISCOVER/CONTEXT */
    uint32_t     n_pos, n_neg;
    uint32_t    *exclude;    /* slots of the examples given by id: left out, as Qdrant does */
    uint32_t     n_exclude;
    flt_filter  *filter;
    const jr_value *filter_src;  /* the filter as given: its text keys the planner's cache */
    uint64_t     limit, offset;
    bool         has_threshold;
    float        threshold;
    uint32_t     hnsw_ef;    /* params.hnsw_ef (0 = ef_construct) */
    bool         exact;      /* params.exact */
    rd_select    sel;
    struct sr_query *pre;    /* query: prefetches, whose results this one fuses or rescores */
    uint32_t     n_pre;
    const struct sr_query *parent;  /* the enclosing query: its filter applies here too */
    int          fusion;     /* SR_RRF / SR_DBSF */
    uint32_t     rrf_k;
    float       *weights;    /* rrf weights, one per prefetch, or NULL */
    bool         prepared;   /* sparse: vectors sorted by index and idf-weighted (sparse_prepare) */
    flt_filter  *idf_corpus; /* params.idf.corpus: idf statistics over its points only (NULL: all) */
    pl_path      group_by;   /* groups requests: the payload key */
    uint64_t     group_size;
    bool         mmr;        /* nearest with mmr: rerank mmr_cand candidates */
    float        mmr_lambda; /* relevance weight, 1 - diversity */
    uint64_t     mmr_cand;
    rd_order     order;      /* SQ_ORDER_BY */
    bool         need_vec;   /* only points holding the column's vector (search/matrix) */
    qv_collection *wl;       /* groups' with_lookup collection (held by the request), or NULL */
    rd_select    wl_sel;     /* what its records show */
} sr_query;

typedef topk_item sr_hit;  /* order (smaller = better), slot */

typedef struct sr_list {
    sr_hit     *h;   /* best first, malloc'd */
    fidx_value *ov;  /* SQ_ORDER_BY: each hit's order value (malloc'd), else NULL */
    size_t      n;
} sr_list;

/* Where the examples given by id are read (lookup_from): the collection
 * and vector name; another collection is read-locked once per request and
 * its ids are not left out of the results (as in Qdrant). */
typedef struct sr_lookup {
    const char    *coll;   /* lookup_from.collection, or NULL: this collection */
    const char    *vname;  /* lookup_from.vector, else the query's `using` */
    qv_collection *c;      /* resolved at the first id (Qdrant looks it up only then) */
} sr_lookup;

/* A collection a request names for lookups, acquired before the request
 * locks its own collection (see hold_lookups) and read-locked at its first
 * use. */
typedef struct sr_held {
    const char     *name;    /* as the request names it */
    qv_collection  *c;
    bool            locked;  /* its point lock is held (never for the request's own) */
    struct sr_held *next;
} sr_held;

/* What parsing needs: the collection (read lock held), the arena, the error. */
typedef struct sr_ctx {
    qv_db         *db;
    qv_collection *c;
    qv_arena      *a;
    qv_error      *err;
    sr_lookup      lk;    /* of the query being parsed */
    sr_held       *held;  /* other collections read-locked for lookups */
} sr_ctx;

/* ---- parsing ---------------------------------------------------------------------- */

static qv_status bad_type(qv_error *err, const char *field, const char *want)
{
    return qv_fail(err, QV_BAD_FORMAT, "%s: invalid type, expected %s", field, want);
}

static qv_status no_vector_name(qv_error *err, const char *name)
{
    return qv_fail(err, QV_BAD_INPUT, "Not existing vector name error: %s", name);
}

static qv_status oom(qv_error *err) { return qv_fail(err, QV_NOMEM, "out of memory"); }

/* Point the query at the column called name. */
static qv_status use_column(const cfg_collection *cfg, const char *name, sr_query *q, qv_error *err)
{
    for (uint32_t v = 0; v < cfg->n_vectors; v++)
        if (strcmp(cfg->vectors[v].name, name) == 0) {
            q->sparse = false;
            q->col = v;
            q->metric = (dist_metric)cfg->vectors[v].distance;
            q->dim = cfg->vectors[v].size;
            return QV_OK;
        }
    int sp = cfg_find_sparse(cfg, name);
    if (sp < 0)
        return no_vector_name(err, name);
    q->sparse = true;
    q->col = (uint32_t)sp;
    return QV_OK;
}

static bool sp_lookup(const sp_table *t, uint32_t k, float *v)
{
    if (k == UINT32_MAX) {
        *v = t->max_val;
        return t->has_max;
    }
    for (uint32_t i = (k * 2654435761u) & t->mask;; i = (i + 1) & t->mask) {
        if (t->key[i] == UINT32_MAX)
            return false;
        if (t->key[i] == k) {
            *v = t->val[i];
            return true;
        }
    }
}

/* An empty table with room for n indices (load at most 1/2). */
static qv_status sp_init(qv_arena *a, size_t n, sp_table *t, qv_error *err)
{
    size_t cap = 4;
    while (cap < n * 2)
        cap *= 2;
    *t = (sp_table){.key = qv_arena_alloc(a, cap * 4), .val = qv_arena_calloc(a, cap, 4), .mask = (uint32_t)(cap - 1)};
    if (!t->key || !t->val)
        return oom(err);
    memset(t->key, 0xff, cap * 4);
    return QV_OK;
}

/* The value cell of index k, added (0) when new; *added says whether. */
static float *sp_cell(sp_table *t, uint32_t k, bool *added)
{
    if (k == UINT32_MAX) {
        *added = !t->has_max;
        t->has_max = true;
        return &t->max_val;
    }
    uint32_t i = (k * 2654435761u) & t->mask;
    while (t->key[i] != UINT32_MAX && t->key[i] != k)
        i = (i + 1) & t->mask;
    *added = t->key[i] == UINT32_MAX;
    t->key[i] = k;
    return &t->val[i];
}

/* The lookup table of a sparse vector whose indices are unique (a query's
 * were checked by ops_parse_sparse, a stored one's when written). O(nnz). */
static qv_status sp_build(qv_arena *a, sr_vec *e, qv_error *err)
{
    qv_status rc = sp_init(a, e->nnz, &e->t, err);
    bool added;
    for (uint32_t i = 0; !rc && i < e->nnz; i++)
        *sp_cell(&e->t, e->idx[i], &added) = e->val[i];
    return rc;
}

/* A vector given in the request: a list of floats for a dense column,
 * {indices, values} for a sparse one. Not normalized. */
static qv_status vector_value(sr_ctx *x, const sr_query *q, const char *name, const jr_value *v, sr_vec *out)
{
    qv_error *err = x->err;
    *out = (sr_vec){0};
    if (!q->sparse) {
        if (v->type == JR_OBJECT && jr_get(v, "indices"))
            return qv_fail(err, QV_BAD_INPUT,
                           "Conversion between sparse and regular vectors failed: `%s` is a dense vector", name);
        if (v->type != JR_ARRAY)
            return bad_type(err, "vector", "a list of floats");
        if (v->len > 0 && v->u.items[0].type == JR_ARRAY)
            return qv_fail(err, QV_UNSUPPORTED, "multivectors are not supported by Quiver yet");
        if (v->len != q->dim)
            return qv_fail(err, QV_BAD_INPUT, "Vector dimension error: expected dim: %u, got %u", q->dim, v->len);
        if (!(out->v = qv_arena_alloc(x->a, (size_t)q->dim * sizeof *out->v)))
            return oom(err);
        for (uint32_t i = 0; i < v->len; i++)
            if (!jr_get_f32(&v->u.items[i], &out->v[i]))
                return qv_fail(err, QV_BAD_FORMAT, "vector[%u]: invalid type, expected f32", i);
        return QV_OK;
    }
    if (v->type == JR_ARRAY)
        return qv_fail(err, QV_BAD_INPUT,
                       "Conversion between sparse and regular vectors failed: `%s` is a sparse vector", name);
    if (v->type != JR_OBJECT)
        return bad_type(err, "vector", "a sparse vector");
    const jr_value *ix = jr_get(v, "indices"), *vs = jr_get(v, "values");
    if (!jr_is(ix, JR_ARRAY) || !jr_is(vs, JR_ARRAY))
        return qv_fail(err, QV_BAD_FORMAT, "vector: missing field `%s`", jr_is(ix, JR_ARRAY) ? "values" : "indices");
    qv_status rc = ops_parse_sparse(x->a, ix, vs, "vector", "vector", &out->idx, &out->val, &out->nnz, err);
    return rc ? rc : sp_build(x->a, out, err);
}

static bool excluded(const sr_query *q, uint32_t slot)
{
    for (uint32_t i = 0; i < q->n_exclude; i++)
        if (q->exclude[i] == slot)
            return true;
    return false;
}

/*
 * The collections a request's lookup_from and with_lookup name, acquired
 * while it holds no point lock: cat_acquire takes the catalog lock, and a
 * collection DELETE holds that lock while it waits for the collection's
 * writer, which may wait for this request's read lock on its points. Names
 * that name nothing are skipped here: Qdrant fails on them only where a
 * lookup needs them. Walks the request and its nested prefetches.
 */
static qv_status hold_lookups(sr_ctx *x, const jr_value *req, int depth)
{
    if (!jr_is(req, JR_OBJECT) || depth > SR_MAX_DEPTH)
        return QV_OK;
    const jr_value *names[2] = {jr_get(req, "lookup_from"), jr_get(req, "with_lookup")};
    for (int i = 0; i < 2; i++) {
        const jr_value *n = jr_is(names[i], JR_OBJECT) ? jr_get(names[i], "collection") : names[i];
        if (!jr_is(n, JR_STRING) || strlen(n->u.str) != n->len)
            continue;
        bool have = false;
        for (sr_held *h = x->held; h && !have; h = h->next)
            have = strcmp(h->name, n->u.str) == 0;
        qv_collection *oc;
        qv_error ignored;
        if (have || cat_acquire(x->db, n->u.str, &oc, &ignored))
            continue;
        sr_held *h = qv_arena_alloc(x->a, sizeof *h);
        if (!h) {
            cat_release(oc);
            return oom(x->err);
        }
        *h = (sr_held){.name = n->u.str, .c = oc, .next = x->held};
        x->held = h;
    }
    const jr_value *pf = jr_get(req, "prefetch");
    for (uint32_t i = 0; jr_is(pf, JR_ARRAY) && i < pf->len; i++) {
        qv_status rc = hold_lookups(x, &pf->u.items[i], depth + 1);
        if (rc)
            return rc;
    }
    return jr_is(pf, JR_OBJECT) ? hold_lookups(x, pf, depth + 1) : QV_OK;
}

/* The collection examples given by id come from: this one, or the
 * lookup_from collection held by hold_lookups, read-locked at its first use
 * (to the end of the request). Only the point lock is taken: a vector DDL
 * swaps the schema under it too, and unlike vlock it prefers readers, so
 * two requests looking up each other's collections cannot deadlock behind
 * a waiting DDL. */
static qv_status lookup_collection(sr_ctx *x, qv_collection **out)
{
    if (x->lk.c) {
        *out = x->lk.c;
        return QV_OK;
    }
    if (!x->lk.coll) {
        *out = x->lk.c = x->c;
        return QV_OK;
    }
    sr_held *h = x->held;
    while (h && strcmp(h->name, x->lk.coll) != 0)
        h = h->next;
    if (!h)
        return qv_fail(x->err, QV_NOT_FOUND, "Collection %.200s not found", x->lk.coll);
    if (h->c != x->c && !h->locked) {  /* this one is read-locked already */
        pthread_rwlock_rdlock(&h->c->lock);
        h->locked = true;
    }
    *out = x->lk.c = h->c;
    return QV_OK;
}

/* Copy the stored sparse vector sv into out, with its lookup table. */
static qv_status stored_sparse(qv_arena *a, const st_sparse_vec *sv, sr_vec *out, qv_error *err)
{
    *out = (sr_vec){0};
    out->idx = qv_arena_alloc(a, (size_t)(sv->n ? sv->n : 1) * 4);
    out->val = qv_arena_alloc(a, (size_t)(sv->n ? sv->n : 1) * 4);
    if (!out->idx || !out->val)
        return oom(err);
    memcpy(out->idx, sv->data, (size_t)sv->n * 4);
    memcpy(out->val, sv->data + sv->n, (size_t)sv->n * 4);
    out->nnz = sv->n;
    return sp_build(a, out, err);
}

/* An example: a point id (its stored vector, from the lookup collection
 * when there is one; a point of this collection is left out of the
 * results) or a vector. */
static qv_status example(sr_ctx *x, sr_query *q, const char *name, const jr_value *v, sr_vec *out)
{
    if (v->type == JR_ARRAY || v->type == JR_OBJECT)
        return vector_value(x, q, name, v, out);
    qv_point_id id;
    if (!pid_from_json(v, &id))
        return bad_type(x->err, "example", "a point id or a vector");
    qv_collection *lc = NULL;
    qv_status rc = lookup_collection(x, &lc);
    if (rc)
        return rc;
    const store *s = &lc->st;
    const char *vname = x->lk.vname ? x->lk.vname : name;
    char ids[PID_TEXT_MAX];
    pid_format(&id, ids);
    int64_t slot = store_find(s, &id);
    if (slot < 0)
        return qv_fail(x->err, QV_NOT_FOUND, "No point with id %s found", ids);
    /* The column of that name there (here it may differ from `using`). */
    sr_query at = {0};
    if ((rc = use_column(&lc->schema, vname, &at, x->err)))
        return rc;
    if (at.sparse != q->sparse)
        return qv_fail(x->err, QV_BAD_INPUT, "Conversion between sparse and regular vectors failed");
    *out = (sr_vec){0};
    if (!q->sparse) {
        if (!store_has_dense(s, at.col, (uint32_t)slot))
            return qv_fail(x->err, QV_BAD_INPUT, "Vector of point %s is not found: %s", ids, vname);
        if (at.dim != q->dim)
            return qv_fail(x->err, QV_BAD_INPUT, "Vector dimension error: expected dim: %u, got %u", q->dim, at.dim);
        if (!(out->v = qv_arena_alloc(x->a, (size_t)q->dim * sizeof *out->v)))
            return oom(x->err);
        memcpy(out->v, store_dense(s, at.col, (uint32_t)slot), (size_t)q->dim * sizeof *out->v);
    } else {
        const st_sparse_vec *sv = s->sparse[at.col][slot];
        if (!sv)
            return qv_fail(x->err, QV_BAD_INPUT, "Vector of point %s is not found: %s", ids, vname);
        if ((rc = stored_sparse(x->a, sv, out, x->err)))
            return rc;
    }
    if (lc != x->c)  /* another collection's ids name nothing here */
        return QV_OK;
    if (!q->exclude && !(q->exclude = qv_arena_alloc(x->a, SR_MAX_EXAMPLES * sizeof *q->exclude)))
        return oom(x->err);
    if (!excluded(q, (uint32_t)slot)) {
        if (q->n_exclude >= SR_MAX_EXAMPLES)
            return qv_fail(x->err, QV_VALIDATION, "at most %d examples", SR_MAX_EXAMPLES);
        q->exclude[q->n_exclude++] = (uint32_t)slot;
    }
    return QV_OK;
}

/* lookup_from {collection, vector} of a request, for the examples parsed
 * after it; absent: this collection and `using`. */
static qv_status lookup_from(sr_ctx *x, const jr_value *req)
{
    const jr_value *lf = jr_get(req, "lookup_from");
    x->lk = (sr_lookup){0};
    if (jr_is_null(lf))
        return QV_OK;
    if (lf->type != JR_OBJECT)
        return bad_type(x->err, "lookup_from", "a LookupLocation object");
    qv_status rc = QV_NO_DUP(lf, "lookup_from", x->err, "collection", "vector", "shard_key");
    if (rc)
        return rc;
    const jr_value *coll = jr_get(lf, "collection"), *vec = jr_get(lf, "vector");
    if (!coll)
        return qv_fail(x->err, QV_BAD_FORMAT, "lookup_from: missing field `collection`");
    if (!jr_is(coll, JR_STRING))
        return bad_type(x->err, "lookup_from.collection", "a string");
    if (!jr_is_null(vec) && !jr_is(vec, JR_STRING))
        return bad_type(x->err, "lookup_from.vector", "a string");
    if (strlen(coll->u.str) != coll->len)  /* a NUL would name another collection */
        return qv_fail(x->err, QV_NOT_FOUND, "Collection %.200s not found", coll->u.str);
    x->lk.coll = coll->u.str;
    x->lk.vname = jr_is(vec, JR_STRING) ? vec->u.str : NULL;
    return QV_OK;
}

/* A list of examples (absent or null = none). */
static qv_status examples(sr_ctx *x, sr_query *q, const char *name, const jr_value *list, const char *field,
                          sr_vec **out, uint32_t *n)
{
    *out = NULL;
    *n = 0;
    if (jr_is_null(list))
        return QV_OK;
    if (list->type != JR_ARRAY)
        return bad_type(x->err, field, "a sequence");
    if (list->len > SR_MAX_EXAMPLES)
        return qv_fail(x->err, QV_VALIDATION, "%s: at most %d examples", field, SR_MAX_EXAMPLES);
    if (!(*out = qv_arena_alloc(x->a, (size_t)(list->len ? list->len : 1) * sizeof **out)))
        return oom(x->err);
    for (uint32_t i = 0; i < list->len; i++) {
        qv_status rc = example(x, q, name, &list->u.items[i], &(*out)[i]);
        if (rc)
            return rc;
    }
    *n = list->len;
    return QV_OK;
}

/* Context pairs [{positive, negative}, ...] (or one pair) into pos/neg. */
static qv_status pairs(sr_ctx *x, sr_query *q, const char *name, const jr_value *v, bool one_ok)
{
    uint32_t n = v->type == JR_ARRAY ? v->len : 1;
    if (v->type != JR_ARRAY && !(one_ok && v->type == JR_OBJECT))
        return bad_type(x->err, "context", "a sequence of context pairs");
    if (n > SR_MAX_EXAMPLES)
        return qv_fail(x->err, QV_VALIDATION, "context: at most %d pairs", SR_MAX_EXAMPLES);
    q->pos = qv_arena_alloc(x->a, (size_t)(n ? n : 1) * sizeof *q->pos);
    q->neg = qv_arena_alloc(x->a, (size_t)(n ? n : 1) * sizeof *q->neg);
    if (!q->pos || !q->neg)
        return oom(x->err);
    for (uint32_t i = 0; i < n; i++) {
        const jr_value *p = v->type == JR_ARRAY ? &v->u.items[i] : v;
        if (p->type != JR_OBJECT)
            return bad_type(x->err, "context pair", "a ContextPair object");
        const jr_value *pv = jr_get(p, "positive"), *nv = jr_get(p, "negative");
        if (!pv || !nv)
            return qv_fail(x->err, QV_BAD_FORMAT, "context pair: missing field `%s`", pv ? "negative" : "positive");
        qv_status rc;
        if ((rc = example(x, q, name, pv, &q->pos[i])) || (rc = example(x, q, name, nv, &q->neg[i])))
            return rc;
    }
    q->n_pos = q->n_neg = n;
    return QV_OK;
}

/* recommend's average_vector: avg(pos) when there are no negatives, else
 * avg(pos) + (avg(pos) - avg(neg)) (Qdrant's formula), as the target. */
static qv_status average(sr_ctx *x, sr_query *q)
{
    if (q->n_pos == 0)
        return qv_fail(x->err, QV_BAD_INPUT, "Positive vectors should not be empty with `average` strategy");
    float wp = (q->n_neg ? 2.0f : 1.0f) / (float)q->n_pos, wn = q->n_neg ? -1.0f / (float)q->n_neg : 0;
    if (!q->sparse) {
        double *acc = qv_arena_alloc(x->a, (size_t)q->dim * sizeof *acc);
        float *t = qv_arena_alloc(x->a, (size_t)q->dim * sizeof *t);
        if (!acc || !t)
            return oom(x->err);
        memset(acc, 0, (size_t)q->dim * sizeof *acc);
        for (uint32_t i = 0; i < q->n_pos; i++)
            for (uint32_t d = 0; d < q->dim; d++)
                acc[d] += (double)q->pos[i].v[d] * wp;
        for (uint32_t i = 0; i < q->n_neg; i++)
            for (uint32_t d = 0; d < q->dim; d++)
                acc[d] += (double)q->neg[i].v[d] * wn;
        for (uint32_t d = 0; d < q->dim; d++)
            t[d] = (float)acc[d];
        q->target = (sr_vec){.v = t};
        return QV_OK;
    }
    /* Sparse: the union of the indices, weights summed, in the target's
     * lookup table itself (O(entries)). */
    size_t n = 0;
    for (uint32_t i = 0; i < q->n_pos; i++)
        n += q->pos[i].nnz;
    for (uint32_t i = 0; i < q->n_neg; i++)
        n += q->neg[i].nnz;
    sp_table t;
    qv_status rc = sp_init(x->a, n, &t, x->err);
    if (rc)
        return rc;
    uint32_t m = 0;
    for (int side = 0; side < 2; side++) {
        const sr_vec *list = side ? q->neg : q->pos;
        uint32_t cnt = side ? q->n_neg : q->n_pos;
        float w = side ? wn : wp;
        for (uint32_t i = 0; i < cnt; i++)
            for (uint32_t j = 0; j < list[i].nnz; j++) {
                bool added;
                *sp_cell(&t, list[i].idx[j], &added) += list[i].val[j] * w;
                m += added;
            }
    }
    uint32_t *idx = qv_arena_alloc(x->a, (size_t)(m ? m : 1) * sizeof *idx);
    float *val = qv_arena_alloc(x->a, (size_t)(m ? m : 1) * sizeof *val);
    if (!idx || !val)
        return oom(x->err);
    uint32_t k = 0;
    for (uint32_t h = 0; h <= t.mask; h++)
        if (t.key[h] != UINT32_MAX) {
            idx[k] = t.key[h];
            val[k++] = t.val[h];
        }
    if (t.has_max) {
        idx[k] = UINT32_MAX;
        val[k] = t.max_val;
    }
    q->target = (sr_vec){.idx = idx, .val = val, .nnz = m, .t = t};
    return QV_OK;
}

static void normalize_all(sr_query *q)
{
    if (q->sparse || q->metric != DIST_COSINE)
        return;
    if (q->target.v)
        dist_normalize(q->target.v, q->dim);
    for (uint32_t i = 0; i < q->n_pos; i++)
        dist_normalize(q->pos[i].v, q->dim);
    for (uint32_t i = 0; i < q->n_neg; i++)
        dist_normalize(q->neg[i].v, q->dim);
}

/* positive / negative / strategy of a recommend request or query. */
static qv_status recommend(sr_ctx *x, sr_query *q, const char *name, const jr_value *r)
{
    qv_status rc;
    if ((rc = examples(x, q, name, jr_get(r, "positive"), "positive", &q->pos, &q->n_pos)) ||
        (rc = examples(x, q, name, jr_get(r, "negative"), "negative", &q->neg, &q->n_neg)))
        return rc;
    const jr_value *st = jr_get(r, "strategy");
    const char *strategy = jr_is(st, JR_STRING) ? st->u.str : "average_vector";
    if (!jr_is_null(st) && !jr_is(st, JR_STRING))
        return bad_type(x->err, "strategy", "a string");
    if (strcmp(strategy, "average_vector") == 0) {
        q->mode = SQ_NEAREST;
        return average(x, q);
    }
    if (strcmp(strategy, "best_score") == 0)
        q->mode = SQ_BEST_SCORE;
    else if (strcmp(strategy, "sum_scores") == 0)
        q->mode = SQ_SUM_SCORES;
    else
        return qv_fail(x->err, QV_BAD_FORMAT,
                       "strategy: unknown variant `%.40s`, expected one of `average_vector`, `best_score`, `sum_scores`",
                       strategy);
    if (q->n_pos + q->n_neg == 0)
        return qv_fail(x->err, QV_BAD_INPUT, "At least one positive or negative example is required");
    return QV_OK;
}

/* target and context of a discover request or query; no target = context. */
static qv_status discover(sr_ctx *x, sr_query *q, const char *name, const jr_value *d, bool need_target)
{
    const jr_value *t = jr_get(d, "target"), *ctx = jr_get(d, "context");
    if (need_target && !t)
        return qv_fail(x->err, QV_BAD_FORMAT, "missing field `target`");
    qv_status rc;
    if (!jr_is_null(t) && (rc = example(x, q, name, t, &q->target)))
        return rc;
    if (jr_is_null(ctx)) {
        if (need_target)
            return qv_fail(x->err, QV_BAD_FORMAT, "missing field `context`");
        q->pos = q->neg = NULL;
    } else if ((rc = pairs(x, q, name, ctx, false))) {
        return rc;
    }
    if (jr_is_null(t) && q->n_pos == 0)
        return qv_fail(x->err, QV_BAD_INPUT, "Discover needs a target or at least one context pair");
    q->mode = jr_is_null(t) ? SQ_CONTEXT : SQ_DISCOVER;
    return QV_OK;
}

static qv_status common_fields(sr_ctx *x, const jr_value *req, uint64_t dflt_limit, sr_query *q)
{
    qv_error *err = x->err;
    qv_status rc;
    const jr_value *f = jr_get(req, "filter");
    if (!jr_is_null(f) && (rc = flt_parse(x->a, f, "filter", &q->filter, err)))
        return rc;
    q->filter_src = q->filter ? f : NULL;
    const jr_value *lim = jr_get(req, "limit");
    if (!lim && dflt_limit == 0)
        return qv_fail(err, QV_BAD_FORMAT, "missing field `limit`");
    q->limit = dflt_limit;
    if (!jr_is_null(lim) && !jr_get_u64(lim, &q->limit))
        return bad_type(err, "limit", "an unsigned integer");
    if (q->limit < 1)
        return qv_fail(err, QV_VALIDATION, "limit: value 0 invalid, must be 1 or larger");
    const jr_value *off = jr_get(req, "offset");
    if (!jr_is_null(off) && !jr_get_u64(off, &q->offset))
        return bad_type(err, "offset", "an unsigned integer");
    if (q->limit > SEARCH_MAX_LIMIT || q->offset > SEARCH_MAX_LIMIT)
        return qv_fail(err, QV_VALIDATION, "limit + offset: at most %u", SEARCH_MAX_LIMIT);
    const jr_value *st = jr_get(req, "score_threshold");
    if (!jr_is_null(st)) {
        if (!jr_get_f32(st, &q->threshold))
            return bad_type(err, "score_threshold", "a float");
        q->has_threshold = true;
    }
    const jr_value *params = jr_get(req, "params");
    if (!jr_is_null(params)) {
        if (params->type != JR_OBJECT)
            return bad_type(err, "params", "a SearchParams object");
        const jr_value *ef = jr_get(params, "hnsw_ef"), *ex = jr_get(params, "exact");
        uint64_t u = 0;
        if (!jr_is_null(ef) && (!jr_get_u64(ef, &u) || u > UINT32_MAX))
            return bad_type(err, "params.hnsw_ef", "an unsigned integer");
        q->hnsw_ef = (uint32_t)u;
        if (!jr_is_null(ex) && ex->type != JR_TRUE && ex->type != JR_FALSE)
            return bad_type(err, "params.exact", "a boolean");
        q->exact = jr_is(ex, JR_TRUE);
        /* IdfParams (1.19): "global" (the default) or {"corpus": Filter} */
        const jr_value *idf = jr_get(params, "idf");
        const jr_value *corpus = jr_is(idf, JR_OBJECT) && idf->len == 1 ? jr_get(idf, "corpus") : NULL;
        if (!jr_is_null(idf) && !(jr_is(idf, JR_STRING) && strcmp(idf->u.str, "global") == 0) && !corpus)
            return qv_fail(err, QV_BAD_FORMAT, "params.idf: data did not match any variant of untagged enum IdfParams");
        if (corpus && (rc = flt_parse(x->a, corpus, "params.idf.corpus", &q->idf_corpus, err)))
            return rc;
    }
    if ((rc = rd_parse_with_payload(x->a, jr_get(req, "with_payload"), false, &q->sel, err)))
        return rc;
    return rd_parse_with_vector_of(x->a, &x->c->schema, req, false, &q->sel, err);
}

static qv_status start(sr_ctx *x, const jr_value *req, const char *what, sr_query *q)
{
    *q = (sr_query){.mode = SQ_NONE};
    if (!jr_is(req, JR_OBJECT))
        return bad_type(x->err, what, "an object");
    /* serde refuses a known field given twice (with_vector and its alias
     * are checked by rd_parse_with_vector_of) */
    return QV_NO_DUP(req, NULL, x->err, "vector", "query", "prefetch", "using", "filter", "params", "limit",
                     "offset", "score_threshold", "with_payload", "with_vector", "with_vectors", "lookup_from",
                     "positive", "negative", "strategy", "target", "context", "group_by", "group_size",
                     "with_lookup", "shard_key");
}

/* `using` of a request ("" = the unnamed vector). */
static qv_status using_of(sr_ctx *x, const jr_value *req, const char **name)
{
    const jr_value *us = jr_get(req, "using");
    if (!jr_is_null(us) && !jr_is(us, JR_STRING))
        return bad_type(x->err, "using", "a string");
    *name = jr_is(us, JR_STRING) ? us->u.str : "";
    return QV_OK;
}

/* A classic SearchRequest: vector is a list (the unnamed vector), a
 * NamedVector {name, vector: [...]} or a NamedSparseVector
 * {name, vector: {indices, values}}. */
static qv_status parse_search(sr_ctx *x, const jr_value *req, sr_query *q)
{
    qv_status rc = start(x, req, "search request", q);
    if (rc)
        return rc;
    const jr_value *v = jr_get(req, "vector");
    if (!v)
        return qv_fail(x->err, QV_BAD_FORMAT, "missing field `vector`");
    const char *name = "";
    if (v->type == JR_OBJECT && jr_get(v, "name")) {
        const jr_value *nm = jr_get(v, "name");
        if (!jr_is(nm, JR_STRING))
            return bad_type(x->err, "vector.name", "a string");
        name = nm->u.str;
        if (!(v = jr_get(v, "vector")))
            return qv_fail(x->err, QV_BAD_FORMAT, "vector: missing field `vector`");
    }
    if ((rc = use_column(&x->c->schema, name, q, x->err)) || (rc = vector_value(x, q, name, v, &q->target)))
        return rc;
    q->mode = SQ_NEAREST;
    normalize_all(q);
    return common_fields(x, req, 0, q);
}

/* A RecommendRequest {positive, negative, strategy, using, ...}. */
static qv_status parse_recommend(sr_ctx *x, const jr_value *req, sr_query *q)
{
    const char *name;
    qv_status rc;
    if ((rc = start(x, req, "recommend request", q)) || (rc = using_of(x, req, &name)) ||
        (rc = use_column(&x->c->schema, name, q, x->err)) || (rc = lookup_from(x, req)) ||
        (rc = recommend(x, q, name, req)))
        return rc;
    normalize_all(q);
    return common_fields(x, req, 0, q);
}

/* A DiscoverRequest {target, context, using, ...}. */
static qv_status parse_discover(sr_ctx *x, const jr_value *req, sr_query *q)
{
    const char *name;
    qv_status rc;
    if ((rc = start(x, req, "discover request", q)) || (rc = using_of(x, req, &name)) ||
        (rc = use_column(&x->c->schema, name, q, x->err)) || (rc = lookup_from(x, req)) ||
        (rc = discover(x, q, name, req, false)))
        return rc;
    normalize_all(q);
    return common_fields(x, req, 0, q);
}

/* A QueryRequest: query = a vector, a sparse vector, a point id,
 * {"nearest"}, {"recommend"}, {"discover"}, {"context"}; no query gives
 * points in id order. */
static qv_status parse_query_at(sr_ctx *x, const jr_value *req, sr_query *q, const sr_query *parent, int depth);

/* Prefetch: one object or a list of them, each a query of its own. */
static qv_status prefetches(sr_ctx *x, const jr_value *pf, sr_query *q, int depth)
{
    if (jr_is_null(pf))
        return QV_OK;
    if (depth >= SR_MAX_DEPTH)
        return qv_fail(x->err, QV_VALIDATION, "prefetch: at most %d nested levels", SR_MAX_DEPTH);
    uint32_t n = pf->type == JR_ARRAY ? pf->len : 1;
    if (pf->type != JR_ARRAY && pf->type != JR_OBJECT)
        return bad_type(x->err, "prefetch", "a Prefetch object or a sequence of them");
    if (n > SR_MAX_EXAMPLES)
        return qv_fail(x->err, QV_VALIDATION, "prefetch: at most %d prefetches", SR_MAX_EXAMPLES);
    if (!(q->pre = qv_arena_alloc(x->a, (size_t)(n ? n : 1) * sizeof *q->pre)))
        return oom(x->err);
    for (uint32_t i = 0; i < n; i++) {
        qv_status rc = parse_query_at(x, pf->type == JR_ARRAY ? &pf->u.items[i] : pf, &q->pre[i], q, depth + 1);
        if (rc)
            return rc;
    }
    q->n_pre = n;
    return QV_OK;
}

/* {"fusion": "rrf" | "dbsf"} or {"rrf": {k, weights}}. */
static qv_status fusion(sr_ctx *x, const jr_value *qv, sr_query *q)
{
    const jr_value *f = jr_get(qv, "fusion"), *rrf = jr_get(qv, "rrf");
    q->mode = SQ_FUSION;
    q->rrf_k = SR_DEFAULT_RRF_K;
    if (f) {
        if (jr_is(f, JR_STRING) && strcmp(f->u.str, "rrf") == 0)
            q->fusion = SR_RRF;
        else if (jr_is(f, JR_STRING) && strcmp(f->u.str, "dbsf") == 0)
            q->fusion = SR_DBSF;
        else
            return qv_fail(x->err, QV_BAD_FORMAT, "query.fusion: unknown variant, expected one of `rrf`, `dbsf`");
    } else {
        if (!jr_is(rrf, JR_OBJECT))
            return bad_type(x->err, "query.rrf", "an Rrf object");
        q->fusion = SR_RRF;
        const jr_value *k = jr_get(rrf, "k"), *w = jr_get(rrf, "weights");
        uint64_t u;
        if (!jr_is_null(k)) {
            if (!jr_get_u64(k, &u) || u > UINT32_MAX)
                return bad_type(x->err, "query.rrf.k", "an unsigned integer");
            if (u < 1)
                return qv_fail(x->err, QV_VALIDATION, "query.rrf.k: value 0 invalid, must be 1 or larger");
            q->rrf_k = (uint32_t)u;
        }
        if (!jr_is_null(w)) {
            if (w->type != JR_ARRAY)
                return bad_type(x->err, "query.rrf.weights", "a sequence of floats");
            if (w->len != q->n_pre)
                return qv_fail(x->err, QV_BAD_INPUT,
                               "Number of weights in RRF should match number of pre-fetches: got %u, expected %u",
                               w->len, q->n_pre);
            if (!(q->weights = qv_arena_alloc(x->a, (size_t)(w->len ? w->len : 1) * sizeof *q->weights)))
                return oom(x->err);
            for (uint32_t i = 0; i < w->len; i++)
                if (!jr_get_f32(&w->u.items[i], &q->weights[i]))
                    return bad_type(x->err, "query.rrf.weights", "a sequence of floats");
        }
    }
    return QV_OK;
}

static qv_status parse_query(sr_ctx *x, const jr_value *req, sr_query *q)
{
    return parse_query_at(x, req, q, NULL, 0);
}

/* mmr {diversity, candidates_limit} beside nearest (Qdrant's defaults:
 * diversity 0.5, candidates = the query's limit). */
static qv_status mmr_params(sr_ctx *x, const jr_value *m, sr_query *q)
{
    if (m->type != JR_OBJECT)
        return bad_type(x->err, "query.mmr", "an Mmr object");
    qv_status rc = QV_NO_DUP(m, "query.mmr", x->err, "diversity", "candidates_limit");
    if (rc)
        return rc;
    const jr_value *d = jr_get(m, "diversity"), *cl = jr_get(m, "candidates_limit");
    float div = 1.0f - SR_MMR_DEFAULT_LAMBDA;
    if (!jr_is_null(d)) {
        if (!jr_get_f32(d, &div))
            return bad_type(x->err, "query.mmr.diversity", "a float");
        if (!(div >= 0.0f && div <= 1.0f))
            return qv_fail(x->err, QV_VALIDATION, "query.mmr.diversity: value %g invalid, must be from 0 to 1",
                           (double)div);
    }
    q->mmr = true;
    q->mmr_lambda = 1.0f - div;
    q->mmr_cand = UINT64_MAX;  /* the limit, once known */
    if (!jr_is_null(cl)) {
        if (!jr_get_u64(cl, &q->mmr_cand))
            return bad_type(x->err, "query.mmr.candidates_limit", "an unsigned integer");
        if (q->mmr_cand > SR_MMR_MAX_CANDIDATES)
            return qv_fail(x->err, QV_VALIDATION,
                           "query.mmr.candidates_limit: value %llu invalid, must be %d or smaller",
                           (unsigned long long)q->mmr_cand, SR_MMR_MAX_CANDIDATES);
    }
    return QV_OK;
}

/* The rules Qdrant checks on a query and on each prefetch. */
static qv_status query_rules(sr_ctx *x, const sr_query *q, const char *using)
{
    if (q->n_pre && q->mode == SQ_NONE)
        return qv_fail(x->err, QV_UNSUPPORTED,
                       "A query is needed to merge the prefetches. Can't have prefetches without defining a query.");
    if (q->has_threshold && q->mode == SQ_ORDER_BY)
        return qv_fail(x->err, QV_UNSUPPORTED, "Can't use score_threshold with an order_by query.");
    if (q->has_threshold && q->mode == SQ_NONE)
        return qv_fail(x->err, QV_UNSUPPORTED,
                       "A query is needed to use the score_threshold. Can't have score_threshold without defining a query.");
    if (q->mode == SQ_FUSION && using[0])
        return qv_fail(x->err, QV_UNSUPPORTED, "Fusion queries cannot be combined with the 'using' field.");
    if (q->mode == SQ_FUSION && q->n_pre == 0)
        return qv_fail(x->err, QV_BAD_INPUT, "Fusion queries need prefetches");
    return QV_OK;
}

static qv_status parse_query_at(sr_ctx *x, const jr_value *req, sr_query *q, const sr_query *parent, int depth)
{
    const char *name;
    qv_status rc;
    if ((rc = start(x, req, "query request", q)) || (rc = using_of(x, req, &name)))
        return rc;
    q->parent = parent;
    if ((rc = prefetches(x, jr_get(req, "prefetch"), q, depth)) || (rc = lookup_from(x, req)))
        return rc;
    const jr_value *qv = jr_get(req, "query"), *inner;
    if (qv && qv->type == JR_OBJECT && (jr_get(qv, "fusion") || jr_get(qv, "rrf"))) {
        if ((rc = fusion(x, qv, q)))
            return rc;
    } else if (qv && qv->type == JR_OBJECT && (inner = jr_get(qv, "order_by"))) {
        if ((rc = rd_parse_order_by(x->a, inner, "query.order_by", &q->order, x->err)))
            return rc;
        q->mode = SQ_ORDER_BY;
    } else if (qv && qv->type == JR_OBJECT && (inner = jr_get(qv, "sample"))) {
        if (!jr_is(inner, JR_STRING) || strcmp(inner->u.str, "random") != 0)
            return qv_fail(x->err, QV_BAD_FORMAT, "query.sample: unknown variant, expected `random`");
        q->mode = SQ_SAMPLE;
    } else if (!jr_is_null(qv)) {
        if ((rc = use_column(&x->c->schema, name, q, x->err)))
            return rc;
        if (qv->type == JR_OBJECT && (inner = jr_get(qv, "nearest"))) {
            const jr_value *m = jr_get(qv, "mmr");
            if (!jr_is_null(m) && (rc = mmr_params(x, m, q)))
                return rc;
            rc = example(x, q, name, inner, &q->target);
            q->mode = SQ_NEAREST;
        } else if (qv->type == JR_OBJECT && (inner = jr_get(qv, "recommend"))) {
            rc = jr_is(inner, JR_OBJECT) ? recommend(x, q, name, inner)
                                         : bad_type(x->err, "query.recommend", "a RecommendInput object");
        } else if (qv->type == JR_OBJECT && (inner = jr_get(qv, "discover"))) {
            rc = jr_is(inner, JR_OBJECT) ? discover(x, q, name, inner, true)
                                         : bad_type(x->err, "query.discover", "a DiscoverInput object");
        } else if (qv->type == JR_OBJECT && (inner = jr_get(qv, "context"))) {
            if ((rc = pairs(x, q, name, inner, true)) == QV_OK)
                q->mode = SQ_CONTEXT;
        } else if (qv->type == JR_OBJECT && !jr_get(qv, "indices")) {
            /* formula, relevance_feedback */
            const char *kind = qv->len ? qv->u.members[0].key : "{}";
            return qv_fail(x->err, QV_UNSUPPORTED, "query `%.40s` is not supported by Quiver yet", kind);
        } else {
            rc = example(x, q, name, qv, &q->target);
            q->mode = SQ_NEAREST;
        }
        if (rc)
            return rc;
        normalize_all(q);
    }
    x->lk = (sr_lookup){0};
    if ((rc = common_fields(x, req, QUERY_DEFAULT_LIMIT, q)) || (rc = query_rules(x, q, name)))
        return rc;
    if (q->mmr && q->mmr_cand == UINT64_MAX)
        q->mmr_cand = q->limit;
    if (q->mode == SQ_SAMPLE && q->n_pre == 0 && !parent)
        q->offset = 0;  /* Qdrant: a random order has no stable pages */
    return QV_OK;
}

/* ---- running ---------------------------------------------------------------------- */

/* Equal orders break by point id. */
static int id_tie(uint32_t a, uint32_t b, void *ctx)
{
    const store *s = ctx;
    return pid_cmp(&s->ids[a], &s->ids[b]);
}

/* A top-k of k hits (vector/topk.h) in memory that becomes the caller's
 * list once sorted (hits_take). */
static qv_status hits_begin(const store *s, size_t k, topk *t, qv_error *err)
{
    topk_item *mem = malloc((k ? k : 1) * sizeof *mem);
    if (!mem)
        return oom(err);
    return topk_init(t, (uint32_t)k, mem, id_tie, (void *)s, err);  /* with memory given: cannot fail */
}

static void hits_take(topk *t, sr_list *out)
{
    out->n = topk_sorted(t);
    out->h = t->items;
}

/* Everything a scan needs for one point. */
typedef struct sr_scorer {
    const sr_query *q;
    dist_fn         order;  /* dense: smaller = closer */
    const float    *v;      /* the point's dense vector */
    const st_sparse_vec *sv;
    bool            shared;  /* sparse: an index in common with some query vector */
} sr_scorer;

/* Qdrant's similarity of a query vector to the point: larger = closer
 * (dot; minus the squared L2 or the L1 distance). */
static float similarity(sr_scorer *sc, const sr_vec *e)
{
    if (!sc->q->sparse)
        return -sc->order(e->v, sc->v, sc->q->dim);
    const float *vals = (const float *)(sc->sv->data + sc->sv->n);
    float dot = 0, v;
    for (uint32_t i = 0; i < sc->sv->n; i++)
        if (sp_lookup(&e->t, sc->sv->data[i], &v)) {
            dot += v * vals[i];
            sc->shared = true;
        }
    return dot;
}

static float fast_sigmoid(float x) { return x / (1.0f + fabsf(x)); }
static float scaled_fast_sigmoid(float x) { return 0.5f * (fast_sigmoid(x) + 1.0f); }

/* The score of the point for the query (Qdrant's formulas), larger = better
 * except for a dense nearest query of Euclid/Manhattan, whose score is the
 * distance; *order gets the heap's value (smaller = better). */
static float score_point(sr_scorer *sc, float *order)
{
    const sr_query *q = sc->q;
    float s;
    switch (q->mode) {
    case SQ_NEAREST:
        if (!q->sparse) {
            *order = sc->order(q->target.v, sc->v, q->dim);
            return dist_score(q->metric, *order);
        }
        s = similarity(sc, &q->target);
        break;
    case SQ_BEST_SCORE: {
        float mp = -INFINITY, mn = -INFINITY;
        for (uint32_t i = 0; i < q->n_pos; i++)
            mp = fmaxf(mp, similarity(sc, &q->pos[i]));
        for (uint32_t i = 0; i < q->n_neg; i++)
            mn = fmaxf(mn, similarity(sc, &q->neg[i]));
        s = mp > mn ? scaled_fast_sigmoid(mp) : -scaled_fast_sigmoid(mn);
        break;
    }
    case SQ_SUM_SCORES: {
        float sp = 0, sn = 0;
        for (uint32_t i = 0; i < q->n_pos; i++)
            sp += similarity(sc, &q->pos[i]);
        for (uint32_t i = 0; i < q->n_neg; i++)
            sn += similarity(sc, &q->neg[i]);
        s = sp - sn;
        break;
    }
    case SQ_DISCOVER: {
        int rank = 0;
        for (uint32_t i = 0; i < q->n_pos; i++)
            rank += similarity(sc, &q->pos[i]) > similarity(sc, &q->neg[i]) ? 1 : -1;
        s = (float)rank + scaled_fast_sigmoid(similarity(sc, &q->target));
        break;
    }
    default: { /* SQ_CONTEXT */
        s = 0;
        for (uint32_t i = 0; i < q->n_pos; i++) {
            float d = similarity(sc, &q->pos[i]) - similarity(sc, &q->neg[i]) - FLT_EPSILON;
            s += fast_sigmoid(fminf(d, 0.0f));
        }
        break;
    }
    }
    *order = -s;
    return s;
}

/* Whether a smaller score is better: a dense nearest query of Euclid or
 * Manhattan (every other score is larger-better). */
static bool smaller_better(const sr_query *q)
{
    return q->mode == SQ_NEAREST && !q->sparse && !dist_higher_better(q->metric);
}

static bool passes(const sr_query *q, float score)
{
    if (!q->has_threshold)
        return true;
    if (q->mode == SQ_FUSION)  /* Qdrant: fusion scores pass at the threshold */
        return score >= q->threshold;
    return smaller_better(q) ? score < q->threshold : score > q->threshold;
}

static float score_of(const sr_query *q, float order)
{
    if (q->mode == SQ_NONE || q->mode == SQ_ORDER_BY || q->mode == SQ_SAMPLE)
        return 1;  /* Qdrant's score of points a scroll gave (id, payload or random order) */
    return q->mode == SQ_NEAREST && !q->sparse ? dist_score(q->metric, order) : -order;
}

/* The filters of the enclosing queries (Qdrant applies a query's filter to
 * its prefetches too). */
static bool parents_ok(const store *s, const cfg_collection *cfg, const sr_query *q, uint32_t slot)
{
    for (const sr_query *p = q->parent; p; p = p->parent)
        if (!store_matches(s, cfg, p->filter, slot))
            return false;
    return true;
}

/* Score slot into hp unless it is left out (the caller checked liveness
 * and the query's own filter). */
static void score_slot(const store *s, const cfg_collection *cfg, sr_query *q, sr_scorer *sc, uint32_t slot,
                       topk *hp)
{
    if (q->n_exclude && excluded(q, slot))
        return;
    if (q->parent && !parents_ok(s, cfg, q, slot))
        return;
    if (q->sparse) {
        if (!(sc->sv = s->sparse[q->col][slot]))
            return;
        sc->shared = false;
    } else {
        if (!store_has_dense(s, q->col, slot))
            return;
        sc->v = store_dense(s, q->col, slot);
    }
    float order, score = score_point(sc, &order);
    if (q->sparse && !sc->shared)  /* Qdrant leaves out points with no index in common */
        return;
    if (passes(q, score))
        topk_push(hp, order, slot);
}

/* What the graph may return: slots it knows the current state of, live,
 * with the vector, not an example, matching the filter. */
typedef struct allow_ctx {
    const cfg_collection *cfg;
    const store    *s;
    const sr_query *q;
    const plan     *p;
    const uint64_t *pending;    /* the column's pending bits as the query began (NULL: none) */
    uint32_t        pending_words;
    uint64_t       *seen, *ok;  /* filter verdicts so far (NULL: none kept) */
    uint32_t        n_slots;
} allow_ctx;

static bool allow_slot(void *ctx, uint32_t slot)
{
    allow_ctx *a = ctx;
    if ((a->pending && slot >> 6 < a->pending_words && qv_bit_get(a->pending, slot)) ||
        !store_live(a->s, slot) || !store_has_dense(a->s, a->q->col, slot))
        return false;
    if (a->q->n_exclude && excluded(a->q, slot))
        return false;
    if (!a->p->f && !a->q->parent)
        return true;
    /* A filtered walk (two hops above all) meets a node many times: judge
     * each once per query. */
    uint64_t bit = 1ull << (slot & 63);
    if (a->seen && slot < a->n_slots) {
        if (a->seen[slot >> 6] & bit)
            return a->ok[slot >> 6] & bit;
        a->seen[slot >> 6] |= bit;
    }
    bool ok = (!a->p->f || plan_match(a->p, slot)) && (!a->q->parent || parents_ok(a->s, a->cfg, a->q, slot));
    if (ok && a->seen && slot < a->n_slots)
        a->ok[slot >> 6] |= bit;
    return ok;
}

/* See graph_search. */
#define EXACT_WALKS 4

/*
 * Nearest by the graph: the graph's best allowed slots, then every pending
 * slot (inserted, changed or deleted since the graph last saw it) scored
 * exactly, so an acknowledged write is always found. False when the graph
 * cannot serve (none, or exact is cheaper); the caller then scans.
 */
static bool graph_search(qv_collection *c, sr_query *q, const plan *p, sr_scorer *sc, topk *hp,
                         qv_error *err, qv_status *rc)
{
    const store *s = &c->st;
    if (q->mode != SQ_NEAREST || q->sparse || q->exact || q->col >= c->vx.n_cols)
        return false;
    vx_col *col = &c->vx.cols[q->col];
    const cfg_collection *cfg = &c->schema;
    const cfg_vector *cv = &cfg->vectors[q->col];
    uint64_t fst_kb = cv->hnsw.set & 4 ? cv->hnsw.full_scan_threshold : cfg->hnsw.full_scan_threshold;
    float selectivity = 0;
    uint32_t k = (uint32_t)hp->k;
    uint64_t ef_q = q->hnsw_ef ? q->hnsw_ef : cv->hnsw.set & 2 ? cv->hnsw.ef_construct : cfg->hnsw.ef_construct;
    uint64_t m_q = cv->hnsw.set & 1 ? cv->hnsw.m : cfg->hnsw.m;
    if (p->f) {
        /* Few matches that a payload index (or the planner's cache) lists:
         * scoring them all is cheaper than the graph, and exact: under
         * full_scan_threshold, as Qdrant plans, and while they are not
         * many more than the vectors a walk of this width reads (ef
         * expansions of 2m links each, times EXACT_WALKS): an exact pass
         * reads every matching vector from memory, so 10,000 of 128
         * dimensions cost ~5× a two-hop walk at ef 16, 1,000 ~1/10 of one.
         * Without such a list an exact answer would test the filter on
         * every point; the graph tests it only where it walks. */
        bool exact;
        uint64_t est = plan_estimate(p, &exact);
        uint64_t walk = (ef_q > k ? ef_q : k) * 2 * (m_q ? m_q : 16) * EXACT_WALKS;
        if ((p->indexed || p->bits) && est * q->dim * 4 < fst_kb * 1024 && est <= walk)
            return false;
        if (!p->indexed && !p->bits && (uint64_t)s->n_points * q->dim * 4 < fst_kb * 1024)
            return false;
        selectivity = s->n_points ? (float)est / (float)s->n_points : 1;
        if (selectivity <= 0)
            selectivity = 1.0f / (float)(s->n_points ? s->n_points : 1);
    }
    pthread_rwlock_rdlock(&col->glock);
    hnsw *g = col->g;
    if (!g || hnsw_count(g) == 0) {
        pthread_rwlock_unlock(&col->glock);
        return false;
    }
    uint32_t ef = q->hnsw_ef ? q->hnsw_ef : hnsw_get_params(g)->ef_construct;
    if (ef < k)
        ef = k;
    hnsw_hit *hits = malloc((size_t)k * sizeof *hits);
    if (!hits) {
        pthread_rwlock_unlock(&col->glock);
        *rc = oom(err);
        return true;
    }
    /* Nothing pending (checked under the read lock, so no write can make
     * a slot pending until we are done; the indexer only clears bits): the
     * graph knows every point's current state, deleted ones as tombstones,
     * so without a filter, parents or examples it needs no callback.
     * Otherwise the pending bits are copied first and both halves of the
     * answer use the copy: a slot the indexer links meanwhile is either in
     * the copy (left to the exact half, which scores its current vector) or
     * was linked before the copy (the graph may return it), never neither
     * nor both. */
    bool settled = atomic_load(&col->n_pending) == 0;
    uint64_t *pending = NULL;
    if (!settled && !(pending = malloc((col->words ? col->words : 1) * sizeof *pending))) {
        pthread_rwlock_unlock(&col->glock);
        free(hits);
        *rc = oom(err);
        return true;
    }
    for (uint32_t w = 0; pending && w < col->words; w++)
        pending[w] = atomic_load_explicit(&col->pending[w], memory_order_acquire);
    allow_ctx ac = {.cfg = &c->schema, .s = s, .q = q, .p = p, .pending = pending,
                    .pending_words = pending ? col->words : 0, .n_slots = s->n_slots};
    if ((p->f && !p->bits) || q->parent) {  /* two bits per slot; without them every visit re-judges */
        size_t words = qv_bits_words(s->n_slots);
        ac.seen = calloc(words ? 2 * words : 2, sizeof *ac.seen);
        ac.ok = ac.seen ? ac.seen + words : NULL;
    }
    const uint64_t *allowed = p->bits ? p->bits : p->sieve;
    hnsw_filter hf = {.allowed = allowed, .allowed_slots = allowed ? s->n_slots : 0, .allow = allow_slot,
                      .ctx = &ac, .selectivity = selectivity};
    bool plain = settled && !p->f && !q->parent && !q->n_exclude;
    uint32_t n = 0;
    *rc = hnsw_search(g, &s->dense[q->col], q->target.v, k, ef, plain ? NULL : &hf, hits, &n, err);
    pthread_rwlock_unlock(&col->glock);
    free(ac.seen);
    for (uint32_t i = 0; !*rc && i < n; i++)
        if (passes(q, dist_score(q->metric, hits[i].order)))
            topk_push(hp, hits[i].order, hits[i].slot);
    free(hits);
    qv_bits_it it;
    size_t slot;
    for (qv_bits_it_init(&it, pending, pending ? col->words : 0); !*rc && qv_bits_next(&it, &slot);)
        if (slot < s->n_slots && plan_accepts(p, (uint32_t)slot))
            score_slot(s, &c->schema, q, sc, (uint32_t)slot, hp);
    free(pending);
    return true;
}

/* ---- sparse queries ------------------------------------------------------------- */

/* Qdrant's default of sparse_vectors.*.index.full_scan_threshold: a filter
 * matching fewer points is answered by scoring them one by one. */
#define SR_SPARSE_FULL_SCAN 5000

/* The query's sparse vectors (target, examples, context pairs). */
static uint32_t sparse_vectors(sr_query *q, sr_vec **out, uint32_t cap)
{
    uint32_t n = 0;
    if ((q->mode == SQ_NEAREST || q->mode == SQ_DISCOVER) && n < cap)
        out[n++] = &q->target;
    if (q->mode == SQ_NEAREST)  /* recommend's average: its examples are spent */
        return n;
    for (uint32_t i = 0; i < q->n_pos && n < cap; i++)
        out[n++] = &q->pos[i];
    for (uint32_t i = 0; i < q->n_neg && n < cap; i++)
        out[n++] = &q->neg[i];
    return n;
}

#define SR_MAX_SPARSE_VECS (2 * SR_MAX_EXAMPLES + 1)

/* Without an index (out of memory): N and the df of e's indices by a scan
 * of the column (of the corpus' slots only, when given); df[i] for
 * e->idx[i] (sorted). */
static uint64_t scan_stats(const store *s, uint32_t col, const uint64_t *corpus, const sr_vec *e, uint32_t *df)
{
    uint64_t n = 0;
    memset(df, 0, (size_t)e->nnz * sizeof *df);
    for (uint32_t slot = 0; slot < s->n_slots; slot++) {
        const st_sparse_vec *sv = store_live(s, slot) ? s->sparse[col][slot] : NULL;
        if (!sv || sv->n == 0 || (corpus && !qv_bit_get(corpus, slot)))
            continue;
        n++;
        for (uint32_t j = 0; j < sv->n; j++) {
            uint32_t lo = 0, hi = e->nnz, k = sv->data[j];
            while (lo < hi) {
                uint32_t mid = lo + (hi - lo) / 2;
                if (e->idx[mid] < k)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            if (lo < e->nnz && e->idx[lo] == k)
                df[lo]++;
        }
    }
    return n;
}

/* The IDF corpus of params.idf: its points as a bitset over the slots
 * (malloc'd) and how many of them have a non-empty vector in the column. */
static qv_status corpus_of(qv_collection *c, const sr_query *q, uint64_t **bits, uint64_t *docs, qv_error *err)
{
    const store *s = &c->st;
    plan p;
    uint64_t count;
    plan_make(&p, s, &c->schema, q->idf_corpus);
    qv_status rc = plan_allowed(&p, bits, &count, err);
    plan_free(&p);
    if (rc)
        return rc;
    *docs = 0;
    for (size_t w = 0; w < qv_bits_words(s->n_slots); w++)
        for (uint64_t b = (*bits)[w]; b; b &= b - 1) {
            const st_sparse_vec *sv = s->sparse[q->col][w * 64 + (size_t)__builtin_ctzll(b)];
            *docs += sv && sv->n > 0;
        }
    return QV_OK;
}

/*
 * Make the query's sparse vectors ready, once: sorted by index (so every
 * score adds its products in index order, as stored vectors do) and, with
 * the idf modifier, each weight multiplied by idf(N, df) of its index, as
 * Qdrant does to every vector of a query (stored vectors stay raw). N: the
 * points with a non-empty vector in the column; df: those with the index;
 * both counted among the points of params.idf.corpus when one is given.
 */
static qv_status sparse_prepare(qv_collection *c, sr_query *q, qv_arena *a, qv_error *err)
{
    q->prepared = true;
    sr_vec **vs = qv_arena_alloc(a, SR_MAX_SPARSE_VECS * sizeof *vs);
    if (!vs)
        return oom(err);
    uint32_t n = sparse_vectors(q, vs, SR_MAX_SPARSE_VECS);
    const sparse_index *ix = sx_get(&c->sx, q->col);
    bool idf = q->col < c->schema.n_sparse && c->schema.sparse[q->col].idf;
    uint64_t *corpus = NULL, corpus_docs = 0;
    if (idf && q->idf_corpus) {
        qv_status rc = corpus_of(c, q, &corpus, &corpus_docs, err);
        if (rc)
            return rc;
    }
    qv_status rc = QV_OK;
    for (uint32_t i = 0; i < n && !rc; i++) {
        sr_vec *e = vs[i];
        if (!sparse_sorted(e->idx, e->nnz)) {
            uint32_t *tmp = qv_arena_alloc(a, 2 * (size_t)e->nnz * sizeof *tmp);
            if (!tmp) {
                rc = oom(err);
                break;
            }
            sparse_sort(e->idx, e->val, e->nnz, tmp);  /* unique: checked when parsed */
        }
        if (!idf || e->nnz == 0)
            continue;
        uint32_t *df = ix ? NULL : qv_arena_alloc(a, (size_t)e->nnz * sizeof *df);
        if (!ix && !df) {
            rc = oom(err);
            break;
        }
        uint64_t docs = !ix ? scan_stats(&c->st, q->col, corpus, e, df) : corpus ? corpus_docs : sparse_count(ix);
        for (uint32_t j = 0; j < e->nnz; j++) {
            uint32_t d = !ix ? df[j] : corpus ? sparse_df_among(ix, e->idx[j], corpus) : sparse_df(ix, e->idx[j]);
            e->val[j] *= sparse_idf(docs, d);
        }
        rc = sp_build(a, e, err);  /* the lookup table gets the new weights */
    }
    free(corpus);
    return rc;
}

/* Whether the sparse query should score the filter's points one by one:
 * a payload index lists them and they are fewer than the column's
 * full_scan_threshold (in points, as Qdrant counts it for sparse vectors). */
static bool sparse_few(const qv_collection *c, const sr_query *q, const plan *p)
{
    if (!p->f || !p->indexed)
        return false;
    const cfg_sparse *cs = &c->schema.sparse[q->col];
    uint64_t fst = cs->has_index && (cs->index.set & 1) ? cs->index.full_scan_threshold : SR_SPARSE_FULL_SCAN;
    bool exact;
    return plan_estimate(p, &exact) < fst;
}

typedef struct sparse_allow_ctx {
    const qv_collection *c;
    const sr_query      *q;
    const plan          *p;
} sparse_allow_ctx;

/* Postings hold live slots only; the rest is the query's own business. */
static bool sparse_allow(void *ctx, uint32_t slot)
{
    const sparse_allow_ctx *a = ctx;
    if (a->q->n_exclude && excluded(a->q, slot))
        return false;
    if (a->p->f && !plan_match(a->p, slot))
        return false;
    return !a->q->parent || parents_ok(&a->c->st, &a->c->schema, a->q, slot);
}

/*
 * A sparse query through the column's inverted index: a nearest query is
 * scored from the postings directly; the others (recommend, discover,
 * context) score, exactly, the points sharing an index with one of their
 * vectors, found in the postings. False when there is no index or the
 * filter's points are few (the caller then scores them one by one).
 */
static bool sparse_search_index(qv_collection *c, sr_query *q, const plan *p, sr_scorer *sc, topk *hp,
                                qv_error *err, qv_status *rc)
{
    const sparse_index *ix = sx_get(&c->sx, q->col);
    if (!q->sparse || !ix || sparse_few(c, q, p))
        return false;
    const store *s = &c->st;
    if (q->mode == SQ_NEAREST) {
        sparse_allow_ctx ac = {c, q, p};
        bool any = p->f || q->n_exclude || q->parent;
        sparse_filter f = {.allow = any ? sparse_allow : NULL, .ctx = &ac, .has_threshold = q->has_threshold,
                           .threshold = q->threshold};
        sparse_vec v = {q->target.nnz, q->target.idx, q->target.val};
        *rc = sparse_search(ix, v, &f, hp, err);
        return true;
    }
    sr_vec **vs = malloc(SR_MAX_SPARSE_VECS * sizeof *vs);
    uint32_t n = vs ? sparse_vectors(q, vs, SR_MAX_SPARSE_VECS) : 0;
    sparse_vec *qs = malloc((n ? n : 1) * sizeof *qs);
    size_t words = qv_bits_words(s->n_slots);
    uint64_t *bits = calloc(words ? words : 1, sizeof *bits);
    if (!vs || !qs || !bits) {
        free(vs);
        free(qs);
        free(bits);
        *rc = oom(err);
        return true;
    }
    for (uint32_t i = 0; i < n; i++)
        qs[i] = (sparse_vec){vs[i]->nnz, vs[i]->idx, vs[i]->val};
    free(vs);
    sparse_mark(ix, qs, n, bits);
    for (size_t w = 0; w < words; w++)
        for (uint64_t b = bits[w]; b; b &= b - 1) {
            uint32_t slot = (uint32_t)(w * 64 + (size_t)__builtin_ctzll(b));
            if (plan_accepts(p, slot))
                score_slot(s, &c->schema, q, sc, slot, hp);
        }
    free(qs);
    free(bits);
    return true;
}

/* Estimated matches at or below 1 / CACHE_EAGER of the points: evaluate
 * the filter over all points at its first ask. A two-hop walk at such
 * selectivity judges about as many nodes as there are points (the
 * neighbours of each non-matching neighbour), so one scan costs about the
 * same, and the search is then exact: 100k x 128 clustered at 1%, CPU
 * time per query with the scan 4.7 ms (recall 1.0), with the walk 1.3 ms
 * at ef 16 (recall 0.88), 5 ms at ef 64 (0.98). 3%, not 2%: the sample of PLAN_SAMPLE points puts a 1%
 * filter above 2% one time in twelve. */
#define CACHE_EAGER 33

/* A filter no index answers: the planner's cache of repeated filters and
 * of their conditions (plan.h), keyed by the text as written by jw_tree,
 * so the same filter written with other spacing is the same key. */
static void cached_filter(const sr_query *q, plan *p)
{
    if (!q->filter_src || p->indexed || q->parent)
        return;
    plan_use_cache(p, q->filter_src, CACHE_EAGER);
}

/* Score the matching points into hp; caller holds the read lock. */
static qv_status scan(qv_collection *c, sr_query *q, topk *hp, qv_error *err)
{
    const store *s = &c->st;
    qv_status rc = QV_OK;
    sr_scorer sc = {.q = q, .order = q->sparse ? NULL : dist_order_fn(dist_kernels_best(), q->metric)};
    plan p;
    plan_make(&p, s, &c->schema, q->filter);
    cached_filter(q, &p);
    if (sparse_search_index(c, q, &p, &sc, hp, err, &rc) || graph_search(c, q, &p, &sc, hp, err, &rc)) {
        /* done */
    } else if (p.bits) {  /* the matching slots, known: only those */
        qv_bits_it it;
        size_t slot;
        for (qv_bits_it_init(&it, p.bits, qv_bits_words(s->n_slots)); qv_bits_next(&it, &slot);)
            score_slot(s, &c->schema, q, &sc, (uint32_t)slot, hp);
    } else {
        for (size_t i = 0, n = plan_visits(&p); i < n; i++) {
            uint32_t slot = plan_candidate(&p, i);
            if (plan_accepts(&p, slot))
                score_slot(s, &c->schema, q, &sc, slot, hp);
        }
    }
    plan_free(&p);
    return rc;
}

static void write_hit(jw *w, const qv_collection *c, const sr_query *q, uint32_t slot, float score,
                      const fidx_value *ov)
{
    jw_obj_begin(w);
    jw_key(w, "id");
    pid_write(w, &c->st.ids[slot]);
    jw_key(w, "version");
    jw_uint(w, c->st.versions[slot]);
    jw_key(w, "score");
    jw_f32(w, score);
    rd_write_payload_vector(w, &c->st, &c->schema, slot, &q->sel);
    if (ov)
        rd_write_order_value(w, ov);
    jw_obj_end(w);
}

static qv_status collect(qv_collection *c, sr_query *q, qv_arena *a, size_t k, sr_list *out, qv_error *err);

/* Points in id order (no query), score 0. */
static qv_status in_id_order(qv_collection *c, const sr_query *q, size_t k, sr_list *out, qv_error *err)
{
    const store *s = &c->st;
    if (!(out->h = malloc((k ? k : 1) * sizeof *out->h)))
        return oom(err);
    idt_iter it;
    idt_seek(&s->order, NULL, &it);
    qv_point_id id;
    uint32_t slot;
    while (out->n < k && idt_next(&it, &id, &slot)) {
        if (!store_matches(s, &c->schema, q->filter, slot) || (q->parent && !parents_ok(s, &c->schema, q, slot)))
            continue;
        out->h[out->n++] = (sr_hit){0, slot};
    }
    return QV_OK;
}

typedef struct fused {
    uint32_t slot;
    float    score;
} fused;

static int fused_slot_cmp(const void *x, const void *y)
{
    uint32_t a = ((const fused *)x)->slot, b = ((const fused *)y)->slot;
    return a < b ? -1 : a > b;
}

/* Fuse the prefetches' lists (Qdrant's rrf: sum of w / (pos + 1 + w(k - 1))
 * as 1 / ((pos + 1)/w + k - 1); dbsf: each list normalized by mean ± 3σ,
 * then summed) into the best k. */
static qv_status fuse(const store *s, const sr_query *q, sr_list *lists, size_t k, sr_list *out, qv_error *err)
{
    size_t total = 0;
    for (uint32_t i = 0; i < q->n_pre; i++)
        total += lists[i].n;
    fused *all = malloc((total ? total : 1) * sizeof *all);
    if (!all)
        return oom(err);
    size_t m = 0;
    for (uint32_t i = 0; i < q->n_pre; i++) {
        const sr_query *p = &q->pre[i];
        const sr_list *l = &lists[i];
        if (q->fusion == SR_RRF) {
            float w = q->weights ? q->weights[i] : 1.0f;
            for (size_t j = 0; j < l->n; j++)
                all[m++] = (fused){l->h[j].slot, w <= 0 ? 0 : 1.0f / ((float)(j + 1) / w + (float)q->rrf_k - 1.0f)};
            continue;
        }
        /* dbsf */
        float mean = 0, agg = 0;
        for (size_t j = 0; j < l->n; j++) {  /* Welford */
            float sc = score_of(p, l->h[j].order), d0 = sc - mean;
            mean += d0 / (float)(j + 1);
            agg += d0 * (sc - mean);
        }
        float sd = l->n > 1 ? sqrtf(agg / (float)(l->n - 1)) : 0;
        float lo = mean - 3 * sd, hi = mean + 3 * sd;
        bool small = smaller_better(p);
        for (size_t j = 0; j < l->n; j++) {
            float sc = score_of(p, l->h[j].order), v;
            if (l->n == 1 || lo == hi)
                v = 0.5f;
            else
                v = small ? (hi - sc) / (hi - lo) : (sc - lo) / (hi - lo);
            all[m++] = (fused){l->h[j].slot, v};
        }
    }
    qsort(all, m, sizeof *all, fused_slot_cmp);
    topk hp;
    if (hits_begin(s, k, &hp, err)) {
        free(all);
        return err->code;
    }
    for (size_t i = 0; i < m;) {
        size_t j = i;
        float sum = 0;
        while (j < m && all[j].slot == all[i].slot)
            sum += all[j++].score;
        if (passes(q, sum))
            topk_push(&hp, -sum, all[i].slot);
        i = j;
    }
    free(all);
    hits_take(&hp, out);
    return QV_OK;
}

static int slot_cmp(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return a < b ? -1 : a > b;
}

/* The query scores only the slots its prefetches found (each once). */
static qv_status rescore(qv_collection *c, sr_query *q, sr_list *lists, size_t k, sr_list *out, qv_error *err)
{
    const store *s = &c->st;
    size_t total = 0;
    for (uint32_t i = 0; i < q->n_pre; i++)
        total += lists[i].n;
    uint32_t *slots = malloc((total ? total : 1) * sizeof *slots);
    topk hp;
    if (!slots || hits_begin(s, k, &hp, err)) {
        free(slots);
        return oom(err);
    }
    size_t m = 0;
    for (uint32_t i = 0; i < q->n_pre; i++)
        for (size_t j = 0; j < lists[i].n; j++)
            slots[m++] = lists[i].h[j].slot;
    qsort(slots, m, sizeof *slots, slot_cmp);
    sr_scorer sc = {.q = q, .order = q->sparse ? NULL : dist_order_fn(dist_kernels_best(), q->metric)};
    for (size_t i = 0; i < m; i++) {
        if (i > 0 && slots[i] == slots[i - 1])
            continue;
        if (!store_matches(s, &c->schema, q->filter, slots[i]))
            continue;
        score_slot(s, &c->schema, q, &sc, slots[i], &hp);
    }
    free(slots);
    hits_take(&hp, out);
    return QV_OK;
}

/* The prefetches' results as a set of slots (calloc'd bitset; NULL: no memory). */
static uint64_t *found_slots(const store *s, const sr_query *q, const sr_list *lists)
{
    uint64_t *set = calloc(qv_bits_words(s->n_slots) + 1, sizeof *set);
    for (uint32_t i = 0; set && i < q->n_pre; i++)
        for (size_t j = 0; j < lists[i].n; j++)
            qv_bit_set(set, lists[i].h[j].slot);
    return set;
}

/* Whether a slot q may return, besides its own filter: live, and matching
 * the enclosing queries' filters. */
static bool admissible(const qv_collection *c, const sr_query *q, const plan *p, uint32_t slot)
{
    const store *s = &c->st;
    if (q->need_vec && !(q->sparse ? s->sparse[q->col][slot] != NULL : store_has_dense(s, q->col, slot)))
        return false;
    return store_live(s, slot) && plan_match(p, slot) && (!q->parent || parents_ok(s, &c->schema, q, slot));
}

/*
 * order_by: the (value, slot) pairs of the key's range index in order, each
 * point judged by the filters, the first k; `among` (NULL: every point)
 * limits them to what the prefetches found. A point holding several values
 * comes once per value, as in scroll. O(pairs walked).
 */
static qv_status ordered(qv_collection *c, const sr_query *q, const uint64_t *among, size_t k, sr_list *out,
                         qv_error *err)
{
    fidx_order_it it;
    qv_status rc = rd_order_seek(&c->st, &q->order, &it, err);
    if (rc)
        return rc;
    out->h = malloc((k ? k : 1) * sizeof *out->h);
    out->ov = malloc((k ? k : 1) * sizeof *out->ov);
    if (!out->h || !out->ov)
        return oom(err);
    plan p;  /* the order is the index's: the plan only judges points */
    plan_scan(&p, &c->st, &c->schema, q->filter);
    fidx_value v;
    uint32_t slot;
    while (out->n < k && fidx_order_next(&it, &v, &slot)) {
        if ((among && !qv_bit_get(among, slot)) || !admissible(c, q, &p, slot))
            continue;
        out->h[out->n] = (sr_hit){0, slot};
        out->ov[out->n++] = v;
    }
    plan_free(&p);
    return QV_OK;
}

/* A stream of random numbers (splitmix64), seeded from the kernel. */
typedef struct sr_rng {
    uint64_t state;
} sr_rng;

static void rng_seed(sr_rng *r)
{
    if (getrandom(&r->state, sizeof r->state, 0) != (ssize_t)sizeof r->state)
        r->state = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)r;
}

static uint64_t rng_below(sr_rng *r, uint64_t n)
{
    return qv_hash_mix64(r->state += 0x9e3779b97f4a7c15ull) % n;
}

/*
 * sample: k points drawn uniformly, without repeats, from those the filters
 * admit (among the prefetches' results when `among` is given), in random
 * order. Random candidates are tried first (O(k) when matches are common);
 * after 64 + 4k misses in a row the remaining picks come from one pass of
 * reservoir sampling over the rest, so sparse matches cost one scan.
 */
static qv_status sample(qv_collection *c, const sr_query *q, const uint64_t *among, size_t k, sr_list *out,
                        qv_error *err)
{
    const store *s = &c->st;
    uint64_t *taken = calloc(qv_bits_words(s->n_slots) + 1, sizeof *taken);
    out->h = malloc((k ? k : 1) * sizeof *out->h);
    if (!taken || !out->h) {
        free(taken);
        return oom(err);
    }
    plan p;
    plan_make(&p, s, &c->schema, q->filter);
    sr_rng r;
    rng_seed(&r);
    size_t visits = plan_visits(&p);
    for (size_t misses = 0; visits && out->n < k && misses < 64 + 4 * k;) {
        uint32_t slot = plan_candidate(&p, (size_t)rng_below(&r, visits));
        if (qv_bit_get(taken, slot) || (among && !qv_bit_get(among, slot)) || !admissible(c, q, &p, slot)) {
            misses++;
            continue;
        }
        qv_bit_set(taken, slot);
        out->h[out->n++] = (sr_hit){0, slot};
        misses = 0;
    }
    size_t first = out->n, seen = 0;
    for (size_t i = 0; first < k && i < visits; i++) {
        uint32_t slot = plan_candidate(&p, i);
        if (qv_bit_get(taken, slot) || (among && !qv_bit_get(among, slot)) || !admissible(c, q, &p, slot))
            continue;
        seen++;  /* Algorithm R over what the tries did not take */
        if (out->n < k)
            out->h[out->n++] = (sr_hit){0, slot};
        else {
            uint64_t j = rng_below(&r, seen);
            if (j < k - first)
                out->h[first + j] = (sr_hit){0, slot};
        }
    }
    for (size_t i = out->n; i > 1; i--) {  /* the reservoir's part is in scan order */
        size_t j = (size_t)rng_below(&r, i);
        sr_hit t = out->h[i - 1];
        out->h[i - 1] = out->h[j];
        out->h[j] = t;
    }
    plan_free(&p);
    free(taken);
    return QV_OK;
}

/*
 * Maximal marginal relevance (Qdrant's): from the candidates (nearest
 * first), take the most relevant, then again and again the one with the
 * best λ·relevance − (1 − λ)·(its highest similarity to one taken), until
 * k are taken. Relevance and similarity are Qdrant's raw scores (dot, or
 * minus the squared L2 / the L1 distance); each hit keeps its nearest
 * score. Ties go to the earlier candidate. O(k · candidates) similarities.
 */
static qv_status mmr(qv_collection *c, const sr_query *q, qv_arena *a, sr_list *cand, size_t k, qv_error *err)
{
    const store *s = &c->st;
    size_t n = cand->n;
    if (n < 2 || k == 0) {  /* nothing to rerank (Qdrant returns them as they are) */
        if (cand->n > k)
            cand->n = k;
        return QV_OK;
    }
    if (k > n)
        k = n;
    float *best = malloc(n * sizeof *best);
    sr_hit *h = malloc(n * sizeof *h);
    if (!best || !h) {
        free(best);
        free(h);
        return oom(err);
    }
    memcpy(h, cand->h, n * sizeof *h);
    for (size_t i = 0; i < n; i++)
        best[i] = -INFINITY;
    sr_scorer sc = {.q = q, .order = q->sparse ? NULL : dist_order_fn(dist_kernels_best(), q->metric)};
    qv_status rc = QV_OK;
    /* h[0..taken) are chosen, in order; the rest are still candidates. */
    for (size_t taken = 0; taken < k; taken++) {
        size_t pick = taken;
        if (taken > 0) {
            /* The last one taken, as a query vector. */
            uint32_t last = h[taken - 1].slot;
            sr_vec e = {0};
            if (q->sparse) {
                if ((rc = stored_sparse(a, s->sparse[q->col][last], &e, err)))
                    break;
            } else {
                e.v = (float *)store_dense(s, q->col, last);
            }
            float top = -INFINITY;
            for (size_t i = taken; i < n; i++) {
                if (q->sparse)
                    sc.sv = s->sparse[q->col][h[i].slot];
                else
                    sc.v = store_dense(s, q->col, h[i].slot);
                best[i] = fmaxf(best[i], similarity(&sc, &e));
                float m = q->mmr_lambda * -h[i].order - (1.0f - q->mmr_lambda) * best[i];
                if (m > top) {
                    top = m;
                    pick = i;
                }
            }
        }
        /* Move the pick to h[taken], the rest keeping their candidate
         * order (so ties keep going to the earlier one). */
        sr_hit ph = h[pick];
        float pb = best[pick];
        memmove(&h[taken + 1], &h[taken], (pick - taken) * sizeof *h);
        memmove(&best[taken + 1], &best[taken], (pick - taken) * sizeof *best);
        h[taken] = ph, best[taken] = pb;
    }
    if (!rc) {
        memcpy(cand->h, h, k * sizeof *h);
        cand->n = k;
    }
    free(best);
    free(h);
    return rc;
}

/* The best k hits of q, best first (out->h malloc'd). */
static qv_status collect(qv_collection *c, sr_query *q, qv_arena *a, size_t k, sr_list *out, qv_error *err)
{
    const store *s = &c->st;
    *out = (sr_list){0};
    if (k > s->n_points)
        k = s->n_points;
    if (q->sparse && !q->prepared) {
        qv_status rc = sparse_prepare(c, q, a, err);
        if (rc)
            return rc;
    }
    /* nearest with mmr: rerank the best mmr_cand (the limit by default) */
    size_t want = k;
    if (q->mmr)
        k = q->mmr_cand < s->n_points ? (size_t)q->mmr_cand : s->n_points;
    qv_status rc = QV_OK;
    sr_list *lists = NULL;
    uint64_t *among = NULL;
    if (q->n_pre) {
        if (!(lists = calloc(q->n_pre, sizeof *lists)))
            return oom(err);
        for (uint32_t i = 0; i < q->n_pre && !rc; i++)
            rc = collect(c, &q->pre[i], a, (size_t)q->pre[i].limit, &lists[i], err);
        if (!rc && (q->mode == SQ_ORDER_BY || q->mode == SQ_SAMPLE) && !(among = found_slots(s, q, lists)))
            rc = oom(err);
    }
    if (rc) {
    } else if (q->mode == SQ_ORDER_BY) {
        rc = ordered(c, q, among, k, out, err);
    } else if (q->mode == SQ_SAMPLE) {
        rc = sample(c, q, among, k, out, err);
    } else if (q->n_pre && q->mode == SQ_FUSION) {
        rc = fuse(s, q, lists, k, out, err);
    } else if (q->n_pre) {
        rc = rescore(c, q, lists, k, out, err);
    } else if (q->mode == SQ_NONE) {
        rc = in_id_order(c, q, k, out, err);
    } else {
        topk hp;
        if (hits_begin(s, k, &hp, err))
            rc = err->code;
        else if ((rc = k ? scan(c, q, &hp, err) : QV_OK))
            free(hp.items);
        else
            hits_take(&hp, out);
    }
    if (!rc && q->mmr)
        rc = mmr(c, q, a, out, want, err);
    for (uint32_t i = 0; lists && i < q->n_pre; i++) {
        free(lists[i].h);
        free(lists[i].ov);
    }
    free(lists);
    free(among);
    if (rc) {
        free(out->h);
        free(out->ov);
        *out = (sr_list){0};
    }
    return rc;
}

/* Run q and write its hits as a JSON array; caller holds the read lock. */
static qv_status run(qv_collection *c, sr_query *q, qv_arena *a, jw *w, qv_error *err)
{
    sr_list l;
    qv_status rc = collect(c, q, a, (size_t)(q->limit + q->offset), &l, err);
    jw_arr_begin(w);
    for (size_t i = (size_t)q->offset; !rc && i < l.n; i++)
        write_hit(w, c, q, l.h[i].slot, score_of(q, l.h[i].order), l.ov ? &l.ov[i] : NULL);
    jw_arr_end(w);
    free(l.h);
    free(l.ov);
    return rc;
}

/* ---- groups ----------------------------------------------------------------------- */

#define SR_MAX_GROUP_SIZE 1024

/* with_lookup: a collection name, or {collection, with_payload (default
 * true), with_vectors (default false)}; each group then shows the point of
 * that collection whose id is the group's. The collection is held from
 * here (Qdrant too fails on a missing one before looking at any group). */
static qv_status with_lookup(sr_ctx *x, const jr_value *wl, sr_query *q)
{
    const jr_value *coll = wl, *wp = NULL;
    qv_status rc;
    if (wl->type == JR_OBJECT) {
        if ((rc = QV_NO_DUP(wl, "with_lookup", x->err, "collection", "with_payload", "with_vectors", "with_vector")))
            return rc;
        if (!(coll = jr_get(wl, "collection")))
            return qv_fail(x->err, QV_BAD_FORMAT, "with_lookup: missing field `collection`");
        wp = jr_get(wl, "with_payload");
    } else if (wl->type != JR_STRING) {
        return bad_type(x->err, "with_lookup", "a collection name or a WithLookup object");
    }
    if (!jr_is(coll, JR_STRING))
        return bad_type(x->err, "with_lookup.collection", "a string");
    if (strlen(coll->u.str) != coll->len)
        return qv_fail(x->err, QV_NOT_FOUND, "Collection %.200s not found", coll->u.str);
    x->lk = (sr_lookup){.coll = coll->u.str};
    rc = lookup_collection(x, &q->wl);
    x->lk = (sr_lookup){0};
    if (rc)
        return rc;
    if ((rc = rd_parse_with_payload(x->a, wp, true, &q->wl_sel, x->err)))
        return rc;
    if (wl->type == JR_OBJECT)  /* with_vectors, or its alias with_vector */
        return rd_parse_with_vector_of(x->a, &q->wl->schema, wl, false, &q->wl_sel, x->err);
    return rd_parse_with_vector(x->a, &q->wl->schema, NULL, false, &q->wl_sel, x->err);
}

/* group_by (a payload key, required), group_size and with_lookup of a
 * groups request; limit counts groups. */
static qv_status group_fields(sr_ctx *x, const jr_value *req, sr_query *q, uint64_t dflt_size)
{
    const jr_value *g = jr_get(req, "group_by"), *gs = jr_get(req, "group_size");
    if (!g)
        return qv_fail(x->err, QV_BAD_FORMAT, "missing field `group_by`");
    if (!jr_is(g, JR_STRING))
        return bad_type(x->err, "group_by", "a string");
    if (g->len == 0)
        return qv_fail(x->err, QV_VALIDATION, "group_by: length must be at least 1");
    if (pl_path_parse(x->a, g->u.str, g->len, &q->group_by, x->err) != 0)
        return x->err->code;
    q->group_size = dflt_size;
    if (!gs && dflt_size == 0)
        return qv_fail(x->err, QV_BAD_FORMAT, "missing field `group_size`");
    if (!jr_is_null(gs) && !jr_get_u64(gs, &q->group_size))
        return bad_type(x->err, "group_size", "an unsigned integer");
    if (q->group_size < 1)
        return qv_fail(x->err, QV_VALIDATION, "group_size: value 0 invalid, must be 1 or larger");
    if (q->group_size > SR_MAX_GROUP_SIZE || q->limit * q->group_size > SEARCH_MAX_LIMIT)
        return qv_fail(x->err, QV_VALIDATION, "limit × group_size: at most %u points", SEARCH_MAX_LIMIT);
    const jr_value *wl = jr_get(req, "with_lookup");
    return jr_is_null(wl) ? QV_OK : with_lookup(x, wl, q);
}

/* A group: its key (a string or an integer, as Qdrant groups by) and hits. */
typedef struct sr_group {
    bool        is_str;
    const char *s;
    size_t      len;
    int64_t     i;
    uint64_t    u;   /* PL_UINT */
    uint32_t    n;
    uint32_t   *slots;
    float      *scores;
} sr_group;

typedef struct group_pass {
    const sr_query *q;
    sr_group       *g;
    uint32_t        n_groups, n_full;  /* groups made; of them, holding group_size hits */
    uint32_t       *table;             /* group index + 1 by key hash (open addressing), 0 = empty */
    uint32_t        mask;
    uint32_t        slot;
    float           score;
    qv_arena       *a;
    bool            oom;
} group_pass;

static uint64_t group_hash(const pl_value *v)
{
    if (v->type == PL_STRING)
        return qv_hash_bytes(v->s, v->len);
    return qv_hash_mix64(v->type == PL_UINT ? v->u : (uint64_t)v->i);
}

static bool groups_full(const group_pass *gp)
{
    return gp->n_groups == gp->q->limit && gp->n_full == gp->n_groups;
}

static bool group_eq(const sr_group *g, const pl_value *v)
{
    if (v->type == PL_STRING)
        return g->is_str && g->len == v->len && memcmp(g->s, v->s, v->len) == 0;
    return !g->is_str && g->i == (v->type == PL_INT ? v->i : 0) && g->u == (v->type == PL_UINT ? v->u : 0);
}

static void group_add(group_pass *gp, const pl_value *v)
{
    if (v->type != PL_STRING && v->type != PL_INT && v->type != PL_UINT)
        return;
    uint32_t h = (uint32_t)group_hash(v) & gp->mask;
    while (gp->table[h] && !group_eq(&gp->g[gp->table[h] - 1], v))
        h = (h + 1) & gp->mask;
    sr_group *g;
    if (gp->table[h]) {
        g = &gp->g[gp->table[h] - 1];
    } else {
        if (gp->n_groups >= gp->q->limit)
            return;
        g = &gp->g[gp->n_groups];
        *g = (sr_group){.is_str = v->type == PL_STRING, .s = v->s, .len = v->len,
                        .i = v->type == PL_INT ? v->i : 0, .u = v->type == PL_UINT ? v->u : 0};
        g->slots = qv_arena_alloc(gp->a, gp->q->group_size * sizeof *g->slots);
        g->scores = qv_arena_alloc(gp->a, gp->q->group_size * sizeof *g->scores);
        if (!g->slots || !g->scores) {
            gp->oom = true;
            return;
        }
        gp->table[h] = ++gp->n_groups;
    }
    if (g->n < gp->q->group_size && (g->n == 0 || g->slots[g->n - 1] != gp->slot)) {
        g->slots[g->n] = gp->slot;
        g->scores[g->n++] = gp->score;
        gp->n_full += g->n == gp->q->group_size;
    }
}

/* A value of group_by: arrays count each element (a point may be in
 * several groups). */
static bool group_visit(void *ctx, const pl_value *v)
{
    if (v->type == PL_ARRAY) {
        pl_iter it;
        pl_value e;
        pl_iter_init(&it, v);
        while (pl_iter_next_elem(&it, &e))
            group_add(ctx, &e);
    } else {
        group_add(ctx, v);
    }
    return true;
}

/* A group's "lookup": the with_lookup collection's point whose id is the
 * group's (a UUID string or a non-negative integer), left out when there
 * is none, as Qdrant does. */
static void write_lookup(jw *w, const sr_query *q, const sr_group *g)
{
    qv_point_id id;
    if (g->is_str ? !pid_parse_uuid(g->s, g->len, &id) : (!g->u && g->i < 0))
        return;
    if (!g->is_str)
        id = (qv_point_id){.lo = g->u ? g->u : (uint64_t)g->i};
    int64_t slot = store_find(&q->wl->st, &id);
    if (slot < 0)
        return;
    jw_key(w, "lookup");
    rd_write_record(w, &q->wl->st, &q->wl->schema, (uint32_t)slot, &q->wl_sel);
}

/* Best hits first, grouped by the payload key: search for more hits until
 * limit groups of group_size are full or every point has been seen. */
static qv_status run_groups(qv_collection *c, sr_query *q, qv_arena *a, jw *w, qv_error *err)
{
    const store *s = &c->st;
    size_t cap = 4;
    while (cap < (size_t)q->limit * 2)
        cap *= 2;
    group_pass gp = {.q = q, .g = qv_arena_alloc(a, (size_t)q->limit * sizeof *gp.g),
                     .table = qv_arena_alloc(a, cap * sizeof *gp.table), .mask = (uint32_t)(cap - 1), .a = a};
    if (!gp.g || !gp.table)
        return oom(err);
    size_t k = (size_t)(q->limit * q->group_size * 4);
    if (k < 64)
        k = 64;
    for (;;) {
        sr_list l;
        qv_status rc = collect(c, q, a, k, &l, err);
        if (rc)
            return rc;
        gp.n_groups = gp.n_full = 0;
        memset(gp.table, 0, cap * sizeof *gp.table);
        for (size_t i = 0; i < l.n && !groups_full(&gp) && !gp.oom; i++) {
            const uint8_t *blob;
            size_t len;
            store_payload(s, l.h[i].slot, &blob, &len);
            gp.slot = l.h[i].slot;
            gp.score = score_of(q, l.h[i].order);
            pl_lookup(blob, len, &q->group_by, group_visit, &gp);
        }
        bool short_of = l.n == k && k < s->n_points && !groups_full(&gp);
        free(l.h);
        free(l.ov);
        if (gp.oom)
            return oom(err);
        if (!short_of)
            break;
        k *= 4;
    }
    sr_group *g = gp.g;
    uint32_t n = gp.n_groups;
    jw_obj_begin(w);
    jw_key(w, "groups");
    jw_arr_begin(w);
    for (uint32_t i = 0; i < n; i++) {
        jw_obj_begin(w);
        jw_key(w, "id");
        if (g[i].is_str)
            jw_strn(w, g[i].s, g[i].len);
        else if (g[i].u)
            jw_uint(w, g[i].u);
        else
            jw_int(w, g[i].i);
        jw_key(w, "hits");
        jw_arr_begin(w);
        for (uint32_t j = 0; j < g[i].n; j++)
            write_hit(w, c, q, g[i].slots[j], g[i].scores[j], NULL);
        jw_arr_end(w);
        if (q->wl)
            write_lookup(w, q, &g[i]);
        jw_obj_end(w);
    }
    jw_arr_end(w);
    jw_obj_end(w);
    return QV_OK;
}

/* ---- entry points ----------------------------------------------------------------- */

typedef qv_status (*sr_parse_fn)(sr_ctx *x, const jr_value *req, sr_query *q);

/* What an entry point answers: its request kind, and its shape. */
typedef struct sr_kind {
    sr_parse_fn parse;
    bool        batch;       /* {"searches": [...]} -> [...] */
    bool        query;       /* results wrapped as {"points": [...]} */
    bool        groups;      /* + group_by, group_size, with_lookup -> {"groups": [...]} */
    uint64_t    group_size;  /* its default (0: required) */
} sr_kind;

/* A search's hold on its collection: acquired, and the schema lock, which
 * queries are parsed against; and the call's arena. The points' read lock
 * is taken after it (hold_end releases both, and the arena). */
static qv_status hold_begin(qv_db *db, const char *name, qv_collection **c, qv_arena *a, size_t arena_block,
                            qv_error *err)
{
    qv_status rc = cat_acquire(db, name, c, err);
    if (rc)
        return rc;
    pthread_rwlock_rdlock(&(*c)->vlock);
    qv_arena_init(a, arena_block);
    return QV_OK;
}

static void hold_end(qv_collection *c, qv_arena *a, bool locked)
{
    if (locked)
        pthread_rwlock_unlock(&c->lock);
    qv_arena_free(a);
    pthread_rwlock_unlock(&c->vlock);
    cat_release(c);
}

/* One request: batch = {"searches": [...]}; query = results wrapped as
 * {"points": [...]}. The read lock is held from parsing (examples given by
 * id read stored vectors) to the last result, so all of it sees one state. */
static qv_status search_request(qv_db *db, const char *name, const sr_kind *kind, const char *request_json,
                                size_t len, char **json, size_t *out_len, qv_error *err)
{
    bool batch = kind->batch, query = kind->query, groups = kind->groups;
    qv_collection *c;
    qv_arena a;
    qv_status rc = hold_begin(db, name, &c, &a, 1 << 14, err);
    if (rc)
        return rc;
    jr_value *root;
    bool locked = false;
    sr_ctx x = {0};
    if ((rc = qv_parse_request(&a, request_json, len, &root, err)))
        goto done;
    if (root->type != JR_OBJECT) {
        rc = qv_fail(err, QV_BAD_FORMAT, "expected a JSON object");
        goto done;
    }
    const jr_value *list = root;
    size_t n = 1;
    if (batch) {
        list = jr_get(root, "searches");
        if (!list) {
            rc = qv_fail(err, QV_BAD_FORMAT, "missing field `searches`");
            goto done;
        }
        if (list->type != JR_ARRAY) {
            rc = bad_type(err, "searches", "a sequence");
            goto done;
        }
        if (list->len > SEARCH_MAX_BATCH) {
            rc = qv_fail(err, QV_VALIDATION, "searches: at most %d searches in one batch", SEARCH_MAX_BATCH);
            goto done;
        }
        n = list->len;
    }
    sr_query *qs = qv_arena_alloc(&a, (n ? n : 1) * sizeof *qs);
    if (!qs) {
        rc = oom(err);
        goto done;
    }
    x = (sr_ctx){.db = db, .c = c, .a = &a, .err = err};
    for (size_t i = 0; i < n; i++)
        if ((rc = hold_lookups(&x, batch ? &list->u.items[i] : root, 0)))
            goto done;
    pthread_rwlock_rdlock(&c->lock);
    locked = true;
    for (size_t i = 0; i < n; i++) {
        const jr_value *req = batch ? &list->u.items[i] : root;
        if ((rc = kind->parse(&x, req, &qs[i])) ||
            (groups && (rc = group_fields(&x, req, &qs[i], kind->group_size))))
            goto done;
    }
    qv_buf b = QV_BUF_INIT;
    jw w;
    jw_init(&w, &b);
    if (batch)
        jw_arr_begin(&w);
    for (size_t i = 0; i < n && !rc; i++) {
        if (groups) {
            rc = run_groups(c, &qs[i], &a, &w, err);
            continue;
        }
        if (query) {
            jw_obj_begin(&w);
            jw_key(&w, "points");
        }
        rc = run(c, &qs[i], &a, &w, err);
        if (query)
            jw_obj_end(&w);
    }
    if (batch)
        jw_arr_end(&w);
    if (rc)
        qv_buf_free(&b);
    else
        rc = qv_take_json(&b, json, out_len, err);
done:
    for (sr_held *h = x.held; h; h = h->next) {
        if (h->locked)
            pthread_rwlock_unlock(&h->c->lock);
        cat_release(h->c);
    }
    hold_end(c, &a, locked);
    return rc;
}

#define SR_ENTRY(fn, ...)                                                                                  \
    qv_status fn(qv_db *db, const char *name, const char *request_json, size_t len, char **json,          \
                 size_t *out_len, qv_error *err)                                                           \
    {                                                                                                      \
        static const sr_kind kind = {.parse = __VA_ARGS__};                                                       \
        return search_request(db, name, &kind, request_json, len, json, out_len, err);                    \
    }

SR_ENTRY(qv_points_search, parse_search)
SR_ENTRY(qv_points_search_batch, parse_search, .batch = true)
SR_ENTRY(qv_points_search_groups, parse_search, .groups = true)
SR_ENTRY(qv_points_recommend, parse_recommend)
SR_ENTRY(qv_points_recommend_batch, parse_recommend, .batch = true)
SR_ENTRY(qv_points_recommend_groups, parse_recommend, .groups = true)
SR_ENTRY(qv_points_discover, parse_discover)
SR_ENTRY(qv_points_discover_batch, parse_discover, .batch = true)
SR_ENTRY(qv_points_query, parse_query, .query = true)
SR_ENTRY(qv_points_query_batch, parse_query, .batch = true, .query = true)
/* QueryGroupsRequest: group_size 3 by default */
SR_ENTRY(qv_points_query_groups, parse_query, .query = true, .groups = true, .group_size = 3)

/* ---- search/matrix ---------------------------------------------------------------- */

#define MATRIX_DEFAULT_SAMPLE 10
#define MATRIX_DEFAULT_LIMIT  3
#define MATRIX_MAX_SAMPLE     10000  /* sample² distances: bounded, unlike Qdrant's */

/* The sample in id order (Qdrant's, for a deterministic matrix). */
static qv_status sort_by_id(const store *s, qv_arena *a, sr_hit *h, size_t n, qv_error *err)
{
    pid_slot *t = qv_arena_alloc(a, (n ? n : 1) * sizeof *t);
    if (!t)
        return oom(err);
    for (size_t i = 0; i < n; i++)
        t[i] = (pid_slot){s->ids[h[i].slot], h[i].slot};
    qsort(t, n, sizeof *t, pid_slot_cmp);
    for (size_t i = 0; i < n; i++)
        h[i] = (sr_hit){0, t[i].slot};
    return QV_OK;
}

/* Where slot is in the id-sorted sample (it is there). */
static uint64_t sample_offset(const store *s, const sr_hit *smp, size_t n, uint32_t slot)
{
    size_t lo = 0, hi = n;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (pid_cmp(&s->ids[smp[mid].slot], &s->ids[slot]) <= 0)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/*
 * search/matrix (Qdrant's): a random sample of the points that match the
 * filter and hold the `using` vector, in id order; for each, its `limit`
 * nearest among the sample, itself left out. Fewer than two sampled points
 * give an empty matrix. O(sample² · dim).
 */
static qv_status matrix(qv_db *db, const char *name, bool offsets, const char *request_json, size_t len,
                        char **json, size_t *out_len, qv_error *err)
{
    qv_collection *c;
    qv_status rc = cat_acquire(db, name, &c, err);
    if (rc)
        return rc;
    pthread_rwlock_rdlock(&c->vlock);
    qv_arena a;
    qv_arena_init(&a, 1 << 12);
    jr_value *root;
    sr_query q = {.mode = SQ_SAMPLE, .need_vec = true};
    sr_ctx x = {.db = db, .c = c, .a = &a, .err = err};
    uint64_t n_sample = MATRIX_DEFAULT_SAMPLE, limit = MATRIX_DEFAULT_LIMIT;
    const char *using = "";
    sr_list smp = {0};
    sr_hit *row = NULL;
    bool locked = false;
    if ((rc = qv_parse_request(&a, request_json, len, &root, err)))
        goto done;
    if (root->type != JR_OBJECT) {
        rc = qv_fail(err, QV_BAD_FORMAT, "expected a JSON object");
        goto done;
    }
    const jr_value *f = jr_get(root, "filter"), *sv = jr_get(root, "sample"), *lv = jr_get(root, "limit");
    if ((rc = QV_NO_DUP(root, NULL, err, "filter", "sample", "limit", "using", "shard_key")) ||
        (!jr_is_null(f) && (rc = flt_parse(&a, f, "filter", &q.filter, err))) || (rc = using_of(&x, root, &using)))
        goto done;
    if (!jr_is_null(sv) && !jr_get_u64(sv, &n_sample)) {
        rc = bad_type(err, "sample", "an unsigned integer");
        goto done;
    }
    if (!jr_is_null(lv) && !jr_get_u64(lv, &limit)) {
        rc = bad_type(err, "limit", "an unsigned integer");
        goto done;
    }
    if (n_sample < 2 || n_sample > MATRIX_MAX_SAMPLE) {
        rc = qv_fail(err, QV_VALIDATION, n_sample < 2 ? "sample: value %llu invalid, must be 2 or larger"
                                                      : "sample: value %llu invalid, must be 10000 or smaller",
                     (unsigned long long)n_sample);
        goto done;
    }
    if (limit < 1) {
        rc = qv_fail(err, QV_VALIDATION, "limit: value 0 invalid, must be 1 or larger");
        goto done;
    }
    if ((rc = use_column(&c->schema, using, &q, err)))
        goto done;
    pthread_rwlock_rdlock(&c->lock);
    locked = true;
    const store *s = &c->st;
    sr_scorer sc = {.q = &q, .order = q.sparse ? NULL : dist_order_fn(dist_kernels_best(), q.metric)};
    if ((rc = sample(c, &q, NULL, n_sample < s->n_points ? (size_t)n_sample : s->n_points, &smp, err)))
        goto done;
    size_t n = smp.n < 2 ? 0 : smp.n;
    if (limit > n)
        limit = n;  /* at most n - 1 others, and itself */
    if ((rc = sort_by_id(s, &a, smp.h, n, err)))
        goto done;
    /* Each sampled point's nearest among the sample: limit + 1 with itself. */
    sr_hit *all = NULL;
    size_t *cnt = NULL;
    if (n && (!(all = qv_arena_alloc(&a, n * (size_t)limit * sizeof *all)) ||
              !(cnt = qv_arena_calloc(&a, n, sizeof *cnt)) || !(row = malloc(((size_t)limit + 1) * sizeof *row)))) {
        rc = oom(err);
        goto done;
    }
    for (size_t i = 0; i < n && !rc; i++) {
        sr_query qi = q;
        qi.mode = SQ_NEAREST;
        qi.filter = NULL;
        qi.has_threshold = false;
        sc.q = &qi;
        if (q.sparse)
            rc = stored_sparse(&a, s->sparse[q.col][smp.h[i].slot], &qi.target, err);
        else
            qi.target.v = (float *)store_dense(s, q.col, smp.h[i].slot);
        topk hp;
        topk_init(&hp, (uint32_t)limit + 1, row, id_tie, (void *)s, err);  /* memory given: cannot fail */
        for (size_t j = 0; j < n && !rc; j++)
            score_slot(s, &c->schema, &qi, &sc, smp.h[j].slot, &hp);
        size_t m = topk_sorted(&hp), k = 0;
        for (size_t j = 0; j < m && k < limit; j++)
            if (row[j].slot != smp.h[i].slot)
                all[i * limit + k++] = (sr_hit){score_of(&qi, row[j].order), row[j].slot};
        cnt[i] = k;
    }
    if (rc)
        goto done;
    qv_buf b = QV_BUF_INIT;
    jw w;
    jw_init(&w, &b);
    jw_obj_begin(&w);
    if (!offsets) {
        jw_key(&w, "pairs");
        jw_arr_begin(&w);
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < cnt[i]; j++) {
                jw_obj_begin(&w);
                jw_key(&w, "a");
                pid_write(&w, &s->ids[smp.h[i].slot]);
                jw_key(&w, "b");
                pid_write(&w, &s->ids[all[i * limit + j].slot]);
                jw_key(&w, "score");
                jw_f32(&w, all[i * limit + j].order);
                jw_obj_end(&w);
            }
        jw_arr_end(&w);
    } else {
        /* columns are offsets into the id-sorted sample: binary search by id */
        jw_key(&w, "offsets_row");
        jw_arr_begin(&w);
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < cnt[i]; j++)
                jw_uint(&w, i);
        jw_arr_end(&w);
        jw_key(&w, "offsets_col");
        jw_arr_begin(&w);
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < cnt[i]; j++) {
                jw_uint(&w, sample_offset(s, smp.h, n, all[i * limit + j].slot));
            }
        jw_arr_end(&w);
        jw_key(&w, "scores");
        jw_arr_begin(&w);
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < cnt[i]; j++)
                jw_f32(&w, all[i * limit + j].order);
        jw_arr_end(&w);
        jw_key(&w, "ids");
        jw_arr_begin(&w);
        for (size_t i = 0; i < n; i++)
            pid_write(&w, &s->ids[smp.h[i].slot]);
        jw_arr_end(&w);
    }
    jw_obj_end(&w);
    rc = qv_take_json(&b, json, out_len, err);
done:
    if (locked)
        pthread_rwlock_unlock(&c->lock);
    free(smp.h);
    free(row);
    qv_arena_free(&a);
    pthread_rwlock_unlock(&c->vlock);
    cat_release(c);
    return rc;
}

qv_status qv_points_search_matrix_pairs(qv_db *db, const char *name, const char *request_json, size_t len,
                                        char **json, size_t *out_len, qv_error *err)
{
    return matrix(db, name, false, request_json, len, json, out_len, err);
}

qv_status qv_points_search_matrix_offsets(qv_db *db, const char *name, const char *request_json, size_t len,
                                          char **json, size_t *out_len, qv_error *err)
{
    return matrix(db, name, true, request_json, len, json, out_len, err);
}

/* ---- the typed call --------------------------------------------------------------- */

/* The query of a typed request, checked as parse_search checks the JSON
 * one (same messages); the filter parsed from its text. */
static qv_status typed_query(sr_ctx *x, const qv_search_request *req, sr_query *q)
{
    qv_error *err = x->err;
    const char *name = req->vector ? req->vector : "";
    *q = (sr_query){.mode = SQ_NEAREST};
    qv_status rc = use_column(&x->c->schema, name, q, err);
    if (rc)
        return rc;
    if (q->sparse)
        return qv_fail(err, QV_BAD_INPUT,
                       "Conversion between sparse and regular vectors failed: `%s` is a sparse vector", name);
    if (req->dim != q->dim)
        return qv_fail(err, QV_BAD_INPUT, "Vector dimension error: expected dim: %u, got %u", q->dim, req->dim);
    if (!req->query)
        return qv_fail(err, QV_BAD_INPUT, "vector: missing");
    if (req->limit < 1)
        return qv_fail(err, QV_VALIDATION, "limit: value 0 invalid, must be 1 or larger");
    if (req->limit > SEARCH_MAX_LIMIT || req->offset > SEARCH_MAX_LIMIT)
        return qv_fail(err, QV_VALIDATION, "limit + offset: at most %u", SEARCH_MAX_LIMIT);
    if (!(q->target.v = qv_arena_alloc(x->a, (size_t)q->dim * sizeof *q->target.v)))
        return oom(err);
    memcpy(q->target.v, req->query, (size_t)q->dim * sizeof *q->target.v);
    normalize_all(q);
    q->limit = req->limit;
    q->offset = req->offset;
    q->hnsw_ef = req->hnsw_ef;
    q->exact = req->exact;
    q->has_threshold = req->has_threshold;
    q->threshold = req->score_threshold;
    if (req->filter_json) {
        jr_value *f;
        if ((rc = qv_parse_request(x->a, req->filter_json, req->filter_len, &f, err)) ||
            (!jr_is_null(f) && (rc = flt_parse(x->a, f, "filter", &q->filter, err))))
            return rc;
        q->filter_src = q->filter ? f : NULL;
    }
    return QV_OK;
}

qv_status qv_search(qv_db *db, const char *name, const qv_search_request *req, qv_hit *out, size_t *n_out,
                    qv_error *err)
{
    *n_out = 0;
    qv_collection *c;
    qv_arena a;
    qv_status rc = hold_begin(db, name, &c, &a, 1 << 12, err);
    if (rc)
        return rc;
    sr_ctx x = {.c = c, .a = &a, .err = err};
    sr_query q;
    bool locked = false;
    if ((rc = typed_query(&x, req, &q)))
        goto done;
    pthread_rwlock_rdlock(&c->lock);
    locked = true;
    sr_list l;
    if ((rc = collect(c, &q, &a, (size_t)(q.limit + q.offset), &l, err)))
        goto done;
    for (size_t i = (size_t)q.offset; i < l.n; i++) {
        const qv_point_id *id = &c->st.ids[l.h[i].slot];
        qv_hit *h = &out[(*n_out)++];
        h->score = score_of(&q, l.h[i].order);
        h->is_uuid = id->uuid;
        h->id = id->uuid ? 0 : id->lo;
        memset(h->uuid, 0, sizeof h->uuid);
        if (id->uuid)
            for (int b = 0; b < 8; b++) {
                h->uuid[b] = (uint8_t)(id->hi >> (56 - 8 * b));
                h->uuid[8 + b] = (uint8_t)(id->lo >> (56 - 8 * b));
            }
    }
    free(l.h);
    free(l.ov);
done:
    hold_end(c, &a, locked);
    return rc;
}
