/*
 * test_filter.c — Qdrant's filter language (filter/filter.h).
 *
 * Each condition type is checked against payloads built with jr_parse +
 * pl_encode: matching, non-matching, arrays, nested arrays reached with [],
 * missing keys, type mismatches, and the corners Qdrant's sources define
 * (lib/segment/src/payload_storage/condition_checker.rs, query_checker.rs,
 * types.rs, common/utils.rs; cases marked "Qdrant test" come from Qdrant's
 * own unit tests). Every parse error is checked with its code and message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter/filter.h"
#include "json/jr.h"
#include "payload/pljson.h"

/* ---- helpers ------------------------------------------------------------------ */

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

/* "has_vector" callback: ctx is a list of names, each followed by ';'. */
static bool has_vec(const void *ctx, const char *name)
{
    char key[64];
    snprintf(key, sizeof key, "%s;", name);
    const char *list = ctx;
    size_t n = strlen(key);
    for (const char *p = list; *p;) {
        if (strncmp(p, key, n) == 0)
            return true;
        p = strchr(p, ';');
        if (!p)
            break;
        p++;
    }
    return false;
}

static flt_filter *parse_ok(qv_arena *a, const char *filter)
{
    flt_filter *f = NULL;
    qv_error err = {QV_OK, ""};
    if (flt_parse(a, json(a, filter), "filter", &f, &err) != QV_OK)
        fail_msg("parse failed for %s: %s", filter, err.msg);
    assert_non_null(f);
    return f;
}

static bool match_full(const char *filter, const char *payload, const qv_point_id *id,
                       const char *vectors)
{
    qv_arena a;
    qv_arena_init(&a, 0);
    flt_filter *f = parse_ok(&a, filter);
    size_t len;
    uint8_t *b = blob(payload, &len);
    flt_point p = {id, b, len, vectors ? has_vec : NULL, vectors, NULL};
    bool r = flt_match(f, &p);
    free(b);
    qv_arena_free(&a);
    return r;
}

static bool m(const char *filter, const char *payload)
{
    qv_point_id id = {0, 1, 0};
    return match_full(filter, payload, &id, "");
}

typedef struct tcase {
    const char *filter;
    const char *payload;
    bool        expect;
} tcase;

static void run(const tcase *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (m(c[i].filter, c[i].payload) != c[i].expect)
            fail_msg("case %zu: filter %s on %s: expected %s", i, c[i].filter, c[i].payload,
                     c[i].expect ? "match" : "no match");
}
#define RUN(cases) run(cases, sizeof cases / sizeof cases[0])

/* A field condition on "a" with the given test, as a must filter. */
#define F(test) "{\"must\": {\"key\": \"a\", " test "}}"

/* Parse must fail with code and a message containing want. */
static void perr(const char *filter, qv_status code, const char *want)
{
    qv_arena a;
    qv_arena_init(&a, 0);
    flt_filter *f = NULL;
    qv_error err = {QV_OK, ""};
    qv_status rc = flt_parse(&a, json(&a, filter), "filter", &f, &err);
    if (rc != code || err.code != code)
        fail_msg("filter %s: expected %s, got rc %s / err %s: %s", filter, qv_status_name(code),
                 qv_status_name(rc), qv_status_name(err.code), err.msg);
    if (!strstr(err.msg, want))
        fail_msg("filter %s: message [%s] lacks [%s]", filter, err.msg, want);
    qv_arena_free(&a);
}

/* ---- clauses -------------------------------------------------------------------- */

static void test_clauses(void **state)
{
    (void)state;
    const char *P = "{\"city\": \"London\", \"color\": \"red\"}";
    tcase c[] = {
        {"{}", P, true},
        {"{\"must\": []}", P, true},
        {"{\"must_not\": []}", P, true},
        {"{\"should\": []}", P, false},  /* should: [] matches nothing */
        {"{\"should\": null}", P, true}, /* null = absent */
        {"{\"must\": [{\"key\": \"city\", \"match\": {\"value\": \"London\"}},"
         " {\"key\": \"color\", \"match\": {\"value\": \"red\"}}]}", P, true},
        {"{\"must\": [{\"key\": \"city\", \"match\": {\"value\": \"London\"}},"
         " {\"key\": \"color\", \"match\": {\"value\": \"blue\"}}]}", P, false},
        /* one condition instead of a list */
        {"{\"must\": {\"key\": \"city\", \"match\": {\"value\": \"London\"}}}", P, true},
        {"{\"should\": [{\"key\": \"city\", \"match\": {\"value\": \"Berlin\"}},"
         " {\"key\": \"color\", \"match\": {\"value\": \"red\"}}]}", P, true},
        {"{\"should\": [{\"key\": \"city\", \"match\": {\"value\": \"Berlin\"}}]}", P, false},
        {"{\"must_not\": [{\"key\": \"city\", \"match\": {\"value\": \"Berlin\"}}]}", P, true},
        {"{\"must_not\": {\"key\": \"city\", \"match\": {\"value\": \"London\"}}}", P, false},
        /* must_not on a missing key passes */
        {"{\"must_not\": {\"key\": \"nope\", \"match\": {\"value\": \"x\"}}}", P, true},
        /* a filter as a condition, and {} as a condition (matches) */
        {"{\"must\": [{\"should\": [{\"key\": \"city\", \"match\": {\"value\": \"Berlin\"}},"
         " {\"key\": \"city\", \"match\": {\"value\": \"London\"}}]}]}", P, true},
        {"{\"must\": [{\"must_not\": [{\"key\": \"city\", \"match\": {\"value\": \"London\"}}]}]}",
         P, false},
        {"{\"must\": [{}]}", P, true},
        {"{\"must_not\": [{}]}", P, false},
        /* min_should */
        {"{\"min_should\": {\"conditions\": [{\"key\": \"city\", \"match\": {\"value\": \"London\"}},"
         " {\"key\": \"color\", \"match\": {\"value\": \"red\"}},"
         " {\"key\": \"x\", \"match\": {\"value\": 1}}], \"min_count\": 2}}", P, true},
        {"{\"min_should\": {\"conditions\": [{\"key\": \"city\", \"match\": {\"value\": \"London\"}},"
         " {\"key\": \"color\", \"match\": {\"value\": \"blue\"}},"
         " {\"key\": \"x\", \"match\": {\"value\": 1}}], \"min_count\": 2}}", P, false},
        {"{\"min_should\": {\"conditions\": [], \"min_count\": 1}}", P, false},
        {"{\"min_should\": null, \"must\": []}", P, true},
        /* all clauses together */
        {"{\"must\": {\"key\": \"city\", \"match\": {\"value\": \"London\"}},"
         " \"should\": {\"key\": \"color\", \"match\": {\"value\": \"red\"}},"
         " \"must_not\": {\"key\": \"color\", \"match\": {\"value\": \"blue\"}}}", P, true},
        /* unknown members of a condition object are ignored, as in Qdrant */
        {"{\"must\": {\"key\": \"city\", \"match\": {\"value\": \"London\"}, \"boost\": 2}}", P,
         true},
    };
    RUN(c);
}

/* ---- match.value ---------------------------------------------------------------- */

static void test_match_value(void **state)
{
    (void)state;
    tcase c[] = {
        {F("\"match\": {\"value\": \"x\"}"), "{\"a\": \"x\"}", true},
        {F("\"match\": {\"value\": \"x\"}"), "{\"a\": \"X\"}", false},
        {F("\"match\": {\"value\": \"x\"}"), "{\"a\": \"xx\"}", false},
        {F("\"match\": {\"value\": \"\"}"), "{\"a\": \"\"}", true},
        {F("\"match\": {\"value\": 5}"), "{\"a\": 5}", true},
        {F("\"match\": {\"value\": -5}"), "{\"a\": -5}", true},
        {F("\"match\": {\"value\": 5}"), "{\"a\": 6}", false},
        {F("\"match\": {\"value\": true}"), "{\"a\": true}", true},
        {F("\"match\": {\"value\": false}"), "{\"a\": true}", false},
        {F("\"match\": {\"value\": false}"), "{\"a\": false}", true},
        /* type mismatches never match */
        {F("\"match\": {\"value\": 1}"), "{\"a\": \"1\"}", false},
        {F("\"match\": {\"value\": \"1\"}"), "{\"a\": 1}", false},
        {F("\"match\": {\"value\": 1}"), "{\"a\": 1.0}", false},  /* float payload: not i64 */
        {F("\"match\": {\"value\": 1}"), "{\"a\": true}", false},
        {F("\"match\": {\"value\": true}"), "{\"a\": 1}", false},
        {F("\"match\": {\"value\": true}"), "{\"a\": \"true\"}", false},
        {F("\"match\": {\"value\": 0}"), "{\"a\": null}", false},
        {F("\"match\": {\"value\": 9223372036854775807}"), "{\"a\": 9223372036854775807}", true},
        /* a u64 above i64::MAX is no integer to Qdrant's match */
        {F("\"match\": {\"value\": 1}"), "{\"a\": 18446744073709551615}", false},
        /* arrays: any element */
        {F("\"match\": {\"value\": 2}"), "{\"a\": [1, 2, 3]}", true},
        {F("\"match\": {\"value\": 4}"), "{\"a\": [1, 2, 3]}", false},
        {F("\"match\": {\"value\": \"b\"}"), "{\"a\": [\"a\", \"b\"]}", true},
        {F("\"match\": {\"value\": 1}"), "{\"a\": []}", false},
        /* arrays in arrays are not flattened */
        {F("\"match\": {\"value\": 1}"), "{\"a\": [[1]]}", false},
        {"{\"must\": {\"key\": \"a[]\", \"match\": {\"value\": 1}}}", "{\"a\": [[1]]}", true},
        /* missing key, and objects */
        {F("\"match\": {\"value\": 1}"), "{\"b\": 1}", false},
        {F("\"match\": {\"value\": 1}"), "{}", false},
        {F("\"match\": {\"value\": 1}"), "{\"a\": {\"b\": 1}}", false},
        /* key paths */
        {"{\"must\": {\"key\": \"a.b\", \"match\": {\"value\": 1}}}", "{\"a\": {\"b\": 1}}", true},
        {"{\"must\": {\"key\": \"a.b\", \"match\": {\"value\": 1}}}", "{\"a\": {\"b\": [0, 1]}}",
         true},
        /* a key step does not enter arrays: a.b on [{"b": 1}] reaches nothing */
        {"{\"must\": {\"key\": \"a.b\", \"match\": {\"value\": 1}}}", "{\"a\": [{\"b\": 1}]}",
         false},
        {"{\"must\": {\"key\": \"a[].b\", \"match\": {\"value\": 1}}}",
         "{\"a\": [{\"b\": 2}, {\"b\": 1}]}", true},
        {"{\"must\": {\"key\": \"a[].b\", \"match\": {\"value\": 3}}}",
         "{\"a\": [{\"b\": 2}, {\"b\": [1, 3]}]}", true},
        {"{\"must\": {\"key\": \"a[1].b\", \"match\": {\"value\": 1}}}",
         "{\"a\": [{\"b\": 2}, {\"b\": 1}]}", true},
        {"{\"must\": {\"key\": \"a[0].b\", \"match\": {\"value\": 1}}}",
         "{\"a\": [{\"b\": 2}, {\"b\": 1}]}", false},
        {"{\"must\": {\"key\": \"a[0]\", \"match\": {\"value\": 7}}}", "{\"a\": [7, 8]}", true},
        {"{\"must\": {\"key\": \"a[5]\", \"match\": {\"value\": 7}}}", "{\"a\": [7, 8]}", false},
        {"{\"must\": {\"key\": \"\\\"a.b\\\".c\", \"match\": {\"value\": 1}}}",
         "{\"a.b\": {\"c\": 1}}", true},
        {"{\"must\": {\"key\": \"\\\"a.b\\\".c\", \"match\": {\"value\": 1}}}",
         "{\"a\": {\"b\": {\"c\": 1}}}", false},
        {"{\"must\": {\"key\": \"a[][].b\", \"match\": {\"value\": 1}}}",
         "{\"a\": [[{\"b\": 1}]]}", true},
    };
    RUN(c);
}

