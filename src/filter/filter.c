/*
 * filter.c — parsing and evaluating filters (see filter.h).
 *
 * Qdrant's corners kept here:
 *  - a payload array matches a condition when any of its elements does;
 *  - a missing key fails match conditions (and so passes must_not);
 *  - `should: []` matches nothing; an absent `should` matches everything;
 *  - `must` and friends take one condition or a list.
 */
#include "filter/filter.h"

#include <stdio.h>
#include <string.h>

#include "core/internal.h"

typedef enum flt_kind {
    FLT_FILTER,       /* must / should / must_not / min_should */
    FLT_MATCH_VALUE,  /* key + match.value */
    FLT_MATCH_ANY,    /* key + match.any */
    FLT_MATCH_EXCEPT, /* key + match.except */
    FLT_HAS_ID,
    FLT_HAS_VECTOR,
    FLT_IS_EMPTY,
    FLT_IS_NULL,
} flt_kind;

/* A literal to compare payload values with. */
typedef struct flt_lit {
    pl_type     type;  /* PL_STRING, PL_INT (also holds u64 via PL_UINT), PL_TRUE/PL_FALSE */
    int64_t     i;
    uint64_t    u;
    const char *s;
    size_t      len;
} flt_lit;

struct flt_node {
    flt_kind kind;
    pl_path  key;
    union {
        struct {
            flt_node **must, **should, **must_not, **min_should;
            uint32_t   n_must, n_should, n_must_not, n_min_should;
            uint32_t   min_count;
            bool       has_should, has_min_should;
        } f;
        struct {
            flt_lit *lits;
            uint32_t n;
        } m;
        struct {
            qv_point_id *ids;
            uint32_t     n;
        } ids;
        const char *vector;
    } u;
};

/* ---- parsing ------------------------------------------------------------------ */

typedef struct parser {
    qv_arena *a;
    qv_error *err;
} parser;

static qv_status parse_filter(parser *p, const jr_value *v, const char *where, flt_node **out,
                              int depth);

static qv_status oom(parser *p) { return qv_fail(p->err, QV_NOMEM, "out of memory"); }

static qv_status parse_lit(parser *p, const jr_value *v, const char *where, flt_lit *out)
{
    memset(out, 0, sizeof *out);
    switch ((jr_type)v->type) {
    case JR_STRING:
        out->type = PL_STRING;
        out->s = v->u.str;
        out->len = v->len;
        return QV_OK;
    case JR_TRUE: out->type = PL_TRUE; return QV_OK;
    case JR_FALSE: out->type = PL_FALSE; return QV_OK;
    case JR_NUMBER:
        if (v->flags & JR_NUM_INT) {
            if ((v->flags & JR_NUM_NEG) || v->x.u64 <= (uint64_t)INT64_MAX) {
                out->type = PL_INT;
                out->i = v->x.i64;
            } else {
                out->type = PL_UINT;
                out->u = v->x.u64;
            }
            return QV_OK;
        }
        break;
    default: break;
    }
    return qv_fail(p->err, QV_BAD_FORMAT,
                   "%s: match value must be a string, an integer or a boolean", where);
}

static qv_status parse_key(parser *p, const jr_value *o, const char *where, pl_path *key)
{
    const jr_value *k = jr_get(o, "key");
    if (!jr_is(k, JR_STRING))
        return qv_fail(p->err, QV_BAD_FORMAT, "%s: missing field `key`", where);
    return pl_path_parse(p->a, k->u.str, k->len, key, p->err) == 0 ? QV_OK : QV_BAD_FORMAT;
}

/* Only the given members may appear in o. */
static qv_status only_fields(parser *p, const jr_value *o, const char *where,
                             const char *const *allowed)
{
    for (uint32_t i = 0; i < o->len; i++) {
        const char *k = o->u.members[i].key;
        const char *const *a = allowed;
        while (*a && strcmp(*a, k) != 0)
            a++;
        if (!*a)
            return qv_fail(p->err, QV_BAD_FORMAT, "%s: unknown field `%s`", where, k);
    }
    return QV_OK;
}

