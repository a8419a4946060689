/*
 * ops.c — write operations: parse (Qdrant JSON -> op_batch), encode
 * (op_batch -> record body) and decode (record body -> op_batch).
 * See ops.h for the record format.
 */
#include "core/ops.h"

#include <stdio.h>
#include <string.h>

#include "core/internal.h"
#include "json/jtree.h"
#include "payload/pljson.h"
#include "util/endian.h"
#include "vector/dist.h"
#include "vector/sparse.h"

/* ---- parsing ---------------------------------------------------------------- */

typedef struct parser {
    qv_arena             *a;
    const cfg_collection *cfg;
    qv_error             *err;
    qv_buf                scratch;  /* payload encoding, reused */
} parser;

static const char *const f32_keys[] = {"vector", "vectors"};
static const char *const plain_keys[] = {"payload", "payloads", "filter", "update_filter", "indices"};
const jr_opts ops_json_opts = {f32_keys, 2, plain_keys, 5};

/* What an element of an array in float form is, for messages. */
static const jr_value f32_item = {.type = JR_NUMBER};

static qv_status oom(parser *p) { return qv_fail(p->err, QV_NOMEM, "out of memory"); }

/* Where we are in the request, for messages: a chain of steps on the stack,
 * turned into text ("body.points[3].vector") only when an error is
 * reported, so the per-point cost is two stores. */
typedef struct path {
    const struct path *up;
    const char        *key;    /* NULL: an index step only */
    long               index;  /* -1: no index */
} path;

#define STEP(up, key) ((path){(up), (key), -1})
static const path body_path = {NULL, "body", -1};
static const path ops_path = {NULL, "operations", -1};
#define ITEM(up, key, i) ((path){(up), (key), (long)(i)})

static size_t path_put(const path *w, char *buf, size_t cap)
{
    size_t n = w->up ? path_put(w->up, buf, cap) : 0;
    int k = 0;
    if (w->key)
        k = snprintf(buf + n, cap - n, "%s%.80s", n ? "." : "", w->key);
    if (k > 0)
        n = n + (size_t)k < cap ? n + (size_t)k : cap - 1;
    if (w->index >= 0) {
        k = snprintf(buf + n, cap - n, "[%ld]", w->index);
        if (k > 0)
            n = n + (size_t)k < cap ? n + (size_t)k : cap - 1;
    }
    return n;
}

/* Text of a path, for one message at a time (per thread). */
static const char *pstr(const path *w)
{
    static _Thread_local char buf[2][256];
    static _Thread_local int which;
    which ^= 1;
    buf[which][0] = '\0';
    path_put(w, buf[which], sizeof buf[which]);
    return buf[which];
}

/* The same without the leading "body.": Qdrant's validation messages name
 * fields from the body's root ("points[0].vector: ..."). */
static const char *vstr(const path *w)
{
    const char *t = pstr(w);
    return strncmp(t, "body.", 5) == 0 ? t + 5 : t;
}

static const char *type_word(const jr_value *v)
{
    switch ((jr_type)v->type) {
    case JR_NULL: return "null";
    case JR_TRUE: case JR_FALSE: return "a boolean";
    case JR_NUMBER: return "a number";
    case JR_STRING: return "a string";
    case JR_ARRAY: return "a sequence";
    case JR_OBJECT: return "a map";
    }
    return "a value";
}

static qv_status bad_shape(parser *p, const path *where, const jr_value *v, const char *expected)
{
    return qv_fail(p->err, QV_BAD_FORMAT, "%s: invalid type: %s, expected %s", pstr(where),
                   v ? type_word(v) : "nothing", expected);
}

static qv_status missing(parser *p, const path *where, const char *field)
{
    return qv_fail(p->err, QV_BAD_FORMAT, "%s: missing field `%s`", pstr(where), field);
}

/* Reject shard keys and other cluster-only fields when they are not null. */
static qv_status no_shard_key(parser *p, const jr_value *o, const path *where)
{
    if (!jr_is_null(jr_get(o, "shard_key")))
        return qv_fail(p->err, QV_UNSUPPORTED, "%s.shard_key: custom sharding is not supported by Quiver",
                       pstr(where));
    return QV_OK;
}

static qv_status parse_id(parser *p, const jr_value *v, const path *where, qv_point_id *out)
{
    if (!v)
        return missing(p, where, "id");
    if (!pid_from_json(v, out))
        return qv_fail(p->err, QV_BAD_FORMAT,
                       "%s: value %s%.60s%s is not a valid point ID, valid values are either an "
                       "unsigned integer or a UUID",
                       pstr(where), v->type == JR_STRING ? "\"" : "", v->type == JR_STRING ? v->u.str : type_word(v),
                       v->type == JR_STRING ? "\"" : "");
    return QV_OK;
}

static qv_status parse_ids(parser *p, const jr_value *v, const path *where, qv_point_id **ids,
                           uint32_t *n)
{
    if (!jr_is(v, JR_ARRAY))
        return bad_shape(p, where, v, "a list of point ids");
    if (v->len > OPS_MAX_POINTS)
        return qv_fail(p->err, QV_VALIDATION, "%s: at most %d ids per request, got %u", pstr(where),
                       OPS_MAX_POINTS, v->len);
    *ids = qv_arena_alloc(p->a, (v->len ? v->len : 1) * sizeof **ids);
    if (!*ids)
        return oom(p);
    *n = v->len;
    path w;
    for (uint32_t i = 0; i < v->len; i++) {
        w = ITEM(where, NULL, i);
        qv_status rc = parse_id(p, &v->u.items[i], &w, &(*ids)[i]);
        if (rc)
            return rc;
    }
    return QV_OK;
}

/* Compact JSON text of v in the arena, for the record. */
static qv_status json_text(parser *p, const jr_value *v, const char **text, uint32_t *len)
{
    qv_buf b = QV_BUF_INIT;
    jw w;
    jw_init(&w, &b);
    jw_tree(&w, v);
    char *t = qv_buf_ok(&b) ? qv_arena_strndup(p->a, b.data, b.len) : NULL;
    *len = (uint32_t)b.len;
    qv_buf_free(&b);
    if (!t)
        return oom(p);
    *text = t;
    return QV_OK;
}

static qv_status parse_filter(parser *p, const jr_value *v, const path *where, const char **text,
                              uint32_t *len, flt_filter **f)
{
    qv_status rc = flt_parse(p->a, v, pstr(where), f, p->err);
    return rc ? rc : json_text(p, v, text, len);
}

