/* vindex.c — HNSW indexes kept in step by a background indexer (vindex.h). */
#include "core/vindex.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/collection.h"
#include "util/bitset.h"
#include "util/log.h"

static void col_free(vx_col *col)
{
    hnsw_free(col->g);
    free((void *)col->pending);
    pthread_rwlock_destroy(&col->glock);
}

/* Columns for the store's dense vectors, every slot pending (what the
 * graphs do not hold yet). False when out of memory (then no columns:
 * search stays exact). */
static bool cols_make(vx_index *x)
{
    const store *s = &x->c->st;
    x->n_cols = 0;
    x->cols = s->n_dense ? calloc(s->n_dense, sizeof *x->cols) : NULL;
    if (s->n_dense && !x->cols)
        return false;
    size_t w = qv_bits_words(s->cap_slots);
    for (uint32_t v = 0; v < s->n_dense; v++) {
        vx_col *col = &x->cols[v];
        col->pending = calloc(w ? w : 1, sizeof *col->pending);
        if (!col->pending) {
            for (uint32_t u = 0; u < v; u++)
                col_free(&x->cols[u]);
            free(x->cols);
            x->cols = NULL;
            return false;
        }
        pthread_rwlock_init(&col->glock, NULL);
        col->words = (uint32_t)w;
        uint64_t n = 0;
        for (size_t i = 0; i < w; i++) {
            uint64_t bits = s->live[i] & s->dense[v].has[i];
            atomic_init(&col->pending[i], bits);
            n += (uint64_t)__builtin_popcountll(bits);
        }
        atomic_init(&col->n_pending, n);
    }
    x->n_cols = s->n_dense;
    return true;
}

static void cols_free(vx_index *x)
{
    for (uint32_t v = 0; v < x->n_cols; v++)
        col_free(&x->cols[v]);
    free(x->cols);
    x->cols = NULL;
    x->n_cols = 0;
}

static void wake(vx_index *x)
{
    pthread_mutex_lock(&x->m);
    x->work = true;
    pthread_cond_signal(&x->cv);
    pthread_mutex_unlock(&x->m);
}

/* ---- the commit listener ---------------------------------------------------------- */

static bool l_active(void *ctx, const store *s) { return ((vx_index *)ctx)->n_cols > 0; }

/* Room for a bit per slot of the store's capacity (write lock: nobody reads). */
static qv_status l_reserve(void *ctx, const store *s, const st_change *ch, size_t n, qv_error *err)
{
    vx_index *x = ctx;
    size_t w = qv_bits_words(s->cap_slots);
    for (uint32_t v = 0; v < x->n_cols; v++) {
        vx_col *col = &x->cols[v];
        if (w <= col->words)
            continue;
        _Atomic uint64_t *p = realloc((void *)col->pending, w * sizeof *p);
        if (!p)
            return qv_fail(err, QV_NOMEM, "out of memory");
        for (size_t i = col->words; i < w; i++)
            atomic_init(&p[i], 0);
        col->pending = p;
        col->words = (uint32_t)w;
    }
    return QV_OK;
}

static void l_commit(void *ctx, const store *s, const st_change *ch, size_t n)
{
    vx_index *x = ctx;
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        if (!(ch[i].what & (ST_CH_INSERTED | ST_CH_DELETED | ST_CH_VECTORS)))
            continue;
        uint32_t slot = ch[i].slot;
        for (uint32_t v = 0; v < x->n_cols; v++) {
            vx_col *col = &x->cols[v];
            uint64_t bit = 1ull << (slot & 63);
            uint64_t old = atomic_fetch_or(&col->pending[slot >> 6], bit);
            if (!(old & bit))
                atomic_fetch_add(&col->n_pending, 1);
        }
        any = true;
    }
    if (any && x->running)
        wake(x);
}

/* ---- the indexer -------------------------------------------------------------------- */

