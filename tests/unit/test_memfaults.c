/*
 * test_memfaults.c — the write path when memory runs out, SQLite-style:
 * a sequence of writes (every kind of operation, alone and in batches)
 * over a collection with a payload index, with one allocation failing or
 * memory that stays gone: for every allocation k made while the sequence runs (request
 * parsing, ops_decode, the writer's group, store_apply, payload index
 * updates, the log), fail the k-th and check
 *   - a write that answered an error changed nothing readers can see, and
 *     answered out of memory (QV_NOMEM), or not found for a point that a
 *     failed write would have made;
 *   - after close and reopen (recovery), readers see exactly what they saw
 *     before: a record logged and then not applied never comes back.
 * The engine is linked statically, so -Wl,--wrap (tests/unit/CMakeLists.txt)
 * sends its malloc, calloc, realloc, strdup and strndup here; libc's own
 * allocations are not counted.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "quiver.h"
#include "util/fsutil.h"

/* ---- the allocation countdown ------------------------------------------- */

/* Armed: allocations to let through before the one that fails; -1 off.
 * Atomic: the writer thread allocates too. */
static atomic_long fail_in = -1;
static atomic_int  fired;
static atomic_bool sticky;  /* once failing, every allocation fails (memory is gone) */

static bool alloc_fails(void)
{
    long k = atomic_load(&fail_in);
    if (k == 0 && atomic_load(&sticky)) {
        atomic_fetch_add(&fired, 1);
        return true;
    }
    while (k >= 0) {
        if (atomic_compare_exchange_weak(&fail_in, &k, k - 1)) {
            if (k == 0) {
                if (atomic_load(&sticky))
                    atomic_store(&fail_in, 0);
                atomic_fetch_add(&fired, 1);
                return true;
            }
            return false;
        }
    }
    return false;
}

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void *__real_aligned_alloc(size_t al, size_t n);
void *__wrap_malloc(size_t n) { return alloc_fails() ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t m) { return alloc_fails() ? NULL : __real_calloc(n, m); }
void *__wrap_realloc(void *p, size_t n) { return alloc_fails() ? NULL : __real_realloc(p, n); }
char *__wrap_strdup(const char *s) { return alloc_fails() ? NULL : __real_strdup(s); }
char *__wrap_strndup(const char *s, size_t n) { return alloc_fails() ? NULL : __real_strndup(s, n); }
void *__wrap_aligned_alloc(size_t al, size_t n) { return alloc_fails() ? NULL : __real_aligned_alloc(al, n); }

/* ---- the sequence -------------------------------------------------------- */

static char *state(qv_db *db)
{
    static const char req[] = "{\"limit\":1000,\"with_payload\":true,\"with_vector\":true}";
    char *json = NULL, *out;
    size_t len;
    qv_error err;
    assert_int_equal(qv_points_scroll(db, "c", req, sizeof req - 1, &json, &len, &err), QV_OK);
    /* The payload index too: a failed write must not leave an entry there. */
    static const char cnt[] = "{\"filter\":{\"must\":[{\"key\":\"a\",\"match\":{\"value\":1}}]},"
                              "\"exact\":true}";
    char *c = NULL;
    assert_int_equal(qv_points_count(db, "c", cnt, sizeof cnt - 1, &c, &len, &err), QV_OK);
    /* And the sparse inverted index: no posting of a write that failed. */
    static const char sp[] = "{\"vector\":{\"name\":\"s\",\"vector\":{\"indices\":[1,2,3],"
                             "\"values\":[1,1,1]}},\"limit\":10}";
    char *h = NULL;
    assert_int_equal(qv_points_search(db, "c", sp, sizeof sp - 1, &h, &len, &err), QV_OK);
    assert_true(asprintf(&out, "%s\n%s\n%s", json, c, h) > 0);
    qv_free(json);
    qv_free(c);
    qv_free(h);
    return out;
}

