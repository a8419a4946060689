/* bench_hnsw.c — the HNSW graph (vector/hnsw.h) on a search data set
 * (search_data.h), in process: build time on --threads threads, graph
 * memory per point, then for each ef recall@10 and queries/s on one
 * thread, unfiltered and filtered at 1% and 10% (two-hop mode, with plain
 * mode for comparison). With --ref BIN it then runs bench/ref_hnswlib on
 * the very same cached files, so both sets of figures come from one run.
 *
 *   bench_hnsw [--set clustered] [--seed 42] [--n N] [--dim D] [--queries Q]
 *              [--M 16] [--efc 200] [--threads 2] [--efs 16,32,64,128,256]
 *              [--cache DIR] [--ref PATH] [--ref-only] [--reuse] [--repair] [--min-seconds 0.5]
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

#include "search_data.h"
#include "vector/hnsw.h"

#define K 10

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

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
static void brute_allowed(const sd_set *s, const float *q, const uint64_t *bits, uint32_t *out)
{
    dist_fn fn = dist_order_fn(dist_kernels_best(), DIST_EUCLID);
    float bd[K];
    uint32_t n = 0;
    for (uint32_t i = 0; i < s->n; i++) {
        if (!(bits[i >> 6] >> (i & 63) & 1))
            continue;
        float x = fn(q, s->base + (size_t)i * s->dim, s->dim);
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

/* Recall@K and queries/s of one configuration. truth: nq*K (filtered) or
 * NULL for the set's own. */
static void run(const char *label, hnsw *g, const vec_dense *col, const sd_set *s, uint32_t ef,
                const hnsw_filter *f, const uint32_t *truth, double min_seconds)
{
    hnsw_hit out[K];
    uint32_t got[K], n;
    qv_error err;
    double hits = 0;
    for (uint32_t q = 0; q < s->nq; q++) {
        if (hnsw_search(g, col, s->queries + (size_t)q * s->dim, K, ef, f, out, &n, &err) != QV_OK) {
            fprintf(stderr, "bench_hnsw: search: %s\n", err.msg);
            exit(1);
        }
        for (uint32_t i = 0; i < n; i++)
            got[i] = out[i].slot;
        if (truth) {
            for (uint32_t i = 0; i < n; i++)
                for (uint32_t r = 0; r < K; r++)
                    if (got[i] == truth[(size_t)q * K + r]) {
                        hits++;
                        break;
                    }
        } else {
            hits += sd_recall(s, q, got, n, K) * K;
        }
    }
    size_t rounds = 0;
    struct timespec c0, c1;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
    double t0 = now(), el;
    do {
        for (uint32_t q = 0; q < s->nq; q++)
            hnsw_search(g, col, s->queries + (size_t)q * s->dim, K, ef, f, out, &n, &err);
        rounds++;
        el = now() - t0;
    } while (el < min_seconds);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
    double cpu = (c1.tv_sec - c0.tv_sec) + (c1.tv_nsec - c0.tv_nsec) * 1e-9;
    printf("quiver: %-16s ef %4u: recall@%d %.4f, %8.0f queries/s (1 thread), %8.0f per CPU second\n", label, ef, K,
           hits / ((double)s->nq * K), (double)(rounds * s->nq) / el, (double)(rounds * s->nq) / cpu);
}

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
static void bench_repair(hnsw *g, const vec_dense *col, const sd_set *s, const uint32_t *efs, uint32_t n_efs,
                         int threads, uint64_t *live, uint32_t *truth, double min_seconds)
{
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
        brute_allowed(s, s->queries + (size_t)q * s->dim, live, truth + (size_t)q * K);
    uint32_t dead = hnsw_deleted(g);
    for (uint32_t e = 0; e < n_efs; e++)
        run("half tombstones", g, col, s, efs[e], NULL, truth, min_seconds);
    atomic_uint next = 0;
    repairer rp = {g, col, doomed, s->n, &next};
    pthread_t t[64];
    struct timespec c0, c1;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
    double t0 = now();
    for (int i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, repair_job, &rp);
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    double relink = now() - t0;
    uint32_t dropped = hnsw_drop(g, doomed, s->n);
    double total = now() - t0;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
    printf("quiver: repair of %u tombstones: relink %.2f s on %d threads, drop %.3f s, %.2f CPU s; %u dropped, "
           "%u nodes left\n", dead, relink, threads, total - relink,
           (c1.tv_sec - c0.tv_sec) + (c1.tv_nsec - c0.tv_nsec) * 1e-9, dropped, hnsw_count(g));
    for (uint32_t e = 0; e < n_efs; e++)
        run("half repaired", g, col, s, efs[e], NULL, truth, min_seconds);
    free(doomed);
}

