/* read.c — see read.h. */
#include "core/read.h"

#include <string.h>

#include "core/internal.h"
#include "util/datetime.h"

static qv_status parse_paths(qv_arena *a, const jr_value *list, const char *what, rd_select *sel,
                             qv_error *err)
{
    if (!jr_is(list, JR_ARRAY))
        return qv_fail(err, QV_BAD_FORMAT, "%s: expected a list of payload keys", what);
    sel->n_paths = list->len;
    sel->paths = qv_arena_calloc(a, list->len ? list->len : 1, sizeof *sel->paths);
    if (!sel->paths)
        return qv_fail(err, QV_NOMEM, "out of memory");
    for (uint32_t i = 0; i < list->len; i++) {
        const jr_value *k = &list->u.items[i];
        if (k->type != JR_STRING)
            return qv_fail(err, QV_BAD_FORMAT, "%s[%u]: expected a payload key", what, i);
        if (pl_path_parse(a, k->u.str, k->len, &sel->paths[i], err) != 0)
            return QV_BAD_FORMAT;
    }
    return QV_OK;
}

qv_status rd_parse_with_payload(qv_arena *a, const jr_value *v, bool dflt, rd_select *sel,
                                qv_error *err)
{
    if (jr_is_null(v)) {
        sel->payload = dflt ? RD_PAYLOAD_ALL : RD_PAYLOAD_NONE;
        return QV_OK;
    }
    if (jr_is_bool(v)) {
        sel->payload = v->type == JR_TRUE ? RD_PAYLOAD_ALL : RD_PAYLOAD_NONE;
        return QV_OK;
    }
    if (v->type == JR_ARRAY) {
        sel->payload = RD_PAYLOAD_INCLUDE;
        return parse_paths(a, v, "with_payload", sel, err);
    }
    if (v->type == JR_OBJECT) {
        const jr_value *inc = jr_get(v, "include"), *exc = jr_get(v, "exclude");
        if (inc && !exc) {
            sel->payload = RD_PAYLOAD_INCLUDE;
            return parse_paths(a, inc, "with_payload.include", sel, err);
        }
        if (exc && !inc) {
            sel->payload = RD_PAYLOAD_EXCLUDE;
            return parse_paths(a, exc, "with_payload.exclude", sel, err);
        }
    }
    return qv_fail(err, QV_BAD_FORMAT,
                   "with_payload: expected true, false, a list of keys, {\"include\": [...]} or {\"exclude\": [...]}");
}

qv_status rd_parse_with_vector(qv_arena *a, const cfg_collection *cfg, const jr_value *v, bool dflt,
                               rd_select *sel, qv_error *err)
{
    sel->all_vectors = false;
    if (jr_is_null(v) || jr_is_bool(v)) {
        sel->vectors = jr_is_null(v) ? dflt : v->type == JR_TRUE;
        sel->all_vectors = sel->vectors;
        return QV_OK;
    }
    if (v->type != JR_ARRAY)
        return qv_fail(err, QV_BAD_FORMAT, "with_vector: expected true, false or a list of vector names");
    sel->dense_on = qv_arena_calloc(a, cfg->n_vectors + 1, sizeof(bool));
    sel->sparse_on = qv_arena_calloc(a, cfg->n_sparse + 1, sizeof(bool));
    if (!sel->dense_on || !sel->sparse_on)
        return qv_fail(err, QV_NOMEM, "out of memory");
    sel->vectors = true;
    for (uint32_t i = 0; i < v->len; i++) {
        const jr_value *n = &v->u.items[i];
        if (n->type != JR_STRING)
            return qv_fail(err, QV_BAD_FORMAT, "with_vector[%u]: expected a vector name", i);
        /* Counted: "a\u0000b" names no vector, it must not select "a". */
        bool found = false, has_nul = strlen(n->u.str) != n->len;
        for (uint32_t k = 0; k < cfg->n_vectors && !found && !has_nul; k++)
            if (strcmp(cfg->vectors[k].name, n->u.str) == 0)
                found = sel->dense_on[k] = true;
        for (uint32_t k = 0; k < cfg->n_sparse && !found && !has_nul; k++)
            if (strcmp(cfg->sparse[k].name, n->u.str) == 0)
                found = sel->sparse_on[k] = true;
        if (!found)
            return qv_fail(err, QV_BAD_INPUT, "Not existing vector name error: %s", n->u.str);
    }
    return QV_OK;
}

