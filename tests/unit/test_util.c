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
#include "util/buf.h"
#include "util/datetime.h"
#include "util/fsutil.h"
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(arena_aligns_and_grows),
        cmocka_unit_test(buf_appends_and_detaches),
        cmocka_unit_test(files_replace_atomically),
        cmocka_unit_test(datetimes_parse_to_utc),
        cmocka_unit_test(utf8_validates_and_repairs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
