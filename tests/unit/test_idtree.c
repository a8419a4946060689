/* test_idtree.c — the ordered id index (index/idtree), against a reference. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*
 * The tree's source is compiled into this test (the library's copy is then
 * not linked) so that allocations can be made to fail and the nodes
 * inspected. Set alloc_budget to n >= 0 to let the next n allocations
 * succeed and the ones after fail; -1 means no limit.
 */
static long alloc_budget = -1;
static long alloc_calls;

static void *test_alloc(size_t size)
{
    alloc_calls++;
    if (alloc_budget == 0)
        return NULL;
    if (alloc_budget > 0)
        alloc_budget--;
    return malloc(size);
}

#define IDT_ALLOC(size) test_alloc(size)
#include "index/idtree.c"

/* ---- helpers ------------------------------------------------------------- */

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)  /* xorshift64*: fixed seed, so failures reproduce */
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545F4914F6CDD1Dull;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static qv_point_id int_id(uint64_t v)
{
    return (qv_point_id){.hi = 0, .lo = v, .uuid = 0};
}

static qv_point_id uuid_id(uint64_t hi, uint64_t lo)
{
    return (qv_point_id){.hi = hi, .lo = lo, .uuid = 1};
}

/* A random UUID with an even `lo` (the order of the two draws is fixed,
 * unlike that of function arguments). */
static qv_point_id random_uuid(void)
{
    uint64_t hi = rnd();
    return uuid_id(hi, rnd() & ~1ull);
}

static int cmp_ids(const void *a, const void *b)
{
    return pid_cmp(a, b);
}

static void shuffle(uint32_t *v, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = rnd() % i;
        uint32_t x = v[i - 1];
        v[i - 1] = v[j];
        v[j] = x;
    }
}

/*
 * The reference: a sorted array of distinct ids, each present in the tree
 * or not, with its index as its slot. Pool ids have an even `lo`, so an id
 * with an odd `lo` is never in the tree and always falls between pool ids.
 */
typedef struct pool {
    qv_point_id *id;
    bool        *present;
    size_t       n;
    size_t       live;
} pool;

/* A random id of a mix of shapes: dense and sparse integers, random UUIDs,
 * and UUIDs whose words equal small integers (they differ from those
 * integers only by the flag). Only sparse ones when !dense. */
static qv_point_id gen_id(bool dense)
{
    if (!dense)
        return rnd() % 2 ? int_id(rnd() & ~1ull) : random_uuid();
    switch (rnd() % 6) {
    case 0:
    case 1:
        return int_id(2 * (rnd() % 200000));
    case 2:
        return int_id(rnd() & ~1ull);
    case 3:
    case 4:
        return random_uuid();
    default: {
        uint64_t hi = rnd() % 3;
        return uuid_id(hi, 2 * (rnd() % 200000));
    }
    }
}

static void pool_make(pool *p, size_t want, bool dense)
{
    p->id = malloc((want + 4) * sizeof *p->id);
    assert_non_null(p->id);
    size_t n = 0;
    p->id[n++] = int_id(0);
    p->id[n++] = int_id(UINT64_MAX - 1);
    p->id[n++] = uuid_id(0, 0);
    p->id[n++] = uuid_id(UINT64_MAX, UINT64_MAX - 1);
    while (n < want + 4)
        p->id[n++] = gen_id(dense);
    qsort(p->id, n, sizeof *p->id, cmp_ids);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (m == 0 || pid_cmp(&p->id[m - 1], &p->id[i]) != 0)
            p->id[m++] = p->id[i];
    p->n = m;
    p->live = 0;
    p->present = calloc(m, 1);
    assert_non_null(p->present);
}

static void pool_free(pool *p)
{
    free(p->id);
    free(p->present);
}

static void pool_insert(idtree *t, pool *p, size_t i)
{
    assert_false(p->present[i]);
    assert_int_equal(idt_insert(t, &p->id[i], (uint32_t)i), QV_OK);
    p->present[i] = true;
    p->live++;
}

static void pool_erase(idtree *t, pool *p, size_t i)
{
    assert_true(p->present[i]);
    assert_true(idt_erase(t, &p->id[i]));
    p->present[i] = false;
    p->live--;
}

