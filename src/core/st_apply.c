/*
 * st_apply.c — an op_batch applied to the store as one transaction
 * (store_apply): every operation in order, all or nothing. See store.h.
 */
#include "core/store_int.h"

#include <stdlib.h>
#include <string.h>

#include "payload/pl.h"
#include "util/buf.h"

/* Check a decoded vector against the store's shape (records may come from disk). */
static bool vector_fits(const store *s, const op_vector *v)
{
    if (v->sparse)
        return v->index < s->n_sparse;
    return v->index < s->n_dense && v->n == s->dense[v->index].dim;
}

static qv_status put_vectors(st_txn *t, uint32_t slot, const op_point *pt, bool replace_all)
{
    store *s = t->s;
    qv_status rc;
    for (uint16_t k = 0; k < pt->n_vectors; k++)
        if (!vector_fits(s, &pt->vectors[k]))
            return qv_fail(t->err, QV_CORRUPT, "operation does not fit the collection's vectors");
    if (replace_all) {
        /* An upsert replaces the point: vectors it does not give are gone. */
        for (uint32_t v = 0; v < s->n_dense; v++)
            if (store_has_dense(s, v, slot) && (rc = st_set_dense(t, v, slot, NULL)))
                return rc;
        for (uint32_t v = 0; v < s->n_sparse; v++)
            if (s->sparse[v][slot] && (rc = st_set_sparse(t, v, slot, NULL)))
                return rc;
    }
    for (uint16_t k = 0; k < pt->n_vectors; k++) {
        const op_vector *vec = &pt->vectors[k];
        rc = vec->sparse ? st_set_sparse(t, vec->index, slot, vec) : st_set_dense(t, vec->index, slot, vec->values);
        if (rc)
            return rc;
    }
    return QV_OK;
}

static qv_status no_point(qv_error *err, const qv_point_id *id)
{
    char buf[PID_TEXT_MAX];
    pid_format(id, buf);
    return qv_fail(err, QV_NOT_FOUND, "No point with id %s found", buf);
}

/* The slots an operation's selector names. Ids must exist when required. */
static qv_status select_slots(st_txn *t, const cfg_collection *cfg, const op_selector *sel,
                              bool must_exist, uint32_t **slots, size_t *n)
{
    store *s = t->s;
    size_t cap = sel->by_filter ? s->n_points : sel->n_ids;
    *slots = qv_arena_alloc(t->a, (cap ? cap : 1) * sizeof **slots);
    if (!*slots)
        return qv_fail(t->err, QV_NOMEM, "out of memory");
    *n = 0;
    if (sel->by_filter) {
        for (uint32_t i = 0; i < s->n_slots; i++)
            if (store_live(s, i) && store_matches(s, cfg, sel->filter, i))
                (*slots)[(*n)++] = i;
        return QV_OK;
    }
    for (uint32_t i = 0; i < sel->n_ids; i++) {
        int64_t slot = store_find(s, &sel->ids[i]);
        if (slot < 0) {
            if (must_exist)
                return no_point(t->err, &sel->ids[i]);
            continue;
        }
        bool dup = false;  /* the same id twice acts once */
        for (size_t j = 0; j < *n && !dup; j++)
            dup = (*slots)[j] == (uint32_t)slot;
        if (!dup || sel->n_ids > 64)
            (*slots)[(*n)++] = (uint32_t)slot;
    }
    return QV_OK;
}

/*
 * Which points of an upsert or vector update are written. Qdrant decides for
 * all of them against the state before the operation (it selects the
 * existing and the filtered-out ids first, then writes what is left in
 * order), so an id listed twice is judged twice the same way, never by what
 * its first copy wrote. NULL (keep all) when there is nothing to judge.
 */
static qv_status judge_points(st_txn *t, const cfg_collection *cfg, const op_item *o, bool **keep)
{
    *keep = NULL;
    if (!o->update_filter && o->mode == OPM_UPSERT)
        return QV_OK;
    if (!(*keep = qv_arena_alloc(t->a, o->n_points ? o->n_points : 1)))
        return qv_fail(t->err, QV_NOMEM, "out of memory");
    for (uint32_t i = 0; i < o->n_points; i++) {
        int64_t found = store_find(t->s, &o->points[i].id);
        if (found < 0)  /* a vector update of a missing id fails when it is reached */
            (*keep)[i] = o->kind == OP_UPDATE_VECTORS || o->mode != OPM_UPDATE_ONLY;
        else
            (*keep)[i] = o->mode != OPM_INSERT_ONLY && store_matches(t->s, cfg, o->update_filter, (uint32_t)found);
    }
    return QV_OK;
}

