/* dist_impl.h — what the kernel files give dist.c (internal to vector/).
 * Each variant defines its kernels and a -dot wrapper (for the order of
 * Cosine/Dot) without an extra indirect call. A variant the compiler cannot
 * build is left out by CMake, which then does not define QV_DIST_AVX2 /
 * QV_DIST_AVX512 for dist.c. (Not weak symbols: a weak reference does not
 * pull a member out of a static library, so the variants were silently
 * never linked.) */
#ifndef QV_VECTOR_DIST_IMPL_H
#define QV_VECTOR_DIST_IMPL_H

#include "vector/dist.h"

extern const dist_kernels dist_scalar_kernels;
extern const dist_fn      dist_scalar_neg_dot;
#ifdef QV_DIST_AVX2
extern const dist_kernels dist_avx2_kernels;
extern const dist_fn      dist_avx2_neg_dot;
#endif
#ifdef QV_DIST_AVX512
extern const dist_kernels dist_avx512_kernels;
extern const dist_fn      dist_avx512_neg_dot;
#endif

#endif
