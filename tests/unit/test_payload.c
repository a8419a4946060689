/*
 * test_payload.c — payload blobs, key paths and Qdrant's payload operations
 * (payload/pl.h).
 *
 * Covers round trips (edge values and thousands of random objects compared
 * with a reference printer over the jr tree), the encoding's size, pl_validate
 * against every prefix and random corruptions of valid blobs, Qdrant's
 * JsonPath grammar, and lookup / set / delete / include / exclude on the cases
 * of Qdrant's own tests (lib/segment/src/json_path/mod.rs) and more.
 * A small benchmark prints encode / print throughput (not asserted).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json/jr.h"
#include "json/jw.h"
#include "payload/pljson.h"

/* ---- helpers ---------------------------------------------------------------- */

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

static jr_value *parse(qv_arena *a, const char *s, size_t len)
{
    jr_value *v = NULL;
    jr_error e;
    if (jr_parse(a, s, len, &v, &e) != 0)
        fail_msg("parse error for [%.*s]: %s", (int)len, s, e.msg);
    return v;
}

/* Encode JSON text; the blob is malloc'd. */
static uint8_t *enc(const char *json, size_t *len)
{
    qv_arena a;
    qv_arena_init(&a, 0);
    qv_buf b = QV_BUF_INIT;
    qv_error err;
    jr_value *v = parse(&a, json, strlen(json));
    if (pl_encode(v, &b, &err) != 0)
        fail_msg("encode failed: %s", err.msg);
    qv_arena_free(&a);
    assert_true(pl_validate((const uint8_t *)b.data, b.len));
    return (uint8_t *)qv_buf_detach(&b, len);
}

static char *to_json(const uint8_t *blob, size_t len)
{
    qv_buf b = QV_BUF_INIT;
    jw w;
    jw_init(&w, &b);
    pl_write_json(&w, blob, len);
    assert_true(qv_buf_ok(&b));
    return qv_buf_detach(&b, NULL);
}

static void check_rt(const char *in, const char *expect)
{
    size_t len;
    uint8_t *blob = enc(in, &len);
    char *out = to_json(blob, len);
    if (strcmp(out, expect) != 0)
        fail_msg("round trip of %s\n  got      %s\n  expected %s", in, out, expect);
    free(out);
    free(blob);
}

/* Reference printer over the jr tree: what pl must print back. */
static void ref_print(jw *w, const jr_value *v)
{
    switch (v->type) {
    case JR_NULL: jw_null(w); break;
    case JR_FALSE: jw_bool(w, false); break;
    case JR_TRUE: jw_bool(w, true); break;
    case JR_NUMBER:
        if (!(v->flags & JR_NUM_INT))
            jw_f64(w, v->u.num);
        else if (!(v->flags & JR_NUM_NEG))
            jw_uint(w, v->x.u64);
        else if (v->x.i64 == 0)
            jw_f64(w, -0.0);
        else
            jw_int(w, v->x.i64);
        break;
    case JR_STRING: jw_strn(w, v->u.str, v->len); break;
    case JR_ARRAY:
        jw_arr_begin(w);
        for (uint32_t i = 0; i < v->len; i++)
            ref_print(w, &v->u.items[i]);
        jw_arr_end(w);
        break;
    default:
        jw_obj_begin(w);
        for (uint32_t i = 0; i < v->len; i++) {
            jw_keyn(w, v->u.members[i].key, v->u.members[i].key_len);
            ref_print(w, &v->u.members[i].value);
        }
        jw_obj_end(w);
        break;
    }
}

static qv_arena path_arena;

static int setup(void **state)
{
    qv_arena_init(&path_arena, 0);
    return 0;
}

static int teardown(void **state)
{
    qv_arena_free(&path_arena);
    return 0;
}

static pl_path P(const char *s)
{
    pl_path p;
    qv_error err;
    if (pl_path_parse(&path_arena, s, strlen(s), &p, &err) != 0)
        fail_msg("path %s: %s", s, err.msg);
    return p;
}

/* ---- round trips ------------------------------------------------------------- */

static void test_roundtrip_edges(void **state)
{
    static const char *const same[] = {
        "{}",
        "{\"a\":{}}",
        "{\"a\":[]}",
        "{\"a\":[[],[[]],[{}],{}]}",
        "{\"a\":null,\"b\":true,\"c\":false}",
        "{\"i\":-9223372036854775808,\"j\":9223372036854775807}",
        "{\"u\":18446744073709551615,\"v\":9223372036854775808}",
        "{\"z\":-0.0,\"zi\":0,\"one\":1,\"onef\":1.0,\"m1\":-1,\"m1f\":-1.0}",
        "{\"big\":1e308,\"tiny\":5e-324,\"neg\":-1.7976931348623157e308}",
        "{\"f\":0.1,\"h\":0.5,\"q\":-2.25,\"e\":1e16,\"g\":123456.789,\"k\":3e-7}",
        "{\"n63\":63,\"n64\":64,\"n127\":127,\"n128\":128,\"neg\":-64,\"f48\":281474976710655.0,"
        "\"f48b\":281474976710656.0,\"fbig\":9007199254740992.0}",
        "{\"\":\"\",\"ключ\":\"значение\",\"日本\":\"語\",\"emoji😀\":\"😀\"}",
        "{\"nul\\u0000key\":\"nul\\u0000val\",\"esc\":\"\\\"\\\\\\n\\t\\r\\b\\f\\u001f/\"}",
        "{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6,\"g\":7,\"h\":8,\"i\":9,\"j\":10,"
        "\"k\":11,\"l\":12,\"m\":13,\"n\":14,\"o\":15,\"p\":16,\"q\":17,\"r\":18,\"s\":19,"
        "\"t\":20,\"u\":21,\"v\":22,\"w\":23,\"x\":24,\"y\":25,\"z\":26,\"A\":27,\"B\":28,"
        "\"C\":29,\"D\":30,\"E\":31,\"F\":32}",
    };
    for (size_t i = 0; i < sizeof same / sizeof *same; i++)
        check_rt(same[i], same[i]);

    /* Forms jw prints differently from the input, and serde_json's "-0". */
    check_rt("{\"a\": 1E2, \"b\" : -0, \"c\":1.50}", "{\"a\":100.0,\"b\":-0.0,\"c\":1.5}");
    /* Duplicate keys: first position, last value (serde_json's Map). */
    check_rt("{\"a\":1,\"b\":2,\"a\":3}", "{\"a\":3,\"b\":2}");
    check_rt("{\"a\":{\"x\":1,\"x\":{\"y\":2}},\"a\":[1]}", "{\"a\":[1]}");

    /* Long strings and keys (1- and 2-byte varint lengths, 64+ bytes). */
    char big[2000];
    for (int n = 60; n < 300; n += 7) {
        char s[400];
        memset(s, 'x', (size_t)n);
        s[n] = 0;
        snprintf(big, sizeof big, "{\"%s\":\"%s\",\"k\":[\"%s\"]}", s, s, s);
        check_rt(big, big);
    }

    /* Large arrays and objects: headers with varint counts and sizes, and
     * the duplicate table past 16 members. */
    qv_buf in = QV_BUF_INIT;
    qv_buf_puts(&in, "{\"arr\":[");
    for (int i = 0; i < 5000; i++)
        qv_buf_printf(&in, "%s%d", i ? "," : "", i * 37 - 1000);
    qv_buf_puts(&in, "],\"obj\":{");
    for (int i = 0; i < 300; i++)
        qv_buf_printf(&in, "%s\"k%d\":%d.5", i ? "," : "", i, i);
    qv_buf_puts(&in, "}}");
    check_rt(in.data, in.data);
    /* The same object with every key repeated: values of the repeats win. */
    qv_buf dup = QV_BUF_INIT, want = QV_BUF_INIT;
    qv_buf_puts(&dup, "{");
    qv_buf_puts(&want, "{");
    for (int i = 0; i < 300; i++) {
        qv_buf_printf(&dup, "%s\"k%d\":%d", i ? "," : "", i, i);
        qv_buf_printf(&want, "%s\"k%d\":%d", i ? "," : "", i, -i - 1);
    }
    for (int i = 0; i < 300; i++)
        qv_buf_printf(&dup, ",\"k%d\":%d", i, -i - 1);
    qv_buf_puts(&dup, "}");
    qv_buf_puts(&want, "}");
    check_rt(dup.data, want.data);
    qv_buf_free(&in);
    qv_buf_free(&dup);
    qv_buf_free(&want);

    /* Nesting to jr's limit. */
    qv_buf deep = QV_BUF_INIT;
    for (int i = 0; i < JR_MAX_DEPTH - 1; i++)
        qv_buf_puts(&deep, i % 2 ? "[" : "{\"a\":");
    qv_buf_puts(&deep, "0");
    for (int i = JR_MAX_DEPTH - 2; i >= 0; i--)
        qv_buf_puts(&deep, i % 2 ? "]" : "}");
    char *d = malloc(deep.len + 8);
    snprintf(d, deep.len + 8, "{\"x\":%s}", deep.data);
    check_rt(d, d);
    free(d);
    qv_buf_free(&deep);

    /* Not an object. */
    qv_arena a;
    qv_arena_init(&a, 0);
    qv_buf b = QV_BUF_INIT;
    qv_error err;
    assert_int_equal(pl_encode(parse(&a, "[1]", 3), &b, &err), -1);
    assert_int_equal(err.code, QV_BAD_INPUT);
    assert_int_equal(b.len, 0);
    qv_arena_free(&a);
    qv_buf_free(&b);
}

