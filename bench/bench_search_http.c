/*
 * bench_search_http.c — search through the real server: upload a data set
 * of bench/search_data.h (Euclid), wait for the HNSW index, then recall@10
 * and queries/s over HTTP on 1 and 2 keep-alive connections for hnsw_ef
 * 16…256, unfiltered and filtered at 1% and 10% (payload flags p1, p10);
 * then ef 64 on one connection while as many points again stream in
 * ("upload"). Figures are printed, never asserted.
 *
 *   bench_search_http [--set clustered] [--seed 42] [--n N] [--m 16] [--efc 200]
 *                     [--queries N] [--efs 16,32,64,128,256] [--filters none,1%,10%,upload]
 *                     [--cache DIR] [--storage DIR] [QUIVER_BIN]
 *
 * --storage DIR keeps the server's data directory: a later run on it finds
 * the collection indexed (saved with its graph at the clean stop) and goes
 * straight to the searches, which is how a profiler wrapped around the
 * server (QUIVER_BIN a script that execs valgrind ... quiver "$@") sees
 * searches only.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "search_data.h"
#include "vector/dist.h"

static sd_set S;

static void point_vector(jw *w, uint64_t id) { bc_write_floats(w, S.base + id * S.dim, S.dim); }

/* Points uploaded while searches run: copies of the base moved far away
 * (+1000 in every dimension), so they are indexed like the others but never
 * among a query's nearest: recall stays measured against the same truth. */
static void far_vector(jw *w, uint64_t id)
{
    float v[4096];
    const float *b = S.base + (id - S.n) * S.dim;
    for (uint32_t d = 0; d < S.dim && d < 4096; d++)
        v[d] = b[d] + 1000.0f;
    bc_write_floats(w, v, S.dim < 4096 ? S.dim : 4096);
}

static void point_payload(jw *w, uint64_t id)
{
    jw_obj_begin(w);
    jw_key(w, "p1");
    jw_bool(w, id % 100 == 0);
    jw_key(w, "p10");
    jw_bool(w, id % 10 == 0);
    jw_obj_end(w);
}

/* Exact top-10 among the ids with id % every == 0 (filtered ground truth). */
static uint32_t *filtered_truth(uint32_t nq, uint32_t every)
{
    uint32_t *gt = malloc((size_t)nq * 10 * sizeof *gt);
    const dist_kernels *k = dist_kernels_best();
    for (uint32_t q = 0; gt && q < nq; q++) {
        float best[10];
        uint32_t ids[10], n = 0;
        for (uint32_t i = 0; i < S.n; i += every) {
            float d = k->l2sq(S.queries + (size_t)q * S.dim, S.base + (size_t)i * S.dim, S.dim);
            if (n == 10 && d >= best[9])
                continue;
            uint32_t j = n < 10 ? n++ : 9;
            while (j > 0 && best[j - 1] > d) {
                best[j] = best[j - 1];
                ids[j] = ids[j - 1];
                j--;
            }
            best[j] = d;
            ids[j] = i;
        }
        memcpy(gt + (size_t)q * 10, ids, sizeof ids);
    }
    return gt;
}

typedef struct run {
    unsigned        port;
    uint32_t        nq, ef;
    const qv_buf   *bodies;    /* nq request bodies, written before the clock starts */
    const uint32_t *gt;        /* 10 per query when filtered, else NULL (S.gt) */
    atomic_uint     next;
    double          recall;    /* summed */
    double          server;    /* summed "time" of the answers: seconds inside the server */
    pthread_mutex_t m;
    int             failed;
} run;

static void *query_thread(void *arg)
{
    run *r = arg;
    bc_conn c;
    bc_conn_init(&c, r->port);
    qv_buf resp = QV_BUF_INIT;
    double sum = 0, server = 0;
    for (;;) {
        uint32_t q = atomic_fetch_add(&r->next, 1);
        if (q >= r->nq)
            break;
        const qv_buf *body = &r->bodies[q];
        resp.len = 0;
        int status;
        if (bc_request(&c, "POST", "/collections/bench/points/search", body->data, body->len, &status, &resp) ||
            status != 200) {
            fprintf(stderr, "search: %s %.200s\n", c.err, resp.data ? resp.data : "");
            r->failed = 1;
            break;
        }
        const char *tm = strstr(resp.data, "\"time\":");
        if (tm)
            server += strtod(tm + 7, NULL);
        uint32_t got[10], n = 0;
        for (const char *p = resp.data; n < 10 && (p = strstr(p, "\"id\":")); p += 5)
            got[n++] = (uint32_t)strtoul(p + 5, NULL, 10);
        if (r->gt) {
            uint32_t hit = 0;
            for (uint32_t i = 0; i < n; i++)
                for (uint32_t j = 0; j < 10; j++)
                    hit += got[i] == r->gt[(size_t)q * 10 + j];
            sum += hit / 10.0;
        } else {
            sum += sd_recall(&S, q, got, n, 10);
        }
    }
    pthread_mutex_lock(&r->m);
    r->recall += sum;
    r->server += server;
    pthread_mutex_unlock(&r->m);
    qv_buf_free(&resp);
    bc_conn_free(&c);
    return NULL;
}

