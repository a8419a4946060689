/*
 * filter.h — Qdrant's filter language: parsed into a tree (in an arena),
 * evaluated against one point at a time.
 *
 * A filter is {must, should, must_not, min_should}; each holds conditions:
 * a field condition ({key, match|range|…}), has_id, has_vector, is_empty,
 * is_null, nested, or a filter again. Semantics follow Qdrant exactly (see
 * filter.c for the corners: arrays match when any element matches, a missing
 * key fails match/range but is empty, `should: []` matches nothing, …).
 *
 * Parsing validates everything up front (unknown fields, a condition with a
 * key but no test, bad key paths, bad ranges): QV_BAD_FORMAT with a
 * message naming the place, so that a request with a bad filter changes
 * nothing.
 * Threading: a parsed filter is immutable; flt_match may run on many
 * threads at once.
 */
#ifndef QV_FILTER_FILTER_H
#define QV_FILTER_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/pointid.h"
#include "json/jr.h"
#include "payload/pl.h"
#include "quiver.h"
#include "util/arena.h"

typedef struct flt_node flt_node;

typedef struct flt_filter {
    flt_node *root;
} flt_filter;

/* What a filter can see of a point. */
typedef struct flt_point {
    const qv_point_id *id;
    const uint8_t     *payload;      /* blob (pl.h); pl_empty when none */
    size_t             payload_len;
    /* Whether the point has the named vector ("" = the unnamed one). */
    bool             (*has_vector)(const void *ctx, const char *name);
    const void        *ctx;
} flt_point;

/* Parse a Filter JSON object (what path names it in messages, e.g. "filter"). */
qv_status flt_parse(qv_arena *a, const jr_value *v, const char *what, flt_filter **out,
                    qv_error *err);

/* Does the point satisfy the filter? Cost: proportional to the conditions
 * and the payload bytes they look at. */
bool flt_match(const flt_filter *f, const flt_point *p);

#endif
