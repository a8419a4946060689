/*
 * bench_upload — end-to-end upload speed and memory of the real server,
 * set against the JSON reader alone on the very same request bodies.
 *
 * Usage: bench_upload [--points N | --quick] [--connections C] [QUIVER_BIN]
 *   QUIVER_BIN defaults to $QUIVER_BIN, else build/quiver. --quick = 10,000 points.
 *   C (default 2, at most 8) is for experiments; the parse-only figures always use
 *   2 threads, the cores of the machine this was written for.
 *
 * One run: start `quiver serve` on a free port with a fresh storage dir (under
 * $TMPDIR or /tmp), create collection "bench" (128 dims, Cosine), upload N
 * points in bodies of 1,000 with PUT .../points?wait=true over C keep-alive
 * connections, one thread each; report the server's CPU time per thread (was
 * the work spread over its workers?) and its VmRSS/VmHWM; check a little of
 * what was stored; time the reader with the handler's options (+ every vector element as float, the
 * handler's first step) on the same bodies in 1 and 2 threads; stop the
 * server. Bodies are built before the clock starts, so the upload figure is
 * the server's speed plus the loopback, not the client's.
 *
 * Prints one "name: figure" line per figure; MB = 10^6 bytes. Figures are
 * compared with their targets in the text only: the exit status is non-zero
 * only when something failed (server, HTTP status, stored data).
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "core/ops.h"
#include "json/jr.h"
#include "json/jw.h"
#include "util/arena.h"
#include "util/buf.h"

#define DIM          128
#define BATCH        1000
#define CONNS        2          /* upload connections by default = cores here */
#define PARSE_THREADS 2         /* the ideal parallel parse on 2 cores */
#define QUICK_POINTS 10000

#define TARGET_RATIO_MIN 0.50   /* end-to-end MB/s over parse-only MB/s */
#define TARGET_MEM_MAX   1.50   /* server RSS over raw data size */

/* ------------------------------------------------------------------ data */

/* The vector of point id, from a seed of its own, so that verification can
 * regenerate any point without keeping 51 MB of originals. Components are
 * k / 2^23 for k in [-2^23, 2^23): uniform in [-1, 1), exact in a float, and
 * 8-9 significant digits long in JSON, as real embeddings print. */
static void point_vector(uint64_t id, float *v)
{
    uint64_t s = id * 0xD1B54A32D192ED03ull + 42;
    for (int j = 0; j < DIM; j++) {
        int64_t k = (int64_t)(bc_splitmix64(&s) >> 40) - (1 << 23);
        v[j] = (float)k / (float)(1 << 23);
    }
}

static unsigned point_category(uint64_t id) { return (unsigned)(id * 7 % 100); }

/* {"category":"c17","price":123,"tags":["a","b"]}, values varying with id. */
static void write_payload(jw *w, uint64_t id)
{
    static const char *const tags[] = {"a", "b", "c", "d"};
    char cat[16];
    snprintf(cat, sizeof cat, "c%u", point_category(id));
    jw_obj_begin(w);
    jw_key(w, "category");
    jw_str(w, cat);
    jw_key(w, "price");
    jw_uint(w, id * 37 % 1000);
    jw_key(w, "tags");
    jw_arr_begin(w);
    for (uint64_t t = 0; t <= id % 3; t++)
        jw_str(w, tags[(id + t) % 4]);
    jw_arr_end(w);
    jw_obj_end(w);
}

static void write_vector(jw *w, uint64_t id)
{
    float v[DIM];
    point_vector(id, v);
    jw_arr_begin(w);
    for (int j = 0; j < DIM; j++)
        jw_f32(w, v[j]);
    jw_arr_end(w);
}

/* ------------------------------------------------------------ parse-only */

typedef struct parse_worker {
    bc_work_queue *q;
    double         sum;    /* of every element, so the walk cannot be skipped */
    char           err[200];
} parse_worker;

/* What the upsert handler does first: the tree, with vectors in float form
 * (the reader options the handler uses), then every element as float. */
