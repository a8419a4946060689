/*
 * config.c — see config.h.
 *
 * Errors name the JSON path of the offending field ("vectors.size"), which
 * is what Qdrant's validation messages do and what its serde format
 * messages lack (they give a line and column instead).
 */
#include "core/config.h"

#include <float.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "json/jtree.h"
#include "vector/dist.h"

/* The engine hands cfg_distance to vector/ as dist_metric. */
_Static_assert((int)CFG_COSINE == (int)DIST_COSINE && (int)CFG_EUCLID == (int)DIST_EUCLID &&
                   (int)CFG_DOT == (int)DIST_DOT && (int)CFG_MANHATTAN == (int)DIST_MANHATTAN,
               "cfg_distance and dist_metric agree");

const char *const cfg_distance_names[4] = {"Cosine", "Euclid", "Dot", "Manhattan"};

/* ---- field tables -------------------------------------------------------- */

typedef enum { F_U64, F_F64, F_BOOL } field_kind;

/* How an unset field prints in a complete section. */
typedef enum { UNSET_OMIT, UNSET_NULL } unset_form;

typedef struct cfg_field {
    const char *name;
    field_kind  kind;
    unset_form  unset;
    uint16_t    off;       /* offset of the value in the section struct */
    double      min, max;  /* inclusive range of a number */
} cfg_field;

typedef struct cfg_section {
    const cfg_field *fields;
    uint32_t         n;
} cfg_section;

#define CFG_PATH_LEN 640  /* a field path: a few names of <= 255 bytes */
#define NOMAX 1.8e19  /* above any uint64 a client can send */
#define FLD(T, f, kind, unset, lo, hi) {#f, kind, unset, (uint16_t)offsetof(T, f), lo, hi}

static const cfg_field hnsw_fields[] = {
    FLD(cfg_hnsw, m, F_U64, UNSET_OMIT, 0, NOMAX),
    FLD(cfg_hnsw, ef_construct, F_U64, UNSET_OMIT, 4, NOMAX),
    FLD(cfg_hnsw, full_scan_threshold, F_U64, UNSET_OMIT, 10, NOMAX),
    FLD(cfg_hnsw, max_indexing_threads, F_U64, UNSET_OMIT, 0, NOMAX),
    FLD(cfg_hnsw, on_disk, F_BOOL, UNSET_OMIT, 0, 0),
    FLD(cfg_hnsw, payload_m, F_U64, UNSET_OMIT, 0, NOMAX),
    FLD(cfg_hnsw, inline_storage, F_BOOL, UNSET_OMIT, 0, 0),
};
static const cfg_section hnsw_section = {hnsw_fields, sizeof hnsw_fields / sizeof *hnsw_fields};

static const cfg_field optimizer_fields[] = {
    FLD(cfg_optimizers, deleted_threshold, F_F64, UNSET_OMIT, 0, 1),
    FLD(cfg_optimizers, vacuum_min_vector_number, F_U64, UNSET_OMIT, 100, NOMAX),
    FLD(cfg_optimizers, default_segment_number, F_U64, UNSET_OMIT, 0, NOMAX),
    FLD(cfg_optimizers, max_segment_size, F_U64, UNSET_NULL, 1, NOMAX),
    FLD(cfg_optimizers, memmap_threshold, F_U64, UNSET_NULL, 0, NOMAX),
    FLD(cfg_optimizers, indexing_threshold, F_U64, UNSET_NULL, 0, NOMAX),
    FLD(cfg_optimizers, flush_interval_sec, F_U64, UNSET_OMIT, 0, NOMAX),
    FLD(cfg_optimizers, max_optimization_threads, F_U64, UNSET_NULL, 0, NOMAX),
    FLD(cfg_optimizers, prevent_unoptimized, F_BOOL, UNSET_OMIT, 0, 0),
};
static const cfg_section optimizer_section = {optimizer_fields,
                                              sizeof optimizer_fields / sizeof *optimizer_fields};

static const cfg_field wal_fields[] = {
    FLD(cfg_wal, wal_capacity_mb, F_U64, UNSET_OMIT, 1, NOMAX),
    FLD(cfg_wal, wal_segments_ahead, F_U64, UNSET_OMIT, 0, NOMAX),
    FLD(cfg_wal, wal_retain_closed, F_U64, UNSET_OMIT, 1, NOMAX),
};
static const cfg_section wal_section = {wal_fields, sizeof wal_fields / sizeof *wal_fields};

static const cfg_field sparse_index_fields[] = {
    FLD(cfg_sparse_index, full_scan_threshold, F_U64, UNSET_OMIT, 0, NOMAX),
    FLD(cfg_sparse_index, on_disk, F_BOOL, UNSET_OMIT, 0, 0),
};
static const cfg_section sparse_index_section = {
    sparse_index_fields, sizeof sparse_index_fields / sizeof *sparse_index_fields};

/* Every section struct starts with its `set` mask. */
#define SET_MASK(p) (*(uint32_t *)(p))

/* ---- messages ------------------------------------------------------------ */

static const char *expected_name(field_kind k)
{
    return k == F_U64 ? "u64" : k == F_F64 ? "f64" : "a boolean";
}

/* serde's "invalid type: string \"x\", expected u64" with our path first. */
static qv_status bad_type(qv_error *err, const char *path, const jr_value *v, const char *expected)
{
    char got[96];
    switch ((jr_type)v->type) {
    case JR_STRING:
        snprintf(got, sizeof got, "string \"%.60s\"", v->u.str);
        break;
    case JR_NUMBER:
        if ((v->flags & JR_NUM_INT) && (v->flags & JR_NUM_NEG))
            snprintf(got, sizeof got, "integer `%" PRId64 "`", v->x.i64);
        else if (v->flags & JR_NUM_INT)
            snprintf(got, sizeof got, "integer `%" PRIu64 "`", v->x.u64);
        else
            snprintf(got, sizeof got, "floating point `%g`", v->u.num);
        break;
    case JR_TRUE: case JR_FALSE:
        snprintf(got, sizeof got, "boolean `%s`", v->type == JR_TRUE ? "true" : "false");
        break;
    case JR_NULL: snprintf(got, sizeof got, "null"); break;
    case JR_ARRAY: snprintf(got, sizeof got, "sequence"); break;
    case JR_OBJECT: snprintf(got, sizeof got, "map"); break;
    }
    return qv_fail(err, QV_BAD_FORMAT, "%s: invalid type: %s, expected %s", path, got, expected);
}

