/* vindex.c — HNSW indexes kept in step by a background indexer (vindex.h). */
#define _GNU_SOURCE
#include "core/vindex.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/collection.h"
#include "util/bitset.h"
#include "util/crc32c.h"
#include "util/endian.h"
#include "util/fsutil.h"
#include "util/log.h"

/* Drop a rebuild in progress. */
static void next_free(vx_col *col)
{
    hnsw_free(col->next);
    free((void *)col->npending);
    col->next = NULL;
    col->npending = NULL;
    atomic_store(&col->n_npending, 0);
}

static void col_free(vx_col *col)
{
    free(col->doomed);
    next_free(col);
    hnsw_free(col->g);
    free((void *)col->pending);
    pthread_rwlock_destroy(&col->glock);
}

/* Mark every slot of column v that holds a vector in p (words of it) and
 * clear the rest; returns how many are marked. */
static uint64_t pending_fill(const store *s, uint32_t v, _Atomic uint64_t *p, size_t words)
{
    uint64_t n = 0;
    for (size_t w = 0; w < words; w++) {
        uint64_t bits = w < qv_bits_words(s->n_slots) ? s->live[w] & s->dense[v].has[w] : 0;
        atomic_store(&p[w], bits);
        n += (uint64_t)__builtin_popcountll(bits);
    }
    return n;
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
        atomic_init(&col->n_pending, pending_fill(s, v, col->pending, w));
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
        if (col->npending) {
            _Atomic uint64_t *q = realloc((void *)col->npending, w * sizeof *q);
            if (!q)
                return qv_fail(err, QV_NOMEM, "out of memory");  /* pending's growth is harmless */
            for (size_t i = col->words; i < w; i++)
                atomic_init(&q[i], 0);
            col->npending = q;
        }
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
            if (col->npending && !(atomic_fetch_or(&col->npending[slot >> 6], bit) & bit))
                atomic_fetch_add(&col->n_npending, 1);
        }
        any = true;
    }
    if (any && x->running)
        wake(x);
}

/* ---- the indexer -------------------------------------------------------------------- */

/* The graph parameters of column v; false when it never gets a graph. */
static bool col_params(const qv_collection *c, uint32_t v, hnsw_params *p)
{
    const cfg_collection *cfg = &c->schema;
    const cfg_vector *cv = &cfg->vectors[v];
    p->m = (uint32_t)(cv->hnsw.set & 1 ? cv->hnsw.m : cfg->hnsw.m);
    p->ef_construct = (uint32_t)(cv->hnsw.set & 2 ? cv->hnsw.ef_construct : cfg->hnsw.ef_construct);
    p->metric = (dist_metric)cv->distance;
    p->dim = cv->size;
    p->seed = 0x51a7e5eedull;
    /* indexing_threshold 0 = never index; m = 0: no graph */
    return cfg->optimizers.indexing_threshold != 0 && p->m >= 2 && p->m <= HNSW_MAX_M;
}

/* Whether column v holds enough vectors to be worth a graph. */
static bool wants_graph(const qv_collection *c, uint32_t v, hnsw_params *p)
{
    const cfg_collection *cfg = &c->schema;
    const cfg_vector *cv = &cfg->vectors[v];
    uint64_t kb = cfg->optimizers.indexing_threshold;
    if (!col_params(c, v, p))
        return false;
    const store *s = &c->st;
    uint64_t have = 0;
    for (size_t i = 0; i < qv_bits_words(s->n_slots); i++)
        have += (uint64_t)__builtin_popcountll(s->live[i] & s->dense[v].has[i]);
    return have * cv->size * 4 >= kb * 1024;
}

static void *helper_main(void *arg)
{
    vx_index *x = arg;
    pthread_mutex_lock(&x->hm);
    for (;;) {
        while (!x->job && !x->helper_stop)
            pthread_cond_wait(&x->hcv, &x->hm);
        if (!x->job)
            break;
        void *(*job)(void *) = x->job;
        void *job_arg = x->job_arg;
        pthread_mutex_unlock(&x->hm);
        job(job_arg);
        pthread_mutex_lock(&x->hm);
        x->job = NULL;
        pthread_cond_broadcast(&x->hcv);
    }
    pthread_mutex_unlock(&x->hm);
    return NULL;
}

