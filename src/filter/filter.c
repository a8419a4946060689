/*
 * filter.c — parsing and evaluating filters (see filter.h).
 *
 * Qdrant sources followed (lib/segment/src/): types.rs for the shapes and
 * their checks, payload_storage/query_checker.rs for how conditions combine
 * and how a field's values are fetched, payload_storage/condition_checker.rs
 * for each test, common/utils.rs for is_empty / is_null. Qdrant's rules
 * kept here:
 *
 *  - Clauses: must = all, must_not = none, should = any (`should: []`
 *    matches nothing, an absent should everything), min_should = at least
 *    min_count of its conditions. Each takes one condition or a list.
 *  - A field condition fetches the values at its key (JsonPath value_get:
 *    pl_lookup). No value (missing key, or a path that reaches nothing):
 *    the condition is false, except values_count (the count 0 is tested:
 *    {"lt": 1} matches, as Qdrant 1.19 after qdrant/qdrant#9586), then
 *    `is_empty: b` (gives b) and `is_null: b` (gives !b)
 *    (FieldCondition::check_empty).
 *  - Otherwise it is true when one value passes: with values_count, the
 *    value's count passes (null 0, array its length, anything else 1);
 *    else with is_empty / is_null (in that order of precedence) the value
 *    passes as check_is_empty / check_is_null; else an array value passes
 *    when one of its elements passes any of the condition's tests (match,
 *    range, geo_*: they are OR'ed), a non-array when it passes one itself.
 *    Arrays inside arrays are not flattened.
 *  - match.value: a string equals a string, a bool a bool, an integer a
 *    payload integer that fits i64 (1 never equals the float 1.0; a float
 *    literal is not a valid match value). match.any: same, any of the list
 *    (the list is all strings or all integers; [] matches nothing).
 *    match.except: the opposite for the same type, true for any other
 *    non-null value (numbers that are not i64, bools, objects, arrays
 *    nested in arrays, a string against an integer list), never for null;
 *    `except: []` matches every non-null value.
 *  - match.text and match.phrase without a full-text index: the string
 *    contains the text (bytes; "" is in every string). With one (the
 *    point lends its tokenizer): text = all tokens, text_any = one of
 *    them, phrase = the tokens one after another in the point's document
 *    and only when the index has phrase_matching (phrase_test_point). text_any: contains
 *    one of the text's whitespace-separated words (none: no match). prefix:
 *    the string starts with it (bytes, case-sensitive).
 *  - range on numbers: any JSON number (int, u64 or float, compared as f64);
 *    strings never match, even numeric ones. A range with a string bound is
 *    a datetime range; it matches string values that parse as datetimes
 *    (DateTimePayloadType::from_str: RFC 3339 and the lax forms below),
 *    compared in UTC to the nanosecond.
 *  - geo: a value is an object with numbers at "lon" and "lat" (extra
 *    members ignored; payload coordinates are not range-checked).
 *    bounding box: strictly inside, and top_left.lon > bottom_right.lon
 *    means the box crosses the antimeridian. radius: haversine distance
 *    with the mean earth radius 6371008.8 m strictly less than the radius.
 *    polygon: strictly inside the exterior and not inside nor on a hole
 *    (geo's Contains: a point on a boundary is outside), rings closed.
 *  - {"is_empty": {key}}: every value is null or [] (so a missing key is
 *    empty; [null] is not). {"is_null": {key}}: some value is null ([null]
 *    is not null; a missing key is not null). Inside a field condition
 *    ("is_null": true) an array holding a null counts as null, as Qdrant's
 *    check_is_null(bool, value) does.
 *  - nested {key, filter}: the filter is applied to each object element of
 *    the array at key (key[] is meant; [] is appended when missing) as if
 *    it were a payload; true when one element satisfies the whole filter.
 *    has_id, has_vector and slice inside it never match (Qdrant passes no
 *    id tracker or vectors down).
 *  - has_id: the point's id is in the list. has_vector: the point has that
 *    named vector. slice: see flt_slice_of.
 */
#include "filter/filter.h"
#include "json/jpid.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/datetime.h"
#include "util/err.h"
#include "util/hash.h"

/* ---- the tree -------------------------------------------------------------------- */

/* The tests of a field condition are index/cond.h's plain form, so an index
 * takes them as they are (flt_field_view). */
typedef fidx_str    flt_str;
typedef fidx_time   flt_time;
typedef fidx_range  flt_range;
typedef fidx_trange flt_trange;
typedef fidx_ring   flt_ring;
typedef fidx_test   flt_test;

enum { B_LT = FIDX_LT, B_GT = FIDX_GT, B_LTE = FIDX_LTE, B_GTE = FIDX_GTE };
static const char *const bound_names[4] = {"lt", "gt", "lte", "gte"};

typedef struct flt_count {
    unsigned has;
    uint64_t b[4];
} flt_count;

struct flt_node {
    flt_cond_kind kind;
    pl_path       key;   /* FIELD, IS_EMPTY, IS_NULL, NESTED (as given) */
    union {
        struct {
            flt_node **c[4];  /* by flt_clause */
            uint32_t   n[4];
            uint32_t   min_count;
            bool       has_should, has_min_should;
        } f;
        struct {
            flt_test *tests;  /* match, range, geo_*: OR'ed per value */
            uint32_t  n_tests;
            uint32_t  mask;   /* every test present, FLT_TEST_* bits */
            flt_count count;
            bool      has_count;
            int8_t    is_empty, is_null;  /* -1 absent, else 0/1 */
        } field;
        struct {
            qv_point_id *ids;  /* sorted by pid_cmp */
            uint32_t     n;
        } ids;
        const char *vector;
        struct {
            uint32_t total, index;
        } slice;
        struct {
            pl_path   akey;    /* key with [] appended */
            flt_node *filter;
        } nested;
    } u;
};

/* ---- parsing ------------------------------------------------------------------------ */

#define WHERE_MAX 256
#define DEPTH_MAX JR_MAX_DEPTH

static const char COND_EXPECTED[] =
    "Expected some form of condition, which can be a field condition (like {\"key\": ..., "
    "\"match\": ... }), or some other mentioned in the documentation: "
    "https://qdrant.tech/documentation/concepts/filtering/#filtering-conditions";

typedef struct parser {
    qv_arena *a;
    qv_error *err;       /* shape errors (QV_BAD_FORMAT) and QV_NOMEM */
    qv_error  verr;      /* the first rule error (QV_VALIDATION) */
    bool      has_verr;
    bool      stored;    /* flt_parse_stored: repeated fields allowed (the last wins) */
} parser;

static qv_status parse_filter(parser *p, const jr_value *v, const char *where, flt_node **out,
                              int depth, bool top);
static qv_status parse_condition(parser *p, const jr_value *c, const char *where,
                                 flt_node **out, int depth);

static qv_status oom(parser *p) { return qv_fail(p->err, QV_NOMEM, "out of memory"); }

#define FAIL(p, ...) qv_fail((p)->err, QV_BAD_FORMAT, __VA_ARGS__)

/* serde's derived structs (Filter, FieldCondition, Match, Range, GeoPoint,
 * ...) refuse a field given twice; Qdrant then reports it, or, inside its
 * untagged Condition, that no variant matched: a format error either way. */
