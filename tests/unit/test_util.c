/* test_util.c — arena, buffer and file helpers (util/). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/arena.h"
#include "util/bitset.h"
#include "util/buf.h"
#include "util/datetime.h"
#include "util/fsutil.h"
#include "util/hash.h"
#include "util/pointid.h"
#include "util/utf8.h"

static void arena_aligns_and_grows(void **state)
{
    qv_arena a;
    qv_arena_init(&a, 64);
    char *p = qv_arena_alloc(&a, 3);
    char *q = qv_arena_alloc(&a, 100000);  /* bigger than any block so far */
    assert_non_null(p);
    assert_non_null(q);
    assert_int_equal((uintptr_t)p % 16, 0);
    assert_int_equal((uintptr_t)q % 16, 0);
    memset(q, 1, 100000);
    assert_null(qv_arena_alloc(&a, SIZE_MAX - 4));
    assert_null(qv_arena_calloc(&a, SIZE_MAX / 2, 4));
    qv_arena_reset(&a);
    size_t kept = a.total;  /* the largest block stays for reuse */
    assert_true(kept >= 100000);
    assert_non_null(qv_arena_alloc(&a, 90000));
    assert_int_equal(a.total, kept);
    assert_string_equal(qv_arena_printf(&a, "%d-%s", 7, "x"), "7-x");
    assert_string_equal(qv_arena_strndup(&a, "hello", 4), "hell");
    qv_arena_free(&a);
}

static void buf_appends_and_detaches(void **state)
{
    qv_buf b = QV_BUF_INIT;
    for (int i = 0; i < 1000; i++)
        qv_buf_printf(&b, "%d,", i);
    qv_buf_putc(&b, '!');
    assert_true(qv_buf_ok(&b));
    assert_memory_equal(b.data, "0,1,2,", 6);
    assert_int_equal(b.data[b.len - 1], '!');
    assert_int_equal(b.data[b.len], '\0');
    size_t len;
    char *p = qv_buf_detach(&b, &len);
    assert_int_equal(len, strlen(p));
    assert_null(b.data);
    free(p);
    assert_false(qv_buf_reserve(&b, SIZE_MAX - 1));
    assert_false(qv_buf_ok(&b));
    qv_buf_free(&b);
}

static void files_replace_atomically(void **state)
{
    char dir[] = "/tmp/qv-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    assert_int_equal(qv_write_file_atomic(dir, "f.json", "one", 3), 0);
    assert_int_equal(qv_write_file_atomic(dir, "f.json", "second", 6), 0);
    char path[256], *data;
    size_t len;
    snprintf(path, sizeof path, "%s/f.json", dir);
    assert_int_equal(qv_read_file(path, 100, &data, &len), 0);
    assert_int_equal(len, 6);
    assert_string_equal(data, "second");
    free(data);
    snprintf(path, sizeof path, "%s/f.json.tmp", dir);
    assert_int_not_equal(access(path, F_OK), 0);  /* no temp file left */
    snprintf(path, sizeof path, "%s/f.json", dir);
    assert_int_equal(qv_read_file(path, 3, &data, &len), -1);
    assert_int_equal(errno, EFBIG);
    snprintf(path, sizeof path, "%s/sub", dir);
    assert_int_equal(qv_mkdir(path), 0);
    assert_int_equal(qv_mkdir(path), 0);
    assert_int_equal(qv_write_file_atomic(path, "x", "1", 1), 0);
    assert_int_equal(qv_rm_rf(dir), 0);
    assert_int_not_equal(access(dir, F_OK), 0);
    assert_int_equal(qv_rm_rf(dir), 0);  /* missing is fine */
}

/* The grammar's corners are in test_filter (datetime range); here the
 * arithmetic and the contract on failure. */
static void datetimes_parse_to_utc(void **state)
{
    (void)state;
    static const struct { const char *s; int64_t sec, nsec; } ok[] = {
        {"1970-01-01T00:00:00Z", 0, 0},
        {"2014-01-01T00:00:00Z", 1388534400, 0},
        {"2014-01-01 01:30:00+01:30", 1388534400, 0},
        {"2014-01-01", 1388534400, 0},
        {"1969-12-31T23:59:59.5Z", -1, 500000000},
        {"2016-12-31T23:59:60Z", 1483228799, 1000000000},  /* leap second */
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t sec = 7, nsec = 7;
        assert_true(qv_datetime_parse(ok[i].s, strlen(ok[i].s), &sec, &nsec));
        assert_int_equal(sec, ok[i].sec);
        assert_int_equal(nsec, ok[i].nsec);
    }
    static const char *const bad[] = {"", "2014-02-30", "2014-01-01T24:00", "2014-01-01t00:00:00",
                                      "2014-01-01T00:00:00BAD", "5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t sec = 7, nsec = 7;
        assert_false(qv_datetime_parse(bad[i], strlen(bad[i]), &sec, &nsec));
        assert_int_equal(sec, 7);  /* untouched */
        assert_int_equal(nsec, 7);
    }
}

