/*
 * h_collections.c — REST handlers for collections and aliases.
 * Each one is a thin translation: request -> quiver.h call -> result JSON.
 */
#include <stdio.h>
#include <string.h>

#include "server/rest.h"

static const char *coll_name(rest_req *rq) { return rq->params[0]; }

int h_collections_list(rest_req *rq, rest_resp *rs)
{
    char **names;
    size_t n;
    qv_error err;
    if (qv_collection_list(rq->db, &names, &n, &err))
        return rest_fail_qv(rs, &err, "JSON body");
    jw_obj_begin(&rs->w);
    jw_key(&rs->w, "collections");
    jw_arr_begin(&rs->w);
    for (size_t i = 0; i < n; i++) {
        jw_obj_begin(&rs->w);
        jw_key(&rs->w, "name");
        jw_str(&rs->w, names[i]);
        jw_obj_end(&rs->w);
    }
    jw_arr_end(&rs->w);
    jw_obj_end(&rs->w);
    qv_free(names);
    return 0;
}

int h_collection_get(rest_req *rq, rest_resp *rs)
{
    qv_collection_info info;
    qv_error err;
    if (qv_collection_info_get(rq->db, coll_name(rq), &info, &err))
        return rest_fail_qv(rs, &err, "JSON body");
    jw *w = &rs->w;
    jw_obj_begin(w);
    jw_key(w, "status");
    jw_str(w, info.status);
    jw_key(w, "optimizer_status");
    jw_str(w, info.optimizer_status);
    jw_key(w, "indexed_vectors_count");
    jw_uint(w, info.indexed_vectors_count);
    jw_key(w, "points_count");
    jw_uint(w, info.points_count);
    jw_key(w, "segments_count");
    jw_uint(w, info.segments_count);
    jw_key(w, "config");
    jw_raw(w, info.config_json, strlen(info.config_json));
    jw_key(w, "payload_schema");
    jw_raw(w, info.payload_schema_json, strlen(info.payload_schema_json));
    jw_obj_end(w);
    qv_free(info.config_json);
    qv_free(info.payload_schema_json);
    return 0;
}

int h_collection_create(rest_req *rq, rest_resp *rs)
{
    unsigned long timeout;
    qv_error err;
    if (rest_query_timeout(rq, rs, &timeout))
        return -1;
    /* the name passed qv_name_check in rest_prepare */
    if (qv_collection_create(rq->db, coll_name(rq), rq->body, rq->body_len, &err))
        return rest_fail_qv(rs, &err, "JSON body");
    jw_bool(&rs->w, true);
    return 0;
}

int h_collection_update(rest_req *rq, rest_resp *rs)
{
    unsigned long timeout;
    qv_error err;
    if (rest_query_timeout(rq, rs, &timeout))
        return -1;
    if (qv_collection_update(rq->db, coll_name(rq), rq->body, rq->body_len, &err))
        return rest_fail_qv(rs, &err, "JSON body");
    jw_bool(&rs->w, true);
    return 0;
}

int h_collection_delete(rest_req *rq, rest_resp *rs)
{
    unsigned long timeout;
    qv_error err;
    bool existed;
    if (rest_query_timeout(rq, rs, &timeout))
        return -1;
    if (qv_collection_delete(rq->db, coll_name(rq), &existed, &err))
        return rest_fail_qv(rs, &err, "JSON body");
    jw_bool(&rs->w, existed);
    return 0;
}

int h_collection_exists(rest_req *rq, rest_resp *rs)
{
    jw_obj_begin(&rs->w);
    jw_key(&rs->w, "exists");
    jw_bool(&rs->w, qv_collection_exists(rq->db, coll_name(rq)));
    jw_obj_end(&rs->w);
    return 0;
}

/* ---- named vectors (PUT/DELETE /collections/{name}/vectors/{vector}) ---------- */

/* The vector name of the path, checked as Qdrant's path extractor does. */
static int vector_path(rest_req *rq, rest_resp *rs, qv_write_opts *opts)
{
    qv_error err;
    if (qv_vector_name_check(rq->params[1], &err))
        return rest_fail_qv(rs, &err, "path parameters");
    return rest_write_opts(rq, rs, opts);
}

int h_vector_create(rest_req *rq, rest_resp *rs)
{
    qv_write_opts opts;
    qv_update_result res;
    qv_error err;
    if (vector_path(rq, rs, &opts))
        return -1;
    if (qv_vector_create(rq->db, coll_name(rq), rq->params[1], rq->body, rq->body_len, &opts, &res, &err))
        return rest_fail_qv(rs, &err, "JSON body");
    rest_update_result(&rs->w, res.operation_id, res.status);
    return 0;
}