static qv_status no_dup(parser *p, const jr_value *o, const char *where, const char *const *fields,
                        size_t n)
{
    const char *dup = p->stored ? NULL : jr_dup_field(o, fields, n);
    return dup ? FAIL(p, "%s: duplicate field `%s`", where, dup) : QV_OK;
}
#define NO_DUP(p, o, where, ...)                                  \
    no_dup((p), (o), (where), (const char *const[]){__VA_ARGS__}, \
           sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

/* A rule error: remembered (the first one) while parsing goes on, since
 * Qdrant reports shape errors anywhere in the request before rule errors. */
static void rule_fail(parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void rule_fail(parser *p, const char *fmt, ...)
{
    if (p->has_verr)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->verr.msg, sizeof p->verr.msg, fmt, ap);
    va_end(ap);
    p->verr.code = QV_VALIDATION;
    p->has_verr = true;
}

static void sub(char *dst, const char *where, const char *suffix)
{
    snprintf(dst, WHERE_MAX, "%.200s%.50s", where, suffix);
}

static void *alloc(parser *p, size_t n, size_t size)
{
    return qv_arena_calloc(p->a, n ? n : 1, size);
}

static bool copy_str(parser *p, const jr_value *v, flt_str *out)
{
    char *s = qv_arena_strndup(p->a, v->u.str, v->len);
    if (!s)
        return false;
    out->p = s;
    out->len = v->len;
    return true;
}

/* JSON numbers as serde_json hands them to typed fields. "-0" is the float
 * -0.0 to serde_json, so it is no integer; integer literals beyond u64 are
 * floats too (jr marks neither as JR_NUM_INT). */
static bool num_i64(const jr_value *v, int64_t *out)
{
    if (!jr_is(v, JR_NUMBER) || !(v->flags & JR_NUM_INT))
        return false;
    if (v->flags & JR_NUM_NEG) {
        if (v->x.i64 == 0)
            return false;
        *out = v->x.i64;
        return true;
    }
    if (v->x.u64 > (uint64_t)INT64_MAX)
        return false;
    *out = (int64_t)v->x.u64;
    return true;
}

static bool num_u64(const jr_value *v, uint64_t *out)
{
    if (!jr_is(v, JR_NUMBER) || !(v->flags & JR_NUM_INT) || (v->flags & JR_NUM_NEG))
        return false;
    *out = v->x.u64;
    return true;
}

static bool num_f64(const jr_value *v, double *out)
{
    if (!jr_is(v, JR_NUMBER))
        return false;
    *out = v->u.num;
    return true;
}

/* Shortest decimal text that reads back as d, without an exponent (as Rust
 * prints floats). */
static void fmt_f64(char *dst, size_t size, double d)
{
    for (int decimals = 0; decimals <= 30; decimals++) {
        snprintf(dst, size, "%.*f", decimals, d);
        if (strtod(dst, NULL) == d)
            return;
    }
    snprintf(dst, size, "%.17g", d);
}

/* A printable excerpt of a JSON string for messages. */
static int excerpt_len(const jr_value *v) { return v->len > 100 ? 100 : (int)v->len; }

/* A payload key path; Qdrant's "Invalid json path: '...'" is a shape error. */
static qv_status parse_key(parser *p, const jr_value *k, const char *where, pl_path *out)
{
    if (!k)
        return FAIL(p, "%s: missing field `key`", where);
    if (!jr_is(k, JR_STRING))
        return FAIL(p, "%s.key: expected a string", where);
    qv_error e;
    if (pl_path_parse(p->a, k->u.str, k->len, out, &e) != 0)
        return e.code == QV_NOMEM ? oom(p) : FAIL(p, "%s.key: %s", where, e.msg);
    return QV_OK;
}

/* ---- datetimes ---- */

/* The one datetime grammar of the engine (util/datetime.h). */
static bool parse_datetime(const char *s, size_t len, flt_time *out)
{
    return qv_datetime_parse(s, len, &out->sec, &out->nsec);
}

static int time_cmp(const flt_time *a, const flt_time *b)
{
    if (a->sec != b->sec)
        return a->sec < b->sec ? -1 : 1;
    return (a->nsec > b->nsec) - (a->nsec < b->nsec);
}

/* ---- match ---- */

static int str_cmp(const flt_str *a, const flt_str *b)
{
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->p, b->p, n);
    return c ? c : (a->len > b->len) - (a->len < b->len);
}

static int cmp_str(const void *a, const void *b) { return str_cmp(a, b); }

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* AnyVariants (untagged): a list of strings (also []), else of i64. Returns
 * QV_OK, QV_NOMEM, or QV_BAD_FORMAT without a message (the variant does not
 * fit). */
static qv_status parse_set(parser *p, const jr_value *v, flt_test *t)
{
    if (!jr_is(v, JR_ARRAY))
        return QV_BAD_FORMAT;
    bool strs = true, ints = true;
    int64_t x;
    for (uint32_t i = 0; i < v->len; i++) {
        strs = strs && v->u.items[i].type == JR_STRING;
        ints = ints && num_i64(&v->u.items[i], &x);
    }
    if (!strs && !ints)
        return QV_BAD_FORMAT;
    t->u.set.ints = !strs;
    t->u.set.n = v->len;
    if (strs) {
        if (!(t->u.set.s = alloc(p, v->len, sizeof(flt_str))))
            return oom(p);
        for (uint32_t i = 0; i < v->len; i++)
            if (!copy_str(p, &v->u.items[i], &t->u.set.s[i]))
                return oom(p);
        qsort(t->u.set.s, v->len, sizeof(flt_str), cmp_str);
    } else {
        if (!(t->u.set.i = alloc(p, v->len, sizeof(int64_t))))
            return oom(p);
        for (uint32_t i = 0; i < v->len; i++)
            num_i64(&v->u.items[i], &t->u.set.i[i]);
        qsort(t->u.set.i, v->len, sizeof(int64_t), cmp_i64);
    }
    return QV_OK;
}

/* Rust's char::is_whitespace (Unicode White_Space) at s; returns its byte
 * length, 0 if not whitespace. */
static size_t white_len(const unsigned char *s, const unsigned char *e)
{
    if (*s == ' ' || (*s >= '\t' && *s <= '\r'))
        return 1;
    if (e - s >= 2 && s[0] == 0xC2 && (s[1] == 0x85 || s[1] == 0xA0))
        return 2;
    if (e - s >= 3) {
        unsigned c = (unsigned)(s[0] & 0x0F) << 12 | (unsigned)(s[1] & 0x3F) << 6 | (s[2] & 0x3F);
        if ((s[0] & 0xF0) == 0xE0 &&
            (c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
             c == 0x202F || c == 0x205F || c == 0x3000))
            return 3;
    }
    return 0;
}

/* text_any: its words (str::split_whitespace). */
static qv_status split_words(parser *p, const flt_str *text, flt_test *t)
{
    const unsigned char *s = (const unsigned char *)text->p, *e = s + text->len;
    uint32_t n = 0, cap = 0;
    for (int pass = 0; pass < 2; pass++) {
        const unsigned char *q = s;
        n = 0;
        while (q < e) {
            size_t w;
            while (q < e && (w = white_len(q, e)))
                q += w;
            if (q >= e)
                break;
            const unsigned char *b = q;
            while (q < e && !white_len(q, e))
                q++;
            if (pass == 1 && n < cap)
                t->u.words.tok[n] = (flt_str){(const char *)b, (size_t)(q - b)};
            n++;
        }
        if (pass == 0) {
            cap = n;
            if (!(t->u.words.tok = alloc(p, n, sizeof(flt_str))))
                return oom(p);
        }
    }
    t->u.words.n = n;
    return QV_OK;
}

/*
 * Match (untagged, in Qdrant's order): value, text, text_any, phrase,
 * prefix, any, except. The first whose member is present and of the right
 * type wins; other members are ignored.
 */
static qv_status parse_match(parser *p, const jr_value *m, const char *where, flt_test *t)
{
    if (!jr_is_object(m))
        return FAIL(p, "%s: expected an object such as {\"value\": ...}", where);
    const jr_value *v;
    qv_status rc;
    if ((rc = NO_DUP(p, m, where, "value", "text", "text_any", "phrase", "prefix", "any", "except")))
        return rc;
    if ((v = jr_get(m, "value"))) {
        int64_t i;
        t->kind = FLT_TEST_MATCH_VALUE;
        if (v->type == JR_STRING) {
            t->u.value.type = PL_STRING;
            return copy_str(p, v, &t->u.value.s) ? QV_OK : oom(p);
        }
        if (num_i64(v, &i)) {
            t->u.value.type = PL_INT;
            t->u.value.i = i;
            return QV_OK;
        }
        if (jr_is_bool(v)) {
            t->u.value.type = v->type == JR_TRUE ? PL_TRUE : PL_FALSE;
            return QV_OK;
        }
    }
    static const struct {
        const char   *name;
        flt_test_kind kind;
    } texts[] = {{"text", FLT_TEST_MATCH_TEXT},
                 {"text_any", FLT_TEST_MATCH_TEXT_ANY},
                 {"phrase", FLT_TEST_MATCH_PHRASE},
                 {"prefix", FLT_TEST_MATCH_PREFIX}};
    for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++) {
        if (!jr_is(v = jr_get(m, texts[k].name), JR_STRING))
            continue;
        t->kind = texts[k].kind;
        if (!copy_str(p, v, &t->text))
            return oom(p);
        return t->kind == FLT_TEST_MATCH_TEXT_ANY ? split_words(p, &t->text, t) : QV_OK;
    }
    if ((v = jr_get(m, "any"))) {
        t->kind = FLT_TEST_MATCH_ANY;
        if ((rc = parse_set(p, v, t)) != QV_BAD_FORMAT)
            return rc;
    }
    if ((v = jr_get(m, "except"))) {
        t->kind = FLT_TEST_MATCH_EXCEPT;
        if ((rc = parse_set(p, v, t)) != QV_BAD_FORMAT)
            return rc;
    }
    /* Nothing fits: say what is wrong with the first member present. */
    if ((v = jr_get(m, "value")))
        return FAIL(p, "%s.value: expected a string, an integer (i64) or a boolean, got %s", where,
                    v->type == JR_NUMBER ? "a number that is not an i64" : jr_type_name(v->type));
    for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++)
        if ((v = jr_get(m, texts[k].name)))
            return FAIL(p, "%s.%s: expected a string, got %s", where, texts[k].name,
                        jr_type_name(v->type));
    if ((v = jr_get(m, "any")) || (v = jr_get(m, "except")))
        return FAIL(p, "%s.%s: expected a list of strings or a list of integers (i64)", where,
                    jr_get(m, "any") ? "any" : "except");
    return FAIL(p,
                "%s: expected one of `value`, `text`, `text_any`, `phrase`, `prefix`, `any`, "
                "`except`",
                where);
}

