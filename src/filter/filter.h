/*
 * filter.h — Qdrant's filter language: parsed into a tree (in an arena),
 * evaluated against one point at a time.
 *
 * A filter is {must, should, must_not, min_should}; each holds conditions:
 *   field condition  {"key": k, <tests>}, tests: match (value, text,
 *                    text_any, phrase, prefix, any, except), range (numbers or
 *                    datetimes), geo_bounding_box, geo_radius, geo_polygon,
 *                    values_count, is_empty: bool, is_null: bool
 *   {"is_empty": {"key": k}}, {"is_null": {"key": k}}
 *   {"has_id": [ids]}, {"has_vector": name}, {"slice": {total, index}}
 *   {"nested": {"key": k, "filter": F}}, or a filter again.
 * Semantics follow Qdrant (lib/segment/src/payload_storage/query_checker.rs,
 * condition_checker.rs, types.rs) as a scan without payload indexes sees
 * them; filter.c states each rule where it is implemented.
 *
 * Parsing validates everything up front, in Qdrant's two stages: shape
 * errors first (QV_BAD_FORMAT, HTTP 400: wrong types, unknown fields of a
 * filter object, a condition of no known form, bad key paths, bad
 * datetimes, geo points out of range, open polygons), then rule errors
 * (QV_VALIDATION, HTTP 422: a field condition with a key but no test,
 * min_should.min_count 0, a bad slice). Messages name the place, e.g.
 * "filter.must[0].range.gt: ..."; a 422 message is the part Qdrant puts
 * inside "Validation error in JSON body: [...]". A request with a bad filter
 * changes nothing. Like Qdrant's serde types, condition objects ignore
 * members they do not know; only a filter object ({must, ...}) rejects them.
 *
 * Memory: the tree lives in the arena given to flt_parse and points into
 * nothing else (strings are copied), so the JSON tree may be dropped.
 * Threading: a parsed filter is immutable; flt_match may run on many
 * threads at once. flt_match allocates nothing; its cost is proportional to
 * the conditions and the payload bytes they look at (a geo_polygon test
 * costs O(vertices) per geo value; match.any/except with many values is a
 * binary search).
 */
#ifndef QV_FILTER_FILTER_H
#define QV_FILTER_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/pointid.h"
#include "index/cond.h"
#include "json/jr.h"
#include "payload/pl.h"
#include "quiver.h"
#include "util/arena.h"

typedef struct flt_node flt_node;
struct flt_tokenizer;

typedef struct flt_filter {
    flt_node *root;
} flt_filter;

/* What a filter can see of a point. */
typedef struct flt_point {
    const qv_point_id *id;           /* NULL: has_id and slice never match */
    const uint8_t     *payload;      /* blob (pl.h); pl_empty when none */
    size_t             payload_len;
    /* Whether the point has the named vector ("" = the unnamed one); NULL:
     * has_vector never matches. */
    bool             (*has_vector)(const void *ctx, const char *name);
    const void        *ctx;
    /* Whether the collection has a full-text index on key (the path as
     * written), and its tokenizer (*out). With one, match.text means "all of
     * the text's tokens are among the tokens of the point's strings at key"
     * and text_any "one of them", as the index answers them (and as Qdrant
     * does), so a scan and an index agree; match.phrase "the phrase's
     * tokens one after another in the point's document" when the index
     * has phrase_matching (flt_tokenizer.phrase), else nothing (Qdrant
     * keeps no positions then); the index leaves phrases to scans. NULL,
     * or false: substring semantics (filter.c). Called with ctx. */
    bool             (*text_index)(const void *ctx, const pl_path *key, struct flt_tokenizer *out);
} flt_point;

/* A tokenizer lent by a full-text index: tokenize(params, s, len, fn, fctx)
 * calls fn for each token of s in order (stopping when fn returns false)
 * and returns false if fn stopped it. Must be reentrant. */
typedef bool (*flt_token_fn)(void *ctx, const char *tok, size_t len);
typedef struct flt_tokenizer {
    bool      (*tokenize)(const void *params, const char *s, size_t len, flt_token_fn fn, void *fctx);
    const void *params;
    bool        phrase;  /* the index keeps token order (phrase_matching): match.phrase can match */
} flt_tokenizer;

