/*
 * st_txn.c — the undo log of a batch: mutations that record what they
 * replace, rollback, and commit (which tells the listeners, store.h).
 * See store_int.h.
 */
#include "core/store_int.h"

#include <stdlib.h>
#include <string.h>

#include "payload/pl.h"

/* ---- the undo log ------------------------------------------------------------------- */

typedef enum undo_kind { U_INSERT, U_DELETE, U_PAYLOAD, U_DENSE, U_SPARSE, U_VERSION } undo_kind;

/*
 * The id tree never allocates on an undo path: a new id is inserted going
 * forward (a failure there rolls back like any other), a deleted id leaves
 * the tree only at commit, and an id deleted and upserted again in one batch
 * is repointed in place (U_INSERT with `had`, old slot in `vec`).
 */
typedef struct st_undo {
    undo_kind kind;
    uint32_t  slot;
    uint32_t  vec;     /* U_DENSE / U_SPARSE: the vector; U_INSERT repointed: old slot */
    bool      had;     /* U_DENSE: the vector was present; U_INSERT: repointed */
    void     *old;     /* U_PAYLOAD / U_SPARSE: previous pointer; U_DENSE: saved floats */
    uint64_t  ver;     /* the slot's version before (every kind) */
} st_undo;

/* Log u; the slot then takes the transaction's version (the mutation
 * follows and cannot fail once logged), restored by the rollback. */
static qv_status txn_push(st_txn *t, st_undo u)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 256;
        st_undo *p = realloc(t->log, cap * sizeof *p);
        if (!p)
            return qv_fail(t->err, QV_NOMEM, "out of memory (undo log)");
        t->log = p;
        t->cap = cap;
    }
    u.ver = t->s->versions[u.slot];
    t->log[t->n++] = u;
    t->s->blk_dirty[u.slot >> VEC_CHUNK_SHIFT] = 1;
    t->s->versions[u.slot] = t->ver;
    return QV_OK;
}

static void clear_slot_data(store *s, uint32_t slot)
{
    free(s->payloads[slot]);
    s->payloads[slot] = NULL;
    for (uint32_t v = 0; v < s->n_dense; v++)
        qv_bit_put(s->dense[v].has, slot, false);
    for (uint32_t v = 0; v < s->n_sparse; v++) {
        free(s->sparse[v][slot]);
        s->sparse[v][slot] = NULL;
    }
}

void st_free_push(store *s, uint32_t slot)
{
    s->free_slots[s->n_free++] = slot;  /* capacity reserved in store_apply */
}

/* Undo everything, newest first. */
static void txn_rollback(st_txn *t)
{
    store *s = t->s;
    for (size_t i = t->n; i-- > 0;) {
        st_undo *u = &t->log[i];
        s->versions[u->slot] = u->ver;
        switch (u->kind) {
        case U_INSERT:
            if (u->had)
                idt_update(&s->order, &s->ids[u->slot], u->vec);
            else
                idt_erase(&s->order, &s->ids[u->slot]);
            st_map_del(s, u->slot);
            clear_slot_data(s, u->slot);
            qv_bit_put(s->live, u->slot, false);
            s->n_points--;
            st_free_push(s, u->slot);
            break;
        case U_DELETE:
            qv_bit_put(s->live, u->slot, true);
            st_map_put(s, u->slot);
            s->n_points++;
            break;
        case U_PAYLOAD:
            free(s->payloads[u->slot]);
            s->payloads[u->slot] = u->old;
            break;
        case U_DENSE:
            if (u->had)
                memcpy((float *)store_dense(s, u->vec, u->slot), u->old,
                       (size_t)s->dense[u->vec].dim * sizeof(float));
            qv_bit_put(s->dense[u->vec].has, u->slot, u->had);
            break;
        case U_SPARSE:
            free(s->sparse[u->vec][u->slot]);
            s->sparse[u->vec][u->slot] = u->old;
            break;
        case U_VERSION: break;  /* the version alone, restored above */
        }
    }
    t->n = 0;
}

