/*
 * test_fieldidx.c — payload field indexes (index/fieldidx.h).
 *
 * The oracle is a scan: for every index type, random payloads (fixed seed)
 * over a few thousand slots go through rounds of random writes and
 * deletes (each update applied twice: updates are idempotent); after each
 * round many random conditions are asked of the index and of flt_match on
 * the same blobs (the filters built by flt_parse from the same JSON):
 * FIDX_EXACT answers must be equal, FIDX_SUPERSET answers must contain
 * the scan's, estimates must bound the answer. Text indexes are checked
 * against token sets computed from the blobs (Qdrant's indexed semantics).
 * Facets, order_by iteration and `points` are checked against brute force,
 * an index built afresh must answer the same, and allocation failures
 * must turn the index broken, never inconsistent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Allocation failures on demand: fail_at counts down to a failure. */
static long fail_at = -1;
static bool alloc_ok(void)
{
    if (fail_at < 0)
        return true;
    return fail_at-- != 0;
}
static void *fx_fail_alloc(size_t size) { return alloc_ok() ? malloc(size) : NULL; }
static void *fx_fail_realloc(void *p, size_t size) { return alloc_ok() ? realloc(p, size) : NULL; }

#define FX_ALLOC(size)      fx_fail_alloc(size)
#define FX_REALLOC(p, size) fx_fail_realloc(p, size)
#include "index/fieldidx.c"

#include "filter/filter.h"  /* the scan the index answers must equal */
#include "json/jr.h"
#include "payload/pljson.h"

/* ---- helpers ------------------------------------------------------------------------ */

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

static jr_value *json(qv_arena *a, const char *s)
{
    jr_value *v = NULL;
    jr_error e;
    if (jr_parse(a, s, strlen(s), &v, &e) != 0)
        fail_msg("bad JSON in test [%s]: %s", s, e.msg);
    return v;
}

static uint8_t *blob(const char *payload, size_t *len)
{
    qv_arena a;
    qv_arena_init(&a, 0);
    qv_buf b = QV_BUF_INIT;
    qv_error err;
    if (pl_encode(json(&a, payload), &b, &err) != 0)
        fail_msg("encode failed for [%s]: %s", payload, err.msg);
    qv_arena_free(&a);
    return (uint8_t *)qv_buf_detach(&b, len);
}

static fidx *new_index(const char *key, fidx_type type)
{
    qv_arena a;
    qv_arena_init(&a, 0);
    pl_path p;
    qv_error err;
    assert_int_equal(pl_path_parse(&a, key, strlen(key), &p, &err), 0);
    fidx_params prm;
    fidx_params_default(type, &prm);
    fidx *x = NULL;
    assert_int_equal(fidx_new(&p, &prm, &x), QV_OK);
    qv_arena_free(&a);  /* the index copied the path */
    return x;
}

/* ---- random values ------------------------------------------------------------------ */

static const char *const STRS[] = {
    "a", "b", "red", "blue", "Red", "hello world", "World, hello!", "", "ünï", "x_y",
    "2024-01-01T00:00:00Z", "2024-01-01 00:00:00.5", "2024-01-01T00:00:00.000000001Z",
    "2023-12-31T23:59:59+01:00", "2024-01-01", "2024-01-01T00:00", "2024-1-1T0:0:0z", "2024-06-30T23:59:60Z",
    "not a date", "2024-02-30", "550e8400-e29b-41d4-a716-446655440000",
    "The quick brown fox", "quick QUICK quick", "fox-trot 42", "Ærø ÆRØ", "½ price"};
#define NSTRS (sizeof STRS / sizeof STRS[0])

/* A uuid index holds UUID strings only: its runs draw mostly from these
 * (two spellings of one UUID are different strings to a filter). */
static const char *const UUIDS[] = {
    "550e8400-e29b-41d4-a716-446655440000", "550E8400-E29B-41D4-A716-446655440000",
    "6ba7b810-9dad-11d1-80b4-00c04fd430c8", "00000000-0000-0000-0000-000000000000",
    "6ba7b8109dad11d180b400c04fd430c8"};
#define NUUIDS (sizeof UUIDS / sizeof UUIDS[0])
static fidx_type g_type;  /* the type being run */

static const char *pick_str(void)
{
    if (g_type == FIDX_UUID && rnd(4))
        return UUIDS[rnd(NUUIDS)];
    return STRS[rnd(NSTRS)];
}

static const char *const NUMS[] = {
    "0", "1", "2", "3", "-1", "-3", "1.5", "-0.0", "0.0", "2.0", "2.5", "-2.5", "1e300",
    "9007199254740993", "9007199254740992", "9223372036854775807", "-9223372036854775808",
    "18446744073709551615", "9223372036854775808", "1e19", "-7"};
#define NNUMS (sizeof NUMS / sizeof NUMS[0])

static const char *const GEOS[] = {
    "{\"lon\": 0, \"lat\": 0}", "{\"lon\": 13.4, \"lat\": 52.5}", "{\"lon\": -179.9, \"lat\": 10}",
    "{\"lon\": 179.95, \"lat\": -10.5}", "{\"lon\": 2.35, \"lat\": 48.85, \"x\": 1}",
    "{\"lon\": 200, \"lat\": 0}", "{\"lat\": 89.999, \"lon\": 45}", "{\"lon\": \"1\", \"lat\": 2}",
    "{\"lon\": 0.001, \"lat\": -0.001}", "{\"k\": 1}", "{\"lon\": -0.5, \"lat\": 0.25}"};
#define NGEOS (sizeof GEOS / sizeof GEOS[0])

