/*
 * store.c — points in memory, all-or-nothing batches, checkpoints.
 * See store.h.
 */
#define _GNU_SOURCE
#include "core/store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/internal.h"
#include "payload/pl.h"
#include "util/crc32c.h"
#include "util/endian.h"
#include "util/fsutil.h"

/* ---- slots and the id map ------------------------------------------------------ */

static size_t words(uint32_t bits) { return ((size_t)bits + 63) / 64; }

qv_status store_init(store *s, const cfg_collection *cfg, qv_error *err)
{
    memset(s, 0, sizeof *s);
    s->n_dense = cfg->n_vectors;
    s->n_sparse = cfg->n_sparse;
    s->map_cap = 64;
    s->map = calloc(s->map_cap, sizeof *s->map);
    if (idt_init(&s->order) != QV_OK) {
        free(s->map);
        return qv_fail(err, QV_NOMEM, "out of memory");
    }
    s->dense = calloc(s->n_dense ? s->n_dense : 1, sizeof *s->dense);
    s->sparse = calloc(s->n_sparse ? s->n_sparse : 1, sizeof *s->sparse);
    s->sparse_names = calloc(s->n_sparse ? s->n_sparse : 1, sizeof *s->sparse_names);
    bool ok = s->map && s->dense && s->sparse && s->sparse_names;
    for (uint32_t i = 0; ok && i < s->n_dense; i++) {
        s->dense[i].dim = cfg->vectors[i].size;
        ok = (s->dense[i].name = strdup(cfg->vectors[i].name)) != NULL;
    }
    for (uint32_t i = 0; ok && i < s->n_sparse; i++)
        ok = (s->sparse_names[i] = strdup(cfg->sparse[i].name)) != NULL;
    if (!ok) {
        store_free(s);
        return qv_fail(err, QV_NOMEM, "out of memory");
    }
    return QV_OK;
}

/* Free one column's data (n_chunks chunks / n_slots vectors). */
static void dense_col_free(vec_dense *d, uint32_t n_chunks)
{
    for (uint32_t c = 0; d->chunks && c < n_chunks; c++)
        vec_chunk_free(d->chunks[c]);
    free(d->chunks);
    free(d->has);
    free(d->name);
}

static void sparse_col_free(st_sparse_vec **col, char *name, uint32_t n_slots)
{
    for (uint32_t i = 0; col && i < n_slots; i++)
        free(col[i]);
    free(col);
    free(name);
}

void store_free(store *s)
{
    for (uint32_t i = 0; i < s->n_slots; i++)
        free(s->payloads[i]);
    for (uint32_t v = 0; s->dense && v < s->n_dense; v++)
        dense_col_free(&s->dense[v], s->n_chunks);
    for (uint32_t v = 0; s->sparse && v < s->n_sparse; v++)
        sparse_col_free(s->sparse[v], s->sparse_names ? s->sparse_names[v] : NULL, s->n_slots);
    free(s->dense);
    free(s->sparse);
    free(s->sparse_names);
    free(s->ids);
    free(s->payloads);
    free(s->live);
    free(s->free_slots);
    free(s->map);
    idt_free(&s->order);
    for (uint32_t i = 0; i < s->n_idx; i++)
        fidx_free(s->idx[i]);
    free(s->idx);
    memset(s, 0, sizeof *s);
}

size_t store_memory(const store *s)
{
    size_t m = (size_t)s->cap_slots * (sizeof *s->ids + sizeof *s->payloads) +
               words(s->cap_slots) * 8 + (size_t)s->map_cap * 4 + (size_t)s->cap_free * 4 +
               idt_memory(&s->order);
    for (uint32_t i = 0; i < s->n_idx; i++)
        m += fidx_memory(s->idx[i]);
    for (uint32_t i = 0; i < s->n_slots; i++)
        if (s->payloads[i])
            m += sizeof(st_payload) + s->payloads[i]->len;
    for (uint32_t v = 0; v < s->n_dense; v++)
        m += (size_t)s->n_chunks * VEC_CHUNK * s->dense[v].dim * 4 + words(s->cap_slots) * 8;
    for (uint32_t v = 0; v < s->n_sparse; v++) {
        m += (size_t)s->cap_slots * sizeof(void *);
        for (uint32_t i = 0; i < s->n_slots; i++)
            if (s->sparse[v][i])
                m += sizeof(st_sparse_vec) + (size_t)s->sparse[v][i]->n * 8;
    }
    return m;
}

int64_t store_find(const store *s, const qv_point_id *id)
{
    uint32_t mask = s->map_cap - 1;
    for (uint32_t b = (uint32_t)pid_hash(id) & mask;; b = (b + 1) & mask) {
        uint32_t e = s->map[b];
        if (!e)
            return -1;
        if (pid_equal(&s->ids[e - 1], id))
            return e - 1;
    }
}

static void map_put(store *s, uint32_t slot)
{
    uint32_t mask = s->map_cap - 1;
    uint32_t b = (uint32_t)pid_hash(&s->ids[slot]) & mask;
    while (s->map[b])
        b = (b + 1) & mask;
    s->map[b] = slot + 1;
}

/* Keep the load factor <= 1/2 so that probes stay short. */
static qv_status map_reserve(store *s, uint64_t count, qv_error *err)
{
    if (count * 2 <= s->map_cap)
        return QV_OK;
    uint32_t cap = s->map_cap;
    while ((uint64_t)cap < count * 2)
        cap *= 2;
    uint32_t *old = s->map, old_cap = s->map_cap;
    s->map = calloc(cap, sizeof *s->map);
    if (!s->map) {
        s->map = old;
        return qv_fail(err, QV_NOMEM, "out of memory growing the id map");
    }
    s->map_cap = cap;
    for (uint32_t b = 0; b < old_cap; b++)
        if (old[b])
            map_put(s, old[b] - 1);
    free(old);
    return QV_OK;
}

/* Remove slot's id, shifting later entries of the probe run back (no
 * tombstones, so lookups never degrade). */