/* Run work(arg) here and, when worth it and there is another core, on the
 * helper thread too (work shares its items out itself); returns once both
 * are done. Indexer thread only. A round ends early for a writer, so it
 * can be a few inserts: a thread started per round cost more than that. */
static void on_all_cores(vx_index *x, void *(*work)(void *), void *arg, bool worth)
{
    if (worth && x->cpus > 1 && !x->helper_on)
        x->helper_on = pthread_create(&x->helper, NULL, helper_main, x) == 0;
    bool helped = worth && x->helper_on;
    if (helped) {
        pthread_mutex_lock(&x->hm);
        x->job = work;
        x->job_arg = arg;
        pthread_cond_broadcast(&x->hcv);
        pthread_mutex_unlock(&x->hm);
    }
    work(arg);
    if (helped) {
        pthread_mutex_lock(&x->hm);
        while (x->job)
            pthread_cond_wait(&x->hcv, &x->hm);
        pthread_mutex_unlock(&x->hm);
    }
}

/* The indexer is ending: so does its helper. */
static void helper_stop(vx_index *x)
{
    if (!x->helper_on)
        return;
    pthread_mutex_lock(&x->hm);
    x->helper_stop = true;
    pthread_cond_broadcast(&x->hcv);
    pthread_mutex_unlock(&x->hm);
    pthread_join(x->helper, NULL);
    x->helper_on = x->helper_stop = false;
}

typedef struct round {
    const atomic_uint *yield;     /* writers waiting for the lock: stop taking slots */
    hnsw           *g;            /* the column's graph, or the one being rebuilt */
    _Atomic uint64_t *pending;    /* and its pending bits and count */
    atomic_uint_fast64_t *n_pending;
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
    for (bool first = true;; first = false) {
        /* After one slot each (so a stream of writes cannot stall the
         * index), stop for a waiting writer: what is left stays pending. */
        if (!first && atomic_load_explicit(r->yield, memory_order_relaxed))
            break;
        uint32_t i = atomic_fetch_add(&r->next, 1);
        if (i >= r->n || atomic_load(&r->nomem))
            break;
        uint32_t slot = r->slots[i];
        qv_status rc = QV_OK;
        if (store_live(r->s, slot) && vec_dense_has(r->d, slot))
            rc = hnsw_insert(r->g, r->d, slot, &err);
        else
            hnsw_delete(r->g, slot);
        if (rc) {
            atomic_store(&r->nomem, true);
            break;
        }
        /* Only now may search trust the graph for this slot. */
        atomic_fetch_and(&r->pending[slot >> 6], ~(1ull << (slot & 63)));
        atomic_fetch_sub(r->n_pending, 1);
    }
    return NULL;
}

/* Whether g has enough tombstones to be worth a repair (vindex.h). */
static bool repair_wanted(const qv_collection *c, const vx_col *col)
{
    const cfg_optimizers *o = &c->schema.optimizers;
    if (!col->g || col->no_repair)
        return false;
    uint32_t dead = hnsw_deleted(col->g), n = hnsw_count(col->g);
    return dead > 0 && dead >= o->vacuum_min_vector_number && (double)dead > o->deleted_threshold * n;
}

typedef struct repair_job {
    const atomic_uint *yield;     /* as round's */
    hnsw            *g;
    const vec_dense *d;
    const uint64_t  *doomed;
    uint32_t         n_doomed, to;
    atomic_uint      next;
    atomic_bool      nomem;
} repair_job;

static void *repair_work(void *arg)
{
    repair_job *j = arg;
    qv_error err;
    for (bool first = true;; first = false) {
        /* As round_work; every range taken is done, so the next round
         * starts at next. */
        if (!first && atomic_load_explicit(j->yield, memory_order_relaxed))
            break;
        uint32_t from = atomic_fetch_add(&j->next, 64);
        if (from >= j->to || atomic_load(&j->nomem))
            break;
        uint32_t to = from + 64 < j->to ? from + 64 : j->to;
        if (hnsw_repair(j->g, j->d, j->doomed, j->n_doomed, from, to, &err)) {
            atomic_store(&j->nomem, true);
            break;
        }
    }
    return NULL;
}

static void repair_stop(vx_col *col)
{
    free(col->doomed);
    col->doomed = NULL;
    atomic_store(&col->repairing, false);
}

/* One round of tombstone repair of column v (nothing pending): start one
 * when wanted, relink the next VX_REPAIR_ROUND slots, or, past the last,
 * drop the tombstones. Caller holds the read lock. True when work is left. */
