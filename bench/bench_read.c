/*
 * bench_read — the read path of the real server: whole-collection scroll
 * set against the JSON writer alone on the very same bytes, and filtered
 * count / scroll with and without a keyword payload index.
 *
 * Usage: bench_read [--points N | --quick] [--connections C] [QUIVER_BIN]
 *   N defaults to 1,000,000; --quick = 100,000. QUIVER_BIN defaults to
 *   $QUIVER_BIN, else build/quiver. C (default 2, at most 8) is the number of
 *   upload connections.
 *
 * One run: start `quiver serve` on a free port with a fresh storage dir (as
 * bench_upload does, see bench_common.h); create collection "bench" (8 dims,
 * Dot: small vectors keep the upload quick, Dot keeps them as sent); upload N
 * points in bodies of 10,000 with wait=true over C connections. Each point
 * has the payload {"kw":"k123","i":4567,"f":0.123,"tags":["t3","t17"]}: kw
 * takes 1,000 values, each exactly once in every 1,000 consecutive ids.
 * Then, with VmRSS after the upload:
 *   1. scroll everything in pages of 1,000 following next_page_offset, with
 *      payloads, then with payloads and vectors: points/s, MB/s of response;
 *   2. write the same pages with jw alone (ids, payloads, vectors from the
 *      generator, into one reused buffer: the writer at its best) and check
 *      that every page is byte for byte the server's answer, but for "time";
 *      the ratio scroll time / writer time is compared with <= 2x;
 *   3. count and scroll (limit 1,000) with the filter kw = "k7" (0.1% of the
 *      points), REPS times each, without an index, then after creating a
 *      keyword index on kw (timed; VmRSS after it), then again: the speed-up
 *      is compared with >= 100x, and both answers must be equal.
 * Stop the server.
 *
 * Prints one "name: figure" line per figure; MB = 10^6 bytes. Figures are
 * compared with their targets in the text only: the exit status is non-zero
 * only when something failed (server, HTTP status, a wrong or inconsistent
 * answer).
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "json/jw.h"
#include "util/buf.h"
#include "util/crc32c.h"

#define DIM            8
#define BATCH          10000    /* points per upload body */
#define PAGE           1000     /* scroll limit */
#define KW_VALUES      1000
#define KW_PICK        7        /* the filter's value: k7 */
#define N_TAGS         20
#define CONNS          2
#define REPS           20       /* filtered requests timed per figure */
#define DEFAULT_POINTS 1000000
#define QUICK_POINTS   100000

#define TARGET_SCROLL_RATIO_MAX 2.0    /* full scroll time over writer-only time */
#define TARGET_SPEEDUP_MIN      100.0  /* filtered count without / with the index */

#define SCROLL_PATH "/collections/bench/points/scroll"
#define COUNT_PATH  "/collections/bench/points/count"
#define FILTER_JSON "{\"must\":[{\"key\":\"kw\",\"match\":{\"value\":\"k7\"}}]}"

/* ------------------------------------------------------------------ data */

/* 1,000 values, a permutation within every block of 1,000 ids (7919 is
 * prime to 1,000), so k7 matches exactly 0.1% of any whole number of blocks
 * and its points are spread evenly: a scan cannot stop early. */
static unsigned point_kw(uint64_t id) { return (unsigned)(id * 7919 % KW_VALUES); }

/* Components k / 2^23 for k in [-2^23, 2^23), exact in a float and 8-9
 * significant digits in JSON, as real embeddings print (as in bench_upload). */
static void point_vector(uint64_t id, float *v)
{
    uint64_t s = id * 0xD1B54A32D192ED03ull + 42;
    for (int j = 0; j < DIM; j++) {
        int64_t k = (int64_t)(bc_splitmix64(&s) >> 40) - (1 << 23);
        v[j] = (float)k / (float)(1 << 23);
    }
}

/* {"kw":"k123","i":4567,"f":0.123,"tags":["t3","t17"]}, from id alone so
 * that the writer-only run can print exactly what the server stored. f has
 * 1-3 decimals and is printed as a double both here and by the server. */
