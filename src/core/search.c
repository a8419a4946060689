/*
 * search.c — nearest neighbours: POST /points/search, /points/search/batch,
 * /points/query and /points/query/batch (quiver.h).
 *
 * Every request is parsed whole into sr_query values first (vectors
 * checked, Cosine queries normalized as stored vectors are), then run under
 * the collection's read lock. Search is exact here: every live point with
 * the vector is scored with the start-up kernels (vector/dist.h) and kept in
 * a bounded heap of limit + offset, O(n·dim + n·log k). Ties break by point
 * id, so the answer equals a brute-force sort by (score, id).
 */
#define _GNU_SOURCE  /* qsort_r */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/db.h"
#include "core/internal.h"
#include "core/read.h"
#include "index/idtree.h"
#include "vector/dist.h"

#define QUERY_DEFAULT_LIMIT 10
#define SEARCH_MAX_BATCH    1024   /* searches in one batch request */
#define SEARCH_MAX_LIMIT    (1u << 20)

typedef struct sr_query {
    bool            sparse;
    uint32_t        col;        /* dense or sparse column index */
    dist_metric     metric;     /* dense only */
    const float    *vec;        /* dense: dim floats (normalized for Cosine) */
    const uint32_t *idx;        /* sparse */
    const float    *val;
    uint32_t        nnz;
    bool            by_id;      /* no vector: points in id order */
    bool            none;
    int64_t         exclude;    /* slot to leave out (query by id), or -1 */
    flt_filter     *filter;
    uint64_t        limit, offset;
    bool            has_threshold;
    float           threshold;
    rd_select       sel;
} sr_query;

typedef struct sr_hit {
    float    order;  /* smaller = better */
    uint32_t slot;
} sr_hit;

/* ---- parsing ---------------------------------------------------------------------- */

static qv_status bad_type(qv_error *err, const char *field, const char *want)
{
    return qv_fail(err, QV_BAD_FORMAT, "%s: invalid type, expected %s", field, want);
}

static qv_status no_vector_name(qv_error *err, const char *name)
{
    return qv_fail(err, QV_BAD_INPUT, "Not existing vector name error: %s", name);
}

/* A dense query for the column named name. */
static qv_status dense_query(qv_arena *a, const cfg_collection *cfg, const char *name, const jr_value *arr,
                             sr_query *q, qv_error *err)
{
    int col = -1;
    for (uint32_t v = 0; v < cfg->n_vectors; v++)
        if (strcmp(cfg->vectors[v].name, name) == 0)
            col = (int)v;
    if (col < 0) {
        if (cfg_find_sparse(cfg, name) >= 0)
            return qv_fail(err, QV_BAD_INPUT,
                           "Conversion between sparse and regular vectors failed: `%s` is a sparse vector", name);
        return no_vector_name(err, name);
    }
    const cfg_vector *cv = &cfg->vectors[col];
    if (arr->len > 0 && arr->u.items[0].type == JR_ARRAY)
        return qv_fail(err, QV_UNSUPPORTED, "multivectors are not supported by Quiver yet");
    if (arr->len != cv->size)
        return qv_fail(err, QV_BAD_INPUT, "Vector dimension error: expected dim: %u, got %u", cv->size, arr->len);
    float *vals = qv_arena_alloc(a, (size_t)(arr->len ? arr->len : 1) * sizeof *vals);
    if (!vals)
        return qv_fail(err, QV_NOMEM, "out of memory");
    for (uint32_t i = 0; i < arr->len; i++)
        if (!jr_get_f32(&arr->u.items[i], &vals[i]))
            return qv_fail(err, QV_BAD_FORMAT, "vector[%u]: invalid type, expected f32", i);
    if (cv->distance == CFG_COSINE)
        dist_normalize(vals, arr->len);
    q->sparse = false;
    q->col = (uint32_t)col;
    q->metric = (dist_metric)cv->distance;
    q->vec = vals;
    return QV_OK;
}

