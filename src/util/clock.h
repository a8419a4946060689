/*
 * clock.h — elapsed time for logs and measurements: seconds on the
 * monotonic clock (never steps back when the wall clock is set).
 * Threading: none needed.
 */
#ifndef QV_UTIL_CLOCK_H
#define QV_UTIL_CLOCK_H

#include <time.h>

static inline double qv_mono_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

#endif