static void write_payload(jw *w, uint64_t id)
{
    uint64_t s = id * 0x9E6C63D0676A9A99ull + 7;
    uint64_t h = bc_splitmix64(&s);
    char kw[16], tag[16];
    snprintf(kw, sizeof kw, "k%u", point_kw(id));
    jw_obj_begin(w);
    jw_key(w, "kw");
    jw_str(w, kw);
    jw_key(w, "i");
    jw_uint(w, h % 10000);
    jw_key(w, "f");
    jw_f64(w, (double)(h >> 20 & 1023) / 1000.0);
    jw_key(w, "tags");
    jw_arr_begin(w);
    for (unsigned t = 0; t <= (h >> 40) % 3; t++) {
        snprintf(tag, sizeof tag, "t%u", (unsigned)((h >> (44 + 5 * t)) % N_TAGS));
        jw_str(w, tag);
    }
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


static size_t expected_matches(size_t points)
{
    size_t n = 0;
    for (uint64_t id = 0; id < points; id++)
        n += point_kw(id) == KW_PICK;
    return n;
}

/* ------------------------------------------------------- response checks */

/* The last occurrence of needle in b, or NULL. The fields looked for sit
 * at the end of a response, so this costs a few bytes, not the whole body. */
static const char *find_last(const qv_buf *b, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t at = b->len >= n ? b->len - n + 1 : 0; at-- > 0;)
        if (memcmp(b->data + at, needle, n) == 0)
            return b->data + at;
    return NULL;
}

/* CRC-32C of a response but for its "time", which differs on every call:
 * two answers with equal CRCs carry the same result. */
static uint32_t result_crc(const qv_buf *b)
{
    const char *t = find_last(b, ",\"time\":");
    return qv_crc32c(0, b->data, t ? (size_t)(t - b->data) : b->len);
}

/* next_page_offset of a scroll answer: 1 and *off, 0 for null, -1 if absent. */
static int next_offset(const qv_buf *b, uint64_t *off)
{
    const char *p = find_last(b, "\"next_page_offset\":");
    if (!p)
        return -1;
    p += strlen("\"next_page_offset\":");
    if (strncmp(p, "null", 4) == 0)
        return 0;
    char *end;
    *off = strtoull(p, &end, 10);
    return end > p ? 1 : -1;
}

/* Records open with {"id": and no payload here has an "id" key. */
static size_t count_records(const qv_buf *b)
{
    size_t n = 0;
    for (const char *p = b->data; (p = memmem(p, b->len - (size_t)(p - b->data), "{\"id\":", 6));
         p += 6)
        n++;
    return n;
}

/* ----------------------------------------------------------- full scroll */

/* One pass over the collection, by the server or by the writer alone. */
typedef struct pass {
    size_t    points, pages, bytes;
    double    secs;
    double    client_secs;  /* of secs, spent checking answers in this process */
    uint32_t *crc;          /* per page: result_crc */
    size_t    max_pages;
} pass;

static int pass_init(pass *p, size_t points)
{
    memset(p, 0, sizeof *p);
    p->max_pages = (points + PAGE - 1) / PAGE;
    p->crc = calloc(p->max_pages, sizeof *p->crc);
    return p->crc ? 0 : -1;
}

static void scroll_request(char *body, size_t cap, bool vectors, bool first, uint64_t off)
{
    char offset[40] = "";
    if (!first)
        snprintf(offset, sizeof offset, "\"offset\":%" PRIu64 ",", off);
    snprintf(body, cap, "{\"limit\":%d,%s\"with_payload\":true,\"with_vector\":%s}", PAGE, offset,
             vectors ? "true" : "false");
}

/* Records one page of a scroll whose next_offset() was next. */
static int scroll_page(pass *p, const qv_buf *resp, int next)
{
    double t0 = bc_now();
    if (next < 0 || p->pages == p->max_pages) {
        fprintf(stderr, "scroll: page %zu unexpected (%s): %.200s\n", p->pages,
                next < 0 ? "no next_page_offset" : "more pages than points", resp->data);
        return -1;
    }
    p->crc[p->pages++] = result_crc(resp);
    p->points += count_records(resp);
    p->bytes += resp->len;
    p->client_secs += bc_now() - t0;
    return 0;
}

static int send_scroll(bc_conn *c, bool vectors, bool first, uint64_t off)
{
    char body[160];
    scroll_request(body, sizeof body, vectors, first, off);
    if (bc_send(c, "POST", SCROLL_PATH, body, strlen(body)) == 0)
        return 0;
    fprintf(stderr, "scroll: %s\n", c->err);
    return -1;
}

