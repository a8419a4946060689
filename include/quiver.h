/*
 * quiver.h — the whole contract of the Quiver engine.
 *
 * Quiver is an embeddable vector database. A process opens one data
 * directory (qv_open), creates collections in it, writes points and queries
 * them. The HTTP server (src/server) is one user of this header and calls
 * nothing else of the engine; a C program can link libquiver.a and do the
 * same without HTTP.
 *
 * Threading: every function may be called from any thread at any time on
 * the same qv_db; the engine locks internally. A qv_db must outlive every
 * call made on it; qv_close waits for nothing, so stop callers first.
 *
 * Errors: functions that can fail return a qv_status (QV_OK = 0) and, when
 * given a qv_error, fill it with the code and a human-readable description
 * in Qdrant's words without its category prefix, e.g. code QV_NOT_FOUND and
 * "Collection `x` doesn't exist!". After a failure nothing has changed:
 * every call either takes full effect or none.
 *
 * Configuration documents: collection configs travel as JSON text in the
 * shapes of Qdrant's REST API (CreateCollection, UpdateCollection,
 * CollectionConfig), so that a config written for Qdrant works here and the
 * engine keeps one codec for its API and its files.
 *
 * Memory: strings and buffers the engine returns are malloc'd and belong to
 * the caller, who frees them with qv_free.
 *
 * Search: the qv_points_* read calls take Qdrant's request JSON and give
 * its result JSON, as the REST API does. A program that has its query as
 * floats calls qv_search instead: the same engine path, the query and the
 * hits typed (filters stay JSON text, parsed once per call), no JSON
 * written or read for them.
 */
#ifndef QUIVER_H
#define QUIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define QV_API_VERSION "1.19.0"  /* the Qdrant REST API version implemented */

typedef enum qv_status {
    QV_OK = 0,
    QV_NOT_FOUND,     /* a named thing does not exist                        (HTTP 404) */
    QV_CONFLICT,      /* it already exists                                   (HTTP 409) */
    QV_BAD_INPUT,     /* the request is well-formed but cannot be applied    (HTTP 400) */
    QV_BAD_FORMAT,    /* JSON syntax or shape (type, missing/unknown field)  (HTTP 400) */
    QV_VALIDATION,    /* a value breaks a rule, e.g. a size out of range     (HTTP 422) */
    QV_UNSUPPORTED,   /* valid for Qdrant, not (yet) implemented by Quiver   (HTTP 400) */
    QV_BUSY,          /* the data directory is locked by another process */
    QV_IO,            /* the disk failed; message names the file and errno   (HTTP 500) */
    QV_NOMEM,         /* out of memory                                       (HTTP 500) */
    QV_CORRUPT,       /* a file on disk is damaged                           (HTTP 500) */
    QV_INTERNAL,      /* a bug                                               (HTTP 500) */
} qv_status;

typedef struct qv_error {
    qv_status code;
    char      msg[512];
} qv_error;

typedef struct qv_db qv_db;

/* ---- the database ------------------------------------------------------ */

/*
 * Open (creating if needed) the data directory dir and load every collection
 * and alias in it. Takes an exclusive lock on dir/quiver.lock for the life of
 * the handle: a second opener gets QV_BUSY. On success *out is set and must
 * be closed with qv_close.
 */
qv_status qv_open(const char *dir, qv_db **out, qv_error *err);

/* Flush everything and release the handle and the lock. NULL is a no-op. */
void qv_close(qv_db *db);

/* Free memory the engine handed to the caller. */
void qv_free(void *p);

/* Give back the memory the engine caches for the calling thread (scratch
 * space reused from call to call). For threads that go idle; the next call
 * simply allocates again. */
void qv_thread_release(void);

/* Text name of a status, e.g. "QV_NOT_FOUND". */
const char *qv_status_name(qv_status s);

/* ---- collections --------------------------------------------------------- */

/* Longest collection or alias name, in bytes. */
#define QV_MAX_NAME_LEN 255

/* Check a collection or alias name: 1..255 bytes, not "." or "..", none of
 * < > : " / \ | ? *, NUL or U+001F (Qdrant's list; names are directory
 * names). QV_VALIDATION with Qdrant's message otherwise, e.g.
 * `collection name cannot contain "/" char`. */
qv_status qv_name_check(const char *name, qv_error *err);
/* The same for a counted name that may hold NUL bytes (a JSON string). */
qv_status qv_name_check_n(const char *name, size_t len, qv_error *err);