/* ---- match.any / match.except ------------------------------------------------------ */

static void test_match_any_except(void **state)
{
    (void)state;
    tcase c[] = {
        {F("\"match\": {\"any\": [\"x\", \"y\"]}"), "{\"a\": \"y\"}", true},
        {F("\"match\": {\"any\": [\"x\", \"y\"]}"), "{\"a\": \"z\"}", false},
        {F("\"match\": {\"any\": [1, 2]}"), "{\"a\": 2}", true},
        {F("\"match\": {\"any\": [1, 2]}"), "{\"a\": 3}", false},
        {F("\"match\": {\"any\": [1, 2]}"), "{\"a\": 2.0}", false},
        {F("\"match\": {\"any\": [1, 2]}"), "{\"a\": \"1\"}", false},
        {F("\"match\": {\"any\": [\"1\"]}"), "{\"a\": 1}", false},
        {F("\"match\": {\"any\": [1, 1, 2]}"), "{\"a\": 1}", true},  /* repeats are fine */
        {F("\"match\": {\"any\": []}"), "{\"a\": \"x\"}", false},   /* [] matches nothing */
        {F("\"match\": {\"any\": []}"), "{\"a\": 1}", false},
        {F("\"match\": {\"any\": [\"x\"]}"), "{\"a\": [\"q\", \"x\"]}", true},
        {F("\"match\": {\"any\": [\"x\"]}"), "{}", false},
        {F("\"match\": {\"any\": [true]}"), "{\"a\": true}", false},  /* not valid: parse */
        /* many values: searched, not scanned */
        {F("\"match\": {\"any\": [20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, "
           "3, 2, 1]}"), "{\"a\": 13}", true},
        {F("\"match\": {\"any\": [20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, "
           "3, 2, 1]}"), "{\"a\": 21}", false},
        {F("\"match\": {\"any\": [\"q\", \"p\", \"o\", \"n\", \"m\", \"l\", \"k\", \"j\", \"i\", "
           "\"h\", \"g\", \"f\", \"e\", \"d\", \"c\", \"b\", \"a\", \"ab\"]}"), "{\"a\": \"ab\"}",
         true},
        /* except */
        {F("\"match\": {\"except\": [\"x\"]}"), "{\"a\": \"y\"}", true},
        {F("\"match\": {\"except\": [\"x\"]}"), "{\"a\": \"x\"}", false},
        {F("\"match\": {\"except\": [1]}"), "{\"a\": 2}", true},
        {F("\"match\": {\"except\": [1]}"), "{\"a\": 1}", false},
        {F("\"match\": {\"except\": [1]}"), "{\"a\": null}", false},  /* never null */
        {F("\"match\": {\"except\": []}"), "{\"a\": null}", false},
        {F("\"match\": {\"except\": [1]}"), "{}", false},             /* nor missing */
        {F("\"match\": {\"except\": [1]}"), "{\"a\": 1.5}", true},    /* not i64: passes */
        {F("\"match\": {\"except\": [1]}"), "{\"a\": 1.0}", true},
        {F("\"match\": {\"except\": [1]}"), "{\"a\": 18446744073709551615}", true},
        {F("\"match\": {\"except\": [1]}"), "{\"a\": \"1\"}", true},  /* other type: passes */
        {F("\"match\": {\"except\": [\"1\"]}"), "{\"a\": 1}", true},
        {F("\"match\": {\"except\": [\"x\"]}"), "{\"a\": true}", true},
        {F("\"match\": {\"except\": [\"x\"]}"), "{\"a\": {\"b\": 1}}", true},
        {F("\"match\": {\"except\": []}"), "{\"a\": \"anything\"}", true},  /* [] */
        {F("\"match\": {\"except\": []}"), "{\"a\": 0}", true},
        /* arrays: one element outside the list is enough */
        {F("\"match\": {\"except\": [1]}"), "{\"a\": [1, 2]}", true},
        {F("\"match\": {\"except\": [1, 2]}"), "{\"a\": [1, 2]}", false},
        {F("\"match\": {\"except\": [1]}"), "{\"a\": [1, null]}", false},
        {F("\"match\": {\"except\": [1]}"), "{\"a\": []}", false},
        {F("\"match\": {\"except\": [1]}"), "{\"a\": [[1]]}", true},  /* array in array */
        {"{\"must_not\": {\"key\": \"a\", \"match\": {\"except\": [1]}}}", "{\"a\": 1}", true},
    };
    /* [true] is no AnyVariants: check it is rejected, then drop that case. */
    perr(F("\"match\": {\"any\": [true]}"), QV_BAD_FORMAT,
         "filter.must[0].match.any: expected a list of strings or a list of integers");
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
        if (!strstr(c[i].filter, "[true]") && m(c[i].filter, c[i].payload) != c[i].expect)
            fail_msg("case %zu: filter %s on %s: expected %d", i, c[i].filter, c[i].payload,
                     c[i].expect);
}

/* ---- text, text_any, phrase, prefix (no full-text index: substrings) --------------- */

static void test_match_text(void **state)
{
    (void)state;
    tcase c[] = {
        {F("\"match\": {\"text\": \"quick\"}"), "{\"a\": \"the quick fox\"}", true},
        {F("\"match\": {\"text\": \"quick fox\"}"), "{\"a\": \"the quick fox\"}", true},
        {F("\"match\": {\"text\": \"fox quick\"}"), "{\"a\": \"the quick fox\"}", false},
        {F("\"match\": {\"text\": \"Quick\"}"), "{\"a\": \"the quick fox\"}", false},
        {F("\"match\": {\"text\": \"uic\"}"), "{\"a\": \"the quick fox\"}", true},
        {F("\"match\": {\"text\": \"\"}"), "{\"a\": \"anything\"}", true},
        {F("\"match\": {\"text\": \"\"}"), "{\"a\": 1}", false},
        {F("\"match\": {\"text\": \"1\"}"), "{\"a\": 1}", false},
        {F("\"match\": {\"text\": \"fox\"}"), "{\"a\": [\"cat\", \"a fox\"]}", true},
        {F("\"match\": {\"text\": \"fox\"}"), "{}", false},
        {F("\"match\": {\"text\": \"xx\"}"), "{\"a\": \"x\"}", false},
        {F("\"match\": {\"text\": \"aab\"}"), "{\"a\": \"aaab\"}", true},
        {F("\"match\": {\"phrase\": \"quick fox\"}"), "{\"a\": \"the quick fox\"}", true},
        {F("\"match\": {\"phrase\": \"the fox\"}"), "{\"a\": \"the quick fox\"}", false},
        {F("\"match\": {\"text_any\": \"dog fox\"}"), "{\"a\": \"the quick fox\"}", true},
        {F("\"match\": {\"text_any\": \"dog cat\"}"), "{\"a\": \"the quick fox\"}", false},
        {F("\"match\": {\"text_any\": \"  dog\\t\\nqui  \"}"), "{\"a\": \"the quick fox\"}",
         true},
        {F("\"match\": {\"text_any\": \"\"}"), "{\"a\": \"the quick fox\"}", false},
        {F("\"match\": {\"text_any\": \"   \"}"), "{\"a\": \"the quick fox\"}", false},
        /* Unicode whitespace (U+3000) separates words too */
        {F("\"match\": {\"text_any\": \"dog\\u3000fox\"}"), "{\"a\": \"the quick fox\"}", true},
        {F("\"match\": {\"text_any\": \"\\u00e9t\\u00e9\"}"), "{\"a\": \"en \\u00e9t\\u00e9\"}",
         true},
        {F("\"match\": {\"prefix\": \"the q\"}"), "{\"a\": \"the quick fox\"}", true},
        {F("\"match\": {\"prefix\": \"quick\"}"), "{\"a\": \"the quick fox\"}", false},
        {F("\"match\": {\"prefix\": \"The\"}"), "{\"a\": \"the quick fox\"}", false},
        {F("\"match\": {\"prefix\": \"\"}"), "{\"a\": \"\"}", true},
        {F("\"match\": {\"prefix\": \"ab\"}"), "{\"a\": \"a\"}", false},
        {F("\"match\": {\"prefix\": \"ab\"}"), "{\"a\": [\"x\", \"abc\"]}", true},
        {F("\"match\": {\"prefix\": \"1\"}"), "{\"a\": 12}", false},
    };
    RUN(c);
}

/* ---- range ----------------------------------------------------------------------------- */