typedef struct streaming {
    unsigned           port;
    const bc_body_set *bodies;
    double             secs;
    int                rc;
    atomic_bool        done;
} streaming;

static void *stream_upload(void *arg)
{
    streaming *u = arg;
    u->rc = bc_run_upload(u->port, u->bodies, 1, &u->secs);
    atomic_store(&u->done, true);
    return NULL;
}

static int measure(unsigned port, uint32_t nq, uint32_t ef, int conns, const char *filter, const uint32_t *gt,
                   double *recall, double *qps, double *server_us)
{
    qv_buf *bodies = calloc(nq, sizeof *bodies);
    if (!bodies)
        return -1;
    for (uint32_t q = 0; q < nq; q++)
        bc_search_body(&bodies[q], S.queries + (size_t)q * S.dim, S.dim, 10, ef, filter);
    run r = {.port = port, .nq = nq, .ef = ef, .bodies = bodies, .gt = gt};
    pthread_mutex_init(&r.m, NULL);
    pthread_t t[MAX_CONNS];
    double t0 = bc_now();
    for (int i = 0; i < conns; i++)
        pthread_create(&t[i], NULL, query_thread, &r);
    for (int i = 0; i < conns; i++)
        pthread_join(t[i], NULL);
    double secs = bc_now() - t0;
    pthread_mutex_destroy(&r.m);
    *recall = r.recall / nq;
    *qps = nq / secs;
    *server_us = r.server / nq * 1e6;
    for (uint32_t q = 0; q < nq; q++)
        qv_buf_free(&bodies[q]);
    free(bodies);
    return r.failed ? -1 : 0;
}

/* Whether the comma-separated list names name ("1%" is not "10%"). */
static bool listed(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list;; p++) {
        size_t len = strcspn(p, ",");
        if (len == n && strncmp(p, name, n) == 0)
            return true;
        if (!p[len])
            return false;
        p += len;
    }
}

