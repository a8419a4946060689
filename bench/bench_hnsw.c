/* bench_hnsw.c — HNSW search in process on a search data set
 * (search_data.h). First the graph alone (vector/hnsw.h): build time on
 * --threads threads, graph memory per point, then for each ef recall@10
 * and queries/s on one thread, unfiltered and filtered at 1% and 10%
 * (two-hop mode, with plain mode for comparison). Then the engine, as a
 * program embedding it sees it (--no-engine skips it): the points upserted
 * into a collection, its background index, and each query through
 * qv_search (quiver.h), unfiltered, filtered on payload flags at 1% and 10%
 * (the same sets), and at 1% with a payload index; these are the figures to
 * hold against hnswlib. With --ref BIN it then runs bench/ref_hnswlib on the
 * very same cached files, so both sets of figures come from one run.
 *
 *   bench_hnsw [--set clustered] [--seed 42] [--n N] [--dim D] [--queries Q]
 *              [--M 16] [--efc 200] [--threads 2] [--efs 16,32,64,128,256]
 *              [--cache DIR] [--ref PATH] [--ref-only] [--reuse] [--repair] [--no-graph] [--no-engine]
 *              [--min-seconds 0.5]
 *
 * --reuse loads the graph an earlier --reuse run saved next to the data
 * (and times the load), else builds and saves it. --repair ends with half
 * the points deleted: recall with the tombstones, the repair's time
 * (hnsw_repair on --threads threads, hnsw_drop), recall after it.
 *
 * Not in CI; figures are printed, never asserted. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_common.h"
#include "quiver.h"
#include "search_data.h"
#include "util/clock.h"
#include "util/fsutil.h"
#include "vector/hnsw.h"

#define K 10

static sd_set S;

typedef struct builder {
    hnsw            *g;
    const vec_dense *col;
    uint32_t         n;
    atomic_uint     *next;
    int              failed;
    _Atomic double   cpu;  /* CPU seconds of the builder threads */
} builder;

static void *build_job(void *arg)
{
    builder *b = arg;
    qv_error err;
    for (uint32_t s; (s = atomic_fetch_add(b->next, 1)) < b->n;)
        if (hnsw_insert(b->g, b->col, s, &err) != QV_OK) {
            fprintf(stderr, "bench_hnsw: insert %u: %s\n", s, err.msg);
            b->failed = 1;
            return NULL;
        }
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    double c = ts.tv_sec + ts.tv_nsec * 1e-9, old = b->cpu;
    while (!atomic_compare_exchange_weak(&b->cpu, &old, old + c))
        ;
    return NULL;
}

/* Exact top K over allowed slots (for the filtered truth). */
static void brute_allowed(const float *q, const uint64_t *bits, uint32_t *out)
{
    dist_fn fn = dist_order_fn(dist_kernels_best(), DIST_EUCLID);
    float bd[K];
    uint32_t n = 0;
    for (uint32_t i = 0; i < S.n; i++) {
        if (!(bits[i >> 6] >> (i & 63) & 1))
            continue;
        float x = fn(q, S.base + (size_t)i * S.dim, S.dim);
        if (n == K && x >= bd[K - 1])
            continue;
        uint32_t j = n < K ? n++ : K - 1;
        while (j > 0 && bd[j - 1] > x) {
            bd[j] = bd[j - 1];
            out[j] = out[j - 1];
            j--;
        }
        bd[j] = x;
        out[j] = i;
    }
}

/* One searcher: the graph alone (vector/hnsw.h) or the engine (qv_search). */
typedef struct searcher {
    /* K best base indices of query q into got[0..*n). */
    int (*search)(struct searcher *x, const float *q, uint32_t ef, uint32_t *got, uint32_t *n);
    hnsw              *g;       /* graph */
    const vec_dense   *col;
    const hnsw_filter *f;
    qv_db             *db;      /* engine */
    const char        *filter;  /* Filter JSON or NULL */
    int                unique;  /* each query's filter its own: 1, sharing its `must` with the
                                 * others (plus must_not has_id [query number]); 2, in should
                                 * form (should [the condition, has_id [query number]]); 3, the
                                 * condition itself never seen (a member it ignores, "q": query
                                 * number, makes its text new): a scan of every point */
} searcher;

