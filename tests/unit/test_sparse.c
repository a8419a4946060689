/* test_sparse.c — the sparse inverted index (vector/sparse) against brute
 * force, through random inserts, updates, deletes and slot reuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vector/sparse.h"

static uint64_t rng = 0x5EED5EEDull;

static uint64_t rnd(void)  /* xorshift64*: fixed seed, so failures reproduce */
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545F4914F6CDD1Dull;
}

#define SLOTS 1500
#define DIMS  400
#define MAXNNZ 24

/* The model: per slot a sorted vector, or none. */
typedef struct mvec {
    bool     has;
    uint32_t n;
    uint32_t idx[MAXNNZ];
    float    val[MAXNNZ];
} mvec;

static mvec model[SLOTS];

/* Skewed dimensions (small ones common, as in text), unique, sorted. */
static void random_vec(mvec *v, uint32_t max_nnz)
{
    uint32_t want = (uint32_t)(rnd() % (max_nnz + 1)), n = 0;
    uint32_t tmp[2 * MAXNNZ];
    while (n < want) {
        uint32_t d = (uint32_t)(rnd() % (rnd() % DIMS + 1));
        bool dup = false;
        for (uint32_t i = 0; i < n; i++)
            dup |= v->idx[i] == d;
        if (dup)
            continue;
        v->idx[n] = d;
        /* some exact zeros and negatives: a shared zero still counts */
        v->val[n] = rnd() % 16 == 0 ? 0.0f : (float)((int64_t)(rnd() % 2001) - 500) / 97.0f;
        n++;
    }
    v->n = n;
    v->has = true;
    assert_true(sparse_sort(v->idx, v->val, n, tmp));
    assert_true(sparse_sorted(v->idx, n));
}

static sparse_vec view(const mvec *v) { return (sparse_vec){v->has ? v->n : 0, v->idx, v->val}; }

typedef struct batch {
    uint32_t slot[8];
    mvec     next[8];
    uint32_t n;
} batch;

static sparse_vec batch_get(void *ctx, size_t i)
{
    batch *b = ctx;
    return view(&b->next[i]);
}

/* Apply one batch as core does: reserve, then per slot remove old, insert new. */
static void apply(sparse_index *x, batch *b)
{
    assert_int_equal(sparse_reserve(x, b->n, batch_get, b, NULL), QV_OK);
    for (uint32_t i = 0; i < b->n; i++) {
        uint32_t s = b->slot[i];
        if (model[s].has)
            sparse_remove(x, s, view(&model[s]));
        if (b->next[i].has)
            sparse_insert(x, s, view(&b->next[i]));
        model[s] = b->next[i];
    }
}

typedef struct ref_hit {
    float    score;
    uint32_t slot;
} ref_hit;

static int ref_cmp(const void *pa, const void *pb)
{
    const ref_hit *a = pa, *b = pb;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    return a->slot < b->slot ? -1 : a->slot > b->slot;
}

/* Dot in increasing index order over shared indices; false when none. */
static bool ref_dot(const mvec *p, const mvec *q, float *out)
{
    float s = 0;
    bool shared = false;
    for (uint32_t i = 0, j = 0; i < p->n && j < q->n;) {
        if (p->idx[i] < q->idx[j]) {
            i++;
        } else if (p->idx[i] > q->idx[j]) {
            j++;
        } else {
            s += p->val[i] * q->val[j];
            shared = true;
            i++, j++;
        }
    }
    *out = s;
    return shared;
}

static bool odd_only(void *ctx, uint32_t slot) { return slot % 2 == 1; }

static void check_search(const sparse_index *x, const mvec *q, uint32_t k, bool filtered, bool thresh, float th)
{
    static ref_hit ref[SLOTS];
    uint32_t n = 0;
    for (uint32_t s = 0; s < SLOTS; s++) {
        float sc;
        if (!model[s].has || !ref_dot(&model[s], q, &sc))
            continue;
        if ((filtered && s % 2 == 0) || (thresh && !(sc > th)))
            continue;
        ref[n++] = (ref_hit){sc, s};
    }
    qsort(ref, n, sizeof *ref, ref_cmp);
    topk t;
    assert_int_equal(topk_init(&t, k, NULL, NULL, NULL, NULL), QV_OK);
    sparse_filter f = {.allow = filtered ? odd_only : NULL, .has_threshold = thresh, .threshold = th};
    assert_int_equal(sparse_search(x, view(q), &f, &t, NULL), QV_OK);
    uint32_t got = topk_sorted(&t);
    assert_int_equal(got, n < k ? n : k);
    for (uint32_t i = 0; i < got; i++) {
        assert_int_equal(t.items[i].slot, ref[i].slot);
        assert_true(-t.items[i].order == ref[i].score);  /* bit for bit: same order of sums */
    }
    topk_free(&t);
}