static int receive_ok(bc_conn *c, qv_buf *resp)
{
    int status = 0;
    if (bc_receive(c, &status, resp) != 0)
        fprintf(stderr, "scroll: %s\n", c->err);
    else if (status != 200)
        fprintf(stderr, "scroll: HTTP %d %.200s\n", status, resp->data);
    else
        return 0;
    return -1;
}

/* Scrolls the whole collection over c, following next_page_offset. The
 * next request goes out before this page is checked, so that the checks
 * overlap the server's work instead of adding to the time measured. */
static int scroll_all(bc_conn *c, bool vectors, size_t points, pass *p)
{
    qv_buf resp = QV_BUF_INIT;
    uint64_t off = 0;
    int next = 1;
    int rc = pass_init(p, points);
    double t0 = bc_now();
    if (rc == 0)
        rc = send_scroll(c, vectors, true, 0);
    while (rc == 0 && next == 1) {
        if ((rc = receive_ok(c, &resp)) != 0)
            break;
        next = next_offset(&resp, &off);
        if (next == 1)
            rc = send_scroll(c, vectors, false, off);
        if (rc == 0)
            rc = scroll_page(p, &resp, next);
    }
    p->secs = bc_now() - t0;
    qv_buf_free(&resp);
    if (rc == 0 && (p->points != points || p->pages != p->max_pages)) {
        fprintf(stderr, "scroll: %zu points in %zu pages, expected %zu in %zu\n", p->points,
                p->pages, points, p->max_pages);
        rc = -1;
    }
    return rc;
}

/* ----------------------------------------------------------- writer-only */

static void write_record(jw *w, uint64_t id, bool vectors)
{
    jw_obj_begin(w);
    jw_key(w, "id");
    jw_uint(w, id);
    jw_key(w, "payload");
    write_payload(w, id);
    jw_key(w, "vector");
    if (vectors)
        write_vector(w, id);
    else
        jw_null(w);
    jw_obj_end(w);
}

/* The server's whole answer to one scroll page, envelope and all. */
static void write_page(qv_buf *b, uint64_t first, size_t points, bool vectors)
{
    double t0 = bc_now();
    uint64_t end = first + PAGE < points ? first + PAGE : points;
    jw w;
    jw_init(&w, b);
    jw_obj_begin(&w);
    jw_key(&w, "result");
    jw_obj_begin(&w);
    jw_key(&w, "points");
    jw_arr_begin(&w);
    for (uint64_t id = first; id < end; id++)
        write_record(&w, id, vectors);
    jw_arr_end(&w);
    jw_key(&w, "next_page_offset");
    if (end < points)
        jw_uint(&w, end);
    else
        jw_null(&w);
    jw_obj_end(&w);
    jw_key(&w, "status");
    jw_str(&w, "ok");
    jw_key(&w, "time");  /* as the server: seconds spent, a double */
    jw_f64(&w, bc_now() - t0);
    jw_obj_end(&w);
}

/* Every page written into one reused buffer: no allocation after the first
 * pages, which is the writer at its best, the bound to compare with. Only
 * the writing is timed, not the checksums. */
static int writer_only(size_t points, bool vectors, pass *p)
{
    qv_buf b = QV_BUF_INIT;
    if (pass_init(p, points) != 0)
        return -1;
    for (uint64_t first = 0; first < points; first += PAGE) {
        b.len = 0;
        double t0 = bc_now();
        write_page(&b, first, points, vectors);
        p->secs += bc_now() - t0;
        p->crc[p->pages++] = result_crc(&b);
        p->points += count_records(&b);
        p->bytes += b.len;
    }
    int rc = qv_buf_ok(&b) ? 0 : -1;
    qv_buf_free(&b);
    return rc;
}

static size_t same_pages(const pass *a, const pass *b)
{
    size_t n = 0;
    for (size_t i = 0; i < a->pages && i < b->pages; i++)
        n += a->crc[i] == b->crc[i];
    return n;
}

/* ------------------------------------------------------- filtered reads */