static void test_range(void **state)
{
    (void)state;
    tcase c[] = {
        {F("\"range\": {\"gt\": 1}"), "{\"a\": 2}", true},
        {F("\"range\": {\"gt\": 2}"), "{\"a\": 2}", false},
        {F("\"range\": {\"gte\": 2}"), "{\"a\": 2}", true},
        {F("\"range\": {\"lt\": 2}"), "{\"a\": 2}", false},
        {F("\"range\": {\"lte\": 2}"), "{\"a\": 2}", true},
        {F("\"range\": {\"gte\": 1.5, \"lt\": 2.5}"), "{\"a\": 2}", true},
        {F("\"range\": {\"gte\": 1.5, \"lt\": 2.5}"), "{\"a\": 2.5}", false},
        {F("\"range\": {\"gte\": 1.5, \"lt\": 2.5}"), "{\"a\": 1.5}", true},
        {F("\"range\": {\"gt\": -1}"), "{\"a\": -0.5}", true},
        {F("\"range\": {\"lt\": 0}"), "{\"a\": -3}", true},
        {F("\"range\": {\"gt\": 1e19}"), "{\"a\": 18446744073709551615}", true},
        {F("\"range\": {\"gt\": 1, \"lt\": null}"), "{\"a\": 5}", true},
        /* int and float payload values are both numbers */
        {F("\"range\": {\"gte\": 12}"), "{\"a\": 12.0}", true},
        {F("\"range\": {\"gte\": 12.0}"), "{\"a\": 12}", true},
        /* strings never match, even numeric ones; nor bools, nulls, objects */
        {F("\"range\": {\"gt\": 1}"), "{\"a\": \"5\"}", false},
        {F("\"range\": {\"gt\": 0}"), "{\"a\": true}", false},
        {F("\"range\": {\"gt\": 0}"), "{\"a\": null}", false},
        {F("\"range\": {\"gt\": 0}"), "{\"a\": {\"b\": 1}}", false},
        {F("\"range\": {\"gt\": 0}"), "{}", false},
        /* arrays: any element */
        {F("\"range\": {\"gt\": 5}"), "{\"a\": [1, 6]}", true},
        {F("\"range\": {\"gt\": 5}"), "{\"a\": [1, 2]}", false},
        {F("\"range\": {\"gt\": 5, \"lt\": 7}"), "{\"a\": [4, 8]}", false},  /* per element */
        {F("\"range\": {\"gt\": 5}"), "{\"a\": [\"9\", 6]}", true},
        {F("\"range\": {\"gt\": 5}"), "{\"a\": [[9]]}", false},
        {"{\"must\": {\"key\": \"a[].p\", \"range\": {\"lt\": 3}}}",
         "{\"a\": [{\"p\": 5}, {\"p\": 2}]}", true},
        /* a range with no bounds matches any number and nothing else */
        {F("\"range\": {}"), "{\"a\": 1}", true},
        {F("\"range\": {}"), "{\"a\": \"1\"}", false},
        {F("\"range\": {}"), "{}", false},
        /* must_not range on a missing key passes */
        {"{\"must_not\": {\"key\": \"a\", \"range\": {\"gt\": 0}}}", "{}", true},
    };
    RUN(c);
}

/* ---- datetime range ---------------------------------------------------------------------- */

static void test_datetime_range(void **state)
{
    (void)state;
    tcase c[] = {
        {F("\"range\": {\"gte\": \"2023-02-08T10:49:00Z\"}"), "{\"a\": \"2023-02-08T10:49:00Z\"}",
         true},
        {F("\"range\": {\"gt\": \"2023-02-08T10:49:00Z\"}"), "{\"a\": \"2023-02-08T10:49:00Z\"}",
         false},
        {F("\"range\": {\"gt\": \"2023-02-08T10:49:00Z\"}"),
         "{\"a\": \"2023-02-08T10:49:00.000000001Z\"}", true},
        /* Qdrant test: shipped in February */
        {F("\"range\": {\"gte\": \"2020-02-01T00:00:00Z\", \"lt\": \"2020-03-01T00:00:00Z\"}"),
         "{\"a\": \"2020-02-15T00:00:00Z\"}", true},
        {F("\"range\": {\"gte\": \"2020-03-01T00:00:00Z\", \"lt\": \"2020-04-01T00:00:00Z\"}"),
         "{\"a\": \"2020-02-15T00:00:00Z\"}", false},
        /* lax forms: space separator, no zone (UTC), date only, no seconds */
        {F("\"range\": {\"gte\": \"2023-02-08 10:49:00\", \"lte\": \"2023-02-08T10:49:00Z\"}"),
         "{\"a\": \"2023-02-08T10:49:00\"}", true},
        {F("\"range\": {\"gte\": \"2023-02-08\", \"lt\": \"2023-02-09\"}"),
         "{\"a\": \"2023-02-08T23:59:59.999\"}", true},
        {F("\"range\": {\"gte\": \"2023-02-08\", \"lt\": \"2023-02-09\"}"),
         "{\"a\": \"2023-02-09\"}", false},
        {F("\"range\": {\"gte\": \"2023-02-08T10:49\"}"), "{\"a\": \"2023-02-08 10:49\"}", true},
        {F("\"range\": {\"gt\": \"2023-02-08T10:49\"}"), "{\"a\": \"2023-02-08 10:49\"}", false},
        /* offsets: 10:49+01:00 is 09:49Z */
        {F("\"range\": {\"lt\": \"2023-02-08T09:50:00Z\"}"),
         "{\"a\": \"2023-02-08T10:49:00.123+01:00\"}", true},
        {F("\"range\": {\"lt\": \"2023-02-08T09:49:00Z\"}"),
         "{\"a\": \"2023-02-08T10:49:00.123+01:00\"}", false},
        {F("\"range\": {\"gte\": \"2020-03-01T09:00:00Z\", \"lte\": \"2020-03-01T09:00:00Z\"}"),
         "{\"a\": [\"2020-03-01T00:00:00-09:00\", \"x\"]}", true},
        {F("\"range\": {\"gte\": \"2020-03-01T09:00:00Z\", \"lte\": \"2020-03-01T09:00:00Z\"}"),
         "{\"a\": \"2020-03-01 00:00:00-0900\"}", true},
        {F("\"range\": {\"gte\": \"2020-03-01T09:00:00Z\", \"lte\": \"2020-03-01T09:00:00Z\"}"),
         "{\"a\": \"2020-03-01 00:00:00-09\"}", true},
        {F("\"range\": {\"gte\": \"2020-03-01T09:00:00Z\", \"lte\": \"2020-03-01T09:00:00Z\"}"),
         "{\"a\": \"2020-03-01T09:00:00 UTC\"}", true},
        {F("\"range\": {\"gte\": \"2020-03-01T09:00:00Z\", \"lte\": \"2020-03-01T09:00:00Z\"}"),
         "{\"a\": \"2020-03-01t09:00:00z\"}", true},
        /* a leap second sorts between :59 and the next minute */
        {F("\"range\": {\"gt\": \"2016-12-31T23:59:59.999Z\", \"lt\": \"2017-01-01T00:00:00Z\"}"),
         "{\"a\": \"2016-12-31T23:59:60Z\"}", true},
        /* Qdrant test: timezone ordering */
        {F("\"range\": {\"lt\": \"2000-06-07 07:25:34-1100\"}"),
         "{\"a\": \"2000-06-08 00:18:53+0900\"}", true},
        /* dates before 1970 and far ones */
        {F("\"range\": {\"lt\": \"1970-01-01\"}"), "{\"a\": \"1969-12-31T23:59:59Z\"}", true},
        {F("\"range\": {\"gt\": \"9999-12-31\"}"), "{\"a\": \"+10000-01-01T00:00:00Z\"}", true},
        /* non-datetimes never match */
        {F("\"range\": {\"gte\": \"2000-01-01\"}"), "{\"a\": \"not a date\"}", false},
        {F("\"range\": {\"gte\": \"2000-01-01\"}"), "{\"a\": \"2023-02-30\"}", false},
        {F("\"range\": {\"gte\": \"2000-01-01\"}"), "{\"a\": \"2023-02-08T10:49Z\"}", false},
        {F("\"range\": {\"gte\": \"2000-01-01\"}"), "{\"a\": \"2023-02-08T25:00:00\"}", false},
        {F("\"range\": {\"gte\": \"2000-01-01\"}"), "{\"a\": \"2023-02-08t10:49:00\"}", false},
        {F("\"range\": {\"gte\": \"2000-01-01\"}"), "{\"a\": \"2023-02-08T10:49:00+24:00\"}",
         false},
        {F("\"range\": {\"gte\": \"2000-01-01\"}"), "{\"a\": \"2023-02-08T10:49:00.\"}", false},
        {F("\"range\": {\"gte\": \"2000-01-01\"}"), "{\"a\": 1700000000}", false},
        {F("\"range\": {\"gte\": \"2000-01-01\"}"), "{}", false},
        {F("\"range\": {\"gte\": \"2024-02-29\"}"), "{\"a\": \"2024-02-29\"}", true},
        {F("\"range\": {\"gte\": \"2000-01-01\"}"), "{\"a\": \"2023-02-29\"}", false},
        /* a numeric range does not read datetimes */
        {F("\"range\": {\"gte\": 0}"), "{\"a\": \"2023-02-08\"}", false},
    };
    RUN(c);
}

/* ---- geo ----------------------------------------------------------------------------------- */

#define BERLIN "{\"lon\": 13.413637435864272, \"lat\": 52.52197645}"
#define MOSCOW "{\"lon\": 37.62137960067377, \"lat\": 55.7536283}"

static void test_geo_bounding_box(void **state)
{
    (void)state;
    const char *berlin_box =
        F("\"geo_bounding_box\": {\"top_left\": {\"lon\": 13.08835, \"lat\": 52.67551}, "
          "\"bottom_right\": {\"lon\": 13.76116, \"lat\": 52.33826}}");
    const char *unit_box = F("\"geo_bounding_box\": {\"top_left\": {\"lon\": 0, \"lat\": 1}, "
                             "\"bottom_right\": {\"lon\": 1, \"lat\": 0}}");
    const char *wrap_box = F("\"geo_bounding_box\": {\"top_left\": {\"lon\": 170, \"lat\": 10}, "
                             "\"bottom_right\": {\"lon\": -170, \"lat\": -10}}");
    tcase c[] = {
        {berlin_box, "{\"a\": " BERLIN "}", true},
        {berlin_box, "{\"a\": " MOSCOW "}", false},
        {berlin_box, "{\"a\": [" MOSCOW ", " BERLIN "]}", true},
        {unit_box, "{\"a\": {\"lon\": 0.5, \"lat\": 0.5}}", true},
        {unit_box, "{\"a\": {\"lat\": 0.5, \"lon\": 0.5, \"name\": \"x\"}}", true},
        {unit_box, "{\"a\": {\"lon\": 0, \"lat\": 0.5}}", false},  /* edges are outside */
        {unit_box, "{\"a\": {\"lon\": 0.5, \"lat\": 1}}", false},
        {unit_box, "{\"a\": {\"lon\": 1.5, \"lat\": 0.5}}", false},
        {unit_box, "{\"a\": {\"lon\": 0.5}}", false},
        {unit_box, "{\"a\": {\"lon\": 0.5, \"lat\": \"0.5\"}}", false},
        {unit_box, "{\"a\": [0.5, 0.5]}", false},
        {unit_box, "{\"a\": \"0.5,0.5\"}", false},
        {unit_box, "{}", false},
        {unit_box, "{\"a\": [[{\"lon\": 0.5, \"lat\": 0.5}]]}", false},
        {"{\"must\": {\"key\": \"a[].loc\", \"geo_bounding_box\": {\"top_left\": {\"lon\": 0, "
         "\"lat\": 1}, \"bottom_right\": {\"lon\": 1, \"lat\": 0}}}}",
         "{\"a\": [{\"loc\": {\"lon\": 5, \"lat\": 5}}, {\"loc\": {\"lon\": 0.5, \"lat\": 0.5}}]}",
         true},
        /* across the antimeridian */
        {wrap_box, "{\"a\": {\"lon\": 175, \"lat\": 0}}", true},
        {wrap_box, "{\"a\": {\"lon\": -175, \"lat\": 0}}", true},
        {wrap_box, "{\"a\": {\"lon\": 0, \"lat\": 0}}", false},
        {wrap_box, "{\"a\": {\"lon\": 175, \"lat\": 20}}", false},
        {wrap_box, "{\"a\": {\"lon\": 170, \"lat\": 0}}", false},
    };
    RUN(c);
}