static void check_stats(const sparse_index *x)
{
    static uint32_t df[DIMS];
    memset(df, 0, sizeof df);
    uint64_t count = 0, postings = 0;
    for (uint32_t s = 0; s < SLOTS; s++) {
        if (!model[s].has || model[s].n == 0)
            continue;
        count++;
        postings += model[s].n;
        for (uint32_t i = 0; i < model[s].n; i++)
            df[model[s].idx[i]]++;
    }
    assert_int_equal(sparse_count(x), count);
    assert_int_equal(sparse_postings(x), postings);
    for (uint32_t d = 0; d < DIMS; d++)
        assert_int_equal(sparse_df(x, d), df[d]);
    assert_int_equal(sparse_df(x, DIMS + 7), 0);
    /* postings are 8 bytes; growth by half keeps the rest bounded */
    assert_true(sparse_memory(x) <= 64 * 1024 + postings * 8 * 2 + DIMS * 40);
}

static void check_mark(const sparse_index *x, const mvec *qs, uint32_t nq)
{
    uint64_t bits[(SLOTS + 63) / 64] = {0};
    sparse_vec v[4];
    for (uint32_t i = 0; i < nq; i++)
        v[i] = view(&qs[i]);
    sparse_mark(x, v, nq, bits);
    for (uint32_t s = 0; s < SLOTS; s++) {
        bool want = false;
        float sc;
        for (uint32_t i = 0; i < nq; i++)
            want |= model[s].has && ref_dot(&model[s], &qs[i], &sc);
        assert_int_equal((bits[s / 64] >> (s % 64)) & 1, want);
    }
}

static void against_brute_force(void **state)
{
    sparse_index *x;
    assert_int_equal(sparse_new(&x, NULL), QV_OK);
    memset(model, 0, sizeof model);
    for (int round = 0; round < 60; round++) {
        /* a batch of distinct slots: insert, replace (slot reuse after a
         * delete included), delete; early rounds mostly insert */
        batch b = {.n = 0};
        uint32_t want = 1 + (uint32_t)(rnd() % 8);
        for (int tries = 0; b.n < want && tries < 100; tries++) {
            uint32_t s = (uint32_t)(rnd() % (round < 20 ? SLOTS : 200));
            bool dup = false;
            for (uint32_t i = 0; i < b.n; i++)
                dup |= b.slot[i] == s;
            if (dup)
                continue;
            b.slot[b.n] = s;
            if (model[s].has && rnd() % 3 == 0)
                b.next[b.n] = (mvec){0};  /* delete */
            else
                random_vec(&b.next[b.n], MAXNNZ);
            b.n++;
        }
        apply(x, &b);
        /* bulk: many inserts at once, so lists grow past their first size */
        if (round % 10 == 0)
            for (uint32_t s = (uint32_t)round * 20; s < (uint32_t)round * 20 + 200 && s < SLOTS; s += 8) {
                batch bb = {.n = 0};
                for (uint32_t i = 0; i < 8; i++) {
                    bb.slot[i] = s + i;
                    random_vec(&bb.next[i], MAXNNZ);
                }
                bb.n = 8;
                apply(x, &bb);
            }
        check_stats(x);
        for (int qn = 0; qn < 6; qn++) {
            mvec q[3];
            for (int i = 0; i < 3; i++)
                random_vec(&q[i], 12);
            uint32_t k = 1 + (uint32_t)(rnd() % 40);
            check_search(x, &q[0], k, false, false, 0);
            check_search(x, &q[0], SLOTS, false, false, 0);
            check_search(x, &q[1], k, true, false, 0);
            check_search(x, &q[2], k, rnd() % 2, true, 0.5f);
            check_mark(x, q, 3);
        }
    }
    /* delete everything: nothing is found, memory goes back */
    batch b = {.n = 0};
    for (uint32_t s = 0; s < SLOTS; s++) {
        if (!model[s].has)
            continue;
        b.slot[b.n] = s;
        b.next[b.n++] = (mvec){0};
        if (b.n == 8) {
            apply(x, &b);
            b.n = 0;
        }
    }
    apply(x, &b);
    check_stats(x);
    assert_int_equal(sparse_postings(x), 0);
    mvec q;
    random_vec(&q, 12);
    check_search(x, &q, 10, false, false, 0);
    sparse_free(x);
}

/* One batch empties a list (slot 1 leaves dimension 7) and then posts to
 * it again (slot 2 comes to it): the room reserved must still be there. */
static void emptied_then_posted(void **state)
{
    sparse_index *x;
    assert_int_equal(sparse_new(&x, NULL), QV_OK);
    memset(model, 0, sizeof model);
    batch b = {.n = 1, .slot = {1}};
    b.next[0] = (mvec){.has = true, .n = 1, .idx = {7}, .val = {1.0f}};
    apply(x, &b);
    b = (batch){.n = 2, .slot = {1, 2}};
    b.next[0] = (mvec){.has = true, .n = 1, .idx = {8}, .val = {2.0f}};
    b.next[1] = (mvec){.has = true, .n = 2, .idx = {7, 8}, .val = {3.0f, 4.0f}};
    apply(x, &b);
    check_stats(x);
    mvec q = {.has = true, .n = 1, .idx = {7}, .val = {1.0f}};
    check_search(x, &q, 5, false, false, 0);
    sparse_free(x);
}