static qv_status parse_match(parser *p, const jr_value *o, const jr_value *m, const char *where,
                             flt_node *n)
{
    if (!jr_is_object(m) || m->len != 1)
        return qv_fail(p->err, QV_BAD_FORMAT,
                       "%s.match: expected exactly one of `value`, `any`, `except`", where);
    const jr_member *mm = &m->u.members[0];
    const jr_value *v = &mm->value;
    if (strcmp(mm->key, "value") == 0) {
        n->kind = FLT_MATCH_VALUE;
        n->u.m.n = 1;
        n->u.m.lits = qv_arena_alloc(p->a, sizeof(flt_lit));
        if (!n->u.m.lits)
            return oom(p);
        return parse_lit(p, v, where, n->u.m.lits);
    }
    if (strcmp(mm->key, "any") == 0 || strcmp(mm->key, "except") == 0) {
        n->kind = mm->key[0] == 'a' ? FLT_MATCH_ANY : FLT_MATCH_EXCEPT;
        if (!jr_is(v, JR_ARRAY))
            return qv_fail(p->err, QV_BAD_FORMAT, "%s.match.%s: expected a list", where, mm->key);
        n->u.m.n = v->len;
        n->u.m.lits = qv_arena_calloc(p->a, v->len ? v->len : 1, sizeof(flt_lit));
        if (!n->u.m.lits)
            return oom(p);
        for (uint32_t i = 0; i < v->len; i++) {
            qv_status rc = parse_lit(p, &v->u.items[i], where, &n->u.m.lits[i]);
            if (rc)
                return rc;
        }
        return QV_OK;
    }
    return qv_fail(p->err, QV_BAD_FORMAT, "%s.match: unknown variant `%s`", where, mm->key);
}

static qv_status parse_condition(parser *p, const jr_value *c, const char *where, flt_node **out,
                                 int depth)
{
    if (!jr_is_object(c))
        return qv_fail(p->err, QV_BAD_FORMAT, "%s: a condition must be an object", where);
    flt_node *n = qv_arena_calloc(p->a, 1, sizeof *n);
    if (!n)
        return oom(p);
    *out = n;
    const jr_value *v;
    qv_status rc;
    if ((v = jr_get(c, "key"))) {
        static const char *const allowed[] = {"key", "match", NULL};
        if ((rc = only_fields(p, c, where, allowed)) || (rc = parse_key(p, c, where, &n->key)))
            return rc;
        const jr_value *m = jr_get(c, "match");
        if (jr_is_null(m))
            return qv_fail(p->err, QV_BAD_FORMAT,
                           "%s: a field condition needs a test such as `match`", where);
        return parse_match(p, c, m, where, n);
    }
    if ((v = jr_get(c, "has_id"))) {
        static const char *const allowed[] = {"has_id", NULL};
        if ((rc = only_fields(p, c, where, allowed)))
            return rc;
        if (!jr_is(v, JR_ARRAY))
            return qv_fail(p->err, QV_BAD_FORMAT, "%s.has_id: expected a list of point ids", where);
        n->kind = FLT_HAS_ID;
        n->u.ids.n = v->len;
        n->u.ids.ids = qv_arena_calloc(p->a, v->len ? v->len : 1, sizeof(qv_point_id));
        if (!n->u.ids.ids)
            return oom(p);
        for (uint32_t i = 0; i < v->len; i++)
            if (!pid_from_json(&v->u.items[i], &n->u.ids.ids[i]))
                return qv_fail(p->err, QV_BAD_FORMAT,
                               "%s.has_id[%u]: not a point id (an unsigned integer or a UUID)",
                               where, i);
        return QV_OK;
    }
    if ((v = jr_get(c, "has_vector"))) {
        if (!jr_is(v, JR_STRING))
            return qv_fail(p->err, QV_BAD_FORMAT, "%s.has_vector: expected a vector name", where);
        n->kind = FLT_HAS_VECTOR;
        n->u.vector = v->u.str;
        return QV_OK;
    }
    if ((v = jr_get(c, "is_empty")) || (v = jr_get(c, "is_null"))) {
        n->kind = jr_get(c, "is_empty") ? FLT_IS_EMPTY : FLT_IS_NULL;
        if (!jr_is_object(v))
            return qv_fail(p->err, QV_BAD_FORMAT, "%s: expected {\"key\": …}", where);
        return parse_key(p, v, where, &n->key);
    }
    if (jr_get(c, "must") || jr_get(c, "should") || jr_get(c, "must_not") ||
        jr_get(c, "min_should") || c->len == 0)
        return parse_filter(p, c, where, out, depth + 1);
    return qv_fail(p->err, QV_BAD_FORMAT, "%s: unknown condition `%s`", where,
                   c->u.members[0].key);
}