/* A sparse query {indices, values} for the column named name. */
static qv_status sparse_query(qv_arena *a, const cfg_collection *cfg, const char *name, const jr_value *o,
                              sr_query *q, qv_error *err)
{
    int col = cfg_find_sparse(cfg, name);
    if (col < 0) {
        if (cfg_find_vector(cfg, name))
            return qv_fail(err, QV_BAD_INPUT,
                           "Conversion between sparse and regular vectors failed: `%s` is a dense vector", name);
        return no_vector_name(err, name);
    }
    const jr_value *ix = jr_get(o, "indices"), *vs = jr_get(o, "values");
    if (!jr_is(ix, JR_ARRAY) || !jr_is(vs, JR_ARRAY))
        return qv_fail(err, QV_BAD_FORMAT, "vector: missing field `%s`", jr_is(ix, JR_ARRAY) ? "values" : "indices");
    if (ix->len != vs->len)
        return qv_fail(err, QV_VALIDATION, "vector.values: must be the same length as indices");
    uint32_t n = ix->len;
    uint32_t *idx = qv_arena_alloc(a, (size_t)(n ? n : 1) * sizeof *idx);
    float *val = qv_arena_alloc(a, (size_t)(n ? n : 1) * sizeof *val);
    if (!idx || !val)
        return qv_fail(err, QV_NOMEM, "out of memory");
    for (uint32_t i = 0; i < n; i++) {
        uint64_t u;
        if (!jr_get_u64(&ix->u.items[i], &u) || u > UINT32_MAX)
            return qv_fail(err, QV_BAD_FORMAT, "vector.indices[%u]: expected u32", i);
        idx[i] = (uint32_t)u;
        if (!jr_get_f32(&vs->u.items[i], &val[i]))
            return qv_fail(err, QV_BAD_FORMAT, "vector.values[%u]: expected f32", i);
        for (uint32_t j = 0; j < i; j++)  /* nnz of a query is small; Qdrant checks too */
            if (idx[j] == idx[i])
                return qv_fail(err, QV_VALIDATION, "vector.indices: must be unique");
    }
    q->sparse = true;
    q->col = (uint32_t)col;
    q->idx = idx;
    q->val = val;
    q->nnz = n;
    return QV_OK;
}

/* A vector input: a list of floats, {indices, values} (sparse), under the
 * vector name `using`. */
static qv_status vector_input(qv_arena *a, const cfg_collection *cfg, const char *name, const jr_value *v,
                              sr_query *q, qv_error *err)
{
    if (v->type == JR_ARRAY)
        return dense_query(a, cfg, name, v, q, err);
    if (v->type == JR_OBJECT && jr_get(v, "indices"))
        return sparse_query(a, cfg, name, v, q, err);
    return bad_type(err, "vector", "a list of floats or a sparse vector");
}

static qv_status common_fields(qv_arena *a, const cfg_collection *cfg, const jr_value *req, uint64_t dflt_limit,
                               sr_query *q, qv_error *err)
{
    qv_status rc;
    const jr_value *f = jr_get(req, "filter");
    if (!jr_is_null(f) && (rc = flt_parse(a, f, "filter", &q->filter, err)))
        return rc;
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
    if (!jr_is_null(params) && params->type != JR_OBJECT)
        return bad_type(err, "params", "a SearchParams object");
    if ((rc = rd_parse_with_payload(a, jr_get(req, "with_payload"), false, &q->sel, err)))
        return rc;
    return rd_parse_with_vector_of(a, cfg, req, false, &q->sel, err);
}

/* A classic SearchRequest: vector is a list (the unnamed vector), a
 * NamedVector {name, vector: [...]} or a NamedSparseVector
 * {name, vector: {indices, values}}. */
static qv_status parse_search(qv_arena *a, const cfg_collection *cfg, const jr_value *req, sr_query *q,
                              qv_error *err)
{
    *q = (sr_query){.exclude = -1};
    if (!jr_is(req, JR_OBJECT))
        return bad_type(err, "search request", "a SearchRequest object");
    const jr_value *v = jr_get(req, "vector");
    if (!v)
        return qv_fail(err, QV_BAD_FORMAT, "missing field `vector`");
    qv_status rc;
    if (v->type == JR_OBJECT && jr_get(v, "name")) {
        const jr_value *nm = jr_get(v, "name"), *inner = jr_get(v, "vector");
        if (!jr_is(nm, JR_STRING))
            return bad_type(err, "vector.name", "a string");
        if (!inner)
            return qv_fail(err, QV_BAD_FORMAT, "vector: missing field `vector`");
        rc = vector_input(a, cfg, nm->u.str, inner, q, err);
    } else {
        rc = vector_input(a, cfg, "", v, q, err);
    }
    return rc ? rc : common_fields(a, cfg, req, 0, q, err);
}

