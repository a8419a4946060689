/* test_dist.c — every distance-kernel variant against the scalar reference
 * (vector/dist), the choice of variant, scores and normalization. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vector/dist.h"

static uint64_t rng = 0x2545F4914F6CDD1Dull;

static uint64_t rnd(void)  /* xorshift64*: fixed seed, so failures reproduce */
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545F4914F6CDD1Dull;
}

static float frand(void) { return (float)((double)(rnd() >> 11) / 9007199254740992.0 * 2.0 - 1.0); }

#define MAXN 4096
static const size_t big_n[] = {1536, 3072, 4096};

/* The SIMD variants this CPU has (scalar excluded). */
static int variants(const dist_kernels **out)
{
    int c = 0;
    if (dist_kernels_avx2())
        out[c++] = dist_kernels_avx2();
    if (dist_kernels_avx512())
        out[c++] = dist_kernels_avx512();
    return c;
}

/* Sum of |term| in double: the scale of the rounding error of any order of
 * summation. Two float sums of the same n terms differ by at most about
 * n*eps*scale; in practice (random rounding) by sqrt(n)*eps*scale, and a
 * wrong tail or a lane summed twice is off by a whole term, far above. */
static double scale_of(int kind, const float *a, const float *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - b[i];
        s += kind == 0 ? fabs((double)a[i] * b[i]) : kind == 1 ? d * d : fabs(d);
    }
    return s;
}

static void check_close(const char *what, const char *var, size_t n, float got, float want, double scale)
{
    double tol = 8.0 * sqrt((double)n) * FLT_EPSILON * scale + 1e-30;
    if (fabs((double)got - want) > tol) {
        print_error("%s %s n=%zu: got %.9g, scalar %.9g (tol %.3g)\n", var, what, n, got, want, tol);
        fail();
    }
}

static void compare_at(const dist_kernels *v, const float *a, const float *b, size_t n)
{
    const dist_kernels *s = dist_kernels_scalar();
    check_close("dot", v->name, n, v->dot(a, b, n), s->dot(a, b, n), scale_of(0, a, b, n));
    check_close("l2sq", v->name, n, v->l2sq(a, b, n), s->l2sq(a, b, n), scale_of(1, a, b, n));
    check_close("l1", v->name, n, v->l1(a, b, n), s->l1(a, b, n), scale_of(2, a, b, n));
}

static void random_against_scalar(void **state)
{
    const dist_kernels *vs[2];
    int nv = variants(vs);
    float *a = aligned_alloc(64, (MAXN + 16) * sizeof(float));
    float *b = aligned_alloc(64, (MAXN + 16) * sizeof(float));
    assert_non_null(a);
    assert_non_null(b);
    for (size_t i = 0; i < MAXN + 16; i++) {
        a[i] = frand() * 3;
        b[i] = frand() * 3;
    }
    /* On x86-64 every variant the CPU has must be in the build. */
    __builtin_cpu_init();
    assert_int_equal(nv, (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) +
                             (__builtin_cpu_supports("avx512f") != 0));
    for (int k = 0; k < nv; k++) {
        for (size_t n = 1; n <= 1024; n++)
            compare_at(vs[k], a, b, n);
        for (size_t j = 0; j < sizeof big_n / sizeof big_n[0]; j++)
            compare_at(vs[k], a, b, big_n[j]);
    }
    free(a);
    free(b);
}

/* Small integers: every partial sum is exact in float, so every order of
 * summation gives the same bits and the variants must equal scalar exactly. */
static void exact_on_integers(void **state)
{
    const dist_kernels *vs[2];
    int nv = variants(vs);
    const dist_kernels *s = dist_kernels_scalar();
    float *a = malloc(MAXN * sizeof(float)), *b = malloc(MAXN * sizeof(float));
    assert_non_null(a);
    assert_non_null(b);
    for (size_t i = 0; i < MAXN; i++) {
        a[i] = (float)((int)(rnd() % 9) - 4);
        b[i] = (float)((int)(rnd() % 9) - 4);
    }
    for (int k = 0; k < nv; k++) {
        for (size_t n = 0; n <= MAXN; n += n < 1100 ? 1 : 511) {
            assert_true(vs[k]->dot(a, b, n) == s->dot(a, b, n));
            assert_true(vs[k]->l2sq(a, b, n) == s->l2sq(a, b, n));
            assert_true(vs[k]->l1(a, b, n) == s->l1(a, b, n));
        }
    }
    free(a);
    free(b);
}

