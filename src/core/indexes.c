/*
 * indexes.c — payload indexes of a collection: their definitions (kept in
 * the config file), building them into the store, and the index API of
 * quiver.h (PUT/DELETE /collections/{name}/index).
 *
 * An index is built while the collection's points stay still (its apply
 * mutex: the writer waits) but readers go on; writes still queued reach it
 * when they are applied (the store updates every index at each commit), so
 * it never misses one.
 * Then its definition is recorded under the catalog lock, briefly.
 * defs[i] describes st.idx[i]; index changes of a collection take its ddl
 * mutex so that the two lists move together.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/db.h"
#include "core/internal.h"
#include "json/jtree.h"
#include "util/log.h"

void idx_defs_free(idx_def *d, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        free(d[i].field);
        free(d[i].schema_json);
    }
    free(d);
}

static qv_status bool_param(const jr_value *o, const char *key, bool *out, qv_error *err)
{
    const jr_value *v = jr_get(o, key);
    if (jr_is_null(v))
        return QV_OK;
    if (!jr_is_bool(v))
        return qv_fail(err, QV_BAD_FORMAT, "field_schema.%s: invalid type, expected a boolean", key);
    *out = v->type == JR_TRUE;
    return QV_OK;
}

static qv_status u32_param(const jr_value *o, const char *key, uint32_t *out, qv_error *err)
{
    const jr_value *v = jr_get(o, key);
    uint64_t u;
    if (jr_is_null(v))
        return QV_OK;
    if (!jr_get_u64(v, &u) || u > UINT32_MAX)
        return qv_fail(err, QV_BAD_FORMAT, "field_schema.%s: invalid type, expected an unsigned integer", key);
    *out = (uint32_t)u;
    return QV_OK;
}

/*
 * A text-index option Quiver does not implement (yet): refused in a request
 * (strict) with a clear 400; in a stored definition (field is its key:
 * written by another version, or before the option was refused) ignored
 * with a warning, so the collection still opens.
 */
static qv_status unsupported(const char *field, const char *opt, qv_error *err)
{
    if (!field && strcmp(opt, "tokenizer") == 0)
        return qv_fail(err, QV_UNSUPPORTED, "field_schema.tokenizer: only `word` is supported by Quiver yet");
    if (!field)
        return qv_fail(err, QV_UNSUPPORTED, "field_schema.%s: not supported by Quiver yet", opt);
    QV_WARN("index on %s: field_schema.%s is not supported by Quiver yet; the index is built "
            "without it", field, opt);
    return QV_OK;
}

/* field_schema: a type name ("keyword") or its params form ({"type": …}).
 * field: NULL for a request (strict), the key of a stored definition. */
static qv_status schema_parse(const jr_value *v, const char *field, fidx_params *p, qv_error *err)
{
    const jr_value *t = v && v->type == JR_OBJECT ? jr_get(v, "type") : v;
    fidx_type type;
    if (!jr_is(t, JR_STRING))
        return qv_fail(err, QV_BAD_FORMAT,
                       "field_schema: expected a type name or an object with `type`");
    if (!fidx_type_from_name(t->u.str, t->len, &type))
        return qv_fail(err, QV_BAD_FORMAT,
                       "field_schema: unknown variant `%.60s`, expected one of `keyword`, `integer`, "
                       "`float`, `geo`, `text`, `bool`, `datetime`, `uuid`",
                       t->u.str);
    fidx_params_default(type, p);
    if (v->type != JR_OBJECT)
        return QV_OK;
    qv_status rc;
    if ((rc = bool_param(v, "lookup", &p->lookup, err)) || (rc = bool_param(v, "range", &p->range, err)) ||
        (rc = bool_param(v, "lowercase", &p->lowercase, err)) ||
        (rc = u32_param(v, "min_token_len", &p->min_token_len, err)) ||
        (rc = u32_param(v, "max_token_len", &p->max_token_len, err)))
        return rc;
    if (type == FIDX_INTEGER && !p->lookup && !p->range)
        return qv_fail(err, QV_VALIDATION,  /* Qdrant's validate_integer_index_params */
                       "field_schema.lookup: the 'lookup' and 'range' capabilities can't be both disabled");
    if (type != FIDX_TEXT)
        return QV_OK;
    /* Qdrant's other text options change which tokens a text has: an index
     * without them would answer differently, so they are refused rather
     * than ignored. Their off values (false, null) are fine. */
    /* Stored: an option of a shape we do not know is one we do not follow. */
    bool phrase = false, folding = false;
    if ((rc = bool_param(v, "phrase_matching", &phrase, err)) && !field)
        return rc;
    if (rc)
        QV_WARN("index on %s: field_schema.phrase_matching is not a boolean; the index is built "
                "without it", field);
    if ((rc = bool_param(v, "ascii_folding", &folding, err)) && !field)
        return rc;
    folding = folding || rc;
    const jr_value *tok = jr_get(v, "tokenizer");
    if (!jr_is_null(tok) && !(jr_is(tok, JR_STRING) && strcmp(tok->u.str, "word") == 0) &&
        (rc = unsupported(field, "tokenizer", err)))
        return rc;
    p->phrase_matching = phrase;
    if ((folding && (rc = unsupported(field, "ascii_folding", err))) ||
        (!jr_is_null(jr_get(v, "stopwords")) && (rc = unsupported(field, "stopwords", err))) ||
        (!jr_is_null(jr_get(v, "stemmer")) && (rc = unsupported(field, "stemmer", err))))
        return rc;
    return QV_OK;
}

