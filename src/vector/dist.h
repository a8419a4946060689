/*
 * dist.h — distance kernels and how scores are reported.
 *
 * Three kernels over n floats: dot product, squared L2, L1. Each exists as a
 * scalar reference (dist_scalar.c) and as SIMD variants in files of their
 * own, compiled with their own target flags (dist_avx2.c: AVX2+FMA,
 * dist_avx512.c: AVX-512F); dist_kernels() picks the best the CPU has, once,
 * at first use (from cpuid, never from compile-time flags alone). Every
 * variant handles any n >= 0 (tails included) and agrees with the scalar
 * one up to float rounding (tests/unit/test_dist.c).
 *
 * Search works on an "order" value where smaller is closer, so one heap
 * serves every metric: Cosine and Dot use -dot (vectors of a Cosine space
 * are normalized at write time and the query at query time), Euclid the
 * squared L2, Manhattan L1. dist_score turns it into the score Qdrant
 * reports: dot for Cosine/Dot, the L2 distance (sqrt) for Euclid, L1 for
 * Manhattan.
 *
 * Threading: pure functions; the choice of kernels is made once
 * (thread-safe) and never changes.
 */
#ifndef QV_VECTOR_DIST_H
#define QV_VECTOR_DIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Same order as core's cfg_distance (CFG_COSINE, CFG_EUCLID, CFG_DOT,
 * CFG_MANHATTAN), checked there with a static assert. */
typedef enum dist_metric {
    DIST_COSINE = 0,
    DIST_EUCLID,
    DIST_DOT,
    DIST_MANHATTAN,
} dist_metric;

typedef float (*dist_fn)(const float *a, const float *b, size_t n);

typedef struct dist_kernels {
    const char *name;  /* "scalar", "avx2", "avx512" */
    dist_fn     dot;   /* sum a[i]*b[i] */
    dist_fn     l2sq;  /* sum (a[i]-b[i])^2 */
    dist_fn     l1;    /* sum |a[i]-b[i]| */
} dist_kernels;

/* The best kernels for this CPU (chosen once). */
const dist_kernels *dist_kernels_best(void);
/* Each variant, or NULL when this CPU (or this build) lacks it. */
const dist_kernels *dist_kernels_scalar(void);
const dist_kernels *dist_kernels_avx2(void);
const dist_kernels *dist_kernels_avx512(void);

/* The order kernel of a metric (smaller = closer): see above. For
 * Cosine/Dot it returns -dot, so it is a small wrapper per variant. */
dist_fn dist_order_fn(const dist_kernels *k, dist_metric m);

/* The score Qdrant reports for an order value. */
static inline float dist_score(dist_metric m, float order)
{
    switch (m) {
    case DIST_COSINE:
    case DIST_DOT: return -order;
    case DIST_EUCLID: return __builtin_sqrtf(order > 0 ? order : 0);
    default: return order;
    }
}

/* True when a larger score is better (Cosine, Dot). */
static inline bool dist_higher_better(dist_metric m) { return m == DIST_COSINE || m == DIST_DOT; }

/* Normalize v (n floats) in place to unit length; a zero vector stays zero. */
void dist_normalize(float *v, size_t n);

#endif