/* One scalar-ish value, biased towards what type indexes. */
static void gen_scalar(fidx_type type, char *out, size_t size)
{
    uint32_t r = rnd(10);
    if (r < 6) {
        switch (type) {
        case FIDX_KEYWORD: case FIDX_UUID: case FIDX_TEXT: case FIDX_DATETIME:
            snprintf(out, size, "\"%s\"", pick_str());
            return;
        case FIDX_INTEGER: case FIDX_FLOAT:
            snprintf(out, size, "%s", NUMS[rnd(NNUMS)]);
            return;
        case FIDX_BOOL:
            snprintf(out, size, "%s", rnd(2) ? "true" : "false");
            return;
        case FIDX_GEO:
            if (rnd(2))
                snprintf(out, size, "{\"lon\": %.6f, \"lat\": %.6f}", rnd(3600) / 10.0 - 180,
                         rnd(1800) / 10.0 - 90);
            else
                snprintf(out, size, "%s", GEOS[rnd(NGEOS)]);
            return;
        }
    }
    switch (rnd(7)) {
    case 0: snprintf(out, size, "\"%s\"", STRS[rnd(NSTRS)]); break;
    case 1: snprintf(out, size, "%s", NUMS[rnd(NNUMS)]); break;
    case 2: snprintf(out, size, "%s", rnd(2) ? "true" : "false"); break;
    case 3: snprintf(out, size, "null"); break;
    case 4: snprintf(out, size, "%s", GEOS[rnd(NGEOS)]); break;
    case 5: snprintf(out, size, "[\"%s\", 1]", STRS[rnd(NSTRS)]); break;  /* nested array */
    default: snprintf(out, size, "{}"); break;
    }
}

/* The value at the key: a scalar, null, or an array of 0-3 of them. */
static void gen_value(fidx_type type, char *out, size_t size)
{
    char e[256];
    uint32_t r = rnd(20);
    if (r == 0) {
        snprintf(out, size, "null");
    } else if (r < 10) {
        gen_scalar(type, out, size);
    } else {
        size_t n = 0;
        uint32_t k = rnd(4);
        n += (size_t)snprintf(out + n, size - n, "[");
        for (uint32_t i = 0; i < k; i++) {
            gen_scalar(type, e, sizeof e);
            n += (size_t)snprintf(out + n, size - n, "%s%s", i ? ", " : "", e);
        }
        snprintf(out + n, size - n, "]");
    }
}

/* A payload: key "f" (or "a[].f": an array of objects), sometimes missing. */
static uint8_t *gen_payload(fidx_type type, bool nested, size_t *len)
{
    char v[1024], v2[1024], p[2600];
    gen_value(type, v, sizeof v);
    uint32_t r = rnd(10);
    if (nested) {
        gen_value(type, v2, sizeof v2);
        if (r == 0)
            snprintf(p, sizeof p, "{\"a\": {\"f\": %s}}", v);
        else
            snprintf(p, sizeof p, "{\"a\": [{\"f\": %s}, {\"g\": 1}, {\"f\": %s}], \"f\": 1}", v, v2);
    } else if (r == 0) {
        snprintf(p, sizeof p, "{\"g\": %s}", v);
    } else {
        snprintf(p, sizeof p, "{\"g\": 1, \"f\": %s}", v);
    }
    return blob(p, len);
}

/* ---- random conditions: JSON for flt_parse and the same as a fidx_cond ------------- */

typedef struct gcond {
    char       json[4096];
    fidx_test  t[2];
    fidx_cond  c;
    fidx_str   strs[4];
    int64_t    ints[4];
    fidx_str   words[4];
    double     lon[8], lat[8];
    fidx_ring  ring;
    const char *key;
} gcond;

