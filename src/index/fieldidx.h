/*
 * fieldidx.h — payload field indexes: one index per (collection, key path),
 * of a Qdrant schema type (keyword, integer, float, bool, geo, datetime,
 * text, uuid), kept in step with every write and asked by the planner which
 * points satisfy a field condition on that key.
 *
 * Values: the values at the key are fetched as a filter does (pl_lookup);
 * a yielded array contributes each of its elements (one level, as filter.c
 * iterates it), anything else itself. Per type, a value is indexed when it
 * is: keyword/uuid/text a string; integer an i64 (PL_INT); float any number
 * (int, u64, float, as f64; -0.0 as 0.0); bool true/false; datetime a
 * string that parses as a datetime (util/datetime.h); geo an object with numbers
 * at lon (-180..180) and lat (-90..90). Every other non-null value makes
 * its point an "other" of the index (a bit per slot): such points are not
 * indexed but the answers account for them (see fidx_select).
 *
 * Structure (one for every type): an ordered set of 16-byte pairs
 * (hi, lo) — hi the value's order key, lo the slot (datetime: nanoseconds
 * << 32 | slot) — kept as an unrolled sorted array: blocks of FIDX_BLK
 * (256) pairs plus a directory of each block's first pair for a binary
 * search. Insert / erase cost O(log blocks + FIDX_BLK) (a memmove inside a
 * 4 KB block), a range scan is sequential, a count over a range adds whole
 * blocks without visiting their pairs. One structure serves postings
 * (keyword: hi = the string's id from a dictionary, so a value's slots are
 * one contiguous, slot-sorted run), ranges (integer / float / datetime: hi
 * = an order-preserving encoding of the value) and geo (hi = a cell of a
 * 4096 x 4096 lat/lon grid, row-major, so a query box is one range per
 * row of cells). Chosen over roaring postings + a
 * separate B+tree for simplicity: one well-tested structure, no
 * per-value allocation. Dictionaries (keyword/uuid strings, text tokens)
 * are an open-addressing hash of value -> id with a pair count per id
 * (facet counts and estimates in O(1)). Plus two bitmaps over slots: "has
 * an indexed value" (the payload_schema `points`) and "other".
 * Memory: 16 bytes per (value, slot) pair in a full block, ~21 at the
 * typical 75% fill; keyword/text add ~40 bytes + the string per distinct
 * value; 2 bits per slot. fidx_memory reports it.
 *
 * Updates: fidx_update(slot, old blob, new blob) removes the pairs of old
 * absent from new and adds those of new absent from old; it is idempotent
 * (pairs are a set; counts follow actual changes). It never fails halfway
 * visibly: when an allocation fails the index becomes broken
 * (fidx_broken): it stops answering (fidx_plan says FIDX_NO) and ignores
 * further updates until fidx_clear, after which the owner feeds every
 * slot again with fidx_update(x, slot, NULL, 0, blob, len).
 *
 * Questions: a field condition is handed over as a fidx_cond (its tests in
 * index/cond.h's plain form, which a parsed filter holds). fidx_plan says
 * whether the index can answer it and estimates the number of matching
 * points; fidx_select gives the slots. Answers equal a scan with
 * flt_node_match (FIDX_EXACT) or are a superset of it (FIDX_SUPERSET: the
 * caller checks each candidate with flt_node_match; a text index's
 * match.text / text_any follow Qdrant's indexed semantics (below), which a
 * scan follows too when the flt_point lends it this index's tokenizer,
 * flt_point.text_index). What each type answers (others: FIDX_NO):
 *   keyword/uuid  match.value string, match.any strings, match.except
 *                 strings (EXACT); match text/phrase/prefix/text_any with
 *                 scan semantics (EXACT, costs a pass over the dictionary);
 *   integer       lookup: match.value int, any ints, except ints (EXACT);
 *                 range: range (EXACT, SUPERSET when some point holds a
 *                 float or u64 at the key: those are candidates);
 *   float         range (EXACT);
 *   bool          match.value bool (EXACT);
 *   datetime      datetime range (EXACT);
 *   geo           geo_bounding_box, geo_radius, geo_polygon (SUPERSET);
 *   text          match.text: all of the text's tokens in the point's
 *                 token set (the union over its strings); text_any: one
 *                 of them; a text without tokens matches nothing.
 *                 Tokenizer = Qdrant's "word": split on chars that are not
 *                 Unicode alphanumeric, lowercase (towlower of C.UTF-8,
 *                 one char to one char), then drop tokens shorter than
 *                 min_token_len or longer than max_token_len chars.
 *                 match.phrase is not answered (FIDX_NO): scans judge it
 *                 with this tokenizer (filter.h, phrase_matching).
 * A condition with several tests (they are OR'ed per value) is answered if
 * every test is; values_count / is_empty / is_null are not answered.
 *
 * Threading: none inside. Readers (fidx_plan, fidx_select, fidx_facet,
 * fidx_order_*, fidx_points, fidx_memory, fidx_broken) may run
 * concurrently; fidx_update / fidx_clear / fidx_free need exclusive access
 * (the collection's reader-writer lock).
 * Ownership: fidx_new copies the key path and the params; blobs and
 * conditions are only read during the call; results are malloc'd and
 * owned by the caller.
 */
#ifndef QV_INDEX_FIELDIDX_H
#define QV_INDEX_FIELDIDX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "index/cond.h"
#include "payload/pl.h"
#include "quiver.h"

#define FIDX_BLK 256  /* pairs per block */