static void test_encoding_size(void **state)
{
    static const struct { const char *json; size_t size; } cases[] = {
        {"{}", 2},
        {"{\"a\":1}", 5},                   /* E1 03 01 61 41 */
        {"{\"a\":-1}", 6},                  /* int: tag + zigzag varint */
        {"{\"a\":1.0}", 6},                 /* integral float: tag + varint */
        {"{\"a\":0.5}", 9},                 /* float32-exact: tag + 4 */
        {"{\"a\":0.1}", 13},                /* double: tag + 8 */
        {"{\"a\":-0.0}", 9},                /* float32 keeps the sign */
        {"{\"a\":18446744073709551615}", 13},
        {"{\"a\":\"xyz\"}", 8},             /* short string: length in the tag */
        {"{\"a\":[true,false,null]}", 9},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t len;
        uint8_t *blob = enc(cases[i].json, &len);
        if (len != cases[i].size)
            fail_msg("%s: %zu bytes, expected %zu", cases[i].json, len, cases[i].size);
        free(blob);
    }
    /* The bytes documented in docs/FORMAT.md. */
    static const struct { const char *json; uint8_t b[12]; size_t n; } bytes[] = {
        {"{}", {0xE0, 0x00}, 2},
        {"{\"a\":1}", {0xE1, 0x03, 0x01, 0x61, 0x41}, 5},
        {"{\"a\":[true,\"xy\"]}", {0xE1, 0x08, 0x01, 0x61, 0xC2, 0x04, 0x02, 0x82, 0x78, 0x79}, 10},
        {"{\"a\":-2}", {0xE1, 0x04, 0x01, 0x61, 0x04, 0x03}, 6},
        {"{\"a\":-2.0}", {0xE1, 0x04, 0x01, 0x61, 0x06, 0x03}, 6},
    };
    for (size_t i = 0; i < sizeof bytes / sizeof *bytes; i++) {
        size_t len;
        uint8_t *blob = enc(bytes[i].json, &len);
        assert_int_equal(len, bytes[i].n);
        assert_memory_equal(blob, bytes[i].b, len);
        free(blob);
    }
    /* Headers past the inline forms: 31 members, a body of 128+ bytes. */
    {
        qv_buf j = QV_BUF_INIT;
        qv_buf_puts(&j, "{");
        for (int i = 0; i < 31; i++)
            qv_buf_printf(&j, "%s\"%c\":%d", i ? "," : "", i < 26 ? 'a' + i : 'A' + i - 26, i);
        qv_buf_puts(&j, "}");
        size_t len;
        uint8_t *blob = enc(j.data, &len);
        /* FF, count 31, size: 31 members of 3 bytes = 93 */
        assert_int_equal(blob[0], 0xFF);
        assert_int_equal(blob[1], 31);
        assert_int_equal(blob[2], 93);
        assert_int_equal(len, 3 + 93);
        free(blob);
        qv_buf_free(&j);
        blob = enc("{\"s\":\"0123456789012345678901234567890123456789012345678901234567890123"
                   "456789012345678901234567890123456789012345678901234567890123456789\"}", &len);
        /* E1, a 2-byte size: key 1 + 1, string tag 1 + length 2 + 130 = 135 */
        assert_int_equal(blob[0], 0xE1);
        assert_int_equal(blob[1], 0x80 | (135 & 0x7f));
        assert_int_equal(blob[2], 135 >> 7);
        assert_int_equal(len, 3 + 135);
        free(blob);
    }
    assert_int_equal(pl_empty_len, 2);
    assert_true(pl_validate(pl_empty, pl_empty_len));
    char *s = to_json(pl_empty, pl_empty_len);
    assert_string_equal(s, "{}");
    free(s);
}

/* Random JSON objects: unique keys, every number form, escapes, Unicode. */
static void gen_string(qv_buf *b, unsigned maxlen)
{
    static const char *const pieces[] = {"a", "b", "Z", "0", " ", "\\\"", "\\\\", "\\n", "\\u0000",
                                         "\\u001f", "é", "日", "😀", "/", "\\/", "\\ud83d\\ude00"};
    qv_buf_putc(b, '"');
    unsigned n = rnd(maxlen + 1);
    if (rnd(20) == 0)
        n += 70; /* past the inline string lengths */
    for (unsigned i = 0; i < n; i++)
        qv_buf_puts(b, pieces[rnd(sizeof pieces / sizeof *pieces)]);
    qv_buf_putc(b, '"');
}

static void gen_number(qv_buf *b)
{
    switch (rnd(12)) {
    case 0: qv_buf_printf(b, "%u", rnd(64)); break;
    case 1: qv_buf_printf(b, "-%u", rnd(100000) + 1); break;
    case 2: qv_buf_printf(b, "%llu", (unsigned long long)rng()); break;
    case 3: qv_buf_printf(b, "%lld", (long long)rng()); break;
    case 4: qv_buf_printf(b, "%d.0", (int)rnd(2000000) - 1000000); break;
    case 5: qv_buf_printf(b, "%d.5", (int)rnd(2000) - 1000); break;
    case 6: qv_buf_printf(b, "%.17g", (double)rnd(1000000) / 1000.0 + 0.001); break;
    case 7: {
        double d;
        do {
            uint64_t u = rng();
            memcpy(&d, &u, 8);
        } while (!isfinite(d));
        char t[40];
        jw_fmt_f64(t, d);
        qv_buf_puts(b, t);
        break;
    }
    case 8: qv_buf_puts(b, rnd(2) ? "-0.0" : "0.0"); break;
    case 9: qv_buf_puts(b, rnd(2) ? "18446744073709551615" : "-9223372036854775808"); break;
    case 10: qv_buf_printf(b, "%ue%d", rnd(1000), (int)rnd(40) - 20); break;
    default: qv_buf_printf(b, "%u", rnd(100000)); break;
    }
}

static void gen_value(qv_buf *b, int depth);