/* REPS request times. The median is the figure compared: on a machine of
 * 2 cores shared with other work, a few slow requests would otherwise
 * decide a ratio between sub-millisecond times. */
typedef struct timing {
    double each[REPS];
    double total, median;
} timing;

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void timing_done(timing *t)
{
    double sorted[REPS];
    t->total = 0;
    for (int i = 0; i < REPS; i++)
        t->total += t->each[i];
    memcpy(sorted, t->each, sizeof sorted);
    qsort(sorted, REPS, sizeof sorted[0], by_value);
    t->median = (sorted[(REPS - 1) / 2] + sorted[REPS / 2]) / 2;
}

/* The answers and times of REPS filtered counts and scrolls. */
typedef struct filtered {
    uint64_t count;
    timing   count_t;
    size_t   scroll_points;
    uint32_t scroll_crc;
    int      scroll_next;   /* next_offset(): 0 = null */
    timing   scroll_t;
} filtered;

static int count_value(const qv_buf *b, uint64_t *n)
{
    const char *p = strstr(b->data, "\"count\":");
    char *end;
    if (!p)
        return -1;
    p += strlen("\"count\":");
    *n = strtoull(p, &end, 10);
    return end > p ? 0 : -1;
}

/* REPS counts, each of which must give the same number. */
static int time_counts(bc_conn *c, qv_buf *resp, filtered *f)
{
    const char *body = "{\"filter\":" FILTER_JSON ",\"exact\":true}";
    for (int i = 0; i < REPS; i++) {
        uint64_t n;
        double t0 = bc_now();
        if (bc_request_ok(c, "POST", COUNT_PATH, body, resp) != 0)
            return -1;
        f->count_t.each[i] = bc_now() - t0;
        if (count_value(resp, &n) != 0 || (i > 0 && n != f->count)) {
            fprintf(stderr, "count: unexpected answer %.200s\n", resp->data);
            return -1;
        }
        f->count = n;
    }
    timing_done(&f->count_t);
    return 0;
}

/* REPS scrolls of one page, each of which must give the same result. */
static int time_scrolls(bc_conn *c, qv_buf *resp, filtered *f)
{
    char body[256];
    snprintf(body, sizeof body,
             "{\"filter\":" FILTER_JSON ",\"limit\":%d,\"with_payload\":true,"
             "\"with_vector\":false}", PAGE);
    for (int i = 0; i < REPS; i++) {
        uint64_t off;
        double t0 = bc_now();
        if (bc_request_ok(c, "POST", SCROLL_PATH, body, resp) != 0)
            return -1;
        f->scroll_t.each[i] = bc_now() - t0;
        uint32_t crc = result_crc(resp);
        if (i > 0 && crc != f->scroll_crc) {
            fprintf(stderr, "filtered scroll: answer %d differs from the first\n", i);
            return -1;
        }
        f->scroll_crc = crc;
        f->scroll_next = next_offset(resp, &off);
        f->scroll_points = count_records(resp);
    }
    timing_done(&f->scroll_t);
    return 0;
}

static int run_filtered(unsigned port, filtered *f)
{
    bc_conn c;
    qv_buf resp = QV_BUF_INIT;
    bc_conn_init(&c, port);
    memset(f, 0, sizeof *f);
    int rc = time_counts(&c, &resp, f) == 0 && time_scrolls(&c, &resp, f) == 0 ? 0 : -1;
    qv_buf_free(&resp);
    bc_conn_free(&c);
    return rc;
}

static int create_index(unsigned port, double *secs)
{
    qv_buf resp = QV_BUF_INIT;
    double t0 = bc_now();
    int rc = bc_request_once(port, "PUT", "/collections/bench/index?wait=true",
                             "{\"field_name\":\"kw\",\"field_schema\":\"keyword\"}", &resp);
    *secs = bc_now() - t0;
    if (rc == 0 && !strstr(resp.data, "\"completed\"")) {
        fprintf(stderr, "index: not completed: %.200s\n", resp.data);
        rc = -1;
    }
    qv_buf_free(&resp);
    return rc;
}

/* --------------------------------------------------------------- report */

static void report_memory(pid_t pid, const char *when, uint64_t *rss)
{
    uint64_t hwm = 0;
    if (bc_proc_memory(pid, rss, &hwm) == 0)
        printf("memory: server VmRSS %.1f MB %s (VmHWM %.1f MB)\n", *rss / MB, when, hwm / MB);
    else
        printf("memory: /proc/%d/status unreadable\n", (int)pid);
}