/* Qdrant's (validator crate's) range message. */
/* Qdrant's (validator crate's) range message; integer rules print integer
 * bounds ("must be 1 or larger"), float rules print floats ("0.0"). */
static qv_status out_of_range(qv_error *err, const char *path, double v, double lo, double hi,
                              bool is_float)
{
    char val[40], a[40], b[40];
    if (is_float) {
        jw_fmt_f64(val, v);
        jw_fmt_f64(a, lo);
        jw_fmt_f64(b, hi);
    } else {
        snprintf(val, sizeof val, "%.0f", v);
        snprintf(a, sizeof a, "%.0f", lo);
        snprintf(b, sizeof b, "%.0f", hi);
    }
    if (hi >= NOMAX)
        return qv_fail(err, QV_VALIDATION, "%s: value %s invalid, must be %s or larger", path, val, a);
    return qv_fail(err, QV_VALIDATION, "%s: value %s invalid, must be from %s to %s", path, val, a, b);
}

/* Field paths are for messages: a long one is cut, never overflows. */
static void fmt_path(char *dst, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fmt_path(char *dst, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst, cap, fmt, ap);
    va_end(ap);
}

static void join_path(char *dst, size_t cap, const char *prefix, const char *name)
{
    fmt_path(dst, cap, "%s%s%s", prefix, *prefix ? "." : "", name);
}

/* ---- sections ------------------------------------------------------------ */

static const cfg_field *section_field(const cfg_section *s, const char *name, uint32_t *idx)
{
    for (uint32_t i = 0; i < s->n; i++)
        if (strcmp(s->fields[i].name, name) == 0) {
            *idx = i;
            return &s->fields[i];
        }
    return NULL;
}

/* Read the given (non-null) members of obj into dst and mark them set.
 * Unknown members are ignored, as serde does for these structs. */
static qv_status section_parse(const cfg_section *s, const jr_value *obj, void *dst,
                               const char *path, qv_error *err)
{
    if (jr_is_null(obj))
        return QV_OK;
    if (obj->type != JR_OBJECT)
        return bad_type(err, path, obj, "a map");
    for (uint32_t m = 0; m < obj->len; m++) {
        const jr_member *mem = &obj->u.members[m];
        uint32_t i;
        const cfg_field *f = section_field(s, mem->key, &i);
        if (!f || jr_is_null(&mem->value))
            continue;
        char fpath[CFG_PATH_LEN];
        join_path(fpath, sizeof fpath, path, f->name);
        char *slot = (char *)dst + f->off;
        const jr_value *v = &mem->value;
        if (f->kind == F_BOOL) {
            if (!jr_is_bool(v))
                return bad_type(err, fpath, v, expected_name(f->kind));
            *(bool *)slot = v->type == JR_TRUE;
        } else if (f->kind == F_U64) {
            uint64_t u;
            if (!jr_get_u64(v, &u))
                return bad_type(err, fpath, v, expected_name(f->kind));
            if ((double)u < f->min || (double)u > f->max)
                return out_of_range(err, fpath, (double)u, f->min, f->max, false);
            *(uint64_t *)slot = u;
        } else {
            double d;
            if (!jr_get_f64(v, &d))
                return bad_type(err, fpath, v, expected_name(f->kind));
            if (d < f->min || d > f->max)
                return out_of_range(err, fpath, d, f->min, f->max, true);
            *(double *)slot = d;
        }
        SET_MASK(dst) |= 1u << i;
    }
    return QV_OK;
}

/* Copy the fields set in diff onto dst. */
static void section_apply(const cfg_section *s, void *dst, const void *diff)
{
    for (uint32_t i = 0; i < s->n; i++) {
        if (!(SET_MASK(diff) & (1u << i)))
            continue;
        const cfg_field *f = &s->fields[i];
        size_t sz = f->kind == F_BOOL ? sizeof(bool) : 8;
        memcpy((char *)dst + f->off, (const char *)diff + f->off, sz);
        SET_MASK(dst) |= 1u << i;
    }
}

/* Print a section: set fields with their values; unset ones as the table
 * says when complete, omitted when printing a diff. */
static void section_print(jw *w, const cfg_section *s, const void *src, bool complete)
{
    jw_obj_begin(w);
    for (uint32_t i = 0; i < s->n; i++) {
        const cfg_field *f = &s->fields[i];
        const char *slot = (const char *)src + f->off;
        if (!(SET_MASK(src) & (1u << i))) {
            if (complete && f->unset == UNSET_NULL) {
                jw_key(w, f->name);
                jw_null(w);
            }
            continue;
        }
        jw_key(w, f->name);
        if (f->kind == F_BOOL)
            jw_bool(w, *(const bool *)slot);
        else if (f->kind == F_U64)
            jw_uint(w, *(const uint64_t *)slot);
        else
            jw_f64(w, *(const double *)slot);
    }
    jw_obj_end(w);
}

/* ---- defaults, copy, free ------------------------------------------------ */

void cfg_defaults(cfg_collection *c)
{
    memset(c, 0, sizeof *c);
    c->shard_number = c->replication_factor = c->write_consistency_factor = 1;
    c->on_disk_payload = true;
    c->hnsw = (cfg_hnsw){.m = 16, .ef_construct = 100, .full_scan_threshold = 10000,
                         .max_indexing_threads = 0, .on_disk = false};
    c->hnsw.set = 0x1f;  /* m, ef_construct, full_scan_threshold, max_indexing_threads, on_disk */
    c->optimizers = (cfg_optimizers){.deleted_threshold = 0.2, .vacuum_min_vector_number = 1000,
                                     .default_segment_number = 0, .indexing_threshold = 10000,
                                     .flush_interval_sec = 5};
    c->optimizers.set = (1u << 0) | (1u << 1) | (1u << 2) | (1u << 5) | (1u << 6);
    c->wal = (cfg_wal){.wal_capacity_mb = 32, .wal_segments_ahead = 0, .wal_retain_closed = 1};
    c->wal.set = 0x7;
}