/* PointsSelector-like: "points": [ids] or "filter": {...} (one of them). */
static qv_status parse_selector(parser *p, const jr_value *o, const path *where, op_selector *sel)
{
    const jr_value *pts = jr_get(o, "points"), *flt = jr_get(o, "filter");
    path w;
    qv_status rc;
    if ((rc = QV_NO_DUP(o, pstr(where), p->err, "points", "filter", "shard_key")) ||
        (rc = no_shard_key(p, o, where)))
        return rc;
    if (!jr_is_null(pts) && !jr_is_null(flt))
        return qv_fail(p->err, QV_BAD_FORMAT, "%s: give either `points` or `filter`, not both", pstr(where));
    if (!jr_is_null(flt)) {
        w = STEP(where, "filter");
        sel->by_filter = true;
        return parse_filter(p, flt, &w, &sel->filter_json, &sel->filter_len, &sel->filter);
    }
    if (jr_is_null(pts))
        return qv_fail(p->err, QV_BAD_FORMAT, "%s: expected `points` (a list of ids) or `filter`", pstr(where));
    w = STEP(where, "points");
    return parse_ids(p, pts, &w, &sel->ids, &sel->n_ids);
}

static qv_status parse_payload(parser *p, const jr_value *v, const path *where,
                               const uint8_t **blob, uint32_t *len)
{
    if (!jr_is_object(v))
        return bad_shape(p, where, v, "a map (a JSON object)");
    p->scratch.len = 0;
    if (pl_encode(v, &p->scratch, p->err) != 0)
        return p->err->code;
    if (!qv_buf_ok(&p->scratch) || p->scratch.len > UINT32_MAX - 1)
        return oom(p);
    uint8_t *copy = qv_arena_alloc(p->a, p->scratch.len);
    if (!copy)
        return oom(p);
    memcpy(copy, p->scratch.data, p->scratch.len);
    *blob = copy;
    *len = (uint32_t)p->scratch.len;
    return QV_OK;
}

/* Find a vector name among dense (sparse = false) then sparse ones. name is
 * a counted JSON string: one holding a NUL names no vector (stored names
 * never hold one), rather than matching its prefix. */
static bool find_vector(const cfg_collection *cfg, const char *name, size_t len, bool *sparse,
                        uint16_t *index)
{
    if (strlen(name) != len)
        return false;
    for (uint32_t i = 0; i < cfg->n_vectors; i++)
        if (strcmp(cfg->vectors[i].name, name) == 0) {
            *sparse = false;
            *index = (uint16_t)i;
            return true;
        }
    for (uint32_t i = 0; i < cfg->n_sparse; i++)
        if (strcmp(cfg->sparse[i].name, name) == 0) {
            *sparse = true;
            *index = (uint16_t)i;
            return true;
        }
    return false;
}

static qv_status unknown_vector(parser *p, const char *name)
{
    return qv_fail(p->err, QV_BAD_INPUT, "Not existing vector name error: %s", name);
}

/* Dense vector: floats exactly as strtof reads them, checked against the
 * dimension, normalized for Cosine (as Qdrant stores them). */
static qv_status parse_dense(parser *p, const jr_value *arr, uint16_t index, const path *where,
                             op_vector *out)
{
    const cfg_vector *cv = &p->cfg->vectors[index];
    bool f32 = jr_is_f32_array(arr);
    if (!f32 && arr->len > 0 && arr->u.items[0].type == JR_ARRAY)
        return qv_fail(p->err, QV_UNSUPPORTED, "%s: multivectors are not supported by Quiver yet", pstr(where));
    if (arr->len != cv->size)
        return qv_fail(p->err, QV_BAD_INPUT, "Vector dimension error: expected dim: %u, got %u",
                       cv->size, arr->len);
    /* Floats converted while parsing (exactly as jr_get_f32 below) are used
     * where they lie: they are in this request's arena p->a, and nothing
     * reads the vector from the tree again. */
    float *vals = f32 ? (float *)(uintptr_t)arr->u.f32
                      : qv_arena_alloc(p->a, (size_t)arr->len * sizeof *vals);
    if (!vals)
        return oom(p);
    for (uint32_t i = 0; !f32 && i < arr->len; i++)
        if (!jr_get_f32(&arr->u.items[i], &vals[i]))
            return qv_fail(p->err, QV_BAD_FORMAT, "%s[%u]: invalid type: %s, expected f32", pstr(where), i,
                           arr->u.items[i].type == JR_NUMBER ? "a number out of f32 range"
                                                              : type_word(&arr->u.items[i]));
    if (cv->distance == CFG_COSINE)  /* the very normalization search applies to queries */
        dist_normalize(vals, arr->len);
    *out = (op_vector){.sparse = false, .index = index, .n = arr->len, .values = vals};
    return QV_OK;
}

qv_status ops_parse_sparse(qv_arena *a, const jr_value *ix, const jr_value *vs, const char *where,
                           const char *vwhere, uint32_t **idx_out, float **val_out, uint32_t *n_out,
                           qv_error *err)
{
    if (ix->len != vs->len)  /* Qdrant's validate_sparse_vector_impl */
        return qv_fail(err, QV_VALIDATION, "%s.values: must be the same length as indices", vwhere);
    if (ix->len > OPS_MAX_SPARSE_NNZ)
        return qv_fail(err, QV_VALIDATION, "%s: at most %d non-zero values", where, OPS_MAX_SPARSE_NNZ);
    uint32_t n = ix->len;
    uint32_t *idx = qv_arena_alloc(a, (n ? n : 1) * sizeof *idx);
    float *val = qv_arena_alloc(a, (n ? n : 1) * sizeof *val);
    if (!idx || !val)
        return qv_fail(err, QV_NOMEM, "out of memory");
    for (uint32_t i = 0; i < n; i++) {
        uint64_t u;
        if (!jr_get_u64(&ix->u.items[i], &u) || u > UINT32_MAX)
            return qv_fail(err, QV_BAD_FORMAT, "%s.indices[%u]: expected u32", where, i);
        idx[i] = (uint32_t)u;
        if (jr_is_f32_array(vs))
            val[i] = vs->u.f32[i];
        else if (!jr_get_f32(&vs->u.items[i], &val[i]))
            return qv_fail(err, QV_BAD_FORMAT, "%s.values[%u]: expected f32", where, i);
    }
    /* Sorted by index, as Qdrant stores them: scores then add up in index
     * order everywhere (vector/sparse.h). Sorting also finds a repeated
     * index in O(n). */
    uint32_t *tmp = n > 1 ? qv_arena_alloc(a, 2 * (size_t)n * sizeof *tmp) : NULL;
    if (n > 1 && !tmp)
        return qv_fail(err, QV_NOMEM, "out of memory");
    if (!sparse_sort(idx, val, n, tmp))
        return qv_fail(err, QV_VALIDATION, "%s.indices: must be unique", vwhere);
    *idx_out = idx;
    *val_out = val;
    *n_out = n;
    return QV_OK;
}