/* The vector of point id in column (dense col or sparse col) as a query. */
static qv_status query_by_id(qv_collection *c, const jr_value *idv, const char *name, sr_query *q,
                             qv_arena *a, qv_error *err)
{
    qv_point_id id;
    if (!pid_from_json(idv, &id))
        return bad_type(err, "query", "a point id, a vector or a query object");
    const cfg_collection *cfg = &c->schema;
    const cfg_vector *cv = cfg_find_vector(cfg, name);
    int sp = cv ? -1 : cfg_find_sparse(cfg, name);
    if (!cv && sp < 0)
        return no_vector_name(err, name);
    char ids[64];
    pid_format(&id, ids);
    pthread_rwlock_rdlock(&c->lock);
    int64_t slot = store_find(&c->st, &id);
    qv_status rc = QV_OK;
    if (slot < 0) {
        rc = qv_fail(err, QV_NOT_FOUND, "No point with id %s found", ids);
    } else if (cv) {
        uint32_t col = (uint32_t)(cv - cfg->vectors);
        if (!store_has_dense(&c->st, col, (uint32_t)slot)) {
            rc = qv_fail(err, QV_BAD_INPUT, "Vector of point %s is not found: %s", ids, name);
        } else {
            float *vals = qv_arena_alloc(a, (size_t)cv->size * sizeof *vals);
            if (!vals)
                rc = qv_fail(err, QV_NOMEM, "out of memory");
            else
                memcpy(vals, store_dense(&c->st, col, (uint32_t)slot), (size_t)cv->size * sizeof *vals);
            *q = (sr_query){.col = col, .metric = (dist_metric)cv->distance, .vec = vals};
        }
    } else {
        const st_sparse_vec *sv = c->st.sparse[sp][slot];
        if (!sv) {
            rc = qv_fail(err, QV_BAD_INPUT, "Vector of point %s is not found: %s", ids, name);
        } else {
            uint32_t *idx = qv_arena_alloc(a, (size_t)(sv->n ? sv->n : 1) * 4);
            float *val = qv_arena_alloc(a, (size_t)(sv->n ? sv->n : 1) * 4);
            if (!idx || !val) {
                rc = qv_fail(err, QV_NOMEM, "out of memory");
            } else {
                memcpy(idx, sv->data, (size_t)sv->n * 4);
                memcpy(val, sv->data + sv->n, (size_t)sv->n * 4);
            }
            *q = (sr_query){.sparse = true, .col = (uint32_t)sp, .idx = idx, .val = val, .nnz = sv->n};
        }
    }
    pthread_rwlock_unlock(&c->lock);
    /* Qdrant leaves the points a query names out of its results. */
    q->exclude = rc ? -1 : slot;
    return rc;
}

/* A QueryRequest. Supported: query = a vector, a sparse vector, a point id,
 * {"nearest": any of those}; no query (points in id order). */