void cfg_free(cfg_collection *c)
{
    for (uint32_t i = 0; i < c->n_vectors; i++)
        free(c->vectors[i].name);
    for (uint32_t i = 0; i < c->n_sparse; i++)
        free(c->sparse[i].name);
    free(c->vectors);
    free(c->sparse);
    free(c->metadata_json);
    memset(c, 0, sizeof *c);
}

qv_status cfg_copy(cfg_collection *dst, const cfg_collection *src, qv_error *err)
{
    *dst = *src;
    dst->vectors = NULL;
    dst->sparse = NULL;
    dst->metadata_json = NULL;
    dst->n_vectors = dst->n_sparse = 0;
    if (src->n_vectors) {
        dst->vectors = calloc(src->n_vectors, sizeof *dst->vectors);
        if (!dst->vectors)
            goto fail;
        for (uint32_t i = 0; i < src->n_vectors; i++) {
            dst->vectors[i] = src->vectors[i];
            dst->vectors[i].name = strdup(src->vectors[i].name);
            dst->n_vectors = i + 1;
            if (!dst->vectors[i].name)
                goto fail;
        }
    }
    if (src->n_sparse) {
        dst->sparse = calloc(src->n_sparse, sizeof *dst->sparse);
        if (!dst->sparse)
            goto fail;
        for (uint32_t i = 0; i < src->n_sparse; i++) {
            dst->sparse[i] = src->sparse[i];
            dst->sparse[i].name = strdup(src->sparse[i].name);
            dst->n_sparse = i + 1;
            if (!dst->sparse[i].name)
                goto fail;
        }
    }
    if (src->metadata_json && !(dst->metadata_json = strdup(src->metadata_json)))
        goto fail;
    return QV_OK;
fail:
    cfg_free(dst);
    return qv_fail(err, QV_NOMEM, "out of memory copying a collection config");
}

const cfg_vector *cfg_find_vector(const cfg_collection *c, const char *name)
{
    for (uint32_t i = 0; i < c->n_vectors; i++)
        if (strcmp(c->vectors[i].name, name) == 0)
            return &c->vectors[i];
    return NULL;
}

/* ---- parsing ------------------------------------------------------------- */

static qv_status parse_u32_min1(const jr_value *v, const char *path, uint32_t *out, qv_error *err)
{
    uint64_t u;
    if (!jr_get_u64(v, &u) || u > UINT32_MAX)
        return bad_type(err, path, v, "u32");
    if (u < 1)
        return out_of_range(err, path, (double)u, 1, NOMAX, false);
    *out = (uint32_t)u;
    return QV_OK;
}

static qv_status parse_bool(const jr_value *v, const char *path, bool *out, qv_error *err)
{
    if (!jr_is_bool(v))
        return bad_type(err, path, v, "a boolean");
    *out = v->type == JR_TRUE;
    return QV_OK;
}

static qv_status parse_datatype(const jr_value *v, const char *fpath, bool *set, qv_error *err)
{
    if (v->type != JR_STRING)
        return bad_type(err, fpath, v, "enum Datatype");
    if (strcmp(v->u.str, "float32") == 0)
        *set = true;
    else if (strcmp(v->u.str, "float16") == 0 || strcmp(v->u.str, "uint8") == 0 ||
             strcmp(v->u.str, "turbo4") == 0)
        return qv_fail(err, QV_UNSUPPORTED, "%s: datatype `%s` is not supported by Quiver yet, use `float32`",
                       fpath, v->u.str);
    else
        return qv_fail(err, QV_BAD_FORMAT,
                       "%s: unknown variant `%.60s`, expected one of `float32`, `uint8`, `float16`",
                       fpath, v->u.str);
    return QV_OK;
}

/* What defines a dense vector space: size, distance, datatype (and
 * multivector_config, which Quiver lacks). Shared by VectorParams and by
 * the DenseVectorConfig of PUT /collections/{name}/vectors/{vector}. */
static qv_status parse_vector_space(const jr_value *o, const char *path, const char *type,
                                    cfg_vector *vec, qv_error *err)
{
    char fpath[CFG_PATH_LEN];
    if (o->type != JR_OBJECT)
        return bad_type(err, path, o, type);
    const jr_value *size = jr_get(o, "size"), *dist = jr_get(o, "distance");
    if (jr_is_null(size))
        return qv_fail(err, QV_BAD_FORMAT, "%s: missing field `size`", path);
    if (jr_is_null(dist))
        return qv_fail(err, QV_BAD_FORMAT, "%s: missing field `distance`", path);
    join_path(fpath, sizeof fpath, path, "size");
    uint64_t u;
    if (!jr_get_u64(size, &u))
        return bad_type(err, fpath, size, "u64");
    if (u < 1 || u > CFG_MAX_DIM)
        return out_of_range(err, fpath, (double)u, 1, CFG_MAX_DIM, false);
    vec->size = (uint32_t)u;

    join_path(fpath, sizeof fpath, path, "distance");
    if (dist->type != JR_STRING)
        return bad_type(err, fpath, dist, "enum Distance");
    int d = -1;
    for (int i = 0; i < 4; i++)
        if (strcmp(dist->u.str, cfg_distance_names[i]) == 0)
            d = i;
    if (d < 0)
        return qv_fail(err, QV_BAD_FORMAT,
                       "%s: unknown variant `%.60s`, expected one of `Cosine`, `Euclid`, `Dot`, `Manhattan`",
                       fpath, dist->u.str);
    vec->distance = (cfg_distance)d;
    const jr_value *v = jr_get(o, "datatype");
    if (!jr_is_null(v)) {
        join_path(fpath, sizeof fpath, path, "datatype");
        qv_status rc = parse_datatype(v, fpath, &vec->datatype_set, err);
        if (rc)
            return rc;
    }
    if (!jr_is_null(jr_get(o, "multivector_config")))
        return qv_fail(err, QV_UNSUPPORTED, "%s.multivector_config is not supported by Quiver yet", path);
    return QV_OK;
}