static int cmp_fstr(const void *a, const void *b)
{
    const fidx_str *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->p, y->p, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

static int cmp_i64v(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static size_t gen_strset(gcond *g, fidx_test *t, char *out, size_t size)
{
    uint32_t n = rnd(4);
    size_t k = (size_t)snprintf(out, size, "[");
    for (uint32_t i = 0; i < n; i++) {
        const char *s = pick_str();
        g->strs[i] = (fidx_str){s, strlen(s)};
        k += (size_t)snprintf(out + k, size - k, "%s\"%s\"", i ? "," : "", s);
    }
    k += (size_t)snprintf(out + k, size - k, "]");
    qsort(g->strs, n, sizeof g->strs[0], cmp_fstr);
    t->u.set.ints = false;
    t->u.set.n = n;
    t->u.set.s = g->strs;
    return k;
}

static const int64_t INTS[] = {0, 1, 2, 3, -1, -3, -7, 9007199254740993, INT64_MAX, INT64_MIN};

static void gen_intset(gcond *g, fidx_test *t, char *out, size_t size)
{
    uint32_t n = 1 + rnd(3);
    size_t k = (size_t)snprintf(out, size, "[");
    for (uint32_t i = 0; i < n; i++) {
        g->ints[i] = INTS[rnd(sizeof INTS / sizeof INTS[0])];
        k += (size_t)snprintf(out + k, size - k, "%s%lld", i ? "," : "", (long long)g->ints[i]);
    }
    snprintf(out + k, size - k, "]");
    qsort(g->ints, n, sizeof g->ints[0], cmp_i64v);
    t->u.set.ints = true;
    t->u.set.n = n;
    t->u.set.i = g->ints;
}

static const char *const BOUND_NAMES[4] = {"lt", "gt", "lte", "gte"};
static const double BOUNDS[] = {-3.5, -1, 0, -0.0, 1, 2, 2.5, 1e300, -1e19, 1e19,
                                9007199254740992.0, 9223372036854775807.0, -9223372036854775808.0,
                                18446744073709551615.0};
static const char *const TBOUNDS[] = {
    "2024-01-01T00:00:00Z", "2024-01-01T00:00:00.000000001Z", "2023-12-31T23:00:00Z",
    "2024-01-01T00:00:00.5Z", "2024-06-30T23:59:59.5Z", "2024-07-01T00:00:00Z", "2000-01-01",
    "2024-01-01 00:00:00.5"};

static void gen_range(gcond *g, fidx_test *t, bool dt, char *out, size_t size)
{
    size_t k = (size_t)snprintf(out, size, "{");
    bool first = true;
    t->kind = dt ? FLT_TEST_DATETIME_RANGE : FLT_TEST_RANGE;
    uint32_t pick = rnd(16);
    if (dt && !pick)
        pick = 8;  /* a range without a string bound is a numeric one */
    for (int b = 0; b < 4; b++) {
        if (!(pick & (1u << b)))
            continue;
        if (dt) {
            const char *s = TBOUNDS[rnd(sizeof TBOUNDS / sizeof TBOUNDS[0])];
            assert_true(qv_datetime_parse(s, strlen(s), &t->u.trange.b[b].sec, &t->u.trange.b[b].nsec));
            t->u.trange.has |= 1u << b;
            k += (size_t)snprintf(out + k, size - k, "%s\"%s\": \"%s\"", first ? "" : ",",
                                  BOUND_NAMES[b], s);
        } else {
            double v = BOUNDS[rnd(sizeof BOUNDS / sizeof BOUNDS[0])];
            t->u.range.b[b] = v;
            t->u.range.has |= 1u << b;
            k += (size_t)snprintf(out + k, size - k, "%s\"%s\": %.17g", first ? "" : ",",
                                  BOUND_NAMES[b], v);
        }
        first = false;
    }
    snprintf(out + k, size - k, "}");
    (void)g;
}

static const char *const TEXTS[] = {"hello", "world hello", "quick", "QUICK fox", "fox-trot",
                                    "ærø", "42", "½", "", "  ", "nothing here", "red blue",
                                    "hello wor", "lo w"};

/* One test of the kind the type answers (sometimes one it does not). */
static void gen_test(gcond *g, fidx_type type, fidx_test *t, char *out, size_t size)
{
    char set[256];
    memset(t, 0, sizeof *t);
    uint32_t r = rnd(8);
    switch (type) {
    case FIDX_KEYWORD:
    case FIDX_UUID:
    case FIDX_TEXT: {
        const char *s = pick_str();
        if (type == FIDX_TEXT && r < 6)
            r = r < 3 ? 4 : 5;  /* mostly text / text_any */
        switch (r) {
        case 0:
        case 1:
            t->kind = FLT_TEST_MATCH_VALUE;
            t->u.value.type = PL_STRING;
            t->u.value.s = (fidx_str){s, strlen(s)};
            snprintf(out, size, "\"match\": {\"value\": \"%s\"}", s);
            return;
        case 2:
            t->kind = FLT_TEST_MATCH_ANY;
            gen_strset(g, t, set, sizeof set);
            snprintf(out, size, "\"match\": {\"any\": %s}", set);
            return;
        case 3:
            t->kind = FLT_TEST_MATCH_EXCEPT;
            gen_strset(g, t, set, sizeof set);
            snprintf(out, size, "\"match\": {\"except\": %s}", set);
            return;
        case 4:
        case 6: {
            static const flt_test_kind kinds[3] = {FLT_TEST_MATCH_TEXT, FLT_TEST_MATCH_PHRASE,
                                                   FLT_TEST_MATCH_PREFIX};
            static const char *const names[3] = {"text", "phrase", "prefix"};
            uint32_t k = type == FIDX_TEXT ? 0 : rnd(3);
            const char *txt = TEXTS[rnd(sizeof TEXTS / sizeof TEXTS[0])];
            if (rnd(2) && type != FIDX_TEXT)
                txt = s;
            t->kind = kinds[k];
            t->text = (fidx_str){txt, strlen(txt)};
            snprintf(out, size, "\"match\": {\"%s\": \"%s\"}", names[k], txt);
            return;
        }
        case 5: {
            const char *txt = TEXTS[rnd(sizeof TEXTS / sizeof TEXTS[0])];
            t->kind = FLT_TEST_MATCH_TEXT_ANY;
            t->text = (fidx_str){txt, strlen(txt)};
            /* its whitespace-separated words (ASCII spaces in TEXTS) */
            uint32_t n = 0;
            for (const char *p = txt; *p && n < 4;) {
                while (*p == ' ')
                    p++;
                if (!*p)
                    break;
                const char *b = p;
                while (*p && *p != ' ')
                    p++;
                g->words[n++] = (fidx_str){b, (size_t)(p - b)};
            }
            t->u.words.tok = g->words;
            t->u.words.n = n;
            snprintf(out, size, "\"match\": {\"text_any\": \"%s\"}", txt);
            return;
        }
        default:
            t->kind = FLT_TEST_MATCH_ANY;  /* integers: not answered by a keyword index */
            gen_intset(g, t, set, sizeof set);
            snprintf(out, size, "\"match\": {\"any\": %s}", set);
            return;
        }
    }
    case FIDX_INTEGER:
        switch (r) {
        case 0:
            t->kind = FLT_TEST_MATCH_VALUE;
            t->u.value.type = PL_INT;
            t->u.value.i = INTS[rnd(sizeof INTS / sizeof INTS[0])];
            snprintf(out, size, "\"match\": {\"value\": %lld}", (long long)t->u.value.i);
            return;
        case 1:
            t->kind = FLT_TEST_MATCH_ANY;
            gen_intset(g, t, set, sizeof set);
            snprintf(out, size, "\"match\": {\"any\": %s}", set);
            return;
        case 2:
            t->kind = FLT_TEST_MATCH_EXCEPT;
            if (rnd(3))
                gen_intset(g, t, set, sizeof set);
            else
                gen_strset(g, t, set, sizeof set);
            snprintf(out, size, "\"match\": {\"except\": %s}", set);
            return;
        default:
            gen_range(g, t, false, set, sizeof set);
            snprintf(out, size, "\"range\": %s", set);
            return;
        }
    case FIDX_FLOAT:
        gen_range(g, t, false, set, sizeof set);
        snprintf(out, size, "\"range\": %s", set);
        return;
    case FIDX_DATETIME:
        gen_range(g, t, true, set, sizeof set);
        snprintf(out, size, "\"range\": %s", set);
        return;
    case FIDX_BOOL:
        t->kind = FLT_TEST_MATCH_VALUE;
        t->u.value.type = r & 1 ? PL_TRUE : PL_FALSE;
        snprintf(out, size, "\"match\": {\"value\": %s}", r & 1 ? "true" : "false");
        return;
    case FIDX_GEO: {
        double lon = rnd(3600) / 10.0 - 180, lat = rnd(1600) / 10.0 - 80;
        if (r < 3) {
            double w = 1 + rnd(60), h = 1 + rnd(40);
            double tl_lon = r == 0 ? 170 : lon, br_lon = r == 0 ? -170 : fmin(lon + w, 180);
            double tl_lat = fmin(lat + h, 90), br_lat = lat;
            t->kind = FLT_TEST_GEO_BOUNDING_BOX;
            t->u.box.tl_lon = tl_lon;
            t->u.box.tl_lat = tl_lat;
            t->u.box.br_lon = br_lon;
            t->u.box.br_lat = br_lat;
            snprintf(out, size,
                     "\"geo_bounding_box\": {\"top_left\": {\"lon\": %.17g, \"lat\": %.17g}, "
                     "\"bottom_right\": {\"lon\": %.17g, \"lat\": %.17g}}",
                     tl_lon, tl_lat, br_lon, br_lat);
        } else if (r < 6) {
            static const double radii[] = {1000, 100000, 2e6, 1e7, 3e7, 0};
            double rad = radii[rnd(6)];
            if (r == 3) {
                lon = 179.5;
                lat = rnd(2) ? 89.5 : -10;
            }
            t->kind = FLT_TEST_GEO_RADIUS;
            t->u.circle.lon = lon;
            t->u.circle.lat = lat;
            t->u.circle.radius = rad;
            snprintf(out, size,
                     "\"geo_radius\": {\"center\": {\"lon\": %.17g, \"lat\": %.17g}, \"radius\": %.17g}",
                     lon, lat, rad);
        } else {
            double w = 1 + rnd(90), h = 1 + rnd(45);
            lon = fmin(lon, 180 - w);
            lat = fmin(lat, 90 - h);
            double xs[5] = {lon, lon + w, lon + w / 2, lon, lon};
            double ys[5] = {lat, lat, lat + h, lat + h / 3, lat};
            size_t k = (size_t)snprintf(out, size, "\"geo_polygon\": {\"exterior\": {\"points\": [");
            for (int i = 0; i < 5; i++) {
                g->lon[i] = xs[i];
                g->lat[i] = ys[i];
                k += (size_t)snprintf(out + k, size - k, "%s{\"lon\": %.17g, \"lat\": %.17g}",
                                      i ? "," : "", xs[i], ys[i]);
            }
            snprintf(out + k, size - k, "]}}");
            t->kind = FLT_TEST_GEO_POLYGON;
            g->ring = (fidx_ring){5, g->lon, g->lat};
            t->u.poly.rings = &g->ring;
            t->u.poly.n = 1;
        }
        return;
    }
    }
}

static void gen_cond(gcond *g, fidx_type type, const char *key)
{
    char a[1024], b[1024];
    memset(g, 0, sizeof *g);
    g->key = key;
    gen_test(g, type, &g->t[0], a, sizeof a);
    g->c = (fidx_cond){g->t, 1, false};
    /* integer: sometimes match and range in one condition (OR'ed per value) */
    if (type == FIDX_INTEGER && g->t[0].kind == FLT_TEST_MATCH_VALUE && rnd(2)) {
        gcond tmp;
        memset(&tmp, 0, sizeof tmp);
        gen_range(&tmp, &g->t[1], false, b, sizeof b);
        snprintf(g->json, sizeof g->json, "{\"must\": [{\"key\": \"%s\", %s, \"range\": %s}]}", key,
                 a, b);
        g->c.n = 2;
        return;
    }
    if (rnd(25) == 0) {  /* a flag: never answered */
        snprintf(g->json, sizeof g->json, "{\"must\": [{\"key\": \"%s\", %s, \"is_null\": false}]}",
                 key, a);
        g->c.flags = true;
        return;
    }
    snprintf(g->json, sizeof g->json, "{\"must\": [{\"key\": \"%s\", %s}]}", key, a);
}

/* ---- the scan oracle ------------------------------------------------------------------- */

typedef struct world {
    fidx_type type;
    const char *key;
    uint32_t  n;
    uint8_t **blob;
    size_t   *len;
    fidx     *x;
} world;

/* Text: does slot's token set satisfy t (Qdrant's indexed semantics)? */
typedef struct tokset {
    char   **tok;
    size_t  *len;
    size_t   n, cap;
} tokset;

static bool tokset_add(void *ctx, const char *s, size_t len)
{
    tokset *t = ctx;
    for (size_t i = 0; i < t->n; i++)
        if (t->len[i] == len && memcmp(t->tok[i], s, len) == 0)
            return true;
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->tok = realloc(t->tok, t->cap * sizeof *t->tok);
        t->len = realloc(t->len, t->cap * sizeof *t->len);
    }
    t->tok[t->n] = malloc(len + 1);
    memcpy(t->tok[t->n], s, len);
    t->len[t->n++] = len;
    return true;
}

static void tokset_free(tokset *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->tok[i]);
    free(t->tok);
    free(t->len);
    memset(t, 0, sizeof *t);
}

