/*
 * test_json.c — the JSON reader (jr) and writer (jw).
 *
 * Covers every value type, serde_json-compatible error messages and
 * positions, agreement with jansson on a hand-made corpus and on random
 * documents, exact float reading (jr_get_f32 == strtof), and shortest
 * round-trip float printing checked against brute force through glibc's
 * exact printf/strtod.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fenv.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "json/jr.h"
#include "json/jtree.h"
#include "json/jw.h"
#include "util/utf8.h"

/* ---- helpers ---------------------------------------------------------- */

static uint64_t rng_state;

static void rng_seed(uint64_t s) { rng_state = s ? s : 0x9E3779B97F4A7C15ull; }

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static unsigned rnd(unsigned n) { return (unsigned)(rng() % n); }

static jr_value *parse_ok(qv_arena *a, const char *s, size_t len)
{
    jr_value *v = NULL;
    jr_error e;
    if (jr_parse(a, s, len, &v, &e) != 0)
        fail_msg("unexpected parse error for [%.*s]: %s at line %u column %u", (int)len, s, e.msg,
                 e.line, e.column);
    assert_non_null(v);
    return v;
}

static jr_value *parse_str_ok(qv_arena *a, const char *s) { return parse_ok(a, s, strlen(s)); }

static bool same_bits_f32(float a, float b) { return memcmp(&a, &b, sizeof a) == 0; }
static bool same_bits_f64(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

/* ---- value types ------------------------------------------------------ */

static void test_scalars(void **state)
{
    (void)state;
    qv_arena a;
    qv_arena_init(&a, 0);
    jr_value *v;

    v = parse_str_ok(&a, " null ");
    assert_int_equal(v->type, JR_NULL);
    assert_true(jr_is_null(v));
    v = parse_str_ok(&a, "true");
    assert_int_equal(v->type, JR_TRUE);
    assert_true(jr_is_bool(v));
    v = parse_str_ok(&a, "\t\r\nfalse\n");
    assert_int_equal(v->type, JR_FALSE);

    v = parse_str_ok(&a, "\"h\\u00e9llo \\\"w\\\\\\/\\b\\f\\n\\r\\t\"");
    assert_int_equal(v->type, JR_STRING);
    assert_int_equal(v->len, 16);
    assert_memory_equal(v->u.str, "h\xc3\xa9llo \"w\\/\b\f\n\r\t", 17);

    v = parse_str_ok(&a, "\"a\\u0000b\"");
    assert_int_equal(v->len, 3);
    assert_memory_equal(v->u.str, "a\0b", 4);

    v = parse_str_ok(&a, "\"\\uD83D\\uDE00 \xF0\x9F\x98\x80 \xE2\x82\xAC \xC3\xA9\"");
    assert_string_equal(v->u.str, "\xF0\x9F\x98\x80 \xF0\x9F\x98\x80 \xE2\x82\xAC \xC3\xA9");

    v = parse_str_ok(&a, "\"\"");
    assert_int_equal(v->len, 0);
    assert_string_equal(v->u.str, "");

    /* A string long enough to take the 8-bytes-at-a-time path, with stops. */
    v = parse_str_ok(&a, "\"0123456789abcdefghij\\n0123456789\xC3\xA9xyz0123456789\"");
    assert_string_equal(v->u.str, "0123456789abcdefghij\n0123456789\xC3\xA9xyz0123456789");

    qv_arena_free(&a);
}

static void test_numbers(void **state)
{
    (void)state;
    qv_arena a;
    qv_arena_init(&a, 0);
    jr_value *v;
    uint64_t u;
    int64_t i;
    double d;

    v = parse_str_ok(&a, "0");
    assert_int_equal(v->flags, JR_NUM_INT);
    assert_true(jr_get_u64(v, &u) && u == 0);

    v = parse_str_ok(&a, "-0");
    assert_int_equal(v->flags, JR_NUM_INT | JR_NUM_NEG);
    assert_int_equal(v->x.i64, 0);
    assert_true(jr_get_i64(v, &i) && i == 0);
    assert_true(jr_get_u64(v, &u) && u == 0);
    assert_true(signbit(v->u.num));

    v = parse_str_ok(&a, "18446744073709551615");
    assert_int_equal(v->flags, JR_NUM_INT);
    assert_true(jr_get_u64(v, &u) && u == UINT64_MAX);
    assert_false(jr_get_i64(v, &i));
    assert_true(v->u.num == 18446744073709551615.0);

    v = parse_str_ok(&a, "18446744073709551616");
    assert_int_equal(v->flags, 0);
    assert_false(jr_get_u64(v, &u));
    assert_true(v->u.num == 18446744073709551616.0);
    assert_int_equal(v->len, 20);

    v = parse_str_ok(&a, "-9223372036854775808");
    assert_int_equal(v->flags, JR_NUM_INT | JR_NUM_NEG);
    assert_true(jr_get_i64(v, &i) && i == INT64_MIN);
    assert_false(jr_get_u64(v, &u));

    v = parse_str_ok(&a, "-9223372036854775809");
    assert_int_equal(v->flags, JR_NUM_NEG);
    assert_false(jr_get_i64(v, &i));
    assert_true(v->u.num == -9223372036854775809.0);

    v = parse_str_ok(&a, "9223372036854775807");
    assert_true(jr_get_i64(v, &i) && i == INT64_MAX);

    v = parse_str_ok(&a, "9007199254740993"); /* 2^53 + 1: the double rounds, the integer not */
    assert_true(jr_get_u64(v, &u) && u == 9007199254740993ull);
    assert_true(v->u.num == 9007199254740992.0);

    v = parse_str_ok(&a, "1.5");
    assert_int_equal(v->flags, 0);
    assert_false(jr_get_u64(v, &u));
    assert_false(jr_get_i64(v, &i));
    assert_true(jr_get_f64(v, &d) && d == 1.5);
    assert_int_equal(v->len, 3);
    assert_memory_equal(v->x.lit, "1.5", 3);

    v = parse_str_ok(&a, "1e3"); /* integral but written with an exponent: not an integer */
    assert_false(jr_get_u64(v, &u));
    assert_true(v->u.num == 1000.0);

    v = parse_str_ok(&a, "-2.5E-3");
    assert_int_equal(v->flags, JR_NUM_NEG);
    assert_true(v->u.num == -2.5e-3);
    v = parse_str_ok(&a, "1E+2");
    assert_true(v->u.num == 100.0);
    v = parse_str_ok(&a, "0.000000000000000000000000000001");
    assert_true(v->u.num == 1e-30);
    v = parse_str_ok(&a, "123456789012345678901234567890");
    assert_true(v->u.num == 123456789012345678901234567890.0);
    v = parse_str_ok(&a, "1e-400");
    assert_true(v->u.num == 0.0);
    v = parse_str_ok(&a, "-0e999999999999");
    assert_true(v->u.num == 0.0 && signbit(v->u.num));
    v = parse_str_ok(&a, "1.7976931348623157e308");
    assert_true(v->u.num == DBL_MAX);
    v = parse_str_ok(&a, "4.9406564584124654e-324");
    assert_true(v->u.num == 4.9406564584124654e-324);
    v = parse_str_ok(&a, "1e30");
    assert_true(v->u.num == 1e30);
    v = parse_str_ok(&a, "0.1234567890123456789");
    assert_true(v->u.num == 0.1234567890123456789);

    assert_false(jr_get_f64(NULL, &d));
    assert_false(jr_get_u64(parse_str_ok(&a, "\"1\""), &u));
    qv_arena_free(&a);
}

static void test_containers(void **state)
{
    (void)state;
    qv_arena a;
    qv_arena_init(&a, 0);
    jr_value *v;

    v = parse_str_ok(&a, "[]");
    assert_int_equal(v->type, JR_ARRAY);
    assert_int_equal(v->len, 0);
    v = parse_str_ok(&a, " { } ");
    assert_int_equal(v->type, JR_OBJECT);
    assert_int_equal(v->len, 0);

    v = parse_str_ok(&a, "[1, \"two\", [3, [4]], {\"five\": 5}, null, true, false, 1.5]");
    assert_int_equal(v->len, 8);
    assert_int_equal(v->u.items[0].x.u64, 1);
    assert_string_equal(v->u.items[1].u.str, "two");
    assert_int_equal(v->u.items[2].len, 2);
    assert_int_equal(v->u.items[2].u.items[1].u.items[0].x.u64, 4);
    assert_int_equal(v->u.items[3].type, JR_OBJECT);
    assert_int_equal(jr_get(&v->u.items[3], "five")->x.u64, 5);
    assert_int_equal(v->u.items[4].type, JR_NULL);
    assert_int_equal(v->u.items[5].type, JR_TRUE);
    assert_int_equal(v->u.items[6].type, JR_FALSE);
    assert_true(v->u.items[7].u.num == 1.5);

    v = parse_str_ok(&a, "{\"a\":1,\"b\":{\"c\":[true]},\"a\":2,\"k\\u00e9\":3}");
    assert_int_equal(v->len, 4);
    assert_string_equal(v->u.members[0].key, "a");
    assert_int_equal(v->u.members[0].key_len, 1);
    assert_string_equal(v->u.members[3].key, "k\xc3\xa9");
    assert_int_equal(jr_get(v, "a")->x.u64, 2); /* duplicates: the last one */
    assert_int_equal(jr_get(jr_get(v, "b"), "c")->u.items[0].type, JR_TRUE);
    assert_int_equal(jr_get(v, "k\xc3\xa9")->x.u64, 3);
    assert_null(jr_get(v, "missing"));
    assert_null(jr_get(v, ""));
    assert_null(jr_get(&v->u.members[0].value, "a"));
    assert_null(jr_get(NULL, "a"));

    assert_string_equal(jr_type_name(JR_NULL), "null");
    assert_string_equal(jr_type_name(JR_TRUE), "boolean");
    assert_string_equal(jr_type_name(JR_FALSE), "boolean");
    assert_string_equal(jr_type_name(JR_NUMBER), "number");
    assert_string_equal(jr_type_name(JR_STRING), "string");
    assert_string_equal(jr_type_name(JR_ARRAY), "array");
    assert_string_equal(jr_type_name(JR_OBJECT), "object");
    assert_true(jr_is(v, JR_OBJECT));
    assert_false(jr_is(NULL, JR_OBJECT));
    assert_true(jr_is_null(NULL));

    /* Many children: the scratch stack grows and nested containers interleave. */
    qv_buf b = QV_BUF_INIT;
    qv_buf_putc(&b, '[');
    for (int k = 0; k < 5000; k++)
        qv_buf_printf(&b, "%s{\"i\":%d,\"v\":[%d,%d,\"%d\"]}", k ? "," : "", k, k, -k, k);
    qv_buf_putc(&b, ']');
    v = parse_ok(&a, b.data, b.len);
    assert_int_equal(v->len, 5000);
    for (int k = 0; k < 5000; k++) {
        const jr_value *it = &v->u.items[k];
        int64_t x;
        assert_true(jr_get_i64(jr_get(it, "i"), &x) && x == k);
        const jr_value *arr = jr_get(it, "v");
        assert_int_equal(arr->len, 3);
        assert_true(jr_get_i64(&arr->u.items[1], &x) && x == -k);
    }
    qv_buf_free(&b);
    qv_arena_free(&a);
}

/* ---- errors ----------------------------------------------------------- */

typedef struct err_case {
    const char *in;
    size_t      len;
    const char *msg;
    unsigned    line, column;
} err_case;

#define ERR(s, m, l, c) {s, sizeof(s) - 1, m, l, c}
#define CTRL "control character (\\u0000-\\u001F) found while parsing a string"

/* Positions as serde_json reports them (verified against its rules: the
 * 1-based column of the offending byte; EOF one past the last byte). */
static const err_case err_cases[] = {
    ERR("", "EOF while parsing a value", 1, 0),
    ERR("   ", "EOF while parsing a value", 1, 3),
    ERR("\n\n", "EOF while parsing a value", 3, 0),
    ERR("[1,]", "trailing comma", 1, 4),
    ERR("[1,\n]", "trailing comma", 2, 1),
    ERR("{\"a\":1,}", "trailing comma", 1, 8),
    ERR("[1,2", "EOF while parsing a list", 1, 4),
    ERR("[", "EOF while parsing a list", 1, 1),
    ERR("[1,", "EOF while parsing a value", 1, 3),
    ERR("[1,\r\n2", "EOF while parsing a list", 2, 1),
    ERR("{", "EOF while parsing an object", 1, 1),
    ERR("{\"a\"", "EOF while parsing an object", 1, 4),
    ERR("{\"a\":", "EOF while parsing a value", 1, 5),
    ERR("{\"a\":1", "EOF while parsing an object", 1, 6),
    ERR("{\"a\":1,", "EOF while parsing a value", 1, 7),
    ERR("{\"a\" 1}", "expected `:`", 1, 6),
    ERR("[1 2]", "expected `,` or `]`", 1, 4),
    ERR("[1}", "expected `,` or `]`", 1, 3),
    ERR("{\"a\":1 \"b\":2}", "expected `,` or `}`", 1, 8),
    ERR("{\"a\":1]", "expected `,` or `}`", 1, 7),
    ERR("{1:2}", "key must be a string", 1, 2),
    ERR("{'a':1}", "key must be a string", 1, 2),
    ERR("{\"a\":1,,}", "key must be a string", 1, 8),
    ERR("[,1]", "expected value", 1, 2),
    ERR("[1,,2]", "expected value", 1, 4),
    ERR("01", "invalid number", 1, 2),
    ERR("-01", "invalid number", 1, 3),
    ERR("[00]", "invalid number", 1, 3),
    ERR("+1", "expected value", 1, 1),
    ERR(".5", "expected value", 1, 1),
    ERR("1.", "EOF while parsing a value", 1, 2),
    ERR("[1.]", "invalid number", 1, 4),
    ERR("1.e5", "invalid number", 1, 3),
    ERR("1e", "EOF while parsing a value", 1, 2),
    ERR("[1e]", "invalid number", 1, 4),
    ERR("1e+", "EOF while parsing a value", 1, 3),
    ERR("1e-x", "invalid number", 1, 4),
    ERR("-", "EOF while parsing a value", 1, 1),
    ERR("[-]", "invalid number", 1, 3),
    ERR("- 1", "invalid number", 1, 2),
    ERR("1e400", "number out of range", 1, 5),
    ERR("[-1e400]", "number out of range", 1, 7),
    ERR("NaN", "expected value", 1, 1),
    ERR("Infinity", "expected value", 1, 1),
    ERR("-Infinity", "invalid number", 1, 2),
    ERR("[1] // c", "trailing characters", 1, 5),
    ERR("/* c */ 1", "expected value", 1, 1),
    ERR("'a'", "expected value", 1, 1),
    ERR("tru", "EOF while parsing a value", 1, 3),
    ERR("trux", "expected ident", 1, 4),
    ERR("nul", "EOF while parsing a value", 1, 3),
    ERR("[nulL]", "expected ident", 1, 5),
    ERR("falsy", "expected ident", 1, 5),
    ERR("True", "expected value", 1, 1),
    ERR("1 2", "trailing characters", 1, 3),
    ERR("{} x", "trailing characters", 1, 4),
    ERR("\"a\" \"b\"", "trailing characters", 1, 5),
    ERR("\x00", "expected value", 1, 1),
    ERR("1\x00", "trailing characters", 1, 2),
    ERR("[1,\n 2,\n x]", "expected value", 3, 2),
    ERR("\"abc", "EOF while parsing a string", 1, 4),
    ERR("[\"abc\\", "EOF while parsing a string", 1, 6),
    ERR("\"a\x01\"", CTRL, 1, 3),
    ERR("\"a\tb\"", CTRL, 1, 3),
    ERR("\"a\x1f\"", CTRL, 1, 3),
    ERR("\"a\x00\"", CTRL, 1, 3),
    ERR("\"a\nb\"", CTRL, 2, 0), /* serde counts the newline as the start of line 2 */
    ERR("\"\\x\"", "invalid escape", 1, 3),
    ERR("\"\\U0041\"", "invalid escape", 1, 3),
    ERR("\"\\'\"", "invalid escape", 1, 3),
    ERR("\"\\u12G4\"", "invalid escape", 1, 6),
    ERR("\"\\u12", "EOF while parsing a string", 1, 5),
    ERR("\"\\uD800\"", "unexpected end of hex escape", 1, 8),
    ERR("\"\\uD800\\n\"", "unexpected end of hex escape", 1, 9),
    ERR("\"\\uD800", "EOF while parsing a string", 1, 7),
    ERR("\"\\uDC00\"", "lone leading surrogate in hex escape", 1, 7),
    ERR("\"\\uD800\\u0041\"", "lone leading surrogate in hex escape", 1, 13),
    ERR("\"\\uD800\\uD800\"", "lone leading surrogate in hex escape", 1, 13),
    /* Invalid UTF-8 is found once the string is complete: at its closing quote. */
    ERR("\"\xC0\x80\"", "invalid unicode code point", 1, 4),       /* overlong NUL */
    ERR("\"\xC1\xBF\"", "invalid unicode code point", 1, 4),       /* overlong */
    ERR("\"\xE0\x80\xAF\"", "invalid unicode code point", 1, 5),   /* overlong '/' */
    ERR("\"\xF0\x80\x80\xAF\"", "invalid unicode code point", 1, 6),
    ERR("\"\xED\xA0\x80\"", "invalid unicode code point", 1, 5),   /* U+D800 */
    ERR("\"\xED\xBF\xBF\"", "invalid unicode code point", 1, 5),   /* U+DFFF */
    ERR("\"\xF4\x90\x80\x80\"", "invalid unicode code point", 1, 6), /* U+110000 */
    ERR("\"\xF5\x80\x80\x80\"", "invalid unicode code point", 1, 6),
    ERR("\"\x80\"", "invalid unicode code point", 1, 3),
    ERR("\"\xFF\"", "invalid unicode code point", 1, 3),
    ERR("\"\xE2\x82\"", "invalid unicode code point", 1, 4),       /* truncated */
    ERR("\"\xE2\x82", "EOF while parsing a string", 1, 3),
    ERR("{\"k\xC3\":1}", "invalid unicode code point", 1, 5),
    ERR("\"\xC3\xA9\\q\"", "invalid escape", 1, 5),
    ERR("[\xC3\xA9]", "expected value", 1, 2),
};

static void test_errors(void **state)
{
    (void)state;
    qv_arena a;
    qv_arena_init(&a, 0);
    for (size_t k = 0; k < sizeof err_cases / sizeof err_cases[0]; k++) {
        const err_case *c = &err_cases[k];
        jr_value *v = NULL;
        jr_error e;
        memset(&e, 0, sizeof e);
        int rc = jr_parse(&a, c->in, c->len, &v, &e);
        if (rc != -1 || strcmp(e.msg, c->msg) != 0 || e.line != c->line || e.column != c->column)
            fail_msg("case %zu [%.*s]: got rc %d \"%s\" at line %u column %u, want \"%s\" at %u:%u",
                     k, (int)c->len, c->in, rc, rc ? e.msg : "", e.line, e.column, c->msg,
                     c->line, c->column);
        qv_arena_reset(&a);
    }
    /* A long integer literal beyond the double range: reported at its last digit. */
    char big[311];
    memset(big, '0', sizeof big);
    big[0] = '1';
    jr_value *v;
    jr_error e;
    assert_int_equal(jr_parse(&a, big, sizeof big, &v, &e), -1);
    assert_string_equal(e.msg, "number out of range");
    assert_int_equal(e.column, sizeof big);
    qv_arena_free(&a);
}

static void nest(qv_buf *b, int depth, const char *open, const char *close)
{
    b->len = 0;
    for (int i = 0; i < depth; i++)
        qv_buf_puts(b, open);
    qv_buf_puts(b, "1");
    for (int i = 0; i < depth; i++)
        qv_buf_puts(b, close);
}

static void test_depth(void **state)
{
    (void)state;
    qv_arena a;
    qv_arena_init(&a, 0);
    qv_buf b = QV_BUF_INIT;
    jr_value *v;
    jr_error e;

    nest(&b, JR_MAX_DEPTH, "[", "]");
    v = parse_ok(&a, b.data, b.len);
    for (int i = 0; i < JR_MAX_DEPTH; i++) {
        assert_int_equal(v->type, JR_ARRAY);
        v = &v->u.items[0];
    }
    assert_int_equal(v->x.u64, 1);

    nest(&b, JR_MAX_DEPTH + 1, "[", "]");
    assert_int_equal(jr_parse(&a, b.data, b.len, &v, &e), -1);
    assert_string_equal(e.msg, "recursion limit exceeded");
    assert_int_equal(e.line, 1);
    assert_int_equal(e.column, JR_MAX_DEPTH + 1);

    nest(&b, JR_MAX_DEPTH, "{\"a\":", "}");
    parse_ok(&a, b.data, b.len);
    nest(&b, JR_MAX_DEPTH + 1, "{\"a\":", "}");
    assert_int_equal(jr_parse(&a, b.data, b.len, &v, &e), -1);
    assert_string_equal(e.msg, "recursion limit exceeded");
    assert_int_equal(e.column, 5 * JR_MAX_DEPTH + 1);

    /* Depth counts open containers, not containers seen: siblings are fine. */
    b.len = 0;
    for (int i = 0; i < 300; i++)
        qv_buf_puts(&b, i ? ",[[]]" : "[[[]]");
    qv_buf_puts(&b, "]");
    v = parse_ok(&a, b.data, b.len);
    assert_int_equal(v->len, 300);

    qv_buf_free(&b);
    qv_arena_free(&a);
}

/* ---- jansson agreement ------------------------------------------------ */

static bool same_tree(const jr_value *v, const json_t *j);

static bool same_object(const jr_value *v, const json_t *j)
{
    /* Duplicate keys: jansson keeps the last value, as jr_get does. */
    size_t distinct = 0;
    for (uint32_t i = 0; i < v->len; i++) {
        const jr_member *m = &v->u.members[i];
        bool last = true;
        for (uint32_t k = i + 1; k < v->len && last; k++)
            last = !(v->u.members[k].key_len == m->key_len &&
                     memcmp(v->u.members[k].key, m->key, m->key_len) == 0);
        if (!last)
            continue;
        distinct++;
        const json_t *c = json_object_getn(j, m->key, m->key_len);
        if (!c || !same_tree(&m->value, c))
            return false;
    }
    return distinct == json_object_size(j);
}

static bool same_tree(const jr_value *v, const json_t *j)
{
    switch (v->type) {
    case JR_NULL:
        return json_is_null(j);
    case JR_TRUE:
        return json_is_true(j);
    case JR_FALSE:
        return json_is_false(j);
    case JR_STRING:
        return json_is_string(j) && json_string_length(j) == v->len &&
               memcmp(json_string_value(j), v->u.str, v->len) == 0 && v->u.str[v->len] == '\0';
    case JR_NUMBER:
        if (v->flags & JR_NUM_INT) {
            if (!json_is_integer(j))
                return false;
            json_int_t x = json_integer_value(j);
            if (v->flags & JR_NUM_NEG)
                return x == v->x.i64;
            return v->x.u64 <= INT64_MAX && (uint64_t)x == v->x.u64;
        }
        return json_is_real(j) && json_real_value(j) == v->u.num;
    case JR_ARRAY:
        if (!json_is_array(j) || json_array_size(j) != v->len)
            return false;
        for (uint32_t i = 0; i < v->len; i++)
            if (!same_tree(&v->u.items[i], json_array_get(j, i)))
                return false;
        return true;
    case JR_OBJECT:
        return json_is_object(j) && same_object(v, j);
    }
    return false;
}

/* Documents where jansson's limits differ from RFC 8259 (not bugs of either). */
static bool jansson_only_limit(const json_error_t *je)
{
    return strstr(je->text, "too big") || strstr(je->text, "NUL byte in object key");
}

/* Returns 1 when both accept (and trees match), 0 when both reject, -1 when
 * only jansson's own limits made it reject. Fails the test otherwise. */
static int agree(qv_arena *a, const char *s, size_t len)
{
    jr_value *v = NULL;
    jr_error e;
    json_error_t je;
    int rc = jr_parse(a, s, len, &v, &e);
    json_t *j = json_loadb(s, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    int out;
    if (!j && jansson_only_limit(&je)) {
        out = -1;
    } else if ((rc == 0) != (j != NULL)) {
        fail_msg("accept/reject differs on [%.*s]: jr %s (%s), jansson %s (%s)", (int)len, s,
                 rc ? "rejects" : "accepts", rc ? e.msg : "", j ? "accepts" : "rejects",
                 j ? "" : je.text);
        out = 2;
    } else if (rc == 0 && !same_tree(v, j)) {
        fail_msg("values differ on [%.*s]", (int)len, s);
        out = 2;
    } else {
        out = rc == 0;
    }
    json_decref(j);
    qv_arena_reset(a);
    return out;
}

static const char *const corpus[] = {
    "null", "true", "false", "0", "-0", "1", "-1", "123456789", "-123456789",
    "9223372036854775807", "-9223372036854775808", "0.5", "-0.0", "1e10", "1E-10", "1.5e+300",
    "2.2250738585072014e-308", "4.9e-324", "1e-400", "0.1", "3.14159265358979323846",
    "\"\"", "\"abc\"", "\"\\u0000\"", "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\u00e9\\u20ac\"",
    "\"\\ud83d\\ude00\"", "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"", "\"\x7f\"", "[]", "{}",
    "[[]]", "[{}]", "{\"a\":[]}", "[1,2,3]", " [ 1 , 2 ] ", "{\"a\":1,\"b\":[true,null]}",
    "{\"a\":{\"b\":{\"c\":\"d\"}}}", "{\"a\":1,\"a\":2}", "{\"\":0}", "\t\n\r 7 \t\n\r",
    /* invalid */
    "", " ", "[1,]", "{\"a\":1,}", "01", "+1", ".5", "1.", "1e", "1e+", "-", "NaN", "Infinity",
    "[1 2]", "{\"a\" 1}", "{1:2}", "'a'", "[1]//", "/**/1", "\"\\x\"", "\"\\u12\"", "\"\\ud800\"",
    "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"\xc0\x80\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"",
    "\"\xff\"", "\"a\x01\"", "\"a\nb\"", "1 2", "[", "{", "\"", "[1", "{\"a\"", "{\"a\":",
    "tru", "nul", "falsey", "[true false]", "1e400", "-1e400", "[01]", "{\"a\":1}}", "]", "}",
    ":", ",", "\"\\", "1.0e", "0x10", "1_000", "[.1]", "[-.1]", "[1.e1]",
};

static void test_jansson_corpus(void **state)
{
    (void)state;
    qv_arena a;
    qv_arena_init(&a, 0);
    int accepted = 0, rejected = 0;
    for (size_t k = 0; k < sizeof corpus / sizeof corpus[0]; k++) {
        int r = agree(&a, corpus[k], strlen(corpus[k]));
        accepted += r == 1;
        rejected += r == 0;
    }
    /* NUL bytes in values and where they are not allowed. */
    static const char nul_str[] = "\"a\0b\"", nul_val[] = "[1,\0]", nul_ws[] = "1 \0";
    agree(&a, nul_str, sizeof nul_str - 1);
    agree(&a, nul_val, sizeof nul_val - 1);
    agree(&a, nul_ws, sizeof nul_ws - 1);
    assert_int_equal(accepted + rejected, sizeof corpus / sizeof corpus[0]);
    assert_int_equal(accepted, 41);
    qv_arena_free(&a);
}

/* Random documents: whitespace, escapes, UTF-8, integers, reals, nesting. */

static void gen_ws(qv_buf *b)
{
    static const char ws[] = " \t\n\r";
    for (unsigned n = rnd(4) == 0 ? rnd(3) : 0; n; n--)
        qv_buf_putc(b, ws[rnd(4)]);
}

static void put_utf8(qv_buf *b, uint32_t cp)
{
    char o[4];
    int n;
    if (cp < 0x80) {
        o[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        o[0] = (char)(0xC0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12);
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        o[0] = (char)(0xF0 | cp >> 18);
        o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    qv_buf_append(b, o, (size_t)n);
}

static uint32_t rand_scalar(void) /* a code point that is not a surrogate, never 0 */
{
    for (;;) {
        uint32_t ranges[4] = {0x80, 0x800, 0x10000, 0x110000};
        uint32_t cp = 1 + (uint32_t)(rng() % (ranges[rnd(4)] - 1));
        if (cp < 0xD800 || cp > 0xDFFF)
            return cp;
    }
}

static void gen_string(qv_buf *b, bool key)
{
    static const char *const esc[] = {"\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t"};
    qv_buf_putc(b, '"');
    for (unsigned n = rnd(10); n; n--) {
        switch (rnd(6)) {
        case 0: qv_buf_puts(b, esc[rnd(8)]); break;
        case 1: {
            uint32_t cp = rand_scalar();
            if (cp < 0x10000) {
                qv_buf_printf(b, rnd(2) ? "\\u%04x" : "\\u%04X", cp);
            } else {
                cp -= 0x10000;
                qv_buf_printf(b, "\\u%04x\\u%04x", 0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF));
            }
            break;
        }
        case 2: put_utf8(b, rand_scalar()); break;
        case 3:
            if (!key && rnd(4) == 0) {
                qv_buf_puts(b, "\\u0000");
                break;
            }
            /* fall through */
        default: {
            char c = (char)(0x20 + rnd(95));
            if (c == '"' || c == '\\')
                c = 'x';
            qv_buf_putc(b, c);
        }
        }
    }
    qv_buf_putc(b, '"');
}

static void gen_number(qv_buf *b)
{
    char t[40];
    switch (rnd(7)) {
    case 0: qv_buf_printf(b, "%d", (int)rnd(10)); break;
    case 1: qv_buf_printf(b, "%lld", (long long)(rng() % 100000000) - 50000000); break;
    case 2: qv_buf_puts(b, rnd(2) ? "-0" : "0.0"); break;
    case 3: {
        double d;
        uint64_t bits = rng();
        memcpy(&d, &bits, sizeof d);
        if (!isfinite(d))
            d = 1.0;
        qv_buf_printf(b, "%.17g", d);
        break;
    }
    case 4: {
        float f = (float)((double)(rng() >> 11) / 9007199254740992.0 - 0.5);
        jw_fmt_f32(t, f);
        qv_buf_puts(b, t);
        break;
    }
    case 5:
        qv_buf_printf(b, "%s%u.%0*u%s%d", rnd(2) ? "-" : "", rnd(1000), (int)rnd(4) + 1, rnd(1000),
                      rnd(2) ? "e" : "E", (int)rnd(80) - 40);
        break;
    default: qv_buf_printf(b, "%ue%s%u", 1 + rnd(9), rnd(2) ? "+" : "-", rnd(30)); break;
    }
}

static void gen_value(qv_buf *b, int depth)
{
    unsigned kind = depth >= 6 ? 2 + rnd(6) : rnd(8);
    gen_ws(b);
    switch (kind) {
    case 0:
        qv_buf_putc(b, '[');
        for (unsigned n = rnd(6), i = 0; i < n; i++) {
            if (i)
                qv_buf_putc(b, ',');
            gen_value(b, depth + 1);
        }
        gen_ws(b);
        qv_buf_putc(b, ']');
        break;
    case 1:
        qv_buf_putc(b, '{');
        for (unsigned n = rnd(5), i = 0; i < n; i++) {
            if (i)
                qv_buf_putc(b, ',');
            gen_ws(b);
            gen_string(b, true);
            gen_ws(b);
            qv_buf_putc(b, ':');
            gen_value(b, depth + 1);
        }
        gen_ws(b);
        qv_buf_putc(b, '}');
        break;
    case 2:
    case 3: gen_string(b, false); break;
    case 4:
    case 5: gen_number(b); break;
    default: {
        static const char *const lit[] = {"null", "true", "false"};
        qv_buf_puts(b, lit[rnd(3)]);
    }
    }
    gen_ws(b);
}

/* One random edit, so that both parsers also see many broken documents. */
static void mutate(qv_buf *b)
{
    static const char bytes[] = ",:[]{}\"\\0123456789eE.-+ atfnu"
                                "\x01\x1f\x7f\x80\xbf\xc0\xc3\xed\xf4\xff";
    size_t at = b->len ? rng() % b->len : 0;
    switch (rnd(4)) {
    case 0:
        if (b->len) {
            memmove(b->data + at, b->data + at + 1, b->len - at - 1);
            b->len--;
        }
        break;
    case 1:
        qv_buf_putc(b, ' ');
        memmove(b->data + at + 1, b->data + at, b->len - at - 1);
        b->data[at] = bytes[rnd(sizeof bytes - 1)];
        break;
    case 2:
        if (b->len)
            b->data[at] = bytes[rnd(sizeof bytes - 1)];
        break;
    default: b->len = at; break;
    }
}

static void test_jansson_random(void **state)
{
    (void)state;
    qv_arena a;
    qv_arena_init(&a, 0);
    qv_buf b = QV_BUF_INIT;
    int counts[3] = {0, 0, 0};
    rng_seed(20240601);
    for (int k = 0; k < 2000; k++) {
        b.len = 0;
        gen_value(&b, 0);
        if (k % 3 == 2)
            mutate(&b);
        int r = agree(&a, b.data ? b.data : "", b.len);
        counts[r + 1]++;
    }
    /* Both outcomes must be well represented for the comparison to mean anything. */
    assert_true(counts[2] > 1200);
    assert_true(counts[1] > 300);
    qv_buf_free(&b);
    qv_arena_free(&a);
}

/* ---- exact float reading ---------------------------------------------- */

static void check_f32_literal(qv_arena *a, const char *lit)
{
    jr_value *v = parse_str_ok(a, lit);
    float want = strtof(lit, NULL), got = 0;
    bool ok = jr_get_f32(v, &got);
    if (isinf(want)) {
        if (ok)
            fail_msg("%s: expected overflow, got %a", lit, (double)got);
    } else if (!ok || !same_bits_f32(got, want)) {
        fail_msg("%s: jr_get_f32 %s %a, strtof %a", lit, ok ? "gave" : "failed", (double)got,
                 (double)want);
    }
    double dwant = strtod(lit, NULL), dgot;
    assert_true(jr_get_f64(v, &dgot));
    if (!same_bits_f64(dgot, dwant))
        fail_msg("%s: u.num %a, strtod %a", lit, dgot, dwant);
    qv_arena_reset(a);
}

/* Decrement the last digit of a digit string in place (with borrows). */
static void decrement_digits(char *s, size_t n)
{
    while (n-- > 0) {
        if (s[n] == '.')
            continue;
        if (s[n] != '0') {
            s[n]--;
            return;
        }
        s[n] = '9';
    }
}

static void test_f32_literals(void **state)
{
    (void)state;
    qv_arena a;
    qv_arena_init(&a, 0);
    static const char *const fixed[] = {
        "0", "-0", "1", "0.1", "3.4028235e38", "3.4028234663852886e38", "3.4028236e38",
        "3.40282356779733661637539395458142568448e38", /* the overflow midpoint: ties to inf */
        "3.40282356779733661637539395458142568447e38", "3.4028235677973366163753939545814256845e38",
        "1e39", "-1e39", "1e308", "1e-45", "7e-46", "7.006492321624085e-46", "7.1e-46", "1.4e-45",
        "2.8e-45", "1.1754942e-38", "1.17549435e-38", "1e-50", "16777217", "16777216.5",
        "33554435", "-33554435", "0.30000001192092896", "9007199254740993", "18446744073709551615",
        "-9223372036854775808", "123456789012345678901234567890", "1.00000005960464477539062500",
        "1.000000059604644775390625000000000001", "1.000000059604644775390624999999999999",
        "1.00000017881393432617187499", "1.000000178813934326171875",
    };
    for (size_t k = 0; k < sizeof fixed / sizeof fixed[0]; k++)
        check_f32_literal(&a, fixed[k]);

    rng_seed(7);
    char lit[200];
    /* Long random literals across the float range (and beyond it). */
    for (int k = 0; k < 20000; k++) {
        int nd = 1 + (int)rnd(40), pos = 0;
        if (rnd(2))
            lit[pos++] = '-';
        lit[pos++] = (char)('1' + rnd(9));
        if (nd > 1)
            lit[pos++] = '.';
        for (int i = 1; i < nd; i++)
            lit[pos++] = (char)('0' + rnd(10));
        snprintf(lit + pos, sizeof lit - (size_t)pos, "e%d", (int)rnd(95) - 52);
        check_f32_literal(&a, lit);
    }
    /* Midpoints between adjacent floats, exactly and a hair to either side:
     * the double lands on the midpoint in all three cases, and only the
     * strtof fallback tells them apart. */
    for (int k = 0; k < 3000; k++) {
        uint32_t bits = (uint32_t)rng() & 0x7FFFFFFFu;
        if (k < 50)
            bits = (uint32_t)k; /* subnormals */
        float f, g;
        memcpy(&f, &bits, sizeof f);
        if (!isfinite(f))
            continue;
        g = nextafterf(f, INFINITY);
        double mid = ((double)f + (double)g) / 2; /* exact: 25 significant bits */
        if (isinf(g))
            mid = (double)FLT_MAX + ldexp(1.0, 103);
        char digits[200];
        snprintf(digits, sizeof digits, "%.130e", mid); /* exact: <= 130 digits */
        check_f32_literal(&a, digits);
        char *e = strchr(digits, 'e');
        char exp_part[16];
        snprintf(exp_part, sizeof exp_part, "%s", e);
        snprintf(lit, sizeof lit, "%.*s1%s", (int)(e - digits), digits, exp_part); /* above */
        check_f32_literal(&a, lit);
        decrement_digits(digits, (size_t)(e - digits)); /* below */
        check_f32_literal(&a, digits);
    }
    /* Every float printed with 9 digits, subnormal ones included. */
    for (int k = 0; k < 5000; k++) {
        uint32_t bits = (uint32_t)rng() & (k % 2 ? 0x007FFFFFu : 0xFFFFFFFFu);
        float f;
        memcpy(&f, &bits, sizeof f);
        if (!isfinite(f))
            continue;
        snprintf(lit, sizeof lit, "%.8e", (double)f);
        check_f32_literal(&a, lit);
    }
    qv_arena_free(&a);
}

/* ---- float arrays (jr_parse_opts) -------------------------------------- */

static const char *const t_f32_keys[] = {"v", "vector"};
static const char *const t_plain_keys[] = {"p", "indices"};
static const jr_opts t_opts = {t_f32_keys, 2, t_plain_keys, 2};

static bool key_is(const jr_member *m, const char *const *keys, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(keys[i]) == m->key_len && memcmp(keys[i], m->key, m->key_len) == 0)
            return true;
    return false;
}

/* Does the tree-form array t qualify for the float form? */
static bool f32_eligible(const jr_value *t)
{
    float f;
    if (t->len == 0)
        return false;
    for (uint32_t i = 0; i < t->len; i++)
        if (!jr_get_f32(&t->u.items[i], &f))
            return false;
    return true;
}

/* c (read with t_opts) against t (read without): the same tree, except that
 * exactly the qualifying arrays in float mode (mode 1; 0 none yet, 2 plain)
 * are in float form, holding jr_get_f32 of t's elements bit for bit. */
static void check_f32_tree(const jr_value *t, const jr_value *c, int mode)
{
    assert_int_equal(t->type, c->type);
    assert_int_equal(t->len, c->len);
    if (t->type == JR_ARRAY) {
        bool want = mode == 1 && f32_eligible(t);
        assert_int_equal(jr_is_f32_array(c), want);
        for (uint32_t i = 0; i < t->len; i++) {
            if (want) {
                float f = 0;
                assert_true(jr_get_f32(&t->u.items[i], &f));
                if (!same_bits_f32(f, c->u.f32[i]))
                    fail_msg("element %u: %a in float form, %a from the tree", i, (double)c->u.f32[i],
                             (double)f);
            } else {
                check_f32_tree(&t->u.items[i], &c->u.items[i], mode);
            }
        }
    } else if (t->type == JR_OBJECT) {
        for (uint32_t i = 0; i < t->len; i++) {
            const jr_member *m = &t->u.members[i];
            assert_int_equal(m->key_len, c->u.members[i].key_len);
            assert_memory_equal(m->key, c->u.members[i].key, m->key_len);
            int sub = mode == 2 || key_is(m, t_plain_keys, 2) ? 2 : key_is(m, t_f32_keys, 2) ? 1 : mode;
            check_f32_tree(&m->value, &c->u.members[i].value, sub);
        }
    } else {
        assert_true(jr_equal(t, c));
    }
}

/* Both readings of s: the same verdict, message and position, and trees
 * that check_f32_tree accepts. Returns 1 if accepted. */
static int f32_agree(qv_arena *a, const char *s, size_t len)
{
    jr_value *t = NULL, *c = NULL;
    jr_error e1, e2;
    int r1 = jr_parse(a, s, len, &t, &e1), r2 = jr_parse_opts(a, s, len, &t_opts, &c, &e2);
    if (r1 != r2)
        fail_msg("[%.*s]: %s without options, %s with", (int)len, s, r1 ? e1.msg : "ok",
                 r2 ? e2.msg : "ok");
    if (r1) {
        assert_string_equal(e1.msg, e2.msg);
        assert_int_equal(e1.line, e2.line);
        assert_int_equal(e1.column, e2.column);
    } else {
        check_f32_tree(t, c, 0);
    }
    qv_arena_reset(a);
    return r1 == 0;
}

static void test_f32_arrays(void **state)
{
    (void)state;
    qv_arena a;
    qv_arena_init(&a, 0);
    /* Which arrays take the float form. */
    static const struct {
        const char *json;
        const char *path; /* "": root member v; "x": v.x; "0": v[0] */
        bool        f32;
    } shapes[] = {
        {"{\"v\": [1, 2.5, -0, 1e-3]}", "", true},
        {"{\"v\": [16777217, 0.1]}", "", true},
        {"{\"v\": []}", "", false},
        {"{\"v\": [1, \"x\"]}", "", false},
        {"{\"v\": [1, null]}", "", false},
        {"{\"v\": [1e39, 1]}", "", false},      /* out of float range: the caller reports it */
        {"{\"v\": [1, -3.5e38]}", "", false},
        {"{\"v\": [[1, 2]]}", "", false},
        {"{\"v\": [[1, 2]]}", "0", true},
        {"{\"v\": {\"x\": [0.5]}}", "x", true},
        {"{\"v\": {\"p\": [0.5]}}", "p", false}, /* plain wins */
        {"{\"p\": {\"v\": [0.5]}}", "pv", false},
        {"{\"w\": [0.5]}", "w", false},
        {"{\"v\": {\"indices\": [1, 2], \"values\": [0.5, 1]}}", "indices", false},
        {"{\"v\": {\"indices\": [1, 2], \"values\": [0.5, 1]}}", "values", true},
    };
    for (size_t k = 0; k < sizeof shapes / sizeof *shapes; k++) {
        jr_value *root;
        jr_error e;
        const char *js = shapes[k].json, *path = shapes[k].path;
        assert_int_equal(jr_parse_opts(&a, js, strlen(js), &t_opts, &root, &e), 0);
        const jr_value *v = jr_get(root, "v");
        if (strcmp(path, "0") == 0)
            v = &v->u.items[0];
        else if (strcmp(path, "pv") == 0)
            v = jr_get(jr_get(root, "p"), "v");
        else if (strcmp(path, "w") == 0)
            v = jr_get(root, "w");
        else if (path[0])
            v = jr_get(v, path);
        assert_non_null(v);
        assert_int_equal(v->type, JR_ARRAY);
        if (jr_is_f32_array(v) != shapes[k].f32)
            fail_msg("%s at %s: %s form", js, path, jr_is_f32_array(v) ? "float" : "tree");
        assert_int_equal(f32_agree(&a, js, strlen(js)), 1);
        qv_arena_reset(&a);
    }
    /* Errors inside a would-be float array are those of the tree form. */
    static const char *const bad[] = {
        "{\"v\": [1, 2", "{\"v\": [1, 2,", "{\"v\": [1, 2,]}", "{\"v\": [1 2]}", "{\"v\": [1, 02]}",
        "{\"v\": [1, -]}", "{\"v\": [1, 1.]}", "{\"v\": [1, 1e]}", "{\"v\": [1, 1e400]}",
        "{\"v\": [1, tru]}", "{\"v\": [1, \"a]}", "{\"v\": [1, [}", "{\"v\": [0.5]", "{\"v\": [0.5]}}",
        "{\"v\": [1, 2]\n,}", "{\"v\": [\n1,\n2,\n]}",
    };
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++)
        assert_int_equal(f32_agree(&a, bad[k], strlen(bad[k])), 0);

    /* Exact floats: literals of every kind in one array, then the same with
     * each literal ending at the input's end, a ',' or an exponent. */
    rng_seed(11);
    qv_buf b = QV_BUF_INIT;
    char lit[200];
    for (int k = 0; k < 3000; k++) {
        b.len = 0;
        qv_buf_puts(&b, "{\"v\":[");
        int n = 1 + (int)rnd(20);
        for (int i = 0; i < n; i++) {
            int nd = (int)rnd(24), pos = 0;
            if (rnd(2))
                lit[pos++] = '-';
            lit[pos++] = rnd(3) ? '0' : (char)('1' + rnd(9));
            if (nd) {
                lit[pos++] = '.';
                for (int j = 0; j < nd; j++)
                    lit[pos++] = (char)('0' + rnd(10));
            }
            lit[pos] = '\0';
            if (rnd(4) == 0)
                snprintf(lit + pos, sizeof lit - (size_t)pos, "e%d", (int)rnd(90) - 50);
            qv_buf_printf(&b, "%s%s", i ? "," : "", lit);
        }
        qv_buf_puts(&b, "]}");
        f32_agree(&a, b.data, b.len);
        /* Cut short at every length, so numbers end at the end of input
         * (fewer than 8 bytes left) too. */
        for (size_t cut = b.len - 12 < b.len ? b.len - 12 : 0; cut < b.len; cut++)
            f32_agree(&a, b.data, cut);
    }
    /* Random documents below "v", intact and broken. */
    rng_seed(12);
    for (int k = 0; k < 3000; k++) {
        b.len = 0;
        bool nested = rnd(2);
        qv_buf_puts(&b, nested ? "{\"vector\":{\"a\":" : "{\"v\":");
        gen_value(&b, 1);
        qv_buf_puts(&b, nested ? "}}" : "}");
        if (k % 3 == 2)
            mutate(&b);
        f32_agree(&a, b.data, b.len);
    }
    qv_buf_free(&b);
    qv_arena_free(&a);
}

/* ---- float printing --------------------------------------------------- */

typedef struct fmt32_case {
    float       v;
    const char *want;
} fmt32_case;

typedef struct fmt64_case {
    double      v;
    const char *want;
} fmt64_case;

static void test_fmt_known(void **state)
{
    (void)state;
    /* What serde_json (ryu) prints. */
    static const fmt32_case f32s[] = {
        {0.1f, "0.1"}, {3.0f, "3.0"}, {1e-7f, "1e-7"}, {1.5e22f, "1.5e22"}, {1e-6f, "0.000001"},
        {1.5e-6f, "0.0000015"}, {1.5e-7f, "1.5e-7"}, {1e13f, "1e13"}, {1e12f, "1000000000000.0"},
        {1.25e12f, "1250000000000.0"}, {123.5f, "123.5"}, {-2.5f, "-2.5"}, {0.0f, "0.0"},
        {-0.0f, "-0.0"}, {1.0f / 3, "0.33333334"}, {16777216.0f, "16777216.0"},
        {FLT_MAX, "3.4028235e38"}, {FLT_MIN, "1.1754944e-38"}, {1e-45f, "1e-45"},
        {-1e-45f, "-1e-45"}, {1e10f, "10000000000.0"}, {0.001f, "0.001"}, {100.0f, "100.0"},
        {7e7f, "70000000.0"}, {1.1f, "1.1"}, {1234.5677f, "1234.5677"}, {2.7182817f, "2.7182817"},
        {0.2f + 0.1f, "0.3"}, {NAN, "null"}, {INFINITY, "null"}, {-INFINITY, "null"},
    };
    static const fmt64_case f64s[] = {
        {0.1, "0.1"}, {0.3, "0.3"}, {0.1 + 0.2, "0.30000000000000004"}, {1e16, "1e16"},
        {1e15, "1000000000000000.0"}, {1e-5, "0.00001"}, {1e-6, "1e-6"}, {5e-324, "5e-324"},
        {DBL_MAX, "1.7976931348623157e308"}, {DBL_MIN, "2.2250738585072014e-308"},
        {9007199254740992.0, "9007199254740992.0"}, {1e23, "1e23"}, {2.0 / 3, "0.6666666666666666"},
        {123456789012345678.0, "1.2345678901234568e17"}, {-1.5, "-1.5"}, {0.0, "0.0"},
        {-0.0, "-0.0"}, {1.0, "1.0"}, {1e100, "1e100"}, {1.5e-300, "1.5e-300"},
        {(double)0.1f, "0.10000000149011612"}, {NAN, "null"}, {-INFINITY, "null"},
    };
    char buf[32];
    for (size_t k = 0; k < sizeof f32s / sizeof f32s[0]; k++) {
        int n = jw_fmt_f32(buf, f32s[k].v);
        assert_string_equal(buf, f32s[k].want);
        assert_int_equal(n, (int)strlen(f32s[k].want));
    }
    for (size_t k = 0; k < sizeof f64s / sizeof f64s[0]; k++) {
        int n = jw_fmt_f64(buf, f64s[k].v);
        assert_string_equal(buf, f64s[k].want);
        assert_int_equal(n, (int)strlen(f64s[k].want));
    }
}

/* Significant digits of a printed number, trailing zeros dropped. */
static int sig_digits(const char *s, char *dig, int *exp10)
{
    int n = 0, e = 0;
    bool frac = false, seen = false;
    const char *p = s + (*s == '-');
    for (; *p && *p != 'e' && *p != 'E'; p++) {
        if (*p == '.') {
            frac = true;
            continue;
        }
        if (*p == '0' && !seen) {
            e -= frac;
            continue;
        }
        seen = true;
        dig[n++] = *p;
        e -= frac;
    }
    if (*p)
        e += atoi(p + 1);
    while (n > 0 && dig[n - 1] == '0') {
        n--;
        e++;
    }
    dig[n] = '\0';
    *exp10 = e;
    return n;
}

static bool same_decimal(const char *x, const char *y)
{
    char dx[800], dy[800];
    int ex, ey;
    sig_digits(x, dx, &ex);
    sig_digits(y, dy, &ey);
    return strcmp(dx, dy) == 0 && (ex == ey || !dx[0]);
}

static bool reads_back(const char *s, double v, bool is32)
{
    if (is32)
        return same_bits_f32(strtof(s, NULL), (float)v);
    return same_bits_f64(strtod(s, NULL), v);
}

/* "%.{p-1}e" of v under a rounding mode (glibc's printf honours it). */
static void print_rounded(char *dst, size_t cap, double v, int digits, int mode)
{
    fesetround(mode);
    snprintf(dst, cap, "%.*e", digits - 1, v);
    fesetround(FE_TONEAREST);
}

/*
 * out must be the shortest decimal that reads back as v, and of those the
 * nearest. Shortest: with one digit less, neither v rounded down nor up
 * reads back (any shorter decimal in the interval would make one of them
 * do so). Nearest: v correctly rounded to that many digits if it reads back,
 * else the neighbour on the other side.
 */
static void check_shortest(const char *out, double v, bool is32)
{
    char dig[64], t[800], up[800], down[800];
    int e;
    int nd = sig_digits(out, dig, &e);
    if (nd == 0)
        return;
    if (nd > 1) {
        print_rounded(down, sizeof down, v, nd - 1, FE_DOWNWARD);
        print_rounded(up, sizeof up, v, nd - 1, FE_UPWARD);
        if (reads_back(down, v, is32) || reads_back(up, v, is32))
            fail_msg("%a printed as %s: %s or %s is shorter", v, out, down, up);
    }
    print_rounded(t, sizeof t, v, nd, FE_TONEAREST);
    if (reads_back(t, v, is32)) {
        if (!same_decimal(t, out))
            fail_msg("%a printed as %s, nearest is %s", v, out, t);
        return;
    }
    print_rounded(down, sizeof down, v, nd, FE_DOWNWARD);
    print_rounded(up, sizeof up, v, nd, FE_UPWARD);
    if (!same_decimal(same_decimal(t, up) ? down : up, out))
        fail_msg("%a printed as %s, expected the other neighbour of %s", v, out, t);
}

/* The brief's brute force: the smallest p where "%.{p-1}e" reads back. Ours
 * is never longer; it is shorter only below a power of two, where the
 * interval is lopsided and a shorter decimal can sit on the wide side. */
static void check_brute_force(const char *out, double v, bool is32, bool pow2_boundary)
{
    char t[64], dig[64];
    int e, p, nd = sig_digits(out, dig, &e);
    for (p = 1; p < 17; p++) {
        snprintf(t, sizeof t, "%.*e", p - 1, v);
        if (reads_back(t, v, is32))
            break;
    }
    if (nd > p || (nd < p && !pow2_boundary))
        fail_msg("%a printed as %s (%d digits), brute force needs %d", v, out, nd, p);
}

enum { F32_BATCH = 1000 };

static void test_f32_roundtrip(void **state)
{
    (void)state;
    qv_arena a;
    qv_arena_init(&a, 1 << 16);
    qv_buf b = QV_BUF_INIT;
    float batch[F32_BATCH];
    char text[32];
    rng_seed(0xF32F32F32ull);
    long checked = 0;
    for (int round = 0; round < 1000; round++) {
        b.len = 0;
        jw w;
        jw_init(&w, &b);
        jw_arr_begin(&w);
        for (int k = 0; k < F32_BATCH; k++) {
            uint32_t bits;
            do
                bits = (uint32_t)rng();
            while ((bits & 0x7F800000u) == 0x7F800000u);
            memcpy(&batch[k], &bits, sizeof bits);
            int n = jw_fmt_f32(text, batch[k]);
            assert_int_equal(n, (int)strlen(text));
            if (!same_bits_f32(strtof(text, NULL), batch[k]))
                fail_msg("%a printed as %s does not read back", (double)batch[k], text);
            if (k % 10 == 0) {
                check_shortest(text, batch[k], true);
                if (k % 100 == 0)
                    check_brute_force(text, batch[k], true, (bits & 0x7FFFFF) == 0);
                checked++;
            }
            jw_f32(&w, batch[k]);
        }
        jw_arr_end(&w);
        assert_true(qv_buf_ok(&b));
        jr_value *v = parse_ok(&a, b.data, b.len);
        assert_int_equal(v->len, F32_BATCH);
        for (int k = 0; k < F32_BATCH; k++) {
            float f;
            assert_true(jr_get_f32(&v->u.items[k], &f));
            if (!same_bits_f32(f, batch[k]))
                fail_msg("%a came back as %a", (double)batch[k], (double)f);
        }
        qv_arena_reset(&a);
    }
    assert_int_equal(checked, 100000);
    /* Every power of two and its neighbours (the lopsided intervals). */
    for (uint32_t e = 0; e < 255; e++) {
        for (uint32_t m = 0; m < 4; m++) {
            uint32_t bits = e << 23 | (m < 2 ? m : 0x7FFFFF - (m - 2));
            float f;
            memcpy(&f, &bits, sizeof f);
            jw_fmt_f32(text, f);
            assert_true(same_bits_f32(strtof(text, NULL), f));
            check_shortest(text, f, true);
        }
    }
    qv_buf_free(&b);
    qv_arena_free(&a);
}

static void test_f64_roundtrip(void **state)
{
    (void)state;
    qv_arena a;
    qv_arena_init(&a, 1 << 16);
    qv_buf b = QV_BUF_INIT;
    double batch[F32_BATCH];
    char text[32];
    rng_seed(0xF64F64F64ull);
    for (int round = 0; round < 200; round++) {
        b.len = 0;
        jw w;
        jw_init(&w, &b);
        jw_arr_begin(&w);
        for (int k = 0; k < F32_BATCH; k++) {
            uint64_t bits;
            if (round % 2) { /* every exponent */
                do
                    bits = rng();
                while ((bits & 0x7FF0000000000000ull) == 0x7FF0000000000000ull);
                memcpy(&batch[k], &bits, sizeof bits);
            } else { /* the usual magnitudes of payload numbers */
                batch[k] = ((double)(rng() >> 11) / 9007199254740992.0 - 0.5) *
                           pow(10, (int)rnd(24) - 12);
                memcpy(&bits, &batch[k], sizeof bits);
            }
            int n = jw_fmt_f64(text, batch[k]);
            assert_int_equal(n, (int)strlen(text));
            if (!same_bits_f64(strtod(text, NULL), batch[k]))
                fail_msg("%a printed as %s does not read back", batch[k], text);
            if (k % 10 == 0) {
                check_shortest(text, batch[k], false);
                if (k % 100 == 0)
                    check_brute_force(text, batch[k], false, (bits & 0xFFFFFFFFFFFFFull) == 0);
            }
            jw_f64(&w, batch[k]);
        }
        jw_arr_end(&w);
        jr_value *v = parse_ok(&a, b.data, b.len);
        for (int k = 0; k < F32_BATCH; k++) {
            double d;
            assert_true(jr_get_f64(&v->u.items[k], &d));
            if (!same_bits_f64(d, batch[k]))
                fail_msg("%a came back as %a", batch[k], d);
        }
        qv_arena_reset(&a);
    }
    for (uint64_t e = 0; e < 2047; e += 3) {
        for (uint64_t m = 0; m < 3; m++) {
            uint64_t bits = e << 52 | (m < 2 ? m : 0xFFFFFFFFFFFFFull);
            double d;
            memcpy(&d, &bits, sizeof d);
            jw_fmt_f64(text, d);
            assert_true(same_bits_f64(strtod(text, NULL), d));
            check_shortest(text, d, false);
        }
    }
    qv_buf_free(&b);
    qv_arena_free(&a);
}

/* ---- writer ----------------------------------------------------------- */

static void test_writer_structure(void **state)
{
    (void)state;
    qv_buf b = QV_BUF_INIT;
    jw w;
    jw_init(&w, &b);
    jw_obj_begin(&w);
    jw_key(&w, "a");
    jw_arr_begin(&w);
    jw_int(&w, 1);
    jw_uint(&w, 2);
    jw_obj_begin(&w);
    jw_key(&w, "b");
    jw_null(&w);
    jw_obj_end(&w);
    jw_arr_begin(&w);
    jw_arr_end(&w);
    jw_obj_begin(&w);
    jw_obj_end(&w);
    jw_arr_end(&w);
    jw_key(&w, "c");
    jw_bool(&w, true);
    jw_keyn(&w, "dxx", 1);
    jw_str(&w, "x");
    jw_key(&w, "e");
    jw_bool(&w, false);
    jw_key(&w, "f");
    jw_f32(&w, 0.5f);
    jw_key(&w, "g");
    jw_f64(&w, -1e300);
    jw_key(&w, "h");
    jw_raw(&w, "{\"pre\":[1,2]}", 13);
    jw_key(&w, "i");
    jw_arr_begin(&w);
    jw_raw(&w, "7", 1);
    jw_raw(&w, "[]", 2);
    jw_strn(&w, "abc", 2);
    jw_f32(&w, NAN);
    jw_f64(&w, INFINITY);
    jw_arr_end(&w);
    jw_obj_end(&w);
    assert_true(qv_buf_ok(&b));
    assert_string_equal(b.data, "{\"a\":[1,2,{\"b\":null},[],{}],\"c\":true,\"d\":\"x\","
                                "\"e\":false,\"f\":0.5,\"g\":-1e300,\"h\":{\"pre\":[1,2]},"
                                "\"i\":[7,[],\"ab\",null,null]}");
    assert_int_equal(b.len, strlen(b.data));

    /* Top-level sequence of values: the writer separates them like items. */
    b.len = 0;
    jw_init(&w, &b);
    jw_int(&w, INT64_MIN);
    jw_int(&w, INT64_MAX);
    jw_uint(&w, UINT64_MAX);
    jw_int(&w, 0);
    jw_int(&w, -1);
    assert_string_equal(b.data,
                        "-9223372036854775808,9223372036854775807,18446744073709551615,0,-1");

    /* Integers read back exactly. */
    qv_arena a;
    qv_arena_init(&a, 0);
    b.len = 0;
    jw_init(&w, &b);
    jw_arr_begin(&w);
    jw_int(&w, INT64_MIN);
    jw_uint(&w, UINT64_MAX);
    jw_arr_end(&w);
    jr_value *v = parse_ok(&a, b.data, b.len);
    int64_t i;
    uint64_t u;
    assert_true(jr_get_i64(&v->u.items[0], &i) && i == INT64_MIN);
    assert_true(jr_get_u64(&v->u.items[1], &u) && u == UINT64_MAX);
    qv_arena_free(&a);
    qv_buf_free(&b);
}

static void test_writer_escaping(void **state)
{
    (void)state;
    qv_buf b = QV_BUF_INIT;
    jw w;
    char all[256];
    for (int c = 0; c < 256; c++)
        all[c] = (char)c;
    jw_init(&w, &b);
    jw_strn(&w, all, 128); /* every ASCII byte, NUL included */
    const char *want =
        "\"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b"
        "\\f\\r\\u000e\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017"
        "\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f !\\\"#$%&'()*+,-./"
        "0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\\\]^_`"
        "abcdefghijklmnopqrstuvwxyz{|}~\x7f\"";
    assert_string_equal(b.data, want);

    b.len = 0;
    jw_init(&w, &b);
    jw_obj_begin(&w);
    jw_key(&w, "k\"\n\xc3\xa9");
    jw_str(&w, "\xf0\x9f\x98\x80 / \xe2\x82\xac");
    jw_obj_end(&w);
    assert_string_equal(b.data, "{\"k\\\"\\n\xc3\xa9\":\"\xf0\x9f\x98\x80 / \xe2\x82\xac\"}");

    /* Whatever the writer escapes, the reader restores byte for byte. */
    qv_arena a;
    qv_arena_init(&a, 0);
    b.len = 0;
    jw_init(&w, &b);
    jw_strn(&w, all, 128);
    jr_value *v = parse_ok(&a, b.data, b.len);
    assert_int_equal(v->len, 128);
    assert_memory_equal(v->u.str, all, 128);
    qv_arena_free(&a);
    qv_buf_free(&b);
}

/* The writer never emits invalid UTF-8: ill-formed input (lone bytes,
 * overlongs, encoded surrogates, truncated sequences) comes out repaired
 * with U+FFFD, valid multi-byte text around it untouched, keys too. */
static void test_writer_invalid_utf8(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t      len;
        const char *want;
    } cases[] = {
        {"a\xff" "b", 3, "\"a\xef\xbf\xbd" "b\""},
        {"\xc0\xaf", 2, "\"\xef\xbf\xbd\xef\xbf\xbd\""},              /* overlong '/' */
        {"\xed\xa0\x80", 3, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""}, /* U+D800 */
        {"\xe2\x82", 2, "\"\xef\xbf\xbd\""},                          /* truncated euro */
        {"\xc3\xa9\x80\"", 4, "\"\xc3\xa9\xef\xbf\xbd\\\"\""},            /* escapes still apply */
    };
    qv_buf b = QV_BUF_INIT;
    jw w;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        b.len = 0;
        jw_init(&w, &b);
        jw_strn(&w, cases[i].in, cases[i].len);
        assert_int_equal(b.len, strlen(cases[i].want));
        assert_memory_equal(b.data, cases[i].want, b.len);
        assert_true(qv_utf8_valid(b.data, b.len));
    }
    b.len = 0;
    jw_init(&w, &b);
    jw_obj_begin(&w);
    jw_keyn(&w, "k\x80", 2);
    jw_int(&w, 1);
    jw_obj_end(&w);
    assert_string_equal(b.data, "{\"k\xef\xbf\xbd\":1}");
    /* a long one takes the heap path */
    char big[1000];
    memset(big, 0xff, sizeof big);
    b.len = 0;
    jw_init(&w, &b);
    jw_strn(&w, big, sizeof big);
    assert_int_equal(b.len, 2 + 3 * sizeof big);
    assert_true(qv_utf8_valid(b.data, b.len));
    qv_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalars),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_containers),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_jansson_corpus),
        cmocka_unit_test(test_jansson_random),
        cmocka_unit_test(test_f32_literals),
        cmocka_unit_test(test_f32_arrays),
        cmocka_unit_test(test_fmt_known),
        cmocka_unit_test(test_f32_roundtrip),
        cmocka_unit_test(test_f64_roundtrip),
        cmocka_unit_test(test_writer_structure),
        cmocka_unit_test(test_writer_escaping),
        cmocka_unit_test(test_writer_invalid_utf8),
    };
    return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
