/*
 * query.c — scroll, count and facet (the filtered reads of quiver.h).
 *
 * Scroll walks the ordered id index from `offset`, so a page costs
 * O(log n + points looked at); without a filter that is O(limit). Count and
 * facet look at the candidates of the planner (plan.h): the points a payload
 * index says a filter can reach, or every point.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/db.h"
#include "core/internal.h"
#include "core/plan.h"
#include "core/read.h"
#include "index/idtree.h"
#include "util/hash.h"

#define SCROLL_DEFAULT_LIMIT 10
#define FACET_DEFAULT_LIMIT  10

/* empty_ok: take an empty body as {} (count, facet); scroll, like Qdrant,
 * needs a JSON document. */
static qv_status parse_body(qv_arena *a, const char *json, size_t len, bool empty_ok, jr_value **root,
                            qv_error *err)
{
    if (len == 0 && empty_ok) {
        static jr_value empty = {.type = JR_OBJECT};
        *root = &empty;
        return QV_OK;
    }
    qv_status rc = qv_parse_request(a, json, len, root, err);
    if (rc)
        return rc;
    if ((*root)->type != JR_OBJECT)
        return qv_fail(err, QV_BAD_FORMAT, "expected a JSON object");
    return QV_OK;
}

static qv_status opt_filter(qv_arena *a, const jr_value *root, flt_filter **f, qv_error *err)
{
    const jr_value *v = jr_get(root, "filter");
    *f = NULL;
    return jr_is_null(v) ? QV_OK : flt_parse(a, v, "filter", f, err);
}

static qv_status opt_limit(const jr_value *root, uint64_t dflt, uint64_t *limit, qv_error *err)
{
    const jr_value *v = jr_get(root, "limit");
    *limit = dflt;
    if (jr_is_null(v))
        return QV_OK;
    if (!jr_get_u64(v, limit))
        return qv_fail(err, QV_BAD_FORMAT, "limit: invalid type, expected an unsigned integer");
    if (*limit < 1)
        return qv_fail(err, QV_VALIDATION, "limit: value 0 invalid, must be 1 or larger");
    return QV_OK;
}

/* ---- scroll ---------------------------------------------------------------------- */

/*
 * Scroll with order_by {key, direction, start_from}: the (value, point)
 * pairs of a range-capable index (integer with range, float, datetime) in
 * value order, each point checked with the filter; a point holding several
 * values comes once per value. One page; paging goes by start_from, so
 * next_page_offset is null (as in Qdrant).
 */
static qv_status scroll_ordered(qv_collection *c, qv_arena *a, const jr_value *ob,
                                const flt_filter *f, uint64_t limit, bool has_offset,
                                const rd_select *sel, char **json, size_t *out_len, qv_error *err)
{
    rd_order o;
    qv_status rc = rd_parse_order_by(a, ob, "order_by", &o, err);
    if (rc)
        return rc;
    if (has_offset)
        return qv_fail(err, QV_BAD_INPUT,
                       "Cannot use an `offset` when using `order_by`. The alternative for paging is to "
                       "use `order_by.start_from` and a filter to exclude the IDs that you've already "
                       "seen for the `order_by.start_from` value");
    qv_buf b = QV_BUF_INIT;
    jw w;
    jw_init(&w, &b);
    pthread_rwlock_rdlock(&c->lock);
    fidx_order_it it;
    rc = rd_order_seek(&c->st, &o, &it, err);
    plan pl;  /* the order is the index's: the plan only judges points */
    plan_scan(&pl, &c->st, &c->schema, f);
    if (rc == QV_OK) {
        jw_obj_begin(&w);
        jw_key(&w, "points");
        jw_arr_begin(&w);
        fidx_value v;
        uint32_t slot;
        for (uint64_t n = 0; n < limit && fidx_order_next(&it, &v, &slot);) {
            if (!plan_match(&pl, slot))
                continue;
            rd_write_record_ordered(&w, &c->st, &c->schema, slot, sel, &v);
            n++;
        }
        jw_arr_end(&w);
        jw_key(&w, "next_page_offset");
        jw_null(&w);
        jw_obj_end(&w);
    }
    plan_free(&pl);
    pthread_rwlock_unlock(&c->lock);
    if (rc) {
        qv_buf_free(&b);
        return rc;
    }
    return qv_take_json(&b, json, out_len, err);
}