typedef struct text_ctx {
    const fidx_params *p;
    tokset *ts;
} text_ctx;

static void text_elem(text_ctx *c, const pl_value *v)
{
    if (v->type == PL_STRING)
        fidx_tokenize(c->p, v->s, v->len, tokset_add, c->ts);
}

static bool text_cb(void *ctx, const pl_value *v)
{
    if (v->type == PL_ARRAY) {
        pl_iter it;
        pl_value e;
        pl_iter_init(&it, v);
        while (pl_iter_next_elem(&it, &e))
            text_elem(ctx, &e);
    } else {
        text_elem(ctx, v);
    }
    return true;
}

static bool text_match(const world *w, uint32_t slot, const fidx_test *t)
{
    tokset doc = {0}, q = {0};
    text_ctx c = {fidx_get_params(w->x), &doc};
    pl_lookup(w->blob[slot], w->len[slot], fidx_key(w->x), text_cb, &c);
    fidx_tokenize(c.p, t->text.p, t->text.len, tokset_add, &q);
    size_t found = 0;
    for (size_t i = 0; i < q.n; i++)
        for (size_t j = 0; j < doc.n; j++)
            if (q.len[i] == doc.len[j] && memcmp(q.tok[i], doc.tok[j], q.len[i]) == 0) {
                found++;
                break;
            }
    bool ok = t->kind == FLT_TEST_MATCH_TEXT ? q.n && found == q.n : found > 0;
    tokset_free(&doc);
    tokset_free(&q);
    return ok;
}

static bool scan_match(const world *w, const flt_filter *f, const gcond *g, uint32_t slot)
{
    if (!w->blob[slot])
        return false;
    if (w->type == FIDX_TEXT && !g->c.flags &&
        (g->t[0].kind == FLT_TEST_MATCH_TEXT || g->t[0].kind == FLT_TEST_MATCH_TEXT_ANY))
        return text_match(w, slot, &g->t[0]);
    flt_point p = {NULL, w->blob[slot], w->len[slot], NULL, NULL, NULL};
    return flt_match(f, &p);
}

