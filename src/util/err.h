/*
 * err.h — how every module reports a failure: a qv_status and a message in
 * a caller-owned qv_error (quiver.h). The one piece of the error contract
 * that modules below core need.
 */
#ifndef QV_UTIL_ERR_H
#define QV_UTIL_ERR_H

#include "quiver.h"

/* Fill err (if not NULL) with code and a printf-style message; returns code
 * so that `return qv_fail(err, QV_NOT_FOUND, ...)` reads as one step. */
qv_status qv_fail(qv_error *err, qv_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