static qv_status parse_sparse(parser *p, const jr_value *o, uint16_t index, const path *where,
                              op_vector *out)
{
    const jr_value *ix = jr_get(o, "indices"), *vs = jr_get(o, "values");
    if (!jr_is(ix, JR_ARRAY) || jr_is_f32_array(ix))  /* never: indices are read as a tree */
        return missing(p, where, "indices");
    if (!jr_is(vs, JR_ARRAY))
        return missing(p, where, "values");
    uint32_t *idx, n;
    float *val;
    qv_status rc = ops_parse_sparse(p->a, ix, vs, pstr(where), vstr(where), &idx, &val, &n, p->err);
    if (rc)
        return rc;
    *out = (op_vector){.sparse = true, .index = index, .n = n, .values = val, .indices = idx};
    return QV_OK;
}

/* One named vector value: a list of floats (dense) or {indices, values}. */
static qv_status parse_named(parser *p, const char *name, size_t name_len, const jr_value *v,
                             const path *where, op_vector *out)
{
    bool sparse;
    uint16_t index;
    if (!find_vector(p->cfg, name, name_len, &sparse, &index))
        return unknown_vector(p, name);
    if (v->type == JR_ARRAY) {
        if (sparse)
            return qv_fail(p->err, QV_BAD_INPUT,
                           "Conversion between sparse and regular vectors failed: `%s` is a sparse vector",
                           name);
        return parse_dense(p, v, index, where, out);
    }
    if (v->type == JR_OBJECT && (jr_get(v, "indices") || jr_get(v, "values"))) {
        if (!sparse)
            return qv_fail(p->err, QV_BAD_INPUT,
                           "Conversion between sparse and regular vectors failed: `%s` is a dense vector",
                           name);
        return parse_sparse(p, v, index, where, out);
    }
    if (v->type == JR_OBJECT)
        return qv_fail(p->err, QV_UNSUPPORTED,
                       "%s: documents, images and objects for inference are not supported by Quiver",
                       pstr(where));
    return bad_shape(p, where, v, "a vector");
}

/* VectorStruct: [floats] (the unnamed vector) or {name: vector, ...}. */
static qv_status parse_vector_struct(parser *p, const jr_value *v, const path *where, op_point *pt)
{
    path w;
    if (v->type == JR_ARRAY) {  /* the vector named "" (also beside named ones) */
        pt->vectors = qv_arena_alloc(p->a, sizeof *pt->vectors);
        if (!pt->vectors)
            return oom(p);
        pt->n_vectors = 1;
        return parse_named(p, "", 0, v, where, &pt->vectors[0]);
    }
    if (v->type != JR_OBJECT)
        return bad_shape(p, where, v, "a list of floats or a map of named vectors");
    if (v->len > CFG_MAX_NAMED_VECTORS)
        return qv_fail(p->err, QV_VALIDATION, "%s: too many vectors", pstr(where));
    pt->vectors = qv_arena_alloc(p->a, (v->len ? v->len : 1) * sizeof *pt->vectors);
    if (!pt->vectors)
        return oom(p);
    pt->n_vectors = (uint16_t)v->len;
    for (uint32_t i = 0; i < v->len; i++) {
        const jr_member *m = &v->u.members[i];
        w = STEP(where, m->key);
        qv_status rc = parse_named(p, m->key, m->key_len, &m->value, &w, &pt->vectors[i]);
        if (rc)
            return rc;
        for (uint32_t j = 0; j < i; j++)
            if (pt->vectors[j].sparse == pt->vectors[i].sparse &&
                pt->vectors[j].index == pt->vectors[i].index)
                return qv_fail(p->err, QV_BAD_FORMAT, "%s: vector `%s` given twice", pstr(where), m->key);
    }
    return QV_OK;
}

/* PointStruct (upsert) or PointVectors (update_vectors). */
static qv_status parse_point(parser *p, const jr_value *o, const path *where, bool with_payload,
                             op_point *pt)
{
    path w;
    if (!jr_is_object(o))
        return bad_shape(p, where, o, with_payload ? "struct PointStruct" : "struct PointVectors");
    static const char *const fields[] = {"id", "vector", "vectors", "payload"};
    const char *dup = jr_dup_field(o, fields, with_payload ? 4 : 3);
    if (dup)
        return qv_fail(p->err, QV_BAD_FORMAT, "%s: duplicate field `%s`", pstr(where), dup);
    w = STEP(where, "id");
    qv_status rc = parse_id(p, jr_get(o, "id"), &w, &pt->id);
    if (rc)
        return rc;
    const jr_value *vec = jr_get(o, "vector");
    if (!vec)
        vec = jr_get(o, "vectors");  /* as some clients send it */
    if (jr_is_null(vec))
        return missing(p, where, "vector");
    w = STEP(where, "vector");
    if (!with_payload && (vec->type == JR_OBJECT || vec->type == JR_ARRAY) && vec->len == 0)
        return qv_fail(p->err, QV_VALIDATION, "%s: must specify vectors to update for point", vstr(&w));
    if ((rc = parse_vector_struct(p, vec, &w, pt)))
        return rc;
    const jr_value *pl = jr_get(o, "payload");
    if (with_payload && !jr_is_null(pl)) {
        w = STEP(where, "payload");
        return parse_payload(p, pl, &w, &pt->payload, &pt->payload_len);
    }
    return QV_OK;
}

static qv_status check_count(parser *p, const path *where, uint32_t n)
{
    if (n == 0)
        return qv_fail(p->err, QV_VALIDATION, "%s: must contain at least 1 point", pstr(where));
    if (n > OPS_MAX_POINTS)
        return qv_fail(p->err, QV_VALIDATION, "%s: at most %d points per request, got %u", pstr(where),
                       OPS_MAX_POINTS, n);
    return QV_OK;
}

static qv_status parse_update_filter(parser *p, const jr_value *o, const path *where, op_item *out)
{
    const jr_value *uf = jr_get(o, "update_filter");
    if (jr_is_null(uf))
        return QV_OK;
    path w;
    w = STEP(where, "update_filter");
    return parse_filter(p, uf, &w, &out->update_filter_json, &out->update_filter_len,
                        &out->update_filter);
}