/* One VectorParams object. */
static qv_status parse_vector_params(const jr_value *o, const char *path, cfg_vector *vec,
                                     qv_error *err)
{
    char fpath[CFG_PATH_LEN];
    qv_status rc = parse_vector_space(o, path, "struct VectorParams", vec, err);
    if (rc)
        return rc;
    join_path(fpath, sizeof fpath, path, "hnsw_config");
    if ((rc = section_parse(&hnsw_section, jr_get(o, "hnsw_config"), &vec->hnsw, fpath, err)))
        return rc;
    const jr_value *v = jr_get(o, "on_disk");
    if (!jr_is_null(v)) {
        join_path(fpath, sizeof fpath, path, "on_disk");
        if ((rc = parse_bool(v, fpath, &vec->on_disk, err)))
            return rc;
        vec->on_disk_set = true;
    }
    if (!jr_is_null(jr_get(o, "quantization_config")))
        return qv_fail(err, QV_UNSUPPORTED, "%s.quantization_config is not supported by Quiver yet", path);
    return QV_OK;
}

qv_status cfg_name_chars_check(const char *kind, const char *name, size_t len, qv_error *err)
{
    /* Qdrant's list, in Qdrant's order: it reports the first of these that
     * occurs anywhere in the name, not the first offending byte. */
    static const char bad[] = {'<', '>', ':', '"', '/', '\\', '|', '?', '*', '\0', '\x1f'};
    for (size_t i = 0; i < sizeof bad; i++) {
        if (!memchr(name, bad[i], len))
            continue;
        /* A NUL cannot travel in a C string message: spell it as Rust's
         * Debug would, "\0". U+001F is sent raw (the JSON writer escapes it). */
        if (bad[i] == '\0')
            return qv_fail(err, QV_VALIDATION, "%s name cannot contain \"\\0\" char", kind);
        return qv_fail(err, QV_VALIDATION, "%s name cannot contain \"%c\" char", kind, bad[i]);
    }
    return QV_OK;
}

qv_status cfg_vector_name_check(const char *name, size_t len, qv_error *err)
{
    if (len == 0)
        return qv_fail(err, QV_VALIDATION, "vector name cannot be empty");
    if (len > CFG_MAX_VECTOR_NAME_LEN)
        return qv_fail(err, QV_VALIDATION, "vector name must be at most %d bytes long",
                       CFG_MAX_VECTOR_NAME_LEN);
    return cfg_name_chars_check("vector", name, len, err);
}

/* VectorsConfig: one VectorParams (has "size" or "distance") or a map of
 * name -> VectorParams. */
static qv_status parse_vectors(const jr_value *v, cfg_collection *c, bool stored, qv_error *err)
{
    if (v->type != JR_OBJECT)
        return bad_type(err, "vectors", v, "a VectorParams object or a map of named vectors");
    bool single = jr_get(v, "size") || jr_get(v, "distance");
    uint32_t n = single ? 1 : v->len;
    if (n > CFG_MAX_NAMED_VECTORS)
        return qv_fail(err, QV_VALIDATION, "vectors: at most %d named vectors are allowed",
                       CFG_MAX_NAMED_VECTORS);
    if (n == 0)
        return QV_OK;
    c->vectors = calloc(n, sizeof *c->vectors);
    if (!c->vectors)
        return qv_fail(err, QV_NOMEM, "out of memory");
    c->unnamed = single;
    for (uint32_t i = 0; i < n; i++) {
        cfg_vector *vec = &c->vectors[i];
        const char *name = single ? "" : v->u.members[i].key;
        /* "" names the unnamed vector once a named one was added beside it
         * (PUT /vectors/{name}); such a config is only ever stored. */
        bool keep_empty = stored && v->u.members[i].key_len == 0;
        qv_status nrc;
        if (!single && !keep_empty &&
            (nrc = cfg_vector_name_check(name, v->u.members[i].key_len, err)))
            return nrc;
        vec->name = strdup(name);
        if (!vec->name)
            return qv_fail(err, QV_NOMEM, "out of memory");
        c->n_vectors = i + 1;
        char path[CFG_PATH_LEN];
        fmt_path(path, sizeof path, single ? "vectors" : "vectors.%s", name);
        qv_status rc = parse_vector_params(single ? v : &v->u.members[i].value, path, vec, err);
        if (rc)
            return rc;
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(c->vectors[j].name, name) == 0)
                return qv_fail(err, QV_BAD_FORMAT, "vectors: duplicate vector name `%s`", name);
    }
    return QV_OK;
}

static qv_status parse_sparse(const jr_value *v, cfg_collection *c, qv_error *err)
{
    if (v->type != JR_OBJECT)
        return bad_type(err, "sparse_vectors", v, "a map");
    if (v->len > CFG_MAX_NAMED_VECTORS)
        return qv_fail(err, QV_VALIDATION, "sparse_vectors: at most %d sparse vectors are allowed",
                       CFG_MAX_NAMED_VECTORS);
    if (v->len == 0)
        return QV_OK;
    c->sparse = calloc(v->len, sizeof *c->sparse);
    if (!c->sparse)
        return qv_fail(err, QV_NOMEM, "out of memory");
    for (uint32_t i = 0; i < v->len; i++) {
        const jr_member *m = &v->u.members[i];
        cfg_sparse *s = &c->sparse[i];
        char path[CFG_PATH_LEN];
        fmt_path(path, sizeof path, "sparse_vectors.%s", m->key);
        qv_status nrc = cfg_vector_name_check(m->key, m->key_len, err);
        if (nrc)
            return nrc;
        if (!(s->name = strdup(m->key)))
            return qv_fail(err, QV_NOMEM, "out of memory");
        c->n_sparse = i + 1;
        if (m->value.type != JR_OBJECT)
            return bad_type(err, path, &m->value, "struct SparseVectorParams");
        const jr_value *idx = jr_get(&m->value, "index");
        if (!jr_is_null(idx)) {
            char ipath[CFG_PATH_LEN];
            join_path(ipath, sizeof ipath, path, "index");
            qv_status rc = section_parse(&sparse_index_section, idx, &s->index, ipath, err);
            if (rc)
                return rc;
            const jr_value *dt = jr_get(idx, "datatype");
            if (!jr_is_null(dt) && !(dt->type == JR_STRING && strcmp(dt->u.str, "float32") == 0))
                return qv_fail(err, QV_UNSUPPORTED, "%s.datatype: only `float32` is supported by Quiver",
                               ipath);
            s->has_index = true;
        }
        const jr_value *mod = jr_get(&m->value, "modifier");
        if (!jr_is_null(mod)) {
            if (mod->type != JR_STRING ||
                (strcmp(mod->u.str, "none") != 0 && strcmp(mod->u.str, "idf") != 0))
                return qv_fail(err, QV_BAD_FORMAT,
                               "%s.modifier: unknown variant, expected one of `none`, `idf`", path);
            s->idf = strcmp(mod->u.str, "idf") == 0;
            s->modifier_set = true;
        }
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(c->sparse[j].name, s->name) == 0)
                return qv_fail(err, QV_BAD_FORMAT, "sparse_vectors: duplicate vector name `%s`", s->name);
        if (cfg_find_vector(c, s->name))
            return qv_fail(err, QV_BAD_INPUT, "sparse vector name `%s` is also a dense vector name",
                           s->name);
    }
    return QV_OK;
}