/* One condition or a list of them. */
static qv_status parse_list(parser *p, const jr_value *v, const char *where, const char *field,
                            flt_node ***out, uint32_t *n, int depth)
{
    char sub[256];
    const jr_value *items = v;
    uint32_t count = 1;
    if (v->type == JR_ARRAY)
        count = v->len;
    *out = qv_arena_calloc(p->a, count ? count : 1, sizeof **out);
    if (!*out)
        return oom(p);
    *n = count;
    for (uint32_t i = 0; i < count; i++) {
        snprintf(sub, sizeof sub, "%.200s.%s[%u]", where, field, i);
        const jr_value *c = v->type == JR_ARRAY ? &items->u.items[i] : v;
        qv_status rc = parse_condition(p, c, sub, &(*out)[i], depth);
        if (rc)
            return rc;
    }
    return QV_OK;
}

static qv_status parse_filter(parser *p, const jr_value *v, const char *where, flt_node **out,
                              int depth)
{
    if (depth > 32)
        return qv_fail(p->err, QV_BAD_FORMAT, "%s: filter nested too deeply", where);
    if (!jr_is_object(v))
        return qv_fail(p->err, QV_BAD_FORMAT, "%s: expected a filter object", where);
    static const char *const allowed[] = {"must", "should", "must_not", "min_should", NULL};
    qv_status rc = only_fields(p, v, where, allowed);
    if (rc)
        return rc;
    flt_node *n = qv_arena_calloc(p->a, 1, sizeof *n);
    if (!n)
        return oom(p);
    n->kind = FLT_FILTER;
    const jr_value *x;
    if (!jr_is_null(x = jr_get(v, "must")) &&
        (rc = parse_list(p, x, where, "must", &n->u.f.must, &n->u.f.n_must, depth)))
        return rc;
    if (!jr_is_null(x = jr_get(v, "should"))) {
        n->u.f.has_should = true;
        if ((rc = parse_list(p, x, where, "should", &n->u.f.should, &n->u.f.n_should, depth)))
            return rc;
    }
    if (!jr_is_null(x = jr_get(v, "must_not")) &&
        (rc = parse_list(p, x, where, "must_not", &n->u.f.must_not, &n->u.f.n_must_not, depth)))
        return rc;
    if (!jr_is_null(x = jr_get(v, "min_should"))) {
        const jr_value *conds = jr_get(x, "conditions"), *mc = jr_get(x, "min_count");
        uint64_t k;
        if (!jr_is(conds, JR_ARRAY) || !jr_get_u64(mc, &k))
            return qv_fail(p->err, QV_BAD_FORMAT,
                           "%s.min_should: expected {\"conditions\": [...], \"min_count\": N}", where);
        n->u.f.has_min_should = true;
        n->u.f.min_count = k > UINT32_MAX ? UINT32_MAX : (uint32_t)k;
        if ((rc = parse_list(p, conds, where, "min_should.conditions", &n->u.f.min_should,
                             &n->u.f.n_min_should, depth)))
            return rc;
    }
    *out = n;
    return QV_OK;
}

qv_status flt_parse(qv_arena *a, const jr_value *v, const char *what, flt_filter **out,
                    qv_error *err)
{
    parser p = {a, err};
    flt_filter *f = qv_arena_calloc(a, 1, sizeof *f);
    if (!f)
        return qv_fail(err, QV_NOMEM, "out of memory");
    qv_status rc = parse_filter(&p, v, what, &f->root, 0);
    if (rc)
        return rc;
    *out = f;
    return QV_OK;
}

/* ---- evaluation ------------------------------------------------------------------- */

static bool lit_equals(const flt_lit *l, const pl_value *v)
{
    switch (l->type) {
    case PL_STRING: return v->type == PL_STRING && v->len == l->len && memcmp(v->s, l->s, l->len) == 0;
    case PL_INT: return v->type == PL_INT && v->i == l->i;
    case PL_UINT: return v->type == PL_UINT && v->u == l->u;
    case PL_TRUE: case PL_FALSE: return v->type == l->type;
    default: return false;
    }
}

typedef struct match_ctx {
    const flt_node *n;
    bool            hit;
} match_ctx;

