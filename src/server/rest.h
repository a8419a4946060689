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
#include "server/router.h"
#include "server/settings.h"
#include "util/arena.h"

/* One query parameter, decoded ('+' is a space, %-escapes undone, bad UTF-8
 * repaired to U+FFFD). A value that would decode to text holding a NUL is
 * left as sent (still escaped), so it fails to parse instead of being cut
 * short. "?wait" (no '=') has the value "". */
typedef struct rest_qparam {
    const char *key;
    const char *value;
} rest_qparam;

/*
 * Path parameters reach handlers as NUL-terminated strings that hold no NUL
 * and are valid UTF-8: the router decodes each segment once into a counted
 * string and rest_prepare refuses any parameter with a NUL in it before a
 * handler runs. So a name passed on to quiver.h is never cut short, and a
 * collection_name has also passed qv_name_check.
 */
typedef struct rest_req {
    qv_db             *db;
    const qv_settings *settings;
    qv_arena          *arena;
    const char        *method;
    char *const       *params;     /* path parameters in pattern order */
    const char        *body;       /* NUL-terminated; len bytes */
    size_t             body_len;
    const rest_qparam *query;      /* every query parameter, each key once */
    size_t             n_query;
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

/* Decoded query value, or NULL if absent. */
const char *rest_query(rest_req *rq, const char *key);

/* A raw query parameter as the HTTP layer found it: %-escaped, value NULL
 * when the parameter had no '='. */
typedef struct rest_rawq {
    const char *key;
    const char *value;
} rest_rawq;

/* Before the handler: check the path parameters (no NUL; a collection_name
 * passes qv_name_check, as Qdrant validates it on every route) and decode
 * the query parameters into rq->query, refusing a key given twice as
 * Qdrant's query deserializer does. -1 after responding 4xx. */
int rest_prepare(rest_req *rq, rest_resp *rs, const rt_match *m, const rest_rawq *raw,
                 size_t n_raw);

/* Read `consistency` (a factor >= 1, `majority`, `quorum` or `all`) as
 * Qdrant's read endpoints do; Quiver has one replica, so the value only
 * needs to be valid. -1 after responding 400. */
int rest_query_consistency(rest_req *rq, rest_resp *rs);

/* Read `timeout` (seconds, >= 1) if given; 0 when absent. -1 after
 * responding with Qdrant's query-parameter error. */
int rest_query_timeout(rest_req *rq, rest_resp *rs, unsigned long *timeout);

/* wait, ordering and timeout of a write, as Qdrant reads them. -1 after
 * responding with Qdrant's query-parameter error. */
int rest_write_opts(rest_req *rq, rest_resp *rs, qv_write_opts *o);

/* An UpdateResult: {"operation_id": id, "status": …}. */
void rest_update_result(jw *w, uint64_t id, qv_update_status s);

/* The route table (handlers.c). */
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
int h_points_search(rest_req *rq, rest_resp *rs);
int h_points_search_batch(rest_req *rq, rest_resp *rs);
int h_points_query(rest_req *rq, rest_resp *rs);
int h_points_query_batch(rest_req *rq, rest_resp *rs);
int h_points_recommend(rest_req *rq, rest_resp *rs);
int h_points_recommend_batch(rest_req *rq, rest_resp *rs);
int h_points_discover(rest_req *rq, rest_resp *rs);
int h_points_discover_batch(rest_req *rq, rest_resp *rs);
int h_points_search_groups(rest_req *rq, rest_resp *rs);
int h_points_recommend_groups(rest_req *rq, rest_resp *rs);
int h_points_query_groups(rest_req *rq, rest_resp *rs);
int h_points_matrix_pairs(rest_req *rq, rest_resp *rs);
int h_points_matrix_offsets(rest_req *rq, rest_resp *rs);
int h_index_create(rest_req *rq, rest_resp *rs);
int h_index_delete(rest_req *rq, rest_resp *rs);
int h_vector_create(rest_req *rq, rest_resp *rs);
int h_vector_delete(rest_req *rq, rest_resp *rs);

#endif
