/*
 * handlers.c — the route table, the service endpoints, and the helpers every
 * handler uses to read requests and report errors in Qdrant's forms.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/rest.h"

#ifndef QV_GIT_COMMIT
#define QV_GIT_COMMIT "0000000000000000000000000000000000000000"
#endif

/* Order matters only where a literal and a parameter compete for the same
 * method: the literal comes first. */
const rt_route rest_routes[] = {
    {"GET", "/", h_root, REST_RAW},
    {"GET", "/healthz", h_healthz, REST_RAW},
    {"GET", "/livez", h_healthz, REST_RAW},
    {"GET", "/readyz", h_readyz, REST_RAW},
    {"GET", "/collections", h_collections_list, 0},
    {"POST", "/collections/aliases", h_aliases_update, 0},
    {"GET", "/aliases", h_aliases_list, 0},
    {"GET", "/collections/{collection_name}", h_collection_get, 0},
    {"PUT", "/collections/{collection_name}", h_collection_create, 0},
    {"PATCH", "/collections/{collection_name}", h_collection_update, 0},
    {"DELETE", "/collections/{collection_name}", h_collection_delete, 0},
    {"GET", "/collections/{collection_name}/exists", h_collection_exists, 0},
    {"GET", "/collections/{collection_name}/aliases", h_collection_aliases, 0},
    {"PUT", "/collections/{collection_name}/points", h_points_upsert, 0},
    {"POST", "/collections/{collection_name}/points", h_points_retrieve, 0},
    {"POST", "/collections/{collection_name}/points/batch", h_points_batch, 0},
    {"POST", "/collections/{collection_name}/points/delete", h_points_delete, 0},
    {"POST", "/collections/{collection_name}/points/payload", h_payload_set, 0},
    {"PUT", "/collections/{collection_name}/points/payload", h_payload_overwrite, 0},
    {"POST", "/collections/{collection_name}/points/payload/delete", h_payload_delete, 0},
    {"POST", "/collections/{collection_name}/points/payload/clear", h_payload_clear, 0},
    {"PUT", "/collections/{collection_name}/points/vectors", h_vectors_update, 0},
    {"POST", "/collections/{collection_name}/points/vectors/delete", h_vectors_delete, 0},
    {"POST", "/collections/{collection_name}/points/scroll", h_points_scroll, 0},
    {"POST", "/collections/{collection_name}/points/count", h_points_count, 0},
    {"POST", "/collections/{collection_name}/facet", h_points_facet, 0},
    {"PUT", "/collections/{collection_name}/index", h_index_create, 0},
    {"DELETE", "/collections/{collection_name}/index/{field_name}", h_index_delete, 0},
    {"GET", "/collections/{collection_name}/points/{id}", h_point_get, 0},
};
const size_t rest_n_routes = sizeof rest_routes / sizeof *rest_routes;

/* ---- errors ---------------------------------------------------------------- */

int rest_fail(rest_resp *rs, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rs->err_msg, sizeof rs->err_msg, fmt, ap);
    va_end(ap);
    rs->failed = true;
    rs->err_status = status;
    return -1;
}

int rest_fail_qv(rest_resp *rs, const qv_error *err, const char *where)
{
    switch (err->code) {
    case QV_NOT_FOUND: return rest_fail(rs, 404, "Not found: %s", err->msg);
    case QV_CONFLICT: return rest_fail(rs, 409, "Wrong input: %s", err->msg);
    case QV_BAD_INPUT: return rest_fail(rs, 400, "Wrong input: %s", err->msg);
    case QV_BAD_FORMAT: return rest_fail(rs, 400, "Format error in %s: %s", where, err->msg);
    case QV_VALIDATION: return rest_fail(rs, 422, "Validation error in %s: [%s]", where, err->msg);
    case QV_UNSUPPORTED: return rest_fail(rs, 400, "Bad request: %s", err->msg);
    case QV_BUSY: return rest_fail(rs, 503, "Service unavailable: %s", err->msg);
    default: return rest_fail(rs, 500, "Service internal error: %s", err->msg);
    }
}

/* ---- request helpers ------------------------------------------------------- */

int rest_body_json(rest_req *rq, rest_resp *rs, jr_value **out)
{
    jr_error e;
    if (jr_parse(rq->arena, rq->body, rq->body_len, out, &e) != 0)
        return rest_fail(rs, 400, "Format error in JSON body: %s at line %u column %u", e.msg,
                         e.line, e.column);
    return 0;
}

const char *rest_query(rest_req *rq, const char *key)
{
    const char *raw = rq->query_raw ? rq->query_raw(rq->query_ctx, key) : NULL;
    if (!raw)
        return NULL;
    size_t len = strlen(raw);
    char *dst = qv_arena_alloc(rq->arena, len + 1);
    if (!dst || rt_unescape(dst, raw, len) < 0)
        return raw;  /* undecodable: let the caller reject the raw text */
    for (char *p = dst; *p; p++)
        if (*p == '+')
            *p = ' ';
    return dst;
}

int rest_query_timeout(rest_req *rq, rest_resp *rs, unsigned long *timeout)
{
    *timeout = 0;
    const char *v = rest_query(rq, "timeout");
    if (!v)
        return 0;
    char *end;
    errno = 0;
    unsigned long t = strtoul(v, &end, 10);
    if (!*v || *v == '-' || *v == '+' || *end || errno)
        return rest_fail(rs, 400, "Deserialize error in query parameters: invalid digit found in string");
    if (t < 1)
        return rest_fail(rs, 422,
                         "Validation error in query parameters: [timeout: value %lu invalid, must be 1 or larger]",
                         t);
    *timeout = t;
    return 0;
}

/* ---- service endpoints ------------------------------------------------------- */

int h_root(rest_req *rq, rest_resp *rs)
{
    jw_obj_begin(&rs->w);
    jw_key(&rs->w, "title");
    jw_str(&rs->w, "quiver - vector search engine");
    jw_key(&rs->w, "version");
    jw_str(&rs->w, QV_API_VERSION);
    jw_key(&rs->w, "commit");
    jw_str(&rs->w, QV_GIT_COMMIT);
    jw_obj_end(&rs->w);
    return 0;
}

int h_healthz(rest_req *rq, rest_resp *rs)
{
    rs->content_type = "text/plain; charset=utf-8";
    qv_buf_puts(rs->w.out, "healthz check passed");
    return 0;
}

int h_readyz(rest_req *rq, rest_resp *rs)
{
    rs->content_type = "text/plain; charset=utf-8";
    qv_buf_puts(rs->w.out, "all shards are ready");
    return 0;
}
