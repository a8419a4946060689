/*
 * bench_restart — how long a restart of an indexed collection takes to
 * answer searches with its graph loaded.
 *
 * Usage: bench_restart [--on-disk] [--points N | --quick] [--connections C] [QUIVER_BIN]
 *   N defaults to 1,000,000 (--quick: 20,000); 128 dims, Cosine, hnsw m 16,
 *   ef_construct 100 (Qdrant's defaults); C upload connections (default 2);
 *   --on-disk: the vectors with on_disk true (kept in mapped chunk files).
 *   Also reported: the upload's points/s per 10% and write latency, and the
 *   server's RSS after the upload, right after the restart and after the
 *   searches.
 *
 * One run: start the server on a fresh storage dir, upload N points in
 * bodies of 1,000, wait until the collection is green (graph built: the
 * build time is reported), search 100 queries, stop it with SIGTERM (a clean
 * stop writes a checkpoint with the graph: that time is reported too), then
 * start it again on the same dir and time, from the fork, (a) until it
 * listens (the collections are loaded before that) and (b) until
 * GET /collections/bench says green and a search answers. The restart is
 * ready at (b): target <= 5 s at 1,000,000 points. The 100 queries must
 * answer as before the restart, and indexed_vectors_count must be N right
 * away (a graph rebuilt would not be). The server's own line "opened in …:
 * checkpoint … s (… bytes), graphs … s (… bytes), log … s" splits the load;
 * the files' sizes are the bytes read.
 *
 * Figures are printed, never asserted; the exit status is non-zero only
 * when something failed.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_common.h"
#include "json/jw.h"
#include "util/buf.h"

#define DIM          128
#define BATCH        1000
#define QUERIES      100
#define QUICK_POINTS 20000
#define TARGET_SECS  5.0  /* at 1,000,000 points */

static uint64_t seed_of(uint64_t id) { return id * 0x9E3779B97F4A7C15ull + 12345; }

static void vector_of(uint64_t id, float *v)
{
    uint64_t s = seed_of(id);
    for (int i = 0; i < DIM; i++)
        v[i] = (float)((int64_t)(bc_splitmix64(&s) >> 40) - (1 << 23)) / (float)(1 << 23);
}

static void write_vector(jw *w, uint64_t id)
{
    float v[DIM];
    vector_of(id, v);
    jw_arr_begin(w);
    for (int i = 0; i < DIM; i++)
        jw_f32(w, v[i]);
    jw_arr_end(w);
}

static void write_payload(jw *w, uint64_t id)
{
    jw_obj_begin(w);
    jw_key(w, "i");
    jw_uint(w, id);
    jw_obj_end(w);
}

/* GET /collections/bench: its status is green, and indexed_vectors_count.
 * On a connection of its own: a long wait may outlast keep-alive. */
static int info(unsigned port, bool *green, uint64_t *indexed)
{
    qv_buf r = QV_BUF_INIT;
    int rc = bc_request_once(port, "GET", "/collections/bench", NULL, &r);
    if (rc == 0) {
        *green = strstr((const char *)r.data, "\"status\":\"green\"") != NULL;
        const char *p = strstr((const char *)r.data, "\"indexed_vectors_count\":");
        *indexed = p ? strtoull(p + strlen("\"indexed_vectors_count\":"), NULL, 10) : 0;
    }
    qv_buf_free(&r);
    return rc;
}

/* The ids the graph answers for the queries, one line of text each. */
static int search_all(unsigned port, size_t n_points, qv_buf *out)
{
    bc_conn conn, *c = &conn;
    bc_conn_init(c, port);
    int rc = 0;
    out->len = 0;
    for (int q = 0; q < QUERIES; q++) {
        qv_buf body = QV_BUF_INIT, r = QV_BUF_INIT;
        jw w;
        jw_init(&w, &body);
        jw_obj_begin(&w);
        jw_key(&w, "vector");
        write_vector(&w, n_points + (uint64_t)q);  /* not a stored point */
        jw_key(&w, "limit");
        jw_uint(&w, 10);
        jw_obj_end(&w);
        qv_buf_putc(&body, '\0');
        rc = bc_request_ok(c, "POST", "/collections/bench/points/search", (const char *)body.data, &r);
        for (const char *p = rc ? NULL : (const char *)r.data; p && (p = strstr(p, "\"id\":")); p += 5) {
            qv_buf_printf(out, "%llu ", strtoull(p + 5, NULL, 10));
        }
        qv_buf_putc(out, '\n');
        qv_buf_free(&body);
        qv_buf_free(&r);
        if (rc)
            break;
    }
    bc_conn_free(c);
    return rc;
}

/* Bytes of the files in the collection's directory, by kind. */
static void file_sizes(const char *storage, uint64_t *snap, uint64_t *graphs, uint64_t *wal)
{
    char dir[PATH_MAX + 32], path[2 * PATH_MAX];
    snprintf(dir, sizeof dir, "%s/collections/bench", storage);
    *snap = *graphs = *wal = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &st) != 0)
            continue;
        if (strcmp(e->d_name, "points.snap") == 0 || strncmp(e->d_name, "vec-", 4) == 0 ||
            strncmp(e->d_name, "blk-", 4) == 0)  /* the checkpoint: its chunk and block files too */
            *snap += (uint64_t)st.st_size;
        else if (strncmp(e->d_name, "hnsw-", 5) == 0)
            *graphs += (uint64_t)st.st_size;
        else if (strncmp(e->d_name, "wal-", 4) == 0 && strlen(e->d_name) > 8 &&
                 strcmp(e->d_name + strlen(e->d_name) - 4, ".log") == 0)  /* the log's segments */
            *wal += (uint64_t)st.st_size;
    }
    if (d)
        closedir(d);
}