/*
 * Create collection name from a CreateCollection JSON document (body of
 * Qdrant's PUT /collections/{name}; "{}" means all defaults).
 * The config is validated in full first: QV_BAD_FORMAT for bad JSON or
 * shapes, QV_VALIDATION for values out of range or a bad name (see
 * qv_name_check), QV_UNSUPPORTED for features Quiver lacks, QV_CONFLICT if
 * the collection exists, QV_BAD_INPUT if an alias has that name.
 * Durable on return.
 */
qv_status qv_collection_create(qv_db *db, const char *name, const char *config_json,
                               size_t len, qv_error *err);

/* Delete collection name (an alias is resolved first) and the aliases that
 * point to it. *existed tells whether there was one; a missing collection is
 * not an error. Durable on return. */
qv_status qv_collection_delete(qv_db *db, const char *name, bool *existed, qv_error *err);

/* Apply an UpdateCollection JSON document (Qdrant's PATCH body) to the
 * tunable parameters of collection name. Validated in full first. */
qv_status qv_collection_update(qv_db *db, const char *name, const char *patch_json,
                               size_t len, qv_error *err);

/* Whether name is a collection or an alias of one. */
bool qv_collection_exists(qv_db *db, const char *name);

typedef struct qv_collection_info {
    const char *status;            /* "green" */
    const char *optimizer_status;  /* "ok" */
    uint64_t    points_count;
    uint64_t    indexed_vectors_count;
    uint64_t    segments_count;
    char       *config_json;       /* CollectionConfig JSON; free with qv_free */
    char       *payload_schema_json; /* map of field -> PayloadIndexInfo; free with qv_free */
} qv_collection_info;

/* Describe collection name (or alias). On success the caller frees
 * out->config_json and out->payload_schema_json with qv_free. */
qv_status qv_collection_info_get(qv_db *db, const char *name, qv_collection_info *out,
                                 qv_error *err);

/* Names of all collections, sorted, as a malloc'd array of count strings
 * in one block: free the array alone with qv_free. */
qv_status qv_collection_list(qv_db *db, char ***names, size_t *count, qv_error *err);

/* ---- aliases --------------------------------------------------------------- */

typedef enum qv_alias_op_kind {
    QV_ALIAS_CREATE = 1,  /* a = alias, b = collection */
    QV_ALIAS_DELETE,      /* a = alias */
    QV_ALIAS_RENAME,      /* a = old alias, b = new alias */
} qv_alias_op_kind;

typedef struct qv_alias_op {
    qv_alias_op_kind kind;
    const char      *a;
    const char      *b;
} qv_alias_op;

/*
 * Apply n alias operations in order, atomically: either all take effect
 * (and are durable on return) or none does. Creating an alias that exists
 * repoints it, as in Qdrant.
 */
qv_status qv_alias_apply(qv_db *db, const qv_alias_op *ops, size_t n, qv_error *err);

typedef struct qv_alias {
    const char *alias;
    const char *collection;
} qv_alias;

/* All aliases (collection == NULL) or those of one collection (a missing
 * collection is QV_NOT_FOUND), sorted by alias, as one malloc'd block:
 * free the array alone with qv_free. */
qv_status qv_alias_list(qv_db *db, const char *collection, qv_alias **out, size_t *count,
                        qv_error *err);

/* ---- points: writes ---------------------------------------------------------- */

/* What a write request body is, in Qdrant's shapes. */
typedef enum qv_update_kind {
    QV_UPDATE_UPSERT = 1,        /* PointInsertOperations: {"points": [...]} or {"batch": {...}} */
    QV_UPDATE_DELETE,            /* PointsSelector: {"points": [ids]} or {"filter": {...}} */
    QV_UPDATE_SET_PAYLOAD,       /* SetPayload: payload + points|filter, optional key */
    QV_UPDATE_OVERWRITE_PAYLOAD, /* SetPayload */
    QV_UPDATE_DELETE_PAYLOAD,    /* DeletePayload: keys + points|filter */
    QV_UPDATE_CLEAR_PAYLOAD,     /* PointsSelector */
    QV_UPDATE_UPDATE_VECTORS,    /* UpdateVectors: {"points": [{id, vector}]} */
    QV_UPDATE_DELETE_VECTORS,    /* DeleteVectors: vector names + points|filter */
    QV_UPDATE_BATCH,             /* UpdateOperations: {"operations": [...]} */
} qv_update_kind;