static int parse_and_walk(qv_arena *a, const qv_buf *b, double *sum, char *err, size_t cap)
{
    jr_value *root;
    jr_error e;
    if (jr_parse_opts(a, b->data, b->len, &ops_json_opts, &root, &e) != 0) {
        snprintf(err, cap, "parse: %s at %u:%u", e.msg, e.line, e.column);
        return -1;
    }
    const jr_value *pts = jr_get(root, "points");
    for (uint32_t i = 0; pts && i < pts->len; i++) {
        const jr_value *vec = jr_get(&pts->u.items[i], "vector");
        for (uint32_t j = 0; vec && j < vec->len; j++) {
            float f;
            if (jr_is_f32_array(vec))
                *sum += vec->u.f32[j];
            else if (jr_get_f32(&vec->u.items[j], &f))
                *sum += f;
        }
    }
    return 0;
}

static void *parse_thread(void *arg)
{
    parse_worker *w = arg;
    qv_arena a;
    /* Big enough for a whole body's tree (~4 MB), so that every reset reuses
     * one block: this is the reader at its best, the bound to compare with. */
    qv_arena_init(&a, 8u << 20);
    size_t i;
    while (!atomic_load(&w->q->failed) &&
           (i = atomic_fetch_add(&w->q->next, 1)) < w->q->bodies->n) {
        if (parse_and_walk(&a, &w->q->bodies->body[i], &w->sum, w->err, sizeof w->err) != 0) {
            atomic_store(&w->q->failed, true);
            break;
        }
        qv_arena_reset(&a);
    }
    qv_arena_free(&a);
    return NULL;
}

/* Parses every body once, spread over threads; returns the wall time or -1. */
static double run_parse(const bc_body_set *bs, int threads)
{
    bc_work_queue q = {.bodies = bs};
    parse_worker w[PARSE_THREADS];
    pthread_t t[PARSE_THREADS];
    int started = 0;
    double t0 = bc_now();
    for (; started < threads; started++) {
        memset(&w[started], 0, sizeof w[started]);
        w[started].q = &q;
        if (pthread_create(&t[started], NULL, parse_thread, &w[started]) != 0)
            break;
    }
    for (int i = 0; i < started; i++)
        pthread_join(t[i], NULL);
    double secs = bc_now() - t0;
    for (int i = 0; i < started; i++)
        if (w[i].err[0]) {
            fprintf(stderr, "parse-only: %s\n", w[i].err);
            return -1;
        }
    return started == threads ? secs : -1;
}

/* --------------------------------------------------------------- verify */

static int get_json(unsigned port, const char *path, qv_buf *resp, qv_arena *a,
                    const jr_value **result)
{
    jr_value *root;
    jr_error e;
    if (bc_request_once(port, "GET", path, NULL, resp) != 0)
        return -1;
    if (jr_parse(a, resp->data, resp->len, &root, &e) != 0 || !jr_get(root, "result")) {
        fprintf(stderr, "GET %s: unexpected answer %.200s\n", path, resp->data);
        return -1;
    }
    *result = jr_get(root, "result");
    return 0;
}

static int verify_count(unsigned port, size_t points, qv_buf *resp, qv_arena *a)
{
    const jr_value *res;
    uint64_t count;
    if (get_json(port, "/collections/bench", resp, a, &res) != 0)
        return -1;
    if (!jr_get_u64(jr_get(res, "points_count"), &count) || count != points) {
        fprintf(stderr, "verify: points_count is not %zu in %.300s\n", points, resp->data);
        return -1;
    }
    printf("verify: points_count %" PRIu64 " ok\n", count);
    return 0;
}

/* Largest |stored - normalised original| over the vector, or -1 if unreadable. */
static double vector_error(const jr_value *vec, uint64_t id)
{
    float v[DIM];
    point_vector(id, v);
    double norm = 0;
    for (int j = 0; j < DIM; j++)
        norm += (double)v[j] * v[j];
    norm = sqrt(norm);
    if (!jr_is(vec, JR_ARRAY) || vec->len != DIM)
        return -1;
    double worst = 0;
    for (int j = 0; j < DIM; j++) {
        float f;
        if (!jr_get_f32(&vec->u.items[j], &f))
            return -1;
        double d = fabs((double)f - v[j] / norm);
        worst = d > worst ? d : worst;
    }
    return worst;
}

