/*
 * http.c — libmicrohttpd glue: body accumulation with a limit, routing,
 * the response envelope, and graceful stop.
 *
 * Each connection is served by a thread of its own (MHD's thread per
 * connection, which polls its one socket). MHD calls on_request several
 * times per request: first with the headers (we check Content-Length
 * against the limit before allocating anything), then with each chunk of
 * body, then once with no data: we route the request, run the handler and
 * queue the response, all on the connection's thread (or answer 413 for a
 * body over the limit). A keep-alive client sends its next request only
 * after this answer, so running the handler there costs the connection
 * nothing, and a handler waiting for an fsync blocks only its own client;
 * what it saves is a hand-off to a worker and back per request: two thread
 * wake-ups, a futex and an eventfd round (on one connection, a search at
 * ef 64 spent about as long in those as in the search). service.max_workers
 * caps how many handlers run at once (a semaphore; 0 = no cap).
 * Per-thread engine scratch (qv_scratch) lives as long as its connection.
 * After an answer, a connection whose client comes back quickly spins a
 * little before sleeping (CONN_SPIN).
 * MHD polls level-triggered (poll, not epoll): with epoll, a FIN that
 * arrived together with the last bytes of a short body was sometimes never
 * seen and the connection hung until its timeout.
 * Path %-escapes are left to the router (MHD's unescaping is disabled) so
 * that an escaped '/' stays inside its segment.
 */
#define _GNU_SOURCE
#include "server/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "server/rest.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/utf8.h"

typedef struct http_req http_req;

struct qv_http {
    struct MHD_Daemon *daemon;
    qv_db             *db;
    const qv_settings *settings;
    atomic_int         in_flight;  /* requests between first call and completion */
    bool               capped;     /* settings->workers > 0: slots counts free handler slots */
    sem_t              slots;
};

struct http_req {
    qv_arena    arena;
    qv_buf      body;
    double      t0;
    size_t      too_large;   /* bytes seen/declared when over the limit, else 0 */
    bool        overflowed;  /* limit crossed while streaming (no Content-Length) */
    bool        answered;    /* refused on its headers; the body is not read */
    int         status;
    const char *ctype;
    qv_buf      out;
};

/* A keep-alive connection keeps the buffer of its last request body for the
 * next one, so a stream of uploads does not fault in fresh pages each time;
 * buffers past BODY_KEEP go back to malloc. */
#define BODY_KEEP (8u << 20)

/* A keep-alive client that sends its next request soon after an answer
 * (a program searching in a loop) is awaited a little while before the
 * thread sleeps in MHD's poll: on a VM whose idle cores halt at once, the
 * wake-up of a sleeping thread costs its waker 20-60 µs, and with it the
 * round trip of a search at ef 64 paid one per request (100k x 128, one
 * connection: 3,674 -> 4,697 q/s, median of 6 runs). A connection spins only
 * while its client keeps answering within CONN_SPIN (its last request
 * did), so one that pauses longer costs at most one spin; each turn yields
 * the core, so a runnable thread (the client itself on a busy machine)
 * goes first. */
#define CONN_SPIN 100e-6  /* seconds */

typedef struct conn_ctx {
    qv_buf spare;
    double answered_at;  /* when its last response was sent; 0 before the first */
    bool   quick;        /* its last request came within CONN_SPIN of the answer before it */
} conn_ctx;

/* Waits up to CONN_SPIN, without sleeping, for the next request's first
 * bytes (or the end of the connection); MHD's poll then finds them. */
static void await_next(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci)
        return;
    struct pollfd p = {.fd = ci->connect_fd, .events = POLLIN};
    double until = qv_mono_seconds() + CONN_SPIN;
    while (poll(&p, 1, 0) == 0 && qv_mono_seconds() < until)
        sched_yield();
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        *socket_context = calloc(1, sizeof(conn_ctx));
    } else if (*socket_context) {
        conn_ctx *cc = *socket_context;
        qv_buf_free(&cc->spare);
        free(cc);
        *socket_context = NULL;
    }
}

static conn_ctx *conn_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

/* Keep %-escapes as they are; the router decodes per segment. */
static size_t keep_escapes(void *cls, struct MHD_Connection *c, char *s) { return strlen(s); }

/* Query parameters as MHD split them (still %-escaped: keep_escapes), all
 * of them, so that a key given twice is seen. */
typedef struct rawq_list {
    rest_rawq *items;
    size_t     n, cap;
} rawq_list;

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    rawq_list *l = cls;
    if (l->n < l->cap && key)
        l->items[l->n++] = (rest_rawq){key, value};
    return MHD_YES;
}