static void map_del(store *s, uint32_t slot)
{
    uint32_t mask = s->map_cap - 1;
    uint32_t b = (uint32_t)pid_hash(&s->ids[slot]) & mask;
    while (s->map[b] != slot + 1)
        b = (b + 1) & mask;
    for (uint32_t next = (b + 1) & mask; s->map[next]; next = (next + 1) & mask) {
        uint32_t home = (uint32_t)pid_hash(&s->ids[s->map[next] - 1]) & mask;
        /* Move next into the hole b if its home is not in (b, next]. */
        bool between = b <= next ? (home > b && home <= next) : (home > b || home <= next);
        if (!between) {
            s->map[b] = s->map[next];
            b = next;
        }
    }
    s->map[b] = 0;
}

static void bit_set(uint64_t *w, uint32_t i, bool v)
{
    if (v)
        w[i >> 6] |= 1ull << (i & 63);
    else
        w[i >> 6] &= ~(1ull << (i & 63));
}

static void *grow(void *p, size_t n, size_t size, size_t old_n)
{
    void *q = realloc(p, n * size);
    if (q && n > old_n)
        memset((char *)q + old_n * size, 0, (n - old_n) * size);
    return q;
}

/* Room for one more slot (arrays double; dense vectors grow by a chunk). */
static qv_status ensure_slot(store *s, qv_error *err)
{
    if (s->n_slots < s->cap_slots)
        return QV_OK;
    uint32_t cap = s->cap_slots ? s->cap_slots * 2 : VEC_CHUNK;
    void *p;
#define GROW(field, n_old)                                                      \
    if (!(p = grow(s->field, cap, sizeof *s->field, n_old)))                    \
        goto oom;                                                               \
    s->field = p;
    GROW(ids, s->cap_slots)
    GROW(payloads, s->cap_slots)
    if (!(p = grow(s->live, words(cap), 8, words(s->cap_slots))))
        goto oom;
    s->live = p;
    for (uint32_t v = 0; v < s->n_dense; v++) {
        if (!(p = grow(s->dense[v].has, words(cap), 8, words(s->cap_slots))))
            goto oom;
        s->dense[v].has = p;
        if (!(p = grow(s->dense[v].chunks, cap / VEC_CHUNK, sizeof(float *), s->n_chunks)))
            goto oom;
        s->dense[v].chunks = p;
    }
    for (uint32_t v = 0; v < s->n_sparse; v++) {
        if (!(p = grow(s->sparse[v], cap, sizeof(void *), s->cap_slots)))
            goto oom;
        s->sparse[v] = p;
    }
#undef GROW
    s->cap_slots = cap;
    return QV_OK;
oom:
    return qv_fail(err, QV_NOMEM, "out of memory growing the collection");
}

/* Make sure the chunk holding slot exists for every dense vector. */
static qv_status ensure_chunk(store *s, uint32_t slot, qv_error *err)
{
    uint32_t c = slot / VEC_CHUNK;
    if (c < s->n_chunks)
        return QV_OK;
    for (uint32_t v = 0; v < s->n_dense; v++) {
        float *chunk = vec_chunk_alloc(s->dense[v].dim);
        if (!chunk) {
            for (uint32_t u = 0; u < v; u++) {
                vec_chunk_free(s->dense[u].chunks[c]);
                s->dense[u].chunks[c] = NULL;
            }
            return qv_fail(err, QV_NOMEM, "out of memory for vectors");
        }
        s->dense[v].chunks[c] = chunk;
    }
    s->n_chunks = c + 1;
    return QV_OK;
}

void store_payload(const store *s, uint32_t slot, const uint8_t **blob, size_t *len)
{
    const st_payload *p = s->payloads[slot];
    *blob = p ? p->data : pl_empty;
    *len = p ? p->len : pl_empty_len;
}

typedef struct vec_ctx {
    const store          *s;
    const cfg_collection *cfg;
    uint32_t              slot;
} vec_ctx;

static _Thread_local vec_ctx tl_vec_ctx;

static bool has_vector(const void *ctx, const char *name)
{
    const vec_ctx *c = ctx;
    for (uint32_t i = 0; i < c->cfg->n_vectors; i++)
        if (strcmp(c->cfg->vectors[i].name, name) == 0)
            return store_has_dense(c->s, i, c->slot);
    for (uint32_t i = 0; i < c->cfg->n_sparse; i++)
        if (strcmp(c->cfg->sparse[i].name, name) == 0)
            return c->s->sparse[i][c->slot] != NULL;
    return false;
}

static bool text_tokenize(const void *params, const char *s, size_t len, flt_token_fn fn, void *fctx)
{
    return fidx_tokenize(params, s, len, fn, fctx);
}

/* A text index on key gives filters its tokenizer (filter.h), broken or
 * not: what match.text means must not depend on the index's health.
 * O(indexes) per text condition evaluated. */
static bool text_index(const void *ctx, const pl_path *key, flt_tokenizer *out)
{
    const vec_ctx *c = ctx;
    for (uint32_t i = 0; i < c->s->n_idx; i++) {
        const fidx *x = c->s->idx[i];
        if (fidx_get_params(x)->type == FIDX_TEXT && strcmp(fidx_key(x)->text, key->text) == 0) {
            *out = (flt_tokenizer){text_tokenize, fidx_get_params(x)};
            return true;
        }
    }
    return false;
}

void store_filter_point(const store *s, const cfg_collection *cfg, uint32_t slot, flt_point *fp)
{
    tl_vec_ctx = (vec_ctx){s, cfg, slot};
    fp->id = &s->ids[slot];
    store_payload(s, slot, &fp->payload, &fp->payload_len);
    fp->has_vector = has_vector;
    fp->text_index = s->n_idx ? text_index : NULL;
    fp->ctx = &tl_vec_ctx;
}

/* ---- changing the vector columns ---------------------------------------------------- */

void store_layout_discard(store_layout *l)
{
    if (l->added >= 0 && l->add_sparse)
        sparse_col_free(l->sparse[l->added], l->sparse_names[l->added], 0);
    else if (l->added >= 0)
        dense_col_free(&l->dense[l->added], l->added_chunks);
    free(l->dense);
    free(l->sparse);
    free(l->sparse_names);
    memset(l, 0, sizeof *l);
    l->added = l->removed_dense = l->removed_sparse = -1;
}