/* ---- range, values_count ---- */

static qv_status parse_range(parser *p, const jr_value *r, const char *where, flt_test *t)
{
    char w[WHERE_MAX];
    if (!jr_is_object(r))
        return FAIL(p, "%s: expected an object with `lt`, `gt`, `lte`, `gte`", where);
    if (NO_DUP(p, r, where, "lt", "gt", "gte", "lte"))
        return QV_BAD_FORMAT;
    bool dt = false;
    for (int k = 0; k < 4; k++)
        dt = dt || jr_is(jr_get(r, bound_names[k]), JR_STRING);
    t->kind = dt ? FLT_TEST_DATETIME_RANGE : FLT_TEST_RANGE;
    for (int k = 0; k < 4; k++) {
        const jr_value *b = jr_get(r, bound_names[k]);
        if (jr_is_null(b))
            continue;
        snprintf(w, sizeof w, "%.200s.%s", where, bound_names[k]);
        if (dt) {
            if (!jr_is(b, JR_STRING))
                return FAIL(p, "%s: expected a datetime string (RFC 3339), got %s", w,
                            jr_type_name(b->type));
            if (!parse_datetime(b->u.str, b->len, &t->u.trange.b[k]))
                return FAIL(p,
                            "%s: '%.*s' does not match accepted datetime format (RFC3339). "
                            "Example: 2014-01-01T00:00:00Z",
                            w, excerpt_len(b), b->u.str);
            t->u.trange.has |= 1u << k;
        } else {
            if (!num_f64(b, &t->u.range.b[k]))
                return FAIL(p, "%s: expected a number, got %s", w, jr_type_name(b->type));
            t->u.range.has |= 1u << k;
        }
    }
    return QV_OK;
}

static qv_status parse_count(parser *p, const jr_value *r, const char *where, flt_count *c)
{
    if (!jr_is_object(r))
        return FAIL(p, "%s: expected an object with `lt`, `gt`, `lte`, `gte`", where);
    if (NO_DUP(p, r, where, "lt", "gt", "gte", "lte"))
        return QV_BAD_FORMAT;
    for (int k = 0; k < 4; k++) {
        const jr_value *b = jr_get(r, bound_names[k]);
        if (jr_is_null(b))
            continue;
        if (!num_u64(b, &c->b[k]))
            return FAIL(p, "%s.%s: expected a non-negative integer", where, bound_names[k]);
        c->has |= 1u << k;
    }
    return QV_OK;
}

/* ---- geo ---- */

static qv_status parse_geo_point(parser *p, const jr_value *v, const char *where, double *lon,
                                 double *lat)
{
    if (!v)
        return FAIL(p, "%s: missing field", where);
    if (!jr_is_object(v))
        return FAIL(p, "%s: expected a geo point {\"lon\": ..., \"lat\": ...}", where);
    if (NO_DUP(p, v, where, "lon", "lat"))
        return QV_BAD_FORMAT;
    const jr_value *x = jr_get(v, "lon"), *y = jr_get(v, "lat");
    if (!x)
        return FAIL(p, "%s: missing field `lon`", where);
    if (!y)
        return FAIL(p, "%s: missing field `lat`", where);
    if (!num_f64(x, lon))
        return FAIL(p, "%s.lon: expected a number", where);
    if (!num_f64(y, lat))
        return FAIL(p, "%s.lat: expected a number", where);
    if (!(*lon >= -180.0 && *lon <= 180.0) || !(*lat >= -90.0 && *lat <= 90.0)) {
        char a[32], b[32];
        fmt_f64(a, sizeof a, *lat);
        fmt_f64(b, sizeof b, *lon);
        return FAIL(p,
                    "%s: Wrong format of GeoPoint payload: expected `lat` = %s within [-90;90] "
                    "and `lon` = %s within [-180;180]",
                    where, a, b);
    }
    return QV_OK;
}

static qv_status parse_ring_points(parser *p, const jr_value *v, const char *where,
                                   flt_ring *ring)
{
    char w[WHERE_MAX];
    if (!jr_is_object(v))
        return FAIL(p, "%s: expected {\"points\": [...]}", where);
    const jr_value *pts = jr_get(v, "points");
    if (!pts)
        return FAIL(p, "%s: missing field `points`", where);
    if (!jr_is(pts, JR_ARRAY))
        return FAIL(p, "%s.points: expected a list of geo points", where);
    ring->n = pts->len;
    /* One spare slot: geo's Polygon::new closes an open ring. */
    if (!(ring->x = alloc(p, pts->len + 1, sizeof(double))) ||
        !(ring->y = alloc(p, pts->len + 1, sizeof(double))))
        return oom(p);
    for (uint32_t i = 0; i < pts->len; i++) {
        snprintf(w, sizeof w, "%.200s.points[%u]", where, i);
        qv_status rc = parse_geo_point(p, &pts->u.items[i], w, &ring->x[i], &ring->y[i]);
        if (rc)
            return rc;
    }
    return QV_OK;
}

/* GeoPolygon::validate_line_string, then close the ring as geo does. */
static qv_status check_ring(parser *p, flt_ring *r, const char *where)
{
    if (r->n <= 3)
        return FAIL(p, "%s: polygon invalid, the size must be at least 4, got %u", where, r->n);
    if (fabs(r->x[0] - r->x[r->n - 1]) > DBL_EPSILON || fabs(r->y[0] - r->y[r->n - 1]) > DBL_EPSILON)
        return FAIL(p,
                    "%s: polygon invalid, the first and the last points should be the same to "
                    "form a closed line",
                    where);
    if (r->x[0] != r->x[r->n - 1] || r->y[0] != r->y[r->n - 1]) {
        r->x[r->n] = r->x[0];
        r->y[r->n] = r->y[0];
        r->n++;
    }
    return QV_OK;
}

static qv_status parse_polygon(parser *p, const jr_value *v, const char *where, flt_test *t)
{
    char w[WHERE_MAX];
    qv_status rc;
    if (!jr_is_object(v))
        return FAIL(p, "%s: expected {\"exterior\": ..., \"interiors\": [...]}", where);
    if ((rc = NO_DUP(p, v, where, "exterior", "interiors")))
        return rc;
    const jr_value *ext = jr_get(v, "exterior"), *in = jr_get(v, "interiors");
    if (!ext)
        return FAIL(p, "%s: missing field `exterior`", where);
    if (!jr_is_null(in) && !jr_is(in, JR_ARRAY))
        return FAIL(p, "%s.interiors: expected a list of line strings", where);
    uint32_t holes = jr_is_null(in) ? 0 : in->len;
    t->kind = FLT_TEST_GEO_POLYGON;
    t->u.poly.n = 1 + holes;
    if (!(t->u.poly.rings = alloc(p, 1 + holes, sizeof(flt_ring))))
        return oom(p);
    sub(w, where, ".exterior");
    if ((rc = parse_ring_points(p, ext, w, &t->u.poly.rings[0])))
        return rc;
    for (uint32_t i = 0; i < holes; i++) {
        snprintf(w, sizeof w, "%.200s.interiors[%u]", where, i);
        if ((rc = parse_ring_points(p, &in->u.items[i], w, &t->u.poly.rings[1 + i])))
            return rc;
    }
    sub(w, where, ".exterior");
    if ((rc = check_ring(p, &t->u.poly.rings[0], w)))
        return rc;
    for (uint32_t i = 0; i < holes; i++) {
        snprintf(w, sizeof w, "%.200s.interiors[%u]", where, i);
        if ((rc = check_ring(p, &t->u.poly.rings[1 + i], w)))
            return rc;
    }
    return QV_OK;
}

static qv_status parse_box(parser *p, const jr_value *v, const char *where, flt_test *t)
{
    char w[WHERE_MAX];
    qv_status rc;
    if (!jr_is_object(v))
        return FAIL(p, "%s: expected {\"top_left\": ..., \"bottom_right\": ...}", where);
    if ((rc = NO_DUP(p, v, where, "top_left", "bottom_right")))
        return rc;
    if (!jr_get(v, "top_left"))
        return FAIL(p, "%s: missing field `top_left`", where);
    if (!jr_get(v, "bottom_right"))
        return FAIL(p, "%s: missing field `bottom_right`", where);
    t->kind = FLT_TEST_GEO_BOUNDING_BOX;
    sub(w, where, ".top_left");
    if ((rc = parse_geo_point(p, jr_get(v, "top_left"), w, &t->u.box.tl_lon, &t->u.box.tl_lat)))
        return rc;
    sub(w, where, ".bottom_right");
    return parse_geo_point(p, jr_get(v, "bottom_right"), w, &t->u.box.br_lon, &t->u.box.br_lat);
}