/* Parse a Filter JSON object (what names it in messages, e.g. "filter").
 * QV_BAD_FORMAT / QV_VALIDATION as above, QV_NOMEM. */
qv_status flt_parse(qv_arena *a, const jr_value *v, const char *what, flt_filter **out,
                    qv_error *err);
/* The same for a filter read back from storage (a log record): a field
 * given twice, which requests are refused for (serde's "duplicate field")
 * but older versions accepted and logged, is read as it was then (the last
 * one wins), so replay judges a record as its first application did. */
qv_status flt_parse_stored(qv_arena *a, const jr_value *v, const char *what, flt_filter **out,
                           qv_error *err);

/* Does the point satisfy the filter? */
bool flt_match(const flt_filter *f, const flt_point *p);

/* ---- planning hook --------------------------------------------------------------
 *
 * For a planner that asks payload indexes before scanning: flt_each lists
 * the conditions directly under a filter node with their clause, kind, key
 * and tests; a sub-filter (FLT_COND_FILTER) can be walked again with
 * flt_each. flt_node_match evaluates one condition (or sub-filter) exactly as
 * flt_match would inside the filter. Nothing here changes a result.
 */
typedef enum flt_clause { FLT_MUST, FLT_SHOULD, FLT_MUST_NOT, FLT_MIN_SHOULD } flt_clause;

typedef enum flt_cond_kind {
    FLT_COND_FILTER,      /* a filter used as a condition */
    FLT_COND_FIELD,       /* {"key": ..., tests} */
    FLT_COND_IS_EMPTY,    /* {"is_empty": {"key": ...}} */
    FLT_COND_IS_NULL,     /* {"is_null": {"key": ...}} */
    FLT_COND_HAS_ID,
    FLT_COND_HAS_VECTOR,
    FLT_COND_SLICE,
    FLT_COND_NESTED,      /* key: the array; its filter: flt_nested_filter */
} flt_cond_kind;

/* Tests of a field condition: flt_test_kind in index/cond.h. */

typedef struct flt_cond {
    flt_clause      clause;
    flt_cond_kind   kind;
    const pl_path  *key;    /* FIELD, IS_EMPTY, IS_NULL, NESTED; else NULL */
    uint32_t        tests;  /* FIELD: bits of flt_test_kind */
    const flt_node *node;   /* for flt_node_match, flt_each (FILTER) */
} flt_cond;

const flt_node *flt_root(const flt_filter *f);
/* Call fn for each condition under filter node n, in the order must,
 * should, must_not, min_should.conditions; stops when fn returns false. */
void flt_each(const flt_node *n, bool (*fn)(void *ctx, const flt_cond *c), void *ctx);
/* Whether filter node n has a should list (an empty one matches nothing)
 * and min_should's min_count (0 if none); either pointer may be NULL. */
void flt_filter_info(const flt_node *n, bool *has_should, uint32_t *min_should_count);
/* The inner filter of a FLT_COND_NESTED node (NULL for other kinds). */
const flt_node *flt_nested_filter(const flt_node *n);
bool flt_node_match(const flt_node *n, const flt_point *p);
/* A node's kind; the key of a FIELD, IS_EMPTY, IS_NULL or NESTED node
 * (else NULL); the sorted ids of a HAS_ID node (*ids) and their number
 * (0 for other kinds). */
flt_cond_kind  flt_node_kind(const flt_node *n);
const pl_path *flt_node_key(const flt_node *n);
uint32_t       flt_node_ids(const flt_node *n, const qv_point_id **ids);

/* The tests of a FLT_COND_FIELD node as payload indexes take them
 * (index/cond.h): out points into the filter, nothing is copied. O(1).
 * QV_BAD_INPUT for other kinds. */
qv_status flt_field_view(const flt_node *n, fidx_cond *out);

/* Which of total slices (0..total-1) a point id falls into: SipHash-2-4 with
 * a zero key over 8 little-endian bytes (integer ids) or the 16 UUID bytes,
 * modulo total (total >= 1). */
uint32_t flt_slice_of(const qv_point_id *id, uint32_t total);

#endif
