/*
 * points.c — the points part of quiver.h: writes go through ops.h into the
 * collection's writer (collection.h); reads take the collection's read lock
 * and write JSON with read.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/db.h"
#include "core/internal.h"
#include "core/ops.h"
#include "core/read.h"

qv_status qv_points_update(qv_db *db, const char *name, qv_update_kind kind, const char *json,
                           size_t len, const qv_write_opts *opts, qv_update_result *result,
                           qv_error *err)
{
    qv_collection *c;
    qv_status rc = cat_acquire(db, name, &c, err);
    if (rc)
        return rc;
    qv_arena *a = qv_scratch();
    if (!a) {
        cat_release(c);
        return qv_fail(err, QV_NOMEM, "out of memory");
    }
    jr_value *root;
    op_batch batch;
    qv_buf rec = QV_BUF_INIT;
    /* The record names vectors by index into schema: no vector DDL until
     * it is queued (collection.h). */
    pthread_rwlock_rdlock(&c->vgate);
    if ((rc = qv_parse_request_opts(a, json, len, &ops_json_opts, &root, err)) ||
        (rc = ops_parse(a, &c->schema, (int)kind, root, &batch, err)))
        goto done;
    if (batch.n == 0) {
        /* {"operations": []}: Qdrant answers an empty list; nothing reaches
         * the WAL and no operation id is used up. */
        *result = (qv_update_result){.status = QV_COMPLETED};
        goto done;
    }
    if ((rc = ops_encode(&batch, &rec, err)))
        goto done;
    /* The record owns copies of everything; the parse memory is done with
     * before a possibly long wait. */
    qv_scratch_done(a);
    size_t rec_len;
    char *body = qv_buf_detach(&rec, &rec_len);
    rc = coll_submit(c, body, rec_len, batch.n, opts, a, result, err);
    pthread_rwlock_unlock(&c->vgate);
    qv_scratch_done(a);
    cat_release(c);
    return rc;
done:
    pthread_rwlock_unlock(&c->vgate);
    qv_buf_free(&rec);
    qv_scratch_done(a);
    cat_release(c);
    return rc;
}

qv_status qv_point_get(qv_db *db, const char *name, const char *id_text, char **json, size_t *len,
                       qv_error *err)
{
    qv_point_id id;
    if (!pid_from_text(id_text, &id))
        return qv_fail(err, QV_BAD_INPUT,
                       "Unable to parse point id `%.80s`: expected an unsigned integer or a UUID", id_text);
    qv_collection *c;
    qv_status rc = cat_acquire(db, name, &c, err);
    if (rc)
        return rc;
    rd_select sel = {.payload = RD_PAYLOAD_ALL, .vectors = true, .all_vectors = true};
    qv_buf b = QV_BUF_INIT;
    jw w;
    jw_init(&w, &b);
    pthread_rwlock_rdlock(&c->lock);
    int64_t slot = store_find(&c->st, &id);
    if (slot >= 0)
        rd_write_record(&w, &c->st, &c->schema, (uint32_t)slot, &sel);
    pthread_rwlock_unlock(&c->lock);
    cat_release(c);
    if (slot < 0) {
        qv_buf_free(&b);
        char text[PID_TEXT_MAX];
        pid_format(&id, text);
        return qv_fail(err, QV_NOT_FOUND, "No point with id %s found", text);
    }
    return qv_take_json(&b, json, len, err);
}

qv_status qv_points_retrieve(qv_db *db, const char *name, const char *request_json, size_t len,
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
    rd_select sel = {0};
    qv_point_id *ids = NULL;
    uint32_t n = 0;
    if ((rc = qv_parse_request(&a, request_json, len, &root, err)) ||
        (rc = QV_NO_DUP(root, NULL, err, "ids", "with_payload", "shard_key")))
        goto done;
    const jr_value *idv = jr_get(root, "ids");
    if (!jr_is(idv, JR_ARRAY)) {
        rc = qv_fail(err, QV_BAD_FORMAT, idv ? "ids: invalid type, expected a list of point ids"
                                             : "missing field `ids`");
        goto done;
    }
    if (!(ids = qv_arena_alloc(&a, (idv->len ? idv->len : 1) * sizeof *ids))) {
        rc = qv_fail(err, QV_NOMEM, "out of memory");
        goto done;
    }
    for (n = 0; n < idv->len; n++)
        if (!pid_from_json(&idv->u.items[n], &ids[n])) {
            rc = qv_fail(err, QV_BAD_FORMAT,
                         "ids[%u]: not a valid point ID, valid values are either an unsigned integer or a UUID",
                         n);
            goto done;
        }
    if ((rc = rd_parse_with_payload(&a, jr_get(root, "with_payload"), true, &sel, err)) ||
        (rc = rd_parse_with_vector_of(&a, &c->schema, root, false, &sel, err)))
        goto done;
    qv_buf b = QV_BUF_INIT;
    jw w;
    jw_init(&w, &b);
    jw_arr_begin(&w);
    pthread_rwlock_rdlock(&c->lock);
    for (uint32_t i = 0; i < n; i++) {
        int64_t slot = store_find(&c->st, &ids[i]);
        if (slot >= 0)
            rd_write_record(&w, &c->st, &c->schema, (uint32_t)slot, &sel);
    }
    pthread_rwlock_unlock(&c->lock);
    jw_arr_end(&w);
    rc = qv_take_json(&b, json, out_len, err);
done:
    qv_arena_free(&a);
    pthread_rwlock_unlock(&c->vlock);
    cat_release(c);
    return rc;
}