/* ---- commit and the listeners --------------------------------------------------------- */

qv_status store_listen(store *s, const st_listener *l, qv_error *err)
{
    st_listener *p = realloc(s->listeners, (s->n_listeners + 1) * sizeof *p);
    if (!p)
        return qv_fail(err, QV_NOMEM, "out of memory");
    s->listeners = p;
    s->listeners[s->n_listeners++] = *l;
    return QV_OK;
}

void store_unlisten(store *s, void *ctx)
{
    for (uint32_t i = 0; i < s->n_listeners; i++)
        if (s->listeners[i].ctx == ctx) {
            memmove(s->listeners + i, s->listeners + i + 1,
                    (s->n_listeners - i - 1) * sizeof *s->listeners);
            s->n_listeners--;
            return;
        }
}

typedef struct touch {
    uint32_t slot;
    uint32_t at;  /* position in the undo log */
} touch;

static int touch_cmp(const void *x, const void *y)
{
    const touch *a = x, *b = y;
    if (a->slot != b->slot)
        return a->slot < b->slot ? -1 : 1;
    return (a->at > b->at) - (a->at < b->at);
}

/*
 * The batch's changes, one per slot it touched, read off the undo log
 * (sorted by slot, then log order): O(k log k) for k log entries, O(k) when
 * the log is in slot order already, in the txn's arena. Runs before the commit point, while the replaced blobs are
 * alive. QV_NOMEM leaves the batch to be rolled back.
 */
static qv_status txn_changes(st_txn *t, st_change **out, size_t *n_out)
{
    store *s = t->s;
    touch *tv = t->n <= UINT32_MAX ? qv_arena_alloc(t->a, t->n * sizeof *tv) : NULL;
    st_change *ch = tv ? qv_arena_alloc(t->a, t->n * sizeof *ch) : NULL;
    /* Sparse vectors before the batch: a pointer per touched slot and column. */
    const st_sparse_vec **olds = ch && s->n_sparse ? qv_arena_alloc(t->a, t->n * s->n_sparse * sizeof *olds) : NULL;
    if (!ch || (s->n_sparse && !olds))
        return qv_fail(t->err, QV_NOMEM, "out of memory (changes of a batch)");
    bool sorted = true;
    for (size_t i = 0; i < t->n; i++) {
        tv[i] = (touch){t->log[i].slot, (uint32_t)i};
        sorted = sorted && (i == 0 || tv[i - 1].slot <= tv[i].slot);
    }
    /* An upload of new points logs its slots in increasing order (they are
     * handed out so): no sort then, which was a quarter of its apply. */
    if (!sorted)
        qsort(tv, t->n, sizeof *tv, touch_cmp);
    size_t n = 0;
    for (size_t g = 0, e; g < t->n; g = e) {
        uint32_t slot = tv[g].slot, what = 0;
        const st_payload *before = s->payloads[slot];
        for (e = g; e < t->n && tv[e].slot == slot; e++) {
            const st_undo *u = &t->log[tv[e].at];
            switch (u->kind) {
            case U_INSERT: what |= ST_CH_INSERTED; break;
            case U_DELETE: what |= ST_CH_DELETED; break;
            case U_PAYLOAD:
                if (!(what & ST_CH_PAYLOAD))
                    before = u->old;  /* the first change saved the original */
                what |= ST_CH_PAYLOAD;
                break;
            case U_DENSE:
            case U_SPARSE: what |= ST_CH_VECTORS; break;
            case U_VERSION: break;
            }
        }
        if (!what)  /* only its version changed: nothing for the listeners */
            continue;
        st_change *c = &ch[n];
        *c = (st_change){.slot = slot, .what = what};
        if (olds) {
            /* Unchanged columns still hold the old vector (a deleted slot's
             * data goes only after the listeners); a changed one's first
             * undo entry saved it; an inserted slot had none. */
            const st_sparse_vec **o = olds + n * s->n_sparse;
            for (uint32_t v = 0; v < s->n_sparse; v++)
                o[v] = what & ST_CH_INSERTED ? NULL : s->sparse[v][slot];
            uint64_t seen = 0;  /* columns past 64 look at the whole group (rare) */
            for (size_t k = g; k < e; k++) {
                const st_undo *u = &t->log[tv[k].at];
                if (u->kind != U_SPARSE)
                    continue;
                bool first = true;
                if (u->vec < 64) {
                    first = !(seen >> u->vec & 1);
                    seen |= 1ull << u->vec;
                } else {
                    for (size_t j = g; j < k; j++)
                        first &= !(t->log[tv[j].at].kind == U_SPARSE && t->log[tv[j].at].vec == u->vec);
                }
                if (first)
                    o[u->vec] = u->old;
            }
            c->old_sparse = o;
        }
        n++;
        if (!(what & ST_CH_INSERTED)) {
            c->old_payload = before ? before->data : pl_empty;
            c->old_len = before ? before->len : pl_empty_len;
        }
    }
    *out = ch;
    *n_out = n;
    return QV_OK;
}

