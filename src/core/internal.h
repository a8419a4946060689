/*
 * internal.h — helpers shared by the engine's modules (not part of the API).
 */
#ifndef QV_CORE_INTERNAL_H
#define QV_CORE_INTERNAL_H

#include "quiver.h"

/* Fill err (if not NULL) with code and a printf-style message; returns code
 * so that `return qv_fail(err, QV_NOT_FOUND, ...)` reads as one step. */
qv_status qv_fail(qv_error *err, qv_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