static bool repair_round(vx_index *x, uint32_t v)
{
    qv_collection *c = x->c;
    vx_col *col = &x->cols[v];
    hnsw *g = col->g;
    if (!col->doomed) {
        if (!repair_wanted(c, col))
            return false;
        uint32_t cap = hnsw_capacity(g);
        if (!(col->doomed = calloc(qv_bits_words(cap) + 1, sizeof *col->doomed))) {
            col->no_repair = true;
            return false;
        }
        for (uint32_t slot = 0; slot < cap; slot++)
            if (hnsw_tombstone(g, slot))
                qv_bit_set(col->doomed, slot);
        col->doomed_slots = cap;
        col->cursor = 0;
        atomic_store(&col->repairing, true);
    }
    x->dirty = true;
    if (col->cursor < col->doomed_slots) {
        repair_job j = {.yield = &c->writers_waiting, .g = g, .d = &c->st.dense[v], .doomed = col->doomed, .n_doomed = col->doomed_slots,
                        .to = col->cursor + VX_REPAIR_ROUND < col->doomed_slots ? col->cursor + VX_REPAIR_ROUND
                                                                                 : col->doomed_slots};
        atomic_init(&j.next, col->cursor);
        pthread_rwlock_rdlock(&col->glock);
        on_all_cores(x, repair_work, &j, true);
        pthread_rwlock_unlock(&col->glock);
        if (atomic_load(&j.nomem)) {
            QV_WARN("collection %s: out of memory repairing the graph of vector \"%s\" (its tombstones stay)",
                    c->name, c->st.dense[v].name);
            col->no_repair = true;
            repair_stop(col);
            return false;
        }
        uint32_t done = atomic_load(&j.next);
        col->cursor = done < j.to ? done : j.to;
        return true;
    }
    pthread_rwlock_wrlock(&col->glock);
    uint32_t dropped = hnsw_drop(g, col->doomed, col->doomed_slots);
    pthread_rwlock_unlock(&col->glock);
    repair_stop(col);
    QV_INFO("collection %s: graph of vector \"%s\" repaired: %u tombstones dropped, %u nodes left (%u tombstones)",
            c->name, c->st.dense[v].name, dropped, hnsw_count(g), hnsw_deleted(g));
    return true;  /* another repair may be wanted already */
}

/* Link up to VX_ROUND slots pending for graph g (the column's, or the one
 * being rebuilt) into it, growing it first. Caller holds the read lock.
 * False when it failed (then the column is marked so). */
static bool link_round(vx_index *x, uint32_t v, hnsw *g, _Atomic uint64_t *pending,
                       atomic_uint_fast64_t *n_pending, uint32_t *buf)
{
    qv_collection *c = x->c;
    const store *s = &c->st;
    vx_col *col = &x->cols[v];
    qv_error err;
    if (hnsw_capacity(g) < s->cap_slots) {
        pthread_rwlock_wrlock(&col->glock);
        qv_status rc = hnsw_reserve(g, s->cap_slots, &err);
        pthread_rwlock_unlock(&col->glock);
        if (rc) {
            col->failed = true;
            return false;
        }
    }
    round r = {.yield = &c->writers_waiting, .g = g, .pending = pending, .n_pending = n_pending,
               .d = &s->dense[v], .s = s, .slots = buf};
    for (uint32_t w = 0; w < col->words && r.n < VX_ROUND; w++) {
        uint64_t bits = atomic_load(&pending[w]);
        while (bits && r.n < VX_ROUND) {
            uint32_t slot = w * 64 + (uint32_t)__builtin_ctzll(bits);
            bits &= bits - 1;
            if (slot < s->n_slots)
                buf[r.n++] = slot;
        }
    }
    if (r.n == 0)
        return true;
    x->dirty = true;
    pthread_rwlock_rdlock(&col->glock);
    on_all_cores(x, round_work, &r, r.n >= 32);
    pthread_rwlock_unlock(&col->glock);
    if (atomic_load(&r.nomem)) {
        QV_WARN("collection %s: out of memory while indexing vector \"%s\" (search stays exact)", c->name,
                s->dense[v].name);
        col->failed = true;
        return false;
    }
    return true;
}

/* The rebuilt graph knows every slot: it takes the old one's place, with
 * its pending bits (searches copy those under glock). Caller holds the
 * read lock, so no commit marks a slot meanwhile. */