static void gen_object(qv_buf *b, int depth)
{
    static const char *const names[] = {"id", "name", "city", "tags", "price", "ключ", "a.b",
                                        "x y", "", "\\u0000", "count", "nested", "日本"};
    unsigned n = rnd(depth < 2 ? 12 : 5);
    if (rnd(30) == 0)
        n += 40; /* past the inline member count */
    qv_buf_putc(b, '{');
    for (unsigned i = 0; i < n; i++) {
        if (i)
            qv_buf_putc(b, ',');
        /* Unique: a pool name plus the member index. */
        qv_buf_printf(b, "\"%s%u\":", names[rnd(sizeof names / sizeof *names)], i);
        gen_value(b, depth + 1);
    }
    qv_buf_putc(b, '}');
}

static void gen_value(qv_buf *b, int depth)
{
    unsigned r = rnd(depth > 6 ? 6 : 9);
    switch (r) {
    case 0: qv_buf_puts(b, "null"); break;
    case 1: qv_buf_puts(b, rnd(2) ? "true" : "false"); break;
    case 2:
    case 3: gen_number(b); break;
    case 4:
    case 5: gen_string(b, 12); break;
    case 6:
    case 7: {
        unsigned n = rnd(6);
        if (rnd(25) == 0)
            n += 40;
        qv_buf_putc(b, '[');
        for (unsigned i = 0; i < n; i++) {
            if (i)
                qv_buf_putc(b, ',');
            gen_value(b, depth + 1);
        }
        qv_buf_putc(b, ']');
        break;
    }
    default: gen_object(b, depth); break;
    }
}

/* Walk the blob with the iterators alongside the jr tree. */
static void same_value(const pl_value *v, const jr_value *j)
{
    switch (j->type) {
    case JR_NULL: assert_int_equal(v->type, PL_NULL); break;
    case JR_FALSE: assert_int_equal(v->type, PL_FALSE); break;
    case JR_TRUE: assert_int_equal(v->type, PL_TRUE); break;
    case JR_STRING:
        assert_int_equal(v->type, PL_STRING);
        assert_int_equal(v->len, j->len);
        assert_memory_equal(v->s, j->u.str, j->len);
        break;
    case JR_NUMBER:
        if (!(j->flags & JR_NUM_INT) || ((j->flags & JR_NUM_NEG) && j->x.i64 == 0)) {
            assert_int_equal(v->type, PL_FLOAT);
            double want = (j->flags & JR_NUM_INT) ? -0.0 : j->u.num;
            assert_memory_equal(&v->d, &want, 8);
        } else if (j->flags & JR_NUM_NEG) {
            assert_int_equal(v->type, PL_INT);
            assert_true(v->i == j->x.i64);
        } else if (j->x.u64 > INT64_MAX) {
            assert_int_equal(v->type, PL_UINT);
            assert_true(v->u == j->x.u64);
        } else {
            assert_int_equal(v->type, PL_INT);
            assert_true((uint64_t)v->i == j->x.u64);
        }
        break;
    case JR_ARRAY: {
        assert_int_equal(v->type, PL_ARRAY);
        assert_int_equal(v->len, j->len);
        pl_iter it;
        pl_value e;
        pl_iter_init(&it, v);
        for (uint32_t i = 0; i < j->len; i++) {
            assert_true(pl_iter_next_elem(&it, &e));
            same_value(&e, &j->u.items[i]);
        }
        assert_false(pl_iter_next_elem(&it, &e));
        break;
    }
    default: {
        assert_int_equal(v->type, PL_OBJECT);
        assert_int_equal(v->len, j->len);
        pl_iter it;
        pl_value e;
        const char *k;
        size_t kn;
        pl_iter_init(&it, v);
        for (uint32_t i = 0; i < j->len; i++) {
            assert_true(pl_iter_next_member(&it, &k, &kn, &e));
            assert_int_equal(kn, j->u.members[i].key_len);
            assert_memory_equal(k, j->u.members[i].key, kn);
            same_value(&e, &j->u.members[i].value);
        }
        assert_false(pl_iter_next_member(&it, &k, &kn, &e));
        break;
    }
    }
}

static void test_roundtrip_random(void **state)
{
    rng_seed(20250101);
    qv_arena a;
    qv_arena_init(&a, 0);
    size_t json_bytes = 0, blob_bytes = 0;
    for (int iter = 0; iter < 5000; iter++) {
        qv_buf in = QV_BUF_INIT, blob = QV_BUF_INIT, ref = QV_BUF_INIT, out = QV_BUF_INIT;
        gen_object(&in, 0);
        qv_arena_reset(&a);
        jr_value *v = parse(&a, in.data, in.len);
        qv_error err;
        assert_int_equal(pl_encode(v, &blob, &err), 0);
        const uint8_t *bl = (const uint8_t *)blob.data;
        assert_true(pl_validate(bl, blob.len));
        assert_int_equal(pl_count(bl, blob.len), v->len);
        jw w;
        jw_init(&w, &ref);
        ref_print(&w, v);
        jw_init(&w, &out);
        pl_write_json(&w, bl, blob.len);
        if (ref.len != out.len || memcmp(ref.data, out.data, ref.len) != 0)
            fail_msg("random %d:\n in  %s\n ref %s\n out %s", iter, in.data, ref.data, out.data);
        pl_value root;
        pl_root(bl, blob.len, &root);
        same_value(&root, v);
        json_bytes += ref.len;
        blob_bytes += blob.len;
        qv_buf_free(&in);
        qv_buf_free(&blob);
        qv_buf_free(&ref);
        qv_buf_free(&out);
    }
    print_message("random round trips: blob %.1f%% of compact JSON\n",
                  100.0 * (double)blob_bytes / (double)json_bytes);
    qv_arena_free(&a);
}

/* ---- validate ------------------------------------------------------------------ */

static bool count_cb(void *ctx, const pl_value *v)
{
    (*(int *)ctx)++;
    if (v->type == PL_ARRAY || v->type == PL_OBJECT) {
        pl_iter it;
        pl_value e;
        const char *k;
        size_t kn;
        pl_iter_init(&it, v);
        if (v->type == PL_ARRAY)
            while (pl_iter_next_elem(&it, &e)) {}
        else
            while (pl_iter_next_member(&it, &k, &kn, &e)) {}
    }
    return true;
}

/* Use a blob that passed pl_validate with every reader: under ASan this
 * shows that none of them leaves the blob. */
static void exercise_all(const uint8_t *blob, size_t len)
{
    char *s = to_json(blob, len);
    free(s);
    pl_path ps[4] = {P("a"), P("a[].b"), P("a[0]"), P("\"\"")};
    int n = 0;
    for (int i = 0; i < 4; i++)
        pl_lookup(blob, len, &ps[i], count_cb, &n);
    qv_buf b = QV_BUF_INIT;
    jw w;
    jw_init(&w, &b);
    pl_write_json_include(&w, blob, len, ps, 2);
    pl_write_json_exclude(&w, blob, len, ps, 3);
    qv_error err;
    b.len = 0;
    assert_int_equal(pl_delete(blob, len, ps, 4, &b, &err), 0);
    assert_true(pl_validate((const uint8_t *)b.data, b.len));
    b.len = 0;
    assert_int_equal(pl_set(blob, len, pl_empty, pl_empty_len, &ps[1], &b, &err) == 0 ||
                         err.code == QV_BAD_INPUT,
                     1);
    qv_buf_free(&b);
}