static int verify_point(unsigned port, size_t points, qv_buf *resp, qv_arena *a)
{
    /* A different point each run, named in the output to replay a failure. */
    uint64_t seed = (uint64_t)(bc_now() * 1e9);
    uint64_t id = bc_splitmix64(&seed) % points;
    char path[96], cat[16];
    snprintf(path, sizeof path, "/collections/bench/points/%" PRIu64, id);
    snprintf(cat, sizeof cat, "c%u", point_category(id));
    const jr_value *res, *pc;
    uint64_t got_id;
    if (get_json(port, path, resp, a, &res) != 0)
        return -1;
    double err = vector_error(jr_get(res, "vector"), id);
    pc = jr_get(jr_get(res, "payload"), "category");
    if (!jr_get_u64(jr_get(res, "id"), &got_id) || got_id != id || err < 0 || err > 1e-6 ||
        !jr_is(pc, JR_STRING) || strcmp(pc->u.str, cat) != 0) {
        fprintf(stderr, "verify: point %" PRIu64 " differs (max |diff| %g): %.300s\n", id, err,
                resp->data);
        return -1;
    }
    printf("verify: point %" PRIu64 " vector = normalised original (max |diff| %.1e <= 1e-6), "
           "payload ok\n", id, err);
    return 0;
}

static int verify(unsigned port, size_t points)
{
    qv_buf resp = QV_BUF_INIT;
    qv_arena a;
    qv_arena_init(&a, 0);
    int rc = verify_count(port, points, &resp, &a);
    if (rc == 0 && points > 0)
        rc = verify_point(port, points, &resp, &a);
    qv_arena_free(&a);
    qv_buf_free(&resp);
    return rc;
}

/* --------------------------------------------------------------- report */

static void report_memory(const char *when, uint64_t base_rss, uint64_t rss, uint64_t hwm,
                          double raw)
{
    bool met = rss / raw <= TARGET_MEM_MAX;
    printf("memory %s: server VmRSS %.1f MB = %.2fx raw data, %.2fx without the idle %.1f MB "
           "(target <= %.1fx: %s)\n", when, rss / MB, rss / raw, ((double)rss - base_rss) / raw,
           base_rss / MB, TARGET_MEM_MAX, bc_verdict(met));
    printf("memory: server VmHWM %.1f MB = %.2fx raw data, %.2fx without the idle %.1f MB\n",
           hwm / MB, hwm / raw, ((double)hwm - base_rss) / raw, base_rss / MB);
}

static void report_ratio(double upload_mbs, double parse1_mbs, double parse2_mbs)
{
    double r = upload_mbs / parse2_mbs;
    printf("ratio: end-to-end / parse-only (%d threads) = %.0f%% (target >= %.0f%%: %s)\n",
           PARSE_THREADS, 100 * r, 100 * TARGET_RATIO_MIN, bc_verdict(r >= TARGET_RATIO_MIN));
    printf("ratio: end-to-end / parse-only (1 thread) = %.0f%%\n", 100 * upload_mbs / parse1_mbs);
}

/* ----------------------------------------------------------------- main */