static qv_status parse_query(qv_collection *c, qv_arena *a, const jr_value *req, sr_query *q, qv_error *err)
{
    const cfg_collection *cfg = &c->schema;
    *q = (sr_query){.exclude = -1};
    if (!jr_is(req, JR_OBJECT))
        return bad_type(err, "query request", "a QueryRequest object");
    const jr_value *pf = jr_get(req, "prefetch");
    if (!jr_is_null(pf))
        return qv_fail(err, QV_UNSUPPORTED, "prefetch is not supported by Quiver yet");
    if (!jr_is_null(jr_get(req, "lookup_from")))
        return qv_fail(err, QV_UNSUPPORTED, "lookup_from is not supported by Quiver yet");
    const jr_value *us = jr_get(req, "using");
    if (!jr_is_null(us) && !jr_is(us, JR_STRING))
        return bad_type(err, "using", "a string");
    const char *name = jr_is(us, JR_STRING) ? us->u.str : "";
    const jr_value *qv = jr_get(req, "query");
    qv_status rc = QV_OK;
    int64_t exclude = -1;
    if (jr_is_null(qv)) {
        q->none = true;
    } else {
        if (qv->type == JR_OBJECT && jr_get(qv, "nearest")) {
            if (!jr_is_null(jr_get(qv, "mmr")))
                return qv_fail(err, QV_UNSUPPORTED, "query.mmr is not supported by Quiver yet");
            qv = jr_get(qv, "nearest");
        } else if (qv->type == JR_OBJECT && !jr_get(qv, "indices")) {
            const char *kind = qv->len ? qv->u.members[0].key : "{}";
            return qv_fail(err, QV_UNSUPPORTED, "query `%s` is not supported by Quiver yet", kind);
        }
        if (qv->type == JR_ARRAY || qv->type == JR_OBJECT)
            rc = vector_input(a, cfg, name, qv, q, err);
        else
            rc = query_by_id(c, qv, name, q, a, err);
        exclude = q->exclude;
    }
    if (rc || (rc = common_fields(a, cfg, req, QUERY_DEFAULT_LIMIT, q, err)))
        return rc;
    q->exclude = exclude;
    return QV_OK;
}

/* ---- running ---------------------------------------------------------------------- */

/* Is a better than b: smaller order, then smaller id. */
static bool better(const store *s, sr_hit a, sr_hit b)
{
    if (a.order != b.order)
        return a.order < b.order;
    return pid_cmp(&s->ids[a.slot], &s->ids[b.slot]) < 0;
}

/* A bounded heap of the k best hits, the worst at the root. */
typedef struct sr_heap {
    sr_hit  *h;
    size_t   n, k;
    const store *s;
} sr_heap;

static void heap_push(sr_heap *hp, sr_hit x)
{
    sr_hit *h = hp->h;
    if (hp->n == hp->k) {
        if (!better(hp->s, x, h[0]))
            return;
        size_t i = 0;  /* replace the root and sift down */
        for (;;) {
            size_t l = 2 * i + 1, r = l + 1, w = i;
            sr_hit cur = w == i ? x : h[w];
            if (l < hp->n && better(hp->s, cur, h[l]))
                w = l, cur = h[l];
            if (r < hp->n && better(hp->s, cur, h[r]))
                w = r;
            if (w == i)
                break;
            h[i] = h[w];
            i = w;
        }
        h[i] = x;
        return;
    }
    size_t i = hp->n++;
    while (i > 0 && better(hp->s, h[(i - 1) / 2], x)) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = x;
}

static int hit_cmp(const void *x, const void *y, void *ctx)
{
    const store *s = ctx;
    sr_hit a = *(const sr_hit *)x, b = *(const sr_hit *)y;
    return better(s, a, b) ? -1 : better(s, b, a) ? 1 : 0;
}

/* Dot of a stored sparse vector with the query (indices looked up in a
 * small open-addressing table of the query's). */
typedef struct sp_table {
    uint32_t *key;
    float    *val;
    uint32_t  mask;
} sp_table;

static bool sp_lookup(const sp_table *t, uint32_t k, float *v)
{
    for (uint32_t i = (k * 2654435761u) & t->mask;; i = (i + 1) & t->mask) {
        if (t->key[i] == UINT32_MAX)
            return false;
        if (t->key[i] == k) {
            *v = t->val[i];
            return true;
        }
    }
}

static bool passes(const sr_query *q, float score)
{
    if (!q->has_threshold)
        return true;
    return q->sparse || dist_higher_better(q->metric) ? score > q->threshold : score < q->threshold;
}

static float score_of(const sr_query *q, float order)
{
    return q->sparse ? -order : dist_score(q->metric, order);
}