/* update_mode: "upsert" | "insert_only" | "update_only" | null. */
static qv_status parse_update_mode(parser *p, const jr_value *o, const path *where, op_item *out)
{
    static const char *const names[] = {"upsert", "insert_only", "update_only"};
    const jr_value *m = jr_get(o, "update_mode");
    out->mode = OPM_UPSERT;
    if (jr_is_null(m))
        return QV_OK;
    path w = STEP(where, "update_mode");
    if (m->type != JR_STRING)
        return bad_shape(p, &w, m, "one of `upsert`, `insert_only`, `update_only`");
    for (int i = 0; i < 3; i++)
        if (strcmp(m->u.str, names[i]) == 0) {
            out->mode = (op_update_mode)i;
            return QV_OK;
        }
    return qv_fail(p->err, QV_BAD_FORMAT,
                   "%s: unknown variant `%.60s`, expected one of `upsert`, `insert_only`, `update_only`",
                   pstr(&w), m->u.str);
}

/* Batch (columnar) form: {"ids": [...], "vectors": [...] | {name: [...]}, "payloads": [...]}. */
static qv_status parse_columns(parser *p, const jr_value *b, const path *where, op_item *out)
{
    path w, vv;
    if (!jr_is_object(b))
        return bad_shape(p, where, b, "struct Batch");
    const jr_value *ids = jr_get(b, "ids"), *vecs = jr_get(b, "vectors"), *pls = jr_get(b, "payloads");
    if (!jr_is(ids, JR_ARRAY))
        return ids ? bad_shape(p, where, ids, "a list of ids") : missing(p, where, "ids");
    if (jr_is_null(vecs))
        return missing(p, where, "vectors");
    uint32_t n = ids->len;
    w = STEP(where, "ids");
    qv_status rc = check_count(p, &w, n);
    if (rc)
        return rc;
    if (!jr_is_null(pls) && (!jr_is(pls, JR_ARRAY) || pls->len != n))
        return qv_fail(p->err, QV_BAD_INPUT, "%s: payloads must be a list as long as ids (%u)", pstr(where), n);
    bool named = vecs->type == JR_OBJECT;
    if (!named && (!jr_is(vecs, JR_ARRAY) || vecs->len != n))
        return qv_fail(p->err, QV_BAD_INPUT, "%s: vectors must be a list as long as ids (%u)", pstr(where), n);
    if (named)
        for (uint32_t k = 0; k < vecs->len; k++)
            if (!jr_is(&vecs->u.members[k].value, JR_ARRAY) || vecs->u.members[k].value.len != n)
                return qv_fail(p->err, QV_BAD_INPUT, "%s: vectors.%s must be a list as long as ids (%u)",
                               pstr(where), vecs->u.members[k].key, n);
    if (!named && !cfg_find_vector(p->cfg, ""))
        return unknown_vector(p, "");
    out->points = qv_arena_calloc(p->a, n, sizeof *out->points);
    if (!out->points)
        return oom(p);
    out->n_points = n;
    for (uint32_t i = 0; i < n; i++) {
        op_point *pt = &out->points[i];
        w = ITEM(where, "ids", i);
        if ((rc = parse_id(p, &ids->u.items[i], &w, &pt->id)))
            return rc;
        uint32_t nv = named ? vecs->len : 1;
        pt->vectors = qv_arena_alloc(p->a, (nv ? nv : 1) * sizeof *pt->vectors);
        if (!pt->vectors)
            return oom(p);
        pt->n_vectors = (uint16_t)nv;
        for (uint32_t k = 0; k < nv; k++) {
            if (named) {
                const jr_member *m = &vecs->u.members[k];
                vv = STEP(where, "vectors");
                w = ITEM(&vv, m->key, i);
                if (jr_is_f32_array(&m->value))  /* a list of numbers, not of vectors */
                    rc = parse_named(p, m->key, m->key_len, &f32_item, &w, &pt->vectors[k]);
                else
                    rc = parse_named(p, m->key, m->key_len, &m->value.u.items[i], &w, &pt->vectors[k]);
            } else {
                w = ITEM(where, "vectors", i);
                if (jr_is_f32_array(vecs))
                    return bad_shape(p, &w, &f32_item, "a list of floats");
                if (!jr_is(&vecs->u.items[i], JR_ARRAY))
                    return bad_shape(p, &w, &vecs->u.items[i], "a list of floats");
                rc = parse_named(p, "", 0, &vecs->u.items[i], &w, &pt->vectors[k]);
            }
            if (rc)
                return rc;
        }
        if (!jr_is_null(pls) && !jr_is_null(&pls->u.items[i])) {
            w = ITEM(where, "payloads", i);
            if ((rc = parse_payload(p, &pls->u.items[i], &w, &pt->payload, &pt->payload_len)))
                return rc;
        }
    }
    return QV_OK;
}

/* PointInsertOperations: {"points": [PointStruct]} or {"batch": Batch}. */
/* PointsList (upsert: PointStruct with payloads) or UpdateVectors
 * (PointVectors): {"points": [...], "update_filter"?, "shard_key"?}; an
 * upsert may come as columns instead ({"batch": Batch}). */
static qv_status parse_points(parser *p, const jr_value *o, const path *where, bool upsert,
                              op_item *out)
{
    path w;
    out->kind = upsert ? OP_UPSERT : OP_UPDATE_VECTORS;
    if (!jr_is_object(o))
        return bad_shape(p, where, o, upsert ? "struct PointsList or PointsBatch" : "struct UpdateVectors");
    qv_status rc;
    if ((rc = no_shard_key(p, o, where)) || (rc = parse_update_filter(p, o, where, out)) ||
        (upsert && (rc = parse_update_mode(p, o, where, out))))
        return rc;
    static const char *const fields[] = {"points", "batch", "update_filter", "shard_key", "update_mode"};
    const char *dup = jr_dup_field(o, fields, upsert ? 5 : 4);
    if (dup)
        return qv_fail(p->err, QV_BAD_FORMAT, "%s: duplicate field `%s`", pstr(where), dup);
    const jr_value *batch = jr_get(o, "batch");
    if (upsert && !jr_is_null(batch)) {
        w = STEP(where, "batch");
        return parse_columns(p, batch, &w, out);
    }
    const jr_value *pts = jr_get(o, "points");
    if (!jr_is(pts, JR_ARRAY))
        return pts ? bad_shape(p, where, pts, "a list of points") : missing(p, where, "points");
    w = STEP(where, "points");
    if ((rc = check_count(p, &w, pts->len)))
        return rc;
    out->points = qv_arena_calloc(p->a, pts->len, sizeof *out->points);
    if (!out->points)
        return oom(p);
    out->n_points = pts->len;
    for (uint32_t i = 0; i < pts->len; i++) {
        w = ITEM(where, "points", i);
        if ((rc = parse_point(p, &pts->u.items[i], &w, upsert, &out->points[i])))
            return rc;
    }
    return QV_OK;
}