typedef struct stats {
    unsigned exact, superset, no, nonempty;
} stats;

static void check_cond(world *w, stats *st)
{
    gcond g;
    gen_cond(&g, w->type, w->key);
    qv_arena a;
    qv_arena_init(&a, 0);
    flt_filter *f = NULL;
    qv_error err;
    if (flt_parse(&a, json(&a, g.json), "filter", &f, &err) != QV_OK)
        fail_msg("flt_parse %s: %s", g.json, err.msg);
    uint64_t est = 0;
    fidx_answer ans = fidx_plan(w->x, &g.c, &est);
    if (ans == FIDX_NO) {
        st->no++;
        uint32_t *s;
        size_t n;
        assert_int_equal(fidx_select(w->x, &g.c, &s, &n), QV_UNSUPPORTED);
        qv_arena_free(&a);
        return;
    }
    uint32_t *s = NULL;
    size_t n = 0;
    assert_int_equal(fidx_select(w->x, &g.c, &s, &n), QV_OK);
    for (size_t i = 1; i < n; i++)
        assert_true(s[i - 1] < s[i]);
    if (est < n)
        fail_msg("estimate %llu < %zu for %s", (unsigned long long)est, n, g.json);
    size_t k = 0, hits = 0;
    for (uint32_t slot = 0; slot < w->n; slot++) {
        bool m = scan_match(w, f, &g, slot);
        bool in = k < n && s[k] == slot;
        if (in)
            k++;
        hits += m;
        if (m && !in)
            fail_msg("%s: slot %u matches but the index misses it", g.json, slot);
        if (in && !m && ans == FIDX_EXACT)
            fail_msg("%s: slot %u given by the (exact) index does not match", g.json, slot);
    }
    assert_int_equal(k, n);
    if (ans == FIDX_EXACT)
        st->exact++;
    else
        st->superset++;
    st->nonempty += hits > 0;
    free(s);
    qv_arena_free(&a);
}

/* ---- facets, order_by, points vs brute force ------------------------------------------ */

typedef struct bval {
    fidx_value v;
    uint32_t   slot;
} bval;

typedef struct bvals {
    bval  *v;
    size_t n, cap;
    uint32_t slot;
    fidx_type type;
    bool   any;
} bvals;

static void bv_push(bvals *b, const fidx_value *v)
{
    for (size_t i = b->n; i-- > 0 && b->v[i].slot == b->slot;) {
        const fidx_value *u = &b->v[i].v;
        bool same = u->i == v->i && u->sec == v->sec && u->nsec == v->nsec && u->len == v->len &&
                    (u->d == v->d) && (!u->len || memcmp(u->s, v->s, u->len) == 0);
        if (same)
            return;
    }
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 256;
        b->v = realloc(b->v, b->cap * sizeof *b->v);
    }
    b->v[b->n++] = (bval){*v, b->slot};
}

static void bv_elem(bvals *b, const pl_value *e)
{
    fidx_value v;
    memset(&v, 0, sizeof v);
    v.type = b->type;
    switch (b->type) {
    case FIDX_KEYWORD:
    case FIDX_UUID: {
        qv_point_id id;  /* a uuid index holds UUID strings only */
        if (e->type != PL_STRING || (b->type == FIDX_UUID && !pid_parse_uuid(e->s, e->len, &id)))
            return;
        v.s = e->s;
        v.len = e->len;
        break;
    }
    case FIDX_INTEGER:
        if (e->type != PL_INT)
            return;
        v.i = e->i;
        break;
    case FIDX_FLOAT:
        if (!pl_as_f64(e, &v.d))
            return;
        if (v.d == 0)
            v.d = 0;
        break;
    case FIDX_BOOL:
        if (e->type != PL_TRUE && e->type != PL_FALSE)
            return;
        v.i = e->type == PL_TRUE;
        break;
    case FIDX_DATETIME:
        if (e->type != PL_STRING || !qv_datetime_parse(e->s, e->len, &v.sec, &v.nsec))
            return;
        break;
    default: return;
    }
    b->any = true;
    bv_push(b, &v);
}

static bool bv_cb(void *ctx, const pl_value *v)
{
    if (v->type == PL_ARRAY) {
        pl_iter it;
        pl_value e;
        pl_iter_init(&it, v);
        while (pl_iter_next_elem(&it, &e))
            bv_elem(ctx, &e);
    } else {
        bv_elem(ctx, v);
    }
    return true;
}

static int val_cmp(const fidx_value *a, const fidx_value *b)
{
    switch (a->type) {
    case FIDX_FLOAT: return (a->d > b->d) - (a->d < b->d);
    case FIDX_DATETIME:
        if (a->sec != b->sec)
            return a->sec < b->sec ? -1 : 1;
        return (a->nsec > b->nsec) - (a->nsec < b->nsec);
    case FIDX_KEYWORD:
    case FIDX_UUID: {
        size_t n = a->len < b->len ? a->len : b->len;
        int c = n ? memcmp(a->s, b->s, n) : 0;
        return c ? c : (a->len > b->len) - (a->len < b->len);
    }
    default: return (a->i > b->i) - (a->i < b->i);
    }
}

static int bval_cmp(const void *x, const void *y)
{
    const bval *a = x, *b = y;
    int c = val_cmp(&a->v, &b->v);
    return c ? c : (a->slot > b->slot) - (a->slot < b->slot);
}

/* Every (value, slot) of the world, sorted; *points = slots with a value. */
static bvals brute_values(const world *w, uint64_t *points)
{
    bvals b = {NULL, 0, 0, 0, w->type, false};
    *points = 0;
    for (uint32_t s = 0; s < w->n; s++) {
        if (!w->blob[s])
            continue;
        b.slot = s;
        b.any = false;
        pl_lookup(w->blob[s], w->len[s], fidx_key(w->x), bv_cb, &b);
        *points += b.any;
    }
    if (b.n)
        qsort(b.v, b.n, sizeof *b.v, bval_cmp);
    return b;
}

typedef struct facet_ctx {
    const bvals *b;
    uint64_t     values, total;
} facet_ctx;

