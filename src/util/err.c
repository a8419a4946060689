/* err.c — see err.h. */
#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>

qv_status qv_fail(qv_error *err, qv_status code, const char *fmt, ...)
{
    if (err) {
        err->code = code;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}