static void utf8_validates_and_repairs(void **state)
{
    assert_true(qv_utf8_valid("caf\xc3\xa9 \xf0\x9f\x98\x80", 10));
    assert_true(qv_utf8_valid("a\0b", 3));               /* NUL is a character */
    assert_false(qv_utf8_valid("\xff\xfe", 2));
    assert_false(qv_utf8_valid("\xc0\xaf", 2));         /* overlong '/' */
    assert_false(qv_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
    assert_false(qv_utf8_valid("\xf4\x90\x80\x80", 4)); /* above U+10FFFF */
    assert_false(qv_utf8_valid("\xe2\x82", 2));         /* truncated */
    char out[64];
    assert_int_equal(qv_utf8_lossy(out, "a\xff\xfe" "b", 4), 8);
    assert_string_equal(out, "a\xef\xbf\xbd\xef\xbf\xbd" "b");
    /* one U+FFFD for a truncated sequence, as Rust's from_utf8_lossy */
    assert_int_equal(qv_utf8_lossy(out, "\xf0\x9f\x98" "x", 4), 4);
    assert_string_equal(out, "\xef\xbf\xbd" "x");
    assert_int_equal(qv_utf8_lossy(out, "ok\xc3\xa9", 4), 4);
    assert_string_equal(out, "ok\xc3\xa9");
    assert_true(qv_utf8_valid(out, 4));
}

/* A small deterministic generator, so a failure reproduces. */
static uint64_t rng_next(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 11;
}

static void bitsets_set_count_and_iterate(void **state)
{
    (void)state;
    assert_int_equal(qv_bits_words(0), 0);
    assert_int_equal(qv_bits_words(1), 1);
    assert_int_equal(qv_bits_words(64), 1);
    assert_int_equal(qv_bits_words(65), 2);

    enum { N = 1000, NW = (N + 63) / 64 };
    uint64_t w[NW], v[NW];
    size_t nw = NW;
    bool ref[N] = {0}, ref2[N] = {0};
    memset(w, 0, sizeof w);
    memset(v, 0, sizeof v);
    size_t i;
    qv_bits_it it;
    qv_bits_it_init(&it, w, nw);
    assert_false(qv_bits_next(&it, &i));   /* the empty set yields nothing */
    qv_bits_it_init(&it, w, 0);
    assert_false(qv_bits_next(&it, &i));   /* nor do zero words */

    /* word edges first, then random bits, checked against a bool array */
    size_t edges[] = {0, 63, 64, 127, 128, 999};
    for (size_t k = 0; k < sizeof edges / sizeof *edges; k++) {
        qv_bit_set(w, edges[k]);
        ref[edges[k]] = true;
    }
    uint64_t seed = 7;
    for (int k = 0; k < 600; k++) {
        size_t b = (size_t)(rng_next(&seed) % N);
        bool on = rng_next(&seed) & 1;
        bool changed = qv_bit_put(w, b, on);
        assert_int_equal(changed, ref[b] != on);
        ref[b] = on;
        b = (size_t)(rng_next(&seed) % N);
        qv_bit_set(v, b);
        ref2[b] = true;
    }
    qv_bit_clear(w, 999);
    ref[999] = false;
    size_t want = 0;
    for (size_t b = 0; b < N; b++) {
        assert_int_equal(qv_bit_get(w, b), ref[b]);
        want += ref[b];
    }
    assert_int_equal(qv_bits_count(w, nw), want);

    size_t seen = 0, last = 0;
    for (qv_bits_it_init(&it, w, nw); qv_bits_next(&it, &i); seen++) {
        assert_true(i < N && ref[i]);
        if (seen)
            assert_true(i > last);  /* increasing */
        last = i;
    }
    assert_int_equal(seen, want);

    uint64_t o[NW], a[NW];
    memcpy(o, w, sizeof o);
    memcpy(a, w, sizeof a);
    qv_bits_or(o, v, nw);
    qv_bits_and(a, v, nw);
    for (size_t b = 0; b < N; b++) {
        assert_int_equal(qv_bit_get(o, b), ref[b] || ref2[b]);
        assert_int_equal(qv_bit_get(a, b), ref[b] && ref2[b]);
    }
}

static void hashes_spread_and_siphash_matches_the_paper(void **state)
{
    (void)state;
    /* SipHash-2-4 test vectors of the reference implementation: key
     * 00 01 .. 0f, messages 00 01 .. (n-1) for n = 0, 1, 15. */
    uint64_t k0 = 0x0706050403020100ull, k1 = 0x0f0e0d0c0b0a0908ull;
    uint8_t msg[64];
    for (int i = 0; i < 64; i++)
        msg[i] = (uint8_t)i;
    assert_true(qv_siphash24(msg, 0, k0, k1) == 0x726fdb47dd0e0e31ull);
    assert_true(qv_siphash24(msg, 1, k0, k1) == 0x74f839c593dc67fdull);
    assert_true(qv_siphash24(msg, 15, k0, k1) == 0xa129ca6149be45e5ull);

    /* Every prefix of a buffer (lengths 0..64, across the 8-byte steps) and
     * a trailing NUL give distinct hashes. */
    uint64_t h[65];
    for (size_t n = 0; n <= 64; n++) {
        h[n] = qv_hash_bytes(msg, n);
        for (size_t m = 0; m < n; m++)
            assert_true(h[m] != h[n]);
    }
    assert_true(qv_hash_bytes("a", 1) != qv_hash_bytes("a\0", 2));

    /* Avalanche: one flipped input bit flips about half the output bits. */
    uint64_t seed = 11, flips = 0, trials = 0;
    for (int k = 0; k < 200; k++) {
        uint64_t x = rng_next(&seed);
        for (int b = 0; b < 64; b++, trials++)
            flips += (uint64_t)__builtin_popcountll(qv_hash_mix64(x) ^ qv_hash_mix64(x ^ 1ull << b));
    }
    double mean = (double)flips / (double)trials;
    assert_true(mean > 30 && mean < 34);

    /* Low bits are what tables use: 8,192 similar keys into 1,024 buckets
     * (expected load 8) never pile up; nor do sequential point ids. */
    enum { B = 1024 };
    unsigned load[B] = {0}, pload[B] = {0}, worst = 0, pworst = 0;
    for (int k = 0; k < 8 * B; k++) {
        char key[32];
        int n = snprintf(key, sizeof key, "key%d", k);
        unsigned *l = &load[qv_hash_bytes(key, (size_t)n) & (B - 1)];
        if (++*l > worst)
            worst = *l;
        qv_point_id id = {.lo = (uint64_t)k};
        l = &pload[pid_hash(&id) & (B - 1)];
        if (++*l > pworst)
            pworst = *l;
    }
    assert_true(worst < 24);
    assert_true(pworst < 24);
    /* an integer id and a UUID with the same words hash apart */
    qv_point_id i5 = {.lo = 5}, u5 = {.lo = 5, .uuid = true};
    assert_true(pid_hash(&i5) != pid_hash(&u5));
}

static void utf8_codec_round_trips_and_agrees_with_valid(void **state)
{
    (void)state;
    char b[8];
    uint32_t cp;
    for (uint32_t c = 0; c < 0x110000; c++) {
        if (c >= 0xD800 && c <= 0xDFFF)
            continue;
        size_t n = qv_utf8_encode(c, b);
        assert_int_equal(n, c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4);
        assert_true(qv_utf8_valid(b, n));
        assert_int_equal(qv_utf8_decode(b, n, &cp), n);
        assert_int_equal(cp, c);
        if (n > 1)
            assert_int_equal(qv_utf8_decode(b, n - 1, &cp), 0);  /* truncated */
    }
    /* Random bytes: decode takes exactly the one character valid() takes. */
    uint64_t seed = 3;
    for (int k = 0; k < 200000; k++) {
        uint64_t r = rng_next(&seed);
        size_t len = 1 + (size_t)(r % 4);
        for (size_t i = 0; i < len; i++)
            b[i] = (char)(0x80 | (rng_next(&seed) & 0x7f));  /* lead >= 0x80 */
        if (r & 16)
            b[1] = (char)(0x80 | (rng_next(&seed) & 0x3f));  /* often a continuation */
        size_t n = qv_utf8_decode(b, len, &cp);
        if (n)
            assert_true(qv_utf8_valid(b, n));
        else
            for (size_t m = 1; m <= len; m++)
                assert_false(qv_utf8_valid(b, m));
    }
    assert_int_equal(qv_utf8_decode("\xc0\xaf", 2, &cp), 0);         /* overlong */
    assert_int_equal(qv_utf8_decode("\xed\xa0\x80", 3, &cp), 0);     /* surrogate */
    assert_int_equal(qv_utf8_decode("\xf4\x90\x80\x80", 4, &cp), 0); /* > U+10FFFF */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(arena_aligns_and_grows),
        cmocka_unit_test(buf_appends_and_detaches),
        cmocka_unit_test(files_replace_atomically),
        cmocka_unit_test(datetimes_parse_to_utc),
        cmocka_unit_test(utf8_validates_and_repairs),
        cmocka_unit_test(bitsets_set_count_and_iterate),
        cmocka_unit_test(hashes_spread_and_siphash_matches_the_paper),
        cmocka_unit_test(utf8_codec_round_trips_and_agrees_with_valid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
