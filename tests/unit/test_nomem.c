/*
 * test_nomem.c — every allocation of a write can fail, SQLite-style: for
 * each k, the k-th allocation made while one write request runs (parsing,
 * encoding, the log, decoding, apply, index upkeep) fails, once. Then
 *   - the write either completed (and shows) or failed and shows nothing;
 *   - a failure is a server error (QV_NOMEM), or a disk-class error;
 *   - after close and reopen readers see exactly what they saw: a record
 *     that was logged but could not be applied does not come back.
 * Allocations are counted through the linker's --wrap of malloc, calloc
 * and realloc over the engine library (tests/unit/CMakeLists.txt).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quiver.h"
#include "util/fsutil.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);

static atomic_long countdown = -1;  /* allocations to let through; -1 = off */
static atomic_int  fired;

static bool fail_now(void)
{
    long c = atomic_load(&countdown);
    while (c >= 0) {
        if (atomic_compare_exchange_weak(&countdown, &c, c - 1)) {
            if (c == 0) {
                atomic_store(&fired, 1);
                return true;
            }
            return false;
        }
    }
    return false;
}

void *__wrap_malloc(size_t n) { return fail_now() ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t m) { return fail_now() ? NULL : __real_calloc(n, m); }
void *__wrap_realloc(void *p, size_t n) { return fail_now() ? NULL : __real_realloc(p, n); }

static char *scroll(qv_db *db)
{
    static const char req[] = "{\"limit\":1000,\"with_payload\":true,\"with_vector\":true}";
    char *json = NULL;
    size_t len;
    qv_error err;
    assert_int_equal(qv_points_scroll(db, "c", req, sizeof req - 1, &json, &len, &err), QV_OK);
    return json;
}

static const char setup_points[] =
    "{\"points\":[{\"id\":1,\"vector\":[1,0],\"payload\":{\"k\":\"a\",\"n\":1}},"
    "{\"id\":2,\"vector\":[0,1],\"payload\":{\"k\":\"b\"}}]}";
/* The write under test: a batch touching points, payloads, vectors and the
 * indexed field. */
static const char batch[] =
    "{\"operations\":["
    "{\"upsert\":{\"points\":[{\"id\":3,\"vector\":[1,1],\"payload\":{\"k\":\"c\",\"n\":3}},"
    "{\"id\":\"5c56c793-69f3-4fbf-87e6-c4bf54c28c26\",\"vector\":[2,1],\"payload\":{\"k\":\"u\"}}]}},"
    "{\"set_payload\":{\"payload\":{\"k\":\"z\",\"deep\":{\"x\":[1,2]}},\"points\":[1]}},"
    "{\"overwrite_payload\":{\"payload\":{\"n\":7},\"points\":[2]}},"
    "{\"update_vectors\":{\"points\":[{\"id\":2,\"vector\":[3,3]}]}},"
    "{\"delete_payload\":{\"keys\":[\"n\"],\"filter\":{\"must\":[{\"key\":\"k\",\"match\":{\"value\":\"c\"}}]}}},"
    "{\"delete\":{\"points\":[1]}}]}";

static qv_db *fresh(char *dir)
{
    qv_db *db;
    qv_error err;
    assert_non_null(mkdtemp(dir));
    assert_int_equal(qv_open(dir, &db, &err), QV_OK);
    static const char cfg[] = "{\"vectors\":{\"size\":2,\"distance\":\"Dot\"}}";
    assert_int_equal(qv_collection_create(db, "c", cfg, sizeof cfg - 1, &err), QV_OK);
    qv_write_opts o = {.wait = true};
    qv_update_result res;
    static const char idx[] = "{\"field_name\":\"k\",\"field_schema\":\"keyword\"}";
    assert_int_equal(qv_index_create(db, "c", idx, sizeof idx - 1, &o, &res, &err), QV_OK);
    assert_int_equal(qv_points_update(db, "c", QV_UPDATE_UPSERT, setup_points,
                                      sizeof setup_points - 1, &o, &res, &err), QV_OK);
    return db;
}

static void test_every_allocation_of_a_batch(void **state)
{
    int rounds = 0, failed = 0;
    for (long k = 0; k < 100000; k++) {
        char dir[] = "/tmp/qv-nomem-XXXXXX";
        qv_db *db = fresh(dir);
        char *before = scroll(db);
        qv_write_opts o = {.wait = true};
        qv_update_result res;
        qv_error err;
        atomic_store(&fired, 0);
        atomic_store(&countdown, k);
        qv_status rc = qv_points_update(db, "c", QV_UPDATE_BATCH, batch, sizeof batch - 1, &o,
                                        &res, &err);
        atomic_store(&countdown, -1);
        bool hit = atomic_load(&fired);
        char *seen = scroll(db);
        if (rc != QV_OK) {
            if (rc != QV_NOMEM && rc != QV_IO)
                fail_msg("k=%ld: %s: %s", k, qv_status_name(rc), err.msg);
            if (getenv("QV_TEST_VERBOSE"))
                print_message("k=%ld: %s\n", k, err.msg);
            assert_string_equal(seen, before);  /* nothing of it shows */
            failed++;
        } else {
            assert_string_not_equal(seen, before);
        }
        qv_close(db);
        assert_int_equal(qv_open(dir, &db, &err), QV_OK);
        char *after = scroll(db);
        if (strcmp(after, seen) != 0)
            fail_msg("k=%ld (%s): recovery differs from what readers saw:\n%s\n%s", k,
                     rc ? err.msg : "ok", seen, after);
        free(after);
        free(seen);
        free(before);
        qv_close(db);
        qv_rm_rf(dir);
        rounds++;
        if (!hit) {
            assert_int_equal(rc, QV_OK);
            break;
        }
    }
    print_message("%d failure points, %d of them failed the write\n", rounds - 1, failed);
    assert_true(rounds > 20);
    assert_true(failed > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_allocation_of_a_batch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