static qv_status parse_circle(parser *p, const jr_value *v, const char *where, flt_test *t)
{
    char w[WHERE_MAX];
    qv_status rc;
    if (!jr_is_object(v))
        return FAIL(p, "%s: expected {\"center\": ..., \"radius\": ...}", where);
    if ((rc = NO_DUP(p, v, where, "center", "radius")))
        return rc;
    if (!jr_get(v, "center"))
        return FAIL(p, "%s: missing field `center`", where);
    if (!jr_get(v, "radius"))
        return FAIL(p, "%s: missing field `radius`", where);
    t->kind = FLT_TEST_GEO_RADIUS;
    sub(w, where, ".center");
    if ((rc = parse_geo_point(p, jr_get(v, "center"), w, &t->u.circle.lon, &t->u.circle.lat)))
        return rc;
    if (!num_f64(jr_get(v, "radius"), &t->u.circle.radius))
        return FAIL(p, "%s.radius: expected a number (meters)", where);
    return QV_OK;
}

/* ---- conditions ---- */

/*
 * FieldCondition: key and any of match, range, geo_bounding_box,
 * geo_radius, geo_polygon, values_count, is_empty, is_null (null = absent;
 * unknown members ignored). Members are read in the order Qdrant's
 * buffered deserializer visits them (sorted by name), so that the first
 * error reported is Qdrant's. None of them: a rule error.
 */
static qv_status parse_field(parser *p, const jr_value *c, const char *where, flt_node *n)
{
    char w[WHERE_MAX];
    qv_status rc;
    const jr_value *v;
    n->kind = FLT_COND_FIELD;
    n->u.field.is_empty = n->u.field.is_null = -1;
    if ((rc = NO_DUP(p, c, where, "key", "match", "range", "geo_bounding_box", "geo_radius",
                     "geo_polygon", "values_count", "is_empty", "is_null")))
        return rc;
    if (!(n->u.field.tests = alloc(p, 5, sizeof(flt_test))))
        return oom(p);
    flt_test *t = n->u.field.tests;
    if (!jr_is_null(v = jr_get(c, "geo_bounding_box"))) {
        sub(w, where, ".geo_bounding_box");
        if ((rc = parse_box(p, v, w, &t[n->u.field.n_tests++])))
            return rc;
    }
    if (!jr_is_null(v = jr_get(c, "geo_polygon"))) {
        sub(w, where, ".geo_polygon");
        if ((rc = parse_polygon(p, v, w, &t[n->u.field.n_tests++])))
            return rc;
    }
    if (!jr_is_null(v = jr_get(c, "geo_radius"))) {
        sub(w, where, ".geo_radius");
        if ((rc = parse_circle(p, v, w, &t[n->u.field.n_tests++])))
            return rc;
    }
    static const char *const flags[2] = {"is_empty", "is_null"};
    for (int k = 0; k < 2; k++) {
        if (jr_is_null(v = jr_get(c, flags[k])))
            continue;
        if (!jr_is_bool(v))
            return FAIL(p, "%s.%s: expected a boolean, got %s", where, flags[k],
                        jr_type_name(v->type));
        *(k ? &n->u.field.is_null : &n->u.field.is_empty) = v->type == JR_TRUE;
    }
    if ((rc = parse_key(p, jr_get(c, "key"), where, &n->key)))
        return rc;
    if (!jr_is_null(v = jr_get(c, "match"))) {
        sub(w, where, ".match");
        if ((rc = parse_match(p, v, w, &t[n->u.field.n_tests++])))
            return rc;
    }
    if (!jr_is_null(v = jr_get(c, "range"))) {
        sub(w, where, ".range");
        if ((rc = parse_range(p, v, w, &t[n->u.field.n_tests++])))
            return rc;
    }
    if (!jr_is_null(v = jr_get(c, "values_count"))) {
        sub(w, where, ".values_count");
        if ((rc = parse_count(p, v, w, &n->u.field.count)))
            return rc;
        n->u.field.has_count = true;
    }
    for (uint32_t i = 0; i < n->u.field.n_tests; i++)
        n->u.field.mask |= 1u << t[i].kind;
    if (n->u.field.has_count)
        n->u.field.mask |= 1u << FLT_TEST_VALUES_COUNT;
    if (n->u.field.is_empty >= 0)
        n->u.field.mask |= 1u << FLT_TEST_IS_EMPTY;
    if (n->u.field.is_null >= 0)
        n->u.field.mask |= 1u << FLT_TEST_IS_NULL;
    if (!n->u.field.mask)
        rule_fail(p, "%s.__all__: At least one field condition must be specified", where);
    return QV_OK;
}

/* {"is_empty": {"key": k}} / {"is_null": ...} (PayloadField). */
static qv_status parse_payload_field(parser *p, const jr_value *v, const char *where,
                                     flt_node *n)
{
    if (!jr_is_object(v))
        return FAIL(p, "%s: expected {\"key\": ...}", where);
    if (NO_DUP(p, v, where, "key"))
        return QV_BAD_FORMAT;
    return parse_key(p, jr_get(v, "key"), where, &n->key);
}

static int cmp_pid(const void *a, const void *b) { return pid_cmp(a, b); }

static qv_status parse_has_id(parser *p, const jr_value *v, const char *where, flt_node *n)
{
    if (!jr_is(v, JR_ARRAY))
        return FAIL(p, "%s: expected a list of point ids", where);
    n->u.ids.n = v->len;
    if (!(n->u.ids.ids = alloc(p, v->len, sizeof(qv_point_id))))
        return oom(p);
    for (uint32_t i = 0; i < v->len; i++) {
        const jr_value *x = &v->u.items[i];
        if ((jr_is(x, JR_NUMBER) && (x->flags & JR_NUM_NEG)) || !pid_from_json(x, &n->u.ids.ids[i]))
            return FAIL(p,
                        "%s[%u]: value is not a valid point ID, valid values are either an "
                        "unsigned integer or a UUID",
                        where, i);
    }
    qsort(n->u.ids.ids, v->len, sizeof(qv_point_id), cmp_pid);
    return QV_OK;
}

static qv_status parse_slice(parser *p, const jr_value *v, const char *where, flt_node *n)
{
    uint64_t total, index;
    if (!jr_is_object(v))
        return FAIL(p, "%s: expected {\"total\": ..., \"index\": ...}", where);
    if (NO_DUP(p, v, where, "total", "index"))
        return QV_BAD_FORMAT;
    const jr_value *t = jr_get(v, "total"), *i = jr_get(v, "index");
    if (!t)
        return FAIL(p, "%s: missing field `total`", where);
    if (!i)
        return FAIL(p, "%s: missing field `index`", where);
    if (!num_u64(t, &total) || total > UINT32_MAX)
        return FAIL(p, "%s.total: expected an integer from 0 to 4294967295", where);
    if (!num_u64(i, &index) || index > UINT32_MAX)
        return FAIL(p, "%s.index: expected an integer from 0 to 4294967295", where);
    n->u.slice.total = (uint32_t)total;
    n->u.slice.index = (uint32_t)index;
    if (total < 1)
        rule_fail(p, "%s.total: value 0 invalid, must be 1 or larger", where);
    else if (index >= total)
        rule_fail(p, "%s.index: value %u invalid, must be less than total (%u)", where,
                  (unsigned)index, (unsigned)total);
    return QV_OK;
}

static qv_status parse_nested(parser *p, const jr_value *v, const char *where, flt_node *n,
                              int depth)
{
    char w[WHERE_MAX];
    qv_status rc;
    if (!jr_is_object(v))
        return FAIL(p, "%s: expected {\"key\": ..., \"filter\": {...}}", where);
    if ((rc = NO_DUP(p, v, where, "key", "filter")))
        return rc;
    const jr_value *f = jr_get(v, "filter");
    if ((rc = parse_key(p, jr_get(v, "key"), where, &n->key)))
        return rc;
    if (!f)
        return FAIL(p, "%s: missing field `filter`", where);
    /* NestedCondition::array_key: key[] unless it ends in [] already. */
    pl_step *steps = alloc(p, n->key.n + 1, sizeof(pl_step));
    if (!steps)
        return oom(p);
    memcpy(steps, n->key.steps, n->key.n * sizeof(pl_step));
    n->u.nested.akey = n->key;
    n->u.nested.akey.steps = steps;
    if (steps[n->key.n - 1].kind != PL_ALL)
        steps[n->u.nested.akey.n++].kind = PL_ALL;
    sub(w, where, ".filter");
    return parse_filter(p, f, w, &n->u.nested.filter, depth + 1, false);
}

