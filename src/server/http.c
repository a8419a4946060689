/*
 * http.c — libmicrohttpd glue: body accumulation with a limit, routing,
 * the response envelope, and graceful stop.
 *
 * MHD calls on_request several times per request: first with the headers
 * (we check Content-Length against the limit before allocating anything),
 * then with each chunk of body, then once with no data (we dispatch, or
 * answer 413 for a body over the limit).
 * Path %-escapes are left to the router (MHD's unescaping is disabled) so
 * that an escaped '/' stays inside its segment.
 */
#define _GNU_SOURCE
#include "server/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server/rest.h"
#include "util/buf.h"
#include "util/log.h"

struct qv_http {
    struct MHD_Daemon *daemon;
    qv_db             *db;
    const qv_settings *settings;
    atomic_int         in_flight;  /* requests between first call and completion */
};

typedef struct http_req {
    qv_arena arena;
    qv_buf   body;
    double   t0;
    size_t   too_large;   /* bytes seen/declared when over the limit, else 0 */
    bool     overflowed;  /* limit crossed while streaming (no Content-Length) */
} http_req;

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Keep %-escapes as they are; the router decodes per segment. */
static size_t keep_escapes(void *cls, struct MHD_Connection *c, char *s) { return strlen(s); }

static const char *query_lookup(void *ctx, const char *key)
{
    return MHD_lookup_connection_value(ctx, MHD_GET_ARGUMENT_KIND, key);
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

/* {"status":{"error":msg},"time":t} */
static enum MHD_Result send_error(struct MHD_Connection *conn, int status, const char *msg,
                                  double t0)
{
    qv_buf b = QV_BUF_INIT;
    jw w;
    jw_init(&w, &b);
    jw_obj_begin(&w);
    jw_key(&w, "status");
    jw_obj_begin(&w);
    jw_key(&w, "error");
    jw_str(&w, msg);
    jw_obj_end(&w);
    jw_key(&w, "time");
    jw_f64(&w, now_sec() - t0);
    jw_obj_end(&w);
    if (!qv_buf_ok(&b)) {
        qv_buf_free(&b);
        return MHD_NO;
    }
    return send_body(conn, status, "application/json", &b);
}

static enum MHD_Result send_too_large(struct MHD_Connection *conn, const qv_http *h,
                                      const http_req *r)
{
    char msg[200];
    if (r->overflowed)
        snprintf(msg, sizeof msg, "Payload error: JSON payload has exceeded limit (%zu bytes).",
                 h->settings->max_body);
    else
        snprintf(msg, sizeof msg,
                 "Payload error: JSON payload (%zu bytes) is larger than allowed (limit: %zu bytes).",
                 r->too_large, h->settings->max_body);
    return send_error(conn, 413, msg, r->t0);
}

static enum MHD_Result dispatch(qv_http *h, struct MHD_Connection *conn, const char *url,
                                const char *method, http_req *r)
{
    rt_match m;
    char msg[300];
    rt_result res = rt_find(rest_routes, rest_n_routes, method, url, &m);
    if (res == RT_NOT_FOUND || res == RT_BAD_PATH) {
        snprintf(msg, sizeof msg, "Not found: no route for %s %.200s", method, url);
        return send_error(conn, 404, msg, r->t0);
    }
    if (res == RT_METHOD_NOT_ALLOWED) {
        snprintf(msg, sizeof msg, "Method %s is not allowed for %.200s", method, url);
        return send_error(conn, 405, msg, r->t0);
    }
    if (!r->body.data)
        qv_buf_reserve(&r->body, 0);  /* handlers get a NUL-terminated body */
    rest_req rq = {
        .db = h->db,
        .settings = h->settings,
        .arena = &r->arena,
        .method = method,
        .params = m.params,
        .body = r->body.data ? r->body.data : "",
        .body_len = r->body.len,
        .query_raw = query_lookup,
        .query_ctx = conn,
    };
    qv_buf out = QV_BUF_INIT;
    rest_resp rs = {.status = 200, .content_type = "application/json"};
    jw_init(&rs.w, &out);
    bool raw = m.route->flags & REST_RAW;
    if (!raw)
        qv_buf_puts(&out, "{\"result\":");
    rest_handler handler = (rest_handler)m.route->handler;
    if (handler(&rq, &rs) != 0 || rs.failed) {
        qv_buf_free(&out);
        if (!rs.failed)
            rest_fail(&rs, 500, "Service internal error: handler failed");
        return send_error(conn, rs.err_status, rs.err_msg, r->t0);
    }
    if (!raw) {
        qv_buf_puts(&out, ",\"status\":\"ok\",\"time\":");
        char t[40];
        qv_buf_append(&out, t, (size_t)jw_fmt_f64(t, now_sec() - r->t0));
        qv_buf_putc(&out, '}');
    }
    if (!qv_buf_ok(&out)) {
        qv_buf_free(&out);
        return send_error(conn, 500, "Service internal error: out of memory", r->t0);
    }
    return send_body(conn, rs.status, rs.content_type, &out);
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
        r->t0 = now_sec();
        *state = r;
        atomic_fetch_add(&h->in_flight, 1);
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl) {
            unsigned long long n = strtoull(cl, NULL, 10);
            if (n > h->settings->max_body)
                r->too_large = (size_t)n;  /* nothing is allocated for it */
            else
                qv_buf_reserve(&r->body, (size_t)n);
        }
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
        return send_too_large(conn, h, r);
    if (!qv_buf_ok(&r->body))
        return send_error(conn, 500, "Service internal error: out of memory", r->t0);
    return dispatch(h, conn, url, method, r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **state,
                         enum MHD_RequestTerminationCode code)
{
    qv_http *h = cls;
    http_req *r = *state;
    if (!r)
        return;
    qv_arena_free(&r->arena);
    qv_buf_free(&r->body);
    free(r);
    *state = NULL;
    atomic_fetch_sub(&h->in_flight, 1);
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
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned workers = s->workers ? s->workers : (unsigned)(cores > 0 ? cores : 2);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    h->daemon = MHD_start_daemon(
        flags, (uint16_t)s->port, NULL, NULL, on_request, h,
        MHD_OPTION_EXTERNAL_LOGGER, on_mhd_error, NULL,
        MHD_OPTION_SOCK_ADDR, ai->ai_addr,
        MHD_OPTION_THREAD_POOL_SIZE, workers,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
        MHD_OPTION_UNESCAPE_CALLBACK, keep_escapes, NULL,
        MHD_OPTION_CONNECTION_TIMEOUT, 120u,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)256 * 1024,
        MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!h->daemon) {
        snprintf(err, errlen, "cannot listen on %s:%u (address in use or not available)", s->host,
                 s->port);
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
    /* Requests in flight finish; idle keep-alive connections are closed by
     * MHD_stop_daemon. Bounded: a stuck client cannot hold shutdown. */
    for (int i = 0; i < 500 && atomic_load(&h->in_flight) > 0; i++)
        usleep(10000);
    MHD_stop_daemon(h->daemon);
    free(h);
}