static void report_pass(const char *name, const char *what, const pass *p)
{
    printf("%s: %s: %zu points in %.3f s = %.0f points/s, %.1f MB in %zu pages = %.1f MB/s "
           "(%.0f bytes/point)\n", name, what, p->points, p->secs, p->points / p->secs,
           p->bytes / MB, p->pages, p->bytes / MB / p->secs, (double)p->bytes / p->points);
}

/* Writer figures, the check that the bytes are the scroll's, and the ratio. */
static void report_writer(const char *what, const pass *scroll, const pass *wr, bool target)
{
    report_pass("writer-only", what, wr);
    printf("writer-only: %s: %zu of %zu pages byte-identical to the scroll's but for \"time\"; "
           "%.1f MB vs %.1f MB (%+.2f%%)\n", what, same_pages(scroll, wr), scroll->pages,
           wr->bytes / MB, scroll->bytes / MB, 100.0 * ((double)wr->bytes / scroll->bytes - 1));
    double r = scroll->secs / wr->secs;
    if (target)
        printf("ratio: full scroll time / writer-only time, %s = %.2fx (target <= %.0fx: %s)\n",
               what, r, TARGET_SCROLL_RATIO_MAX, bc_verdict(r <= TARGET_SCROLL_RATIO_MAX));
    else
        printf("ratio: full scroll time / writer-only time, %s = %.2fx\n", what, r);
}

static void report_filtered(const char *when, const filtered *f)
{
    printf("count: filter kw = k%d: %" PRIu64 " points; %d requests in %.3f s, median %.3f ms, "
           "%s\n", KW_PICK, f->count, REPS, f->count_t.total, 1e3 * f->count_t.median, when);
    printf("filtered scroll: limit %d: %zu points; %d requests in %.3f s, median %.3f ms, %s\n",
           PAGE, f->scroll_points, REPS, f->scroll_t.total, 1e3 * f->scroll_t.median, when);
}

static void report_speedup(const char *name, const timing *plain, const timing *indexed)
{
    double m = plain->median / indexed->median, t = plain->total / indexed->total;
    printf("speed-up: %s with the index %.0fx by medians, %.0fx by totals (target >= %.0fx: "
           "%s)\n", name, m, t, TARGET_SPEEDUP_MIN, bc_verdict(m >= TARGET_SPEEDUP_MIN));
}

/* The index must not change an answer, and both must be the expected one. */
static int verify_filtered(const filtered *plain, const filtered *indexed, size_t expect)
{
    size_t page = expect < PAGE ? expect : PAGE;
    bool count_ok = plain->count == expect && indexed->count == expect;
    bool scroll_ok = plain->scroll_crc == indexed->scroll_crc &&
                     plain->scroll_points == page && indexed->scroll_points == page &&
                     plain->scroll_next == (expect > PAGE) &&
                     indexed->scroll_next == (expect > PAGE);
    printf("verify: filtered count %" PRIu64 " without, %" PRIu64 " with the index, expected %zu: "
           "%s\n", plain->count, indexed->count, expect, count_ok ? "ok" : "MISMATCH");
    printf("verify: filtered scroll %zu points without, %zu with the index (same bytes: %s), "
           "expected %zu: %s\n", plain->scroll_points, indexed->scroll_points,
           plain->scroll_crc == indexed->scroll_crc ? "yes" : "no", page,
           scroll_ok ? "ok" : "MISMATCH");
    return count_ok && scroll_ok ? 0 : -1;
}

/* ----------------------------------------------------------------- main */