static bool is_filter_key(const char *k)
{
    return strcmp(k, "must") == 0 || strcmp(k, "should") == 0 || strcmp(k, "must_not") == 0 ||
           strcmp(k, "min_should") == 0;
}

/*
 * Condition (untagged): an object with "key" is a field condition (its
 * errors are reported as they are). Otherwise the forms are tried in
 * Qdrant's order — is_empty, is_null, has_id, has_vector, slice, nested,
 * filter — and the first that parses wins (members it does not know are
 * ignored). When none does, the error of the first form tried is given.
 */
static qv_status parse_condition(parser *p, const jr_value *c, const char *where,
                                 flt_node **out, int depth)
{
    char w[WHERE_MAX];
    if (!jr_is_object(c))
        return FAIL(p, "%s: %s", where, COND_EXPECTED);
    flt_node *n = alloc(p, 1, sizeof *n);
    if (!n)
        return oom(p);
    *out = n;
    if (jr_get(c, "key"))
        return parse_field(p, c, where, n);
    qv_status drc = NO_DUP(p, c, where, "is_empty", "is_null", "has_id", "has_vector", "slice", "nested");
    if (drc)
        return drc;

    static const char *const forms[] = {"is_empty", "is_null", "has_id", "has_vector", "slice",
                                        "nested"};
    qv_error first = {QV_OK, ""};
    bool tried = false;
    qv_error *caller_err = p->err;
    for (size_t k = 0; k <= sizeof forms / sizeof forms[0]; k++) {
        const jr_value *v = NULL;
        if (k < sizeof forms / sizeof forms[0]) {
            if (!(v = jr_get(c, forms[k])))
                continue;
        } else {
            /* The filter form; it takes no other members. */
            bool any = c->len == 0;
            for (uint32_t i = 0; i < c->len && !any; i++)
                any = is_filter_key(c->u.members[i].key);
            if (!any)
                break;
        }
        qv_error e;
        qv_error saved_verr = p->verr;
        bool saved_has = p->has_verr;
        qv_status rc;
        memset(n, 0, sizeof *n);
        p->err = &e;
        switch (k) {
        case 0:
        case 1:
            n->kind = k == 0 ? FLT_COND_IS_EMPTY : FLT_COND_IS_NULL;
            sub(w, where, k == 0 ? ".is_empty" : ".is_null");
            rc = parse_payload_field(p, v, w, n);
            break;
        case 2:
            n->kind = FLT_COND_HAS_ID;
            sub(w, where, ".has_id");
            rc = parse_has_id(p, v, w, n);
            break;
        case 3:
            n->kind = FLT_COND_HAS_VECTOR;
            if (!jr_is(v, JR_STRING)) {
                rc = FAIL(p, "%s.has_vector: expected a vector name (a string)", where);
            } else {
                n->u.vector = qv_arena_strndup(p->a, v->u.str, v->len);
                rc = n->u.vector ? QV_OK : oom(p);
            }
            break;
        case 4:
            n->kind = FLT_COND_SLICE;
            sub(w, where, ".slice");
            rc = parse_slice(p, v, w, n);
            break;
        case 5:
            n->kind = FLT_COND_NESTED;
            sub(w, where, ".nested");
            rc = parse_nested(p, v, w, n, depth);
            break;
        default: {
            flt_node *f = NULL;
            rc = parse_filter(p, c, where, &f, depth + 1, false);
            if (rc == QV_OK)
                *n = *f;
            break;
        }
        }
        p->err = caller_err;
        if (rc == QV_OK)
            return QV_OK;
        if (rc == QV_NOMEM)
            return oom(p);
        p->verr = saved_verr;
        p->has_verr = saved_has;
        if (!tried)
            first = e;
        tried = true;
    }
    if (tried) {
        *p->err = first;
        return first.code;
    }
    return FAIL(p, "%s: %s", where, COND_EXPECTED);
}

/* One condition or a list of them (MaybeOneOrMany). */
static qv_status parse_list(parser *p, const jr_value *v, const char *where, const char *field,
                            flt_node ***out, uint32_t *n, int depth)
{
    char w[WHERE_MAX];
    if (v->type != JR_ARRAY && v->type != JR_OBJECT)
        return FAIL(p, "%.200s.%s: expected a condition or a list of conditions, got %s", where,
                    field, jr_type_name(v->type));
    uint32_t count = v->type == JR_ARRAY ? v->len : 1;
    if (!(*out = alloc(p, count, sizeof **out)))
        return oom(p);
    *n = count;
    for (uint32_t i = 0; i < count; i++) {
        snprintf(w, sizeof w, "%.200s.%s[%u]", where, field, i);
        qv_status rc = parse_condition(p, v->type == JR_ARRAY ? &v->u.items[i] : v, w,
                                       &(*out)[i], depth);
        if (rc)
            return rc;
    }
    return QV_OK;
}

/*
 * Filter: {should, min_should, must, must_not}, nothing else (Qdrant's
 * deny_unknown_fields). A top-level filter is read straight from the JSON:
 * members in document order, a repeated member is an error. A filter inside
 * a condition went through Qdrant's buffering first: a repeated member
 * keeps its last value, members are visited sorted by name.
 */
static qv_status parse_filter(parser *p, const jr_value *v, const char *where, flt_node **out,
                              int depth, bool top)
{
    char w[WHERE_MAX];
    qv_status rc;
    if (depth > DEPTH_MAX)
        return FAIL(p, "%s: filter nested too deeply", where);
    if (!jr_is_object(v))
        return FAIL(p, "%s: expected a filter object, got %s", where, jr_type_name(v->type));
    for (uint32_t i = 0; i < v->len; i++) {
        const char *k = v->u.members[i].key;
        if (!is_filter_key(k) || strlen(k) != v->u.members[i].key_len)
            return FAIL(p,
                        "%s: unknown field `%.64s`, expected one of `should`, `min_should`, "
                        "`must`, `must_not`",
                        where, k);
        for (uint32_t j = i + 1; j < v->len && (top || !p->stored); j++)
            if (strcmp(k, v->u.members[j].key) == 0)
                return FAIL(p, "%s: duplicate field `%s`", where, k);
    }
    flt_node *n = alloc(p, 1, sizeof *n);
    if (!n)
        return oom(p);
    n->kind = FLT_COND_FILTER;
    static const char *const sorted[4] = {"min_should", "must", "must_not", "should"};
    for (uint32_t i = 0; i < (top ? v->len : 4); i++) {
        const char *k = top ? v->u.members[i].key : sorted[i];
        const jr_value *x = top ? &v->u.members[i].value : jr_get(v, k);
        if (jr_is_null(x))
            continue;
        if (strcmp(k, "min_should") == 0) {
            sub(w, where, ".min_should");
            if (!jr_is_object(x))
                return FAIL(p, "%s: expected {\"conditions\": [...], \"min_count\": N}", w);
            if ((rc = NO_DUP(p, x, w, "conditions", "min_count")))
                return rc;
            const jr_value *conds = jr_get(x, "conditions"), *mc = jr_get(x, "min_count");
            uint64_t count;
            if (!conds)
                return FAIL(p, "%s: missing field `conditions`", w);
            if (!jr_is(conds, JR_ARRAY))
                return FAIL(p, "%s.conditions: expected a list of conditions", w);
            if (!mc)
                return FAIL(p, "%s: missing field `min_count`", w);
            if (!num_u64(mc, &count))
                return FAIL(p, "%s.min_count: expected a non-negative integer", w);
            if (count < 1)
                rule_fail(p, "%s.min_count: value 0 invalid, must be 1 or larger", w);
            n->u.f.has_min_should = true;
            n->u.f.min_count = count > UINT32_MAX ? UINT32_MAX : (uint32_t)count;
            if ((rc = parse_list(p, conds, w, "conditions", &n->u.f.c[FLT_MIN_SHOULD],
                                 &n->u.f.n[FLT_MIN_SHOULD], depth)))
                return rc;
            continue;
        }
        flt_clause cl = strcmp(k, "must") == 0       ? FLT_MUST
                        : strcmp(k, "should") == 0   ? FLT_SHOULD
                                                     : FLT_MUST_NOT;
        if (cl == FLT_SHOULD)
            n->u.f.has_should = true;
        if ((rc = parse_list(p, x, where, k, &n->u.f.c[cl], &n->u.f.n[cl], depth)))
            return rc;
    }
    *out = n;
    return QV_OK;
}

