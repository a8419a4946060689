/*
 * pljson.h — payloads and JSON: a blob from a parsed JSON object, and a blob
 * (or part of it) written as JSON. The JSON half of payload/, apart from
 * pl.h so that modules which may not see json/ (index/) can use payloads.
 * Same contract as pl.h: blobs are trusted, outputs are appended, functions
 * are pure; a failed write leaves the writer's buffer out of memory.
 */
#ifndef QV_PAYLOAD_PLJSON_H
#define QV_PAYLOAD_PLJSON_H

#include <stddef.h>
#include <stdint.h>

#include "json/jr.h"
#include "json/jw.h"
#include "payload/pl.h"
#include "quiver.h"
#include "util/buf.h"

/* ---- JSON -> blob ------------------------------------------------------------- */

/* Append the blob of JSON object obj to out (QV_BAD_INPUT if obj is not an
 * object, QV_NOMEM). Integer literals stay integers; "-0" becomes the float
 * -0.0, as serde_json reads it. */
int  pl_encode(const jr_value *obj, qv_buf *out, qv_error *err);

/* ---- blob -> JSON ------------------------------------------------------------- */

/* Write the payload as a JSON object (compact, keys in stored order). */
void pl_write_json(jw *w, const uint8_t *blob, size_t len);

/* Write one value (as yielded by pl_lookup or an iterator) as JSON. */
void pl_write_value(jw *w, const pl_value *v);

/* ---- selection (with_payload) ---------------------------------------------------- */

/*
 * Write only the given paths (include) or everything but them (exclude),
 * as Qdrant's with_payload include/exclude (and list-of-keys = include)
 * does. Qdrant walks the payload naming members by key and array elements
 * by "[]" only:
 *   include keeps a node when some path and the node's path agree on their
 *     common length: "a.b" gives {"a":{"b":..}}; an a without b gives
 *     {"a":{}}; a scalar a is kept whole; through an array it takes "a[].b"
 *     ("a.b" keeps a as [] and "a[0]" matches no element);
 *   exclude drops a node when some path is a prefix of the node's path:
 *     "a.b" removes b from the object a, not from objects inside an array a
 *     (that takes "a[].b").
 */
void pl_write_json_include(jw *w, const uint8_t *blob, size_t len, const pl_path *paths, size_t n);
void pl_write_json_exclude(jw *w, const uint8_t *blob, size_t len, const pl_path *paths, size_t n);

#endif