/* Collection, bodies, upload; the bodies are freed before the reads. */
static int load(const bc_server *srv, size_t points, int conns)
{
    bc_body_set bs;
    qv_buf resp = QV_BUF_INIT;
    double t_up, t0 = bc_now();
    int rc = -1;
    if (bc_build_bodies(&bs, points, BATCH, write_vector, write_payload) != 0) {
        fprintf(stderr, "out of memory building the bodies\n");
        goto done;
    }
    printf("bodies: %zu x %d points of %d floats, %.1f MB of JSON, %.1f MB of it payloads "
           "(built in %.2f s)\n", bs.n, BATCH, DIM, bs.bytes / MB, bs.payload_bytes / MB,
           bc_now() - t0);
    /* The read path alone: no HNSW build running beside the reads. */
    if (bc_request_once(srv->port, "PUT", "/collections/bench",
                        "{\"vectors\":{\"size\":8,\"distance\":\"Dot\"},"
                        "\"optimizers_config\":{\"indexing_threshold\":0}}", &resp) != 0 ||
        bc_run_upload(srv->port, &bs, conns, &t_up) != 0)
        goto done;
    printf("upload: %zu points in %.3f s = %.0f points/s, %.1f MB/s (%d connection%s, batches "
           "of %d, wait=true)\n", points, t_up, points / t_up, bs.bytes / MB / t_up, conns,
           conns == 1 ? "" : "s", BATCH);
    rc = 0;
done:
    qv_buf_free(&resp);
    bc_free_bodies(&bs);
    return rc;
}

/* Full scrolls (server CPU by thread for the first) and the writer alone. */
static int full_scrolls(const bc_server *srv, size_t points)
{
    static bc_cpu_snapshot cpu0, cpu1;  /* 3 KB each: off the stack */
    pass sp = {0}, sv = {0}, wp = {0}, wv = {0};
    bc_conn c;
    bc_conn_init(&c, srv->port);
    int rc = -1;
    bc_cpu_snap(srv->pid, &cpu0);
    bc_cpu_use u0 = bc_cpu_use_now();
    if (scroll_all(&c, false, points, &sp) != 0)
        goto done;
    bc_cpu_use u1 = bc_cpu_use_now();
    bc_cpu_snap(srv->pid, &cpu1);
    report_pass("scroll", "payloads", &sp);
    bc_report_cpu("scroll", &cpu0, &cpu1, sp.secs, u0, u1);
    printf("scroll: the client checked the answers in %.3f s, overlapping the server's work\n",
           sp.client_secs);
    if (scroll_all(&c, true, points, &sv) != 0)
        goto done;
    report_pass("scroll", "payloads + vectors", &sv);
    if (writer_only(points, false, &wp) != 0 || writer_only(points, true, &wv) != 0) {
        fprintf(stderr, "writer-only: out of memory\n");
        goto done;
    }
    report_writer("payloads", &sp, &wp, true);
    report_writer("payloads + vectors", &sv, &wv, false);
    rc = 0;
done:
    free(sp.crc), free(sv.crc), free(wp.crc), free(wv.crc);
    bc_conn_free(&c);
    return rc;
}

/* Filtered reads, index, filtered reads again. */
static int filtered_reads(const bc_server *srv, size_t points, uint64_t rss_loaded)
{
    filtered plain, indexed;
    double t_idx;
    uint64_t rss = 0;
    if (run_filtered(srv->port, &plain) != 0)
        return -1;
    report_filtered("without index", &plain);
    if (create_index(srv->port, &t_idx) != 0)
        return -1;
    printf("index: keyword index on kw over %zu points built in %.3f s (PUT .../index?wait=true)\n",
           points, t_idx);
    report_memory(srv->pid, "after creating the index", &rss);
    printf("memory: the index added %.1f MB of VmRSS\n", ((double)rss - (double)rss_loaded) / MB);
    if (run_filtered(srv->port, &indexed) != 0)
        return -1;
    report_filtered("with the keyword index", &indexed);
    report_speedup("count", &plain.count_t, &indexed.count_t);
    report_speedup("filtered scroll", &plain.scroll_t, &indexed.scroll_t);
    return verify_filtered(&plain, &indexed, expected_matches(points));
}

static int bench(const bc_server *srv, size_t points, int conns)
{
    uint64_t rss = 0;
    report_memory(srv->pid, "idle", &rss);
    if (load(srv, points, conns) != 0)
        return -1;
    report_memory(srv->pid, "after the upload", &rss);
    if (full_scrolls(srv, points) != 0)
        return -1;
    return filtered_reads(srv, points, rss);
}

int main(int argc, char **argv)
{
    bc_args args;
    if (bc_parse_args(argc, argv, "bench_read", DEFAULT_POINTS, QUICK_POINTS, CONNS, &args) != 0)
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