static void rebuild_swap(vx_index *x, uint32_t v)
{
    vx_col *col = &x->cols[v];
    repair_stop(col);  /* the tombstones it listed were the old graph's */
    pthread_rwlock_wrlock(&col->glock);
    hnsw *old = col->g;
    _Atomic uint64_t *old_pending = col->pending;
    col->g = col->next;
    col->pending = col->npending;
    atomic_store(&col->n_pending, atomic_load(&col->n_npending));
    col->next = NULL;
    col->npending = NULL;
    atomic_store(&col->n_npending, 0);
    pthread_rwlock_unlock(&col->glock);
    hnsw_free(old);
    free((void *)old_pending);
    col->no_repair = false;
    x->dirty = true;
    QV_INFO("collection %s: graph of vector \"%s\" rebuilt with the new HNSW settings (%u nodes)", x->c->name,
            x->c->st.dense[v].name, hnsw_count(col->g));
}

/* One round over column v: create the graph when it is wanted, link up to
 * VX_ROUND pending slots; with nothing pending, go on with a rebuild, else
 * repair its tombstones. Caller holds the read lock. True when work is
 * left. */
static bool col_round(vx_index *x, uint32_t v, uint32_t *buf)
{
    qv_collection *c = x->c;
    const store *s = &c->st;
    vx_col *col = &x->cols[v];
    if (col->failed)
        return false;
    if (atomic_load(&col->n_pending) == 0 && col->next) {
        if (!link_round(x, v, col->next, col->npending, &col->n_npending, buf))
            return false;
        if (atomic_load(&col->n_npending) == 0)
            rebuild_swap(x, v);
        return true;
    }
    if (atomic_load(&col->n_pending) == 0)
        return col->g && repair_round(x, v);
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
    if (!link_round(x, v, col->g, col->pending, &col->n_pending, buf))
        return false;
    return atomic_load(&col->n_pending) > 0 || col->next || repair_wanted(c, col);
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
            /* A writer ended the last round: let it have the lock first
             * (the lock prefers readers). It waits only for the searches
             * in flight, so this is short. */
            while (atomic_load(&c->writers_waiting))
                sched_yield();
            pthread_rwlock_rdlock(&c->lock);
            pthread_mutex_lock(&x->round);
            for (uint32_t v = 0; buf && v < x->n_cols; v++)
                more |= col_round(x, v, buf);
            pthread_mutex_unlock(&x->round);
            pthread_rwlock_unlock(&c->lock);
            pthread_mutex_lock(&x->m);
            stop = x->stop;
            pthread_mutex_unlock(&x->m);
        } while (more && !stop);
        if (stop)
            break;
    }
    helper_stop(x);
    free(buf);
    return NULL;
}

/* ---- life ----------------------------------------------------------------------------- */

qv_status vx_init(vx_index *x, qv_collection *c, qv_error *err)
{
    memset(x, 0, sizeof *x);
    x->c = c;
    pthread_mutex_init(&x->m, NULL);
    pthread_mutex_init(&x->round, NULL);
    pthread_cond_init(&x->cv, NULL);
    pthread_mutex_init(&x->hm, NULL);
    pthread_cond_init(&x->hcv, NULL);
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
    pthread_mutex_destroy(&x->round);
    pthread_cond_destroy(&x->cv);
    pthread_mutex_destroy(&x->hm);
    pthread_cond_destroy(&x->hcv);
}

void vx_reset(vx_index *x)
{
    cols_free(x);
    if (!cols_make(x))
        QV_WARN("collection %s: out of memory for the vector indexes (search stays exact)", x->c->name);
    if (x->running)
        wake(x);
}

/* Whether g was built with the settings p. */
static bool built_with(const hnsw *g, const hnsw_params *p)
{
    const hnsw_params *have = hnsw_get_params(g);
    return have->m == p->m && have->ef_construct == p->ef_construct;
}