static void test_geo_radius(void **state)
{
    (void)state;
    tcase c[] = {
        /* Qdrant test (condition_checker.rs test_geo_matching) */
        {F("\"geo_radius\": {\"center\": {\"lon\": 13.413637, \"lat\": 52.521976}, \"radius\": "
           "2000}"), "{\"a\": [" BERLIN ", " MOSCOW "]}", true},
        {F("\"geo_radius\": {\"center\": {\"lon\": 20.423637, \"lat\": 52.511}, \"radius\": 2000}"),
         "{\"a\": [" BERLIN ", " MOSCOW "]}", false},
        /* Qdrant test (types.rs test_geo_radius_check_point) */
        {F("\"geo_radius\": {\"center\": {\"lon\": 0, \"lat\": 0}, \"radius\": 80000}"),
         "{\"a\": {\"lon\": 0.5, \"lat\": 0.5}}", true},
        {F("\"geo_radius\": {\"center\": {\"lon\": 0, \"lat\": 0}, \"radius\": 80000}"),
         "{\"a\": {\"lon\": 1.5, \"lat\": 1.5}}", false},
        /* one degree of latitude is R * pi / 180 = 111195.0797 m with R = 6371008.8 (it
         * would be 111194.93 m with 6371000) */
        {F("\"geo_radius\": {\"center\": {\"lon\": 0, \"lat\": 0}, \"radius\": 111195.2}"),
         "{\"a\": {\"lon\": 0, \"lat\": 1}}", true},
        {F("\"geo_radius\": {\"center\": {\"lon\": 0, \"lat\": 0}, \"radius\": 111195.0}"),
         "{\"a\": {\"lon\": 0, \"lat\": 1}}", false},
        /* strictly less than the radius: the center is not within radius 0 */
        {F("\"geo_radius\": {\"center\": {\"lon\": 10, \"lat\": 10}, \"radius\": 0}"),
         "{\"a\": {\"lon\": 10, \"lat\": 10}}", false},
        {F("\"geo_radius\": {\"center\": {\"lon\": 10, \"lat\": 10}, \"radius\": 1}"),
         "{\"a\": {\"lon\": 10, \"lat\": 10}}", true},
        {F("\"geo_radius\": {\"center\": {\"lon\": 10, \"lat\": 10}, \"radius\": -5}"),
         "{\"a\": {\"lon\": 10, \"lat\": 10}}", false},
        /* across the antimeridian: 179.9 and -179.9 are ~22 km apart at the equator */
        {F("\"geo_radius\": {\"center\": {\"lon\": 179.9, \"lat\": 0}, \"radius\": 25000}"),
         "{\"a\": {\"lon\": -179.9, \"lat\": 0}}", true},
        {F("\"geo_radius\": {\"center\": {\"lon\": 0, \"lat\": 0}, \"radius\": 1e9}"),
         "{\"a\": {\"lat\": 0}}", false},
        {F("\"geo_radius\": {\"center\": {\"lon\": 0, \"lat\": 0}, \"radius\": 1e9}"), "{}",
         false},
        /* payload coordinates are not range-checked */
        {F("\"geo_radius\": {\"center\": {\"lon\": 0, \"lat\": 0}, \"radius\": 1e12}"),
         "{\"a\": {\"lon\": 500, \"lat\": 0}}", true},
    };
    RUN(c);
}

static void test_geo_polygon(void **state)
{
    (void)state;
    /* the square (0,0)-(10,10) with the hole (4,4)-(6,6) */
    const char *sq = F("\"geo_polygon\": {\"exterior\": {\"points\": [{\"lon\": 0, \"lat\": 0}, "
                       "{\"lon\": 10, \"lat\": 0}, {\"lon\": 10, \"lat\": 10}, {\"lon\": 0, "
                       "\"lat\": 10}, {\"lon\": 0, \"lat\": 0}]}}");
    const char *holed =
        F("\"geo_polygon\": {\"exterior\": {\"points\": [{\"lon\": 0, \"lat\": 0}, "
          "{\"lon\": 10, \"lat\": 0}, {\"lon\": 10, \"lat\": 10}, {\"lon\": 0, \"lat\": 10}, "
          "{\"lon\": 0, \"lat\": 0}]}, \"interiors\": [{\"points\": [{\"lon\": 4, \"lat\": 4}, "
          "{\"lon\": 6, \"lat\": 4}, {\"lon\": 6, \"lat\": 6}, {\"lon\": 4, \"lat\": 6}, "
          "{\"lon\": 4, \"lat\": 4}]}]}");
    /* a concave "U": the notch (4..6, 5..10) is outside */
    const char *u = F("\"geo_polygon\": {\"exterior\": {\"points\": [{\"lon\": 0, \"lat\": 0}, "
                      "{\"lon\": 10, \"lat\": 0}, {\"lon\": 10, \"lat\": 10}, {\"lon\": 6, "
                      "\"lat\": 10}, {\"lon\": 6, \"lat\": 5}, {\"lon\": 4, \"lat\": 5}, "
                      "{\"lon\": 4, \"lat\": 10}, {\"lon\": 0, \"lat\": 10}, {\"lon\": 0, "
                      "\"lat\": 0}]}}");
    /* clockwise ring, closed within f64::EPSILON (geo closes it exactly) */
    const char *cw = F("\"geo_polygon\": {\"exterior\": {\"points\": [{\"lon\": 0, \"lat\": 0}, "
                       "{\"lon\": 0, \"lat\": 2}, {\"lon\": 2, \"lat\": 2}, {\"lon\": 2, \"lat\": "
                       "0}, {\"lon\": 1e-17, \"lat\": 0}]}}");
    tcase c[] = {
        {sq, "{\"a\": {\"lon\": 5, \"lat\": 5}}", true},
        {sq, "{\"a\": {\"lon\": 0.001, \"lat\": 9.999}}", true},
        {sq, "{\"a\": {\"lon\": 11, \"lat\": 5}}", false},
        {sq, "{\"a\": {\"lon\": -1, \"lat\": 5}}", false},
        {sq, "{\"a\": {\"lon\": 5, \"lat\": 0}}", false},   /* on an edge */
        {sq, "{\"a\": {\"lon\": 10, \"lat\": 10}}", false}, /* on a vertex */
        {sq, "{\"a\": {\"lon\": 0, \"lat\": 5}}", false},
        {sq, "{\"a\": [{\"lon\": 50, \"lat\": 5}, {\"lon\": 5, \"lat\": 5}]}", true},
        {sq, "{\"a\": {\"lat\": 5}}", false},
        {sq, "{}", false},
        {holed, "{\"a\": {\"lon\": 2, \"lat\": 2}}", true},
        {holed, "{\"a\": {\"lon\": 5, \"lat\": 5}}", false}, /* in the hole */
        {holed, "{\"a\": {\"lon\": 4, \"lat\": 5}}", false}, /* on the hole's edge */
        {holed, "{\"a\": {\"lon\": 6, \"lat\": 6}}", false},
        {holed, "{\"a\": {\"lon\": 6.5, \"lat\": 5}}", true},
        {u, "{\"a\": {\"lon\": 2, \"lat\": 8}}", true},
        {u, "{\"a\": {\"lon\": 5, \"lat\": 8}}", false},
        {u, "{\"a\": {\"lon\": 5, \"lat\": 3}}", true},
        {u, "{\"a\": {\"lon\": 5, \"lat\": 5}}", false},  /* on the notch's bottom edge */
        {cw, "{\"a\": {\"lon\": 1, \"lat\": 1}}", true},
        {cw, "{\"a\": {\"lon\": 3, \"lat\": 1}}", false},
        /* a point at the height of a vertex, outside */
        {u, "{\"a\": {\"lon\": 12, \"lat\": 5}}", false},
        {u, "{\"a\": {\"lon\": 12, \"lat\": 10}}", false},
    };
    RUN(c);
}

/* ---- values_count -------------------------------------------------------------------------- */

static void test_values_count(void **state)
{
    (void)state;
    tcase c[] = {
        /* Qdrant tests: rating [3, 7, 9, 9]; countries */
        {F("\"values_count\": {\"gte\": 10}"), "{\"a\": [3, 7, 9, 9]}", false},
        {F("\"values_count\": {\"lt\": 5}"), "{\"a\": [3, 7, 9, 9]}", true},
        {F("\"values_count\": {\"gt\": 1}"), "{\"a\": [{\"c\": \"DE\"}, {\"c\": \"FR\"}]}", true},
        {F("\"values_count\": {\"gt\": 2}"), "{\"a\": [{\"c\": \"DE\"}, {\"c\": \"FR\"}]}", false},
        {F("\"values_count\": {\"gte\": 2}"), "{\"a\": [{\"c\": \"DE\"}, {\"c\": \"FR\"}]}", true},
        {F("\"values_count\": {\"lte\": 2, \"gte\": 2}"), "{\"a\": [1, 2]}", true},
        /* a scalar counts 1, null 0, an object 1, [] 0 */
        {F("\"values_count\": {\"gte\": 1, \"lte\": 1}"), "{\"a\": \"x\"}", true},
        {F("\"values_count\": {\"gte\": 1, \"lte\": 1}"), "{\"a\": {\"b\": 1, \"c\": 2}}", true},
        {F("\"values_count\": {\"lt\": 1}"), "{\"a\": null}", true},
        {F("\"values_count\": {\"lt\": 1}"), "{\"a\": []}", true},
        {F("\"values_count\": {\"gt\": 0}"), "{\"a\": []}", false},
        /* a missing key counts 0 (Qdrant 1.19, qdrant/qdrant#9586) */
        {F("\"values_count\": {\"lt\": 1}"), "{}", true},
        {F("\"values_count\": {\"gte\": 0}"), "{}", true},
        {F("\"values_count\": {\"lte\": 0}"), "{\"b\": [1]}", true},
        {F("\"values_count\": {\"gte\": 1}"), "{}", false},
        {F("\"values_count\": {\"gt\": 0}"), "{\"b\": 1}", false},
        {F("\"values_count\": {}"), "{}", true},
        {F("\"values_count\": {}"), "{\"a\": 1}", true},
        /* nested arrays count one level */
        {F("\"values_count\": {\"gt\": 2}"), "{\"a\": [[1, 2, 3]]}", false},
        /* per value reached: a[].b gives [1, 2] and 3 */
        {"{\"must\": {\"key\": \"a[].b\", \"values_count\": {\"gt\": 1}}}",
         "{\"a\": [{\"b\": [1, 2]}, {\"b\": 3}]}", true},
        {"{\"must\": {\"key\": \"a[].b\", \"values_count\": {\"gt\": 2}}}",
         "{\"a\": [{\"b\": [1, 2]}, {\"b\": 3}]}", false},
        /* values_count decides alone when present: match is then ignored */
        {F("\"values_count\": {\"gt\": 1}, \"match\": {\"value\": 99}"), "{\"a\": [1, 2]}", true},
    };
    RUN(c);
}