static bool facet_cb(void *ctx, const fidx_value *v, uint64_t count)
{
    facet_ctx *c = ctx;
    uint64_t n = 0;
    for (size_t i = 0; i < c->b->n; i++)
        n += val_cmp(&c->b->v[i].v, v) == 0;
    if (n != count)
        fail_msg("facet count %llu, brute %llu", (unsigned long long)count, (unsigned long long)n);
    c->values++;
    c->total += count;
    return true;
}

static void check_values(world *w)
{
    uint64_t points;
    bvals b = brute_values(w, &points);
    fidx_type t = w->type;
    if (t != FIDX_GEO && t != FIDX_TEXT)
        assert_int_equal(fidx_points(w->x), points);
    if (t == FIDX_KEYWORD || t == FIDX_UUID || t == FIDX_INTEGER || t == FIDX_BOOL) {
        facet_ctx c = {&b, 0, 0};
        assert_int_equal(fidx_facet(w->x, facet_cb, &c), QV_OK);
        assert_int_equal(c.total, b.n);  /* every pair counted once */
    }
    if (t == FIDX_INTEGER || t == FIDX_FLOAT || t == FIDX_DATETIME) {
        for (int round = 0; round < 6; round++) {
            bool desc = round & 1;
            fidx_start st = {0, 0, 0};
            bool has_start = round >= 2;
            if (has_start) {
                st.num = BOUNDS[rnd(sizeof BOUNDS / sizeof BOUNDS[0])];
                const char *s = TBOUNDS[rnd(sizeof TBOUNDS / sizeof TBOUNDS[0])];
                assert_true(qv_datetime_parse(s, strlen(s), &st.sec, &st.nsec));
            }
            /* expected: the brute list filtered by start, in order */
            fidx_order_it it;
            assert_int_equal(fidx_order_seek(w->x, desc, has_start ? &st : NULL, &it), QV_OK);
            size_t i = desc ? b.n : 0, got = 0;
            for (;;) {
                /* next expected */
                const bval *e = NULL;
                while (desc ? i > 0 : i < b.n) {
                    const bval *cand = desc ? &b.v[i - 1] : &b.v[i];
                    desc ? i-- : i++;
                    bool ok = true;
                    if (has_start) {
                        if (t == FIDX_DATETIME) {
                            fidx_value sv = {.type = t, .sec = st.sec, .nsec = st.nsec};
                            int c = val_cmp(&cand->v, &sv);
                            ok = desc ? c <= 0 : c >= 0;
                        } else {
                            double d = t == FIDX_INTEGER ? (double)cand->v.i : cand->v.d;
                            ok = desc ? d <= st.num : d >= st.num;
                        }
                    }
                    if (ok) {
                        e = cand;
                        break;
                    }
                }
                fidx_value v;
                uint32_t slot;
                bool more = fidx_order_next(&it, &v, &slot);
                if (!e) {
                    assert_false(more);
                    break;
                }
                assert_true(more);
                assert_int_equal(slot, e->slot);
                assert_int_equal(val_cmp(&v, &e->v), 0);
                got++;
            }
            if (!has_start)
                assert_int_equal(got, b.n);
        }
    }
    free(b.v);
}

/* ---- the driver ---------------------------------------------------------------------- */

#define SLOTS  1500
#define ROUNDS 4
#define WRITES 400
#define CONDS  60

static void world_free(world *w)
{
    for (uint32_t i = 0; i < w->n; i++)
        free(w->blob[i]);
    free(w->blob);
    free(w->len);
    fidx_free(w->x);
}

static void run_type(fidx_type type, const char *key)
{
    g_type = type;
    world w = {type, key, SLOTS, calloc(SLOTS, sizeof(uint8_t *)), calloc(SLOTS, sizeof(size_t)),
               new_index(key, type)};
    bool nested = strcmp(key, "f") != 0;
    stats st = {0};
    for (uint32_t s = 0; s < SLOTS; s++) {
        if (rnd(10) == 0)
            continue;  /* never written */
        w.blob[s] = gen_payload(type, nested, &w.len[s]);
        fidx_update(w.x, s, NULL, 0, w.blob[s], w.len[s]);
    }
    for (int round = 0; round < ROUNDS; round++) {
        if (round) {
            for (int k = 0; k < WRITES; k++) {
                uint32_t s = rnd(SLOTS);
                size_t len = 0;
                uint8_t *b = rnd(8) == 0 ? NULL : gen_payload(type, nested, &len);
                fidx_update(w.x, s, w.blob[s], w.len[s], b, len);
                if (rnd(2))  /* idempotent */
                    fidx_update(w.x, s, w.blob[s], w.len[s], b, len);
                free(w.blob[s]);
                w.blob[s] = b;
                w.len[s] = len;
            }
        }
        assert_false(fidx_broken(w.x));
        for (int k = 0; k < CONDS; k++)
            check_cond(&w, &st);
        check_values(&w);
    }
    /* A fresh index over the same blobs holds the same pairs. */
    fidx *y = new_index(key, type);
    for (uint32_t s = 0; s < SLOTS; s++)
        fidx_update(y, s, NULL, 0, w.blob[s], w.len[s]);
    assert_int_equal(y->set.n, w.x->set.n);
    assert_int_equal(fidx_points(y), fidx_points(w.x));
    if (has_dict(y)) {  /* ids differ: compare each word's run of slots */
        assert_int_equal(y->dict.live, w.x->dict.live);
        for (uint32_t id = 0; id < y->dict.nw; id++) {
            const fx_word *u = &y->dict.w[id];
            if (!u->s)
                continue;
            uint32_t id2 = dict_find(&w.x->dict, u->s, u->len);
            assert_true(id2 != UINT32_MAX);
            assert_int_equal(u->count, w.x->dict.w[id2].count);
            fx_pos p = set_seek(&y->set, (fx_ent){id, 0});
            fx_pos q = set_seek(&w.x->set, (fx_ent){id2, 0});
            for (uint32_t k = 0; k < u->count; k++, pos_next(&y->set, &p), pos_next(&w.x->set, &q))
                assert_true(pos_get(&y->set, p).lo == pos_get(&w.x->set, q).lo);
        }
    } else {
        fx_pos p = set_seek(&y->set, (fx_ent){0, 0}), q = set_seek(&w.x->set, (fx_ent){0, 0});
        for (; !pos_end(&y->set, p); pos_next(&y->set, &p), pos_next(&w.x->set, &q))
            assert_true(ent_eq(pos_get(&y->set, p), pos_get(&w.x->set, q)));
    }
    fidx_free(y);
    /* Deleting everything empties the index. */
    for (uint32_t s = 0; s < SLOTS; s++)
        fidx_update(w.x, s, w.blob[s], w.len[s], NULL, 0);
    assert_int_equal(w.x->set.n, 0);
    assert_int_equal(w.x->set.nb, 0);
    assert_int_equal(fidx_points(w.x), 0);
    assert_int_equal(w.x->dict.live, 0);
    assert_int_equal(w.x->other.count, 0);
    print_message("%-8s %-6s exact %u superset %u no %u (non-empty %u)\n", fidx_type_name(type),
                  key, st.exact, st.superset, st.no, st.nonempty);
    assert_true(st.exact + st.superset > CONDS);
    world_free(&w);
}