static qv_status parse_metadata(const jr_value *v, char **out, qv_error *err)
{
    if (v->type != JR_OBJECT)
        return bad_type(err, "metadata", v, "a map");
    qv_buf b = QV_BUF_INIT;
    jw w;
    jw_init(&w, &b);
    jw_tree(&w, v);
    if (!qv_buf_ok(&b)) {
        qv_buf_free(&b);
        return qv_fail(err, QV_NOMEM, "out of memory");
    }
    free(*out);
    *out = qv_buf_detach(&b, NULL);
    return QV_OK;
}

/* The collection-level params that CreateCollection has at its top level and
 * CollectionConfig has under "params". */
static qv_status parse_params(const jr_value *o, cfg_collection *c, bool stored, qv_error *err)
{
    qv_status rc = QV_OK;
    const jr_value *v;
    if ((v = jr_get(o, "vectors")) && !jr_is_null(v) && (rc = parse_vectors(v, c, stored, err)))
        return rc;
    if ((v = jr_get(o, "sparse_vectors")) && !jr_is_null(v) && (rc = parse_sparse(v, c, err)))
        return rc;
    if ((v = jr_get(o, "shard_number")) && !jr_is_null(v) &&
        (rc = parse_u32_min1(v, "shard_number", &c->shard_number, err)))
        return rc;
    if ((v = jr_get(o, "replication_factor")) && !jr_is_null(v) &&
        (rc = parse_u32_min1(v, "replication_factor", &c->replication_factor, err)))
        return rc;
    if ((v = jr_get(o, "write_consistency_factor")) && !jr_is_null(v) &&
        (rc = parse_u32_min1(v, "write_consistency_factor", &c->write_consistency_factor, err)))
        return rc;
    if ((v = jr_get(o, "on_disk_payload")) && !jr_is_null(v) &&
        (rc = parse_bool(v, "on_disk_payload", &c->on_disk_payload, err)))
        return rc;
    if ((v = jr_get(o, "sharding_method")) && !jr_is_null(v) &&
        !(v->type == JR_STRING && strcmp(v->u.str, "auto") == 0))
        return qv_fail(err, QV_UNSUPPORTED, "sharding_method: only `auto` is supported by Quiver");
    return QV_OK;
}

qv_status cfg_parse(const jr_value *root, cfg_shape shape, cfg_collection *c, qv_error *err)
{
    cfg_defaults(c);
    if (jr_is_null(root))
        return QV_OK;
    qv_status rc = QV_OK;
    if (root->type != JR_OBJECT) {
        rc = bad_type(err, shape == CFG_CREATE ? "body" : "config", root,
                      shape == CFG_CREATE ? "struct CreateCollection" : "struct CollectionConfig");
        goto fail;
    }
    static const char *const fields[] = {
        "vectors", "sparse_vectors", "shard_number", "sharding_method", "replication_factor",
        "write_consistency_factor", "on_disk_payload", "hnsw_config", "wal_config",
        "optimizers_config", "quantization_config", "strict_mode_config", "metadata",
        "init_from"};
    const char *dup = shape == CFG_CREATE ? jr_dup_field(root, fields, sizeof fields / sizeof *fields)
                                          : NULL;
    if (dup) {
        rc = qv_fail(err, QV_BAD_FORMAT, "duplicate field `%s`", dup);
        goto fail;
    }
    const jr_value *params = root;
    if (shape == CFG_STORED) {
        params = jr_get(root, "params");
        if (!jr_is_object(params)) {
            rc = qv_fail(err, QV_CORRUPT, "config: missing field `params`");
            goto fail;
        }
    }
    if ((rc = parse_params(params, c, shape == CFG_STORED, err)))
        goto fail;
    if ((rc = section_parse(&hnsw_section, jr_get(root, "hnsw_config"), &c->hnsw, "hnsw_config", err)))
        goto fail;
    const char *opt_key = shape == CFG_CREATE ? "optimizers_config" : "optimizer_config";
    if ((rc = section_parse(&optimizer_section, jr_get(root, opt_key), &c->optimizers, opt_key, err)))
        goto fail;
    if ((rc = section_parse(&wal_section, jr_get(root, "wal_config"), &c->wal, "wal_config", err)))
        goto fail;
    const jr_value *v = jr_get(root, "metadata");
    if (!jr_is_null(v) && (rc = parse_metadata(v, &c->metadata_json, err)))
        goto fail;
    if (!jr_is_null(jr_get(root, "quantization_config"))) {
        rc = qv_fail(err, QV_UNSUPPORTED, "quantization_config is not supported by Quiver yet");
        goto fail;
    }
    if (shape == CFG_CREATE && !jr_is_null(jr_get(root, "init_from"))) {
        rc = qv_fail(err, QV_UNSUPPORTED, "init_from is not supported by Quiver");
        goto fail;
    }
    return QV_OK;
fail:
    cfg_free(c);
    return rc;
}