int h_vector_delete(rest_req *rq, rest_resp *rs)
{
    qv_write_opts opts;
    qv_update_result res;
    qv_error err;
    if (vector_path(rq, rs, &opts))
        return -1;
    if (qv_vector_delete(rq->db, coll_name(rq), rq->params[1], &opts, &res, &err))
        return rest_fail_qv(rs, &err, "path parameters");
    rest_update_result(&rs->w, res.operation_id, res.status);
    return 0;
}

/* ---- aliases ------------------------------------------------------------------ */

/* A string member of an alias action, or a Qdrant-style format error. */
static const char *action_field(rest_resp *rs, const jr_value *o, const char *kind, size_t i,
                                const char *key)
{
    const jr_value *v = jr_get(o, key);
    const char *const fields[] = {key};
    if (jr_dup_field(o, fields, 1)) {  /* serde's derived structs refuse a field given twice */
        rest_fail(rs, 400, "Format error in JSON body: actions[%zu].%s: duplicate field `%s`", i, kind, key);
        return NULL;
    }
    if (!jr_is(v, JR_STRING)) {
        rest_fail(rs, 400, "Format error in JSON body: actions[%zu].%s: %s `%s`", i, kind,
                  v ? "expected a string in field" : "missing field", key);
        return NULL;
    }
    /* Every field here is a collection or alias name. A NUL inside would make
     * "a\u0000b" act on "a" once passed on as a C string: refuse it here. */
    qv_error err;
    if (memchr(v->u.str, '\0', v->len) && qv_name_check_n(v->u.str, v->len, &err)) {
        rest_fail_qv(rs, &err, "JSON body");
        return NULL;
    }
    return v->u.str;
}

int h_aliases_update(rest_req *rq, rest_resp *rs)
{
    unsigned long timeout;
    jr_value *root;
    if (rest_query_timeout(rq, rs, &timeout) || rest_body_json(rq, rs, &root))
        return -1;
    const jr_value *actions = jr_get(root, "actions");
    static const char *const fields[] = {"actions"};
    if (jr_dup_field(root, fields, 1))
        return rest_fail(rs, 400, "Format error in JSON body: duplicate field `actions`");
    if (!jr_is(actions, JR_ARRAY))
        return rest_fail(rs, 400, "Format error in JSON body: %s",
                         actions ? "actions: invalid type, expected a sequence" : "missing field `actions`");
    qv_alias_op *ops = qv_arena_calloc(rq->arena, actions->len + 1, sizeof *ops);
    if (!ops)
        return rest_fail(rs, 500, "Service internal error: out of memory");
    for (uint32_t i = 0; i < actions->len; i++) {
        const jr_value *a = &actions->u.items[i], *body;
        qv_alias_op *op = &ops[i];
        if ((body = jr_get(a, "create_alias"))) {
            op->kind = QV_ALIAS_CREATE;
            if (!(op->b = action_field(rs, body, "create_alias", i, "collection_name")) ||
                !(op->a = action_field(rs, body, "create_alias", i, "alias_name")))
                return -1;
        } else if ((body = jr_get(a, "delete_alias"))) {
            op->kind = QV_ALIAS_DELETE;
            if (!(op->a = action_field(rs, body, "delete_alias", i, "alias_name")))
                return -1;
        } else if ((body = jr_get(a, "rename_alias"))) {
            op->kind = QV_ALIAS_RENAME;
            if (!(op->a = action_field(rs, body, "rename_alias", i, "old_alias_name")) ||
                !(op->b = action_field(rs, body, "rename_alias", i, "new_alias_name")))
                return -1;
        } else {
            return rest_fail(rs, 400,
                             "Format error in JSON body: actions[%u]: expected one of `create_alias`, "
                             "`delete_alias`, `rename_alias`",
                             i);
        }
    }
    qv_error err;
    if (qv_alias_apply(rq->db, ops, actions->len, &err))
        return rest_fail_qv(rs, &err, "JSON body");
    jw_bool(&rs->w, true);
    return 0;
}

static int write_aliases(rest_req *rq, rest_resp *rs, const char *collection)
{
    qv_alias *list;
    size_t n;
    qv_error err;
    if (qv_alias_list(rq->db, collection, &list, &n, &err))
        return rest_fail_qv(rs, &err, "JSON body");
    jw_obj_begin(&rs->w);
    jw_key(&rs->w, "aliases");
    jw_arr_begin(&rs->w);
    for (size_t i = 0; i < n; i++) {
        jw_obj_begin(&rs->w);
        jw_key(&rs->w, "alias_name");
        jw_str(&rs->w, list[i].alias);
        jw_key(&rs->w, "collection_name");
        jw_str(&rs->w, list[i].collection);
        jw_obj_end(&rs->w);
    }
    jw_arr_end(&rs->w);
    jw_obj_end(&rs->w);
    qv_free(list);
    return 0;
}

int h_aliases_list(rest_req *rq, rest_resp *rs) { return write_aliases(rq, rs, NULL); }

int h_collection_aliases(rest_req *rq, rest_resp *rs) { return write_aliases(rq, rs, coll_name(rq)); }