qv_status qv_points_scroll(qv_db *db, const char *name, const char *request_json, size_t len,
                           char **json, size_t *out_len, qv_error *err)
{
    qv_collection *c;
    qv_status rc = cat_acquire(db, name, &c, err);
    if (rc)
        return rc;
    pthread_rwlock_rdlock(&c->vlock);  /* sel is parsed against schema */
    qv_arena a;
    qv_arena_init(&a, 1 << 14);
    jr_value *root;
    flt_filter *f;
    rd_select sel = {0};
    uint64_t limit;
    qv_point_id from;
    const jr_value *off = NULL;
    if ((rc = parse_body(&a, request_json, len, false, &root, err)) ||
        (rc = QV_NO_DUP(root, NULL, err, "offset", "limit", "filter", "with_payload", "order_by",
                        "shard_key")) ||
        (rc = opt_filter(&a, root, &f, err)) ||
        (rc = opt_limit(root, SCROLL_DEFAULT_LIMIT, &limit, err)) ||
        (rc = rd_parse_with_payload(&a, jr_get(root, "with_payload"), true, &sel, err)) ||
        (rc = rd_parse_with_vector_of(&a, &c->schema, root, false, &sel, err)))
        goto done;
    off = jr_get(root, "offset");
    if (!jr_is_null(off) && !pid_from_json(off, &from)) {
        rc = qv_fail(err, QV_BAD_FORMAT,
                     "offset: not a valid point ID, valid values are either an unsigned integer or a UUID");
        goto done;
    }
    const jr_value *ob = jr_get(root, "order_by");
    if (!jr_is_null(ob)) {
        rc = scroll_ordered(c, &a, ob, f, limit, !jr_is_null(off), &sel, json, out_len, err);
        goto done;
    }
    qv_buf b = QV_BUF_INIT;
    jw w;
    jw_init(&w, &b);
    jw_obj_begin(&w);
    jw_key(&w, "points");
    jw_arr_begin(&w);
    pthread_rwlock_rdlock(&c->lock);
    qv_point_id next_id;
    bool has_next = false;
    plan pl;
    plan_make(&pl, &c->st, &c->schema, f);
    if (pl.indexed) {
        /* Few candidates: check them, then put them in id order. */
        pid_slot *hits = malloc((pl.n ? pl.n : 1) * sizeof *hits);
        size_t k = 0;
        for (size_t i = 0; hits && i < pl.n; i++) {
            const qv_point_id *pid = &c->st.ids[pl.slots[i]];
            if ((jr_is_null(off) || pid_cmp(pid, &from) >= 0) && plan_match(&pl, pl.slots[i]))
                hits[k++] = (pid_slot){*pid, pl.slots[i]};
        }
        if (hits) {
            qsort(hits, k, sizeof *hits, pid_slot_cmp);
            for (size_t i = 0; i < k && i < limit; i++)
                rd_write_record(&w, &c->st, &c->schema, hits[i].slot, &sel);
            if (k > limit) {
                has_next = true;
                next_id = hits[limit].id;
            }
        } else {
            b.oom = true;
        }
        free(hits);
    } else {
        idt_iter it;
        idt_seek(&c->st.order, jr_is_null(off) ? NULL : &from, &it);
        qv_point_id id;
        uint32_t slot;
        uint64_t n = 0;
        while (idt_next(&it, &id, &slot)) {
            if (!plan_match(&pl, slot))
                continue;
            if (n == limit) {
                has_next = true;
                next_id = id;
                break;
            }
            rd_write_record(&w, &c->st, &c->schema, slot, &sel);
            n++;
        }
    }
    plan_free(&pl);
    pthread_rwlock_unlock(&c->lock);
    jw_arr_end(&w);
    jw_key(&w, "next_page_offset");
    if (has_next)
        pid_write(&w, &next_id);
    else
        jw_null(&w);
    jw_obj_end(&w);
    rc = qv_take_json(&b, json, out_len, err);
done:
    qv_arena_free(&a);
    pthread_rwlock_unlock(&c->vlock);
    cat_release(c);
    return rc;
}

/* ---- count ---------------------------------------------------------------------- */