/* ---- update (PATCH) -------------------------------------------------------- */

/* Merge a metadata patch: keys set to null are removed, others replace. */
static qv_status merge_metadata(const jr_value *patch, cfg_collection *c, qv_error *err)
{
    if (patch->type != JR_OBJECT)
        return bad_type(err, "metadata", patch, "a map");
    qv_arena a;
    qv_arena_init(&a, 0);
    const jr_value *old = NULL;
    jr_error jerr;
    if (c->metadata_json &&
        jr_parse(&a, c->metadata_json, strlen(c->metadata_json), (jr_value **)&old, &jerr) != 0) {
        qv_arena_free(&a);
        return qv_fail(err, QV_CORRUPT, "stored metadata is not valid JSON");
    }
    qv_buf b = QV_BUF_INIT;
    jw w;
    jw_init(&w, &b);
    jw_obj_begin(&w);
    for (uint32_t i = 0; old && i < old->len; i++) {
        const jr_member *m = &old->u.members[i];
        if (jr_get(patch, m->key))
            continue;
        jw_keyn(&w, m->key, m->key_len);
        jw_tree(&w, &m->value);
    }
    for (uint32_t i = 0; i < patch->len; i++) {
        const jr_member *m = &patch->u.members[i];
        if (m->value.type == JR_NULL)
            continue;
        jw_keyn(&w, m->key, m->key_len);
        jw_tree(&w, &m->value);
    }
    jw_obj_end(&w);
    qv_arena_free(&a);
    if (!qv_buf_ok(&b)) {
        qv_buf_free(&b);
        return qv_fail(err, QV_NOMEM, "out of memory");
    }
    free(c->metadata_json);
    c->metadata_json = qv_buf_detach(&b, NULL);
    return QV_OK;
}

static qv_status update_vectors(const jr_value *v, cfg_collection *c, qv_error *err)
{
    if (v->type != JR_OBJECT)
        return bad_type(err, "vectors", v, "a map of vector names to VectorParamsDiff");
    for (uint32_t i = 0; i < v->len; i++) {
        const jr_member *m = &v->u.members[i];
        cfg_vector *vec = (cfg_vector *)cfg_find_vector(c, m->key);
        if (!vec || strlen(m->key) != m->key_len) /* counted: "a\u0000b" is not "a" */
            return qv_fail(err, QV_BAD_INPUT, "Not existing vector name error: %s", m->key);
        if (m->value.type != JR_OBJECT)
            return bad_type(err, "vectors", &m->value, "struct VectorParamsDiff");
        char path[CFG_PATH_LEN];
        fmt_path(path, sizeof path, "vectors.%s.hnsw_config", m->key);
        qv_status rc = section_parse(&hnsw_section, jr_get(&m->value, "hnsw_config"), &vec->hnsw,
                                     path, err);
        if (rc)
            return rc;
        const jr_value *od = jr_get(&m->value, "on_disk");
        if (!jr_is_null(od)) {
            fmt_path(path, sizeof path, "vectors.%s.on_disk", m->key);
            if ((rc = parse_bool(od, path, &vec->on_disk, err)))
                return rc;
            vec->on_disk_set = true;
        }
        if (!jr_is_null(jr_get(&m->value, "quantization_config")))
            return qv_fail(err, QV_UNSUPPORTED, "quantization_config is not supported by Quiver yet");
    }
    return QV_OK;
}

static qv_status update_sparse(const jr_value *v, cfg_collection *c, qv_error *err)
{
    if (v->type != JR_OBJECT)
        return bad_type(err, "sparse_vectors", v, "a map");
    for (uint32_t i = 0; i < v->len; i++) {
        const jr_member *m = &v->u.members[i];
        cfg_sparse *s = NULL;
        for (uint32_t j = 0; j < c->n_sparse; j++)
            if (strcmp(c->sparse[j].name, m->key) == 0)
                s = &c->sparse[j];
        if (!s || strlen(m->key) != m->key_len)
            return qv_fail(err, QV_BAD_INPUT, "Not existing vector name error: %s", m->key);
        if (m->value.type != JR_OBJECT)
            return bad_type(err, "sparse_vectors", &m->value, "struct SparseVectorParams");
        const jr_value *idx = jr_get(&m->value, "index");
        if (!jr_is_null(idx)) {
            char path[CFG_PATH_LEN];
            fmt_path(path, sizeof path, "sparse_vectors.%s.index", m->key);
            qv_status rc = section_parse(&sparse_index_section, idx, &s->index, path, err);
            if (rc)
                return rc;
            s->has_index = true;
        }
        const jr_value *mod = jr_get(&m->value, "modifier");
        if (!jr_is_null(mod)) {
            if (mod->type != JR_STRING ||
                (strcmp(mod->u.str, "none") != 0 && strcmp(mod->u.str, "idf") != 0))
                return qv_fail(err, QV_BAD_FORMAT,
                               "sparse_vectors.%s.modifier: unknown variant, expected one of `none`, `idf`",
                               m->key);
            s->idf = strcmp(mod->u.str, "idf") == 0;
            s->modifier_set = true;
        }
    }
    return QV_OK;
}

void cfg_take_tuning(cfg_collection *dst, const cfg_collection *src)
{
    dst->hnsw = src->hnsw;
    dst->optimizers = src->optimizers;
    dst->on_disk_payload = src->on_disk_payload;
    for (uint32_t i = 0; i < dst->n_vectors; i++) {
        const cfg_vector *v = cfg_find_vector(src, dst->vectors[i].name);
        if (v) {
            dst->vectors[i].hnsw = v->hnsw;
            dst->vectors[i].on_disk_set = v->on_disk_set;
            dst->vectors[i].on_disk = v->on_disk;
        }
    }
    for (uint32_t i = 0; i < dst->n_sparse; i++) {
        int j = cfg_find_sparse(src, dst->sparse[i].name);
        if (j >= 0) {
            dst->sparse[i].has_index = src->sparse[j].has_index;
            dst->sparse[i].index = src->sparse[j].index;
            dst->sparse[i].idf = src->sparse[j].idf;
            dst->sparse[i].modifier_set = src->sparse[j].modifier_set;
        }
    }
}