/* Score every live point with the vector into hp; caller holds the read lock. */
static qv_status scan(qv_collection *c, const sr_query *q, qv_arena *a, sr_heap *hp, qv_error *err)
{
    const store *s = &c->st;
    const dist_kernels *k = dist_kernels_best();
    dist_fn fn = q->sparse ? NULL : dist_order_fn(k, q->metric);
    uint32_t dim = q->sparse ? 0 : s->dense[q->col].dim;
    sp_table t = {0};
    if (q->sparse) {
        uint32_t cap = 4;
        while (cap < q->nnz * 2)
            cap *= 2;
        t.key = qv_arena_alloc(a, (size_t)cap * 4);
        t.val = qv_arena_alloc(a, (size_t)cap * 4);
        if (!t.key || !t.val)
            return qv_fail(err, QV_NOMEM, "out of memory");
        memset(t.key, 0xff, (size_t)cap * 4);
        t.mask = cap - 1;
        for (uint32_t i = 0; i < q->nnz; i++) {
            uint32_t j = (q->idx[i] * 2654435761u) & t.mask;
            while (t.key[j] != UINT32_MAX)
                j = (j + 1) & t.mask;
            t.key[j] = q->idx[i];
            t.val[j] = q->val[i];
        }
    }
    for (uint32_t slot = 0; slot < s->n_slots; slot++) {
        if (!store_live(s, slot) || (int64_t)slot == q->exclude)
            continue;
        float order;
        if (q->sparse) {
            const st_sparse_vec *sv = s->sparse[q->col][slot];
            if (!sv)
                continue;
            const float *vals = (const float *)(sv->data + sv->n);
            float dot = 0, v;
            bool shared = false;
            for (uint32_t i = 0; i < sv->n; i++)
                if (sp_lookup(&t, sv->data[i], &v)) {
                    dot += v * vals[i];
                    shared = true;
                }
            if (!shared)  /* Qdrant leaves out points with no index in common */
                continue;
            order = -dot;
        } else {
            if (!store_has_dense(s, q->col, slot))
                continue;
            order = fn(q->vec, store_dense(s, q->col, slot), dim);
        }
        if (!passes(q, score_of(q, order)))
            continue;
        if (q->filter) {
            flt_point fp;
            store_filter_point(s, &c->schema, slot, &fp);
            if (!flt_match(q->filter, &fp))
                continue;
        }
        heap_push(hp, (sr_hit){order, slot});
    }
    return QV_OK;
}

static void write_hit(jw *w, const qv_collection *c, const sr_query *q, uint32_t slot, float score, bool scored)
{
    jw_obj_begin(w);
    jw_key(w, "id");
    pid_write(w, &c->st.ids[slot]);
    jw_key(w, "version");
    jw_uint(w, 0);
    jw_key(w, "score");
    jw_f32(w, scored ? score : 0);
    rd_write_payload_vector(w, &c->st, &c->schema, slot, &q->sel);
    jw_obj_end(w);
}

/* Run q and write its hits as a JSON array; caller holds the read lock. */
static qv_status run(qv_collection *c, const sr_query *q, qv_arena *a, jw *w, qv_error *err)
{
    const store *s = &c->st;
    jw_arr_begin(w);
    if (q->none) {  /* points in id order, score 0 */
        idt_iter it;
        idt_seek(&s->order, NULL, &it);
        qv_point_id id;
        uint32_t slot;
        uint64_t seen = 0, out = 0;
        while (out < q->limit && idt_next(&it, &id, &slot)) {
            if (q->filter) {
                flt_point fp;
                store_filter_point(s, &c->schema, slot, &fp);
                if (!flt_match(q->filter, &fp))
                    continue;
            }
            if (seen++ < q->offset)
                continue;
            write_hit(w, c, q, slot, 0, false);
            out++;
        }
        jw_arr_end(w);
        return QV_OK;
    }
    size_t k = (size_t)(q->limit + q->offset);
    if (k > s->n_points)
        k = s->n_points;
    sr_heap hp = {.h = malloc((k ? k : 1) * sizeof(sr_hit)), .k = k, .s = s};
    if (!hp.h)
        return qv_fail(err, QV_NOMEM, "out of memory");
    qv_status rc = k ? scan(c, q, a, &hp, err) : QV_OK;
    if (!rc) {
        qsort_r(hp.h, hp.n, sizeof *hp.h, hit_cmp, (void *)s);
        for (size_t i = (size_t)q->offset; i < hp.n; i++)
            write_hit(w, c, q, hp.h[i].slot, score_of(q, hp.h[i].order), true);
    }
    free(hp.h);
    jw_arr_end(w);
    return rc;
}