static qv_status parse_root(qv_arena *a, const jr_value *v, const char *what, bool stored,
                            flt_filter **out, qv_error *err)
{
    qv_error e = {QV_OK, ""};
    parser p = {a, &e, {QV_OK, ""}, false, stored};
    flt_filter *f = qv_arena_calloc(a, 1, sizeof *f);
    qv_status rc = f ? parse_filter(&p, v, what, &f->root, 0, true) : oom(&p);
    if (rc == QV_OK && p.has_verr) {
        e = p.verr;
        rc = QV_VALIDATION;
    }
    if (rc) {
        if (err)
            *err = e;
        return rc;
    }
    *out = f;
    return QV_OK;
}

qv_status flt_parse(qv_arena *a, const jr_value *v, const char *what, flt_filter **out,
                    qv_error *err)
{
    return parse_root(a, v, what, false, out, err);
}

qv_status flt_parse_stored(qv_arena *a, const jr_value *v, const char *what, flt_filter **out,
                           qv_error *err)
{
    return parse_root(a, v, what, true, out, err);
}

/* ---- evaluation ------------------------------------------------------------------------- */


static bool set_has_str(const flt_test *t, const char *s, size_t len)
{
    flt_str key = {s, len};
    return t->u.set.n && bsearch(&key, t->u.set.s, t->u.set.n, sizeof(flt_str), cmp_str);
}

static bool set_has_int(const flt_test *t, int64_t i)
{
    return t->u.set.n && bsearch(&i, t->u.set.i, t->u.set.n, sizeof(int64_t), cmp_i64);
}



/* geo's Haversine (MEAN_EARTH_RADIUS), origin = the circle's center. */
static double haversine(double lon0, double lat0, double lon1, double lat1)
{
    const double rad = M_PI / 180.0;
    double t0 = lat0 * rad, t1 = lat1 * rad;
    double dt = (lat1 - lat0) * rad, dl = (lon1 - lon0) * rad;
    double s0 = sin(dt / 2.0), s1 = sin(dl / 2.0);
    double a = s0 * s0 + cos(t0) * cos(t1) * s1 * s1;
    return 6371008.8 * (2.0 * asin(sqrt(a)));
}

/* Sign of the orientation of (a, b, c): > 0 counter-clockwise. Exact for
 * all but absurdly degenerate inputs: Shewchuk's error bound on the double
 * result, else the determinant again in binary128. */
static int orient2d(double ax, double ay, double bx, double by, double cx, double cy)
{
    double l = (ax - cx) * (by - cy), r = (ay - cy) * (bx - cx), det = l - r, sum;
    if (l > 0) {
        if (r <= 0)
            return (det > 0) - (det < 0);
        sum = l + r;
    } else if (l < 0) {
        if (r >= 0)
            return (det > 0) - (det < 0);
        sum = -l - r;
    } else {
        return (det > 0) - (det < 0);
    }
    if (fabs(det) >= 3.3306690738754716e-16 * sum)
        return (det > 0) - (det < 0);
    __float128 q = ((__float128)ax - cx) * ((__float128)by - cy) -
                   ((__float128)ay - cy) * ((__float128)bx - cx);
    return (q > 0) - (q < 0);
}

enum { POS_OUTSIDE, POS_INSIDE, POS_BOUNDARY };

/* geo's coord_pos_relative_to_ring: winding number, boundary first. */
static int ring_pos(const flt_ring *r, double x, double y)
{
    int wn = 0;
    for (uint32_t i = 0; i + 1 < r->n; i++) {
        double sx = r->x[i], sy = r->y[i], ex = r->x[i + 1], ey = r->y[i + 1];
        bool between = x >= (sx < ex ? sx : ex) && x <= (sx < ex ? ex : sx);
        if (sy <= y) {
            if (ey >= y) {
                int o = orient2d(sx, sy, ex, ey, x, y);
                if (o > 0 && ey != y)
                    wn++;
                else if (o == 0 && between)
                    return POS_BOUNDARY;
            }
        } else if (ey <= y) {
            int o = orient2d(sx, sy, ex, ey, x, y);
            if (o < 0)
                wn--;
            else if (o == 0 && between)
                return POS_BOUNDARY;
        }
    }
    return wn ? POS_INSIDE : POS_OUTSIDE;
}

static bool polygon_contains(const flt_test *t, double x, double y)
{
    if (ring_pos(&t->u.poly.rings[0], x, y) != POS_INSIDE)
        return false;
    for (uint32_t i = 1; i < t->u.poly.n; i++)
        if (ring_pos(&t->u.poly.rings[i], x, y) != POS_OUTSIDE)
            return false;
    return true;
}

static bool range_ok(const flt_range *r, double x)
{
    return (!(r->has & B_LT) || x < r->b[0]) && (!(r->has & B_GT) || x > r->b[1]) &&
           (!(r->has & B_LTE) || x <= r->b[2]) && (!(r->has & B_GTE) || x >= r->b[3]);
}

static bool trange_ok(const flt_trange *r, const flt_time *x)
{
    return (!(r->has & B_LT) || time_cmp(x, &r->b[0]) < 0) &&
           (!(r->has & B_GT) || time_cmp(x, &r->b[1]) > 0) &&
           (!(r->has & B_LTE) || time_cmp(x, &r->b[2]) <= 0) &&
           (!(r->has & B_GTE) || time_cmp(x, &r->b[3]) >= 0);
}

static bool count_ok(const flt_count *c, uint64_t x)
{
    return (!(c->has & B_LT) || x < c->b[0]) && (!(c->has & B_GT) || x > c->b[1]) &&
           (!(c->has & B_LTE) || x <= c->b[2]) && (!(c->has & B_GTE) || x >= c->b[3]);
}

/* One test on one value that is not an array of this condition's values
 * (an element, or a whole non-array value). */
static bool test_value(const flt_test *t, const pl_value *v)
{
    double x, y;
    switch (t->kind) {
    case FLT_TEST_MATCH_VALUE:
        switch (t->u.value.type) {
        case PL_STRING:
            return v->type == PL_STRING && v->len == t->u.value.s.len &&
                   memcmp(v->s, t->u.value.s.p, v->len) == 0;
        case PL_INT: return v->type == PL_INT && v->i == t->u.value.i;
        default: return v->type == t->u.value.type;
        }
    case FLT_TEST_MATCH_TEXT:
    case FLT_TEST_MATCH_PHRASE:
        return v->type == PL_STRING && pl_contains(v->s, v->len, t->text.p, t->text.len);
    case FLT_TEST_MATCH_TEXT_ANY:
        if (v->type != PL_STRING)
            return false;
        for (uint32_t i = 0; i < t->u.words.n; i++)
            if (pl_contains(v->s, v->len, t->u.words.tok[i].p, t->u.words.tok[i].len))
                return true;
        return false;
    case FLT_TEST_MATCH_PREFIX:
        return v->type == PL_STRING && v->len >= t->text.len &&
               memcmp(v->s, t->text.p, t->text.len) == 0;
    case FLT_TEST_MATCH_ANY:
        if (v->type == PL_STRING)
            return !t->u.set.ints && set_has_str(t, v->s, v->len);
        if (v->type == PL_INT)
            return t->u.set.ints && set_has_int(t, v->i);
        return false;
    case FLT_TEST_MATCH_EXCEPT:
        switch (v->type) {
        case PL_NULL: return false;
        case PL_STRING: return t->u.set.ints || !set_has_str(t, v->s, v->len);
        case PL_INT: return !t->u.set.ints || !set_has_int(t, v->i);
        default: return true;  /* u64, float, bool, object, array in an array */
        }
    case FLT_TEST_RANGE: return pl_as_f64(v, &x) && range_ok(&t->u.range, x);
    case FLT_TEST_DATETIME_RANGE: {
        flt_time tm;
        return v->type == PL_STRING && parse_datetime(v->s, v->len, &tm) &&
               trange_ok(&t->u.trange, &tm);
    }
    case FLT_TEST_GEO_BOUNDING_BOX: {
        if (!pl_geo_point(v, &x, &y))
            return false;
        bool lon_ok = t->u.box.tl_lon > t->u.box.br_lon
                          ? x > t->u.box.tl_lon || x < t->u.box.br_lon  /* crosses 180 */
                          : t->u.box.tl_lon < x && x < t->u.box.br_lon;
        return lon_ok && t->u.box.br_lat < y && y < t->u.box.tl_lat;
    }
    case FLT_TEST_GEO_RADIUS:
        return pl_geo_point(v, &x, &y) &&
               haversine(t->u.circle.lon, t->u.circle.lat, x, y) < t->u.circle.radius;
    case FLT_TEST_GEO_POLYGON: return pl_geo_point(v, &x, &y) && polygon_contains(t, x, y);
    default: return false;
    }
}