typedef enum fidx_type {
    FIDX_KEYWORD, FIDX_INTEGER, FIDX_FLOAT, FIDX_BOOL, FIDX_GEO, FIDX_DATETIME, FIDX_TEXT,
    FIDX_UUID,
} fidx_type;

/* The schema: Qdrant's field_schema, a bare type name or its params form. */
typedef struct fidx_params {
    fidx_type type;
    bool      lookup, range;    /* integer: both true by default */
    bool      lowercase;        /* text: true by default */
    uint32_t  min_token_len;    /* text: 0 = none */
    uint32_t  max_token_len;    /* text: 0 = none */
    bool      phrase_matching;  /* text: match.phrase can match (judged by scans, see filter.h) */
} fidx_params;

/* Defaults of a type (what the bare type name means). */
void fidx_params_default(fidx_type type, fidx_params *out);
/* "keyword" ... "uuid" -> type; false for an unknown name. */
bool fidx_type_from_name(const char *name, size_t len, fidx_type *out);
const char *fidx_type_name(fidx_type type);

typedef struct fidx fidx;

/* A new, empty index on key (copied). QV_NOMEM. */
qv_status fidx_new(const pl_path *key, const fidx_params *params, fidx **out);
void      fidx_free(fidx *x);  /* NULL is a no-op */
const fidx_params *fidx_get_params(const fidx *x);
const pl_path     *fidx_key(const fidx *x);

/* Point slot's payload changed from old to new (NULL / 0: no payload, a
 * point that did not / does not exist). Never fails; see "Updates". Costs
 * O(values of old and new × (log + FIDX_BLK)). */
void fidx_update(fidx *x, uint32_t slot, const uint8_t *old_blob, size_t old_len,
                 const uint8_t *new_blob, size_t new_len);
/* An allocation failed since the last fidx_clear: answers nothing. */
bool fidx_broken(const fidx *x);
/* Empty the index and clear the broken flag (frees all but the struct). */
void fidx_clear(fidx *x);

/* Points with at least one indexed value (payload_schema "points"). O(1). */
uint64_t fidx_points(const fidx *x);
/* Bytes held by the index (not counting malloc's bookkeeping). O(1). */
size_t   fidx_memory(const fidx *x);

/* ---- conditions ------------------------------------------------------------------ */

/* The tests of a condition: index/cond.h (fidx_test, fidx_cond). */

typedef enum fidx_answer {
    FIDX_NO,        /* not answered by this index: scan */
    FIDX_EXACT,     /* fidx_select gives exactly the matching points */
    FIDX_SUPERSET,  /* it gives candidates; check each with flt_node_match */
} fidx_answer;

/* Can x answer c, and about how many points match (*estimate, may be NULL;
 * an upper bound on the candidates fidx_select gives). O(log n + tests),
 * text/prefix on keyword: O(distinct values). */
fidx_answer fidx_plan(const fidx *x, const fidx_cond *c, uint64_t *estimate);

/* Sorted, distinct slots (malloc'd into *slots, count *n; free()). Call
 * only when fidx_plan answered; QV_UNSUPPORTED otherwise, QV_NOMEM. Costs
 * O(pairs visited + highest slot / 64) — a bitmap over slots merges
 * several runs; a single value's run is copied straight. */
qv_status fidx_select(const fidx *x, const fidx_cond *c, uint32_t **slots, size_t *n);

/* ---- values out: facets, order_by --------------------------------------------- */

/* A value of the index, as given to fidx_facet / fidx_order_next. */
typedef struct fidx_value {
    fidx_type type;
    const char *s;        /* KEYWORD / UUID / TEXT (a token): valid until the next write */
    size_t      len;
    int64_t     i;        /* INTEGER; BOOL: 0 / 1 */
    double      d;        /* FLOAT */
    int64_t     sec;      /* DATETIME: UTC */
    int64_t     nsec;
} fidx_value;

/* Call fn for each distinct value with its number of points (keyword, uuid,
 * integer, bool; QV_UNSUPPORTED for others). Order: keyword/uuid by
 * dictionary slot (unordered), integer ascending, bool false then true.
 * Stops when fn returns false. O(distinct values) for dictionaries,
 * O(pairs) for integers. */
qv_status fidx_facet(const fidx *x, bool (*fn)(void *ctx, const fidx_value *v, uint64_t count),
                     void *ctx);

/*
 * order_by: the (value, slot) pairs of an integer (range), float or
 * datetime index in value order (ascending, or descending with desc), ties
 * by slot in the same direction; a point appears once per value it holds.
 * start (may be NULL) as Qdrant's start_from: ascending from the first
 * value >= it, descending from the last value <= it; a number for
 * integer/float (compared as f64, like a range), a (sec, nsec) for datetime.
 * The iterator is valid until the next write to x.
 */
typedef struct fidx_start {
    double  num;
    int64_t sec, nsec;
} fidx_start;

typedef struct fidx_order_it {
    const fidx *x;
    uint32_t    b, i;   /* block, position */
    bool        desc, done;
} fidx_order_it;

qv_status fidx_order_seek(const fidx *x, bool desc, const fidx_start *start, fidx_order_it *it);
bool      fidx_order_next(fidx_order_it *it, fidx_value *v, uint32_t *slot);

/* ---- helpers ------------------------------------------------------------------------ */

/* Qdrant's word tokenizer with text params p: fn gets each token in order
 * (lowercased per p; not NUL-terminated; repeats repeated; valid during
 * the call) and stops the walk by returning false. Returns false when fn
 * did or when a token over 64 bytes needed memory that was not there. */
bool fidx_tokenize(const fidx_params *p, const char *s, size_t len,
                   bool (*fn)(void *ctx, const char *tok, size_t len), void *ctx);

#endif