/* The lists of s copied into l (column data shared), with room for one more. */
static qv_status layout_copy(const store *s, store_layout *l, qv_error *err)
{
    memset(l, 0, sizeof *l);
    l->added = l->removed_dense = l->removed_sparse = -1;
    l->n_dense = s->n_dense;
    l->n_sparse = s->n_sparse;
    l->dense = calloc(s->n_dense + 1, sizeof *l->dense);
    l->sparse = calloc(s->n_sparse + 1, sizeof *l->sparse);
    l->sparse_names = calloc(s->n_sparse + 1, sizeof *l->sparse_names);
    if (!l->dense || !l->sparse || !l->sparse_names) {
        store_layout_discard(l);
        return qv_fail(err, QV_NOMEM, "out of memory changing the vectors");
    }
    if (s->n_dense)
        memcpy(l->dense, s->dense, s->n_dense * sizeof *l->dense);
    if (s->n_sparse) {
        memcpy(l->sparse, s->sparse, s->n_sparse * sizeof *l->sparse);
        memcpy(l->sparse_names, s->sparse_names, s->n_sparse * sizeof *l->sparse_names);
    }
    return QV_OK;
}

qv_status store_layout_add(const store *s, bool sparse, const char *name, uint32_t dim,
                           store_layout *l, qv_error *err)
{
    qv_status rc = layout_copy(s, l, err);
    if (rc)
        return rc;
    l->add_sparse = sparse;
    bool ok;
    if (sparse) {
        uint32_t i = l->n_sparse++;
        l->sparse[i] = calloc(s->cap_slots ? s->cap_slots : 1, sizeof(void *));
        l->sparse_names[i] = strdup(name);
        l->added = (int)i;
        ok = l->sparse[i] && l->sparse_names[i];
    } else {
        uint32_t i = l->n_dense++;
        vec_dense *d = &l->dense[i];
        l->added = (int)i;
        d->dim = dim;
        d->name = strdup(name);
        /* As ensure_slot and ensure_chunk would have made them. */
        d->has = calloc(words(s->cap_slots) ? words(s->cap_slots) : 1, 8);
        d->chunks = calloc(s->cap_slots / VEC_CHUNK + 1, sizeof *d->chunks);
        ok = d->name && d->has && d->chunks;
        l->added_chunks = ok ? s->n_chunks : 0;
        for (uint32_t c = 0; ok && c < s->n_chunks; c++)
            ok = (d->chunks[c] = vec_chunk_alloc(dim)) != NULL;
    }
    if (!ok) {
        store_layout_discard(l);
        return qv_fail(err, QV_NOMEM, "out of memory for the new vector");
    }
    return QV_OK;
}

qv_status store_layout_remove(const store *s, bool sparse, uint32_t index, store_layout *l,
                              qv_error *err)
{
    if (index >= (sparse ? s->n_sparse : s->n_dense))
        return qv_fail(err, QV_INTERNAL, "no vector column %u to remove", index);
    qv_status rc = layout_copy(s, l, err);
    if (rc)
        return rc;
    if (sparse) {
        l->removed_sparse = (int)index;
        l->n_sparse--;
        memmove(l->sparse + index, l->sparse + index + 1, (l->n_sparse - index) * sizeof *l->sparse);
        memmove(l->sparse_names + index, l->sparse_names + index + 1,
                (l->n_sparse - index) * sizeof *l->sparse_names);
    } else {
        l->removed_dense = (int)index;
        l->n_dense--;
        memmove(l->dense + index, l->dense + index + 1, (l->n_dense - index) * sizeof *l->dense);
    }
    return QV_OK;
}

void store_layout_commit(store *s, store_layout *l)
{
    if (l->removed_dense >= 0)
        dense_col_free(&s->dense[l->removed_dense], s->n_chunks);
    if (l->removed_sparse >= 0)
        sparse_col_free(s->sparse[l->removed_sparse], s->sparse_names[l->removed_sparse], s->n_slots);
    free(s->dense);
    free(s->sparse);
    free(s->sparse_names);
    s->dense = l->dense;
    s->sparse = l->sparse;
    s->sparse_names = l->sparse_names;
    s->n_dense = l->n_dense;
    s->n_sparse = l->n_sparse;
    memset(l, 0, sizeof *l);
    l->added = l->removed_dense = l->removed_sparse = -1;
}

/* ---- the undo log ------------------------------------------------------------------- */

typedef enum undo_kind { U_INSERT, U_DELETE, U_PAYLOAD, U_DENSE, U_SPARSE } undo_kind;

/*
 * The id tree never allocates on an undo path: a new id is inserted going
 * forward (a failure there rolls back like any other), a deleted id leaves
 * the tree only at commit, and an id deleted and upserted again in one batch
 * is repointed in place (U_INSERT with `had`, old slot in `vec`).
 */
typedef struct undo {
    undo_kind kind;
    uint32_t  slot;
    uint32_t  vec;     /* U_DENSE / U_SPARSE: the vector; U_INSERT repointed: old slot */
    bool      had;     /* U_DENSE: the vector was present; U_INSERT: repointed */
    void     *old;     /* U_PAYLOAD / U_SPARSE: previous pointer; U_DENSE: saved floats */
} undo;

typedef struct txn {
    store    *s;
    qv_arena *a;
    undo     *log;
    size_t    n, cap;
    qv_error *err;
} txn;

static qv_status txn_push(txn *t, undo u)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 256;
        undo *p = realloc(t->log, cap * sizeof *p);
        if (!p)
            return qv_fail(t->err, QV_NOMEM, "out of memory (undo log)");
        t->log = p;
        t->cap = cap;
    }
    t->log[t->n++] = u;
    return QV_OK;
}

static void clear_slot_data(store *s, uint32_t slot)
{
    free(s->payloads[slot]);
    s->payloads[slot] = NULL;
    for (uint32_t v = 0; v < s->n_dense; v++)
        bit_set(s->dense[v].has, slot, false);
    for (uint32_t v = 0; v < s->n_sparse; v++) {
        free(s->sparse[v][slot]);
        s->sparse[v][slot] = NULL;
    }
}

static void free_push(store *s, uint32_t slot)
{
    s->free_slots[s->n_free++] = slot;  /* capacity reserved in txn_begin */
}