static void test_keyword(void **state) { run_type(FIDX_KEYWORD, "f"); }
static void test_keyword_nested(void **state) { run_type(FIDX_KEYWORD, "a[].f"); }
static void test_uuid(void **state) { run_type(FIDX_UUID, "f"); }
static void test_integer(void **state) { run_type(FIDX_INTEGER, "f"); }
static void test_integer_nested(void **state) { run_type(FIDX_INTEGER, "a[].f"); }
static void test_float(void **state) { run_type(FIDX_FLOAT, "f"); }
static void test_bool(void **state) { run_type(FIDX_BOOL, "f"); }
static void test_datetime(void **state) { run_type(FIDX_DATETIME, "f"); }
static void test_text(void **state) { run_type(FIDX_TEXT, "f"); }
static void test_geo(void **state) { run_type(FIDX_GEO, "f"); }

/* ---- fixed cases ------------------------------------------------------------------------ */

typedef struct toks {
    char   buf[512];
    size_t n;
} toks;

static bool tok_join(void *ctx, const char *s, size_t len)
{
    toks *t = ctx;
    t->n += (size_t)snprintf(t->buf + t->n, sizeof t->buf - t->n, "%s%.*s", t->n ? "|" : "",
                             (int)len, s);
    return true;
}

static bool tok_len(void *ctx, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        assert_int_equal(s[i], 'a');
    *(size_t *)ctx += len;
    return true;
}

static void expect_tokens(const fidx_params *p, const char *text, const char *want)
{
    toks t = {"", 0};
    assert_true(fidx_tokenize(p, text, strlen(text), tok_join, &t));
    assert_string_equal(t.buf, want);
}

static void test_tokenizer(void **state)
{
    fidx_params p;
    fidx_params_default(FIDX_TEXT, &p);
    expect_tokens(&p, "Hello, World! fox-trot 42", "hello|world|fox|trot|42");
    expect_tokens(&p, "  ÆRØ ünï½x_y", "ærø|ünï½x|y");
    expect_tokens(&p, "", "");
    expect_tokens(&p, "..!!", "");
    p.lowercase = false;
    expect_tokens(&p, "Hello World", "Hello|World");
    p.min_token_len = 2;
    p.max_token_len = 4;
    expect_tokens(&p, "a bb ccc dddd eeeee ÆØ", "bb|ccc|dddd|ÆØ");
    /* a long token goes through the heap */
    char longt[1000];
    memset(longt, 'A', sizeof longt - 1);
    longt[sizeof longt - 1] = '\0';
    fidx_params_default(FIDX_TEXT, &p);
    size_t got = 0;
    assert_true(fidx_tokenize(&p, longt, strlen(longt), tok_len, &got));
    assert_int_equal(got, sizeof longt - 1);
}

static void put(fidx *x, uint32_t slot, const char *payload)
{
    size_t len;
    uint8_t *b = blob(payload, &len);
    fidx_update(x, slot, NULL, 0, b, len);
    free(b);
}

static void select_eq(fidx *x, const fidx_cond *c, fidx_answer want, const char *slots)
{
    uint32_t *s;
    size_t n;
    char got[256] = "";
    size_t k = 0;
    assert_int_equal(fidx_plan(x, c, NULL), want);
    assert_int_equal(fidx_select(x, c, &s, &n), QV_OK);
    for (size_t i = 0; i < n; i++)
        k += (size_t)snprintf(got + k, sizeof got - k, "%s%u", i ? "," : "", s[i]);
    free(s);
    assert_string_equal(got, slots);
}

static void test_text_semantics(void **state)
{
    fidx *x = new_index("t", FIDX_TEXT);
    put(x, 0, "{\"t\": \"The quick brown fox\"}");
    put(x, 1, "{\"t\": [\"quick\", \"Fox!\"]}");  /* tokens of all strings together */
    put(x, 2, "{\"t\": \"quickly foxes\"}");
    put(x, 3, "{\"t\": 5}");
    fidx_test t = {.kind = FLT_TEST_MATCH_TEXT, .text = {"FOX quick", 9}};
    fidx_cond c = {&t, 1, false};
    select_eq(x, &c, FIDX_EXACT, "0,1");
    t.text = (fidx_str){"fox unknown", 11};
    select_eq(x, &c, FIDX_EXACT, "");
    t.text = (fidx_str){"  ", 2};  /* no tokens: nothing */
    select_eq(x, &c, FIDX_EXACT, "");
    t.kind = FLT_TEST_MATCH_TEXT_ANY;
    t.text = (fidx_str){"brown foxes zzz", 15};
    select_eq(x, &c, FIDX_EXACT, "0,2");
    t.kind = FLT_TEST_MATCH_PHRASE;
    assert_int_equal(fidx_plan(x, &c, NULL), FIDX_NO);
    assert_int_equal(fidx_points(x), 3);
    fidx_free(x);
}