/* The server's RSS, and as a share of the vectors' bytes. */
static void report_rss(const bc_server *srv, const char *when, size_t points)
{
    uint64_t rss = 0, hwm = 0;
    double vec = (double)points * DIM * sizeof(float);
    if (bc_proc_memory(srv->pid, &rss, &hwm) == 0)
        printf("memory %s: server VmRSS %.1f MB = %.2fx the vectors' %.1f MB\n", when, rss / MB, rss / vec,
               vec / MB);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);  /* in order with the server's lines on stderr */
    bc_args a;
    bool on_disk = false;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--on-disk") == 0) {
            on_disk = true;
            memmove(argv + i, argv + i + 1, (size_t)(argc - i) * sizeof *argv);
            argc--;
            break;
        }
    if (bc_parse_args(argc, argv, "bench_restart", 1000000, QUICK_POINTS, 2, &a))
        return 2;
    /* A clean stop of a million points writes ~700 MB; loading reads it. */
    bc_start_timeout_ms = bc_stop_timeout_ms = 600000;
    bc_server srv;
    bc_body_set bodies = {0};
    qv_buf before = QV_BUF_INIT, after = QV_BUF_INIT;
    int rc = -1;
    char storage[PATH_MAX];
    if (bc_server_start(&srv, a.bin))
        goto out;
    snprintf(storage, sizeof storage, "%s", srv.dir);
    printf("restart: %zu points x %d dims%s, storage on %s\n", a.points, DIM, on_disk ? ", vectors on_disk" : "",
           bc_fs_kind(storage));
    qv_buf r = QV_BUF_INIT;
    if (bc_request_once(srv.port, "PUT", "/collections/bench",
                        on_disk ? "{\"vectors\":{\"size\":128,\"distance\":\"Cosine\",\"on_disk\":true},"
                                  "\"hnsw_config\":{\"m\":16,\"ef_construct\":100}}"
                                : "{\"vectors\":{\"size\":128,\"distance\":\"Cosine\"},"
                                  "\"hnsw_config\":{\"m\":16,\"ef_construct\":100}}",
                        &r))
        goto out;
    qv_buf_free(&r);
    if (bc_build_bodies(&bodies, a.points, BATCH, write_vector, write_payload)) {
        fprintf(stderr, "out of memory building bodies\n");
        goto out;
    }
    double secs;
    double *lat = calloc(bodies.n ? bodies.n : 1, sizeof *lat), *when = calloc(bodies.n ? bodies.n : 1, sizeof *when);
    if (!lat || !when || bc_run_upload_timed(srv.port, &bodies, a.conns, &secs, lat, when)) {
        free(lat);
        free(when);
        goto out;
    }
    printf("upload: %.1f s\n", secs);
    bc_report_upload_timing("upload", lat, when, bodies.n, BATCH);
    free(lat);
    free(when);
    bc_free_bodies(&bodies);
    report_rss(&srv, "after the upload", a.points);
    double t0 = bc_now();
    bool green = false;
    uint64_t indexed = 0;
    while (!green) {
        if (info(srv.port, &green, &indexed))
            goto out;
        if (!green)
            usleep(200000);
    }
    printf("index build (after the upload): %.1f s, %" PRIu64 " vectors indexed\n", bc_now() - t0, indexed);
    if (indexed != a.points) {
        fprintf(stderr, "indexed_vectors_count %" PRIu64 ", expected %zu\n", indexed, a.points);
        goto out;
    }
    if (search_all(srv.port, a.points, &before))
        goto out;

    t0 = bc_now();
    if (bc_server_halt(&srv))
        goto out;
    printf("clean stop (checkpoint with the graph): %.1f s\n", bc_now() - t0);
    uint64_t snap, graphs, wal;
    file_sizes(storage, &snap, &graphs, &wal);
    printf("files: checkpoint (points.snap, vec-*.dat, blk-*.dat) %.1f MB, graphs %.1f MB, log (wal-*.log) %.3f MB\n",
           snap / MB, graphs / MB, wal / MB);

    t0 = bc_now();
    if (bc_server_start_in(&srv, a.bin, storage))
        goto out;
    double listening = bc_now() - t0;
    report_rss(&srv, "right after the restart", a.points);
    uint64_t first_indexed = 0;
    bool first = true;
    green = false;
    while (!green) {
        if (info(srv.port, &green, &indexed))
            goto out;
        if (first)
            first_indexed = indexed;
        first = false;
    }
    if (search_all(srv.port, a.points, &after))
        goto out;
    double ready = bc_now() - t0;
    report_rss(&srv, "after the restart's searches", a.points);
    printf("restart: listening after %.2f s; green and searching after %.2f s (the first 100 searches "
           "included); indexed_vectors_count at once: %" PRIu64 "\n",
           listening, ready, first_indexed);
    printf("restart bytes read: %.1f MB (checkpoint %.1f, graphs %.1f, log %.3f); the server's split is "
           "its \"opened in\" line above\n", (snap + graphs + wal) / MB, snap / MB, graphs / MB, wal / MB);
    bool same = before.len == after.len && memcmp(before.data, after.data, before.len) == 0;
    printf("searches after the restart equal those before: %s\n", same ? "yes" : "NO");
    if (a.points == 1000000)
        printf("target: ready in <= %.0f s at 1,000,000 points: %s\n", TARGET_SECS,
               bc_verdict(ready <= TARGET_SECS));
    rc = same && first_indexed == a.points ? 0 : -1;
out:
    bc_free_bodies(&bodies);
    qv_buf_free(&before);
    qv_buf_free(&after);
    if (bc_server_stop(&srv))
        rc = -1;
    return rc ? 1 : 0;
}
