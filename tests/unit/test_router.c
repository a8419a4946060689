/* test_router.c — route matching and %-decoding into counted, valid-UTF-8
 * segments (server/router.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "server/router.h"

static int tag_root, tag_list, tag_aliases, tag_get, tag_put, tag_point;

static const rt_route routes[] = {
    {"GET", "/", &tag_root, 0},
    {"GET", "/collections", &tag_list, 0},
    {"POST", "/collections/aliases", &tag_aliases, 0},
    {"GET", "/collections/{name}", &tag_get, 0},
    {"PUT", "/collections/{name}", &tag_put, 0},
    {"GET", "/collections/{name}/points/{id}", &tag_point, 0},
};
#define N (sizeof routes / sizeof *routes)

static void finds_literal_and_root(void **state)
{
    rt_match m;
    assert_int_equal(rt_find(routes, N, "GET", "/", &m), RT_FOUND);
    assert_ptr_equal(m.route->handler, &tag_root);
    assert_int_equal(rt_find(routes, N, "GET", "/collections", &m), RT_FOUND);
    assert_ptr_equal(m.route->handler, &tag_list);
    assert_int_equal(m.n_params, 0);
}

static void extracts_params(void **state)
{
    rt_match m;
    assert_int_equal(rt_find(routes, N, "GET", "/collections/books/points/42", &m), RT_FOUND);
    assert_ptr_equal(m.route->handler, &tag_point);
    assert_int_equal(m.n_params, 2);
    assert_string_equal(m.params[0].ptr, "books");
    assert_string_equal(m.params[1].ptr, "42");
}

static void literal_wins_over_param_for_its_method(void **state)
{
    rt_match m;
    assert_int_equal(rt_find(routes, N, "POST", "/collections/aliases", &m), RT_FOUND);
    assert_ptr_equal(m.route->handler, &tag_aliases);
    assert_int_equal(rt_find(routes, N, "PUT", "/collections/aliases", &m), RT_FOUND);
    assert_ptr_equal(m.route->handler, &tag_put);
    assert_string_equal(m.params[0].ptr, "aliases");
}

static void decodes_each_segment(void **state)
{
    rt_match m;
    assert_int_equal(rt_find(routes, N, "GET", "/collections/a%2Fb", &m), RT_FOUND);
    assert_string_equal(m.params[0].ptr, "a/b");
    assert_int_equal(rt_find(routes, N, "GET", "/collections/caf%C3%A9", &m), RT_FOUND);
    assert_string_equal(m.params[0].ptr, "caf\xc3\xa9");
}

static void trailing_and_double_slashes(void **state)
{
    rt_match m;
    assert_int_equal(rt_find(routes, N, "GET", "/collections/", &m), RT_FOUND);
    assert_ptr_equal(m.route->handler, &tag_list);
    assert_int_equal(rt_find(routes, N, "GET", "//collections//x", &m), RT_FOUND);
    assert_string_equal(m.params[0].ptr, "x");
}

static void not_found_and_method_not_allowed(void **state)
{
    rt_match m;
    assert_int_equal(rt_find(routes, N, "GET", "/nope", &m), RT_NOT_FOUND);
    assert_int_equal(rt_find(routes, N, "GET", "/collections/x/points", &m), RT_NOT_FOUND);
    assert_int_equal(rt_find(routes, N, "DELETE", "/collections", &m), RT_METHOD_NOT_ALLOWED);
    assert_null(m.route);
}

static void bad_paths(void **state)
{
    rt_match m;
    assert_int_equal(rt_find(routes, N, "GET", "/collections/%zz", &m), RT_BAD_PATH);
    assert_int_equal(rt_find(routes, N, "GET", "/collections/%4", &m), RT_BAD_PATH);
    char deep[200] = "";
    for (int i = 0; i < 20; i++)
        strcat(deep, "/a");
    assert_int_equal(rt_find(routes, N, "GET", deep, &m), RT_BAD_PATH);
    static char longp[RT_MAX_PATH + 10];
    memset(longp, 'a', sizeof longp - 1);
    longp[0] = '/';
    assert_int_equal(rt_find(routes, N, "GET", longp, &m), RT_BAD_PATH);
}

static void unescape_contract(void **state)
{
    char out[16];
    assert_int_equal(rt_unescape(out, "a%20b+c", 7), 5);
    assert_string_equal(out, "a b+c");
    assert_int_equal(rt_unescape(out, "%", 1), -1);
    assert_int_equal(rt_unescape(out, "%0", 2), -1);
    assert_int_equal(rt_unescape(out, "%00", 3), 1);
    assert_int_equal(out[0], 0);
}

static void segments_are_counted(void **state)
{
    rt_match m;
    /* %00 is a byte of the segment, not its end */
    assert_int_equal(rt_find(routes, N, "GET", "/collections/a%00b/points/n%00zz", &m), RT_FOUND);
    assert_ptr_equal(m.route->handler, &tag_point);
    assert_int_equal(m.params[0].len, 3);
    assert_memory_equal(m.params[0].ptr, "a\0b", 3);
    assert_true(rt_has_nul(m.params[0]));
    assert_int_equal(m.params[1].len, 4);
    assert_true(rt_has_nul(m.params[1]));
    assert_true(rt_name_is(m.names[0], "name"));
    assert_true(rt_name_is(m.names[1], "id"));
    assert_false(rt_name_is(m.names[1], "i"));
    assert_int_equal(rt_find(routes, N, "GET", "/collections/plain", &m), RT_FOUND);
    assert_false(rt_has_nul(m.params[0]));
    assert_int_equal(m.params[0].len, 5);
    /* a literal segment with a NUL in it matches nothing */
    assert_int_equal(rt_find(routes, N, "GET", "/collections%00", &m), RT_NOT_FOUND);
}

