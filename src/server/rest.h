/*
 * rest.h — what a REST handler sees and produces.
 *
 * The HTTP layer (http.c) parses nothing but the request line, headers and
 * body bytes; it matches the route, opens the envelope and calls the
 * handler. A handler reads path parameters, query parameters and the body,
 * calls the engine (quiver.h) and either writes its result value with
 * rs->w or fails through rest_fail/rest_fail_qv. The HTTP layer then closes
 * the envelope ({"result":…,"status":"ok","time":…}) or replaces it with
 * Qdrant's error envelope ({"status":{"error":…},"time":…}).
 *
 * Memory: everything per request lives in rq->arena, freed after the
 * response is queued. Threading: handlers run on the server's worker
 * threads, many at once; they share nothing but the qv_db.
 */
#ifndef QV_SERVER_REST_H
#define QV_SERVER_REST_H

#include <stdbool.h>
#include <stddef.h>

#include "json/jr.h"
#include "json/jw.h"
#include "quiver.h"
#include "server/settings.h"
#include "util/arena.h"

typedef struct rest_req {
    qv_db             *db;
    const qv_settings *settings;
    qv_arena          *arena;
    const char        *method;
    char *const       *params;     /* path parameters in pattern order */
    const char        *body;       /* NUL-terminated; len bytes */
    size_t             body_len;
    /* Raw (still %-escaped) query value of key, or NULL. */
    const char *(*query_raw)(void *ctx, const char *key);
    void              *query_ctx;
} rest_req;

typedef struct rest_resp {
    jw          w;             /* writes the result value (or the raw body) */
    int         status;        /* HTTP status of a success, default 200 */
    const char *content_type;  /* default application/json */
    bool        failed;
    int         err_status;
    char        err_msg[1024];
} rest_resp;

typedef int (*rest_handler)(rest_req *rq, rest_resp *rs);

/* Route flags. */
#define REST_RAW 0x1  /* no envelope: the handler writes the whole body */

/* Fail with an HTTP status and a complete message; returns -1. */
int rest_fail(rest_resp *rs, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Fail with an engine error, mapped to Qdrant's status and message form:
 * where is the part of the request the error is about, for validation
 * errors ("JSON body", "path parameters", "query parameters"). */
int rest_fail_qv(rest_resp *rs, const qv_error *err, const char *where);

/* Parse the body as JSON into rq->arena. On failure responds 400
 * "Format error in JSON body: …" and returns -1. */
int rest_body_json(rest_req *rq, rest_resp *rs, jr_value **out);

/* Decoded query value (arena), or NULL if absent. */
const char *rest_query(rest_req *rq, const char *key);

/* Read `timeout` (seconds, >= 1) if given; 0 when absent. -1 after
 * responding with Qdrant's query-parameter error. */
int rest_query_timeout(rest_req *rq, rest_resp *rs, unsigned long *timeout);

/* The route table (handlers.c). */
#include "server/router.h"
extern const rt_route rest_routes[];
extern const size_t rest_n_routes;

/* Handlers, by module. */
int h_root(rest_req *rq, rest_resp *rs);
int h_healthz(rest_req *rq, rest_resp *rs);
int h_readyz(rest_req *rq, rest_resp *rs);
int h_collections_list(rest_req *rq, rest_resp *rs);
int h_collection_get(rest_req *rq, rest_resp *rs);
int h_collection_create(rest_req *rq, rest_resp *rs);
int h_collection_update(rest_req *rq, rest_resp *rs);
int h_collection_delete(rest_req *rq, rest_resp *rs);
int h_collection_exists(rest_req *rq, rest_resp *rs);
int h_aliases_update(rest_req *rq, rest_resp *rs);
int h_aliases_list(rest_req *rq, rest_resp *rs);
int h_collection_aliases(rest_req *rq, rest_resp *rs);
int h_points_upsert(rest_req *rq, rest_resp *rs);
int h_points_batch(rest_req *rq, rest_resp *rs);
int h_points_delete(rest_req *rq, rest_resp *rs);
int h_payload_set(rest_req *rq, rest_resp *rs);
int h_payload_overwrite(rest_req *rq, rest_resp *rs);
int h_payload_delete(rest_req *rq, rest_resp *rs);
int h_payload_clear(rest_req *rq, rest_resp *rs);
int h_vectors_update(rest_req *rq, rest_resp *rs);
int h_vectors_delete(rest_req *rq, rest_resp *rs);
int h_point_get(rest_req *rq, rest_resp *rs);
int h_points_retrieve(rest_req *rq, rest_resp *rs);
int h_points_scroll(rest_req *rq, rest_resp *rs);
int h_points_count(rest_req *rq, rest_resp *rs);
int h_points_facet(rest_req *rq, rest_resp *rs);
int h_index_create(rest_req *rq, rest_resp *rs);
int h_index_delete(rest_req *rq, rest_resp *rs);

#endif