static enum MHD_Result send_body(struct MHD_Connection *conn, int status, const char *ctype,
                                 qv_buf *body)
{
    size_t len;
    char *data = qv_buf_detach(body, &len);
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, data ? data : (char *)"", data ? MHD_RESPMEM_MUST_FREE
                                                                            : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        free(data);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    enum MHD_Result ok = MHD_queue_response(conn, (unsigned)status, r);
    MHD_destroy_response(r);
    return ok;
}

/* {"status":{"error":msg},"time":t} as r's response. */
static void set_error(http_req *r, int status, const char *msg)
{
    /* Messages echo paths and query values: repair them to valid UTF-8 so
     * the body is JSON whatever the client sent (Qdrant echoes U+FFFD). */
    char clean[QV_UTF8_LOSSY_MAX(1024)];
    size_t n = strnlen(msg, 1024);
    if (!qv_utf8_valid(msg, n)) {
        qv_utf8_lossy(clean, msg, n);
        msg = clean;
    }
    qv_buf_free(&r->out);
    jw w;
    jw_init(&w, &r->out);
    jw_obj_begin(&w);
    jw_key(&w, "status");
    jw_obj_begin(&w);
    jw_key(&w, "error");
    jw_str(&w, msg);
    jw_obj_end(&w);
    jw_key(&w, "time");
    jw_f64(&w, qv_mono_seconds() - r->t0);
    jw_obj_end(&w);
    r->status = status;
    r->ctype = "application/json";
}

static void set_too_large(const qv_http *h, http_req *r)
{
    char msg[200];
    if (r->overflowed)
        snprintf(msg, sizeof msg, "Payload error: JSON payload has exceeded limit (%zu bytes).",
                 h->settings->max_body);
    else
        snprintf(msg, sizeof msg,
                 "Payload error: JSON payload (%zu bytes) is larger than allowed (limit: %zu bytes).",
                 r->too_large, h->settings->max_body);
    set_error(r, 413, msg);
}

/* Route and run the handler; the response goes into r. */
static void handle(qv_http *h, http_req *r, struct MHD_Connection *conn, const char *url, const char *method)
{
    rt_match m;
    char msg[300];
    rt_result res = rt_find(rest_routes, rest_n_routes, method, url, &m);
    if (res == RT_NOT_FOUND || res == RT_BAD_PATH) {
        snprintf(msg, sizeof msg, "Not found: no route for %s %.200s", method, url);
        set_error(r, 404, msg);
        return;
    }
    if (res == RT_METHOD_NOT_ALLOWED) {
        snprintf(msg, sizeof msg, "Method %s is not allowed for %.200s", method, url);
        set_error(r, 405, msg);
        return;
    }
    if (!r->body.data)
        qv_buf_reserve(&r->body, 0);  /* handlers get a NUL-terminated body */
    char *params[RT_MAX_PARAMS];
    for (size_t i = 0; i < m.n_params; i++)
        params[i] = m.params[i].ptr;  /* C strings once rest_prepare refused NULs */
    rest_req rq = {
        .db = h->db,
        .settings = h->settings,
        .arena = &r->arena,
        .method = method,
        .params = params,
        .body = r->body.data ? r->body.data : "",
        .body_len = r->body.len,
    };
    rest_resp rs = {.status = 200, .content_type = "application/json"};
    int nq = MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, NULL, NULL);
    rawq_list args = {.cap = nq > 0 ? (size_t)nq : 0};
    if (args.cap && !(args.items = qv_arena_alloc(&r->arena, args.cap * sizeof *args.items))) {
        set_error(r, 500, "Service internal error: out of memory");
        return;
    }
    if (args.cap)
        MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_arg, &args);
    if (rest_prepare(&rq, &rs, &m, args.items, args.n) != 0) {
        set_error(r, rs.err_status, rs.err_msg);
        return;
    }
    jw_init(&rs.w, &r->out);
    bool raw = m.route->flags & REST_RAW;
    if (!raw)
        qv_buf_puts(&r->out, "{\"result\":");
    rest_handler handler = (rest_handler)m.route->handler;
    if (handler(&rq, &rs) != 0 || rs.failed) {
        if (!rs.failed)
            rest_fail(&rs, 500, "Service internal error: handler failed");
        set_error(r, rs.err_status, rs.err_msg);
        return;
    }
    qv_arena_free(&r->arena);
    if (!raw) {
        qv_buf_puts(&r->out, ",\"status\":\"ok\",\"time\":");
        char t[40];
        qv_buf_append(&r->out, t, (size_t)jw_fmt_f64(t, qv_mono_seconds() - r->t0));
        qv_buf_putc(&r->out, '}');
    }
    r->status = rs.status;
    r->ctype = rs.content_type;
    if (!qv_buf_ok(&r->out))
        set_error(r, 500, "Service internal error: out of memory");
}