/* Every float offset within a cache line, for a and b independently. */
static void unaligned(void **state)
{
    const dist_kernels *vs[2];
    int nv = variants(vs);
    float *a = aligned_alloc(64, 2048 * sizeof(float));
    float *b = aligned_alloc(64, 2048 * sizeof(float));
    assert_non_null(a);
    assert_non_null(b);
    for (size_t i = 0; i < 2048; i++) {
        a[i] = frand();
        b[i] = frand();
    }
    static const size_t ns[] = {1, 7, 15, 16, 17, 31, 33, 63, 65, 100, 128, 784, 768, 1000};
    for (int k = 0; k < nv; k++)
        for (size_t oa = 0; oa < 16; oa++)
            for (size_t ob = 0; ob < 16; ob += 3)
                for (size_t j = 0; j < sizeof ns / sizeof ns[0]; j++)
                    compare_at(vs[k], a + oa, b + ob, ns[j]);
    free(a);
    free(b);
}

/* The last float of a vector right before an inaccessible page: a kernel
 * reading past a[n-1] (an unmasked tail) dies with SIGSEGV. */
static void no_read_past_end(void **state)
{
    const dist_kernels *vs[3];
    int nv = variants(vs);
    vs[nv++] = dist_kernels_scalar();
    long pg = sysconf(_SC_PAGESIZE);
    char *m = mmap(NULL, 4 * (size_t)pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(m != MAP_FAILED);
    assert_int_equal(mprotect(m + pg, (size_t)pg, PROT_NONE), 0);
    assert_int_equal(mprotect(m + 3 * pg, (size_t)pg, PROT_NONE), 0);
    float *ea = (float *)(m + pg), *eb = (float *)(m + 3 * pg);  /* one past the end */
    size_t maxn = (size_t)pg / sizeof(float);
    for (size_t i = 1; i <= maxn; i++) {
        ea[-(long)i] = frand();
        eb[-(long)i] = frand();
    }
    for (int k = 0; k < nv; k++)
        for (size_t n = 1; n <= maxn && n <= 1024; n++)
            compare_at(vs[k], ea - n, eb - n, n);
    munmap(m, 4 * (size_t)pg);
}

static void zero_length(void **state)
{
    const dist_kernels *vs[3];
    int nv = variants(vs);
    vs[nv++] = dist_kernels_scalar();
    float x = 1;
    for (int k = 0; k < nv; k++) {
        assert_true(vs[k]->dot(&x, &x, 0) == 0);
        assert_true(vs[k]->l2sq(&x, &x, 0) == 0);
        assert_true(vs[k]->l1(&x, &x, 0) == 0);
        assert_true(vs[k]->dot(NULL, NULL, 0) == 0);
        for (int m = DIST_COSINE; m <= DIST_MANHATTAN; m++)
            assert_true(dist_order_fn(vs[k], (dist_metric)m)(&x, &x, 0) == 0);
    }
}

static void order_functions(void **state)
{
    const dist_kernels *vs[3];
    int nv = variants(vs);
    vs[nv++] = dist_kernels_scalar();
    float a[100], b[100];
    for (int i = 0; i < 100; i++) {
        a[i] = frand();
        b[i] = frand();
    }
    for (int k = 0; k < nv; k++) {
        const dist_kernels *v = vs[k];
        for (size_t n = 0; n <= 100; n++) {
            float d = v->dot(a, b, n);
            assert_true(dist_order_fn(v, DIST_COSINE)(a, b, n) == -d);
            assert_true(dist_order_fn(v, DIST_DOT)(a, b, n) == -d);
            assert_true(dist_order_fn(v, DIST_EUCLID)(a, b, n) == v->l2sq(a, b, n));
            assert_true(dist_order_fn(v, DIST_MANHATTAN)(a, b, n) == v->l1(a, b, n));
        }
        /* Smaller order = closer, for every metric: a vector is closer to
         * itself than to its negation. */
        for (int m = DIST_COSINE; m <= DIST_MANHATTAN; m++) {
            float na[100];
            for (int i = 0; i < 100; i++)
                na[i] = -a[i];
            dist_fn f = dist_order_fn(v, (dist_metric)m);
            assert_true(f(a, a, 100) < f(a, na, 100));
        }
    }
}

static void best_choice(void **state)
{
    const dist_kernels *k = dist_kernels_best();
    assert_non_null(k);
    assert_ptr_equal(k, dist_kernels_best());  /* chosen once */
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        assert_string_equal(k->name, "avx512");
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        assert_string_equal(k->name, "avx2");
    else
        assert_string_equal(k->name, "scalar");
    assert_string_equal(dist_kernels_scalar()->name, "scalar");
    if (dist_kernels_avx2())
        assert_string_equal(dist_kernels_avx2()->name, "avx2");
    if (dist_kernels_avx512())
        assert_string_equal(dist_kernels_avx512()->name, "avx512");
    printf("dist: best kernels here: %s\n", k->name);
}

static void scores(void **state)
{
    assert_true(dist_score(DIST_COSINE, -0.75f) == 0.75f);
    assert_true(dist_score(DIST_DOT, 3.5f) == -3.5f);
    assert_true(dist_score(DIST_EUCLID, 25.0f) == 5.0f);
    assert_true(dist_score(DIST_EUCLID, 0.0f) == 0.0f);
    assert_true(dist_score(DIST_EUCLID, -1e-7f) == 0.0f);  /* rounding below zero */
    assert_true(dist_score(DIST_MANHATTAN, 7.25f) == 7.25f);
    assert_true(dist_higher_better(DIST_COSINE));
    assert_true(dist_higher_better(DIST_DOT));
    assert_false(dist_higher_better(DIST_EUCLID));
    assert_false(dist_higher_better(DIST_MANHATTAN));
    /* End to end: Euclid reports the L2 distance. */
    float a[3] = {0, 0, 0}, b[3] = {3, 4, 0};
    const dist_kernels *k = dist_kernels_best();
    assert_true(dist_score(DIST_EUCLID, dist_order_fn(k, DIST_EUCLID)(a, b, 3)) == 5.0f);
    assert_true(dist_score(DIST_MANHATTAN, dist_order_fn(k, DIST_MANHATTAN)(a, b, 3)) == 7.0f);
    assert_true(dist_score(DIST_DOT, dist_order_fn(k, DIST_DOT)(b, b, 3)) == 25.0f);
}

static void normalize(void **state)
{
    float v[5] = {3, 0, 4, 0, 0};
    dist_normalize(v, 5);
    assert_true(fabsf(v[0] - 0.6f) < 1e-7f && fabsf(v[2] - 0.8f) < 1e-7f && v[1] == 0);
    float z[4] = {0, 0, 0, 0};
    dist_normalize(z, 4);
    for (int i = 0; i < 4; i++)
        assert_true(z[i] == 0);
    dist_normalize(NULL, 0);
    float r[1536];
    for (int i = 0; i < 1536; i++)
        r[i] = frand() * 100;
    float r0 = r[0];
    dist_normalize(r, 1536);
    double s = 0;
    for (int i = 0; i < 1536; i++)
        s += (double)r[i] * r[i];
    assert_true(fabs(s - 1.0) < 1e-5);
    assert_true((r0 > 0) == (r[0] > 0));
    /* A normalized vector's cosine with itself is 1. */
    float d = dist_kernels_best()->dot(r, r, 1536);
    assert_true(fabsf(d - 1.0f) < 1e-5f);
    float t[2] = {1e-30f, 0};  /* tiny but not zero */
    dist_normalize(t, 2);
    assert_true(fabsf(t[0] - 1.0f) < 1e-6f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_against_scalar),
        cmocka_unit_test(exact_on_integers),
        cmocka_unit_test(unaligned),
        cmocka_unit_test(no_read_past_end),
        cmocka_unit_test(zero_length),
        cmocka_unit_test(order_functions),
        cmocka_unit_test(best_choice),
        cmocka_unit_test(scores),
        cmocka_unit_test(normalize),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