/* Whether column v holds enough vectors to be worth a graph. */
static bool wants_graph(const qv_collection *c, uint32_t v, hnsw_params *p)
{
    const cfg_collection *cfg = &c->schema;
    const cfg_vector *cv = &cfg->vectors[v];
    uint64_t kb = cfg->optimizers.indexing_threshold;
    p->m = (uint32_t)(cv->hnsw.set & 1 ? cv->hnsw.m : cfg->hnsw.m);
    p->ef_construct = (uint32_t)(cv->hnsw.set & 2 ? cv->hnsw.ef_construct : cfg->hnsw.ef_construct);
    p->metric = (dist_metric)cv->distance;
    p->dim = cv->size;
    p->seed = 0x51a7e5eedull;
    if (kb == 0 || p->m < 2 || p->m > HNSW_MAX_M)  /* 0 = never index; m = 0: no graph */
        return false;
    const store *s = &c->st;
    uint64_t have = 0;
    for (size_t i = 0; i < qv_bits_words(s->n_slots); i++)
        have += (uint64_t)__builtin_popcountll(s->live[i] & s->dense[v].has[i]);
    return have * cv->size * 4 >= kb * 1024;
}

typedef struct round {
    vx_col         *col;
    const vec_dense *d;
    const store    *s;
    uint32_t       *slots;
    uint32_t        n;
    atomic_uint     next;
    atomic_bool     nomem;
} round;

static void *round_work(void *arg)
{
    round *r = arg;
    qv_error err;
    for (;;) {
        uint32_t i = atomic_fetch_add(&r->next, 1);
        if (i >= r->n || atomic_load(&r->nomem))
            break;
        uint32_t slot = r->slots[i];
        qv_status rc = QV_OK;
        if (store_live(r->s, slot) && vec_dense_has(r->d, slot))
            rc = hnsw_insert(r->col->g, r->d, slot, &err);
        else
            hnsw_delete(r->col->g, slot);
        if (rc) {
            atomic_store(&r->nomem, true);
            break;
        }
        /* Only now may search trust the graph for this slot. */
        atomic_fetch_and(&r->col->pending[slot >> 6], ~(1ull << (slot & 63)));
        atomic_fetch_sub(&r->col->n_pending, 1);
    }
    return NULL;
}

/* One round over column v: create the graph when it is wanted, grow it,
 * link up to VX_ROUND pending slots. Caller holds the read lock. True when
 * work is left. */
static bool col_round(vx_index *x, uint32_t v, uint32_t *buf)
{
    qv_collection *c = x->c;
    const store *s = &c->st;
    vx_col *col = &x->cols[v];
    if (col->failed || atomic_load(&col->n_pending) == 0)
        return false;
    qv_error err;
    if (!col->g) {
        hnsw_params p;
        if (!wants_graph(c, v, &p))
            return false;
        hnsw *g;
        if (hnsw_new(&p, s->cap_slots, &g, &err)) {
            QV_WARN("collection %s: no HNSW index for vector \"%s\": %s (search stays exact)", c->name,
                    s->dense[v].name, err.msg);
            col->failed = true;
            return false;
        }
        pthread_rwlock_wrlock(&col->glock);
        col->g = g;
        pthread_rwlock_unlock(&col->glock);
    }
    if (hnsw_capacity(col->g) < s->cap_slots) {
        pthread_rwlock_wrlock(&col->glock);
        qv_status rc = hnsw_reserve(col->g, s->cap_slots, &err);
        pthread_rwlock_unlock(&col->glock);
        if (rc) {
            col->failed = true;
            return false;
        }
    }
    round r = {.col = col, .d = &s->dense[v], .s = s, .slots = buf};
    for (uint32_t w = 0; w < col->words && r.n < VX_ROUND; w++) {
        uint64_t bits = atomic_load(&col->pending[w]);
        while (bits && r.n < VX_ROUND) {
            uint32_t slot = w * 64 + (uint32_t)__builtin_ctzll(bits);
            bits &= bits - 1;
            if (slot < s->n_slots)
                buf[r.n++] = slot;
        }
    }
    if (r.n == 0)
        return false;
    pthread_rwlock_rdlock(&col->glock);
    pthread_t helper;
    bool helped = x->cpus > 1 && r.n >= 32 && pthread_create(&helper, NULL, round_work, &r) == 0;
    round_work(&r);
    if (helped)
        pthread_join(helper, NULL);
    pthread_rwlock_unlock(&col->glock);
    if (atomic_load(&r.nomem)) {
        QV_WARN("collection %s: out of memory while indexing vector \"%s\" (search stays exact)", c->name,
                s->dense[v].name);
        col->failed = true;
        return false;
    }
    return atomic_load(&col->n_pending) > 0;
}