static int graph_search(searcher *x, const float *q, uint32_t ef, uint32_t *got, uint32_t *n)
{
    hnsw_hit out[K];
    qv_error err;
    if (hnsw_search(x->g, x->col, q, K, ef, x->f, out, n, &err) != QV_OK) {
        fprintf(stderr, "bench_hnsw: search: %s\n", err.msg);
        return -1;
    }
    for (uint32_t i = 0; i < *n; i++)
        got[i] = out[i].slot;
    return 0;
}

static int engine_search(searcher *x, const float *q, uint32_t ef, uint32_t *got, uint32_t *n)
{
    qv_search_request r = {.query = q, .dim = S.dim, .limit = K, .hnsw_ef = ef, .filter_json = x->filter,
                           .filter_len = x->filter ? strlen(x->filter) : 0};
    char own[256];
    if (x->unique) {  /* a filter never asked before: the planner's cache cannot answer it */
        static uint64_t asks;
        static const char *const forms[] = {"", "{\"must\":[%s],\"must_not\":[{\"has_id\":[%llu]}]}",
                                             "{\"should\":[%s,{\"has_id\":[%llu]}]}", "{\"must\":[%.*s,\"q\":%llu}]}"};
        unsigned long long ask = S.n + asks++;
        r.filter_len = x->unique == 3 ? (size_t)snprintf(own, sizeof own, forms[3], (int)strlen(x->filter) - 1, x->filter, ask)
                                      : (size_t)snprintf(own, sizeof own, forms[x->unique], x->filter, ask);
        r.filter_json = own;
    }
    qv_hit out[K];
    size_t nh;
    qv_error err;
    if (qv_search(x->db, "b", &r, out, &nh, &err) != QV_OK) {
        fprintf(stderr, "bench_hnsw: qv_search: %s\n", err.msg);
        return -1;
    }
    for (size_t i = 0; i < nh; i++)
        got[i] = (uint32_t)out[i].id;  /* ids are base indices */
    *n = (uint32_t)nh;
    return 0;
}

/* The same through the JSON call, as the server makes it: the request
 * written, qv_points_search, the ids read back from its answer. */
static int engine_search_json(searcher *x, const float *q, uint32_t ef, uint32_t *got, uint32_t *n)
{
    qv_buf b = QV_BUF_INIT;
    bc_search_body(&b, q, S.dim, K, ef, x->filter);
    char *json;
    size_t len;
    qv_error err;
    qv_status rc = qv_points_search(x->db, "b", b.data, b.len, &json, &len, &err);
    qv_buf_free(&b);
    if (rc != QV_OK) {
        fprintf(stderr, "bench_hnsw: qv_points_search: %s\n", err.msg);
        return -1;
    }
    *n = 0;
    for (const char *p = json; *n < K && (p = strstr(p, "\"id\":")); p += 5)
        got[(*n)++] = (uint32_t)strtoul(p + 5, NULL, 10);
    qv_free(json);
    return 0;
}

/* Recall@K and queries/s of one configuration. truth: nq*K (filtered) or
 * NULL for the set's own. */
static void run(const char *label, searcher *x, uint32_t ef, const uint32_t *truth, double min_seconds)
{
    uint32_t got[K], n;
    double hits = 0;
    for (uint32_t q = 0; q < S.nq; q++) {
        if (x->search(x, S.queries + (size_t)q * S.dim, ef, got, &n))
            exit(1);
        if (truth) {
            for (uint32_t i = 0; i < n; i++)
                for (uint32_t r = 0; r < K; r++)
                    if (got[i] == truth[(size_t)q * K + r]) {
                        hits++;
                        break;
                    }
        } else {
            hits += sd_recall(&S, q, got, n, K) * K;
        }
    }
    size_t rounds = 0;
    struct timespec c0, c1;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
    double t0 = qv_mono_seconds(), el;
    do {
        for (uint32_t q = 0; q < S.nq; q++)
            x->search(x, S.queries + (size_t)q * S.dim, ef, got, &n);
        rounds++;
        el = qv_mono_seconds() - t0;
    } while (el < min_seconds);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
    double cpu = (c1.tv_sec - c0.tv_sec) + (c1.tv_nsec - c0.tv_nsec) * 1e-9;
    printf("quiver: %-23s ef %4u: recall@%d %.4f, %8.0f queries/s (1 thread), %8.0f per CPU second\n", label, ef,
           K, hits / ((double)S.nq * K), (double)(rounds * S.nq) / el, (double)(rounds * S.nq) / cpu);
}

/* The filtered sets: random allowed sets of 1% and 10% (bits), exact truth
 * over each. */
