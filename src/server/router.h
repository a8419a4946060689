/*
 * router.h — match a method and a path against one table of routes.
 *
 * Patterns are literal segments and {name} parameters, e.g.
 * "/collections/{collection_name}/points/{id}". Matching splits the path on
 * '/', percent-decodes each segment (so %2F inside a name stays inside that
 * segment, as in Qdrant), and compares segment by segment: O(routes x
 * segments), a few hundred byte comparisons per request.
 * Threading: the table is read-only; matching is reentrant.
 */
#ifndef QV_SERVER_ROUTER_H
#define QV_SERVER_ROUTER_H

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

typedef struct rt_match {
    const rt_route *route;
    size_t          n_params;
    char           *params[RT_MAX_PARAMS];  /* decoded, NUL-terminated, in scratch */
    char            scratch[RT_MAX_PATH];   /* storage for the decoded segments */
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

/* Percent-decode len bytes of src into dst (at least len+1 bytes); '+' is
 * kept. Returns the decoded length, or -1 on a bad escape. */
long rt_unescape(char *dst, const char *src, size_t len);

#endif
