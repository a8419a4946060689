/* test_topk.c — the bounded top-k (vector/topk) against sorting everything. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vector/topk.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)  /* xorshift64*: fixed seed, so failures reproduce */
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545F4914F6CDD1Dull;
}

/* The tie order of the reference sort: by ids[slot] when ids is set. */
static const uint64_t *ref_ids;

static int by_id(uint32_t a, uint32_t b, void *ctx)
{
    const uint64_t *ids = ctx;
    return ids[a] < ids[b] ? -1 : ids[a] > ids[b];
}

static int ref_cmp(const void *pa, const void *pb)
{
    const topk_item *a = pa, *b = pb;
    if (a->order != b->order)
        return a->order < b->order ? -1 : 1;
    if (ref_ids)
        return by_id(a->slot, b->slot, (void *)ref_ids);
    return a->slot < b->slot ? -1 : a->slot > b->slot;
}

/* Push n random items into a top-k and compare with sorting them all.
 * distinct: how many different orders (few = many ties). */
static void run_case(uint32_t k, uint32_t n, uint32_t distinct, const uint64_t *ids, bool own_mem)
{
    topk_item *all = malloc((n + 1) * sizeof *all);
    topk_item *mem = malloc((k + 1) * sizeof *mem);
    assert_non_null(all);
    assert_non_null(mem);
    topk t;
    assert_int_equal(topk_init(&t, k, own_mem ? NULL : mem, ids ? by_id : NULL, (void *)ids, NULL), QV_OK);
    /* Slots in a random order, so that ties arrive in no particular order. */
    for (uint32_t i = 0; i < n; i++)
        all[i].slot = i;
    for (uint32_t i = n; i > 1; i--) {
        uint32_t j = (uint32_t)(rnd() % i);
        uint32_t s = all[i - 1].slot;
        all[i - 1].slot = all[j].slot;
        all[j].slot = s;
    }
    for (uint32_t i = 0; i < n; i++) {
        all[i].order = (float)(rnd() % distinct) * 0.5f - 3.0f;
        float before = topk_worst(&t);
        bool kept = topk_push(&t, all[i].order, all[i].slot);
        if (!topk_full(&t) || k == 0)
            assert_true(k == 0 ? !kept : kept);
        if (all[i].order > before)
            assert_false(kept);  /* worse than the worst kept: never kept */
        assert_true(t.n <= k);
    }
    ref_ids = ids;
    qsort(all, n, sizeof *all, ref_cmp);
    uint32_t want = n < k ? n : k;
    if (want == k && k > 0)
        assert_true(topk_worst(&t) == all[k - 1].order);
    uint32_t got = topk_sorted(&t);
    assert_int_equal(got, want);
    for (uint32_t i = 0; i < want; i++) {
        assert_true(t.items[i].order == all[i].order);
        assert_int_equal(t.items[i].slot, all[i].slot);
    }
    if (!own_mem && k > 0)
        assert_ptr_equal(t.items, mem);
    topk_free(&t);
    free(all);
    free(mem);
}

static void against_sorting(void **state)
{
    static const uint32_t ks[] = {0, 1, 2, 3, 7, 10, 64, 100, 1000};
    static const uint32_t ns[] = {0, 1, 5, 10, 99, 100, 101, 2000};
    static const uint32_t ds[] = {1, 3, 1000000};
    for (size_t a = 0; a < sizeof ks / sizeof ks[0]; a++)
        for (size_t b = 0; b < sizeof ns / sizeof ns[0]; b++)
            for (size_t c = 0; c < sizeof ds / sizeof ds[0]; c++) {
                run_case(ks[a], ns[b], ds[c], NULL, false);
                run_case(ks[a], ns[b], ds[c], NULL, true);
            }
}

/* Ties by the caller's comparator (ids unrelated to slots). */
static void caller_tie_break(void **state)
{
    uint64_t *ids = malloc(5000 * sizeof *ids);
    assert_non_null(ids);
    for (uint32_t i = 0; i < 5000; i++)
        ids[i] = rnd();
    static const uint32_t ks[] = {1, 10, 100, 1000};
    for (size_t a = 0; a < sizeof ks / sizeof ks[0]; a++) {
        run_case(ks[a], 5000, 2, ids, true);
        run_case(ks[a], 5000, 50, ids, false);
    }
    /* All orders equal: exactly the k smallest ids are kept. */
    topk t;
    assert_int_equal(topk_init(&t, 3, NULL, by_id, ids, NULL), QV_OK);
    for (uint32_t s = 0; s < 5000; s++)
        topk_push(&t, 1.0f, s);
    assert_int_equal(topk_sorted(&t), 3);
    uint32_t cnt = 0;
    for (uint32_t s = 0; s < 5000; s++)
        cnt += ids[s] < ids[t.items[2].slot];
    assert_int_equal(cnt, 2);
    assert_true(ids[t.items[0].slot] < ids[t.items[1].slot]);
    topk_free(&t);
    free(ids);
}

static void nan_and_infinities(void **state)
{
    topk t;
    topk_item mem[2];
    assert_int_equal(topk_init(&t, 2, mem, NULL, NULL, NULL), QV_OK);
    assert_true(isinf(topk_worst(&t)));
    assert_false(topk_push(&t, NAN, 1));
    assert_int_equal(t.n, 0);
    assert_true(topk_push(&t, INFINITY, 2));
    assert_true(topk_push(&t, -INFINITY, 3));
    assert_true(topk_full(&t));
    assert_true(topk_worst(&t) == INFINITY);
    assert_true(topk_push(&t, 5.0f, 4));
    assert_false(topk_push(&t, NAN, 5));
    assert_false(topk_push(&t, 6.0f, 6));
    assert_int_equal(topk_sorted(&t), 2);
    assert_int_equal(mem[0].slot, 3);
    assert_int_equal(mem[1].slot, 4);
    /* Reset: empty again, same memory. */
    topk_reset(&t);
    assert_int_equal(t.n, 0);
    assert_true(topk_push(&t, 1.0f, 9));
    assert_int_equal(topk_sorted(&t), 1);
    assert_int_equal(mem[0].slot, 9);
    topk_free(&t);
}

static void zero_k(void **state)
{
    topk t;
    assert_int_equal(topk_init(&t, 0, NULL, NULL, NULL, NULL), QV_OK);
    assert_false(topk_push(&t, 1.0f, 1));
    assert_true(topk_full(&t));
    assert_int_equal(topk_sorted(&t), 0);
    topk_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(against_sorting),
        cmocka_unit_test(caller_tie_break),
        cmocka_unit_test(nan_and_infinities),
        cmocka_unit_test(zero_k),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
