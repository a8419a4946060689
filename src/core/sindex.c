/* sindex.c — sparse inverted indexes kept in step with commits (sindex.h). */
#include "core/sindex.h"

#include <stdlib.h>
#include <string.h>

#include "util/log.h"

static sparse_vec vec_of(const st_sparse_vec *sv)
{
    return sv ? (sparse_vec){sv->n, sv->data, (const float *)(sv->data + sv->n)} : (sparse_vec){0};
}

/* Column v's vector of slot after the batch (none once deleted). */
static const st_sparse_vec *now(const store *s, uint32_t v, uint32_t slot)
{
    return store_live(s, slot) ? s->sparse[v][slot] : NULL;
}

static sparse_vec one(void *ctx, size_t i) { return *(const sparse_vec *)ctx; }

/* A new index of column v filled from every point; NULL without memory.
 * Slots come in increasing order, so every posting is an append. */
static sparse_index *build(const store *s, uint32_t v)
{
    sparse_index *x;
    if (sparse_new(&x, NULL))
        return NULL;
    for (uint32_t slot = 0; slot < s->n_slots; slot++) {
        sparse_vec sv = vec_of(now(s, v, slot));
        if (!sv.n)
            continue;
        if (sparse_reserve(x, 1, one, &sv, NULL)) {
            sparse_free(x);
            return NULL;
        }
        sparse_insert(x, slot, sv);
    }
    return x;
}

static void make_col(sx_col *c, const store *s, uint32_t v, const char *coll)
{
    c->name = strdup(s->sparse_names[v]);
    c->x = c->name ? build(s, v) : NULL;
    if (!c->x)
        QV_WARN("collection %s: out of memory for the index of sparse vector \"%s\" (search scans)", coll,
                s->sparse_names[v]);
}

static void col_free(sx_col *c)
{
    sparse_free(c->x);
    free(c->name);
}

/* ---- the commit listener ---------------------------------------------------------- */

static bool l_active(void *ctx, const store *s) { return ((sx_index *)ctx)->n_cols > 0; }

typedef struct news {
    const store     *s;
    uint32_t         v;
    const st_change *ch;
} news;

/* The i-th change's new vector of column v, when it differs from the old. */
static sparse_vec new_vec(void *ctx, size_t i)
{
    const news *w = ctx;
    const st_change *c = &w->ch[i];
    const st_sparse_vec *after = now(w->s, w->v, c->slot);
    return c->old_sparse && after == c->old_sparse[w->v] ? (sparse_vec){0} : vec_of(after);
}

static qv_status l_reserve(void *ctx, const store *s, const st_change *ch, size_t n, qv_error *err)
{
    sx_index *x = ctx;
    for (uint32_t v = 0; v < x->n_cols; v++) {
        if (!x->cols[v].x)
            continue;
        news w = {s, v, ch};
        qv_status rc = sparse_reserve(x->cols[v].x, n, new_vec, &w, err);
        if (rc)
            return rc;
    }
    return QV_OK;
}

static void l_commit(void *ctx, const store *s, const st_change *ch, size_t n)
{
    sx_index *x = ctx;
    for (uint32_t v = 0; v < x->n_cols; v++) {
        sparse_index *ix = x->cols[v].x;
        if (!ix)
            continue;
        for (size_t i = 0; i < n; i++) {
            const st_sparse_vec *before = ch[i].old_sparse ? ch[i].old_sparse[v] : NULL;
            const st_sparse_vec *after = now(s, v, ch[i].slot);
            if (before == after)
                continue;
            if (before)
                sparse_remove(ix, ch[i].slot, vec_of(before));
            if (after)
                sparse_insert(ix, ch[i].slot, vec_of(after));
        }
    }
}

/* ---- life --------------------------------------------------------------------------- */

qv_status sx_init(sx_index *x, store *s, const char *coll, qv_error *err)
{
    memset(x, 0, sizeof *x);
    x->s = s;
    if (s->n_sparse && !(x->cols = calloc(s->n_sparse, sizeof *x->cols)))
        QV_WARN("collection %s: out of memory for the sparse indexes (search scans)", coll);
    else
        x->n_cols = s->n_sparse;
    for (uint32_t v = 0; v < x->n_cols; v++)
        make_col(&x->cols[v], s, v, coll);
    st_listener l = {.ctx = x, .active = l_active, .reserve = l_reserve, .on_commit = l_commit};
    return store_listen(s, &l, err);
}

void sx_free(sx_index *x)
{
    for (uint32_t v = 0; v < x->n_cols; v++)
        col_free(&x->cols[v]);
    free(x->cols);
    memset(x, 0, sizeof *x);
}

void sx_reset(sx_index *x, const char *coll)
{
    const store *s = x->s;
    sx_col *cols = s->n_sparse ? calloc(s->n_sparse, sizeof *cols) : NULL;
    if (s->n_sparse && !cols) {
        QV_WARN("collection %s: out of memory for the sparse indexes (search scans)", coll);
        sx_free(x);
        x->s = (store *)s;
        return;
    }
    for (uint32_t v = 0; v < s->n_sparse; v++) {
        for (uint32_t o = 0; o < x->n_cols && !cols[v].name; o++)
            if (x->cols[o].name && strcmp(x->cols[o].name, s->sparse_names[v]) == 0) {
                cols[v] = x->cols[o];  /* the column stays: so does its index */
                x->cols[o] = (sx_col){0};
            }
        if (!cols[v].name)
            make_col(&cols[v], s, v, coll);
    }
    sx_free(x);  /* the columns that went */
    x->s = (store *)s;
    x->cols = cols;
    x->n_cols = s->n_sparse;
}

uint64_t sx_indexed_count(const sx_index *x)
{
    uint64_t n = 0;
    for (uint32_t v = 0; v < x->n_cols; v++)
        if (x->cols[v].x)
            n += sparse_count(x->cols[v].x);
    return n;
}
