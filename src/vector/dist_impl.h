/* dist_impl.h — what the kernel files give dist.c (internal to vector/).
 * Each variant defines its kernels and a -dot wrapper (for the order of
 * Cosine/Dot) without an extra indirect call. A variant the build cannot
 * compile leaves its symbols out and dist.c sees NULL (weak). */
#ifndef QV_VECTOR_DIST_IMPL_H
#define QV_VECTOR_DIST_IMPL_H

#include "vector/dist.h"

extern const dist_kernels dist_scalar_kernels;
extern const dist_fn      dist_scalar_neg_dot;
extern const dist_kernels dist_avx2_kernels __attribute__((weak));
extern const dist_fn      dist_avx2_neg_dot __attribute__((weak));
extern const dist_kernels dist_avx512_kernels __attribute__((weak));
extern const dist_fn      dist_avx512_neg_dot __attribute__((weak));

#endif