qv_status qv_points_count(qv_db *db, const char *name, const char *request_json, size_t len,
                          char **json, size_t *out_len, qv_error *err)
{
    qv_collection *c;
    qv_status rc = cat_acquire(db, name, &c, err);
    if (rc)
        return rc;
    qv_arena a;
    qv_arena_init(&a, 1 << 12);
    jr_value *root;
    flt_filter *f;
    if ((rc = parse_body(&a, request_json, len, true, &root, err)) ||
        (rc = QV_NO_DUP(root, NULL, err, "filter", "exact", "shard_key")) ||
        (rc = opt_filter(&a, root, &f, err)))
        goto done;
    const jr_value *exact = jr_get(root, "exact");
    if (!jr_is_null(exact) && !jr_is_bool(exact)) {
        rc = qv_fail(err, QV_BAD_FORMAT, "exact: invalid type, expected a boolean");
        goto done;
    }
    uint64_t count;
    pthread_rwlock_rdlock(&c->lock);
    plan pl;
    plan_make(&pl, &c->st, &c->schema, f);
    count = plan_count(&pl);
    plan_free(&pl);
    pthread_rwlock_unlock(&c->lock);
    qv_buf b = QV_BUF_INIT;
    jw w;
    jw_init(&w, &b);
    jw_obj_begin(&w);
    jw_key(&w, "count");
    jw_uint(&w, count);
    jw_obj_end(&w);
    rc = qv_take_json(&b, json, out_len, err);
done:
    qv_arena_free(&a);
    cat_release(c);
    return rc;
}

/* ---- facet ---------------------------------------------------------------------- */

typedef struct facet_hit {
    pl_type     type;      /* PL_STRING, PL_INT, PL_UINT, PL_TRUE, PL_FALSE */
    int64_t     i;
    uint64_t    u;
    const char *s;
    size_t      len;
    uint64_t    count;
    uint32_t    last_slot; /* a point counts once per value */
} facet_hit;

typedef struct facet_table {
    facet_hit *hits;
    size_t     n, cap;   /* cap: power of two */
    uint32_t   slot;     /* the point being counted */
    bool       oom;
} facet_table;

/* Only the fields that carry the value count: a boolean is its type alone. */
static uint64_t hit_hash(const pl_value *v)
{
    if (v->type == PL_STRING)
        return qv_hash_pair((uint64_t)v->type, qv_hash_bytes(v->s, v->len));
    if (v->type == PL_INT)
        return qv_hash_pair((uint64_t)v->type, (uint64_t)v->i);
    if (v->type == PL_UINT)
        return qv_hash_pair((uint64_t)v->type, v->u);
    return qv_hash_mix64((uint64_t)v->type);
}

static bool hit_eq(const facet_hit *h, const pl_value *v)
{
    if (h->type != v->type)
        return false;
    switch (v->type) {
    case PL_STRING: return h->len == v->len && memcmp(h->s, v->s, v->len) == 0;
    case PL_INT: return h->i == v->i;
    case PL_UINT: return h->u == v->u;
    default: return true;
    }
}

static void facet_add(facet_table *t, const pl_value *v)
{
    if (v->type != PL_STRING && v->type != PL_INT && v->type != PL_UINT && v->type != PL_TRUE &&
        v->type != PL_FALSE)
        return;  /* floats, nulls, objects are not facet values */
    if (t->n * 2 >= t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        facet_hit *nh = calloc(cap, sizeof *nh);
        if (!nh) {
            t->oom = true;
            return;
        }
        for (size_t i = 0; i < t->cap; i++) {
            if (!t->hits[i].count)
                continue;
            pl_value pv = {.type = t->hits[i].type, .i = t->hits[i].i, .u = t->hits[i].u,
                           .s = t->hits[i].s, .len = t->hits[i].len};  /* as stored by facet_add */
            size_t b = hit_hash(&pv) & (cap - 1);
            while (nh[b].count)
                b = (b + 1) & (cap - 1);
            nh[b] = t->hits[i];
        }
        free(t->hits);
        t->hits = nh;
        t->cap = cap;
    }
    size_t b = hit_hash(v) & (t->cap - 1);
    while (t->hits[b].count && !hit_eq(&t->hits[b], v))
        b = (b + 1) & (t->cap - 1);
    facet_hit *h = &t->hits[b];
    if (!h->count) {
        *h = (facet_hit){.type = v->type, .count = 1, .last_slot = t->slot};
        if (v->type == PL_STRING) {
            h->s = v->s;
            h->len = v->len;
        } else if (v->type == PL_INT) {
            h->i = v->i;
        } else if (v->type == PL_UINT) {
            h->u = v->u;
        }
        t->n++;
    } else if (h->last_slot != t->slot) {
        h->count++;
        h->last_slot = t->slot;
    }
}

static bool facet_visit(void *ctx, const pl_value *v)
{
    facet_table *t = ctx;
    if (v->type == PL_ARRAY) {
        pl_iter it;
        pl_value e;
        pl_iter_init(&it, v);
        while (pl_iter_next_elem(&it, &e))
            facet_add(t, &e);
    } else {
        facet_add(t, v);
    }
    return true;
}