static void write_floats(jw *w, const float *v, uint32_t n)
{
    jw_arr_begin(w);
    for (uint32_t i = 0; i < n; i++)
        jw_f32(w, v[i]);
    jw_arr_end(w);
}

/* Qdrant prints a point's vectors as a plain list when the only one among
 * those asked for is the unnamed default dense vector (whatever else the
 * collection holds), and as a map otherwise — {} when the point has none of
 * them (VectorStructInternal::from(NamedVectors)). */
static void write_vectors(jw *w, const store *s, const cfg_collection *cfg, uint32_t slot,
                          const rd_select *sel)
{
    /* A point whose only vector shown is the unnamed one ("") prints it as a
     * plain list, as Qdrant does (also once named vectors were added beside
     * it). */
    int only = -1, shown = 0;
    for (uint32_t v = 0; v < s->n_dense && shown < 2; v++)
        if (store_has_dense(s, v, slot) && (sel->all_vectors || sel->dense_on[v])) {
            shown++;
            only = (int)v;
        }
    for (uint32_t v = 0; v < s->n_sparse && shown < 2; v++)
        shown += s->sparse[v][slot] && (sel->all_vectors || sel->sparse_on[v]);
    if (shown == 1 && only >= 0 && cfg->vectors[only].name[0] == '\0') {
        write_floats(w, store_dense(s, (uint32_t)only, slot), s->dense[only].dim);
        return;
    }
    jw_obj_begin(w);
    for (uint32_t v = 0; v < s->n_dense; v++) {
        if (!store_has_dense(s, v, slot) || !(sel->all_vectors || sel->dense_on[v]))
            continue;
        jw_key(w, cfg->vectors[v].name);
        write_floats(w, store_dense(s, v, slot), s->dense[v].dim);
    }
    for (uint32_t v = 0; v < s->n_sparse; v++) {
        const st_sparse_vec *sv = s->sparse[v][slot];
        if (!sv || !(sel->all_vectors || sel->sparse_on[v]))
            continue;
        jw_key(w, cfg->sparse[v].name);
        jw_obj_begin(w);
        jw_key(w, "indices");
        jw_arr_begin(w);
        for (uint32_t i = 0; i < sv->n; i++)
            jw_uint(w, sv->data[i]);
        jw_arr_end(w);
        jw_key(w, "values");
        write_floats(w, (const float *)(sv->data + sv->n), sv->n);
        jw_obj_end(w);
    }
    jw_obj_end(w);
}

void rd_write_payload_vector(jw *w, const store *s, const cfg_collection *cfg, uint32_t slot,
                             const rd_select *sel)
{
    jw_key(w, "payload");
    const uint8_t *blob;
    size_t len;
    store_payload(s, slot, &blob, &len);
    switch (sel->payload) {
    case RD_PAYLOAD_NONE: jw_null(w); break;
    case RD_PAYLOAD_ALL: pl_write_json(w, blob, len); break;
    case RD_PAYLOAD_INCLUDE: pl_write_json_include(w, blob, len, sel->paths, sel->n_paths); break;
    case RD_PAYLOAD_EXCLUDE: pl_write_json_exclude(w, blob, len, sel->paths, sel->n_paths); break;
    }
    jw_key(w, "vector");
    if (sel->vectors)
        write_vectors(w, s, cfg, slot, sel);
    else
        jw_null(w);
}

void rd_write_record(jw *w, const store *s, const cfg_collection *cfg, uint32_t slot,
                     const rd_select *sel)
{
    jw_obj_begin(w);
    jw_key(w, "id");
    pid_write(w, &s->ids[slot]);
    rd_write_payload_vector(w, s, cfg, slot, sel);
    jw_obj_end(w);
}