static bool tests_value(const flt_node *n, const pl_value *v)
{
    for (uint32_t i = 0; i < n->u.field.n_tests; i++)
        if (test_value(&n->u.field.tests[i], v))
            return true;
    return false;
}

/* condition_checker.rs check_is_empty(bool, value) / check_is_null(bool, value). */
static bool value_is_empty(const pl_value *v)
{
    return v->type == PL_NULL || (v->type == PL_ARRAY && v->len == 0);
}

static bool value_has_null(const pl_value *v)
{
    if (v->type == PL_NULL)
        return true;
    if (v->type != PL_ARRAY)
        return false;
    pl_iter it;
    pl_value e;
    pl_iter_init(&it, v);
    while (pl_iter_next_elem(&it, &e))
        if (e.type == PL_NULL)
            return true;
    return false;
}

typedef struct field_ctx {
    const flt_node *n;
    bool            any;  /* some value was found */
    bool            hit;
} field_ctx;

static bool on_field_value(void *ctx, const pl_value *v)
{
    field_ctx *c = ctx;
    const flt_node *n = c->n;
    bool ok = false;
    c->any = true;
    if (n->u.field.has_count) {
        ok = count_ok(&n->u.field.count, v->type == PL_NULL ? 0 : v->type == PL_ARRAY ? v->len : 1);
    } else if (n->u.field.is_empty >= 0) {
        ok = value_is_empty(v) == (bool)n->u.field.is_empty;
    } else if (n->u.field.is_null >= 0) {
        ok = value_has_null(v) == (bool)n->u.field.is_null;
    } else if (v->type == PL_ARRAY) {
        pl_iter it;
        pl_value e;
        pl_iter_init(&it, v);
        while (!ok && pl_iter_next_elem(&it, &e))
            ok = tests_value(n, &e);
    } else {
        ok = tests_value(n, v);
    }
    if (ok)
        c->hit = true;
    return !ok;
}

typedef struct flag_ctx {
    bool flag;
} flag_ctx;

static bool on_empty_value(void *ctx, const pl_value *v)
{
    flag_ctx *c = ctx;
    if (!value_is_empty(v)) {
        c->flag = false;
        return false;
    }
    return true;
}

static bool on_null_value(void *ctx, const pl_value *v)
{
    flag_ctx *c = ctx;
    if (v->type == PL_NULL) {
        c->flag = true;
        return false;
    }
    return true;
}

typedef struct nested_ctx {
    const flt_node *filter;
    bool            hit;
} nested_ctx;

static bool node_match(const flt_node *n, const flt_point *p);

static bool on_nested_value(void *ctx, const pl_value *v)
{
    nested_ctx *c = ctx;
    if (v->type != PL_OBJECT)
        return true;
    flt_point inner = {NULL, v->raw, v->raw_len, NULL, NULL, NULL};
    if (node_match(c->filter, &inner)) {
        c->hit = true;
        return false;
    }
    return true;
}

static bool filter_match(const flt_node *n, const flt_point *p)
{
    for (uint32_t i = 0; i < n->u.f.n[FLT_MUST]; i++)
        if (!node_match(n->u.f.c[FLT_MUST][i], p))
            return false;
    for (uint32_t i = 0; i < n->u.f.n[FLT_MUST_NOT]; i++)
        if (node_match(n->u.f.c[FLT_MUST_NOT][i], p))
            return false;
    if (n->u.f.has_should) {
        bool any = false;
        for (uint32_t i = 0; i < n->u.f.n[FLT_SHOULD] && !any; i++)
            any = node_match(n->u.f.c[FLT_SHOULD][i], p);
        if (!any)
            return false;
    }
    if (n->u.f.has_min_should) {
        uint32_t hits = 0;
        for (uint32_t i = 0; i < n->u.f.n[FLT_MIN_SHOULD] && hits < n->u.f.min_count; i++)
            hits += node_match(n->u.f.c[FLT_MIN_SHOULD][i], p);
        if (hits < n->u.f.min_count)
            return false;
    }
    return true;
}

/* ---- match.text / text_any on a field with a full-text index ---- */

/* One token of the query, looked for among the tokens of the point's
 * strings at the key. */
typedef struct tok_find {
    const flt_tokenizer *tk;
    const char          *tok;
    size_t               len;
    bool                 found;
} tok_find;

static bool on_point_token(void *ctx, const char *tok, size_t len)
{
    tok_find *f = ctx;
    if (len == f->len && memcmp(tok, f->tok, len) == 0)
        f->found = true;
    return !f->found;
}

static bool on_token_value(void *ctx, const pl_value *v)
{
    tok_find *f = ctx;
    if (v->type == PL_STRING) {
        f->tk->tokenize(f->tk->params, v->s, v->len, on_point_token, f);
    } else if (v->type == PL_ARRAY) {
        pl_iter it;
        pl_value e;
        pl_iter_init(&it, v);
        while (!f->found && pl_iter_next_elem(&it, &e))
            if (e.type == PL_STRING)
                f->tk->tokenize(f->tk->params, e.s, e.len, on_point_token, f);
    }
    return !f->found;
}

typedef struct tok_query {
    const flt_tokenizer *tk;
    const flt_point     *p;
    const pl_path       *key;
    bool                 all;      /* match.text: every token; text_any: one */
    uint32_t             n;        /* query tokens seen */
    bool                 verdict;  /* all: none missing so far; any: one found */
} tok_query;

static bool on_query_token(void *ctx, const char *tok, size_t len)
{
    tok_query *q = ctx;
    tok_find f = {q->tk, tok, len, false};
    q->n++;
    pl_lookup(q->p->payload, q->p->payload_len, q->key, on_token_value, &f);
    if (q->all && !f.found)
        q->verdict = false;
    if (!q->all && f.found)
        q->verdict = true;
    return q->all ? q->verdict : !q->verdict;
}

/* Costs O(query tokens x bytes of the point's strings at the key); no
 * allocation (the tokenizer's own buffer aside). A text without tokens
 * matches nothing, as the index answers. */
static bool text_test_point(const flt_test *t, const flt_node *n, const flt_point *p,
                            const flt_tokenizer *tk)
{
    tok_query q = {tk, p, &n->key, t->kind == FLT_TEST_MATCH_TEXT, 0, t->kind == FLT_TEST_MATCH_TEXT};
    if (t->kind == FLT_TEST_MATCH_TEXT) {
        tk->tokenize(tk->params, t->text.p, t->text.len, on_query_token, &q);
    } else {
        for (uint32_t i = 0; i < t->u.words.n && !q.verdict; i++)
            tk->tokenize(tk->params, t->u.words.tok[i].p, t->u.words.tok[i].len, on_query_token, &q);
    }
    return q.n > 0 && q.verdict;
}

/*
 * match.phrase through a text index, as Qdrant's PartialDocument::has_phrase:
 * the point's document is the tokens of its strings at the key, in order
 * (the strings of an array one after another); the phrase's tokens must
 * occur in it one after another. An index without phrase_matching keeps no
 * positions, and then nothing matches, as in Qdrant. A phrase without
 * tokens matches nothing; one of more than PHRASE_MAX tokens neither.
 *
 * One pass over the document, no allocation: bit j of `state` says the
 * last j document tokens are the phrase's first j; each document token
 * costs one tokenization of the phrase (to compare it with every phrase
 * token), so O(document tokens x phrase length).
 */
#define PHRASE_MAX   256
#define PHRASE_WORDS (PHRASE_MAX / 64 + 1)

typedef struct phrase_scan {
    const flt_tokenizer *tk;
    const fidx_str      *phrase;
    uint32_t             n;                    /* phrase tokens */
    uint64_t             state[PHRASE_WORDS];
    uint64_t             eq[PHRASE_WORDS];     /* bit j: phrase token j == this document token */
    const char          *tok;                  /* this document token */
    size_t               len;
    uint32_t             j;                    /* phrase token being compared */
    bool                 found;
} phrase_scan;

static bool on_phrase_count(void *ctx, const char *tok, size_t len)
{
    (void)tok;
    (void)len;
    phrase_scan *s = ctx;
    return ++s->n <= PHRASE_MAX;
}

static bool on_phrase_compare(void *ctx, const char *tok, size_t len)
{
    phrase_scan *s = ctx;
    if (len == s->len && memcmp(tok, s->tok, len) == 0)
        s->eq[s->j / 64] |= 1ull << (s->j % 64);
    s->j++;
    return true;
}