/* ---- entry points ----------------------------------------------------------------- */

typedef enum sr_kind { SR_SEARCH, SR_SEARCH_BATCH, SR_QUERY, SR_QUERY_BATCH } sr_kind;

static qv_status parse_one(qv_collection *c, qv_arena *a, sr_kind kind, const jr_value *req, sr_query *q,
                           qv_error *err)
{
    return kind == SR_SEARCH || kind == SR_SEARCH_BATCH ? parse_search(a, &c->schema, req, q, err)
                                                        : parse_query(c, a, req, q, err);
}

static qv_status search_request(qv_db *db, const char *name, sr_kind kind, const char *request_json, size_t len,
                                char **json, size_t *out_len, qv_error *err)
{
    qv_collection *c;
    qv_status rc = cat_acquire(db, name, &c, err);
    if (rc)
        return rc;
    pthread_rwlock_rdlock(&c->vlock);  /* queries are parsed against schema */
    qv_arena a;
    qv_arena_init(&a, 1 << 14);
    jr_value *root;
    sr_query *qs = NULL;
    size_t n = 1;
    bool batch = kind == SR_SEARCH_BATCH || kind == SR_QUERY_BATCH;
    if ((rc = qv_parse_request(&a, request_json, len, &root, err)))
        goto done;
    if (root->type != JR_OBJECT) {
        rc = qv_fail(err, QV_BAD_FORMAT, "expected a JSON object");
        goto done;
    }
    const jr_value *list = root;
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
    if (!(qs = qv_arena_alloc(&a, (n ? n : 1) * sizeof *qs))) {
        rc = qv_fail(err, QV_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        if ((rc = parse_one(c, &a, kind, batch ? &list->u.items[i] : root, &qs[i], err)))
            goto done;
    qv_buf b = QV_BUF_INIT;
    jw w;
    jw_init(&w, &b);
    bool query = kind == SR_QUERY || kind == SR_QUERY_BATCH;
    if (batch)
        jw_arr_begin(&w);
    pthread_rwlock_rdlock(&c->lock);
    for (size_t i = 0; i < n && !rc; i++) {
        if (query) {
            jw_obj_begin(&w);
            jw_key(&w, "points");
        }
        rc = run(c, &qs[i], &a, &w, err);
        if (query)
            jw_obj_end(&w);
    }
    pthread_rwlock_unlock(&c->lock);
    if (batch)
        jw_arr_end(&w);
    if (rc)
        qv_buf_free(&b);
    else
        rc = qv_take_json(&b, json, out_len, err);
done:
    qv_arena_free(&a);
    pthread_rwlock_unlock(&c->vlock);
    cat_release(c);
    return rc;
}

qv_status qv_points_search(qv_db *db, const char *name, const char *request_json, size_t len, char **json,
                           size_t *out_len, qv_error *err)
{
    return search_request(db, name, SR_SEARCH, request_json, len, json, out_len, err);
}

qv_status qv_points_search_batch(qv_db *db, const char *name, const char *request_json, size_t len,
                                 char **json, size_t *out_len, qv_error *err)
{
    return search_request(db, name, SR_SEARCH_BATCH, request_json, len, json, out_len, err);
}

qv_status qv_points_query(qv_db *db, const char *name, const char *request_json, size_t len, char **json,
                          size_t *out_len, qv_error *err)
{
    return search_request(db, name, SR_QUERY, request_json, len, json, out_len, err);
}

qv_status qv_points_query_batch(qv_db *db, const char *name, const char *request_json, size_t len,
                                char **json, size_t *out_len, qv_error *err)
{
    return search_request(db, name, SR_QUERY_BATCH, request_json, len, json, out_len, err);
}