/* Keep everything: tell the listeners, then release what the batch replaced. */
static void txn_commit(st_txn *t, const st_change *ch, size_t n)
{
    store *s = t->s;
    if (t->n)
        s->gen = store_gen_next();
    for (uint32_t i = 0; ch && i < s->n_listeners; i++) {
        const st_listener *l = &s->listeners[i];
        if (!l->active || l->active(l->ctx, s))
            l->on_commit(l->ctx, s, ch, n);
    }
    for (size_t i = 0; i < t->n; i++) {
        st_undo *u = &t->log[i];
        uint32_t now;
        switch (u->kind) {
        case U_DELETE:
            /* Unless the id was upserted again (repointed), it leaves the tree. */
            if (idt_find(&s->order, &s->ids[u->slot], &now) && now == u->slot)
                idt_erase(&s->order, &s->ids[u->slot]);
            clear_slot_data(s, u->slot);
            st_free_push(s, u->slot);
            break;
        case U_PAYLOAD:
        case U_SPARSE:
            free(u->old);
            break;
        default: break;
        }
    }
    t->n = 0;
}

qv_status st_txn_end(st_txn *t, qv_status rc)
{
    store *s = t->s;
    st_change *ch = NULL;
    size_t n = 0;
    bool wanted = false;
    for (uint32_t i = 0; rc == QV_OK && t->n && i < s->n_listeners && !wanted; i++)
        wanted = !s->listeners[i].active || s->listeners[i].active(s->listeners[i].ctx, s);
    if (wanted && (rc = txn_changes(t, &ch, &n)) == QV_OK && n == 0)
        ch = NULL;  /* versions alone changed: listeners hear of no commit */
    for (uint32_t i = 0; rc == QV_OK && ch && i < s->n_listeners; i++) {
        const st_listener *l = &s->listeners[i];
        if (l->reserve && (!l->active || l->active(l->ctx, s)))
            rc = l->reserve(l->ctx, s, ch, n, t->err);
    }
    /* The commit point: from here on nothing can fail. */
    if (rc)
        txn_rollback(t);
    else
        txn_commit(t, ch, n);
    return rc;
}

/* ---- mutations (each records its undo first) ------------------------------------------- */

qv_status st_set_payload_blob(st_txn *t, uint32_t slot, const uint8_t *blob, size_t len)
{
    st_payload *p = NULL;
    if (blob && pl_count(blob, len) > 0) {
        p = malloc(sizeof *p + len);
        if (!p)
            return qv_fail(t->err, QV_NOMEM, "out of memory for a payload");
        p->len = (uint32_t)len;
        memcpy(p->data, blob, len);
    }
    qv_status rc = txn_push(t, (st_undo){.kind = U_PAYLOAD, .slot = slot, .old = t->s->payloads[slot]});
    if (rc) {
        free(p);
        return rc;
    }
    t->s->payloads[slot] = p;
    return QV_OK;
}

