/*
 * bitset.h — sets of small integers (slots, ids) as arrays of 64-bit words:
 * bit i lives in word i / 64 at position i % 64. The caller owns the words
 * (a calloc of qv_bits_words(n) words is the empty set of 0..n-1) and keeps
 * every index below 64 x its word count; nothing here allocates or
 * bounds-checks. Iteration yields set bits in increasing order.
 * Threading: plain memory; readers may share a set nobody writes.
 */
#ifndef QV_UTIL_BITSET_H
#define QV_UTIL_BITSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Words that hold bits 0..nbits-1. */
static inline size_t qv_bits_words(size_t nbits) { return nbits / 64 + (nbits % 64 != 0); }

static inline bool qv_bit_get(const uint64_t *w, size_t i) { return w[i / 64] >> (i % 64) & 1; }
static inline void qv_bit_set(uint64_t *w, size_t i) { w[i / 64] |= UINT64_C(1) << (i % 64); }
static inline void qv_bit_clear(uint64_t *w, size_t i) { w[i / 64] &= ~(UINT64_C(1) << (i % 64)); }

/* Set (on) or clear bit i; returns whether it changed, so a caller can keep
 * a count of set bits without a second look. */
static inline bool qv_bit_put(uint64_t *w, size_t i, bool on)
{
    uint64_t m = UINT64_C(1) << (i % 64), old = w[i / 64];
    w[i / 64] = on ? old | m : old & ~m;
    return (old & m) != (on ? m : 0);
}

/* Number of set bits in w[0..nw). */
static inline size_t qv_bits_count(const uint64_t *w, size_t nw)
{
    size_t n = 0;
    for (size_t k = 0; k < nw; k++)
        n += (size_t)__builtin_popcountll(w[k]);
    return n;
}

/* dst |= src, dst &= src, over nw words. */
static inline void qv_bits_or(uint64_t *dst, const uint64_t *src, size_t nw)
{
    for (size_t k = 0; k < nw; k++)
        dst[k] |= src[k];
}
static inline void qv_bits_and(uint64_t *dst, const uint64_t *src, size_t nw)
{
    for (size_t k = 0; k < nw; k++)
        dst[k] &= src[k];
}

/*
 * Iterate the set bits (the set must not change meanwhile):
 *   qv_bits_it it; size_t i;
 *   for (qv_bits_it_init(&it, w, nw); qv_bits_next(&it, &i);) ...
 * One word is read at a time and each set bit costs one ctz.
 */
typedef struct qv_bits_it {
    const uint64_t *w;
    size_t          nw, k;   /* word k is the one in cur */
    uint64_t        cur;     /* bits of word k not yet yielded */
} qv_bits_it;

static inline void qv_bits_it_init(qv_bits_it *it, const uint64_t *w, size_t nw)
{
    it->w = w;
    it->nw = nw;
    it->k = 0;
    it->cur = nw ? w[0] : 0;
}

static inline bool qv_bits_next(qv_bits_it *it, size_t *i)
{
    while (!it->cur) {
        if (++it->k >= it->nw)
            return false;
        it->cur = it->w[it->k];
    }
    *i = it->k * 64 + (size_t)__builtin_ctzll(it->cur);
    it->cur &= it->cur - 1;
    return true;
}

#endif