static void test_validate(void **state)
{
    static const char *const docs[] = {
        "{}",
        "{\"a\":[{\"b\":1},{\"b\":[1,2.5,\"x\"]}],\"c\":{\"d\":null}}",
        "{\"u\":18446744073709551615,\"i\":-5,\"f\":0.1,\"g\":0.5,\"h\":2.0,\"s\":\"long "
        "string long string long string long string long string long string long\"}",
        "{\"k0\":0,\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,\"k5\":5,\"k6\":6,\"k7\":7,\"k8\":8,"
        "\"k9\":9,\"k10\":10,\"k11\":11,\"k12\":12,\"k13\":13,\"k14\":14,\"k15\":15,\"k16\":16,"
        "\"k17\":17,\"k18\":18,\"k19\":19,\"k20\":20,\"k21\":21,\"k22\":22,\"k23\":23,\"k24\":24,"
        "\"k25\":25,\"k26\":26,\"k27\":27,\"k28\":28,\"k29\":29,\"k30\":30,\"k31\":[[[[]]]]}",
    };
    rng_seed(99);
    for (size_t d = 0; d < sizeof docs / sizeof *docs; d++) {
        size_t len;
        uint8_t *blob = enc(docs[d], &len);
        assert_true(pl_validate(blob, len));
        exercise_all(blob, len);
        /* Every proper prefix is refused, read through an exact-size copy so
         * that ASan catches any read past it. */
        for (size_t n = 0; n < len; n++) {
            uint8_t *cut = malloc(n ? n : 1);
            memcpy(cut, blob, n);
            if (pl_validate(cut, n))
                fail_msg("doc %zu: prefix of %zu/%zu bytes accepted", d, n, len);
            free(cut);
        }
        /* Trailing garbage is refused. */
        uint8_t *more = malloc(len + 1);
        memcpy(more, blob, len);
        more[len] = 0;
        assert_false(pl_validate(more, len + 1));
        /* Random corruption: refused or still safe to use. */
        int accepted = 0;
        for (int k = 0; k < 3000; k++) {
            memcpy(more, blob, len);
            int flips = 1 + (int)rnd(3);
            for (int f = 0; f < flips; f++) {
                size_t at = rnd((unsigned)len);
                if (rnd(2))
                    more[at] ^= (uint8_t)(1u << rnd(8));
                else
                    more[at] = (uint8_t)rng();
            }
            uint8_t *exact = malloc(len);
            memcpy(exact, more, len);
            if (pl_validate(exact, len)) {
                accepted++;
                exercise_all(exact, len);
            }
            free(exact);
        }
        free(more);
        free(blob);
        print_message("doc %zu: %zu bytes, %d of 3000 corruptions still valid (used safely)\n", d,
                      len, accepted);
    }
    /* Random bytes. */
    for (int k = 0; k < 20000; k++) {
        size_t len = 1 + rnd(24);
        uint8_t *p = malloc(len);
        for (size_t i = 0; i < len; i++)
            p[i] = (uint8_t)rng();
        if (rnd(2))
            p[0] = (uint8_t)(0xE0 + rnd(32));
        if (pl_validate(p, len))
            exercise_all(p, len);
        free(p);
    }

    /* Hand-made bad blobs. */
    static const struct { uint8_t b[16]; size_t n; } bad[] = {
        {{0xC0, 0x00}, 2},                   /* root is an array */
        {{0x41}, 1},                         /* root is an integer */
        {{0xE1, 0x00}, 2},                   /* one member, empty body */
        {{0xE0, 0x01, 0x00}, 3},             /* zero members, a byte of body */
        {{0xE1, 0x02, 0x00, 0x09}, 4},       /* unknown tag */
        {{0xE1, 0x03, 0x05, 0x61, 0x41}, 5}, /* key longer than the body */
        {{0xE1, 0x03, 0x01, 0x61, 0x04}, 5}, /* varint missing */
        {{0xFF, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0x00}, 13},
        {{0xFF, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02, 0x00}, 12},
        {{0xE1, 0x09, 0x01, 0x61, 0x03, 1, 2, 3, 4, 5, 6}, 11}, /* double cut short */
        {{0xE0, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F}, 6},              /* huge size */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (pl_validate(bad[i].b, bad[i].n))
            fail_msg("bad blob %zu accepted", i);
    assert_false(pl_validate(NULL, 0));
    assert_false(pl_validate(pl_empty, 0));
    /* A count in escape form is fine: {} as FF 00 00. */
    static const uint8_t esc[] = {0xFF, 0x00, 0x00};
    assert_true(pl_validate(esc, 3));

    /* Nesting: 129 levels are refused, 128 pass. */
    {
        /* jr stops at 128 levels, so the 129-deep blob is built by hand: a
         * root {"a": [[[...[]...]]]}, sizes computed from the inside out. */
        qv_buf b = QV_BUF_INIT;
        int levels = JR_MAX_DEPTH + 1;
        /* sizes: innermost body 0; each wrapper adds header (tag + varint size). */
        size_t *body = malloc((size_t)levels * sizeof *body);
        body[levels - 1] = 0;
        for (int k = levels - 2; k >= 0; k--) {
            size_t inner_total = body[k + 1] + 1 + (body[k + 1] < 128 ? 1 : 2);
            body[k] = inner_total + (k == 0 ? 2 : 0); /* root: key "a" (len 1 + 1 byte) */
        }
        for (int k = 0; k < levels; k++) {
            uint8_t tag = k == 0 ? 0xE1 : (k == levels - 1 ? 0xC0 : 0xC1);
            qv_buf_putc(&b, (char)tag);
            size_t s = body[k];
            if (s < 128) {
                qv_buf_putc(&b, (char)s);
            } else {
                qv_buf_putc(&b, (char)(s | 0x80));
                qv_buf_putc(&b, (char)(s >> 7));
            }
            if (k == 0) {
                qv_buf_putc(&b, 1);
                qv_buf_putc(&b, 'a');
            }
        }
        assert_false(pl_validate((const uint8_t *)b.data, b.len));
        /* One level less passes: drop the innermost wrapper, i.e. re-build. */
        qv_buf_free(&b);
        levels = JR_MAX_DEPTH;
        body[levels - 1] = 0;
        for (int k = levels - 2; k >= 0; k--) {
            size_t inner_total = body[k + 1] + 1 + (body[k + 1] < 128 ? 1 : 2);
            body[k] = inner_total + (k == 0 ? 2 : 0);
        }
        for (int k = 0; k < levels; k++) {
            uint8_t tag = k == 0 ? 0xE1 : (k == levels - 1 ? 0xC0 : 0xC1);
            qv_buf_putc(&b, (char)tag);
            size_t s = body[k];
            if (s < 128) {
                qv_buf_putc(&b, (char)s);
            } else {
                qv_buf_putc(&b, (char)(s | 0x80));
                qv_buf_putc(&b, (char)(s >> 7));
            }
            if (k == 0) {
                qv_buf_putc(&b, 1);
                qv_buf_putc(&b, 'a');
            }
        }
        assert_true(pl_validate((const uint8_t *)b.data, b.len));
        free(body);
        qv_buf_free(&b);
    }
}

/* ---- key paths ------------------------------------------------------------------- */

static void test_path_parse(void **state)
{
    pl_path p = P("foo[1][50].bar-baz[].\"qux[.]quux\"");
    assert_int_equal(p.n, 6);
    assert_int_equal(p.steps[0].kind, PL_KEY);
    assert_string_equal(p.steps[0].key, "foo");
    assert_int_equal(p.steps[1].kind, PL_INDEX);
    assert_int_equal(p.steps[1].index, 1);
    assert_int_equal(p.steps[2].kind, PL_INDEX);
    assert_int_equal(p.steps[2].index, 50);
    assert_int_equal(p.steps[3].kind, PL_KEY);
    assert_string_equal(p.steps[3].key, "bar-baz");
    assert_int_equal(p.steps[4].kind, PL_ALL);
    assert_int_equal(p.steps[5].kind, PL_KEY);
    assert_string_equal(p.steps[5].key, "qux[.]quux");
    assert_int_equal(p.steps[5].key_len, 10);
    assert_string_equal(p.text, "foo[1][50].bar-baz[].\"qux[.]quux\"");

    p = P("\"a.b\".c");
    assert_int_equal(p.n, 2);
    assert_string_equal(p.steps[0].key, "a.b");
    assert_string_equal(p.steps[1].key, "c");

    p = P("\"\"");
    assert_int_equal(p.n, 1);
    assert_int_equal(p.steps[0].key_len, 0);

    p = P("a[007][]");
    assert_int_equal(p.steps[1].index, 7);
    assert_int_equal(p.steps[2].kind, PL_ALL);

    p = P("a[99999999999]");  /* a usize; no array is that long */
    assert_int_equal(p.steps[1].kind, PL_INDEX);
    assert_int_equal(p.steps[1].index, UINT32_MAX);

    static const char *const good[] = {"a", "_", "-", "9", "a_b-9", "Müesli", "ключ.значение",
                                       "日本語", "x.\"y z\"[0]", "a.\"\"", "a[0][1].b", "a[].b[]",
                                       "\"[\"", "\"a\"[0]", "x²", "ǅ"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        (void)P(good[i]);

    static const char *const bad[] = {
        "", ".", ".a", "a.", "a..b", "[0]", "[]", "a[", "a[x]", "a[-1]", "a[ 1]", "a[1 ]",
        "a b", " a", "a ", "a[ ]", "\"a", "\"a\\\"b\"", "a.[0]", "a[18446744073709551616]",
        "a[]b", "a.\"b\"c", "a\"b\"", "€", "a.b€", "a\tb", "a/b", "a$", "a[0]x", "a.\xff",
        "\xc3", "a\xc3\x28", "a.\"unterminated", "a.b.", "a[0].", "a]", "😀",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        pl_path q;
        qv_error err;
        if (pl_path_parse(&path_arena, bad[i], strlen(bad[i]), &q, &err) == 0)
            fail_msg("bad path accepted: [%s]", bad[i]);
        assert_int_equal(err.code, QV_BAD_FORMAT);
    }
    pl_path q;
    qv_error err;
    assert_int_equal(pl_path_parse(&path_arena, "a..b", 4, &q, &err), -1);
    assert_string_equal(err.msg, "Invalid json path: 'a..b'");
    /* Length-bounded: text past len is not read. */
    assert_int_equal(pl_path_parse(&path_arena, "ab.c", 2, &q, &err), 0);
    assert_int_equal(q.n, 1);
    assert_string_equal(q.steps[0].key, "ab");
}

/* ---- lookup ------------------------------------------------------------------------ */

typedef struct collect {
    qv_buf buf;
    jw     w;
    int    n;
    int    stop_after;
} collect;

static bool collect_cb(void *ctx, const pl_value *v)
{
    collect *c = ctx;
    if (c->n++)
        qv_buf_putc(&c->buf, '|');
    c->w.comma = false;
    pl_write_value(&c->w, v);
    return c->n != c->stop_after;
}

/* Values path reaches in json, as "v1|v2|..." (freed by the caller). */
static char *get(const char *json, const char *path, int stop_after, size_t *visited)
{
    size_t len;
    uint8_t *blob = enc(json, &len);
    collect c = {QV_BUF_INIT, {0}, 0, stop_after};
    jw_init(&c.w, &c.buf);
    pl_path p = P(path);
    size_t n = pl_lookup(blob, len, &p, collect_cb, &c);
    assert_int_equal(n, (size_t)c.n);
    if (visited)
        *visited = n;
    free(blob);
    if (!c.buf.data)
        qv_buf_puts(&c.buf, "");
    return qv_buf_detach(&c.buf, NULL);
}

static void check_get(const char *json, const char *path, const char *expect)
{
    char *got = get(json, path, -1, NULL);
    if (strcmp(got, expect) != 0)
        fail_msg("get %s in %s\n  got      [%s]\n  expected [%s]", path, json, got, expect);
    free(got);
}

static void test_lookup(void **state)
{
    /* Qdrant: test_get_nested_value_from_json_map */
    const char *m1 = "{\"a\":{\"b\":{\"c\":1}},\"d\":2}";
    check_get(m1, "a.b", "{\"c\":1}");
    check_get(m1, "a.b.c", "1");
    check_get(m1, "a.b.c.d", "");
    check_get(m1, "d", "2");
    check_get(m1, "d[]", "");
    check_get(m1, "d.x", "");

    /* Qdrant: test_get_nested_array_value_from_json_map */
    const char *m2 = "{\"a\":{\"b\":[{\"c\":1},{\"c\":2},{\"d\":{\"e\":3}}]},\"f\":3,"
                     "\"g\":[\"g0\",\"g1\",\"g2\"]}";
    check_get(m2, "a.b", "[{\"c\":1},{\"c\":2},{\"d\":{\"e\":3}}]");
    check_get(m2, "a.b[]", "{\"c\":1}|{\"c\":2}|{\"d\":{\"e\":3}}");
    check_get(m2, "a.b[].c", "1|2");
    check_get(m2, "a.b[].d", "{\"e\":3}");
    check_get(m2, "a.b[0]", "{\"c\":1}");
    check_get(m2, "a.b[1]", "{\"c\":2}");
    check_get(m2, "a.b[1].c", "2");
    check_get(m2, "g[2]", "\"g2\"");
    check_get(m2, "a.b[2]", "{\"d\":{\"e\":3}}");
    check_get(m2, "a.b[3]", "");
    check_get(m2, "a.b.c", "");      /* a key does not apply to an array */
    check_get(m2, "a[]", "");        /* nor [] to an object */
    check_get(m2, "a[0]", "");
    check_get(m2, "g", "[\"g0\",\"g1\",\"g2\"]"); /* the array itself, once */

    /* Qdrant: test_get_deeply_nested_array_value_from_json_map */
    const char *m3 = "{\"arr1\":[{\"arr2\":[{\"a\":1,\"b\":2}]},"
                     "{\"arr2\":[{\"a\":3,\"b\":4},{\"a\":5,\"b\":6}]}]}";
    check_get(m3, "arr1[].arr2[].a", "1|3|5");
    check_get(m3, "arr1[].arr2[1].b", "6");
    check_get(m3, "arr1[1].arr2[].b", "4|6");
    check_get(m3, "arr1[].arr2", "[{\"a\":1,\"b\":2}]|[{\"a\":3,\"b\":4},{\"a\":5,\"b\":6}]");

    /* Qdrant: test_no_flatten_array_value_from_json_map */
    const char *m4 = "{\"arr\":[{\"a\":[1,2,3]},{\"a\":4},{\"b\":5}]}";
    check_get(m4, "arr[].a", "[1,2,3]|4");
    check_get(m4, "arr[].a[]", "1|2|3");

    /* Qdrant: test_get_null_and_absent_values */
    const char *m5 = "{\"a\":null,\"b\":[null,null],\"c\":[]}";
    check_get(m5, "a", "null");
    check_get(m5, "a[]", "");
    check_get(m5, "b", "[null,null]");
    check_get(m5, "b[]", "null|null");
    check_get(m5, "c", "[]");
    check_get(m5, "c[]", "");
    check_get(m5, "d", "");
    check_get(m5, "d[]", "");

    /* Nested arrays, quoted keys, number types. */
    const char *m6 = "{\"m\":[[1,2],[3,[4]]],\"a.b\":{\"c d\":7},\"n\":[1,1.0,-0.0,"
                     "18446744073709551615,-9223372036854775808,\"s\"],\"\":{\"\":true}}";
    check_get(m6, "m[]", "[1,2]|[3,[4]]");
    check_get(m6, "m[][]", "1|2|3|[4]");
    check_get(m6, "m[][][]", "4");
    check_get(m6, "m[1][1][0]", "4");
    check_get(m6, "\"a.b\".\"c d\"", "7");
    check_get(m6, "a.b", "");
    check_get(m6, "n[]", "1|1.0|-0.0|18446744073709551615|-9223372036854775808|\"s\"");
    check_get(m6, "\"\".\"\"", "true");

    /* Early stop. */
    size_t visited;
    char *s = get(m6, "n[]", 2, &visited);
    assert_string_equal(s, "1|1.0");
    assert_int_equal(visited, 2);
    free(s);

    /* Values as pl_value. */
    size_t len;
    uint8_t *blob = enc(m6, &len);
    pl_iter it;
    pl_value root, e;
    pl_root(blob, len, &root);
    assert_int_equal(root.type, PL_OBJECT);
    assert_int_equal(root.len, 4);
    assert_int_equal(pl_count(blob, len), 4);
    pl_iter_init(&it, &root);
    const char *k;
    size_t kn;
    assert_true(pl_iter_next_member(&it, &k, &kn, &e));
    assert_int_equal(kn, 1);
    assert_int_equal(e.type, PL_ARRAY);
    assert_int_equal(e.len, 2);
    pl_iter inner;
    pl_value x;
    pl_iter_init(&inner, &e);
    assert_true(pl_iter_next_elem(&inner, &x));
    assert_int_equal(x.type, PL_ARRAY);
    /* A scalar iterates as nothing. */
    pl_value scalar = {.type = PL_INT};
    pl_iter_init(&inner, &scalar);
    assert_false(pl_iter_next_elem(&inner, &x));
    free(blob);
}

/* ---- set / delete ------------------------------------------------------------------ */

static void check_set(const char *base, const char *patch, const char *key, const char *expect)
{
    size_t bl, pl;
    uint8_t *b = enc(base, &bl), *pt = enc(patch, &pl);
    qv_buf out = QV_BUF_INIT;
    qv_error err;
    pl_path path;
    if (key)
        path = P(key);
    if (pl_set(b, bl, pt, pl, key ? &path : NULL, &out, &err) != 0)
        fail_msg("set failed: %s", err.msg);
    assert_true(pl_validate((const uint8_t *)out.data, out.len));
    char *got = to_json((const uint8_t *)out.data, out.len);
    if (strcmp(got, expect) != 0)
        fail_msg("set %s key %s on %s\n  got      %s\n  expected %s", patch, key ? key : "-",
                 base, got, expect);
    free(got);
    free(b);
    free(pt);
    qv_buf_free(&out);
}

static void test_set(void **state)
{
    const char *m = "{\"a\":{\"b\":[{\"c\":1},{\"c\":2},{\"d\":{\"e\":3}}]},\"f\":3,"
                    "\"g\":[\"g0\",\"g1\",\"g2\"]}";
    /* Qdrant: test_set_value_to_json_with_empty_key */
    check_set(m, "{\"c\":5}", NULL,
              "{\"a\":{\"b\":[{\"c\":1},{\"c\":2},{\"d\":{\"e\":3}}]},\"f\":3,"
              "\"g\":[\"g0\",\"g1\",\"g2\"],\"c\":5}");
    /* Qdrant: test_set_value_to_json_with_one_level_key */
    check_set(m, "{\"b\":5}", "a", "{\"a\":{\"b\":5},\"f\":3,\"g\":[\"g0\",\"g1\",\"g2\"]}");
    /* Qdrant: test_set_value_to_json_with_array_index */
    check_set(m, "{\"c\":5}", "a.b[1]",
              "{\"a\":{\"b\":[{\"c\":1},{\"c\":5},{\"d\":{\"e\":3}}]},\"f\":3,"
              "\"g\":[\"g0\",\"g1\",\"g2\"]}");
    /* Qdrant: test_set_value_to_json_with_empty_src */
    check_set(m, "{}", "a.b[1]", m);
    /* Qdrant: test_set_value_to_json_with_empty_dest(_nested_key) */
    check_set("{}", "{\"c\":1}", NULL, "{\"c\":1}");
    check_set("{}", "{\"c\":1}", "key1.key2", "{\"key1\":{\"key2\":{\"c\":1}}}");
    /* Qdrant: ..._nested_array_index_key: no padding, the array stays empty */
    check_set("{}", "{\"c\":1}", "key1.key2[3]", "{\"key1\":{\"key2\":[]}}");
    check_set("{}", "{\"c\":1}", "key1.key2[0]", "{\"key1\":{\"key2\":[]}}");
    /* Qdrant: test_expand_payload_with_non_existing_array */
    check_set("{}", "{\"c\":1}", "key1.key2[].key3", "{\"key1\":{\"key2\":[]}}");
    /* Qdrant: test_replace_scalar_key_with_object */
    check_set("{\"a\":10}", "{\"x\":1}", "a.b.c", "{\"a\":{\"b\":{\"c\":{\"x\":1}}}}");

    /* The brief's cases. */
    check_set("{}", "{\"c\":1}", "a.b", "{\"a\":{\"b\":{\"c\":1}}}");
    check_set("{\"a\":{\"b\":{\"x\":0}}}", "{\"c\":1}", "a.b", "{\"a\":{\"b\":{\"x\":0,\"c\":1}}}");

    /* merge_map: replace in place, append new keys, null removes. */
    check_set("{\"a\":1,\"b\":2,\"c\":3}", "{\"b\":\"B\",\"d\":4,\"a\":null}", NULL,
              "{\"b\":\"B\",\"c\":3,\"d\":4}");
    check_set("{\"a\":1}", "{\"z\":null}", NULL, "{\"a\":1}");
    check_set("{\"a\":{\"b\":1,\"c\":2}}", "{\"b\":null}", "a", "{\"a\":{\"c\":2}}");
    check_set("{\"a\":1}", "{}", NULL, "{\"a\":1}");
    check_set("{}", "{}", "x", "{\"x\":{}}");   /* the path is created even for {} */

    /* Through arrays. */
    check_set("{\"a\":[{\"x\":1},{\"x\":2},5]}", "{\"y\":0}", "a[]",
              "{\"a\":[{\"x\":1,\"y\":0},{\"x\":2,\"y\":0},{\"y\":0}]}");
    check_set("{\"a\":[{\"b\":{}},{\"c\":1}]}", "{\"y\":0}", "a[].b",
              "{\"a\":[{\"b\":{\"y\":0}},{\"c\":1,\"b\":{\"y\":0}}]}");
    check_set("{\"a\":[[1],[2]]}", "{\"y\":0}", "a[1][0]", "{\"a\":[[1],[{\"y\":0}]]}");
    check_set("{\"a\":[1]}", "{\"y\":0}", "a[5]", "{\"a\":[1]}");
    check_set("{\"a\":5}", "{\"y\":0}", "a[]", "{\"a\":[]}");
    check_set("{\"a\":{\"k\":1}}", "{\"y\":0}", "a[0]", "{\"a\":[]}");
    /* A key step replaces an array by an object. */
    check_set("{\"a\":[{\"b\":1}]}", "{\"y\":0}", "a.b", "{\"a\":{\"b\":{\"y\":0}}}");
    /* Order: the path's member keeps its place; other members untouched. */
    check_set("{\"p\":1,\"a\":{\"q\":2},\"r\":3}", "{\"q\":null,\"s\":4}", "a",
              "{\"p\":1,\"a\":{\"s\":4},\"r\":3}");
    check_set("{\"p\":1}", "{\"v\":[1,{\"w\":2}]}", "\"x.y\"",
              "{\"p\":1,\"x.y\":{\"v\":[1,{\"w\":2}]}}");

    /* Depth: a path deeper than JR_MAX_DEPTH is refused, out keeps its bytes. */
    qv_buf keyb = QV_BUF_INIT;
    for (int i = 0; i < JR_MAX_DEPTH; i++)
        qv_buf_puts(&keyb, i ? ".k" : "k");
    pl_path deep = P(keyb.data);
    size_t pl;
    uint8_t *pt = enc("{\"x\":1}", &pl);
    qv_buf out = QV_BUF_INIT;
    qv_buf_puts(&out, "keep");
    qv_error err;
    assert_int_equal(pl_set(pl_empty, pl_empty_len, pt, pl, &deep, &out, &err), -1);
    assert_int_equal(err.code, QV_BAD_INPUT);
    assert_int_equal(out.len, 4);
    /* One level less fits exactly: root + 127 keys... + the patch's leaf. */
    deep.n = JR_MAX_DEPTH - 1;
    out.len = 0;
    assert_int_equal(pl_set(pl_empty, pl_empty_len, pt, pl, &deep, &out, &err), 0);
    assert_true(pl_validate((const uint8_t *)out.data, out.len));
    /* A patch with its own depth counts too. */
    free(pt);
    pt = enc("{\"x\":{\"y\":1}}", &pl);
    out.len = 0;
    assert_int_equal(pl_set(pl_empty, pl_empty_len, pt, pl, &deep, &out, &err), -1);
    /* A long path of [i] on non-arrays stops early and is fine. */
    qv_buf_free(&keyb);
    qv_buf_puts(&keyb, "k");
    for (int i = 0; i < 1000; i++)
        qv_buf_puts(&keyb, "[0]");
    pl_path idx = P(keyb.data);
    out.len = 0;
    assert_int_equal(pl_set(pl_empty, pl_empty_len, pt, pl, &idx, &out, &err), 0);
    char *s = to_json((const uint8_t *)out.data, out.len);
    assert_string_equal(s, "{\"k\":[]}");
    free(s);
    free(pt);
    qv_buf_free(&out);
    qv_buf_free(&keyb);
}

static char *del(const char *json, const char *const *paths, size_t n)
{
    size_t len;
    uint8_t *blob = enc(json, &len);
    pl_path ps[8];
    for (size_t i = 0; i < n; i++)
        ps[i] = P(paths[i]);
    qv_buf out = QV_BUF_INIT;
    qv_error err;
    assert_int_equal(pl_delete(blob, len, ps, n, &out, &err), 0);
    assert_true(pl_validate((const uint8_t *)out.data, out.len));
    char *s = to_json((const uint8_t *)out.data, out.len);
    free(blob);
    qv_buf_free(&out);
    return s;
}

static void check_del(const char *json, const char *path, const char *expect)
{
    char *got = del(json, &path, 1);
    if (strcmp(got, expect) != 0)
        fail_msg("delete %s from %s\n  got      %s\n  expected %s", path, json, got, expect);
    free(got);
}

static void test_delete(void **state)
{
    /* Qdrant: test_remove_key, step by step. */
    const char *s0 = "{\"a\":1,\"b\":{\"c\":123,\"e\":{\"f\":[1,2,3],\"g\":7,\"h\":\"text\","
                     "\"i\":[{\"j\":1,\"k\":2},{\"j\":3,\"k\":4}]}}}";
    const char *s1 = "{\"a\":1,\"b\":{\"e\":{\"f\":[1,2,3],\"g\":7,\"h\":\"text\","
                     "\"i\":[{\"j\":1,\"k\":2},{\"j\":3,\"k\":4}]}}}";
    check_del(s0, "b.c", s1);
    check_del(s1, "b.e.f[1]", s1); /* a last [i] removes nothing */
    const char *s2 = "{\"a\":1,\"b\":{\"e\":{\"f\":[1,2,3],\"g\":7,\"h\":\"text\","
                     "\"i\":[{\"k\":2},{\"j\":3,\"k\":4}]}}}";
    check_del(s1, "b.e.i[0].j", s2);
    const char *s3 = "{\"a\":1,\"b\":{\"e\":{\"f\":[1,2,3],\"g\":7,\"h\":\"text\","
                     "\"i\":[{},{\"j\":3}]}}}";
    check_del(s2, "b.e.i[].k", s3);
    const char *s4 = "{\"a\":1,\"b\":{\"e\":{\"f\":[1,2,3],\"g\":7,\"h\":\"text\",\"i\":[]}}}";
    check_del(s3, "b.e.i[]", s4);
    const char *s5 = "{\"a\":1,\"b\":{\"e\":{\"f\":[1,2,3],\"g\":7,\"h\":\"text\"}}}";
    check_del(s4, "b.e.i", s5);
    const char *s6 = "{\"a\":1,\"b\":{\"e\":{\"g\":7,\"h\":\"text\"}}}";
    check_del(s5, "b.e.f", s6);
    check_del(s6, "k", s6);
    check_del(s6, "b.e.l", s6);
    const char *s7 = "{\"b\":{\"e\":{\"g\":7,\"h\":\"text\"}}}";
    check_del(s6, "a", s7);
    check_del(s7, "b.e", "{\"b\":{}}");
    check_del("{\"b\":{}}", "b", "{}");

    /* Several paths in one call, applied in turn. */
    static const char *const ps[] = {"a", "b.e.i[].j", "zz", "b.c"};
    char *got = del(s0, ps, 4);
    assert_string_equal(got, "{\"b\":{\"e\":{\"f\":[1,2,3],\"g\":7,\"h\":\"text\","
                             "\"i\":[{\"k\":2},{\"k\":4}]}}}");
    free(got);
    static const char *const ps2[] = {"x[].y", "x[]"};
    got = del("{\"x\":[{\"y\":1,\"z\":2}],\"w\":0}", ps2, 2);
    assert_string_equal(got, "{\"x\":[],\"w\":0}");
    free(got);

    /* Paths that do not fit the data remove nothing. */
    check_del("{\"a\":[{\"b\":1}]}", "a.b", "{\"a\":[{\"b\":1}]}");
    check_del("{\"a\":{\"b\":1}}", "a[].b", "{\"a\":{\"b\":1}}");
    check_del("{\"a\":{\"b\":1}}", "a[]", "{\"a\":{\"b\":1}}");
    check_del("{\"a\":5}", "a.b", "{\"a\":5}");
    check_del("{\"a\":[[1,{\"q\":1}],[{\"q\":2}]]}", "a[][].q", "{\"a\":[[1,{}],[{}]]}");
    check_del("{\"a\":[[1,{\"q\":1}],[{\"q\":2}]]}", "a[1][0].q", "{\"a\":[[1,{\"q\":1}],[{}]]}");
    check_del("{\"a.b\":1,\"a\":{\"b\":2}}", "\"a.b\"", "{\"a\":{\"b\":2}}");
    check_del("{}", "a", "{}");
    /* Order of the others is kept. */
    check_del("{\"x\":1,\"y\":2,\"z\":3}", "y", "{\"x\":1,\"z\":3}");
}

/* ---- include / exclude --------------------------------------------------------------- */

static void check_sel(const char *json, bool include, const char *const *paths, size_t n,
                      const char *expect)
{
    size_t len;
    uint8_t *blob = enc(json, &len);
    pl_path ps[8];
    for (size_t i = 0; i < n; i++)
        ps[i] = P(paths[i]);
    qv_buf out = QV_BUF_INIT;
    jw w;
    jw_init(&w, &out);
    if (include)
        pl_write_json_include(&w, blob, len, ps, n);
    else
        pl_write_json_exclude(&w, blob, len, ps, n);
    assert_true(qv_buf_ok(&out));
    if (strcmp(out.data, expect) != 0)
        fail_msg("%s %s...\n  got      %s\n  expected %s", include ? "include" : "exclude",
                 paths[0], out.data, expect);
    free(blob);
    qv_buf_free(&out);
}

#define INC(json, expect, ...)                                                                  \
    do {                                                                                        \
        static const char *const p_[] = {__VA_ARGS__};                                          \
        check_sel(json, true, p_, sizeof p_ / sizeof *p_, expect);                              \
    } while (0)
#define EXC(json, expect, ...)                                                                  \
    do {                                                                                        \
        static const char *const p_[] = {__VA_ARGS__};                                          \
        check_sel(json, false, p_, sizeof p_ / sizeof *p_, expect);                             \
    } while (0)

static void test_select(void **state)
{
    const char *m = "{\"a\":{\"b\":[{\"c\":1},{\"c\":2},{\"d\":{\"e\":3}}]},\"f\":3,"
                    "\"g\":[\"g0\",\"g1\",\"g2\"]}";
    /* Qdrant: test_filter_json (include "a.b[].c") */
    INC(m, "{\"a\":{\"b\":[{\"c\":1},{\"c\":2},{}]}}", "a.b[].c");
    INC(m, "{\"a\":{\"b\":[{\"c\":1},{\"c\":2},{\"d\":{\"e\":3}}]}}", "a.b");
    INC(m, "{\"a\":{\"b\":[{\"c\":1},{\"c\":2},{\"d\":{\"e\":3}}]}}", "a");
    INC(m, "{\"f\":3,\"g\":[\"g0\",\"g1\",\"g2\"]}", "g", "f");   /* payload order */
    INC(m, "{\"a\":{\"b\":[]}}", "a.b.c");      /* elements are "[]", not ".c" */
    INC(m, "{\"a\":{\"b\":[]}}", "a.b[0]");     /* and never "[0]" */
    INC(m, "{\"a\":{\"b\":[{},{},{\"d\":{\"e\":3}}]}}", "a.b[].d.e");
    INC(m, "{\"f\":3}", "f.x.y");                 /* a scalar prefix is kept whole */
    INC(m, "{}", "zz");
    INC(m, "{\"a\":{}}", "a.zz");
    INC(m, "{\"g\":[\"g0\",\"g1\",\"g2\"]}", "g[]");
    INC("{\"a.b\":1,\"a\":{\"b\":2}}", "{\"a.b\":1}", "\"a.b\"");
    INC("{\"a.b\":1,\"a\":{\"b\":2}}", "{\"a\":{\"b\":2}}", "a.b");
    INC("{\"x\":[[{\"y\":1,\"z\":2}]]}", "{\"x\":[[{\"y\":1}]]}", "x[][].y");

    /* Exclude: a pattern drops the nodes it is a prefix of. */
    EXC(m, "{\"a\":{},\"f\":3,\"g\":[\"g0\",\"g1\",\"g2\"]}", "a.b");
    EXC(m, "{\"f\":3,\"g\":[\"g0\",\"g1\",\"g2\"]}", "a");
    EXC(m, "{\"a\":{\"b\":[{},{},{\"d\":{\"e\":3}}]},\"f\":3,\"g\":[\"g0\",\"g1\",\"g2\"]}",
        "a.b[].c");
    EXC(m, m, "a.b.c");                   /* does not reach through the array */
    EXC(m, m, "a.b[0]");
    EXC(m, "{\"a\":{\"b\":[{\"c\":1},{\"c\":2},{\"d\":{\"e\":3}}]},\"f\":3,\"g\":[]}", "g[]");
    EXC(m, "{\"a\":{\"b\":[{\"c\":1},{\"c\":2},{\"d\":{}}]},\"g\":[\"g0\",\"g1\",\"g2\"]}",
        "f", "a.b[].d.e");
    EXC(m, m, "zz", "f.x");
    EXC("{\"a.b\":1,\"a\":{\"b\":2}}", "{\"a\":{\"b\":2}}", "\"a.b\"");
    EXC("{\"\":1,\"x\":2}", "{\"x\":2}", "\"\"");
}

/* ---- benchmark ---------------------------------------------------------------------- */

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* A typical payload mix: flat objects of strings, ints, floats, a tag array,
 * a small nested object. */
static void gen_typical(qv_buf *b, unsigned i)
{
    qv_buf_printf(b,
                  "{\"id\":%u,\"title\":\"Product number %u with a longer name\",\"city\":\"%s\","
                  "\"price\":%u.%02u,\"rating\":%.3f,\"in_stock\":%s,\"tags\":[\"t%u\",\"t%u\","
                  "\"t%u\"],\"dims\":{\"w\":%u,\"h\":%u,\"unit\":\"cm\"},\"ts\":%llu}",
                  i, i * 7, (i % 3) ? "Berlin" : "London", i % 1000, i % 100,
                  (double)(i % 500) / 100.0, (i & 1) ? "true" : "false", i % 50, i % 70, i % 90,
                  i % 300, i % 200, 1700000000000ull + i);
}

static void test_bench(void **state)
{
    qv_buf corpus = QV_BUF_INIT;
    size_t *offs = malloc(20001 * sizeof *offs);
    unsigned n = 20000;
    for (unsigned i = 0; i < n; i++) {
        offs[i] = corpus.len;
        gen_typical(&corpus, i);
    }
    offs[n] = corpus.len;
    qv_arena a;
    qv_arena_init(&a, 1 << 16);
    jr_value **trees = malloc(n * sizeof *trees);
    qv_buf canon = QV_BUF_INIT; /* what pl prints: jw's number forms */
    for (unsigned i = 0; i < n; i++) {
        trees[i] = parse(&a, corpus.data + offs[i], offs[i + 1] - offs[i]);
        jw w;
        jw_init(&w, &canon);
        ref_print(&w, trees[i]);
    }

    qv_buf blobs = QV_BUF_INIT;
    size_t *boffs = malloc((n + 1) * sizeof *boffs);
    qv_error err;
    int reps = 5;
    double t0 = now_s();
    for (int r = 0; r < reps; r++) {
        blobs.len = 0;
        for (unsigned i = 0; i < n; i++) {
            boffs[i] = blobs.len;
            assert_int_equal(pl_encode(trees[i], &blobs, &err), 0);
        }
    }
    double t_enc = now_s() - t0;
    boffs[n] = blobs.len;

    qv_buf out = QV_BUF_INIT;
    t0 = now_s();
    for (int r = 0; r < reps; r++) {
        out.len = 0;
        for (unsigned i = 0; i < n; i++) {
            jw w;
            jw_init(&w, &out);
            pl_write_json(&w, (const uint8_t *)blobs.data + boffs[i], boffs[i + 1] - boffs[i]);
        }
    }
    double t_print = now_s() - t0;
    assert_int_equal(out.len, canon.len);
    assert_memory_equal(out.data, canon.data, canon.len);

    pl_path p = P("dims.w");
    int hits = 0;
    t0 = now_s();
    for (int r = 0; r < reps; r++)
        for (unsigned i = 0; i < n; i++)
            pl_lookup((const uint8_t *)blobs.data + boffs[i], boffs[i + 1] - boffs[i], &p,
                      count_cb, &hits);
    double t_look = now_s() - t0;
    t0 = now_s();
    for (int r = 0; r < reps; r++)
        for (unsigned i = 0; i < n; i++)
            assert_true(pl_validate((const uint8_t *)blobs.data + boffs[i], boffs[i + 1] - boffs[i]));
    double t_val = now_s() - t0;

    double mb = (double)canon.len * reps / 1e6;
    print_message("payload bench: %u objects, JSON %.1f B/object, blob %.1f B/object (%.0f%%)\n", n,
                  (double)canon.len / n, (double)blobs.len / n,
                  100.0 * (double)blobs.len / (double)canon.len);
    print_message("  encode (jr tree -> blob) %.0f MB/s of JSON, %.0f ns/object\n", mb / t_enc,
                  t_enc * 1e9 / (n * reps));
    print_message("  print  (blob -> JSON)    %.0f MB/s of JSON, %.0f ns/object\n", mb / t_print,
                  t_print * 1e9 / (n * reps));
    print_message("  lookup dims.w %.0f ns/object; validate %.0f MB/s of blob\n",
                  t_look * 1e9 / (n * reps), (double)blobs.len * reps / 1e6 / t_val);
    assert_int_equal(hits, (int)(n * reps));

    free(trees);
    free(offs);
    free(boffs);
    qv_arena_free(&a);
    qv_buf_free(&corpus);
    qv_buf_free(&canon);
    qv_buf_free(&blobs);
    qv_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_roundtrip_edges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_encoding_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roundtrip_random, setup, teardown),
        cmocka_unit_test_setup_teardown(test_validate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_path_parse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lookup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_select, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bench, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