qv_status cfg_update(const jr_value *patch, cfg_collection *c, qv_error *err)
{
    if (jr_is_null(patch))
        return QV_OK;
    if (patch->type != JR_OBJECT)
        return bad_type(err, "body", patch, "struct UpdateCollection");
    static const char *const fields[] = {"vectors", "optimizers_config", "params", "hnsw_config",
                                         "quantization_config", "sparse_vectors",
                                         "strict_mode_config", "metadata"};
    const char *dup = jr_dup_field(patch, fields, sizeof fields / sizeof *fields);
    if (dup)
        return qv_fail(err, QV_BAD_FORMAT, "duplicate field `%s`", dup);
    cfg_collection n;
    qv_status rc = cfg_copy(&n, c, err);
    if (rc)
        return rc;
    const jr_value *v;
    /* Diffs land on zeroed sections first so that only given fields apply. */
    cfg_hnsw hnsw = {0};
    cfg_optimizers opt = {0};
    if ((v = jr_get(patch, "vectors")) && !jr_is_null(v) && (rc = update_vectors(v, &n, err)))
        goto fail;
    if ((v = jr_get(patch, "sparse_vectors")) && !jr_is_null(v) && (rc = update_sparse(v, &n, err)))
        goto fail;
    if ((rc = section_parse(&hnsw_section, jr_get(patch, "hnsw_config"), &hnsw, "hnsw_config", err)))
        goto fail;
    if ((rc = section_parse(&optimizer_section, jr_get(patch, "optimizers_config"), &opt,
                            "optimizers_config", err)))
        goto fail;
    section_apply(&hnsw_section, &n.hnsw, &hnsw);
    section_apply(&optimizer_section, &n.optimizers, &opt);
    if ((v = jr_get(patch, "params")) && !jr_is_null(v)) {
        if (v->type != JR_OBJECT) {
            rc = bad_type(err, "params", v, "struct CollectionParamsDiff");
            goto fail;
        }
        const jr_value *p;
        if ((p = jr_get(v, "replication_factor")) && !jr_is_null(p) &&
            (rc = parse_u32_min1(p, "params.replication_factor", &n.replication_factor, err)))
            goto fail;
        if ((p = jr_get(v, "write_consistency_factor")) && !jr_is_null(p) &&
            (rc = parse_u32_min1(p, "params.write_consistency_factor", &n.write_consistency_factor, err)))
            goto fail;
        if ((p = jr_get(v, "on_disk_payload")) && !jr_is_null(p) &&
            (rc = parse_bool(p, "params.on_disk_payload", &n.on_disk_payload, err)))
            goto fail;
    }
    if ((v = jr_get(patch, "metadata")) && !jr_is_null(v) && (rc = merge_metadata(v, &n, err)))
        goto fail;
    if (!jr_is_null(jr_get(patch, "quantization_config"))) {
        rc = qv_fail(err, QV_UNSUPPORTED, "quantization_config is not supported by Quiver yet");
        goto fail;
    }
    cfg_free(c);
    *c = n;
    return QV_OK;
fail:
    cfg_free(&n);
    return rc;
}

/* ---- adding and removing a named vector ------------------------------------ */

qv_status qv_vector_name_check(const char *name, qv_error *err)
{
    /* The rule of vector names at collection creation; names from a path
     * hold no NUL (the router refuses it), so strlen is their length. */
    qv_error e;
    qv_status rc = cfg_vector_name_check(name, strlen(name), &e);
    if (rc)
        return qv_fail(err, rc, "vector_name: %s", e.msg);
    return QV_OK;
}

qv_status cfg_parse_new_vector(const jr_value *root, cfg_new_vector *nv, qv_error *err)
{
    memset(nv, 0, sizeof *nv);
    if (jr_is_null(root) || root->type != JR_OBJECT)
        return root ? bad_type(err, "body", root, "a VectorNameConfig ({\"dense\": …} or {\"sparse\": …})")
                    : qv_fail(err, QV_BAD_FORMAT, "expected {\"dense\": …} or {\"sparse\": …}");
    /* An untagged enum in Qdrant: the first variant whose field is there wins. */
    const jr_value *d = jr_get(root, "dense"), *sp = jr_get(root, "sparse");
    if (d) {
        nv->sparse = false;
        return parse_vector_space(d, "dense", "struct DenseVectorConfig", &nv->dense, err);
    }
    if (!sp)
        return qv_fail(err, QV_BAD_FORMAT, "missing field `dense` or `sparse`");
    nv->sparse = true;
    if (sp->type != JR_OBJECT)
        return bad_type(err, "sparse", sp, "struct SparseVectorConfig");
    const jr_value *mod = jr_get(sp, "modifier");
    if (!jr_is_null(mod)) {
        if (mod->type != JR_STRING || (strcmp(mod->u.str, "none") != 0 && strcmp(mod->u.str, "idf") != 0))
            return qv_fail(err, QV_BAD_FORMAT, "sparse.modifier: unknown variant, expected one of `none`, `idf`");
        nv->sp.idf = strcmp(mod->u.str, "idf") == 0;
        nv->sp.modifier_set = true;
    }
    const jr_value *dt = jr_get(sp, "datatype");
    bool unused;
    if (!jr_is_null(dt))
        return parse_datatype(dt, "sparse.datatype", &unused, err);
    return QV_OK;
}

int cfg_find_sparse(const cfg_collection *c, const char *name)
{
    for (uint32_t i = 0; i < c->n_sparse; i++)
        if (strcmp(c->sparse[i].name, name) == 0)
            return (int)i;
    return -1;
}