static void test_semantics(void **state)
{
    fidx *x = new_index("k", FIDX_KEYWORD);
    put(x, 0, "{\"k\": \"a\"}");
    put(x, 1, "{\"k\": [\"a\", \"b\"]}");
    put(x, 2, "{\"k\": [[\"a\"]]}");      /* nested array: an other */
    put(x, 3, "{\"k\": 7}");              /* other */
    put(x, 4, "{\"k\": null}");
    put(x, 5, "{\"k\": [null, \"c\"]}");
    fidx_str ab[2] = {{"a", 1}, {"b", 1}};
    fidx_test t = {.kind = FLT_TEST_MATCH_VALUE};
    t.u.value.type = PL_STRING;
    t.u.value.s = (fidx_str){"a", 1};
    fidx_cond c = {&t, 1, false};
    select_eq(x, &c, FIDX_EXACT, "0,1");
    t.kind = FLT_TEST_MATCH_EXCEPT;
    t.u.set.ints = false;
    t.u.set.n = 2;
    t.u.set.s = ab;
    select_eq(x, &c, FIDX_EXACT, "2,3,5");
    t.kind = FLT_TEST_MATCH_PREFIX;
    t.text = (fidx_str){"", 0};
    select_eq(x, &c, FIDX_EXACT, "0,1,5");
    uint64_t est;
    assert_int_equal(fidx_plan(x, &c, &est), FIDX_EXACT);
    assert_true(est >= 3);
    assert_int_equal(fidx_points(x), 3);
    fidx_free(x);

    /* integers: a float at the key makes a range a superset */
    x = new_index("n", FIDX_INTEGER);
    put(x, 0, "{\"n\": 1}");
    put(x, 1, "{\"n\": [2, 9223372036854775807]}");
    fidx_test r = {.kind = FLT_TEST_RANGE};
    r.u.range.has = FIDX_GTE;
    r.u.range.b[3] = 9223372036854775807.0;  /* 2^63: (double)INT64_MAX equals it */
    fidx_cond rc = {&r, 1, false};
    select_eq(x, &rc, FIDX_EXACT, "1");
    put(x, 2, "{\"n\": 1.5}");
    r.u.range.b[3] = 1.2;
    select_eq(x, &rc, FIDX_SUPERSET, "1,2");
    size_t len;
    uint8_t *b = blob("{\"n\": 1.5}", &len);
    fidx_update(x, 2, b, len, NULL, 0);
    free(b);
    select_eq(x, &rc, FIDX_EXACT, "1");
    fidx_free(x);
}

/* Every allocation of a write failing in turn: the index turns broken (or
 * the write succeeds), and after fidx_clear + refeeding it answers right. */
static void test_broken(void **state)
{
    static const fidx_type types[] = {FIDX_KEYWORD, FIDX_TEXT, FIDX_INTEGER, FIDX_GEO};
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        world w = {types[ti], "f", 400, calloc(400, sizeof(uint8_t *)), calloc(400, sizeof(size_t)),
                   new_index("f", types[ti])};
        unsigned broken = 0;
        for (uint32_t s = 0; s < w.n; s++) {
            w.blob[s] = gen_payload(w.type, false, &w.len[s]);
            fail_at = rnd(2);
            fidx_update(w.x, s, NULL, 0, w.blob[s], w.len[s]);
            fail_at = -1;
            if (fidx_broken(w.x)) {
                broken++;
                gcond g;
                gen_cond(&g, w.type, "f");
                assert_int_equal(fidx_plan(w.x, &g.c, NULL), FIDX_NO);
                fidx_update(w.x, s, NULL, 0, w.blob[s], w.len[s]);  /* ignored */
                assert_true(fidx_broken(w.x));
                fidx_clear(w.x);
                assert_false(fidx_broken(w.x));
                for (uint32_t k = 0; k <= s; k++)
                    fidx_update(w.x, k, NULL, 0, w.blob[k], w.len[k]);
                assert_false(fidx_broken(w.x));
            }
        }
        assert_true(broken > 0);
        stats st = {0};
        for (int k = 0; k < 40; k++)
            check_cond(&w, &st);
        world_free(&w);
    }
}

/* Timing, only with FIDX_BENCH=1 in the environment (not a test). */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void bench(void **state)
{
    if (!getenv("FIDX_BENCH"))
        skip();
    enum { N = 1000000 };
    static const fidx_type types[] = {FIDX_KEYWORD, FIDX_INTEGER, FIDX_FLOAT};
    static const char *const shapes[] = {"{\"f\": \"v%u\"}", "{\"f\": %u}", "{\"f\": %u.5}"};
    for (int ti = 0; ti < 3; ti++) {
        for (int distinct = 0; distinct < 2; distinct++) {
            uint32_t card = distinct ? N : 100;
            fidx *x = new_index("f", types[ti]);
            uint8_t **b = malloc(N * sizeof *b);
            size_t *l = malloc(N * sizeof *l);
            char p[64];
            for (uint32_t i = 0; i < N; i++) {
                snprintf(p, sizeof p, shapes[ti], (unsigned)(((uint64_t)i * 2654435761u) % card));
                b[i] = blob(p, &l[i]);
            }
            double t0 = now();
            for (uint32_t i = 0; i < N; i++)
                fidx_update(x, i, NULL, 0, b[i], l[i]);
            double t1 = now();
            /* rewrite every point with another value, in random slot order */
            for (uint32_t k = 0; k < N; k++) {
                uint32_t i = (uint32_t)(((uint64_t)k * 48271) % N), j = (i + 1) % N;
                fidx_update(x, i, b[i], l[i], b[j], l[j]);
                uint8_t *tb = b[i];
                size_t tl = l[i];
                (void)tb;
                (void)tl;
            }
            double t2 = now();
            print_message("%-8s %7u distinct: %.0f ns/insert, %.0f ns/rewrite, %.1f B/point, points %llu\n",
                          fidx_type_name(types[ti]), card, (t1 - t0) / N * 1e9, (t2 - t1) / N * 1e9,
                          (double)fidx_memory(x) / N, (unsigned long long)fidx_points(x));
            for (uint32_t i = 0; i < N; i++)
                free(b[i]);
            free(b);
            free(l);
            fidx_free(x);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokenizer),
        cmocka_unit_test(test_semantics),
        cmocka_unit_test(test_text_semantics),
        cmocka_unit_test(test_keyword),
        cmocka_unit_test(test_keyword_nested),
        cmocka_unit_test(test_uuid),
        cmocka_unit_test(test_integer),
        cmocka_unit_test(test_integer_nested),
        cmocka_unit_test(test_float),
        cmocka_unit_test(test_bool),
        cmocka_unit_test(test_datetime),
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_geo),
        cmocka_unit_test(test_broken),
        cmocka_unit_test(bench),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