void vx_retune(vx_index *x)
{
    const store *s = &x->c->st;
    for (uint32_t v = 0; v < x->n_cols; v++) {
        vx_col *col = &x->cols[v];
        hnsw_params want;
        bool keep = col_params(x->c, v, &want);
        const hnsw *latest = col->next ? col->next : col->g;
        if (!latest || (keep && built_with(latest, &want)))
            continue;
        next_free(col);  /* a rebuild for settings that changed again */
        if (!col->g)
            continue;  /* none built yet: the indexer builds it with the new settings */
        if (keep && built_with(col->g, &want))
            continue;  /* back to the graph's own settings */
        qv_error err;
        if (keep && !col->failed && hnsw_new(&want, s->cap_slots, &col->next, &err) == QV_OK &&
            (col->npending = calloc(col->words ? col->words : 1, sizeof *col->npending))) {
            atomic_store(&col->n_npending, pending_fill(s, v, col->npending, col->words));
            QV_INFO("collection %s: the HNSW settings of vector \"%s\" changed; its graph is built again "
                    "beside the one serving", x->c->name, s->dense[v].name);
            continue;
        }
        next_free(col);
        QV_INFO("collection %s: the HNSW settings of vector \"%s\" changed; its graph is dropped%s", x->c->name,
                s->dense[v].name, keep ? " and built again (search is exact meanwhile)" : "");
        repair_stop(col);
        col->no_repair = false;
        hnsw_free(col->g);  /* no search holds glock: they hold the read lock */
        col->g = NULL;
        atomic_store(&col->n_pending, pending_fill(s, v, col->pending, col->words));
        x->dirty = true;
    }
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
        if (col->failed)
            continue;
        if (atomic_load(&col->n_pending) > 0 && (col->g || wants_graph(x->c, v, &p)))
            return true;
        if (col->next || atomic_load(&col->repairing) || repair_wanted(x->c, col))
            return true;
    }
    return false;
}

/* ---- graph files (vindex.h, docs/FORMAT.md) ----------------------------------------- */

#define GF_MAGIC   "QVGRAPH\n"
#define GF_VERSION 1u
#define GF_HEAD    36u  /* the fixed fields before the column's name */

static void gf_name(char *out, size_t n, uint64_t seq, uint32_t v)
{
    snprintf(out, n, "hnsw-%" PRIu64 "-%u.graph", seq, v);
}

/* The checkpoint a graph file (or what a write of one left: .tmp, .prev)
 * belongs to; false for any other name. */
static bool gf_seq(const char *name, uint64_t *seq)
{
    unsigned long long q;
    unsigned v;
    int end = 0;
    if (strncmp(name, "hnsw-", 5) != 0 || sscanf(name, "hnsw-%llu-%u.graph%n", &q, &v, &end) != 2 || !end)
        return false;
    const char *rest = name + end;
    if (*rest && strcmp(rest, ".tmp") != 0 && strcmp(rest, ".prev") != 0)
        return false;
    *seq = q;
    return true;
}

void vx_prune(const char *dir, uint64_t seq, int which)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char path[PATH_MAX];
    while ((e = readdir(d))) {
        uint64_t q;
        if (!gf_seq(e->d_name, &q) || (which == VX_PRUNE_OTHERS && q == seq) ||
            (which == VX_PRUNE_SEQ && q != seq))
            continue;
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) < (int)sizeof path && unlink(path) != 0)
            QV_WARN("cannot remove %s: %s", path, strerror(errno));
    }
    closedir(d);
}

/* The round mutex for a checkpoint, not the indexer: counted as a writer
 * waiting (writers_waiting), so that the indexer ends its round early and
 * yields before taking the mutex again. Mutexes are not fair: without
 * this, rounds back to back kept a checkpoint (and every write queued
 * behind it) waiting for up to 34 s while an upload was indexed. */
static void round_lock_saver(vx_index *x)
{
    atomic_fetch_add(&x->c->writers_waiting, 1);
    pthread_mutex_lock(&x->round);
    atomic_fetch_sub(&x->c->writers_waiting, 1);
}

/* A checkpoint's graph files, as taken (vx_ckpt_take): per column with a
 * graph, the file's head and the graph's image. */
struct vx_ckpt {
    uint64_t seq;
    uint32_t n;
    struct {
        uint32_t v;
        char    *name;
        uint8_t *head, *img;
        size_t   hlen, img_len;
    } col[];
};

/* Copy column v's graph, its pending bits and the vectors of its nodes
 * that the checkpoint does not hold (deleted points the graph still routes
 * through), as of now, into k's next entry: the indexer is held between
 * rounds while they are copied, and the caller keeps writers out, so they
 * agree with the store. A failure is logged (the graph is built again at
 * restart, unless a later checkpoint saves it). */