qv_status coll_build_index(qv_collection *c, const idx_def *def, qv_error *err)
{
    qv_arena a;
    qv_arena_init(&a, 1 << 12);
    jr_value *schema;
    jr_error je;
    pl_path key;
    fidx_params params;
    fidx *x = NULL;
    qv_status rc = QV_OK;
    if (jr_parse(&a, def->schema_json, strlen(def->schema_json), &schema, &je) != 0)
        rc = qv_fail(err, QV_CORRUPT, "index %s: bad schema", def->field);
    else if (pl_path_parse(&a, def->field, strlen(def->field), &key, err) != 0 ||
             (rc = schema_parse(schema, def->field, &params, err)))
        rc = rc ? rc : QV_BAD_FORMAT;
    else if ((rc = fidx_new(&key, &params, &x)))
        qv_fail(err, rc, "cannot create the index of %s", def->field);
    if (rc == QV_OK) {
        /* Points stay still (apply) while readers go on (shared lock);
         * only attaching the finished index takes the write lock. */
        pthread_mutex_lock(&c->apply);
        pthread_rwlock_rdlock(&c->lock);
        store_fill_index(&c->st, x);
        pthread_rwlock_unlock(&c->lock);
        pthread_rwlock_wrlock(&c->lock);
        rc = store_attach_index(&c->st, x, err);
        pthread_rwlock_unlock(&c->lock);
        pthread_mutex_unlock(&c->apply);
    }
    qv_arena_free(&a);
    return rc;
}

/* The next operation id, for index changes (they are not log records: the
 * definitions live in the config file and the index in memory). */
static uint64_t take_op_id(qv_collection *c)
{
    pthread_mutex_lock(&c->qm);
    uint64_t id = c->next_seq++;
    pthread_mutex_unlock(&c->qm);
    return id;
}

/* Replace the collection's definitions with defs (n), writing the config
 * file first. Caller holds the catalog write lock. */
static qv_status set_defs(qv_db *db, qv_collection *c, idx_def *defs, uint32_t n, qv_error *err)
{
    qv_status rc = cat_write_config(c->dir, &c->cfg, defs, n, err);
    if (rc)
        return rc;
    idx_defs_free(c->defs, c->n_defs);
    c->defs = defs;
    c->n_defs = n;
    return QV_OK;
}

static int find_def(const qv_collection *c, const char *field)
{
    for (uint32_t i = 0; i < c->n_defs; i++)
        if (strcmp(c->defs[i].field, field) == 0)
            return (int)i;
    return -1;
}

/* A copy of the definitions without entry skip (-1: none), with room for one more. */
static idx_def *copy_defs(const qv_collection *c, int skip, uint32_t *n)
{
    idx_def *d = calloc(c->n_defs + 1, sizeof *d);
    if (!d)
        return NULL;
    *n = 0;
    for (uint32_t i = 0; i < c->n_defs; i++) {
        if ((int)i == skip)
            continue;
        d[*n].field = strdup(c->defs[i].field);
        d[*n].schema_json = strdup(c->defs[i].schema_json);
        (*n)++;
        if (!d[*n - 1].field || !d[*n - 1].schema_json) {
            idx_defs_free(d, *n);
            return NULL;
        }
    }
    return d;
}

/* ---- inferring field_schema (Qdrant's infer_payload_type) ---------------------- */

/* Qdrant's value_type: integer (fits i64), float, keyword (any string: not
 * datetime or uuid), geo (an object with numbers at lon and lat); none for
 * null, bools, u64 above INT64_MAX, arrays and other objects. */