void rd_write_record_ordered(jw *w, const store *s, const cfg_collection *cfg, uint32_t slot,
                             const rd_select *sel, const fidx_value *order)
{
    jw_obj_begin(w);
    jw_key(w, "id");
    pid_write(w, &s->ids[slot]);
    rd_write_payload_vector(w, s, cfg, slot, sel);
    rd_write_order_value(w, order);
    jw_obj_end(w);
}

void rd_write_order_value(jw *w, const fidx_value *order)
{
    jw_key(w, "order_value");
    if (order->type == FIDX_FLOAT)
        jw_f64(w, order->d);
    else if (order->type == FIDX_DATETIME)  /* microseconds since the epoch */
        jw_int(w, order->sec * 1000000 + order->nsec / 1000);
    else
        jw_int(w, order->i);
}

qv_status rd_parse_order_by(qv_arena *a, const jr_value *ob, const char *field, rd_order *o, qv_error *err)
{
    const jr_value *key = ob->type == JR_STRING ? ob : jr_get(ob, "key");
    const jr_value *dir = ob->type == JR_OBJECT ? jr_get(ob, "direction") : NULL;
    *o = (rd_order){.start = ob->type == JR_OBJECT ? jr_get(ob, "start_from") : NULL};
    if (!jr_is(key, JR_STRING))
        return qv_fail(err, QV_BAD_FORMAT, "%s: expected a key or {\"key\", \"direction\", \"start_from\"}", field);
    if (jr_is_null(o->start))
        o->start = NULL;
    if (!jr_is_null(dir)) {
        if (!jr_is(dir, JR_STRING) || (strcmp(dir->u.str, "asc") != 0 && strcmp(dir->u.str, "desc") != 0))
            return qv_fail(err, QV_BAD_FORMAT, "%s.direction: unknown variant, expected one of `asc`, `desc`", field);
        o->desc = dir->u.str[0] == 'd';
    }
    if (pl_path_parse(a, key->u.str, key->len, &o->key, err) != 0)
        return QV_BAD_FORMAT;
    return QV_OK;
}

qv_status rd_order_seek(const store *s, const rd_order *o, fidx_order_it *it, qv_error *err)
{
    const fidx *x = NULL;
    for (uint32_t i = 0; i < s->n_idx && !x; i++) {
        const fidx_params *p = fidx_get_params(s->idx[i]);
        if (strcmp(fidx_key(s->idx[i])->text, o->key.text) == 0 && !fidx_broken(s->idx[i]) &&
            ((p->type == FIDX_INTEGER && p->range) || p->type == FIDX_FLOAT || p->type == FIDX_DATETIME))
            x = s->idx[i];
    }
    if (!x)
        return qv_fail(err, QV_UNSUPPORTED,
                       "No range index for `order_by` key: `%.200s`. Please create one to use `order_by`. "
                       "Check https://qdrant.tech/documentation/concepts/indexing/#payload-index to see "
                       "which payload schemas support Range conditions",
                       o->key.text);
    fidx_start from = {0};
    if (o->start && fidx_get_params(x)->type == FIDX_DATETIME) {
        if (!jr_is(o->start, JR_STRING) || !qv_datetime_parse(o->start->u.str, o->start->len, &from.sec, &from.nsec))
            return qv_fail(err, QV_BAD_FORMAT, "order_by.start_from: expected a datetime");
    } else if (o->start && !jr_get_f64(o->start, &from.num)) {
        return qv_fail(err, QV_BAD_FORMAT, "order_by.start_from: expected a number");
    }
    qv_status rc = fidx_order_seek(x, o->desc, o->start ? &from : NULL, it);
    return rc ? qv_fail(err, rc, "cannot order by `%.200s`", o->key.text) : QV_OK;
}

qv_status rd_parse_with_vector_of(qv_arena *a, const cfg_collection *cfg, const jr_value *req,
                                  bool dflt, rd_select *sel, qv_error *err)
{
    const jr_value *v = jr_get(req, "with_vector"), *alias = jr_get(req, "with_vectors");
    if (v && alias)  /* serde's alias: both spellings at once is a duplicate */
        return qv_fail(err, QV_BAD_FORMAT, "duplicate field `with_vector`");
    return rd_parse_with_vector(a, cfg, v ? v : alias, dflt, sel, err);
}