static void col_copy(vx_index *x, uint32_t v, vx_ckpt *k)
{
    const store *s = &x->c->st;
    const vec_dense *d = &s->dense[v];
    vx_col *col = &x->cols[v];
    qv_error err = {0};
    qv_status rc = QV_OK;
    uint8_t *head = NULL, *img = NULL;
    size_t img_len = 0, hlen = 0;
    round_lock_saver(x);
    if (!col->g || col->failed) {
        pthread_mutex_unlock(&x->round);
        return;
    }
    uint32_t n_slots = s->n_slots, n_stale = 0, cap = hnsw_capacity(col->g);
    for (uint32_t slot = 0; slot < n_slots && slot < cap; slot++)
        n_stale += hnsw_contains(col->g, slot) && !(store_live(s, slot) && vec_dense_has(d, slot));
    size_t words = qv_bits_words(n_slots), nl = strlen(d->name), rec = 4 + (size_t)d->dim * 4;
    hlen = GF_HEAD + nl + words * 8 + n_stale * rec;
    if (!(head = malloc(hlen + 4)))
        rc = qv_fail(&err, QV_NOMEM, "out of memory");
    else
        rc = hnsw_save_buf(col->g, &img, &img_len, &err);
    if (rc == QV_OK) {
        uint8_t *p = head;
        memcpy(p, GF_MAGIC, 8);
        qv_put_le32(p + 8, GF_VERSION);
        qv_put_le32(p + 12, d->dim);
        qv_put_le64(p + 16, k->seq);
        qv_put_le32(p + 24, n_slots);
        qv_put_le32(p + 28, n_stale);
        qv_put_le32(p + 32, (uint32_t)nl);
        memcpy(p + GF_HEAD, d->name, nl);
        p += GF_HEAD + nl;
        for (size_t i = 0; i < words; i++, p += 8) {
            uint64_t bits = atomic_load(&col->pending[i]);
            if (i == words - 1 && n_slots % 64)
                bits &= (1ull << (n_slots % 64)) - 1;
            qv_put_le64(p, bits);
        }
        for (uint32_t slot = 0; slot < n_slots && slot < cap; slot++) {
            if (!hnsw_contains(col->g, slot) || (store_live(s, slot) && vec_dense_has(d, slot)))
                continue;
            qv_put_le32(p, slot);
            memcpy(p + 4, vec_dense_get(d, slot), rec - 4);
            p += rec;
        }
        qv_put_le32(p, qv_crc32c(0, head, hlen));
    }
    char *name = rc == QV_OK ? strdup(d->name) : NULL;
    if (rc == QV_OK && !name)
        rc = qv_fail(&err, QV_NOMEM, "out of memory");
    if (rc) {
        x->dirty = true;  /* worth trying again at the next checkpoint */
        pthread_mutex_unlock(&x->round);
        QV_WARN("collection %s: cannot save the graph of vector \"%s\" (%s): a restart builds it again",
                x->c->name, d->name, err.msg);
        free(head);
        free(img);
        return;
    }
    pthread_mutex_unlock(&x->round);
    k->col[k->n].v = v;
    k->col[k->n].name = name;
    k->col[k->n].head = head;
    k->col[k->n].hlen = hlen + 4;
    k->col[k->n].img = img;
    k->col[k->n].img_len = img_len;
    k->n++;
}

vx_ckpt *vx_ckpt_take(vx_index *x, uint64_t seq)
{
    vx_ckpt *k = calloc(1, sizeof *k + (x->n_cols ? x->n_cols : 1) * sizeof k->col[0]);
    round_lock_saver(x);
    x->dirty = !k;
    pthread_mutex_unlock(&x->round);
    if (!k) {
        QV_WARN("collection %s: cannot save the graphs (out of memory): a restart builds them again",
                x->c->name);
        return NULL;
    }
    k->seq = seq;
    if (!store_keeps_slots(&x->c->st))
        return k;  /* compacted: the slots of the graphs mean nothing after a load */
    for (uint32_t v = 0; v < x->n_cols; v++)
        col_copy(x, v, k);
    return k;
}