static qv_status parse_set_payload(parser *p, const jr_value *o, const path *where, bool overwrite,
                                   op_item *out)
{
    path w;
    out->kind = overwrite ? OP_OVERWRITE_PAYLOAD : OP_SET_PAYLOAD;
    if (!jr_is_object(o))
        return bad_shape(p, where, o, "struct SetPayload");
    const jr_value *pl = jr_get(o, "payload"), *key = jr_get(o, "key");
    qv_status rc = QV_NO_DUP(o, pstr(where), p->err, "payload", "key");
    if (rc)
        return rc;
    if (jr_is_null(pl))
        return missing(p, where, "payload");
    w = STEP(where, "payload");
    rc = parse_payload(p, pl, &w, &out->payload, &out->payload_len);
    if (rc)
        return rc;
    if (!jr_is_null(key)) {
        if (key->type != JR_STRING)
            return bad_shape(p, where, key, "a key path string");
        if (overwrite)
            return qv_fail(p->err, QV_UNSUPPORTED, "%s.key: overwrite_payload with a key is not supported by Quiver yet", pstr(where));
        out->paths = qv_arena_alloc(p->a, sizeof *out->paths);
        if (!out->paths)
            return oom(p);
        if (pl_path_parse(p->a, key->u.str, key->len, out->paths, p->err) != 0)
            return p->err->code;
        out->key = key->u.str;
        out->key_len = key->len;
    }
    return parse_selector(p, o, where, &out->sel);
}

static qv_status parse_delete_payload(parser *p, const jr_value *o, const path *where, op_item *out)
{
    out->kind = OP_DELETE_PAYLOAD;
    if (!jr_is_object(o))
        return bad_shape(p, where, o, "struct DeletePayload");
    const jr_value *keys = jr_get(o, "keys");
    if (QV_NO_DUP(o, pstr(where), p->err, "keys"))
        return p->err->code;
    if (!jr_is(keys, JR_ARRAY))
        return keys ? bad_shape(p, where, keys, "a list of keys") : missing(p, where, "keys");
    uint32_t n = keys->len;
    out->keys = qv_arena_alloc(p->a, (n ? n : 1) * sizeof *out->keys);
    out->key_lens = qv_arena_alloc(p->a, (n ? n : 1) * sizeof *out->key_lens);
    out->paths = qv_arena_alloc(p->a, (n ? n : 1) * sizeof *out->paths);
    if (!out->keys || !out->key_lens || !out->paths)
        return oom(p);
    out->n_keys = n;
    for (uint32_t i = 0; i < n; i++) {
        const jr_value *k = &keys->u.items[i];
        if (k->type != JR_STRING)
            return bad_shape(p, where, k, "a key path string");
        if (pl_path_parse(p->a, k->u.str, k->len, &out->paths[i], p->err) != 0)
            return p->err->code;
        out->keys[i] = k->u.str;
        out->key_lens[i] = k->len;
    }
    return parse_selector(p, o, where, &out->sel);
}

static qv_status parse_delete_vectors(parser *p, const jr_value *o, const path *where, op_item *out)
{
    out->kind = OP_DELETE_VECTORS;
    if (!jr_is_object(o))
        return bad_shape(p, where, o, "struct DeleteVectors");
    const jr_value *names = jr_get(o, "vector");
    if (QV_NO_DUP(o, pstr(where), p->err, "vector"))
        return p->err->code;
    if (!jr_is(names, JR_ARRAY))
        return names ? bad_shape(p, where, names, "a list of vector names") : missing(p, where, "vector");
    if (names->len == 0 || names->len > CFG_MAX_NAMED_VECTORS)
        return qv_fail(p->err, QV_VALIDATION, "%s.vector: must name 1 to %d vectors", pstr(where),
                       CFG_MAX_NAMED_VECTORS);
    out->names = qv_arena_calloc(p->a, names->len, sizeof *out->names);
    if (!out->names)
        return oom(p);
    out->n_names = (uint16_t)names->len;
    for (uint32_t i = 0; i < names->len; i++) {
        const jr_value *nm = jr_is_f32_array(names) ? &f32_item : &names->u.items[i];
        if (nm->type != JR_STRING)
            return bad_shape(p, where, nm, "a vector name");
        if (!find_vector(p->cfg, nm->u.str, nm->len, &out->names[i].sparse, &out->names[i].index))
            return unknown_vector(p, nm->u.str);
    }
    return parse_selector(p, o, where, &out->sel);
}

static qv_status parse_op(parser *p, int kind, const jr_value *o, const path *where, op_item *out)
{
    memset(out, 0, sizeof *out);
    switch (kind) {
    case QV_UPDATE_UPSERT: return parse_points(p, o, where, true, out);
    case QV_UPDATE_DELETE:
        out->kind = OP_DELETE;
        if (!jr_is_object(o))
            return bad_shape(p, where, o, "struct PointsSelector");
        return parse_selector(p, o, where, &out->sel);
    case QV_UPDATE_SET_PAYLOAD: return parse_set_payload(p, o, where, false, out);
    case QV_UPDATE_OVERWRITE_PAYLOAD: return parse_set_payload(p, o, where, true, out);
    case QV_UPDATE_DELETE_PAYLOAD: return parse_delete_payload(p, o, where, out);
    case QV_UPDATE_CLEAR_PAYLOAD:
        out->kind = OP_CLEAR_PAYLOAD;
        if (!jr_is_object(o))
            return bad_shape(p, where, o, "struct PointsSelector");
        return parse_selector(p, o, where, &out->sel);
    case QV_UPDATE_UPDATE_VECTORS: return parse_points(p, o, where, false, out);
    case QV_UPDATE_DELETE_VECTORS: return parse_delete_vectors(p, o, where, out);
    }
    return qv_fail(p->err, QV_INTERNAL, "unknown update kind %d", kind);
}