int main(int argc, char **argv)
{
    sd_opts o = {.set = "clustered", .seed = 42};
    uint32_t m = 16, efc = 200, efs[16] = {16, 32, 64, 128, 256}, n_efs = 5;
    int threads = 2;
    const char *ref = NULL;
    double min_seconds = 0.5;
    int reuse = 0, ref_only = 0, repair = 0;
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
    sd_set s;
    if (sd_prepare(&o, &s) != 0)
        return 1;

    const char *dir = o.cache_dir ? o.cache_dir : "build/bench-cache";
    if (ref_only)
        goto reference;
    /* The column: the base vectors copied into chunks, as core keeps them. */
    vec_dense col = {.name = "", .dim = s.dim};
    uint32_t chunks = (s.n + VEC_CHUNK - 1) / VEC_CHUNK;
    col.chunks = calloc(chunks, sizeof *col.chunks);
    col.has = calloc((size_t)chunks * VEC_CHUNK / 64, 8);
    for (uint32_t c = 0; c < chunks; c++)
        if (!col.chunks || !(col.chunks[c] = vec_chunk_alloc(s.dim)))
            return 1;
    for (uint32_t i = 0; i < s.n; i++) {
        memcpy((float *)vec_dense_get(&col, i), s.base + (size_t)i * s.dim, s.dim * sizeof(float));
        col.has[i >> 6] |= 1ull << (i & 63);
    }

    hnsw_params p = {.m = m, .ef_construct = efc, .metric = DIST_EUCLID, .dim = s.dim, .seed = o.seed};
    hnsw *g;
    qv_error err;
    char gname[160], gpath[512];
    snprintf(gname, sizeof gname, "%s.m%u.efc%u.hnsw", s.key, m, efc);
    snprintf(gpath, sizeof gpath, "%s/%s", dir, gname);
    if (reuse) {
        double l0 = now();
        if (hnsw_load(gpath, UINT32_MAX - 1, &g, &err) == QV_OK) {
            printf("quiver: graph loaded from %s in %.3f s (no build)\n", gpath, now() - l0);
            goto built;
        }
        printf("quiver: no saved graph (%s): building\n", err.msg);
    }
    if (hnsw_new(&p, s.n, &g, &err) != QV_OK) {
        fprintf(stderr, "bench_hnsw: %s\n", err.msg);
        return 1;
    }
    atomic_uint next = 0;
    builder b = {g, &col, s.n, &next, 0, 0};
    pthread_t t[64];
    double t0 = now();
    for (int i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, build_job, &b);
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    double build = now() - t0;
    if (b.failed)
        return 1;
    printf("quiver: n %u dim %u M %u ef_construction %u: build %.2f s on %d threads (%.0f points/s; %.2f CPU s), "
           "kernels %s\n", s.n, s.dim, m, efc, build, threads, s.n / build, (double)b.cpu, dist_kernels_best()->name);
    if (reuse && hnsw_save(g, dir, gname, &err) != QV_OK)
        fprintf(stderr, "bench_hnsw: %s\n", err.msg);
built:;
    size_t mem = hnsw_memory(g);
    size_t per_slot = (size_t)(1 + 2 * m) * 4 + 1 + sizeof(void *);
    double upper = (double)(mem - (size_t)s.n * per_slot) / s.n;
    printf("quiver: graph memory %.1f B/point (level 0 %zu B, upper %.1f B, pointer+level %zu B)\n",
           (double)mem / s.n, (size_t)(1 + 2 * m) * 4, upper, 1 + sizeof(void *));

    for (uint32_t e = 0; e < n_efs; e++)
        run("unfiltered", g, &col, &s, efs[e], NULL, NULL, min_seconds);

    /* Filtered: random allowed sets of 1% and 10%, exact truth over them. */
    const double fracs[2] = {0.01, 0.10};
    uint64_t *bits = calloc((s.n + 63) / 64, 8);
    uint32_t *truth = malloc((size_t)s.nq * K * sizeof *truth);
    for (int fi = 0; fi < 2; fi++) {
        memset(bits, 0, (s.n + 63) / 64 * 8);
        uint64_t r = 12345 + fi;
        for (uint32_t i = 0; i < s.n; i++) {
            r = r * 6364136223846793005ull + 1442695040888963407ull;
            if ((double)(r >> 11) * 0x1.0p-53 < fracs[fi])
                bits[i >> 6] |= 1ull << (i & 63);
        }
        for (uint32_t q = 0; q < s.nq; q++)
            brute_allowed(&s, s.queries + (size_t)q * s.dim, bits, truth + (size_t)q * K);
        char label[32];
        hnsw_filter f = {.allowed = bits, .allowed_slots = s.n, .selectivity = (float)fracs[fi]};
        snprintf(label, sizeof label, "%.0f%% two-hop", fracs[fi] * 100);
        for (uint32_t e = 0; e < n_efs; e++)
            run(label, g, &col, &s, efs[e], &f, truth, min_seconds);
        f.selectivity = 0;  /* plain: traverse everything, return matches */
        snprintf(label, sizeof label, "%.0f%% plain", fracs[fi] * 100);
        for (uint32_t e = 0; e < n_efs; e++)
            run(label, g, &col, &s, efs[e], &f, truth, min_seconds);
    }
    if (repair)
        bench_repair(g, &col, &s, efs, n_efs, threads, bits, truth, min_seconds);
    free(bits);
    free(truth);
    hnsw_free(g);
    for (uint32_t c = 0; c < chunks; c++)
        vec_chunk_free(col.chunks[c]);
    free(col.chunks);
    free(col.has);

reference:;
    int rc = 0;
    if (ref) {
        char cmd[1024];
        char efl[128] = "";
        for (uint32_t e = 0; e < n_efs; e++)
            snprintf(efl + strlen(efl), sizeof efl - strlen(efl), "%s%u", e ? "," : "", efs[e]);
        snprintf(cmd, sizeof cmd, "'%s' --data '%s/%s' --M %u --efc %u --threads %d --efs %s --min-seconds %g", ref,
                 dir, s.key, m, efc, threads, efl, min_seconds);
        fflush(stdout);
        rc = system(cmd) == 0 ? 0 : 1;
    }
    sd_free(&s);
    return rc;
}