/* Run the request on the connection's thread, within the handler cap. */
static void handle_capped(qv_http *h, http_req *r, struct MHD_Connection *conn, const char *url,
                          const char *method)
{
    if (h->capped)
        while (sem_wait(&h->slots) != 0)
            ;  /* EINTR */
    handle(h, r, conn, url, method);
    if (h->capped)
        sem_post(&h->slots);
}

/* Declared bodies over the limit by at most this factor are read and
 * dropped before the 413 (see on_request); larger ones are refused at once,
 * so a client cannot make the server read a terabyte to say no. */
#define DRAIN_FACTOR 4

/* Framing headers, counted: MHD keeps every occurrence of a header. */
typedef struct framing {
    unsigned    n_te, n_cl, n_ce;
    const char *te, *ce;
} framing;

static enum MHD_Result count_framing(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    framing *f = cls;
    if (!key)
        return MHD_YES;
    if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
        f->n_te++;
        f->te = value ? value : "";
    } else if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
        f->n_cl++;
    } else if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_ENCODING) == 0) {
        f->n_ce++;
        f->ce = value ? value : "";
    }
    return MHD_YES;
}

/* Check how the body is framed before reading any of it; sets r's response
 * and returns true when the request is refused. Quiver reads only plain
 * bodies with one Content-Length or one `chunked` coding: anything else is
 * ambiguous (request smuggling) or would be read wrongly, and would
 * otherwise wait for bytes that never come. */
static bool framing_refused(const qv_http *h, struct MHD_Connection *conn, http_req *r)
{
    framing f = {0};
    char msg[200];
    MHD_get_connection_values(conn, MHD_HEADER_KIND, count_framing, &f);
    if (f.n_te > 1 || f.n_cl > 1 || (f.n_te && f.n_cl)) {
        set_error(r, 400, f.n_te && f.n_cl
                              ? "Bad request: both Transfer-Encoding and Content-Length are given"
                              : "Bad request: a framing header (Transfer-Encoding or Content-Length) is repeated");
        return true;
    }
    if (f.n_te && strcasecmp(f.te, "chunked") != 0) {
        snprintf(msg, sizeof msg, "Bad request: Transfer-Encoding `%.60s` is not supported", f.te);
        set_error(r, 400, msg);
        return true;
    }
    if (f.n_ce > 1 || (f.n_ce && strcasecmp(f.ce, "identity") != 0)) {
        snprintf(msg, sizeof msg, "Bad request: Content-Encoding `%.60s` is not supported", f.ce);
        set_error(r, 400, msg);
        return true;
    }
    /* Over the limit and the client waits for 100 Continue, or so far over
     * that draining is not worth it: answer now, without reading. */
    const char *expect = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
    size_t max = h->settings->max_body;
    if (r->too_large &&
        ((expect && strcasecmp(expect, "100-continue") == 0) ||
         r->too_large / DRAIN_FACTOR >= max)) {
        set_too_large(h, r);
        return true;
    }
    return false;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size, void **state)
{
    qv_http *h = cls;
    http_req *r = *state;
    if (!r) {
        if (!(r = calloc(1, sizeof *r)))
            return MHD_NO;
        qv_arena_init(&r->arena, 16384);
        r->t0 = qv_mono_seconds();
        *state = r;
        atomic_fetch_add(&h->in_flight, 1);
        conn_ctx *cc = conn_of(conn);
        if (cc) {  /* take the connection's spare buffer */
            cc->quick = cc->answered_at > 0 && r->t0 - cc->answered_at < CONN_SPIN;
            r->body = cc->spare;
            r->body.len = 0;
            cc->spare = (qv_buf)QV_BUF_INIT;
        }
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl) {
            unsigned long long n = strtoull(cl, NULL, 10);
            if (n > h->settings->max_body)
                r->too_large = n > SIZE_MAX ? SIZE_MAX : (size_t)n;  /* nothing is allocated for it */
            else
                qv_buf_reserve(&r->body, (size_t)n);
        }
        if (framing_refused(h, conn, r)) {  /* answered before any body byte */
            r->answered = true;
            return qv_buf_ok(&r->out) ? send_body(conn, r->status, r->ctype, &r->out) : MHD_NO;
        }
        return MHD_YES;
    }
    if (r->answered) {  /* MHD should not call again; if it does, drop the bytes */
        *upload_size = 0;
        return MHD_YES;
    }
    /* An oversized body is read and dropped, and answered at its end:
     * answering early and closing with unread bytes makes the kernel reset
     * the connection, and the client may never see the 413. */
    if (*upload_size) {
        if (!r->too_large) {
            if (*upload_size > h->settings->max_body - r->body.len) {
                r->too_large = r->body.len + *upload_size;
                r->overflowed = true;
                qv_buf_free(&r->body);
            } else {
                qv_buf_append(&r->body, upload_data, *upload_size);
            }
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (r->too_large)
        set_too_large(h, r);
    else if (!qv_buf_ok(&r->body))
        set_error(r, 500, "Service internal error: out of memory");
    else
        handle_capped(h, r, conn, url, method);
    return qv_buf_ok(&r->out) ? send_body(conn, r->status, r->ctype, &r->out) : MHD_NO;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **state,
                         enum MHD_RequestTerminationCode code)
{
    qv_http *h = cls;
    http_req *r = *state;
    if (!r)
        return;
    conn_ctx *cc = conn_of(conn);
    if (cc && r->body.cap && r->body.cap <= BODY_KEEP && !r->body.oom) {
        qv_buf_free(&cc->spare);
        cc->spare = r->body;
    } else {
        qv_buf_free(&r->body);
    }
    qv_arena_free(&r->arena);
    qv_buf_free(&r->out);
    free(r);
    *state = NULL;
    atomic_fetch_sub(&h->in_flight, 1);
    if (cc && code == MHD_REQUEST_TERMINATED_COMPLETED_OK) {
        cc->answered_at = qv_mono_seconds();
        if (cc->quick)
            await_next(conn);
    }
}

static void on_mhd_error(void *cls, const char *fmt, va_list ap)
{
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n && line[n - 1] == '\n')
        line[--n] = '\0';
    QV_WARN("http: %s", line);
}