qv_status cfg_add_vector(cfg_collection *c, const char *name, const cfg_new_vector *nv,
                         bool *added, qv_error *err)
{
    *added = false;
    const cfg_vector *dense = cfg_find_vector(c, name);
    int sp = cfg_find_sparse(c, name);
    /* The same vector again is a no-op, as in Qdrant; only what defines the
     * space counts (hnsw_config or on_disk tuned since do not). */
    if (!nv->sparse && dense) {
        if (dense->size != nv->dense.size || dense->distance != nv->dense.distance ||
            dense->datatype_set != nv->dense.datatype_set)
            return qv_fail(err, QV_BAD_INPUT, "Vector `%s` already exists with a different configuration", name);
        return QV_OK;
    }
    if (nv->sparse && sp >= 0) {
        if (c->sparse[sp].modifier_set != nv->sp.modifier_set || c->sparse[sp].idf != nv->sp.idf)
            return qv_fail(err, QV_BAD_INPUT,
                           "Sparse vector `%s` already exists with a different configuration", name);
        return QV_OK;
    }
    if (!nv->sparse && sp >= 0)
        return qv_fail(err, QV_BAD_INPUT, "Vector `%s` already exists as a sparse vector", name);
    if (nv->sparse && dense)
        return qv_fail(err, QV_BAD_INPUT, "Vector `%s` already exists as a dense vector", name);
    if ((nv->sparse ? c->n_sparse : c->n_vectors) >= CFG_MAX_NAMED_VECTORS)
        return qv_fail(err, QV_BAD_INPUT, "a collection has at most %d %s vectors", CFG_MAX_NAMED_VECTORS,
                       nv->sparse ? "sparse" : "dense");
    char *copy = strdup(name);
    if (!copy)
        return qv_fail(err, QV_NOMEM, "out of memory");
    if (nv->sparse) {
        cfg_sparse *p = realloc(c->sparse, (c->n_sparse + 1) * sizeof *p);
        if (!p) {
            free(copy);
            return qv_fail(err, QV_NOMEM, "out of memory");
        }
        c->sparse = p;
        p[c->n_sparse] = nv->sp;
        p[c->n_sparse++].name = copy;
    } else {
        cfg_vector *p = realloc(c->vectors, (c->n_vectors + 1) * sizeof *p);
        if (!p) {
            free(copy);
            return qv_fail(err, QV_NOMEM, "out of memory");
        }
        c->vectors = p;
        p[c->n_vectors] = nv->dense;
        p[c->n_vectors++].name = copy;
        /* The single unnamed vector becomes the "" entry of a map, as Qdrant
         * turns VectorsConfig::Single into Multi. */
        c->unnamed = false;
    }
    *added = true;
    return QV_OK;
}

bool cfg_remove_vector(cfg_collection *c, const char *name)
{
    for (uint32_t i = 0; i < c->n_vectors; i++)
        if (strcmp(c->vectors[i].name, name) == 0) {
            free(c->vectors[i].name);
            memmove(c->vectors + i, c->vectors + i + 1, (c->n_vectors - i - 1) * sizeof *c->vectors);
            if (--c->n_vectors == 0)
                c->unnamed = false;  /* no vectors: an empty map */
            return true;
        }
    int sp = cfg_find_sparse(c, name);
    if (sp < 0)
        return false;
    free(c->sparse[sp].name);
    memmove(c->sparse + sp, c->sparse + sp + 1, (c->n_sparse - (uint32_t)sp - 1) * sizeof *c->sparse);
    c->n_sparse--;
    return true;
}

/* ---- printing -------------------------------------------------------------- */

static void print_vector(jw *w, const cfg_vector *v)
{
    jw_obj_begin(w);
    jw_key(w, "size");
    jw_uint(w, v->size);
    jw_key(w, "distance");
    jw_str(w, cfg_distance_names[v->distance]);
    if (v->hnsw.set) {
        jw_key(w, "hnsw_config");
        section_print(w, &hnsw_section, &v->hnsw, false);
    }
    if (v->on_disk_set) {
        jw_key(w, "on_disk");
        jw_bool(w, v->on_disk);
    }
    if (v->datatype_set) {
        jw_key(w, "datatype");
        jw_str(w, "float32");
    }
    jw_obj_end(w);
}

void cfg_print(jw *w, const cfg_collection *c)
{
    jw_obj_begin(w);
    jw_key(w, "params");
    jw_obj_begin(w);
    jw_key(w, "vectors");
    if (c->unnamed) {
        print_vector(w, &c->vectors[0]);
    } else {
        jw_obj_begin(w);
        for (uint32_t i = 0; i < c->n_vectors; i++) {
            jw_key(w, c->vectors[i].name);
            print_vector(w, &c->vectors[i]);
        }
        jw_obj_end(w);
    }
    jw_key(w, "shard_number");
    jw_uint(w, c->shard_number);
    jw_key(w, "replication_factor");
    jw_uint(w, c->replication_factor);
    jw_key(w, "write_consistency_factor");
    jw_uint(w, c->write_consistency_factor);
    jw_key(w, "on_disk_payload");
    jw_bool(w, c->on_disk_payload);
    if (c->n_sparse) {
        jw_key(w, "sparse_vectors");
        jw_obj_begin(w);
        for (uint32_t i = 0; i < c->n_sparse; i++) {
            const cfg_sparse *s = &c->sparse[i];
            jw_key(w, s->name);
            jw_obj_begin(w);
            if (s->has_index) {
                jw_key(w, "index");
                section_print(w, &sparse_index_section, &s->index, false);
            }
            if (s->modifier_set) {
                jw_key(w, "modifier");
                jw_str(w, s->idf ? "idf" : "none");
            }
            jw_obj_end(w);
        }
        jw_obj_end(w);
    }
    jw_obj_end(w);
    jw_key(w, "hnsw_config");
    section_print(w, &hnsw_section, &c->hnsw, true);
    jw_key(w, "optimizer_config");
    section_print(w, &optimizer_section, &c->optimizers, true);
    jw_key(w, "wal_config");
    section_print(w, &wal_section, &c->wal, true);
    jw_key(w, "quantization_config");
    jw_null(w);
    if (c->metadata_json) {
        jw_key(w, "metadata");
        jw_raw(w, c->metadata_json, strlen(c->metadata_json));
    }
    jw_obj_end(w);
}