static bool on_doc_token(void *ctx, const char *tok, size_t len)
{
    phrase_scan *s = ctx;
    memset(s->eq, 0, sizeof s->eq);
    s->tok = tok;
    s->len = len;
    s->j = 0;
    s->tk->tokenize(s->tk->params, s->phrase->p, s->phrase->len, on_phrase_compare, s);
    /* state' = ((state | 1) & eq) << 1: a match of length j grows to j + 1
     * when this token is phrase token j (length 0 always matches). */
    uint64_t carry = 0;
    s->state[0] |= 1;
    for (int w = 0; w < PHRASE_WORDS; w++) {
        uint64_t t = s->state[w] & s->eq[w];
        s->state[w] = t << 1 | carry;
        carry = t >> 63;
    }
    s->found = (s->state[s->n / 64] >> (s->n % 64)) & 1;
    return !s->found;
}

static bool on_phrase_value(void *ctx, const pl_value *v)
{
    phrase_scan *s = ctx;
    if (v->type == PL_STRING) {
        s->tk->tokenize(s->tk->params, v->s, v->len, on_doc_token, s);
    } else if (v->type == PL_ARRAY) {
        pl_iter it;
        pl_value e;
        pl_iter_init(&it, v);
        while (!s->found && pl_iter_next_elem(&it, &e))
            if (e.type == PL_STRING)
                s->tk->tokenize(s->tk->params, e.s, e.len, on_doc_token, s);
    }
    return !s->found;
}

static bool phrase_test_point(const flt_test *t, const flt_node *n, const flt_point *p,
                              const flt_tokenizer *tk)
{
    if (!tk->phrase)
        return false;
    phrase_scan s = {.tk = tk, .phrase = &t->text};
    tk->tokenize(tk->params, t->text.p, t->text.len, on_phrase_count, &s);
    if (s.n == 0 || s.n > PHRASE_MAX)
        return false;
    pl_lookup(p->payload, p->payload_len, &n->key, on_phrase_value, &s);
    return s.found;
}

static bool is_token_test(const flt_test *t)
{
    return t->kind == FLT_TEST_MATCH_TEXT || t->kind == FLT_TEST_MATCH_TEXT_ANY ||
           t->kind == FLT_TEST_MATCH_PHRASE;
}

/* A field condition with match.text or text_any on a key that has a text
 * index: those tests are judged over the whole point (token sets), the
 * others per value as usual; they are OR'ed as always. */
static bool field_match_tokens(const flt_node *n, const flt_point *p, const flt_tokenizer *tk)
{
    bool others = false;
    for (uint32_t i = 0; i < n->u.field.n_tests; i++) {
        const flt_test *t = &n->u.field.tests[i];
        if (!is_token_test(t))
            others = true;
        else if (t->kind == FLT_TEST_MATCH_PHRASE ? phrase_test_point(t, n, p, tk)
                                                  : text_test_point(t, n, p, tk))
            return true;
    }
    if (!others)
        return false;
    /* The remaining tests per value: a copy of the node without the token
     * tests (at most a handful of tests, on the stack). */
    flt_node rest = *n;
    flt_test kept[8];
    uint32_t k = 0;
    for (uint32_t i = 0; i < n->u.field.n_tests && k < 8; i++)
        if (!is_token_test(&n->u.field.tests[i]))
            kept[k++] = n->u.field.tests[i];
    rest.u.field.tests = kept;
    rest.u.field.n_tests = k;
    field_ctx c = {&rest, false, false};
    pl_lookup(p->payload, p->payload_len, &n->key, on_field_value, &c);
    return c.hit;
}

static bool node_match(const flt_node *n, const flt_point *p)
{
    switch (n->kind) {
    case FLT_COND_FILTER: return filter_match(n, p);
    case FLT_COND_FIELD: {
        flt_tokenizer tk;
        if (p->text_index &&
            (n->u.field.mask & (1u << FLT_TEST_MATCH_TEXT | 1u << FLT_TEST_MATCH_TEXT_ANY |
                                1u << FLT_TEST_MATCH_PHRASE)) &&
            !n->u.field.has_count && n->u.field.is_empty < 0 && n->u.field.is_null < 0 &&
            p->text_index(p->ctx, &n->key, &tk))
            return field_match_tokens(n, p, &tk);
        field_ctx c = {n, false, false};
        pl_lookup(p->payload, p->payload_len, &n->key, on_field_value, &c);
        if (c.any)
            return c.hit;
        if (n->u.field.has_count)  /* no value counts 0 (Qdrant 1.19, qdrant/qdrant#9586) */
            return count_ok(&n->u.field.count, 0);
        if (n->u.field.is_empty >= 0)
            return n->u.field.is_empty;
        if (n->u.field.is_null >= 0)
            return !n->u.field.is_null;
        return false;
    }
    case FLT_COND_IS_EMPTY: {
        flag_ctx c = {true};
        pl_lookup(p->payload, p->payload_len, &n->key, on_empty_value, &c);
        return c.flag;
    }
    case FLT_COND_IS_NULL: {
        flag_ctx c = {false};
        pl_lookup(p->payload, p->payload_len, &n->key, on_null_value, &c);
        return c.flag;
    }
    case FLT_COND_HAS_ID:
        return p->id && n->u.ids.n &&
               bsearch(p->id, n->u.ids.ids, n->u.ids.n, sizeof(qv_point_id), cmp_pid);
    case FLT_COND_HAS_VECTOR: return p->has_vector && p->has_vector(p->ctx, n->u.vector);
    case FLT_COND_SLICE:
        return p->id && flt_slice_of(p->id, n->u.slice.total) == n->u.slice.index;
    case FLT_COND_NESTED: {
        nested_ctx c = {n->u.nested.filter, false};
        pl_lookup(p->payload, p->payload_len, &n->u.nested.akey, on_nested_value, &c);
        return c.hit;
    }
    }
    return false;
}

bool flt_match(const flt_filter *f, const flt_point *p) { return node_match(f->root, p); }

/* ---- planning hook ------------------------------------------------------------------------ */

const flt_node *flt_root(const flt_filter *f) { return f->root; }

void flt_each(const flt_node *n, bool (*fn)(void *ctx, const flt_cond *c), void *ctx)
{
    if (n->kind != FLT_COND_FILTER)
        return;
    for (int cl = FLT_MUST; cl <= FLT_MIN_SHOULD; cl++) {
        for (uint32_t i = 0; i < n->u.f.n[cl]; i++) {
            const flt_node *x = n->u.f.c[cl][i];
            flt_cond c = {(flt_clause)cl, x->kind, flt_node_key(x), 0, x};
            if (x->kind == FLT_COND_FIELD)
                c.tests = x->u.field.mask;
            if (!fn(ctx, &c))
                return;
        }
    }
}

void flt_filter_info(const flt_node *n, bool *has_should, uint32_t *min_should_count)
{
    bool filter = n->kind == FLT_COND_FILTER;
    if (has_should)
        *has_should = filter && n->u.f.has_should;
    if (min_should_count)
        *min_should_count = filter && n->u.f.has_min_should ? n->u.f.min_count : 0;
}

const flt_node *flt_nested_filter(const flt_node *n)
{
    return n->kind == FLT_COND_NESTED ? n->u.nested.filter : NULL;
}

bool flt_node_match(const flt_node *n, const flt_point *p) { return node_match(n, p); }

flt_cond_kind flt_node_kind(const flt_node *n) { return n->kind; }

const pl_path *flt_node_key(const flt_node *n)
{
    bool keyed = n->kind == FLT_COND_FIELD || n->kind == FLT_COND_IS_EMPTY || n->kind == FLT_COND_IS_NULL ||
                 n->kind == FLT_COND_NESTED;
    return keyed ? &n->key : NULL;
}

uint32_t flt_node_ids(const flt_node *n, const qv_point_id **ids)
{
    *ids = n->kind == FLT_COND_HAS_ID ? n->u.ids.ids : NULL;
    return n->kind == FLT_COND_HAS_ID ? n->u.ids.n : 0;
}

/* ---- slices ------------------------------------------------------------------------------- */

uint32_t flt_slice_of(const qv_point_id *id, uint32_t total)
{
    uint8_t b[16];
    size_t n = 8;
    if (id->uuid) {
        for (int i = 0; i < 8; i++) {
            b[i] = (uint8_t)(id->hi >> (56 - 8 * i));
            b[8 + i] = (uint8_t)(id->lo >> (56 - 8 * i));
        }
        n = 16;
    } else {
        for (int i = 0; i < 8; i++)
            b[i] = (uint8_t)(id->lo >> (8 * i));
    }
    return (uint32_t)(qv_siphash24(b, n, 0, 0) % (total ? total : 1));
}

/* ---- the view payload indexes take ------------------------------------------------ */

qv_status flt_field_view(const flt_node *n, fidx_cond *out)
{
    if (n->kind != FLT_COND_FIELD)
        return QV_BAD_INPUT;
    out->tests = n->u.field.tests;
    out->n = n->u.field.n_tests;
    out->flags = n->u.field.has_count || n->u.field.is_empty >= 0 || n->u.field.is_null >= 0;
    return QV_OK;
}
