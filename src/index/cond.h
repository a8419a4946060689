/*
 * cond.h — the tests of a field condition in one plain form, shared by the
 * filter (which parses them from JSON and evaluates them against a point)
 * and the payload indexes (which answer them without a scan). One form,
 * so a filter hands its conditions to an index as they are: nothing is
 * copied or converted, and the two cannot drift apart.
 *
 * Plain means: no JSON, no arena, no filter tree; strings and arrays point
 * into memory the owner of the test keeps (filter.c: the filter's arena).
 * This header sits in index/ because the index is what asks for this form;
 * filter/ includes it, index/ never includes filter/ (scripts/check-layers).
 * The names keep the prefixes they grew up with: the test kinds are the
 * filter's (flt_test_kind), the structures the index's (fidx_*).
 */
#ifndef QV_INDEX_COND_H
#define QV_INDEX_COND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "payload/pl.h"

/* Tests of a field condition, as bits (1u << FLT_TEST_...) of flt_cond.tests. */
typedef enum flt_test_kind {
    FLT_TEST_MATCH_VALUE,
    FLT_TEST_MATCH_TEXT,
    FLT_TEST_MATCH_TEXT_ANY,
    FLT_TEST_MATCH_PHRASE,
    FLT_TEST_MATCH_PREFIX,
    FLT_TEST_MATCH_ANY,
    FLT_TEST_MATCH_EXCEPT,
    FLT_TEST_RANGE,           /* numbers */
    FLT_TEST_DATETIME_RANGE,
    FLT_TEST_GEO_BOUNDING_BOX,
    FLT_TEST_GEO_RADIUS,
    FLT_TEST_GEO_POLYGON,
    FLT_TEST_VALUES_COUNT,
    FLT_TEST_IS_EMPTY,        /* "is_empty": true/false inside a field condition */
    FLT_TEST_IS_NULL,
} flt_test_kind;

typedef struct fidx_str {
    const char *p;
    size_t      len;
} fidx_str;

/* Range bounds present, bits of fidx_range.has / fidx_trange.has; the
 * array index of each bound is its bit's log2 (lt 0, gt 1, lte 2, gte 3). */
enum { FIDX_LT = 1, FIDX_GT = 2, FIDX_LTE = 4, FIDX_GTE = 8 };

/* A point in time, UTC: seconds since 1970-01-01 and nanoseconds (1e9 and
 * more inside a leap second, as chrono keeps it). Compared as a pair. */
typedef struct fidx_time {
    int64_t sec;
    int64_t nsec;
} fidx_time;

typedef struct fidx_range {
    unsigned has;   /* FIDX_LT ... */
    double   b[4];  /* lt, gt, lte, gte */
} fidx_range;

typedef struct fidx_trange {
    unsigned  has;
    fidx_time b[4];
} fidx_trange;

/* A closed ring of a polygon: x = lon, y = lat; pt[n - 1] == pt[0]. */
typedef struct fidx_ring {
    uint32_t n;
    double  *x, *y;
} fidx_ring;

/* One test of a field condition. */
typedef struct fidx_test {
    flt_test_kind kind;
    fidx_str      text;  /* MATCH_TEXT, _TEXT_ANY, _PHRASE, _PREFIX: the text as given */
    union {
        struct {
            pl_type  type;  /* PL_STRING, PL_INT, PL_TRUE, PL_FALSE */
            int64_t  i;
            fidx_str s;
        } value;             /* MATCH_VALUE */
        struct {
            fidx_str *tok;
            uint32_t  n;
        } words;             /* MATCH_TEXT_ANY: the text's whitespace-separated words */
        struct {
            bool      ints;  /* AnyVariants::Integers; else Strings (also for []) */
            uint32_t  n;
            int64_t  *i;     /* sorted ascending */
            fidx_str *s;     /* sorted bytewise (memcmp, then length) */
        } set;               /* MATCH_ANY, MATCH_EXCEPT */
        fidx_range  range;   /* RANGE */
        fidx_trange trange;  /* DATETIME_RANGE */
        struct {
            double tl_lon, tl_lat, br_lon, br_lat;
        } box;               /* GEO_BOUNDING_BOX */
        struct {
            double lon, lat, radius;
        } circle;            /* GEO_RADIUS (meters) */
        struct {
            fidx_ring *rings;  /* [0] exterior, then the holes */
            uint32_t   n;
        } poly;              /* GEO_POLYGON */
    } u;
} fidx_test;

/* A field condition as an index is asked it. */
typedef struct fidx_cond {
    const fidx_test *tests;  /* OR'ed per value */
    uint32_t         n;
    bool             flags;  /* has values_count, is_empty or is_null: not answered */
} fidx_cond;

#endif