static const struct {
    const char *name;
    int         kind;
} batch_kinds[] = {
    {"upsert", QV_UPDATE_UPSERT},
    {"delete", QV_UPDATE_DELETE},
    {"set_payload", QV_UPDATE_SET_PAYLOAD},
    {"overwrite_payload", QV_UPDATE_OVERWRITE_PAYLOAD},
    {"delete_payload", QV_UPDATE_DELETE_PAYLOAD},
    {"clear_payload", QV_UPDATE_CLEAR_PAYLOAD},
    {"update_vectors", QV_UPDATE_UPDATE_VECTORS},
    {"delete_vectors", QV_UPDATE_DELETE_VECTORS},
};

static qv_status parse_batch(parser *p, const jr_value *root, op_batch *batch)
{
    if (!jr_is_object(root))
        return bad_shape(p, &body_path, root, "struct UpdateOperations");
    const jr_value *ops = jr_get(root, "operations");
    if (QV_NO_DUP(root, pstr(&body_path), p->err, "operations"))
        return p->err->code;
    if (!jr_is(ops, JR_ARRAY))
        return ops ? bad_shape(p, &ops_path, ops, "a list of operations")
                   : missing(p, &body_path, "operations");
    if (ops->len > OPS_MAX_OPERATIONS)
        return qv_fail(p->err, QV_VALIDATION, "operations: at most %d operations per batch, got %u",
                       OPS_MAX_OPERATIONS, ops->len);
    batch->ops = qv_arena_calloc(p->a, ops->len ? ops->len : 1, sizeof *batch->ops);
    if (!batch->ops)
        return oom(p);
    batch->n = ops->len;
    batch->seq = 0;
    for (uint32_t i = 0; i < ops->len; i++) {
        const jr_value *o = &ops->u.items[i];
        path w = ITEM(NULL, "operations", i);
        if (!jr_is_object(o) || o->len != 1)
            return qv_fail(p->err, QV_BAD_FORMAT,
                           "%s: expected an object with one of `upsert`, `delete`, `set_payload`, "
                           "`overwrite_payload`, `delete_payload`, `clear_payload`, `update_vectors`, "
                           "`delete_vectors`",
                           pstr(&w));
        const jr_member *m = &o->u.members[0];
        size_t k = 0, nk = sizeof batch_kinds / sizeof *batch_kinds;
        while (k < nk && strcmp(batch_kinds[k].name, m->key) != 0)
            k++;
        if (k == nk)
            return qv_fail(p->err, QV_BAD_FORMAT, "%s: unknown variant `%s`", pstr(&w), m->key);
        path w2 = STEP(&w, m->key);
        qv_status rc = parse_op(p, batch_kinds[k].kind, &m->value, &w2, &batch->ops[i]);
        if (rc)
            return rc;
    }
    return QV_OK;
}

qv_status ops_parse(qv_arena *a, const cfg_collection *cfg, int kind, const jr_value *root,
                    op_batch *batch, qv_error *err)
{
    parser p = {.a = a, .cfg = cfg, .err = err, .scratch = QV_BUF_INIT};
    qv_status rc;
    memset(batch, 0, sizeof *batch);
    if (kind == QV_UPDATE_BATCH) {
        rc = parse_batch(&p, root, batch);
    } else {
        batch->ops = qv_arena_calloc(a, 1, sizeof *batch->ops);
        batch->n = 1;
        batch->seq = 0;
        rc = batch->ops ? parse_op(&p, kind, root, &body_path, &batch->ops[0]) : oom(&p);
    }
    qv_buf_free(&p.scratch);
    return rc;
}

/* ---- encoding ------------------------------------------------------------------- */

static void put(qv_buf *b, const void *p, size_t n) { qv_buf_append(b, p, n); }
static void put_u8(qv_buf *b, uint8_t v) { put(b, &v, 1); }
static void put_u16(qv_buf *b, uint16_t v) { uint8_t x[2]; qv_put_le16(x, v); put(b, x, 2); }
static void put_u32(qv_buf *b, uint32_t v) { uint8_t x[4]; qv_put_le32(x, v); put(b, x, 4); }
static void put_u64(qv_buf *b, uint64_t v) { uint8_t x[8]; qv_put_le64(x, v); put(b, x, 8); }
/* Vector values and sparse indices go in as whole arrays: that is their
 * little-endian form only on a little-endian host. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "ops.c copies float and u32 arrays as they are in memory");

static void put_id(qv_buf *b, const qv_point_id *id)
{
    put_u8(b, id->uuid);
    put_u64(b, id->hi);
    put_u64(b, id->lo);
}

static void put_text(qv_buf *b, const void *p, uint32_t len)
{
    put_u32(b, len);
    put(b, p, len);
}

static void put_selector(qv_buf *b, const op_selector *s)
{
    put_u8(b, s->by_filter);
    if (s->by_filter) {
        put_text(b, s->filter_json, s->filter_len);
        return;
    }
    put_u32(b, s->n_ids);
    for (uint32_t i = 0; i < s->n_ids; i++)
        put_id(b, &s->ids[i]);
}

static void put_vector(qv_buf *b, const op_vector *v)
{
    put_u8(b, v->sparse);
    put_u16(b, v->index);
    put_u32(b, v->n);
    if (v->sparse)
        put(b, v->indices, (size_t)v->n * 4);
    put(b, v->values, (size_t)v->n * 4);
}

static void put_op_body(qv_buf *b, const op_item *o)
{
    switch (o->kind) {
    case OP_UPSERT:
    case OP_UPDATE_VECTORS:
        if (o->update_filter_json)
            put_text(b, o->update_filter_json, o->update_filter_len);
        put_u32(b, o->n_points);
        for (uint32_t i = 0; i < o->n_points; i++) {
            const op_point *pt = &o->points[i];
            put_id(b, &pt->id);
            if (o->kind == OP_UPSERT) {
                if (pt->payload)
                    put_text(b, pt->payload, pt->payload_len);
                else
                    put_u32(b, UINT32_MAX);
            }
            put_u16(b, pt->n_vectors);
            for (uint16_t k = 0; k < pt->n_vectors; k++)
                put_vector(b, &pt->vectors[k]);
        }
        break;
    case OP_DELETE:
    case OP_CLEAR_PAYLOAD:
        put_selector(b, &o->sel);
        break;
    case OP_SET_PAYLOAD:
    case OP_OVERWRITE_PAYLOAD:
        put_text(b, o->payload, o->payload_len);
        put_text(b, o->key ? o->key : "", o->key ? o->key_len : 0);
        put_selector(b, &o->sel);
        break;
    case OP_DELETE_PAYLOAD:
        put_u32(b, o->n_keys);
        for (uint32_t i = 0; i < o->n_keys; i++)
            put_text(b, o->keys[i], o->key_lens[i]);
        put_selector(b, &o->sel);
        break;
    case OP_DELETE_VECTORS:
        put_u16(b, o->n_names);
        for (uint16_t i = 0; i < o->n_names; i++) {
            put_u8(b, o->names[i].sparse);
            put_u16(b, o->names[i].index);
        }
        put_selector(b, &o->sel);
        break;
    }
}

/* The bytes put_op_body writes for the points of an upsert or vector
 * update (the bulk of a record), else 0: reserved at once, so an upload's
 * record is not grown by doubling, each step copying it to fresh pages. */