static void bad_utf8_becomes_replacement_chars(void **state)
{
    rt_match m;
    assert_int_equal(rt_find(routes, N, "PUT", "/collections/%FF%FE", &m), RT_FOUND);
    assert_ptr_equal(m.route->handler, &tag_put);
    assert_int_equal(m.params[0].len, 6);
    assert_string_equal(m.params[0].ptr, "\xef\xbf\xbd\xef\xbf\xbd");
    assert_true(m.params[0].repaired);
    /* raw (unescaped) high bytes too, and a truncated sequence is one U+FFFD */
    assert_int_equal(rt_find(routes, N, "GET", "/collections/x\xff\xf0\x9f\x98", &m), RT_FOUND);
    assert_string_equal(m.params[0].ptr, "x\xef\xbf\xbd\xef\xbf\xbd");
    /* valid multi-byte names are kept as they are */
    assert_int_equal(rt_find(routes, N, "GET", "/collections/%F0%9F%98%80", &m), RT_FOUND);
    assert_string_equal(m.params[0].ptr, "\xf0\x9f\x98\x80");
    assert_false(m.params[0].repaired);
}

static void worst_case_path_fits_scratch(void **state)
{
    /* every byte of the longest path is invalid UTF-8: 3 bytes each */
    static char p[RT_MAX_PATH];
    size_t n = 0;
    p[n++] = '/';
    memcpy(p + n, "collections/", 12);
    n += 12;
    while (n < RT_MAX_PATH - 1)
        p[n++] = '\xff';
    p[n] = '\0';
    rt_match m;
    assert_int_equal(rt_find(routes, N, "GET", p, &m), RT_FOUND);
    assert_int_equal(m.params[0].len, 3 * (RT_MAX_PATH - 1 - 13));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(finds_literal_and_root),
        cmocka_unit_test(extracts_params),
        cmocka_unit_test(literal_wins_over_param_for_its_method),
        cmocka_unit_test(decodes_each_segment),
        cmocka_unit_test(trailing_and_double_slashes),
        cmocka_unit_test(not_found_and_method_not_allowed),
        cmocka_unit_test(bad_paths),
        cmocka_unit_test(unescape_contract),
        cmocka_unit_test(segments_are_counted),
        cmocka_unit_test(bad_utf8_becomes_replacement_chars),
        cmocka_unit_test(worst_case_path_fits_scratch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