/* Count descending, then value ascending (strings bytewise, numbers by value). */
static int hit_cmp(const void *x, const void *y)
{
    const facet_hit *a = x, *b = y;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    if (a->type != b->type)
        return (int)a->type - (int)b->type;
    if (a->type == PL_STRING) {
        size_t n = a->len < b->len ? a->len : b->len;
        int c = memcmp(a->s, b->s, n);
        return c ? c : (a->len > b->len) - (a->len < b->len);
    }
    if (a->type == PL_INT)
        return (a->i > b->i) - (a->i < b->i);
    return (a->u > b->u) - (a->u < b->u);
}

qv_status qv_points_facet(qv_db *db, const char *name, const char *request_json, size_t len,
                          char **json, size_t *out_len, qv_error *err)
{
    qv_collection *c;
    qv_status rc = cat_acquire(db, name, &c, err);
    if (rc)
        return rc;
    qv_arena a;
    qv_arena_init(&a, 1 << 12);
    jr_value *root;
    flt_filter *f;
    uint64_t limit;
    pl_path key;
    facet_table t = {0};
    if ((rc = parse_body(&a, request_json, len, true, &root, err)) ||
        (rc = QV_NO_DUP(root, NULL, err, "key", "limit", "filter", "exact", "shard_key")) ||
        (rc = opt_filter(&a, root, &f, err)) ||
        (rc = opt_limit(root, FACET_DEFAULT_LIMIT, &limit, err)))
        goto done;
    const jr_value *exact = jr_get(root, "exact");
    if (!jr_is_null(exact) && !jr_is_bool(exact)) {  /* FacetRequest.exact: Option<bool> */
        rc = qv_fail(err, QV_BAD_FORMAT, "exact: invalid type, expected a boolean");
        goto done;
    }
    const jr_value *k = jr_get(root, "key");
    if (!jr_is(k, JR_STRING)) {
        rc = qv_fail(err, QV_BAD_FORMAT, k ? "key: invalid type, expected a string" : "missing field `key`");
        goto done;
    }
    if (pl_path_parse(&a, k->u.str, k->len, &key, err) != 0) {
        rc = QV_BAD_FORMAT;
        goto done;
    }
    qv_buf b = QV_BUF_INIT;
    jw w;
    jw_init(&w, &b);
    pthread_rwlock_rdlock(&c->lock);
    plan pl;
    plan_make(&pl, &c->st, &c->schema, f);
    for (size_t i = 0, n_visit = plan_visits(&pl); i < n_visit && !t.oom; i++) {
        uint32_t slot = plan_candidate(&pl, i);
        if (!plan_accepts(&pl, slot))
            continue;
        const uint8_t *blob;
        size_t blen;
        store_payload(&c->st, slot, &blob, &blen);
        t.slot = slot;
        pl_lookup(blob, blen, &key, facet_visit, &t);
    }
    /* Collect and write while the payloads the hits point into are locked. */
    facet_hit *list = t.oom ? NULL : malloc((t.n ? t.n : 1) * sizeof *list);
    if (list) {
        size_t n = 0;
        for (size_t i = 0; i < t.cap; i++)
            if (t.hits[i].count)
                list[n++] = t.hits[i];
        qsort(list, n, sizeof *list, hit_cmp);
        jw_obj_begin(&w);
        jw_key(&w, "hits");
        jw_arr_begin(&w);
        for (size_t i = 0; i < n && i < limit; i++) {
            jw_obj_begin(&w);
            jw_key(&w, "value");
            switch (list[i].type) {
            case PL_STRING: jw_strn(&w, list[i].s, list[i].len); break;
            case PL_INT: jw_int(&w, list[i].i); break;
            case PL_UINT: jw_uint(&w, list[i].u); break;
            default: jw_bool(&w, list[i].type == PL_TRUE); break;
            }
            jw_key(&w, "count");
            jw_uint(&w, list[i].count);
            jw_obj_end(&w);
        }
        jw_arr_end(&w);
        jw_obj_end(&w);
    }
    pthread_rwlock_unlock(&c->lock);
    plan_free(&pl);
    free(list);
    if (!list) {
        qv_buf_free(&b);
        rc = qv_fail(err, QV_NOMEM, "out of memory");
        goto done;
    }
    rc = qv_take_json(&b, json, out_len, err);
done:
    free(t.hits);
    qv_arena_free(&a);
    cat_release(c);
    return rc;
}