/* Undo everything, newest first. */
static void txn_rollback(txn *t)
{
    store *s = t->s;
    for (size_t i = t->n; i-- > 0;) {
        undo *u = &t->log[i];
        switch (u->kind) {
        case U_INSERT:
            if (u->had)
                idt_update(&s->order, &s->ids[u->slot], u->vec);
            else
                idt_erase(&s->order, &s->ids[u->slot]);
            map_del(s, u->slot);
            clear_slot_data(s, u->slot);
            bit_set(s->live, u->slot, false);
            s->n_points--;
            free_push(s, u->slot);
            break;
        case U_DELETE:
            bit_set(s->live, u->slot, true);
            map_put(s, u->slot);
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
            bit_set(s->dense[u->vec].has, u->slot, u->had);
            break;
        case U_SPARSE:
            free(s->sparse[u->vec][u->slot]);
            s->sparse[u->vec][u->slot] = u->old;
            break;
        }
    }
    t->n = 0;
}

/* ---- payload indexes ---------------------------------------------------------------------- */

/* Feed every live point to x (a new index, or one rebuilt after it broke). */
static void index_fill(const store *s, fidx *x)
{
    for (uint32_t slot = 0; slot < s->n_slots; slot++) {
        if (!store_live(s, slot))
            continue;
        const uint8_t *blob;
        size_t len;
        store_payload(s, slot, &blob, &len);
        fidx_update(x, slot, NULL, 0, blob, len);
    }
}

void store_fill_index(const store *s, fidx *x) { index_fill(s, x); }

qv_status store_attach_index(store *s, fidx *x, qv_error *err)
{
    fidx **p = realloc(s->idx, (s->n_idx + 1) * sizeof *p);
    if (!p) {
        fidx_free(x);
        return qv_fail(err, QV_NOMEM, "out of memory");
    }
    s->idx = p;
    s->idx[s->n_idx++] = x;
    return QV_OK;
}

