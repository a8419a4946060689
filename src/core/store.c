/*
 * store.c — slots, the id map, the payload and filter views of a slot, and
 * changes of the vector columns. See store.h; the undo log, apply and
 * checkpoints live in st_txn.c, st_apply.c and st_checkpoint.c
 * (store_int.h).
 */
#define _GNU_SOURCE
#include "core/store_int.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "payload/pl.h"
#include "vector/sparse.h"

/* ---- slots and the id map ------------------------------------------------------ */

static _Atomic uint64_t gen_counter;

uint64_t store_gen_next(void) { return atomic_fetch_add(&gen_counter, 1) + 1; }

qv_status store_init(store *s, const cfg_collection *cfg, qv_error *err)
{
    memset(s, 0, sizeof *s);
    s->gen = store_gen_next();
    s->n_dense = cfg->n_vectors;
    s->n_sparse = cfg->n_sparse;
    s->map_cap = 64;
    s->map = calloc(s->map_cap, sizeof *s->map);
    if (idt_init(&s->order) != QV_OK) {
        free(s->map);
        return qv_fail(err, QV_NOMEM, "out of memory");
    }
    s->next_file = 1;
    s->vacuum_ratio = cfg->optimizers.deleted_threshold;
    s->vacuum_min = cfg->optimizers.vacuum_min_vector_number;
    s->dense = calloc(s->n_dense ? s->n_dense : 1, sizeof *s->dense);
    s->sparse = calloc(s->n_sparse ? s->n_sparse : 1, sizeof *s->sparse);
    s->sparse_names = calloc(s->n_sparse ? s->n_sparse : 1, sizeof *s->sparse_names);
    bool ok = s->map && s->dense && s->sparse && s->sparse_names;
    for (uint32_t i = 0; ok && i < s->n_dense; i++) {
        s->dense[i].dim = cfg->vectors[i].size;
        s->dense[i].on_disk = cfg->vectors[i].on_disk;
        ok = (s->dense[i].name = strdup(cfg->vectors[i].name)) != NULL;
    }
    for (uint32_t i = 0; ok && i < s->n_sparse; i++)
        ok = (s->sparse_names[i] = strdup(cfg->sparse[i].name)) != NULL;
    st_listener fl;
    st_fidx_listener(s, &fl);
    ok = ok && store_listen(s, &fl, err) == QV_OK;
    if (!ok) {
        store_free(s);
        return qv_fail(err, QV_NOMEM, "out of memory");
    }
    return QV_OK;
}

/* Free one column's data (n_chunks chunks / n_slots vectors). */
void st_dense_col_free(vec_dense *d, uint32_t n_chunks)
{
    for (uint32_t c = 0; d->chunks && c < n_chunks; c++)
        vec_chunk_free(d->chunks[c], d->dim, d->on_disk);
    free(d->chunks);
    free(d->has);
    free(d->name);
    free(d->dirty);
    free(d->saved_at);
    free(d->saved_crc);
    for (uint32_t i = 0; i < d->n_spare; i++)
        vec_chunk_free(d->spare[i], d->dim, true);
    free(d->spare);
}

void st_sparse_col_free(st_sparse_vec **col, char *name, uint32_t n_slots)
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
        st_dense_col_free(&s->dense[v], s->n_chunks);
    for (uint32_t v = 0; s->sparse && v < s->n_sparse; v++)
        st_sparse_col_free(s->sparse[v], s->sparse_names ? s->sparse_names[v] : NULL, s->n_slots);
    free(s->dense);
    free(s->sparse);
    free(s->sparse_names);
    free(s->ids);
    free(s->versions);
    free(s->payloads);
    free(s->live);
    free(s->free_slots);
    free(s->map);
    free(s->blk_dirty);
    free(s->blk_saved);
    qv_buf_free(&s->ck_img);
    idt_free(&s->order);
    for (uint32_t i = 0; i < s->n_idx; i++)
        fidx_free(s->idx[i]);
    free(s->idx);
    free(s->listeners);
    memset(s, 0, sizeof *s);
}

size_t store_memory(const store *s)
{
    size_t m = (size_t)s->cap_slots * (sizeof *s->ids + sizeof *s->versions + sizeof *s->payloads) +
               qv_bits_words(s->cap_slots) * 8 + (size_t)s->map_cap * 4 + (size_t)s->cap_free * 4 +
               idt_memory(&s->order);
    for (uint32_t i = 0; i < s->n_idx; i++)
        m += fidx_memory(s->idx[i]);
    for (uint32_t i = 0; i < s->n_slots; i++)
        if (s->payloads[i])
            m += sizeof(st_payload) + s->payloads[i]->len;
    for (uint32_t v = 0; v < s->n_dense; v++)
        m += (size_t)s->n_chunks * VEC_CHUNK * s->dense[v].dim * 4 + qv_bits_words(s->cap_slots) * 8;
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

void st_map_put(store *s, uint32_t slot)
{
    uint32_t mask = s->map_cap - 1;
    uint32_t b = (uint32_t)pid_hash(&s->ids[slot]) & mask;
    while (s->map[b])
        b = (b + 1) & mask;
    s->map[b] = slot + 1;
}

/* Keep the load factor <= 1/2 so that probes stay short. */
qv_status st_map_reserve(store *s, uint64_t count, qv_error *err)
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
            st_map_put(s, old[b] - 1);
    free(old);
    return QV_OK;
}