static const char *value_type(const pl_value *v)
{
    double lon, lat;
    switch (v->type) {
    case PL_INT: return "integer";
    case PL_FLOAT: return "float";
    case PL_STRING: return "keyword";
    case PL_OBJECT: return pl_geo_point(v, &lon, &lat) ? "geo" : NULL;
    default: return NULL;
    }
}

/* infer_collection_value_type, folded one value at a time: the one type
 * of all, none if two differ or one has none. */
typedef struct infer_ctx {
    uint32_t    n;      /* values the key reached */
    pl_value    first;
    const char *type;   /* over all values so far */
    bool        none;
} infer_ctx;

static void fold_type(infer_ctx *c, const char *t, bool first)
{
    if (!t || (!first && c->type != t))
        c->none = true;
    c->type = t;
}

static bool on_infer_value(void *ctx, const pl_value *v)
{
    infer_ctx *c = ctx;
    if (c->n == 0)
        c->first = *v;
    fold_type(c, value_type(v), c->n == 0);
    c->n++;
    return true;
}

/* infer_value_type of one value: an array gives the one type of its
 * elements ([] gives none). */
static const char *single_type(const pl_value *v)
{
    if (v->type != PL_ARRAY)
        return value_type(v);
    infer_ctx c = {0};
    pl_iter it;
    pl_value e;
    pl_iter_init(&it, v);
    while (pl_iter_next_elem(&it, &e))
        fold_type(&c, value_type(&e), c.n++ == 0);
    return c.n && !c.none ? c.type : NULL;
}

/* The index type Qdrant would infer for key: from the first stored point
 * only (its payload iteration stops there), as the one type of the values
 * the key reaches there. NULL when that gives none. O(one payload). */
static const char *infer_schema(const store *s, const pl_path *key)
{
    for (uint32_t i = 0; i < s->n_slots; i++) {
        if (!store_live(s, i))
            continue;
        const uint8_t *blob;
        size_t len;
        store_payload(s, i, &blob, &len);
        infer_ctx c = {0};
        pl_lookup(blob, len, key, on_infer_value, &c);
        if (c.n == 1)
            return single_type(&c.first);
        return c.n && !c.none ? c.type : NULL;
    }
    return NULL;
}