typedef struct qv_write_opts {
    bool     wait;     /* return once applied and durable (fsynced) */
    unsigned timeout;  /* seconds to wait at most when wait is set; 0 = no limit */
} qv_write_opts;

typedef enum qv_update_status {
    QV_ACKNOWLEDGED = 0,  /* queued in order; applied soon (wait = false) */
    QV_COMPLETED,         /* applied, visible and on disk */
    QV_WAIT_TIMEOUT,      /* still queued when the timeout ran out; it will apply */
} qv_update_status;

typedef struct qv_update_result {
    uint64_t         operation_id;  /* of the first operation; a batch of n has ids id..id+n-1 */
    uint32_t         n_operations;
    qv_update_status status;
} qv_update_result;

/*
 * Apply one write request to collection (or alias) name. The request is
 * validated in full against the collection before anything happens, then
 * logged as ONE write-ahead-log record and applied as one step: readers see
 * all of it or none of it, and after a crash it is there entirely or not
 * at all. A failure while applying (e.g. update_vectors of a missing point)
 * undoes every operation of the request. With opts->wait the call returns
 * after the record is fsynced and applied (QV_COMPLETED) or reports that
 * failure; otherwise once the record is written to the log, not yet synced
 * (QV_ACKNOWLEDGED): it then survives a crash of the process.
 */
qv_status qv_points_update(qv_db *db, const char *name, qv_update_kind kind, const char *json,
                           size_t len, const qv_write_opts *opts, qv_update_result *result,
                           qv_error *err);

/* ---- named vectors ------------------------------------------------------------ */

/* Check a vector name as at collection creation: 1..255 bytes.
 * QV_VALIDATION ("vector_name: …") otherwise. */
qv_status qv_vector_name_check(const char *name, qv_error *err);

/*
 * PUT /collections/{name}/vectors/{vector}: add a dense or sparse vector to
 * collection (or alias) name from a VectorNameConfig JSON document
 * ({"dense": {"size", "distance", "datatype"?}} or {"sparse": {"modifier"?}}).
 * Existing points lack it; writes and reads know it once this returns.
 * Adding a vector that exists with the same space is a no-op; with another
 * space, or as the other kind, QV_BAD_INPUT. Body errors as at creation
 * (QV_BAD_FORMAT, QV_VALIDATION, QV_UNSUPPORTED), QV_NOT_FOUND for a
 * missing collection. Atomic and durable on return, whatever opts say
 * (opts->wait only chooses the status reported: completed or
 * acknowledged). Writes to the collection wait while it runs; reads go on
 * except for a short swap at the end.
 */
qv_status qv_vector_create(qv_db *db, const char *name, const char *vector, const char *json,
                           size_t len, const qv_write_opts *opts, qv_update_result *result,
                           qv_error *err);

/* DELETE /collections/{name}/vectors/{vector}: remove the vector and every
 * point's data of it (a vector added again later starts empty). A missing
 * vector is not an error, as in Qdrant. Atomic and durable on return. */
qv_status qv_vector_delete(qv_db *db, const char *name, const char *vector,
                           const qv_write_opts *opts, qv_update_result *result, qv_error *err);

/* ---- points: reads ------------------------------------------------------------- */

/*
 * One point as Qdrant's Record JSON ({"id", "payload", "vector"}), with its
 * payload and all its vectors; id_text is an integer or a UUID.
 * QV_NOT_FOUND "No point with id X found" when absent. *json is malloc'd.
 */
qv_status qv_point_get(qv_db *db, const char *name, const char *id_text, char **json,
                       size_t *len, qv_error *err);

/* POST /points: a PointRequest ({"ids", "with_payload", "with_vector"}) ->
 * JSON array of Records, in the order of ids, skipping missing ones. */
qv_status qv_points_retrieve(qv_db *db, const char *name, const char *request_json, size_t len,
                             char **json, size_t *out_len, qv_error *err);

/* ---- payload indexes ------------------------------------------------------------ */

/*
 * PUT /collections/{name}/index: {"field_name": key path, "field_schema":
 * "keyword" | "integer" | "float" | "bool" | "geo" | "datetime" | "text" |
 * "uuid" | {"type": …, params}}. Builds the index from the points now in the
 * collection (writes wait meanwhile, reads go on) and keeps it in step
 * with every later write; the definition survives restarts (the index is
 * rebuilt at open).
 * Creating an index on a field that has one replaces it.
 */
