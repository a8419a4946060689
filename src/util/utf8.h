/*
 * utf8.h — UTF-8 validation and lossy repair of bytes that come from
 * outside (request paths, query values, text echoed in error messages).
 *
 * Valid means well-formed per RFC 3629: no overlong forms, no surrogates
 * (U+D800..DFFF), nothing above U+10FFFF. NUL is a valid character here;
 * callers that hand text on as C strings must refuse it themselves.
 * The lossy copy replaces each maximal ill-formed subsequence with one
 * U+FFFD, the way Rust's String::from_utf8_lossy does (so text Quiver echoes
 * matches what Qdrant would echo). Both run in one pass, O(len).
 * qv_utf8_decode / qv_utf8_encode are the one codec of single characters
 * (the JSON reader's strings, tokenizers, key-path grammar), inline because
 * they sit in those loops.
 * Threading: pure functions.
 */
#ifndef QV_UTIL_UTF8_H
#define QV_UTIL_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Is s[0..len) well-formed UTF-8? */
bool qv_utf8_valid(const char *s, size_t len);

/* Worst-case output size of qv_utf8_lossy for len input bytes, with the
 * terminating NUL: every byte may become a 3-byte U+FFFD. */
#define QV_UTF8_LOSSY_MAX(len) (3 * (len) + 1)

/* Copy s[0..len) to dst, replacing ill-formed sequences with U+FFFD, and
 * NUL-terminate. dst holds QV_UTF8_LOSSY_MAX(len) bytes and may not overlap
 * s. Returns the output length (without the NUL). */
size_t qv_utf8_lossy(char *dst, const char *s, size_t len);

/* The character at s[0..len) (len >= 1): its byte length and, in *cp, its
 * code point; 0 (and *cp untouched) if s does not start with a well-formed
 * sequence — the same rule as qv_utf8_valid. */
static inline size_t qv_utf8_decode(const char *s, size_t len, uint32_t *cp)
{
    const unsigned char *p = (const unsigned char *)s;
    unsigned c = p[0], lo = 0x80, hi = 0xBF;  /* range of the second byte */
    size_t n;
    uint32_t v;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        v = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        v = c & 0x0F;
        lo = c == 0xE0 ? 0xA0 : 0x80;  /* no overlong forms */
        hi = c == 0xED ? 0x9F : 0xBF;  /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        v = c & 0x07;
        lo = c == 0xF0 ? 0x90 : 0x80;
        hi = c == 0xF4 ? 0x8F : 0xBF;  /* nothing above U+10FFFF */
    } else {
        return 0;
    }
    if (len < n || p[1] < lo || p[1] > hi)
        return 0;
    v = v << 6 | (p[1] & 0x3F);
    for (size_t i = 2; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        v = v << 6 | (p[i] & 0x3F);
    }
    *cp = v;
    return n;
}

/* Write code point cp (< 0x110000) as UTF-8 into out (room for 4 bytes);
 * returns its length. Surrogates are encoded as they are: refusing them is
 * the caller's rule. */
static inline size_t qv_utf8_encode(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

#endif