/* ---- is_empty, is_null ---------------------------------------------------------------------- */

static void test_is_empty_is_null(void **state)
{
    (void)state;
#define EMPTY(k) "{\"must\": {\"is_empty\": {\"key\": \"" k "\"}}}"
#define ISNULL(k) "{\"must\": {\"is_null\": {\"key\": \"" k "\"}}}"
    /* Qdrant test (query_checker.rs test_condition_checker) */
    const char *P = "{\"price\": 499.90, \"amount\": 10, \"parts\": [], \"packaging\": null, "
                    "\"not_null\": [null]}";
    tcase c[] = {
        {EMPTY("price"), P, false},
        {EMPTY("something_new"), P, true},
        {EMPTY("parts"), P, true},
        {EMPTY("not_null"), P, false},
        {EMPTY("packaging"), P, true},
        {ISNULL("amount"), P, false},
        {ISNULL("parts"), P, false},
        {ISNULL("something_else"), P, false},
        {ISNULL("packaging"), P, true},
        {ISNULL("not_null"), P, false},
        /* more */
        {EMPTY("a"), "{\"a\": 0}", false},
        {EMPTY("a"), "{\"a\": \"\"}", false},
        {EMPTY("a"), "{\"a\": {}}", false},
        {EMPTY("a"), "{\"a\": false}", false},
        {EMPTY("a.b"), "{\"a\": [{\"b\": 1}]}", true},  /* reaches nothing */
        {EMPTY("a[].b"), "{\"a\": [{\"b\": null}, {\"b\": []}]}", true},
        {EMPTY("a[].b"), "{\"a\": [{\"b\": null}, {\"b\": 1}]}", false},
        {ISNULL("a[].b"), "{\"a\": [{\"b\": 1}, {\"b\": null}]}", true},
        {ISNULL("a[].b"), "{\"a\": [{\"b\": 1}, {\"b\": 2}]}", false},
        {ISNULL("a[]"), "{\"a\": [1, null]}", true},
        {"{\"must_not\": {\"is_empty\": {\"key\": \"a\"}}}", "{\"a\": [1]}", true},
        {"{\"must_not\": {\"is_null\": {\"key\": \"a\"}}}", "{}", true},
        /* inside a field condition: is_empty / is_null as booleans */
        {F("\"is_empty\": true"), "{}", true},
        {F("\"is_empty\": false"), "{}", false},
        {F("\"is_empty\": true"), "{\"a\": []}", true},
        {F("\"is_empty\": true"), "{\"a\": [null]}", false},
        {F("\"is_empty\": false"), "{\"a\": [null]}", true},
        {F("\"is_empty\": true"), "{\"a\": null}", true},
        {F("\"is_empty\": false"), "{\"a\": 1}", true},
        {F("\"is_null\": true"), "{\"a\": null}", true},
        {F("\"is_null\": true"), "{\"a\": [1, null]}", true},  /* unlike is_null: {key} */
        {F("\"is_null\": true"), "{\"a\": []}", false},
        {F("\"is_null\": true"), "{}", false},
        {F("\"is_null\": false"), "{}", true},
        {F("\"is_null\": false"), "{\"a\": [1]}", true},
        {F("\"is_null\": false"), "{\"a\": null}", false},
        {F("\"is_null\": null, \"is_empty\": true"), "{}", true},  /* null = absent */
        /* per value (any), unlike {"is_empty": {key}} (all) */
        {"{\"must\": {\"key\": \"a[].b\", \"is_empty\": true}}",
         "{\"a\": [{\"b\": null}, {\"b\": 1}]}", true},
        /* is_empty wins over is_null, values_count over both */
        {F("\"is_empty\": true, \"is_null\": true"), "{\"a\": []}", true},
        {F("\"is_empty\": false, \"is_null\": true"), "{}", false},
        {F("\"values_count\": {\"gt\": 5}, \"is_empty\": true"), "{\"a\": []}", false},
    };
#undef EMPTY
#undef ISNULL
    RUN(c);
}

/* ---- has_id, has_vector --------------------------------------------------------------------- */

static void test_has_id_has_vector(void **state)
{
    (void)state;
    qv_point_id one = {0, 1, 0}, seven = {0, 7, 0}, uuid;
    assert_true(pid_parse_uuid("550e8400-e29b-41d4-a716-446655440000", 36, &uuid));
    assert_true(match_full("{\"must\": {\"has_id\": [1, 2, 3]}}", "{}", &one, NULL));
    assert_false(match_full("{\"must\": {\"has_id\": [1, 2, 3]}}", "{}", &seven, NULL));
    assert_false(match_full("{\"must\": {\"has_id\": []}}", "{}", &one, NULL));
    assert_true(match_full("{\"must_not\": {\"has_id\": []}}", "{}", &one, NULL));
    assert_true(match_full("{\"must\": {\"has_id\": [9, \"550E8400-E29B-41D4-A716-446655440000\", "
                           "8, 7, 6, 5, 4, 3]}}", "{}", &uuid, NULL));
    assert_true(match_full("{\"must\": {\"has_id\": [9, 8, 7, 6, 5, 4, 3]}}", "{}", &seven, NULL));
    assert_false(match_full("{\"must\": {\"has_id\": [1]}}", "{}", &uuid, NULL));
    assert_false(match_full("{\"must\": {\"has_id\": [1]}}", "{}", NULL, NULL));
    assert_true(match_full("{\"must\": {\"has_vector\": \"image\"}}", "{}", &one, "text;image;"));
    assert_false(match_full("{\"must\": {\"has_vector\": \"audio\"}}", "{}", &one, "text;image;"));
    assert_true(match_full("{\"must\": {\"has_vector\": \"\"}}", "{}", &one, ";"));
    assert_false(match_full("{\"must\": {\"has_vector\": \"\"}}", "{}", &one, NULL));
}

/* ---- nested ---------------------------------------------------------------------------------- */

static void test_nested(void **state)
{
    (void)state;
    /* Qdrant docs: dinosaurs and their diets */
    const char *P = "{\"diet\": [{\"food\": \"meat\", \"likes\": false}, "
                    "{\"food\": \"leaves\", \"likes\": true}]}";
    const char *both = "{\"must\": [{\"key\": \"diet[].food\", \"match\": {\"value\": \"meat\"}},"
                       " {\"key\": \"diet[].likes\", \"match\": {\"value\": true}}]}";
    const char *nested = "{\"must\": {\"nested\": {\"key\": \"diet\", \"filter\": {\"must\": ["
                         "{\"key\": \"food\", \"match\": {\"value\": \"meat\"}},"
                         " {\"key\": \"likes\", \"match\": {\"value\": true}}]}}}}";
    assert_true(m(both, P));     /* flat: each condition on any element */
    assert_false(m(nested, P));  /* nested: both on the same element */
    tcase c[] = {
        {nested, "{\"diet\": [{\"food\": \"meat\", \"likes\": true}]}", true},
        {nested, "{\"diet\": {\"food\": \"meat\", \"likes\": true}}", false}, /* not an array */
        {nested, "{\"diet\": [1, \"meat\", null, {\"food\": \"meat\", \"likes\": true}]}", true},
        {nested, "{}", false},
        {"{\"must\": {\"nested\": {\"key\": \"diet[]\", \"filter\": {\"must\": {\"key\": "
         "\"food\", \"match\": {\"value\": \"leaves\"}}}}}}", P, true},
        /* the inner filter sees the element as the payload */
        {"{\"must\": {\"nested\": {\"key\": \"diet\", \"filter\": {\"must\": {\"is_empty\": "
         "{\"key\": \"food\"}}}}}}", P, false},
        {"{\"must\": {\"nested\": {\"key\": \"diet\", \"filter\": {\"must\": {\"is_empty\": "
         "{\"key\": \"colour\"}}}}}}", P, true},
        {"{\"must\": {\"nested\": {\"key\": \"diet\", \"filter\": {}}}}", P, true},
        {"{\"must\": {\"nested\": {\"key\": \"diet\", \"filter\": {\"should\": []}}}}", P, false},
        /* has_id and has_vector never match inside nested */
        {"{\"must\": {\"nested\": {\"key\": \"diet\", \"filter\": {\"must\": {\"has_id\": "
         "[1]}}}}}", P, false},
        {"{\"must\": {\"nested\": {\"key\": \"diet\", \"filter\": {\"must_not\": {\"has_id\": "
         "[1]}}}}}", P, true},
        /* nested in nested */
        {"{\"must\": {\"nested\": {\"key\": \"a\", \"filter\": {\"must\": {\"nested\": {\"key\": "
         "\"b\", \"filter\": {\"must\": [{\"key\": \"x\", \"match\": {\"value\": 1}}, {\"key\": "
         "\"y\", \"match\": {\"value\": 2}}]}}}}}}}",
         "{\"a\": [{\"b\": [{\"x\": 1, \"y\": 1}]}, {\"b\": [{\"x\": 2, \"y\": 2}, {\"x\": 1, "
         "\"y\": 2}]}]}", true},
        {"{\"must\": {\"nested\": {\"key\": \"a\", \"filter\": {\"must\": {\"nested\": {\"key\": "
         "\"b\", \"filter\": {\"must\": [{\"key\": \"x\", \"match\": {\"value\": 1}}, {\"key\": "
         "\"y\", \"match\": {\"value\": 2}}]}}}}}}}",
         "{\"a\": [{\"b\": [{\"x\": 1, \"y\": 1}]}, {\"b\": [{\"x\": 2, \"y\": 2}]}]}", false},
        /* a path inside the key */
        {"{\"must\": {\"nested\": {\"key\": \"p.diet\", \"filter\": {\"must\": {\"key\": \"food\","
         " \"match\": {\"value\": \"meat\"}}}}}}",
         "{\"p\": {\"diet\": [{\"food\": \"meat\"}]}}", true},
        {"{\"must_not\": {\"nested\": {\"key\": \"diet\", \"filter\": {\"must\": {\"key\": "
         "\"food\", \"match\": {\"value\": \"fish\"}}}}}}", P, true},
    };
    RUN(c);
    qv_point_id one = {0, 1, 0};
    assert_false(match_full("{\"must\": {\"nested\": {\"key\": \"diet\", \"filter\": {\"must\": "
                            "{\"has_vector\": \"v\"}}}}}", P, &one, "v;"));
}