qv_status qv_index_create(qv_db *db, const char *name, const char *json, size_t len,
                          const qv_write_opts *opts, qv_update_result *result, qv_error *err);

/* DELETE /collections/{name}/index/{field}: a missing index is not an error. */
qv_status qv_index_delete(qv_db *db, const char *name, const char *field, const qv_write_opts *opts,
                          qv_update_result *result, qv_error *err);

/* POST /points/scroll: a ScrollRequest ({offset, limit (default 10), filter,
 * with_payload (default true), with_vector (default false)}) ->
 * {"points": [Record...], "next_page_offset": id | null}. Points come in id
 * order (integers ascending, then UUIDs); a page costs O(log n + points
 * looked at). */
qv_status qv_points_scroll(qv_db *db, const char *name, const char *request_json, size_t len,
                           char **json, size_t *out_len, qv_error *err);

/* POST /points/count: {filter, exact} -> {"count": N} (always exact). */
qv_status qv_points_count(qv_db *db, const char *name, const char *request_json, size_t len,
                          char **json, size_t *out_len, qv_error *err);

/* POST /facet: {key, filter, limit (default 10), exact} ->
 * {"hits": [{"value", "count"}...]}, counts descending then values
 * ascending; each point counts once per distinct value of key. */
qv_status qv_points_facet(qv_db *db, const char *name, const char *request_json, size_t len,
                          char **json, size_t *out_len, qv_error *err);

/*
 * Nearest neighbours. Each takes Qdrant's request JSON and gives the
 * "result" JSON; a dimension that does not match is QV_BAD_INPUT
 * "Vector dimension error: expected dim: D, got N", an unknown vector name
 * QV_BAD_INPUT "Not existing vector name error: X", a query naming a point
 * that does not exist QV_NOT_FOUND. Results are sorted best first (larger
 * score for Cosine/Dot and sparse, smaller for Euclid/Manhattan), ties by
 * point id; score_threshold is strict.
 *   qv_points_search: a SearchRequest ({vector, filter, params, limit,
 *     offset, score_threshold, with_payload, with_vector}) -> [ScoredPoint]
 *   qv_points_search_batch: {"searches": [SearchRequest]} -> [[ScoredPoint]]
 *   qv_points_query: a QueryRequest ({query, using, filter, params, limit
 *     (default 10), offset, score_threshold, with_*}) -> {"points": [...]};
 *     query is a vector, a sparse vector, a point id (that point is left
 *     out) or {"nearest": ...}; no query gives points in id order.
 *   qv_points_query_batch: {"searches": [QueryRequest]} -> [{"points": [...]}]
 *   qv_points_recommend(_batch): a RecommendRequest ({positive, negative:
 *     ids or vectors; strategy average_vector | best_score | sum_scores;
 *     using; ...}) -> [ScoredPoint]; the example points are left out.
 *   qv_points_discover(_batch): a DiscoverRequest ({target, context:
 *     [{positive, negative}], using, ...}) -> [ScoredPoint].
 * query also takes {"recommend": …}, {"discover": …}, {"context": …},
 * {"order_by": …} (payload order, hits carry "order_value"), {"sample":
 * "random"} and {"nearest": …, "mmr": {diversity, candidates_limit}};
 * points that come from a scroll (no query, order_by, sample) score 1.
 * recommend, discover and query take lookup_from {collection, vector}:
 * examples given by id are read from that collection (QV_NOT_FOUND
 * "Collection X not found" if it does not exist).
 *   qv_points_{search,recommend,query}_groups: the same request plus
 *     group_by (a payload key), group_size and with_lookup ->
 *     {"groups": [{id, hits, lookup?}]}, at most limit groups, each of the
 *     best group_size hits, lookup the with_lookup collection's point
 *     whose id is the group's.
 */
qv_status qv_points_search(qv_db *db, const char *name, const char *request_json, size_t len,
                           char **json, size_t *out_len, qv_error *err);
qv_status qv_points_search_batch(qv_db *db, const char *name, const char *request_json, size_t len,
                                 char **json, size_t *out_len, qv_error *err);
qv_status qv_points_query(qv_db *db, const char *name, const char *request_json, size_t len,
                          char **json, size_t *out_len, qv_error *err);
qv_status qv_points_query_batch(qv_db *db, const char *name, const char *request_json, size_t len,
                                char **json, size_t *out_len, qv_error *err);
