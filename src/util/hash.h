/*
 * hash.h — the engine's hash functions.
 *
 * qv_hash_mix64 and qv_hash_bytes are for in-memory hash tables only (point
 * ids -> slots, string dictionaries of indexes, duplicate keys while
 * encoding a payload): well spread in every bit, so a table may take the
 * low bits as its bucket, but not stable across versions or hosts — never
 * write their values to disk or to a client.
 * qv_siphash24 is the one hash whose values are part of the contract: it is
 * SipHash-2-4 exactly (the reference algorithm's output for any key), as
 * Qdrant's slicing of point ids uses it.
 * Threading: pure functions.
 */
#ifndef QV_UTIL_HASH_H
#define QV_UTIL_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A bijective finaliser (splitmix64's): each input bit flips about half of
 * the output bits. */
static inline uint64_t qv_hash_mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    x ^= x >> 31;
    return x;
}

/* Two words into one hash (order matters), at the cost of one mix: b is
 * spread by an odd multiplier first, so small a and b never cancel. */
static inline uint64_t qv_hash_pair(uint64_t a, uint64_t b)
{
    return qv_hash_mix64(a ^ b * UINT64_C(0x9e3779b97f4a7c15));
}

/* Bytes s[0..len): eight at a time, then the tail, then the finaliser. The
 * length is mixed in first, so "a" and "a\0" differ. */
static inline uint64_t qv_hash_bytes(const void *s, size_t len)
{
    const unsigned char *p = s;
    uint64_t h = UINT64_C(0x9e3779b97f4a7c15) ^ (uint64_t)len, w;
    for (; len >= 8; p += 8, len -= 8) {
        memcpy(&w, p, 8);
        h = (h ^ w) * UINT64_C(0xff51afd7ed558ccd);
        h ^= h >> 32;
    }
    if (len) {
        w = 0;
        memcpy(&w, p, len);
        h = (h ^ w) * UINT64_C(0xff51afd7ed558ccd);
    }
    return qv_hash_mix64(h);
}

/* SipHash-2-4 of in[0..len) with the 128-bit key (k0, k1). */
uint64_t qv_siphash24(const void *in, size_t len, uint64_t k0, uint64_t k1);

#endif