/* ---- several tests in one field condition ------------------------------------------------------ */

static void test_field_tests_combined(void **state)
{
    (void)state;
    tcase c[] = {
        /* match and range on one key: either passes (per element) */
        {F("\"match\": {\"value\": \"x\"}, \"range\": {\"gt\": 10}"), "{\"a\": \"x\"}", true},
        {F("\"match\": {\"value\": \"x\"}, \"range\": {\"gt\": 10}"), "{\"a\": 11}", true},
        {F("\"match\": {\"value\": \"x\"}, \"range\": {\"gt\": 10}"), "{\"a\": 5}", false},
        {F("\"match\": {\"value\": \"x\"}, \"geo_radius\": {\"center\": {\"lon\": 0, \"lat\": 0},"
           " \"radius\": 1000}"), "{\"a\": [\"y\", {\"lon\": 0, \"lat\": 0}]}", true},
        /* null tests are absent */
        {F("\"match\": null, \"range\": {\"gt\": 1}, \"geo_radius\": null"), "{\"a\": 2}", true},
    };
    RUN(c);
}

/* ---- slice ----------------------------------------------------------------------------------------- */

static void test_slice(void **state)
{
    (void)state;
    /* SipHash-2-4, zero key, from OpenSSL's SIPHASH MAC: id 0 -> 0xe849e8bb6ffe2567,
     * 1 -> 0x8004c5a694105f5e, 42 -> 0x0fc2553f07619dd3, 1000000 -> 0x214411686f435193,
     * 550e8400-e29b-41d4-a716-446655440000 -> 0xf5d0ca21ba34d504. */
    qv_point_id id0 = {0, 0, 0}, id1 = {0, 1, 0}, id42 = {0, 42, 0}, idm = {0, 1000000, 0}, u;
    assert_true(pid_parse_uuid("550e8400-e29b-41d4-a716-446655440000", 36, &u));
    assert_int_equal(flt_slice_of(&id0, 7), 0xe849e8bb6ffe2567ull % 7);
    assert_int_equal(flt_slice_of(&id1, 7), 0x8004c5a694105f5eull % 7);
    assert_int_equal(flt_slice_of(&id42, 7), 0x0fc2553f07619dd3ull % 7);
    assert_int_equal(flt_slice_of(&idm, 1000), 0x214411686f435193ull % 1000);
    assert_int_equal(flt_slice_of(&u, 7), 0xf5d0ca21ba34d504ull % 7);
    assert_int_equal(flt_slice_of(&id1, 1), 0);
    assert_true(match_full("{\"must\": {\"slice\": {\"total\": 7, \"index\": 2}}}", "{}", &id1,
                           NULL));
    assert_false(match_full("{\"must\": {\"slice\": {\"total\": 7, \"index\": 3}}}", "{}", &id1,
                            NULL));
    assert_true(match_full("{\"must\": {\"slice\": {\"total\": 7, \"index\": 0}}}", "{}", &u, NULL));
    assert_false(match_full("{\"must\": {\"slice\": {\"total\": 1, \"index\": 0}}}", "{}", NULL,
                            NULL));
    /* slices of one total are disjoint and cover every id; a slice of total 4
     * lies inside the slice of total 2 with the same index mod 2 */
    qv_arena a;
    qv_arena_init(&a, 0);
    flt_filter *f4[4], *f2[2];
    char buf[96];
    for (int i = 0; i < 4; i++) {
        snprintf(buf, sizeof buf, "{\"must\": {\"slice\": {\"total\": 4, \"index\": %d}}}", i);
        f4[i] = parse_ok(&a, buf);
    }
    for (int i = 0; i < 2; i++) {
        snprintf(buf, sizeof buf, "{\"must\": {\"slice\": {\"total\": 2, \"index\": %d}}}", i);
        f2[i] = parse_ok(&a, buf);
    }
    int sizes[4] = {0};
    for (uint64_t x = 0; x < 4000; x++) {
        qv_point_id id = {0, x, 0};
        flt_point p = {&id, pl_empty, pl_empty_len, NULL, NULL, NULL};
        int hits = 0, at = -1;
        for (int i = 0; i < 4; i++)
            if (flt_match(f4[i], &p)) {
                hits++;
                at = i;
            }
        assert_int_equal(hits, 1);
        sizes[at]++;
        assert_true(flt_match(f2[at % 2], &p));
        assert_false(flt_match(f2[(at + 1) % 2], &p));
    }
    for (int i = 0; i < 4; i++)
        assert_in_range(sizes[i], 850, 1150);  /* uniform */
    qv_arena_free(&a);
}

/* ---- parse errors ---------------------------------------------------------------------------------- */

