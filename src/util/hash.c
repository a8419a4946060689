/*
 * hash.c — see hash.h. SipHash-2-4 as its paper specifies it (Aumasson and
 * Bernstein, 2012): 2 compression rounds per 8-byte little-endian word, the
 * length in the top byte of the last word, 4 finalisation rounds.
 */
#include "util/hash.h"

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                             \
    do {                                                                                     \
        v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);                            \
        v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                                               \
        v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                                               \
        v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);                            \
    } while (0)

uint64_t qv_siphash24(const void *data, size_t len, uint64_t k0, uint64_t k1)
{
    const uint8_t *in = data;
    uint64_t v0 = UINT64_C(0x736f6d6570736575) ^ k0, v1 = UINT64_C(0x646f72616e646f6d) ^ k1;
    uint64_t v2 = UINT64_C(0x6c7967656e657261) ^ k0, v3 = UINT64_C(0x7465646279746573) ^ k1;
    uint64_t b = (uint64_t)len << 56, m;
    const uint8_t *end = in + len - (len % 8);
    for (; in != end; in += 8) {
        m = 0;
        for (int i = 7; i >= 0; i--)
            m = m << 8 | in[i];
        v3 ^= m;
        SIPROUND;
        SIPROUND;
        v0 ^= m;
    }
    for (int i = (int)(len & 7) - 1; i >= 0; i--)
        b |= (uint64_t)in[i] << (8 * i);
    v3 ^= b;
    SIPROUND;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}