void store_drop_index(store *s, uint32_t i)
{
    fidx_free(s->idx[i]);
    memmove(s->idx + i, s->idx + i + 1, (s->n_idx - i - 1) * sizeof *s->idx);
    s->n_idx--;
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
 * Bring the payload indexes in step with a committed batch: for each slot
 * it touched, its payload before the batch and after. Runs before the
 * replaced blobs are freed; costs O(k log k) for k changes plus the index
 * updates. Never fails: without memory for the bookkeeping the indexes are
 * rebuilt, and an index that cannot keep up marks itself broken (fieldidx.h)
 * so the planner scans instead.
 */
static void txn_index(txn *t)
{
    store *s = t->s;
    if (!s->n_idx || !t->n)
        return;
    touch *tv = t->n <= UINT32_MAX ? qv_arena_alloc(t->a, t->n * sizeof *tv) : NULL;
    if (!tv) {
        for (uint32_t i = 0; i < s->n_idx; i++) {
            fidx_clear(s->idx[i]);
            index_fill(s, s->idx[i]);
        }
        return;
    }
    for (size_t i = 0; i < t->n; i++)
        tv[i] = (touch){t->log[i].slot, (uint32_t)i};
    qsort(tv, t->n, sizeof *tv, touch_cmp);
    for (size_t g = 0, e; g < t->n; g = e) {
        uint32_t slot = tv[g].slot;
        bool inserted = false, changed = false;
        const st_payload *before = s->payloads[slot];
        for (e = g; e < t->n && tv[e].slot == slot; e++) {
            const undo *u = &t->log[tv[e].at];
            if (u->kind == U_INSERT) {
                inserted = true;
            } else if (u->kind == U_PAYLOAD && !changed) {
                before = u->old;  /* the first change saved the original */
                changed = true;
            } else if (u->kind == U_DELETE) {
                changed = true;
            }
        }
        if (!inserted && !changed)
            continue;  /* only vectors changed */
        const uint8_t *ob = NULL, *nb = NULL;
        size_t ol = 0, nl = 0;
        if (!inserted) {
            ob = before ? before->data : pl_empty;
            ol = before ? before->len : pl_empty_len;
        }
        if (store_live(s, slot))
            store_payload(s, slot, &nb, &nl);
        for (uint32_t i = 0; i < s->n_idx; i++)
            fidx_update(s->idx[i], slot, ob, ol, nb, nl);
    }
}

/* Keep everything: release what the batch replaced. */
static void txn_commit(txn *t)
{
    store *s = t->s;
    txn_index(t);
    for (size_t i = 0; i < t->n; i++) {
        undo *u = &t->log[i];
        uint32_t now;
        switch (u->kind) {
        case U_DELETE:
            /* Unless the id was upserted again (repointed), it leaves the tree. */
            if (idt_find(&s->order, &s->ids[u->slot], &now) && now == u->slot)
                idt_erase(&s->order, &s->ids[u->slot]);
            clear_slot_data(s, u->slot);
            free_push(s, u->slot);
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

/* ---- mutations (each records its undo first) ------------------------------------------- */

static qv_status set_payload_blob(txn *t, uint32_t slot, const uint8_t *blob, size_t len)
{
    st_payload *p = NULL;
    if (blob && pl_count(blob, len) > 0) {
        p = malloc(sizeof *p + len);
        if (!p)
            return qv_fail(t->err, QV_NOMEM, "out of memory for a payload");
        p->len = (uint32_t)len;
        memcpy(p->data, blob, len);
    }
    qv_status rc = txn_push(t, (undo){.kind = U_PAYLOAD, .slot = slot, .old = t->s->payloads[slot]});
    if (rc) {
        free(p);
        return rc;
    }
    t->s->payloads[slot] = p;
    return QV_OK;
}

static qv_status set_dense(txn *t, uint32_t v, uint32_t slot, const float *vals)
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
    qv_status rc = txn_push(t, (undo){.kind = U_DENSE, .slot = slot, .vec = v, .had = had, .old = saved});
    if (rc)
        return rc;
    if (vals)
        memcpy(dst, vals, bytes);
    bit_set(s->dense[v].has, slot, vals != NULL);
    return QV_OK;
}

static qv_status set_sparse(txn *t, uint32_t v, uint32_t slot, const op_vector *src)
{
    st_sparse_vec *sv = NULL;
    if (src) {
        sv = malloc(sizeof *sv + (size_t)src->n * 8);
        if (!sv)
            return qv_fail(t->err, QV_NOMEM, "out of memory for a sparse vector");
        sv->n = src->n;
        memcpy(sv->data, src->indices, (size_t)src->n * 4);
        memcpy(sv->data + src->n, src->values, (size_t)src->n * 4);
    }
    qv_status rc = txn_push(t, (undo){.kind = U_SPARSE, .slot = slot, .vec = v,
                                      .old = t->s->sparse[v][slot]});
    if (rc) {
        free(sv);
        return rc;
    }
    t->s->sparse[v][slot] = sv;
    return QV_OK;
}

static qv_status delete_slot(txn *t, uint32_t slot)
{
    qv_status rc = txn_push(t, (undo){.kind = U_DELETE, .slot = slot});
    if (rc)
        return rc;
    map_del(t->s, slot);
    bit_set(t->s->live, slot, false);
    t->s->n_points--;
    return QV_OK;
}

static qv_status insert_slot(txn *t, const qv_point_id *id, uint32_t *out)
{
    store *s = t->s;
    qv_status rc = map_reserve(s, s->n_points + 1, t->err);
    if (rc)
        return rc;
    uint32_t slot;
    if (s->n_free) {
        slot = s->free_slots[--s->n_free];
    } else {
        if ((rc = ensure_slot(s, t->err)) || (rc = ensure_chunk(s, s->n_slots, t->err)))
            return rc;
        slot = s->n_slots++;
    }
    uint32_t old_slot = 0;
    bool repoint = idt_find(&s->order, id, &old_slot);  /* deleted earlier in this batch */
    if (!repoint && (rc = idt_insert(&s->order, id, slot)) != QV_OK) {
        free_push(s, slot);
        return qv_fail(t->err, QV_NOMEM, "out of memory (id index)");
    }
    if ((rc = txn_push(t, (undo){.kind = U_INSERT, .slot = slot, .had = repoint, .vec = old_slot}))) {
        if (!repoint)
            idt_erase(&s->order, id);
        free_push(s, slot);
        return rc;
    }
    if (repoint)
        idt_update(&s->order, id, slot);
    s->ids[slot] = *id;
    s->payloads[slot] = NULL;
    for (uint32_t v = 0; v < s->n_dense; v++)
        bit_set(s->dense[v].has, slot, false);
    for (uint32_t v = 0; v < s->n_sparse; v++)
        s->sparse[v][slot] = NULL;
    bit_set(s->live, slot, true);
    map_put(s, slot);
    s->n_points++;
    *out = slot;
    return QV_OK;
}

/* Check a decoded vector against the store's shape (records may come from disk). */
static bool vector_fits(const store *s, const op_vector *v)
{
    if (v->sparse)
        return v->index < s->n_sparse;
    return v->index < s->n_dense && v->n == s->dense[v->index].dim;
}

static qv_status put_vectors(txn *t, uint32_t slot, const op_point *pt, bool replace_all)
{
    store *s = t->s;
    qv_status rc;
    for (uint16_t k = 0; k < pt->n_vectors; k++)
        if (!vector_fits(s, &pt->vectors[k]))
            return qv_fail(t->err, QV_CORRUPT, "operation does not fit the collection's vectors");
    if (replace_all) {
        /* An upsert replaces the point: vectors it does not give are gone. */
        for (uint32_t v = 0; v < s->n_dense; v++)
            if (store_has_dense(s, v, slot) && (rc = set_dense(t, v, slot, NULL)))
                return rc;
        for (uint32_t v = 0; v < s->n_sparse; v++)
            if (s->sparse[v][slot] && (rc = set_sparse(t, v, slot, NULL)))
                return rc;
    }
    for (uint16_t k = 0; k < pt->n_vectors; k++) {
        const op_vector *vec = &pt->vectors[k];
        rc = vec->sparse ? set_sparse(t, vec->index, slot, vec) : set_dense(t, vec->index, slot, vec->values);
        if (rc)
            return rc;
    }
    return QV_OK;
}

static bool filter_allows(const store *s, const cfg_collection *cfg, const flt_filter *f, uint32_t slot)
{
    if (!f)
        return true;
    flt_point fp;
    store_filter_point(s, cfg, slot, &fp);
    return flt_match(f, &fp);
}

static qv_status no_point(qv_error *err, const qv_point_id *id)
{
    char buf[PID_TEXT_MAX];
    pid_format(id, buf);
    return qv_fail(err, QV_NOT_FOUND, "No point with id %s found", buf);
}

/* The slots an operation's selector names. Ids must exist when required. */
static qv_status select_slots(txn *t, const cfg_collection *cfg, const op_selector *sel,
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
            if (store_live(s, i) && filter_allows(s, cfg, sel->filter, i))
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

static qv_status apply_points(txn *t, const cfg_collection *cfg, const op_item *o)
{
    store *s = t->s;
    qv_status rc;
    for (uint32_t i = 0; i < o->n_points; i++) {
        const op_point *pt = &o->points[i];
        int64_t found = store_find(s, &pt->id);
        if (o->kind == OP_UPDATE_VECTORS) {
            if (found < 0)
                return no_point(t->err, &pt->id);
            if (!filter_allows(s, cfg, o->update_filter, (uint32_t)found))
                continue;
            if ((rc = put_vectors(t, (uint32_t)found, pt, false)))
                return rc;
            continue;
        }
        uint32_t slot;
        if (found >= 0) {
            slot = (uint32_t)found;
            if (o->mode == OPM_INSERT_ONLY || !filter_allows(s, cfg, o->update_filter, slot))
                continue;
        } else if (o->mode == OPM_UPDATE_ONLY) {
            continue;
        } else if ((rc = insert_slot(t, &pt->id, &slot))) {
            return rc;
        }
        if ((rc = set_payload_blob(t, slot, pt->payload, pt->payload_len)) ||
            (rc = put_vectors(t, slot, pt, true)))
            return rc;
    }
    return QV_OK;
}

static qv_status apply_selected(txn *t, const cfg_collection *cfg, const op_item *o)
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
                rc = delete_slot(t, slot);
            break;
        case OP_SET_PAYLOAD:
            if (pl_set(blob, len, o->payload, o->payload_len, o->key ? o->paths : NULL, &out, t->err) != 0)
                rc = t->err->code;
            else
                rc = set_payload_blob(t, slot, (const uint8_t *)out.data, out.len);
            break;
        case OP_OVERWRITE_PAYLOAD:
            rc = set_payload_blob(t, slot, o->payload, o->payload_len);
            break;
        case OP_DELETE_PAYLOAD:
            if (pl_delete(blob, len, o->paths, o->n_keys, &out, t->err) != 0)
                rc = t->err->code;
            else
                rc = set_payload_blob(t, slot, (const uint8_t *)out.data, out.len);
            break;
        case OP_CLEAR_PAYLOAD:
            if (s->payloads[slot])
                rc = set_payload_blob(t, slot, NULL, 0);
            break;
        case OP_DELETE_VECTORS:
            for (uint16_t k = 0; k < o->n_names && rc == QV_OK; k++) {
                const op_vector *nm = &o->names[k];
                if (nm->sparse ? nm->index >= s->n_sparse : nm->index >= s->n_dense)
                    rc = qv_fail(t->err, QV_CORRUPT, "operation names a vector the collection lacks");
                else if (nm->sparse && s->sparse[nm->index][slot])
                    rc = set_sparse(t, nm->index, slot, NULL);
                else if (!nm->sparse && store_has_dense(s, nm->index, slot))
                    rc = set_dense(t, nm->index, slot, NULL);
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
    txn t = {.s = s, .a = scratch, .err = err};
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
        rc = o->kind == OP_UPSERT || o->kind == OP_UPDATE_VECTORS ? apply_points(&t, cfg, o)
                                                                    : apply_selected(&t, cfg, o);
    }
    if (rc)
        txn_rollback(&t);
    else
        txn_commit(&t);
    free(t.log);
    return rc;
}

/* ---- checkpoints -------------------------------------------------------------------------- */

#define SNAP_MAGIC "QVSNAP\0\0"
#define SNAP_END   "QVND"
#define SNAP_VERSION 2
#define SNAP_MAX_NAME 4096  /* a longer column name in a checkpoint is damage */
#define IO_BUF     (1u << 20)

typedef struct bio {
    int      fd;
    uint8_t *buf;
    size_t   len, pos;  /* writer: len used; reader: len filled, pos read */
    uint32_t crc;
    bool     failed;
    uint64_t left;      /* reader: bytes of the file not yet taken by bio_get */
} bio;

static void bio_flush(bio *b)
{
    size_t off = 0;
    while (!b->failed && off < b->len) {
        ssize_t n = write(b->fd, b->buf + off, b->len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            b->failed = true;
        else
            off += (size_t)n;
    }
    b->len = 0;
}

static void bio_put(bio *b, const void *p, size_t n)
{
    b->crc = qv_crc32c(b->crc, p, n);
    const uint8_t *src = p;
    while (n) {
        if (b->len == IO_BUF)
            bio_flush(b);
        size_t k = IO_BUF - b->len < n ? IO_BUF - b->len : n;
        memcpy(b->buf + b->len, src, k);
        b->len += k;
        src += k;
        n -= k;
    }
}

static void bio_u8(bio *b, uint8_t v) { bio_put(b, &v, 1); }
static void bio_u32(bio *b, uint32_t v) { uint8_t x[4]; qv_put_le32(x, v); bio_put(b, x, 4); }
static void bio_u64(bio *b, uint64_t v) { uint8_t x[8]; qv_put_le64(x, v); bio_put(b, x, 8); }
/* Vectors and sparse indices are written as whole arrays: that is their
 * little-endian form only on a little-endian host. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "store.c copies float and u32 arrays as they are in memory");

qv_status store_save(const store *s, const char *dir, const char *name, uint64_t seq, qv_error *err)
{
    char tmp[PATH_MAX], path[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s/%s.tmp", dir, name) >= (int)sizeof tmp ||
        snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return qv_fail(err, QV_IO, "checkpoint path too long in %s", dir);
    bio b = {.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), .buf = malloc(IO_BUF)};
    if (b.fd < 0 || !b.buf) {
        int e = errno;
        if (b.fd >= 0)
            close(b.fd);
        free(b.buf);
        return qv_fail(err, b.buf ? QV_IO : QV_NOMEM, "cannot write checkpoint %s: %s", tmp, strerror(e));
    }
    bio_put(&b, SNAP_MAGIC, 8);
    bio_u32(&b, SNAP_VERSION);
    bio_u32(&b, s->n_dense);
    bio_u32(&b, s->n_sparse);
    bio_u32(&b, 0);
    bio_u64(&b, seq);
    bio_u64(&b, s->n_points);
    /* Columns by name, so that a load can map them onto another vector
     * list (a vector added or removed since). */
    for (uint32_t v = 0; v < s->n_dense; v++) {
        uint32_t nl = (uint32_t)strlen(s->dense[v].name);
        bio_u32(&b, s->dense[v].dim);
        bio_u32(&b, nl);
        bio_put(&b, s->dense[v].name, nl);
    }
    for (uint32_t v = 0; v < s->n_sparse; v++) {
        uint32_t nl = (uint32_t)strlen(s->sparse_names[v]);
        bio_u32(&b, nl);
        bio_put(&b, s->sparse_names[v], nl);
    }
    for (uint32_t slot = 0; slot < s->n_slots && !b.failed; slot++) {
        if (!store_live(s, slot))
            continue;
        const qv_point_id *id = &s->ids[slot];
        bio_u8(&b, id->uuid);
        bio_u64(&b, id->hi);
        bio_u64(&b, id->lo);
        const uint8_t *blob;
        size_t len;
        store_payload(s, slot, &blob, &len);
        bio_u32(&b, (uint32_t)len);
        bio_put(&b, blob, len);
        for (uint32_t v = 0; v < s->n_dense; v++) {
            bool has = store_has_dense(s, v, slot);
            bio_u8(&b, has);
            if (has)
                bio_put(&b, store_dense(s, v, slot), (size_t)s->dense[v].dim * 4);
        }
        for (uint32_t v = 0; v < s->n_sparse; v++) {
            const st_sparse_vec *sv = s->sparse[v][slot];
            bio_u32(&b, sv ? sv->n : UINT32_MAX);
            if (sv)
                bio_put(&b, sv->data, (size_t)sv->n * 8);
        }
    }
    uint32_t crc = b.crc;
    bio_u32(&b, crc);
    bio_put(&b, SNAP_END, 4);
    bio_flush(&b);
    int e = errno;
    bool ok = !b.failed && fsync(b.fd) == 0;
    if (!b.failed && !ok)
        e = errno;
    close(b.fd);
    free(b.buf);
    if (!ok || rename(tmp, path) != 0 || qv_fsync_dir(dir) != 0) {
        if (ok)
            e = errno;
        unlink(tmp);
        return qv_fail(err, QV_IO, "cannot write checkpoint %s: %s", path, strerror(e));
    }
    return QV_OK;
}

/* Reader: fills the buffer as needed; a short file marks failure. */
static bool bio_get(bio *b, void *dst, size_t n)
{
    uint8_t *out = dst;
    size_t want = n;
    while (n && !b->failed) {
        if (b->pos == b->len) {
            ssize_t r = read(b->fd, b->buf, IO_BUF);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0) {
                b->failed = true;
                break;
            }
            b->len = (size_t)r;
            b->pos = 0;
        }
        size_t k = b->len - b->pos < n ? b->len - b->pos : n;
        memcpy(out, b->buf + b->pos, k);
        b->pos += k;
        out += k;
        n -= k;
    }
    if (!b->failed) {
        b->crc = qv_crc32c(b->crc, dst, want);
        b->left -= want < b->left ? want : b->left;
    }
    return !b->failed;
}

/* Whether the rest of the file can hold n more bytes: checked before
 * allocating for a length read from the file, so damage cannot make the
 * load allocate more than the file's size. */
static bool bio_get_u32(bio *b, uint32_t *v)
{
    uint8_t x[4];
    if (!bio_get(b, x, 4))
        return false;
    *v = qv_get_le32(x);
    return true;
}

static bool bio_get_u64(bio *b, uint64_t *v)
{
    uint8_t x[8];
    if (!bio_get(b, x, 8))
        return false;
    *v = qv_get_le64(x);
    return true;
}

static bool bio_has(const bio *b, uint64_t n) { return n <= b->left; }

/* Skip n bytes of a checkpoint (a column the store does not have). */
static bool bio_skip(bio *b, size_t n)
{
    uint8_t tmp[256];
    while (n) {
        size_t k = n < sizeof tmp ? n : sizeof tmp;
        if (!bio_get(b, tmp, k))
            return false;
        n -= k;
    }
    return true;
}

/* Read the column list of a version 2 header and map each file column onto
 * the store's column of that name (-1: not in the store). */
static qv_status load_columns(const store *s, bio *b, uint32_t n_dense, uint32_t n_sparse,
                              uint32_t *dims, int32_t *dmap, int32_t *smap, const char *path,
                              qv_error *err)
{
    char name[SNAP_MAX_NAME + 1];
    for (uint32_t v = 0; v < n_dense + n_sparse; v++) {
        bool sparse = v >= n_dense;
        uint32_t dim = 0, nl;
        if ((!sparse && !bio_get_u32(b, &dim)) || !bio_get_u32(b, &nl) || nl > SNAP_MAX_NAME ||
            !bio_get(b, name, nl) || (!sparse && (dim == 0 || dim > CFG_MAX_DIM)))
            return qv_fail(err, QV_CORRUPT, "%s: damaged vector list", path);
        name[nl] = '\0';
        int32_t dense_at = -1, sparse_at = -1;
        for (uint32_t i = 0; i < s->n_dense; i++)
            if (strcmp(s->dense[i].name, name) == 0)
                dense_at = (int32_t)i;
        for (uint32_t i = 0; i < s->n_sparse; i++)
            if (strcmp(s->sparse_names[i], name) == 0)
                sparse_at = (int32_t)i;
        if (sparse ? dense_at >= 0 : sparse_at >= 0)
            return qv_fail(err, QV_CORRUPT, "%s: vector `%.200s` is %s here but %s in the config", path,
                           name, sparse ? "sparse" : "dense", sparse ? "dense" : "sparse");
        if (!sparse && dense_at >= 0 && s->dense[dense_at].dim != dim)
            return qv_fail(err, QV_CORRUPT, "%s: vector `%.200s` has dimension %u here but %u in the config",
                           path, name, dim, s->dense[dense_at].dim);
        if (sparse) {
            smap[v - n_dense] = sparse_at;
        } else {
            dims[v] = dim;
            dmap[v] = dense_at;
        }
    }
    /* Two file columns of one name would both fill it. */
    for (uint32_t i = 0; i < n_dense; i++)
        for (uint32_t j = 0; j < i; j++)
            if (dmap[i] >= 0 && dmap[i] == dmap[j])
                return qv_fail(err, QV_CORRUPT, "%s: a vector name appears twice", path);
    for (uint32_t i = 0; i < n_sparse; i++)
        for (uint32_t j = 0; j < i; j++)
            if (smap[i] >= 0 && smap[i] == smap[j])
                return qv_fail(err, QV_CORRUPT, "%s: a vector name appears twice", path);
    return QV_OK;
}

qv_status store_load(store *s, const cfg_collection *cfg, const char *path, uint64_t *seq,
                     qv_error *err)
{
    (void)cfg;
    bio b = {.fd = open(path, O_RDONLY | O_CLOEXEC), .buf = malloc(IO_BUF)};
    if (b.fd < 0) {
        free(b.buf);
        return errno == ENOENT ? QV_NOT_FOUND
                               : qv_fail(err, QV_IO, "cannot open %s: %s", path, strerror(errno));
    }
    qv_status rc = QV_OK;
    qv_arena a;
    qv_arena_init(&a, 1 << 16);
    uint8_t *blob = NULL;
    uint32_t blob_cap = 0;
    uint32_t *dims = NULL;
    int32_t *dmap = NULL, *smap = NULL;
    txn t = {.s = s, .a = &a, .err = err};
    struct stat st;
    if (fstat(b.fd, &st) != 0) {
        rc = qv_fail(err, QV_IO, "cannot stat %s: %s", path, strerror(errno));
        goto done;
    }
    b.left = (uint64_t)st.st_size;
    if (!b.buf) {
        rc = qv_fail(err, QV_NOMEM, "out of memory");
        goto done;
    }
    char magic[8];
    uint32_t version, n_dense, n_sparse, reserved;
    uint64_t n_points;
    if (!bio_get(&b, magic, 8) || memcmp(magic, SNAP_MAGIC, 8) != 0 || !bio_get_u32(&b, &version) ||
        (version != 1 && version != SNAP_VERSION) || !bio_get_u32(&b, &n_dense) ||
        !bio_get_u32(&b, &n_sparse) || !bio_get_u32(&b, &reserved) || !bio_get_u64(&b, seq) ||
        !bio_get_u64(&b, &n_points) || n_points > UINT32_MAX || n_dense > CFG_MAX_NAMED_VECTORS ||
        n_sparse > CFG_MAX_NAMED_VECTORS ||
        (version == 1 && (n_dense != s->n_dense || n_sparse != s->n_sparse))) {
        rc = qv_fail(err, QV_CORRUPT, "%s: bad header or vectors differ from the config", path);
        goto done;
    }
    dims = calloc(n_dense + 1, sizeof *dims);
    dmap = calloc(n_dense + 1, sizeof *dmap);
    smap = calloc(n_sparse + 1, sizeof *smap);
    if (!dims || !dmap || !smap) {
        rc = qv_fail(err, QV_NOMEM, "out of memory");
        goto done;
    }
    if (version == 1) {  /* no names: columns in config order, exactly */
        for (uint32_t v = 0; v < n_dense; v++) {
            if (!bio_get_u32(&b, &dims[v]) || dims[v] != s->dense[v].dim) {
                rc = qv_fail(err, QV_CORRUPT, "%s: vector dimensions differ from the config", path);
                goto done;
            }
            dmap[v] = (int32_t)v;
        }
        for (uint32_t v = 0; v < n_sparse; v++)
            smap[v] = (int32_t)v;
    } else if ((rc = load_columns(s, &b, n_dense, n_sparse, dims, dmap, smap, path, err))) {
        goto done;
    }
    /* Points go through the same mutation path as writes, one txn each. */
    for (uint64_t i = 0; i < n_points && rc == QV_OK; i++) {
        qv_point_id id;
        uint32_t len;
        qv_arena_reset(&a);
        if (!bio_get(&b, &id.uuid, 1) || !bio_get_u64(&b, &id.hi) || !bio_get_u64(&b, &id.lo) ||
            !pid_valid(&id) || !bio_get_u32(&b, &len) || len > (1u << 30))
            goto truncated;
        if (!bio_has(&b, len)) {
            rc = qv_fail(err, QV_CORRUPT,
                         "%s: point %llu claims a payload of %u bytes, more than the file holds", path,
                         (unsigned long long)i, len);
            break;
        }
        if (len > blob_cap) {
            uint8_t *p = realloc(blob, len);
            if (!p) {
                rc = qv_fail(err, QV_NOMEM, "out of memory");
                break;
            }
            blob = p;
            blob_cap = len;
        }
        if (!bio_get(&b, blob, len) || !pl_validate(blob, len) || store_find(s, &id) >= 0)
            goto truncated;
        uint32_t slot;
        if ((rc = insert_slot(&t, &id, &slot)) || (rc = set_payload_blob(&t, slot, blob, len)))
            break;
        for (uint32_t v = 0; v < n_dense; v++) {
            uint8_t has;
            if (!bio_get(&b, &has, 1))
                goto truncated;
            if (!has)
                continue;
            size_t bytes = (size_t)dims[v] * 4;
            if (dmap[v] < 0) {
                if (!bio_skip(&b, bytes))
                    goto truncated;
                continue;
            }
            uint32_t to = (uint32_t)dmap[v];
            if (!bio_get(&b, (float *)store_dense(s, to, slot), bytes))
                goto truncated;
            bit_set(s->dense[to].has, slot, true);
        }
        for (uint32_t v = 0; v < n_sparse; v++) {
            uint32_t nnz;
            if (!bio_get_u32(&b, &nnz))
                goto truncated;
            if (nnz == UINT32_MAX)
                continue;
            if (nnz > OPS_MAX_SPARSE_NNZ)
                goto truncated;
            if (!bio_has(&b, (uint64_t)nnz * 8)) {
                rc = qv_fail(err, QV_CORRUPT,
                             "%s: point %llu claims a sparse vector of %u values, more than the file holds",
                             path, (unsigned long long)i, nnz);
                break;
            }
            if (smap[v] < 0) {
                if (!bio_skip(&b, (size_t)nnz * 8))
                    goto truncated;
                continue;
            }
            st_sparse_vec *sv = malloc(sizeof *sv + (size_t)nnz * 8);
            if (!sv) {
                rc = qv_fail(err, QV_NOMEM, "out of memory");
                break;
            }
            sv->n = nnz;
            s->sparse[smap[v]][slot] = sv;
            if (!bio_get(&b, sv->data, (size_t)nnz * 8))
                goto truncated;
        }
        txn_commit(&t);
        continue;
    truncated:
        rc = qv_fail(err, QV_CORRUPT, "%s: truncated or damaged at point %llu", path,
                     (unsigned long long)i);
    }
    if (rc == QV_OK) {
        uint32_t want = b.crc, crc;
        char end[4];
        if (!bio_get_u32(&b, &crc) || crc != want || !bio_get(&b, end, 4) || memcmp(end, SNAP_END, 4) != 0)
            rc = qv_fail(err, QV_CORRUPT, "%s: checksum mismatch", path);
    }
done:
    free(t.log);
    free(dims);
    free(dmap);
    free(smap);
    free(blob);
    free(b.buf);
    if (b.fd >= 0)
        close(b.fd);
    qv_arena_free(&a);
    return rc;
}