static void test_parse_errors(void **state)
{
    (void)state;
    const qv_status B = QV_BAD_FORMAT, V = QV_VALIDATION;
    /* filter objects */
    perr("5", B, "filter: expected a filter object, got number");
    perr("{\"must\": [], \"foo\": 1}", B,
         "filter: unknown field `foo`, expected one of `should`, `min_should`, `must`, "
         "`must_not`");
    perr("{\"must\": [], \"must\": []}", B, "filter: duplicate field `must`");
    perr("{\"must\": 5}", B, "filter.must: expected a condition or a list of conditions, got number");
    perr("{\"should\": \"x\"}", B, "filter.should: expected a condition or a list");
    perr("{\"must\": [{\"must\": [], \"foo\": 1}]}", B, "filter.must[0]: unknown field `foo`");
    /* conditions */
    perr("{\"must\": [5]}", B, "filter.must[0]: Expected some form of condition");
    perr("{\"must\": [{\"foo\": 1}]}", B, "filter.must[0]: Expected some form of condition");
    perr("{\"must_not\": [{}, {\"keys\": \"a\"}]}", B, "filter.must_not[1]: Expected some form");
    perr("{\"must\": {\"key\": 5, \"match\": {\"value\": 1}}}", B,
         "filter.must[0].key: expected a string");
    perr("{\"must\": {\"key\": \"a..b\", \"match\": {\"value\": 1}}}", B,
         "filter.must[0].key: Invalid json path: 'a..b'");
    perr("{\"must\": {\"key\": \"\", \"match\": {\"value\": 1}}}", B, "Invalid json path: ''");
    perr("{\"must\": {\"key\": \"a\"}}", V,
         "filter.must[0].__all__: At least one field condition must be specified");
    perr("{\"must\": {\"key\": \"a\", \"match\": null, \"range\": null}}", V,
         "At least one field condition must be specified");
    perr("{\"should\": [{\"key\": \"a\", \"match\": {\"value\": 1}}, {\"key\": \"b\", "
         "\"mach\": {\"value\": 1}}]}", V, "filter.should[1].__all__: At least one");
    /* a shape error anywhere wins over a rule error before it, as in Qdrant */
    perr("{\"must\": [{\"key\": \"a\"}, {\"key\": \"b\", \"match\": 1}]}", B,
         "filter.must[1].match: expected an object");
    /* match */
    perr(F("\"match\": {}"), B,
         "filter.must[0].match: expected one of `value`, `text`, `text_any`, `phrase`, "
         "`prefix`, `any`, `except`");
    perr(F("\"match\": {\"value\": 1.5}"), B,
         "filter.must[0].match.value: expected a string, an integer (i64) or a boolean, got a "
         "number that is not an i64");
    perr(F("\"match\": {\"value\": 1.0}"), B, "match.value: expected a string, an integer");
    perr(F("\"match\": {\"value\": -0}"), B, "match.value: expected a string, an integer");
    perr(F("\"match\": {\"value\": 18446744073709551615}"), B, "match.value: expected");
    perr(F("\"match\": {\"value\": null}"), B, "match.value: expected a string, an integer (i64) "
                                                "or a boolean, got null");
    perr(F("\"match\": {\"value\": [1]}"), B, "got array");
    perr(F("\"match\": {\"text\": 5}"), B, "filter.must[0].match.text: expected a string, got number");
    perr(F("\"match\": {\"text_any\": null}"), B, "match.text_any: expected a string, got null");
    perr(F("\"match\": {\"phrase\": []}"), B, "match.phrase: expected a string");
    perr(F("\"match\": {\"prefix\": true}"), B, "match.prefix: expected a string");
    perr(F("\"match\": {\"any\": [1, \"a\"]}"), B,
         "filter.must[0].match.any: expected a list of strings or a list of integers (i64)");
    perr(F("\"match\": {\"any\": [1.5]}"), B, "match.any: expected a list of strings");
    perr(F("\"match\": {\"except\": \"a\"}"), B, "match.except: expected a list of strings");
    perr(F("\"match\": \"x\""), B, "filter.must[0].match: expected an object");
    /* range */
    perr(F("\"range\": 5"), B, "filter.must[0].range: expected an object");
    perr(F("\"range\": {\"gt\": true}"), B, "filter.must[0].range.gt: expected a number, got boolean");
    perr(F("\"range\": {\"gt\": \"2023-01-01\", \"lt\": 5}"), B,
         "filter.must[0].range.lt: expected a datetime string (RFC 3339), got number");
    perr(F("\"range\": {\"gte\": \"2014-01-01T00:00:00BAD\"}"), B,
         "filter.must[0].range.gte: '2014-01-01T00:00:00BAD' does not match accepted datetime "
         "format (RFC3339). Example: 2014-01-01T00:00:00Z");
    perr(F("\"range\": {\"lt\": \"yesterday\"}"), B, "'yesterday' does not match accepted");
    /* values_count */
    perr(F("\"values_count\": {\"gt\": -1}"), B,
         "filter.must[0].values_count.gt: expected a non-negative integer");
    perr(F("\"values_count\": {\"lt\": 1.5}"), B, "values_count.lt: expected a non-negative");
    perr(F("\"values_count\": []"), B, "values_count: expected an object");
    /* is_empty / is_null booleans */
    perr(F("\"is_empty\": \"yes\""), B, "filter.must[0].is_empty: expected a boolean, got string");
    perr(F("\"is_null\": 1"), B, "filter.must[0].is_null: expected a boolean, got number");
    /* geo */
    perr(F("\"geo_radius\": {\"center\": {\"lon\": 0, \"lat\": 100}, \"radius\": 1}"), B,
         "filter.must[0].geo_radius.center: Wrong format of GeoPoint payload: expected `lat` = "
         "100 within [-90;90] and `lon` = 0 within [-180;180]");
    perr(F("\"geo_radius\": {\"center\": {\"lon\": 180.5, \"lat\": 0}, \"radius\": 1}"), B,
         "expected `lat` = 0 within [-90;90] and `lon` = 180.5 within [-180;180]");
    perr(F("\"geo_radius\": {\"center\": {\"lon\": 0}, \"radius\": 1}"), B,
         "filter.must[0].geo_radius.center: missing field `lat`");
    perr(F("\"geo_radius\": {\"center\": {\"lon\": \"0\", \"lat\": 0}, \"radius\": 1}"), B,
         "geo_radius.center.lon: expected a number");
    perr(F("\"geo_radius\": {\"center\": {\"lon\": 0, \"lat\": 0}}"), B,
         "filter.must[0].geo_radius: missing field `radius`");
    perr(F("\"geo_radius\": {\"radius\": 1}"), B, "geo_radius: missing field `center`");
    perr(F("\"geo_radius\": {\"center\": {\"lon\": 0, \"lat\": 0}, \"radius\": \"1km\"}"), B,
         "geo_radius.radius: expected a number");
    perr(F("\"geo_bounding_box\": {\"top_left\": {\"lon\": 0, \"lat\": 0}}"), B,
         "filter.must[0].geo_bounding_box: missing field `bottom_right`");
    perr(F("\"geo_bounding_box\": {\"top_left\": {\"lon\": 0, \"lat\": 0}, \"bottom_right\": 5}"),
         B, "geo_bounding_box.bottom_right: expected a geo point");
    perr(F("\"geo_polygon\": {\"exterior\": {\"points\": [{\"lon\": 0, \"lat\": 0}, {\"lon\": 1, "
           "\"lat\": 0}, {\"lon\": 0, \"lat\": 0}]}}"), B,
         "filter.must[0].geo_polygon.exterior: polygon invalid, the size must be at least 4, got 3");
    perr(F("\"geo_polygon\": {\"exterior\": {\"points\": [{\"lon\": 0, \"lat\": 0}, {\"lon\": 1, "
           "\"lat\": 0}, {\"lon\": 1, \"lat\": 1}, {\"lon\": 0, \"lat\": 1}]}}"), B,
         "geo_polygon.exterior: polygon invalid, the first and the last points should be the "
         "same to form a closed line");
    perr(F("\"geo_polygon\": {\"exterior\": {\"points\": [{\"lon\": 0, \"lat\": 0}, {\"lon\": 9, "
           "\"lat\": 0}, {\"lon\": 9, \"lat\": 9}, {\"lon\": 0, \"lat\": 0}]}, \"interiors\": "
           "[{\"points\": []}]}"), B,
         "geo_polygon.interiors[0]: polygon invalid, the size must be at least 4, got 0");
    /* points are checked before ring sizes, as serde reads them first */
    perr(F("\"geo_polygon\": {\"exterior\": {\"points\": []}, \"interiors\": [{\"points\": "
           "[{\"lon\": 0, \"lat\": -91}]}]}"), B,
         "geo_polygon.interiors[0].points[0]: Wrong format of GeoPoint payload");
    perr(F("\"geo_polygon\": {\"interiors\": []}"), B, "geo_polygon: missing field `exterior`");
    perr(F("\"geo_polygon\": {\"exterior\": {}}"), B,
         "geo_polygon.exterior: missing field `points`");
    perr(F("\"geo_polygon\": {\"exterior\": {\"points\": 1}}"), B,
         "geo_polygon.exterior.points: expected a list of geo points");
    perr(F("\"geo_polygon\": {\"exterior\": {\"points\": [{\"lon\": 0, \"lat\": 0}, {\"lon\": 9, "
           "\"lat\": 0}, {\"lon\": 9, \"lat\": 9}, {\"lon\": 0, \"lat\": 0}]}, \"interiors\": 3}"),
         B, "geo_polygon.interiors: expected a list of line strings");
    /* is_empty / is_null / has_id / has_vector / slice / nested */
    perr("{\"must\": {\"is_empty\": \"a\"}}", B, "filter.must[0].is_empty: expected {\"key\": ...}");
    perr("{\"must\": {\"is_null\": {}}}", B, "filter.must[0].is_null: missing field `key`");
    perr("{\"must\": {\"is_null\": {\"key\": \"[\"}}}", B,
         "filter.must[0].is_null.key: Invalid json path: '['");
    perr("{\"must\": {\"has_id\": 1}}", B, "filter.must[0].has_id: expected a list of point ids");
    perr("{\"must\": {\"has_id\": [1, -2]}}", B,
         "filter.must[0].has_id[1]: value is not a valid point ID, valid values are either an "
         "unsigned integer or a UUID");
    perr("{\"must\": {\"has_id\": [\"5\"]}}", B, "has_id[0]: value is not a valid point ID");
    perr("{\"must\": {\"has_id\": [1.5]}}", B, "has_id[0]: value is not a valid point ID");
    perr("{\"must\": {\"has_vector\": 1}}", B,
         "filter.must[0].has_vector: expected a vector name (a string)");
    perr("{\"must\": {\"slice\": {\"total\": 4}}}", B, "filter.must[0].slice: missing field `index`");
    perr("{\"must\": {\"slice\": {\"index\": 4}}}", B, "slice: missing field `total`");
    perr("{\"must\": {\"slice\": {\"total\": -1, \"index\": 0}}}", B,
         "slice.total: expected an integer from 0 to 4294967295");
    perr("{\"must\": {\"slice\": {\"total\": 4, \"index\": 4294967296}}}", B,
         "slice.index: expected an integer from 0 to 4294967295");
    perr("{\"must\": {\"slice\": {\"total\": 0, \"index\": 0}}}", V,
         "filter.must[0].slice.total: value 0 invalid, must be 1 or larger");
    perr("{\"must\": {\"slice\": {\"total\": 4, \"index\": 4}}}", V,
         "filter.must[0].slice.index: value 4 invalid, must be less than total (4)");
    perr("{\"must\": {\"nested\": {\"filter\": {}}}}", B, "filter.must[0].nested: missing field `key`");
    perr("{\"must\": {\"nested\": {\"key\": \"a\"}}}", B, "filter.must[0].nested: missing field `filter`");
    perr("{\"must\": {\"nested\": {\"key\": \"a\", \"filter\": {\"must\": {\"key\": \"b\"}}}}}", V,
         "filter.must[0].nested.filter.must[0].__all__: At least one field condition");
    perr("{\"must\": {\"nested\": {\"key\": \"a\", \"filter\": {\"must\": 1}}}}", B,
         "filter.must[0].nested.filter.must: expected a condition or a list");
    perr("{\"must\": {\"nested\": {\"key\": \"a\", \"filter\": {\"x\": 1}}}}", B,
         "filter.must[0].nested.filter: unknown field `x`");
    /* min_should */
    perr("{\"min_should\": {\"conditions\": [], \"min_count\": 0}}", V,
         "filter.min_should.min_count: value 0 invalid, must be 1 or larger");
    perr("{\"min_should\": {\"conditions\": []}}", B, "filter.min_should: missing field `min_count`");
    perr("{\"min_should\": {\"min_count\": 1}}", B, "filter.min_should: missing field `conditions`");
    perr("{\"min_should\": {\"conditions\": {}, \"min_count\": 1}}", B,
         "filter.min_should.conditions: expected a list of conditions");
    perr("{\"min_should\": {\"conditions\": [], \"min_count\": -1}}", B,
         "filter.min_should.min_count: expected a non-negative integer");
    perr("{\"min_should\": [], \"must\": []}", B, "filter.min_should: expected {\"conditions\"");
    perr("{\"min_should\": {\"conditions\": [{\"key\": \"a\"}], \"min_count\": 1}}", V,
         "filter.min_should.conditions[0].__all__: At least one");
    /* a form whose member does not parse falls to the next form, as serde's
     * untagged enum does: this is a has_id condition */
    qv_arena a;
    qv_arena_init(&a, 0);
    flt_filter *f = parse_ok(&a, "{\"must\": {\"is_empty\": \"a\", \"has_id\": [1]}}");
    qv_point_id one = {0, 1, 0};
    flt_point p = {&one, pl_empty, pl_empty_len, NULL, NULL, NULL};
    assert_true(flt_match(f, &p));
    /* ... and with "key", a field condition whatever else is there */
    perr("{\"must\": {\"key\": \"a\", \"has_id\": [1]}}", V, "At least one field condition");
    /* deep filters: as deep as the JSON reader allows */
    char deep[2048] = "";
    for (int i = 0; i < 120; i++)
        strcat(deep, "{\"must\":");
    strcat(deep, "{\"should\": []}");
    for (int i = 0; i < 120; i++)
        strcat(deep, "}");
    f = parse_ok(&a, deep);
    assert_false(flt_match(f, &p));
    qv_arena_free(&a);
}

/* The filter parses whole and is independent of the JSON tree afterwards. */
/* ---- match.phrase through a text index ------------------------------------------- */

/* A whitespace tokenizer standing in for a text index's. */
static bool ws_tokenize(const void *params, const char *s, size_t len, flt_token_fn fn, void *fctx)
{
    (void)params;
    size_t i = 0;
    while (i < len) {
        while (i < len && s[i] == ' ')
            i++;
        size_t b = i;
        while (i < len && s[i] != ' ')
            i++;
        if (i > b && !fn(fctx, s + b, i - b))
            return false;
    }
    return true;
}

static bool ws_index(const void *ctx, const pl_path *key, flt_tokenizer *out)
{
    if (strcmp(key->text, "a") != 0)
        return false;
    *out = (flt_tokenizer){ws_tokenize, NULL, *(const bool *)ctx};
    return true;
}

static bool phrase_m(const char *phrase, const char *payload, bool positions)
{
    qv_arena a;
    qv_arena_init(&a, 0);
    char *text = malloc(strlen(phrase) + 64);
    sprintf(text, "{\"must\": {\"key\": \"a\", \"match\": {\"phrase\": \"%s\"}}}", phrase);
    flt_filter *f = parse_ok(&a, text);
    size_t len;
    uint8_t *b = blob(payload, &len);
    qv_point_id id = {0, 1, 0};
    flt_point p = {&id, b, len, NULL, &positions, ws_index};
    bool r = flt_match(f, &p);
    free(b);
    free(text);
    qv_arena_free(&a);
    return r;
}

/* Words w<from>..w<to> joined by spaces, into buf. */
static char *words(char *buf, int from, int to)
{
    char *q = buf;
    for (int i = from; i <= to; i++)
        q += sprintf(q, i == from ? "w%d" : " w%d", i);
    return buf;
}