qv_status st_set_dense(st_txn *t, uint32_t v, uint32_t slot, const float *vals)
{
    store *s = t->s;
    bool had = store_has_dense(s, v, slot);
    float *dst = (float *)store_dense(s, v, slot);
    size_t bytes = (size_t)s->dense[v].dim * sizeof(float);
    void *saved = NULL;
    if (had) {
        if (!(saved = qv_arena_alloc(t->a, bytes)))
            return qv_fail(t->err, QV_NOMEM, "out of memory (undo)");
        memcpy(saved, dst, bytes);
    }
    qv_status rc = txn_push(t, (st_undo){.kind = U_DENSE, .slot = slot, .vec = v, .had = had, .old = saved});
    if (rc)
        return rc;
    if (vals) {
        memcpy(dst, vals, bytes);
        s->dense[v].dirty[slot >> VEC_CHUNK_SHIFT] = 1;
    }
    qv_bit_put(s->dense[v].has, slot, vals != NULL);
    return QV_OK;
}

qv_status st_set_sparse(st_txn *t, uint32_t v, uint32_t slot, const op_vector *src)
{
    st_sparse_vec *sv = NULL;
    if (src) {
        sv = malloc(sizeof *sv + (size_t)src->n * 8);
        if (!sv)
            return qv_fail(t->err, QV_NOMEM, "out of memory for a sparse vector");
        sv->n = src->n;
        memcpy(sv->data, src->indices, (size_t)src->n * 4);
        memcpy(sv->data + src->n, src->values, (size_t)src->n * 4);
        st_sparse_sort(sv);
    }
    qv_status rc = txn_push(t, (st_undo){.kind = U_SPARSE, .slot = slot, .vec = v,
                                      .old = t->s->sparse[v][slot]});
    if (rc) {
        free(sv);
        return rc;
    }
    t->s->sparse[v][slot] = sv;
    return QV_OK;
}

qv_status st_touch(st_txn *t, uint32_t slot)
{
    return txn_push(t, (st_undo){.kind = U_VERSION, .slot = slot});
}

qv_status st_delete_slot(st_txn *t, uint32_t slot)
{
    qv_status rc = txn_push(t, (st_undo){.kind = U_DELETE, .slot = slot});
    if (rc)
        return rc;
    st_map_del(t->s, slot);
    qv_bit_put(t->s->live, slot, false);
    t->s->n_points--;
    return QV_OK;
}

qv_status st_insert_slot(st_txn *t, const qv_point_id *id, uint32_t *out)
{
    store *s = t->s;
    qv_status rc = st_map_reserve(s, s->n_points + 1, t->err);
    if (rc)
        return rc;
    uint32_t slot;
    if (s->n_free) {
        slot = s->free_slots[--s->n_free];
    } else {
        if ((rc = st_ensure_slot(s, t->err)) || (rc = st_ensure_chunk(s, s->n_slots, t->err)))
            return rc;
        slot = s->n_slots++;
    }
    uint32_t old_slot = 0;
    bool repoint = idt_find(&s->order, id, &old_slot);  /* deleted earlier in this batch */
    if (!repoint && (rc = idt_insert(&s->order, id, slot)) != QV_OK) {
        st_free_push(s, slot);
        return qv_fail(t->err, QV_NOMEM, "out of memory (id index)");
    }
    if ((rc = txn_push(t, (st_undo){.kind = U_INSERT, .slot = slot, .had = repoint, .vec = old_slot}))) {
        if (!repoint)
            idt_erase(&s->order, id);
        st_free_push(s, slot);
        return rc;
    }
    if (repoint)
        idt_update(&s->order, id, slot);
    s->ids[slot] = *id;
    s->payloads[slot] = NULL;
    for (uint32_t v = 0; v < s->n_dense; v++)
        qv_bit_put(s->dense[v].has, slot, false);
    for (uint32_t v = 0; v < s->n_sparse; v++)
        s->sparse[v][slot] = NULL;
    qv_bit_put(s->live, slot, true);
    st_map_put(s, slot);
    s->n_points++;
    *out = slot;
    return QV_OK;
}