/* Upload, memory, verification and parse-only, with the server running. */
static int bench(const bc_server *srv, size_t points, int conns)
{
    bc_body_set bs;
    uint64_t base_rss = 0, base_hwm = 0, rss = 0, hwm = 0;
    static bc_cpu_snapshot cpu0, cpu1;  /* 3 KB each: off the stack */
    double t_up, t_p1, t_p2, t0 = bc_now();
    int rc = -1;
    qv_buf resp = QV_BUF_INIT;

    if (bc_proc_memory(srv->pid, &base_rss, &base_hwm) == 0)
        printf("memory: idle server VmRSS %.1f MB (VmHWM %.1f MB)\n", base_rss / MB,
               base_hwm / MB);
    if (bc_build_bodies(&bs, points, BATCH, write_vector, write_payload) != 0) {
        fprintf(stderr, "out of memory building the bodies\n");
        goto done;
    }
    printf("bodies: %zu x %d points of %d floats, %.1f MB of JSON (built in %.2f s)\n", bs.n,
           BATCH, DIM, bs.bytes / MB, bc_now() - t0);
    /* The write path alone: no HNSW index (indexing_threshold 0, as for a
     * bulk load in Qdrant); bench_search_http measures an upload that
     * indexes as it goes. */
    if (bc_request_once(srv->port, "PUT", "/collections/bench",
                     "{\"vectors\":{\"size\":128,\"distance\":\"Cosine\"},"
                     "\"optimizers_config\":{\"indexing_threshold\":0}}", &resp) != 0)
        goto done;
    printf("collection: 128-d Cosine, indexing_threshold 0 (the write path without the HNSW index)\n");
    bc_cpu_snap(srv->pid, &cpu0);
    bc_cpu_use u0 = bc_cpu_use_now();
    double *lat = calloc(bs.n ? bs.n : 1, sizeof *lat), *when = calloc(bs.n ? bs.n : 1, sizeof *when);
    if (!lat || !when || bc_run_upload_timed(srv->port, &bs, conns, &t_up, lat, when) != 0) {
        free(lat);
        free(when);
        goto done;
    }
    bc_cpu_use u1 = bc_cpu_use_now();
    bc_cpu_snap(srv->pid, &cpu1);
    double up_mbs = bs.bytes / t_up / MB;
    printf("upload: %zu points in %.3f s = %.0f points/s, %.1f MB/s "
           "(%d connection%s, batches of %d, wait=true)\n",
           points, t_up, points / t_up, up_mbs, conns, conns == 1 ? "" : "s", BATCH);
    bc_report_cpu("upload", &cpu0, &cpu1, t_up, u0, u1);
    bc_report_upload_timing("upload", lat, when, bs.n, BATCH);
    free(lat);
    free(when);

    double raw = (double)points * DIM * sizeof(float) + (double)bs.payload_bytes;
    printf("raw data: %.1f MB vectors + %.1f MB payload JSON = %.1f MB\n",
           (double)points * DIM * sizeof(float) / MB, bs.payload_bytes / MB, raw / MB);
    if (bc_proc_memory(srv->pid, &rss, &hwm) == 0)
        report_memory("right after the upload", base_rss, rss, hwm, raw);
    else
        printf("memory: /proc/%d/status unreadable\n", (int)srv->pid);
    /* Idle server threads give their per-thread request buffers back after
     * a moment (IDLE_RELEASE_MS in http.c, 1 s for a collection's writer):
     * measure again once that has happened, to show what the data costs. */
    sleep(2);
    if (bc_proc_memory(srv->pid, &rss, &hwm) == 0)
        report_memory("after 2 s idle", base_rss, rss, hwm, raw);

    if (verify(srv->port, points) != 0)
        goto done;

    if ((t_p1 = run_parse(&bs, 1)) < 0 || (t_p2 = run_parse(&bs, PARSE_THREADS)) < 0)
        goto done;
    double p1 = bs.bytes / t_p1 / MB, p2 = bs.bytes / t_p2 / MB;
    printf("parse-only: 1 thread  %.1f MB/s = %.0f points/s (jr_parse_opts as the handler + every "
           "element as float)\n", p1, points / t_p1);
    printf("parse-only: %d threads %.1f MB/s = %.0f points/s (%.2fx of 1 thread)\n", PARSE_THREADS, p2,
           points / t_p2, p2 / p1);
    report_ratio(up_mbs, p1, p2);
    rc = 0;
done:
    qv_buf_free(&resp);
    bc_free_bodies(&bs);
    return rc;
}

int main(int argc, char **argv)
{
    bc_args args;
    if (bc_parse_args(argc, argv, "bench_upload", 100000, QUICK_POINTS, CONNS, &args) != 0)
        return 2;
    const char *bin = args.bin;
    size_t points = args.points;
    int conns = args.conns;
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);  /* lines show up as they are measured */

    bc_server srv;
    int rc = 1;
    if (bc_server_start(&srv, bin) == 0) {
        printf("server: %s pid %d on 127.0.0.1:%u, storage %s (%s)\n", bin, (int)srv.pid,
               srv.port, srv.dir, bc_fs_kind(srv.dir));
        rc = bench(&srv, points, conns) == 0 ? 0 : 1;
    }
    if (bc_server_stop(&srv) != 0)
        rc = 1;
    return rc;
}