static void *indexer_main(void *arg)
{
    vx_index *x = arg;
    qv_collection *c = x->c;
    uint32_t *buf = malloc(VX_ROUND * sizeof *buf);
    for (;;) {
        pthread_mutex_lock(&x->m);
        while (!x->work && !x->stop)
            pthread_cond_wait(&x->cv, &x->m);
        bool stop = x->stop;
        x->work = false;
        pthread_mutex_unlock(&x->m);
        if (stop)
            break;
        bool more;
        do {  /* rounds, releasing the lock between them so writers get in */
            more = false;
            pthread_rwlock_rdlock(&c->lock);
            for (uint32_t v = 0; buf && v < x->n_cols; v++)
                more |= col_round(x, v, buf);
            pthread_rwlock_unlock(&c->lock);
            pthread_mutex_lock(&x->m);
            stop = x->stop;
            pthread_mutex_unlock(&x->m);
        } while (more && !stop);
        if (stop)
            break;
    }
    free(buf);
    return NULL;
}

/* ---- life ----------------------------------------------------------------------------- */

qv_status vx_init(vx_index *x, qv_collection *c, qv_error *err)
{
    memset(x, 0, sizeof *x);
    x->c = c;
    pthread_mutex_init(&x->m, NULL);
    pthread_cond_init(&x->cv, NULL);
    if (!cols_make(x))
        return qv_fail(err, QV_NOMEM, "out of memory");
    st_listener l = {.ctx = x, .active = l_active, .reserve = l_reserve, .on_commit = l_commit};
    return store_listen(&c->st, &l, err);
}

qv_status vx_start(vx_index *x, qv_error *err)
{
    x->cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (pthread_create(&x->thread, NULL, indexer_main, x) != 0)
        return qv_fail(err, QV_INTERNAL, "cannot start the indexer thread");
    x->running = true;
    wake(x);
    return QV_OK;
}

void vx_stop(vx_index *x)
{
    if (!x->running)
        return;
    pthread_mutex_lock(&x->m);
    x->stop = true;
    pthread_cond_signal(&x->cv);
    pthread_mutex_unlock(&x->m);
    pthread_join(x->thread, NULL);
    x->running = false;
}

void vx_free(vx_index *x)
{
    vx_stop(x);
    cols_free(x);
    pthread_mutex_destroy(&x->m);
    pthread_cond_destroy(&x->cv);
}

void vx_reset(vx_index *x)
{
    cols_free(x);
    if (!cols_make(x))
        QV_WARN("collection %s: out of memory for the vector indexes (search stays exact)", x->c->name);
    if (x->running)
        wake(x);
}

uint64_t vx_indexed_count(const vx_index *x)
{
    uint64_t n = 0;
    for (uint32_t v = 0; v < x->n_cols; v++) {
        vx_col *col = &x->cols[v];
        pthread_rwlock_rdlock(&col->glock);
        if (col->g)
            n += hnsw_count(col->g) - hnsw_deleted(col->g);
        pthread_rwlock_unlock(&col->glock);
    }
    return n;
}

bool vx_busy(const vx_index *x)
{
    for (uint32_t v = 0; v < x->n_cols; v++) {
        vx_col *col = &x->cols[v];
        hnsw_params p;
        if (!col->failed && atomic_load(&col->n_pending) > 0 && (col->g || wants_graph(x->c, v, &p)))
            return true;
    }
    return false;
}