int http_start(const qv_settings *s, qv_db *db, qv_http **out, unsigned *port, char *err,
               size_t errlen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    char service[16];
    snprintf(service, sizeof service, "%u", s->port);
    int gai = getaddrinfo(s->host, service, &hints, &ai);
    if (gai != 0) {
        snprintf(err, errlen, "cannot resolve host %s: %s", s->host, gai_strerror(gai));
        return -1;
    }
    qv_http *h = calloc(1, sizeof *h);
    if (!h) {
        freeaddrinfo(ai);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    h->db = db;
    h->settings = s;
    h->capped = s->workers > 0;
    if (h->capped)
        sem_init(&h->slots, 0, s->workers);
    /* A thread per connection, polling its socket; the listener has its own. */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL |
                     MHD_USE_ERROR_LOG | MHD_USE_ITC;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    h->daemon = MHD_start_daemon(
        flags, (uint16_t)s->port, NULL, NULL, on_request, h,
        MHD_OPTION_EXTERNAL_LOGGER, on_mhd_error, NULL,
        MHD_OPTION_SOCK_ADDR, ai->ai_addr,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL,
        MHD_OPTION_UNESCAPE_CALLBACK, keep_escapes, NULL,
        MHD_OPTION_CONNECTION_TIMEOUT, 120u,
        /* MHD zeroes a connection's pool at every request (all of it
         * on reset, half again for the read buffer): at 256 KB that was
         * 384 KB of memset per request, more bytes than a search at ef 64
         * touches, evicting its graph from the cache. 32 KB (MHD's default)
         * holds any header Quiver accepts; a body is copied out as it comes
         * in, so the pool bounds only the chunk size (uploads measured the
         * same). */
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32 * 1024,
        MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!h->daemon) {
        snprintf(err, errlen, "cannot listen on %s:%u (address in use or not available)", s->host, s->port);
        if (h->capped)
            sem_destroy(&h->slots);
        free(h);
        return -1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    *port = info ? info->port : s->port;
    *out = h;
    return 0;
}

void http_stop(qv_http *h)
{
    if (!h)
        return;
    MHD_quiesce_daemon(h->daemon);  /* no new connections */
    /* Requests in flight get a few seconds to be answered and sent (a slow
     * client cannot hold shutdown); MHD_stop_daemon then closes every
     * connection and joins its thread, which waits for a handler still
     * running: that wait is bounded by the engine, not by clients. */
    for (int i = 0; i < 500 && atomic_load(&h->in_flight) > 0; i++)
        usleep(10000);
    MHD_stop_daemon(h->daemon);
    if (h->capped)
        sem_destroy(&h->slots);
    free(h);
}