static qv_status apply_points(st_txn *t, const cfg_collection *cfg, const op_item *o)
{
    store *s = t->s;
    bool *keep;
    qv_status rc = judge_points(t, cfg, o, &keep);
    if (rc)
        return rc;
    for (uint32_t i = 0; i < o->n_points; i++) {
        const op_point *pt = &o->points[i];
        if (keep && !keep[i])
            continue;
        int64_t found = store_find(s, &pt->id);
        if (o->kind == OP_UPDATE_VECTORS) {
            if (found < 0)
                return no_point(t->err, &pt->id);
            if ((rc = put_vectors(t, (uint32_t)found, pt, false)))
                return rc;
            continue;
        }
        uint32_t slot;
        if (found >= 0)
            slot = (uint32_t)found;
        else if ((rc = st_insert_slot(t, &pt->id, &slot)))
            return rc;
        if ((rc = st_set_payload_blob(t, slot, pt->payload, pt->payload_len)) ||
            (rc = put_vectors(t, slot, pt, true)))
            return rc;
    }
    return QV_OK;
}

static qv_status apply_selected(st_txn *t, const cfg_collection *cfg, const op_item *o)
{
    store *s = t->s;
    bool must_exist = o->kind != OP_DELETE;
    uint32_t *slots = NULL;
    size_t n = 0;
    qv_status rc = select_slots(t, cfg, &o->sel, must_exist, &slots, &n);
    if (rc)
        return rc;
    qv_buf out = QV_BUF_INIT;
    for (size_t i = 0; i < n && rc == QV_OK; i++) {
        uint32_t slot = slots[i];
        const uint8_t *blob;
        size_t len;
        store_payload(s, slot, &blob, &len);
        out.len = 0;
        switch (o->kind) {
        case OP_DELETE:
            if (store_live(s, slot))  /* an id listed twice is deleted once */
                rc = st_delete_slot(t, slot);
            break;
        case OP_SET_PAYLOAD:
            if (pl_set(blob, len, o->payload, o->payload_len, o->key ? o->paths : NULL, &out, t->err) != 0)
                rc = t->err->code;
            else
                rc = st_set_payload_blob(t, slot, (const uint8_t *)out.data, out.len);
            break;
        case OP_OVERWRITE_PAYLOAD:
            rc = st_set_payload_blob(t, slot, o->payload, o->payload_len);
            break;
        case OP_DELETE_PAYLOAD:
            if (pl_delete(blob, len, o->paths, o->n_keys, &out, t->err) != 0)
                rc = t->err->code;
            else
                rc = st_set_payload_blob(t, slot, (const uint8_t *)out.data, out.len);
            break;
        case OP_CLEAR_PAYLOAD:
            rc = s->payloads[slot] ? st_set_payload_blob(t, slot, NULL, 0) : st_touch(t, slot);
            break;
        case OP_DELETE_VECTORS:
            rc = st_touch(t, slot);  /* a write of the point even where it lacks them */
            for (uint16_t k = 0; k < o->n_names && rc == QV_OK; k++) {
                const op_vector *nm = &o->names[k];
                if (nm->sparse ? nm->index >= s->n_sparse : nm->index >= s->n_dense)
                    rc = qv_fail(t->err, QV_CORRUPT, "operation names a vector the collection lacks");
                else if (nm->sparse && s->sparse[nm->index][slot])
                    rc = st_set_sparse(t, nm->index, slot, NULL);
                else if (!nm->sparse && store_has_dense(s, nm->index, slot))
                    rc = st_set_dense(t, nm->index, slot, NULL);
            }
            break;
        default:
            rc = qv_fail(t->err, QV_CORRUPT, "unknown operation kind %d", (int)o->kind);
        }
        if (rc == QV_OK && !qv_buf_ok(&out))
            rc = qv_fail(t->err, QV_NOMEM, "out of memory");
    }
    qv_buf_free(&out);
    return rc;
}

qv_status store_apply(store *s, const cfg_collection *cfg, const op_batch *batch, qv_arena *scratch,
                      qv_error *err)
{
    st_txn t = {.s = s, .a = scratch, .err = err};
    /* Every slot this batch could free fits in the free list without a
     * failing allocation during rollback or commit. */
    uint64_t need = (uint64_t)s->n_free + s->n_points;
    for (uint32_t i = 0; i < batch->n; i++)
        need += batch->ops[i].n_points;
    if (need > s->cap_free) {
        uint32_t *p = realloc(s->free_slots, need * sizeof *p);
        if (!p)
            return qv_fail(err, QV_NOMEM, "out of memory");
        s->free_slots = p;
        s->cap_free = (uint32_t)need;
    }
    qv_status rc = QV_OK;
    for (uint32_t i = 0; i < batch->n && rc == QV_OK; i++) {
        const op_item *o = &batch->ops[i];
        t.ver = batch->seq ? batch->seq + i : 0;
        rc = o->kind == OP_UPSERT || o->kind == OP_UPDATE_VECTORS ? apply_points(&t, cfg, o)
                                                                    : apply_selected(&t, cfg, o);
    }
    rc = st_txn_end(&t, rc);
    free(t.log);
    return rc;
}
