/* dist.c — choosing the kernels at start-up (dist.h). */
#include "vector/dist.h"
#include "vector/dist_impl.h"

#include <math.h>
#include <pthread.h>

static const dist_kernels *best;
static pthread_once_t best_once = PTHREAD_ONCE_INIT;

const dist_kernels *dist_kernels_scalar(void) { return &dist_scalar_kernels; }

const dist_kernels *dist_kernels_avx2(void)
{
#ifdef QV_DIST_AVX2
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return &dist_avx2_kernels;
#endif
    return NULL;
}

const dist_kernels *dist_kernels_avx512(void)
{
#ifdef QV_DIST_AVX512
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        return &dist_avx512_kernels;
#endif
    return NULL;
}

static void choose(void)
{
    const dist_kernels *k = dist_kernels_avx512();
    if (!k)
        k = dist_kernels_avx2();
    best = k ? k : &dist_scalar_kernels;
}

const dist_kernels *dist_kernels_best(void)
{
    pthread_once(&best_once, choose);
    return best;
}

dist_fn dist_order_fn(const dist_kernels *k, dist_metric m)
{
    switch (m) {
    case DIST_COSINE:
    case DIST_DOT:
#ifdef QV_DIST_AVX512
        if (k == &dist_avx512_kernels)
            return dist_avx512_neg_dot;
#endif
#ifdef QV_DIST_AVX2
        if (k == &dist_avx2_kernels)
            return dist_avx2_neg_dot;
#endif
        return dist_scalar_neg_dot;
    case DIST_EUCLID: return k->l2sq;
    default: return k->l1;
    }
}

void dist_normalize(float *v, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)v[i] * v[i];
    if (s <= 0)
        return;
    float inv = (float)(1.0 / sqrt(s));
    for (size_t i = 0; i < n; i++)
        v[i] *= inv;
}