void vx_ckpt_write(vx_index *x, vx_ckpt *k, const char *dir)
{
    /* A checkpoint of the same operation id written before (with other
     * slots, or a column without a graph now) must not lend it its files. */
    if (!k)
        return;
    vx_prune(dir, k->seq, VX_PRUNE_SEQ);
    for (uint32_t i = 0; i < k->n; i++) {
        char name[64];
        gf_name(name, sizeof name, k->seq, k->col[i].v);
        qv_file_part parts[2] = {{k->col[i].head, k->col[i].hlen}, {k->col[i].img, k->col[i].img_len}};
        if (qv_write_file_atomic_parts(dir, name, parts, 2) != 0) {
            int e = errno;
            round_lock_saver(x);
            x->dirty = true;  /* worth trying again at the next checkpoint */
            pthread_mutex_unlock(&x->round);
            QV_WARN("collection %s: cannot save the graph of vector \"%s\" (%s): a restart builds it again",
                    x->c->name, k->col[i].name, strerror(e));
        }
    }
}

void vx_ckpt_free(vx_ckpt *k)
{
    for (uint32_t i = 0; k && i < k->n; i++) {
        free(k->col[i].name);
        free(k->col[i].head);
        free(k->col[i].img);
    }
    free(k);
}

void vx_mark_dirty(vx_index *x)
{
    round_lock_saver(x);
    x->dirty = true;
    pthread_mutex_unlock(&x->round);
}

/* Check a graph file of column v against the store loaded from the
 * checkpoint of seq, and take it. Anything that does not fit fails (the
 * caller warns and the graph is built again): every size is checked
 * against the file and the store before it is used. */
static qv_status col_take(vx_index *x, uint32_t v, uint64_t seq, const uint8_t *b, size_t len,
                          qv_error *err)
{
    store *s = &x->c->st;
    vec_dense *d = &s->dense[v];
    vx_col *col = &x->cols[v];
    hnsw *g = NULL;
    uint64_t *stale = NULL;
    qv_status rc;
    hnsw_params p;
    if (!col_params(x->c, v, &p))
        return qv_fail(err, QV_VALIDATION, "the collection is not indexed");
    if (len < GF_HEAD + 4 || memcmp(b, GF_MAGIC, 8) != 0 || qv_get_le32(b + 8) != GF_VERSION)
        return qv_fail(err, QV_CORRUPT, "not a graph file of this version");
    uint32_t dim = qv_get_le32(b + 12), n_slots = qv_get_le32(b + 24), n_stale = qv_get_le32(b + 28);
    uint32_t nl = qv_get_le32(b + 32);
    if (qv_get_le64(b + 16) != seq)
        return qv_fail(err, QV_CORRUPT, "of another checkpoint");
    if (dim != d->dim || nl != strlen(d->name) || nl > len - GF_HEAD || memcmp(b + GF_HEAD, d->name, nl))
        return qv_fail(err, QV_CORRUPT, "of another vector");
    if (n_slots != s->n_slots || n_stale > n_slots)
        return qv_fail(err, QV_CORRUPT, "%u slots, the store has %u", n_slots, s->n_slots);
    uint64_t words = qv_bits_words(n_slots), rec = 4 + (uint64_t)dim * 4;
    uint64_t hlen = GF_HEAD + (uint64_t)nl + words * 8 + n_stale * rec;
    if (hlen + 4 > len || qv_crc32c(0, b, (size_t)hlen) != qv_get_le32(b + hlen))
        return qv_fail(err, QV_CORRUPT, "truncated or checksum mismatch");
    if ((rc = hnsw_load_buf(b + hlen + 4, len - (size_t)hlen - 4, s->cap_slots, &g, err)))
        return rc;
    const hnsw_params *gp = hnsw_get_params(g);
    if (gp->m != p.m || gp->ef_construct != (p.ef_construct < p.m ? p.m : p.ef_construct) ||
        gp->metric != p.metric || gp->dim != p.dim || gp->seed != p.seed) {
        rc = qv_fail(err, QV_CORRUPT, "built with other hnsw_config parameters");
        goto fail;
    }
    const uint8_t *pend = b + GF_HEAD + nl, *recs = pend + words * 8;
    if (!(stale = calloc(words ? words : 1, 8))) {
        rc = qv_fail(err, QV_NOMEM, "out of memory");
        goto fail;
    }
    for (uint32_t i = 0; i < n_stale; i++) {
        uint32_t slot = qv_get_le32(recs + i * rec);
        if (slot >= n_slots || !hnsw_contains(g, slot) || (store_live(s, slot) && vec_dense_has(d, slot)) ||
            qv_bit_get(stale, slot)) {
            rc = qv_fail(err, QV_CORRUPT, "a saved vector for slot %u, which has its own", slot);
            goto fail;
        }
        qv_bit_set(stale, slot);
    }
    /* Every node reads a vector; every slot not pending is as the graph knows it. */
    for (uint32_t slot = 0; slot < hnsw_capacity(g); slot++) {
        bool in = hnsw_contains(g, slot);
        if (slot >= n_slots) {
            if (in) {
                rc = qv_fail(err, QV_CORRUPT, "a node at slot %u, beyond the store", slot);
                goto fail;
            }
            continue;
        }
        bool want = store_live(s, slot) && vec_dense_has(d, slot);
        bool pending = qv_get_le64(pend + (slot >> 6) * 8) >> (slot & 63) & 1;
        if ((in && !want && !qv_bit_get(stale, slot)) ||
            (!pending && want != (in && !hnsw_tombstone(g, slot)))) {
            rc = qv_fail(err, QV_CORRUPT, "slot %u does not match the checkpoint", slot);
            goto fail;
        }
    }
    /* Taken: nothing can fail from here. */
    for (uint32_t i = 0; i < n_stale; i++) {
        const uint8_t *r = recs + i * rec;
        memcpy((float *)vec_dense_get(d, qv_get_le32(r)), r + 4, (size_t)dim * 4);
    }
    uint64_t n = 0;
    for (uint32_t i = 0; i < col->words; i++) {
        uint64_t bits = i < words ? qv_get_le64(pend + (size_t)i * 8) : 0;
        if (i == words - 1 && n_slots % 64)
            bits &= (1ull << (n_slots % 64)) - 1;
        atomic_store(&col->pending[i], bits);
        n += (uint64_t)__builtin_popcountll(bits);
    }
    atomic_store(&col->n_pending, n);
    hnsw_free(col->g);
    col->g = g;
    free(stale);
    return QV_OK;
fail:
    hnsw_free(g);
    free(stale);
    return rc;
}