int main(int argc, char **argv)
{
    const char *set = "clustered", *bin = getenv("QUIVER_BIN"), *cache = NULL, *storage = NULL;
    unsigned long long seed = 42, m = 16, efc = 200, nq = 1000, n = 0;
    const char *filter_names = "none,1%,10%,upload";
    uint32_t efs[16] = {16, 32, 64, 128, 256}, n_efs = 5;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--set") && i + 1 < argc)
            set = argv[++i];
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--m") && i + 1 < argc)
            m = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--efc") && i + 1 < argc)
            efc = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--n") && i + 1 < argc)
            n = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--filters") && i + 1 < argc)
            filter_names = argv[++i];
        else if (!strcmp(argv[i], "--efs") && i + 1 < argc) {
            n_efs = 0;
            for (char *p = argv[++i]; *p && n_efs < 16;) {
                efs[n_efs++] = (uint32_t)strtoul(p, &p, 10);
                if (*p == ',')
                    p++;
            }
        } else if (!strcmp(argv[i], "--queries") && i + 1 < argc)
            nq = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--cache") && i + 1 < argc)
            cache = argv[++i];
        else if (!strcmp(argv[i], "--storage") && i + 1 < argc)
            storage = argv[++i];
        else if (argv[i][0] != '-')
            bin = argv[i];
        else {
            fprintf(stderr, "usage: bench_search_http [--set S] [--seed N] [--n N] [--m M] [--efc E] [--queries N] "
                            "[--efs E,...] [--filters none,1%%,10%%,upload] [--cache DIR] [--storage DIR] [QUIVER_BIN]\n");
            return 2;
        }
    }
    if (!bin)
        bin = "build/quiver";
    if (sd_prepare(&(sd_opts){.set = set, .seed = seed, .n = (uint32_t)n, .cache_dir = cache}, &S))
        return 1;
    if (nq > S.nq)
        nq = S.nq;
    bc_server srv = {0};
    bc_body_set bodies = {0};
    int rc = 1;
    if (storage && mkdir(storage, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "mkdir %s: %s\n", storage, strerror(errno));
        goto done;
    }
    if (storage ? bc_server_start_in(&srv, bin, storage) : bc_server_start(&srv, bin))
        goto done;
    qv_buf resp = QV_BUF_INIT;
    bc_conn probe;
    bc_conn_init(&probe, srv.port);
    int probe_status = 0;
    bool have = storage && bc_request(&probe, "GET", "/collections/bench", NULL, 0, &probe_status, &resp) == 0 &&
                probe_status == 200 && strstr(resp.data, "\"status\":\"green\"");
    bc_conn_free(&probe);
    if (have) {
        printf("set %s: %u x %u, the indexed collection kept in %s\n", S.key, S.n, S.dim, storage);
        goto search;
    }
    /* A set smaller than the default indexing_threshold (10,000 KB) is
     * indexed all the same: the graph is what is measured. */
    char create[256];
    bool small = (uint64_t)S.n * S.dim * 4 < 10000u * 1024;
    snprintf(create, sizeof create,
             "{\"vectors\":{\"size\":%u,\"distance\":\"Euclid\"},\"hnsw_config\":{\"m\":%llu,\"ef_construct\":%llu}%s}",
             S.dim, m, efc, small ? ",\"optimizers_config\":{\"indexing_threshold\":1}" : "");
    if (bc_request_once(srv.port, "PUT", "/collections/bench", create, &resp))
        goto done;
    if (bc_build_bodies(&bodies, S.n, 1000, point_vector, point_payload))
        goto done;
    double up;
    double t0 = bc_now();
    if (bc_run_upload(srv.port, &bodies, 2, &up))
        goto done;
    /* The index: poll collection info until green (the indexer starts once
     * indexing_threshold is passed, during the upload). */
    double ready;
    for (;;) {
        resp.len = 0;
        if (bc_request_once(srv.port, "GET", "/collections/bench", NULL, &resp))
            goto done;
        if (strstr(resp.data, "\"status\":\"green\""))
            break;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    ready = bc_now() - t0;
    uint64_t rss = 0, hwm = 0;
    bc_proc_memory(srv.pid, &rss, &hwm);
    printf("set %s: %u x %u, m %llu, ef_construct %llu; upload %.2f s (2 connections, wait=true), "
           "index ready %.2f s after the first write; server RSS %.0f MB\n",
           S.key, S.n, S.dim, m, efc, up, ready, rss / MB);
search:
    /* server µs: the answers' own "time", from the request's headers to its
     * envelope; the rest of a round trip is the network, the client and
     * the hand-offs around it. */
    printf("%-10s %6s %10s %11s %11s %11s %11s\n", "filter", "ef", "recall@10", "q/s 1 conn", "server µs",
           "q/s 2 conn", "server µs");
    /* Filtered truth only for the filters asked for (a scan of the set per query). */
    uint32_t *gt1 = listed(filter_names, "1%") ? filtered_truth((uint32_t)nq, 100) : NULL;
    uint32_t *gt10 = listed(filter_names, "10%") ? filtered_truth((uint32_t)nq, 10) : NULL;
    struct {
        const char     *name, *json;
        const uint32_t *gt;
    } filters[] = {
        {"none", NULL, NULL},
        {"1%", "{\"must\":[{\"key\":\"p1\",\"match\":{\"value\":true}}]}", gt1},
        {"10%", "{\"must\":[{\"key\":\"p10\",\"match\":{\"value\":true}}]}", gt10},
    };
    for (size_t f = 0; f < 3; f++)
        for (size_t e = 0; e < n_efs && listed(filter_names, filters[f].name); e++) {
            double r1, q1, s1, r2, q2, s2;
            if (measure(srv.port, (uint32_t)nq, efs[e], 1, filters[f].json, filters[f].gt, &r1, &q1, &s1) ||
                measure(srv.port, (uint32_t)nq, efs[e], 2, filters[f].json, filters[f].gt, &r2, &q2, &s2))
                goto done;
            printf("%-10s %6u %10.3f %11.0f %11.0f %11.0f %11.0f\n", filters[f].name, efs[e], r1, q1, s1, q2, s2);
        }
    free(gt1);
    free(gt10);
    /* Search while an upload streams in: as many far points as the set
     * (1,000 a request, wait=true, one connection), and meanwhile rounds
     * of the queries at ef 64 on one connection, until it ends. Points not
     * indexed yet are scored exactly by every search, so this shows what
     * the indexer's lag costs. */
    if (listed(filter_names, "upload")) {
        bc_body_set far = {0};
        if (bc_build_bodies_from(&far, S.n, S.n, 1000, far_vector, point_payload))
            goto done;
        streaming u = {.port = srv.port, .bodies = &far};
        pthread_t t;
        double searched = 0, recall_sum = 0, t1 = bc_now();
        int rounds = 0;
        pthread_create(&t, NULL, stream_upload, &u);
        while (!atomic_load(&u.done)) {
            double r1, q1, s1;
            if (measure(srv.port, (uint32_t)(nq < 100 ? nq : 100), 64, 1, NULL, NULL, &r1, &q1, &s1))
                break;
            searched += nq < 100 ? nq : 100;
            recall_sum += r1 * (nq < 100 ? nq : 100);
            rounds++;
        }
        double wall = bc_now() - t1;
        pthread_join(t, NULL);
        bc_free_bodies(&far);
        if (u.rc)
            goto done;
        printf("during an upload of %u more points (1 connection, %.2f s): ef 64 on 1 connection, %.0f queries, "
               "recall@10 %.3f, %.0f q/s\n", S.n, u.secs, searched, searched ? recall_sum / searched : 0,
               searched / wall);
    }
    qv_buf_free(&resp);
    rc = 0;
done:
    bc_free_bodies(&bodies);
    if (storage ? bc_server_halt(&srv) : bc_server_stop(&srv))
        rc = 1;
    sd_free(&S);
    return rc;
}
