/* pointid.c — see pointid.h. */
#include "util/pointid.h"

#include <strings.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/hash.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* 32 hex digits with hyphens only at 8, 13, 18, 23 when hyphenated. */
bool pid_parse_uuid(const char *s, size_t len, qv_point_id *out)
{
    if (len == 45 && strncasecmp(s, "urn:uuid:", 9) == 0) {
        s += 9;
        len -= 9;
    } else if (len == 38 && s[0] == '{' && s[37] == '}') {
        s++;
        len -= 2;
    }
    bool hyph = len == 36;
    if (!hyph && len != 32)
        return false;
    uint64_t part[2] = {0, 0};
    int nd = 0;
    for (size_t i = 0; i < len; i++) {
        if (hyph && (i == 8 || i == 13 || i == 18 || i == 23)) {
            if (s[i] != '-')
                return false;
            continue;
        }
        int v = hexval(s[i]);
        if (v < 0)
            return false;
        part[nd / 16] = part[nd / 16] << 4 | (uint64_t)v;
        nd++;
    }
    out->hi = part[0];
    out->lo = part[1];
    out->uuid = 1;
    return true;
}

bool pid_from_text(const char *s, qv_point_id *out)
{
    size_t len = strlen(s);
    if (len && len <= 20 && strspn(s, "0123456789") == len) {
        errno = 0;
        unsigned long long u = strtoull(s, NULL, 10);
        if (errno)
            return false;
        *out = (qv_point_id){.hi = 0, .lo = u, .uuid = 0};
        return true;
    }
    return pid_parse_uuid(s, len, out);
}

int pid_format(const qv_point_id *id, char *dst)
{
    if (!id->uuid)
        return snprintf(dst, PID_TEXT_MAX, "%llu", (unsigned long long)id->lo);
    static const char hex[] = "0123456789abcdef";
    int n = 0;
    for (int i = 0; i < 32; i++) {
        if (i == 8 || i == 12 || i == 16 || i == 20)
            dst[n++] = '-';
        uint64_t part = i < 16 ? id->hi : id->lo;
        dst[n++] = hex[(part >> (60 - 4 * (i % 16))) & 0xf];
    }
    dst[n] = '\0';
    return n;
}

int pid_cmp(const qv_point_id *a, const qv_point_id *b)
{
    if (a->uuid != b->uuid)
        return a->uuid ? 1 : -1;
    if (a->hi != b->hi)
        return a->hi < b->hi ? -1 : 1;
    if (a->lo != b->lo)
        return a->lo < b->lo ? -1 : 1;
    return 0;
}

uint64_t pid_hash(const qv_point_id *id)
{
    /* The UUID flag joins hi so that an integer id and a UUID with the same
     * low word land apart. */
    return qv_hash_pair(id->lo, id->hi + (uint64_t)id->uuid);
}

int pid_slot_cmp(const void *a, const void *b)
{
    return pid_cmp(&((const pid_slot *)a)->id, &((const pid_slot *)b)->id);
}
