/* dist_scalar.c — the reference kernels (dist.h). Plain loops, compiled
 * without any target flags; every SIMD variant is tested against these. */
#include "vector/dist.h"
#include "vector/dist_impl.h"

#include <math.h>

static float dot(const float *a, const float *b, size_t n)
{
    float s = 0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

static float l2sq(const float *a, const float *b, size_t n)
{
    float s = 0;
    for (size_t i = 0; i < n; i++) {
        float d = a[i] - b[i];
        s += d * d;
    }
    return s;
}

static float l1(const float *a, const float *b, size_t n)
{
    float s = 0;
    for (size_t i = 0; i < n; i++)
        s += fabsf(a[i] - b[i]);
    return s;
}

static float neg_dot(const float *a, const float *b, size_t n) { return -dot(a, b, n); }

const dist_kernels dist_scalar_kernels = {"scalar", dot, l2sq, l1};
const dist_fn      dist_scalar_neg_dot = neg_dot;
