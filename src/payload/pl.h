/*
 * pl.h — payloads: a compact binary form of a JSON object, key paths, and
 * the payload operations of Qdrant (set, overwrite, delete keys, clear).
 *
 * Blob format: see docs/FORMAT.md ("Payload blob") and the table atop
 * pl.c — a tag byte per value, little-endian, varint lengths, small ints and
 * short strings inline in the tag; containers carry their byte size so a
 * lookup skips a subtree in O(1). Key order and value types are kept
 * exactly (1 stays an integer, 1.0 stays a float, u64 above INT64_MAX kept);
 * keys are unique (a duplicate key in the JSON keeps the first position and
 * the last value, as serde_json does). A blob is about the size of its
 * compact JSON or smaller ({"a":1}: 5 bytes).
 *
 * No JSON here: a blob is made from a JSON tree and written back as JSON by
 * payload/pljson.h, so modules that only read payloads (index/) never see
 * the JSON reader or writer.
 *
 * Blobs made by pl_encode / pl_set / pl_delete are trusted; a blob read
 * from disk is checked once with pl_validate before any other call sees it
 * (the others do not bounds-check). Outputs are appended to out.
 * Threading: all functions are pure (no shared state but a read-only
 * locale set up once for Unicode key classes in pl_path_parse).
 * Errors: functions that can fail return 0, or -1 with a message in err
 * (QV_ error codes of quiver.h: QV_BAD_INPUT / QV_NOMEM).
 */
#ifndef QV_PAYLOAD_PL_H
#define QV_PAYLOAD_PL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quiver.h"
#include "util/arena.h"
#include "util/buf.h"

/* ---- blobs ------------------------------------------------------------------ */

/* Deepest nesting of a blob (the root object is level 1): the JSON reader's
 * limit (pljson.c checks that they agree). */
#define PL_MAX_DEPTH 128

/* Structural check of untrusted bytes: every length in bounds, tags known,
 * element counts exact, root is an object spanning all len bytes, nesting
 * <= PL_MAX_DEPTH. Never reads outside [blob, blob + len). Strings are not
 * checked for UTF-8 (the blob's file carries a checksum). O(len). */
bool pl_validate(const uint8_t *blob, size_t len);
/* The empty object's blob (a static constant) and its length. */
extern const uint8_t pl_empty[];
extern const size_t  pl_empty_len;
/* Number of top-level keys. */
size_t pl_count(const uint8_t *blob, size_t len);

/* ---- key paths ---------------------------------------------------------------- */

/*
 * A parsed key path: "a.b", "a[].b", "a[0].b", "\"key.with.dots\".c" —
 * Qdrant's JsonPath. steps[0] is always the first key (PL_KEY). Grammar:
 * a key is 1+ Unicode alphanumerics, '_' or '-', or "quoted" (any chars but
 * '"' and '\', no escapes, may be empty); then any of .key, [digits], [].
 * Nothing else (no spaces, no leading '['). Lives in the arena it was
 * parsed into.
 */
typedef enum pl_step_kind { PL_KEY, PL_INDEX, PL_ALL } pl_step_kind;
typedef struct pl_step {
    pl_step_kind kind;
    const char  *key;    /* PL_KEY: NUL-terminated */
    uint32_t     key_len;
    uint32_t     index;  /* PL_INDEX */
} pl_step;
typedef struct pl_path {
    uint32_t       n;
    const pl_step *steps;
    const char    *text;  /* the path as given */
} pl_path;

/* Parse a key path into arena. QV_BAD_FORMAT (a path is part of a request's
 * shape, as in Qdrant) with Qdrant's message
 * "Invalid json path: '<text>'" on bad syntax; QV_NOMEM. */
int pl_path_parse(qv_arena *a, const char *text, size_t len, pl_path *out, qv_error *err);

/* ---- operations (each writes a new blob to out; inputs are untouched) ------------ */