static const struct {
    qv_update_kind kind;
    const char    *body;
} writes[] = {
    {QV_UPDATE_UPSERT, "{\"points\":[{\"id\":1,\"vector\":[1,0],\"payload\":{\"a\":1,\"t\":\"x y\"}}]}"},
    {QV_UPDATE_UPSERT, "{\"points\":[{\"id\":2,\"vector\":[0,1],\"payload\":{\"a\":1}},"
                       "{\"id\":\"6f1c2c1e-5b7a-4a8e-9d3b-0c9a1e2f3a4b\",\"vector\":[1,1]}]}"},
    {QV_UPDATE_BATCH, "{\"operations\":[{\"upsert\":{\"points\":[{\"id\":4,\"vector\":[2,2]}]}},"
                      "{\"set_payload\":{\"payload\":{\"a\":1,\"b\":[1,2,3]},\"points\":[1,4]}},"
                      "{\"delete_payload\":{\"keys\":[\"t\"],\"points\":[1]}}]}"},
    {QV_UPDATE_DELETE, "{\"points\":[2]}"},
    {QV_UPDATE_SET_PAYLOAD, "{\"payload\":{\"a\":1,\"c\":{\"d\":\"e\"}},\"points\":[4]}"},
    {QV_UPDATE_UPSERT, "{\"points\":[{\"id\":5,\"vector\":[5,5],\"payload\":{\"a\":[1,2]}}]}"},
    /* Every kind of operation in one batch, a filter among them. */
    {QV_UPDATE_BATCH, "{\"operations\":["
                      "{\"upsert\":{\"points\":[{\"id\":3,\"vector\":[1,1],\"payload\":{\"a\":1,\"n\":3}}]}},"
                      "{\"overwrite_payload\":{\"payload\":{\"n\":7},\"points\":[4]}},"
                      "{\"update_vectors\":{\"points\":[{\"id\":4,\"vector\":[3,3]}]}},"
                      "{\"delete_payload\":{\"keys\":[\"n\"],\"filter\":{\"must\":[{\"key\":\"a\",\"match\":{\"value\":1}}]}}},"
                      "{\"clear_payload\":{\"points\":[5]}},"
                      "{\"delete_vectors\":{\"vector\":[\"\"],\"points\":[3]}},"
                      "{\"delete\":{\"points\":[1]}}]}"},
    /* Sparse vectors: posted, replaced, removed with their vector or point. */
    {QV_UPDATE_UPSERT, "{\"points\":[{\"id\":6,\"vector\":{\"\":[1,2],\"s\":{\"indices\":[3,1],\"values\":[1,2]}}},"
                       "{\"id\":7,\"vector\":{\"\":[0,1],\"s\":{\"indices\":[1,9],\"values\":[5,1]}}}]}"},
    {QV_UPDATE_BATCH, "{\"operations\":["
                      "{\"update_vectors\":{\"points\":[{\"id\":6,\"vector\":{\"s\":{\"indices\":[2],\"values\":[4]}}}]}},"
                      "{\"upsert\":{\"points\":[{\"id\":8,\"vector\":{\"\":[1,1],\"s\":{\"indices\":[3],\"values\":[7]}}}]}},"
                      "{\"delete_vectors\":{\"vector\":[\"s\"],\"points\":[7]}}]}"},
    {QV_UPDATE_DELETE, "{\"points\":[6]}"},
};
#define N_WRITES (sizeof writes / sizeof *writes)

/* One round: allocation k after the collection and its index exist fails.
 * Returns whether it fired; *failed counts writes that answered an error. */
static bool round_k(long k, int *failed)
{
    char dir[] = "/tmp/qv-memfaults-XXXXXX";
    assert_non_null(mkdtemp(dir));
    qv_db *db;
    qv_error err;
    assert_int_equal(qv_open(dir, &db, &err), QV_OK);
    static const char cfg[] = "{\"vectors\":{\"size\":2,\"distance\":\"Dot\"},\"sparse_vectors\":{\"s\":{}}}";
    assert_int_equal(qv_collection_create(db, "c", cfg, sizeof cfg - 1, &err), QV_OK);
    qv_write_opts o = {.wait = true};
    qv_update_result res;
    static const char idx[] = "{\"field_name\":\"a\",\"field_schema\":\"integer\"}";
    assert_int_equal(qv_index_create(db, "c", idx, sizeof idx - 1, &o, &res, &err), QV_OK);

    char *seen = state(db);
    atomic_store(&fired, 0);
    for (size_t i = 0; i < N_WRITES; i++) {
        if (i == 0)
            atomic_store(&fail_in, k);
        qv_status rc = qv_points_update(db, "c", writes[i].kind, writes[i].body,
                                        strlen(writes[i].body), &o, &res, &err);
        long left = atomic_exchange(&fail_in, -1);  /* reads below allocate freely */
        char *now = state(db);
        if (rc != QV_OK) {
            /* QV_IO: a record that could not be voided broke the log. */
            if (rc != QV_NOMEM && rc != QV_NOT_FOUND && !(rc == QV_IO && atomic_load(&sticky)))
                fail_msg("k=%ld write %zu: status %d: %s", k, i, rc, err.msg);
            assert_string_equal(now, seen);
            (*failed)++;
        }
        free(seen);
        seen = now;
        atomic_store(&fail_in, left);
    }
    atomic_store(&fail_in, -1);
    bool hit = atomic_load(&fired) > 0;
    qv_close(db);

    assert_int_equal(qv_open(dir, &db, &err), QV_OK);
    char *after = state(db);
    if (strcmp(after, seen) != 0)
        fail_msg("k=%ld: recovery differs\nreaders saw: %s\nrecovered:   %s", k, seen, after);
    /* The collection takes writes again. */
    assert_int_equal(qv_points_update(db, "c", writes[0].kind, writes[0].body,
                                      strlen(writes[0].body), &o, &res, &err),
                     QV_OK);
    free(after);
    free(seen);
    qv_close(db);
    qv_rm_rf(dir);
    return hit;
}

static void loop(bool sticky_)
{
    atomic_store(&sticky, sticky_);
    int rounds = 0, failed = 0;
    for (long k = 0; k < 100000; k++) {
        int f = 0;
        if (!round_k(k, &f)) {
            assert_int_equal(f, 0);
            assert_true(rounds >= (int)N_WRITES * 3);  /* every write allocates several times */
            print_message("%d rounds, %d writes failed\n", rounds, failed);
            assert_true(failed > 0);
            return;
        }
        rounds++;
        failed += f;
    }
    fail_msg("allocations kept failing past 100000");
}

static void test_every_allocation_fails_once(void **state_)
{
    (void)state_;
    loop(false);
}

/* From allocation k on, every one fails for the rest of the writes. */
static void test_memory_runs_out(void **state_)
{
    (void)state_;
    loop(true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_allocation_fails_once),
        cmocka_unit_test(test_memory_runs_out),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