/* Pruning at work: the common dimensions get small query weights, so once
 * the top-k is full their lists only add to the candidates of the rare
 * ones; the answer must stay the exhaustive one, ties and all. */
static void pruned_equals_exhaustive(void **state)
{
    sparse_index *x;
    assert_int_equal(sparse_new(&x, NULL), QV_OK);
    memset(model, 0, sizeof model);
    for (uint32_t s0 = 0; s0 + 8 <= SLOTS; s0 += 8) {
        batch b = {.n = 8};
        for (uint32_t i = 0; i < 8; i++) {
            b.slot[i] = s0 + i;
            random_vec(&b.next[i], MAXNNZ);
            for (uint32_t j = 0; j < b.next[i].n; j++)  /* few distinct values: ties */
                b.next[i].val[j] = (float)(1 + rnd() % 4) * (b.next[i].idx[j] < 8 ? 2.0f : 0.25f);
        }
        apply(x, &b);
    }
    for (int qn = 0; qn < 300; qn++) {
        mvec q;
        random_vec(&q, 12);
        for (uint32_t j = 0; j < q.n; j++)
            q.val[j] = q.idx[j] < 8 ? 0.125f * (float)(1 + rnd() % 3) : (float)(1 + rnd() % 5);
        if (qn % 7 == 0 && q.n)
            q.val[0] = -q.val[0];  /* a negative weight bounds by the smallest value */
        uint32_t k = 1 + (uint32_t)(rnd() % 6);
        check_search(x, &q, k, qn % 3 == 0, qn % 5 == 0, 1.0f);
    }
    sparse_free(x);
}

/* Equal scores come out in the top-k's tie order (here: by slot). */
static void ties_and_empty(void **state)
{
    sparse_index *x;
    assert_int_equal(sparse_new(&x, NULL), QV_OK);
    memset(model, 0, sizeof model);
    batch b = {.n = 6};
    for (uint32_t i = 0; i < 6; i++) {
        b.slot[i] = 5000 - i * 700;  /* far apart: several batches */
        b.next[i] = (mvec){.has = true, .n = 1, .idx = {3}, .val = {2.0f}};
    }
    b.next[5] = (mvec){.has = true, .n = 0};  /* an empty vector: not indexed, not counted */
    assert_int_equal(sparse_reserve(x, b.n, batch_get, &b, NULL), QV_OK);
    for (uint32_t i = 0; i < b.n; i++)
        sparse_insert(x, b.slot[i], view(&b.next[i]));
    assert_int_equal(sparse_count(x), 5);
    assert_int_equal(sparse_df(x, 3), 5);
    topk t;
    assert_int_equal(topk_init(&t, 3, NULL, NULL, NULL, NULL), QV_OK);
    mvec q = {.has = true, .n = 2, .idx = {1, 3}, .val = {9.0f, 0.5f}};
    assert_int_equal(sparse_search(x, view(&q), NULL, &t, NULL), QV_OK);
    assert_int_equal(topk_sorted(&t), 3);
    assert_int_equal(t.items[0].slot, 2200);
    assert_int_equal(t.items[1].slot, 2900);
    assert_int_equal(t.items[2].slot, 3600);
    assert_true(t.items[0].order == -1.0f);
    topk_free(&t);
    sparse_free(x);
}

static void idf_formula(void **state)
{
    const uint64_t ns[] = {0, 1, 10, 1000, 123456};
    const uint32_t dfs[] = {0, 1, 3, 10, 999};
    for (size_t i = 0; i < sizeof ns / sizeof *ns; i++)
        for (size_t j = 0; j < sizeof dfs / sizeof *dfs; j++) {
            if (dfs[j] > ns[i])  /* df never exceeds n */
                continue;
            double n = (double)ns[i], df = dfs[j];
            double want = log((n - df + 0.5) / (df + 0.5) + 1.0);
            assert_true(fabs(sparse_idf(ns[i], dfs[j]) - want) <= 1e-5 * fmax(1.0, fabs(want)));
        }
}

static void sorting(void **state)
{
    uint32_t idx[300], tmp[600];
    float val[300];
    for (int round = 0; round < 50; round++) {
        uint32_t n = (uint32_t)(rnd() % 300);
        for (uint32_t i = 0; i < n; i++) {
            idx[i] = (uint32_t)rnd() & (round % 2 ? 0xffffffffu : 0xffu);
            val[i] = (float)idx[i];
        }
        bool unique = true;
        for (uint32_t i = 0; i < n; i++)
            for (uint32_t j = 0; j < i; j++)
                unique &= idx[i] != idx[j];
        assert_int_equal(sparse_sort(idx, val, n, tmp), unique);
        for (uint32_t i = 0; i < n; i++) {
            assert_true(val[i] == (float)idx[i]);  /* pairs stay together */
            if (i)
                assert_true(idx[i - 1] <= idx[i]);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(against_brute_force),
        cmocka_unit_test(emptied_then_posted),
        cmocka_unit_test(pruned_equals_exhaustive),
        cmocka_unit_test(ties_and_empty),
        cmocka_unit_test(idf_formula),
        cmocka_unit_test(sorting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