static const double FRACS[2] = {0.01, 0.10};
static uint64_t *FBITS[2];
static uint32_t *FTRUTH[2];

static bool allowed(int fi, uint64_t i) { return FBITS[fi][i >> 6] >> (i & 63) & 1; }

static void point_vector(jw *w, uint64_t id) { bc_write_floats(w, S.base + id * S.dim, S.dim); }

/* The filtered sets as payload flags f1 and f10. */
static void point_payload(jw *w, uint64_t id)
{
    jw_obj_begin(w);
    jw_key(w, "f1");
    jw_bool(w, allowed(0, id));
    jw_key(w, "f10");
    jw_bool(w, allowed(1, id));
    jw_obj_end(w);
}

static int engine_fail(const char *what, const qv_error *err)
{
    fprintf(stderr, "bench_hnsw: engine: %s: %s\n", what, err->msg);
    return -1;
}

/*
 * The same data through the engine, as a program embedding it gets it: a
 * collection in a temporary data directory, the points upserted as JSON
 * (wait=true, 1,000 a request, ids = base indices, payload f1/f10), the
 * background indexer's graph, then qv_search per query: unfiltered, 1% and
 * 10% on the flags without a payload index, then 1% with one.
 */
static int engine_bench(uint32_t m, uint32_t efc, const uint32_t *efs, uint32_t n_efs, double min_seconds)
{
    char dir[] = "/tmp/qv_bench_hnsw_XXXXXX";
    if (!mkdtemp(dir)) {
        perror("bench_hnsw: mkdtemp");
        return -1;
    }
    qv_db *db = NULL;
    qv_error err;
    bc_body_set bodies = {0};
    int rc = -1;
    char cfg[256];
    snprintf(cfg, sizeof cfg,
             "{\"vectors\":{\"size\":%u,\"distance\":\"Euclid\"},\"hnsw_config\":{\"m\":%u,\"ef_construct\":%u}}",
             S.dim, m, efc);
    if (qv_open(dir, &db, &err) != QV_OK || qv_collection_create(db, "b", cfg, strlen(cfg), &err) != QV_OK) {
        engine_fail("create", &err);
        goto done;
    }
    if (bc_build_bodies(&bodies, S.n, 1000, point_vector, point_payload)) {
        fprintf(stderr, "bench_hnsw: out of memory\n");
        goto done;
    }
    double t0 = qv_mono_seconds();
    for (size_t i = 0; i < bodies.n; i++) {
        qv_write_opts o = {.wait = true};
        qv_update_result res;
        if (qv_points_update(db, "b", QV_UPDATE_UPSERT, bodies.body[i].data, bodies.body[i].len, &o, &res, &err)) {
            engine_fail("upsert", &err);
            goto done;
        }
    }
    double up = qv_mono_seconds() - t0;
    /* The index: poll collection info until green, as a client would. */
    for (;;) {
        qv_collection_info info;
        if (qv_collection_info_get(db, "b", &info, &err) != QV_OK) {
            engine_fail("info", &err);
            goto done;
        }
        bool green = strcmp(info.status, "green") == 0;
        qv_free(info.config_json);
        qv_free(info.payload_schema_json);
        if (green)
            break;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    printf("quiver engine: upsert %.2f s (1 thread, wait=true), index ready %.2f s after the first write\n", up,
           qv_mono_seconds() - t0);
    searcher x = {.search = engine_search, .db = db};
    for (uint32_t e = 0; e < n_efs; e++)
        run("qv_search unfiltered", &x, efs[e], NULL, min_seconds);
    x.search = engine_search_json;
    for (uint32_t e = 0; e < n_efs; e++)
        run("qv_points_search (JSON)", &x, efs[e], NULL, min_seconds);
    x.search = engine_search;
    static const char *cond[2] = {"{\"key\":\"f1\",\"match\":{\"value\":true}}",
                                  "{\"key\":\"f10\",\"match\":{\"value\":true}}"};
    char flt[2][128];
    for (int fi = 0; fi < 2; fi++) {
        snprintf(flt[fi], sizeof flt[fi], "{\"must\":[%s]}", cond[fi]);
        char label[40];
        /* The same filter for every query (from the second on, the
         * planner's cache answers it), then a new one each query. */
        snprintf(label, sizeof label, "qv_search %.0f%%", FRACS[fi] * 100);
        x.filter = flt[fi];
        for (uint32_t e = 0; e < n_efs; e++)
            run(label, &x, efs[e], FTRUTH[fi], min_seconds);
        x.filter = cond[fi];
        static const char *const kinds[] = {"", "new, shared must", "new", "new condition"};
        for (x.unique = 1; x.unique <= 3; x.unique++) {
            snprintf(label, sizeof label, "qv_search %.0f%% %s", FRACS[fi] * 100, kinds[x.unique]);
            for (uint32_t e = 0; e < n_efs; e++)
                run(label, &x, efs[e], FTRUTH[fi], min_seconds);
        }
        x.unique = 0;
    }
    static const char idx[] = "{\"field_name\":\"f1\",\"field_schema\":\"bool\"}";
    qv_write_opts o = {.wait = true};
    qv_update_result res;
    if (qv_index_create(db, "b", idx, sizeof idx - 1, &o, &res, &err) != QV_OK) {
        engine_fail("index", &err);
        goto done;
    }
    x.filter = flt[0];
    for (uint32_t e = 0; e < n_efs; e++)
        run("qv_search 1% indexed", &x, efs[e], FTRUTH[0], min_seconds);
    rc = 0;
done:
    bc_free_bodies(&bodies);
    qv_close(db);
    qv_rm_rf(dir);
    return rc;
}

/* The graph alone (vector/hnsw.h): build on threads threads (or load it,
 * with reuse), memory, then each ef unfiltered and filtered (two-hop by
 * the selectivity, and plain for comparison). */
typedef struct repairer {
    hnsw            *g;
    const vec_dense *col;
    const uint64_t  *doomed;
    uint32_t         n;
    atomic_uint     *next;
} repairer;

static void *repair_job(void *arg)
{
    repairer *r = arg;
    qv_error err;
    for (uint32_t from; (from = atomic_fetch_add(r->next, 1024)) < r->n;)
        if (hnsw_repair(r->g, r->col, r->doomed, r->n, from, from + 1024, &err) != QV_OK) {
            fprintf(stderr, "bench_hnsw: repair: %s\n", err.msg);
            exit(1);
        }
    return NULL;
}

/* --repair: delete half the points, search with the tombstones, repair
 * (hnsw_repair on `threads` threads, then hnsw_drop), search again. */
static void bench_repair(hnsw *g, const vec_dense *col, const uint32_t *efs, uint32_t n_efs, int threads,
                         double min_seconds)
{
    const sd_set *s = &S;
    uint64_t *live = calloc((s->n + 63) / 64, 8);
    uint32_t *truth = malloc((size_t)s->nq * K * sizeof *truth);
    if (!live || !truth)
        exit(1);
    searcher x = {.search = graph_search, .g = g, .col = col};
    size_t words = (s->n + 63) / 64;
    uint64_t *doomed = calloc(words, 8);
    memset(live, 0, words * 8);
    uint64_t r = 777;
    for (uint32_t i = 0; i < s->n; i++) {
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        if (r >> 63) {
            doomed[i >> 6] |= 1ull << (i & 63);
            hnsw_delete(g, i);
        } else {
            live[i >> 6] |= 1ull << (i & 63);
        }
    }
    for (uint32_t q = 0; q < s->nq; q++)
        brute_allowed(s->queries + (size_t)q * s->dim, live, truth + (size_t)q * K);
    uint32_t dead = hnsw_deleted(g);
    for (uint32_t e = 0; e < n_efs; e++)
        run("half tombstones", &x, efs[e], truth, min_seconds);
    atomic_uint next = 0;
    repairer rp = {g, col, doomed, s->n, &next};
    pthread_t t[64];
    struct timespec c0, c1;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
    double t0 = qv_mono_seconds();
    for (int i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, repair_job, &rp);
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    double relink = qv_mono_seconds() - t0;
    uint32_t dropped = hnsw_drop(g, doomed, s->n);
    double total = qv_mono_seconds() - t0;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
    printf("quiver: repair of %u tombstones: relink %.2f s on %d threads, drop %.3f s, %.2f CPU s; %u dropped, "
           "%u nodes left\n", dead, relink, threads, total - relink,
           (c1.tv_sec - c0.tv_sec) + (c1.tv_nsec - c0.tv_nsec) * 1e-9, dropped, hnsw_count(g));
    for (uint32_t e = 0; e < n_efs; e++)
        run("half repaired", &x, efs[e], truth, min_seconds);
    free(doomed);
    free(live);
    free(truth);
}

static int graph_bench(const sd_opts *o, const char *dir, uint32_t m, uint32_t efc, int threads, int reuse,
                       int repair, const uint32_t *efs, uint32_t n_efs, double min_seconds)
{
    /* The column: the base vectors copied into chunks, as core keeps them. */
    vec_dense col = {.name = "", .dim = S.dim};
    uint32_t chunks = (S.n + VEC_CHUNK - 1) / VEC_CHUNK;
    col.chunks = calloc(chunks, sizeof *col.chunks);
    col.has = calloc((size_t)chunks * VEC_CHUNK / 64, 8);
    for (uint32_t c = 0; c < chunks; c++)
        if (!col.chunks || !(col.chunks[c] = vec_chunk_alloc(S.dim, false)))
            return -1;
    for (uint32_t i = 0; i < S.n; i++) {
        memcpy((float *)vec_dense_get(&col, i), S.base + (size_t)i * S.dim, S.dim * sizeof(float));
        col.has[i >> 6] |= 1ull << (i & 63);
    }

    hnsw_params p = {.m = m, .ef_construct = efc, .metric = DIST_EUCLID, .dim = S.dim, .seed = o->seed};
    hnsw *g;
    qv_error err;
    char gname[160], gpath[512];
    snprintf(gname, sizeof gname, "%s.m%u.efc%u.hnsw", S.key, m, efc);
    snprintf(gpath, sizeof gpath, "%s/%s", dir, gname);
    if (reuse) {
        double l0 = qv_mono_seconds();
        if (hnsw_load(gpath, UINT32_MAX - 1, &g, &err) == QV_OK) {
            printf("quiver: graph loaded from %s in %.3f s (no build)\n", gpath, qv_mono_seconds() - l0);
            goto built;
        }
        printf("quiver: no saved graph (%s): building\n", err.msg);
    }
    if (hnsw_new(&p, S.n, &g, &err) != QV_OK) {
        fprintf(stderr, "bench_hnsw: %s\n", err.msg);
        return -1;
    }
    atomic_uint next = 0;
    builder b = {g, &col, S.n, &next, 0, 0};
    pthread_t t[64];
    double t0 = qv_mono_seconds();
    for (int i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, build_job, &b);
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    double build = qv_mono_seconds() - t0;
    if (b.failed)
        return -1;
    printf("quiver: n %u dim %u M %u ef_construction %u: build %.2f s on %d threads (%.0f points/s; %.2f CPU s), "
           "kernels %s\n", S.n, S.dim, m, efc, build, threads, S.n / build, (double)b.cpu, dist_kernels_best()->name);
    if (reuse && hnsw_save(g, dir, gname, &err) != QV_OK)
        fprintf(stderr, "bench_hnsw: %s\n", err.msg);
built:;
    size_t mem = hnsw_memory(g);
    size_t per_slot = (size_t)(1 + 2 * m) * 4 + 1 + sizeof(void *);
    double upper = (double)(mem - (size_t)S.n * per_slot) / S.n;
    printf("quiver: graph memory %.1f B/point (level 0 %zu B, upper %.1f B, pointer+level %zu B)\n",
           (double)mem / S.n, (size_t)(1 + 2 * m) * 4, upper, 1 + sizeof(void *));

    searcher x = {.search = graph_search, .g = g, .col = &col};
    for (uint32_t e = 0; e < n_efs; e++)
        run("graph unfiltered", &x, efs[e], NULL, min_seconds);
    for (int fi = 0; fi < 2; fi++) {
        char label[40];
        hnsw_filter f = {.allowed = FBITS[fi], .allowed_slots = S.n, .selectivity = (float)FRACS[fi]};
        x.f = &f;
        snprintf(label, sizeof label, "graph %.0f%% two-hop", FRACS[fi] * 100);
        for (uint32_t e = 0; e < n_efs; e++)
            run(label, &x, efs[e], FTRUTH[fi], min_seconds);
        f.selectivity = 0;  /* plain: traverse everything, return matches */
        snprintf(label, sizeof label, "graph %.0f%% plain", FRACS[fi] * 100);
        for (uint32_t e = 0; e < n_efs; e++)
            run(label, &x, efs[e], FTRUTH[fi], min_seconds);
    }
    if (repair)
        bench_repair(g, &col, efs, n_efs, threads, min_seconds);
    hnsw_free(g);
    for (uint32_t c = 0; c < chunks; c++)
        vec_chunk_free(col.chunks[c], S.dim, false);
    free(col.chunks);
    free(col.has);
    return 0;
}

int main(int argc, char **argv)
{
    sd_opts o = {.set = "clustered", .seed = 42};
    uint32_t m = 16, efc = 200, efs[16] = {16, 32, 64, 128, 256}, n_efs = 5;
    int threads = 2;
    const char *ref = NULL;
    double min_seconds = 0.5;
    int reuse = 0, ref_only = 0, repair = 0, engine = 1, graph = 1;
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
        if (!strcmp(a, "--reuse")) {  /* load the graph saved by an earlier run, else build and save it */
            reuse = 1;
            i--;
            continue;
        }
        if (!strcmp(a, "--repair")) {  /* at the end: delete half, repair, search again */
            repair = 1;
            i--;
            continue;
        }
        if (!strcmp(a, "--no-graph")) {  /* the engine alone */
            graph = 0;
            i--;
            continue;
        }
        if (!strcmp(a, "--no-engine")) {  /* the graph alone */
            engine = 0;
            i--;
            continue;
        }
        if (!strcmp(a, "--ref-only")) {  /* only run the reference */
            ref_only = 1;
            i--;
            continue;
        }
        if (!strcmp(a, "--set"))
            o.set = v;
        else if (!strcmp(a, "--seed"))
            o.seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--n"))
            o.n = (uint32_t)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--dim"))
            o.dim = (uint32_t)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--queries"))
            o.nq = (uint32_t)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--M"))
            m = (uint32_t)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--efc"))
            efc = (uint32_t)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--threads"))
            threads = atoi(v);
        else if (!strcmp(a, "--cache"))
            o.cache_dir = v;
        else if (!strcmp(a, "--ref"))
            ref = v;
        else if (!strcmp(a, "--min-seconds"))
            min_seconds = atof(v);
        else if (!strcmp(a, "--efs")) {
            n_efs = 0;
            for (char *p = (char *)v; *p && n_efs < 16;) {
                efs[n_efs++] = (uint32_t)strtoul(p, &p, 10);
                if (*p == ',')
                    p++;
            }
        } else {
            fprintf(stderr, "bench_hnsw: unknown option %s\n", a);
            return 2;
        }
    }
    if (threads < 1 || threads > 64)
        threads = 2;
    if (sd_prepare(&o, &S) != 0)
        return 1;
    /* The filtered sets and their truth, shared by the graph and the engine. */
    for (int fi = 0; fi < 2; fi++) {
        FBITS[fi] = calloc((S.n + 63) / 64, 8);
        FTRUTH[fi] = malloc((size_t)S.nq * K * sizeof *FTRUTH[fi]);
        if (!FBITS[fi] || !FTRUTH[fi])
            return 1;
        uint64_t r = 12345 + fi;
        for (uint32_t i = 0; i < S.n; i++) {
            r = r * 6364136223846793005ull + 1442695040888963407ull;
            if ((double)(r >> 11) * 0x1.0p-53 < FRACS[fi])
                FBITS[fi][i >> 6] |= 1ull << (i & 63);
        }
        for (uint32_t q = 0; q < S.nq; q++)
            brute_allowed(S.queries + (size_t)q * S.dim, FBITS[fi], FTRUTH[fi] + (size_t)q * K);
    }

    const char *dir = o.cache_dir ? o.cache_dir : "build/bench-cache";
    if (ref_only)
        goto reference;
    if ((graph && graph_bench(&o, dir, m, efc, threads, reuse, repair, efs, n_efs, min_seconds)) ||
        (engine && engine_bench(m, efc, efs, n_efs, min_seconds)))
        return 1;

reference:;
    int rc = 0;
    if (ref) {
        char cmd[1024];
        char efl[128] = "";
        for (uint32_t e = 0; e < n_efs; e++)
            snprintf(efl + strlen(efl), sizeof efl - strlen(efl), "%s%u", e ? "," : "", efs[e]);
        snprintf(cmd, sizeof cmd, "'%s' --data '%s/%s' --M %u --efc %u --threads %d --efs %s --min-seconds %g", ref,
                 dir, S.key, m, efc, threads, efl, min_seconds);
        fflush(stdout);
        rc = system(cmd) == 0 ? 0 : 1;
    }
    for (int fi = 0; fi < 2; fi++) {
        free(FBITS[fi]);
        free(FTRUTH[fi]);
    }
    sd_free(&S);
    return rc;
}
