/*
 * router.h — match a method and a path against one table of routes.
 *
 * Patterns are literal segments and {name} parameters, e.g.
 * "/collections/{collection_name}/points/{id}". Matching splits the path on
 * '/', percent-decodes each segment once (so %2F inside a name stays inside
 * that segment, as in Qdrant), and compares segment by segment: O(routes x
 * segments), a few hundred byte comparisons per request.
 *
 * Decoded segments are counted strings (pointer + length): a %00 decodes to
 * a NUL byte that is part of the segment, not its end. Bytes that are not
 * well-formed UTF-8 are replaced by U+FFFD, as Qdrant (actix) decodes paths,
 * so every segment is valid UTF-8 and can go into JSON as it is. Each
 * segment is also NUL-terminated in scratch, which makes it a C string only
 * when it holds no NUL: the HTTP layer refuses parameters that do
 * (rt_has_nul) before anything is looked up, and that is the invariant that
 * lets handlers pass params[i].ptr to quiver.h as a NUL-terminated name.
 * Threading: the table is read-only; matching is reentrant.
 */
#ifndef QV_SERVER_ROUTER_H
#define QV_SERVER_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#define RT_MAX_SEGMENTS 16
#define RT_MAX_PARAMS   4
#define RT_MAX_PATH     4096

typedef struct rt_route {
    const char *method;    /* "GET", "PUT", ... */
    const char *pattern;
    void       *handler;   /* opaque to the router */
    unsigned    flags;     /* opaque to the router */
} rt_route;

/* A counted string; ptr[len] is '\0' but ptr may hold NULs before it. */
typedef struct rt_str {
    char  *ptr;
    size_t len;
    bool   repaired;  /* the decoded bytes were not UTF-8: ptr holds U+FFFD for them */
} rt_str;

typedef struct rt_match {
    const rt_route *route;
    size_t          n_params;
    rt_str          params[RT_MAX_PARAMS];  /* decoded, valid UTF-8, in scratch */
    rt_str          names[RT_MAX_PARAMS];   /* "collection_name" (in the pattern, not terminated) */
    /* Decoded segments: U+FFFD takes 3 bytes where the path may have had
     * one raw byte, plus one NUL per segment. */
    char            scratch[3 * RT_MAX_PATH + RT_MAX_SEGMENTS];
} rt_match;

typedef enum rt_result {
    RT_FOUND = 0,
    RT_NOT_FOUND,           /* no pattern matches the path */
    RT_METHOD_NOT_ALLOWED,  /* a pattern matches, with another method */
    RT_BAD_PATH,            /* too long, too many segments, or bad %-escape */
} rt_result;

/* Match method+path (path without the query string). */
rt_result rt_find(const rt_route *routes, size_t n, const char *method, const char *path,
                  rt_match *m);

/* Does s hold a NUL byte (so that it cannot travel as a C string)? */
bool rt_has_nul(rt_str s);

/* Is name (from rt_match.names) equal to the C string lit? */
bool rt_name_is(rt_str name, const char *lit);

/* Percent-decode len bytes of src into dst (at least len+1 bytes); '+' is
 * kept. Returns the decoded length, or -1 on a bad escape. */
long rt_unescape(char *dst, const char *src, size_t len);

#endif