/*
 * set_payload: keys of patch replace base's in place or are appended; a
 * key whose patch value is null is removed instead (Qdrant's merge_map).
 * With a key path (path != NULL), as Qdrant's set_payload with `key`
 * (JsonPath::value_set), walking from the root:
 *   key step:  the value there becomes an object if it is not one (arrays
 *              and scalars are replaced); the member is entered or created;
 *   [i]:       the value becomes [] if it is not an array; element i is
 *              entered if it exists, else nothing happens (no padding);
 *   []:        every element of an array is entered; a non-array becomes [];
 *   path end:  the value becomes {} if it is not an object, then the merge
 *              above applies to it.
 * E.g. key "a.b", patch {"c":1}: {} -> {"a":{"b":{"c":1}}}; {"a":10} ->
 * {"a":{"b":{"c":1}}}; "a[].b" on {} -> {"a":[]}; "a[5]" on {"a":[1]} ->
 * unchanged. QV_BAD_INPUT if the result would nest deeper than
 * PL_MAX_DEPTH; QV_NOMEM. base and patch are trusted blobs.
 */
int pl_set(const uint8_t *base, size_t base_len, const uint8_t *patch, size_t patch_len,
           const pl_path *path, qv_buf *out, qv_error *err);
/*
 * delete_payload: apply each path in turn as Qdrant's JsonPath::value_remove:
 * the path is followed through objects (key), arrays ([i], or [] for every
 * element); at its last step a key is removed from its object and "[]"
 * empties its array; a last "[i]" removes nothing (Qdrant: "deleting array
 * indices is not idempotent"). "a[].b" removes b from every object in a;
 * "a[0].b" from the first. A path that reaches nothing changes nothing.
 * Costs one copy of the blob per path that removes something.
 */
int pl_delete(const uint8_t *base, size_t base_len, const pl_path *paths, size_t n, qv_buf *out,
              qv_error *err);

/* ---- lookup (filters) -------------------------------------------------------------- */

typedef enum pl_type {
    PL_NULL, PL_FALSE, PL_TRUE, PL_INT, PL_UINT, PL_FLOAT, PL_STRING, PL_ARRAY, PL_OBJECT,
} pl_type;

/* A value inside a blob; valid while the blob lives. */
typedef struct pl_value {
    pl_type        type;
    int64_t        i;       /* PL_INT */
    uint64_t       u;       /* PL_UINT (> INT64_MAX) */
    double         d;       /* PL_FLOAT */
    const char    *s;       /* PL_STRING (not NUL-terminated) */
    size_t         len;     /* PL_STRING bytes; PL_ARRAY / PL_OBJECT element count */
    const uint8_t *raw;     /* PL_ARRAY / PL_OBJECT: the encoded value, for pl_iter_* */
    size_t         raw_len;
} pl_value;

/*
 * Call fn for every value path reaches in blob, in document order, as
 * Qdrant's JsonPath::value_get: a key step applies to an object only (a key
 * on an array reaches nothing: "a.b" on {"a":[{"b":1}]} yields nothing,
 * "a[].b" yields 1); "[]" yields each element of an array; "[i]" one
 * element. The value at the end is yielded as is: for {"a":[1,2]} path "a"
 * yields the array [1,2] once (not 1 and 2), "a[]" yields 1 and 2. Qdrant's
 * conditions then match an array value if any element matches
 * (ValueChecker::check), so a filter iterates a yielded PL_ARRAY one level.
 * Missing keys yield nothing; a null value is yielded (PL_NULL). Stops early
 * when fn returns false. Returns the number of values visited (fn calls).
 * Costs O(bytes of the objects on the way), no allocation.
 */
size_t pl_lookup(const uint8_t *blob, size_t len, const pl_path *path,
                 bool (*fn)(void *ctx, const pl_value *v), void *ctx);

/* Whether bytes nd occur in bytes h ("" is in every string): the substring
 * test of match.text and friends without a full-text index. */
bool pl_contains(const char *h, size_t hn, const char *nd, size_t nn);

/* A number value as a double (int, u64 or float); false for others. */
bool pl_as_f64(const pl_value *v, double *d);
/* A geo point: an object with numbers at "lon" and "lat" (other members
 * ignored, coordinates not range-checked); false otherwise. */
bool pl_geo_point(const pl_value *v, double *lon, double *lat);

/* Iterate the elements of an array value / members of an object value
 * (a scalar yields nothing). Keys are not NUL-terminated. */
typedef struct pl_iter { const uint8_t *p, *end; } pl_iter;
void pl_iter_init(pl_iter *it, const pl_value *container);
bool pl_iter_next_elem(pl_iter *it, pl_value *out);
bool pl_iter_next_member(pl_iter *it, const char **key, size_t *key_len, pl_value *out);

/* The root object as a value (for pl_iter_init). */
void pl_root(const uint8_t *blob, size_t len, pl_value *out);

#endif