/* Index of the first present pool id >= from (p->n if none). */
static size_t pool_seek(const pool *p, const qv_point_id *from)
{
    size_t lo = 0, hi = p->n;
    if (from) {
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (pid_cmp(&p->id[mid], from) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
    }
    while (lo < p->n && !p->present[lo])
        lo++;
    return lo;
}

/* The present pool id after index i (p->n if none). */
static size_t pool_next(const pool *p, size_t i)
{
    for (i++; i < p->n && !p->present[i]; i++)
        ;
    return i;
}

/* ---- structure ------------------------------------------------------------- */

typedef struct walk {
    const idtree   *t;
    const idt_leaf *prev;   /* the leaf before, to check the chain */
    size_t          leaves, inners;
    uint64_t        ids;
} walk;

/* Sorted keys within (lo, hi], the kinds' split right, fill as promised. */
static void check_node(walk *w, const void *node, unsigned depth, const qv_point_id *lo,
                       const qv_point_id *hi)
{
    const idt_keys *k = node;
    assert_true(k->n <= IDT_CAP);
    assert_true(k->nint <= k->n);
    qv_point_id prev, cur;
    for (unsigned i = 0; i < k->n; i++) {
        keys_get(k, i, &cur);
        if (i)
            assert_true(pid_cmp(&prev, &cur) < 0);
        if (lo)
            assert_true(pid_cmp(lo, &cur) <= 0);
        if (hi)
            assert_true(pid_cmp(&cur, hi) < 0);
        prev = cur;
    }
    if (depth == w->t->height) {
        const idt_leaf *leaf = node;
        if (node != w->t->root)
            assert_true(leaf->k.n >= 1);
        if (w->prev)
            assert_ptr_equal(w->prev->next, leaf);
        w->prev = leaf;
        w->leaves++;
        w->ids += leaf->k.n;
        return;
    }
    const idt_inner *in = node;
    assert_true(in->k.n >= 1);  /* two children or more */
    w->inners++;
    for (unsigned i = 0; i <= in->k.n; i++) {
        qv_point_id a, b;
        if (i)
            keys_get(&in->k, i - 1, &a);
        if (i < in->k.n)
            keys_get(&in->k, i, &b);
        check_node(w, in->child[i], depth + 1, i ? &a : lo, i < in->k.n ? &b : hi);
    }
}

static void check_structure(const idtree *t)
{
    if (!t->root) {
        assert_int_equal(t->count, 0);
        assert_int_equal(idt_memory(t), 0);
        return;
    }
    walk w = {.t = t};
    check_node(&w, t->root, 0, NULL, NULL);
    assert_null(w.prev->next);
    assert_int_equal(w.leaves, t->leaves);
    assert_int_equal(w.inners, t->inners);
    assert_int_equal(w.ids, t->count);
    assert_int_equal(idt_memory(t), w.leaves * sizeof(idt_leaf) + w.inners * sizeof(idt_inner));
}

/* The whole tree against the pool: structure, order, slots, lookups. */
static void check_all(const idtree *t, const pool *p)
{
    check_structure(t);
    assert_int_equal(idt_count(t), p->live);
    idt_iter it;
    idt_seek(t, NULL, &it);
    qv_point_id id;
    uint32_t slot;
    for (size_t i = 0; i < p->n; i++) {
        if (!p->present[i])
            continue;
        assert_true(idt_next(&it, &id, &slot));
        assert_true(pid_equal(&id, &p->id[i]));
        assert_int_equal(slot, i);
    }
    assert_false(idt_next(&it, &id, &slot));
    assert_false(idt_next(&it, &id, &slot));  /* stays at the end */
    for (size_t i = 0; i < p->n; i++) {
        uint32_t s = 0;
        assert_int_equal(idt_find(t, &p->id[i], &s), p->present[i]);
        if (p->present[i])
            assert_int_equal(s, i);
    }
}

/* A from-key of every kind: pool ids present or not, ids between them,
 * before the first and after the last. */
static qv_point_id from_key(const pool *p)
{
    qv_point_id id = p->id[rnd() % p->n];
    switch (rnd() % 8) {
    case 0:
        return int_id(0);
    case 1:
        return uuid_id(UINT64_MAX, UINT64_MAX);
    case 2:
        return int_id(UINT64_MAX);  /* after every integer, before every UUID */
    case 3:
        id.lo++;  /* just after a pool id */
        return id;
    case 4:
        id.lo--;  /* just before one (or wrapped far away) */
        return id;
    case 5:
        id = gen_id(true);
        id.lo |= 1;
        return id;
    default:
        return id;  /* exact: a hit if present */
    }
}

/* n random seeks, each followed by a few steps. */
static void check_seeks(const idtree *t, const pool *p, int n)
{
    for (int s = 0; s < n; s++) {
        qv_point_id from = from_key(p);
        const qv_point_id *fp = rnd() % 16 ? &from : NULL;
        idt_iter it;
        idt_seek(t, fp, &it);
        size_t e = pool_seek(p, fp);
        for (int step = 0; step < 3; step++) {
            qv_point_id id;
            uint32_t slot;
            if (e == p->n) {
                assert_false(idt_next(&it, &id, &slot));
                break;
            }
            assert_true(idt_next(&it, &id, &slot));
            assert_true(pid_equal(&id, &p->id[e]));
            assert_int_equal(slot, e);
            e = pool_next(p, e);
        }
    }
}

/* ---- tests ------------------------------------------------------------------ */

static void empty_tree(void **state)
{
    idtree t;
    assert_int_equal(idt_init(&t), QV_OK);
    qv_point_id a = int_id(7), got = int_id(1);
    idt_iter it;
    uint32_t slot = 99;
    assert_int_equal(idt_count(&t), 0);
    assert_int_equal(idt_memory(&t), 0);
    idt_seek(&t, NULL, &it);
    assert_false(idt_next(&it, &got, &slot));
    idt_seek(&t, &a, &it);
    assert_false(idt_next(&it, &got, &slot));
    assert_int_equal(slot, 99);
    assert_false(idt_erase(&t, &a));
    assert_false(idt_find(&t, &a, &slot));
    idt_free(&t);
    idt_free(&t);  /* freed twice: still empty */

    /* One id, then none again: the root leaf stays, empty. */
    assert_int_equal(idt_insert(&t, &a, 5), QV_OK);
    assert_int_equal(idt_count(&t), 1);
    assert_true(idt_erase(&t, &a));
    assert_false(idt_erase(&t, &a));
    assert_int_equal(idt_count(&t), 0);
    check_structure(&t);
    idt_seek(&t, NULL, &it);
    assert_false(idt_next(&it, NULL, NULL));
    idt_free(&t);
    assert_int_equal(idt_memory(&t), 0);
}

/* Integers first, ascending; then UUIDs by bytes — even UUIDs whose
 * words equal an integer's; the flag alone tells them apart. */
static void order_of_kinds(void **state)
{
    const qv_point_id want[] = {
        int_id(0), int_id(1), int_id(5), int_id(1ull << 63), int_id(UINT64_MAX),
        uuid_id(0, 0), uuid_id(0, 1), uuid_id(0, 5), uuid_id(0, UINT64_MAX),
        uuid_id(1, 0), uuid_id(0x550e8400e29b41d4ull, 0xa716446655440000ull),
        uuid_id(UINT64_MAX, UINT64_MAX),
    };
    size_t n = sizeof want / sizeof want[0];
    uint32_t order[sizeof want / sizeof want[0]];
    for (size_t i = 0; i < n; i++)
        order[i] = (uint32_t)i;
    for (int round = 0; round < 20; round++) {
        idtree t;
        idt_init(&t);
        shuffle(order, n);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(idt_insert(&t, &want[order[i]], order[i] * 10), QV_OK);
        assert_int_equal(idt_insert(&t, &want[order[0]], 1), QV_CONFLICT);
        idt_iter it;
        idt_seek(&t, NULL, &it);
        qv_point_id id;
        uint32_t slot;
        for (size_t i = 0; i < n; i++) {
            assert_true(idt_next(&it, &id, &slot));
            assert_true(pid_equal(&id, &want[i]));
            assert_int_equal(slot, i * 10);
        }
        assert_false(idt_next(&it, &id, &slot));

        /* Seeks across the boundary between the kinds. */
        qv_point_id from = int_id(6);
        idt_seek(&t, &from, &it);
        assert_true(idt_next(&it, &id, NULL));
        assert_true(pid_equal(&id, &want[3]));
        from = uuid_id(0, 2);
        idt_seek(&t, &from, &it);
        assert_true(idt_next(&it, &id, NULL));
        assert_true(pid_equal(&id, &want[7]));

        /* Erasing the UUID 0-5 leaves the integer 5, and the other way. */
        assert_true(idt_erase(&t, &want[7]));
        assert_false(idt_erase(&t, &want[7]));
        assert_true(idt_find(&t, &want[2], &slot));
        assert_int_equal(slot, 20);
        assert_false(idt_find(&t, &want[7], NULL));
        qv_point_id absent[] = {int_id(2), uuid_id(0, 2), uuid_id(2, 0), int_id(UINT64_MAX - 1)};
        for (size_t i = 0; i < 4; i++)
            assert_false(idt_erase(&t, &absent[i]));
        assert_int_equal(idt_count(&t), n - 1);
        check_structure(&t);
        idt_free(&t);
    }
}

/* Random inserts and erases (of present and absent ids) in a small key
 * space, so nodes split, share and merge over and over. */
static void random_churn(void **state)
{
    pool p;
    pool_make(&p, 3000, true);
    idtree t;
    idt_init(&t);
    for (int op = 1; op <= 120000; op++) {
        size_t i = rnd() % p.n;
        /* Lean towards growth, then towards shrinking, in waves. */
        bool grow = (op / 15000) % 2 == 0 ? rnd() % 10 < 7 : rnd() % 10 < 3;
        if (!p.present[i] && grow) {
            pool_insert(&t, &p, i);
        } else if (p.present[i] && !grow) {
            pool_erase(&t, &p, i);
        } else if (!p.present[i]) {
            assert_false(idt_erase(&t, &p.id[i]));
        } else {
            qv_point_id between = p.id[i];
            between.lo |= 1;
            assert_false(idt_erase(&t, &between));
        }
        if (op % 2000 == 0) {
            check_all(&t, &p);
            check_seeks(&t, &p, 200);
        }
    }
    idt_free(&t);
    pool_free(&p);
}

/* 200k ids: random order in, half out, churn, all out, all in again in
 * ascending then descending order. */
static void large_counts(void **state)
{
    pool p;
    pool_make(&p, 230000, true);
    assert_true(p.n >= 200000);
    uint32_t *order = malloc(p.n * sizeof *order);
    assert_non_null(order);
    for (size_t i = 0; i < p.n; i++)
        order[i] = (uint32_t)i;
    idtree t;
    idt_init(&t);

    shuffle(order, p.n);
    for (size_t i = 0; i < p.n; i++)
        pool_insert(&t, &p, order[i]);
    assert_true(t.height >= 2);
    check_all(&t, &p);
    check_seeks(&t, &p, 3000);

    shuffle(order, p.n);
    for (size_t i = 0; i < p.n * 3 / 4; i++)
        pool_erase(&t, &p, order[i]);
    check_all(&t, &p);
    check_seeks(&t, &p, 3000);
    /* Erasing merged the nodes it thinned: still a third full or more. */
    double per_id = (double)idt_memory(&t) / (double)p.live;
    print_message("  after erasing 3/4 at random: %.1f bytes per id\n", per_id);
    assert_true(per_id < 3 * 20.0 + 4);

    for (int op = 0; op < 200000; op++) {
        size_t i = rnd() % p.n;
        if (p.present[i])
            pool_erase(&t, &p, i);
        else
            pool_insert(&t, &p, i);
    }
    check_all(&t, &p);
    check_seeks(&t, &p, 3000);

    shuffle(order, p.n);
    for (size_t i = 0; i < p.n; i++)
        if (p.present[order[i]])
            pool_erase(&t, &p, order[i]);
    check_all(&t, &p);
    assert_int_equal(t.height, 0);
    assert_int_equal(idt_memory(&t), sizeof(idt_leaf));

    for (size_t i = 0; i < p.n; i++)  /* ascending: leaves fill up */
        pool_insert(&t, &p, i);
    check_all(&t, &p);
    check_seeks(&t, &p, 3000);
    per_id = (double)idt_memory(&t) / (double)p.n;
    print_message("  ascending: %.1f bytes per id\n", per_id);
    assert_true(per_id < 22.0);

    for (size_t i = p.n; i-- > 0;)
        pool_erase(&t, &p, i);
    check_all(&t, &p);
    for (size_t i = p.n; i-- > 0;)  /* descending */
        pool_insert(&t, &p, i);
    check_all(&t, &p);
    print_message("  descending: %.1f bytes per id\n", (double)idt_memory(&t) / (double)p.n);
    check_seeks(&t, &p, 3000);

    idt_free(&t);
    free(order);
    pool_free(&p);
}

/* Integer ids arriving in ascending order after the UUIDs: the last leaf
 * of integers fills up before a new one starts, as the last leaf does. */
static void ascending_integers_before_uuids(void **state)
{
    idtree t;
    idt_init(&t);
    for (uint64_t i = 0; i < 50000; i++) {
        qv_point_id u = random_uuid();
        assert_int_equal(idt_insert(&t, &u, 0), QV_OK);
    }
    size_t before = idt_memory(&t);
    for (uint64_t i = 0; i < 100000; i++) {
        qv_point_id id = int_id(i * 3);
        assert_int_equal(idt_insert(&t, &id, (uint32_t)i), QV_OK);
    }
    check_structure(&t);
    double per_id = (double)(idt_memory(&t) - before) / 100000.0;
    print_message("  integers appended before UUIDs: %.1f bytes per id\n", per_id);
    assert_true(per_id < 22.0);
    idt_iter it;
    idt_seek(&t, NULL, &it);
    for (uint64_t i = 0; i < 100000; i++) {
        qv_point_id id;
        uint32_t slot;
        assert_true(idt_next(&it, &id, &slot));
        assert_int_equal(id.lo, i * 3);
        assert_int_equal(slot, i);
    }
    idt_free(&t);
}

/*
 * Scroll as the REST layer does: seek to the offset, take a page of 7 and
 * one more id, which becomes the next page's offset. From every present id
 * and from every gap between them, the pages must chain into exactly the
 * ids from there on.
 */
static void scroll_pages(const idtree *t, const pool *p, const qv_point_id *start)
{
    size_t e = pool_seek(p, start);
    qv_point_id offset;
    const qv_point_id *from = start;
    for (;;) {
        idt_iter it;
        idt_seek(t, from, &it);
        qv_point_id id;
        uint32_t slot;
        for (int k = 0; k < 7; k++) {
            if (e == p->n) {
                assert_false(idt_next(&it, &id, &slot));
                return;
            }
            assert_true(idt_next(&it, &id, &slot));
            assert_true(pid_equal(&id, &p->id[e]));
            assert_int_equal(slot, e);
            e = pool_next(p, e);
        }
        if (!idt_next(&it, &offset, NULL)) {
            assert_int_equal(e, p->n);
            return;
        }
        assert_true(pid_equal(&offset, &p->id[e]));
        from = &offset;
    }
}

static void paging_from_everywhere(void **state)
{
    pool p;
    pool_make(&p, 1400, true);
    idtree t;
    idt_init(&t);
    for (size_t i = 0; i < p.n; i++)
        if (rnd() % 4)
            pool_insert(&t, &p, i);
    for (int op = 0; op < 3000; op++) {  /* uneven leaves */
        size_t i = rnd() % p.n;
        if (p.present[i])
            pool_erase(&t, &p, i);
        else
            pool_insert(&t, &p, i);
    }
    check_all(&t, &p);
    scroll_pages(&t, &p, NULL);
    for (size_t i = 0; i < p.n; i++) {
        scroll_pages(&t, &p, &p.id[i]);  /* present or not */
        qv_point_id between = p.id[i];
        between.lo |= 1;
        scroll_pages(&t, &p, &between);
    }
    qv_point_id last = uuid_id(UINT64_MAX, UINT64_MAX);
    scroll_pages(&t, &p, &last);
    idt_free(&t);
    pool_free(&p);
}

/* A failed allocation, at any point of a split chain up to a new root,
 * leaves the tree as it was; erase never allocates. */
static void out_of_memory(void **state)
{
    pool p;
    pool_make(&p, IDT_CAP * IDT_CAP * 5 / 2, true);  /* height 2: the root splits twice */
    uint32_t *order = malloc(p.n * sizeof *order);
    assert_non_null(order);
    for (size_t i = 0; i < p.n; i++)
        order[i] = (uint32_t)i;
    shuffle(order, p.n);
    idtree t;
    idt_init(&t);
    long deepest = -1, failures = 0;
    for (size_t n = 0; n < p.n; n++) {
        size_t i = order[n];
        for (long budget = 0;; budget++) {
            alloc_budget = budget;
            qv_status rc = idt_insert(&t, &p.id[i], (uint32_t)i);
            alloc_budget = -1;
            if (rc == QV_OK)
                break;
            assert_int_equal(rc, QV_NOMEM);
            failures++;
            assert_int_equal(idt_count(&t), p.live);
            assert_false(idt_find(&t, &p.id[i], NULL));
            if (budget > deepest || budget >= 2) {  /* rare: check in full */
                deepest = budget > deepest ? budget : deepest;
                check_all(&t, &p);
            }
        }
        p.present[i] = true;
        p.live++;
    }
    check_all(&t, &p);
    print_message("  %ld failed inserts; up to %ld nodes allocated before the failure\n",
                  failures, deepest);
    assert_true(deepest >= 2);  /* a leaf and an inner node made, the root failed */

    long calls = alloc_calls;
    alloc_budget = 0;
    shuffle(order, p.n);
    for (size_t n = 0; n < p.n; n++) {
        pool_erase(&t, &p, order[n]);
        if (n % 5000 == 0)
            check_all(&t, &p);
    }
    alloc_budget = -1;
    assert_int_equal(alloc_calls, calls);
    check_all(&t, &p);
    idt_free(&t);
    free(order);
    pool_free(&p);
}

/* Sanitizers slow the tree ~5x: the timing test then takes fewer ids. */
#if defined(__SANITIZE_ADDRESS__)
#define BIG_N 250000
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BIG_N 250000
#endif
#endif
#ifndef BIG_N
#define BIG_N 1000000
#endif

/* 1M random ids: timings printed, memory asserted. */
static void million(void **state)
{
    const size_t n = BIG_N;
    pool p;
    pool_make(&p, n, false);
    assert_true(p.n >= n);
    uint32_t *order = malloc(p.n * sizeof *order);
    assert_non_null(order);
    for (size_t i = 0; i < p.n; i++)
        order[i] = (uint32_t)i;
    shuffle(order, p.n);
    /* The ids in insert order, so that the timings see the tree alone. */
    qv_point_id *keys = malloc(n * sizeof *keys);
    assert_non_null(keys);
    for (size_t i = 0; i < n; i++) {
        keys[i] = p.id[order[i]];
        order[i] = (uint32_t)i;
    }
    pool_free(&p);
    idtree t;
    idt_init(&t);

    double t0 = now();
    for (size_t i = 0; i < n; i++)
        if (idt_insert(&t, &keys[i], (uint32_t)i) != QV_OK)
            fail();
    double t_ins = now() - t0;
    double per_id = (double)idt_memory(&t) / (double)n;
    unsigned height = t.height;
    check_structure(&t);

    shuffle(order, n);  /* order[] now permutes keys[] */
    t0 = now();
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        idt_iter it;
        uint32_t slot = UINT32_MAX;
        idt_seek(&t, &keys[order[i]], &it);
        idt_next(&it, NULL, &slot);
        sum += slot;
    }
    double t_seek = now() - t0;
    assert_int_equal(sum, (uint64_t)n * (n - 1) / 2);  /* every seek found its own id */

    t0 = now();
    idt_iter it;
    idt_seek(&t, NULL, &it);
    uint32_t slot;
    size_t seen = 0;
    while (idt_next(&it, NULL, &slot))
        seen++;
    double t_scan = now() - t0;
    assert_int_equal(seen, n);

    shuffle(order, n);
    t0 = now();
    for (size_t i = 0; i < n; i++)
        if (!idt_erase(&t, &keys[order[i]]))
            fail();
    double t_del = now() - t0;
    assert_int_equal(idt_count(&t), 0);
    assert_int_equal(idt_memory(&t), sizeof(idt_leaf));

    print_message("  %zuk random: insert %.0f ms, seek %.0f ms, full scan %.1f ms, erase %.0f ms;"
                  " %.1f bytes per id, height %u\n",
                  n / 1000, t_ins * 1e3, t_seek * 1e3, t_scan * 1e3, t_del * 1e3, per_id,
                  height + 1);
    assert_true(per_id <= 40.0);
    idt_free(&t);
    free(keys);
    free(order);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_tree),
        cmocka_unit_test(order_of_kinds),
        cmocka_unit_test(random_churn),
        cmocka_unit_test(large_counts),
        cmocka_unit_test(ascending_integers_before_uuids),
        cmocka_unit_test(paging_from_everywhere),
        cmocka_unit_test(out_of_memory),
        cmocka_unit_test(million),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