/* Does one scalar value satisfy the node's match? */
static bool scalar_matches(const flt_node *n, const pl_value *v)
{
    switch (n->kind) {
    case FLT_MATCH_VALUE: return lit_equals(&n->u.m.lits[0], v);
    case FLT_MATCH_ANY:
        for (uint32_t i = 0; i < n->u.m.n; i++)
            if (lit_equals(&n->u.m.lits[i], v))
                return true;
        return false;
    case FLT_MATCH_EXCEPT:
        /* except never matches null (nor containers). */
        if (v->type == PL_NULL || v->type == PL_ARRAY || v->type == PL_OBJECT)
            return false;
        for (uint32_t i = 0; i < n->u.m.n; i++)
            if (lit_equals(&n->u.m.lits[i], v))
                return false;
        return true;
    default: return false;
    }
}

static bool on_value(void *ctx, const pl_value *v)
{
    match_ctx *m = ctx;
    if (v->type == PL_ARRAY) {
        pl_iter it;
        pl_value e;
        pl_iter_init(&it, v);
        while (pl_iter_next_elem(&it, &e))
            if (scalar_matches(m->n, &e)) {
                m->hit = true;
                return false;
            }
        return true;
    }
    if (scalar_matches(m->n, v)) {
        m->hit = true;
        return false;  /* stop: one is enough */
    }
    return true;
}

typedef struct empty_ctx {
    bool any_value;  /* a value that is not null and not [] */
    bool any_null;   /* null, or an array holding null */
} empty_ctx;

static bool on_empty_value(void *ctx, const pl_value *v)
{
    empty_ctx *e = ctx;
    if (v->type == PL_NULL) {
        e->any_null = true;
    } else if (v->type == PL_ARRAY) {
        pl_iter it;
        pl_value x;
        pl_iter_init(&it, v);
        while (pl_iter_next_elem(&it, &x)) {
            if (x.type == PL_NULL)
                e->any_null = true;
            else
                e->any_value = true;
        }
    } else {
        e->any_value = true;
    }
    return true;
}

static bool node_match(const flt_node *n, const flt_point *p);

static bool filter_match(const flt_node *n, const flt_point *p)
{
    for (uint32_t i = 0; i < n->u.f.n_must; i++)
        if (!node_match(n->u.f.must[i], p))
            return false;
    for (uint32_t i = 0; i < n->u.f.n_must_not; i++)
        if (node_match(n->u.f.must_not[i], p))
            return false;
    if (n->u.f.has_should) {
        bool any = false;
        for (uint32_t i = 0; i < n->u.f.n_should && !any; i++)
            any = node_match(n->u.f.should[i], p);
        if (!any)
            return false;
    }
    if (n->u.f.has_min_should) {
        uint32_t hits = 0;
        for (uint32_t i = 0; i < n->u.f.n_min_should && hits < n->u.f.min_count; i++)
            hits += node_match(n->u.f.min_should[i], p);
        if (hits < n->u.f.min_count)
            return false;
    }
    return true;
}

static bool node_match(const flt_node *n, const flt_point *p)
{
    switch (n->kind) {
    case FLT_FILTER: return filter_match(n, p);
    case FLT_MATCH_VALUE:
    case FLT_MATCH_ANY:
    case FLT_MATCH_EXCEPT: {
        match_ctx m = {n, false};
        pl_lookup(p->payload, p->payload_len, &n->key, on_value, &m);
        return m.hit;
    }
    case FLT_HAS_ID:
        for (uint32_t i = 0; i < n->u.ids.n; i++)
            if (pid_equal(&n->u.ids.ids[i], p->id))
                return true;
        return false;
    case FLT_HAS_VECTOR: return p->has_vector && p->has_vector(p->ctx, n->u.vector);
    case FLT_IS_EMPTY: {
        empty_ctx e = {false, false};
        pl_lookup(p->payload, p->payload_len, &n->key, on_empty_value, &e);
        return !e.any_value;  /* missing, null, [] (and [null]) */
    }
    case FLT_IS_NULL: {
        empty_ctx e = {false, false};
        pl_lookup(p->payload, p->payload_len, &n->key, on_empty_value, &e);
        return e.any_null;
    }
    }
    return false;
}

bool flt_match(const flt_filter *f, const flt_point *p) { return node_match(f->root, p); }
