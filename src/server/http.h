/*
 * http.h — the HTTP face: libmicrohttpd with a pool of worker threads (one
 * per core unless configured), keep-alive, a request-body limit, and
 * dispatch through the route table of rest.h.
 */
#ifndef QV_SERVER_HTTP_H
#define QV_SERVER_HTTP_H

#include <stddef.h>

#include "quiver.h"
#include "server/settings.h"

typedef struct qv_http qv_http;

/* Listen on s->host:s->port and serve db. *port gets the bound port (useful
 * with port 0). -1 with a message on failure. */
int http_start(const qv_settings *s, qv_db *db, qv_http **out, unsigned *port, char *err,
               size_t errlen);

/* Stop accepting, let requests in flight finish (up to a few seconds), stop
 * the workers and free the server. */
void http_stop(qv_http *h);

#endif