static size_t points_body_size(const op_item *o)
{
    if (o->kind != OP_UPSERT && o->kind != OP_UPDATE_VECTORS)
        return 0;
    size_t n = (o->update_filter_json ? 4 + (size_t)o->update_filter_len : 0) + 4;
    for (uint32_t i = 0; i < o->n_points; i++) {
        const op_point *pt = &o->points[i];
        n += 17 + 2 + (o->kind == OP_UPSERT ? 4 + (pt->payload ? pt->payload_len : 0) : 0);
        for (uint16_t k = 0; k < pt->n_vectors; k++)
            n += 7 + (size_t)pt->vectors[k].n * (pt->vectors[k].sparse ? 8 : 4);
    }
    return n;
}

qv_status ops_encode(const op_batch *batch, qv_buf *out, qv_error *err)
{
    size_t want = 4;
    for (uint32_t i = 0; i < batch->n; i++)
        want += 8 + points_body_size(&batch->ops[i]);
    qv_buf_reserve(out, want);  /* a hint: appending grows it anyway when short */
    put_u32(out, batch->n);
    for (uint32_t i = 0; i < batch->n; i++) {
        const op_item *o = &batch->ops[i];
        put_u8(out, (uint8_t)o->kind);
        uint8_t flags = o->update_filter_json ? OPF_FILTER : 0;
        if (o->kind == OP_UPSERT && o->mode == OPM_INSERT_ONLY)
            flags |= OPF_INSERT_ONLY;
        else if (o->kind == OP_UPSERT && o->mode == OPM_UPDATE_ONLY)
            flags |= OPF_UPDATE_ONLY;
        put_u8(out, flags);
        put_u16(out, 0);
        size_t len_at = out->len;
        put_u32(out, 0);
        put_op_body(out, o);
        if (!qv_buf_ok(out))
            break;
        size_t n = out->len - len_at - 4;
        if (n > UINT32_MAX)
            return qv_fail(err, QV_VALIDATION, "operation too large");
        uint32_t n32 = (uint32_t)n;
        memcpy(out->data + len_at, &n32, 4);
    }
    if (!qv_buf_ok(out))
        return qv_fail(err, QV_NOMEM, "out of memory encoding an operation");
    return QV_OK;
}

/* ---- decoding -------------------------------------------------------------------- */

typedef struct dec {
    const uint8_t *p, *end;
    bool           bad;
    bool           oom;   /* bad because the arena ran out, not the bytes */
    qv_arena      *a;
} dec;

static bool need(dec *d, size_t n)
{
    if (d->bad || (size_t)(d->end - d->p) < n) {
        d->bad = true;
        return false;
    }
    return true;
}

#define GET_FN(name, T, load)            \
    static T name(dec *d)                \
    {                                    \
        T v = 0;                         \
        if (need(d, sizeof v)) {         \
            v = load(d->p);              \
            d->p += sizeof v;            \
        }                                \
        return v;                        \
    }
static inline uint8_t get_byte(const void *p) { return *(const uint8_t *)p; }
GET_FN(get_u8, uint8_t, get_byte)
GET_FN(get_u16, uint16_t, qv_get_le16)
GET_FN(get_u32, uint32_t, qv_get_le32)
GET_FN(get_u64, uint64_t, qv_get_le64)

/* n bytes copied into the arena (aligned for floats and ints). */
static void *get_copy(dec *d, size_t n)
{
    if (!need(d, n))
        return NULL;
    void *dst = qv_arena_alloc(d->a, n ? n : 1);
    if (!dst) {
        d->bad = d->oom = true;
        return NULL;
    }
    memcpy(dst, d->p, n);
    d->p += n;
    return dst;
}

static const char *get_text(dec *d, uint32_t *len)
{
    *len = get_u32(d);
    if (!need(d, *len))
        return NULL;
    char *s = qv_arena_strndup(d->a, (const char *)d->p, *len);
    if (!s)
        d->bad = d->oom = true;
    d->p += *len;
    return s;
}

static void get_id(dec *d, qv_point_id *id)
{
    id->uuid = get_u8(d);
    id->hi = get_u64(d);
    id->lo = get_u64(d);
    if (!pid_valid(id))
        d->bad = true;
}

static qv_status parse_stored_filter(dec *d, const char *text, uint32_t len, flt_filter **f,
                                     qv_error *err)
{
    jr_value *root;
    jr_error je;
    if (jr_parse(d->a, text, len, &root, &je) != 0)
        return qv_fail(err, je.oom ? QV_NOMEM : QV_CORRUPT, "stored filter: %s", je.msg);
    qv_status rc = flt_parse_stored(d->a, root, "filter", f, err);
    return rc == QV_OK || rc == QV_NOMEM ? rc : QV_CORRUPT;
}

static qv_status get_selector(dec *d, op_selector *s, qv_error *err)
{
    s->by_filter = get_u8(d);
    if (s->by_filter) {
        s->filter_json = get_text(d, &s->filter_len);
        if (d->bad)
            return QV_CORRUPT;
        return parse_stored_filter(d, s->filter_json, s->filter_len, &s->filter, err);
    }
    s->n_ids = get_u32(d);
    if (!need(d, (size_t)s->n_ids * 17))
        return QV_CORRUPT;
    s->ids = qv_arena_alloc(d->a, (s->n_ids ? s->n_ids : 1) * sizeof *s->ids);
    if (!s->ids)
        return qv_fail(err, QV_NOMEM, "out of memory");
    for (uint32_t i = 0; i < s->n_ids; i++)
        get_id(d, &s->ids[i]);
    return d->bad ? QV_CORRUPT : QV_OK;
}

static void get_vector(dec *d, op_vector *v)
{
    v->sparse = get_u8(d);
    v->index = get_u16(d);
    v->n = get_u32(d);
    if (v->sparse)
        v->indices = get_copy(d, (size_t)v->n * 4);
    v->values = get_copy(d, (size_t)v->n * 4);
}

