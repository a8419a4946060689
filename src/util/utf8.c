/* utf8.c — see utf8.h. */
#include "util/utf8.h"

#include <string.h>

/* Length of the well-formed sequence at s[0..len), or 0 if it is not one;
 * *bad gets how many bytes form the maximal ill-formed prefix (>= 1) then. */
static size_t seq_len(const unsigned char *s, size_t len, size_t *bad)
{
    unsigned char c = s[0];
    size_t need;
    unsigned char lo = 0x80, hi = 0xBF;  /* allowed range of the second byte */
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        if (c == 0xE0)
            lo = 0xA0;  /* no overlong forms */
        else if (c == 0xED)
            hi = 0x9F;  /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;  /* nothing above U+10FFFF */
    } else {
        *bad = 1;
        return 0;
    }
    size_t i = 1;
    for (; i < need && i < len; i++) {
        unsigned char b = s[i];
        if (b < (i == 1 ? lo : 0x80) || b > (i == 1 ? hi : 0xBF))
            break;
    }
    if (i == need)
        return need;
    *bad = i;
    return 0;
}

bool qv_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, bad;
    while (i < len) {
        if (p[i] < 0x80) {  /* ASCII runs are the common case */
            i++;
            continue;
        }
        size_t n = seq_len(p + i, len - i, &bad);
        if (!n)
            return false;
        i += n;
    }
    return true;
}

size_t qv_utf8_lossy(char *dst, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, o = 0, bad;
    while (i < len) {
        size_t n = seq_len(p + i, len - i, &bad);
        if (n) {
            memcpy(dst + o, s + i, n);
            o += n;
            i += n;
        } else {
            memcpy(dst + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i += bad;
        }
    }
    dst[o] = '\0';
    return o;
}
