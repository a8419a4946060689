/* router.c — see router.h. */
#include "server/router.h"

#include <string.h>

#include "util/utf8.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long rt_unescape(char *dst, const char *src, size_t len)
{
    size_t j = 0;
    for (size_t i = 0; i < len; i++) {
        if (src[i] != '%') {
            dst[j++] = src[i];
            continue;
        }
        int hi, lo;
        if (i + 2 >= len || (hi = hexval(src[i + 1])) < 0 || (lo = hexval(src[i + 2])) < 0)
            return -1;
        dst[j++] = (char)(hi * 16 + lo);
        i += 2;
    }
    dst[j] = '\0';
    return (long)j;
}

bool rt_has_nul(rt_str s) { return memchr(s.ptr, '\0', s.len) != NULL; }

bool rt_name_is(rt_str name, const char *lit)
{
    return strlen(lit) == name.len && memcmp(name.ptr, lit, name.len) == 0;
}

/* Split path into decoded segments in m->scratch. Empty segments (from
 * "//" or a trailing '/') are dropped, as routers commonly do. Each segment
 * is decoded once, into tmp, then copied to scratch with ill-formed UTF-8
 * repaired; the scratch size covers the worst case (see router.h). */
static int split(const char *path, rt_match *m, rt_str *segs, size_t *n)
{
    size_t len = strlen(path), used = 0;
    char tmp[RT_MAX_PATH];
    if (len >= RT_MAX_PATH)
        return -1;
    *n = 0;
    const char *p = path;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *end = strchr(p, '/');
        size_t sl = end ? (size_t)(end - p) : strlen(p);
        if (*n == RT_MAX_SEGMENTS)
            return -1;
        long dl = rt_unescape(tmp, p, sl);
        if (dl < 0)
            return -1;
        segs[*n].ptr = m->scratch + used;
        segs[*n].repaired = !qv_utf8_valid(tmp, (size_t)dl);
        segs[*n].len = qv_utf8_lossy(m->scratch + used, tmp, (size_t)dl);
        used += segs[(*n)++].len + 1;
        p += sl;
    }
    return 0;
}

/* Does pattern match segs? Fills params when it does. */
static int match_pattern(const char *pattern, const rt_str *segs, size_t n, rt_match *m)
{
    size_t i = 0, np = 0;
    const char *p = pattern;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *end = strchr(p, '/');
        size_t pl = end ? (size_t)(end - p) : strlen(p);
        if (i == n)
            return 0;
        if (p[0] == '{') {
            if (np == RT_MAX_PARAMS || pl < 2)
                return 0;
            m->params[np] = segs[i];
            m->names[np++] = (rt_str){(char *)p + 1, pl - 2, false};
        } else if (segs[i].len != pl || memcmp(segs[i].ptr, p, pl) != 0) {
            return 0;
        }
        i++;
        p += pl;
    }
    if (i != n)
        return 0;
    m->n_params = np;
    return 1;
}

rt_result rt_find(const rt_route *routes, size_t n, const char *method, const char *path,
                  rt_match *m)
{
    rt_str segs[RT_MAX_SEGMENTS];
    size_t nseg;
    m->route = NULL;
    m->n_params = 0;
    if (split(path, m, segs, &nseg) != 0)
        return RT_BAD_PATH;
    rt_result res = RT_NOT_FOUND;
    for (size_t r = 0; r < n; r++) {
        if (!match_pattern(routes[r].pattern, segs, nseg, m))
            continue;
        if (strcmp(routes[r].method, method) == 0) {
            m->route = &routes[r];
            return RT_FOUND;
        }
        res = RT_METHOD_NOT_ALLOWED;
    }
    m->n_params = 0;
    return res;
}