qv_status qv_points_recommend(qv_db *db, const char *name, const char *request_json, size_t len,
                              char **json, size_t *out_len, qv_error *err);
qv_status qv_points_recommend_batch(qv_db *db, const char *name, const char *request_json, size_t len,
                                    char **json, size_t *out_len, qv_error *err);
qv_status qv_points_discover(qv_db *db, const char *name, const char *request_json, size_t len,
                             char **json, size_t *out_len, qv_error *err);
qv_status qv_points_search_groups(qv_db *db, const char *name, const char *request_json, size_t len,
                                  char **json, size_t *out_len, qv_error *err);
qv_status qv_points_recommend_groups(qv_db *db, const char *name, const char *request_json, size_t len,
                                     char **json, size_t *out_len, qv_error *err);
qv_status qv_points_query_groups(qv_db *db, const char *name, const char *request_json, size_t len,
                                 char **json, size_t *out_len, qv_error *err);
qv_status qv_points_discover_batch(qv_db *db, const char *name, const char *request_json, size_t len,
                                   char **json, size_t *out_len, qv_error *err);

/*
 * POST /points/search/matrix/pairs and /offsets: a SearchMatrixRequest
 * ({filter, sample (default 10, 2..10000), limit (default 3), using}).
 * A random sample of the points matching filter that hold the `using`
 * vector, in id order; for each, its limit nearest among the sample,
 * itself left out (scores as search reports them). pairs ->
 * {"pairs": [{a, b, score}...]}; offsets -> {"offsets_row", "offsets_col",
 * "scores", "ids"} with rows and columns indexing ids. Fewer than two
 * sampled points give an empty matrix. O(sample² · dim).
 */
qv_status qv_points_search_matrix_pairs(qv_db *db, const char *name, const char *request_json, size_t len,
                                        char **json, size_t *out_len, qv_error *err);
qv_status qv_points_search_matrix_offsets(qv_db *db, const char *name, const char *request_json, size_t len,
                                          char **json, size_t *out_len, qv_error *err);
/* ---- nearest neighbours, typed (no JSON for the query or the hits) ----------- */

/* One typed search: what qv_points_search does for {vector, filter, params:
 * {hnsw_ef, exact}, limit, offset, score_threshold} with no payload or
 * vector in the hits. Zero-initialize and set what you need. */
typedef struct qv_search_request {
    const char  *vector;        /* dense vector name; NULL or "" = the unnamed vector */
    const float *query;         /* dim floats; read only (Cosine normalizes a copy) */
    uint32_t     dim;           /* must be the vector's size */
    uint32_t     limit;         /* hits wanted, 1..1048576 */
    uint32_t     offset;        /* best hits skipped first */
    uint32_t     hnsw_ef;       /* search width; 0 = the vector's ef_construct */
    bool         exact;         /* score every matching point, no graph */
    bool         has_threshold; /* score_threshold applies (strict, as in qv_points_search) */
    float        score_threshold;
    const char  *filter_json;   /* a Filter in Qdrant's JSON shape, or NULL */
    size_t       filter_len;
} qv_search_request;

/* A hit: the point's id and Qdrant's score (Euclid/Manhattan: the
 * distance; Cosine/Dot: the similarity). */
typedef struct qv_hit {
    float    score;
    bool     is_uuid;
    uint64_t id;        /* the integer id (is_uuid false) */
    uint8_t  uuid[16];  /* the UUID's bytes in text order (is_uuid true) */
} qv_hit;

/*
 * Nearest neighbours of req->query in collection (or alias) name, best
 * first, ties by point id, into out[0..*n_out), *n_out <= req->limit (out
 * has room for limit hits; the engine allocates nothing the caller frees).
 * The same engine path as qv_points_search, with the same answers and
 * errors: QV_NOT_FOUND for a missing collection, QV_BAD_INPUT "Not existing
 * vector name error: X" or "Vector dimension error: expected dim: D, got N"
 * (a sparse vector's name too: it takes no dense query), QV_VALIDATION for
 * a limit of 0 or over the maximum, and the filter's errors as in
 * qv_points_search (QV_BAD_FORMAT, QV_VALIDATION). The filter is parsed
 * once per call. Costs no JSON beyond the filter's text, and no result
 * buffer.
 */
qv_status qv_search(qv_db *db, const char *name, const qv_search_request *req, qv_hit *out, size_t *n_out,
                    qv_error *err);

#ifdef __cplusplus
}
#endif
#endif
