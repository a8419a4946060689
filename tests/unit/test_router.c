/* test_router.c — route matching and %-decoding (server/router.h). */
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
    assert_string_equal(m.params[0], "books");
    assert_string_equal(m.params[1], "42");
}

static void literal_wins_over_param_for_its_method(void **state)
{
    rt_match m;
    assert_int_equal(rt_find(routes, N, "POST", "/collections/aliases", &m), RT_FOUND);
    assert_ptr_equal(m.route->handler, &tag_aliases);
    assert_int_equal(rt_find(routes, N, "PUT", "/collections/aliases", &m), RT_FOUND);
    assert_ptr_equal(m.route->handler, &tag_put);
    assert_string_equal(m.params[0], "aliases");
}

static void decodes_each_segment(void **state)
{
    rt_match m;
    assert_int_equal(rt_find(routes, N, "GET", "/collections/a%2Fb", &m), RT_FOUND);
    assert_string_equal(m.params[0], "a/b");
    assert_int_equal(rt_find(routes, N, "GET", "/collections/caf%C3%A9", &m), RT_FOUND);
    assert_string_equal(m.params[0], "caf\xc3\xa9");
}

static void trailing_and_double_slashes(void **state)
{
    rt_match m;
    assert_int_equal(rt_find(routes, N, "GET", "/collections/", &m), RT_FOUND);
    assert_ptr_equal(m.route->handler, &tag_list);
    assert_int_equal(rt_find(routes, N, "GET", "//collections//x", &m), RT_FOUND);
    assert_string_equal(m.params[0], "x");
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