static void test_phrase_tokens(void **state)
{
    (void)state;
    static char doc[8192], ph[8192], payload[9000];
    assert_true(phrase_m("b c", "{\"a\": \"a b c d\"}", true));
    assert_false(phrase_m("b c", "{\"a\": \"a b c d\"}", false));  /* no positions: no match */
    assert_false(phrase_m("c b", "{\"a\": \"a b c d\"}", true));
    assert_true(phrase_m("b b c", "{\"a\": \"b b b c\"}", true));  /* a restart inside a partial match */
    assert_true(phrase_m("b c", "{\"a\": [\"a b\", \"c d\"]}", true));  /* one document per point */
    assert_false(phrase_m("b c", "{\"a\": [\"a b\", 5, {\"x\": \"c\"}]}", true));
    assert_false(phrase_m("   ", "{\"a\": \"a b\"}", true));  /* no tokens */
    assert_true(phrase_m("d", "{\"a\": \"a b c d\"}", true));
    /* phrases longer than one 64-bit word of state */
    snprintf(payload, sizeof payload, "{\"a\": \"%s\"}", words(doc, 0, 199));
    assert_true(phrase_m(words(ph, 3, 140), payload, true));
    assert_true(phrase_m(words(ph, 0, 199), payload, true));
    assert_false(phrase_m(words(ph, 3, 200), payload, true));
    assert_false(phrase_m(words(ph, 60, 130), payload, false));
    char *w = words(ph, 60, 130);
    w[strlen(w) - 2] = 'x';  /* the last token differs: w1x0 */
    assert_false(phrase_m(w, payload, true));
    /* more than PHRASE_MAX (256) tokens never match */
    snprintf(payload, sizeof payload, "{\"a\": \"%s\"}", words(doc, 0, 299));
    assert_true(phrase_m(words(ph, 0, 255), payload, true));
    assert_false(phrase_m(words(ph, 0, 256), payload, true));
}

/* A field given twice is a format error in a request at every level of a
 * filter (serde's derived structs); a stored filter keeps the last one, as
 * older versions read it when they logged it. */
static void test_duplicate_fields(void **state)
{
    (void)state;
    static const char *const dups[][2] = {
        {"{\"must\": [], \"must\": []}", "filter: duplicate field `must`"},
        {"{\"must\": [{\"should\": [], \"should\": []}]}", "filter.must[0]: duplicate field `should`"},
        {"{\"must\": [{\"key\": \"a\", \"key\": \"b\", \"match\": {\"value\": 1}}]}", "filter.must[0]: duplicate field `key`"},
        {"{\"must\": [{\"key\": \"a\", \"match\": {\"value\": 1, \"value\": 2}}]}", "filter.must[0].match: duplicate field `value`"},
        {"{\"must\": [{\"key\": \"a\", \"range\": {\"gt\": 1, \"gt\": 2}}]}", "filter.must[0].range: duplicate field `gt`"},
        {"{\"must\": [{\"key\": \"a\", \"values_count\": {\"lt\": 1, \"lt\": 2}}]}", "filter.must[0].values_count: duplicate field `lt`"},
        {"{\"must\": [{\"key\": \"g\", \"geo_radius\": {\"center\": {\"lon\": 1, \"lon\": 2, \"lat\": 0}, \"radius\": 1}}]}", "geo_radius.center: duplicate field `lon`"},
        {"{\"must\": [{\"has_id\": [1], \"has_id\": [2]}]}", "filter.must[0]: duplicate field `has_id`"},
        {"{\"must\": [{\"nested\": {\"key\": \"a\", \"key\": \"b\", \"filter\": {}}}]}", "nested: duplicate field `key`"},
        {"{\"must\": [{\"slice\": {\"total\": 2, \"index\": 0, \"index\": 1}}]}", "slice: duplicate field `index`"},
        {"{\"min_should\": {\"conditions\": [], \"min_count\": 1, \"min_count\": 2}}", "filter.min_should: duplicate field `min_count`"},
        {"{\"must\": [{\"is_null\": {\"key\": \"a\", \"key\": \"b\"}}]}", "is_null: duplicate field `key`"},
    };
    for (size_t i = 0; i < sizeof dups / sizeof dups[0]; i++)
        perr(dups[i][0], QV_BAD_FORMAT, dups[i][1]);
    /* stored: the last value wins, as before duplicates were refused */
    qv_arena a;
    qv_arena_init(&a, 0);
    flt_filter *f = NULL;
    qv_error err = {QV_OK, ""};
    const char *text = "{\"must\": [{\"key\": \"a\", \"match\": {\"value\": 1, \"value\": 2}}]}";
    assert_int_equal(flt_parse_stored(&a, json(&a, text), "filter", &f, &err), QV_OK);
    size_t len;
    uint8_t *b1 = blob("{\"a\": 1}", &len);
    qv_point_id id = {0, 1, 0};
    flt_point p1 = {&id, b1, len, NULL, NULL, NULL};
    assert_false(flt_match(f, &p1));
    uint8_t *b2 = blob("{\"a\": 2}", &len);
    flt_point p2 = {&id, b2, len, NULL, NULL, NULL};
    assert_true(flt_match(f, &p2));
    free(b1);
    free(b2);
    /* a repeated top-level clause was always refused, stored or not */
    assert_int_equal(flt_parse_stored(&a, json(&a, "{\"must\": [], \"must\": []}"), "filter", &f, &err), QV_BAD_FORMAT);
    qv_arena_free(&a);
}

static void test_tree_independent_of_json(void **state)
{
    (void)state;
    qv_arena fa, ja;
    qv_arena_init(&fa, 0);
    qv_arena_init(&ja, 0);
    const char *text = "{\"must\": [{\"key\": \"a\", \"match\": {\"value\": \"hello\"}},"
                       " {\"has_vector\": \"v\"}, {\"key\": \"b\", \"match\": {\"any\": [\"x\"]}},"
                       " {\"key\": \"c\", \"match\": {\"text_any\": \"foo bar\"}}]}";
    flt_filter *f = NULL;
    qv_error err;
    assert_int_equal(flt_parse(&fa, json(&ja, text), "filter", &f, &err), QV_OK);
    qv_arena_free(&ja);  /* the JSON tree is gone */
    size_t len;
    uint8_t *b = blob("{\"a\": \"hello\", \"b\": \"x\", \"c\": \"a bar\"}", &len);
    qv_point_id id = {0, 1, 0};
    flt_point p = {&id, b, len, has_vec, "v;", NULL};
    assert_true(flt_match(f, &p));
    free(b);
    qv_arena_free(&fa);
}

/* ---- planning hook ------------------------------------------------------------------------------- */

typedef struct seen {
    int      n;
    flt_cond c[8];
} seen;

static bool collect(void *ctx, const flt_cond *c)
{
    seen *s = ctx;
    if (s->n < 8)
        s->c[s->n++] = *c;
    return true;
}

static bool collect_two(void *ctx, const flt_cond *c)
{
    collect(ctx, c);
    return ((seen *)ctx)->n < 2;
}

static void test_hook(void **state)
{
    (void)state;
    qv_arena a;
    qv_arena_init(&a, 0);
    flt_filter *f = parse_ok(
        &a, "{\"should\": [{\"key\": \"s\", \"range\": {\"gt\": 1}}],"
            " \"must\": [{\"key\": \"a.b\", \"match\": {\"value\": 1}, \"range\": {\"lt\": \"2020-01-01\"}},"
            " {\"has_id\": [1]}, {\"nested\": {\"key\": \"n\", \"filter\": {\"must\": {\"key\": \"x\","
            " \"values_count\": {\"gt\": 1}}}}}, {\"must\": []}],"
            " \"must_not\": {\"is_null\": {\"key\": \"z\"}},"
            " \"min_should\": {\"conditions\": [{\"key\": \"g\", \"geo_radius\": {\"center\":"
            " {\"lon\": 0, \"lat\": 0}, \"radius\": 1}}], \"min_count\": 1}}");
    seen s = {0};
    const flt_node *root = flt_root(f);
    flt_each(root, collect, &s);
    assert_int_equal(s.n, 7);
    assert_int_equal(s.c[0].clause, FLT_MUST);
    assert_int_equal(s.c[0].kind, FLT_COND_FIELD);
    assert_string_equal(s.c[0].key->text, "a.b");
    assert_int_equal(s.c[0].tests,
                     (1u << FLT_TEST_MATCH_VALUE) | (1u << FLT_TEST_DATETIME_RANGE));
    assert_int_equal(s.c[1].kind, FLT_COND_HAS_ID);
    assert_null(s.c[1].key);
    assert_int_equal(s.c[2].kind, FLT_COND_NESTED);
    assert_string_equal(s.c[2].key->text, "n");
    assert_int_equal(s.c[3].kind, FLT_COND_FILTER);
    assert_int_equal(s.c[4].clause, FLT_SHOULD);
    assert_int_equal(s.c[4].tests, 1u << FLT_TEST_RANGE);
    assert_int_equal(s.c[5].clause, FLT_MUST_NOT);
    assert_int_equal(s.c[5].kind, FLT_COND_IS_NULL);
    assert_int_equal(s.c[6].clause, FLT_MIN_SHOULD);
    assert_int_equal(s.c[6].tests, 1u << FLT_TEST_GEO_RADIUS);
    bool has_should;
    uint32_t min_count;
    flt_filter_info(root, &has_should, &min_count);
    assert_true(has_should);
    assert_int_equal(min_count, 1);
    /* the nested filter */
    const flt_node *inner = flt_nested_filter(s.c[2].node);
    assert_non_null(inner);
    assert_null(flt_nested_filter(s.c[0].node));
    seen t = {0};
    flt_each(inner, collect, &t);
    assert_int_equal(t.n, 1);
    assert_int_equal(t.c[0].tests, 1u << FLT_TEST_VALUES_COUNT);
    /* one condition evaluated alone */
    size_t len;
    uint8_t *b = blob("{\"a\": {\"b\": 1}, \"z\": 5}", &len);
    qv_point_id id = {0, 1, 0};
    flt_point p = {&id, b, len, NULL, NULL, NULL};
    assert_true(flt_node_match(s.c[0].node, &p));
    assert_true(flt_node_match(s.c[1].node, &p));
    assert_false(flt_node_match(s.c[5].node, &p));
    /* stopping early */
    seen two = {0};
    flt_each(root, collect_two, &two);
    assert_int_equal(two.n, 2);
    free(b);
    qv_arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clauses),
        cmocka_unit_test(test_match_value),
        cmocka_unit_test(test_match_any_except),
        cmocka_unit_test(test_match_text),
        cmocka_unit_test(test_range),
        cmocka_unit_test(test_datetime_range),
        cmocka_unit_test(test_geo_bounding_box),
        cmocka_unit_test(test_geo_radius),
        cmocka_unit_test(test_geo_polygon),
        cmocka_unit_test(test_values_count),
        cmocka_unit_test(test_is_empty_is_null),
        cmocka_unit_test(test_has_id_has_vector),
        cmocka_unit_test(test_nested),
        cmocka_unit_test(test_field_tests_combined),
        cmocka_unit_test(test_slice),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_duplicate_fields),
        cmocka_unit_test(test_phrase_tokens),
        cmocka_unit_test(test_tree_independent_of_json),
        cmocka_unit_test(test_hook),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