qv_status qv_index_create(qv_db *db, const char *name, const char *json, size_t len,
                          const qv_write_opts *opts, qv_update_result *res, qv_error *err)
{
    qv_arena a;
    qv_arena_init(&a, 1 << 12);
    jr_value *root;
    pl_path key;
    fidx_params params;
    qv_status rc;
    idx_def def = {0};
    if ((rc = qv_parse_request(&a, json, len, &root, err)) ||
        (rc = QV_NO_DUP(root, NULL, err, "field_name", "field_schema")))
        goto out;
    const jr_value *f = jr_get(root, "field_name"), *schema = jr_get(root, "field_schema");
    if (!jr_is(f, JR_STRING)) {
        rc = qv_fail(err, QV_BAD_FORMAT, f ? "field_name: invalid type, expected a string"
                                           : "missing field `field_name`");
        goto out;
    }
    /* The field is kept as a C string (catalog, index keys): a NUL would cut
     * it short and index another field than the one named. */
    if (memchr(f->u.str, '\0', f->len)) {
        rc = qv_fail(err, QV_BAD_INPUT, "field_name: a field name cannot contain a NUL character");
        goto out;
    }
    if (pl_path_parse(&a, f->u.str, f->len, &key, err) != 0) {
        rc = QV_BAD_FORMAT;
        goto out;
    }
    if (jr_is_null(schema)) {
        /* Inferred from the stored values; recorded as that type's name,
         * so a restart rebuilds the same index whatever the data is then. */
        qv_collection *ic;
        if ((rc = cat_acquire(db, name, &ic, err)))
            goto out;
        pthread_rwlock_rdlock(&ic->lock);
        const char *t = infer_schema(&ic->st, &key);
        pthread_rwlock_unlock(&ic->lock);
        cat_release(ic);
        char text[16];
        jr_error je;
        jr_value *inferred;
        if (!t) {
            rc = qv_fail(err, QV_BAD_INPUT,
                         "Unable to infer type for the field '%.200s'. Please specify `field_type`", f->u.str);
            goto out;
        }
        snprintf(text, sizeof text, "\"%s\"", t);
        if (jr_parse(&a, text, strlen(text), &inferred, &je) != 0) {
            rc = qv_fail(err, QV_INTERNAL, "inferred schema: %s", je.msg);
            goto out;
        }
        schema = inferred;
    }
    if ((rc = schema_parse(schema, NULL, &params, err)))
        goto out;
    qv_buf b = QV_BUF_INIT;
    jw w;
    jw_init(&w, &b);
    jw_tree(&w, schema);
    def.schema_json = qv_buf_ok(&b) ? qv_buf_detach(&b, NULL) : NULL;
    qv_buf_free(&b);
    def.field = strdup(f->u.str);
    if (!def.field || !def.schema_json) {
        rc = qv_fail(err, QV_NOMEM, "out of memory");
        goto out;
    }

    /* Build first, holding only this collection's write lock (readers of
     * other collections go on); then record the definition under the
     * catalog lock, briefly. */
    qv_collection *c;
    if ((rc = cat_acquire(db, name, &c, err)))
        goto out;
    pthread_mutex_lock(&c->ddl);
    if ((rc = coll_build_index(c, &def, err)) == QV_OK) {
        pthread_rwlock_wrlock(&db->lock);
        /* Creating an index that exists replaces it, as in Qdrant. */
        int old = find_def(c, def.field);
        uint32_t n;
        idx_def *defs = copy_defs(c, old, &n);
        if (!defs) {
            rc = qv_fail(err, QV_NOMEM, "out of memory");
        } else {
            defs[n++] = def;
            if ((rc = set_defs(db, c, defs, n, err)))
                idx_defs_free(defs, n);  /* frees def's strings too */
            def = (idx_def){0};
        }
        pthread_rwlock_unlock(&db->lock);
        /* The new index is the store's last; drop it or the one it replaces. */
        pthread_rwlock_wrlock(&c->lock);
        if (rc)
            store_drop_index(&c->st, c->st.n_idx - 1);
        else if (old >= 0)
            store_drop_index(&c->st, (uint32_t)old);
        pthread_rwlock_unlock(&c->lock);
    }
    if (rc == QV_OK)
        *res = (qv_update_result){.operation_id = take_op_id(c), .n_operations = 1,
                                  .status = opts->wait ? QV_COMPLETED : QV_ACKNOWLEDGED};
    pthread_mutex_unlock(&c->ddl);
    cat_release(c);
out:
    free(def.field);
    free(def.schema_json);
    qv_arena_free(&a);
    return rc;
}

qv_status qv_index_delete(qv_db *db, const char *name, const char *field, const qv_write_opts *opts,
                          qv_update_result *res, qv_error *err)
{
    qv_collection *c;
    qv_status rc = cat_acquire(db, name, &c, err);
    if (rc)
        return rc;
    pthread_mutex_lock(&c->ddl);
    pthread_rwlock_wrlock(&db->lock);
    int i = find_def(c, field);
    if (i >= 0) {  /* deleting a missing index succeeds, as in Qdrant */
        uint32_t n;
        idx_def *defs = copy_defs(c, i, &n);
        if (!defs)
            rc = qv_fail(err, QV_NOMEM, "out of memory");
        else if ((rc = set_defs(db, c, defs, n, err)))
            idx_defs_free(defs, n);
    }
    pthread_rwlock_unlock(&db->lock);
    if (rc == QV_OK && i >= 0) {
        pthread_rwlock_wrlock(&c->lock);
        store_drop_index(&c->st, (uint32_t)i);
        pthread_rwlock_unlock(&c->lock);
    }
    if (rc == QV_OK)
        *res = (qv_update_result){.operation_id = take_op_id(c), .n_operations = 1,
                                  .status = opts->wait ? QV_COMPLETED : QV_ACKNOWLEDGED};
    pthread_mutex_unlock(&c->ddl);
    cat_release(c);
    return rc;
}

void idx_write_schema(jw *w, qv_collection *c)
{
    jw_obj_begin(w);
    for (uint32_t i = 0; i < c->n_defs && i < c->st.n_idx; i++) {
        const fidx *x = c->st.idx[i];
        jw_key(w, c->defs[i].field);
        jw_obj_begin(w);
        jw_key(w, "data_type");
        jw_str(w, fidx_type_name(fidx_get_params(x)->type));
        if (c->defs[i].schema_json[0] == '{') {
            jw_key(w, "params");
            jw_raw(w, c->defs[i].schema_json, strlen(c->defs[i].schema_json));
        }
        jw_key(w, "points");
        jw_uint(w, fidx_points(x));
        jw_obj_end(w);
    }
    jw_obj_end(w);
}