/* The most bytes a graph file of column v can hold for this store: its
 * header, the pending bits, a saved vector per slot and the graph with
 * every slot a node of the top level with full link lists. A larger file
 * is not even read. */
static size_t gf_max_size(const vx_index *x, uint32_t v)
{
    const store *s = &x->c->st;
    hnsw_params p;
    if (!col_params(x->c, v, &p))
        p.m = HNSW_MAX_M;  /* not used anyway: col_take says why */
    uint64_t node = 6 + (uint64_t)(HNSW_MAX_LEVEL + 1) * 2 + 4 * (2ull * p.m + (uint64_t)HNSW_MAX_LEVEL * p.m);
    uint64_t max = GF_HEAD + strlen(s->dense[v].name) + qv_bits_words(s->n_slots) * 8 +
                   (uint64_t)s->n_slots * (4 + 4ull * s->dense[v].dim) + 4 + 56 + (uint64_t)s->cap_slots * node;
    return max < SIZE_MAX / 2 ? (size_t)max : SIZE_MAX / 2;
}

uint64_t vx_load(vx_index *x, const char *dir, uint64_t seq)
{
    const store *s = &x->c->st;
    uint64_t bytes = 0;
    for (uint32_t v = 0; v < x->n_cols; v++) {
        char name[64], path[PATH_MAX];
        gf_name(name, sizeof name, seq, v);
        if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
            continue;
        char *b;
        size_t len;
        qv_error err = {0};
        qv_status rc = QV_OK;
        if (qv_read_file(path, gf_max_size(x, v), &b, &len) != 0) {
            if (errno == ENOENT)
                continue;
            rc = qv_fail(&err, QV_IO, "%s", strerror(errno));
        } else {
            bytes += len;
            rc = col_take(x, v, seq, (const uint8_t *)b, len, &err);
            free(b);
        }
        if (rc)
            QV_WARN("collection %s: graph file %s not used (%s); the graph of vector \"%s\" is built "
                    "again from the vectors", x->c->name, name, err.msg, s->dense[v].name);
        else
            QV_INFO("collection %s: graph of vector \"%s\" loaded: %u nodes, %llu pending", x->c->name,
                    s->dense[v].name, hnsw_count(x->cols[v].g),
                    (unsigned long long)atomic_load(&x->cols[v].n_pending));
    }
    return bytes;
}