/* Remove slot's id, shifting later entries of the probe run back (no
 * tombstones, so lookups never degrade). */
void st_map_del(store *s, uint32_t slot)
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

static void *grow(void *p, size_t n, size_t size, size_t old_n)
{
    void *q = realloc(p, n * size);
    if (q && n > old_n)
        memset((char *)q + old_n * size, 0, (n - old_n) * size);
    return q;
}

/* Room for one more slot (arrays double; dense vectors grow by a chunk). */
qv_status st_ensure_slot(store *s, qv_error *err)
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
    GROW(versions, s->cap_slots)
    GROW(payloads, s->cap_slots)
    if (!(p = grow(s->live, qv_bits_words(cap), 8, qv_bits_words(s->cap_slots))))
        goto oom;
    s->live = p;
    if (!(p = grow(s->blk_dirty, cap / VEC_CHUNK, 1, s->cap_slots / VEC_CHUNK)))
        goto oom;
    s->blk_dirty = p;
    for (uint32_t v = 0; v < s->n_dense; v++) {
        if (!(p = grow(s->dense[v].has, qv_bits_words(cap), 8, qv_bits_words(s->cap_slots))))
            goto oom;
        s->dense[v].has = p;
        if (!(p = grow(s->dense[v].chunks, cap / VEC_CHUNK, sizeof(float *), s->n_chunks)))
            goto oom;
        s->dense[v].chunks = p;
        if (!(p = grow(s->dense[v].dirty, cap / VEC_CHUNK, 1, s->n_chunks)))
            goto oom;
        s->dense[v].dirty = p;
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
qv_status st_ensure_chunk(store *s, uint32_t slot, qv_error *err)
{
    uint32_t c = slot / VEC_CHUNK;
    if (c < s->n_chunks)
        return QV_OK;
    for (uint32_t v = 0; v < s->n_dense; v++) {
        float *chunk = vec_chunk_alloc(s->dense[v].dim, s->dense[v].on_disk);
        if (!chunk) {
            for (uint32_t u = 0; u < v; u++) {
                vec_chunk_free(s->dense[u].chunks[c], s->dense[u].dim, s->dense[u].on_disk);
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
            const fidx_params *fp = fidx_get_params(x);
            *out = (flt_tokenizer){text_tokenize, fp, fp->phrase_matching};
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

bool store_matches(const store *s, const cfg_collection *cfg, const flt_filter *f, uint32_t slot)
{
    if (!f)
        return true;
    flt_point fp;
    store_filter_point(s, cfg, slot, &fp);
    return flt_match(f, &fp);
}

/* ---- changing the vector columns ---------------------------------------------------- */

void store_layout_discard(store_layout *l)
{
    if (l->added >= 0 && l->add_sparse)
        st_sparse_col_free(l->sparse[l->added], l->sparse_names[l->added], 0);
    else if (l->added >= 0)
        st_dense_col_free(&l->dense[l->added], l->added_chunks);
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

qv_status store_layout_add(const store *s, bool sparse, const char *name, uint32_t dim, bool on_disk,
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
        d->on_disk = on_disk;
        d->name = strdup(name);
        /* As ensure_slot and ensure_chunk would have made them. */
        d->has = calloc(qv_bits_words(s->cap_slots) ? qv_bits_words(s->cap_slots) : 1, 8);
        d->chunks = calloc(s->cap_slots / VEC_CHUNK + 1, sizeof *d->chunks);
        d->dirty = calloc(s->cap_slots / VEC_CHUNK + 1, 1);
        ok = d->name && d->has && d->chunks && d->dirty;
        l->added_chunks = ok ? s->n_chunks : 0;
        for (uint32_t c = 0; ok && c < s->n_chunks; c++)
            ok = (d->chunks[c] = vec_chunk_alloc(dim, on_disk)) != NULL;
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
    /* A checkpoint between prepare and commit (collection.h) rewrote the
     * columns' saved-chunk records and spare buffers: the kept columns are
     * taken as they are now. */
    for (uint32_t i = 0; i < l->n_dense; i++) {
        if (!l->add_sparse && (int)i == l->added)
            continue;
        uint32_t from = l->removed_dense >= 0 && (int)i >= l->removed_dense ? i + 1 : i;
        l->dense[i] = s->dense[from];
    }
    if (l->removed_dense >= 0)
        st_dense_col_free(&s->dense[l->removed_dense], s->n_chunks);
    if (l->removed_sparse >= 0)
        st_sparse_col_free(s->sparse[l->removed_sparse], s->sparse_names[l->removed_sparse], s->n_slots);
    free(s->dense);
    free(s->sparse);
    free(s->sparse_names);
    s->dense = l->dense;
    s->sparse = l->sparse;
    s->sparse_names = l->sparse_names;
    s->n_dense = l->n_dense;
    s->n_sparse = l->n_sparse;
    s->gen = store_gen_next();  /* has_vector may answer otherwise now */
    s->blk_file = 0;  /* the points' records change shape: the next checkpoint writes every
                       * block, into a new block file */
    memset(l, 0, sizeof *l);
    l->added = l->removed_dense = l->removed_sparse = -1;
}

void st_sparse_sort(st_sparse_vec *sv)
{
    if (sparse_sorted(sv->data, sv->n))
        return;
    uint32_t *tmp = malloc((size_t)sv->n * 8);
    if (tmp)
        sparse_sort(sv->data, (float *)(sv->data + sv->n), sv->n, tmp);
    free(tmp);
}
