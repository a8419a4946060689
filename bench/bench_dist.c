/* bench_dist.c — nanoseconds per distance of every kernel variant the CPU
 * has (vector/dist.h), for dims 128, 784, 768, 1536: one query against a
 * block of vectors that stays in L1 (16 KB: the arithmetic) and one that
 * stays in L2 (256 KB: what a graph search sees at best), best of a few
 * rounds. On a shared machine compare instruction counts
 * (perf stat -e instructions:u) rather than these times. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "vector/dist.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static volatile float sink;

static double ns_per(dist_fn f, const float *q, const float *block, size_t count, size_t dim)
{
    double best = 1e30;
    size_t reps = 1 + 20000000 / (count * dim);
    for (int round = 0; round < 5; round++) {
        float acc = 0;
        double t0 = now();
        for (size_t r = 0; r < reps; r++)
            for (size_t i = 0; i < count; i++)
                acc += f(q, block + i * dim, dim);
        double t = (now() - t0) / (double)(reps * count) * 1e9;
        sink = acc;
        if (t < best)
            best = t;
    }
    return best;
}

int main(void)
{
    static const size_t dims[] = {128, 784, 768, 1536};
    const dist_kernels *ks[3] = {dist_kernels_scalar(), dist_kernels_avx2(), dist_kernels_avx512()};
    printf("bench_dist: ns per distance (best of 5); best kernels: %s\n", dist_kernels_best()->name);
    printf("%-8s %6s %6s %9s %9s %9s\n", "variant", "dim", "block", "dot", "l2sq", "l1");
    for (size_t d = 0; d < 2 * sizeof dims / sizeof dims[0]; d++) {
        size_t dim = dims[d / 2], kb = d % 2 ? 256 : 16;
        size_t count = kb * 256 / dim;
        if (count < 4)
            count = 4;
        float *block = aligned_alloc(64, count * dim * sizeof(float));
        float *q = aligned_alloc(64, dim * sizeof(float));
        if (!block || !q)
            return 1;
        uint64_t s = 1;
        for (size_t i = 0; i < count * dim; i++)
            block[i] = (float)((s = s * 6364136223846793005ull + 1442695040888963407ull) >> 40) / 16777216.0f;
        for (size_t i = 0; i < dim; i++)
            q[i] = block[i] * 0.5f;
        for (int k = 0; k < 3; k++) {
            if (!ks[k])
                continue;
            printf("%-8s %6zu %4zuKB %9.2f %9.2f %9.2f\n", ks[k]->name, dim, kb, ns_per(ks[k]->dot, q, block, count, dim),
                   ns_per(ks[k]->l2sq, q, block, count, dim), ns_per(ks[k]->l1, q, block, count, dim));
        }
        free(block);
        free(q);
    }
    return 0;
}