static qv_status get_op_body(dec *d, op_item *o, uint8_t flags, qv_error *err)
{
    qv_status rc;
    switch (o->kind) {
    case OP_UPSERT:
    case OP_UPDATE_VECTORS:
        if (flags & OPF_FILTER) {
            o->update_filter_json = get_text(d, &o->update_filter_len);
            if (d->bad)
                return QV_CORRUPT;
            if ((rc = parse_stored_filter(d, o->update_filter_json, o->update_filter_len,
                                          &o->update_filter, err)))
                return rc;
        }
        o->n_points = get_u32(d);
        if (!need(d, (size_t)o->n_points * 19))
            return QV_CORRUPT;
        o->points = qv_arena_calloc(d->a, o->n_points ? o->n_points : 1, sizeof *o->points);
        if (!o->points)
            return qv_fail(err, QV_NOMEM, "out of memory");
        for (uint32_t i = 0; i < o->n_points && !d->bad; i++) {
            op_point *pt = &o->points[i];
            get_id(d, &pt->id);
            if (o->kind == OP_UPSERT) {
                uint32_t len = get_u32(d);
                if (len != UINT32_MAX) {
                    pt->payload = get_copy(d, len);
                    pt->payload_len = len;
                    if (pt->payload && !pl_validate(pt->payload, len))
                        d->bad = true;
                }
            }
            pt->n_vectors = get_u16(d);
            if (!need(d, (size_t)pt->n_vectors * 7))
                return QV_CORRUPT;
            pt->vectors = qv_arena_calloc(d->a, pt->n_vectors ? pt->n_vectors : 1, sizeof *pt->vectors);
            if (!pt->vectors)
                return qv_fail(err, QV_NOMEM, "out of memory");
            for (uint16_t k = 0; k < pt->n_vectors; k++)
                get_vector(d, &pt->vectors[k]);
        }
        return d->bad ? QV_CORRUPT : QV_OK;
    case OP_DELETE:
    case OP_CLEAR_PAYLOAD:
        return get_selector(d, &o->sel, err);
    case OP_SET_PAYLOAD:
    case OP_OVERWRITE_PAYLOAD:
        o->payload_len = get_u32(d);
        o->payload = get_copy(d, o->payload_len);
        if (d->bad || !pl_validate(o->payload, o->payload_len))
            return QV_CORRUPT;
        o->key = get_text(d, &o->key_len);
        if (d->bad)
            return QV_CORRUPT;
        if (o->key_len) {
            o->paths = qv_arena_alloc(d->a, sizeof *o->paths);
            if (!o->paths || pl_path_parse(d->a, o->key, o->key_len, o->paths, err) != 0)
                return QV_CORRUPT;
        } else {
            o->key = NULL;
        }
        return get_selector(d, &o->sel, err);
    case OP_DELETE_PAYLOAD:
        o->n_keys = get_u32(d);
        if (!need(d, (size_t)o->n_keys * 4))
            return QV_CORRUPT;
        o->keys = qv_arena_alloc(d->a, (o->n_keys ? o->n_keys : 1) * sizeof *o->keys);
        o->key_lens = qv_arena_alloc(d->a, (o->n_keys ? o->n_keys : 1) * sizeof *o->key_lens);
        o->paths = qv_arena_alloc(d->a, (o->n_keys ? o->n_keys : 1) * sizeof *o->paths);
        if (!o->keys || !o->key_lens || !o->paths)
            return qv_fail(err, QV_NOMEM, "out of memory");
        for (uint32_t i = 0; i < o->n_keys; i++) {
            o->keys[i] = get_text(d, &o->key_lens[i]);
            if (d->bad || pl_path_parse(d->a, o->keys[i], o->key_lens[i], &o->paths[i], err) != 0)
                return QV_CORRUPT;
        }
        return get_selector(d, &o->sel, err);
    case OP_DELETE_VECTORS:
        o->n_names = get_u16(d);
        o->names = qv_arena_calloc(d->a, o->n_names ? o->n_names : 1, sizeof *o->names);
        if (!o->names)
            return qv_fail(err, QV_NOMEM, "out of memory");
        for (uint16_t i = 0; i < o->n_names; i++) {
            o->names[i].sparse = get_u8(d);
            o->names[i].index = get_u16(d);
        }
        return d->bad ? QV_CORRUPT : get_selector(d, &o->sel, err);
    }
    return QV_CORRUPT;
}

qv_status ops_decode(qv_arena *a, const void *body, size_t len, op_batch *batch, qv_error *err)
{
    dec d = {.p = body, .end = (const uint8_t *)body + len, .a = a};
    memset(batch, 0, sizeof *batch);
    uint32_t n = get_u32(&d);
    if (d.bad || n == 0 || n > OPS_MAX_OPERATIONS)
        return qv_fail(err, QV_CORRUPT, "record: bad operation count");
    batch->ops = qv_arena_calloc(a, n, sizeof *batch->ops);
    if (!batch->ops)
        return qv_fail(err, QV_NOMEM, "out of memory");
    batch->n = n;
    batch->seq = 0;
    for (uint32_t i = 0; i < n; i++) {
        op_item *o = &batch->ops[i];
        o->kind = (op_kind)get_u8(&d);
        uint8_t flags = get_u8(&d);
        get_u16(&d);
        uint8_t modes = flags & (OPF_INSERT_ONLY | OPF_UPDATE_ONLY);
        if ((flags & ~(OPF_FILTER | OPF_INSERT_ONLY | OPF_UPDATE_ONLY)) ||
            modes == (OPF_INSERT_ONLY | OPF_UPDATE_ONLY) || (modes && o->kind != OP_UPSERT))
            return qv_fail(err, QV_CORRUPT, "record: operation %u has unknown flags", i);
        o->mode = modes == OPF_INSERT_ONLY ? OPM_INSERT_ONLY
                : modes == OPF_UPDATE_ONLY ? OPM_UPDATE_ONLY : OPM_UPSERT;
        uint32_t olen = get_u32(&d);
        if (!need(&d, olen))
            return qv_fail(err, QV_CORRUPT, "record: operation %u truncated", i);
        dec sub = {.p = d.p, .end = d.p + olen, .a = a};
        qv_status rc = get_op_body(&sub, o, flags, err);
        if (rc == QV_NOMEM || sub.oom)
            return qv_fail(err, QV_NOMEM, "out of memory decoding operation %u of a record", i);
        if (rc || sub.bad || sub.p != sub.end)
            return qv_fail(err, QV_CORRUPT, "record: operation %u is malformed", i);
        d.p += olen;
    }
    if (d.p != d.end)
        return qv_fail(err, QV_CORRUPT, "record: trailing bytes");
    return QV_OK;
}
